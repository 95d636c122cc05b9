"""The processes of the fault suite (docs/reliability.md): PostgreSQL clusters through scripts/pg.sh, the worker and
the API instances as real processes started the way tests/load/two-instances.sh starts them, and a recording HTTP
client. Everything listens on and talks to 127.0.0.1 only; the suite stops only the processes it started (by pid)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

REPO = os.environ.get("FAULTS_REPO") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.environ.get("FAULTS_OUT") or os.path.join(REPO, ".local", "faults")
HOST = "127.0.0.1"
PORT_BASE = int(os.environ.get("CLEANCRM_FAULTS_PORT_BASE", "5190"))
API_PORTS = [PORT_BASE, PORT_BASE + 1]
WORKER_HEALTH_PORT = PORT_BASE + 2
PUBLIC_HOST = f"{HOST}:{PORT_BASE}"
SMTP_PORT = PORT_BASE + 3
# Nothing listens here: external peers (Stripe, OAuth providers) are pointed at it, so no request leaves the machine.
CLOSED_PORT = PORT_BASE + 49
# FAULTS_WORKER_DIR / FAULTS_API_DIR: run copies of the builds (e.g. while another build rewrites bin/).
WORKER_DIR = os.environ.get("FAULTS_WORKER_DIR") or os.path.join(REPO, "provisioning/CleanCrm.Provisioning.Worker/bin/Release/net10.0")
API_DIR = os.environ.get("FAULTS_API_DIR") or os.path.join(REPO, "src/CleanCrm.Api/bin/Release/net10.0")


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class Cluster:
    name: str
    port: int
    password: str

    def psql(self, sql: str, database: str = "postgres", timeout: float = 30) -> str:
        env = dict(os.environ, PGPASSWORD=self.password)
        result = subprocess.run(
            ["psql", "-h", HOST, "-p", str(self.port), "-U", "postgres", "-d", database, "-XAtq", "-v", "ON_ERROR_STOP=1",
             "-c", sql], env=env, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"psql on {self.name}: {result.stderr.strip()}")
        return result.stdout.strip()

    def pg_sh(self, action: str) -> None:
        """pg_start / pg_stop of scripts/pg.sh (the same helpers as scripts/test.sh)."""
        command = f'source "{REPO}/scripts/pg.sh" && pg_{action} {self.name}' + (f" {self.port}" if action == "start" else "")
        subprocess.run(["bash", "-c", command], check=True, capture_output=True, timeout=120)

    def kill9(self) -> None:
        """kill -9 of this cluster's postmaster (its pid from postmaster.pid); the backends exit with it."""
        root = os.environ["FAULTS_PG_ROOT"]
        with open(os.path.join(root, self.name, "postmaster.pid"), encoding="utf-8") as handle:
            pid = int(handle.readline())
        os.kill(pid, signal.SIGKILL)

    def connection_string(self, database: str) -> str:
        return f"Host={HOST};Port={self.port};Username=postgres;Password={self.password};Database={database}"


CLUSTER_A = Cluster("faults-a", int(os.environ.get("FAULTS_PG_A_PORT", "55440")), os.environ.get("FAULTS_PG_A_PASSWORD", ""))
CLUSTER_B = Cluster("faults-b", int(os.environ.get("FAULTS_PG_B_PORT", "55441")), os.environ.get("FAULTS_PG_B_PASSWORD", ""))
# Scenario 4 (scenarios_catalog.py) sets this to the port of a TCP forwarder in front of the catalog before the processes
# start, so the catalog can be taken away without the tenant databases of the same cluster; None: reached directly.
CATALOG_VIA: int | None = None


