"""The console's observation pages in a real browser (Debian's chromium through playwright-core,
tests/fixtures/console/obs.mjs), signed in with the platform administrator's local sign-in or as a
user of the real identity provider (glewlwyd): the audit page's chain verification status (intact,
then broken where a byte of a segment was changed on disk); a supply-chain case that an agency's
user creates, fills and submits, that a reviewer finds in the queue, takes and advises on, and that
the agency then resolves. Every page is checked with axe-core (WCAG 2.1 A/AA), with no request to another host and no
CSP error; screenshots are kept under build/.../console-artifacts."""
import json
import os
import pathlib
import uuid

from conftest import Daemon
from oidc_idp import USERS
from test_console import CONSOLE_CLIENT, cd, idp, run_script  # noqa: F401 (fixtures: kasumid with the IdP)
from test_isolation import SUPPLY_LIST
from test_audit_verification import flip_request_id
from upstreams import ROOT

ARTIFACTS = pathlib.Path(os.environ.get("KASUMID", str(ROOT / "build" / "x"))).parent / "console-artifacts"


def run_browser(d, steps, idp=None, timeout=300):
    """Runs steps in a fresh browser signed in as the platform administrator (local sign-in), or as
    idp's user ({api, client, user, password}) through the real identity provider."""
    cmd = {"console": d.url + "/console/", "out": str(ARTIFACTS), "steps": steps}
    if idp:
        cmd["idp"] = idp
    else:
        cmd["token"] = d.token
    res = run_script("obs.mjs", cmd, timeout)
    assert "error" not in res, res.get("error")
    assert not res["page_errors"] and not res["csp_errors"], (res["page_errors"], res["csp_errors"])
    assert not res["foreign_requests"], "the console reached another host: %s" % res["foreign_requests"]
    bad = {page: v for page, v in res["axe"].items() if v}
    assert not bad, "axe-core found accessibility violations: %s" % json.dumps(bad, ensure_ascii=False)
    return res


def test_audit_page_shows_the_chain_intact_then_broken(tmp_path):
    d = Daemon(tmp_path / "data")
    d.start()
    d.stop()     # a sealed segment behind the open one
    d.start()
    try:
        t = d.tenant(name="画面検証庁")
        res = run_browser(d, [{"do": "audit_verify", "name": "audit-verified"}])
        st = res["steps"]["audit-verified"]
        assert st["intact"] == "true" and st["text"].startswith("✓"), st

        line = flip_request_id(d.data_dir / "audit" / "seg-000001.log")
        d.api("GET", "/admin/v1/tenants/" + t["id"])
        res = run_browser(d, [{"do": "audit_verify", "name": "audit-broken"}])
        st = res["steps"]["audit-broken"]
        api = d.ok("GET", "/admin/v1/audit/verification")["broken"]
        assert st["intact"] == "false" and st["text"].startswith("✗"), st
        assert "seg-000001.log" in st["text"] and "%d 行目" % api["line"] in st["text"], (st, api)
        assert api["line"] in (line, line + 1) and api["reason"] in st["text"], (line, api, st)
    finally:
        d.stop()


def test_supply_case_submitted_reviewed_resolved(cd, idp):  # noqa: F811
    alice = {"api": idp.api_url, "client": CONSOLE_CLIENT, "user": "alice", "password": USERS["alice"][0]}
    title = "端末調達-" + uuid.uuid4().hex[:6]
    res = run_browser(cd, [{"do": "supply_submit", "name": "supply-submitted", "title": title,
                            "agency": "総務省", "list": SUPPLY_LIST}], idp=alice)
    st = res["steps"]["supply-submitted"]
    case_id = st["case"]
    assert st["list"] and st["list"][0][1:3] == ["サーバ", "A"], st["list"]
    c = cd.ok("GET", "/admin/v1/supply-cases/" + case_id)
    assert c["state"] == "submitted" and c["tenant"] == cd.ta["id"] and c["title"] == title and c["list"], c

    # the reviewer (the platform administrator) finds it in the queue, takes it, gives advice
    res = run_browser(cd, [{"do": "supply_review", "name": "supply-reviewed", "title": title}])
    st = res["steps"]["supply-reviewed"]
    assert any(row[0] == title for row in st["queue"]), st["queue"]
    c = cd.ok("GET", "/admin/v1/supply-cases/" + case_id)
    assert c["state"] == "advised" and c["advice"]["result"] == "懸念なし", c

    # the agency resolves it; the history names each step's actor: alice, then the reviewer
    res = run_browser(cd, [{"do": "supply_resolve", "name": "supply-resolved", "case": case_id}], idp=alice)
    assert cd.ok("GET", "/admin/v1/supply-cases/" + case_id)["state"] == "resolved"
    events = cd.ok("GET", "/admin/v1/supply-cases/%s/events" % case_id)["items"]
    actors = {e["to"]: e["actor"] for e in events if e.get("to")}
    admin = cd.ok("GET", "/admin/v1/whoami")["user"]
    assert actors["under_review"] == actors["advised"] == admin, events
    assert actors["submitted"] == actors["resolved"] == c["created_by"] != admin, events
    assert len(res["steps"]["supply-resolved"]["events"]) == len(events)


