"""Erasure (issue 10, docs/lifecycle.md "Erasure") as an operator and a tenant see it: the two-step
request and confirmation through the CLI (a second administrator where the tenant has two), then
no plaintext canary, no wrapped key captured before and no ciphertext captured before is found in
any file of the data directory (SQLite database and WAL included); reads fail clearly; the signed
report verifies with the environment's public key and a tampered one does not; a kill -9 in the
middle of an erasure resumes and completes at the next start."""
import json
import sqlite3
import subprocess
import time
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Daemon

KiB, MiB = 1024, 1024 * 1024


def start(d, config=None):
    if config:
        d.write_config(config)
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
    return d


@pytest.fixture
def s3fresh(tmp_path):
    d = Daemon(tmp_path / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    yield d
    if d.proc is not None:
        d.stop()


class Project:
    """A project of tenant with an S3 key (project_admin) and a boto3 client."""

    def __init__(self, d, tenant):
        self.d, self.tenant = d, tenant
        self.id = d.ok("POST", "/admin/v1/tenants/%s/projects" % tenant,
                       {"name": "p-" + uuid.uuid4().hex[:6], "environment": "prod"})["id"]
        u = d.ok("POST", "/admin/v1/tenants/%s/users" % tenant,
                 {"name": "保管 担当", "email": "s3-%s@example.go.jp" % uuid.uuid4().hex[:6]})
        d.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "project_admin",
                                                 "scope": "project/" + self.id})
        self.key = d.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "s3", "project": self.id})
        self.s3 = self.client()

    def client(self):
        """A client for the daemon's S3 address now (it changes with every start)."""
        return boto3.client("s3", endpoint_url="http://" + self.d.s3_addr,
                            aws_access_key_id=self.key["access_key_id"],
                            aws_secret_access_key=self.key["secret_access_key"], region_name="jp-east",
                            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                          retries={"total_max_attempts": 1}))


def fill_bucket(s3, bucket, canary, region="jp-east"):
    """Objects of every kind: small (pack log) and large (own file) with the canary in body, user
    metadata and tags; noncurrent versions; a completed multipart object; an upload in progress."""
    conf = {} if region == "jp-east" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **conf)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    body = (canary + "|") * 16
    for i in range(3):   # small: the pack log; each overwrite keeps a noncurrent version
        s3.put_object(Bucket=bucket, Key="small", Body=(body + str(i)).encode(),
                      Metadata={"note": canary}, Tagging="label=" + canary)
    s3.put_object(Bucket=bucket, Key="large", Body=(body * 2000).encode()[:300 * KiB],
                  Metadata={"note": canary})
    mpu = s3.create_multipart_upload(Bucket=bucket, Key="multi", Metadata={"note": canary})
    p1 = s3.upload_part(Bucket=bucket, Key="multi", UploadId=mpu["UploadId"], PartNumber=1,
                        Body=b"m" * (5 * MiB))
    p2 = s3.upload_part(Bucket=bucket, Key="multi", UploadId=mpu["UploadId"], PartNumber=2,
                        Body=body.encode())
    s3.complete_multipart_upload(Bucket=bucket, Key="multi", UploadId=mpu["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1["ETag"]},
                                                            {"PartNumber": 2, "ETag": p2["ETag"]}]})
    open_mpu = s3.create_multipart_upload(Bucket=bucket, Key="open", Metadata={"note": canary})
    s3.upload_part(Bucket=bucket, Key="open", UploadId=open_mpu["UploadId"], PartNumber=1,
                   Body=body.encode())


