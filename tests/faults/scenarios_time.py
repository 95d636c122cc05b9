"""Scenario 6 of issue 23 (docs/reliability.md): a webhook sender whose clock is off by about 5 minutes either way, a
replayed webhook, and a Stripe event delivered 3 days late. The product's defences: the Standard Webhooks timestamp
must be within 5 minutes of the receiver's clock (WebhookSignatures.Tolerance, inclusive: |now - t| <= 300 s), the
inbox keeps one row per provider event id, and billing re-fetches the subscription from Stripe instead of applying the
late event's copy (docs/BILLING.md). The suite cannot move the API's clock: a skewed sender or a delivery an hour
late is simulated by signing with a timestamp that far from now, which is exactly what the receiver sees."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
import uuid

from peers import ProviderStub, start_api_with
from product import bearer, json_headers, password_token
from stack import CLUSTER_A, HOST, PORT_BASE, RECORDER, Client, say

APIX_PORT = PORT_BASE + 10
STUB_PORT = PORT_BASE + 12
STRIPE_SECRET = "whsec_faults" + uuid.uuid4().hex
PRO_PRICE, ENTERPRISE_PRICE = "price_faults_pro", "price_faults_enterprise"
STRIPE_API_VERSION = "2026-10-28.endive"


_SETTINGS: dict[str, str] = {}


def settings() -> dict[str, str]:
    """The API's (and worker's) settings for the stubbed Fathom and Stripe; the same values on every call."""
    if _SETTINGS:
        return dict(_SETTINGS)
    stub = f"http://{HOST}:{STUB_PORT}"
    env = {
        "CleanCrm__Integrations__SpaRedirectUrl": f"http://{HOST}:{PORT_BASE + 49}/integrations",
        "CleanCrm__Integrations__Fathom__ClientId": "fathom-client",
        "CleanCrm__Integrations__Fathom__ClientSecret": "fathom-secret-" + uuid.uuid4().hex,
        "CleanCrm__Integrations__Fathom__AuthorizeUrl": f"{stub}/fathom/oauth2/authorize",
        "CleanCrm__Integrations__Fathom__TokenUrl": f"{stub}/fathom/oauth2/token",
        "CleanCrm__Integrations__Fathom__ApiBaseUrl": f"{stub}/fathom/external/v1",
        "CleanCrm__Stripe__SecretKey": "sk_test_faults" + uuid.uuid4().hex,
        "CleanCrm__Stripe__WebhookSecret": STRIPE_SECRET,
        "CleanCrm__Stripe__ApiBase": f"{stub}/",
        "CleanCrm__Stripe__Prices__pro": PRO_PRICE,
        "CleanCrm__Stripe__Prices__enterprise": ENTERPRISE_PRICE,
    }
    _SETTINGS.update(env)
    return dict(env)


def sign_standard(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def sign_stripe(payload: bytes, timestamp: int) -> str:
    mac = hmac.new(STRIPE_SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def inbox_rows(event_id: str) -> int:
    return int(CLUSTER_A.psql("SELECT count(*) FROM integration_webhook_inbox WHERE provider = 'fathom' "
                              f"AND event_id = '{event_id}'", "cleancrm_catalog"))


def connect_fathom(client: Client, org, stub: ProviderStub) -> tuple[str, str]:
    """Connects Fathom the way a user does (connect, consent at the stub, callback); returns (connection id, secret)."""
    client.drop_older_than(APIX_PORT, time.monotonic())  # not a kept-alive connection the server may have closed
    started = client.request("POST", "/api/v1/integrations/fathom/connect", headers=bearer(org.token, org.slug), port=APIX_PORT,
                             label="time setup:connect")
    if started.status != 200:
        raise RuntimeError(f"connect fathom: {started.status} {started.body[:300]!r}")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(started.json()["authorizationUrl"]).query)
    callback = client.request("GET", f"/oauth/fathom/callback?code=faults-{uuid.uuid4().hex}&state="
                              f"{urllib.parse.quote(query['state'][0])}", port=APIX_PORT, label="time setup:callback")
    if callback.status not in (302, 303):
        raise RuntimeError(f"fathom callback: {callback.status} {callback.body[:300]!r}")
    # The webhook the product registered at the stub names the connection: .../webhooks/fathom/{connectionId}.
    registered = [(url.rstrip("/").rsplit("/", 1)[-1], s) for url, s in stub.webhook_secrets.items() if "/webhooks/fathom/" in url]
    known = CLUSTER_A.psql(f"SELECT id FROM integration_connections WHERE organization_id = '{org.id}'", "cleancrm_catalog").split()
    match = [(c, s) for c, s in registered if c in known]
    if len(match) != 1:
        raise RuntimeError(f"expected one Fathom webhook registered for a connection of {org.slug}: registered "
                           f"{[c for c, _ in registered]}, connections {known}")
    return match[0]


class Checks:
    def __init__(self, name: str) -> None:
        self.name = name
        self.notes: list[str] = []
        self.failures: list[str] = []

    def expect(self, ok: bool, what: str) -> None:
        (self.notes if ok else self.failures).append(("ok: " if ok else "BROKEN: ") + what)


def webhook_time(suite, Result):
    """Scenario 6: clock skew, replays, a Stripe event 3 days late. One row per case."""
    procs = suite.procs
    client = Client("time")
    stub = ProviderStub(STUB_PORT)
    rows: list[Checks] = []
    try:
        start_api_with(procs, "apix", APIX_PORT, settings())
        procs.wait_ready("apix", f"http://127.0.0.1:{APIX_PORT}")
        org = suite.org("time-6", "enterprise", seeded=False)
        org.token = password_token(client, org.owner_email, org.password, port=APIX_PORT)
        connection, secret = connect_fathom(client, org, stub)
        path = f"/webhooks/fathom/{connection}"

        def deliver(webhook_id: str, timestamp: int, body: bytes, signature: str | None = None, label: str = ""):
            return client.request("POST", path, body, {
                "Content-Type": "application/json", "webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
                "webhook-signature": signature or sign_standard(secret, webhook_id, timestamp, body)}, port=APIX_PORT,
                label=f"time {label}")

        def meeting(n: str) -> bytes:
            return json.dumps({"title": f"Skew {n}", "recording_id": abs(hash(n)) % 10**9, "url": f"https://fathom.video/{n}",
                               "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}).encode()

        # Clock skew. The boundary is inclusive (|now - t| <= 300 s, whole seconds). A sender 300 s ahead is exactly at
        # it and deterministic (the receiver reads its clock after the sender); 300 s behind would be decided by the
        # request's own latency, so "inside" behind is 298 s and "outside" either way is 302 s (the 2 s margin is for
        # latency on a loaded machine).
        for direction, sign in (("behind", -1), ("ahead", 1)):
            check = Checks(f"6 sender clock {direction} ~5 min")
            inside = 298 if sign < 0 else 300
            for offset, accepted in ((inside, True), (302, False)):
                webhook_id = f"msg_skew_{direction}_{offset}_{uuid.uuid4().hex[:8]}"
                outcome = deliver(webhook_id, int(time.time()) + sign * offset, meeting(webhook_id), label=f"skew {direction} {offset}")
                stored = inbox_rows(webhook_id)
                if accepted:
                    check.expect(outcome.status == 200 and stored == 1,
                                 f"{offset} s {direction}: {outcome.status}, {stored} inbox row (expected 200 and 1)")
                else:
                    problem = outcome.headers.get("content-type", "").startswith("application/problem+json")
                    check.expect(outcome.status == 401 and problem and stored == 0,
                                 f"{offset} s {direction}: {outcome.status} {'problem' if problem else 'no problem document'}, "
                                 f"{stored} inbox rows (expected 401 problem, 0)")
            rows.append(check)

        # Replays.
        check = Checks("6 replayed webhook")
        webhook_id = f"msg_replay_{uuid.uuid4().hex[:8]}"
        body = meeting(webhook_id)
        now = int(time.time())
        signature = sign_standard(secret, webhook_id, now, body)
        first = deliver(webhook_id, now, body, signature, "replay original")
        again = deliver(webhook_id, now, body, signature, "replay at once")
        check.expect(first.status == 200 and (first.json() or {}).get("duplicate") is False,
                     f"original: {first.status} {first.body[:80]!r}")
        check.expect(again.status == 200 and (again.json() or {}).get("duplicate") is True and inbox_rows(webhook_id) == 1,
                     f"the same delivery again (a sender's retry): {again.status} {again.body[:80]!r}, {inbox_rows(webhook_id)} row")
        hour_ago = int(time.time()) - 3600
        late = deliver(webhook_id, hour_ago, body, label="replay 1 h later")
        fresh_late = f"msg_late_{uuid.uuid4().hex[:8]}"
        late_new = deliver(fresh_late, hour_ago, meeting(fresh_late), label="new id signed 1 h ago")
        check.expect(late.status == 401 and inbox_rows(webhook_id) == 1,
                     f"replayed with its 1-hour-old timestamp: {late.status}, still {inbox_rows(webhook_id)} row")
        check.expect(late_new.status == 401 and inbox_rows(fresh_late) == 0,
                     f"an unseen id signed 1 hour ago: {late_new.status}, {inbox_rows(fresh_late)} rows")
        tampered = deliver(webhook_id, now, body + b" ", signature, "replay with a changed body")
        check.expect(tampered.status == 401, f"the original signature over a changed body: {tampered.status}")
        check.notes.append("the 1-hour delay is simulated: signed with a timestamp 3,600 s old (the API's clock cannot be moved)")
        rows.append(check)

        # A Stripe event 3 days late (docs/BILLING.md: each event re-fetches the subscription from Stripe).
        check = Checks("6 Stripe event 3 days late")
        customer, sub_old, sub_new = f"cus_faults{uuid.uuid4().hex[:10]}", f"sub_old{uuid.uuid4().hex[:10]}", f"sub_new{uuid.uuid4().hex[:10]}"

        def stripe_event(event_type: str, data: dict, created: int, signed_at: int | None = None, event_id: str | None = None):
            payload = json.dumps({"id": event_id or f"evt_faults{uuid.uuid4().hex[:16]}", "object": "event",
                                  "api_version": STRIPE_API_VERSION, "created": created, "data": {"object": data},
                                  "livemode": False, "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
                                  "type": event_type}).encode()
            return client.request("POST", "/webhooks/stripe", payload, {
                "Content-Type": "application/json", "Stripe-Signature": sign_stripe(payload, signed_at or int(time.time()))},
                port=APIX_PORT, label=f"time stripe {event_type}"), payload

        def plan() -> str:
            return CLUSTER_A.psql(f"SELECT o.plan_key || ' ' || coalesce(s.stripe_subscription_id, '-') || ' ' || coalesce(s.status, '-') "
                                  f"FROM organizations o LEFT JOIN subscriptions s ON s.organization_id = o.id WHERE o.id = '{org.id}'",
                                  "cleancrm_catalog")

        three_days_ago = int(time.time()) - 3 * 86400
        # The history: a pro subscription (3 days ago), replaced by an enterprise one today.
        old_pro = stub.put_subscription(sub_old, customer, org.id, "active", PRO_PRICE, "pro")
        created, _ = stripe_event("customer.subscription.created", old_pro, three_days_ago - 60)
        check.expect(created.status == 200 and plan().startswith("pro "), f"setup: pro subscription applied ({created.status}, {plan()})")
        stub.put_subscription(sub_old, customer, org.id, "canceled", PRO_PRICE, "pro")
        new_enterprise = stub.put_subscription(sub_new, customer, org.id, "active", ENTERPRISE_PRICE, "enterprise")
        updated, updated_payload = stripe_event("customer.subscription.created", new_enterprise, int(time.time()))
        before = plan()
        check.expect(updated.status == 200 and before.startswith(f"enterprise {sub_new} active"),
                     f"setup: enterprise subscription applied ({updated.status}, {before})")
        # Late: the old subscription's update (still "active pro" in the event) created 3 days ago, signed now.
        late_update, _ = stripe_event("customer.subscription.updated", old_pro, three_days_ago)
        after_update = plan()
        check.expect(late_update.status == 200 and after_update == before,
                     f"customer.subscription.updated of the old pro subscription, created 3 days ago: {late_update.status}; "
                     f"state {after_update} (expected unchanged: {before})")
        late_new_copy = dict(new_enterprise, items=dict(new_enterprise["items"], data=[dict(new_enterprise["items"]["data"][0],
                                                                                               price=dict(old_pro["items"]["data"][0]["price"]))]))
        late_same, _ = stripe_event("customer.subscription.updated", late_new_copy, three_days_ago)
        after_same = plan()
        check.expect(late_same.status == 200 and after_same == before,
                     f"customer.subscription.updated of the current subscription with a 3-day-old pro copy: {late_same.status}; "
                     f"state {after_same} (expected unchanged)")
        canceled_old = dict(old_pro, status="canceled")
        late_delete, _ = stripe_event("customer.subscription.deleted", canceled_old, three_days_ago + 30)
        after_delete = plan()
        check.expect(late_delete.status == 200 and after_delete == before,
                     f"customer.subscription.deleted of the old subscription, 3 days late: {late_delete.status}; state {after_delete}")
        event_id = json.loads(updated_payload)["id"]
        stale, _ = stripe_event("customer.subscription.created", new_enterprise, int(time.time()), signed_at=three_days_ago,
                                event_id=f"evt_faults_stale{uuid.uuid4().hex[:8]}")
        check.expect(stale.status == 400, f"an event signed 3 days ago (a replay of the delivery itself): {stale.status} (expected 400)")
        redelivered = client.request("POST", "/webhooks/stripe", updated_payload, {
            "Content-Type": "application/json", "Stripe-Signature": sign_stripe(updated_payload, int(time.time()))},
            port=APIX_PORT, label="time stripe redelivery")
        recorded = CLUSTER_A.psql(f"SELECT count(*) FROM webhook_events WHERE provider = 'stripe' AND event_id = '{event_id}'",
                                  "cleancrm_catalog")
        check.expect(redelivered.status == 200 and recorded == "1" and plan() == before,
                     f"the same event redelivered: {redelivered.status}, {recorded} webhook_events row, state {plan()}")
        last_event = CLUSTER_A.psql(f"SELECT last_event_at > now() - interval '1 hour' FROM subscriptions WHERE organization_id = '{org.id}'",
                                    "cleancrm_catalog")
        check.expect(last_event == "t", f"last_event_at kept the newest event's time, not the late one's ({last_event})")
        rows.append(check)
    finally:
        stub.close()
        if "apix" in procs.procs and procs.procs["apix"].poll() is None:
            procs.procs["apix"].terminate()
            procs.procs["apix"].wait(timeout=30)
        client.close()

    outcomes = [o for o in RECORDER.outcomes if o.scenario == "time"]
    results = []
    for check in rows:
        result = Result(check.name, not check.failures)
        result.requests = len(outcomes)
        result.lost = 0
        result.errors = {}
        for o in outcomes:
            if o.error or (o.status or 0) >= 500:
                key = o.error or str(o.status)
                result.errors[key] = result.errors.get(key, 0) + 1
        result.notes.extend(check.failures + check.notes)
        results.append(result)
    say("time: " + ", ".join(f"{r.scenario}: {'PASS' if r.passed else 'FAIL'}" for r in results))
    _ = json_headers
    return results
