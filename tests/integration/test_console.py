"""The web console in a real browser: Debian's chromium driven by playwright-core
(tests/fixtures/console/browser.mjs) against kasumid and the real identity provider (glewlwyd,
oidc_idp.py). The browser signs in with the authorization-code flow (PKCE) through the provider's
authorization endpoint, creates a project and an API key (whose secret, shown once, works until the
browser revokes it), opens the cost page — whose total and charts must equal the billing API's total
and the sum of the CSV the browser downloads — and searches the audit log. Each page is checked with
axe-core (WCAG 2.1 A/AA), must make no request to another host, and must run under its CSP; a
screenshot of each is kept under build/.../console-artifacts. The static files themselves: types,
CSP, caching, no path reaching the file system."""
import csv
import io
import json
import os
import pathlib
import subprocess
import time
import uuid
from decimal import Decimal

import pytest
import requests

from conftest import Daemon
from oidc_idp import CN_A, USERS, Glewlwyd, free_port
from test_billing import price, this_month
from test_s3 import S3Org
from upstreams import ROOT, node_binary, node_env

CONSOLE_CLIENT, CONSOLE_SECRET = "kasumi-console", "console-secret-456"
ARTIFACTS = pathlib.Path(os.environ.get("KASUMID", str(ROOT / "build" / "x"))).parent / "console-artifacts"


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    g = Glewlwyd(tmp_path_factory.mktemp("idp-console")).start()
    yield g
    g.stop()


def console_daemon(idp, tmp_path_factory, name, tenants, extra_args=()):
    """kasumid with the console's OpenID client at the provider (its callback on kasumid's port), the
    provider speaking for the tenants of the corporate numbers `tenants`; tenant A made (d.ta), its
    IdP group kasumi-admins its administrators."""
    port = free_port()
    idp.add_client(CONSOLE_CLIENT, CONSOLE_SECRET, ["http://127.0.0.1:%d/auth/callback" % port])
    d = Daemon(tmp_path_factory.mktemp(name) / "data",
               extra_args=["--s3-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:%d" % port] + list(extra_args))
    secret = d.data_dir.parent / "client-secret"
    secret.write_text(CONSOLE_SECRET + "\n")
    d.write_config(f"""
[oidc.gov]
issuer = "{idp.issuer}"
audience = "{CONSOLE_CLIENT}"
tenants = {json.dumps(tenants)}
client_id = "{CONSOLE_CLIENT}"
client_secret_file = "{secret}"
redirect_uri = "http://127.0.0.1:{port}/auth/callback"
""")
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
    d.ta = d.ok("POST", "/admin/v1/tenants", {"kind": "ministry", "name": "A省", "corporate_number": CN_A})
    d.ok("POST", "/admin/v1/sso/group-roles", {"issuer": "gov", "group": "kasumi-admins", "role": "tenant_admin",
                                               "scope": "tenant/" + d.ta["id"]})
    return d


@pytest.fixture(scope="module")
def cd(idp, tmp_path_factory):
    d = console_daemon(idp, tmp_path_factory, "console", [CN_A])
    yield d
    d.stop()


