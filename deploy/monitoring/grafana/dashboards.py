#!/usr/bin/env python3
"""Builds the CleanCrm Grafana dashboards (docs/OBSERVABILITY.md "Dashboards") into provisioning/dashboards/*.json.

Edit the panels here and run `python3 deploy/monitoring/grafana/dashboards.py`; the JSON files are committed. The
integration test ObservabilityMetricsTests checks that every metric a panel reads is on the API's /metrics or in the
documented native set, and tests/deploy/check-manifests.sh checks the files are valid and up to date.
"""
import json
import os
import sys

RATE = "$__rate_interval"
API = 'job="cleancrm-api"'


def ts(title, exprs, unit="short", description="", stack=False, legend=None):
    return {"type": "timeseries", "title": title, "description": description, "unit": unit, "exprs": exprs,
            "stack": stack, "legend": legend}


def stat(title, expr, unit="short", description=""):
    return {"type": "stat", "title": title, "description": description, "unit": unit, "exprs": [(expr, title)]}


def table(title, expr, description=""):
    return {"type": "table", "title": title, "description": description, "unit": "s", "exprs": [(expr, "")]}


DASHBOARDS = {
    "cleancrm-api": ("CleanCrm / API", [
        stat("Requests per second", f"sum(rate(http_server_request_duration_seconds_count{{{API}}}[{RATE}]))", "reqps"),
        stat("5xx ratio", f'sum(rate(http_server_request_duration_seconds_count{{{API},http_response_status_code=~"5.."}}[{RATE}]))'
             f" / sum(rate(http_server_request_duration_seconds_count{{{API}}}[{RATE}]))", "percentunit"),
        stat("Availability SLO burn (1 h)", "cleancrm:slo_availability_errors:ratio_rate1h / 0.001", "x",
             "Error budget burn rate of the 99.9% availability SLO over one hour (1 = exactly on budget)."),
        stat("Latency SLO burn (1 h)", "cleancrm:slo_latency_slow:ratio_rate1h / 0.05", "x",
             "Burn rate of the p95 < 200 ms objective (share of requests slower than 200 ms over the 5% budget)."),
        ts("Request rate by route", [(f"sum by (http_route) (rate(http_server_request_duration_seconds_count{{{API}}}[{RATE}]))",
                                      "{{http_route}}")], "reqps"),
        ts("Responses by status code", [(f"sum by (http_response_status_code) (rate(http_server_request_duration_seconds_count{{{API}}}[{RATE}]))",
                                         "{{http_response_status_code}}")], "reqps", stack=True),
        ts("p95 latency by route", [(f"histogram_quantile(0.95, sum by (le, http_route) (rate(http_server_request_duration_seconds_bucket{{{API}}}[{RATE}])))",
                                     "{{http_route}}")], "s"),
        ts("Latency percentiles (all routes)", [
            (f"histogram_quantile({q}, sum by (le) (rate(http_server_request_duration_seconds_bucket{{{API}}}[{RATE}])))", f"p{int(q * 100)}")
            for q in (0.5, 0.95, 0.99)], "s"),
        ts("429 Too Many Requests by route", [(f'sum by (http_route) (rate(http_server_request_duration_seconds_count{{{API},http_response_status_code="429"}}[{RATE}]))',
                                               "{{http_route}}")], "reqps",
           "Plan budgets and abuse protection refusing requests."),
        ts("5xx by route", [(f'sum by (http_route) (rate(http_server_request_duration_seconds_count{{{API},http_response_status_code=~"5.."}}[{RATE}]))',
                             "{{http_route}}")], "reqps"),
        ts("In-flight requests and Kestrel connections", [
            (f"sum by (instance) (http_server_active_requests{{{API}}})", "active requests {{instance}}"),
            (f"sum by (instance) (kestrel_active_connections{{{API}}})", "connections {{instance}}"),
            (f"sum by (instance) (kestrel_queued_connections{{{API}}})", "queued {{instance}}")]),
        ts("Outgoing HTTP (Stripe, identity providers, ...)", [
            (f"histogram_quantile(0.95, sum by (le, server_address) (rate(http_client_request_duration_seconds_bucket{{{API}}}[{RATE}])))",
             "p95 {{server_address}}")], "s"),
        ts("GC heap and working set", [
            (f"sum by (instance) (dotnet_gc_last_collection_heap_size_bytes{{{API}}})", "GC heap {{instance}}"),
            (f"sum by (instance) (dotnet_process_memory_working_set_bytes{{{API}}})", "working set {{instance}}")], "bytes"),
        ts("Thread pool queue", [(f"sum by (instance) (dotnet_thread_pool_queue_length_total{{{API}}})", "{{instance}}")]),
    ]),
    "cleancrm-database": ("CleanCrm / Database", [
        ts("Tenant connections in use vs budget", [
            (f"sum by (instance) (cleancrm_tenant_connections_in_use{{{API}}})", "in use {{instance}}"),
            (f"sum by (instance) (cleancrm_tenant_connections_reserved{{{API}}})", "reserved {{instance}}"),
            (f"sum by (instance) (cleancrm_tenant_connections_budget{{{API}}})", "budget {{instance}}")],
           description="Checked-out tenant connections against CleanCrm:Tenancy:MaxOpenTenantConnections per instance."),
        ts("Waits, refusals and evictions", [
            (f"sum by (instance) (rate(cleancrm_tenant_connections_waits_total{{{API}}}[{RATE}]))", "waits {{instance}}"),
            (f"sum by (instance) (rate(cleancrm_tenant_connections_refusals_total{{{API}}}[{RATE}]))", "refusals {{instance}}"),
            (f"sum by (instance) (rate(cleancrm_tenant_data_sources_evictions_total{{{API}}}[{RATE}]))", "evictions {{instance}}")], "ops"),
        ts("p95 wait for a connection slot", [
            (f"histogram_quantile(0.95, sum by (le, instance) (rate(cleancrm_tenant_connections_wait_time_milliseconds_bucket{{{API}}}[{RATE}])))",
             "{{instance}}")], "ms"),
        ts("Tenant data sources open", [(f"sum by (instance) (cleancrm_tenant_data_sources_open{{{API}}})", "{{instance}}")]),
        ts("Slow queries: p99 command duration", [
            (f"histogram_quantile(0.99, sum by (le, instance) (rate(db_client_operation_duration_seconds_bucket{{{API}}}[{RATE}])))",
             "{{instance}}")], "s", "Npgsql's command durations across catalog and tenant databases."),
        ts("Npgsql connections by state", [
            (f"sum by (instance, db_client_connection_state) (db_client_connection_count{{{API}}})", "{{instance}} {{db_client_connection_state}}")]),
        ts("Database server fill", [
            (f"max by (server) (cleancrm_database_servers_tenants{{{API}}}) / max by (server) (cleancrm_database_servers_capacity{{{API}}})",
             "{{server}}")], "percentunit", "Organizations placed on each server against its capacity."),
    ]),
    "cleancrm-jobs": ("CleanCrm / Jobs", [
        ts("Queue length", [(f"max by (queue) (cleancrm_jobs_queue_length{{{API}}})", "{{queue}}")]),
        ts("Jobs by state", [(f'max by (state) (cleancrm_jobs{{{API},state!="succeeded"}})', "{{state}}")]),
        stat("Job servers", f"max(cleancrm_jobs_servers{{{API}}})"),
        ts("Failed jobs (new in 15 min)", [(f'max(delta(cleancrm_jobs{{{API},state="failed"}}[15m]))', "failed")]),
        ts("Provisioning runs by outcome", [(f"sum by (outcome) (increase(cleancrm_provisioning_runs_total[{RATE}]))", "{{outcome}}")],
           stack=True),
        ts("Provisioning step p95", [
            (f"histogram_quantile(0.95, sum by (le, step) (rate(cleancrm_provisioning_step_duration_milliseconds_bucket[{RATE}])))", "{{step}}")],
           "ms"),
        ts("Fleet migration progress", [
            (f"max(cleancrm_fleet_tenants_behind{{{API}}})", "tenants behind head"),
            (f"sum by (outcome) (increase(cleancrm_fleet_tenants_migrated_total[{RATE}]))", "{{outcome}}")]),
        ts("Mail outbox", [(f"max by (status) (cleancrm_mail_outbox{{{API}}})", "{{status}}")]),
    ]),
    "cleancrm-tenants": ("CleanCrm / Tenants", [
        ts("Organizations by status", [(f"max by (status) (cleancrm_organizations{{{API}}})", "{{status}}")], stack=True),
        stat("Signups (24 h)", f"max(cleancrm_organizations_created_24h{{{API}}})"),
        stat("Suspended organizations", f'max(cleancrm_organizations{{{API},status="suspended"}})'),
        stat("Provisioning failures (24 h)", "sum(increase(cleancrm_provisioning_runs_total{outcome=\"failed\"}[24h]))"),
        stat("Oldest pending signup", f"max(cleancrm_provisioning_oldest_pending_age_seconds{{{API}}})", "s"),
        ts("Backup freshness", [
            (f"max(cleancrm_backups_newest_age_max_seconds{{{API}}})", "stalest newest backup"),
            ("26 * 3600", "alert threshold (26 h)")], "s"),
        stat("Organizations with a stale backup", f"max(cleancrm_backups_stale_organizations{{{API}}})"),
        table("Stalest organizations (newest backup age)", f"max by (org_id) (cleancrm_backups_newest_age_seconds{{{API}}})",
              "Only the N stalest organizations get a series (CleanCrm:Observability:BackupAgeTopOrganizations)."),
        ts("Backups by outcome", [(f"sum by (outcome) (increase(cleancrm_backups_runs_total[{RATE}]))", "{{outcome}}")], stack=True),
        ts("Backup duration p95", [
            (f"histogram_quantile(0.95, sum by (le) (rate(cleancrm_backups_duration_seconds_bucket[{RATE}])))", "p95")], "s"),
        stat("Restore failures (24 h)", f"max(cleancrm_backups_restore_failures_24h{{{API}}})"),
    ]),
    "cleancrm-revenue": ("CleanCrm / Revenue and billing", [
        stat("MRR", f"sum(max by (plan) (cleancrm_billing_mrr{{{API}}})) / 100", "currencyUSD",
             "List price x seats of active and past-due subscriptions (CleanCrm:Observability:PlanMonthlyPriceMinor), in major units."),
        ts("MRR by plan", [(f"max by (plan) (cleancrm_billing_mrr{{{API}}}) / 100", "{{plan}}")], "currencyUSD", stack=True),
        ts("Paid subscriptions by plan and status", [(f"max by (plan, status) (cleancrm_billing_subscriptions{{{API}}})", "{{plan}} {{status}}")],
           stack=True),
        stat("Past-due organizations", f"max(cleancrm_billing_past_due_organizations{{{API}}})"),
        stat("AI tokens this month", f"max(cleancrm_billing_ai_tokens_month{{{API}}})"),
        ts("Webhook deliveries by provider and outcome", [
            (f"sum by (provider, outcome) (rate(cleancrm_webhooks_received_total[{RATE}]))", "{{provider}} {{outcome}}")], "ops"),
    ]),
}


