"""Uploads of any size through the admin listener (docs/admin-api.md, "Objects of a bucket"): the
object route is routed, authenticated and authorised at the head, then its body streams into the
store, so kasumid's memory stays flat whatever the size. Checked against the daemon's peak RSS
(VmHWM in /proc), byte for byte through the admin API and through S3 (boto3); a body cut off
mid-way stores nothing and leaks nothing (LeakSanitizer at the daemon's exit); a caller without
s3.object.write, or a cookie session without its CSRF token, is refused before any body byte is
read; Content-Length is required; body_timeout_ms bounds the gap between body bytes, not the
whole upload. The browser's side (a several-MB file with a Japanese name through the page) is the
last test."""
import hashlib
import json
import os
import pathlib
import time
import urllib.parse
import uuid

import botocore.exceptions
import pytest
import requests

from conftest import Daemon
from test_s3 import S3Org

MiB = 1 << 20
BIG = 64 * MiB


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("upload") / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    # ASan keeps freed blocks in quarantine (256 MiB by default) instead of reusing them, which would
    # show as RSS growing with every byte that passes; the test measures kasumid's working set
    d.asan_extra = ":quarantine_size_mb=4"
    d.write_config("[limits]\nbody_timeout_ms = 1500\n")
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
    o = S3Org(d)
    o.bucket = "up-" + uuid.uuid4().hex[:6]
    o.client().create_bucket(Bucket=o.bucket)
    yield o
    d.stop()


def path_of(o, key, project=None):
    return "/admin/v1/projects/%s/buckets/%s/object?key=%s" % (project or o.project, o.bucket,
                                                              urllib.parse.quote(key, safe=""))


def hwm_kib(d):
    for ln in pathlib.Path("/proc/%d/status" % d.pid()).read_text().splitlines():
        if ln.startswith("VmHWM:"):
            return int(ln.split()[1])
    raise AssertionError("no VmHWM")


def session(d):
    """A console session (cookie and CSRF token) of the platform administrator, as /auth/local opens."""
    s = requests.Session()
    assert s.post(d.url + "/auth/local", json={"token": d.token}, timeout=10).status_code == 200
    return s, s.get(d.url + "/auth/session", timeout=10).json()["csrf_token"]


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(MiB), b""):
            h.update(block)
    return h.hexdigest()


def tmp_parts(d):
    return sorted(str(p) for p in d.data_dir.rglob("*.part"))


