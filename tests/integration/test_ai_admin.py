"""The AI gateway's configuration through the admin API and the CLI (docs/ai-admin.md): model
routes (validation, the overseas allow-list, cross-tenant isolation), prices (decimal yen to
micro-yen, never retroactive), budgets with the ledger's view, AI policies (class2_overseas needs
ai.policy.overseas), the permissions of each role, and the `kasumi` commands."""
import json
import time
import uuid

import pytest

from conftest import Daemon, random_id

JP = {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "jurisdiction": "JP"}


@pytest.fixture(scope="module")
def org(shared):
    """A tenant with an admin, a project, and a second tenant's admin."""
    d = shared
    t = d.tenant()
    _, admin = d.tenant_admin(t["id"])
    p = d.ok("POST", "/admin/v1/tenants/%s/projects" % t["id"], {"name": "ai", "environment": "dev"})
    other = d.tenant()
    _, other_admin = d.tenant_admin(other["id"])
    return {"d": d, "tenant": t, "admin": admin, "project": p["id"], "other_admin": other_admin}


def routes_path(project):
    return "/admin/v1/projects/%s/model-routes" % project


def test_route_crud_and_isolation(org):
    d, admin, pj = org["d"], org["admin"], org["project"]
    alias = "gpt-" + uuid.uuid4().hex[:6]
    target = dict(JP, credential_ref="/etc/kasumi/openai.key", model="gpt-4o-mini", weight=2)
    rt = d.ok("POST", routes_path(pj), {"alias": alias, "targets": [target]}, token=admin)
    assert rt["id"].startswith("mr_") and rt["alias"] == alias and rt["project"] == pj
    got = rt["targets"][0]
    assert got["credential_ref"] == "/etc/kasumi/openai.key"   # the path as given, never a secret
    assert got["weight"] == 2 and got["timeout_ms"] == 60000 and got["provider"] == "openai"

    r = d.api("POST", routes_path(pj), {"alias": alias, "targets": [JP]}, token=admin)
    assert r.status_code == 409, r.text

    items = d.ok("GET", routes_path(pj), token=admin)["items"]
    assert [i["id"] for i in items] == [rt["id"]]
    assert d.ok("GET", "/admin/v1/model-routes/" + rt["id"], token=admin)["alias"] == alias

    upd = d.ok("PATCH", "/admin/v1/model-routes/" + rt["id"], {"targets": [JP, target]}, token=admin)
    assert len(upd["targets"]) == 2

    # another tenant's admin: the same 404 as for a random id, for every verb
    rnd = random_id(rt["id"])
    for method, body in (("GET", None), ("PATCH", {"alias": "x"}), ("DELETE", None)):
        ra = d.api(method, "/admin/v1/model-routes/" + rt["id"], body, token=org["other_admin"])
        rr = d.api(method, "/admin/v1/model-routes/" + rnd, body, token=org["other_admin"])
        assert ra.status_code == rr.status_code == 404, (ra.text, rr.text)
        assert ra.json()["error"]["message"] == rr.json()["error"]["message"]
    r = d.api("GET", routes_path(pj), token=org["other_admin"])
    assert r.status_code == 404
    assert d.api("GET", "/admin/v1/model-routes/not-an-id", token=admin).status_code == 404

    # a project holding routes is not empty
    assert d.api("DELETE", "/admin/v1/projects/" + pj, token=admin).status_code == 409

    assert d.ok("DELETE", "/admin/v1/model-routes/" + rt["id"], token=admin)["deleted"] is True
    assert d.api("GET", "/admin/v1/model-routes/" + rt["id"], token=admin).status_code == 404

    # audited as every admin write (the search index may lag the durable record a little)
    deadline = time.time() + 10
    while not any(rec.get("target") == rt["id"]
                  for rec in d.audit_records(action="ai.route.create", tenant=org["tenant"]["id"])):
        assert time.time() < deadline, "no audit record of the route's creation"
        time.sleep(0.1)


