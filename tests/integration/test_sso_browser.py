"""Browser sign-in of the console against the real provider (glewlwyd, tests/integration/oidc_idp.py):
authorization code with PKCE (S256), state and nonce; the session cookie's flags, idle timeout and
absolute lifetime; the CSRF token on state-changing requests; logout; MFA from a real TOTP login.
The browser is python requests, driving glewlwyd's login and kasumid's routes as a browser would."""
import json
import time
import urllib.parse

import pytest
import requests

from conftest import Daemon
from test_tls import make_cert
from oidc_idp import CLIENT, CN_A, CN_B, REDIRECT, SECRET, Glewlwyd

COOKIE = "kasumi_session"


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    g = Glewlwyd(tmp_path_factory.mktemp("idp-browser")).start()
    yield g
    g.stop()


def browser_daemon(tmp_path_factory, name, idp, idle, lifetime, extra="", tls=None):
    d = Daemon(tmp_path_factory.mktemp(name) / "data")
    secret = d.data_dir.parent / "client-secret"
    secret.write_text(SECRET + "\n")
    d.write_config(f"""
[oidc.gov]
issuer = "{idp.issuer}"
audience = "{CLIENT}"
tenants = ["{CN_A}", "{CN_B}"]
platform_users = true
client_id = "{CLIENT}"
client_secret_file = "{secret}"
redirect_uri = "{REDIRECT}"

[sso]
session_idle_s = {idle}
session_max_s = {lifetime}
{extra}
""")
    d.start()
    if tls:   # only the browser talks to it: no admin set-up over TLS
        d.url = d.url.replace("http://", "https://")
        return d
    d.ta = d.ok("POST", "/admin/v1/tenants", {"kind": "ministry", "name": "A省", "corporate_number": CN_A})
    for group, role, scope in (("kasumi-admins", "tenant_admin", "tenant/" + d.ta["id"]),
                               ("platform-ops", "platform_admin", "platform")):
        d.ok("POST", "/admin/v1/sso/group-roles", {"issuer": "gov", "group": group, "role": role, "scope": scope})
    return d


@pytest.fixture(scope="module")
def kd(idp, tmp_path_factory):
    d = browser_daemon(tmp_path_factory, "sso-browser", idp, 600, 3600)
    yield d
    d.stop()


def start_login(d, return_to="/console/", scope=None, verify=True):
    """GET /auth/login: the browser's session and the provider URL's query."""
    b = requests.Session()
    b.trust_env = False
    b.verify = verify
    params = {"issuer": "gov", "return_to": return_to}
    if scope:
        params["scope"] = scope
    r = b.get(d.url + "/auth/login", params=params, allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text
    return b, r.headers["Location"]


def at_provider(idp, loc, user, otp=False, tamper=None):
    """The user signs in at glewlwyd and consents; the code and state it sends back to redirect_uri."""
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query))
    g = idp.login(user, otp)
    idp.consent(g, CLIENT, q["scope"])
    if tamper:
        tamper(q)
    cb, where = idp.authorize(g, q)
    assert cb and "code" in cb, where
    return cb


def callback(d, b, cb):
    return b.get(d.url + "/auth/callback", params={"state": cb["state"], "code": cb["code"]},
                 allow_redirects=False, timeout=30)


def sign_in(d, idp, user, otp=False, scope=None, return_to="/console/", verify=True):
    b, loc = start_login(d, return_to, scope, verify)
    r = callback(d, b, at_provider(idp, loc, user, otp))
    assert r.status_code == 302, r.text
    return b, r


def csrf(d, b):
    r = b.get(d.url + "/auth/session", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["csrf_token"]


def test_login_redirect_carries_pkce_state_nonce(kd, idp):
    _, loc = start_login(kd)
    assert loc.startswith(idp.issuer + "/auth?"), loc
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query))
    assert q["response_type"] == "code" and q["client_id"] == CLIENT and q["redirect_uri"] == REDIRECT
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert len(q["state"]) == 43 and len(q["nonce"]) == 43 and q["state"] != q["nonce"]
    _, loc2 = start_login(kd)
    q2 = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc2).query))
    assert q2["state"] != q["state"] and q2["code_challenge"] != q["code_challenge"]
    # return_to is a path on this node only
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "relative"):
        r = requests.get(kd.url + "/auth/login", params={"issuer": "gov", "return_to": bad},
                         allow_redirects=False, timeout=30)
        assert r.status_code == 400, (bad, r.status_code)
    r = requests.get(kd.url + "/auth/login", params={"issuer": "nope"}, allow_redirects=False, timeout=30)
    assert r.status_code == 400


