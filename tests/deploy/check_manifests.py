#!/usr/bin/env python3
"""Checks rendered Kubernetes manifests (a `kubectl kustomize` output) against CleanCrm's deployment rules.

Usage: check_manifests.py OVERLAY_NAME RENDERED.yaml        -> one line per check, "ok"/"FAIL"
       check_manifests.py --self-test RENDERED.yaml         -> breaks each rule in a copy and expects its check to fail
Exit code 0 when every check passed. The last line is "passed=N failed=N" for the caller's counts.
"""
import copy
import re
import sys

import yaml

SECRET_NAME = re.compile(
    r"(^ConnectionStrings__)|(password|secret|signingkey|encryptionkey|apikey|token|privatekey|connectionstring)$",
    re.IGNORECASE,
)
SECRET_VALUE = re.compile(r"(password\s*=)|(-----BEGIN)|(\bsk_(live|test)_)|(AccountKey=)", re.IGNORECASE)


def load(path):
    with open(path, encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def of_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def name(doc):
    return doc.get("metadata", {}).get("name", "?")


def workloads(docs):
    """(kind/name, pod spec) of every Deployment and Job."""
    return [(f"{d['kind']}/{name(d)}", d["spec"]["template"]["spec"]) for d in docs if d.get("kind") in ("Deployment", "Job")]


def containers(spec):
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def setting_name(key):
    # Configuration keys in environment form: the last segment names the setting (CleanCrm__Secrets__Provider is not
    # a secret, CleanCrm__Identity__ConsoleClientSecret is).
    return key.split("__")[-1]


def check_probes(docs):
    problems = []
    for d in of_kind(docs, "Deployment"):
        for c in containers(d["spec"]["template"]["spec"]):
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                path = (c.get(probe) or {}).get("httpGet", {}).get("path", "")
                if not path.startswith("/health/"):
                    problems.append(f"Deployment/{name(d)} container {c['name']}: {probe} missing or not on /health/*")
            if (c.get("readinessProbe") or {}).get("httpGet", {}).get("path") != "/health/ready":
                problems.append(f"Deployment/{name(d)} container {c['name']}: readinessProbe must be /health/ready")
    return problems


def check_resources(docs):
    problems = []
    for where, spec in workloads(docs):
        for c in containers(spec):
            resources = c.get("resources") or {}
            for part in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in (resources.get(part) or {}):
                        problems.append(f"{where} container {c['name']}: no {part}.{resource}")
    return problems


def check_security_context(docs):
    problems = []
    for where, spec in workloads(docs):
        pod = spec.get("securityContext") or {}
        if pod.get("runAsNonRoot") is not True:
            problems.append(f"{where}: pod securityContext.runAsNonRoot is not true")
        if (pod.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: pod seccompProfile is not RuntimeDefault")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: automountServiceAccountToken is not false")
        tmp_volumes = {v["name"] for v in spec.get("volumes") or [] if "emptyDir" in v}
        for c in containers(spec):
            sc = c.get("securityContext") or {}
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where} container {c['name']}: allowPrivilegeEscalation is not false")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where} container {c['name']}: readOnlyRootFilesystem is not true")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                problems.append(f"{where} container {c['name']}: capabilities do not drop ALL")
            if sc.get("privileged"):
                problems.append(f"{where} container {c['name']}: privileged")
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts") or []}
            if mounts.get("/tmp") not in tmp_volumes:
                problems.append(f"{where} container {c['name']}: /tmp is not an emptyDir (the root filesystem is read-only)")
    return problems


def check_no_inline_secrets(docs):
    problems = []
    for d in of_kind(docs, "Secret"):
        if d.get("data") or d.get("stringData"):
            problems.append(f"Secret/{name(d)} carries values inline; create it out of band and reference it")
    for where, spec in workloads(docs):
        for c in containers(spec):
            for env in c.get("env") or []:
                value = env.get("value")
                if value is None:
                    continue
                if SECRET_NAME.search(setting_name(env["name"])) or SECRET_VALUE.search(str(value)):
                    problems.append(f"{where} container {c['name']}: env {env['name']} has an inline value that looks secret")
    for d in of_kind(docs, "ConfigMap"):
        for key, value in (d.get("data") or {}).items():
            if SECRET_NAME.search(setting_name(key)) or SECRET_VALUE.search(str(value)):
                problems.append(f"ConfigMap/{name(d)}: {key} looks like a secret; reference a Secret instead")
    return problems


def check_secret_references(docs):
    problems = []
    for where, spec in workloads(docs):
        for c in containers(spec):
            refs = [e["secretRef"]["name"] for e in c.get("envFrom") or [] if "secretRef" in e]
            refs += [e["valueFrom"]["secretKeyRef"]["name"] for e in c.get("env") or [] if "secretKeyRef" in (e.get("valueFrom") or {})]
            if not refs:
                problems.append(f"{where} container {c['name']}: references no Secret (where would its credentials come from?)")
    return problems


