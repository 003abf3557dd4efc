"""Single sign-on against a real OpenID provider (glewlwyd from Debian, started here on 127.0.0.1):
bearer JWTs on the admin and AI listeners, users created on first sign-in, IdP groups mapped to
roles, tenants named by 法人番号, MFA per role from glewlwyd's real TOTP, every refusal audited
with its reason and never with the token, and two environments trusting the same provider."""
import base64
import hashlib
import hmac
import json
import re
import time

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import Daemon
from oidc_idp import (CLIENT, CLIENT_ES, CN_A, CN_B, RESOURCE, SECRET_ES, Glewlwyd, b64u, b64u_json,
                      jwt_parts, sign)


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    g = Glewlwyd(tmp_path_factory.mktemp("idp")).start()
    yield g
    g.stop()


def sso_daemon(tmp_path_factory, name, idp, audience, tenants, env_kind="govcloud", extra=""):
    d = Daemon(tmp_path_factory.mktemp(name) / "data", env_kind=env_kind, extra_args=["--ai-listen", "127.0.0.1:0"])
    d.write_config(f"""
[oidc.gov]
issuer = "{idp.issuer}"
audience = "{audience}"
tenants = [{", ".join('"%s"' % t for t in tenants)}]
jwks_min_refresh_s = 3
{extra}
""")
    return d.start()


@pytest.fixture(scope="module")
def gov(idp, tmp_path_factory):
    """govcloud trusting the provider's ID tokens (aud = the client id) for tenants A and B."""
    d = sso_daemon(tmp_path_factory, "sso-gov", idp, CLIENT, [CN_A, CN_B], extra="platform_users = true")
    d.ta = d.ok("POST", "/admin/v1/tenants", {"kind": "ministry", "name": "A省", "corporate_number": CN_A})
    d.tb = d.ok("POST", "/admin/v1/tenants", {"kind": "local_government", "name": "B市", "corporate_number": CN_B})
    for group, role, scope in (("kasumi-admins", "tenant_admin", "tenant/" + d.ta["id"]),
                               ("staff", "member", "tenant/" + d.ta["id"]),
                               ("staff", "member", "tenant/" + d.tb["id"]),
                               ("platform-ops", "platform_admin", "platform")):
        d.ok("POST", "/admin/v1/sso/group-roles", {"issuer": "gov", "group": group, "role": role, "scope": scope})
    yield d
    d.stop()


def call(d, token, method="GET", path="/admin/v1/whoami", body=None):
    return requests.request(method, d.url + path, json=body, timeout=30,
                            headers={"Authorization": "Bearer " + token})


def signin_record(d, resp):
    return d.audit_wait(resp.headers["x-request-id"], action="sso.signin")


def test_id_token_signs_in_creates_user_and_maps_groups(idp, gov):
    tok = idp.password_grant("alice")["id_token"]
    r = call(gov, tok)
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["tenant"] == gov.ta["id"] and me["name"] == "Alice Test", me
    roles = sorted((b["role"], b["scope"]) for b in me["bindings"])
    assert roles == [("member", "tenant/" + gov.ta["id"]), ("tenant_admin", "tenant/" + gov.ta["id"])], roles
    rec = signin_record(gov, r)
    assert rec["outcome"] == "success" and rec["principal"] == me["user"], rec
    assert "created=yes" in rec["detail"] and "mfa=no" in rec["detail"], rec
    # tenant_admin of A through the IdP group: A is manageable, B invisible
    assert call(gov, tok, path="/admin/v1/tenants/" + gov.ta["id"]).status_code == 200
    assert call(gov, tok, path="/admin/v1/tenants/" + gov.tb["id"]).status_code == 404
    assert call(gov, tok, "POST", "/admin/v1/tenants/%s/projects" % gov.ta["id"],
                {"name": "sso-proj", "environment": "prod"}).status_code == 201
    # the same user again, from a new token: no second user
    tok2 = idp.password_grant("alice")["id_token"]
    assert tok2 != tok and call(gov, tok2).json()["user"] == me["user"]
    users = gov.list_all("/admin/v1/tenants/%s/users" % gov.ta["id"])
    assert [u["email"] for u in users].count("alice@idp.test") == 1, users


