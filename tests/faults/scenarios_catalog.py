"""Scenario 4 of issue 23 (docs/reliability.md): the catalog database goes away for 20 s under load while the tenant
databases stay up. The API and the worker reach the catalog through a TCP forwarder (proxy.py) that this module puts in
front of it before the processes start; the fault resets every catalog connection and refuses new ones, as a catalog
server that died would, then listens again."""

from __future__ import annotations

import threading
import time

import stack
from proxy import TcpProxy
from scenarios import Load, check_writes, error_classes, metric
from stack import API_PORTS, CLUSTER_A, PORT_BASE, WORKER_HEALTH_PORT, Client, raw_get, say

CATALOG_PROXY_PORT = PORT_BASE + 10
# Npgsql's connect timeout (Timeout, 15 s by default, not changed by the product): the longest a request should wait for a
# catalog connection that cannot be made. A refused connection fails at once; the bound is what "no request hangs beyond
# its timeout" is checked against.
REQUEST_BOUND_SECONDS = 15.0
RECOVERY_BOUND_SECONDS = 10.0
# The readiness probe runs every 0.5 s and the health check asks the catalog each time: 503 within this of the fault.
READINESS_BOUND_SECONDS = 5.0

PROXY: TcpProxy | None = None


def install() -> None:
    """Called by the runner before the processes start when scenario 4 is chosen."""
    global PROXY
    PROXY = TcpProxy(CATALOG_PROXY_PORT, CLUSTER_A.port, "catalog forwarder")
    PROXY.up()
    stack.CATALOG_VIA = CATALOG_PROXY_PORT


