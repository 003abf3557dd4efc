"""The two environments side by side (SPEC.md O1–O4, issue 8): a govcloud and an overseas-ai kasumid,
the tenant identities carried from one to the other by `kasumi tenant export-identities` /
`import-identities`, and the governed path govcloud → overseas-ai → a model server (the fault
server's echo, which answers with the prompt, so a completion carries what the prompt did).

Asserted: separation (administrators, audit logs and bills never mix), the governed path end to end
(masked in govcloud, restored in the answer, billed once and in the overseas account), the
overseas environment's own rules (its users may only send 機密性1; only govcloud's relay may name a
tenant), residency refusals in govcloud with their audited reasons, that overseas-ai stores nothing
(no storage routes, swap refused, no core dumps), and the canary test: 1,000 requests whose prompts
and completions carry a unique marker, after which the data directory, every log and every file the
process holds open are searched for it."""
import concurrent.futures
import json
import os
import pathlib
import subprocess
import time
import uuid

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import KASUMID, Daemon, new_corpnum

PHONE = "03-1234-5678"
PROJECT = "窓口AI-" + uuid.uuid4().hex[:4]   # a Japanese name: carried percent-encoded
MODEL = "gpt-next"


def ai_url(d):
    return "http://" + json.loads((d.data_dir / "listen.json").read_text())["ai"]


def chat(base, key, content, headers=None, model=MODEL, stream=False):
    h = {"Authorization": "Bearer " + key}
    h.update(headers or {})
    body = {"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": 64}
    if stream:
        body["stream"] = True
    return requests.post(base + "/v1/chat/completions", json=body, headers=h, timeout=60)


def usage_items(d, tenant):
    return d.ok("GET", "/admin/v1/usage?tenant=%s&limit=1000" % tenant)["items"]


def wait_for(pred, timeout=10):
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v or time.time() > deadline:
            return v
        time.sleep(0.1)


class Pair:
    """govcloud and overseas-ai, one tenant known to both, the governed route between them."""

    def __init__(self, tmp, fault):
        self.fault = fault
        # debug: no body at any log level (the canary test reads the log)
        self.ov = Daemon(tmp / "overseas", env_kind="overseas-ai",
                         extra_args=["--ai-listen", "127.0.0.1:0", "--log-level", "debug"]).start()
        self.ov_ai = ai_url(self.ov)
        self.gov = Daemon(tmp / "gov", extra_args=["--ai-listen", "127.0.0.1:0", "--s3-listen", "127.0.0.1:0",
                                                   "--overseas-allow", self.ov_ai + "/"]).start()
        self.gov_ai = ai_url(self.gov)
        # govcloud: the tenant, its project, a member's key; the tenant admin enables 機密性2 abroad
        self.cn = new_corpnum()
        self.gt = self.gov.ok("POST", "/admin/v1/tenants", {"kind": "ministry", "name": "海外推論庁",
                                                            "corporate_number": self.cn})["id"]
        self.gp = self.gov.ok("POST", "/admin/v1/tenants/%s/projects" % self.gt,
                              {"name": PROJECT, "environment": "prod"})["id"]
        _, self.gkey, _ = self.gov.user_key(self.gt, role="member", scope="project/" + self.gp, project=self.gp)
        self.gov.ok("PUT", "/admin/v1/projects/%s/ai-policy" % self.gp, {"class2_overseas": True})
        # the identities travel; each environment gives the tenant its own id
        reg = tmp / "registry.json"
        self.gov.cli("tenant", "export-identities", "--out", str(reg))
        self.registry = json.loads(reg.read_text())
        out = self.ov.cli("tenant", "import-identities", str(reg)).stdout
        assert "created" in out, out
        (self.ot,) = [t["id"] for t in self.ov.list_all("/admin/v1/tenants") if t["corporate_number"] == self.cn]
        assert self.ot != self.gt
        # overseas-ai: the same project by name, its model route and price, and the relay's key
        self.op = self.ov.ok("POST", "/admin/v1/tenants/%s/projects" % self.ot,
                             {"name": PROJECT, "environment": "prod"})["id"]
        self.ov.ok("POST", "/admin/v1/projects/%s/model-routes" % self.op, {"alias": MODEL, "targets": [
            {"provider": "openai", "base_url": fault.base_url, "model": "fault:echo", "jurisdiction": "US"}]})
        self.ov.ok("POST", "/admin/v1/model-prices", {"model": MODEL, "prompt_per_1k": "2", "completion_per_1k": "6"})
        relay = self.ov.ok("POST", "/admin/v1/platform/users", {"name": "govcloud relay", "email": "relay@gov.example.jp"})
        self.ov.ok("POST", "/admin/v1/role-bindings", {"principal": relay["id"], "role": "ai_relay", "scope": "platform"})
        self.relay_user = relay["id"]
        self.relay_key = self.ov.ok("POST", "/admin/v1/keys", {"user": relay["id"], "kind": "api"})["secret"]
        cred = tmp / "overseas-relay.key"
        cred.write_text(self.relay_key + "\n")
        cred.chmod(0o600)
        # govcloud: the overseas endpoint as the route's target, with the relay's key
        self.gov.ok("POST", "/admin/v1/projects/%s/model-routes" % self.gp, {"alias": MODEL, "targets": [
            {"provider": "openai", "base_url": self.ov_ai + "/v1", "model": MODEL, "jurisdiction": "US",
             "credential_ref": str(cred)}]})
        # an overseas-ai user of the tenant, calling directly
        _, self.okey, _ = self.ov.user_key(self.ot, role="member", scope="project/" + self.op, project=self.op)

    def stop(self):
        for d in (self.gov, self.ov):
            if d.proc is not None:
                d.stop()


