"""Starting, checking, reloading and stopping kasumid as an operator does."""
import json
import os
import signal
import stat
import subprocess
import time

import pytest
import requests

from conftest import KASUMID, Daemon, new_corpnum

GOOD_CONFIG = """# kasumid.conf
env_kind = "govcloud"
log_level = "info"
workers = 2

[admin]
listen = "127.0.0.1:8400"

[limits]
max_header_bytes = 16384
max_body_bytes = 1048576
header_timeout_ms = 10000

[audit]
retention_days = 400   # more than the 365-day minimum is fine
group_commit_ms = 10
"""


def check(tmp_path, text, name="kasumid.conf"):
    f = tmp_path / name
    f.write_bytes(text.encode() if isinstance(text, str) else text)
    p = subprocess.run([KASUMID, "-t", "--config", str(f)], capture_output=True, text=True, timeout=30)
    return f, p


def test_config_check_ok(tmp_path):
    f, p = check(tmp_path, GOOD_CONFIG)
    assert p.returncode == 0, "kasumid -t on a good file -> %d\n%s%s" % (p.returncode, p.stdout, p.stderr)
    assert "configuration OK" in p.stdout, "kasumid -t did not print 'configuration OK': %r" % p.stdout


@pytest.mark.parametrize("text,line,col,words", [
    # unknown key inside a section: the key's own position
    ("[limits]\nmax_header_bytes = 4096\nmax_hedaer_bytes = 4096\n", 3, 1, ["unknown key", "max_hedaer_bytes"]),
    # wrong type: the value's position
    ('workers = "two"\n', 1, 11, ["wrong type", "workers"]),
    # retention below a year: refused, and the message says what the floor is
    ("[audit]\nretention_days = 364\n", 2, 18, ["365"]),
    # columns count characters, not bytes: 霞 is one column
    ('data_dir = "/srv/霞" x\n', 1, 21, ["trailing"]),
    ("[audit]\nsegment_bytes = 4096\n", 2, 17, ["segment_bytes", "1048576"]),
], ids=["unknown-key", "wrong-type", "retention-364", "utf8-column", "segment-too-small"])
def test_config_check_errors(tmp_path, text, line, col, words):
    f, p = check(tmp_path, text)
    out = p.stdout + p.stderr
    assert p.returncode != 0, "kasumid -t accepted a bad file %r:\n%s" % (text, out)
    assert "configuration OK" not in out, out
    where = "%s:%d:%d:" % (f, line, col)
    assert where in out, "expected the error at %s for %r, got:\n%s" % (where, text, out)
    for w in words:
        assert w in out, "expected %r in the error for %r, got:\n%s" % (w, text, out)


def test_retention_364_refused_at_start(tmp_path):
    d = Daemon(tmp_path / "data")
    d.write_config("[audit]\nretention_days = 364\n")
    d.start(wait=False)
    rc = d.proc.wait(timeout=30)
    d.proc = None
    assert rc != 0, "kasumid started with retention_days = 364"
    assert "365" in d.stderr(), "the refusal does not mention the 365-day minimum:\n" + d.stderr()
    assert not (d.data_dir / "listen.json").exists(), "kasumid bound a listener with a refused config"


def test_listen_port_zero_and_listen_json(fresh):
    fresh.start()
    doc = json.loads((fresh.data_dir / "listen.json").read_text())
    assert set(doc) >= {"admin"}, doc
    host, port = doc["admin"].rsplit(":", 1)
    assert host == "127.0.0.1" and 0 < int(port) < 65536 and int(port) != 8400, doc
    r = requests.get("http://%s/healthz" % doc["admin"], timeout=10)
    assert r.status_code == 200, r.text


def _files(root):
    for dirpath, _, names in os.walk(root):
        for n in names:
            yield os.path.join(dirpath, n)


def _grep_secret(root, secret: bytes):
    hits = []
    for path in _files(root):
        try:
            with open(path, "rb") as fh:
                if secret in fh.read():
                    hits.append(path)
        except (FileNotFoundError, IsADirectoryError):
            pass
    return hits


def test_bootstrap_token_file(fresh):
    fresh.start()
    tf = fresh.token_file
    assert tf.exists(), "--bootstrap-token-file was not written"
    mode = stat.S_IMODE(tf.stat().st_mode)
    assert mode == 0o600, "token file mode is %o, expected 600" % mode
    token = fresh.token
    assert token and len(token) >= 20, "token file content %r" % token
    r = fresh.api("GET", "/admin/v1/whoami")
    assert r.status_code == 200, r.text
    # Some activity so that meta.db, its WAL and the audit segments hold something.
    fresh.tenant()
    secret = token.encode()
    hits = _grep_secret(fresh.data_dir, secret)
    assert not hits, "the bootstrap token appears in the data dir while running: %s" % hits
    for out in (fresh.stdout_path, fresh.stderr_path):
        assert secret not in out.read_bytes(), "the bootstrap token was logged to %s" % out
    fresh.stop()
    hits = _grep_secret(fresh.data_dir, secret)
    assert not hits, "the bootstrap token appears in the data dir after stop: %s" % hits
    # Second start: the token is not written again (only its hash is kept), the old one still works.
    first_mtime = tf.stat().st_mtime_ns
    tf.unlink()
    fresh.start()
    assert not tf.exists(), "a second start on the same data dir wrote a bootstrap token again"
    fresh.token = token
    r = fresh.api("GET", "/admin/v1/whoami")
    assert r.status_code == 200, "the first start's token no longer works after restart: %s" % r.text
    assert first_mtime