def test_es256_and_bob_in_tenant_b(idp, gov):
    tok = idp.password_grant("bob")["id_token"]
    me = call(gov, tok).json()
    assert me["tenant"] == gov.tb["id"] and [b["role"] for b in me["bindings"]] == ["member"], me
    assert call(gov, tok, path="/admin/v1/tenants/" + gov.ta["id"]).status_code == 404
    # ES256: the twin client's token has another audience, so it is refused here (wrong aud) ...
    es = idp.password_grant("bob", client=CLIENT_ES, secret=SECRET_ES)["id_token"]
    assert jwt_parts(es)[0]["alg"] == "ES256"
    r = call(gov, es)
    assert r.status_code == 401
    assert "reason=wrong_audience" in signin_record(gov, r)["detail"]
    # ... and a token signed ES256 with the provider's own EC key, for our audience, is accepted
    es_ok = sign(idp.claims(sub="bob-es", corporate_number=CN_B, groups=["staff"]), idp.ec, kid="ec-1", alg="ES256")
    r = call(gov, es_ok)
    assert r.status_code == 200 and r.json()["tenant"] == gov.tb["id"], r.text


def forged(idp):
    """Every negative case of the issue, each with the reason kasumid must audit."""
    real = idp.password_grant("alice")["id_token"]
    h, p, s = real.split(".")
    claims = jwt_parts(real)[1]
    tampered = dict(claims, corporate_number=CN_B, sub="mallory")
    now = int(time.time())
    pem = idp.public_pem()
    hs_input = b64u_json({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}) + "." + b64u_json(idp.claims())
    hs256 = hs_input + "." + b64u(hmac.new(pem, hs_input.encode(), hashlib.sha256).digest())
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return [
        ("tampered payload", h + "." + b64u_json(tampered) + "." + s, "bad_signature"),
        ("alg none", b64u_json({"alg": "none", "typ": "JWT"}) + "." + b64u_json(idp.claims()) + ".", "alg_not_allowed"),
        ("HS256 keyed with the public key", hs256, "alg_not_allowed"),
        ("expired", sign(idp.claims(iat=now - 7200, exp=now - 3600), idp.rsa), "expired"),
        ("not yet valid", sign(idp.claims(nbf=now + 3600), idp.rsa), "not_yet_valid"),
        ("no exp", sign(idp.claims(exp=None), idp.rsa), "no_exp"),
        ("wrong aud", sign(idp.claims(aud="someone-else"), idp.rsa), "wrong_audience"),
        ("aud array without us", sign(idp.claims(aud=["a", "b"]), idp.rsa), "wrong_audience"),
        ("wrong iss", sign(idp.claims(iss="https://evil.example/oidc"), idp.rsa), "unknown_issuer"),
        ("foreign key, known kid", sign(idp.claims(), foreign, kid="rsa-1"), "bad_signature"),
        ("ES256 header on the RSA kid", sign(idp.claims(), idp.ec, kid="rsa-1", alg="ES256"), "key_mismatch"),
        ("PS256 on a key published for RS256", sign(idp.claims(), idp.rsa, kid="rsa-1", alg="PS256"), "key_mismatch"),
        ("key carried in the token", forged_jwk_header(idp, foreign), "bad_signature"),
        ("tenant the issuer may not name", sign(idp.claims(corporate_number="7000012050002"), idp.rsa),
         "tenant_not_allowed"),
        ("bad 法人番号", sign(idp.claims(corporate_number="8000012050002"), idp.rsa), "bad_tenant_claim"),
    ]


def forged_jwk_header(idp, key):
    """Signed by the attacker's key, which the header carries as jwk: must never be used."""
    pub = key.public_key().public_numbers()
    n = b64u(pub.n.to_bytes(256, "big"))
    head = {"alg": "RS256", "kid": "rsa-1", "jwk": {"kty": "RSA", "n": n, "e": "AQAB"}}
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    si = b64u_json(head) + "." + b64u_json(idp.claims())
    return si + "." + b64u(key.sign(si.encode(), padding.PKCS1v15(), hashes.SHA256()))