def run_script(script, cmd, timeout=300):
    """Runs tests/fixtures/console/SCRIPT with cmd as its JSON input; the JSON object it prints."""
    p = subprocess.run([node_binary(), str(ROOT / "tests" / "fixtures" / "console" / script)],
                       input=json.dumps(cmd), capture_output=True, text=True, timeout=timeout,
                       env=node_env(), cwd=str(ROOT))
    assert p.returncode == 0, "%s failed: %s %s" % (script, p.stdout[-2000:], p.stderr[-3000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def make_usage(d):
    """Priced S3 traffic in tenant A, so the month has costs to show."""
    assert price(d, "requests_write", "request", "0.5").status_code == 201
    assert price(d, "bytes_in", "byte", "3", 1048576).status_code == 201
    org = S3Org.__new__(S3Org)
    org.d, org.tenant = d, d.ta["id"]
    org.project = d.ok("POST", "/admin/v1/tenants/%s/projects" % org.tenant, {"name": "住民記録", "environment": "prod"})["id"]
    u = d.ok("POST", "/admin/v1/tenants/%s/users" % org.tenant, {"name": "保管 担当", "email": "s3@example.go.jp"})
    d.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "project_admin", "scope": "project/" + org.project})
    k = d.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "s3", "project": org.project})
    org.akid, org.secret, org.endpoint = k["access_key_id"], k["secret_access_key"], "http://" + d.s3_addr
    s3 = org.client()
    s3.create_bucket(Bucket="console-costs")
    s3.create_bucket(Bucket="console-files")   # for the object browser
    s3.put_object(Bucket="console-files", Key="reports/2026/from-s3.txt", Body="S3 から".encode())
    s3.put_object(Bucket="console-files", Key="top.txt", Body=b"top")
    d.console_s3 = s3
    for i in range(5):
        s3.put_object(Bucket="console-costs", Key="k%d" % i, Body=b"x" * (700000 + i))
    deadline = time.time() + 20
    while time.time() < deadline:
        items = d.ok("GET", "/admin/v1/usage?tenant=%s&meter=requests_write" % org.tenant)["items"]
        if len(items) >= 6:
            return
        time.sleep(0.2)
    raise AssertionError("usage records did not arrive")


def run_browser(cmd, timeout=300):
    return run_script("browser.mjs", cmd, timeout)


