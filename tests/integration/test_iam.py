"""Tenancy and IAM through the admin API, as the platform operator and tenant administrators use it."""
import datetime
import hashlib
import base64
import json
import time
import uuid

import pytest

from conftest import new_corpnum, random_id


def rfc3339(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def status(d, method, path, token, body=None):
    return d.api(method, path, body, token=token).status_code


def test_tenant_create_get_patch_list(shared):
    name = "総務省 行政管理局「霞が関」①"
    cn = new_corpnum()
    r = shared.api("POST", "/admin/v1/tenants", {"kind": "ministry", "name": name, "corporate_number": cn})
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["id"] and t["name"] == name and t["kind"] == "ministry" and t["corporate_number"] == cn, t
    got = shared.ok("GET", "/admin/v1/tenants/" + t["id"])
    assert got == t, "GET differs from the create answer:\n%r\n%r" % (got, t)
    assert got["name"].encode() == name.encode(), "the Japanese name did not round-trip byte for byte"
    new = "総務省 自治行政局"
    p = shared.ok("PATCH", "/admin/v1/tenants/" + t["id"], {"name": new})
    assert p["name"] == new, p
    assert shared.ok("GET", "/admin/v1/tenants/" + t["id"])["name"] == new
    assert shared.ok("GET", "/admin/v1/tenants/" + t["id"])["corporate_number"] == cn
    ids = [x["id"] for x in shared.list_all("/admin/v1/tenants")]
    assert t["id"] in ids and len(ids) == len(set(ids)), "list misses the tenant or repeats items"
    # paging with a small limit yields the same set
    assert sorted(x["id"] for x in shared.list_all("/admin/v1/tenants", limit=2)) == sorted(ids)


def test_all_four_kinds(shared):
    for kind in ("ministry", "local_government", "independent_agency", "private_operator"):
        t = shared.tenant(kind=kind)
        assert t["kind"] == kind, t


def test_unauthenticated(shared):
    r = shared.api("GET", "/admin/v1/tenants", token=None)
    assert r.status_code == 401, r.text
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers
    assert r.json()["error"]["code"] == "unauthenticated"
    for bad in ("garbage", "ksm_" + "A" * 43, shared.token + "x", shared.token[:-1]):
        r = shared.api("GET", "/admin/v1/tenants", token=bad)
        assert r.status_code == 401, "token %r -> %d" % (bad, r.status_code)
        assert "WWW-Authenticate" in r.headers
    r = shared.api("GET", "/admin/v1/tenants", token=None, headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert r.status_code == 401, r.text


def test_projects_users_groups_bindings(shared):
    t = shared.tenant()
    tid = t["id"]
    p = shared.ok("POST", "/admin/v1/tenants/%s/projects" % tid, {"name": "電子申請システム", "environment": "prod"})
    assert p["id"] and p["name"] == "電子申請システム" and p["environment"] == "prod", p
    for env in ("staging", "dev"):
        shared.ok("POST", "/admin/v1/tenants/%s/projects" % tid, {"name": "env-" + env, "environment": env})
    r = shared.api("POST", "/admin/v1/tenants/%s/projects" % tid, {"name": "x", "environment": "test"})
    assert r.status_code == 400, "environment 'test' accepted: %s" % r.text
    assert shared.ok("GET", "/admin/v1/projects/" + p["id"]) == p
    p2 = shared.ok("PATCH", "/admin/v1/projects/" + p["id"], {"name": "電子申請システム（新）"})
    assert p2["name"] == "電子申請システム（新）"
    assert p["id"] in [x["id"] for x in shared.list_all("/admin/v1/tenants/%s/projects" % tid)]

    u = shared.ok("POST", "/admin/v1/tenants/%s/users" % tid, {"name": "霞 太郎", "email": "taro@example.go.jp"})
    assert u["id"] and u["name"] == "霞 太郎" and u["email"] == "taro@example.go.jp", u
    assert shared.ok("GET", "/admin/v1/users/" + u["id"]) == u
    assert u["id"] in [x["id"] for x in shared.list_all("/admin/v1/tenants/%s/users" % tid)]

    g = shared.ok("POST", "/admin/v1/tenants/%s/groups" % tid, {"name": "監査担当"})
    assert g["id"] and g["name"] == "監査担当", g
    r = shared.api("PUT", "/admin/v1/groups/%s/members/%s" % (g["id"], u["id"]))
    assert r.status_code in (200, 201, 204), r.text
    got = shared.ok("GET", "/admin/v1/groups/" + g["id"])
    assert u["id"] in json.dumps(got), "group members do not list the user: %r" % got

    # A group binding grants its members.
    k = shared.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "api"})
    assert status(shared, "GET", "/admin/v1/tenants/%s/users" % tid, k["secret"]) in (403, 404)
    b = shared.ok("POST", "/admin/v1/role-bindings", {"principal": g["id"], "role": "auditor",
                                                      "scope": "tenant/" + tid})
    assert b["id"] and b["role"] == "auditor", b
    assert shared.ok("GET", "/admin/v1/role-bindings/" + b["id"])["id"] == b["id"]
    assert status(shared, "GET", "/admin/v1/tenants/%s/users" % tid, k["secret"]) == 200, \
        "a member of a group bound to auditor cannot list users"
    # Removing the membership takes the grant away.
    r = shared.api("DELETE", "/admin/v1/groups/%s/members/%s" % (g["id"], u["id"]))
    assert r.status_code in (200, 204), r.text
    assert status(shared, "GET", "/admin/v1/tenants/%s/users" % tid, k["secret"]) in (403, 404)
    # Bindings at project scope.
    pb = shared.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "member",
                                                       "scope": "project/" + p["id"]})
    assert pb["id"]
    assert status(shared, "GET", "/admin/v1/projects/" + p["id"], k["secret"]) == 200
    bad = shared.api("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "tenant_admin",
                                                         "scope": "project/" + p["id"]})
    assert bad.status_code == 400, "tenant_admin bound at project scope: %s" % bad.text


