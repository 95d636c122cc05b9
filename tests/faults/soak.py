"""Scenario 8 of issue 23, the soak (docs/reliability.md): `tests/faults/run.sh --soak [minutes]` (default 30). Mixed
load across 100 organizations for that long, a fleet backup every third of the run (`POST /api/v1/admin/backups`) and
one fleet migration (`cleancrm-worker migrate`) at the middle, while the API's and the worker's memory, the database
connections of each cluster and the latency are sampled. Writes the samples (.local/faults/soak.csv) and three small SVG
plots (docs/reliability/soak-*.svg, or FAULTS_SOAK_PLOTS) drawn without any plotting library.

Invariants (bounds chosen so a shared, noisy machine does not fail them by chance, while a leak of the size that matters
over days does): 0 failed requests (no transport error, no answer >= 400), no failed backup; memory flat: the median RSS of the last
fifth of the run at most 25 % and 64 MiB above that of the second fifth (the first fifth is warm-up), per process;
connections flat: the largest count of client backends per cluster in the last fifth at most 5 above the largest of the
second fifth; live managed heap flat: after a full garbage collection (dotnet-gcdump, a local tool of the repository, which
forces one), the API's and the worker's live heap at the end at most 25 % and 16 MiB above what it was at the end of the
first fifth (RSS alone cannot tell a leak from garbage the server GC has not collected yet); p95 stable: the p95 latency
of the last third at most twice that of the first third plus 50 ms; the fleet backups all succeeded and the fleet
migration exited 0."""

from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time

from product import json_headers, new_org, password_token, raise_budget, signup, wait_active
from scenarios import Load, error_classes
from stack import CLUSTER_A, CLUSTER_B, OUT, REPO, WORKER_DIR, API_PORTS, Client, say

PLOTS = os.environ.get("FAULTS_SOAK_PLOTS") or os.path.join(REPO, "docs", "reliability")


def rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def live_heap_mib(pid: int) -> tuple[float | None, str]:
    """The live managed heap of a .NET process right after a full (forced) garbage collection, from `dotnet-gcdump collect`
    (a local tool in .config/dotnet-tools.json): (MiB, "") or (None, why it could not be measured)."""
    path = os.path.join(OUT, f"heap-{pid}-{int(time.time())}.gcdump")
    try:
        collected = subprocess.run(["dotnet", "tool", "run", "dotnet-gcdump", "collect", "-p", str(pid), "-o", path],
                                   cwd=REPO, capture_output=True, text=True, timeout=180)
        if collected.returncode != 0 or not os.path.exists(path):
            return None, f"dotnet-gcdump collect exited {collected.returncode}: {(collected.stderr or collected.stdout)[-300:]}"
        report = subprocess.run(["dotnet", "tool", "run", "dotnet-gcdump", "report", path], cwd=REPO, capture_output=True,
                                text=True, timeout=180)
        for line in report.stdout.splitlines():
            if line.strip().endswith("GC Heap bytes"):
                return int(line.split()[0].replace(",", "")) / 1024 / 1024, ""
        return None, f"no 'GC Heap bytes' line in the report: {report.stdout[:300]!r}"
    except (OSError, subprocess.TimeoutExpired, ValueError) as error:
        return None, f"dotnet-gcdump failed: {error}"
    finally:
        if os.path.exists(path):
            os.remove(path)


def backends(cluster) -> int:
    try:
        return int(cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'", timeout=20))
    except (RuntimeError, subprocess.TimeoutExpired, ValueError):
        return -1


def provision(suite, count: int) -> list:
    """`count` organizations, signed up a few at a time (the worker provisions them one after the other anyway)."""
    client = Client("soak-setup")
    orgs = []
    pending = []
    started = time.monotonic()
    for i in range(count):
        org = new_org("soak")
        signup(client, org)
        pending.append(org)
        if len(pending) == 10 or i == count - 1:
            for waiting in pending:
                waiting.token = password_token(client, waiting.owner_email, waiting.password)
                wait_active(client, waiting, timeout=600)
                raise_budget(waiting)
                orgs.append(waiting)
            pending = []
            say(f"soak: {len(orgs)}/{count} organizations active ({time.monotonic() - started:.0f} s)")
    client.close()
    return orgs


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def svg_plot(path: str, title: str, unit: str, series: dict[str, list[tuple[float, float]]]) -> None:
    """A small line chart: x = minutes into the soak, one polyline per series, min/max labels."""
    width, height, left, bottom, top, right = 520, 200, 56, 28, 24, 110
    points = [p for values in series.values() for p in values]
    if not points:
        return
    x_max = max(1e-9, max(x for x, _ in points))
    y_min = min(0.0, min(y for _, y in points))
    y_max = max(y for _, y in points) * 1.1 or 1.0
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e"]

    def sx(x: float) -> float:
        return left + (width - left - right) * x / x_max

    def sy(y: float) -> float:
        return height - bottom - (height - bottom - top) * (y - y_min) / (y_max - y_min)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{left}" y="14" font-weight="bold">{title}</text>',
             f'<line x1="{left}" y1="{sy(y_min)}" x2="{width - right}" y2="{sy(y_min)}" stroke="#888"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#888"/>',
             f'<text x="{left - 4}" y="{sy(y_max) + 4:.1f}" text-anchor="end">{y_max:.0f}</text>',
             f'<text x="{left - 4}" y="{sy(y_min) + 4:.1f}" text-anchor="end">{y_min:.0f}</text>',
             f'<text x="{left - 4}" y="{(sy(y_max) + sy(y_min)) / 2:.1f}" text-anchor="end">{unit}</text>',
             f'<text x="{left}" y="{height - 8}">0</text>',
             f'<text x="{width - right}" y="{height - 8}" text-anchor="end">{x_max:.0f} min</text>']
    for i, (name, values) in enumerate(series.items()):
        color = colors[i % len(colors)]
        line = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in values)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{line}"/>')
        parts.append(f'<text x="{width - right + 6}" y="{top + 14 * (i + 1)}" fill="{color}">{name}</text>')
    parts.append("</svg>")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(parts) + "\n")


