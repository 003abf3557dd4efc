"""The console's observation pages in a real browser (Debian's chromium through playwright-core,
tests/fixtures/console/obs.mjs), signed in with the platform administrator's local sign-in or as a
user of the real identity provider (glewlwyd): the audit page's chain verification status (intact,
then broken where a byte of a segment was changed on disk). Every page is checked with axe-core (WCAG 2.1 A/AA), with no request to another host and no
CSP error; screenshots are kept under build/.../console-artifacts."""
import json
import os
import pathlib
import subprocess

from conftest import Daemon
from test_audit_verification import flip_request_id
from upstreams import ROOT, node_binary, node_env

ARTIFACTS = pathlib.Path(os.environ.get("KASUMID", str(ROOT / "build" / "x"))).parent / "console-artifacts"


def run_browser(d, steps, idp=None, timeout=300):
    """Runs steps in a fresh browser signed in as the platform administrator (local sign-in), or as
    idp's user ({api, client, user, password}) through the real identity provider."""
    cmd = {"console": d.url + "/console/", "out": str(ARTIFACTS), "steps": steps}
    if idp:
        cmd["idp"] = idp
    else:
        cmd["token"] = d.token
    p = subprocess.run([node_binary(), str(ROOT / "tests" / "fixtures" / "console" / "obs.mjs")],
                       input=json.dumps(cmd), capture_output=True, text=True, timeout=timeout,
                       env=node_env(), cwd=str(ROOT))
    assert p.returncode == 0, "obs.mjs failed: %s %s" % (p.stdout[-2000:], p.stderr[-3000:])
    res = json.loads(p.stdout.strip().splitlines()[-1])
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

