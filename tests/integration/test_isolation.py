"""Tenant isolation, generated from the route table (GET /admin/v1/routes).

For every admin route with a {param}: tenant A's administrator succeeds with A's ids; tenant B's
administrator fails, and cannot tell A's id from a random well-formed id: the status and the error
body (minus request_id) are the same. A route whose {param} the generator cannot fill fails the test,
so a new route cannot slip by untested."""
import datetime
import json
import re
import uuid

import boto3
import pytest
from botocore.config import Config

from conftest import random_id

# Which resource each {param} names. A new parameter name must be added here (and to World), or
# test_every_param_is_known fails.
PARAM_RESOURCE = {
    "tenant": "tenant",
    "project": "project",
    "user": "user",
    "group": "group",
    "binding": "binding",
    "key": "key",
    "route": "route",
    "kms_key": "kms_key",   # a tenant's key named by its owner: A's tenant id
    "case": "case",         # supply-chain register: a procurement case
    "concern": "concern",   # supply-chain register: a concern list entry (platform-level)
    "mapping": "mapping",
    "month": "month",       # billing: a JST month (platform-level: closing one is the operator's)
    "price": "price",       # billing: a price list row (platform-level)
    "erasure": "erasure",   # an erasure request of the tenant (docs/lifecycle.md)
    "webhook": "webhook",   # billing: a tenant's budget alert webhook
    "bucket": "bucket",     # a bucket of the project, by name (the console's object browser)
}

