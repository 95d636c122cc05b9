#!/usr/bin/env python3
"""Server-side latency of a time window from two Prometheus scrapes of the API (/metrics).

Usage: prom_window.py BEFORE AFTER [route-prefix]
Sums http_server_request_duration_seconds buckets over every route starting with the prefix (default /api/), takes
the difference AFTER - BEFORE (the requests finished in between) and prints count, p50/p95/p99 (linear interpolation
inside the bucket, as Prometheus' histogram_quantile does) and the share answered within 50 ms.
"""
import re
import sys

LINE = re.compile(r'^http_server_request_duration_seconds_bucket\{(?P<labels>.*)\} (?P<value>[0-9.e+]+)( [0-9]+)?$')


def buckets(path, prefix):
    totals = {}
    with open(path, encoding="utf-8") as scrape:
        for line in scrape:
            match = LINE.match(line.strip())
            if not match:
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
            if not labels.get("http_route", "").startswith(prefix):
                continue
            le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
            totals[le] = totals.get(le, 0.0) + float(match.group("value"))
    return totals


def quantile(q, bounds, counts):
    total = counts[-1]
    rank = q * total
    previous_bound, previous_count = 0.0, 0.0
    for bound, count in zip(bounds, counts):
        if count >= rank:
            if bound == float("inf"):
                return previous_bound
            inside = count - previous_count
            return previous_bound + (bound - previous_bound) * ((rank - previous_count) / inside if inside else 0)
        previous_bound, previous_count = bound, count
    return previous_bound


def main():
    prefix = sys.argv[3] if len(sys.argv) > 3 else "/api/"
    before, after = buckets(sys.argv[1], prefix), buckets(sys.argv[2], prefix)
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        print("no requests in the window")
        return
    within = counts[bounds.index(0.05)] / counts[-1] * 100 if 0.05 in bounds else float("nan")
    print("%d requests, p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, %.1f%% within 50 ms" % (
        counts[-1], quantile(0.5, bounds, counts) * 1000, quantile(0.95, bounds, counts) * 1000,
        quantile(0.99, bounds, counts) * 1000, within))


if __name__ == "__main__":
    main()