def soak(suite, Result, minutes: float, org_count: int = 100):
    result = Result(f"8 soak {minutes:g} min x {org_count} orgs", True)
    admin = json_headers(suite.admin_token)
    orgs = provision(suite, org_count)
    client = Client("soak")
    load = Load("soak", orgs, [API_PORTS[0]], threads=4, think=0.05)
    samples: list[dict] = []
    stop = threading.Event()
    t0 = time.time()

    def sample() -> None:
        while not stop.is_set():
            samples.append({"t": (time.time() - t0) / 60, "api_rss": rss_mib(suite.procs.procs["api1"].pid),
                            "worker_rss": rss_mib(suite.procs.procs["worker"].pid), "conn_a": backends(CLUSTER_A),
                            "conn_b": backends(CLUSTER_B)})
            stop.wait(10)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    load.start()
    duration = minutes * 60
    backups_at = [duration * k / 3 for k in range(3)]  # 0, 1/3, 2/3
    migrate_at = duration / 2
    backup_runs: list[tuple[float, int]] = []
    migration: tuple[float, int, float] | None = None
    heaps: dict[str, list[tuple[float, float | None, str]]] = {"api1": [], "worker": []}

    def measure_heaps() -> None:
        for name in heaps:
            mib, why = live_heap_mib(suite.procs.procs[name].pid)
            heaps[name].append(((time.time() - t0) / 60, mib, why))
            say(f"soak: {name} live heap after a full GC at {(time.time() - t0) / 60:.1f} min: "
                + (f"{mib:.1f} MiB" if mib is not None else why))

    while time.time() - t0 < duration:
        elapsed = time.time() - t0
        if not heaps["api1"] and elapsed >= duration / 5:
            measure_heaps()
        if backups_at and elapsed >= backups_at[0]:
            backups_at.pop(0)
            # A fresh connection each time: Kestrel closes a connection idle for longer than its keep-alive timeout (130 s),
            # and reusing such a one fails in the client, not in the server.
            client.close()
            queued = client.request("POST", "/api/v1/admin/backups", headers=admin, label="fleet backup")
            backup_runs.append((elapsed / 60, (queued.json() or {}).get("queued", -1) if queued.status == 202
                                else f"{queued.status} {queued.error}"))
            say(f"soak: fleet backup queued at {elapsed / 60:.1f} min: {queued.status} {queued.body[:80]!r}")
        if migration is None and elapsed >= migrate_at:
            say("soak: fleet migration (worker migrate)")
            m0 = time.time()
            log = os.path.join(OUT, "logs", "soak-migrate.log")
            with open(log, "w", encoding="utf-8") as handle:
                code = subprocess.run(["dotnet", "CleanCrm.Provisioning.Worker.dll", "migrate"], cwd=WORKER_DIR,
                                      env=suite.procs.server_env(), stdout=handle, stderr=subprocess.STDOUT, timeout=1800).returncode
            migration = (elapsed / 60, code, time.time() - m0)
            say(f"soak: fleet migration exited {code} after {time.time() - m0:.0f} s")
        time.sleep(1)
    measure_heaps()  # under load still, like the first measurement
    load.finish()
    stop.set()
    sampler.join(timeout=30)

    # Fleet backups: every backup queued during the soak finished and succeeded.
    statuses = CLUSTER_A.psql("SELECT status || ':' || count(*) FROM backups WHERE trigger = 'manual' GROUP BY status",
                              "cleancrm_catalog").split()
    result.notes.append(f"fleet backups queued at {[f'{t:.1f} min: {n}' for t, n in backup_runs]}; manual backups by status "
                        f"{statuses}")
    # Backups still queued or running when the load stops are not failures (one slot backs the fleet up one tenant at a
    # time; on a busy machine a fleet backup outlasts a short soak); a failed one is.
    if any(s.startswith("failed:") for s in statuses) or any(not isinstance(n, int) for _, n in backup_runs):
        result.passed = False
    for name in ("api1", "worker"):
        code = suite.procs.procs[name].poll()
        if code is not None:  # -9: killed from outside (SIGKILL), other values: the process itself ended
            result.passed = False
            result.notes.append(f"  {name} exited during the soak with code {code}; see {suite.procs.logs[name]}")
    if migration is None or migration[1] != 0:
        result.passed = False
    result.notes.append(f"fleet migration at {migration[0]:.1f} min: exit {migration[1]} in {migration[2]:.0f} s"
                        if migration else "fleet migration did not run")

    outcomes = [o for _, o, _ in load.results]
    result.requests = len(outcomes)
    result.errors = error_classes(outcomes)
    failed = [o for o in outcomes if o.error or (o.status or 0) >= 400]
    result.lost = sum(1 for _, _, o in load.writes if o.error)
    if failed:
        result.passed = False
        result.notes.append(f"  {len(failed)} failed requests, e.g. {failed[0].status} {failed[0].error} {failed[0].body[:160]!r}")

    # p95 per minute.
    per_minute: dict[int, list[float]] = {}
    for o in outcomes:
        per_minute.setdefault(int((o.started - t0) // 60), []).append(o.elapsed * 1000)
    p95 = [(m + 0.5, percentile(v, 0.95)) for m, v in sorted(per_minute.items()) if len(v) >= 20]
    third = max(1, len(outcomes) // 3)
    by_start = sorted(outcomes, key=lambda o: o.started)
    first_p95 = percentile([o.elapsed * 1000 for o in by_start[:third]], 0.95)
    last_p95 = percentile([o.elapsed * 1000 for o in by_start[-third:]], 0.95)
    result.notes.append(f"p95 first third {first_p95:.0f} ms, last third {last_p95:.0f} ms (bound: at most 2x + 50 ms); "
                        f"per minute: {', '.join(f'{v:.0f}' for _, v in p95)}")
    if last_p95 > 2 * first_p95 + 50:
        result.passed = False

    def fifth(key: str, index: int) -> list[float]:
        values = [s[key] for s in samples if s[key] is not None and s[key] >= 0]
        n = len(values)
        return values[n * index // 5: max(n * index // 5 + 1, n * (index + 1) // 5)] if n else []

    for key, name in (("api_rss", "API"), ("worker_rss", "worker")):
        second, last = fifth(key, 1), fifth(key, 4)
        if not second or not last:
            result.passed = False
            result.notes.append(f"  no memory samples of the {name}")
            continue
        a, b = statistics.median(second), statistics.median(last)
        ok = b <= a * 1.25 and b <= a + 64
        result.notes.append(f"{name} RSS median {a:.0f} MiB (2nd fifth) -> {b:.0f} MiB (last fifth): {'flat' if ok else 'GROWING'}")
        if not ok:
            result.passed = False
    for name, label in (("api1", "API"), ("worker", "worker")):
        points = heaps[name]
        if len(points) < 2 or points[0][1] is None or points[-1][1] is None:
            result.passed = False
            result.notes.append(f"  the {label}'s live heap could not be measured twice: {[p[2] for p in points if p[2]] or points}")
            continue
        (t1, a, _), (t2, b, _) = points[0], points[-1]
        ok = b <= a * 1.25 and b <= a + 16
        result.notes.append(f"{label} live heap after a full GC {a:.1f} MiB at {t1:.1f} min -> {b:.1f} MiB at {t2:.1f} min: "
                            f"{'flat' if ok else 'GROWING'}")
        if not ok:
            result.passed = False
    for key, name in (("conn_a", "faults-a"), ("conn_b", "faults-b")):
        second, last = fifth(key, 1), fifth(key, 4)
        if second and last:
            ok = max(last) <= max(second) + 5
            result.notes.append(f"{name} client backends max {max(second):.0f} (2nd fifth) -> {max(last):.0f} (last fifth): "
                                f"{'flat' if ok else 'GROWING'}")
            if not ok:
                result.passed = False

    with open(os.path.join(OUT, "soak.csv"), "w", encoding="utf-8") as handle:
        handle.write("minute,api_rss_mib,worker_rss_mib,backends_a,backends_b\n")
        for s in samples:
            handle.write(f"{s['t']:.2f},{s['api_rss']},{s['worker_rss']},{s['conn_a']},{s['conn_b']}\n")
    svg_plot(os.path.join(PLOTS, "soak-memory.svg"), f"RSS during the soak ({minutes:g} min, {org_count} orgs)", "MiB",
             {"API": [(s["t"], s["api_rss"]) for s in samples if s["api_rss"]],
              "worker": [(s["t"], s["worker_rss"]) for s in samples if s["worker_rss"]]})
    svg_plot(os.path.join(PLOTS, "soak-connections.svg"), "PostgreSQL client backends", "count",
             {"faults-a": [(s["t"], s["conn_a"]) for s in samples if s["conn_a"] >= 0],
              "faults-b": [(s["t"], s["conn_b"]) for s in samples if s["conn_b"] >= 0]})
    svg_plot(os.path.join(PLOTS, "soak-p95.svg"), "p95 latency per minute", "ms", {"p95": p95})
    result.notes.append(f"samples: {len(samples)} in {os.path.join(OUT, 'soak.csv')}; plots in {PLOTS}")
    result.recovery = "-"
    client.close()
    return result
