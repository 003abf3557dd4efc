"""Model targets' passive health (docs/ai-gateway.md, "When a model server fails"): a target that
fails eject_after times in a row is set aside — tried after the route's other targets — for
eject_ms, then one request probes it; a failed probe sets it aside for twice as long, an answer
puts it back in service. Driven through the gateway against the fault-injecting server, with the
state read where an operator reads it: the route in the admin API, /metrics, the daemon's log."""
import re
import time
import uuid

import pytest
import requests

from test_ai_gateway import Org, ai_daemon

EJECT_MS = 1000


@pytest.fixture(scope="module")
def hd(tmp_path_factory, llm_server, fault_server):
    d = ai_daemon(tmp_path_factory.mktemp("ai-health") / "data",
                  config="[ai]\neject_after = 3\neject_ms = %d\n" % EJECT_MS)
    yield d
    d.stop()


@pytest.fixture(scope="module")
def ho(hd, llm_server, fault_server):
    return Org(hd, llm_server, fault_server)


def route_with(o, *specs, **kw):
    """A route over fault-server targets, the first heavily preferred (weight 1000 to 1)."""
    alias = "h-" + uuid.uuid4().hex[:6]
    targets = [dict({"provider": "openai", "base_url": o.fault.base_url, "model": "fault:" + s,
                     "weight": 1000 if i == 0 else 1}, **kw) for i, s in enumerate(specs)]
    o.route(alias, targets)
    rid = next(r["id"] for r in o.d.list_all("/admin/v1/projects/%s/model-routes" % o.project)
               if r["alias"] == alias)
    return alias, rid


def ask(o, alias):
    t0 = time.time()
    r = o.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "x"}]})
    return r, time.time() - t0


def health(o, rid):
    return [t["health"] for t in o.d.ok("GET", "/admin/v1/model-routes/" + rid)["targets"]]


def hits(o, spec):
    return o.fault.stats()["by_spec"].get(spec, 0)


def until_set_aside(o, alias, rid, limit=8):
    """Asks until the first target is set aside; the seconds each answer took."""
    took = []
    while health(o, rid)[0]["state"] != "ejected":
        assert len(took) < limit, health(o, rid)
        r, t = ask(o, alias)
        assert r.status_code == 200, r.text   # the fallback answers every time
        took.append(t)
    return took


def test_failing_target_set_aside_probed_and_back_in_service(ho):
    tag = uuid.uuid4().hex[:8]
    bad, good = "flaky;fail=4;tag=" + tag, "ok;tag=" + tag
    alias, rid = route_with(ho, bad, good)
    until_set_aside(ho, alias, rid)
    # the third failure in a row set it aside, and that call did not try it once more
    assert hits(ho, bad) == 3
    h = health(ho, rid)
    assert h[0]["consecutive_failures"] == 3 and h[0]["ejections"] == 1, h
    assert "ejected_until" in h[0] and "last_failure" in h[0], h
    assert h[1] == {"state": "healthy", "consecutive_failures": 0, "ejections": 0, "in_flight": 0}, h
    # set aside: callers go to the fallback at once
    for _ in range(5):
        r, _t = ask(ho, alias)
        assert r.status_code == 200, r.text
    assert hits(ho, bad) == 3
    metrics = requests.get(ho.d.url + "/metrics", timeout=10).text
    label = r'\{tenant="%s",upstream="127\.0\.0\.1:\d+",model="fault:%s"\}' % (ho.tenant, re.escape(bad))
    assert re.search(r'^kasumi_ai_target_ejected%s 1$' % label, metrics, re.M), metrics
    assert re.search(r'^kasumi_ai_target_ejections_total%s 1$' % label, metrics, re.M)
    assert "set aside for %d ms after 3 failures in a row" % EJECT_MS in ho.d.stderr()

    # its time is over: one request probes it (the 4th failure), which sets it aside for twice as long
    time.sleep(EJECT_MS / 1000 + 0.2)
    r, _t = ask(ho, alias)
    assert r.status_code == 200 and hits(ho, bad) == 4, r.text
    h = health(ho, rid)[0]
    assert h["state"] == "ejected" and h["ejections"] == 2, h
    assert "set aside for %d ms after 4 failures in a row" % (2 * EJECT_MS) in ho.d.stderr()
    time.sleep(EJECT_MS / 1000 + 0.2)   # not yet: nothing goes to it
    assert ask(ho, alias)[0].status_code == 200 and hits(ho, bad) == 4

    # the next probe is answered: back in service, and the preferred target gets the calls again
    time.sleep(EJECT_MS / 1000)
    assert ask(ho, alias)[0].status_code == 200 and hits(ho, bad) == 5
    assert health(ho, rid)[0] == {"state": "healthy", "consecutive_failures": 0, "ejections": 2, "in_flight": 0,
                                  "last_failure": health(ho, rid)[0]["last_failure"]}
    for _ in range(4):
        assert ask(ho, alias)[0].status_code == 200
    assert hits(ho, bad) >= 8
    assert "answers again; back in service" in ho.d.stderr()