@pytest.fixture(scope="module")
def pair(tmp_path_factory, fault_server):
    p = Pair(tmp_path_factory.mktemp("overseas"), fault_server)
    yield p
    p.stop()


# ---- identities ----------------------------------------------------------------------------------

def test_identity_registry(pair, tmp_path):
    reg = pair.registry
    assert reg["format"] == "kasumi-registry/1" and reg["exported"].endswith("Z")
    (t,) = [t for t in reg["tenants"] if t["corporate_number"] == pair.cn]
    assert t == {"corporate_number": pair.cn, "name": "海外推論庁", "kind": "ministry", "status": "active"}
    assert all("id" not in t for t in reg["tenants"])   # ids are each environment's own
    # import is idempotent, ignores fields it does not know (the lifecycle export's full form)
    # and carries a suspended status
    cn2 = new_corpnum()
    full = dict(reg, projects=[{"name": "x"}], tenants=reg["tenants"] + [
        {"corporate_number": cn2, "name": "停止中の市", "kind": "local_government", "status": "suspended",
         "projects": [], "budgets": {}}])
    f = tmp_path / "full.json"
    f.write_text(json.dumps(full, ensure_ascii=False))
    out = pair.ov.cli("--output", "json", "tenant", "import-identities", str(f)).stdout
    assert json.loads(out) == {"created": 1, "unchanged": len(reg["tenants"])}
    (t2,) = [t for t in pair.ov.list_all("/admin/v1/tenants") if t["corporate_number"] == cn2]
    assert t2["status"] == "suspended" and t2["kind"] == "local_government"
    f.write_text(json.dumps({"format": "something-else", "tenants": []}))
    p = pair.ov.cli("tenant", "import-identities", str(f), check=False)
    assert p.returncode == 2 and "kasumi-registry/1" in p.stderr


# ---- the governed path ---------------------------------------------------------------------------