def test_browser_flow_cookie_csrf_logout(kd, idp):
    b, loc = start_login(kd, "/console/projects?x=1")
    cb = at_provider(idp, loc, "alice")
    r = callback(kd, b, cb)
    assert r.status_code == 302 and r.headers["Location"] == "/console/projects?x=1", r.text
    sc = r.headers["Set-Cookie"]
    attrs = [a.strip() for a in sc.split(";")]
    sid = attrs[0].split("=", 1)[1]
    assert attrs[0].startswith(COOKIE + "=") and len(sid) == 43, sc
    low = [a.lower() for a in attrs[1:]]
    assert "httponly" in low and "samesite=strict" in low and "path=/" in low, sc
    assert not any(a.startswith("domain") for a in low), "host-only: no Domain attribute: " + sc
    assert "secure" not in low, "plain HTTP listener: Secure would make the browser drop it: " + sc
    assert any(a.startswith("max-age=") for a in low) and r.headers.get("Cache-Control") == "no-store"
    # the sign-in was audited (never the code or the cookie)
    rec = kd.audit_wait(r.headers["x-request-id"], action="sso.signin")
    assert rec["outcome"] == "success" and "mfa=no" in rec["detail"], rec
    dump = json.dumps(kd.audit_records())
    assert cb["code"] not in dump and sid not in dump
    # only a hash of the session id is stored
    for f in kd.data_dir.glob("meta.db*"):
        assert sid.encode() not in f.read_bytes(), f

    me = b.get(kd.url + "/admin/v1/whoami", timeout=30)
    assert me.status_code == 200 and me.json()["tenant"] == kd.ta["id"], me.text
    s = b.get(kd.url + "/auth/session", timeout=30).json()
    assert s["user"] == me.json()["user"] and len(s["csrf_token"]) == 43 and s["mfa"] is False
    token = s["csrf_token"]
    path = "/admin/v1/tenants/%s/projects" % kd.ta["id"]
    # a state-changing request by cookie: 403 without the CSRF token, or with a wrong one; audited
    for hdrs in ({}, {"X-CSRF-Token": "x" * 43}, {"X-CSRF-Token": token[:-1]}):
        r = b.post(kd.url + path, json={"name": "web-proj", "environment": "prod"}, headers=hdrs, timeout=30)
        assert r.status_code == 403, r.text
        rec = kd.audit_wait(r.headers["x-request-id"])
        assert rec["outcome"] == "denied" and rec["principal"] == s["user"], rec
    r = b.post(kd.url + path, json={"name": "web-proj", "environment": "prod"},
               headers={"X-CSRF-Token": token}, timeout=30)
    assert r.status_code == 201, r.text
    # a bearer token needs no CSRF token (a browser never attaches it on its own)
    tok = idp.password_grant("alice")["id_token"]
    r = requests.post(kd.url + path, json={"name": "api-proj", "environment": "prod"},
                      headers={"Authorization": "Bearer " + tok}, timeout=30)
    assert r.status_code == 201, r.text

    # logout: CSRF-protected too; then the cookie is dead and cleared
    assert b.post(kd.url + "/auth/logout", timeout=30).status_code == 403
    r = b.post(kd.url + "/auth/logout", headers={"X-CSRF-Token": token}, timeout=30)
    assert r.status_code == 200 and r.json()["signed_out"] is True, r.text
    assert "max-age=0" in r.headers["Set-Cookie"].lower()
    r = requests.get(kd.url + "/admin/v1/whoami", cookies={COOKIE: sid}, timeout=30)
    assert r.status_code == 401
    assert "reason=unknown_session" in kd.audit_wait(r.headers["x-request-id"], action="sso.session")["detail"]


def test_state_tampered_or_replayed_is_refused(kd, idp):
    b, loc = start_login(kd)
    cb = at_provider(idp, loc, "alice")
    bad = dict(cb, state=cb["state"][:-2] + ("AA" if cb["state"][-2:] != "AA" else "BB"))
    r = callback(kd, b, bad)
    assert r.status_code == 401 and COOKIE not in r.headers.get("Set-Cookie", "")
    assert "reason=unknown_state" in kd.audit_wait(r.headers["x-request-id"], action="sso.signin")["detail"]
    # the state was not consumed by the forgery: the real answer works, once
    assert callback(kd, b, cb).status_code == 302
    r = callback(kd, requests.Session(), cb)
    assert r.status_code == 401
    assert "reason=unknown_state" in kd.audit_wait(r.headers["x-request-id"], action="sso.signin")["detail"]


