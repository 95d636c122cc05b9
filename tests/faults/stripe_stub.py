"""A local stand-in for Stripe's API in its wire format (form-encoded requests, JSON objects and error documents), for
scenario 5d of the fault suite (docs/reliability.md). `mode` switches it between answering ("ok"), failing with
`500 api_error` ("500") and not answering for 30 s ("timeout"). Counts the requests it receives by path. 127.0.0.1 only."""

from __future__ import annotations

import json
import threading
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
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path = self.path.split("?")[0]
                stub.requests[f"{stub.mode} {self.command} {path}"] += 1
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
