#!/usr/bin/env python3
"""Monitoring checks beyond promtool (docs/OBSERVABILITY.md "Tests"), run by check-manifests.sh:
- every Grafana dashboard under deploy/monitoring/grafana/provisioning/dashboards is valid JSON with a uid matching its
  file name, a title and panels, each panel with a unique id, a title and Prometheus targets with an expression;
- the JSON files are what deploy/monitoring/grafana/dashboards.py generates (not edited by hand, not stale);
- every alert rule has a severity and a runbook_url naming a file that exists, and every runbook is linked from the
  runbook index.
Prints one "ok"/"FAIL" line per check and "passed=N failed=N" last.
"""
import glob
import json
import os
import subprocess
import sys

import yaml

repo = sys.argv[1]
passed = failed = 0


def report(ok, title, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {title}")
    else:
        failed += 1
        print(f"FAIL  {title}: {detail}")


dashboards = sorted(glob.glob(os.path.join(repo, "deploy/monitoring/grafana/provisioning/dashboards/*.json")))
report(len(dashboards) >= 5, "five or more dashboards", f"{len(dashboards)} found")
for path in dashboards:
    name = os.path.basename(path)
    problems = []
    try:
        with open(path) as f:
            board = json.load(f)
    except ValueError as error:
        report(False, f"dashboard {name}", f"not valid JSON: {error}")
        continue
    if board.get("uid") != name[:-5]:
        problems.append("uid does not match the file name")
    if not board.get("title"):
        problems.append("no title")
    panels = board.get("panels") or []
    if not panels:
        problems.append("no panels")
    ids = [p.get("id") for p in panels]
    if len(set(ids)) != len(ids):
        problems.append("duplicate panel ids")
    for p in panels:
        targets = p.get("targets") or []
        if not p.get("title") or not targets:
            problems.append(f"panel {p.get('id')} without title or targets")
        for t in targets:
            if not (t.get("expr") or "").strip() or (t.get("datasource") or {}).get("uid") != "prometheus":
                problems.append(f"panel {p.get('title')!r}: a target without expression or Prometheus data source")
    report(not problems, f"dashboard {name} structure", "; ".join(problems))

generator = subprocess.run([sys.executable, os.path.join(repo, "deploy/monitoring/grafana/dashboards.py"), "--check"],
                           capture_output=True, text=True)
report(generator.returncode == 0, "dashboards match deploy/monitoring/grafana/dashboards.py", generator.stdout.strip())

runbooks = os.path.join(repo, "docs/runbooks")
linked = set()
problems = []
alerts = 0
for path in sorted(glob.glob(os.path.join(repo, "deploy/monitoring/prometheus/rules/*.yml"))):
    with open(path) as f:
        for group in yaml.safe_load(f)["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                alerts += 1
                url = (rule.get("annotations") or {}).get("runbook_url", "")
                if (rule.get("labels") or {}).get("severity") not in ("page", "ticket"):
                    problems.append(f"{rule['alert']}: severity must be page or ticket")
                if not url.startswith("docs/runbooks/") or not os.path.exists(os.path.join(repo, url)):
                    problems.append(f"{rule['alert']}: runbook_url {url!r} names no runbook")
                linked.add(os.path.basename(url))
report(alerts > 0 and not problems, f"{alerts} alerts have a severity and an existing runbook", "; ".join(problems))
with open(os.path.join(runbooks, "README.md")) as f:
    index = f.read()
missing = [name for name in sorted(os.listdir(runbooks)) if name != "README.md" and f"({name})" not in index]
report(not missing, "every runbook is linked from docs/runbooks/README.md", ", ".join(missing))

print(f"passed={passed} failed={failed}")
