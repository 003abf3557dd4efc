"""A key's own monthly budget inside a project (docs/ai-admin.md "A key's own budget"): the calls of
that key stop at its cap while the project's other keys go on; the cap is reserved against before
the call, atomically with the project's budget, under concurrency; its spend is the sum of that key's
usage records and survives a restart; the project administrator sets it, the key's own user cannot;
the project's keys are listed with what each spent this month. And which of the project's models a
key may call: the others are refused (403) and not listed."""
import concurrent.futures
import json
import time
import uuid

import pytest
import requests

from test_ai_gateway import Org, ai_daemon

# 0.1 yen a completion token, prompts free: a call with max_tokens 10 reserves exactly 1 yen and
# the fault server's "ok" answer (one completion token a piece) costs a fraction of it
PRICE = ("0", "100")


@pytest.fixture(scope="module")
def gw(tmp_path_factory, llm_server, fault_server):
    d = ai_daemon(tmp_path_factory.mktemp("keybudget") / "data")
    yield d
    d.stop()


def ok_route(o):
    return o.route("ok-" + uuid.uuid4().hex[:4], [{"provider": "openai", "base_url": o.fault.base_url,
                                                   "model": "fault:ok"}], price=PRICE)


def new_key(o, user=None, project=True):
    body = {"user": user or o.user, "kind": "api", "name": "契約者キー"}
    if project:
        body["project"] = o.project
    return o.d.ok("POST", "/admin/v1/keys", body)


def key_path(o, key_id):
    return "/admin/v1/projects/%s/keys/%s/budget" % (o.project, key_id)


def chat(o, alias, secret, max_tokens=10):
    return o.post("/v1/chat/completions", {"model": alias, "max_tokens": max_tokens,
                                           "messages": [{"role": "user", "content": "x"}]}, key=secret)


def key_usage(o, key_id, n, wait=5):
    """The usage records of that key's calls, once n of them are durable."""
    deadline = time.time() + wait
    while True:
        items = o.d.ok("GET", "/admin/v1/usage?tenant=%s&project=%s&limit=1000" % (o.tenant, o.project))["items"]
        mine = [i for i in items if (i.get("details") or {}).get("key") == key_id]
        if len(mine) >= n or time.time() > deadline:
            return mine
        time.sleep(0.05)


