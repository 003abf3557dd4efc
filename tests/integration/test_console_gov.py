"""The console's identity and governance pages in a real browser (tests/fixtures/console/gov.mjs:
Debian's chromium through playwright-core, the real identity provider glewlwyd), each action checked
afterwards through the admin API:

- the operator (local sign-in with the platform administrator's key) creates a tenant on the tenants
  page — a 法人番号 with a wrong check digit is refused with a message first — suspends and resumes
  it (after a confirmation), and maps the new tenant's IdP group to auditor on the SSO page; with
  the header's picker on "platform", grants a platform role to its own user and revokes it, and
  maps an IdP group to a platform role;
- alice, tenant_admin of tenant A through SSO, creates a group, adds a user, grants the group a
  role (the user's key then works), grants and revokes a second binding, adds and removes an SSO
  mapping, sets a project's budget, whose month-to-date use the page shows as the API does, and
  removes another project's budget (after a confirmation naming the project), sets a storage
  quota on the storage page, which then shows the use against it, on the AI guardrail page
  redacts My Number from model output and checks a text against the saved policy, and on the model
  routes page sees a route whose two servers are down set aside, makes a route and deletes it;
- bob, auditor of the new tenant through the operator's mapping, sees the pages but may not act
  (a group, a binding, a budget, a storage quota, an AI policy, a model route): the API refuses and
  the page says so.
axe-core must find no violation on any of them; a screenshot of each is kept."""
import json
import time
import uuid

import pytest
import requests

from conftest import corpnum
from oidc_idp import CN_A, CN_B, USERS, Glewlwyd, free_port
from test_console import ARTIFACTS, CONSOLE_CLIENT, console_daemon, make_usage, run_script


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    g = Glewlwyd(tmp_path_factory.mktemp("idp-console-gov")).start()
    yield g
    g.stop()


@pytest.fixture(scope="module")
def cd(idp, tmp_path_factory):
    """Its provider speaks for tenants A and B (B is created by the operator in the browser)."""
    d = console_daemon(idp, tmp_path_factory, "console-gov", [CN_A, CN_B], ["--ai-listen", "127.0.0.1:0"])
    yield d
    d.stop()


def run_gov_browser(cmd, timeout=400):
    return run_script("gov.mjs", cmd, timeout)


def settled_spend(d, project):
    """The project's month-to-date spend once make_usage's records are in the rollup."""
    deadline, last = time.time() + 20, None
    while time.time() < deadline:
        spent = d.ok("GET", "/admin/v1/projects/%s/budget" % project)["spent_microyen"]
        if spent and spent == last:
            return spent
        last = spent
        time.sleep(0.3)
    raise AssertionError("the project's spend did not settle: %r" % last)


def down_model_route(d, project, tag):
    """A model route of the project whose two model servers are down (nothing listens on their
    port), called through the gateway until both are set aside; its alias."""
    alias = "down-" + tag
    dead = "http://127.0.0.1:%d/v1" % free_port()
    d.ok("POST", "/admin/v1/projects/%s/model-routes" % project, {"alias": alias, "targets": [
        {"provider": "openai", "base_url": dead, "model": m, "jurisdiction": "JP"} for m in ("a", "b")]})
    d.ok("POST", "/admin/v1/model-prices", {"model": alias, "prompt_per_1k": "0.5", "completion_per_1k": "1.5"})
    _, secret, _ = d.user_key(d.ta["id"], role="member", scope="project/" + project, project=project)
    ai = "http://" + json.loads((d.data_dir / "listen.json").read_text())["ai"]
    for _ in range(2):
        r = requests.post(ai + "/v1/chat/completions", json={"model": alias, "messages": [{"role": "user", "content": "x"}]},
                          headers={"Authorization": "Bearer " + secret}, timeout=30)
        assert r.status_code == 502, r.text
    (route,) = [r for r in d.list_all("/admin/v1/projects/%s/model-routes" % project) if r["alias"] == alias]
    assert [t["health"]["state"] for t in route["targets"]] == ["ejected", "ejected"], route
    return alias


