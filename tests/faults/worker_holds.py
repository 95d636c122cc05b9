"""Holds and checks of scenario 1's tenant move, fleet migration and Slack sub-cases (docs/reliability.md, `worker-ops`;
orchestrated by scenarios_worker.py). Each hold brings an operation to a point it is seen at before the kill; each check
tells whether it converged exactly once. Everything on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.parse
import uuid

from peers import LockHolder, SlackStub, TransactionHold, wait_until, waiting_on_lock
from product import bearer, json_headers
from stack import CLUSTER_A, CLUSTER_B, HOST, OUT, PORT_BASE, WORKER_DIR, Client

SLACK_PORT = PORT_BASE + 13


def slack_settings() -> dict[str, str]:
    """The API's and the worker's settings for the Slack stub (docs/INTEGRATIONS.md, "Slack")."""
    base = f"http://{HOST}:{SLACK_PORT}/slack"
    return {
        "CleanCrm__Integrations__Slack__ClientId": "slack-client",
        "CleanCrm__Integrations__Slack__ClientSecret": "slack-secret-faults",
        "CleanCrm__Integrations__Slack__SigningSecret": "slack-signing-faults",
        "CleanCrm__Integrations__Slack__AuthorizeUrl": f"{base}/oauth/v2/authorize",
        "CleanCrm__Integrations__Slack__TokenUrl": f"{base}/api/oauth.v2.access",
        "CleanCrm__Integrations__Slack__RevokeUrl": f"{base}/api/auth.revoke",
        "CleanCrm__Integrations__Slack__ApiBaseUrl": f"{base}/api",
    }


def cluster_of(port: int):
    return CLUSTER_A if port == CLUSTER_A.port else CLUSTER_B


def catalog(sql: str) -> str:
    return CLUSTER_A.psql(sql, "cleancrm_catalog")


def waiting_with(cluster, database: str, word: str) -> list[str]:
    """Sessions of `database` waiting for a lock whose query (all of it) mentions `word`, as 'application: query'."""
    rows = cluster.psql("SELECT coalesce(application_name, '') || ': ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 100) "
                        f"FROM pg_stat_activity WHERE datname = '{database}' AND wait_event_type = 'Lock' "
                        f"AND application_name <> 'faults-lock-holder' AND query ILIKE '%{word}%'")
    return [r for r in rows.splitlines() if r]


# ---------------------------------------------------------------------------------------------------------------- move

def servers(client: Client, admin_token: str, api: int) -> list[dict]:
    """The registered database servers; faults-b registered through the admin API when it is not yet (as scenario 3)."""
    admin = json_headers(admin_token)
    listed = client.request("GET", "/api/v1/admin/database-servers", headers=admin, port=api, label="worker-ops servers").json()
    items = listed.get("items", listed) if isinstance(listed, dict) else listed
    if not any(s.get("port") == CLUSTER_B.port for s in items):
        registered = client.request("POST", "/api/v1/admin/database-servers", json.dumps({
            "name": "faults-b", "host": HOST, "port": CLUSTER_B.port, "adminUsername": "postgres", "password": CLUSTER_B.password,
            "capacity": 100}), admin, port=api, label="worker-ops register server")
        if registered.status not in (200, 201):
            raise RuntimeError(f"registering faults-b answered {registered.status} {registered.body[:300]!r}")
        listed = client.request("GET", "/api/v1/admin/database-servers", headers=admin, port=api, label="worker-ops servers").json()
        items = listed.get("items", listed) if isinstance(listed, dict) else listed
    return items


def table_counts(cluster, database: str) -> dict[str, int]:
    """count(*) of every table of the database, in one query."""
    rows = cluster.psql(
        "SELECT table_name || '|' || (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM public.%I', table_name), "
        "false, true, '')))[1]::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' "
        "ORDER BY 1", database)
    return {line.split("|")[0]: int(line.split("|")[1]) for line in rows.splitlines() if line}


def placement(org_id: str) -> str:
    """'status:port' of the organization in the catalog."""
    return catalog("SELECT o.status || ':' || s.port FROM organizations o JOIN database_servers s ON s.id = o.database_server_id "
                   f"WHERE o.id = '{org_id}'")


def databases_named(cluster, name: str) -> int:
    return int(cluster.psql(f"SELECT count(*) FROM pg_database WHERE datname = '{name}'"))


def roles_named(cluster, name: str) -> int:
    return int(cluster.psql(f"SELECT count(*) FROM pg_roles WHERE rolname = '{name}'"))


class MoveHold:
    """A tenant move (docs/OPERATIONS.md, "Moving a tenant to another server") held in its copy: the worker's pg_restore
    into the target is caught in /proc as it starts and stopped (SIGSTOP); the organization is `moving` and its database
    exists on the target. release() continues it (SIGCONT): after the kill its input is closed and it ends."""

    def __init__(self, client: Client, suite, org, api: int, case, stopper) -> None:
        self.org = org
        self.case = case
        self.stop = stopper
        self.before: dict[str, int] = {}
        self.database = catalog(f"SELECT database_name FROM organizations WHERE id = '{org.id}'")
        self.role = catalog(f"SELECT database_role FROM organizations WHERE id = '{org.id}'")
        items = servers(client, suite.admin_token, api)
        source_port = int(placement(org.id).split(":")[1])
        target = next((s for s in items if s.get("port") != source_port), None)
        if target is None:
            case.problems.append(f"no second database server to move to: {items}")
            return
        self.source, self.target = cluster_of(source_port), cluster_of(int(target["port"]))
        self.before = table_counts(self.source, self.database)
        queued = client.request("POST", f"/api/v1/admin/organizations/{org.id}/move", json.dumps({"databaseServerId": target["id"]}),
                                json_headers(suite.admin_token), port=api, label="worker-ops move")
        if queued.status != 202:
            case.problems.append(f"queueing the move answered {queued.status} {queued.body[:300]!r}")
            return
        # The move first takes a pre-move backup (pg_dump), then copies: pg_dump piped into pg_restore on the target.
        if stopper.catch(240) and placement(org.id).startswith("moving:") and databases_named(self.target, self.database) == 1:
            case.ready = True
            case.where = (f"moving from {self.source.name} to {self.target.name}, {self.database} created on {self.target.name}, "
                          f"its pg_restore (pid {stopper.pid}) stopped mid-copy; {sum(self.before.values())} rows in "
                          f"{len(self.before)} tables before")
        else:
            case.problems.append(f"the move's pg_restore was not caught: {placement(org.id)!r}, "
                                 f"{databases_named(self.target, self.database) if self.target else '?'} copies on the target")

    def converged(self) -> bool:
        return placement(self.org.id) == f"active:{self.target.port}" and databases_named(self.source, self.database) == 0

    def check(self, client: Client, api: int) -> None:
        case = self.case
        where = {c.name: (databases_named(c, self.database), roles_named(c, self.role)) for c in (self.source, self.target)}
        secrets = catalog(f"SELECT count(*) FROM secrets WHERE name = 'tenant-db-{self.org.id.replace('-', '')}'")
        after = table_counts(self.target, self.database) if where[self.target.name][0] == 1 else {}
        row = catalog(f"SELECT o.status || ' port=' || s.port || ' server=' || s.name || ' schema=' || coalesce(o.schema_version, '-') "
                      f"FROM organizations o JOIN database_servers s ON s.id = o.database_server_id WHERE o.id = '{self.org.id}'")
        listed = client.request("GET", "/api/v1/companies?limit=200", headers=bearer(self.org.token, self.org.slug), port=api,
                                label="worker-ops check")
        served = len((listed.json() or {}).get("items", [])) if listed.status == 200 else None
        # Nothing of the pattern on either server without an organization placed there.
        orphans = []
        for cluster in (CLUSTER_A, CLUSTER_B):
            placed = set(catalog("SELECT o.database_name FROM organizations o JOIN database_servers s ON s.id = o.database_server_id "
                                 f"WHERE s.port = {cluster.port} AND o.database_name IS NOT NULL").splitlines())
            present = set(cluster.psql("SELECT datname FROM pg_database WHERE datname LIKE 'cleancrm\\_t\\_%'").splitlines())
            orphans += [f"{cluster.name}:{d}" for d in sorted(present - placed)]
        changed = {t: (self.before.get(t), after.get(t)) for t in set(self.before) | set(after) if self.before.get(t) != after.get(t)}
        case.notes.append(f"catalog: {row}; (databases, roles) per server {where}; tenant secrets {secrets}; rows before "
                          f"{sum(self.before.values())}, after {sum(after.values())}, tables that differ {changed or 'none'}; "
                          f"GET companies {listed.status} ({served} items, {self.before.get('companies')} before); "
                          f"orphan databases {orphans or 'none'}")
        if (not row.startswith(f"active port={self.target.port} ") or where[self.source.name] != (0, 0)
                or where[self.target.name] != (1, 1) or secrets != "1" or changed or not self.before
                or served != self.before.get("companies") or orphans):
            case.problems.append("expected the organization active on the target only (one database and one role there, none on the "
                                 "source), one secret, every table's row count unchanged, served by the API, no orphan")


# ----------------------------------------------------------------------------------------------------------- fleet

class FleetMigration:
    """`cleancrm-worker migrate --parallelism 1` (docs/OPERATIONS.md, "Fleet migrations") killed with kill -9 while one
    tenant's migration, in the middle of the fleet, waits on a lock the suite holds on that tenant's migrations history
    table; then run again, as a deployment would. Every tenant's catalog version is first set one migration back (what a
    crash between migrating and recording leaves, or a deployment of the next migration finds): the run then walks the
    whole fleet (each tenant's lock, EF's migrator, grants, the recorded version). The suite cannot make a tenant
    really one migration behind from outside .NET; FleetMigrationTests does (EF's Down)."""

    def __init__(self, procs, case) -> None:
        self.procs = procs
        self.case = case
        self.killed_at = 0.0
        self.done_before: list[str] = []
        self.pending: list[str] = []
        self.output = ""
        rows = catalog("SELECT o.slug || '|' || o.database_name || '|' || s.port FROM organizations o JOIN database_servers s "
                       "ON s.id = o.database_server_id WHERE o.status IN ('active', 'suspended') ORDER BY o.slug COLLATE \"C\"")
        self.orgs = [tuple(r.split("|")) for r in rows.splitlines() if r]
        first = self.orgs[0]
        self.versions = cluster_of(int(first[2])).psql("SELECT migration_id FROM __ef_migrations_history ORDER BY 1", first[1]).split()
        self.latest, self.previous = self.versions[-1], self.versions[-2]

    def versions_of(self) -> dict[str, str]:
        rows = catalog("SELECT slug || '|' || coalesce(schema_version, '') FROM organizations WHERE status IN ('active', 'suspended')")
        return dict(r.split("|") for r in rows.splitlines() if r)

    def command(self, *extra: str) -> list[str]:
        return ["dotnet", "CleanCrm.Provisioning.Worker.dll", "migrate", *extra]

    def run(self) -> None:
        case = self.case
        if len(self.orgs) < 3:
            case.problems.append(f"only {len(self.orgs)} organizations: no middle of a fleet")
            return
        held_index = len(self.orgs) // 2
        slug, database, port = self.orgs[held_index]
        cluster = cluster_of(int(port))
        catalog(f"UPDATE organizations SET schema_version = '{self.previous}' WHERE status IN ('active', 'suspended')")
        holder = LockHolder(cluster, database, "__ef_migrations_history")
        log = open(os.path.join(OUT, "logs", "fleet-migrate.log"), "w", encoding="utf-8")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(self.command("--parallelism", "1"), cwd=WORKER_DIR, env=self.procs.server_env(), stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            before = [s for s, _, _ in self.orgs[:held_index]]

            def in_the_middle():
                versions = self.versions_of()
                return waiting_on_lock(cluster, database) if all(versions.get(s) == self.latest for s in before) \
                    and versions.get(slug) == self.previous else None

            waiting = wait_until(in_the_middle, 240)
            if waiting and proc.poll() is None and waiting_on_lock(cluster, database):
                case.ready = True
                case.where = (f"tenant {held_index + 1} of {len(self.orgs)} ({slug}) waiting on a lock on its migrations history "
                              f"({'; '.join(waiting)[:120]}); {held_index} migrated before it, {len(self.orgs) - held_index - 1} "
                              "not started")
            else:
                case.problems.append(f"the migration was never seen waiting on {slug}'s lock (exit {proc.poll()}, versions "
                                     f"{self.versions_of()})")
            self.killed_at = time.monotonic()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            holder.release()
            log.close()
        versions = self.versions_of()
        self.done_before = [s for s, v in versions.items() if v == self.latest]
        self.pending = [s for s, v in versions.items() if v != self.latest]
        case.notes.append(f"right after the kill: {len(self.done_before)} tenants at {self.latest}, {len(self.pending)} not "
                          f"(the held one: {versions.get(slug)})")
        # Run again (also when the kill could not be aimed: the fleet is brought back to the latest version either way).
        rerun = subprocess.run(self.command(), cwd=WORKER_DIR, env=self.procs.server_env(), capture_output=True, text=True,
                               timeout=900)
        self.output = rerun.stdout
        with open(os.path.join(OUT, "logs", "fleet-migrate.log"), "a", encoding="utf-8") as handle:
            handle.write("--- the run after the kill\n" + rerun.stdout + rerun.stderr)
        summary = next((line for line in rerun.stdout.splitlines() if line.startswith("fleet: ")), "")
        if case.ready:
            case.converged_at = time.monotonic() - self.killed_at
        case.notes.append(f"run again: exit {rerun.returncode}, {summary or 'no summary line'}")
        if rerun.returncode != 0 or not summary.startswith(f"fleet: {len(self.pending)} migrated,") or " 0 failed" not in summary:
            case.problems.append(f"expected the run again to exit 0 having migrated exactly the {len(self.pending)} tenants left, "
                                 "none failed or busy")

    def check(self) -> None:
        case = self.case
        versions = self.versions_of()
        behind = sorted(s for s, v in versions.items() if v != self.latest)
        broken = []
        for slug, database, port in self.orgs:
            history = cluster_of(int(port)).psql("SELECT count(*) || '|' || count(DISTINCT migration_id) || '|' || max(migration_id) "
                                                 "FROM __ef_migrations_history", database)
            if history != f"{len(self.versions)}|{len(self.versions)}|{self.latest}":
                broken.append(f"{slug}: {history}")
        locks = catalog("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        case.notes.append(f"{len(self.orgs)} tenants: catalog versions behind {behind or 'none'}; migrations history (rows, distinct, "
                          f"last) not {len(self.versions)}|{len(self.versions)}|{self.latest}: {broken or 'none'}; advisory lock "
                          f"waiters {locks}")
        if behind or broken:
            case.problems.append("expected every tenant at the latest migration, recorded once in its history and in the catalog")


# ----------------------------------------------------------------------------------------------------------- Slack

class SlackHolds:
    """Two Slack notifications (docs/WORKFLOWS.md, "Slack notifications": the outbox's `slack` consumer queues
    SlackNotificationJob, which calls chat.postMessage) held at two points before the kill:
    - after Slack's answer (`hold_after`): the stub withholds its answer to the first post until the suite holds that
      job's row in hangfire.job (FOR NO KEY UPDATE: only updates of that row wait) and an uncommitted row of the job's
      state lock in hangfire.lock, then answers 200 `ok`; the job's completion (the state change Hangfire writes after the
      job returned) is then seen waiting; rolled back after the kill, so the dead worker leaves no lock behind;
    - before the request leaves (`hold_before`): the suite holds an ACCESS EXCLUSIVE lock on the catalog's `secrets` table
      (the bot token is read from the secret store right before the post); the second job is seen running and waiting on
      it, and the stub has not received its message.
    `prepare` connects Slack the way a user does (connect, consent, callback) and chooses `deal.won`; the deals are made
    beforehand and won by the holds, so each hold takes seconds (they are set up right before the kill, with the mail's)."""

    def __init__(self, stub: SlackStub, after_case, before_case) -> None:
        self.stub = stub
        self.after_case = after_case
        self.before_case = before_case
        self.row_hold: TransactionHold | None = None
        self.secrets_hold: LockHolder | None = None
        tag = uuid.uuid4().hex[:8]
        self.texts = {"after": f"Deal won: slack-after-{tag}", "before": f"Deal won: slack-before-{tag}"}
        self.jobs: dict[str, str] = {}
        self.deals: dict[str, str] = {}
        self.won = ""
        self.prepared = False

    def prepare(self, client: Client, org, api: int) -> None:
        self.client, self.api, self.headers = client, api, json_headers(org.token, org.slug)
        started = client.request("POST", "/api/v1/integrations/slack/connect", headers=bearer(org.token, org.slug), port=api,
                                 label="worker-ops slack connect")
        if started.status != 200:
            self._fail(f"connect answered {started.status} {started.body[:200]!r}")
            return
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(started.json()["authorizationUrl"]).query)
        callback = client.request("GET", f"/oauth/slack/callback?code=faults-{uuid.uuid4().hex}&state="
                                  f"{urllib.parse.quote(query['state'][0])}", port=api, label="worker-ops slack callback")
        status = catalog(f"SELECT status FROM integration_connections WHERE organization_id = '{org.id}' AND provider = 'slack'")
        if callback.status not in (302, 303) or status != "connected":
            self._fail(f"the callback answered {callback.status}; connection {status!r}")
            return
        chosen = client.request("PUT", "/api/v1/integrations/slack/settings", json.dumps({"events": ["deal.won"]}), self.headers,
                                port=api, label="worker-ops slack settings")
        pipelines = client.request("GET", "/api/v1/pipelines", headers=bearer(org.token, org.slug), port=api, label="worker-ops pipelines")
        stages = ((pipelines.json() or {}).get("items") or [{}])[0].get("stages") or []
        self.won = next((s["id"] for s in stages if s.get("kind") == "won"), "")
        if chosen.status != 200 or not self.won:
            self._fail(f"slack settings answered {chosen.status}; a won stage {self.won!r}")
            return
        for key, text in self.texts.items():
            deal = client.request("POST", "/api/v1/deals", json.dumps({"name": text[len("Deal won: "):]}), self.headers, port=api,
                                  label="worker-ops slack deal")
            if deal.status != 201:
                self._fail(f"creating a deal answered {deal.status} {deal.body[:200]!r}")
                return
            self.deals[key] = deal.json()["id"]
        self.prepared = True

    def _win(self, key: str) -> bool:
        moved = self.client.request("POST", f"/api/v1/deals/{self.deals[key]}/move", json.dumps({"stageId": self.won}), self.headers,
                                    port=self.api, label="worker-ops slack won")
        return moved.status == 200

    def hold_after(self) -> None:
        """The first deal won; its post held at the stub, the job's completion held by locks, then Slack's 200 `ok`."""
        case, stub = self.after_case, self.stub
        if not self.prepared:
            return
        stub.hold_next()
        if not self._win("after") or not stub.held.wait(timeout=60) or stub.held_text != self.texts["after"]:
            stub.release()
            self._fail(f"the first deal's message never reached Slack held (held {stub.held_text!r})", only=case)
            return
        job = wait_until(lambda: self._job("after", "Processing"), 10)
        if not job:
            stub.release()
            self._fail("the held post's job was not found processing in hangfire.job", only=case)
            return
        # Hangfire changes a job's state under a distributed lock (a row of hangfire.lock named after the job) and then
        # updates the job's row: an uncommitted row of that name makes the lock wait, the row lock the update.
        row = f"SELECT id FROM hangfire.job WHERE id = {job} FOR NO KEY UPDATE"
        try:
            self.row_hold = TransactionHold(CLUSTER_A, "cleancrm_catalog", f"{row}; INSERT INTO hangfire.lock (resource, acquired) "
                                            f"VALUES ('hangfire:job:{job}:state-lock', now())")
        except RuntimeError as error:  # the lock table not as expected: the row lock alone still holds the update
            case.notes.append(f"state lock not held ({str(error)[:120]}); the job's row only")
            self.row_hold = TransactionHold(CLUSTER_A, "cleancrm_catalog", row)
        stub.release()
        waiting = wait_until(lambda: waiting_with(CLUSTER_A, "cleancrm_catalog", "hangfire") if stub.answered.is_set() else None, 30)
        if waiting:
            marker = catalog(f"SELECT count(*) FROM hangfire.jobparameter WHERE jobid = {job} AND name = 'SlackPostedAt'")
            case.ready = True
            case.where = (f"Slack answered 200 ok; job {job}'s completion (Hangfire's state change) waits on a lock "
                          f"({'; '.join(waiting)[:100]}); posted marker rows {marker}")
        else:
            self._fail("after Slack's answer the job's completion was not seen waiting", only=case)

    def hold_before(self) -> None:
        """The secret store locked, then the second deal won: its job runs and waits before the post."""
        case = self.before_case
        if not self.prepared:
            return
        self.secrets_hold = LockHolder(CLUSTER_A, "cleancrm_catalog", "secrets")
        if not self._win("before"):
            self._fail("the second deal could not be won", only=case)
            return
        seen = wait_until(self._before_waiting, 60)
        if seen and self.stub.count(self.texts["before"]) == (0, 0):
            case.ready = True
            case.where = (f"job {seen[0]} running, waiting on the secret store's lock before chat.postMessage "
                          f"({'; '.join(seen[1])[:100]}); Slack has received nothing of it")
        else:
            self._fail(f"the second job was not seen waiting before its post (job {self._job('before', None)}, Slack "
                       f"{self.stub.count(self.texts['before'])})", only=case)

    def _before_waiting(self):
        job = self._job("before", "Processing")
        waiting = waiting_with(CLUSTER_A, "cleancrm_catalog", "secrets")
        return (job, waiting) if job and waiting else None

    def at_kill(self) -> None:
        """Still in the middle right before the kill (a command timeout would have ended a wait)."""
        if self.after_case.ready and (self.state("after") != "Processing" or self.stub.count(self.texts["after"])[0] != 1):
            self.after_case.ready = False
            self.after_case.problems.append(f"no longer held at the kill: job {self.state('after')}, Slack "
                                            f"{self.stub.count(self.texts['after'])}")
        if self.before_case.ready and (not self._before_waiting() or self.stub.count(self.texts["before"]) != (0, 0)):
            self.before_case.ready = False
            self.before_case.problems.append(f"no longer held at the kill: job {self.state('before')}, Slack "
                                             f"{self.stub.count(self.texts['before'])}")

    def _fail(self, problem: str, only=None) -> None:
        for case in [only] if only else [self.after_case, self.before_case]:
            case.problems.append(problem)

    def _job(self, key: str, state: str | None) -> str:
        """The SlackNotificationJob of that text (its id), in that state when given."""
        where = f"AND statename = '{state}'" if state else ""
        job = catalog(f"SELECT id FROM hangfire.job WHERE invocationdata::text LIKE '%SlackNotificationJob%' "
                      f"AND arguments::text LIKE '%{self.texts[key].split(': ', 1)[1]}%' {where} ORDER BY id LIMIT 1")
        if job:
            self.jobs[key] = job
        return job

    def release(self) -> None:
        for hold in (self.row_hold, self.secrets_hold):
            if hold:
                hold.release()
        self.row_hold = self.secrets_hold = None

    def state(self, key: str) -> str:
        job = self.jobs.get(key)
        return catalog(f"SELECT statename FROM hangfire.job WHERE id = {job}") if job else ""

    def converged(self, key: str) -> bool:
        return self.state(key) == "Succeeded" and self.stub.count(self.texts[key])[1] >= 1

    def check(self) -> None:
        for key, case in (("after", self.after_case), ("before", self.before_case)):
            received, accepted = self.stub.count(self.texts[key])
            case.notes.append(f"job {self.jobs.get(key)} {self.state(key)}; Slack received {received} posts of {self.texts[key]!r}, "
                              f"accepted {accepted}")
            if (received, accepted) != (1, 1) or self.state(key) != "Succeeded":
                case.problems.append("expected exactly one message in Slack and the job succeeded")
