"""GET /admin/v1/ai/decisions and the console's AI page: requests sent through the gateway to the
real llama.cpp server (tests/fixtures/llm) — allowed, masked (a phone number), blocked (a My Number)
and refused (機密性3 to a target abroad) — appear in the counts by classification, model, project
and user, for the caller's tenant only, and the AI page in a real browser shows the same counts."""
import json
import time

import requests

from conftest import Daemon
from test_ai_gateway import MYNUMBER, PHONE, Org
from test_console_obs import run_browser

KINDS = ("pass", "mask", "block", "refuse")


def decisions(d, tenant, token="__admin__", **q):
    q = dict(q, tenant=tenant)
    r = d.api("GET", "/admin/v1/ai/decisions?" + "&".join("%s=%s" % kv for kv in q.items()), token=token)
    assert r.status_code == 200, r.text
    return r.json()


def wait_total(d, tenant, n, **q):
    """Decision records are durable before the answer but indexed a moment later: poll."""
    deadline = time.time() + 15
    while True:
        v = decisions(d, tenant, **q)
        if v["total"]["requests"] >= n or time.time() > deadline:
            return v
        time.sleep(0.2)


def chat(o, alias, text, cls=None, project_key=None):
    return o.post("/v1/chat/completions", {"model": alias, "max_tokens": 8,
                                           "messages": [{"role": "user", "content": text}]},
                  headers={"X-Kasumi-Classification": cls} if cls else {}, key=project_key)


def test_decisions_counted_and_shown(tmp_path, llm_server, fault_server):
    d = Daemon(tmp_path / "data", extra_args=["--ai-listen", "127.0.0.1:0",
                                              "--overseas-allow", fault_server.url + "/"])
    d.start()
    try:
        d.ai_addr = json.loads((d.data_dir / "listen.json").read_text())["ai"]
        o = Org(d, llm_server, fault_server)
        o.llm_route("tiny")
        abroad = o.route("abroad", [{"provider": "openai", "base_url": fault_server.base_url,
                                     "model": "fault:echo", "jurisdiction": "US"}])
        assert chat(o, "tiny", "こんにちは").status_code == 200                       # 2: pass
        assert chat(o, "tiny", "こんにちは", cls="1").status_code == 200              # 1: pass
        r = chat(o, "tiny", "折り返しは %s まで" % PHONE)                               # 2: mask
        assert r.status_code == 200, r.text
        r = chat(o, "tiny", "私の個人番号は %s です" % MYNUMBER)                         # 2: block
        assert r.status_code == 400 and r.json()["error"]["code"] == "content_blocked", r.text
        r = chat(o, abroad, "x", cls="3")                                              # 3: refuse
        assert r.status_code == 403, r.text
        # a second project of the same tenant, and another tenant, each with one allowed request
        p2 = d.ok("POST", "/admin/v1/tenants/%s/projects" % o.tenant, {"name": "第二", "environment": "dev"})["id"]
        d.ok("POST", "/admin/v1/projects/%s/model-routes" % p2, {"alias": "tiny", "targets": [
            {"provider": "openai", "base_url": llm_server.base_url, "model": "tiny-llama", "jurisdiction": "JP"}]})
        d.ok("POST", "/admin/v1/role-bindings", {"principal": o.user, "role": "member", "scope": "project/" + p2})
        k2 = d.ok("POST", "/admin/v1/keys", {"user": o.user, "kind": "api", "project": p2})["secret"]
        assert chat(o, "tiny", "二つ目", project_key=k2).status_code == 200
        other = Org(d, llm_server, fault_server)
        other.route("tiny", [{"provider": "openai", "base_url": llm_server.base_url, "model": "tiny-llama"}],
                    price=None)   # the model's price is the platform's, set above
        assert chat(other, "tiny", "他庁").status_code == 200

        v = wait_total(d, o.tenant, 6)
        assert v["total"] == {"requests": 6, "pass": 3, "mask": 1, "block": 1, "refuse": 1}, v
        assert v["by_classification"] == {
            "1": {"requests": 1, "pass": 1, "mask": 0, "block": 0, "refuse": 0},
            "2": {"requests": 4, "pass": 2, "mask": 1, "block": 1, "refuse": 0},
            "3": {"requests": 1, "pass": 0, "mask": 0, "block": 0, "refuse": 1}}, v["by_classification"]
        assert v["by_model"]["tiny"]["requests"] == 5 and v["by_model"]["abroad"]["refuse"] == 1, v["by_model"]
        assert v["by_project"][p2] == {"requests": 1, "pass": 1, "mask": 0, "block": 0, "refuse": 0}, v
        assert v["by_project"][o.project]["requests"] == 5 and not v["truncated"], v
        # per user: all six were the one member's (through two keys), none the other tenant's
        assert v["by_principal"] == {o.user: v["total"]}, v["by_principal"]
        # one project alone; a period before the requests has none
        vp = decisions(d, o.tenant, project=o.project)
        assert vp["total"]["requests"] == 5 and list(vp["by_project"]) == [o.project], vp
        assert decisions(d, o.tenant, since="2020-01-01T00:00:00Z",
                         until="2020-02-01T00:00:00Z")["total"]["requests"] == 0
        # the other tenant sees its own only; its administrator cannot ask about ours
        vo = wait_total(d, other.tenant, 1)
        assert vo["total"]["requests"] == 1, vo
        _, other_admin = d.tenant_admin(other.tenant)
        r = d.api("GET", "/admin/v1/ai/decisions?tenant=" + o.tenant, token=other_admin)
        assert r.status_code == 404, r.text
        r = d.api("GET", "/admin/v1/ai/decisions?project=" + o.project, token=other_admin)
        assert r.status_code == 400, r.text
        # a member of the project has no usage.read
        r = d.api("GET", "/admin/v1/ai/decisions?tenant=%s&project=%s" % (o.tenant, o.project), token=o.key)
        assert r.status_code == 403, r.text

        # the AI page in the browser: the same counts
        res = run_browser(d, [{"do": "ai_decisions", "name": "ai-decisions", "tenant": o.tenant}])
        st = res["steps"]["ai-decisions"]
        assert json.loads(st["total"]) == v["total"], st
        level = {row[0]: row[1:] for row in st["by_class"]}
        assert level == {"機密性1": ["1", "1", "0", "0", "0"], "機密性2": ["4", "2", "1", "1", "0"],
                         "機密性3": ["1", "0", "0", "0", "1"]}, st["by_class"]
        models = {row[0]: row[1:] for row in st["by_model"]}
        assert models["abroad"] == ["1", "0", "0", "0", "1"] and models["tiny"][0] == "5", models
        projects = {row[0]: row[1:] for row in st["by_project"]}
        assert projects["第二"] == ["1", "1", "0", "0", "0"] and len(projects) == 2, projects
        # by user: the member's name (the admin may list the tenant's users), all six hers
        assert st["by_user"] == [["職員", "6", "3", "1", "1", "1"]], st["by_user"]
    finally:
        d.stop()
