"""Templates (docs/templates.md): validate / plan / apply through the real CLI, versions, drift (in
plan and as an audit finding), the operator's mandatory template on every new project, and each
refused weakening — through a template AND through the normal API (admin or S3), since a tenant
administrator could otherwise weaken by hand."""
import json
import time
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Daemon

CAP = 100000
MANDATORY = {
    "kasumi_template": 1,
    "template": "baseline",
    "guardrails": {"required_tags": ["system", "env", "cost_center"], "allowed_regions": ["jp-east"],
                   "max_monthly_yen": CAP, "class2_overseas": False},
    "project_defaults": {"ai_policy": {"class2_overseas": False, "default_classification": 2}},
}
TAGS = {"system": "tax", "env": "prod", "cost_center": "CC-100"}
TARGET = {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "jurisdiction": "JP"}


@pytest.fixture(scope="module")
def td(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("tpl") / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
    d.ok("PUT", "/admin/v1/platform/mandatory-template", MANDATORY, status=200)
    yield d
    d.stop()


class Org:
    """A tenant with its administrator (an API key) and a member user for role bindings."""

    def __init__(self, d, tmp):
        self.d, self.tmp = d, tmp
        self.tenant = d.tenant()["id"]
        self.admin, self.token = d.tenant_admin(self.tenant)
        self.user = d.ok("POST", "/admin/v1/tenants/%s/users" % self.tenant,
                         {"name": "職員", "email": "t-%s@example.go.jp" % uuid.uuid4().hex[:6]})["id"]

    def doc(self, project, budget=50000, tags=None, bucket_region="jp-east", policy=None, name="sys"):
        p = {"name": project, "environment": "prod", "description": "税務システム",
             "tags": dict(TAGS) if tags is None else tags,
             "budget": {"monthly_yen": budget, "alert_thresholds": [50, 80, 100]},
             "buckets": [{"name": "tb-" + project, "region": bucket_region, "tags": {"system": "tax"}}],
             "model_routes": [{"alias": "chat", "targets": [TARGET]}],
             "role_bindings": [{"principal": self.user, "role": "member"}]}
        if policy is not None:
            p["ai_policy"] = policy
        return {"kasumi_template": 1, "template": name, "tenant": self.tenant, "projects": [p]}

    def write(self, doc):
        f = self.tmp / ("t-%s.json" % uuid.uuid4().hex[:8])
        f.write_text(json.dumps(doc, ensure_ascii=False))
        return str(f)

    def cli(self, *args, check=True):
        return self.d.cli(*args, token=self.token, check=check)

    def api(self, method, path, body=None):
        return self.d.api(method, path, body, token=self.token)

    def project_id(self, name):
        for p in self.d.list_all("/admin/v1/tenants/%s/projects" % self.tenant, token=self.token):
            if p["name"] == name:
                return p["id"]
        return None


@pytest.fixture
def org(td, tmp_path):
    return Org(td, tmp_path)


def pname():
    return "p" + uuid.uuid4().hex[:10]


def refused(r, what):
    assert r.status_code == 403, "%s: expected a refusal, got %d %s" % (what, r.status_code, r.text)
    assert r.json()["error"]["code"] == "guardrail_refused", r.text


def cli_refused(org, doc, text):
    f = org.write(doc)
    for verb in ("plan", "apply"):
        p = org.cli("template", verb, f, check=False)
        assert p.returncode == 1, (verb, p.returncode, p.stdout, p.stderr)
        assert "guardrail_refused" in p.stderr and text in p.stderr, p.stderr


def test_validate(org):
    good = org.write(org.doc(pname()))
    p = org.cli("template", "validate", good)
    assert "valid" in p.stdout
    bad = org.doc(pname())
    bad["projects"][0]["buckets"][0]["name"] = "Not_A_Bucket"
    p = org.cli("template", "validate", org.write(bad), check=False)
    assert p.returncode == 2 and "not a valid bucket name" in p.stderr, p.stderr
    unknown = org.doc(pname())
    unknown["projects"][0]["colour"] = "blue"
    p = org.cli("template", "validate", org.write(unknown), check=False)
    assert p.returncode == 2 and "unknown field" in p.stderr, p.stderr
    (org.tmp / "broken.json").write_text('{"kasumi_template": 1, "template": ')
    p = org.cli("template", "validate", str(org.tmp / "broken.json"), check=False)
    assert p.returncode == 2 and "not valid JSON" in p.stderr
    # the daemon refuses the same documents by itself (the API is the contract too)
    r = org.api("POST", "/admin/v1/tenants/%s/templates/validate" % org.tenant, unknown)
    assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_field", r.text


def test_plan_apply_idempotent_and_versioned(org):
    name = pname()
    f = org.write(org.doc(name))
    plan = org.cli("template", "plan", f).stdout
    assert "+ project" in plan and name in plan and "+ bucket" in plan and "+ model_route" in plan, plan
    assert org.project_id(name) is None, "plan must not change anything"

    out = org.cli("template", "apply", f).stdout
    assert "applied as version 1 (new)" in out, out
    pid = org.project_id(name)
    assert pid
    assert org.api("GET", "/admin/v1/projects/%s/tags" % pid).json()["tags"] == TAGS
    assert org.api("GET", "/admin/v1/projects/%s/budget" % pid).json()["monthly_yen"] == 50000
    routes = org.api("GET", "/admin/v1/projects/%s/model-routes" % pid).json()["items"]
    assert [r["alias"] for r in routes] == ["chat"]
    binds = org.d.list_all("/admin/v1/role-bindings?scope=project/" + pid, token=org.token)
    assert any(b["principal"] == org.user and b["role"] == "member" for b in binds), binds

    # idempotent: nothing to do, the same version
    again = json.loads(org.cli("--output", "json", "template", "apply", f).stdout)
    assert again["version"] == 1 and again["new_version"] is False
    assert again["summary"]["create"] == 0 and again["summary"]["update"] == 0, again["summary"]
    assert len(org.d.list_all("/admin/v1/tenants/%s/projects" % org.tenant, token=org.token)) == 1

    # a changed document is a new version, and the resources it touches record it
    f2 = org.write(org.doc(name, budget=60000))
    plan = org.cli("template", "plan", f2).stdout
    assert "~ budget" in plan and "monthly_yen: 50000 -> 60000" in plan and "version 1 -> 2" in plan, plan
    out = org.cli("template", "apply", f2).stdout
    assert "applied as version 2 (new)" in out, out
    assert org.api("GET", "/admin/v1/projects/%s/budget" % pid).json()["monthly_yen"] == 60000
    versions = org.api("GET", "/admin/v1/tenants/%s/templates?name=sys" % org.tenant).json()["items"]
    assert [v["version"] for v in versions] == [2, 1]
    info = org.api("GET", "/admin/v1/projects/%s/template" % pid).json()
    managed = {(m["kind"], m["key"]): m for m in info["managed"]}
    assert managed[("budget", name)]["version"] == 2 and managed[("budget", name)]["template"] == "sys"
    assert ("bucket", "tb-" + name) in managed and ("model_route", name + "/chat") in managed
    assert info["mandatory"]["template"] == "baseline", info


def audit_drift(d, tenant, key, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        recs = [r for r in d.audit_records(tenant=tenant, action="template.drift")
                if key in (r.get("target") or "")]
        if recs:
            return recs
        time.sleep(0.2)
    raise AssertionError("no template.drift finding for %s" % key)


def test_drift_shows_in_plan_and_audit(org):
    name = pname()
    f = org.write(org.doc(name))
    org.cli("template", "apply", f)
    pid = org.project_id(name)
    plan = json.loads(org.cli("--output", "json", "template", "plan", f).stdout)
    assert plan["summary"]["drift"] == 0, plan
    # a manual change by the normal API (inside the guardrails)
    r = org.api("PUT", "/admin/v1/projects/%s/budget" % pid, {"monthly_yen": 70000})
    assert r.status_code == 200, r.text
    r = org.api("PUT", "/admin/v1/projects/%s/tags" % pid, {"tags": dict(TAGS, owner="someone")})
    assert r.status_code == 200, r.text
    plan = json.loads(org.cli("--output", "json", "template", "plan", f).stdout)
    drifted = {(c["kind"], c["key"]): c for c in plan["changes"] if c["drift"]}
    assert set(drifted) == {("budget", name), ("project_tags", name)}, plan["changes"]
    assert drifted[("budget", name)]["action"] == "update"
    assert drifted[("budget", name)]["drift_fields"][0]["field"] == "monthly_yen"
    text = org.cli("template", "plan", f).stdout
    assert "! drift" in text and "monthly_yen: 70000 -> 50000" in text, text
    recs = audit_drift(org.d, org.tenant, "budget:" + name)
    assert recs[0]["outcome"] == "finding" and "monthly_yen" in recs[0]["detail"], recs[0]
    # apply puts it back; the drift is gone
    org.cli("template", "apply", f)
    assert org.api("GET", "/admin/v1/projects/%s/budget" % pid).json()["monthly_yen"] == 50000
    plan = json.loads(org.cli("--output", "json", "template", "plan", f).stdout)
    assert plan["summary"]["drift"] == 0 and plan["summary"]["update"] == 0, plan["summary"]


def test_mandatory_applies_to_every_new_project(org):
    p = org.api("POST", "/admin/v1/tenants/%s/projects" % org.tenant,
                {"name": pname(), "environment": "dev", "tags": TAGS})
    assert p.status_code == 201, p.text
    pid = p.json()["id"]
    info = org.api("GET", "/admin/v1/projects/%s/template" % pid).json()
    assert info["mandatory"] == {"template": "baseline", "version": 1}, info
    # no default budget in the template: a new project starts at the operator's cap, never unlimited
    assert org.api("GET", "/admin/v1/projects/%s/budget" % pid).json()["monthly_yen"] == CAP
    assert org.api("GET", "/admin/v1/projects/%s/ai-policy" % pid).json()["class2_overseas"] is False
    m = org.api("GET", "/admin/v1/platform/mandatory-template").json()
    assert m["template"] == "baseline" and m["document"]["guardrails"]["max_monthly_yen"] == CAP
    # only the operator sets it
    r = org.api("PUT", "/admin/v1/platform/mandatory-template", dict(MANDATORY, guardrails={}))
    assert r.status_code == 403, r.text


def new_project(org):
    r = org.api("POST", "/admin/v1/tenants/%s/projects" % org.tenant,
                {"name": pname(), "environment": "prod", "tags": TAGS})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_refuse_dropping_a_required_tag(org):
    pid = new_project(org)
    no_cc = {k: v for k, v in TAGS.items() if k != "cost_center"}
    refused(org.api("PUT", "/admin/v1/projects/%s/tags" % pid, {"tags": no_cc}), "tags PUT")
    assert org.api("GET", "/admin/v1/projects/%s/tags" % pid).json()["tags"] == TAGS
    refused(org.api("POST", "/admin/v1/tenants/%s/projects" % org.tenant,
                    {"name": pname(), "environment": "dev", "tags": no_cc}), "project create")
    refused(org.api("POST", "/admin/v1/tenants/%s/projects" % org.tenant,
                    {"name": pname(), "environment": "dev"}), "project create without tags")
    name = pname()
    cli_refused(org, org.doc(name, tags=no_cc), "cost_center")
    assert org.project_id(name) is None


def test_refuse_class2_overseas(org):
    pid = new_project(org)
    # the tenant administrator holds ai.policy.overseas: only the guardrail stops it
    refused(org.api("PUT", "/admin/v1/projects/%s/ai-policy" % pid, {"class2_overseas": True}), "policy PUT")
    assert org.api("GET", "/admin/v1/projects/%s/ai-policy" % pid).json()["class2_overseas"] is False
    name = pname()
    cli_refused(org, org.doc(name, policy={"class2_overseas": True}), "class2_overseas")
    assert org.project_id(name) is None


def test_refuse_bucket_outside_allowed_regions(org, td):
    pid = new_project(org)
    u = org.d.ok("POST", "/admin/v1/tenants/%s/users" % org.tenant,
                 {"name": "保管", "email": "s3-%s@example.go.jp" % uuid.uuid4().hex[:6]})
    org.d.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "project_admin",
                                                 "scope": "project/" + pid})
    k = org.d.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "s3", "project": pid})
    s3 = boto3.client("s3", endpoint_url="http://" + td.s3_addr, aws_access_key_id=k["access_key_id"],
                      aws_secret_access_key=k["secret_access_key"], region_name="jp-west",
                      config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                    retries={"total_max_attempts": 1}))
    west = "w-" + uuid.uuid4().hex[:10]
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=west, CreateBucketConfiguration={"LocationConstraint": "jp-west"})
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    assert "region" in exc.value.response["Error"]["Message"]
    east = "e-" + uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=east, CreateBucketConfiguration={"LocationConstraint": "jp-east"})
    assert west not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    # bucket tags: once it carries the required tags, S3 cannot drop them either
    s3.put_bucket_tagging(Bucket=east, Tagging={"TagSet": [{"Key": k2, "Value": v} for k2, v in TAGS.items()]})
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_tagging(Bucket=east, Tagging={"TagSet": [{"Key": "system", "Value": "tax"}]})
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        s3.delete_bucket_tagging(Bucket=east)
    name = pname()
    cli_refused(org, org.doc(name, bucket_region="jp-west"), "jp-west")
    assert org.project_id(name) is None


