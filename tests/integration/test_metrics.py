"""/metrics in the Prometheus text format, parsed properly, counting what the test did."""
import math
import re
import time

import requests

from conftest import random_id

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


def parse(text):
    """{(name, frozenset(labels)): value} and {name: type}, refusing anything malformed."""
    samples, types = {}, {}
    for n, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = parts[3]
            continue
        m = SAMPLE.match(line)
        assert m, "line %d is not a sample: %r" % (n, line)
        labels = {}
        raw = m.group(3) or ""
        pos = 0
        while pos < len(raw):
            lm = LABEL.match(raw, pos)
            assert lm, "line %d: bad labels %r" % (n, raw)
            labels[lm.group(1)] = re.sub(r"\\(.)", lambda x: {"n": "\n"}.get(x.group(1), x.group(1)), lm.group(2))
            pos = lm.end()
        key = (m.group(1), frozenset(labels.items()))
        assert key not in samples, "line %d: duplicate series %r" % (n, line)
        v = m.group(4)
        samples[key] = float("inf") if v == "+Inf" else float(v)
    return samples, types


def scrape(d):
    r = requests.get(d.url + "/metrics", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain"), r.headers
    return parse(r.text)


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def series(samples, name, **labels):
    return {k: v for k, v in samples.items()
            if k[0] == name and all((lk, lv) in k[1] for lk, lv in labels.items())}


def test_health_and_ready(shared):
    r = requests.get(shared.url + "/healthz", timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "ok", r.text
    r = requests.get(shared.url + "/readyz", timeout=10)
    assert r.status_code == 200, r.text


def test_request_counters_and_histogram(shared):
    whoami = "GET /admin/v1/whoami"
    tget = "GET /admin/v1/tenants/{tenant}"
    before, types = scrape(shared)
    for _ in range(4):
        assert shared.api("GET", "/admin/v1/whoami").status_code == 200
    t = random_id("tn_x")
    for _ in range(3):
        assert shared.api("GET", "/admin/v1/tenants/" + t).status_code == 404
    after, types = scrape(shared)

    assert types.get("kasumi_http_requests_total") == "counter", types
    assert types.get("kasumi_http_request_duration_seconds") == "histogram", types
    assert types.get("kasumi_http_open_connections") == "gauge", types
    assert types.get("kasumi_audit_commit_latency_seconds") == "histogram", types

    d200 = value(after, "kasumi_http_requests_total", route=whoami, status="200") - \
        value(before, "kasumi_http_requests_total", route=whoami, status="200")
    assert d200 == 4, "kasumi_http_requests_total{route=%r,status=\"200\"} grew by %s, expected 4" % (whoami, d200)
    d404 = value(after, "kasumi_http_requests_total", route=tget, status="404") - \
        value(before, "kasumi_http_requests_total", route=tget, status="404")
    assert d404 == 3, "kasumi_http_requests_total{route=%r,status=\"404\"} grew by %s, expected 3" % (tget, d404)
    # No double counting: all series of the route together grew by exactly what we sent.
    total = sum(series(after, "kasumi_http_requests_total", route=whoami).values()) - \
        sum(series(before, "kasumi_http_requests_total", route=whoami).values())
    assert total == 4, "sum over kasumi_http_requests_total{route=%r} grew by %s, expected 4" % (whoami, total)

    # The duration histogram of the route: cumulative buckets, +Inf == _count, a positive _sum.
    buckets = series(after, "kasumi_http_request_duration_seconds_bucket", route=whoami)
    assert buckets, "no kasumi_http_request_duration_seconds_bucket for %s" % whoami
    by_le = sorted(((float(dict(k[1])["le"].replace("+Inf", "inf")), v) for k, v in buckets.items()))
    vals = [v for _, v in by_le]
    assert vals == sorted(vals), "buckets are not cumulative: %r" % by_le
    assert math.isinf(by_le[-1][0]), "no +Inf bucket"
    count = value(after, "kasumi_http_request_duration_seconds_count", route=whoami)
    assert by_le[-1][1] == count, "+Inf bucket %s != _count %s" % (by_le[-1][1], count)
    dcount = count - value(before, "kasumi_http_request_duration_seconds_count", route=whoami)
    assert dcount == 4, "_count grew by %s, expected 4" % dcount
    assert value(after, "kasumi_http_request_duration_seconds_sum", route=whoami) > \
        value(before, "kasumi_http_request_duration_seconds_sum", route=whoami)

    # Audit commit latency: a histogram that grew with our requests' records.
    # A read's record is durable within the group-commit window (10 ms), not before its response:
    # poll briefly for the commits of our 7 reads to be counted.
    deadline = time.time() + 2
    while True:
        ab = series(after, "kasumi_audit_commit_latency_seconds_bucket")
        assert ab and any(dict(k[1]).get("le") == "+Inf" for k in ab), ab
        grown = value(after, "kasumi_audit_commit_latency_seconds_count") - \
            value(before, "kasumi_audit_commit_latency_seconds_count")
        if grown >= 7 or time.time() > deadline:
            break
        time.sleep(0.02)
        after, _ = scrape(shared)
    assert grown >= 7, "audit commits grew by %s, expected at least 7" % grown
    assert value(after, "kasumi_audit_commit_latency_seconds_sum") > 0
    assert max(ab.values()) == value(after, "kasumi_audit_commit_latency_seconds_count")


def test_open_connections_gauge(shared):
    base, _ = scrape(shared)
    conns = [shared.raw() for _ in range(3)]
    for c in conns:   # a request on each, so they are surely accepted
        c.send(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        assert c.read_response().status == 200
    mid, _ = scrape(shared)
    g0, g1 = value(base, "kasumi_http_open_connections"), value(mid, "kasumi_http_open_connections")
    assert g1 >= g0 + 3 and g1 >= 4, "open connections %s -> %s with 3 more held open" % (g0, g1)
    for c in conns:
        c.close()
    deadline = time.time() + 5
    while True:
        g2 = value(scrape(shared)[0], "kasumi_http_open_connections")
        if g2 <= g1 - 3 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert g2 <= g1 - 3, "the gauge did not fall after closing 3 connections: %s -> %s" % (g1, g2)