def test_key_secret_shown_once(shared):
    t = shared.tenant()
    u, secret, k = shared.user_key(t["id"], role="tenant_admin")
    assert secret.startswith("ksm_") and len(secret) == 47, secret
    who = shared.ok("GET", "/admin/v1/whoami", token=secret)
    assert json.dumps(who).find(u["id"]) >= 0, who
    digests = {hashlib.sha256(secret.encode()).hexdigest(),
               base64.b64encode(hashlib.sha256(secret.encode()).digest()).decode().rstrip("="),
               base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()).decode().rstrip("=")}
    for path in ("/admin/v1/keys/" + k["id"], "/admin/v1/keys?user=" + u["id"], "/admin/v1/keys?tenant=" + t["id"]):
        for tok in ("__admin__", secret):
            r = shared.api("GET", path, token=tok)
            assert r.status_code == 200, "%s -> %d %s" % (path, r.status_code, r.text)
            assert secret not in r.text, "%s shows the secret again" % path
            for dg in digests:
                assert dg not in r.text, "%s shows the secret's hash" % path
            assert '"secret"' not in r.text and "hash" not in r.text, "%s has a secret/hash field: %s" % (path, r.text)
    assert k["id"] in [x["id"] for x in shared.list_all("/admin/v1/keys?user=" + u["id"])]


def test_key_revoked_401(shared):
    t = shared.tenant()
    u, secret, k = shared.user_key(t["id"], role="tenant_admin")
    assert status(shared, "GET", "/admin/v1/tenants/" + t["id"], secret) == 200
    r = shared.api("DELETE", "/admin/v1/keys/" + k["id"])
    assert r.status_code in (200, 204), r.text
    r = shared.api("GET", "/admin/v1/tenants/" + t["id"], token=secret)
    assert r.status_code == 401, "a revoked key got %d" % r.status_code


def test_key_expiry(shared):
    t = shared.tenant()
    u = shared.ok("POST", "/admin/v1/tenants/%s/users" % t["id"], {"name": "期限", "email": "exp@example.go.jp"})
    shared.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "tenant_admin",
                                                  "scope": "tenant/" + t["id"]})
    now = datetime.datetime.now(datetime.timezone.utc)
    past = shared.api("POST", "/admin/v1/keys", {"user": u["id"], "kind": "api",
                                                 "expires_at": rfc3339(now - datetime.timedelta(hours=1))})
    if past.status_code == 201:
        r = shared.api("GET", "/admin/v1/tenants/" + t["id"], token=past.json()["secret"])
        assert r.status_code == 401, "a key that expired an hour ago got %d" % r.status_code
    else:
        assert past.status_code == 400, "expires_at in the past: %d %s" % (past.status_code, past.text)
    soon = shared.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "api",
                                                "expires_at": rfc3339(now + datetime.timedelta(seconds=2))})
    assert status(shared, "GET", "/admin/v1/tenants/" + t["id"], soon["secret"]) == 200, "the key failed before expiry"
    time.sleep(3)
    r = shared.api("GET", "/admin/v1/tenants/" + t["id"], token=soon["secret"])
    assert r.status_code == 401, "a key 1 s past its expires_at got %d" % r.status_code