def db_rows(d, sql, *args):
    db = sqlite3.connect("file:%s?mode=ro" % (d.data_dir / "meta.db"), uri=True, timeout=10)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def secrets_of(d, bucket_ids):
    """Every wrapped key (data keys of objects, versions, segments, parts; the buckets' keys) and
    a 64-byte slice of every run of ciphertext of the buckets, read before the erasure."""
    q = ",".join("?" * len(bucket_ids))
    wrapped, runs = [], []
    for table in ("store_objects", "store_versions"):
        for w, region, loc, pid, off, ln, uid in db_rows(
                d, "SELECT wrapped, region, loc, pack_id, pack_off, pack_len, uid FROM %s"
                   " WHERE bucket IN (%s)" % (table, q), *bucket_ids):
            if w:
                wrapped.append(bytes(w))
            if uid and loc in (0, 1):
                runs.append((region, loc, pid, off, ln, bytes(uid)))
    for w, region, loc, pid, off, ln, uid in db_rows(
            d, "SELECT s.wrapped, s.region, s.loc, s.pack_id, s.pack_off, s.pack_len, s.uid"
               " FROM store_segments s JOIN store_objects o ON o.uid=s.obj_uid"
               " WHERE o.bucket IN (%s) UNION ALL SELECT p.wrapped, p.region, p.loc, p.pack_id,"
               " p.pack_off, p.pack_len, p.uid FROM store_parts p JOIN store_uploads u"
               " ON u.id=p.upload WHERE u.bucket IN (%s)" % (q, q), *(bucket_ids + bucket_ids)):
        wrapped.append(bytes(w))
        runs.append((region, loc, pid, off, ln, bytes(uid)))
    wrapped += [bytes(w) for (w,) in db_rows(
        d, "SELECT wrapped FROM kms_keys WHERE owner_id IN (%s) AND wrapped IS NOT NULL" % q,
        *bucket_ids)]
    cipher = []
    for region, loc, pid, off, ln, uid in runs:
        root = d.data_dir / "regions" / region
        if loc == 1:
            with open(root / "packs" / ("%08d.pack" % pid), "rb") as f:
                f.seek(off)
                cipher.append(f.read(64))
        else:
            h = uid.hex()
            cipher.append((root / "objects" / h[:2] / h[2:4] / h).read_bytes()[100:164])
    assert all(len(c) == 64 for c in cipher)
    return wrapped, cipher


def data_files(d):
    return [p for p in d.data_dir.rglob("*") if p.is_file()]


def found_in_data_dir(d, needles):
    """Which needles occur in some file of the data directory (every file, database and WAL
    included), as {needle index: file}."""
    hits = {}
    for p in data_files(d):
        blob = p.read_bytes()
        for i, n in enumerate(needles):
            if i not in hits and n in blob:
                hits[i] = str(p)
    return hits


def wait_report(d, token, timeout=60):
    deadline = time.time() + timeout
    while True:
        job = d.ok("POST", "/admin/v1/erasure-reports", {"token": token}, token=None, status=200)
        if job["state"] == "done":
            return job
        assert time.time() < deadline, "erasure not done after %ss: %s" % (timeout, job)
        time.sleep(0.2)


