"""Scenarios 1-3 of issue 23 (docs/reliability.md): kill -9 of the worker during provisioning, kill -9 of one of two API
instances under load, a tenant PostgreSQL server restarted under load. Each records every request (stack.RECORDER),
checks its invariants against the API and the databases, and returns a Result for the table."""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid

from product import Org, bearer, json_headers, new_org, password_token, raise_budget, signup, wait_active
from stack import API_PORTS, CLUSTER_A, CLUSTER_B, RECORDER, WORKER_HEALTH_PORT, Client, Outcome, raw_get, say


class Load:
    """Steady mixed load (reads and company creations) from `threads` clients against `orgs`, over the given API
    ports. A request that fails in transport is retried once on another port when it is idempotent (a GET); a
    failed POST is never retried blind: it is written down so the invariant check can find out whether it landed."""

    def __init__(self, scenario: str, orgs: list[Org], ports: list[int], threads: int = 4, write_share: float = 0.3,
                 think: float = 0.02) -> None:
        self.scenario = scenario
        self.orgs = orgs
        self.ports = ports
        self.down: dict[int, float] = {}
        self.down_since: dict[int, float] = {}
        self.threads = threads
        self.write_share = write_share
        self.think = think
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.writes: list[tuple[Org, str, Outcome]] = []  # (org, company name, final outcome)
        self.results: list[tuple[Org, Outcome, bool]] = []  # (org, outcome, was a retry)
        self.workers: list[threading.Thread] = []

    def start(self) -> None:
        threading.Thread(target=self._probe, daemon=True).start()
        for i in range(self.threads):
            thread = threading.Thread(target=self._run, args=(i,), daemon=True)
            thread.start()
            self.workers.append(thread)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.workers:
            thread.join(timeout=60)

    def _port(self, rng: random.Random, avoid: int | None = None) -> int:
        now = time.monotonic()
        alive = [p for p in self.ports if p != avoid and self.down.get(p, 0) < now]
        return rng.choice(alive or [p for p in self.ports if p != avoid] or self.ports)

    def _run(self, index: int) -> None:
        rng = random.Random(index)
        client = Client(self.scenario, timeout=30)
        while not self.stop.is_set():
            org = self.orgs[rng.randrange(len(self.orgs))]
            port = self._port(rng)
            # A pooled connection to an instance that was taken out is not reused (a client pool's validation).
            client.drop_older_than(port, self.down_since.get(port, 0))
            if rng.random() < self.write_share:
                name = f"load-{uuid.uuid4().hex}"
                outcome = client.request("POST", "/api/v1/companies", json.dumps({"name": name}), json_headers(org.token, org.slug),
                                         port=port, label=f"write {org.slug}")
                self._note(org, outcome, False, port)
                with self.lock:
                    self.writes.append((org, name, outcome))
            else:
                target = "/api/v1/companies?limit=5" if rng.random() < 0.5 else f"/api/v1/deals?limit=5"
                outcome = client.request("GET", target, headers=bearer(org.token, org.slug), port=port, label=f"read {org.slug}")
                self._note(org, outcome, False, port)
                if outcome.error:
                    retry = client.request("GET", target, headers=bearer(org.token, org.slug), port=self._port(rng, port),
                                           label=f"retry {org.slug}")
                    self._note(org, retry, True, None)
            time.sleep(self.think)
        client.close()

    def _note(self, org: Org, outcome: Outcome, retry: bool, port: int | None) -> None:
        with self.lock:
            self.results.append((org, outcome, retry))
        if outcome.error == "refused" and port is not None:
            # What a load balancer does: a refused connection takes the instance out until its readiness check passes.
            self.down[port] = float("inf")
            self.down_since[port] = time.monotonic()

    def _probe(self) -> None:
        while not self.stop.is_set():
            for port, until in list(self.down.items()):
                if until == float("inf"):
                    try:
                        if raw_get(f"http://127.0.0.1:{port}/health/ready", timeout=2)[0] == 200:
                            self.down[port] = 0
                    except OSError:
                        pass
            time.sleep(0.5)