def test_governed_path_end_to_end(pair):
    before_ov = len(usage_items(pair.ov, pair.ot))
    r = chat(pair.gov_ai, pair.gkey, "至急 %s に折り返してください" % PHONE, {"X-Kasumi-Classification": "2"})
    assert r.status_code == 200, r.text
    assert PHONE in r.json()["choices"][0]["message"]["content"]       # restored in govcloud
    sent = pair.fault.last_request()
    text = json.dumps(sent["body"], ensure_ascii=False)
    assert PHONE not in text and "⟦PHONE_1⟧" in text                   # masked before it left Japan
    hdrs = {k.lower(): v for k, v in sent["headers"].items()}
    assert not [k for k in hdrs if k.startswith("x-kasumi")]            # overseas-ai does not pass them on
    assert pair.relay_key not in json.dumps(hdrs)
    rid = r.headers["X-Request-Id"]
    # govcloud records the forwarded request without charge
    rec = wait_for(lambda: next((u for u in usage_items(pair.gov, pair.gt) if u["request_id"] == rid), None))
    assert rec and rec["cost_microyen"] == 0 and rec["details"]["forwarded"] is True, rec
    # overseas-ai bills it, once, to the same tenant under its own id and account
    items = wait_for(lambda: (lambda it: it if len(it) > before_ov else None)(usage_items(pair.ov, pair.ot)))
    assert items and len(items) == before_ov + 1, items
    new = [u for u in items if u["project"] == pair.op][0]
    assert new["cost_microyen"] > 0 and new["tenant"] == pair.ot
    # the overseas decision record: the relay acted for the tenant, 機密性2
    dec = wait_for(lambda: [a for a in pair.ov.audit_records(tenant=pair.ot, action="ai.decision")
                            if "on_behalf=govcloud" in (a.get("detail") or "")])
    assert dec and dec[0]["principal"] == pair.relay_user and "class=2" in dec[0]["detail"], dec
    # a stream through both gateways, restored on the way back
    r = chat(pair.gov_ai, pair.gkey, "電話 %s まで" % PHONE, {"X-Kasumi-Classification": "2"}, stream=True)
    assert r.status_code == 200 and PHONE in "".join(
        json.loads(l[6:])["choices"][0]["delta"].get("content") or ""
        for l in r.text.splitlines() if l.startswith("data: {") and json.loads(l[6:])["choices"])
    # the Responses API takes the same governed path, whole and streamed
    for stream in (False, True):
        r = requests.post(pair.gov_ai + "/v1/responses", timeout=60, json={
            "model": MODEL, "input": "電話 %s まで" % PHONE, "max_output_tokens": 64, "stream": stream},
            headers={"Authorization": "Bearer " + pair.gkey, "X-Kasumi-Classification": "2"})
        assert r.status_code == 200, r.text
        assert PHONE not in json.dumps(pair.fault.last_request()["body"], ensure_ascii=False)
        text = r.json()["output"][0]["content"][0]["text"] if not stream else "".join(
            json.loads(l[6:])["delta"] for l in r.text.splitlines()
            if l.startswith("data: {") and json.loads(l[6:])["type"] == "response.output_text.delta")
        assert PHONE in text, r.text
    # and text completions: to the overseas model's /completions, masked, restored in govcloud
    for stream in (False, True):
        r = requests.post(pair.gov_ai + "/v1/completions", timeout=60, json={
            "model": MODEL, "prompt": "電話 %s まで" % PHONE, "max_tokens": 64, "stream": stream},
            headers={"Authorization": "Bearer " + pair.gkey, "X-Kasumi-Classification": "2"})
        assert r.status_code == 200, r.text
        sent = pair.fault.last_request()
        assert sent["path"] == "/v1/completions" and PHONE not in json.dumps(sent["body"], ensure_ascii=False)
        text = r.json()["choices"][0]["text"] if not stream else "".join(
            json.loads(l[6:])["choices"][0]["text"] for l in r.text.splitlines()
            if l.startswith("data: {") and json.loads(l[6:])["choices"])
        assert PHONE in text, r.text
    # and reranking: the documents masked before they leave Japan, restored in govcloud's answer
    docs = ["窓口 %s" % PHONE, "今日の天気"]
    r = requests.post(pair.gov_ai + "/v1/rerank", timeout=60, json={"model": MODEL, "query": "窓口", "documents": docs},
                      headers={"Authorization": "Bearer " + pair.gkey, "X-Kasumi-Classification": "2"})
    assert r.status_code == 200, r.text
    sent = pair.fault.last_request()
    assert sent["path"] == "/v1/rerank" and PHONE not in json.dumps(sent["body"], ensure_ascii=False), sent
    assert [x["document"]["text"] for x in r.json()["results"]] == docs, r.text


