"""Runner of the fault-injection and abuse suite (issue 23). Started by tests/faults/run.sh, which owns the PostgreSQL
clusters; this starts the worker and the API instances, runs the scenarios, prints the table
(scenario -> pass/fail, requests, lost, errors by class, recovery) and exits non-zero when an invariant is broken.
How to run it and the latest results: docs/reliability.md."""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
import traceback
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import abuse  # noqa: E402
import scenarios  # noqa: E402
import scenarios_catalog  # noqa: E402
import scenarios_degrade  # noqa: E402
import scenarios_slow  # noqa: E402
import scenarios_time  # noqa: E402
import scenarios_vault  # noqa: E402
import scenarios_worker  # noqa: E402
import soak  # noqa: E402
from product import Org, password_token, ready_org, seed  # noqa: E402
from stack import API_PORTS, OUT, RECORDER, WORKER_HEALTH_PORT, Client, Processes, say  # noqa: E402

ALL = ["abuse", "api-kill", "worker-kill", "pg-restart", "worker-ops", "webhook-time"]
ALL += ["catalog-down", "backup-full", "smtp-down", "stripe-down"]  # scenarios 4 and 5 (scenarios_catalog.py, scenarios_degrade.py)
ALL += ["vault-down", "provider-slow"]  # scenarios 5b and 5e (scenarios_vault.py, scenarios_slow.py)
# Left out of a bare --quick run (its 10-minute budget); run with --full or by name.
FULL_ONLY = {"webhook-time", "smtp-down", "stripe-down", "vault-down", "provider-slow"}


@dataclass
class Result:
    scenario: str
    passed: bool
    requests: int = 0
    lost: int | str = 0
    errors: dict[str, int] = field(default_factory=dict)
    recovery: str = "-"
    notes: list[str] = field(default_factory=list)


class Suite:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.procs = Processes()
        self.admin_token = ""
        self.orgs: dict[str, Org] = {}

    def start(self) -> None:
        for port in API_PORTS + [WORKER_HEALTH_PORT]:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                continue
            raise RuntimeError(f"something already listens on 127.0.0.1:{port} (an earlier run?); stop it first")
        say("migrating the catalog and the template (worker migrate)")
        self.procs.migrate()
        self.procs.start_worker()
        self.procs.start_api(0)
        self.procs.wait_ready("api1", f"http://127.0.0.1:{API_PORTS[0]}")
        self.procs.wait_ready("worker", f"http://127.0.0.1:{WORKER_HEALTH_PORT}")
        client = Client("setup")
        self.admin_token = password_token(client, "admin@faults.test", self.procs.admin_password)
        say("API and worker ready")
        client.close()

    def org(self, key: str, plan: str | None = None, seeded: bool = True) -> Org:
        if key not in self.orgs:
            client = Client("setup")
            org = ready_org(client, key, plan, self.admin_token)
            if seeded:
                seed(client, org)
            client.close()
            self.orgs[key] = org
        return self.orgs[key]


def run_abuse(suite: Suite) -> Result:
    a = suite.org("abuse-a", "enterprise")
    b = suite.org("abuse-b", "enterprise")
    me_user = suite.org("abuse-me", seeded=False)
    spec, source = abuse.fetch_spec()
    operations = sum(1 for _ in spec.operations())
    result = Result("7 abuse", True)
    result.notes.append(f"corpus from {source}: {operations} operations")
    before = len(RECORDER.outcomes)

    # Cross-org first, while every record of A and B exists.
    leaks, cross_total, with_ids = abuse.cross_org(spec, a, b)
    result.notes.append(f"cross-org: {cross_total} attempts ({with_ids} operations with org B's real ids in the path), "
                        f"{len(leaks)} leaks")
    for leak in leaks[:40]:
        result.notes.append(f"  LEAK {leak}")
    if leaks:
        result.passed = False

    forged, forged_total = abuse.tampering(a.token, suite.procs.keys["signing"], a)
    result.notes.append(f"token tampering: {forged_total} requests, {len(forged)} wrong answers")
    for problem in forged:
        result.notes.append(f"  TOKEN {problem}")
    if forged:
        result.passed = False

    cases = abuse.Corpus(spec, a, b, me_user, suite.admin_token).cases()
    if suite.mode == "quick":
        pass  # the whole corpus: it is the most valuable scenario and fits the quick budget
    say(f"abuse: {len(cases)} bad-input cases over {operations} operations")
    started = time.monotonic()
    findings, counts, total = abuse.run_cases(cases)
    result.notes.append(f"bad input: {total} cases in {time.monotonic() - started:.0f} s; answers {dict(sorted(counts.items()))}; "
                        f"{len(findings)} broken (>= 500 or a 4xx without a problem document)")
    for line in abuse.summarize(findings):
        result.notes.append(f"  BAD {line}")
    abuse.log_findings(findings, os.path.join(OUT, "abuse-findings.jsonl"))
    if findings:
        result.passed = False
    outcomes = RECORDER.outcomes[before:]
    result.requests = len(outcomes)
    for o in outcomes:
        if o.status is not None and o.status >= 500:
            result.errors[str(o.status)] = result.errors.get(str(o.status), 0) + 1
        elif o.status is None:
            result.errors[o.error or "?"] = result.errors.get(o.error or "?", 0) + 1
    result.lost = "n/a"
    # The API must still be healthy after the corpus.
    client = Client("abuse")
    health = client.request("GET", "/health/ready", label="after abuse")
    if health.status != 200:
        result.passed = False
        result.notes.append(f"API not ready after the corpus: {health.status} {health.error}")
    client.close()
    return result