@pytest.mark.parametrize("target,field", [
    (dict(JP, provider="azure"), "provider"),
    (dict(JP, jurisdiction="XX"), "jurisdiction"),
    (dict(JP, base_url="ftp://h/v1"), "base_url"),
    (dict(JP, credential_ref="relative/key"), "credential_ref"),
    (dict(JP, weight=0), "weight"),
    (dict(JP, jurisdiction="US", base_url="https://overseas.example/v1"), "allow-list"),
])
def test_route_validation(org, target, field):
    d = org["d"]
    r = d.api("POST", routes_path(org["project"]), {"alias": "v-" + uuid.uuid4().hex[:6], "targets": [target]},
              token=org["admin"])
    assert r.status_code == 400, r.text
    assert field in r.json()["error"]["message"]


def test_route_unknown_field(org):
    r = org["d"].api("POST", routes_path(org["project"]),
                     {"alias": "u", "targets": [dict(JP, api_key="sk-...")]}, token=org["admin"])
    assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_field"


def test_overseas_allow_list(fresh):
    d = fresh
    d.extra_args = ["--overseas-allow", "https://overseas.example/"]
    d.start()
    t = d.tenant()
    pj = d.ok("POST", "/admin/v1/tenants/%s/projects" % t["id"], {"name": "p", "environment": "dev"})["id"]
    ok = dict(JP, jurisdiction="US", base_url="https://overseas.example/v1")
    d.ok("POST", routes_path(pj), {"alias": "abroad", "targets": [ok]})
    bad = dict(ok, base_url="https://overseas.example.evil/v1")
    r = d.api("POST", routes_path(pj), {"alias": "evil", "targets": [bad]})
    assert r.status_code == 400 and "allow-list" in r.json()["error"]["message"]


def test_prices(org):
    d, admin = org["d"], org["admin"]
    model = "m-" + uuid.uuid4().hex[:6]
    p = d.ok("POST", "/admin/v1/model-prices", {"model": model, "prompt_per_1k": "0.15",
                                                "completion_per_1k": "0.6", "cached_per_1k": 0})
    assert p["microyen"] == {"prompt_per_1k": 150000, "completion_per_1k": 600000, "cached_per_1k": 0}
    assert p["prompt_per_1k"] == "0.15"
    later = d.ok("POST", "/admin/v1/model-prices", {"model": model, "prompt_per_1k": 1, "completion_per_1k": 2,
                                                    "effective_from": "2099-01-01T00:00:00+09:00"})
    assert later["effective_from"] == "2098-12-31T15:00:00.000Z"
    for bad in ({"prompt_per_1k": "0.1234567"}, {"prompt_per_1k": "-1"}, {"prompt_per_1k": 0.15},
                {"prompt_per_1k": "1", "effective_from": "2020-01-01T00:00:00Z"}):
        body = dict({"model": model, "completion_per_1k": "1"}, **bad)
        r = d.api("POST", "/admin/v1/model-prices", body)
        assert r.status_code == 400, (bad, r.text)
    # a tenant admin reads prices but cannot write them
    assert d.api("POST", "/admin/v1/model-prices", {"model": model, "prompt_per_1k": "1",
                                                    "completion_per_1k": "1"}, token=admin).status_code == 403
    items = d.ok("GET", "/admin/v1/model-prices?model=" + model, token=admin)["items"]
    assert {i["id"] for i in items} == {p["id"], later["id"]}


def test_budget(org):
    d, admin, pj = org["d"], org["admin"], org["project"]
    b = d.ok("GET", "/admin/v1/projects/%s/budget" % pj, token=admin)
    assert b["monthly_yen"] is None and b["spent_microyen"] == 0
    b = d.ok("PUT", "/admin/v1/projects/%s/budget" % pj, {"monthly_yen": 50000, "alert_thresholds": [50, 90]},
             token=admin)
    assert b["monthly_yen"] == 50000 and b["alert_thresholds"] == [50, 90]
    assert b["reserved_microyen"] == 0 and b["in_flight"] == 0 and b["remaining_microyen"] == 50000 * 10**6
    assert len(b["month"]) == 7 and b["tenant"] == org["tenant"]["id"]
    r = d.api("PUT", "/admin/v1/projects/%s/budget" % pj, {"monthly_yen": -5}, token=admin)
    assert r.status_code == 400
    # billing_viewer reads budgets; a member does not
    _, viewer, _ = d.user_key(org["tenant"]["id"], role="billing_viewer")
    assert d.ok("GET", "/admin/v1/projects/%s/budget" % pj, token=viewer)["monthly_yen"] == 50000
    assert d.api("PUT", "/admin/v1/projects/%s/budget" % pj, {"monthly_yen": 1}, token=viewer).status_code == 403
    assert d.api("DELETE", "/admin/v1/projects/%s/budget" % pj, token=viewer).status_code == 403
    _, member, _ = d.user_key(org["tenant"]["id"], role="member")
    assert d.api("GET", "/admin/v1/projects/%s/budget" % pj, token=member).status_code == 403
    # removed: no budget (no limit) again; removing none answers the same
    assert d.ok("DELETE", "/admin/v1/projects/%s/budget" % pj, token=admin)["monthly_yen"] is None
    assert d.ok("GET", "/admin/v1/projects/%s/budget" % pj, token=admin)["monthly_yen"] is None
    assert d.ok("DELETE", "/admin/v1/projects/%s/budget" % pj, token=admin)["monthly_yen"] is None


