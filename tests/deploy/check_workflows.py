#!/usr/bin/env python3
"""Structural checks of .github/workflows and deploy/monitoring that actionlint and promtool do not make.

Usage: check_workflows.py REPO_ROOT  -> one line per check ("ok"/"FAIL"), then "passed=N failed=N".
Workflows: actions pinned to a version, explicit permissions, every `run:` script clean under shellcheck (expressions
replaced by a placeholder), and what each release workflow must do. Monitoring: the collector's pipelines use only
defined components and reach Jaeger, Loki and Prometheus; Grafana has the three data sources; Loki's schema takes OTLP.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

import yaml

PINNED = re.compile(r"^[\w.-]+/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def on(workflow):
    # PyYAML reads the bare key `on` as True.
    return workflow.get("on", workflow.get(True)) or {}


def steps(workflow):
    return [s for job in (workflow.get("jobs") or {}).values() for s in job.get("steps") or []]


def text(workflow):
    return yaml.safe_dump(workflow)


def check_pins(workflow):
    return [f"step uses {s['uses']!r}, not pinned to a version (owner/repo@vN or a commit)"
            for s in steps(workflow) if "uses" in s and not PINNED.match(s["uses"])]


def check_permissions(workflow):
    return [] if "permissions" in workflow else ["no top-level permissions (the token would get the repository default)"]


def check_shell(workflow):
    problems = []
    for job_name, job in (workflow.get("jobs") or {}).items():
        for index, step in enumerate(job.get("steps") or []):
            if "run" not in step:
                continue
            script = re.sub(r"\$\{\{[^}]*\}\}", "EXPR", step["run"])
            with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as handle:
                handle.write("#!/usr/bin/env bash\nset -e\n" + script)
            result = subprocess.run(["shellcheck", "-s", "bash", "-e", "SC2034", handle.name], capture_output=True, text=True)
            os.unlink(handle.name)
            if result.returncode != 0:
                problems.append(f"job {job_name} step {step.get('name', index)}: shellcheck\n{result.stdout.strip()}")
    return problems


def expect(condition, message):
    return [] if condition else [message]


def check_ci(workflow):
    return expect(any("scripts/test.sh" in str(s.get("run", "")) for s in steps(workflow)), "does not run scripts/test.sh")


def check_images(workflow, root):
    problems = expect((on(workflow).get("push") or {}).get("tags") == ["v*"], "not triggered by v* tags")
    job = next(iter(workflow["jobs"].values()))
    permissions = job.get("permissions") or {}
    problems += expect(permissions.get("packages") == "write", "no packages: write")
    problems += expect(permissions.get("id-token") == "write", "no id-token: write")
    build = [s for s in steps(workflow) if str(s.get("uses", "")).startswith("docker/build-push-action@")]
    problems += expect(len(build) == 1, "no docker/build-push-action step")
    for s in build:
        options = s.get("with") or {}
        problems += expect(options.get("sbom") is True, "build-push-action without sbom: true")
        problems += expect(str(options.get("provenance", "")).startswith("mode="), "build-push-action without provenance")
        problems += expect(options.get("push") is True, "build-push-action does not push")
        problems += expect("build-args" not in options, "build args given: CI builds the Dockerfiles with their defaults")
    components = ((job.get("strategy") or {}).get("matrix") or {}).get("component") or []
    problems += expect(sorted(components) == ["api", "console", "worker"], f"matrix builds {components}")
    for component in components:
        problems += expect(os.path.exists(os.path.join(root, "docker", f"{component}.Dockerfile")), f"docker/{component}.Dockerfile missing")
    problems += expect("ghcr.io/${GITHUB_REPOSITORY_OWNER,,}/cleancrm-" in text(workflow), "images not named ghcr.io/<owner>/cleancrm-*")
    return problems


def check_client(workflow, root):
    problems = expect((on(workflow).get("push") or {}).get("tags") == ["v*"], "not triggered by v* tags")
    problems += expect(any(str(s.get("run", "")).strip().startswith("npm publish") for s in steps(workflow)), "no npm publish")
    job = next(iter(workflow["jobs"].values()))
    directory = ((job.get("defaults") or {}).get("run") or {}).get("working-directory", "")
    problems += expect(os.path.exists(os.path.join(root, directory, "package.json")), f"{directory!r} holds no package.json")
    return problems


def check_deploy(workflow):
    problems = expect("workflow_dispatch" in on(workflow), "cannot be run by hand")
    job = next(iter(workflow["jobs"].values()))
    problems += expect(job.get("environment") == "production", "not behind the production environment")
    runs = [str(s.get("run", "")) for s in job.get("steps") or []]
    first = next((i for i, r in enumerate(runs) if "notin (api,worker,console)" in r), None)
    wait = next((i for i, r in enumerate(runs) if "cleancrm-migrate-" in r), None)
    rollout = next((i for i, r in enumerate(runs) if "rollout status" in r), None)
    problems += expect(None not in (first, wait, rollout) and first < wait < rollout,
                       "does not apply the migration Job, wait for it, then roll out, in that order")
    problems += expect(any("overlays/production" in str(s.get("working-directory", "")) for s in job.get("steps") or []),
                       "does not render deploy/k8s/overlays/production")
    return problems


def check_collector(config):
    problems = []
    pipelines = config["service"]["pipelines"]
    for pipeline, spec in pipelines.items():
        for part in ("receivers", "processors", "exporters"):
            for component in spec.get(part) or []:
                problems += expect(component in (config.get(part) or {}), f"{pipeline} uses undefined {part[:-1]} {component}")
    exporters = config.get("exporters") or {}
    problems += expect(any(k.startswith("otlp/jaeger") for k in pipelines.get("traces", {}).get("exporters", [])), "traces do not go to Jaeger")
    problems += expect("loki" in str(pipelines.get("logs", {}).get("exporters")), "logs do not go to Loki")
    problems += expect("prometheus" in (pipelines.get("metrics", {}).get("exporters") or []), "metrics are not exported to Prometheus")
    problems += expect("otlp" in config.get("receivers", {}), "no OTLP receiver")
    problems += expect(str(exporters.get("otlphttp/loki", {}).get("endpoint", "")).endswith("/otlp"), "Loki exporter not on /otlp")
    return problems


def check_grafana(root):
    types = set()
    for path in glob.glob(os.path.join(root, "deploy/monitoring/grafana/provisioning/datasources/*.yaml")):
        types |= {d["type"] for d in load(path).get("datasources") or []}
    return expect({"prometheus", "loki", "jaeger"} <= types, f"data sources {sorted(types)} lack Prometheus, Loki or Jaeger")


def check_loki(config):
    schemas = config.get("schema_config", {}).get("configs") or []
    return expect(schemas and schemas[-1].get("schema") == "v13" and schemas[-1].get("store") == "tsdb"
                  and config.get("limits_config", {}).get("allow_structured_metadata") is True,
                  "the latest schema is not tsdb v13 with structured metadata (needed for OTLP ingestion)")


def main(root):
    results = []
    workflows = sorted(glob.glob(os.path.join(root, ".github/workflows/*.yml")))
    for path in workflows:
        relative = os.path.relpath(path, root)
        workflow = load(path)
        results.append((f"{relative}: actions pinned", check_pins(workflow)))
        results.append((f"{relative}: permissions declared", check_permissions(workflow)))
        results.append((f"{relative}: run scripts pass shellcheck", check_shell(workflow)))
    by_name = {os.path.basename(p): load(p) for p in workflows}
    specific = {
        "ci.yml": lambda w: check_ci(w),
        "images.yml": lambda w: check_images(w, root),
        "client-package.yml": lambda w: check_client(w, root),
        "deploy.yml": lambda w: check_deploy(w),
    }
    for file, check in specific.items():
        results.append((f"{file}: does its job", check(by_name[file]) if file in by_name else [f"{file} is missing"]))
    monitoring = os.path.join(root, "deploy/monitoring")
    results.append(("otel-collector.yaml: pipelines", check_collector(load(os.path.join(monitoring, "otel-collector.yaml")))))
    results.append(("grafana data sources", check_grafana(root)))
    results.append(("loki.yaml: OTLP-ready schema", check_loki(load(os.path.join(monitoring, "loki/loki.yaml")))))

    passed = failed = 0
    for title, problems in results:
        if problems:
            failed += 1
            print(f"FAIL  {title}")
            for problem in problems:
                print("        - " + problem.replace("\n", "\n          "))
        else:
            passed += 1
            print(f"ok    {title}")
    print(f"passed={passed} failed={failed}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