def test_key_narrowed_to_project(shared):
    t = shared.tenant()
    tid = t["id"]
    p1 = shared.ok("POST", "/admin/v1/tenants/%s/projects" % tid, {"name": "p1", "environment": "prod"})
    p2 = shared.ok("POST", "/admin/v1/tenants/%s/projects" % tid, {"name": "p2", "environment": "dev"})
    u, secret, k = shared.user_key(tid, role="tenant_admin", project=p1["id"])
    assert status(shared, "GET", "/admin/v1/projects/" + p1["id"], secret) == 200, "narrowed key cannot read its project"
    for method, path, body in [("GET", "/admin/v1/projects/" + p2["id"], None),
                               ("PATCH", "/admin/v1/projects/" + p2["id"], {"name": "stolen"}),
                               ("GET", "/admin/v1/tenants/%s/projects" % tid, None),
                               ("GET", "/admin/v1/tenants/%s/users" % tid, None),
                               ("POST", "/admin/v1/tenants/%s/users" % tid, {"name": "x", "email": "x@example.jp"})]:
        s = status(shared, method, path, secret, body)
        assert s in (403, 404), "key narrowed to %s: %s %s -> %d" % (p1["id"], method, path, s)
    assert shared.ok("GET", "/admin/v1/projects/" + p2["id"])["name"] == "p2"