def test_second_daemon_on_same_data_dir_refused(fresh):
    fresh.start()
    before = (fresh.data_dir / "listen.json").read_text()
    p = subprocess.run([KASUMID, "--data-dir", str(fresh.data_dir), "--admin-listen", "127.0.0.1:0",
                        "--bootstrap-token-file", str(fresh.data_dir.parent / "second.token")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0, "a second kasumid started on a data dir in use:\n%s%s" % (p.stdout, p.stderr)
    assert "in use" in p.stderr or "lock" in p.stderr, "no clear reason given: %r" % p.stderr
    assert (fresh.data_dir / "listen.json").read_text() == before, "the second kasumid rewrote listen.json"
    r = requests.get(fresh.url + "/healthz", timeout=10)
    assert r.status_code == 200, "the first kasumid stopped answering"


def test_sigterm_exits_0(fresh):
    fresh.start()
    fresh.tenant()
    proc = fresh.proc
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=60)
    fresh.proc = None
    assert rc == 0, "SIGTERM -> exit %d\n%s" % (rc, fresh.stderr()[-3000:])
    err = fresh.stderr()
    assert "AddressSanitizer" not in err and "runtime error:" not in err, err[-3000:]


def _post_padded(d, nbytes):
    """A POST /admin/v1/tenants whose JSON body is nbytes long (an unknown 'pad' field)."""
    body = {"kind": "ministry", "name": "x", "corporate_number": new_corpnum(), "pad": ""}
    raw = json.dumps(body)
    body["pad"] = "a" * (nbytes - len(raw))
    data = json.dumps(body).encode()
    assert len(data) == nbytes
    return d.api("POST", "/admin/v1/tenants", raw=data, headers={"Content-Type": "application/json"})


def test_sighup_reload(fresh):
    fresh.write_config("[limits]\nmax_body_bytes = 1048576\n")
    fresh.start()
    r = _post_padded(fresh, 4096)
    assert r.status_code == 400, "a 4 KiB body under a 1 MiB limit: expected 400 unknown_field, got %d %s" % (
        r.status_code, r.text)
    # Lower the limit and reload: the same request is now too large.
    fresh.config_path.write_text("[limits]\nmax_body_bytes = 2048\n")
    fresh.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while True:
        r = _post_padded(fresh, 4096)
        if r.status_code == 413 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert r.status_code == 413, "after SIGHUP with max_body_bytes = 2048, a 4 KiB body got %d %s" % (
        r.status_code, r.text)
    assert fresh.proc.poll() is None, "kasumid exited on SIGHUP"
    # A broken file on reload: refused, the running configuration (2048) is kept.
    fresh.config_path.write_text('[limits]\nmax_body_bytes = "big"\n')
    fresh.proc.send_signal(signal.SIGHUP)
    time.sleep(1.0)
    assert fresh.proc.poll() is None, "kasumid exited on a SIGHUP with a broken config"
    assert requests.get(fresh.url + "/healthz", timeout=10).status_code == 200
    r = _post_padded(fresh, 4096)
    assert r.status_code == 413, "after a refused reload the old limit (2048) should still apply; got %d %s" % (
        r.status_code, r.text)
    r = _post_padded(fresh, 1500)
    assert r.status_code == 400, "a 1500-byte body under the kept 2048 limit: got %d %s" % (r.status_code, r.text)
    assert "wrong type" in fresh.stderr() or "refused" in fresh.stderr(), \
        "the refused reload was not reported on stderr:\n" + fresh.stderr()[-2000:]
    t = fresh.tenant()
    assert t["id"]


def test_restart_keeps_tenants(fresh):
    fresh.start()
    made = [fresh.tenant(name="厚生労働省"), fresh.tenant(name="横浜市", kind="local_government"),
            fresh.tenant(kind="private_operator")]
    fresh.stop()
    fresh.start()
    listed = {t["id"]: t for t in fresh.list_all("/admin/v1/tenants")}
    for t in made:
        assert t["id"] in listed, "tenant %s lost across a restart" % t["id"]
        got = fresh.ok("GET", "/admin/v1/tenants/" + t["id"])
        for k in ("name", "kind", "corporate_number"):
            assert got[k] == t[k], "tenant %s field %s: %r before restart, %r after" % (t["id"], k, t[k], got[k])