def check_images(docs):
    problems = []
    for where, spec in workloads(docs):
        for c in containers(spec):
            image = c.get("image", "")
            reference = image.split("@", 1)[0]
            tag = reference.rsplit(":", 1)[1] if ":" in reference.rsplit("/", 1)[-1] else ""
            if "@sha256:" not in image and not tag:
                problems.append(f"{where} container {c['name']}: image {image!r} has no tag")
            elif tag == "latest":
                problems.append(f"{where} container {c['name']}: image {image!r} uses latest")
    return problems


def check_ingress(docs):
    problems = []
    ingresses = of_kind(docs, "Ingress")
    if not ingresses:
        problems.append("no Ingress")
    console_services = {name(s) for s in of_kind(docs, "Service") if "console" in name(s)}
    routed = set()
    for ingress in ingresses:
        spec = ingress.get("spec", {})
        if not spec.get("tls") or not all(t.get("secretName") for t in spec["tls"]):
            problems.append(f"Ingress/{name(ingress)}: no TLS secret referenced")
        backends = [spec.get("defaultBackend")] if spec.get("defaultBackend") else []
        for rule in spec.get("rules") or []:
            backends += [p.get("backend") for p in (rule.get("http") or {}).get("paths") or []]
        for backend in backends:
            routed.add(((backend or {}).get("service") or {}).get("name"))
    for service in console_services & routed:
        problems.append(f"the console Service {service} is exposed by an Ingress")
    if "cleancrm-api" not in routed:
        problems.append("no Ingress routes to the API Service")
    for service in of_kind(docs, "Service"):
        if name(service) in console_services and service.get("spec", {}).get("type", "ClusterIP") != "ClusterIP":
            problems.append(f"Service/{name(service)} is {service['spec']['type']}, not ClusterIP")
    return problems


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def check_availability(docs):
    problems = []
    pdbs = of_kind(docs, "PodDisruptionBudget")
    for d in of_kind(docs, "Deployment"):
        labels = d["spec"]["template"]["metadata"].get("labels") or {}
        if not any(selects(p["spec"].get("selector") or {}, labels) for p in pdbs):
            problems.append(f"Deployment/{name(d)} has no PodDisruptionBudget")
    hpas = [h for h in of_kind(docs, "HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"].get("name") == "cleancrm-api"]
    if not hpas:
        problems.append("no HorizontalPodAutoscaler for the API")
    for h in hpas:
        if h["spec"].get("minReplicas", 1) > h["spec"].get("maxReplicas", 0):
            problems.append(f"HorizontalPodAutoscaler/{name(h)}: minReplicas above maxReplicas")
    return problems