def test_bills_never_mix(pair):
    month = time.strftime("%Y-%m", time.gmtime(time.time() + 9 * 3600))
    chat(pair.gov_ai, pair.gkey, "請求の確認", {"X-Kasumi-Classification": "1"})

    def lines(d, tenant):
        rows = d.ok("GET", "/admin/v1/billing/report?month=%s&tenant=%s&format=json" % (month, tenant))
        return [l for inv in rows["invoices"] for l in inv["lines"]] if "invoices" in rows else rows

    deadline = time.time() + 10
    while True:
        gl, ol = lines(pair.gov, pair.gt), lines(pair.ov, pair.ot)
        if any(l["ServiceName"] == "kasumi AI Gateway" for l in ol) or time.time() > deadline:
            break
        time.sleep(0.2)
    assert {l["BillingAccountId"] for l in gl} == {pair.gt}
    assert {l["BillingAccountId"] for l in ol} == {pair.ot + "@overseas-ai"}
    assert {l["x_Deployment"] for l in ol} == {"overseas-ai"} and {l["x_Deployment"] for l in gl} == {"govcloud"}
    assert {l["x_CorporateNumber"] for l in gl + ol} == {pair.cn}
    ai_gov = [l for l in gl if l["ChargeCategory"] == "Usage" and l["ServiceName"] == "kasumi AI Gateway"]
    assert sum(float(l["BilledCost"]) for l in ai_gov) == 0            # billed once: overseas
    ai_ov = [l for l in ol if l["ChargeCategory"] == "Usage" and l["ServiceName"] == "kasumi AI Gateway"]
    assert sum(float(l["BilledCost"]) for l in ai_ov) > 0


def test_classification_in_govcloud(pair):
    before = pair.fault.stats()["requests"]
    r = chat(pair.gov_ai, pair.gkey, "極秘 %s" % PHONE, {"X-Kasumi-Classification": "3"})
    assert r.status_code == 403, r.text
    rid = r.headers["X-Request-Id"]
    rec = pair.gov.audit_wait(rid, action="ai.decision")
    assert "reason=class3_never_leaves_japan" in rec["detail"] and rec["outcome"] == "denied", rec
    # the tenant administrator turns 機密性2 abroad off: unlabelled (2) stays in Japan
    pair.gov.ok("PUT", "/admin/v1/projects/%s/ai-policy" % pair.gp, {"class2_overseas": False})
    try:
        r = chat(pair.gov_ai, pair.gkey, "ラベルなし")
        assert r.status_code == 403
        rec = pair.gov.audit_wait(r.headers["X-Request-Id"], action="ai.decision")
        assert "reason=class2_overseas_not_enabled" in rec["detail"], rec
    finally:
        pair.gov.ok("PUT", "/admin/v1/projects/%s/ai-policy" % pair.gp, {"class2_overseas": True})
    assert pair.fault.stats()["requests"] == before                     # nothing left Japan
    # a route with a target in Japan too: 機密性3 is served there, and nothing is "refused"
    cred = pair.gov.ok("GET", "/admin/v1/projects/%s/model-routes" % pair.gp)["items"][0]["targets"][0]["credential_ref"]
    pair.gov.ok("POST", "/admin/v1/projects/%s/model-routes" % pair.gp, {"alias": "mixed", "targets": [
        {"provider": "openai", "base_url": pair.ov_ai + "/v1", "model": MODEL, "jurisdiction": "US",
         "credential_ref": cred},
        {"provider": "openai", "base_url": pair.fault.base_url, "model": "fault:echo", "jurisdiction": "JP"}]})
    pair.gov.ok("POST", "/admin/v1/model-prices", {"model": "mixed", "prompt_per_1k": "1", "completion_per_1k": "1"})
    r = chat(pair.gov_ai, pair.gkey, "国内だけで", {"X-Kasumi-Classification": "3"}, model="mixed")
    assert r.status_code == 200, r.text
    rec = pair.gov.audit_wait(r.headers["X-Request-Id"], action="ai.decision")
    assert "reason=" not in rec["detail"] and rec["outcome"] == "success" and "targets=1" in rec["detail"], rec
    # govcloud itself takes no on-behalf names
    r = chat(pair.gov_ai, pair.gkey, "x", {"X-Kasumi-On-Behalf-Tenant": pair.cn,
                                          "X-Kasumi-On-Behalf-Project": "p"})
    assert r.status_code == 400 and "overseas" in r.json()["error"]["message"]