def test_governance_pages_in_a_real_browser(cd, idp):
    tid = cd.ta["id"]
    make_usage(cd)   # project 住民記録 with priced S3 traffic: a month-to-date spend to show
    (usage_project,) = [p for p in cd.ok("GET", "/admin/v1/tenants/%s/projects" % tid)["items"] if p["name"] == "住民記録"]
    spent = settled_spend(cd, usage_project["id"])
    # a user of tenant A with no role yet: its key may not list the projects
    member, member_secret, _ = cd.user_key(tid)
    member_get = lambda: cd.api("GET", "/admin/v1/tenants/%s/projects" % tid, token=member_secret).status_code
    assert member_get() == 403

    tag = uuid.uuid4().hex[:6]
    doomed = cd.ok("POST", "/admin/v1/tenants/%s/projects" % tid, {"name": "廃止予定-" + tag, "environment": "dev"})
    cd.ok("PUT", "/admin/v1/projects/%s/budget" % doomed["id"], {"monthly_yen": 777})
    down_route = down_model_route(cd, usage_project["id"], tag)
    contractor = cd.ok("POST", "/admin/v1/keys", {"user": member["id"], "kind": "api", "project": usage_project["id"],
                                                  "name": "委託先-" + tag})
    cd.ok("PUT", "/admin/v1/projects/%s/keys/%s/models" % (usage_project["id"], contractor["id"]), {"models": ["tiny"]})
    bad_cn = str((int(CN_B[0]) + 1) % 10) + CN_B[1:]
    assert corpnum(CN_B[1:]) == CN_B != bad_cn
    out = ARTIFACTS / "gov"
    res = run_gov_browser({
        "console": cd.url + "/console/", "idp_api": idp.api_url, "client": CONSOLE_CLIENT, "out": str(out),
        "admin_token": cd.token, "tenant_name": "B省-" + tag, "cn": CN_B, "bad_cn": bad_cn, "taken_cn": CN_A,
        "alice": ["alice", USERS["alice"][0]], "bob": ["bob", USERS["bob"][0]],
        "group": "審査係-" + tag, "member_name": member["name"], "usage_project": "住民記録",
        "sso_group": "extra-" + tag, "budget_yen": "12345", "thresholds": "50, 90",
        "doomed_project": doomed["name"], "quota_bytes": "5000000",
        "admin_user": cd.ok("GET", "/admin/v1/whoami")["user"], "ops_group": "ops-" + tag,
        "operator_name": "運用担当-" + tag, "operator_email": "ops-%s@example.go.jp" % tag,
        "check_text": "個人番号 1234 5678 9018、電話 03-1234-5678", "block_term": "取扱厳重注意",
        "down_route": down_route, "new_route": "chat-" + tag, "new_route_url": "http://127.0.0.1:9/v1",
        "key_name": "委託先-" + tag, "key_yen": "3000",
        "key_label": "委託先-%s (%s)" % (tag, contractor["id"]),
    })
    assert "error" not in res, res.get("error")
    assert not res["page_errors"] and not res["csp_errors"], (res["page_errors"], res["csp_errors"])
    assert not res["foreign_requests"], res["foreign_requests"]
    bad = {page: v for page, v in res["axe"].items() if v}
    assert not bad, "axe-core found accessibility violations: %s" % json.dumps(bad, ensure_ascii=False)
    assert set(res["axe"]) >= {"tenants", "tenants-cn-error", "ssomap-operator", "groups", "bindings", "ssomap",
                               "budgets", "tenants-alice", "groups-denied", "bindings-denied", "budgets-denied",
                               "budgets-en", "storage-quota", "storage-denied", "bindings-platform",
                               "ssomap-platform", "aipolicy", "aipolicy-denied", "airoutes", "airoutes-denied"}, sorted(res["axe"])
    for name in res["axe"]:
        assert (out / (name + ".png")).stat().st_size > 5000, name

    # operator: the wrong check digit never reached the API; the right one made the tenant
    assert res["cn_taken"]["code"] == "already_exists" and "すでにあります" in res["cn_taken"]["text"], res["cn_taken"]
    assert "チェックデジット" in res["cn_error"] and res["cn_invalid"] == "true", res["cn_error"]
    tenants = {t["name"]: t for t in cd.list_all("/admin/v1/tenants")}
    tb = tenants["B省-" + tag]
    assert tb["corporate_number"] == CN_B and tb["kind"] == "local_government"
    assert not [t for t in tenants.values() if t["corporate_number"] == bad_cn]
    # suspended (after a confirmation naming it), seen suspended, resumed
    assert res["suspended_status"] == "suspended" and tb["status"] == "active", (res["suspended_status"], tb)
    assert any("B省-" + tag in m and "停止" in m for m in res["dialogs"]), res["dialogs"]
    admin_id = cd.ok("GET", "/admin/v1/whoami")["user"]
    for action in ("tenant.create", "tenant.suspend", "tenant.resume"):
        recs = cd.audit_records(action=action, tenant=tb["id"])
        assert any(r["principal"] == admin_id and r["outcome"] == "success" for r in recs), (action, recs)
    # the platform view: the binding was shown at platform scope, then revoked; the mapping is there
    assert any(r[1] == "billing_viewer" and r[2] == "プラットフォーム" for r in res["platform_bindings"]), res["platform_bindings"]
    assert any(r[1] == "platform_admin" for r in res["platform_bindings"]), res["platform_bindings"]
    # the operator created on the platform's users page is a platform user, named on the bindings
    # page, and holds the platform role granted there
    ops = [u for u in cd.ok("GET", "/admin/v1/platform/users")["items"] if u["name"] == "運用担当-" + tag]
    assert [u["id"] for u in ops] == [res["operator_id"]], ops
    assert any(r[0].find("運用担当-" + tag) >= 0 and r[1] == "billing_viewer" for r in res["platform_bindings"]), \
        res["platform_bindings"]
    assert [b["scope"] for b in cd.ok("GET", "/admin/v1/role-bindings?principal=" + res["operator_id"])["items"]
            if b["role"] == "billing_viewer"] == ["platform"]
    assert not [b for b in cd.ok("GET", "/admin/v1/role-bindings?principal=" + admin_id)["items"]
                if b["role"] == "billing_viewer"]
    for action in ("binding.create", "binding.delete"):
        assert any(r["outcome"] == "success" for r in cd.audit_records(action=action, principal=admin_id)), action
    assert any(r[0] == "gov" and r[1] == "ops-" + tag and r[2] == "supply_reviewer" for r in res["platform_mappings"]), res["platform_mappings"]
    maps = cd.ok("GET", "/admin/v1/sso/group-roles")["items"]
    assert any(m["group"] == "ops-" + tag and m["role"] == "supply_reviewer" and m["scope"] == "platform" for m in maps), maps
    assert any(m["group"] == "staff" and m["role"] == "auditor" and m["scope"] == "tenant/" + tb["id"] for m in maps)

    # alice: the group with its member, bound to member at the tenant: the member's key now works
    alice_id = res["alice_user"]
    (grp,) = [g for g in cd.ok("GET", "/admin/v1/tenants/%s/groups" % tid)["items"] if g["name"] == "審査係-" + tag]
    assert cd.ok("GET", "/admin/v1/groups/" + grp["id"])["members"] == [member["id"]]
    bs = cd.ok("GET", "/admin/v1/role-bindings?principal=" + grp["id"])["items"]
    assert [(b["role"], b["scope"], b["created_by"]) for b in bs] == [("member", "tenant/" + tid, alice_id)], bs
    assert member_get() == 200
    # the second grant (auditor to the user) was revoked in the browser: the user may not list users
    assert cd.ok("GET", "/admin/v1/role-bindings?principal=" + member["id"])["items"] == []
    assert cd.api("GET", "/admin/v1/tenants/%s/users" % tid, token=member_secret).status_code == 403
    recs = cd.audit_records(action="binding.delete", principal=alice_id)
    assert any(r["outcome"] == "success" for r in recs), recs
    # the SSO mapping alice added is gone again, both audited as hers
    assert not [m for m in cd.ok("GET", "/admin/v1/sso/group-roles")["items"] if m["group"] == "extra-" + tag]
    for action in ("sso.map.create", "sso.map.delete"):
        assert any(r["outcome"] == "success" for r in cd.audit_records(action=action, principal=alice_id)), action
    assert res["sso_row_seen"], res
    # the budget she set is what the API now answers; the page showed the spend the API reports
    b = cd.ok("GET", "/admin/v1/projects/%s/budget" % usage_project["id"])
    assert b["monthly_yen"] == 12345 and b["alert_thresholds"] == [50, 90], b
    assert res["budget_row"][1] == "12,345" and res["budget_row"][2] == "50, 90", res["budget_row"]
    permille = spent * 1000 // (12345 * 1000000)
    assert res["budget_row"][4] == "%d.%d%%" % (permille // 10, permille % 10), res["budget_row"]
    whole, frac = res["budget_row"][3].replace(",", "").split(".")
    assert int(whole) * 1000000 + int(frac) == spent > 0, (res["budget_row"], spent)
    # the other budget she removed: none now (no limit), the question named the project, audited
    assert cd.ok("GET", "/admin/v1/projects/%s/budget" % doomed["id"])["monthly_yen"] is None
    assert res["doomed_row"][1] == "予算なし (上限なし)", res["doomed_row"]
    # the key's cap: shown with its user and state, and set through the API the gateway reads
    assert res["key_row"][1:5] == [member["id"], "active", "3,000", "0.000000"], res["key_row"]
    assert res["key_row"][6] == "tiny", res["key_row"]   # the one model the key may call
    assert res["key_row"][7] == "30 / 既定", res["key_row"]   # its own requests a minute
    kb = cd.ok("GET", "/admin/v1/projects/%s/keys/%s/budget" % (usage_project["id"], contractor["id"]))
    assert kb["monthly_yen"] == 3000 and kb["remaining_microyen"] == 3000 * 1000000, kb
    assert kb["alert_thresholds"] == [80, 100], kb
    kr = cd.ok("GET", "/admin/v1/projects/%s/keys/%s/rate-limits" % (usage_project["id"], contractor["id"]))
    assert kr["rpm"] == 30 and kr["tpm"] is None, kr
    assert any(doomed["name"] in m and "予算を削除" in m for m in res["dialogs"]), res["dialogs"]
    recs = cd.audit_records(action="ai.budget.delete", principal=alice_id)
    assert [r["outcome"] for r in recs] == ["success"], recs
    # the storage quota she set: the API has it, the page showed it with the use against it
    q = cd.ok("GET", "/admin/v1/projects/%s/storage-quota" % usage_project["id"])
    assert q["max_bytes"] == 5000000 and q["max_objects"] is None, q
    assert res["quota_row"][2] == "5,000,000" and res["quota_row"][1] == "{:,}".format(q["used_bytes"]), res["quota_row"]
    assert res["quota_row"][3] == "%d%%" % (q["used_bytes"] * 100 // 5000000), res["quota_row"]
    assert any(r["outcome"] == "success" for r in cd.audit_records(action="storage.quota.set", principal=alice_id))
    # the AI guardrail she set on the AI guardrail page: the API has it, and the check she ran
    # showed what the saved policy does (My Number blocked on the way in, as by default, and
    # redacted from what a model writes; the phone number she allowed, left as it is)
    pol = cd.ok("GET", "/admin/v1/projects/%s/ai-policy" % usage_project["id"])
    assert pol["pii_output"]["mynumber"] == "mask" and pol["pii"]["phone"] == "allow", pol
    assert pol["terms"] == [{"term": "取扱厳重注意", "action": "block"}] and pol["key_rpm"] == 60, pol
    assert pol["allowed_networks"] == ["10.20.0.0/16", "2001:db8::/32"], pol
    assert pol["unscanned_content"] == "allow_in_japan", pol
    chk = res["ai_check"]
    assert chk["decision"].startswith("遮断") and chk["model"] == "送信されません", chk
    assert chk["output"] == "個人番号 ⟦MYNUMBER⟧、電話 03-1234-5678", chk
    assert any(r["outcome"] == "success" for r in cd.audit_records(action="ai.policy.set", principal=alice_id))
    # the model routes page: the route whose servers are down shows both set aside, and until when;
    # the route alice made there had the target she gave, and is gone after she deleted it
    assert res["down_states"] == ["ejected", "ejected"], res["down_states"]
    assert res["down_text"].count("除外中") == 2 and "まで" in res["down_text"], res["down_text"]
    ((order, provider, url, model, where, weight, timeout, slots, state),) = res["new_route_rows"]
    assert (order, provider, url, model, where, slots, state) == ("1", "openai", "http://127.0.0.1:9/v1", "tiny", "JP", "4", "対象外 (接続先が 1 つ)"), \
        res["new_route_rows"]
    assert not [r for r in cd.list_all("/admin/v1/projects/%s/model-routes" % usage_project["id"])
                if r["alias"] == "chat-" + tag]
    for action in ("ai.route.create", "ai.route.delete"):
        assert any(r["outcome"] == "success" for r in cd.audit_records(action=action, principal=alice_id)), action
    assert any("chat-" + tag in m for m in res["dialogs"]), res["dialogs"]
    reco = cd.ok("GET", "/admin/v1/billing/recommendations?tenant=" + tid)
    assert int(res["reco_total_microyen"]) == reco["estimated_monthly_saving_microyen"], res["reco_total_microyen"]
    # alice sees her own tenant only, and no operator form
    assert res["alice_tenants"] == ["A省"] and res["alice_tenant_forms"] == 0, res

    # bob, auditor of B: he reads, the API refuses his writes, the page says so in words
    for page in ("groups", "bindings", "budgets", "storage", "aipolicy", "airoutes"):
        den = res["denied"][page]
        assert den["code"] == "forbidden" and "権限がありません" in den["text"], (page, den)
    assert not cd.ok("GET", "/admin/v1/tenants/%s/groups" % tb["id"])["items"]
    b_projects = cd.ok("GET", "/admin/v1/tenants/%s/projects" % tb["id"])["items"]
    assert not [r for p in b_projects for r in cd.list_all("/admin/v1/projects/%s/model-routes" % p["id"])]
    b_bindings = cd.ok("GET", "/admin/v1/role-bindings?scope=tenant/" + tb["id"])["items"]
    assert all(b["created_by"].startswith("sso:") for b in b_bindings), b_bindings   # only the mapping's
    recs = cd.audit_records(action="group.create", principal=res["bob_user"])
    assert recs and all(r["outcome"] == "denied" for r in recs), recs
    assert "Budgets and recommendations" in res["english_nav"], res["english_nav"]