def check_migration_job(docs):
    problems = []
    jobs = [j for j in of_kind(docs, "Job") if j["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "migration"]
    if len(jobs) != 1:
        return [f"expected one migration Job, found {len(jobs)}"]
    job = jobs[0]
    container = job["spec"]["template"]["spec"]["containers"][0]
    if container.get("args") != ["migrate"]:
        problems.append(f"Job/{name(job)} does not run the migrate verb: {container.get('args')}")
    workers = [d for d in of_kind(docs, "Deployment") if name(d) == "cleancrm-worker"]
    if not workers or workers[0]["spec"]["template"]["spec"]["containers"][0]["image"] != container.get("image"):
        problems.append(f"Job/{name(job)} does not run the worker Deployment's image")
    if name(job) == "cleancrm-migrate":
        problems.append("the migration Job is not named per release (Jobs are immutable)")
    if job["spec"]["template"]["spec"].get("restartPolicy") != "Never":
        problems.append(f"Job/{name(job)}: restartPolicy is not Never")
    return problems


def check_network_policies(docs):
    problems = []
    policies = of_kind(docs, "NetworkPolicy")
    if not any(p["spec"].get("podSelector") == {} and set(p["spec"].get("policyTypes") or []) == {"Ingress", "Egress"}
               and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in policies):
        problems.append("no default-deny NetworkPolicy (podSelector {}, Ingress and Egress, no rules)")
    console_labels = {"app.kubernetes.io/name": "cleancrm-console"}
    for p in policies:
        applies = selects(p["spec"].get("podSelector") or {}, console_labels)
        for rule in p["spec"].get("ingress") or []:
            sources = rule.get("from")
            if applies and not sources:
                problems.append(f"NetworkPolicy/{name(p)} opens the console to every source")
            for source in sources or []:
                if applies and ("ipBlock" in source or "ingress-nginx" in str(source)):
                    problems.append(f"NetworkPolicy/{name(p)} lets {source} reach the console")
    api_labels = {"app.kubernetes.io/name": "cleancrm-api"}
    api_sources = [s for p in policies if selects(p["spec"].get("podSelector") or {}, api_labels)
                   for r in p["spec"].get("ingress") or [] for s in r.get("from") or []]
    if not any("ingress-nginx" in str(s) for s in api_sources):
        problems.append("no NetworkPolicy lets the ingress controller reach the API")
    egress_ports = {port.get("port") for p in policies for r in p["spec"].get("egress") or [] for port in r.get("ports") or []}
    for port, what in ((53, "DNS"), (5432, "PostgreSQL"), (587, "SMTP")):
        if port not in egress_ports:
            problems.append(f"no egress to {what} (port {port})")
    return problems


CHECKS = [
    ("probes on /health/* (startup, readiness, liveness)", check_probes),
    ("requests and limits on every container", check_resources),
    ("security contexts (non-root, read-only root, no escalation, drop ALL, seccomp, /tmp emptyDir)", check_security_context),
    ("no inline secret values", check_no_inline_secrets),
    ("credentials come from referenced Secrets", check_secret_references),
    ("image tags present and not latest", check_images),
    ("Ingress: API with TLS, console never exposed", check_ingress),
    ("PodDisruptionBudgets and the API HorizontalPodAutoscaler", check_availability),
    ("migration Job named per release runs migrate on the worker image", check_migration_job),
    ("NetworkPolicies: default deny, ingress controller to API, console internal, DNS/PostgreSQL/SMTP egress", check_network_policies),
]


def deployment(docs, deployment_name):
    return next(d for d in docs if d.get("kind") == "Deployment" and name(d) == deployment_name)


def first_container(docs, deployment_name):
    return deployment(docs, deployment_name)["spec"]["template"]["spec"]["containers"][0]


def migration_job(docs):
    return next(d for d in docs if d.get("kind") == "Job")


# One way to break each rule; the self-test expects the matching check to notice.
MUTATIONS = {
    check_probes: ("the worker loses its readiness probe", lambda docs: first_container(docs, "cleancrm-worker").pop("readinessProbe")),
    check_resources: ("the console loses its memory limit",
                      lambda docs: first_container(docs, "cleancrm-console")["resources"]["limits"].pop("memory")),
    check_security_context: ("the API may escalate privileges",
                             lambda docs: first_container(docs, "cleancrm-api")["securityContext"].update(allowPrivilegeEscalation=True)),
    check_no_inline_secrets: ("a password in an env value", lambda docs: first_container(docs, "cleancrm-api").setdefault("env", []).append(
        {"name": "CleanCrm__Email__Smtp__Password", "value": "hunter2"})),
    check_secret_references: ("the worker references no Secret", lambda docs: first_container(docs, "cleancrm-worker").update(
        envFrom=[e for e in first_container(docs, "cleancrm-worker")["envFrom"] if "secretRef" not in e])),
    check_images: ("the API image is latest", lambda docs: first_container(docs, "cleancrm-api").update(
        image=first_container(docs, "cleancrm-api")["image"].rsplit(":", 1)[0] + ":latest")),
    check_ingress: ("the Ingress routes to the console", lambda docs: of_kind(docs, "Ingress")[0]["spec"]["rules"][0]["http"]["paths"].append(
        {"path": "/console", "pathType": "Prefix", "backend": {"service": {"name": "cleancrm-console", "port": {"name": "http"}}}})),
    check_availability: ("the HorizontalPodAutoscaler is gone", lambda docs: docs.remove(of_kind(docs, "HorizontalPodAutoscaler")[0])),
    check_migration_job: ("the migration Job keeps its fixed name", lambda docs: migration_job(docs)["metadata"].update(name="cleancrm-migrate")),
    check_network_policies: ("the console is opened to the ingress controller", lambda docs: next(
        p for p in of_kind(docs, "NetworkPolicy") if name(p) == "cleancrm-console-ingress")["spec"]["ingress"].append(
        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]})),
}


def main(argv):
    passed = failed = 0
    if argv[1] == "--self-test":
        docs = load(argv[2])
        for title, check in CHECKS:
            what, mutate = MUTATIONS[check]
            broken = copy.deepcopy(docs)
            mutate(broken)
            if check(docs) == [] and check(broken):
                passed += 1
                print(f"ok    self-test: '{title}' catches: {what}")
            else:
                failed += 1
                print(f"FAIL  self-test: '{title}' did not catch: {what} (or fails on the unbroken render)")
    else:
        overlay, docs = argv[1], load(argv[2])
        for title, check in CHECKS:
            problems = check(docs)
            if problems:
                failed += 1
                print(f"FAIL  {overlay}: {title}")
                for problem in problems:
                    print(f"        - {problem}")
            else:
                passed += 1
                print(f"ok    {overlay}: {title}")
    print(f"passed={passed} failed={failed}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