def test_wrong_nonce_is_refused(kd, idp):
    b, loc = start_login(kd)
    cb = at_provider(idp, loc, "alice", tamper=lambda q: q.update(nonce="n" * 43))
    r = callback(kd, b, cb)
    assert r.status_code == 401 and "Set-Cookie" not in r.headers, r.text
    rec = kd.audit_wait(r.headers["x-request-id"], action="sso.signin")
    assert rec["outcome"] == "denied" and "reason=nonce_mismatch" in rec["detail"], rec


def test_pkce_verifier_is_required_by_the_exchange(kd, idp):
    """The challenge sent is S256 of a verifier only kasumid knows: glewlwyd refuses the code
    without it, so a stolen code is useless to anyone else."""
    _, loc = start_login(kd)
    cb = at_provider(idp, loc, "alice")
    r = requests.post(idp.issuer + "/token", auth=(CLIENT, SECRET), timeout=30,
                      data={"grant_type": "authorization_code", "code": cb["code"], "redirect_uri": REDIRECT})
    assert r.status_code in (400, 403), r.text


def test_mfa_login_grants_platform_admin(kd, idp):
    body = {"kind": "ministry", "name": "MFA庁", "corporate_number": "7000012050002"}
    b, _ = sign_in(kd, idp, "carol")
    assert b.get(kd.url + "/auth/session", timeout=30).json()["mfa"] is False
    r = b.post(kd.url + "/admin/v1/tenants", json=body, headers={"X-CSRF-Token": csrf(kd, b)}, timeout=30)
    assert r.status_code == 403 and r.json()["error"]["code"] == "mfa_required", r.text
    # password + TOTP at glewlwyd (its scope "mfa" asks for the second factor)
    b2, r = sign_in(kd, idp, "carol", otp=True, scope="mfa")
    assert "mfa=yes" in kd.audit_wait(r.headers["x-request-id"], action="sso.signin")["detail"]
    assert b2.get(kd.url + "/auth/session", timeout=30).json()["mfa"] is True
    r = b2.post(kd.url + "/admin/v1/tenants", json=body, headers={"X-CSRF-Token": csrf(kd, b2)}, timeout=30)
    assert r.status_code == 201, r.text


def test_idle_timeout_and_absolute_lifetime(idp, tmp_path_factory):
    d = browser_daemon(tmp_path_factory, "sso-browser-tiny", idp, 2, 5)
    try:
        b, r = sign_in(d, idp, "alice")
        assert "max-age=5" in r.headers["Set-Cookie"].lower()
        t0 = time.time()
        # kept alive by use every ~second: still ends at the absolute lifetime
        while time.time() - t0 < 4:
            assert b.get(d.url + "/admin/v1/whoami", timeout=30).status_code == 200
            time.sleep(0.8)
        time.sleep(max(0, 5.3 - (time.time() - t0)))
        # a browser drops the cookie at its Max-Age; the node must not count on it
        sid = r.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
        r = requests.get(d.url + "/admin/v1/whoami", cookies={COOKIE: sid}, timeout=30)
        assert r.status_code == 401
        assert "reason=session_expired" in d.audit_wait(r.headers["x-request-id"], action="sso.session")["detail"]
        # idle: unused for longer than session_idle_s
        b, _ = sign_in(d, idp, "alice")
        assert b.get(d.url + "/admin/v1/whoami", timeout=30).status_code == 200
        time.sleep(3)
        r = b.get(d.url + "/admin/v1/whoami", timeout=30)
        assert r.status_code == 401
        assert "reason=session_idle" in d.audit_wait(r.headers["x-request-id"], action="sso.session")["detail"]
    finally:
        d.stop()


def test_cookie_is_secure_under_tls(idp, tmp_path_factory, tmp_path):
    cert, key = make_cert(tmp_path)
    d = browser_daemon(tmp_path_factory, "sso-browser-tls", idp, 600, 3600,
                       extra='[admin]\ntls_cert = "%s"\ntls_key = "%s"\n' % (cert, key), tls=True)
    try:
        b, r = sign_in(d, idp, "carol", verify=str(cert))   # a platform-level user: no tenant needed
        low = [a.strip().lower() for a in r.headers["Set-Cookie"].split(";")]
        assert "secure" in low and "httponly" in low and "samesite=strict" in low, low
        assert b.get(d.url + "/admin/v1/whoami", timeout=30).status_code == 200
    finally:
        d.stop()