def test_project_erasure_two_admins(s3fresh, tmp_path):
    d = start(s3fresh)
    tenant = d.tenant()["id"]
    admin1, tok1 = d.tenant_admin(tenant)
    admin2, tok2 = d.tenant_admin(tenant)
    gone, kept = Project(d, tenant), Project(d, tenant)
    canary = "CANARY-" + uuid.uuid4().hex
    east, west = "gone-east-" + uuid.uuid4().hex[:6], "gone-west-" + uuid.uuid4().hex[:6]
    fill_bucket(gone.s3, east, canary)
    fill_bucket(gone.s3, west, canary, region="jp-west")
    keep = "kept-" + uuid.uuid4().hex[:6]
    kept.s3.create_bucket(Bucket=keep)
    kept.s3.put_object(Bucket=keep, Key="k", Body=b"still here")
    ids = [b for (b,) in db_rows(d, "SELECT id FROM store_buckets WHERE project=?", gone.id)]
    assert len(ids) == 2
    wrapped, cipher = secrets_of(d, ids)
    assert len(wrapped) >= 12 and len(cipher) >= 8
    # honest: before the erasure the canary (user metadata, tags) and all of these are on disk
    before = found_in_data_dir(d, [canary.encode()] + wrapped + cipher)
    assert 0 in before, "the canary should be in the metadata before the erasure"
    assert len(before) == 1 + len(wrapped) + len(cipher), "some captured bytes not on disk before"

    # request (admin 1) → the token alone on stdout; admin 1 may not confirm it himself
    p = d.cli("erase", "request", "--project", gone.id, token=tok1)
    token = p.stdout.strip()
    assert token.startswith(tenant + ".") and len(p.stdout.splitlines()) == 1, p.stdout
    p = d.cli("erase", "confirm", token, "--report-out", str(tmp_path / "r.json"), token=tok1,
              check=False)
    assert p.returncode == 1 and "another one must confirm" in p.stderr, p.stderr
    assert gone.s3.get_object(Bucket=east, Key="small")["Body"].read().startswith(canary.encode())

    # admin 2 confirms, waits for the job, gets the report and the certificate
    report_path, html_path, pdf_path = (tmp_path / n for n in ("report.json", "cert.html", "cert.pdf"))
    d.cli("erase", "confirm", token, "--report-out", str(report_path), "--html-out", str(html_path),
          "--pdf-out", str(pdf_path), token=tok2)
    rep = json.loads(report_path.read_text())

    # reads fail with a clear error; the other project's bucket is untouched
    for b in (east, west):
        with pytest.raises(ClientError) as ei:
            gone.s3.get_object(Bucket=b, Key="small")
        assert ei.value.response["Error"]["Code"] == "NoSuchBucket"
    assert kept.s3.get_object(Bucket=keep, Key="k")["Body"].read() == b"still here"

    # nothing of it is left in any file, database and WAL included
    assert not found_in_data_dir(d, [canary.encode()] + wrapped + cipher), \
        "erased bytes still on disk: %r" % found_in_data_dir(d, [canary.encode()] + wrapped + cipher)
    assert (d.data_dir / "meta.db").exists()

    # the report: what, how much, which keys, who
    assert rep["scope"] == "project" and rep["target"]["id"] == gone.id
    assert rep["requested_by"]["id"] == admin1["id"] and rep["confirmed_by"]["id"] == admin2["id"]
    by_name = {b["name"]: b for b in rep["buckets"]}
    assert set(by_name) == {east, west}
    assert by_name[west]["region"] == "jp-west"
    for b in by_name.values():
        assert (b["objects"], b["noncurrent_versions"], b["multipart_uploads"], b["parts"]) == (3, 2, 1, 1)
        assert b["bytes"] > 5 * MiB + 300 * KiB and b["ciphertext_bytes_wiped"] > b["bytes"]
        assert b["data_files_removed"] >= 2 and b["pack_extents_wiped"] >= 3
    assert rep["totals"]["buckets"] == 2 and rep["totals"]["objects"] == 6
    assert {k["owner"] for k in rep["keys_destroyed"]} == set(ids)
    assert all(k["kind"] == "bucket" for k in rep["keys_destroyed"])
    assert rep["started_at"] <= rep["finished_at"]
    assert {m["id"] for m in rep["methods"]} == {"crypto_erasure", "metadata_removal", "data_deletion"}
    html = html_path.read_text()
    assert "データ消去証明書" in html and east in html and rep["signature"]["value"] in html
    assert pdf_path.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True,
                          check=True).stdout
    for want in ("データ消去証明書", "破棄した暗号鍵", east, west, rep["erasure_id"], admin2["name"]):
        assert want in text, "%r not in the PDF's text" % want

    # the signature verifies with the environment's public key; any change breaks it
    pub = tmp_path / "env.pem"
    d.cli("audit", "public-key", "--out", str(pub))
    p = d.cli("erasure", "verify", str(report_path), "--public-key", str(pub))
    assert "erasure report valid" in p.stdout
    for change in (lambda r: r["totals"].__setitem__("objects", 5),
                   lambda r: r["buckets"][0].__setitem__("name", "other"),
                   lambda r: r["confirmed_by"].__setitem__("id", admin1["id"])):
        bad = json.loads(report_path.read_text())
        change(bad)
        (tmp_path / "bad.json").write_text(json.dumps(bad))
        p = d.cli("erasure", "verify", str(tmp_path / "bad.json"), "--public-key", str(pub), check=False)
        assert p.returncode == 1 and "NOT valid" in p.stdout, p.stdout + p.stderr
    # formatting is not content: the compact form of the same report verifies
    (tmp_path / "compact.json").write_text(json.dumps(rep, separators=(",", ":"), ensure_ascii=False))
    d.cli("erasure", "verify", str(tmp_path / "compact.json"), "--public-key", str(pub))
    # the documented canonical form, checked without kasumi's code
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    doc = dict(rep)
    sig = bytes.fromhex(doc.pop("signature")["value"])
    canon = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    load_pem_public_key(pub.read_bytes()).verify(sig, canon)   # raises when it does not hold
    # another environment's key does not verify it
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(tmp_path / "o.key")], check=True)
    subprocess.run(["openssl", "pkey", "-in", str(tmp_path / "o.key"), "-pubout", "-out", str(other)], check=True)
    p = d.cli("erasure", "verify", str(report_path), "--public-key", str(other), check=False)
    assert p.returncode == 1

    # the tenant's key and the tenant survive a project erasure; the audit log has its end
    t = d.ok("GET", "/admin/v1/tenants/" + tenant, status=200)
    assert t["status"] == "active"
    deadline = time.time() + 10
    while not any(r["target"] == rep["erasure_id"]
                  for r in d.audit_records(action="erasure.complete", tenant=tenant)):
        assert time.time() < deadline, "no erasure.complete audit record"
        time.sleep(0.2)