def test_overseas_enforces_again(pair):
    ov, h1 = pair.ov_ai, {"X-Kasumi-Classification": "1"}
    # its own users: only what they declare 機密性1, whatever the project's default
    pair.ov.ok("PUT", "/admin/v1/projects/%s/ai-policy" % pair.op, {"default_classification": 1})
    for hdr in (None, "2", "3"):
        r = chat(ov, pair.okey, "x", {"X-Kasumi-Classification": hdr} if hdr else {})
        assert r.status_code == 403, (hdr, r.text)
    r = chat(ov, pair.okey, "公開情報の要約", h1)
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "公開情報の要約"
    rec = pair.ov.audit_wait(chat(ov, pair.okey, "y", {"X-Kasumi-Classification": "2"}).headers["X-Request-Id"],
                             action="ai.decision")
    assert "reason=overseas_direct_needs_class1" in rec["detail"], rec
    # only the relay may name a tenant; a member's key may not
    names = {"X-Kasumi-On-Behalf-Tenant": pair.cn,
             "X-Kasumi-On-Behalf-Project": requests.utils.quote(PROJECT, safe="")}
    r = chat(ov, pair.okey, "x", dict(names, **h1))
    assert r.status_code == 403 and "on behalf" in r.json()["error"]["message"]
    # the relay: 機密性3 never, even when named; unknown names are 404; a bad 法人番号 is 400
    r = chat(ov, pair.relay_key, "x", dict(names, **{"X-Kasumi-Classification": "3"}))
    assert r.status_code == 403
    r = chat(ov, pair.relay_key, "x", dict(names, **{"X-Kasumi-On-Behalf-Project": "nonexistent"}))
    assert r.status_code == 404
    r = chat(ov, pair.relay_key, "x", dict(names, **{"X-Kasumi-On-Behalf-Tenant": "1234567890123"}))
    assert r.status_code == 400
    r = chat(ov, pair.relay_key, "x", {"X-Kasumi-On-Behalf-Tenant": pair.cn})
    assert r.status_code == 400
    # the relay without names has no project and no role in any tenant
    r = chat(ov, pair.relay_key, "x", dict(h1, **{"X-Kasumi-Project": pair.op}))
    assert r.status_code in (403, 404), r.text
    assert pair.ov.api("GET", "/admin/v1/tenants/" + pair.ot, token=pair.relay_key).status_code in (403, 404)


# ---- separation ----------------------------------------------------------------------------------

def test_separation(pair):
    gov, ov = pair.gov, pair.ov
    # administrators: neither environment's platform administrator exists in the other
    assert ov.api("GET", "/admin/v1/whoami", token=gov.token).status_code == 401
    assert gov.api("GET", "/admin/v1/whoami", token=ov.token).status_code == 401
    assert gov.api("GET", "/admin/v1/tenants", token=pair.relay_key).status_code == 401
    # a govcloud tenant administrator has no rights in overseas-ai and vice versa
    _, gadmin = gov.tenant_admin(pair.gt)
    _, oadmin = ov.tenant_admin(pair.ot)
    assert ov.api("GET", "/admin/v1/tenants/%s/projects" % pair.ot, token=gadmin).status_code == 401
    assert gov.api("GET", "/admin/v1/tenants/%s/projects" % pair.gt, token=oadmin).status_code == 401
    assert chat(pair.ov_ai, pair.gkey, "x", {"X-Kasumi-Classification": "1"}).status_code == 401
    assert chat(pair.gov_ai, pair.okey, "x").status_code == 401
    # audit logs never mix: each record names its environment; no principal crosses over
    grecs, orecs = gov.audit_records(), ov.audit_records()
    assert {r["env"] for r in grecs} == {"govcloud"} and {r["env"] for r in orecs} == {"overseas-ai"}
    gprin = {r["principal"] for r in grecs} - {"system", "anonymous"}
    oprin = {r["principal"] for r in orecs} - {"system", "anonymous"}
    assert not gprin & oprin
    assert not {r["request_id"] for r in grecs if r.get("request_id")} & {r["request_id"] for r in orecs if r.get("request_id")}


# ---- overseas-ai stores nothing ------------------------------------------------------------------

def test_overseas_has_no_storage(pair):
    ov = pair.ov
    assert "s3" not in json.loads((ov.data_dir / "listen.json").read_text())
    for method, path, body in (
            ("GET", "/admin/v1/projects/%s/storage-quota" % pair.op, None),
            ("PUT", "/admin/v1/projects/%s/storage-quota" % pair.op, {"max_bytes": 1}),
            ("DELETE", "/admin/v1/projects/%s/storage-quota" % pair.op, None),
            ("GET", "/admin/v1/tenants/%s/kms/keys" % pair.ot, None),
            ("POST", "/admin/v1/tenants/%s/kms/keys/%s/rotate" % (pair.ot, pair.ot), None)):
        r = ov.api(method, path, body)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_supported_in_environment", (path, r.text)
    u = ov.ok("POST", "/admin/v1/tenants/%s/users" % pair.ot, {"name": "s3", "email": "s3@example.go.jp"})
    r = ov.api("POST", "/admin/v1/keys", {"user": u["id"], "kind": "s3", "project": pair.op})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_supported_in_environment"
    assert ov.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "api", "project": pair.op})["secret"]
    # the same routes work in govcloud
    assert pair.gov.api("GET", "/admin/v1/projects/%s/storage-quota" % pair.gp).status_code == 200
    # no core dumps
    limits = pathlib.Path("/proc/%d/limits" % ov.pid()).read_text()
    core = [l for l in limits.splitlines() if l.startswith("Max core file size")][0].split()
    assert core[4:6] == ["0", "0"], core


