"""Scenario 5b of issue 23 (docs/reliability.md): the secret store unreachable. The suite's processes keep their secrets
in the local store (a catalog table, which is scenario 4's catalog); this scenario runs a worker and an API instance of
its own with `CleanCrm:Secrets:Provider` = `KeyVault` against a local HTTPS Key Vault stub (keyvault_stub.py), then takes
the vault away under load: first refusing connections, then accepting them and never answering.

Expected (docs/MULTI_TENANCY.md, "Secret store"): an organization whose connection pool the API instance already holds is
served throughout (its password is not read again); an organization it holds nothing for answers `503
secret_store_unavailable` with Retry-After, within the store's bound ((MaxRetries + 1) x RequestTimeoutSeconds plus the
backoff), never a 500 or a hang; a signup during the outage waits for the store (its provisioning retries with backoff)
and is active once the vault is back, with its password written exactly once; the failed calls show on the API's
/metrics (HttpClient metric of the vault's port) and in its log."""

from __future__ import annotations

import os
import re
import threading
import time

from keyvault_stub import KeyVaultStub
from peers import start_api_with, start_worker_with
from product import bearer, new_org, password_token, raise_budget, ready_org
from product import signup as do_signup
from scenarios import Load, error_classes
from scenarios_degrade import client_outcomes, metric_series
from stack import CLUSTER_A, CLUSTER_B, OUT, PORT_BASE, WORKER_HEALTH_PORT, Client, raw_get, say

API_PORT, VAULT_PORT, IDENTITY_PORT, PROXY_PORT = PORT_BASE + 13, PORT_BASE + 14, PORT_BASE + 15, PORT_BASE + 18
# KeyVaultOptions defaults (docs/MULTI_TENANCY.md): 3 attempts of at most 5 s, 0.5 s and 1 s apart.
REQUEST_TIMEOUT, MAX_RETRIES = 5, 2
BOUND = (MAX_RETRIES + 1) * REQUEST_TIMEOUT + 1.5 + 5  # + 5 s for a loaded 2-core machine


def _seed_server_secrets(stub: KeyVaultStub) -> list[str]:
    """The database servers' admin passwords, which `worker migrate` / the admin API wrote to the local store."""
    rows = CLUSTER_A.psql("SELECT admin_secret_name, port FROM database_servers", "cleancrm_catalog")
    seeded = []
    for line in rows.splitlines():
        name, _, port = line.partition("|")
        cluster = CLUSTER_A if int(port) == CLUSTER_A.port else CLUSTER_B if int(port) == CLUSTER_B.port else None
        if cluster is not None:
            stub.seed(name, cluster.password)
            seeded.append(name)
    return seeded


def _tenant_secret(org_id: str) -> str:
    return f"tenant-db-{org_id.replace('-', '')}"


def _status(client: Client, org, port: int) -> str:
    outcome = client.request("GET", f"/api/v1/orgs/{org.slug}/provisioning", headers=bearer(org.token), port=port,
                             label="provisioning status")
    return str((outcome.json() or {}).get("status")) if outcome.status == 200 else f"{outcome.status}"