def test_console_in_a_real_browser(cd, idp):
    make_usage(cd)
    project, key_name = "窓口予約-" + uuid.uuid4().hex[:4], "ci-" + uuid.uuid4().hex[:6]
    out = ARTIFACTS
    res = run_browser({"console": cd.url + "/console/", "idp_api": idp.api_url, "client": CONSOLE_CLIENT,
                       "user": "alice", "password": USERS["alice"][0], "out": str(out),
                       "project": project, "key_name": key_name, "bucket": "console-files"})
    assert "error" not in res, res.get("error")
    assert not res["page_errors"] and not res["csp_errors"], (res["page_errors"], res["csp_errors"])
    assert not res["foreign_requests"], "the console reached another host: %s" % res["foreign_requests"]
    assert res["signed_in_as"] == "Alice Test", res["signed_in_as"]
    assert res["first_tab"] == "skip" and res["skip_focus"] == "main", (res["first_tab"], res["skip_focus"])
    bad = {page: v for page, v in res["axe"].items() if v}
    assert not bad, "axe-core found accessibility violations: %s" % json.dumps(bad, ensure_ascii=False)
    assert set(res["axe"]) >= {"signin", "home", "projects", "keys", "key-secret", "costs", "audit", "users",
                               "storage", "ai", "supply", "costs-en", "objects"}
    for name in res["axe"]:
        assert (out / (name + ".png")).stat().st_size > 5000, name

    # the project exists, made by alice through her session
    tid = cd.ta["id"]
    projects = cd.ok("GET", "/admin/v1/tenants/%s/projects" % tid)["items"]
    assert project in [p["name"] for p in projects]
    # the key's secret was shown once, worked, and the browser revoked it
    assert res["key_secret_prefix"] == "ksm_" and res["key_whoami"]["status"] == 200, res["key_whoami"]
    assert not res["secret_still_in_page"]
    assert res["key_after_revoke"] == 401
    keys = [k for k in cd.ok("GET", "/admin/v1/keys?tenant=" + tid)["items"] if k.get("name") == key_name]
    assert len(keys) == 1 and keys[0]["status"] == "revoked" and keys[0]["user"] == res["key_whoami"]["user"]

    # costs: the page's total = each chart's total = the billing API's = the downloaded CSV's
    rep = cd.ok("GET", "/admin/v1/billing/report?month=%s&tenant=%s" % (this_month(), tid))
    api_total = sum(Decimal(i["usage_subtotal"]) for i in rep["invoices"]) * 1000000
    assert api_total > 0
    rows = list(csv.DictReader(io.StringIO((out / "report.csv").read_text(encoding="utf-8"))))
    csv_total = sum(Decimal(r["BilledCost"]) for r in rows if r["ChargeCategory"] == "Usage") * 1000000
    assert Decimal(res["cost_total_microyen"]) == api_total == csv_total, (res["cost_total_microyen"], api_total, csv_total)
    charts = dict(res["chart_totals"])
    assert Decimal(charts["サービス別"]) == api_total and Decimal(charts["プロジェクト別"]) == api_total, charts
    assert Decimal(charts["日別"]) == api_total, charts   # the usage records of the month, by day
    # the fiscal year to date: this month is the node's first with costs, so the year's total is
    # the month's, in this month's bar; by project the same sums as the month's report
    assert Decimal(res["cost_fy_total_microyen"]) == api_total, res["cost_fy_total_microyen"]
    assert Decimal(charts["年度の月別"]) == api_total, charts
    by_project = {}
    for i in rep["invoices"]:
        for l in i["lines"]:
            if l["ChargeCategory"] == "Usage":
                p = l.get("x_Project") or l.get("SubAccountId") or "-"
                by_project[p] = by_project.get(p, 0) + Decimal(l["BilledCost"])
    shown = {p: Decimal(v.replace(",", "")) for p, v in res["cost_fy_projects"]}
    assert shown == by_project, (shown, by_project)
    # February 2027 is in fiscal 2026: April 2026 to February 2027, this month's costs included
    # (while this test runs before April 2027)
    assert res["cost_fy_feb"]["period"].startswith("2026-04 から 2027-02"), res["cost_fy_feb"]
    if this_month() < "2027-03":
        assert Decimal(res["cost_fy_feb"]["total"]) == (api_total if this_month() >= "2026-04" else 0), res["cost_fy_feb"]
    assert res["charts_drawn"] >= 3
    assert (out / "report.xlsx").read_bytes()[:2] == b"PK"

    # the audit search found the project's creation, by alice (a session, audited as any API call)
    hits = [r for r in res["audit_rows"] if r[2] == "project.create"]
    assert hits, res["audit_rows"]
    exported = [json.loads(ln) for ln in (out / "audit.jsonl").read_text().splitlines() if ln.strip()]
    assert exported and all(r["action"].startswith("project.create") for r in exported)
    alice = [r for r in exported if r["principal"] == res["key_whoami"]["user"]]
    assert alice, "alice's own project.create is not in the export"

    # the storage page shows the bucket the S3 client filled, with its size
    (b,) = [row for row in res["buckets"] if row[1] == "console-costs"]
    assert b[0] == "住民記録" and b[3] == "{:,}".format(sum(700000 + i for i in range(5))) and b[4] == "5", b

    # the object browser: the folders led to the S3 client's object, whose bytes the browser got;
    # the browser's upload is the object S3 now serves, byte for byte, and came back the same
    assert res["object_path"] == "console-files / reports / 2026", res["object_path"]
    assert (out / "from-s3.txt").read_bytes() == "S3 から".encode()
    names = [row[0] for row in res["objects"]]
    assert names == ["from-s3.txt", "アップロード.bin"], res["objects"]
    up = (out / "upload.bin").read_bytes()
    assert res["download_equal"] and res["download_name"] == "アップロード.bin", res["download_name"]
    got = cd.console_s3.get_object(Bucket="console-files", Key="reports/2026/アップロード.bin")
    assert got["Body"].read() == up and got["ContentLength"] == len(up) == 300000
    # audited as alice's, under the bucket's tenant and project, and metered as storage traffic
    for action in ("storage.object.write", "storage.object.read", "storage.object.list"):
        recs = cd.ok("GET", "/admin/v1/audit?tenant=%s&action=%s" % (tid, action))["items"]
        assert any(r["principal"] == res["key_whoami"]["user"] and r["target"].startswith("console-files")
                   for r in recs), (action, recs)
    deadline = time.time() + 20
    while time.time() < deadline:
        ins = [u for u in cd.ok("GET", "/admin/v1/usage?tenant=%s&meter=bytes_in" % tid)["items"]
               if u.get("resource") == "console-files" and int(u["quantity"]) == 300000]
        if ins:
            break
        time.sleep(0.2)
    assert ins, "the console's upload was not metered"
    # the monthly report as PDF, as the browser downloaded it
    assert (out / "report.pdf").read_bytes()[:5] == b"%PDF-"

    # English on request
    assert "Costs" in res["english_nav"] and res["html_lang"] == "en", res["english_nav"]


