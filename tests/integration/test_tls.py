"""TLS on the admin listener: TLS 1.2+ with a certificate from the config, plain HTTP refused on it,
TLS 1.1 refused, and the API works through it (keep-alive, pipelining-free requests, bodies)."""
import socket
import ssl
import subprocess

import pytest
import requests

from conftest import new_corpnum


def make_cert(tmp_path):
    key, cert = tmp_path / "tls.key", tmp_path / "tls.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    key.chmod(0o600)
    return cert, key


@pytest.fixture
def tls_daemon(fresh, tmp_path):
    cert, key = make_cert(tmp_path)
    fresh.write_config('[admin]\ntls_cert = "%s"\ntls_key = "%s"\n' % (cert, key))
    fresh.start()
    fresh.url = fresh.url.replace("http://", "https://")
    fresh.cert = str(cert)
    return fresh


def test_api_over_tls(tls_daemon):
    d = tls_daemon
    s = requests.Session()
    s.trust_env = False   # REQUESTS_CA_BUNDLE in the environment would override verify
    s.verify = d.cert
    s.headers["Authorization"] = "Bearer " + d.token
    r = s.post(d.url + "/admin/v1/tenants",
               json={"kind": "ministry", "name": "デジタル庁", "corporate_number": new_corpnum()})
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    for _ in range(3):   # keep-alive over one TLS session
        g = s.get(d.url + "/admin/v1/tenants/" + tid)
        assert g.status_code == 200 and g.json()["name"] == "デジタル庁"
    # a body larger than one TLS record (16 KiB) arrives whole
    big = {"kind": "ministry", "name": "あ" * 150, "corporate_number": new_corpnum()}
    r = s.post(d.url + "/admin/v1/tenants", data=(str(big).replace("'", '"') + " " * 40000).encode(),
               headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text


def test_tls_versions_and_plain_http(tls_daemon):
    d = tls_daemon
    host, port = d.addr.rsplit(":", 1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(d.cert)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            assert s.version() == "TLSv1.2"
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    old.set_ciphers("ALL:@SECLEVEL=0")
    old.minimum_version = ssl.TLSVersion.TLSv1
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
            with old.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                s.recv(4096)
    # plain HTTP to a TLS listener gets no HTTP answer
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        raw.settimeout(5)
        try:
            data = raw.recv(4096)
        except (ConnectionResetError, socket.timeout):
            data = b""
        assert not data.startswith(b"HTTP/1.1 200")


def test_tls_config_errors(tmp_path):
    from conftest import KASUMID
    cert, key = make_cert(tmp_path)
    conf = tmp_path / "k.conf"
    conf.write_text('[admin]\ntls_cert = "%s"\n' % cert)
    p = subprocess.run([KASUMID, "-t", "--config", str(conf)], capture_output=True, text=True)
    assert p.returncode != 0 and "tls_key" in (p.stdout + p.stderr)
    # a key that does not match / a missing file: kasumid refuses to start and says why
    conf.write_text('[admin]\ntls_cert = "%s"\ntls_key = "%s"\n' % (cert, tmp_path / "missing.key"))
    p = subprocess.run([KASUMID, "--config", str(conf), "--data-dir", str(tmp_path / "d"),
                        "--admin-listen", "127.0.0.1:0"], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "TLS" in p.stderr
