"""Scenario 1 of issue 23 beyond provisioning (docs/reliability.md): kill -9 the worker while it is provably in the
middle of a mail delivery (before and after the SMTP server accepted the message), an outgoing webhook delivery, a Slack
notification (before the post, after Slack's 200), a CSV import, a backup, a restore, an incoming webhook and a tenant
move; restart it; each converges exactly once. Then kill -9 a fleet migration (`migrate`) in the middle of the fleet and
run it again. Every operation is held at a known point (the SMTP sink, the webhook receiver or the Slack stub does not
answer; a psql session holds a lock the operation waits for; a pg_restore is stopped) and observed there before the kill:
a sub-case that cannot be brought to that point fails and says so. One row per sub-case."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid

from peers import (HookReceiver, LockHolder, ProviderStub, SlackStub, SmtpSink, start_api_with, start_worker_with, wait_until,
                   waiting_on_lock)
from product import bearer, json_headers, password_token
from scenarios_time import STUB_PORT, connect_fathom, sign_standard
from scenarios_time import settings as time_settings
from scenarios import Load, error_classes
from stack import API_PORTS, CLUSTER_A, OUT, PORT_BASE, RECORDER, SMTP_PORT, WORKER_HEALTH_PORT, Client, say
from worker_holds import SLACK_PORT, FleetMigration, MoveHold, SlackHolds, slack_settings

APIX_PORT = PORT_BASE + 10  # an API instance of these scenarios' own (it may save a webhook endpoint on 127.0.0.1)
HOOK_PORT = PORT_BASE + 11
EXTRA = {"CleanCrm__Integrations__Enrichment__AllowPrivateHosts__0": "127.0.0.1"}
# An orphaned import is taken over once its row is older than CleanCrm:Imports:StaleAfterSeconds (default 20 min, at
# least 16: longer than the statement timeout; docs/IMPORTS.md). The suite cannot wait that long: right after the kill it
# back-dates the import row's updated_at by this much, as if that time had passed (ContactImportOrphanTests does the same).
IMPORT_STALE_SIMULATED = "21 minutes"


class SubCase:
    def __init__(self, name: str) -> None:
        self.name = name
        self.ready = False  # provably in the middle when the worker was killed
        self.where = ""
        self.converged_at: float | None = None
        self.problems: list[str] = []
        self.notes: list[str] = []



def release(*holds) -> None:
    """Lets go of every hold that was taken (a stopped process, a lock, a withheld answer); None is skipped."""
    for hold in holds:
        if hold:
            hold.release()

def fresh(client: Client, port: int) -> None:
    """A new connection for the next request: after a long wait the server may have closed the kept-alive one (a
    request sent on it is then reset without being read; setup requests are not retried blind)."""
    client.drop_older_than(port, time.monotonic())


def tenant_database(org_id: str) -> str:
    return CLUSTER_A.psql(f"SELECT database_name FROM organizations WHERE id = '{org_id}'", "cleancrm_catalog").strip()


def email_rows(address: str) -> list[str]:
    rows = CLUSTER_A.psql(f"SELECT status || ':' || attempts FROM outgoing_emails WHERE lower(to_address) = lower('{address}')",
                          "cleancrm_catalog")
    return [r for r in rows.splitlines() if r]


def inbox_unprocessed(event_id: str) -> bool:
    return CLUSTER_A.psql("SELECT count(*) FROM integration_webhook_inbox WHERE provider = 'fathom' "
                          f"AND event_id = '{event_id}' AND processed_at IS NULL", "cleancrm_catalog") == "1"


def fathom_meeting(title: str, recording: int, tag: str) -> dict:
    """A "new meeting content ready" payload as Fathom sends it (docs/INTEGRATIONS.md), with an external invitee."""
    return {
        "title": title, "meeting_title": title, "recording_id": recording, "url": f"https://fathom.video/calls/{recording}",
        "share_url": f"https://fathom.video/share/{tag}", "created_at": "2026-12-01T10:31:00Z",
        "scheduled_start_time": "2026-12-01T10:00:00Z", "scheduled_end_time": "2026-12-01T10:30:00Z",
        "recording_start_time": "2026-12-01T10:01:00Z", "recording_end_time": "2026-12-01T10:29:00Z",
        "calendar_invitees": [{"name": "Held Buyer", "email": f"buyer-{tag}@customer.example", "is_external": True}],
        "transcript": [{"speaker": {"display_name": "Held Buyer", "matched_calendar_invitee_email": f"buyer-{tag}@customer.example"},
                        "text": "Held while the worker died.", "timestamp": "00:01:05"}],
        "default_summary": {"template_name": "general", "markdown_formatted": "## Summary\nHeld."},
        "action_items": [],
    }


def restore_status(restore_id) -> str:
    return CLUSTER_A.psql(f"SELECT status FROM backup_restores WHERE id = '{restore_id}'", "cleancrm_catalog") if restore_id else ""


def scratch_databases() -> list[str]:
    return sorted(r for r in CLUSTER_A.psql("SELECT datname FROM pg_database WHERE datname LIKE 'cleancrm\\_r\\_%'").splitlines() if r)


class ProcessStop:
    """Holds the worker's pg_restore child: found in /proc as soon as it starts and stopped with SIGSTOP (provably in
    the middle: started, connected, its transaction open); release() lets it continue (SIGCONT)."""

    def __init__(self, parent_pid: int, name: str, exclude: set[int] | None = None) -> None:
        self.parent_pid = parent_pid
        self.name = name
        self.exclude = exclude or set()  # processes of that name already held by another sub-case
        self.pid: int | None = None

    def catch(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                        fields = handle.read().rsplit(")", 1)
                    comm = fields[0].split("(", 1)[1]
                    ppid = int(fields[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                if comm == self.name and ppid == self.parent_pid and int(entry) not in self.exclude:
                    os.kill(int(entry), signal.SIGSTOP)
                    self.pid = int(entry)
                    return True
            time.sleep(0.005)
        return False

    def stopped(self) -> bool:
        """The caught process still exists and is stopped (state T in /proc)."""
        try:
            with open(f"/proc/{self.pid}/stat", encoding="utf-8") as handle:
                return self.pid is not None and handle.read().rsplit(")", 1)[1].split()[0] in ("T", "t")
        except (OSError, IndexError, TypeError):
            return False

    def release(self) -> None:
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.pid = None


def hold_restore(client: Client, suite, org, api: int, case: SubCase):
    """A backup of the organization (after a 20,000-contact import, so pg_restore has some work), then a side-by-side
    restore whose pg_restore is stopped as soon as the worker starts it."""
    admin = json_headers(suite.admin_token)
    rows = "".join(f"Bulk{i},Row,bulk{i}@bulk.example.com\n" for i in range(20_000))
    bulk = client.request("POST", "/api/v1/imports/contacts?onDuplicate=skip", "firstName,lastName,email\n" + rows,
                          dict(bearer(org.token, org.slug), **{"Content-Type": "text/csv"}), port=api, label="worker-ops bulk import")
    bulk_id = (bulk.json() or {}).get("importId") if bulk.status == 202 else None
    database = tenant_database(org.id)
    if not bulk_id or wait_until(lambda: CLUSTER_A.psql(f"SELECT status FROM imports WHERE id = '{bulk_id}' AND status IN "
                                                        "('succeeded', 'failed')", database), 240) != "succeeded":
        case.problems.append(f"the bulk import before the backup did not succeed ({bulk.status})")
        return None, None
    fresh(client, api)
    queued = client.request("POST", f"/api/v1/admin/organizations/{org.id}/backups", headers=admin, port=api, label="worker-ops backup")
    backup_id = (queued.json() or {}).get("id") if queued.status == 202 else None
    if not backup_id:
        case.problems.append(f"queueing the backup to restore answered {queued.status} {queued.body[:200]!r}")
        return None, None
    state = wait_until(lambda: CLUSTER_A.psql(f"SELECT status FROM backups WHERE id = '{backup_id}' "
                                              "AND status IN ('succeeded', 'failed')", "cleancrm_catalog"), 180)
    if state != "succeeded":
        case.problems.append(f"the backup to restore ended {state!r}")
        return None, None
    stop = ProcessStop(suite.procs.procs["worker"].pid, "pg_restore")
    fresh(client, api)
    started = client.request("POST", f"/api/v1/admin/backups/{backup_id}/restore", json.dumps({"mode": "side_by_side"}), admin,
                             port=api, label="worker-ops restore")
    restore_id = (started.json() or {}).get("id") if started.status == 202 else None
    if not restore_id:
        case.problems.append(f"starting the restore answered {started.status} {started.body[:200]!r}")
        return None, None
    scratch = f"cleancrm_r_{restore_id.replace('-', '')}"
    if stop.catch(150) and scratch in scratch_databases() and restore_status(restore_id) == "running":
        case.ready = True
        case.where = f"running, {scratch} created, its pg_restore (pid {stop.pid}) stopped mid-restore"
    else:
        case.problems.append(f"the restore's pg_restore was not caught: status {restore_status(restore_id)!r}, "
                             f"scratch {scratch_databases()}")
    return restore_id, stop


def worker_ops(suite, Result):
    """Scenario 1: kill -9 of the worker during mail, webhooks, Slack, a CSV import, a backup, a restore, a tenant move and
    a fleet migration. Two kills of the worker: first the operations held by a lock or a stopped process (restore, move,
    import, backup, incoming webhook), whose holds do not expire; then, with no lock of the first group held any more, the
    ones a sender's timeout bounds (mail, outgoing webhook, Slack), set up right before their kill. The fleet migration is
    a process of its own (`migrate`), killed last."""
    full = suite.mode == "full"
    procs = suite.procs
    client = Client("worker-ops")
    sink = SmtpSink(SMTP_PORT)
    receiver = HookReceiver(HOOK_PORT) if full else None
    slack = SlackStub(SLACK_PORT) if full else None
    names = [("mail-data", "1 worker: mail pre-accept"), ("mail-quit", "1 worker: mail post-accept")]
    if full:
        names += [("webhook", "1 worker: outgoing webhook"), ("slack-before", "1 worker: Slack pre-post"),
                  ("slack-after", "1 worker: Slack post-200"), ("import", "1 worker: CSV import"), ("backup", "1 worker: backup"),
                  ("restore", "1 worker: restore"), ("incoming", "1 worker: incoming webhook"), ("move", "1 worker: tenant move"),
                  ("fleet", "1 worker: fleet migration")]
    cases = {key: SubCase(name) for key, name in names}
    first_group = ["restore", "move", "import", "backup", "incoming"] if full else []
    holder: LockHolder | None = None
    stub: ProviderStub | None = None
    inbox_id = ""
    recording = 0
    import_id = None
    backup_id = None
    fifo: ProcessStop | None = None
    move_stop: ProcessStop | None = None
    move: MoveHold | None = None
    slack_holds: SlackHolds | None = None
    fleet: FleetMigration | None = None
    restore_id = None
    kills: dict[str, float] = {}  # sub-case -> monotonic time of the kill it was held at
    worker_ready: list[float] = []
    # --full: holds bounded by a sender's timeout are set up one after another before their kill, so the timeouts that bound
    # them are raised (all documented settings): SMTP (30 s), outgoing HTTP of webhooks (10 s) and of integrations (20 s),
    # and the catalog's command timeout (30 s), which a job waiting on a held catalog lock would otherwise hit.
    settings = dict(EXTRA, **time_settings(), **slack_settings())
    settings.update({
        "CleanCrm__Email__Smtp__TimeoutSeconds": "120",
        "CleanCrm__Integrations__Enrichment__TimeoutSeconds": "60",
        "CleanCrm__Integrations__RequestTimeoutSeconds": "60",
        "ConnectionStrings__Catalog": procs.server_env()["ConnectionStrings__Catalog"] + ";Command Timeout=120",
    })

    def start_worker() -> None:
        if full:
            start_worker_with(procs, settings)
        else:
            procs.start_worker()

    def kill_and_restart(group: list[str], release) -> float:
        """One kill -9 of the worker while the group's operations are held, then the holds let go and a new worker."""
        for key in group:
            if not cases[key].ready and not cases[key].problems:
                cases[key].problems.append("the operation was never seen in the middle: the kill could not be aimed")
        say("worker-ops: kill -9 worker while " + "; ".join(f"{cases[k].name}: {cases[k].where}" for k in group if cases[k].ready))
        killed_at = time.monotonic()
        procs.kill9("worker")
        for key in group:
            kills[key] = killed_at
        release()
        time.sleep(1)
        start_worker()
        worker_ready.append(procs.wait_ready("worker", f"http://127.0.0.1:{WORKER_HEALTH_PORT}"))
        say(f"worker-ops: worker ready {worker_ready[-1]:.0f} s after its restart ({time.monotonic() - killed_at:.0f} s after the kill)")
        return killed_at

    def import_status() -> str:
        return CLUSTER_A.psql(f"SELECT status FROM imports WHERE id = '{import_id}'", database) if import_id else ""

    def backup_status() -> str:
        return CLUSTER_A.psql(f"SELECT status FROM backups WHERE id = '{backup_id}'", "cleancrm_catalog") if backup_id else ""

    load: Load | None = None
    apix_started = False
    database = ""
    tag = uuid.uuid4().hex[:8]
    addresses = {"mail-data": f"held-data-{tag}@faults.test", "mail-quit": f"held-quit-{tag}@faults.test"}
    holds = {}
    import_rows = 200
    try:
        # --quick: the mail sub-cases only (no extra settings, no worker replaced). Enterprise: invitations need seats.
        load_org = suite.org("load-1", seeded=False)
        org = suite.org("wk-ops", "enterprise", seeded=False)
        move_org = suite.org("wk-move") if full else None  # seeded: one record of each kind, to be copied
        if full:
            # The worker with this scenario's settings (the previous one is idle; replacing it is not the fault).
            procs.kill9("worker")
            start_worker()
            procs.wait_ready("worker", f"http://127.0.0.1:{WORKER_HEALTH_PORT}")
        database = tenant_database(org.id)
        api = API_PORTS[0]
        if full:
            stub = ProviderStub(STUB_PORT)
            start_api_with(procs, "apix", APIX_PORT, settings)
            apix_started = True
            procs.wait_ready("apix", f"http://127.0.0.1:{APIX_PORT}")
            api = APIX_PORT
            org.token = password_token(client, org.owner_email, org.password, port=api)
            if move_org is not None:
                move_org.token = password_token(client, move_org.owner_email, move_org.password, port=api)
        load = Load("worker-ops", [load_org], [API_PORTS[0]], threads=2)
        load.start()

        if full:
            # ---- Kill 1: holds that do not expire (a stopped process, a lock), set up one after the other.
            # Restore: its pg_restore stopped (SIGSTOP) mid-restore, the scratch database created.
            restore_id, fifo = hold_restore(client, suite, org, api, cases["restore"])
            # Tenant move: its copy's pg_restore stopped the same way (before the lock below: the move backs up first).
            assert move_org is not None
            fresh(client, api)
            move_stop = ProcessStop(procs.procs["worker"].pid, "pg_restore", exclude={fifo.pid} if fifo and fifo.pid else set())
            try:
                move = MoveHold(client, suite, move_org, api, cases["move"], move_stop)
            except RuntimeError as error:
                cases["move"].problems.append(f"could not start the move: {error}")

            # Import and backup both wait on a lock on the contacts table.
            holder = LockHolder(CLUSTER_A, database, "contacts")
            csv = "firstName,lastName,email,companyDomain\n" + "".join(
                f"Imp{i},Row,imp{i}-{tag}@imp-{tag}.example.com,co{i % 7}-{tag}.example.com\n" for i in range(import_rows))
            # Incoming webhook: a Fathom meeting whose processing job waits on the same lock (it writes contacts).
            assert stub is not None
            fresh(client, api)
            try:
                connection, secret = connect_fathom(client, org, stub)
                recording = int(time.time() * 1000) % 10**9
                inbox_id = f"msg_held_{tag}"
                meeting = json.dumps(fathom_meeting(f"Held meeting {tag}", recording, tag)).encode()
                stamp = int(time.time())
                received = client.request("POST", f"/webhooks/fathom/{connection}", meeting, {
                    "Content-Type": "application/json", "webhook-id": inbox_id, "webhook-timestamp": str(stamp),
                    "webhook-signature": sign_standard(secret, inbox_id, stamp, meeting)}, port=api, label="worker-ops fathom")
                if received.status != 200:
                    cases["incoming"].problems.append(f"the webhook answered {received.status} {received.body[:200]!r}")
                    inbox_id = ""
            except RuntimeError as error:
                cases["incoming"].problems.append(f"could not connect Fathom: {error}")
            fresh(client, api)
            upload = client.request("POST", "/api/v1/imports/contacts?onDuplicate=skip", csv,
                                    dict(bearer(org.token, org.slug), **{"Content-Type": "text/csv"}), port=api, label="worker-ops import")
            import_id = (upload.json() or {}).get("importId") if upload.status == 202 else None
            if not import_id:
                cases["import"].problems.append(f"upload answered {upload.status} {upload.body[:300]!r}")
            backup = client.request("POST", f"/api/v1/admin/organizations/{org.id}/backups", headers=json_headers(suite.admin_token),
                                    port=api, label="worker-ops backup")
            backup_id = (backup.json() or {}).get("id") if backup.status == 202 else None
            if not backup_id:
                cases["backup"].problems.append(f"queueing the backup answered {backup.status} {backup.body[:300]!r}")

            def both_waiting():
                waiting = waiting_on_lock(CLUSTER_A, database)
                return waiting if (not import_id or import_status() == "running") and (
                    not backup_id or backup_status() == "running") and (not inbox_id or inbox_unprocessed(inbox_id)) \
                    and len(waiting) >= bool(import_id) + bool(backup_id) + bool(inbox_id) else None

            waiting = wait_until(both_waiting, 150)
            if waiting:
                for key, ident in (("import", import_id), ("backup", backup_id), ("incoming", inbox_id)):
                    if ident:
                        cases[key].ready = True
                        cases[key].where = f"running, waiting on a lock on contacts ({'; '.join(waiting)[:160]})"
            else:
                cases["import"].problems.append(f"not seen waiting on the lock: import {import_status()!r}, "
                                                f"backup {backup_status()!r}, waiting {waiting_on_lock(CLUSTER_A, database)}")
                cases["backup"].problems.append("see the import")
                cases["incoming"].problems.append("see the import")
            # Still held at the kill: the stopped processes are still there and stopped.
            for key, stopper in (("restore", fifo), ("move", move_stop)):
                if cases[key].ready and not (stopper and stopper.stopped()):
                    cases[key].ready = False
                    cases[key].problems.append("the stopped pg_restore was gone before the kill")

            def release_first() -> None:
                release(fifo, move_stop, holder)
                if import_id:
                    # Checked at once, before anything could re-run it: the killed import wrote nothing.
                    half = CLUSTER_A.psql(f"SELECT count(*) FROM contacts WHERE email LIKE '%@imp-{tag}.example.com'", database)
                    cases["import"].notes.append(f"right after the kill: import {import_status()}, {half} of its contacts written")
                    if half != "0":
                        cases["import"].problems.append(f"a half import: {half} contacts written by the killed run")
                    CLUSTER_A.psql(f"UPDATE imports SET updated_at = updated_at - interval '{IMPORT_STALE_SIMULATED}' "
                                   f"WHERE id = '{import_id}'", database)

            kill_and_restart(first_group, release_first)
            if apix_started:
                fresh(client, api)

        # ---- Kill 2 (--quick: the only one): holds bounded by a sender's timeout, set up one after the other right before
        # their kill, no lock of the first group held any more. What takes long (connecting Slack, the webhook endpoint,
        # the deals) comes first, without a hold.
        second_group = [k for k in ("mail-data", "mail-quit", "slack-after", "slack-before", "webhook") if k in cases]
        if full and slack is not None:
            fresh(client, api)
            slack_holds = SlackHolds(slack, cases["slack-after"], cases["slack-before"])
            slack_holds.prepare(client, org, api)
        endpoint_ok = False
        if full:
            # The deals made for Slack must not reach the endpoint (it listens to deal.created): their events consumed first.
            wait_until(lambda: CLUSTER_A.psql("SELECT count(*) FROM domain_events e WHERE NOT EXISTS (SELECT 1 FROM "
                                              "domain_event_consumptions c WHERE c.consumer = 'webhooks' AND c.event_id = e.id)",
                                              database) == "0", 60)
            fresh(client, api)
            endpoint = client.request("POST", "/api/v1/webhook-endpoints", json.dumps({
                "url": f"http://127.0.0.1:{HOOK_PORT}/hook", "events": ["deal.created"]}), json_headers(org.token, org.slug),
                port=api, label="worker-ops endpoint")
            endpoint_ok = endpoint.status == 201
            if not endpoint_ok:
                cases["webhook"].problems.append(f"saving the endpoint answered {endpoint.status} {endpoint.body[:300]!r}")

        # Mail: an invitation each; the sink holds one before its 250 and one after it (QUIT unanswered).
        fresh(client, api)
        for key, address in addresses.items():
            holds[key] = sink.hold(address, "data" if key == "mail-data" else "quit")
            invited = client.request("POST", "/api/v1/invitations", json.dumps({"email": address, "role": "member"}),
                                     json_headers(org.token, org.slug), port=api, label="worker-ops invite")
            if invited.status != 201:
                cases[key].problems.append(f"invitation answered {invited.status} {invited.body[:200]!r}")
                continue
            if holds[key].held.wait(timeout=60):
                cases[key].ready = True
                cases[key].where = ("SMTP DATA sent, the server's 250 withheld" if key == "mail-data"
                                    else "SMTP 250 given, QUIT unanswered")

        if slack_holds is not None:
            slack_holds.hold_after()
            slack_holds.hold_before()

        if full and endpoint_ok:
            # Last: the delivery has the shortest timeout; the kill follows at once.
            assert receiver is not None
            receiver.hold_next()
            deal = client.request("POST", "/api/v1/deals", json.dumps({"name": f"held-deal-{tag}", "amount": 10, "currency": "EUR"}),
                                  json_headers(org.token, org.slug), port=api, label="worker-ops deal")
            if deal.status != 201:
                cases["webhook"].problems.append(f"creating the deal answered {deal.status} {deal.body[:300]!r}")
            elif receiver.held.wait(timeout=60):
                cases["webhook"].ready = True
                cases["webhook"].where = "delivery POST received, the receiver's answer withheld"

        # Still in the middle at the kill: the held SMTP sessions and webhook request are still open, the Slack jobs held.
        for key in addresses:
            if cases[key].ready and not (holds[key].conn is not None and SmtpSink._alive(holds[key].conn)):
                cases[key].ready = False
                cases[key].problems.append("the held SMTP session was closed by the sender before the kill (its timeout)")
        if full and receiver is not None and cases["webhook"].ready and not (
                receiver.held_conn is not None and SmtpSink._alive(receiver.held_conn)):
            cases["webhook"].ready = False
            cases["webhook"].problems.append("the held delivery request was given up by the sender before the kill (its timeout)")
        if slack_holds is not None:
            slack_holds.at_kill()

        def release_second() -> None:
            if slack_holds:
                slack_holds.release()
            sink.release()
            if receiver:
                receiver.release()
            if slack:
                slack.release()

        kill_and_restart(second_group, release_second)

        # Convergence: each sub-case's end state, polled until all are there (Hangfire hands a fetched job out again
        # only after its 5-minute invisibility timeout; the mail outbox sweeper re-queues pending mail after 60 s).
        def converged(key: str) -> bool:
            if key in addresses:
                rows = email_rows(addresses[key])
                return bool(rows) and all(r.startswith("sent:") for r in rows)
            if key == "webhook":
                return bool(receiver and receiver.acknowledged) and CLUSTER_A.psql(
                    "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'", database) != "0"
            if key == "import":
                return import_status() in ("succeeded", "failed")
            if key == "backup":
                return backup_status() in ("succeeded", "failed")
            if key == "incoming":
                return not inbox_unprocessed(inbox_id)
            if key == "restore":
                return restore_status(restore_id) in ("verified", "failed")
            if key == "move":
                return move is not None and move.converged()
            if key in ("slack-after", "slack-before"):
                return slack_holds is not None and slack_holds.converged(key.split("-")[1])
            return False

        polled = [k for k in cases if k != "fleet"]
        # Up to 5 minutes of invisibility, plus Hangfire's 10-minute distributed-lock expiry should a dead worker have held one.
        deadline = time.monotonic() + (14 * 60 if full else 150)
        while time.monotonic() < deadline:
            for key in polled:
                case = cases[key]
                if case.ready and case.converged_at is None and converged(key):
                    case.converged_at = time.monotonic() - kills[key]
                    say(f"worker-ops: {case.name} converged {case.converged_at:.0f} s after its kill")
            if all(cases[k].converged_at is not None or not cases[k].ready for k in polled):
                break
            time.sleep(2)
        time.sleep(5)  # a late duplicate (a second job of the same work) would land here

        # Fleet migration: its own process, killed while one tenant in the middle of the fleet waits on a lock.
        if full:
            fleet = FleetMigration(procs, cases["fleet"])
            fleet.run()

        # Invariants.
        fresh(client, api)
        for key, address in addresses.items():
            case = cases[key]
            rows = email_rows(address)
            count = sink.count(address)
            case.notes.append(f"outbox rows {rows}; messages the SMTP server accepted: {count}; abandoned before acceptance: "
                              f"{sink.abandoned.count(address.lower())}")
            if count != 1 or len(rows) != 1 or not rows[0].startswith("sent:"):
                case.problems.append(f"expected one outbox row, sent, and exactly one accepted message; got {rows}, {count}")
        if full and receiver is not None:
            case = cases["webhook"]
            ids = sorted(set(receiver.received))
            acked = {i: receiver.acknowledged.count(i) for i in ids}
            deliveries = CLUSTER_A.psql("SELECT status || ':' || (SELECT count(*) FROM webhook_delivery_attempts a "
                                        "WHERE a.delivery_id = d.id) FROM webhook_deliveries d", database).split()
            case.notes.append(f"receiver saw {len(receiver.received)} requests, webhook-ids acknowledged {acked}; "
                              f"deliveries (status:attempts) {deliveries}")
            if not ids or any(n != 1 for n in acked.values()) or len(deliveries) != 1 or not deliveries[0].startswith("succeeded"):
                case.problems.append("expected one delivery, succeeded, its webhook-id acknowledged exactly once")
        if slack_holds is not None:
            slack_holds.check()
        if move is not None and cases["move"].ready:
            move.check(client, api)
        if fleet is not None and cases["fleet"].ready:
            fleet.check()
        if full and import_id:
            case = cases["import"]
            fresh(client, api)
            state = client.request("GET", f"/api/v1/imports/{import_id}", headers=bearer(org.token, org.slug), port=api,
                                   label="worker-ops check").json() or {}
            stored = CLUSTER_A.psql(f"SELECT count(*), count(DISTINCT email) FROM contacts WHERE email LIKE '%@imp-{tag}.example.com'",
                                    database)
            companies = CLUSTER_A.psql(f"SELECT count(*), count(DISTINCT domain) FROM companies WHERE domain LIKE '%-{tag}.example.com'",
                                       database)
            audit = client.request("GET", f"/api/v1/audit-log?entityType=import&entityId={import_id}&limit=20",
                                   headers=bearer(org.token, org.slug), port=api, label="worker-ops check").json() or {}
            imported = sum(1 for e in audit.get("items", []) if e.get("action") == "imported")
            case.notes.append(f"import {state.get('status')}, inserted {state.get('inserted')}; contacts (rows, distinct) "
                              f"{stored}; companies (rows, distinct domains) {companies}; 'imported' audit entries {imported}")
            if (state.get("status") != "succeeded" or state.get("inserted") != import_rows
                    or stored != f"{import_rows}|{import_rows}"
                    or companies != "7|7" or imported != 1):
                case.problems.append(f"expected succeeded with {import_rows} contacts once each, 7 companies once each, "
                                     "one audit entry")
        if full and backup_id:
            case = cases["backup"]
            state = CLUSTER_A.psql(f"SELECT status || ' ' || coalesce(error, '') || ' tables=' || (SELECT count(*) FROM "
                                   f"backup_tables t WHERE t.backup_id = b.id) FROM backups b WHERE id = '{backup_id}'",
                                   "cleancrm_catalog")
            folder = os.path.join(OUT, "backups", org.id.replace("-", ""))  # <root>/<org id:N>/<backup id:N>.dump
            files = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
            pg_dumps = CLUSTER_A.psql(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}' "
                                      "AND application_name = 'pg_dump'")
            case.notes.append(f"backup {state}; files {files}; pg_dump sessions left {pg_dumps}")
            if (not state.startswith("succeeded") or f"{backup_id.replace('-', '')}.dump" not in files
                    or any(f.endswith(".partial") for f in files) or pg_dumps != "0"):
                case.problems.append(f"expected succeeded, exactly {backup_id}.dump in the store and no partial file")
        if full and inbox_id:
            case = cases["incoming"]
            row = CLUSTER_A.psql("SELECT (processed_at IS NOT NULL)::text || ' attempts=' || attempts || ' ' || coalesce(last_error, '') "
                                 f"FROM integration_webhook_inbox WHERE provider = 'fathom' AND event_id = '{inbox_id}'", "cleancrm_catalog")
            events = CLUSTER_A.psql(f"SELECT count(*) FROM calendar_events WHERE external_id = 'fathom:{recording}'", database)
            meetings = CLUSTER_A.psql(f"SELECT count(*) FROM meetings WHERE title = 'Held meeting {tag}'", database)
            buyers = CLUSTER_A.psql(f"SELECT count(*) FROM contacts WHERE email = 'buyer-{tag}@customer.example'", database)
            case.notes.append(f"inbox row processed={row}; calendar events {events}, meetings {meetings}, buyer contacts {buyers}")
            if not row.startswith("true") or (events, meetings, buyers) != ("1", "1", "1"):
                case.problems.append("expected the inbox row processed, one calendar event, one meeting, one contact")
        if full and restore_id:
            case = cases["restore"]
            status = restore_status(restore_id)
            scratch = f"cleancrm_r_{restore_id.replace('-', '')}"
            before_confirm = scratch_databases()
            confirm = client.request("POST", f"/api/v1/admin/restores/{restore_id}/confirm", headers=json_headers(suite.admin_token),
                                     port=api, label="worker-ops check") if status == "verified" else None
            after_confirm = scratch_databases()
            restorers = CLUSTER_A.psql(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{scratch}'")
            case.notes.append(f"restore {status}; scratch databases before confirm {before_confirm}, after "
                              f"{after_confirm} (confirm {confirm.status if confirm else '-'}); sessions left in it {restorers}")
            if status != "verified" or before_confirm != [scratch] or after_confirm or restorers != "0":
                case.problems.append("expected verified, exactly its own scratch database, none left after confirm")
    finally:
        if stub:
            stub.close()
        release(fifo, move_stop, holder, slack_holds)
        if load:
            load.finish()
        sink.close()
        if receiver:
            receiver.close()
        if slack:
            slack.close()
        if apix_started:
            procs.procs["apix"].terminate()
        # Back to the suite's worker settings for the scenarios after this one.
        if full or procs.procs["worker"].poll() is not None:
            if procs.procs["worker"].poll() is None:
                procs.kill9("worker")
            procs.start_worker()
            procs.wait_ready("worker", f"http://127.0.0.1:{WORKER_HEALTH_PORT}")
        client.close()

    outcomes = [o for o in RECORDER.outcomes if o.scenario == "worker-ops"]
    ready = ", ".join(f"{t:.0f} s" for t in worker_ready)
    results = []
    for case in cases.values():
        result = Result(case.name, case.ready and not case.problems)
        result.requests = len(outcomes)
        result.errors = error_classes(outcomes)
        result.lost = sum(1 for _, _, o in (load.writes if load else []) if o.error)
        result.recovery = f"{case.converged_at:.0f} s" if case.converged_at is not None else "none"
        result.notes.append(f"killed while {case.where or 'NOT in the middle'}; worker ready after each restart: {ready or '-'}")
        result.notes.extend(case.notes)
        result.notes.extend(f"  {p}" for p in case.problems)
        if case.ready and case.converged_at is None:
            result.passed = False
            result.notes.append("  did not converge in the window")
        results.append(result)
    return results