def test_negative_cases_refused_and_audited_with_reason(idp, gov):
    for name, token, reason in forged(idp):
        r = call(gov, token)
        assert r.status_code == 401, "%s -> %d %s" % (name, r.status_code, r.text)
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), name
        assert reason not in r.text and "signature" not in r.text, "%s: the reason leaked: %s" % (name, r.text)
        rec = signin_record(gov, r)
        assert rec["outcome"] == "denied" and "reason=" + reason in rec["detail"], (name, rec)
    # the AI listener refuses them too
    ai = "http://" + json.loads((gov.data_dir / "listen.json").read_text())["ai"]
    r = requests.get(ai + "/v1/models", headers={"Authorization": "Bearer " + forged(idp)[0][1]}, timeout=30)
    assert r.status_code == 401, r.text


def test_dave_tenant_not_allowed(idp, gov):
    r = call(gov, idp.password_grant("dave")["id_token"])
    assert r.status_code == 401
    assert "reason=tenant_not_allowed" in signin_record(gov, r)["detail"]


def loads(d):
    return len(re.findall(r"sso: issuer gov: \d+ signing keys loaded", d.stderr()))


def test_unknown_kid_refetches_once_per_interval(idp, gov):
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    time.sleep(3.2)   # jwks_min_refresh_s = 3 since the last fetch
    before = loads(gov)
    r = call(gov, sign(idp.claims(), foreign, kid="rsa-new"))
    assert r.status_code == 401
    assert "reason=unknown_kid" in signin_record(gov, r)["detail"]
    assert loads(gov) == before + 1, "an unknown kid must refetch the JWKS once"
    r = call(gov, sign(idp.claims(), foreign, kid="rsa-other"))
    assert r.status_code == 401
    assert loads(gov) == before + 1, "a second unknown kid within the interval must not refetch"
    # the real keys still work afterwards
    assert call(gov, idp.password_grant("bob")["id_token"]).status_code == 200