def test_policy(org):
    d, admin = org["d"], org["admin"]
    tid = org["tenant"]["id"]
    pj = d.ok("POST", "/admin/v1/tenants/%s/projects" % tid, {"name": "pol", "environment": "dev"})["id"]
    path = "/admin/v1/projects/%s/ai-policy" % pj
    p = d.ok("GET", path, token=admin)
    assert p["default_classification"] == 2 and p["class2_overseas"] is False
    assert p["pii"]["mynumber"] == "block" and p["pii"]["email"] == "mask"
    assert p["project_rpm"] == 0 and p["retention_days"] == 0
    _, padmin, _ = d.user_key(tid, role="project_admin", scope="project/" + pj)
    p = d.ok("PUT", path, {"pii": {"email": "allow"}, "project_rpm": 60}, token=padmin)
    assert p["pii"]["email"] == "allow" and p["project_rpm"] == 60 and p["pii"]["mynumber"] == "block"
    r = d.api("PUT", path, {"class2_overseas": True}, token=padmin)
    assert r.status_code == 403 and "ai.policy.overseas" in r.json()["error"]["message"]
    p = d.ok("PUT", path, {"class2_overseas": True}, token=admin)
    assert p["class2_overseas"] is True and p["project_rpm"] == 60
    assert d.ok("PUT", path, {"class2_overseas": False}, token=padmin)["class2_overseas"] is False
    for bad in ({"default_classification": 4}, {"pii": {"email": "drop"}}, {"retention_days": -1}):
        assert d.api("PUT", path, bad, token=admin).status_code == 400, bad
    assert d.api("PUT", path, {"pii": {"iban": "mask"}}, token=admin).json()["error"]["code"] == "unknown_field"


def test_policy_check(org):
    """An administrator writing a project's rules and terms sees what the guardrail would do with a
    text — the class applied, the decision, the counts by kind, the text a model would get, and the
    text a caller would get were a model to write it — and nothing is sent, kept or written into the
    audit record."""
    d, admin, pj = org["d"], org["admin"], org["project"]
    path = "/admin/v1/projects/%s/ai-policy" % pj
    d.ok("PUT", path, {"terms": [{"term": "Project Kasumi", "action": "mask"},
                                 {"term": "取扱厳重注意", "action": "block"}],
                       "classification_markings": True, "pii": {"email": "mask"}}, token=admin)
    check = lambda body, **kw: d.ok("POST", path + "/check", body, status=200, token=kw.get("token", admin))
    r = check({"text": "project kasumi の件は 03-1234-5678 まで"})
    assert (r["decision"], r["classification"], r["marked"]) == ("mask", 2, 0), r
    assert r["masked"] == {"phone": 1, "term": 1} and r["text"] == "⟦TERM_1⟧ の件は ⟦PHONE_1⟧ まで", r
    r = check({"text": "【取扱厳重注意】人事"})
    assert (r["decision"], r["reason"], r["text"]) == ("block", "term_blocked", None), r
    r = check({"text": "個人番号 123456789018"})
    assert (r["decision"], r["reason"]) == ("block", "pii_blocked") and r["masked"] == {"mynumber": 1}, r
    r = check({"text": "機密性３ 予算", "classification": 1, "overseas": True})
    assert (r["classification"], r["marked"], r["decision"]) == (3, 3, "refuse"), r
    assert check({"text": "予算", "classification": 1, "overseas": True})["decision"] == "pass"
    assert check({"text": "予算", "overseas": True})["decision"] == "refuse"   # 2, not allowed abroad
    # and what the pii_output rules would make of the same text in a model's answer
    assert r["output"] == {"redacted": {}, "text": "機密性３ 予算"}, r   # none by default
    d.ok("PUT", path, {"pii_output": {"mynumber": "mask", "email": "mask"}}, token=admin)
    r = check({"text": "番号 123456789018、連絡 taro@example.lg.jp、電話 03-1234-5678"})
    assert r["output"] == {
        "redacted": {"mynumber": 1, "email": 1}, "text": "番号 ⟦MYNUMBER⟧、連絡 ⟦EMAIL⟧、電話 03-1234-5678"}, r
    # who may: ai.policy.read (an auditor may look; another tenant may not)
    assert d.api("POST", path + "/check", {"text": "x"}, token=org["other_admin"]).status_code in (403, 404)
    for bad in ({}, {"text": 1}, {"text": "x", "classification": 4}, {"text": "x", "overseas": "yes"},
                {"text": "x", "extra": 1}):
        assert d.api("POST", path + "/check", bad, token=admin).status_code == 400, bad
    rid = d.api("POST", path + "/check", {"text": "project kasumi"}, token=admin).headers["x-request-id"]
    rec = d.audit_wait(rid, action="ai.policy.check")
    assert "kasumi" not in json.dumps(rec).lower(), rec


