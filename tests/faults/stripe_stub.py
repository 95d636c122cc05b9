"""A local stand-in for Stripe's API in its wire format (form-encoded requests, JSON objects and error documents), for
scenario 5d of the fault suite (docs/reliability.md). `mode` switches it between answering ("ok"), failing with
`500 api_error` ("500") and not answering for 30 s ("timeout"; a request still pending when the 30 s are over is then
handled as usual, as Stripe does with a request whose client gave up). Counts the requests it receives by path.
Billing meter events (`POST /v1/billing/meter_events`, docs/BILLING.md "Usage reporting") honour `Idempotency-Key` as
Stripe does (a repeated key replays the first answer and records nothing); `meter_events` holds what was recorded and
`meter_attempts` every attempt (time, mode, identifier). 127.0.0.1 only."""

from __future__ import annotations

import json
import threading
import urllib.parse
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from stack import HOST


class StripeStub:
    def __init__(self, port: int) -> None:
        self.port = port
        self.mode = "ok"
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.meter_events: list[dict] = []  # recorded events: identifier, customer, value, idempotency key
        self.meter_replies: dict[str, dict] = {}  # Idempotency-Key -> the first answer
        self.meter_attempts: list[tuple[float, str, str]] = []  # (time, mode, identifier) of every request
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                stub.requests[f"{stub.mode} {self.command} {path}"] += 1
                form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
                if path == "/v1/billing/meter_events":
                    with stub.lock:
                        stub.meter_attempts.append((time.time(), stub.mode, form.get("identifier", "")))
                if stub.mode == "timeout":
                    time.sleep(30)
                if stub.mode == "500":
                    self._json(500, {"error": {"type": "api_error", "message": "An unknown error occurred (faults stub)."}})
                    return
                suffix = uuid.uuid4().hex[:14]
                if path == "/v1/customers":
                    self._json(200, {"id": f"cus_faults{suffix}", "object": "customer", "livemode": False, "metadata": {}})
                elif path == "/v1/checkout/sessions":
                    self._json(200, {"id": f"cs_test_{suffix}", "object": "checkout.session", "mode": "subscription",
                                     "url": f"https://checkout.stripe.com/c/pay/cs_test_{suffix}"})
                elif path == "/v1/billing_portal/sessions":
                    self._json(200, {"id": f"bps_{suffix}", "object": "billing_portal.session",
                                     "url": f"https://billing.stripe.com/p/session/test_{suffix}"})
                elif path == "/v1/billing/meter_events":
                    key = self.headers.get("Idempotency-Key") or ""
                    with stub.lock:
                        reply = stub.meter_replies.get(key) if key else None
                        if reply is None:
                            reply = {"object": "billing.meter_event", "event_name": form.get("event_name"),
                                     "identifier": form.get("identifier"), "created": int(time.time()), "livemode": False,
                                     "payload": {"stripe_customer_id": form.get("payload[stripe_customer_id]"),
                                                 "value": form.get("payload[value]")},
                                     "timestamp": int(form.get("timestamp") or time.time())}
                            stub.meter_events.append({"identifier": form.get("identifier"), "key": key,
                                                      "customer": form.get("payload[stripe_customer_id]"),
                                                      "value": form.get("payload[value]")})
                            if key:
                                stub.meter_replies[key] = reply
                    self._json(200, reply)
                elif path == "/v1/invoices":
                    self._json(200, {"object": "list", "data": [], "has_more": False, "url": "/v1/invoices"})
                else:
                    self._json(404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                               "message": f"Unrecognized request URL ({self.command}: {path})."}})

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:14]}")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (its timeout)

            do_GET = _answer
            do_POST = _answer

        self.server = ThreadingHTTPServer((HOST, port), Handler)
        self.server.daemon_threads = True

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