def test_dead_target_costs_its_timeout_only_until_set_aside(ho):
    """A server that takes the connection and never answers costs each caller the target's
    timeout_ms (twice: tried once more) until it is set aside; then callers get the fallback's
    answer at once."""
    tag = uuid.uuid4().hex[:8]
    dead, good = "hang;tag=" + tag, "ok;tag=" + tag
    alias, rid = route_with(ho, dead, good, timeout_ms=400)
    took = until_set_aside(ho, alias, rid)
    assert sum(took) >= 3 * 0.4, took   # three time-outs were paid
    assert hits(ho, dead) == 3
    for _ in range(4):
        r, t = ask(ho, alias)
        assert r.status_code == 200 and t < 0.35, (r.text, t)
    assert hits(ho, dead) == 3


def test_a_429_with_retry_after_sets_aside_for_as_long_as_it_says(ho):
    tag = uuid.uuid4().hex[:8]
    limited, good = "429;retry_after=30;tag=" + tag, "ok;tag=" + tag
    alias, rid = route_with(ho, limited, good)
    until_set_aside(ho, alias, rid)
    h = health(ho, rid)[0]
    # eject_ms is 1 s here; the provider asked for 30 s, and gets them
    from datetime import datetime, timezone
    until = datetime.fromisoformat(h["ejected_until"].replace("Z", "+00:00"))
    left = (until - datetime.now(timezone.utc)).total_seconds()
    assert 25 < left <= 31, h


def test_every_target_set_aside_is_still_tried(ho):
    """Health orders targets, it never refuses: with every target set aside the call still tries
    them (once each) and the caller gets the provider's error, not one of kasumi's making; a lone
    target is tried whatever its state."""
    tag = uuid.uuid4().hex[:8]
    a, b = "500;tag=a" + tag, "500;tag=b" + tag
    alias, rid = route_with(ho, a, b)
    for _ in range(2):
        r, _t = ask(ho, alias)
        assert r.status_code >= 500, r.text
    assert [h["state"] for h in health(ho, rid)] == ["ejected", "ejected"]
    before = (hits(ho, a), hits(ho, b))
    r, _t = ask(ho, alias)
    assert r.status_code >= 500 and "HTTP 500" in r.json()["error"]["message"], r.text
    assert (hits(ho, a), hits(ho, b)) == (before[0] + 1, before[1] + 1)

    # a route's only target is not tracked: each call tries it, once more after a failure
    lone = "500;tag=c" + tag
    alias, rid = route_with(ho, lone)
    for i in range(3):
        assert ask(ho, alias)[0].status_code >= 500
        assert hits(ho, lone) == 2 * (i + 1)
    assert health(ho, rid)[0] == {"state": "untracked"}


def test_health_is_per_target_and_per_tenant(ho, hd, llm_server, fault_server):
    """One model failing on a server does not set aside another model on the same server; and one
    tenant's failures never move another tenant's calls, even to the very same target (a tenant
    could make a shared server fail for its own requests)."""
    tag = uuid.uuid4().hex[:8]
    failing = "500;tag=" + tag
    alias, rid = route_with(ho, failing, "ok;tag=" + tag)
    until_set_aside(ho, alias, rid)
    other, orid = route_with(ho, "ok;tag=x" + tag, "ok;tag=y" + tag)
    assert ask(ho, other)[0].status_code == 200
    assert [h["state"] for h in health(ho, orid)] == ["healthy", "healthy"]

    b = Org(hd, llm_server, fault_server)   # another tenant, the same two targets
    balias, brid = route_with(b, failing, "ok;tag=" + tag)
    assert health(b, brid)[0]["state"] == "unknown"
    n = hits(b, failing)
    assert ask(b, balias)[0].status_code == 200
    assert hits(b, failing) == n + 2   # tried first (and once more), as if nothing had happened
    assert health(b, brid)[0]["consecutive_failures"] == 2
    assert health(ho, rid)[0]["consecutive_failures"] == 3   # A's own count, untouched by B's