def test_console_files(cd):
    r = requests.get(cd.url + "/console/", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["Cache-Control"] == "no-cache"
    assert "<script" in r.text and "http" not in r.text.lower().replace('http-equiv', '')
    scripts = [s.split('"')[0] for s in r.text.split('src="/console/')[1:]]
    css = [s.split('"')[0] for s in r.text.split('href="/console/')[1:]]
    assert scripts and css
    js = requests.get(cd.url + "/console/" + scripts[0], timeout=10)
    assert js.status_code == 200 and js.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert "immutable" in js.headers["Cache-Control"]
    assert requests.get(cd.url + "/console/" + css[0], timeout=10).headers["Content-Type"] == "text/css; charset=utf-8"
    # a console path is the page (its script routes); a missing file is 404; nothing reaches the disk
    assert requests.get(cd.url + "/console/costs", timeout=10).text == r.text
    for bad in ("/console/missing.js", "/console/..%2F..%2Fetc%2Fpasswd", "/console/%2e%2e/listen.json",
                "/console/assets/x.js"):
        assert requests.get(cd.url + bad, timeout=10).status_code == 404, bad
    rr = requests.get(cd.url + "/console", allow_redirects=False, timeout=10)
    assert rr.status_code == 302 and rr.headers["Location"] == "/console/"
    # the providers the sign-in page offers
    assert requests.get(cd.url + "/auth/providers", timeout=10).json() == {"items": [{"name": "gov"}]}


def test_local_signin_is_the_platform_administrators_alone(cd):
    """POST /auth/local: the platform administrator's API key opens a session (a node without an
    identity provider still has a console); nobody else's key does, and the key is not a bearer
    token here: a JWT is refused."""
    s = requests.Session()
    r = s.post(cd.url + "/auth/local", json={"token": cd.token}, timeout=10)
    assert r.status_code == 200, r.text
    sc = r.headers["Set-Cookie"]
    assert sc.startswith("kasumi_session=") and "HttpOnly" in sc and "SameSite=Strict" in sc, sc
    me = s.get(cd.url + "/admin/v1/whoami", timeout=10)
    assert me.status_code == 200 and me.json()["tenant"] is None, me.text
    sess = s.get(cd.url + "/auth/session", timeout=10).json()
    assert sess["user"] == r.json()["user"] and sess["csrf_token"]
    # state-changing requests by cookie need the CSRF token
    body = {"kind": "ministry", "name": "B省", "corporate_number": "7000012050002"}
    assert s.post(cd.url + "/admin/v1/tenants", json=body, timeout=10).status_code == 403
    rec = cd.audit_wait(r.headers["x-request-id"], action="sso.local_signin")
    assert rec["outcome"] == "success" and rec["principal"] == sess["user"], rec
    assert cd.token not in json.dumps(cd.audit_records())

    # a tenant administrator's key, a revoked-looking garbage key, a JWT: refused
    admin, secret = cd.tenant_admin(cd.ta["id"])
    r = requests.post(cd.url + "/auth/local", json={"token": secret}, timeout=10)
    assert r.status_code == 403 and "Set-Cookie" not in r.headers, r.text
    rec = cd.audit_wait(r.headers["x-request-id"], action="sso.local_signin")
    assert rec["outcome"] == "denied" and rec["principal"] == admin["id"], rec
    for bad in ("ksm_" + "A" * 43, "a.b.c", ""):
        r = requests.post(cd.url + "/auth/local", json={"token": bad}, timeout=10)
        assert r.status_code == 401 and "Set-Cookie" not in r.headers, (bad, r.text)
    assert requests.post(cd.url + "/auth/local", json={"key": cd.token}, timeout=10).status_code == 400
    # logout ends it
    csrf = sess["csrf_token"]
    assert s.post(cd.url + "/auth/logout", headers={"X-CSRF-Token": csrf}, timeout=10).status_code == 200
    assert s.get(cd.url + "/admin/v1/whoami", timeout=10).status_code == 401