def test_roles_auditor_and_billing_viewer(shared):
    t = shared.tenant()
    tid = t["id"]
    _, aud, _ = shared.user_key(tid, role="auditor")
    assert status(shared, "GET", "/admin/v1/tenants/%s/users" % tid, aud) == 200
    assert status(shared, "GET", "/admin/v1/tenants/%s/projects" % tid, aud) == 200
    assert status(shared, "GET", "/admin/v1/audit?tenant=" + tid, aud) == 200
    for method, path, body in [("POST", "/admin/v1/tenants/%s/projects" % tid, {"name": "x", "environment": "dev"}),
                               ("POST", "/admin/v1/tenants/%s/users" % tid, {"name": "x", "email": "y@example.jp"}),
                               ("POST", "/admin/v1/tenants/%s/groups" % tid, {"name": "g"})]:
        r = shared.api(method, path, body, token=aud)
        assert r.status_code == 403, "auditor %s %s -> %d %s" % (method, path, r.status_code, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    _, bill, _ = shared.user_key(tid, role="billing_viewer")
    assert status(shared, "GET", "/admin/v1/usage?tenant=" + tid, bill) == 200, "billing_viewer cannot read usage"
    assert status(shared, "GET", "/admin/v1/tenants/%s/users" % tid, bill) == 403, "billing_viewer can list users"


def test_no_privilege_escalation(shared):
    t = shared.tenant()
    tid = t["id"]
    p = shared.ok("POST", "/admin/v1/tenants/%s/projects" % tid, {"name": "p", "environment": "prod"})
    pa, pa_secret, _ = shared.user_key(tid, role="project_admin", scope="project/" + p["id"])
    other = shared.ok("POST", "/admin/v1/tenants/%s/users" % tid, {"name": "他", "email": "o@example.jp"})
    for principal in (pa["id"], other["id"]):
        r = shared.api("POST", "/admin/v1/role-bindings", {"principal": principal, "role": "tenant_admin",
                                                           "scope": "tenant/" + tid}, token=pa_secret)
        assert r.status_code == 403, "project_admin granted tenant_admin: %d %s" % (r.status_code, r.text)
    r = shared.api("POST", "/admin/v1/role-bindings", {"principal": other["id"], "role": "project_admin",
                                                       "scope": "project/" + p["id"]}, token=pa_secret)
    assert r.status_code == 201, "project_admin cannot grant its own role on its project: %d %s" % (r.status_code, r.text)
    bindings = shared.list_all("/admin/v1/role-bindings?principal=" + pa["id"])
    assert all(b["role"] != "tenant_admin" for b in bindings), bindings
    # A tenant admin cannot make anyone platform_admin.
    _, ta, _ = shared.user_key(tid, role="tenant_admin")
    r = shared.api("POST", "/admin/v1/role-bindings", {"principal": other["id"], "role": "platform_admin",
                                                       "scope": "platform"}, token=ta)
    assert r.status_code in (403, 404), "tenant_admin granted platform_admin: %d %s" % (r.status_code, r.text)


def test_disabled_user_keys_401(shared):
    t = shared.tenant()
    u, secret, _ = shared.user_key(t["id"], role="tenant_admin")
    assert status(shared, "GET", "/admin/v1/tenants/" + t["id"], secret) == 200
    shared.ok("PATCH", "/admin/v1/users/" + u["id"], {"disabled": True})
    assert status(shared, "GET", "/admin/v1/tenants/" + t["id"], secret) == 401, "a disabled user's key still works"
    shared.ok("PATCH", "/admin/v1/users/" + u["id"], {"disabled": False})
    assert status(shared, "GET", "/admin/v1/tenants/" + t["id"], secret) == 200, "re-enabled user's key does not work"


def test_deleted_user_keys_401(shared):
    t = shared.tenant()
    u, secret, _ = shared.user_key(t["id"], role="tenant_admin")
    r = shared.api("DELETE", "/admin/v1/users/" + u["id"])
    assert r.status_code in (200, 204), r.text
    assert status(shared, "GET", "/admin/v1/tenants/" + t["id"], secret) == 401


def _fill(pattern, ids):
    out = pattern
    for name, value in ids.items():
        out = out.replace("{%s}" % name, value)
    assert "{" not in out, "cannot fill %s" % pattern
    return out


def test_suspend_and_resume(shared):
    t = shared.tenant()
    tid = t["id"]
    admin, secret = shared.tenant_admin(tid)
    p = shared.ok("POST", "/admin/v1/tenants/%s/projects" % tid, {"name": "残るデータ", "environment": "prod"},
                  token=secret)
    g = shared.ok("POST", "/admin/v1/tenants/%s/groups" % tid, {"name": "g"}, token=secret)
    bindings = shared.list_all("/admin/v1/role-bindings?principal=" + admin["id"])
    keys = shared.list_all("/admin/v1/keys?user=" + admin["id"])
    route = shared.ok("POST", "/admin/v1/projects/%s/model-routes" % p["id"],
                      {"alias": "r", "targets": [{"provider": "openai", "base_url": "http://127.0.0.1:9/v1",
                                                  "jurisdiction": "JP"}]}, token=secret)
    mapping = shared.ok("POST", "/admin/v1/sso/group-roles", {"issuer": "gov", "group": "g", "role": "member",
                                                              "scope": "tenant/" + tid}, token=secret)
    ids = {"tenant": tid, "project": p["id"], "user": admin["id"], "group": g["id"],
           "binding": bindings[0]["id"], "key": keys[0]["id"], "route": route["id"], "kms_key": tid,
           "case": "sc_" + "a" * 20, "concern": "scn_" + "a" * 20,
           "mapping": mapping["id"], "month": "2001-03", "price": "1", "erasure": "er_" + "a" * 20,
           "webhook": "wh_" + "a" * 20,
           "bucket": "no-such-bucket"}
    r = shared.api("POST", "/admin/v1/tenants/%s/suspend" % tid)
    assert r.status_code == 200, r.text
    routes = shared.ok("GET", "/admin/v1/routes")["items"]
    checked = 0
    for rt in routes:
        if rt["scope"] == "public":
            continue
        path = _fill(rt["pattern"], ids)
        if rt["pattern"] in ("/admin/v1/audit", "/admin/v1/audit/export", "/admin/v1/usage"):
            path += "?tenant=" + tid
        body = {"name": "x", "environment": "dev", "email": "s@example.jp", "principal": admin["id"],
                "role": "member", "scope": "tenant/" + tid, "user": admin["id"], "kind": "api"} \
            if rt["method"] in ("POST", "PATCH") else None
        r = shared.api(rt["method"], path, body, token=secret)
        assert r.status_code == 403, "suspended tenant's admin: %s %s -> %d %s" % (
            rt["method"], path, r.status_code, r.text)
        assert r.json()["error"]["code"] == "tenant_suspended", "%s %s: %s" % (rt["method"], path, r.text)
        checked += 1
    assert checked >= 30, "only %d routes checked" % checked
    # Data stays, and the operator still sees it.
    assert shared.ok("GET", "/admin/v1/projects/" + p["id"])["name"] == "残るデータ"
    r = shared.api("POST", "/admin/v1/tenants/%s/resume" % tid)
    assert r.status_code == 200, r.text
    assert shared.ok("GET", "/admin/v1/projects/" + p["id"], token=secret)["name"] == "残るデータ"
    assert shared.ok("GET", "/admin/v1/users/" + admin["id"], token=secret)["id"] == admin["id"]
    shared.ok("POST", "/admin/v1/tenants/%s/projects" % tid, {"name": "after", "environment": "dev"}, token=secret)


def test_roles_route_lists_roles(shared):
    names = {r["name"] for r in shared.ok("GET", "/admin/v1/roles")["items"]}
    assert {"platform_admin", "tenant_admin", "project_admin", "member", "auditor", "billing_viewer"} <= names, names
