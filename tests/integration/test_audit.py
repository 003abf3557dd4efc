"""The audit log: every request is recorded, searchable and exportable; the log verifies offline
with the public key, and every kind of tampering is caught and located."""
import hashlib
import json
import re
import shutil
import subprocess
import time

import pytest
import requests

from conftest import KASUMI, Daemon, random_id

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")


@pytest.fixture(scope="module")
def tenant_c(shared):
    t = shared.tenant(name="監査テスト庁")
    admin, token = shared.tenant_admin(t["id"])
    return t, admin, token


def test_read_is_recorded(shared, tenant_c):
    t, admin, token = tenant_c
    r = shared.api("GET", "/admin/v1/tenants/" + t["id"], token=token)
    assert r.status_code == 200, r.text
    rid = r.headers["x-request-id"]
    rec = shared.audit_wait(rid, token=token, tenant=t["id"])
    assert rec["action"] == "tenant.read", rec
    assert rec["principal"] == admin["id"], "principal %r, expected A's admin %r" % (rec["principal"], admin["id"])
    assert rec["source"] == "127.0.0.1", "source %r" % rec["source"]
    assert rec["outcome"] == "success", rec
    assert rec["tenant"] == t["id"], rec
    assert RFC3339_MS.match(rec["time"]), "time %r is not RFC 3339 with milliseconds" % rec["time"]
    assert rec.get("status") == 200, rec


def test_denied_is_recorded(shared, tenant_c):
    t, admin, token = tenant_c
    # A tenant admin may not rename its tenant (tenant.update is the operator's): 403, denied.
    r = shared.api("PATCH", "/admin/v1/tenants/" + t["id"], {"name": "乗っ取り"}, token=token)
    assert r.status_code == 403, r.text
    rec = shared.audit_wait(r.headers["x-request-id"], tenant=t["id"])
    assert rec["outcome"] == "denied" and rec["action"] == "tenant.update", rec
    assert rec["principal"] == admin["id"], rec
    # Another tenant's admin probing this tenant: 404 to them, denied in the log.
    other = shared.tenant()
    _, other_token = shared.tenant_admin(other["id"])
    r = shared.api("GET", "/admin/v1/tenants/" + t["id"], token=other_token)
    assert r.status_code == 404, r.text
    rec = shared.audit_wait(r.headers["x-request-id"])
    assert rec["outcome"] == "denied", rec
    # No credentials at all: still recorded, as anonymous.
    r = shared.api("GET", "/admin/v1/tenants/" + t["id"], token="ksm_not_a_real_token")
    assert r.status_code == 401
    rec = shared.audit_wait(r.headers["x-request-id"])
    assert rec["outcome"] == "denied" and rec["principal"] == "anonymous", rec