def test_refuse_budget_above_cap(org):
    pid = new_project(org)
    refused(org.api("PUT", "/admin/v1/projects/%s/budget" % pid, {"monthly_yen": CAP + 1}), "budget PUT")
    assert org.api("GET", "/admin/v1/projects/%s/budget" % pid).json()["monthly_yen"] == CAP
    assert org.api("PUT", "/admin/v1/projects/%s/budget" % pid, {"monthly_yen": CAP}).status_code == 200
    # no budget is no cap: removing it is refused as raising it is
    refused(org.api("DELETE", "/admin/v1/projects/%s/budget" % pid), "budget DELETE")
    assert org.api("GET", "/admin/v1/projects/%s/budget" % pid).json()["monthly_yen"] == CAP
    name = pname()
    cli_refused(org, org.doc(name, budget=CAP * 2), "%d yen" % CAP)
    assert org.project_id(name) is None


def test_refuse_detaching_the_mandatory_template(org):
    pid = new_project(org)
    refused(org.api("DELETE", "/admin/v1/projects/%s/template" % pid), "detach")
    info = org.api("GET", "/admin/v1/projects/%s/template" % pid).json()
    assert info["mandatory"]["template"] == "baseline", info
    # the guardrails still hold after the attempt
    refused(org.api("PUT", "/admin/v1/projects/%s/budget" % pid, {"monthly_yen": CAP + 1}), "budget after detach")
    # a template declaring the mandatory guardrails itself is refused for a tenant
    r = org.api("POST", "/admin/v1/tenants/%s/templates/apply" % org.tenant,
                dict(MANDATORY, guardrails={"required_tags": []}))
    assert r.status_code == 400, r.text


