"""Local peers of the fault suite's worker and time scenarios (docs/reliability.md, scenarios 1 and 6): an SMTP sink that
counts the messages it accepted and can hold a message at a chosen protocol step, an HTTP receiver of outgoing webhooks
that counts the webhook-ids it acknowledged and can hold a request unanswered, a lock held in a tenant database by a
psql session, and extra API/worker processes started with settings of their own. All on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import os
import socket
import socketserver
import subprocess
import threading
import time

from stack import API_DIR, HOST, PUBLIC_HOST, WORKER_DIR, WORKER_HEALTH_PORT, Processes, _read


def read_body(handler: http.server.BaseHTTPRequestHandler) -> bytes:
    """The request body, with Content-Length or chunked (.NET's HttpClient sends JSON content chunked)."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        body = b""
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return body
            body += handler.rfile.read(size)
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))



def end_psql_session(proc: subprocess.Popen, how: str) -> None:
    """Ends a psql session that holds a transaction open (`how`: COMMIT or ROLLBACK), killing it if it does not quit."""
    if proc.poll() is None and proc.stdin is not None:
        try:
            proc.stdin.write(f"{how};\n\\q\n")
            proc.stdin.flush()
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()

class Hold:
    def __init__(self, step: str) -> None:
        self.step = step
        self.used = False
        self.conn: socket.socket | None = None
        self.held = threading.Event()
        self.released = threading.Event()