def test_mfa_required_for_platform_admin(idp, gov):
    pw = idp.password_grant("carol")["id_token"]
    assert jwt_parts(pw)[1]["amr"] == ["password"]
    me = call(gov, pw).json()
    assert me["tenant"] is None and [b["role"] for b in me["bindings"]] == ["platform_admin"], me
    body = {"kind": "ministry", "name": "MFA庁", "corporate_number": "7000012050002"}
    r = call(gov, pw, "POST", "/admin/v1/tenants", body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "mfa_required", r.text
    rec = gov.audit_wait(r.headers["x-request-id"], action="tenant.create")
    assert rec["outcome"] == "denied" and rec["detail"] == "mfa_required", rec
    # a real second factor: password + TOTP at glewlwyd, code flow with scope "openid mfa"
    mfa = idp.code_flow("carol", scope="openid mfa", otp=True)["id_token"]
    assert "otp" in jwt_parts(mfa)[1]["amr"]
    r = call(gov, mfa, "POST", "/admin/v1/tenants", body)
    assert r.status_code == 201, r.text
    assert "mfa=yes" in signin_record(gov, call(gov, idp.code_flow("carol", scope="openid mfa", otp=True)["id_token"]))["detail"]
    # an API key made by the federated admin never shows a second factor
    k = call(gov, mfa, "POST", "/admin/v1/keys", {"user": me["user"], "kind": "api"})
    assert k.status_code == 201, k.text
    r = call(gov, k.json()["secret"], "POST", "/admin/v1/tenants",
             {"kind": "ministry", "name": "鍵庁", "corporate_number": "5000012050004"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "mfa_required", r.text


def test_disabled_locally_and_mapping_removed(idp, gov):
    tok = idp.password_grant("bob")["id_token"]
    me = call(gov, tok).json()
    gov.ok("PATCH", "/admin/v1/users/" + me["user"], {"disabled": True})
    r = call(gov, tok)
    assert r.status_code == 401
    assert "reason=user_disabled" in signin_record(gov, r)["detail"]
    gov.ok("PATCH", "/admin/v1/users/" + me["user"], {"disabled": False})
    assert call(gov, tok).status_code == 200
    # deleting the mapping removes the role it granted, at once
    maps = [m for m in gov.list_all("/admin/v1/sso/group-roles")
            if m["group"] == "staff" and m["scope"] == "tenant/" + gov.tb["id"]]
    assert len(maps) == 1, maps
    gov.ok("DELETE", "/admin/v1/sso/group-roles/" + maps[0]["id"], status=200)
    assert call(gov, tok).json()["bindings"] == []
    gov.ok("POST", "/admin/v1/sso/group-roles", {"issuer": "gov", "group": "staff", "role": "member",
                                                 "scope": "tenant/" + gov.tb["id"]})
    assert [b["role"] for b in call(gov, tok).json()["bindings"]] == ["member"]


def test_tenant_admin_cannot_map_beyond_its_rights(idp, gov):
    tok = idp.password_grant("alice")["id_token"]
    r = call(gov, tok, "POST", "/admin/v1/sso/group-roles",
             {"issuer": "gov", "group": "x", "role": "platform_admin", "scope": "platform"})
    assert r.status_code in (403, 404), r.text
    r = call(gov, tok, "POST", "/admin/v1/sso/group-roles",
             {"issuer": "gov", "group": "x", "role": "member", "scope": "tenant/" + gov.tb["id"]})
    assert r.status_code == 404, r.text
    r = call(gov, tok, "POST", "/admin/v1/sso/group-roles",
             {"issuer": "gov", "group": "auditors", "role": "auditor", "scope": "tenant/" + gov.ta["id"]})
    assert r.status_code == 201, r.text


def test_no_token_in_the_audit_log(idp, gov):
    tokens = [idp.password_grant(u)["id_token"] for u in ("alice", "bob")]
    for t in tokens:
        call(gov, t)
    call(gov, tokens[0][:-4] + "AAAA")
    time.sleep(0.2)
    dump = json.dumps(gov.audit_records())
    for t in tokens:
        for part in t.split("."):
            assert part not in dump, "a token part is in the audit log"


@pytest.fixture(scope="module")
def overseas(idp, tmp_path_factory):
    """overseas-ai trusting the same provider, for its access tokens (aud = the resource)."""
    d = sso_daemon(tmp_path_factory, "sso-overseas", idp, RESOURCE, ["*"], env_kind="overseas-ai")
    d.ta = d.ok("POST", "/admin/v1/tenants", {"kind": "ministry", "name": "A省", "corporate_number": CN_A})
    d.tb = d.ok("POST", "/admin/v1/tenants", {"kind": "local_government", "name": "B市", "corporate_number": CN_B})
    d.pb = d.ok("POST", "/admin/v1/tenants/%s/projects" % d.tb["id"], {"name": "ai", "environment": "prod"})
    d.ok("POST", "/admin/v1/sso/group-roles", {"issuer": "gov", "group": "staff", "role": "member",
                                               "scope": "project/" + d.pb["id"]})
    yield d
    d.stop()


def test_two_environments_own_bindings(idp, gov, overseas):
    # bob: an RFC 9068 access token (typ at+jwt, groups as one comma-joined string)
    at = idp.code_flow("bob", resource=RESOURCE)["access_token"]
    head, claims = jwt_parts(at)
    assert head["typ"] == "at+jwt" and isinstance(claims["groups"], str) and claims["aud"] == RESOURCE
    me = call(overseas, at).json()
    assert me["tenant"] == overseas.tb["id"] != gov.tb["id"], me   # same 法人番号, other ids
    assert [(b["role"], b["scope"]) for b in me["bindings"]] == [("member", "project/" + overseas.pb["id"])], me
    ai = "http://" + json.loads((overseas.data_dir / "listen.json").read_text())["ai"]
    r = requests.get(ai + "/v1/models", timeout=30,
                     headers={"Authorization": "Bearer " + at, "X-Kasumi-Project": overseas.pb["id"]})
    assert r.status_code == 200, r.text
    # govcloud does not take the access token (its audience is the client) ...
    assert call(gov, at).status_code == 401
    # ... and alice, tenant_admin of A in govcloud, has no rights in overseas-ai unless granted there
    alice_at = idp.code_flow("alice", resource=RESOURCE)["access_token"]
    me = call(overseas, alice_at).json()
    assert me["tenant"] == overseas.ta["id"] and me["bindings"] == [], me
    assert call(overseas, alice_at, path="/admin/v1/tenants/%s/projects" % overseas.ta["id"]).status_code == 403
    r = requests.get(ai + "/v1/models", timeout=30,
                     headers={"Authorization": "Bearer " + alice_at, "X-Kasumi-Project": overseas.pb["id"]})
    assert r.status_code in (403, 404), r.text
