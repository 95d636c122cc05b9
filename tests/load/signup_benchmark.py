#!/usr/bin/env python3
"""Signup -> first successful authenticated API call, against a running API + worker (issue 5 benchmark).

Each sample: POST /api/v1/signup, then password grant (cleancrm-cli), then GET /api/v1/companies with X-Org until it
answers 200 (409 org_not_ready while provisioning). Prints p50/p95/max for N sequential and M concurrent signups, and
the mean time spent in the signup POST, the token grant (each one PBKDF2 hash of the password) and waiting for the org.
A fourth argument "seq" or "conc" runs only that half (the warm-pool benchmark refills the pool in between); a fifth
is a label printed on every line. Only 127.0.0.1 is targeted.
"""
import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5080"
SEQUENTIAL = int(sys.argv[2]) if len(sys.argv) > 2 else 50
CONCURRENT = int(sys.argv[3]) if len(sys.argv) > 3 else 20
MODE = sys.argv[4] if len(sys.argv) > 4 else "both"
LABEL = (sys.argv[5] + " ") if len(sys.argv) > 5 else ""
assert MODE in ("both", "seq", "conc"), "mode is both, seq or conc"
PASSWORD = "bench horse battery staple"
assert BASE.startswith("http://127.0.0.1"), "load goes to 127.0.0.1 only"


def call(method, path, body=None, headers=None, form=None):
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def one_signup():
    slug = "bench-" + uuid.uuid4().hex[:12]
    email = f"owner-{slug}@example.com"
    started = time.perf_counter()
    phases = {}
    status, body = call("POST", "/api/v1/signup", {
        "organizationName": "Bench " + slug, "slug": slug, "ownerEmail": email,
        "ownerName": "Bench Owner", "ownerPassword": PASSWORD, "plan": "free"})
    if status != 202:
        raise RuntimeError(f"signup {status} {body}")
    phases["signup"] = time.perf_counter() - started
    status, token = call("POST", "/connect/token", form={
        "grant_type": "password", "client_id": "cleancrm-cli", "username": email, "password": PASSWORD, "scope": "api"})
    if status != 200:
        raise RuntimeError(f"token {status} {token}")
    phases["token"] = time.perf_counter() - started - phases["signup"]
    headers = {"Authorization": "Bearer " + token["access_token"], "X-Org": slug}
    while True:
        status, body = call("GET", "/api/v1/companies", headers=headers)
        if status == 200:
            total = time.perf_counter() - started
            phases["ready"] = total - phases["signup"] - phases["token"]
            PHASES.append(phases)
            return total
        if status != 409:
            raise RuntimeError(f"first call {status} {body}")
        if time.perf_counter() - started > 60:
            raise RuntimeError("not active after 60 s")
        time.sleep(0.02)


PHASES = []


def summary(label, samples, failures):
    samples = sorted(samples)
    phases = PHASES[-len(samples):] if samples else []
    mean = lambda key: statistics.mean(p[key] for p in phases) * 1000 if phases else 0
    label = LABEL + label
    p = lambda q: samples[min(len(samples) - 1, int(round(q * (len(samples) - 1))))]
    print(f"{label}: n={len(samples)} failures={failures} p50={p(0.50) * 1000:.0f} ms p95={p(0.95) * 1000:.0f} ms "
          f"max={samples[-1] * 1000:.0f} ms mean={statistics.mean(samples) * 1000:.0f} ms | mean signup POST "
          f"{mean('signup'):.0f} ms, token {mean('token'):.0f} ms, wait for org {mean('ready'):.0f} ms")


def main():
    if MODE != "conc":
        one_signup()  # warm-up (JIT, pools); a burst right after a sequential run needs none, and would take a pool entry
    if MODE in ("both", "seq"):
        run_sequential()
    if MODE in ("both", "conc"):
        run_concurrent()


def run_sequential():
    sequential, failures = [], 0
    for _ in range(SEQUENTIAL):
        try:
            sequential.append(one_signup())
        except RuntimeError as error:
            failures += 1
            print("sequential failure:", error, file=sys.stderr)
    summary(f"sequential x{SEQUENTIAL}", sequential, failures)


def run_concurrent():
    concurrent, errors, lock = [], [], threading.Lock()

    def worker():
        try:
            elapsed = one_signup()
            with lock:
                concurrent.append(elapsed)
        except RuntimeError as error:
            with lock:
                errors.append(str(error))

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENT)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for error in errors:
        print("concurrent failure:", error, file=sys.stderr)
    summary(f"concurrent x{CONCURRENT} (wall {time.perf_counter() - started:.1f} s)", concurrent, len(errors))


if __name__ == "__main__":
    main()