class ReadinessProbe:
    """GET /health/ready of every API instance and of the worker every 0.5 s: (time, name, status or error, seconds)."""

    def __init__(self, targets: dict[str, int]) -> None:
        self.targets = targets
        self.samples: list[tuple[float, str, str, float]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            for name, port in self.targets.items():
                t0 = time.monotonic()
                try:
                    status = str(raw_get(f"http://127.0.0.1:{port}/health/ready", timeout=20)[0])
                except OSError as error:
                    status = type(error).__name__
                self.samples.append((time.time(), name, status, time.monotonic() - t0))
            time.sleep(0.5)

    def first(self, name: str, status: str, after: float) -> float | None:
        return next((t for t, n, s, _ in self.samples if n == name and s == status and t >= after), None)

    def last_not(self, name: str, status: str, before: float) -> float | None:
        return max((t for t, n, s, _ in self.samples if n == name and s != status and t <= before), default=None)


def catalog_down(suite, Result):
    """Scenario 4: the catalog unreachable for 20 s under load on two organizations.

    Invariants: the API's readiness answers 503 while the catalog is gone and 200 after; every failed request is a 503
    problem with Retry-After (never a 500, never a transport error); no request takes longer than Npgsql's connect
    timeout; everything answers again within 10 s of the catalog's return; the worker is ready again; every acknowledged
    write is there with its audit entry and every unanswered one is whole or absent."""
    result = Result("4 catalog down", True)
    if PROXY is None:
        raise RuntimeError("the catalog forwarder is not installed (the runner installs it before the processes start)")
    down_for = 20
    orgs = [suite.org("load-1", seeded=False), suite.org("load-2", seeded=False)]
    client = Client("catalog-down")
    # Warm: each organization's location and membership in the directory cache, its data source open.
    for org in orgs:
        client.request("GET", "/api/v1/companies?limit=1", headers={"Authorization": f"Bearer {org.token}", "X-Org": org.slug},
                       label="warm")
    probe = ReadinessProbe({"api1": API_PORTS[0], "worker": WORKER_HEALTH_PORT})
    load = Load("catalog-down", orgs, [API_PORTS[0]], threads=4)
    probe.thread.start()
    load.start()
    time.sleep(8)
    say(f"catalog-down: catalog unreachable for {down_for} s")
    down_at = time.time()
    PROXY.down()
    time.sleep(down_for)
    PROXY.up()
    up_at = time.time()
    say("catalog-down: catalog back")
    time.sleep(25)
    load.finish()
    probe.stop.set()
    probe.thread.join(timeout=30)

    outcomes = [o for _, o, _ in load.results]
    result.requests = len(outcomes)
    result.errors = error_classes(outcomes)
    during = [o for o in outcomes if down_at <= o.started <= up_at]
    served = [o for o in during if o.status is not None and o.status < 400]
    failed = [o for o in outcomes if o.error or (o.status or 0) >= 400]
    result.notes.append(f"while the catalog was gone ({down_for} s): {len(during)} requests, {len(served)} answered 2xx "
                        f"(served from the process's caches), {len(during) - len(served)} failed {error_classes(during)}")
    wrong = [o for o in failed if o.status != 503 or "retry-after" not in o.headers
             or not o.headers.get("content-type", "").startswith("application/problem+json")]
    if wrong:
        result.passed = False
        result.notes.append(f"  {len(wrong)} failures not a 503 problem with Retry-After, e.g. {wrong[0].status} {wrong[0].error} "
                            f"{wrong[0].label} {wrong[0].body[:200]!r}")
    outside = [o for o in failed if o.started + o.elapsed < down_at]
    if outside:
        result.passed = False
        result.notes.append(f"  {len(outside)} failures before the fault")
    slowest = max(outcomes, key=lambda o: o.elapsed, default=None)
    slowest_probe = max((d for _, _, _, d in probe.samples), default=0.0)
    result.notes.append(f"slowest request {slowest.elapsed:.2f} s ({slowest.label}, {slowest.error_class}); slowest readiness "
                        f"answer {slowest_probe:.2f} s; bound {REQUEST_BOUND_SECONDS:.0f} s (Npgsql connect timeout)"
                        if slowest else "no requests")
    if (slowest and slowest.elapsed > REQUEST_BOUND_SECONDS) or slowest_probe > REQUEST_BOUND_SECONDS:
        result.passed = False
        result.notes.append("  a request took longer than the bound")

    # Readiness: 503 within the outage, 200 again after it.
    not_ready = probe.first("api1", "503", down_at)
    if not_ready is None or not_ready > up_at:
        result.passed = False
        result.notes.append("  the API's readiness never answered 503 while the catalog was gone")
    elif not_ready - down_at > READINESS_BOUND_SECONDS:
        result.passed = False
        result.notes.append(f"  the API's readiness answered 503 only {not_ready - down_at:.1f} s into the outage")
    api_ready_again = probe.first("api1", "200", up_at)
    worker_ready_again = probe.first("worker", "200", up_at)
    worker_states = sorted({s for t, n, s, _ in probe.samples if n == "worker" and down_at <= t <= up_at})
    result.notes.append(f"readiness: API 503 after {((not_ready or up_at) - down_at):.1f} s, 200 again "
                        f"{((api_ready_again or float('nan')) - up_at):.1f} s after the catalog's return; worker readiness during: "
                        f"{worker_states}, 200 again after {((worker_ready_again or float('nan')) - up_at):.1f} s")
    if api_ready_again is None or worker_ready_again is None:
        result.passed = False
        result.notes.append("  the API or the worker was not ready again after the catalog's return")

    last_failure = max((o.started + o.elapsed for o in failed), default=down_at)
    recovery = max(0.0, last_failure - up_at)
    result.recovery = f"{recovery:.1f} s"
    if recovery > RECOVERY_BOUND_SECONDS:
        result.passed = False
        result.notes.append(f"  requests still failed {recovery:.1f} s after the catalog was back")
    result.lost = sum(1 for _, _, o in load.writes if o.error)
    in_use = metric(API_PORTS[0], "cleancrm_tenant_connections_in_use")
    result.notes.append(f"tenant connections in use after: {in_use}; catalog forwarder: {PROXY.reset} sockets reset in all")
    if in_use:
        result.passed = False
        result.notes.append("  tenant connection slots still held after the load stopped")
    check_writes(load, result, client)
    client.close()
    return result