def print_table(results: list[Result]) -> None:
    print()
    print(f"{'scenario':<28} {'result':<6} {'requests':>8} {'lost':>6}  {'recovery':<12} errors by class")
    print("-" * 100)
    for r in results:
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(r.errors.items())) or "none"
        print(f"{r.scenario:<28} {'PASS' if r.passed else 'FAIL':<6} {r.requests:>8} {str(r.lost):>6}  {r.recovery:<12} {errors}")
    print()
    for r in results:
        for note in r.notes:
            print(f"{r.scenario}: {note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_const", const="quick", dest="mode")
    parser.add_argument("--full", action="store_const", const="full", dest="mode")
    parser.add_argument("--soak", nargs="?", const=30.0, type=float, metavar="MINUTES",
                        help="scenario 8 alone: the soak, for MINUTES (default 30; soak.py)")
    parser.add_argument("--soak-orgs", type=int, default=100, help="organizations of the soak (default 100)")
    parser.add_argument("scenarios", nargs="*", default=[], help=", ".join(ALL))
    args = parser.parse_args()
    mode = args.mode or "quick"
    chosen = args.scenarios or [s for s in ALL if mode == "full" or s not in FULL_ONLY]
    if args.soak is not None:
        chosen = ["soak"]
    unknown = [s for s in chosen if s not in ALL + ["soak"]]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {ALL}")
    os.makedirs(OUT, exist_ok=True)
    suite = Suite(mode)
    results: list[Result] = []
    started = time.monotonic()
    try:
        if "catalog-down" in chosen:
            scenarios_catalog.install()  # before the processes start: they reach the catalog through its forwarder
        suite.start()
        runners = {"abuse": run_abuse, "api-kill": lambda s: scenarios.api_kill(s, Result),
                   "worker-kill": lambda s: scenarios.worker_kill(s, Result), "pg-restart": lambda s: scenarios.pg_restart(s, Result),
                   "worker-ops": lambda s: scenarios_worker.worker_ops(s, Result),
                   "webhook-time": lambda s: scenarios_time.webhook_time(s, Result)}
        runners["catalog-down"] = lambda s: scenarios_catalog.catalog_down(s, Result)
        runners["backup-full"] = lambda s: scenarios_degrade.backup_full(s, Result)
        runners["smtp-down"] = lambda s: scenarios_degrade.smtp_down(s, Result)
        runners["stripe-down"] = lambda s: scenarios_degrade.stripe_down(s, Result)
        runners["vault-down"] = lambda s: scenarios_vault.vault_down(s, Result)
        runners["provider-slow"] = lambda s: scenarios_slow.provider_slow(s, Result)
        runners["soak"] = lambda s: soak.soak(s, Result, args.soak or 30.0, args.soak_orgs)
        for name in chosen:
            say(f"=== scenario {name} ({mode})")
            try:
                outcome = runners[name](suite)
                # A scenario with sub-cases returns one Result per sub-case (one row each).
                results.extend(outcome if isinstance(outcome, list) else [outcome])
            except Exception as error:  # a scenario that cannot run fails and says why
                traceback.print_exc()
                results.append(Result(name, False, notes=[f"could not run: {error}"]))
    except Exception as error:
        traceback.print_exc()
        results.append(Result("setup", False, notes=[f"the stack did not start: {error}"]))
    finally:
        suite.procs.stop_all()
        RECORDER.dump(os.path.join(OUT, "requests.jsonl"))
    print_table(results)
    passed = sum(1 for r in results if r.passed)
    failed = len(results) - passed
    counts_file = os.environ.get("CLEANCRM_COUNTS_FILE")
    if counts_file:
        with open(counts_file, "w", encoding="utf-8") as handle:
            handle.write(f"passed={passed} failed={failed} skipped=0\n")
    say(f"every request is in {os.path.join(OUT, 'requests.jsonl')}; logs in {os.path.join(OUT, 'logs')}; "
        f"{time.monotonic() - started:.0f} s in all")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