def test_roles_grant_ai_permissions(shared):
    roles = {r["name"]: set(r["permissions"]) for r in shared.ok("GET", "/admin/v1/roles")["items"]}
    assert "ai.invoke" in roles["member"] and "ai.invoke" in roles["project_admin"]
    assert "ai.policy.overseas" in roles["tenant_admin"]
    assert "ai.policy.overseas" not in roles["project_admin"]
    assert "ai.budget.read" in roles["billing_viewer"] and "ai.budget.read" in roles["auditor"]
    assert not any(p.endswith(".write") or p == "ai.invoke" for p in roles["auditor"] if p.startswith("ai."))
    assert "ai.price.write" not in roles["tenant_admin"]


def test_cli(org, tmp_path):
    d, admin = org["d"], org["admin"]
    tid = org["tenant"]["id"]
    pj = d.ok("POST", "/admin/v1/tenants/%s/projects" % tid, {"name": "cli", "environment": "dev"})["id"]
    out = d.cli("model-route", "create", "--project", pj, "--alias", "chat", "--provider", "openai",
                "--base-url", "http://127.0.0.1:9/v1", "--jurisdiction", "JP", "--model", "gpt-4o-mini",
                "--credential-ref", "/etc/kasumi/k", "--weight", "3", "--output", "json", token=admin)
    rt = json.loads(out.stdout)
    assert rt["alias"] == "chat" and rt["targets"][0]["weight"] == 3
    d.cli("model-route", "add-target", rt["id"], "--provider", "anthropic", "--base-url",
          "https://jp.example/v1", "--jurisdiction", "JP", token=admin)
    got = json.loads(d.cli("model-route", "get", rt["id"], "-o", "json", token=admin).stdout)
    assert [t["provider"] for t in got["targets"]] == ["openai", "anthropic"]
    table = d.cli("model-route", "list", "--project", pj, token=admin).stdout
    assert rt["id"] in table and "chat" in table
    # the table names each target's server, model and state in the order tried, not its JSON
    head, row = table.splitlines()[:2]
    assert head.split() == ["ID", "PROJECT", "ALIAS", "TARGETS", "MODELS", "STATE"], table
    assert row.split()[3:] == ["http://127.0.0.1:9/v1,https://jp.example/v1", "gpt-4o-mini,-",
                               "unknown,unknown"], table
    # a target's limit of calls in flight, from the flag
    d.cli("model-route", "add-target", rt["id"], "--provider", "openai", "--base-url", "http://127.0.0.1:8/v1",
          "--jurisdiction", "JP", "--max-concurrent", "4", token=admin)
    got = json.loads(d.cli("model-route", "get", rt["id"], "-o", "json", token=admin).stdout)
    assert got["targets"][2]["max_concurrent"] == 4 and "max_concurrent" not in got["targets"][0], got
    bad = d.cli("model-route", "create", "--project", pj, "--alias", "x", "--provider", "openai",
                "--base-url", "http://h/v1", "--jurisdiction", "JP", "--weight", "many", token=admin, check=False)
    assert bad.returncode == 2
    d.cli("model-route", "delete", rt["id"], token=admin)

    model = "cli-" + uuid.uuid4().hex[:6]
    pr = json.loads(d.cli("model-price", "set", "--model", model, "--prompt-per-1k", "0.25",
                          "--completion-per-1k", "1", "-o", "json").stdout)
    assert pr["microyen"]["prompt_per_1k"] == 250000
    assert model in d.cli("model-price", "list", "--model", model).stdout
    b = json.loads(d.cli("budget", "set", "--project", pj, "--monthly-yen", "1200", "--alert-thresholds",
                         "50,100", "-o", "json", token=admin).stdout)
    assert b["monthly_yen"] == 1200 and b["alert_thresholds"] == [50, 100]
    assert json.loads(d.cli("budget", "get", "--project", pj, "-o", "json", token=admin).stdout)["monthly_yen"] == 1200
    assert json.loads(d.cli("budget", "remove", "--project", pj, "-o", "json", token=admin).stdout)["monthly_yen"] is None
    assert json.loads(d.cli("billing", "budget", "remove", "--project", pj, "-o", "json", token=admin).stdout)["monthly_yen"] is None
    p = json.loads(d.cli("ai-policy", "set", "--project", pj, "--pii", "email=allow,phone=block",
                         "--class3-forbidden", "true", "--key-rpm", "10", "-o", "json", token=admin).stdout)
    assert p["pii"]["email"] == "allow" and p["pii"]["phone"] == "block" and p["class3_forbidden"] is True
    assert json.loads(d.cli("ai-policy", "get", "--project", pj, "-o", "json", token=admin).stdout)["key_rpm"] == 10
    p = json.loads(d.cli("ai-policy", "set", "--project", pj, "--pii-output", "mynumber=mask,card=mask",
                         "-o", "json", token=admin).stdout)
    assert p["pii_output"]["mynumber"] == "mask" and p["pii_output"]["phone"] == "allow" and p["pii"]["phone"] == "block"
    r = d.cli("ai-policy", "set", "--project", pj, "--pii-output", "card=block", token=admin, check=False)
    assert r.returncode != 0 and "pii_output.card" in r.stderr + r.stdout, r
    # a text checked against the policy from the command line, read from a file (a sample holding
    # personal data stays out of the shell's history) or given on it
    sample = tmp_path / "sample.txt"
    sample.write_text("個人番号 1234 5678 9018 です", encoding="utf-8")
    chk = json.loads(d.cli("ai-policy", "check", "--project", pj, "--text-file", str(sample), "-o", "json",
                           token=admin).stdout)
    assert chk["decision"] == "block" and chk["output"]["text"] == "個人番号 ⟦MYNUMBER⟧ です", chk
    chk = json.loads(d.cli("ai-policy", "check", "--project", pj, "--text", "旅券 TK1234567 を確認", "-o", "json",
                           token=admin).stdout)
    assert chk["decision"] == "mask" and chk["text"] == "旅券 ⟦PASSPORT_1⟧ を確認", chk
    r = d.cli("ai-policy", "check", "--project", pj, token=admin, check=False)
    assert r.returncode == 2 and "--text" in r.stderr, r
    p = json.loads(d.cli("ai-policy", "set", "--project", pj, "--terms", "Project Kasumi=mask,取扱厳重注意=block",
                         "--classification-markings", "true", "-o", "json", token=admin).stdout)
    assert p["classification_markings"] is True
    assert p["terms"] == [{"term": "project kasumi", "action": "mask"}, {"term": "取扱厳重注意", "action": "block"}]
    assert p["key_rpm"] == 10   # the other fields stay
    r = d.cli("ai-policy", "set", "--project", pj, "--terms", "x=allow", token=admin, check=False)
    assert r.returncode != 0 and "terms[].action" in r.stderr + r.stdout, r
    assert json.loads(d.cli("ai-policy", "set", "--project", pj, "--terms", "", "-o", "json",
                            token=admin).stdout)["terms"] == []
    r = d.cli("ai-policy", "set", "--project", pj, token=admin, check=False)
    assert r.returncode == 2
