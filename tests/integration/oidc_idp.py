"""A real OpenID Connect provider for the SSO tests: Debian's glewlwyd 2.7.5, headless, on
127.0.0.1 with a throw-away SQLite store (recipe and pitfalls: ../shared/reference/oidc-idp).

Provisioned through glewlwyd's own admin API: signing keys rsa-1 (RS256) and ec-1 (ES256), a
confidential client `ci-client` (RS256) and its twin `ci-client-es256`, an OTP scheme and a scope
`mfa` that requires password + TOTP, and users whose custom properties become the claims kasumi
maps: `corporate_number` (法人番号) and `groups` (an array in ID tokens, a comma-joined string in
access tokens). Tokens come from the password grant and from the authorization-code flow scripted
with requests (login, consent, /auth with g_continue), as a browser would drive it.
"""
import base64
import gzip
import hashlib
import hmac
import json
import os
import pathlib
import re
import socket
import sqlite3
import struct
import subprocess
import time
import urllib.parse

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

INIT_SQL = "/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz"
MODULES = "/usr/lib/glewlwyd"
CLIENT, SECRET = "ci-client", "ci-secret-123"
CLIENT_ES, SECRET_ES = "ci-client-es256", "ci-secret-123-es"
RESOURCE = "https://api.ci.test"
REDIRECT = "http://127.0.0.1/cb"   # nothing listens: only the Location header is read


def corpnum(base12):
    digits = [int(c) for c in base12]
    s = sum(d * (1 if n % 2 else 2) for n, d in enumerate(reversed(digits), start=1))
    return str(9 - s % 9) + base12


# 法人番号 of the test tenants; CN_OTHER is valid but no issuer in the tests may name it.
CN_A, CN_B, CN_OTHER = corpnum("300000000011"), corpnum("300000000022"), corpnum("300000000033")

USERS = {
    # name: (password, corporate_number or "", groups, scopes)
    "alice": ("alice-pass-1", CN_A, ["kasumi-admins", "staff"], ["openid", "g_profile"]),
    "bob": ("bob-pass-1", CN_B, ["staff"], ["openid", "g_profile"]),
    "carol": ("carol-pass-1", "", ["platform-ops"], ["openid", "g_profile", "mfa"]),
    "dave": ("dave-pass-1", CN_OTHER, ["staff"], ["openid", "g_profile"]),
}
TOTP_STEP = 5   # carol's TOTP period; glewlwyd refuses a second OTP login within one period


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_json(obj):
    return b64u(json.dumps(obj, separators=(",", ":")).encode())


def jwt_parts(token):
    def dec(p):
        return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    h, p, _ = token.split(".")
    return dec(h), dec(p)


def totp(secret_b32, step=TOTP_STEP, at=None):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((at or time.time()) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff) % 1000000)


def _int_b64(n):
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def rsa_jwk(key, kid):
    pub, priv = key.public_key().public_numbers(), key.private_numbers()
    return {"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": _int_b64(pub.n), "e": _int_b64(pub.e),
            "d": _int_b64(priv.d), "p": _int_b64(priv.p), "q": _int_b64(priv.q), "dp": _int_b64(priv.dmp1),
            "dq": _int_b64(priv.dmq1), "qi": _int_b64(priv.iqmp)}


def ec_jwk(key, kid):
    pub = key.public_key().public_numbers()
    d = key.private_numbers().private_value
    return {"kty": "EC", "kid": kid, "alg": "ES256", "use": "sig", "crv": "P-256",
            "x": b64u(pub.x.to_bytes(32, "big")), "y": b64u(pub.y.to_bytes(32, "big")),
            "d": b64u(d.to_bytes(32, "big"))}


