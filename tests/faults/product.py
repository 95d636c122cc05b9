"""Talking to CleanCrm as its users do: signup, password-grant tokens, org-bound API clients, CRM records
(docs/API.md). Used by the scenarios of tests/faults/faults.py."""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

from stack import API_PORTS, CLUSTER_A, Client, say


@dataclass
class Org:
    slug: str
    owner_email: str
    password: str
    marker: str  # written into this org's records: seeing it in another org's answer is a leak
    id: str = ""
    token: str = ""
    owner_id: str = ""
    ids: dict[str, str] = field(default_factory=dict)  # path parameter name or resource -> an id of this org
    client_token: str = ""  # an org-bound client-credentials token (role admin)


def form(values: dict[str, str]) -> str:
    return urllib.parse.urlencode(values)


def password_token(client: Client, email: str, password: str, port: int | None = None) -> str:
    for attempt in range(20):
        outcome = client.request("POST", "/connect/token", form({
            "grant_type": "password", "client_id": "cleancrm-cli", "username": email, "password": password,
            "scope": "openid api"}), {"Content-Type": "application/x-www-form-urlencoded"}, port=port, label="setup:token")
        if outcome.status == 200:
            return outcome.json()["access_token"]
        if outcome.status == 429 or outcome.error:
            time.sleep(1 + attempt)
            continue
        raise RuntimeError(f"password grant for {email}: {outcome.status} {outcome.body[:300]!r}")
    raise RuntimeError(f"password grant for {email}: still refused")