# Request bodies for routes that take one (method, pattern) -> function(world) -> body.
BODIES = {
    ("PATCH", "/admin/v1/tenants/{tenant}"): lambda w: {"name": "改名-" + uuid.uuid4().hex[:4]},
    ("POST", "/admin/v1/tenants/{tenant}/projects"): lambda w: {"name": "p-" + uuid.uuid4().hex[:4], "environment": "dev"},
    ("PATCH", "/admin/v1/projects/{project}"): lambda w: {"description": "更新"},
    ("POST", "/admin/v1/tenants/{tenant}/users"): lambda w: {"name": "u-" + uuid.uuid4().hex[:4],
                                                             "email": "%s@example.go.jp" % uuid.uuid4().hex[:8]},
    ("PATCH", "/admin/v1/users/{user}"): lambda w: {"name": "改名 " + uuid.uuid4().hex[:4]},
    ("POST", "/admin/v1/tenants/{tenant}/groups"): lambda w: {"name": "g-" + uuid.uuid4().hex[:4]},
    ("POST", "/admin/v1/projects/{project}/model-routes"): lambda w: {"alias": "iso-" + uuid.uuid4().hex[:6],
                                                                       "targets": [ROUTE_TARGET]},
    ("PATCH", "/admin/v1/model-routes/{route}"): lambda w: {"targets": [ROUTE_TARGET, ROUTE_TARGET]},
    ("PUT", "/admin/v1/projects/{project}/budget"): lambda w: {"monthly_yen": 10000},
    ("PUT", "/admin/v1/projects/{project}/keys/{key}/budget"): lambda w: {"monthly_yen": 1000},
    ("PUT", "/admin/v1/projects/{project}/keys/{key}/models"): lambda w: {"models": ["tiny"]},
    ("PUT", "/admin/v1/projects/{project}/keys/{key}/rate-limits"): lambda w: {"rpm": 10},
    ("POST", "/admin/v1/tenants/{tenant}/billing/webhooks"): lambda w: {"url": "http://127.0.0.1:9/hook"},
    ("PUT", "/admin/v1/projects/{project}/storage-quota"): lambda w: {"max_bytes": 10 ** 9},
    ("PUT", "/admin/v1/projects/{project}/ai-policy"): lambda w: {"pii": {"email": "allow"}},
    ("POST", "/admin/v1/projects/{project}/ai-policy/check"): lambda w: {"text": "project kasumi"},
    ("POST", "/admin/v1/tenants/{tenant}/kms/keys/{kms_key}/destroy"): lambda w: {"confirm": w.tenant["id"]},
    ("POST", "/admin/v1/tenants/{tenant}/export"): lambda w: {"bucket": w.bucket, "key": "export-" + uuid.uuid4().hex[:6]},
    # only requests, and the confirmed one erases a project without buckets
    ("POST", "/admin/v1/tenants/{tenant}/erasures"): lambda w: {"scope": "project", "project": w.project["id"]},
    ("POST", "/admin/v1/tenants/{tenant}/erasures/{erasure}/confirm"): lambda w: {"token": w.erasure["token"]},
    ("POST", "/admin/v1/tenants/{tenant}/supply-cases"): lambda w: {"title": "分離案件", "agency": "総務省"},
    ("PATCH", "/admin/v1/supply-cases/{case}"): lambda w: {"description": "更新"},
    ("POST", "/admin/v1/billing/prices/{price}/end"): lambda w: {"valid_until": w.price_end},
    ("POST", "/admin/v1/supply-cases/{case}/lists"): lambda w: SUPPLY_LIST,
    ("PUT", "/admin/v1/supply-cases/{case}/chain"): lambda w: {"contractors": [
        {"name": "元請", "corporate_number": "7000012050002", "country": "JP", "scope": "開発",
         "touches_information_assets": True}]},
    ("POST", "/admin/v1/supply-cases/{case}/advice"): lambda w: {"concern": False},
    ("POST", "/admin/v1/supply-cases/{case}/resolve"): lambda w: {"measures": "なし"},
    ("POST", "/admin/v1/tenants/{tenant}/templates/validate"): lambda w: TEMPLATE,
    ("POST", "/admin/v1/tenants/{tenant}/templates/plan"): lambda w: TEMPLATE,
    ("POST", "/admin/v1/tenants/{tenant}/templates/apply"): lambda w: TEMPLATE,
    ("PUT", "/admin/v1/projects/{project}/tags"): lambda w: {"tags": {"system": "iso", "env": "dev"}},
    ("PUT", "/admin/v1/projects/{project}/buckets/{bucket}/object"): lambda w: {"iso": "object"},
}
# Query strings for routes that name what they act on there too (an object's key may hold '/').
QUERIES = {
    ("GET", "/admin/v1/projects/{project}/buckets/{bucket}/object"): "?key=" + "iso/object",
    ("PUT", "/admin/v1/projects/{project}/buckets/{bucket}/object"): "?key=" + "iso/object",
    ("DELETE", "/admin/v1/projects/{project}/buckets/{bucket}/object"): "?key=" + "iso/object",
}
TEMPLATE = {"kasumi_template": 1, "template": "iso", "projects": []}
SUPPLY_LIST = {"items": [{"company": "分離株式会社", "seq": 1, "category": "サーバ", "maker": "A",
                          "maker_corporate_number": "7000012050002", "product": "S", "model": "M"}]}
NO_BODY = {("POST", "/admin/v1/tenants/{tenant}/suspend"), ("POST", "/admin/v1/tenants/{tenant}/resume"),
           ("POST", "/admin/v1/billing/months/{month}/close"),
           ("PUT", "/admin/v1/groups/{group}/members/{user}"),
           ("POST", "/admin/v1/supply-cases/{case}/submit"), ("POST", "/admin/v1/supply-cases/{case}/review")} | {
    ("POST", "/admin/v1/tenants/{tenant}/kms/keys/{kms_key}/" + op) for op in ("rotate", "disable", "enable")}

ROUTE_TARGET = {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "jurisdiction": "JP"}

PARAM_RE = re.compile(r"\{([a-z_]+)\}")


