"""Scenario 5e of issue 23 (docs/reliability.md): an integration provider that answers after 30 s. The provider here is
the AI (an OpenAI-compatible Chat Completions server, docs/AI.md), called synchronously by `POST
/api/v1/meetings/{id}/summary`. An API instance of its own is pointed at a local stub (ai_stub below) with
`RequestTimeoutSeconds` 10 and `MaxRetries` 1, so its documented bound is (1 + 1) x 10 s plus the SDK's backoff.

Invariants: while the stub takes 30 s, each summary request answers `503 ai_provider_failed` with Retry-After within
the bound (never a 500, never a hang), stores nothing and releases its token reservation; the same instance's other
routes and another organization keep their latency (p95 of the steady load during the slow window at most 3x that
before, plus 0.3 s, on this shared machine); once the stub is fast again every meeting is summarized, each exactly once;
the API's /metrics shows the failed calls (HttpClient metric of the stub's port with an error type)."""

from __future__ import annotations

import http.server
import json
import socketserver
import threading
import time
import uuid

from peers import read_body
from product import json_headers
from scenarios import Load, error_classes
from scenarios_degrade import client_outcomes, metric_series
from stack import CLUSTER_A, HOST, PORT_BASE, Client, say

STUB_PORT, API_PORT = PORT_BASE + 16, PORT_BASE + 17
SLOW_SECONDS = 30
TIMEOUT, RETRIES = 10, 1
BOUND = (RETRIES + 1) * TIMEOUT + 3 + 5  # + the SDK's backoff, + 5 s for a loaded 2-core machine