def test_overseas_ai_console_is_its_own(tmp_path):
    """The overseas-ai environment serves its own console with its own sign-in: its local
    administrator signs in there (govcloud's key does not), and the storage page says that this
    environment stores nothing (the storage routes answer 404 not_supported_in_environment) instead
    of showing empty tables."""
    gov = Daemon(tmp_path / "gov").start()
    d = Daemon(tmp_path / "overseas", env_kind="overseas-ai").start()
    try:
        r = d.api("POST", "/auth/local", {"token": gov.token}, token=None)
        assert r.status_code == 401, r.text
        r = d.api("GET", "/admin/v1/projects/p_x/buckets")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_supported_in_environment", r.text
        t = d.tenant(name="海外利用庁")
        d.ok("POST", "/admin/v1/tenants/%s/projects" % t["id"], {"name": "翻訳", "environment": "prod"})
        res = run_browser(d, [{"do": "pages", "name": "overseas", "tenant": t["id"],
                               "pages": ["home", "storage", "ai"]}])
        assert res["signed_in_as"], res
        seen = res["steps"]["overseas"]["seen"]
        assert seen["storage"]["ready"] == "storage", seen
        assert "データを保管しません" in seen["storage"]["text"], seen["storage"]
        assert "バケット" not in seen["storage"]["text"], seen["storage"]
        assert "データを保管しません" not in seen["ai"]["text"] and seen["ai"]["ready"] == "ai", seen["ai"]
    finally:
        d.stop()
        gov.stop()


def test_own_key_limits_on_the_keys_page(cd, idp):  # noqa: F811
    """A user's own keys narrowed to a project show, on the keys page, what holds for them at the
    AI gateway — the month's spend and cap, the models, the limits a minute — which the user may
    read (key.self) but only the project's administrators set."""
    alice = {"api": idp.api_url, "client": CONSOLE_CLIENT, "user": "alice", "password": USERS["alice"][0]}
    tag = uuid.uuid4().hex[:6]
    res = run_browser(cd, [{"do": "keys_limits", "name": "keys-own-" + tag}], idp=alice)
    me = res["steps"]["keys-own-" + tag]["user"]
    mine = [k for k in cd.list_all("/admin/v1/keys?user=" + me) if k["project"] and k["status"] == "active"]
    assert len(res["steps"]["keys-own-" + tag]["rows"]) == len(mine), res["steps"]
    # her administrators give her a key for a batch job in a project, with its own limits
    name = "集計-" + tag
    project = cd.ok("POST", "/admin/v1/tenants/%s/projects" % cd.ta["id"], {"name": name, "environment": "dev"})["id"]
    key = cd.ok("POST", "/admin/v1/keys", {"user": me, "kind": "api", "project": project, "name": "バッチ-" + tag})["id"]
    cd.ok("PUT", "/admin/v1/projects/%s/keys/%s/budget" % (project, key), {"monthly_yen": 5000})
    cd.ok("PUT", "/admin/v1/projects/%s/keys/%s/models" % (project, key), {"models": ["tiny", "embed"]})
    cd.ok("PUT", "/admin/v1/projects/%s/keys/%s/rate-limits" % (project, key), {"rpm": 120})
    res = run_browser(cd, [{"do": "keys_limits", "name": "keys-limits-" + tag}], idp=alice)
    rows = [r for r in res["steps"]["keys-limits-" + tag]["rows"] if r[0] == "バッチ-" + tag]
    assert rows == [["バッチ-" + tag, name, "0.000000", "5,000", "tiny, embed", "120", "制限なし"]], \
        res["steps"]["keys-limits-" + tag]["rows"]
    # without a cap of its own the key is held by the project's budget alone; a revoked key is not shown
    cd.ok("DELETE", "/admin/v1/projects/%s/keys/%s/budget" % (project, key))
    cd.ok("DELETE", "/admin/v1/projects/%s/keys/%s/models" % (project, key))
    res = run_browser(cd, [{"do": "keys_limits", "name": "keys-limits2-" + tag}], idp=alice)
    rows = [r for r in res["steps"]["keys-limits2-" + tag]["rows"] if r[0] == "バッチ-" + tag]
    assert rows == [["バッチ-" + tag, name, "0.000000", "プロジェクトの予算のみ", "プロジェクトのすべて", "120",
                     "制限なし"]], rows
    cd.ok("DELETE", "/admin/v1/keys/" + key)
    res = run_browser(cd, [{"do": "keys_limits", "name": "keys-limits3-" + tag}], idp=alice)
    assert not [r for r in res["steps"]["keys-limits3-" + tag]["rows"] if r[0] == "バッチ-" + tag], res["steps"]


def test_ai_page_says_which_right_it_needs(cd, idp):  # noqa: F811
    """A user of the tenant who may not read its usage (here alice, while the mapping that makes her
    its administrator is gone) gets the AI page with a note naming the right it needs, not an
    error."""
    alice = {"api": idp.api_url, "client": CONSOLE_CLIENT, "user": "alice", "password": USERS["alice"][0]}
    maps = [m for m in cd.ok("GET", "/admin/v1/sso/group-roles")["items"] if m["group"] == "kasumi-admins"]
    assert maps, "the fixture's mapping"
    for m in maps:
        cd.ok("DELETE", "/admin/v1/sso/group-roles/" + m["id"])
    try:
        res = run_browser(cd, [{"do": "ai_no_access", "name": "ai-no-access"}], idp=alice)
        st = res["steps"]["ai-no-access"]
        assert "usage.read" in st["text"] and st["error_boxes"] == 0, st
    finally:
        cd.ok("POST", "/admin/v1/sso/group-roles", {"issuer": "gov", "group": "kasumi-admins", "role": "tenant_admin",
                                                    "scope": "tenant/" + cd.ta["id"]})