def panel(spec, panel_id, x, y, w, h):
    targets = [{"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend or "__auto",
                "datasource": {"type": "prometheus", "uid": "prometheus"}} for i, (expr, legend) in enumerate(spec["exprs"])]
    result = {
        "id": panel_id, "type": spec["type"], "title": spec["title"], "description": spec["description"],
        "datasource": {"type": "prometheus", "uid": "prometheus"},
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": targets,
        "fieldConfig": {"defaults": {"unit": spec["unit"]}, "overrides": []},
        "options": {},
    }
    if spec["type"] == "timeseries":
        result["fieldConfig"]["defaults"]["custom"] = {"stacking": {"mode": "normal" if spec.get("stack") else "none"}, "fillOpacity": 10}
        result["options"] = {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}}
    elif spec["type"] == "stat":
        result["options"] = {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value"}
    else:
        for target in targets:
            target["format"] = "table"
            target["instant"] = True
    return result


def dashboard(uid, title, specs):
    panels, x, y, row_height = [], 0, 0, 0
    for i, spec in enumerate(specs, start=1):
        w, h = (6, 4) if spec["type"] == "stat" else (12, 8)
        if x + w > 24:
            x, y, row_height = 0, y + row_height, 0
        panels.append(panel(spec, i, x, y, w, h))
        x, row_height = x + w, max(row_height, h)
    return {
        "uid": uid, "title": title, "tags": ["cleancrm"], "timezone": "utc", "schemaVersion": 39, "version": 1,
        "editable": False, "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": []}, "annotations": {"list": []}, "panels": panels,
    }


def render():
    return {f"{uid}.json": json.dumps(dashboard(uid, title, specs), indent=2) + "\n" for uid, (title, specs) in DASHBOARDS.items()}


if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "provisioning", "dashboards")
    check = "--check" in sys.argv
    stale = []
    for name, text in render().items():
        path = os.path.join(out, name)
        if check:
            if not os.path.exists(path) or open(path).read() != text:
                stale.append(name)
        else:
            with open(path, "w") as f:
                f.write(text)
    if stale:
        print("out of date (run deploy/monitoring/grafana/dashboards.py):", ", ".join(stale))
        sys.exit(1)