class AiStub:
    """OpenAI's `POST /v1/chat/completions` (non-streamed): a meeting summary in the JSON the product asks for, at once
    ("fast") or after SLOW_SECONDS ("slow"). Counts requests by mode."""

    def __init__(self, port: int) -> None:
        stub = self
        self.mode = "fast"
        self.lock = threading.Lock()
        self.requests: dict[str, int] = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                read_body(self)
                mode = stub.mode
                with stub.lock:
                    stub.requests[mode] = stub.requests.get(mode, 0) + 1
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
                    return
                if mode == "slow":
                    time.sleep(SLOW_SECONDS)
                content = json.dumps({"summary": "The customer wants SSO by March.", "actionItems": []})
                self._send(200, {
                    "id": f"chatcmpl-faults{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
                    "model": "gpt-faults", "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                                        "logprobs": None, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 40, "completion_tokens": 10, "total_tokens": 50}})

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (its timeout)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server((HOST, port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _p95(values: list[float]) -> float:
    values = sorted(values)
    return values[max(0, int(len(values) * 0.95) - 1)] if values else 0.0


def provider_slow(suite, Result):
    from peers import start_api_with

    result = Result("5e provider slow (30 s)", True)
    procs = suite.procs
    stub = AiStub(STUB_PORT)
    started = False
    load: Load | None = None
    client = Client("provider-slow", timeout=120)
    try:
        start_api_with(procs, "api-ai", API_PORT, {
            "CleanCrm__Ai__Endpoint": f"http://{HOST}:{STUB_PORT}/v1", "CleanCrm__Ai__Model": "gpt-faults",
            "CleanCrm__Ai__ApiKey": "faults-stub-key", "CleanCrm__Ai__RequestTimeoutSeconds": str(TIMEOUT),
            "CleanCrm__Ai__MaxRetries": str(RETRIES)})
        started = True
        procs.wait_ready("api-ai", f"http://127.0.0.1:{API_PORT}")
        org = suite.org("slow-ai", "pro", seeded=False)  # meeting summaries need ai_copilot (pro)
        other = suite.org("slow-other", seeded=False)
        headers = json_headers(org.token, org.slug)

        def meeting(label: str) -> str:
            outcome = client.request("POST", "/api/v1/meetings", json.dumps({
                "title": f"Faults {label}", "startsAt": "2026-11-02T10:00:00Z",
                "transcript": "[00:00:01] Ada: We need SSO by March. [00:00:09] Sam: I will send the security docs."}),
                headers, port=API_PORT, label="create meeting")
            if outcome.status != 201:
                raise RuntimeError(f"creating a meeting: {outcome.status} {outcome.body[:300]!r}")
            return outcome.json()["id"]

        def summarize(meeting_id: str, label: str):
            return client_for_thread().request("POST", f"/api/v1/meetings/{meeting_id}/summary", "", headers, port=API_PORT,
                                               label=label)

        local = threading.local()

        def client_for_thread() -> Client:
            if not hasattr(local, "client"):
                local.client = Client("provider-slow", timeout=120)
            return local.client

        control = summarize(meeting("control"), "control")
        if control.status != 200:
            raise RuntimeError(f"the control summary failed with the provider fast: {control.status} {control.body[:300]!r}")
        meetings = [meeting(f"slow-{i}") for i in range(3)]

        load = Load("provider-slow", [org, other], [API_PORT], threads=3, think=0.05)
        load.start()
        time.sleep(15)
        slow_at = time.time()
        stub.mode = "slow"
        say(f"provider-slow: the AI stub answers after {SLOW_SECONDS} s")
        answers: dict[str, object] = {}

        def run(meeting_id: str) -> None:
            answers[meeting_id] = summarize(meeting_id, "summary while slow")

        threads = [threading.Thread(target=run, args=(m,)) for m in meetings]
        for thread in threads:
            thread.start()
            time.sleep(1)
        for thread in threads:
            thread.join()
        fast_at = time.time()
        stub.mode = "fast"
        say("provider-slow: the AI stub is fast again")
        time.sleep(5)
        load.finish()

        for meeting_id in meetings:
            outcome = answers[meeting_id]
            code = (outcome.json() or {}).get("code") if outcome.status else None
            result.notes.append(f"summary while slow: {outcome.status} {code} in {outcome.elapsed:.1f} s, "
                                f"Retry-After {outcome.headers.get('retry-after')}")
            if outcome.status != 503 or code != "ai_provider_failed" or "retry-after" not in outcome.headers:
                result.passed = False
                result.notes.append(f"  expected 503 ai_provider_failed with Retry-After: {outcome.error} {outcome.body[:200]!r}")
            if outcome.elapsed > BOUND:
                result.passed = False
                result.notes.append(f"  slower than the bound of {BOUND} s")
        stored = CLUSTER_A.psql("SELECT count(*) FROM meetings WHERE summary IS NOT NULL AND title LIKE 'Faults slow-%'",
                                CLUSTER_A.psql(f"SELECT database_name FROM organizations WHERE id = '{org.id}'",
                                               "cleancrm_catalog").strip())
        result.notes.append(f"summaries stored by the failed calls: {stored}")
        if stored.strip() != "0":
            result.passed = False

        before = [o.elapsed for _, o, _ in load.results if o.started < slow_at and o.status]
        during = [o.elapsed for _, o, _ in load.results if slow_at <= o.started <= fast_at and o.status]
        failed = [o for _, o, _ in load.results if o.error or (o.status or 0) >= 400]
        p_before, p_during = _p95(before), _p95(during)
        result.notes.append(f"steady load on the same instance (2 orgs): {len(before)} requests before, p95 {p_before * 1000:.0f} ms; "
                            f"{len(during)} during, p95 {p_during * 1000:.0f} ms; {len(failed)} failed")
        if failed or not during or p_during > 3 * p_before + 0.3:
            result.passed = False
            result.notes.append(f"  other requests were affected: {error_classes(failed)}")

        # Fast again: each meeting summarized exactly once.
        t0 = time.monotonic()
        after = [summarize(m, "summary after") for m in meetings]
        result.recovery = f"{time.monotonic() - t0:.1f} s"
        again = [summarize(m, "summary again") for m in meetings[:1]]
        result.notes.append(f"fast again: {[o.status for o in after]}; a second summary of the same meeting: "
                            f"{[(o.status, (o.json() or {}).get('code')) for o in again]}")
        if any(o.status != 200 for o in after) or any(o.status != 409 for o in again):
            result.passed = False
        series = metric_series("http_client_request_duration_seconds_count", API_PORT)
        errors = {k: v for k, v in series.items() if f'server_port="{STUB_PORT}"' in k and "error_type" in k}
        result.notes.append(f"HttpClient metric for the provider's port with an error type: {errors or 'none'}; "
                            f"stub saw {stub.requests}")
        if not errors:
            result.passed = False
            result.notes.append("  /metrics does not show the timed-out provider calls")
    finally:
        if load is not None and not load.stop.is_set():
            load.finish()
        if started and procs.procs["api-ai"].poll() is None:
            procs.procs["api-ai"].terminate()
            procs.procs["api-ai"].wait(timeout=30)
        stub.close()
        client.close()
    outcomes = client_outcomes("provider-slow")
    result.requests = len(outcomes)
    result.errors = error_classes(outcomes)
    result.lost = 0
    return result