def vault_down(suite, Result):
    full = suite.mode == "full"
    refuse_for = 20
    silent_for = 30 if full else 25
    result = Result("5b secret store down", True)
    procs = suite.procs
    stub = KeyVaultStub(VAULT_PORT, IDENTITY_PORT, PROXY_PORT, os.path.join(OUT, "vault"))
    client = Client("vault-down", timeout=120)
    api_started = False
    load: Load | None = None
    try:
        seeded = _seed_server_secrets(stub)
        if not seeded:
            raise RuntimeError("no database server found in the catalog to seed the vault with")
        env = dict(stub.environment(), **{"CleanCrm__Provisioning__WarmPool__Size": "0"})  # the pool's secrets are local
        # The suite's worker keeps secrets locally: replaced by one on the vault for this scenario, put back after.
        procs.kill9("worker")
        start_worker_with(procs, env)
        procs.wait_ready("worker", f"http://127.0.0.1:{WORKER_HEALTH_PORT}")
        start_api_with(procs, "api-vault", API_PORT, env)
        api_started = True
        procs.wait_ready("api-vault", f"http://127.0.0.1:{API_PORT}")
        say(f"vault-down: worker and API on the vault stub (127.0.0.1:{VAULT_PORT}); seeded {seeded}")

        # Organizations provisioned by the vault worker: their passwords are in the stub only.
        warm = ready_org(client, "vault-warm")
        cold = ready_org(client, "vault-cold")
        for org in (warm, cold):
            if stub.versions(_tenant_secret(org.id)) != 1:
                raise RuntimeError(f"{org.slug}'s password is not in the vault stub once: {stub.versions(_tenant_secret(org.id))} "
                                   f"versions; the vault worker did not provision it")
        first = client.request("GET", "/api/v1/companies?limit=1", headers=bearer(warm.token, warm.slug), port=API_PORT,
                               label="warm up")
        if first.status != 200:
            raise RuntimeError(f"the vault API does not serve {warm.slug}: {first.status} {first.body[:300]!r}")
        result.notes.append(f"control: {warm.slug} and {cold.slug} provisioned through the vault (one version each); "
                            f"{warm.slug} served by the vault API; token requests so far {stub.token_requests}")

        load = Load("vault-down", [warm], [API_PORT], threads=2, think=0.05)
        load.start()
        time.sleep(5)
        down_at = time.time()
        ready_during: list[int] = []
        stop_probe = threading.Event()

        def probe_ready() -> None:
            while not stop_probe.is_set():
                try:
                    ready_during.append(raw_get(f"http://127.0.0.1:{API_PORT}/health/ready", timeout=10)[0])
                except OSError:
                    ready_during.append(0)
                time.sleep(1)

        probe = threading.Thread(target=probe_ready, daemon=True)
        probe.start()

        uncached = []  # (phase, outcome)
        # Phase 1: connections refused.
        stub.outage("refuse")
        say(f"vault-down: vault refusing connections for {refuse_for} s")
        late = new_org("vault-late")
        do_signup(client, late)  # during the outage: the signup itself needs only the catalog
        late.token = password_token(client, late.owner_email, late.password)
        time.sleep(2)
        uncached.append(("refused", client.request("GET", "/api/v1/companies?limit=1", headers=bearer(cold.token, cold.slug),
                                                   port=API_PORT, label="uncached, vault refusing")))
        while time.time() - down_at < refuse_for:
            time.sleep(1)
        late_status_refused = _status(client, late, API_PORT)
        # Phase 2: connections accepted, never answered.
        stub.outage("silent")
        silent_at = time.time()
        say(f"vault-down: vault silent for {silent_for} s")
        uncached.append(("silent", client.request("GET", "/api/v1/companies?limit=1", headers=bearer(cold.token, cold.slug),
                                                  port=API_PORT, label="uncached, vault silent")))
        while time.time() - silent_at < silent_for:
            time.sleep(1)
        late_status_silent = _status(client, late, API_PORT)
        stub.restore()
        up_at = time.time()
        say("vault-down: vault back")
        time.sleep(3)
        load.finish()
        stop_probe.set()

        # The uncached organization during the outage: a 503 problem with Retry-After, within the bound.
        for phase, outcome in uncached:
            code = (outcome.json() or {}).get("code")
            result.notes.append(f"uncached org, vault {phase}: {outcome.status} {code} in {outcome.elapsed:.1f} s, "
                                f"Retry-After {outcome.headers.get('retry-after')}, {outcome.headers.get('content-type')}")
            if (outcome.status != 503 or code != "secret_store_unavailable" or "retry-after" not in outcome.headers
                    or not str(outcome.headers.get("content-type", "")).startswith("application/problem+json")):
                result.passed = False
                result.notes.append(f"  expected 503 secret_store_unavailable with Retry-After: {outcome.error} {outcome.body[:200]!r}")
            if outcome.elapsed > BOUND:
                result.passed = False
                result.notes.append(f"  slower than the bound of {BOUND:.1f} s")

        # The cached organization: served throughout.
        during = [o for org, o, _ in load.results if down_at <= o.started <= up_at]
        failed = [o for _, o, _ in load.results if o.error or (o.status or 0) >= 400]
        before_ms = sorted(o.elapsed for _, o, _ in load.results if o.started < down_at and o.status)
        during_ms = sorted(o.elapsed for o in during if o.status)
        p95 = (lambda xs: xs[int(len(xs) * 0.95) - 1] if xs else 0.0)
        result.notes.append(f"cached org under load: {len(load.results)} requests ({len(during)} during the outage), "
                            f"{len(failed)} failed; p95 {p95(before_ms) * 1000:.0f} ms before, {p95(during_ms) * 1000:.0f} ms during")
        if failed or not during:
            result.passed = False
            result.notes.append(f"  the cached organization was not served throughout: {error_classes(failed)}")
        result.notes.append(f"vault API readiness during the outage: {sorted(set(ready_during))} "
                            "(by design it does not depend on the vault: cached organizations are served)")

        # After the outage: the uncached organization is served, the late signup converges.
        t0 = time.monotonic()
        again = None
        while time.monotonic() - t0 < 60:
            again = client.request("GET", "/api/v1/companies?limit=1", headers=bearer(cold.token, cold.slug), port=API_PORT,
                                   label="uncached, vault back")
            if again.status == 200:
                break
            time.sleep(1)
        served_after = time.monotonic() - t0
        result.notes.append(f"uncached org after the vault is back: {again.status if again else None} "
                            f"({served_after:.1f} s after the first try)")
        if not again or again.status != 200:
            result.passed = False
        status = ""
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            status = _status(client, late, API_PORT)
            if status in ("active", "failed"):
                break
            time.sleep(1)
        active_after = time.time() - up_at
        raise_budget(late)
        late_read = client.request("GET", "/api/v1/companies?limit=1", headers=bearer(late.token, late.slug), port=API_PORT,
                                   label="late signup read")
        result.recovery = f"{active_after:.0f} s" if status == "active" else "never"
        result.notes.append(f"signup during the outage: provisioning {late_status_refused} after the refused phase, "
                            f"{late_status_silent} after the silent phase, {status} {active_after:.0f} s after the vault was "
                            f"back; its first read {late_read.status}")
        if status != "active" or late_read.status != 200 or late_status_refused == "failed" or late_status_silent == "failed":
            result.passed = False
            result.notes.append("  the signup during the outage did not converge (lost, or failed instead of waiting)")

        # Nothing written twice, nothing orphaned.
        org_ids = set(CLUSTER_A.psql("SELECT replace(id::text, '-', '') FROM organizations", "cleancrm_catalog").split())
        tenant_names = [n for n in stub.names() if n.startswith("tenant-db-")]
        orphans = [n for n in tenant_names if n[len("tenant-db-"):] not in org_ids]
        twice = {n: c for n, c in stub.writes.items() if c != 1 and n.startswith("tenant-db-")}
        result.notes.append(f"vault: {len(tenant_names)} tenant passwords, writes per name {sorted(set(stub.writes.values()))}, "
                            f"orphans {orphans or 'none'}; late signup's password versions {stub.versions(_tenant_secret(late.id))}")
        if orphans or twice or stub.versions(_tenant_secret(late.id)) != 1:
            result.passed = False
            result.notes.append(f"  a password written more than once or left without an organization: {twice} {orphans}")

        # Metrics and log: what an alert reads.
        series = metric_series("http_client_request_duration_seconds_count", API_PORT)
        vault_errors = {k: v for k, v in series.items() if f'server_port="{VAULT_PORT}"' in k and "error_type" in k}
        result.notes.append(f"HttpClient metric for the vault's port with an error type: {vault_errors or 'none'}")
        with open(procs.logs["api-vault"], encoding="utf-8", errors="replace") as handle:
            logged = len(re.findall(r"Key Vault unavailable", handle.read()))
        result.notes.append(f"'Key Vault unavailable' warnings in the vault API's log: {logged}; stub saw "
                            f"{dict(sorted(stub.requests.items()))}")
        if not vault_errors or logged == 0:
            result.passed = False
            result.notes.append("  the failed vault calls do not show on /metrics or in the log")
    finally:
        if load is not None and not load.stop.is_set():
            load.finish()
        stub.restore()
        if api_started and procs.procs["api-vault"].poll() is None:
            procs.procs["api-vault"].terminate()
            procs.procs["api-vault"].wait(timeout=30)
        # Back to the suite's worker (local secrets) for the scenarios after this one.
        if procs.procs["worker"].poll() is None:
            procs.kill9("worker")
        procs.start_worker()
        procs.wait_ready("worker", f"http://127.0.0.1:{WORKER_HEALTH_PORT}")
        stub.close()
        client.close()
    outcomes = client_outcomes("vault-down")
    result.requests = len(outcomes)
    result.errors = error_classes(outcomes)
    result.lost = 0
    return result