def test_64_mib_with_flat_memory(org, tmp_path):
    d, key = org.d, "大きな/報告書 " + uuid.uuid4().hex[:4] + ".pdf"
    src = tmp_path / "big.bin"
    with open(src, "wb") as f:
        for i in range(BIG // MiB):
            f.write(hashlib.sha256(b"%d" % i).digest() * (MiB // 32))
    want = sha256_file(src)
    s, csrf = session(d)
    # warm up (the first request of each kind allocates what stays: keys, statements, pools)
    r = s.put(d.url + path_of(org, "warm"), data=b"w" * (3 * MiB), headers={"X-CSRF-Token": csrf}, timeout=60)
    assert r.status_code == 201, r.text
    assert s.get(d.url + path_of(org, "warm"), timeout=60).content == b"w" * (3 * MiB)
    before = hwm_kib(d)
    with open(src, "rb") as f:   # a file: requests sends its Content-Length and streams it
        r = s.put(d.url + path_of(org, key), data=f, timeout=300,
                  headers={"X-CSRF-Token": csrf, "Content-Type": "application/pdf"})
    assert r.status_code == 201, r.text
    assert r.json()["size"] == BIG and r.json()["key"] == key
    after_put = hwm_kib(d)
    # the download streams too, with the stored type and the file's own name (RFC 6266 filename*)
    h = hashlib.sha256()
    with s.get(d.url + path_of(org, key), stream=True, timeout=300) as g:
        assert g.status_code == 200 and g.headers["Content-Type"] == "application/pdf"
        assert g.headers["Content-Length"] == str(BIG)
        cd = g.headers["Content-Disposition"]
        assert cd.startswith('attachment; filename="') and cd.endswith(
            "filename*=UTF-8''" + urllib.parse.quote(key.split("/")[-1], safe="")), cd
        for block in g.iter_content(MiB):
            h.update(block)
    assert h.hexdigest() == want
    after_get = hwm_kib(d)
    # well below the object's size: buffering it would add 64 MiB at least
    assert after_put - before < 16 * 1024, (before, after_put)
    assert after_get - before < 16 * 1024, (before, after_get)
    # S3 serves the same bytes, and the upload is audited as the session's principal
    got = org.client().get_object(Bucket=org.bucket, Key=key)
    h = hashlib.sha256()
    for block in iter(lambda: got["Body"].read(MiB), b""):
        h.update(block)
    assert h.hexdigest() == want and got["ContentLength"] == BIG and got["ETag"] == r.json()["etag"]
    rec = d.audit_wait(r.headers["x-request-id"], action="storage.object.write")
    assert rec["outcome"] == "success" and rec["target"] == org.bucket + "/" + key, rec
    assert not tmp_parts(d)


def raw_head(o, key, length, token, extra=""):
    return ("PUT %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n%s\r\n"
            % (path_of(o, key), token, length, extra)).encode()


def exists(o, key):
    return o.d.api("GET", path_of(o, key)).status_code == 200


def test_cut_off_mid_body_stores_nothing(org):
    d, key = org.d, "cut-" + uuid.uuid4().hex[:6]
    c = d.raw()
    c.send(raw_head(org, key, 16 * MiB, d.token))
    c.send(os.urandom(3 * MiB))
    time.sleep(0.3)
    c.close()
    # the store's temporary goes once its I/O settles; no object, in the admin API or in S3
    deadline = time.time() + 10
    while tmp_parts(d) and time.time() < deadline:
        time.sleep(0.1)
    assert not tmp_parts(d)
    assert not exists(org, key)
    with pytest.raises(Exception) as e:
        org.client().head_object(Bucket=org.bucket, Key=key)
    assert "404" in str(e.value)
    # the attempt is in the audit log, as an error (it was never answered)
    deadline = time.time() + 10
    while True:
        recs = [r for r in d.audit_records(action="storage.object.write") if r["target"] == org.bucket + "/" + key]
        if recs or time.time() > deadline:
            break
        time.sleep(0.1)
    assert recs and recs[0]["outcome"] == "error" and "incomplete_body" in (recs[0].get("detail") or ""), recs
    # the connection after it works as usual (LeakSanitizer checks the rest when the daemon stops)
    assert d.api("PUT", path_of(org, key), raw=b"fine").status_code == 201


def test_stall_times_out_but_a_slow_upload_does_not(org):
    d, key = org.d, "slow-" + uuid.uuid4().hex[:6]
    # 8 pieces 0.5 s apart: 4 s in all, more than body_timeout_ms (1.5 s), never a gap that long
    c = d.raw(timeout=30)
    c.send(raw_head(org, key, 8 * 1000, d.token))
    for _ in range(8):
        time.sleep(0.5)
        c.send(b"s" * 1000)
    r = c.read_response()
    assert r.status == 201, r
    c.close()
    # a gap longer than that: 408, nothing stored
    key2 = key + "-stalled"
    c = d.raw(timeout=30)
    c.send(raw_head(org, key2, 1000, d.token))
    c.send(b"s" * 10)
    r = c.read_response()
    assert r.status == 408, r
    c.close()
    assert not exists(org, key2) and d.api("GET", path_of(org, key)).content == b"s" * 8000


def test_refused_before_any_body_byte(org):
    d, key = org.d, "denied-" + uuid.uuid4().hex[:6]
    # an auditor of the tenant has no s3.object.write: 403 at the head, although no body was sent
    u = d.ok("POST", "/admin/v1/tenants/%s/users" % org.tenant,
             {"name": "監査", "email": "aud-%s@example.go.jp" % uuid.uuid4().hex[:6]})
    d.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "auditor", "scope": "tenant/" + org.tenant})
    tok = d.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "api"})["secret"]
    c = d.raw()
    c.send(raw_head(org, key, BIG, tok, "Expect: 100-continue\r\n"))
    r = c.read_response()   # not 100 Continue: the refusal itself
    assert r.status == 403 and r.json()["error"]["code"] == "forbidden", r
    assert c.is_closed()
    rec = d.audit_wait(r.header("x-request-id"), action="storage.object.write")
    assert rec["outcome"] == "denied" and rec["principal"] == u["id"], rec
    # the same caller is allowed when it may write: 100 Continue first, then the answer
    c = d.raw()
    c.send(raw_head(org, key, 5, d.token, "Expect: 100-continue\r\n"))
    assert c.read_response().status == 100
    c.send(b"hello")
    assert c.read_response().status == 201
    c.close()
    # a cookie session without its CSRF token, and no credentials at all: refused at the head too
    s, csrf = session(d)
    assert s.put(d.url + path_of(org, key), data=b"x" * 65536, timeout=30).status_code == 403
    assert requests.put(d.url + path_of(org, key), data=b"x" * 65536, timeout=30).status_code == 401
    assert d.api("GET", path_of(org, key)).content == b"hello"
    assert not tmp_parts(d)