class Processes:
    """The API instances and the worker; each one a process of its own session, stopped by its pid."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, str] = {}
        os.makedirs(os.path.join(OUT, "logs"), exist_ok=True)
        self.keys = self._keys()
        self.admin_password = _random_hex(16)

    @staticmethod
    def _keys() -> dict[str, str]:
        keys = {}
        for name in ("signing", "encryption"):
            path = os.path.join(OUT, f"{name}.pem")
            if not os.path.exists(path):
                subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path],
                               check=True, capture_output=True)
            keys[name] = path
        return keys

    def server_env(self) -> dict[str, str]:
        catalog = CLUSTER_A.connection_string("cleancrm_catalog")
        if CATALOG_VIA is not None:
            catalog = Cluster("catalog", CATALOG_VIA, CLUSTER_A.password).connection_string("cleancrm_catalog")
        env = dict(os.environ)
        for key in [k for k in env if k.startswith(("CleanCrm__", "ConnectionStrings__", "FAULTS_PG_"))]:
            del env[key]
        env.update({
            "ConnectionStrings__Catalog": catalog,
            "CleanCrm__Tenancy__Processes": "3",
            "CleanCrm__Tenancy__DefaultServer__Host": HOST,
            "CleanCrm__Tenancy__DefaultServer__Port": str(CLUSTER_A.port),
            "CleanCrm__Tenancy__DefaultServer__Username": "postgres",
            "CleanCrm__Tenancy__DefaultServer__Password": CLUSTER_A.password,
            "CleanCrm__Backups__FileSystemRoot": os.path.join(OUT, "backups"),
            "CleanCrm__Email__Smtp__Host": HOST,
            "CleanCrm__Email__Smtp__Port": str(SMTP_PORT),
            "CleanCrm__Email__Smtp__Security": "None",
            "CleanCrm__Identity__BootstrapAdmin__Email": "admin@faults.test",
            "CleanCrm__Identity__BootstrapAdmin__Password": self.admin_password,
            # External peers point at a closed local port: the suite never sends anything off the machine.
            "CleanCrm__Stripe__ApiBase": f"http://{HOST}:{CLOSED_PORT}/",
            "Serilog__MinimumLevel__Default": "Warning",
            "DOTNET_ENVIRONMENT": "Testing",
            "ASPNETCORE_ENVIRONMENT": "Testing",
        })
        for provider in ("Google", "Slack", "Fathom", "SavvyCal"):
            for setting in ("AuthorizeUrl", "TokenUrl", "RevokeUrl", "ApiBaseUrl"):
                env[f"CleanCrm__Integrations__{provider}__{setting}"] = f"http://{HOST}:{CLOSED_PORT}/{provider.lower()}/{setting}"
        return env

    def migrate(self) -> None:
        log = os.path.join(OUT, "logs", "migrate.log")
        with open(log, "w", encoding="utf-8") as handle:
            result = subprocess.run(["dotnet", "CleanCrm.Provisioning.Worker.dll", "migrate"], cwd=WORKER_DIR,
                                    env=self.server_env(), stdout=handle, stderr=subprocess.STDOUT, timeout=600)
        if result.returncode != 0:
            raise RuntimeError(f"worker migrate failed; see {log}")

    def _start(self, name: str, argv: list[str], cwd: str, env: dict[str, str]) -> None:
        log = os.path.join(OUT, "logs", f"{name}.log")
        handle = open(log, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the process's lifetime
        handle.write(f"--- started {time.strftime('%H:%M:%S')}\n")
        handle.flush()
        self.procs[name] = subprocess.Popen(argv, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        self.logs[name] = log

    def start_worker(self) -> None:
        env = self.server_env()
        env["CleanCrm__Worker__HealthUrls"] = f"http://{HOST}:{WORKER_HEALTH_PORT}"
        self._start("worker", ["dotnet", "CleanCrm.Provisioning.Worker.dll", "serve"], WORKER_DIR, env)

    def start_api(self, index: int, port: int | None = None, extra: dict[str, str] | None = None) -> None:
        """API `index + 1` on API_PORTS[index], or on `port` with `extra` settings (an instance of one scenario's own)."""
        env = self.server_env()
        env.update({
            "CleanCrm__Api__MigrateOnStartup": "false",
            "CleanCrm__DevelopmentAuthentication__Enabled": "false",
            "CleanCrm__Identity__AccessTokenLifetimeMinutes": "120",
            "CleanCrm__Identity__SigningKey": _read(self.keys["signing"]),
            "CleanCrm__Identity__EncryptionKey": _read(self.keys["encryption"]),
            # The anonymous entry points' per-IP limits would turn most of the abuse corpus into 429s before the input is
            # even looked at; raised so the corpus reaches validation (their own tests cover the limits).
            "CleanCrm__AbuseProtection__TokenRequestsPerMinutePerIp": "100000",
            "CleanCrm__AbuseProtection__SignupsPerMinutePerIp": "100000",
            "CleanCrm__AbuseProtection__SignInAttemptsPerMinutePerAccount": "100000",
            "Serilog__MinimumLevel__Override__CleanCrm.Application.Common.Behaviors.LoggingBehavior": "Warning",
        })
        env.update(extra or {})
        self._start(f"api{index + 1}", ["dotnet", "CleanCrm.Api.dll", "--urls", f"http://{HOST}:{port or API_PORTS[index]}"],
                    API_DIR, env)

    def wait_ready(self, name: str, url: str, timeout: float = 180) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}); see {self.logs[name]}")
            try:
                status, _, _ = raw_get(url + "/health/ready", timeout=2)
                if status == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"{name} was not ready in {timeout} s; see {self.logs[name]}")

    def kill9(self, name: str) -> None:
        proc = self.procs[name]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _random_hex(n: int) -> str:
    return os.urandom(n).hex()