def test_a_keys_budget_stops_that_key_and_not_the_project(gw, llm_server, fault_server, npm_client):
    o = Org(gw, llm_server, fault_server)
    alias = ok_route(o)
    a, b = new_key(o), new_key(o)
    # set as an administrator would, with the CLI
    st = json.loads(gw.cli("budget", "set", "--project", o.project, "--key", a["id"], "--monthly-yen", "2",
                           "-o", "json").stdout)
    assert st["key"] == a["id"] and st["project"] == o.project and st["tenant"] == o.tenant
    assert st["monthly_yen"] == 2 and st["spent_microyen"] == 0 and st["remaining_microyen"] == 2_000_000
    assert st["resets_at"].endswith("T15:00:00.000Z")   # midnight JST on the 1st

    admitted = 0
    for _ in range(20):
        r = chat(o, alias, a["secret"])
        if r.status_code != 200:
            break
        admitted += 1
    assert r.status_code == 429, r.text
    assert 1 <= admitted < 20
    assert "this key's monthly budget" in r.json()["error"]["message"]
    assert int(r.headers["Retry-After"]) >= 1
    # the official client sees a RateLimitError it can act on
    sdk = npm_client({"sdk": "openai", "baseURL": o.base + "/v1", "apiKey": a["secret"],
                      "call": "chat.completions.create",
                      "params": {"model": alias, "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}})
    assert sdk.error and sdk.error["status"] == 429 and sdk.error["name"] == "RateLimitError", sdk
    assert "this key's monthly budget" in sdk.error["message"]

    # the project's other key, and the project's budget, are untouched
    assert chat(o, alias, b["secret"]).status_code == 200
    assert chat(o, alias, o.key).status_code == 200

    # what the key spent is what its usage records say, and no more than its cap
    mine = key_usage(o, a["id"], admitted)
    assert len(mine) == admitted
    st = gw.ok("GET", key_path(o, a["id"]))
    assert st["spent_microyen"] == sum(i["cost_microyen"] for i in mine) <= 2_000_000, st
    assert st["reserved_microyen"] == 0 and st["in_flight"] == 0
    assert st["spent_microyen"] + 1_000_000 > 2_000_000   # refused because the next estimate did not fit

    # the project's keys, with what each used this month
    key_usage(o, b["id"], 1)
    listed = gw.ok("GET", "/admin/v1/projects/%s/key-budgets" % o.project)
    items = {i["key"]: i for i in listed["items"]}
    assert items[a["id"]]["monthly_yen"] == 2 and items[a["id"]]["requests"] == admitted
    assert items[a["id"]]["name"] == "契約者キー" and items[a["id"]]["user"] == o.user
    assert items[a["id"]]["status"] == "active"
    assert items[b["id"]]["monthly_yen"] is None and items[b["id"]]["requests"] == 1
    assert items[b["id"]]["spent_microyen"] > 0 and items[b["id"]]["remaining_microyen"] is None
    assert listed["month"] == st["month"]
    table = gw.cli("budget", "keys", "--project", o.project).stdout
    head, rows = table.splitlines()[0], table.splitlines()[1:]
    assert head.split()[:5] == ["KEY", "NAME", "USER", "STATUS", "MONTHLY_YEN"], table
    row_a = next(r for r in rows if r.startswith(a["id"]))
    assert "契約者キー" in row_a and " 2 " in row_a and o.user in row_a, table
    st = json.loads(gw.cli("budget", "set", "--project", o.project, "--key", a["id"], "--monthly-yen", "2",
                           "--alert-thresholds", "80,100", "-o", "json").stdout)
    assert st["alert_thresholds"] == [80, 100] and st["monthly_yen"] == 2

    # a higher cap lets the key go on at once; removing it leaves only the project's budget
    st = gw.ok("PUT", key_path(o, a["id"]), {"monthly_yen": 100})
    assert st["monthly_yen"] == 100
    assert chat(o, alias, a["secret"]).status_code == 200
    put = gw.api("PUT", key_path(o, a["id"]), {"monthly_yen": 0})
    assert put.status_code == 200 and chat(o, alias, a["secret"]).status_code == 429
    gone = gw.api("DELETE", key_path(o, a["id"]))
    assert gone.json()["monthly_yen"] is None and gone.json()["remaining_microyen"] is None
    assert chat(o, alias, a["secret"]).status_code == 200
    # every change is audited, naming the project and the key
    for r, action in ((put, "ai.key_budget.set"), (gone, "ai.key_budget.delete")):
        rec = gw.audit_wait(r.headers["X-Request-Id"], action=action)
        assert rec["target"] == a["id"] and rec["project"] == o.project and rec["outcome"] == "success", rec


def test_a_keys_budget_holds_under_concurrency(gw, llm_server, fault_server):
    o = Org(gw, llm_server, fault_server)
    # streams of ~4 s: every request arrives while the admitted ones still hold their reservation
    alias = o.route("slow", [{"provider": "openai", "base_url": fault_server.base_url,
                              "model": "fault:slow;interval=100;chunks=40"}], price=("0", "0.1"))
    a, b = new_key(o), new_key(o)
    gw.ok("PUT", key_path(o, a["id"]), {"monthly_yen": 5})   # each call reserves exactly 1 yen
    gw.ok("PUT", "/admin/v1/projects/%s/budget" % o.project, {"monthly_yen": 1000})

    def call(i):
        secret = a["secret"] if i % 4 else b["secret"]   # three in four with the capped key
        return i, o.post("/v1/chat/completions", {"model": alias, "max_tokens": 10000, "stream": True,
                                                  "messages": [{"role": "user", "content": "x"}]}, key=secret)
    with concurrent.futures.ThreadPoolExecutor(48) as ex:
        results = list(ex.map(call, range(48)))
    capped = [r for i, r in results if i % 4]
    other = [r for i, r in results if not i % 4]
    admitted = [r for r in capped if r.status_code == 200]
    assert all(r.status_code in (200, 429) for r in capped), [r.status_code for r in capped]
    assert 1 <= len(admitted) <= 5, len(admitted)
    assert all(r.status_code == 200 for r in other), [r.status_code for r in other]
    mine = key_usage(o, a["id"], len(admitted))
    assert len(mine) == len(admitted)
    st = gw.ok("GET", key_path(o, a["id"]))
    assert st["spent_microyen"] == sum(i["cost_microyen"] for i in mine) <= 5_000_000, st
    # the project's budget counted every call of both keys
    assert key_usage(o, b["id"], len(other))
    proj = gw.ok("GET", "/admin/v1/projects/%s/budget" % o.project)
    items = gw.ok("GET", "/admin/v1/usage?tenant=%s&project=%s&limit=1000" % (o.tenant, o.project))["items"]
    assert proj["ai_spent_microyen"] == sum(i["cost_microyen"] for i in items)


def test_a_keys_spend_survives_a_restart(tmp_path, llm_server, fault_server):
    d = ai_daemon(tmp_path / "data")
    try:
        o = Org(d, llm_server, fault_server)
        alias = ok_route(o)
        a = new_key(o)
        d.ok("PUT", key_path(o, a["id"]), {"monthly_yen": 3})
        n = 0
        while chat(o, alias, a["secret"]).status_code == 200:
            n += 1
            assert n < 30
        key_usage(o, a["id"], n)
        before = d.ok("GET", key_path(o, a["id"]))
        d.stop()
        d.start()
        o.base = "http://" + json.loads((d.data_dir / "listen.json").read_text())["ai"]   # a new port
        after = d.ok("GET", key_path(o, a["id"]))
        assert after["spent_microyen"] == before["spent_microyen"] > 0
        assert after["monthly_yen"] == 3
        assert chat(o, alias, a["secret"]).status_code == 429   # still over after the restart
    finally:
        d.stop()


def test_who_may_set_a_keys_budget(gw, llm_server, fault_server):
    o = Org(gw, llm_server, fault_server)
    other = Org(gw, llm_server, fault_server)   # another tenant
    mine = new_key(o)
    # the key's own user (a member of the project) may not raise its own cap, nor read the project's
    r = gw.api("PUT", key_path(o, mine["id"]), {"monthly_yen": 10**6}, token=mine["secret"])
    assert r.status_code == 403, r.text
    r = gw.api("GET", "/admin/v1/projects/%s/key-budgets" % o.project, token=mine["secret"])
    assert r.status_code == 403, r.text
    # but it may read its own key's cap and spend (a caller refused for it can see why), with the
    # key itself or through the CLI; not another user's key in the same project
    gw.ok("PUT", key_path(o, mine["id"]), {"monthly_yen": 7})
    r = gw.api("GET", key_path(o, mine["id"]), token=mine["secret"])
    assert r.status_code == 200 and r.json()["monthly_yen"] == 7, r.text
    out = gw.cli("budget", "get", "--project", o.project, "--key", mine["id"], "--output", "json",
                 token=mine["secret"]).stdout
    assert json.loads(out)["monthly_yen"] == 7, out
    _, colleague_key, _ = gw.user_key(o.tenant, role="member", scope="project/" + o.project,
                                      project=o.project)
    r = gw.api("GET", key_path(o, mine["id"]), token=colleague_key)
    assert r.status_code == 403, r.text
    rec = gw.audit_wait(r.headers["X-Request-Id"], action="ai.key_budget.read")
    assert rec["outcome"] == "denied" and rec["target"] == mine["id"], rec
    # and another tenant's administrator learns nothing, whichever key it names
    _, other_admin = gw.tenant_admin(other.tenant)
    r = gw.api("GET", key_path(o, mine["id"]), token=other_admin)
    assert r.status_code == 404, r.text
    gw.ok("DELETE", key_path(o, mine["id"]))
    # a key that cannot act in the project has no budget there: another tenant's, another project's,
    # an unknown one — all the same answer
    theirs = new_key(other)
    p2 = gw.ok("POST", "/admin/v1/tenants/%s/projects" % o.tenant, {"name": "別事業", "environment": "dev"})["id"]
    elsewhere = gw.ok("POST", "/admin/v1/keys", {"user": o.user, "kind": "api", "project": p2})
    answers = set()
    for kid in (theirs["id"], elsewhere["id"], "ky_" + "a" * 20):
        r = gw.api("PUT", key_path(o, kid), {"monthly_yen": 1})
        assert r.status_code == 404, r.text
        answers.add(r.json()["error"]["message"])
    assert len(answers) == 1, answers
    # a key not narrowed to any project acts in every project of its tenant: it may have a cap here
    wide = new_key(o, project=False)
    assert gw.ok("PUT", key_path(o, wide["id"]), {"monthly_yen": 1})["monthly_yen"] == 1
    # bad bodies are refused with a reason, and change nothing
    for body in ({"monthly_yen": -1}, {"monthly_yen": "1000"}, {"monthly_yen": 1, "alert_thresholds": [50, 40]},
                 {"monthly_yen": 1, "note": "x"}, {}):
        r = gw.api("PUT", key_path(o, mine["id"]), body)
        assert r.status_code == 400 and r.json()["error"]["message"], (body, r.text)
    assert gw.ok("GET", key_path(o, mine["id"]))["monthly_yen"] is None


# ---- which models a key may call -------------------------------------------------------------------

def models_path(o, key_id):
    return "/admin/v1/projects/%s/keys/%s/models" % (o.project, key_id)


def test_a_key_calls_only_the_models_it_is_given(gw, llm_server, fault_server, npm_client):
    o = Org(gw, llm_server, fault_server)
    cheap, dear = ok_route(o), ok_route(o)
    a, b = new_key(o), new_key(o)
    assert gw.ok("GET", models_path(o, a["id"]))["models"] is None   # no list: every model
    r = gw.cli("key-models", "set", "--project", o.project, "--key", a["id"], "--models", cheap + "," + cheap,
               "-o", "json")
    assert json.loads(r.stdout)["models"] == [cheap]   # said twice, kept once

    def call(key, model, sdk="openai"):
        if sdk == "openai":
            return npm_client({"sdk": "openai", "baseURL": o.base + "/v1", "apiKey": key["secret"],
                               "call": "chat.completions.create",
                               "params": {"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}})
        return npm_client({"sdk": "anthropic", "baseURL": o.base, "apiKey": key["secret"], "call": "messages.create",
                           "params": {"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}})
    assert not call(a, cheap).error
    denied = call(a, dear)
    assert denied.error and denied.error["status"] == 403 and denied.error["name"] == "PermissionDeniedError", denied
    assert "this key may not use model " + dear in denied.error["message"]
    denied = call(a, dear, sdk="anthropic")   # in Anthropic's shape for Anthropic's clients
    assert denied.error and denied.error["status"] == 403 and denied.error["body"]["type"] == "error", denied
    assert not call(b, dear).error   # the project's other keys are not narrowed
    # what the key may call is all it is shown
    listed = npm_client({"sdk": "openai", "baseURL": o.base + "/v1", "apiKey": a["secret"], "call": "models.list", "params": {}})
    assert listed.error is None, listed
    assert [m["id"] for m in (listed.result if isinstance(listed.result, list) else listed.result["data"])] == [cheap]
    r = o.post("/v1/embeddings", {"model": dear, "input": "x"}, key=a["secret"])
    assert r.status_code == 403, r.text
    r = requests.get(o.base + "/v1/models/" + dear, headers={"Authorization": "Bearer " + a["secret"]}, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found", r.text
    # the refusal is audited, and nothing was sent or billed
    rid = o.post("/v1/chat/completions", {"model": dear, "messages": [{"role": "user", "content": "x"}]},
                 key=a["secret"]).headers["X-Request-Id"]
    rec = gw.audit_wait(rid, action="ai.chat")
    assert rec["outcome"] == "denied" and rec["status"] == 403, rec
    assert o.usage_or_none(rid) is None
    # an empty list stops the key's AI calls without revoking it; removing the list frees it
    gw.ok("PUT", models_path(o, a["id"]), {"models": []})
    assert call(a, cheap).error["status"] == 403
    items = {i["key"]: i for i in gw.ok("GET", "/admin/v1/projects/%s/key-budgets" % o.project)["items"]}
    assert items[a["id"]]["models"] == [] and items[b["id"]]["models"] is None
    assert gw.ok("DELETE", models_path(o, a["id"]))["models"] is None
    assert not call(a, dear).error
    # bad lists are refused with a reason; the key's own user may not widen its list
    for body in ({"models": "x"}, {"models": ["ok", 3]}, {"models": ["a b"]}, {"models": ["m%d" % i for i in range(33)]}, {}):
        r = gw.api("PUT", models_path(o, a["id"]), body)
        assert r.status_code == 400 and r.json()["error"]["message"], (body, r.text)
    r = gw.api("PUT", models_path(o, a["id"]), {"models": [dear]}, token=a["secret"])
    assert r.status_code == 403, r.text
    # it may read which models it may call
    gw.ok("PUT", models_path(o, a["id"]), {"models": [cheap]})
    r = gw.api("GET", models_path(o, a["id"]), token=a["secret"])
    assert r.status_code == 200 and r.json()["models"] == [cheap], r.text
    _, colleague_key, _ = gw.user_key(o.tenant, role="member", scope="project/" + o.project,
                                      project=o.project)
    r = gw.api("GET", models_path(o, a["id"]), token=colleague_key)   # not another user's key's
    assert r.status_code == 403, r.text


def test_a_keys_budget_alerts_like_the_projects(tmp_path, llm_server, fault_server):
    """Its thresholds are announced as a project's: one audit record and one signed webhook
    notification per threshold and month, the key named."""
    from test_billing_budget import Receiver
    d = ai_daemon(tmp_path / "data", config="[billing]\nnotify_interval_ms = 100\n")
    rx = Receiver()
    try:
        o = Org(d, llm_server, fault_server)
        secret = d.ok("POST", "/admin/v1/tenants/%s/billing/webhooks" % o.tenant, {"url": rx.url})["secret"]
        alias = ok_route(o)
        a = new_key(o)
        st = d.ok("PUT", key_path(o, a["id"]), {"monthly_yen": 2, "alert_thresholds": [25, 50]})
        assert st["alert_thresholds"] == [25, 50] and st["alerts_recorded"] == []
        n = 0
        while chat(o, alias, a["secret"]).status_code == 200:   # refused once over 1 of 2 yen
            n += 1
            assert n < 30
        deadline = time.time() + 15
        while len(rx.hits) < 2 and time.time() < deadline:
            time.sleep(0.1)
        events = sorted(rx.verified(secret), key=lambda e: e["threshold_percent"])
        assert [e["threshold_percent"] for e in events] == [25, 50], events
        for e in events:
            assert e["type"] == "budget.threshold_crossed" and e["key"] == a["id"] and e["project"] == o.project
            assert e["budget_microyen"] == 2_000_000 and e["spent_microyen"] * 100 >= 2_000_000 * e["threshold_percent"]
        st = d.ok("GET", key_path(o, a["id"]))
        assert [x["threshold"] for x in st["alerts_recorded"]] == [25, 50], st
        # the project's own alerts are its own: none here (it has no budget)
        assert d.ok("GET", "/admin/v1/projects/%s/budget" % o.project)["alerts_recorded"] == []
        recs = [r for r in d.audit_records(action="billing.budget.alert") if r["target"] == a["id"]]
        assert sorted(r["detail"].split("%")[0] for r in recs) == ["25", "50"], recs
        assert all(r["project"] == o.project and "of the key in the project" in r["detail"] for r in recs)
        time.sleep(0.5)   # checked again and again: never announced twice
        assert len(rx.hits) == 2
    finally:
        rx.close()
        d.stop()


# ---- a key's own requests and tokens a minute --------------------------------------------------------

def rates_path(o, key_id):
    return "/admin/v1/projects/%s/keys/%s/rate-limits" % (o.project, key_id)


def test_a_keys_own_rate_limits(gw, llm_server, fault_server, npm_client):
    """A batch key allowed more than the project's per-key quota, a contractor's less: each held to
    its own, told so in the rate-limit headers and the SDKs' RateLimitError; the other keys keep
    the project's; the key's own user may read its limits, not change them."""
    o = Org(gw, llm_server, fault_server)
    alias = ok_route(o)
    gw.ok("PUT", "/admin/v1/projects/%s/ai-policy" % o.project, {"key_rpm": 2})
    batch, contractor, plain = new_key(o), new_key(o), new_key(o)
    assert gw.ok("GET", rates_path(o, batch["id"])) == {
        "project": o.project, "tenant": o.tenant, "key": batch["id"], "rpm": None, "tpm": None,
        "applied_rpm": 2, "applied_tpm": 0}
    st = json.loads(gw.cli("key-rate-limits", "set", "--project", o.project, "--key", batch["id"],
                           "--rpm", "5", "-o", "json").stdout)
    assert st["rpm"] == 5 and st["tpm"] is None and st["applied_rpm"] == 5, st
    assert gw.ok("PUT", rates_path(o, contractor["id"]), {"rpm": 1})["applied_rpm"] == 1
    if time.time() % 60 > 40:   # the quotas are fixed minutes: every call below in one of them
        time.sleep(61 - time.time() % 60)
    codes = lambda k, n: [chat(o, alias, k["secret"]).status_code for _ in range(n)]
    assert codes(batch, 6) == [200] * 5 + [429]
    assert codes(contractor, 2) == [200, 429]
    assert codes(plain, 3) == [200, 200, 429]
    r = chat(o, alias, batch["secret"])
    assert r.status_code == 429 and r.headers["x-ratelimit-limit-requests"] == "5", r.headers
    assert "this key's rate limit" in r.json()["error"]["message"] and int(r.headers["Retry-After"]) >= 1
    run = npm_client({"sdk": "openai", "baseURL": o.base + "/v1", "apiKey": contractor["secret"],
                      "call": "chat.completions.create",
                      "params": {"model": alias, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}})
    assert run.error and run.error["name"] == "RateLimitError", run.error
    # the list shows each key's own; the audit names the key
    items = {i["key"]: i for i in gw.ok("GET", "/admin/v1/projects/%s/key-budgets" % o.project)["items"]}
    assert items[batch["id"]]["rpm"] == 5 and items[contractor["id"]]["rpm"] == 1, items
    assert items[plain["id"]]["rpm"] is None
    table = gw.cli("budget", "keys", "--project", o.project).stdout
    assert table.splitlines()[0].split()[-2:] == ["RPM", "TPM"], table
    recs = gw.audit_records(action="ai.key_rates.set", tenant=o.tenant)
    assert {r["target"] for r in recs} == {batch["id"], contractor["id"]}, recs
    # the key's own user reads its limits, cannot raise them; a colleague cannot read them
    r = gw.api("GET", rates_path(o, contractor["id"]), token=contractor["secret"])
    assert r.status_code == 200 and r.json()["applied_rpm"] == 1, r.text
    r = gw.api("PUT", rates_path(o, contractor["id"]), {"rpm": 100}, token=contractor["secret"])
    assert r.status_code == 403, r.text
    _, colleague, _ = gw.user_key(o.tenant, role="member", scope="project/" + o.project, project=o.project)
    assert gw.api("GET", rates_path(o, contractor["id"]), token=colleague).status_code == 403
    # bad bodies are refused with a reason and change nothing; removed: the project's again
    for body in ({}, {"rpm": -1}, {"rpm": 10**9 + 1}, {"rpm": "5"}, {"tpm": 1.5}, {"rph": 5}):
        r = gw.api("PUT", rates_path(o, batch["id"]), body)
        assert r.status_code == 400 and r.json()["error"]["message"], (body, r.text)
    assert gw.ok("GET", rates_path(o, batch["id"]))["rpm"] == 5
    assert gw.ok("DELETE", rates_path(o, batch["id"]))["applied_rpm"] == 2
    other = Org(gw, llm_server, fault_server)   # another tenant's key: none of this project's
    assert gw.api("PUT", rates_path(o, new_key(other)["id"]), {"rpm": 1}).status_code == 404