def test_length_required_and_limits(org):
    d, key = org.d, "len-" + uuid.uuid4().hex[:6]
    # chunked: refused (411), the store needs the size up front; browsers always send a length
    c = d.raw()
    c.send(("PUT %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n"
            % (path_of(org, key), d.token)).encode())
    r = c.read_response()   # on the head: the body never needs to be sent
    assert r.status == 411 and r.json()["error"]["code"] == "length_required", r
    c.close()
    # more than 5 GiB: 413 at the head
    c = d.raw()
    c.send(raw_head(org, key, (5 << 30) + 1, d.token))
    r = c.read_response()
    assert r.status == 413, r
    c.close()
    # other admin routes keep limits.max_body_bytes (1 MiB)
    big = json.dumps({"name": "x" * MiB})
    r = d.api("POST", "/admin/v1/tenants/%s/projects" % org.tenant, raw=big.encode(),
              headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert not exists(org, key)
    # Content-MD5 is checked when sent: a mismatch stores nothing
    r = d.api("PUT", path_of(org, key), raw=b"body", headers={"Content-MD5": "AAAAAAAAAAAAAAAAAAAAAA=="})
    assert r.status_code == 400 and not exists(org, key), r.text


def test_through_the_page_in_a_real_browser(org):
    """The console's page: a file of several MB with a Japanese name through the file input (its
    progress bar moving), a small one dropped on the form, the first downloaded under its own name
    with the same bytes, which S3 serves too; then an object S3 wrote there deleted through its button after a confirmation naming it
    (dismissed first: nothing goes), after which S3 has it no more and the delete is audited."""
    from test_console import ARTIFACTS, run_script

    d, prefix = org.d, "資料/" + uuid.uuid4().hex[:4] + "/"
    name, drop = "令和8年度 予算書.pdf", "メモ.txt"
    cmd = {"console": d.url + "/console/", "token": d.token, "tenant": org.tenant, "project": org.project, "bucket": org.bucket,
           "prefix": prefix, "out": str(ARTIFACTS), "size": 6 * MiB + 12345, "name": name, "drop_name": drop,
           "doomed": "古い案.txt"}
    org.client().put_object(Bucket=org.bucket, Key=prefix + cmd["doomed"], Body=b"to be deleted")
    res = run_script("upload.mjs", cmd)
    assert "error" not in res, res.get("error")
    assert not res["page_errors"], res["page_errors"]
    assert res["download_name"] == name, res["download_name"]
    assert res["download_sha256"] == res["upload_sha256"]
    assert res["max_progress"] > 0, res["max_progress"]
    got = org.client().get_object(Bucket=org.bucket, Key=prefix + name)
    assert hashlib.sha256(got["Body"].read()).hexdigest() == res["upload_sha256"]
    assert got["ContentLength"] == cmd["size"] and got["ContentType"] == "application/pdf"
    got = org.client().get_object(Bucket=org.bucket, Key=prefix + drop)
    assert hashlib.sha256(got["Body"].read()).hexdigest() == res["drop_sha256"]
    # the doomed object was deleted through the page: the question named it, S3 no longer has it
    doomed = prefix + cmd["doomed"]
    assert doomed in res["delete_dismissed"] and res["row_after_dismiss"] == 1, res
    assert doomed in res["delete_question"], res
    with pytest.raises(botocore.exceptions.ClientError) as ex:
        org.client().head_object(Bucket=org.bucket, Key=doomed)
    assert ex.value.response["Error"]["Code"] == "404"
    org.client().head_object(Bucket=org.bucket, Key=prefix + name)   # the others stay
    deadline, recs = time.time() + 10, []
    while not recs and time.time() < deadline:   # durable before the answer, indexed just after
        recs = [a for a in d.audit_records(action="storage.object.delete")
                if a.get("target") == org.bucket + "/" + doomed]
        time.sleep(0.1)
    assert recs and recs[0]["outcome"] == "success", recs