def raw_get(url: str, timeout: float = 5, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@dataclass
class Outcome:
    """One request and what came of it; every request of every scenario is recorded."""

    scenario: str
    label: str
    method: str
    target: str
    started: float
    elapsed: float
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None  # transport error class (refused, reset, timeout...), None when a response came
    port: int = 0

    @property
    def error_class(self) -> str:
        if self.error:
            return self.error
        assert self.status is not None
        return "ok" if self.status < 400 else f"{self.status}"

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes: list[Outcome] = []

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def dump(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as handle, self.lock:
            for o in self.outcomes:
                handle.write(json.dumps({
                    "scenario": o.scenario, "label": o.label, "method": o.method, "target": o.target[:300],
                    "port": o.port, "started": round(o.started, 3), "ms": round(o.elapsed * 1000, 1), "status": o.status, "error": o.error,
                    "contentType": o.headers.get("content-type"), "body": o.body[:300].decode("utf-8", "replace"),
                }) + "\n")


RECORDER = Recorder()


def classify_exception(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, (ConnectionResetError, BrokenPipeError)):
        return "reset"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(error, http.client.RemoteDisconnected):
        return "closed"
    return type(error).__name__


class Client:
    """A recording HTTP/1.1 client for one thread (keep-alive on one connection per port)."""

    def __init__(self, scenario: str, timeout: float = 30) -> None:
        self.scenario = scenario
        self.timeout = timeout
        self.conns: dict[int, http.client.HTTPConnection] = {}
        self.born: dict[int, float] = {}  # when each kept-alive connection was opened

    def request(self, method: str, target: str, body: bytes | str | None = None, headers: dict[str, str] | None = None,
                port: int | None = None, label: str = "", record: bool = True) -> Outcome:
        port = port or API_PORTS[0]
        if isinstance(body, str):
            body = body.encode("utf-8")
        started = time.time()
        t0 = time.monotonic()
        outcome = Outcome(self.scenario, label, method, target, started, 0, port=port)
        conn = self.conns.get(port)
        if conn is None:
            conn = self.conns[port] = http.client.HTTPConnection(HOST, port, timeout=self.timeout)
            self.born[port] = time.monotonic()
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            hdrs = dict(headers or {})
            # Every instance is addressed by the public address, as a load balancer forwards Host: tokens carry the
            # issuer of the address they were requested at (docs/SECURITY.md, several instances).
            if not any(k.lower() == "host" for k in hdrs):
                hdrs["Host"] = PUBLIC_HOST
            if body is not None and not any(k.lower() == "content-length" for k in hdrs):
                hdrs["Content-Length"] = str(len(body))
            for key, value in hdrs.items():
                conn.putheader(key, value)
            conn.endheaders(body)
            response = conn.getresponse()
            outcome.status = response.status
            outcome.headers = {k.lower(): v for k, v in response.getheaders()}
            outcome.body = response.read()
            if response.will_close:
                conn.close()
                del self.conns[port]
        except (OSError, http.client.HTTPException) as error:
            outcome.error = classify_exception(error)
            conn.close()
            self.conns.pop(port, None)
        outcome.elapsed = time.monotonic() - t0
        if record:
            RECORDER.add(outcome)
        return outcome

    def drop_older_than(self, port: int, moment: float) -> None:
        """Forgets a kept-alive connection opened before `moment` (to a process that has died since)."""
        if port in self.conns and self.born.get(port, 0) < moment:
            self.conns.pop(port).close()

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()
        self.conns.clear()


def raw_exchange(payload: bytes, port: int | None = None, timeout: float = 15, dribble: list[tuple[float, bytes]] | None = None
                 ) -> tuple[int | None, dict[str, str], bytes, str | None]:
    """Sends bytes as they are (malformed requests http.client refuses to write) and parses the answer, if any."""
    port = port or API_PORTS[0]
    sock = socket.create_connection((HOST, port), timeout=timeout)
    data = b""
    error = None
    try:
        sock.sendall(payload)
        for delay, chunk in dribble or []:
            time.sleep(delay)
            sock.sendall(chunk)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if _complete(data):
                break
    except (OSError, socket.timeout) as exc:
        error = classify_exception(exc)
    finally:
        sock.close()
    if not data:
        return None, {}, b"", error or "closed"
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ")[1])
    except (IndexError, ValueError):
        return None, {}, data, "garbled"
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return status, headers, body, None


def _complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
        if key.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
            return body.endswith(b"0\r\n\r\n")
    return True