def test_single_admin_expiry_and_refusals(s3fresh, tmp_path):
    d = start(s3fresh)
    tenant = d.tenant()["id"]
    admin, tok = d.tenant_admin(tenant)
    proj = Project(d, tenant)
    proj.s3.create_bucket(Bucket="solo-bucket")
    proj.s3.put_object(Bucket="solo-bucket", Key="x", Body=b"x" * 100)
    base = "/admin/v1/tenants/%s/erasures" % tenant
    # an expired token confirms nothing (API and CLI)
    job = d.ok("POST", base, {"scope": "bucket", "bucket": "solo-bucket", "expires_in_s": 1}, token=tok)
    late = d.cli("erase", "request", "--bucket", "solo-bucket", "--tenant", tenant, "--expires-in", "1",
                 token=tok).stdout.strip()
    time.sleep(1.5)
    r = d.api("POST", base + "/%s/confirm" % job["id"], {"token": job["token"]}, token=tok)
    assert r.status_code == 410 and r.json()["error"]["code"] == "token_expired", r.text
    p = d.cli("erase", "confirm", late, "--report-out", "/dev/null", token=tok, check=False)
    assert p.returncode == 1 and "token_expired" in p.stderr, p.stderr
    p = d.cli("erase", "confirm", "not-a-token", token=tok, check=False)
    assert p.returncode == 2, p.stderr
    # a token of another erasure, or a made-up one, reads as no such erasure
    job = d.ok("POST", base, {"scope": "bucket", "bucket": "solo-bucket"}, token=tok)
    other = d.ok("POST", base, {"scope": "bucket", "bucket": "solo-bucket"}, token=tok)
    r = d.api("POST", base + "/%s/confirm" % job["id"], {"token": other["token"]}, token=tok)
    assert r.status_code == 404, r.text
    forged = job["token"][:-1] + ("1" if job["token"].endswith("0") else "0")   # never the token itself
    assert d.api("POST", "/admin/v1/erasure-reports", {"token": forged}).status_code == 404
    assert d.api("POST", base, {"scope": "bucket", "bucket": "no-such"}, token=tok).status_code == 404
    assert d.api("POST", base, {"scope": "everything"}, token=tok).status_code == 400
    # with one administrator, the requester confirms
    r = d.ok("POST", base + "/%s/confirm" % job["id"], {"token": job["token"]}, token=tok, status=202)
    assert r["state"] == "confirmed" and r["confirmed_by"]["id"] == admin["id"]
    again = d.api("POST", base + "/%s/confirm" % job["id"], {"token": job["token"]}, token=tok)
    assert again.status_code == 409, again.text
    done = wait_report(d, job["token"])
    assert done["report"]["buckets"][0]["objects"] == 1
    got = d.ok("GET", base + "/" + job["id"], token=tok, status=200)
    assert got["report"] == done["report"]
    # later, by token: the report and its certificate; a certificate from a saved report
    out, html, html2 = (tmp_path / n for n in ("r.json", "c.html", "c2.html"))
    d.cli("erasure", "report", job["token"], "--out", str(out), "--html-out", str(html), token=None)
    assert json.loads(out.read_text()) == done["report"]
    d.cli("erasure", "render", str(out), "--html", str(html2), "--pdf", str(tmp_path / "c.pdf"),
          token=None)
    assert html.read_text() == html2.read_text() and "データ消去証明書" in html2.read_text()
    assert (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF-")
    assert d.cli("erasure", "render", str(out), token=None, check=False).returncode == 2
    with pytest.raises(ClientError) as ei:
        proj.s3.get_object(Bucket="solo-bucket", Key="x")
    assert ei.value.response["Error"]["Code"] == "NoSuchBucket"
    # the name is free again, under a new key
    proj.s3.create_bucket(Bucket="solo-bucket")
    assert "Contents" not in proj.s3.list_objects_v2(Bucket="solo-bucket")


def test_tenant_erasure_survives_kill9(s3fresh, tmp_path):
    """A pause between steps (the test-only knob) lets the kill land after the keys are destroyed
    and before the data is wiped; the restarted daemon resumes and completes the job."""
    d = start(s3fresh, "[lifecycle]\nerasure_step_pause_ms = 1500\n")
    tenant = d.tenant()["id"]
    admin, tok = d.tenant_admin(tenant)
    proj = Project(d, tenant)
    canary = "CANARY-" + uuid.uuid4().hex
    fill_bucket(proj.s3, "whole-" + uuid.uuid4().hex[:6], canary)
    # what the tenant configured and declared besides its data goes too (a case's contact names a person)
    d.ok("PUT", "/admin/v1/projects/%s/storage-quota" % proj.id, {"max_bytes": 10 ** 9}, status=200)
    d.ok("PUT", "/admin/v1/projects/%s/ai-policy" % proj.id, {"pii": {"email": "allow"}}, status=200)
    d.ok("POST", "/admin/v1/tenants/%s/supply-cases" % tenant, {"title": "消去案件", "agency": "総務省"})
    key = d.ok("POST", "/admin/v1/keys", {"user": admin["id"], "kind": "api", "project": proj.id})["id"]
    for setting, body in (("budget", {"monthly_yen": 100}), ("models", {"models": ["tiny"]}),
                          ("rate-limits", {"rpm": 10})):   # a key's own limits in the project
        d.ok("PUT", "/admin/v1/projects/%s/keys/%s/%s" % (proj.id, key, setting), body, status=200)
    config = {"store_quotas": "project", "ai_policies": "project_id", "supply_cases": "tenant_id",
              "ai_key_budgets": "tenant_id", "ai_key_models": "tenant_id", "ai_key_rates": "tenant_id"}
    owner = {"project": proj.id, "project_id": proj.id, "tenant_id": tenant}
    for table, col in config.items():
        assert db_rows(d, "SELECT count(*) FROM %s WHERE %s=?" % (table, col), owner[col]) == [(1,)], table
    ids = [b for (b,) in db_rows(d, "SELECT id FROM store_buckets WHERE tenant=?", tenant)]
    wrapped, cipher = secrets_of(d, ids)
    wrapped += [bytes(w) for (w,) in db_rows(d, "SELECT wrapped FROM kms_keys WHERE kind='tenant'"
                                                " AND owner_id=?", tenant)]
    # the operator requests it (contract end), the tenant's administrator confirms
    token = d.cli("erase", "request", "--tenant", tenant).stdout.strip()
    d.cli("erase", "confirm", token, token=tok)
    deadline = time.time() + 30
    while True:
        state = d.ok("POST", "/admin/v1/erasure-reports", {"token": token}, token=None, status=200)["state"]
        if state in ("keys_destroyed", "metadata_removed"):
            break
        assert state == "confirmed" and time.time() < deadline, state
        time.sleep(0.05)
    d.kill9()
    (st,) = db_rows(d, "SELECT state FROM erasure_jobs WHERE tenant=?", tenant)
    assert st[0] in ("keys_destroyed", "metadata_removed"), st
    assert found_in_data_dir(d, cipher), "the kill came after the data was wiped: nothing to resume"

    start(d)
    job = wait_report(d, token)
    rep = job["report"]
    assert rep["scope"] == "tenant" and rep["totals"]["objects"] == 3
    kinds = {k["kind"] for k in rep["keys_destroyed"]}
    assert kinds == {"tenant", "bucket"}
    assert rep["principals_removed"]["users"] >= 2
    assert not found_in_data_dir(d, [canary.encode()] + wrapped + cipher)
    # the tenant stays, erased for good; its people and keys are gone
    t = d.ok("GET", "/admin/v1/tenants/" + tenant, status=200)
    assert t["status"] == "erased"
    assert d.api("POST", "/admin/v1/tenants/%s/resume" % tenant).status_code == 409
    assert d.api("GET", "/admin/v1/whoami", token=tok).status_code == 401
    with pytest.raises(ClientError) as ei:
        proj.client().list_buckets()
    assert ei.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    assert d.audit_records(tenant=tenant), "the tenant's audit records survive"
    for table, col in config.items():
        assert db_rows(d, "SELECT count(*) FROM %s WHERE %s=?" % (table, col), owner[col]) == [(0,)], table
    (report_path := tmp_path / "r.json").write_text(json.dumps(rep))
    pub = tmp_path / "env.pem"
    d.cli("audit", "public-key", "--out", str(pub))
    d.cli("erasure", "verify", str(report_path), "--public-key", str(pub))
    # a second request on an erased tenant is refused
    r = d.api("POST", "/admin/v1/tenants/%s/erasures" % tenant, {"scope": "tenant"})
    assert r.status_code == 409, r.text