def test_swap_refusal_and_allow_swap(tmp_path):
    swaps = tmp_path / "swaps"
    swaps.write_text("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                     "/swapfile                               file\t\t1048572\t\t0\t\t-2\n")
    d = Daemon(tmp_path / "data", env_kind="overseas-ai", extra_args=["--swaps-file", str(swaps)])
    d.allow_swap = False
    with pytest.raises(RuntimeError, match="swap is active"):
        d.start()
    assert d.proc.wait(timeout=30) == 1
    d.proc = None
    # --allow-swap: it starts, says so in the operator log, and audits it
    d.allow_swap = True
    d.start()
    try:
        assert "--allow-swap" in d.stderr()
        recs = wait_for(lambda: d.audit_records(action="system.allow_swap"))
        assert recs and recs[0]["principal"] == "system", recs
    finally:
        d.stop()
    # no swap: no flag needed; govcloud does not care
    swaps.write_text("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n")
    d2 = Daemon(tmp_path / "d2", env_kind="overseas-ai", extra_args=["--swaps-file", str(swaps)])
    d2.allow_swap = False
    d2.start()
    d2.stop()


def test_jurisdiction_config(tmp_path):
    def check(*args):
        return subprocess.run([KASUMID, "-t"] + list(args), capture_output=True, text=True, timeout=30)
    p = check("--env-kind", "overseas-ai")
    assert p.returncode == 1 and "jurisdiction" in p.stderr, p.stderr
    assert check("--env-kind", "overseas-ai", "--jurisdiction", "JP").returncode == 1
    assert check("--env-kind", "govcloud", "--jurisdiction", "US").returncode == 1
    assert check("--env-kind", "overseas-ai", "--jurisdiction", "us").returncode == 1
    assert check("--env-kind", "overseas-ai", "--jurisdiction", "US").returncode == 0
    conf = tmp_path / "k.conf"
    conf.write_text('env_kind = "overseas-ai"\njurisdiction = "SG"\n')
    assert check("--config", str(conf)).stdout.strip() == "configuration OK"


# ---- residency guardrails in govcloud ------------------------------------------------------------

def test_residency_refusals_audited(pair):
    gov = pair.gov
    # a model server outside Japan that is not on the operator's allow-list
    r = gov.api("POST", "/admin/v1/projects/%s/model-routes" % pair.gp, {"alias": "elsewhere", "targets": [
        {"provider": "openai", "base_url": "https://api.example.com/v1", "jurisdiction": "US"}]})
    assert r.status_code == 400 and "allow-list" in r.json()["error"]["message"]
    rec = gov.audit_wait(r.headers["X-Request-Id"], action="ai.route.create")
    assert rec["outcome"] != "success" and "reason=upstream_jurisdiction_not_allowed" in rec["detail"], rec
    # a bucket outside the Japanese regions
    u = gov.ok("POST", "/admin/v1/tenants/%s/users" % pair.gt, {"name": "保管", "email": "b-%s@example.go.jp" % uuid.uuid4().hex[:6]})
    gov.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "project_admin", "scope": "project/" + pair.gp})
    k = gov.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "s3", "project": pair.gp})
    s3 = boto3.client("s3", endpoint_url="http://" + json.loads((gov.data_dir / "listen.json").read_text())["s3"],
                      aws_access_key_id=k["access_key_id"], aws_secret_access_key=k["secret_access_key"],
                      region_name="jp-east", config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
    name = "abroad-" + uuid.uuid4().hex[:8]
    with pytest.raises(ClientError) as ei:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    assert ei.value.response["Error"]["Code"] == "InvalidLocationConstraint"
    rid = ei.value.response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-request-id")
    recs = wait_for(lambda: [a for a in gov.audit_records(tenant=pair.gt)
                             if "reason=region_not_japanese" in (a.get("detail") or "")])
    assert recs and "refused_region=us-east-1" in recs[0]["detail"], recs
    assert recs[0]["action"] == "s3.CreateBucket" and recs[0]["outcome"] == "error"
    assert not rid or recs[0]["request_id"] == rid
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "jp-west"})
    # (the refused classification is test_classification_in_govcloud's)