class SmtpSink:
    """A minimal SMTP server (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT). A message counts as accepted once its
    250 after DATA was written to a sender that was still connected. `hold(recipient, step)` makes the next message to
    that recipient wait at `step`: "data" (before the 250 that accepts it) or "quit" (after the 250, before QUIT is
    answered) until `release()`; `held` is set while it waits."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.lock = threading.Lock()
        self.accepted: list[dict] = []  # {to, message_id, kind}
        self.abandoned: list[str] = []  # held messages whose sender died before they were accepted
        self.holds: dict[str, Hold] = {}
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind((HOST, port))
        self.server.listen(16)
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def hold(self, recipient: str, step: str) -> Hold:
        hold = self.holds[recipient.lower()] = Hold(step)
        return hold

    def release(self) -> None:
        for hold in self.holds.values():
            hold.released.set()

    def count(self, recipient: str) -> int:
        with self.lock:
            return sum(1 for m in self.accepted if m["to"] == recipient.lower())

    def close(self) -> None:
        self.stopped = True
        self.release()
        self.server.close()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    @staticmethod
    def _alive(conn: socket.socket) -> bool:
        """False when the peer has closed or reset the connection (a killed sender)."""
        conn.setblocking(False)
        try:
            return conn.recv(1, socket.MSG_PEEK) != b""
        except BlockingIOError:
            return True
        except OSError:
            return False
        finally:
            conn.setblocking(True)

    @staticmethod
    def _wait_hold(hold: Hold, conn: socket.socket) -> bool:
        hold.used = True
        hold.conn = conn
        hold.held.set()
        hold.released.wait(timeout=600)
        return SmtpSink._alive(conn)

    def _session(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        to: list[str] = []
        hold: Hold | None = None
        try:
            conn.sendall(b"220 faults-smtp ESMTP\r\n")
            while True:
                line = reader.readline()
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250 faults-smtp\r\n")
                elif verb == b"MAIL":
                    to = []
                    conn.sendall(b"250 OK\r\n")
                elif verb == b"RCPT":
                    address = line.decode("latin-1").split(":", 1)[1].strip().strip("<>").split(">")[0].lower()
                    to.append(address)
                    conn.sendall(b"250 OK\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    data = b""
                    while True:
                        chunk = reader.readline()
                        if not chunk:
                            return
                        if chunk in (b".\r\n", b".\n"):
                            break
                        data += chunk
                    headers = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
                    message_id = next((h.split(":", 1)[1].strip() for h in headers.split("\r\n")
                                       if h.lower().startswith("message-id:")), "")
                    kind = next((h.split(":", 1)[1].strip() for h in headers.split("\r\n")
                                 if h.lower().startswith("x-cleancrm-kind:")), "")
                    hold = next((self.holds[a] for a in to if a in self.holds and not self.holds[a].used), None)
                    if hold is not None and hold.step == "data" and not self._wait_hold(hold, conn):
                        with self.lock:
                            self.abandoned.extend(to)
                        return  # the sender died before the message was accepted: nothing was delivered
                    conn.sendall(b"250 OK queued\r\n")
                    with self.lock:
                        for address in to:
                            self.accepted.append({"to": address, "message_id": message_id, "kind": kind})
                elif verb == b"QUIT":
                    if hold is not None and hold.step == "quit":
                        self._wait_hold(hold, conn)
                    conn.sendall(b"221 bye\r\n")
                    return
                elif verb in (b"RSET", b"NOOP"):
                    conn.sendall(b"250 OK\r\n")
                else:
                    conn.sendall(b"502 not implemented\r\n")
        except OSError:
            return
        finally:
            conn.close()


class HookReceiver:
    """Receives outgoing webhooks (docs/WORKFLOWS.md): records every request with its webhook-id and answers 204, which
    acknowledges it. `hold_next()` keeps the next request unanswered until `release()` (`held` set meanwhile); a held
    request whose sender died is not acknowledged."""

    def __init__(self, port: int) -> None:
        receiver = self
        self.lock = threading.Lock()
        self.received: list[str] = []
        self.acknowledged: list[str] = []
        self.holding = False
        self.held_conn: socket.socket | None = None
        self.held = threading.Event()
        self.released = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # noqa: D401 - quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                read_body(self)
                webhook_id = self.headers.get("webhook-id") or ""
                with receiver.lock:
                    receiver.received.append(webhook_id)
                    hold = receiver.holding
                    receiver.holding = False
                if hold:
                    receiver.held_conn = self.connection
                    receiver.held.set()
                    receiver.released.wait(timeout=600)
                    if not SmtpSink._alive(self.connection):
                        return
                self.send_response(204)
                self.end_headers()
                with receiver.lock:
                    receiver.acknowledged.append(webhook_id)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server((HOST, port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def hold_next(self) -> None:
        self.held.clear()
        self.released.clear()
        self.holding = True

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


class LockHolder:
    """A psql session holding `LOCK TABLE <table> IN ACCESS EXCLUSIVE MODE` in a database until release()."""

    def __init__(self, cluster, database: str, table: str) -> None:
        env = dict(os.environ, PGPASSWORD=cluster.password, PGAPPNAME="faults-lock-holder")
        self.proc = subprocess.Popen(["psql", "-h", HOST, "-p", str(cluster.port), "-U", "postgres", "-d", database, "-XAtq",
                                      "-v", "ON_ERROR_STOP=1"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n")
        self.proc.stdin.flush()
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "locked":
            raise RuntimeError(f"could not lock {table} in {database}: {self.proc.stderr.read() if self.proc.stderr else ''}")

    def release(self) -> None:
        end_psql_session(self.proc, "COMMIT")


def waiting_on_lock(cluster, database: str) -> list[str]:
    """Queries of other sessions in `database` waiting for a lock (the held operation), as 'application: query'."""
    rows = cluster.psql("SELECT coalesce(application_name, '') || ': ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 80) "
                        f"FROM pg_stat_activity WHERE datname = '{database}' AND wait_event_type = 'Lock' "
                        "AND application_name <> 'faults-lock-holder'")
    return [r for r in rows.splitlines() if r]


def start_worker_with(procs: Processes, extra: dict[str, str]) -> None:
    env = procs.server_env()
    env["CleanCrm__Worker__HealthUrls"] = f"http://{HOST}:{WORKER_HEALTH_PORT}"
    env.update(extra)
    procs._start("worker", ["dotnet", "CleanCrm.Provisioning.Worker.dll", "serve"], WORKER_DIR, env)


def start_api_with(procs: Processes, name: str, port: int, extra: dict[str, str]) -> None:
    """An API instance of this scenario's own (as stack.Processes.start_api, plus `extra` settings) on `port`."""
    env = procs.server_env()
    env.update({
        "CleanCrm__Api__MigrateOnStartup": "false",
        "CleanCrm__DevelopmentAuthentication__Enabled": "false",
        "CleanCrm__Identity__AccessTokenLifetimeMinutes": "120",
        "CleanCrm__Identity__SigningKey": _read(procs.keys["signing"]),
        "CleanCrm__Identity__EncryptionKey": _read(procs.keys["encryption"]),
        "CleanCrm__AbuseProtection__TokenRequestsPerMinutePerIp": "100000",
    })
    env.update(extra)
    procs._start(name, ["dotnet", "CleanCrm.Api.dll", "--urls", f"http://{HOST}:{port}"], API_DIR, env)