def sign(claims, key, kid="rsa-1", alg="RS256", typ="JWT"):
    """A JWS signed by key (an RSA or EC private key of cryptography)."""
    head = {"alg": alg, "typ": typ}
    if kid is not None:
        head["kid"] = kid
    signing_input = (b64u_json(head) + "." + b64u_json(claims)).encode()
    if alg == "RS256":
        sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "PS256":
        sig = key.sign(signing_input, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                       hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return signing_input.decode() + "." + b64u(sig)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Glewlwyd:
    def __init__(self, workdir: pathlib.Path):
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = None
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.carol_secret = base64.b32encode(os.urandom(20)).decode().rstrip("=")
        self._mfa_session = None
        self._last_otp = 0.0

    # ---- process -------------------------------------------------------------------------------
    def _init_db(self):
        db = sqlite3.connect(self.dir / "glewlwyd.db")
        db.executescript(gzip.open(INIT_SQL, "rt").read())
        # custom user properties and a per-client key id, declared before start-up (a change of
        # data-format through the API would need an extra reset call)
        db.execute("""UPDATE g_user_module_instance SET gumi_parameters = json_set(gumi_parameters,
          '$."data-format".corporate_number', json('{"multiple":false,"read":true,"write":true,"profile-read":true,"profile-write":false}'),
          '$."data-format".groups', json('{"multiple":true,"read":true,"write":true,"profile-read":true,"profile-write":false}'))
          WHERE gumi_name = 'database'""")
        db.execute("""UPDATE g_client_module_instance SET gcmi_parameters = json_set(gcmi_parameters,
          '$."data-format".sign_kid', json('{"multiple":false,"read":true,"write":true}'))
          WHERE gcmi_name = 'database'""")
        db.commit()
        db.close()

    def _write_conf(self, port):
        # NB: no use_secure_connection=false: 2.7.5 then demands certificate files
        (self.dir / "glewlwyd.conf").write_text(f"""
port={port}
bind_address="127.0.0.1"
external_url="http://127.0.0.1:{port}"
login_url="login.html"
api_prefix="api"
allow_origin="*"
log_mode="file"
log_level="INFO"
log_file="{self.dir}/glewlwyd.log"
cookie_secure=0
session_expiration=3600
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
allow_multiple_user_per_session=false
login_api_enabled=true
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="{MODULES}/user"
client_module_path="{MODULES}/client"
user_auth_scheme_module_path="{MODULES}/scheme"
plugin_module_path="{MODULES}/plugin"
hash_algorithm="SHA512"
database = {{ type = "sqlite3"; path = "{self.dir}/glewlwyd.db"; }};
""")

    def start(self):
        self._init_db()
        for _ in range(5):
            port = free_port()
            self._write_conf(port)
            self.proc = subprocess.Popen(["glewlwyd", "--config-file=%s" % (self.dir / "glewlwyd.conf")],
                                         stdin=subprocess.DEVNULL, stdout=open(self.dir / "stdout", "ab"),
                                         stderr=subprocess.STDOUT)
            deadline = time.time() + 10
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    if requests.get("http://127.0.0.1:%d/config" % port, timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.03)
            if self.proc.poll() is None:
                break
        assert self.proc.poll() is None, "glewlwyd did not start: " + (self.dir / "stdout").read_text()
        self.port = port
        self.api_url = "http://127.0.0.1:%d/api" % port
        self.issuer = self.api_url + "/oidc"
        self._provision()
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    # ---- provisioning through the admin API ------------------------------------------------------
    def admin(self, method, path, body=None):
        r = self._admin.request(method, self.api_url + path, json=body, timeout=30)
        assert r.status_code // 100 == 2, "%s %s -> %d %s" % (method, path, r.status_code, r.text)
        return r

    def _provision(self):
        self._admin = requests.Session()
        r = self._admin.post(self.api_url + "/auth/", json={"username": "admin", "password": "password"})
        assert r.status_code == 200, r.text
        jwks = {"keys": [rsa_jwk(self.rsa, "rsa-1"), ec_jwk(self.ec, "ec-1")]}
        self.admin("POST", "/mod/plugin/", {"module": "oidc", "name": "oidc", "display_name": "OpenID Connect",
            "parameters": {
                "iss": self.issuer, "jwks-private": json.dumps(jwks), "default-kid": "rsa-1", "jwks-show": True,
                "client-sign_kid-parameter": "sign_kid", "access-token-duration": 3600,
                "refresh-token-duration": 86400, "code-duration": 600, "refresh-token-rolling": False,
                "allow-non-oidc": True, "auth-type-code-enabled": True, "auth-type-token-enabled": True,
                "auth-type-id-token-enabled": True, "auth-type-password-enabled": True,
                "auth-type-client-enabled": True, "auth-type-refresh-enabled": True,
                "subject-type": "public", "name-claim": "mandatory", "email-claim": "mandatory",
                "scope-claim": "mandatory", "pkce-allowed": True,
                "claims": [{"name": "corporate_number", "user-property": "corporate_number", "type": "string",
                            "mandatory": True},
                           {"name": "groups", "user-property": "groups", "type": "string", "mandatory": True}],
                "additional-parameters": [{"user-parameter": "corporate_number", "token-parameter": "corporate_number"},
                                          {"user-parameter": "groups", "token-parameter": "groups"}],
                "resource-allowed": True, "resource-scope": {"openid": [RESOURCE]}}})
        # the second factor: TOTP ("window": 1 is what 2.7.5 reads; see the reference's pitfalls)
        self.admin("POST", "/mod/scheme/", {"module": "otp", "name": "ci-otp", "display_name": "OTP",
            "expiration": 600, "max_use": 0, "allow_user_register": False, "enabled": True,
            "parameters": {"issuer": self.issuer, "otp-length": 6, "secret-minimum-size": 20, "hotp-allow": True,
                           "hotp-window": 0, "totp-allow": True, "totp-window": 30, "totp-start-offset": 0,
                           "window": 1}})
        self.admin("POST", "/scope/", {"name": "mfa", "display_name": "MFA", "description": "password + OTP",
            "password_required": True, "password_max_age": 0,
            "scheme": {"otp": [{"scheme_type": "otp", "scheme_name": "ci-otp"}]}, "scheme_required": {"otp": 1}})
        for name, (pw, cn, groups, scopes) in USERS.items():
            body = {"username": name, "password": pw, "name": name.capitalize() + " Test",
                    "email": "%s@idp.test" % name, "enabled": True, "scope": scopes, "groups": groups}
            if cn:
                body["corporate_number"] = cn
            self.admin("POST", "/user/", body)
        self.admin("POST", "/delegate/carol/profile/scheme/register/", {"username": "carol",
            "scheme_type": "otp", "scheme_name": "ci-otp",
            "value": {"type": "TOTP", "secret": self.carol_secret, "time_step_size": TOTP_STEP}})
        self.add_client(CLIENT, SECRET, [REDIRECT], "rsa-1")
        self.add_client(CLIENT_ES, SECRET_ES, [REDIRECT], "ec-1")

    def add_client(self, client_id, secret, redirect_uris, kid="rsa-1"):
        self.admin("POST", "/client/", {"client_id": client_id, "client_secret": secret, "name": client_id,
            "confidential": True, "enabled": True, "scope": ["openid"], "redirect_uri": redirect_uris,
            "sign_kid": kid, "authorization_type": ["code", "token", "id_token", "password",
                                                    "client_credentials", "refresh_token"],
            "token_endpoint_auth_method": ["client_secret_basic", "client_secret_post"]})

    # ---- tokens --------------------------------------------------------------------------------
    def token(self, client=CLIENT, secret=SECRET, **form):
        r = requests.post(self.issuer + "/token", auth=(client, secret), data=form, timeout=30)
        assert r.status_code == 200, "token %r -> %d %s" % (form.get("grant_type"), r.status_code, r.text)
        return r.json()

    def password_grant(self, user, client=CLIENT, secret=SECRET):
        return self.token(client, secret, grant_type="password", username=user, password=USERS[user][0],
                          scope="openid")

    def login(self, user, otp=False):
        """A glewlwyd session for user (password, then TOTP when otp), as its login page does."""
        s = requests.Session()
        r = s.post(self.api_url + "/auth/", json={"username": user, "password": USERS[user][0]}, timeout=30)
        assert r.status_code == 200, r.text
        if otp:
            # the replay guard refuses any OTP of the user within one period of the last accepted one
            wait = self._last_otp + TOTP_STEP + 0.2 - time.time()
            if wait > 0:
                time.sleep(wait)
            for _ in range(3):
                r = s.post(self.api_url + "/auth/", json={"username": user, "scheme_type": "otp",
                           "scheme_name": "ci-otp", "value": {"value": totp(self.carol_secret)}}, timeout=30)
                if r.status_code == 200:
                    self._last_otp = time.time()
                    break
                time.sleep(TOTP_STEP)
            assert r.status_code == 200, "OTP login refused: %d %s" % (r.status_code, r.text)
        return s

    def consent(self, session, client, scope):
        r = session.put(self.api_url + "/auth/grant/" + client, json={"scope": scope}, timeout=30)
        assert r.status_code == 200, r.text

    def authorize(self, session, params):
        """GET /auth as the browser does after login and consent: the redirect's query (code, state)
        or None when glewlwyd sends the user to its login page instead."""
        r = session.get(self.issuer + "/auth", params=dict(params, g_continue=""), allow_redirects=False,
                        timeout=30)
        loc = r.headers.get("Location", "")
        if r.status_code not in (301, 302, 303) or "login.html" in loc:
            return None, loc
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query)), loc

    def code_flow(self, user, scope="openid", otp=False, resource=None, client=CLIENT, secret=SECRET):
        """Tokens from the authorization-code flow (no PKCE; the relying party here is the test)."""
        s = self.login(user, otp)
        self.consent(s, client, scope)
        params = {"response_type": "code", "client_id": client, "redirect_uri": REDIRECT, "scope": scope,
                  "state": "st" + os.urandom(4).hex(), "nonce": "nc" + os.urandom(4).hex()}
        if resource:
            params["resource"] = resource
        q, loc = self.authorize(s, params)
        assert q and "code" in q, "no code: " + loc
        return self.token(client, secret, grant_type="authorization_code", code=q["code"], redirect_uri=REDIRECT)

    def public_pem(self):
        return self.rsa.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)

    def claims(self, **over):
        now = int(time.time())
        c = {"iss": self.issuer, "aud": CLIENT, "sub": "mallory", "iat": now, "exp": now + 600,
             "corporate_number": CN_A, "groups": ["kasumi-admins"]}
        c.update(over)
        return {k: v for k, v in c.items() if v is not None}

    def log(self):
        p = self.dir / "glewlwyd.log"
        return p.read_text(errors="replace") if p.exists() else ""