# ---- the canary test -----------------------------------------------------------------------------

def _proc_files(pid):
    """Every regular file the process has open (through /proc/PID/fd, which opens the same file)."""
    out = []
    for fd in pathlib.Path("/proc/%d/fd" % pid).iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("/") and not target.startswith("/dev/"):
            out.append((fd, target))
    return out


def _hits(path, needle):
    try:
        with open(path, "rb") as f:
            return needle in f.read()
    except (OSError, ValueError):
        return False


def test_canary_nothing_persisted(pair):
    """1,000 requests through overseas-ai (direct 機密性1 and governed 機密性2, plain and streamed), each
    with a unique canary in the prompt and, by the echo model, in the completion. Then the data dir,
    the logs and every file the process has open are searched: zero hits."""
    tag = "KSMCANARY" + uuid.uuid4().hex[:12].upper()

    def one(i):
        canary = "%s-%04d" % (tag, i)
        governed = i % 4 == 0
        base, key = (pair.gov_ai, pair.gkey) if governed else (pair.ov_ai, pair.okey)
        r = chat(base, key, "確認 " + canary, {"X-Kasumi-Classification": "2" if governed else "1"},
                 stream=i % 5 == 1)
        assert r.status_code == 200, r.text
        assert canary in r.text   # the completion carries it too
        return governed

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        governed = sum(ex.map(one, range(1000)))
    assert governed == 250
    ov = pair.ov
    pid = ov.pid()
    needle = tag.encode()
    searched, hits = 0, []
    for p in ov.data_dir.rglob("*"):
        if p.is_file():
            searched += 1
            if _hits(p, needle):
                hits.append(str(p))
    for p in (ov.stderr_path, ov.stdout_path):
        searched += 1
        if _hits(p, needle):
            hits.append(str(p))
    open_files = _proc_files(pid)
    assert any(t.endswith("meta.db") for _, t in open_files), open_files
    for fd, target in open_files:
        searched += 1
        if _hits(fd, needle):
            hits.append(target)
    assert searched > 10 and hits == [], hits
    assert needle not in requests.get(ov.url + "/metrics", timeout=10).content
    # ... and the metadata the audit log keeps names the requests without their content
    # (records are durable before each answer and indexed soon after: wait for the last ones)
    deadline = time.time() + 30
    while len(recs := ov.audit_records(action="ai.chat")) < 1000 and time.time() < deadline:
        time.sleep(0.2)
    assert len(recs) >= 1000 and all(tag not in json.dumps(r) for r in recs)


# ---- the newcomer's tour (README) ----------------------------------------------------------------

def test_tour(tmp_path):
    """`make tour` (scripts/tour.sh): both environments side by side, how to reach each, a 機密性2
    prompt masked on its way overseas and restored, a 機密性3 prompt refused."""
    from conftest import KASUMI, ROOT
    env = dict(os.environ, KASUMID=KASUMID, KASUMI=KASUMI, TOUR_DIR=str(tmp_path / "tour"),
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=0")
    p = subprocess.run(["sh", str(ROOT / "scripts" / "tour.sh"), "--once"], capture_output=True, text=True,
                       env=env, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    assert "govcloud (JP)" in out and "overseas-ai (US)" in out and "(no S3: it stores nothing)" in out
    saw = [l for l in out.splitlines() if "the model saw:" in l][0]
    got = [l for l in out.splitlines() if "you get (HTTP 200):" in l][0]
    assert "⟦PHONE_1⟧" in saw and "03-1234-5678" not in saw, out
    assert "03-1234-5678" in got, out
    assert "HTTP 403" in out and "reason=class3_never_leaves_japan" in out and "on_behalf=govcloud" in out
    for log in ("gov.log", "overseas.log"):   # both stopped clean
        text = (tmp_path / "tour" / log).read_text()
        assert "ERROR: AddressSanitizer" not in text and "runtime error:" not in text, text[-3000:]