def error_classes(outcomes: list[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in outcomes:
        if o.error:
            key = o.error
        elif o.status is not None and o.status >= 400:
            code = (o.json() or {}).get("code") if o.headers.get("content-type", "").startswith("application/problem") else None
            key = f"{o.status}{' ' + code if code else ''}"
        else:
            continue
        counts[key] = counts.get(key, 0) + 1
    return counts


def find_company(client: Client, org: Org, name: str) -> list[dict]:
    outcome = client.request("GET", f"/api/v1/companies?q={name}&limit=10", headers=bearer(org.token, org.slug), label="check")
    if outcome.status != 200:
        raise RuntimeError(f"search for {name}: {outcome.status} {outcome.error}")
    return [c for c in (outcome.json() or {}).get("items", []) if c.get("name") == name]


def audited(client: Client, org: Org, company_id: str) -> int:
    outcome = client.request("GET", f"/api/v1/audit-log?entityType=company&entityId={company_id}&limit=10",
                             headers=bearer(org.token, org.slug), label="check")
    if outcome.status != 200:
        raise RuntimeError(f"audit log for {company_id}: {outcome.status} {outcome.body[:200]!r}")
    return sum(1 for e in (outcome.json() or {}).get("items", []) if e.get("action") in ("created", "create", "company.created")
               or "creat" in str(e.get("action")))


def check_writes(load: Load, result, client: Client) -> None:
    """Every acknowledged write visible with its audit entry; every unanswered write either fully there or absent."""
    acknowledged = unknown = landed = absent = half = 0
    for org, name, outcome in load.writes:
        if outcome.status == 201:
            acknowledged += 1
            found = find_company(client, org, name)
            if len(found) != 1 or audited(client, org, found[0]["id"]) != 1:
                half += 1
                result.notes.append(f"  acknowledged write {name}: {len(found)} rows, not exactly one with one audit entry")
        elif outcome.error:
            unknown += 1
            found = find_company(client, org, name)
            if not found:
                absent += 1
            elif len(found) == 1 and audited(client, org, found[0]["id"]) == 1:
                landed += 1
            else:
                half += 1
                result.notes.append(f"  in-flight write {name}: {len(found)} rows; audit entries do not match")
    result.notes.append(f"writes: {acknowledged} acknowledged (all visible with one audit entry: {half == 0}); "
                        f"{unknown} unanswered: {landed} landed whole, {absent} absent, {half} half-written")
    if half:
        result.passed = False


def api_kill(suite, Result):
    """Scenario 2: kill -9 one of two API instances under load, restart it."""
    result = Result("2 kill -9 one of two APIs", True)
    suite.procs.start_api(1)
    suite.procs.wait_ready("api2", f"http://127.0.0.1:{API_PORTS[1]}")
    orgs = [suite.org("load-1", seeded=False), suite.org("load-2", seeded=False)]
    duration = 60 if suite.mode == "full" else 30
    load = Load("api-kill", orgs, list(API_PORTS), threads=6 if suite.mode == "full" else 4)
    before = len(RECORDER.outcomes)
    load.start()
    time.sleep(duration / 3)
    killed_at = time.time()
    say("api-kill: kill -9 api1")
    suite.procs.kill9("api1")
    time.sleep(duration / 3)
    restarted = time.monotonic()
    suite.procs.start_api(0)
    ready = suite.procs.wait_ready("api1", f"http://127.0.0.1:{API_PORTS[0]}")
    back = time.time()
    time.sleep(duration / 3)
    load.finish()
    outcomes = [o for o, _, _ in [(o, org, r) for org, o, r in load.results]]
    result.requests = len(outcomes)
    result.errors = error_classes(outcomes)
    # In flight at the kill: started before it on api1 and failed in transport (not refused: those never reached it).
    # In flight: sent to api1 before the kill, or on a kept-alive connection to it that the kill cut (a reset or closed
    # connection of api1 until it is back). Anything else that fails in transport is a failure of the scenario.
    transport = [o for _, o, retry in load.results if o.error and not retry]
    in_flight = [o for o in transport if o.error != "refused" and o.port == API_PORTS[0]
                 and (o.started <= killed_at or (o.error in ("reset", "closed", "BrokenPipeError") and o.started < back))]
    late = [o for o in transport if o.error != "refused" and o not in in_flight]
    retries = [o for _, o, retry in load.results if retry]
    failed_retries = [o for o in retries if o.error or (o.status or 0) >= 500]
    server_errors = [o for o in outcomes if o.status is not None and o.status >= 500]
    lost_writes = sum(1 for _, _, o in load.writes if o.error and o.error != "refused")
    # Lost: what the client never got an answer for and could not recover (failed retries, unanswered writes).
    result.lost = len(failed_retries) + lost_writes
    result.recovery = f"{ready:.1f} s"
    result.notes.append(f"killed api1 at +{duration / 3:.0f} s; {len(in_flight)} requests failed in flight (reset/closed), "
                        f"{sum(1 for o in transport if o.error == 'refused')} refused while it was down (not sent to it again "
                        f"for 1 s each), {len(late)} failed later than the kill")
    result.notes.append(f"idempotent retries on the other instance: {len(retries)}, {len(failed_retries)} failed; "
                        f"unanswered writes: {lost_writes} (checked below); api1 ready {ready:.1f} s after its restart")
    if late:
        result.passed = False
        result.notes.append(f"  {len(late)} transport failures after the kill was over (e.g. {late[0].error} at {late[0].label})")
    if failed_retries:
        result.passed = False
    if server_errors:
        result.passed = False
        result.notes.append(f"  {len(server_errors)} answers >= 500, e.g. {server_errors[0].status} {server_errors[0].body[:200]!r}")
    after_back = [o for o in outcomes if o.started > back + 1 and (o.error or (o.status or 0) >= 400)]
    if after_back:
        result.passed = False
        result.notes.append(f"  {len(after_back)} failures after api1 was back")
    client = Client("api-kill")
    check_writes(load, result, client)
    client.close()
    _ = before, restarted
    return result


def provisioning_state(org_ids: list[str]) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    ids = ",".join(f"'{i}'" for i in org_ids)
    rows = CLUSTER_A.psql(f"SELECT id, status FROM organizations WHERE id IN ({ids})", "cleancrm_catalog")
    return {line.split("|")[0]: (line.split("|")[1], []) for line in rows.splitlines() if line}


def worker_kill(suite, Result):
    """Scenario 1 (provisioning part): kill -9 the worker while organizations are being provisioned, restart it; each
    converges exactly once: active, one database and one role per organization, no orphan database or role, one owner."""
    result = Result("1 kill -9 worker (provision)", True)
    count = 4 if suite.mode == "full" else 3
    kills = 3 if suite.mode == "full" else 2
    client = Client("worker-kill")
    orgs: list[Org] = []
    started = time.monotonic()
    recovery = 0.0
    for kill in range(kills):
        # A batch signs up in the background; the worker is killed as soon as one of its provisioning steps is running.
        batch = [new_org("wk") for _ in range(count)]
        orgs.extend(batch)
        signer = threading.Thread(target=lambda b=batch: [signup(Client("worker-kill"), o) for o in b], daemon=True)
        signer.start()
        running = ""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not running:
            slugs = ",".join(f"'{o.slug}'" for o in batch)
            running = CLUSTER_A.psql(
                "SELECT o.slug || ' ' || s.name FROM provisioning_steps s JOIN provisioning_runs r ON r.id = s.run_id "
                f"JOIN organizations o ON o.id = r.organization_id WHERE o.slug IN ({slugs}) AND s.started_at IS NOT NULL "
                "AND s.finished_at IS NULL LIMIT 1", "cleancrm_catalog")
            if not running:
                time.sleep(0.05)
        if not running:
            raise RuntimeError("no provisioning step was seen running within 120 s: the kill could not be aimed")
        time.sleep(random.uniform(0, 0.3))
        say(f"worker-kill: kill -9 worker (#{kill + 1}) while running {running}")
        result.notes.append(f"kill #{kill + 1} while step running: {running}")
        suite.procs.kill9("worker")
        signer.join(timeout=120)
        time.sleep(1)
        t = time.monotonic()
        suite.procs.start_worker()
        suite.procs.wait_ready("worker", f"http://127.0.0.1:{WORKER_HEALTH_PORT}")
        recovery = max(recovery, time.monotonic() - t)
    ids = [o.id for o in orgs if o.id]
    if len(ids) != len(orgs):
        raise RuntimeError("a signup did not answer 202")
    for org in orgs:
        org.token = password_token(client, org.owner_email, org.password)
        try:
            wait_active(client, org, timeout=240)
        except RuntimeError as error:
            result.passed = False
            result.notes.append(f"  {error}")
    total = time.monotonic() - started
    result.recovery = f"{total:.0f} s all active"
    statuses = provisioning_state(ids)
    result.notes.append(f"{count} organizations, statuses after restart: {sorted(s for s, _ in statuses.values())}")
    # One database, one role and one secret per organization (docs/MULTI_TENANCY.md: cleancrm_t_<id:N>, tenant-db-<id:N>),
    # nothing without an organization, one owner, one welcome mail each.
    names = CLUSTER_A.psql("SELECT database_name, database_role, replace(id::text, '-', '') FROM organizations "
                           "WHERE database_name IS NOT NULL", "cleancrm_catalog")
    known_dbs = {line.split("|")[0] for line in names.splitlines() if line}
    known_roles = {line.split("|")[1] for line in names.splitlines() if line}
    known_secrets = {f"tenant-db-{line.split('|')[2]}" for line in names.splitlines() if line}
    databases = set(CLUSTER_A.psql("SELECT datname FROM pg_database WHERE datname LIKE 'cleancrm\\_t\\_%'").splitlines())
    roles = set(CLUSTER_A.psql("SELECT rolname FROM pg_roles WHERE rolname LIKE 'cleancrm\\_t\\_%'").splitlines())
    secrets = set(CLUSTER_A.psql("SELECT name FROM secrets WHERE name LIKE 'tenant-db-%'", "cleancrm_catalog").splitlines())
    for org in orgs:
        row = CLUSTER_A.psql(f"SELECT database_name, database_role FROM organizations WHERE id = '{org.id}'", "cleancrm_catalog")
        database, role = (row.split("|") + ["", ""])[:2]
        secret = f"tenant-db-{org.id.replace('-', '')}"
        if database not in databases or role not in roles or secret not in secrets:
            result.passed = False
            result.notes.append(f"  {org.slug}: database {database in databases}, role {role in roles}, secret {secret in secrets}")
            continue
        owners = CLUSTER_A.psql("SELECT count(*) FROM members WHERE role = 'owner'", database)
        memberships = CLUSTER_A.psql(f"SELECT count(*) FROM memberships WHERE organization_id = '{org.id}'", "cleancrm_catalog")
        mails = CLUSTER_A.psql(f"SELECT kind || ':' || count(*) FROM outgoing_emails WHERE organization_id = '{org.id}' "
                               "GROUP BY kind", "cleancrm_catalog").split()
        duplicated = [m for m in mails if not m.endswith(":1")]
        if owners.strip() != "1" or memberships.strip() != "1" or duplicated:
            result.passed = False
            result.notes.append(f"  {org.slug}: {owners} owner rows in its members table, {memberships} catalog memberships, "
                                f"mails {mails} (expected 1, 1, one of each kind)")
        check = client.request("GET", "/api/v1/companies", headers=bearer(org.token, org.slug), label="worker-kill check")
        if check.status != 200:
            result.passed = False
            result.notes.append(f"  {org.slug}: GET companies answered {check.status}")
    orphans = sorted((databases - known_dbs) | (roles - known_roles) | (secrets - known_secrets))
    result.notes.append(f"databases {len(databases)}, roles {len(roles)}, tenant secrets {len(secrets)} for {len(known_dbs)} "
                        f"organizations; orphans: {orphans or 'none'}")
    if orphans:
        result.passed = False
    outcomes = [o for o in RECORDER.outcomes if o.scenario == "worker-kill"]
    result.requests = len(outcomes)
    result.errors = error_classes([o for o in outcomes if o.label != "setup:provisioning"])
    result.lost = 0
    client.close()
    return result


def metric(port: int, name: str) -> float | None:
    try:
        status, _, body = raw_get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    except OSError:
        return None
    if status != 200:
        return None
    total = None
    for line in body.decode("utf-8", "replace").splitlines():
        if line.startswith(name) and not line.startswith("#"):
            match = re.match(rf"^{re.escape(name)}(\{{[^}}]*\}})?\s+([0-9.eE+-]+)", line)
            if match:
                total = (total or 0) + float(match.group(2))
    return total


def pg_restart(suite, Result):
    """Scenario 3: restart the second tenant server under load. Its tenants get 503 with Retry-After while it is down,
    the first server's tenants are unaffected, its tenants recover within 10 s of it being back, and the tenant
    connection gauges return to where they were."""
    result = Result("3 restart a tenant server", True)
    client = Client("pg-restart")
    admin = json_headers(suite.admin_token)
    registered = client.request("POST", "/api/v1/admin/database-servers", json.dumps({
        "name": "faults-b", "host": "127.0.0.1", "port": CLUSTER_B.port, "adminUsername": "postgres", "password": CLUSTER_B.password,
        "capacity": 100}), admin, label="setup:register server")
    if registered.status not in (200, 201):
        raise RuntimeError(f"registering the second server: {registered.status} {registered.body[:300]!r}")
    servers = client.request("GET", "/api/v1/admin/database-servers", headers=admin, label="setup:servers").json()
    items = servers.get("items", servers) if isinstance(servers, dict) else servers
    first = next(s for s in items if s.get("port") != CLUSTER_B.port)
    # Placement picks the least loaded active server (docs/MULTI_TENANCY.md): drain the first while B's tenant signs up.
    client.request("POST", f"/api/v1/admin/database-servers/{first['id']}/drain", headers=admin, label="setup:drain")
    org_b = new_org("pgb")
    signup(client, org_b)
    org_b.token = password_token(client, org_b.owner_email, org_b.password)
    wait_active(client, org_b)
    raise_budget(org_b)
    client.request("POST", f"/api/v1/admin/database-servers/{first['id']}/activate", headers=admin, label="setup:activate")
    org_a = suite.org("load-1", seeded=False)
    placed = CLUSTER_A.psql(f"SELECT s.port FROM organizations o JOIN database_servers s ON s.id = o.database_server_id "
                            f"WHERE o.id = '{org_b.id}'", "cleancrm_catalog")
    if placed.strip() != str(CLUSTER_B.port):
        raise RuntimeError(f"the tenant meant for the second server was placed on port {placed}")
    baseline = metric(API_PORTS[0], "cleancrm_tenant_connections_in_use")
    load = Load("pg-restart", [org_a, org_b], [API_PORTS[0]], threads=4)
    down_for = 10 if suite.mode == "full" else 6
    load.start()
    time.sleep(8)
    say(f"pg-restart: stopping {CLUSTER_B.name} for {down_for} s")
    stopped_at = time.time()
    CLUSTER_B.pg_sh("stop")
    time.sleep(down_for)
    CLUSTER_B.pg_sh("start")
    back_at = time.time()
    say("pg-restart: server back")
    time.sleep(20)
    load.finish()
    result.requests = len(load.results)
    on_a = [o for org, o, _ in load.results if org is org_a]
    on_b = [o for org, o, _ in load.results if org is org_b]
    result.errors = error_classes([o for _, o, _ in load.results])
    bad_a = [o for o in on_a if o.error or (o.status or 0) >= 400]
    result.notes.append(f"first server's tenant: {len(on_a)} requests, {len(bad_a)} failed {error_classes(bad_a)}")
    if bad_a:
        result.passed = False
    failures_b = [o for o in on_b if o.error or (o.status or 0) >= 400]
    wrong = [o for o in failures_b if o.status != 503 or "retry-after" not in o.headers
             or not o.headers.get("content-type", "").startswith("application/problem+json")]
    result.notes.append(f"second server's tenant: {len(on_b)} requests, {len(failures_b)} failed {error_classes(failures_b)}; "
                        f"{len(wrong)} of them not a 503 problem with Retry-After")
    if wrong:
        result.passed = False
        result.notes.append(f"  e.g. {wrong[0].status} {wrong[0].error} {wrong[0].body[:200]!r}")
    slow = [o for o in on_a + on_b if o.elapsed > 10]
    if slow:
        result.passed = False
        result.notes.append(f"  {len(slow)} requests took more than 10 s")
    last_failure = max((o.started + o.elapsed for o in failures_b), default=stopped_at)
    recovery = max(0.0, last_failure - back_at)
    result.recovery = f"{recovery:.1f} s"
    if recovery > 10:
        result.passed = False
        result.notes.append(f"  the second server's tenant still failed {recovery:.1f} s after the server was back")
    lost_writes = sum(1 for _, _, o in load.writes if o.error)
    result.lost = lost_writes
    time.sleep(2)
    after = metric(API_PORTS[0], "cleancrm_tenant_connections_in_use")
    result.notes.append(f"tenant connections in use: {baseline} before, {after} after (idle)")
    if after is None or (baseline is not None and after > baseline):
        result.passed = False
        result.notes.append("  tenant connection slots leaked")
    check_writes(load, result, client)
    client.close()
    return result