def wait_until(predicate, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def to_json(value) -> str:
    return json.dumps(value)


_ = PUBLIC_HOST


class ProviderStub:
    """Fathom's OAuth token endpoint and webhook registration (docs/INTEGRATIONS.md) and Stripe's subscription read
    (`GET /v1/subscriptions/{id}`, docs/BILLING.md) on their wire formats; anything else is 404."""

    def __init__(self, port: int) -> None:
        stub = self
        self.lock = threading.Lock()
        self.webhook_secrets: dict[str, str] = {}  # destination_url -> whsec_ secret
        self.subscriptions: dict[str, dict] = {}
        self.calls: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, body: dict | None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return read_body(self)

            def do_POST(self) -> None:  # noqa: N802
                body = self._body()
                with stub.lock:
                    stub.calls.append(f"POST {self.path}")
                if self.path.startswith("/fathom/oauth2/token"):
                    self._answer(200, {"access_token": "fathom-" + os.urandom(8).hex(), "refresh_token": "r-" + os.urandom(8).hex(),
                                       "expires_in": 3599, "token_type": "Bearer"})
                elif self.path.startswith("/fathom/external/v1/webhooks"):
                    request = json.loads(body or b"{}")
                    secret = "whsec_" + __import__("base64").b64encode(os.urandom(24)).decode()
                    with stub.lock:
                        stub.webhook_secrets[request.get("destination_url", "")] = secret
                    self._answer(201, dict(request, id=len(stub.webhook_secrets), url=request.get("destination_url"), secret=secret,
                                           created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
                else:
                    self._answer(404, {"error": "not found"})

            def do_GET(self) -> None:  # noqa: N802
                with stub.lock:
                    stub.calls.append(f"GET {self.path}")
                if self.path.startswith("/fathom/external/v1/meetings"):
                    self._answer(200, {"items": [], "limit": 10, "next_cursor": None})
                elif self.path.startswith("/v1/subscriptions/"):
                    subscription = stub.subscriptions.get(self.path.split("/")[3].split("?")[0])
                    if subscription is None:
                        self._answer(404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                                     "message": "No such subscription"}})
                    else:
                        self._answer(200, subscription)
                else:
                    self._answer(404, {"error": "not found"})

            def do_DELETE(self) -> None:  # noqa: N802
                self._answer(204, None)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server((HOST, port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def put_subscription(self, sub_id: str, customer: str, org_id: str, status: str, price: str, plan: str) -> dict:
        now = int(time.time())
        subscription = {
            "id": sub_id, "object": "subscription", "billing_cycle_anchor": now, "cancel_at_period_end": False,
            "collection_method": "charge_automatically", "created": now, "currency": "usd", "customer": customer,
            "livemode": False, "metadata": {"organization_id": org_id, "plan": plan}, "start_date": now, "status": status,
            "trial_end": None,
            "items": {"object": "list", "has_more": False, "url": f"/v1/subscription_items?subscription={sub_id}", "data": [{
                "id": f"si_{sub_id}", "object": "subscription_item", "created": now, "current_period_start": now,
                "current_period_end": now + 30 * 86400, "quantity": 1, "subscription": sub_id,
                "price": {"id": price, "object": "price", "active": True, "currency": "usd", "product": "prod_faults",
                          "type": "recurring", "unit_amount": 2900,
                          "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"}}}]},
        }
        self.subscriptions[sub_id] = subscription
        return json.loads(json.dumps(subscription))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class TransactionHold:
    """A psql session that runs `sql` in an open transaction and keeps it open until release() (rolled back): e.g. a row
    locked with SELECT ... FOR NO KEY UPDATE, so only the statements that update that row wait."""

    def __init__(self, cluster, database: str, sql: str) -> None:
        env = dict(os.environ, PGPASSWORD=cluster.password, PGAPPNAME="faults-lock-holder")
        self.proc = subprocess.Popen(["psql", "-h", HOST, "-p", str(cluster.port), "-U", "postgres", "-d", database, "-XAtq",
                                      "-v", "ON_ERROR_STOP=1"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"BEGIN; {sql}; SELECT 'held';\n")
        self.proc.stdin.flush()
        lines = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"could not hold {sql!r} in {database}: {self.proc.stderr.read() if self.proc.stderr else ''}")
            lines.append(line.strip())
            if line.strip() == "held":
                break
        self.output = lines[:-1]

    def release(self) -> None:
        end_psql_session(self.proc, "ROLLBACK")


class SlackStub:
    """Slack's Web API on its wire format (docs/INTEGRATIONS.md): `oauth.v2.access` (form post; answers 200 with
    `ok`, the bot token, the team and the channel chosen at consent in `incoming_webhook`), `chat.postMessage` (JSON with
    the bot token; answers 200 `{"ok": true, "channel", "ts", "message"}`) and `auth.revoke`. Counts the messages it
    accepted by text: a message counts once its 200 `ok` was written to a sender that was still connected.
    `hold_next()` keeps the next chat.postMessage unanswered until `release()` (`held` set meanwhile)."""

    CHANNEL = "C0FAULTS01"

    def __init__(self, port: int) -> None:
        stub = self
        self.lock = threading.Lock()
        self.tokens: set[str] = set()
        self.received: list[str] = []  # texts of every chat.postMessage, in order
        self.accepted: list[str] = []  # texts answered ok to a live sender
        self.holding = False
        self.held_text = ""
        self.held = threading.Event()
        self.released = threading.Event()
        self.answered = threading.Event()  # the held request was answered (200 ok written)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _answer(self, body: dict) -> bool:
                data = json.dumps(body).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                    return True
                except OSError:
                    return False

            def do_POST(self) -> None:  # noqa: N802
                body = read_body(self)
                path = self.path.split("?")[0]
                if path.endswith("/oauth.v2.access"):
                    token = "xoxb-faults-" + os.urandom(12).hex()
                    with stub.lock:
                        stub.tokens.add(token)
                    self._answer({"ok": True, "access_token": token, "token_type": "bot", "scope": "chat:write,incoming-webhook",
                                  "bot_user_id": "U0FAULTS", "app_id": "A0FAULTS", "expires_in": 43200,
                                  "refresh_token": "xoxe-1-" + os.urandom(12).hex(),
                                  "team": {"name": "Faults", "id": "T" + os.urandom(4).hex().upper()}, "enterprise": None,
                                  "authed_user": {"id": "U0OWNER"},
                                  "incoming_webhook": {"channel": "#faults", "channel_id": SlackStub.CHANNEL,
                                                       "configuration_url": "https://faults.slack.com/services/B1",
                                                       "url": "https://hooks.slack.com/services/T0/B0/faults"}})
                    return
                if path.endswith("/auth.revoke"):
                    self._answer({"ok": True, "revoked": True})
                    return
                if not path.endswith("/chat.postMessage"):
                    self._answer({"ok": False, "error": "unknown_method"})
                    return
                bearer = (self.headers.get("Authorization") or "")[len("Bearer "):]
                if bearer not in stub.tokens:
                    self._answer({"ok": False, "error": "invalid_auth"})
                    return
                message = json.loads(body or b"{}")
                text = str(message.get("text") or "")
                with stub.lock:
                    stub.received.append(text)
                    hold = stub.holding
                    stub.holding = False
                if hold:
                    stub.held_text = text
                    stub.held_conn = self.connection
                    stub.held.set()
                    stub.released.wait(timeout=600)
                    if not SmtpSink._alive(self.connection):
                        return
                answered = self._answer({"ok": True, "channel": message.get("channel"), "ts": f"{time.time():.6f}",
                                         "message": {"type": "message", "subtype": "bot_message", "text": text}})
                if answered:
                    with stub.lock:
                        stub.accepted.append(text)
                    if hold:
                        stub.answered.set()

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.held_conn: socket.socket | None = None
        self.server = Server((HOST, port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def hold_next(self) -> None:
        self.held.clear()
        self.released.clear()
        self.answered.clear()
        self.holding = True

    def release(self) -> None:
        self.released.set()

    def count(self, text: str) -> tuple[int, int]:
        """(requests received, messages accepted) with exactly this text."""
        with self.lock:
            return self.received.count(text), self.accepted.count(text)

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