class World:
    """A tenant with an administrator (user + key) and one of every resource."""

    def __init__(self, d, label):
        self.d = d
        self.tenant = d.tenant(name="分離テスト" + label)
        tid = self.tenant["id"]
        self.admin_user, self.token = d.tenant_admin(tid)
        self.project = d.ok("POST", "/admin/v1/tenants/%s/projects" % tid, {"name": "proj " + label, "environment": "prod"})
        self.user = d.ok("POST", "/admin/v1/tenants/%s/users" % tid,
                         {"name": "職員 " + label, "email": "staff-%s@example.go.jp" % uuid.uuid4().hex[:6]})
        self.group = d.ok("POST", "/admin/v1/tenants/%s/groups" % tid, {"name": "group " + label})
        r = d.api("PUT", "/admin/v1/groups/%s/members/%s" % (self.group["id"], self.user["id"]))
        assert r.status_code in (200, 201, 204), r.text
        self.binding = d.ok("POST", "/admin/v1/role-bindings", {"principal": self.user["id"], "role": "member",
                                                                "scope": "project/" + self.project["id"]})
        self.key = d.ok("POST", "/admin/v1/keys", {"user": self.user["id"], "kind": "api"})
        self.route = self.new_route()
        self.bucket = self.new_bucket()
        # a procurement case with a list (its workflow routes run in table order: submit needs one)
        self.case = d.ok("POST", "/admin/v1/tenants/%s/supply-cases" % tid, {"title": "案件 " + label, "agency": "総務省"})
        d.ok("POST", "/admin/v1/supply-cases/%s/lists" % self.case["id"], SUPPLY_LIST, status=201)
        self.concern = self.new_concern()
        self.mapping = self.new_mapping()
        # the erasure confirmed below empties a project of its own, so that the bucket survives
        doomed = d.ok("POST", "/admin/v1/tenants/%s/projects" % tid, {"name": "erase " + label, "environment": "dev"})
        self.erasure = d.ok("POST", "/admin/v1/tenants/%s/erasures" % tid,
                            {"scope": "project", "project": doomed["id"]})
        # billing: a past month to close, and an open-ended price (each world its own meter, far
        # ahead, so the two never overlap) to end
        self.month = "2001-01" if label == "A" else "2001-02"
        start = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3000)
        self.price_end = (start + datetime.timedelta(days=1)).isoformat()
        self.webhook = self.new_webhook()
        self.price = d.ok("POST", "/admin/v1/billing/prices", {
            "service": "storage", "meter": "bytes_in" if label == "A" else "requests_write",
            "unit": "byte" if label == "A" else "request", "price": "1", "valid_from": start.isoformat()})

    def new_bucket(self):
        """A bucket of the project (for routes that write into one: the export into a bucket)."""
        k = self.d.ok("POST", "/admin/v1/keys", {"user": self.admin_user["id"], "kind": "s3",
                                                 "project": self.project["id"]})
        s3 = boto3.client("s3", endpoint_url="http://" + json.loads((self.d.data_dir / "listen.json").read_text())["s3"],
                          aws_access_key_id=k["access_key_id"], aws_secret_access_key=k["secret_access_key"],
                          region_name="jp-east", config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
        name = "iso-" + uuid.uuid4().hex[:10]
        s3.create_bucket(Bucket=name)
        s3.put_object(Bucket=name, Key="iso/object", Body=b"isolated")   # for the object routes
        return name

    def new_concern(self):
        return self.d.ok("POST", "/admin/v1/supply-concerns", {"model_pattern": "iso-" + uuid.uuid4().hex[:6], "reason": "分離"})

    def new_mapping(self):
        return self.d.ok("POST", "/admin/v1/sso/group-roles", {"issuer": "gov", "group": "g-" + uuid.uuid4().hex[:6],
                                                               "role": "member", "scope": "tenant/" + self.tenant["id"]})

    def new_webhook(self):
        return self.d.ok("POST", "/admin/v1/tenants/%s/billing/webhooks" % self.tenant["id"],
                         {"url": "http://127.0.0.1:9/hook"})

    def new_route(self):
        return self.d.ok("POST", "/admin/v1/projects/%s/model-routes" % self.project["id"],
                         {"alias": "iso-" + uuid.uuid4().hex[:8], "targets": [ROUTE_TARGET]})

    def ids(self):
        return {"tenant": self.tenant["id"], "project": self.project["id"], "user": self.user["id"],
                "group": self.group["id"], "binding": self.binding["id"], "key": self.key["id"],
                "route": self.route["id"], "kms_key": self.tenant["id"], "case": self.case["id"],
                "concern": self.concern["id"],
                "mapping": self.mapping["id"], "month": self.month, "price": str(self.price["id"]),
                "erasure": self.erasure["id"],
                "webhook": self.webhook["id"], "bucket": self.bucket}

    def throwaway(self, param):
        """A fresh resource of A for a destructive call, so the shared ones survive."""
        d, tid = self.d, self.tenant["id"]
        if param == "project":
            return d.ok("POST", "/admin/v1/tenants/%s/projects" % tid,
                        {"name": "tmp-" + uuid.uuid4().hex[:6], "environment": "dev"})["id"]
        if param == "user":
            return d.ok("POST", "/admin/v1/tenants/%s/users" % tid,
                        {"name": "tmp", "email": "tmp-%s@example.go.jp" % uuid.uuid4().hex[:8]})["id"]
        if param == "group":
            return d.ok("POST", "/admin/v1/tenants/%s/groups" % tid, {"name": "tmp"})["id"]
        if param == "binding":
            return d.ok("POST", "/admin/v1/role-bindings", {"principal": self.user["id"], "role": "auditor",
                                                            "scope": "tenant/" + tid})["id"]
        if param == "key":
            return d.ok("POST", "/admin/v1/keys", {"user": self.user["id"], "kind": "api"})["id"]
        if param == "route":
            return self.new_route()["id"]
        if param == "concern":
            return self.new_concern()["id"]
        if param == "mapping":
            return self.new_mapping()["id"]
        if param == "webhook":
            return self.new_webhook()["id"]
        if param == "bucket":   # the object DELETE: a bucket of its own, holding the object it names
            return self.new_bucket()
        if param == "tenant":
            raise AssertionError("no route may delete a tenant through this generator without a throw-away tenant")
        raise AssertionError("no throw-away for {%s}" % param)


@pytest.fixture(scope="module")
def worlds(shared):
    return World(shared, "A"), World(shared, "B")


def fill(pattern, ids, method=None):
    return PARAM_RE.sub(lambda m: ids[m.group(1)], pattern) + QUERIES.get((method, pattern), "")


def strip(resp):
    """(status, body without request_id) for comparing two refusals."""
    try:
        body = resp.json()
    except ValueError:
        body = resp.text
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = dict(body, error={k: v for k, v in body["error"].items() if k != "request_id"})
    return resp.status_code, body


def param_routes(d):
    """Routes with a {param} that names a resource. Public routes name none (the console's files
    are the same for everyone), so there is nothing of a tenant's to isolate."""
    routes = d.ok("GET", "/admin/v1/routes")["items"]
    return [r for r in routes if PARAM_RE.search(r["pattern"]) and r["scope"] != "public"]


def test_every_param_is_known(shared):
    unknown = sorted({(r["method"], r["pattern"], p) for r in param_routes(shared)
                      for p in PARAM_RE.findall(r["pattern"]) if p not in PARAM_RESOURCE})
    assert not unknown, "routes with a {param} the isolation generator cannot fill: %s" % unknown
    for r in param_routes(shared):
        key = (r["method"], r["pattern"])
        if r["method"] in ("POST", "PATCH", "PUT") and key not in NO_BODY:
            assert key in BODIES, "no request body known for %s %s: add it to BODIES" % key


def test_cross_tenant_routes(shared, worlds):
    A, B = worlds
    items = shared.ok("GET", "/admin/v1/roles")["items"]
    if isinstance(items, dict):   # tolerate a wrapped list here: test_iam checks the route's shape
        items = items["items"]
    admin_perms = {r["name"]: set(r["permissions"]) for r in items}
    tenant_admin_perms = admin_perms["tenant_admin"]
    # table order (workflows: a case's submit needs its list), but the irreversible ones last, so
    # that every route after them in the table still finds A's data readable (the tenant key is
    # destroyed, a project erased)
    routes = sorted(param_routes(shared), key=lambda r: r["pattern"].endswith(("/destroy", "/confirm")))
    assert len(routes) >= 20, "suspiciously few parameterised routes: %d" % len(routes)
    exercised, failures = [], []
    for rt in routes:
        method, pattern = rt["method"], rt["pattern"]
        params = PARAM_RE.findall(pattern)
        destructive = method == "DELETE"
        a_ids = A.ids()
        if destructive:
            # the last {param} is what the DELETE removes; it gets a throw-away of A
            victim = params[-1]
            a_ids[victim] = A.throwaway(victim)
            if pattern == "/admin/v1/groups/{group}/members/{user}":
                a_ids["group"] = A.throwaway("group")
                r = shared.api("PUT", "/admin/v1/groups/%s/members/%s" % (a_ids["group"], a_ids["user"]))
                assert r.status_code in (200, 201, 204), r.text
        make_body = BODIES.get((method, pattern))
        body = make_body(A) if make_body else None
        b_ids, rnd_ids = B.ids(), {p: random_id(a_ids[p]) for p in params}

        # 1. B with all of A's ids vs B with all-random ids
        variants = [({p: a_ids[p] for p in params}, dict(rnd_ids))]
        # 2. with several params: B's own ids everywhere but one, which is A's vs random
        if len(params) > 1:
            for p in params:
                mixed_a = {q: (a_ids[q] if q == p else b_ids[q]) for q in params}
                mixed_r = {q: (rnd_ids[q] if q == p else b_ids[q]) for q in params}
                variants.append((mixed_a, mixed_r))
        for with_a, with_rnd in variants:
            path_a, path_r = fill(pattern, with_a, method), fill(pattern, with_rnd, method)
            ra = shared.api(method, path_a, body, token=B.token)
            rr = shared.api(method, path_r, body, token=B.token)
            if ra.status_code < 400:
                failures.append("B's admin SUCCEEDED on A's resource: %s %s -> %d %s" % (method, path_a, ra.status_code, ra.text[:300]))
            elif strip(ra) != strip(rr):
                failures.append("B can tell A's id from a random one: %s %s -> %r; random %s -> %r" % (
                    method, path_a, strip(ra), path_r, strip(rr)))

        # 3. A's own admin succeeds (routes its role does not grant: 403, and the operator succeeds)
        path = fill(pattern, a_ids, method)
        if rt["permission"] and rt["permission"] not in tenant_admin_perms:
            r = shared.api(method, path, body, token=A.token)
            if r.status_code != 403:
                failures.append("A's tenant_admin lacks %s but %s %s -> %d %s" % (
                    rt["permission"], method, path, r.status_code, r.text[:300]))
            r = shared.api(method, path, body)
            who = "platform admin"
        else:
            r = shared.api(method, path, body, token=A.token)
            who = "A's tenant_admin"
        if not 200 <= r.status_code < 300:
            failures.append("%s failed on its own resource: %s %s -> %d %s" % (who, method, path, r.status_code, r.text[:300]))
        if pattern.endswith("/suspend"):
            rs = shared.api("POST", "/admin/v1/tenants/%s/resume" % A.tenant["id"])
            assert rs.status_code == 200, rs.text
        exercised.append((method, pattern))

    missing = {(r["method"], r["pattern"]) for r in routes} - set(exercised)
    assert not missing, "parameterised routes not exercised: %s" % sorted(missing)
    assert not failures, "%d isolation failures:\n  " % len(failures) + "\n  ".join(failures)

    # A's resources are intact after B's attempts.
    t = shared.ok("GET", "/admin/v1/tenants/" + A.tenant["id"], token=A.token)
    assert t["corporate_number"] == A.tenant["corporate_number"]
    assert shared.api("GET", "/admin/v1/keys/" + A.key["id"], token=A.token).status_code == 200
    assert shared.api("GET", "/admin/v1/whoami", token=A.token).status_code == 200


def test_tenant_list_hides_other_tenants(shared, worlds):
    A, B = worlds
    seen = [t["id"] for t in shared.list_all("/admin/v1/tenants", token=B.token)]
    assert A.tenant["id"] not in seen, "B's admin sees tenant A in the list"
    assert B.tenant["id"] in seen, "B's admin does not see its own tenant"
    assert A.tenant["id"] in [t["id"] for t in shared.list_all("/admin/v1/tenants")], "the operator misses A"


def test_query_filters_cannot_reach_other_tenant(shared, worlds):
    """AUTH/BODY routes that name A only in the query string or body."""
    A, B = worlds
    rnd_t = random_id(A.tenant["id"])
    rnd_u = random_id(A.user["id"])
    rnd_p = random_id(A.project["id"])
    pairs = [
        ("GET", "/admin/v1/audit?tenant=" + A.tenant["id"], "/admin/v1/audit?tenant=" + rnd_t, None, None),
        ("GET", "/admin/v1/audit/export?tenant=" + A.tenant["id"], "/admin/v1/audit/export?tenant=" + rnd_t, None, None),
        ("GET", "/admin/v1/usage?tenant=" + A.tenant["id"], "/admin/v1/usage?tenant=" + rnd_t, None, None),
        ("GET", "/admin/v1/keys?tenant=" + A.tenant["id"], "/admin/v1/keys?tenant=" + rnd_t, None, None),
        ("GET", "/admin/v1/keys?user=" + A.user["id"], "/admin/v1/keys?user=" + rnd_u, None, None),
        ("GET", "/admin/v1/role-bindings?principal=" + A.user["id"], "/admin/v1/role-bindings?principal=" + rnd_u, None, None),
        ("GET", "/admin/v1/role-bindings?scope=tenant/" + A.tenant["id"], "/admin/v1/role-bindings?scope=tenant/" + rnd_t, None, None),
        ("POST", "/admin/v1/role-bindings", "/admin/v1/role-bindings",
         {"principal": B.user["id"], "role": "member", "scope": "tenant/" + A.tenant["id"]},
         {"principal": B.user["id"], "role": "member", "scope": "tenant/" + rnd_t}),
        ("POST", "/admin/v1/role-bindings", "/admin/v1/role-bindings",
         {"principal": B.user["id"], "role": "member", "scope": "project/" + A.project["id"]},
         {"principal": B.user["id"], "role": "member", "scope": "project/" + rnd_p}),
        ("POST", "/admin/v1/role-bindings", "/admin/v1/role-bindings",
         {"principal": A.user["id"], "role": "member", "scope": "tenant/" + B.tenant["id"]},
         {"principal": rnd_u, "role": "member", "scope": "tenant/" + B.tenant["id"]}),
        ("POST", "/admin/v1/keys", "/admin/v1/keys", {"user": A.user["id"], "kind": "api"},
         {"user": rnd_u, "kind": "api"}),
        ("POST", "/admin/v1/keys", "/admin/v1/keys", {"user": B.user["id"], "kind": "api", "project": A.project["id"]},
         {"user": B.user["id"], "kind": "api", "project": rnd_p}),
    ]
    failures = []
    for method, path_a, path_r, body_a, body_r in pairs:
        ra = shared.api(method, path_a, body_a, token=B.token)
        rr = shared.api(method, path_r, body_r, token=B.token)
        leaked = [v for v in (A.tenant["id"], A.user["id"], A.project["id"], A.key["id"]) if v in ra.text
                  and v not in path_a and v not in json.dumps(body_a)]
        if method == "POST" and ra.status_code < 400:
            failures.append("B's admin succeeded: %s %s %r -> %d %s" % (method, path_a, body_a, ra.status_code, ra.text[:200]))
        elif leaked:
            failures.append("%s %s shows A's ids %s to B" % (method, path_a, leaked))
        elif strip(ra) != strip(rr) and not (ra.status_code == rr.status_code == 200 and method == "GET"
                                             and _same_empty(ra, rr)):
            failures.append("B can tell A from random: %s %s %r -> %r; random -> %r" % (
                method, path_a, body_a, strip(ra), strip(rr)))
    assert not failures, "\n".join(failures)


def _same_empty(ra, rr):
    """Two 200 lists that both show nothing (audit/export answers carry no request id)."""
    try:
        a, r = ra.json(), rr.json()
        return a.get("items") == [] and r.get("items") == []
    except ValueError:
        return ra.text.strip() == rr.text.strip() == ""