def test_apply_never_escalates(td, tmp_path):
    """A project administrator and an auditor cannot apply (no template.apply); the auditor may
    plan. (The handler also checks each permission the document's changes need — defence in depth
    that no built-in role reaches, since template.apply is tenant_admin's and platform_admin's.)"""
    o = Org(td, tmp_path)
    pid = new_project(o)
    _, pa_token, _ = td.user_key(o.tenant, role="project_admin", scope="project/" + pid)
    _, au_token, _ = td.user_key(o.tenant, role="auditor")
    doc = o.doc(pname())
    for token, status in ((pa_token, 403), (au_token, 403)):
        r = td.api("POST", "/admin/v1/tenants/%s/templates/apply" % o.tenant, doc, token=token)
        assert r.status_code == status, r.text
    r = td.api("POST", "/admin/v1/tenants/%s/templates/plan" % o.tenant, doc, token=au_token)
    assert r.status_code == 200, r.text
    assert o.project_id(doc["projects"][0]["name"]) is None


def test_mandatory_versions_and_tightening_reach_attached_projects(org):
    """Last in this file: it changes the mandatory template of the module's daemon."""
    old = new_project(org)
    again = org.d.ok("PUT", "/admin/v1/platform/mandatory-template", MANDATORY, status=200)
    assert again["version"] == 1 and again["new_version"] is False
    tighter = dict(MANDATORY, guardrails=dict(MANDATORY["guardrails"], max_monthly_yen=CAP // 2))
    v2 = org.d.ok("PUT", "/admin/v1/platform/mandatory-template", tighter, status=200)
    assert v2["version"] == 2 and v2["new_version"] is True
    # the project attached under version 1 is held to version 2's cap at once
    refused(org.api("PUT", "/admin/v1/projects/%s/budget" % old, {"monthly_yen": CAP // 2 + 1}), "tightened cap")
    assert org.api("PUT", "/admin/v1/projects/%s/budget" % old, {"monthly_yen": CAP // 2}).status_code == 200
    new = new_project(org)
    assert org.api("GET", "/admin/v1/projects/%s/template" % new).json()["mandatory"]["version"] == 2
    assert org.api("GET", "/admin/v1/projects/%s/budget" % new).json()["monthly_yen"] == CAP // 2
    versions = org.d.ok("GET", "/admin/v1/platform/mandatory-template")
    assert versions["version"] == 2


def test_ai_policy_guardrails_raise_every_attached_project(org):
    """Last in this file (after the versions test): the operator requires redacting My Number and
    card numbers from model output. Every attached project's policy is raised when the template is
    set (not at its next change), a new project starts with it, and neither the policy API nor a
    template can let those kinds through again; tightening further stays allowed. Then the operator
    refuses content the guardrail cannot read everywhere (unscanned_content): a project that sent it
    unread to Japan is raised back to refusing, and may not choose it again."""
    old = new_project(org)
    before = org.api("GET", "/admin/v1/projects/%s/ai-policy" % old).json()
    assert before["pii_output"]["mynumber"] == "allow", before
    cur = org.d.ok("GET", "/admin/v1/platform/mandatory-template")["document"]
    strict = dict(cur, guardrails=dict(cur["guardrails"], pii_output=["mynumber", "card"]))
    r = org.d.ok("PUT", "/admin/v1/platform/mandatory-template", strict, status=200)
    assert r["new_version"] is True and r["policies_raised"] >= 1, r
    pol = org.api("GET", "/admin/v1/projects/%s/ai-policy" % old).json()
    assert (pol["pii_output"]["mynumber"], pol["pii_output"]["card"], pol["pii_output"]["phone"]) == (
        "mask", "mask", "allow"), pol
    # what a caller would get were a model to write it: redacted
    chk = org.api("POST", "/admin/v1/projects/%s/ai-policy/check" % old,
                  {"text": "個人番号は 1234 5678 9018 です"}).json()
    assert chk["output"] == {"redacted": {"mynumber": 1}, "text": "個人番号は ⟦MYNUMBER⟧ です"}, chk
    refused(org.api("PUT", "/admin/v1/projects/%s/ai-policy" % old, {"pii_output": {"mynumber": "allow"}}),
            "policy PUT letting My Number out")
    assert org.api("PUT", "/admin/v1/projects/%s/ai-policy" % old,
                   {"pii_output": {"phone": "mask"}}).status_code == 200   # tighter: allowed
    new = new_project(org)
    assert org.api("GET", "/admin/v1/projects/%s/ai-policy" % new).json()["pii_output"]["card"] == "mask"
    name = pname()
    cli_refused(org, org.doc(name, policy={"pii_output": {"card": "allow"}}), "pii_output")
    assert org.project_id(name) is None
    again = org.d.ok("PUT", "/admin/v1/platform/mandatory-template", strict, status=200)
    assert again["new_version"] is False and again["policies_raised"] == 0, again

    assert org.api("PUT", "/admin/v1/projects/%s/ai-policy" % old,
                   {"unscanned_content": "allow_in_japan"}).status_code == 200
    sealed = dict(strict, guardrails=dict(strict["guardrails"], unscanned_content="refuse"))
    r = org.d.ok("PUT", "/admin/v1/platform/mandatory-template", sealed, status=200)
    assert r["new_version"] is True and r["policies_raised"] >= 1, r
    assert org.api("GET", "/admin/v1/projects/%s/ai-policy" % old).json()["unscanned_content"] == "refuse"
    refused(org.api("PUT", "/admin/v1/projects/%s/ai-policy" % old, {"unscanned_content": "allow_in_japan"}),
            "policy PUT sending unreadable content unread")
    cli_refused(org, org.doc(pname(), policy={"unscanned_content": "allow_in_japan"}), "unscanned_content")
    # a tenant template's new project with a policy that keeps the guardrails applies (its project
    # starts from the defaults raised to them, as one created through the API does)
    kept = pname()
    org.cli("template", "apply", org.write(org.doc(kept, budget=1000, policy={"default_classification": 1})))
    pol = org.api("GET", "/admin/v1/projects/%s/ai-policy" % org.project_id(kept)).json()
    assert (pol["default_classification"], pol["pii_output"]["card"], pol["unscanned_content"]) == (1, "mask", "refuse"), pol
    bad = dict(strict, guardrails=dict(strict["guardrails"], unscanned_content="allow_in_japan"))
    assert org.d.api("PUT", "/admin/v1/platform/mandatory-template", bad).status_code == 400