def test_filters(shared, tenant_c):
    t, admin, token = tenant_c
    # Records of two kinds by two principals, spread over time.
    for _ in range(3):
        shared.api("GET", "/admin/v1/tenants/" + t["id"], token=token)
    time.sleep(0.05)
    for _ in range(3):
        shared.api("GET", "/admin/v1/tenants/%s/projects" % t["id"], token=token)
        last = shared.api("GET", "/admin/v1/tenants/%s/users" % t["id"])
    # reads' records are durable within the group-commit window and indexed in order: once the
    # last one is found, the others are (a fixed sleep was too short on a loaded machine)
    shared.audit_wait(last.headers["x-request-id"], tenant=t["id"])
    full = shared.audit_records(tenant=t["id"])
    assert len(full) >= 12, "expected at least 12 records for the tenant, got %d" % len(full)
    seqs = [rec["seq"] for rec in full]
    assert seqs == sorted(seqs, reverse=True), "records are not newest first"
    assert all(rec["tenant"] == t["id"] for rec in full), "tenant filter returned other tenants' records"

    by_principal = shared.audit_records(tenant=t["id"], principal=admin["id"])
    want = {rec["seq"] for rec in full if rec["principal"] == admin["id"]}
    got = {rec["seq"] for rec in by_principal}
    assert all(rec["principal"] == admin["id"] for rec in by_principal), "principal filter leaks"
    assert want <= got, "principal filter misses records: %s" % sorted(want - got)

    by_action = shared.audit_records(tenant=t["id"], action="project.list")
    assert by_action and all(rec["action"] == "project.list" for rec in by_action), by_action[:3]
    assert {r["seq"] for r in full if r["action"] == "project.list"} <= {r["seq"] for r in by_action}
    prefix = shared.audit_records(tenant=t["id"], action="tenant.*")
    assert prefix and all(r["action"].startswith("tenant.") for r in prefix), prefix[:3]

    # Time range [since, until): pick a record in the middle.
    times = sorted({rec["time"] for rec in full})
    mid = times[len(times) // 2]
    since = shared.audit_records(tenant=t["id"], since=mid)
    until = shared.audit_records(tenant=t["id"], until=mid)
    assert all(rec["time"] >= mid for rec in since), "since=%s returned older records" % mid
    assert all(rec["time"] < mid for rec in until), "until=%s returned records at or after it" % mid
    assert {r["seq"] for r in full if r["time"] >= mid} <= {r["seq"] for r in since}
    assert {r["seq"] for r in full if r["time"] < mid} == {r["seq"] for r in until}
    r = shared.api("GET", "/admin/v1/audit?since=yesterday")
    assert r.status_code == 400, r.text


def test_pagination_every_record_once(shared, tenant_c):
    t, _, token = tenant_c
    for _ in range(5):
        shared.api("GET", "/admin/v1/tenants/" + t["id"], token=token)
    time.sleep(0.2)
    full = shared.audit_records(tenant=t["id"])
    paged, cursor, pages = [], None, 0
    while True:
        url = "/admin/v1/audit?tenant=%s&limit=3" % t["id"] + ("&cursor=" + requests.utils.quote(cursor) if cursor else "")
        page = shared.ok("GET", url, token=token)
        assert len(page["items"]) <= 3
        paged += page["items"]
        pages += 1
        cursor = page.get("next_cursor")
        if not cursor:
            break
        assert pages < 10000
    seqs = [r["seq"] for r in paged]
    assert len(seqs) == len(set(seqs)), "pagination returned a record twice"
    missing = {r["seq"] for r in full} - set(seqs)
    assert not missing, "pagination skipped records %s" % sorted(missing)[:20]
    newest = max(r["seq"] for r in full)
    assert all(s > newest for s in set(seqs) - {r["seq"] for r in full}), "unknown records in the pages"
    r = shared.api("GET", "/admin/v1/audit?tenant=%s&cursor=garbage" % t["id"], token=token)
    assert r.status_code == 400, "a forged cursor: %d %s" % (r.status_code, r.text)


def test_export_json_lines(shared, tenant_c):
    t, _, token = tenant_c
    full = shared.audit_records(tenant=t["id"])
    r = shared.api("GET", "/admin/v1/audit/export?tenant=" + t["id"], token=token)
    assert r.status_code == 200, r.text
    assert "json" in r.headers.get("content-type", ""), r.headers
    lines = [ln for ln in r.text.split("\n") if ln]
    assert r.text.endswith("\n"), "JSON Lines must end each line with a newline"
    recs = [json.loads(ln) for ln in lines]
    assert all(isinstance(x, dict) and x["tenant"] == t["id"] for x in recs)
    assert {x["seq"] for x in full} <= {x["seq"] for x in recs}, "export misses records the query shows"


def test_public_key_is_pem(shared):
    r = shared.api("GET", "/admin/v1/audit/public-key")
    assert r.status_code == 200 and "-----BEGIN PUBLIC KEY-----" in r.text, r.text[:200]
    assert "PRIVATE" not in r.text


# ---- offline verification and tampering --------------------------------------------------------

def verify(audit_dir, pub):
    p = subprocess.run([KASUMI, "audit", "verify", str(audit_dir), "--public-key", str(pub)],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


@pytest.fixture(scope="module")
def sealed_log(tmp_path_factory):
    """A log of four sealed segments (each SIGTERM seals one) and its public key, outside DATA."""
    base = tmp_path_factory.mktemp("auditlog")
    d = Daemon(base / "data")
    d.write_config("[audit]\nsegment_bytes = 1048576\n")
    pub = base / "audit.pub"
    for round_ in range(4):
        d.start()
        t = d.tenant(name="封印%d" % round_)
        for _ in range(10):
            d.api("GET", "/admin/v1/tenants/" + t["id"])
        if round_ == 0:
            p = d.cli("audit", "public-key", "--out", str(pub))
            assert pub.exists(), p.stdout + p.stderr
        d.stop()
    segs = sorted((d.data_dir / "audit").glob("seg-*.log"))
    assert len(segs) >= 4, "expected a sealed segment per start, got %s" % segs
    return d, pub


def copy_log(sealed_log, tmp_path):
    d, pub = sealed_log
    dst = tmp_path / "audit-copy"
    shutil.copytree(d.data_dir / "audit", dst)
    return dst, pub


def lines_of(path):
    return path.read_bytes().split(b"\n")[:-1]


def record_lines(seg):
    return [i for i, ln in enumerate(lines_of(seg)) if b'"kind"' not in ln]


def test_verify_intact(sealed_log):
    d, pub = sealed_log
    assert not str(pub).startswith(str(d.data_dir)), "the public key must live outside DATA"
    rc, out = verify(d.data_dir / "audit", pub)
    assert rc == 0, "verify of an untouched log -> %d\n%s" % (rc, out)
    assert "intact" in out, out


def assert_located(rc, out, seg_name, lines=None):
    assert rc != 0, "tampered log verified as intact:\n" + out
    assert seg_name in out, "verify did not name %s:\n%s" % (seg_name, out)
    m = re.search(re.escape(seg_name) + r".*?line (\d+)", out)
    assert m or re.search(r"seq \d+", out), "verify did not name a line or seq:\n" + out
    if lines is not None and m:
        assert int(m.group(1)) in lines, "verify named line %s, expected one of %s:\n%s" % (m.group(1), lines, out)


def test_tamper_flipped_byte(sealed_log, tmp_path):
    audit, pub = copy_log(sealed_log, tmp_path)
    seg = audit / "seg-000002.log"
    lines = lines_of(seg)
    idx = record_lines(seg)[len(record_lines(seg)) // 2]
    ln = bytearray(lines[idx])
    pos = ln.index(b'"request_id":"') + len(b'"request_id":"') + 2
    ln[pos] = ord("0") if ln[pos] != ord("0") else ord("1")   # still valid JSON: only the chain can tell
    lines[idx] = bytes(ln)
    seg.write_bytes(b"\n".join(lines) + b"\n")
    rc, out = verify(audit, pub)
    assert_located(rc, out, "seg-000002.log", lines={idx + 1, idx + 2})


def test_tamper_truncated_tail(sealed_log, tmp_path):
    audit, pub = copy_log(sealed_log, tmp_path)
    last = sorted(audit.glob("seg-*.log"))[-1]
    data = last.read_bytes()
    lines = lines_of(last)
    cut = len(data) - len(lines[-1]) // 2 - 1   # in the middle of the last line
    last.write_bytes(data[:cut])
    rc, out = verify(audit, pub)
    assert_located(rc, out, last.name, lines={len(lines)})


def test_tamper_deleted_middle_segment(sealed_log, tmp_path):
    audit, pub = copy_log(sealed_log, tmp_path)
    (audit / "seg-000002.log").unlink()
    rc, out = verify(audit, pub)
    assert rc != 0, "a log without seg-000002.log verified:\n" + out
    assert "seg-000002.log" in out, "verify does not say which segment is missing:\n" + out


def _sha(b):
    return hashlib.sha256(b).hexdigest()


PREV = re.compile(rb'"prev":"[0-9a-f]{64}"')


def test_tamper_rewritten_record_with_rechained_hashes(sealed_log, tmp_path):
    """An attacker without the signing key rewrites one record's action and recomputes every later
    prev (docs: prev = SHA-256 hex of the previous line without its newline). Only the signatures
    on checkpoints and seals can catch it."""
    audit, pub = copy_log(sealed_log, tmp_path)
    segs = sorted(audit.glob("seg-*.log"))
    target = audit / "seg-000002.log"
    idx = record_lines(target)[1]
    all_lines = [(s, lines_of(s)) for s in segs]
    prev_hash = None
    changed = False
    for s, lines in all_lines:
        for i, ln in enumerate(lines):
            if s == target and i == idx:
                assert b'"action":"' in ln
                new = re.sub(rb'"action":"[^"]*"', b'"action":"tenant.delete"', ln, count=1)
                assert new != ln
                lines[i] = new
                changed = True
            elif changed:
                lines[i] = PREV.sub(b'"prev":"' + prev_hash.encode() + b'"', ln, count=1)
            prev_hash = _sha(lines[i])
        s.write_bytes(b"\n".join(lines) + b"\n")
    # sanity: the chain itself is now consistent from the rewritten record on
    lines = lines_of(target)
    assert PREV.search(lines[idx + 1]).group(0) == b'"prev":"' + _sha(lines[idx]).encode() + b'"'
    rc, out = verify(audit, pub)
    assert_located(rc, out, "seg-000002.log")


def test_verify_with_wrong_key_fails(sealed_log, tmp_path):
    audit, _ = copy_log(sealed_log, tmp_path)
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(tmp_path / "k.pem")], check=True,
                   capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", str(tmp_path / "k.pem"), "-pubout", "-out", str(other)], check=True,
                   capture_output=True)
    rc, out = verify(audit, other)
    assert rc != 0, "the log verified under a key that did not sign it:\n" + out


def test_retention_364_refused(tmp_path):
    f = tmp_path / "k.conf"
    f.write_text("[audit]\nretention_days = 364\n")
    from conftest import KASUMID
    p = subprocess.run([KASUMID, "-t", "--config", str(f)], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "365" in p.stdout + p.stderr, p.stdout + p.stderr
    d = Daemon(tmp_path / "data")
    d.write_config("[audit]\nretention_days = 364\n")
    d.start(wait=False)
    rc = d.proc.wait(timeout=30)
    d.proc = None
    assert rc != 0 and "365" in d.stderr(), "kasumid started with retention_days = 364: %d %s" % (rc, d.stderr())


def test_protocol_errors_are_recorded(shared):
    """Requests refused by the HTTP layer (smuggling attempts, oversize headers) are in the log too."""
    for raw, status in [(b"GET /healthz HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400),
                        (b"GET /admin/v1/tenants HTTP/1.1\r\nHost: a\r\nX-Pad: " + b"a" * 20000 + b"\r\n\r\n", 431)]:
        c = shared.raw()
        c.send(raw)
        r = c.read_response()
        c.close()
        assert r.status == status, r
        rec = shared.audit_wait(r.header("x-request-id"))
        assert rec["outcome"] == "error" and rec["status"] == status, rec
        assert rec["source"] == "127.0.0.1", rec