def test_a_target_at_its_max_concurrent_spills_over_to_the_next(ho):
    """max_concurrent on a target: while it has that many calls in flight, a new call goes to the
    next target (Azure OpenAI's spillover from provisioned capacity); when every target is at its
    limit, the call still goes (the server queues it), none is refused; the count comes back to 0."""
    import concurrent.futures
    tag = uuid.uuid4().hex[:8]
    slow, spill = "slow-headers;delay=1500;tag=" + tag, "ok;tag=" + tag
    alias, rid = route_with(ho, slow, spill)
    route = ho.d.ok("GET", "/admin/v1/model-routes/" + rid)
    targets = [dict((k, v) for k, v in t.items() if k != "health") for t in route["targets"]]
    targets[0]["max_concurrent"] = 1
    ho.d.ok("PATCH", "/admin/v1/model-routes/" + rid, {"targets": targets})
    assert ho.d.ok("GET", "/admin/v1/model-routes/" + rid)["targets"][0]["max_concurrent"] == 1
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        first = pool.submit(ask, ho, alias)
        ho.fault.wait_stats(lambda s: s["by_spec"].get(slow, 0) == 1)
        assert health(ho, rid)[0]["in_flight"] == 1
        more = [pool.submit(ask, ho, alias) for _ in range(2)]
        for f in more:
            r, t = f.result()
            assert r.status_code == 200 and t < 1.0, (r.text, t)   # the fallback, at once
        r, t = first.result()
        assert r.status_code == 200 and t >= 1.4, (r.text, t)
    assert (hits(ho, slow), hits(ho, spill)) == (1, 2)
    assert [h["in_flight"] for h in health(ho, rid)] == [0, 0]

    # both targets at their limit: the third call waits its turn at the first, it is not refused
    a, b = "slow-headers;delay=1000;tag=a" + tag, "slow-headers;delay=1000;tag=b" + tag
    alias, rid = route_with(ho, a, b, max_concurrent=1)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        calls = [pool.submit(ask, ho, alias)]
        ho.fault.wait_stats(lambda s: s["by_spec"].get(a, 0) == 1)
        calls.append(pool.submit(ask, ho, alias))
        ho.fault.wait_stats(lambda s: s["by_spec"].get(b, 0) == 1)
        calls.append(pool.submit(ask, ho, alias))
        assert all(f.result()[0].status_code == 200 for f in calls)
    assert hits(ho, a) + hits(ho, b) == 3
    assert [h["in_flight"] for h in health(ho, rid)] == [0, 0]


def test_a_stream_that_breaks_off_counts_as_a_failure(ho):
    """A server that starts every stream and breaks it off has not answered: after three broken
    streams in a row it is set aside, and the next caller's stream comes whole from the fallback
    (a stream cannot fall back once it has begun, so those three callers saw theirs break)."""
    tag = uuid.uuid4().hex[:8]
    broken, good = "reset-mid-stream;tag=" + tag, "ok;tag=" + tag
    alias, rid = route_with(ho, broken, good)
    body = {"model": alias, "stream": True, "messages": [{"role": "user", "content": "x"}]}
    for _ in range(8):
        if health(ho, rid)[0]["state"] == "ejected":
            break
        r = requests.post(ho.base + "/v1/chat/completions", json=body,
                          headers={"Authorization": "Bearer " + ho.key}, timeout=30)
        assert r.status_code == 200
    assert health(ho, rid)[0]["state"] == "ejected", health(ho, rid)
    assert hits(ho, broken) == 3
    r = requests.post(ho.base + "/v1/chat/completions", json=body,
                      headers={"Authorization": "Bearer " + ho.key}, timeout=30)
    assert r.status_code == 200 and r.text.rstrip().endswith("data: [DONE]"), r.text[-200:]
    assert hits(ho, broken) == 3 and hits(ho, good) >= 1