def bearer(token: str, org: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if org:
        headers["X-Org"] = org
    if extra:
        headers.update(extra)
    return headers


def json_headers(token: str, org: str | None = None) -> dict[str, str]:
    return bearer(token, org, {"Content-Type": "application/json"})


def signup(client: Client, org: Org, plan: str = "free") -> None:
    body = {"organizationName": f"Faults {org.slug}", "slug": org.slug, "ownerEmail": org.owner_email,
            "ownerName": f"Owner {org.slug}", "ownerPassword": org.password, "plan": plan}
    outcome = client.request("POST", "/api/v1/signup", json.dumps(body), {"Content-Type": "application/json"}, label="setup:signup")
    if outcome.status != 202:
        raise RuntimeError(f"signup {org.slug}: {outcome.status} {outcome.body[:300]!r}")
    org.id = outcome.json()["organizationId"]


def wait_active(client: Client, org: Org, timeout: float = 300) -> float:
    """Seconds until the organization's provisioning is done (docs/API.md, GET /api/v1/orgs/{slug}/provisioning)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        outcome = client.request("GET", f"/api/v1/orgs/{org.slug}/provisioning", headers=bearer(org.token), label="setup:provisioning")
        if outcome.status == 200:
            status = outcome.json().get("status")
            if status == "active":
                return time.monotonic() - started
            if status == "failed":
                raise RuntimeError(f"provisioning of {org.slug} failed: {outcome.body[:500]!r}")
        time.sleep(0.5)
    raise RuntimeError(f"{org.slug} not active after {timeout} s")


def raise_budget(org: Org) -> None:
    """The plan budget far above what the suite sends (as tests/load/two-instances.sh does); the limiter stays on."""
    CLUSTER_A.psql(f"""INSERT INTO limit_overrides (organization_id, api_requests_per10seconds, updated_at)
        VALUES ('{org.id}', 100000000, now()) ON CONFLICT (organization_id)
        DO UPDATE SET api_requests_per10seconds = excluded.api_requests_per10seconds, updated_at = now()""", "cleancrm_catalog")


def create(client: Client, org: Org, resource: str, body: dict, port: int | None = None) -> dict:
    outcome = client.request("POST", f"/api/v1/{resource}", json.dumps(body), json_headers(org.token, org.slug), port=port,
                             label=f"setup:create {resource}")
    if outcome.status != 201:
        raise RuntimeError(f"create {resource} in {org.slug}: {outcome.status} {outcome.body[:400]!r}")
    return outcome.json()


def seed(client: Client, org: Org) -> None:
    """One record of each kind, named with the org's marker; their ids feed the path parameters of the corpus."""
    m = org.marker
    company = create(client, org, "companies", {"name": f"{m} company", "domain": f"{org.slug}.example.com"})
    contact = create(client, org, "contacts", {"firstName": m, "lastName": "Contact", "email": f"c@{org.slug}.example.com",
                                               "companyId": company["id"]})
    deal = create(client, org, "deals", {"name": f"{m} deal", "amount": 1000, "currency": "EUR", "companyId": company["id"]})
    org.ids.update({"companies": company["id"], "contacts": contact["id"], "deals": deal["id"]})
    for resource, body in (("tags", {"name": f"{m}-tag"}), ("notes", {"body": f"{m} note", "dealId": deal["id"]}),
                           ("tasks", {"title": f"{m} task", "dealId": deal["id"]}),
                           ("activities", {"type": "call", "subject": f"{m} call", "dealId": deal["id"]}),
                           ("meetings", {"title": f"{m} meeting", "startsAt": "2030-01-01T10:00:00Z", "endsAt": "2030-01-01T11:00:00Z"}),
                           ("calendar-events", {"title": f"{m} event", "startsAt": "2030-01-01T10:00:00Z", "endsAt": "2030-01-01T11:00:00Z"}),
                           ("pipelines", {"name": f"{m} pipeline", "stages": [{"name": "Open", "probability": 10, "kind": "open"}, {"name": "Won", "probability": 100, "kind": "won"}, {"name": "Lost", "probability": 0, "kind": "lost"}]}),
                           ("invitations", {"email": f"invitee@{org.slug}.example.com", "role": "member"})):
        try:
            org.ids[resource] = create(client, org, resource, body)["id"]
        except RuntimeError as error:  # a body this seed guessed wrong: the corpus then uses a random id there
            say(f"seed: {error}")
    if "pipelines" in org.ids:
        outcome = client.request("GET", f"/api/v1/pipelines/{org.ids['pipelines']}", headers=bearer(org.token, org.slug))
        stages = (outcome.json() or {}).get("stages") or []
        if stages:
            org.ids["stageId"] = stages[0]["id"]
    outcome = client.request("POST", "/api/v1/api-clients", json.dumps({"name": f"{m} client", "role": "admin"}),
                             json_headers(org.token, org.slug), label="setup:api-client")
    if outcome.status == 201:
        created = outcome.json()
        org.ids["clientId"] = created["clientId"]
        token = client.request("POST", "/connect/token", form({
            "grant_type": "client_credentials", "client_id": created["clientId"], "client_secret": created["clientSecret"],
            "scope": "api"}), {"Content-Type": "application/x-www-form-urlencoded"}, label="setup:client token")
        if token.status == 200:
            org.client_token = token.json()["access_token"]
    me = client.request("GET", "/api/v1/me", headers=bearer(org.token))
    org.owner_id = me.json()["id"]
    org.ids["userId"] = org.owner_id


def new_org(prefix: str) -> Org:
    suffix = uuid.uuid4().hex[:8]
    return Org(slug=f"{prefix}-{suffix}", owner_email=f"owner-{prefix}-{suffix}@faults.test",
               password="Faults-" + uuid.uuid4().hex, marker=f"MARK{uuid.uuid4().hex[:12].upper()}")


def ready_org(client: Client, prefix: str, plan_as_admin: str | None = None, admin_token: str | None = None) -> Org:
    org = new_org(prefix)
    signup(client, org)
    org.token = password_token(client, org.owner_email, org.password)
    wait_active(client, org)
    raise_budget(org)
    if plan_as_admin and admin_token:
        client.request("PUT", f"/api/v1/admin/organizations/{org.id}/plan", json.dumps({"plan": plan_as_admin}),
                       json_headers(admin_token), label="setup:plan")
    return org


def ports() -> list[int]:
    return list(API_PORTS)
