"""Data export (issue 10 item 1; SPEC 11(3)): `kasumi export` streams a tenant's data as a POSIX tar,
`kasumi export verify` checks it against its manifest, and standard tools restore it: GNU tar
extracts it and rclone copies objects/<bucket>/ into a second kasumid, where every object's SHA-256
must match the original's."""
import hashlib
import io
import json
import os
import pathlib
import subprocess
import tarfile
import time
import uuid

import boto3
import pytest
from botocore.config import Config

from conftest import Daemon


def s3_addr(d):
    return json.loads((d.data_dir / "listen.json").read_text())["s3"]


class Org:
    """A tenant with a project, a tenant administrator's API key and a project S3 key."""

    def __init__(self, d, name=None):
        self.d = d
        self.tenant = d.tenant(name=name)["id"]
        self.admin, self.token = d.tenant_admin(self.tenant)
        self.project = d.ok("POST", "/admin/v1/tenants/%s/projects" % self.tenant,
                            {"name": "公開データ-" + uuid.uuid4().hex[:4], "environment": "prod"})["id"]
        u = d.ok("POST", "/admin/v1/tenants/%s/users" % self.tenant,
                 {"name": "保管 担当", "email": "x-%s@example.go.jp" % uuid.uuid4().hex[:6]})
        d.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "project_admin",
                                                 "scope": "project/" + self.project})
        k = d.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "s3", "project": self.project})
        self.akid, self.secret = k["access_key_id"], k["secret_access_key"]
        self.endpoint = "http://" + s3_addr(d)

    def add_project(self):
        """Another project of the same tenant; returns (project id, an S3 client for it)."""
        d = self.d
        p = d.ok("POST", "/admin/v1/tenants/%s/projects" % self.tenant,
                 {"name": "別事業-" + uuid.uuid4().hex[:4], "environment": "dev"})["id"]
        k = d.ok("POST", "/admin/v1/keys", {"user": self.admin["id"], "kind": "s3", "project": p})
        return p, self.s3(k["access_key_id"], k["secret_access_key"])

    def s3(self, akid=None, secret=None):
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=akid or self.akid,
                            aws_secret_access_key=secret or self.secret, region_name="jp-east",
                            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                          retries={"total_max_attempts": 1}))

    def rclone_env(self, remote):
        e = dict(os.environ, RCLONE_CONFIG="/dev/null")
        for k in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE"):
            e.pop(k, None)
        p = "RCLONE_CONFIG_%s_" % remote.upper()
        e.update({p + "TYPE": "s3", p + "PROVIDER": "Other", p + "ACCESS_KEY_ID": self.akid,
                  p + "SECRET_ACCESS_KEY": self.secret, p + "ENDPOINT": self.endpoint,
                  p + "REGION": "jp-east", p + "FORCE_PATH_STYLE": "true"})
        return e


def all_objects(s3, bucket):
    """{key: sha256} of every object, read back through S3."""
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            out[o["Key"]] = hashlib.sha256(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()).hexdigest()
    return out


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("export-src") / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.start()
    yield d
    d.stop()


@pytest.fixture(scope="module")
def dst(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("export-dst") / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.start()
    yield d
    d.stop()


@pytest.fixture(scope="module")
def filled(src):
    """A tenant with two buckets of varied objects: Japanese and long keys, empty, multi-chunk and
    multipart objects, metadata and tags, a key that is no safe path, and an overwritten object."""
    org = Org(src)
    s3 = org.s3()
    b1, b2 = "exp-" + uuid.uuid4().hex[:8], "exp-" + uuid.uuid4().hex[:8]
    s3.create_bucket(Bucket=b1)
    s3.create_bucket(Bucket=b2, CreateBucketConfiguration={"LocationConstraint": "jp-west"})
    objects = {
        b1: {
            "報告書/令和7年度/議事録.txt": "議事録の本文".encode() * 100,
            "empty": b"",
            "big/multi-chunk.bin": os.urandom(3 * 1024 * 1024 + 123),   # several store chunks
            "d/" + "長い名前" * 20 + ".bin": os.urandom(1000),             # > 100 bytes: pax path
            "a b+c%d.txt": b"odd characters",
            "over": b"first version",
        },
        b2: {"x/y/z.json": b'{"k": 1}', "small": b"s"},
    }
    for b, objs in objects.items():
        for k, v in objs.items():
            s3.put_object(Bucket=b, Key=k, Body=v, Metadata={"owner": "kasumi"}, ContentType="text/plain")
    objects[b1]["over"] = b"second version, the current one"
    s3.put_object(Bucket=b1, Key="over", Body=objects[b1]["over"])
    s3.put_object_tagging(Bucket=b1, Key="empty", Tagging={"TagSet": [{"Key": "class", "Value": "2"}]})
    # multipart, above the part minimum
    part = os.urandom(5 * 1024 * 1024)
    mpu = s3.create_multipart_upload(Bucket=b2, Key="mpu/大きい.bin")
    parts = []
    for n in (1, 2):
        body = part if n == 1 else b"tail"
        r = s3.upload_part(Bucket=b2, Key="mpu/大きい.bin", UploadId=mpu["UploadId"], PartNumber=n, Body=body)
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    s3.complete_multipart_upload(Bucket=b2, Key="mpu/大きい.bin", UploadId=mpu["UploadId"],
                                 MultipartUpload={"Parts": parts})
    objects[b2]["mpu/大きい.bin"] = part + b"tail"
    # keys that are no safe relative path (a folder marker, an empty segment): stored under escaped/
    s3.put_object(Bucket=b2, Key="folder/", Body=b"")
    s3.put_object(Bucket=b2, Key="a//b", Body=b"not a path")
    s3.put_object(Bucket=b2, Key="名" * 100, Body=b"a file name of 300 bytes")
    return org, objects, b1, b2


def export(d, org, out, *extra, token=None):
    return d.cli("export", "--tenant", org.tenant, "--out", str(out), *extra,
                 token=token or org.token, check=False)


def test_export_verify_and_restore_with_rclone(src, dst, filled, tmp_path):
    org, objects, b1, b2 = filled
    out = tmp_path / "t.tar"
    p = export(src, org, out)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "verified" in p.stdout
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    v = src.cli("export", "verify", str(out), token=None, check=False)
    assert v.returncode == 0, v.stdout + v.stderr

    # GNU tar reads it (pax names: Japanese keys survive) and extracts it
    listing = subprocess.run(["tar", "-tf", str(out)], capture_output=True, text=True, check=True).stdout
    assert "objects/%s/報告書/令和7年度/議事録.txt" % b1 in listing.splitlines()
    root = tmp_path / "x"
    root.mkdir()
    subprocess.run(["tar", "-xf", str(out), "-C", str(root)], check=True)
    for b, objs in objects.items():
        for k, v in objs.items():
            f = root / "objects" / b / k
            assert f.read_bytes() == v, k
            meta = json.loads((root / "metadata" / b / (k + ".json")).read_text())
            assert meta["key"] == k and meta["size"] == len(v) and meta["exported"] is True
    assert json.loads((root / "metadata" / b1 / "empty.json").read_text())["tags"] == {"class": "2"}
    assert json.loads((root / "metadata" / b1 / "over.json").read_text())["user_metadata"] == {}
    for key, body in (("a//b", b"not a path"), ("folder/", b""), ("名" * 100, b"a file name of 300 bytes")):
        esc = hashlib.sha256(key.encode()).hexdigest()
        assert (root / "escaped" / b2 / esc).read_bytes() == body
        assert json.loads((root / "metadata-escaped" / b2 / (esc + ".json")).read_text())["key"] == key

    # the registry, the audit records and the bills
    reg = json.loads((root / "registry.json").read_text())
    assert reg["format"] == "kasumi-registry/1" and reg["exported"]
    (t,) = reg["tenants"]
    tenant = src.ok("GET", "/admin/v1/tenants/" + org.tenant)
    assert t["corporate_number"] == tenant["corporate_number"] and t["name"] == tenant["name"]
    assert t["status"] == "active" and "id" not in t   # ids are this environment's, not the tenant's
    assert [p["id"] for p in t["projects"]] == [org.project]
    assert org.admin["id"] in [u["id"] for u in t["users"]]
    assert any(b["role"] == "project_admin" for b in t["bindings"])
    assert not any("secret" in json.dumps(u) for u in t["users"])
    lines = (root / "audit" / "records.jsonl").read_text().splitlines()
    recs = [json.loads(x) for x in lines]
    assert recs and all(r["tenant"] == org.tenant for r in recs)
    assert any(r["action"] == "project.create" for r in recs)
    csvs = sorted((root / "billing").glob("*.focus.csv"))
    assert csvs and all("BillingAccountId" in c.read_text(encoding="utf-8-sig").splitlines()[0] for c in csvs)
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["format"] == "kasumi-export/1" and manifest["tenant"] == org.tenant
    listed = {f["path"]: f for f in manifest["files"]}
    on_disk = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(listed) == on_disk
    for path, f in listed.items():
        data = (root / path).read_bytes()
        assert f["size"] == len(data) and f["sha256"] == hashlib.sha256(data).hexdigest(), path

    # restore: rclone copies each bucket's tree into a second kasumid; every object's SHA-256 matches
    org2 = Org(dst)
    s3b = org2.s3()
    for b in objects:
        s3b.create_bucket(Bucket=b)
        subprocess.run(["rclone", "copy", str(root / "objects" / b), "k2:%s" % b], check=True,
                       env=org2.rclone_env("k2"), timeout=300, capture_output=True)
        want = {k: hashlib.sha256(v).hexdigest() for k, v in objects[b].items()}
        assert all_objects(s3b, b) == want, b


def test_verify_names_each_mismatch(src, filled, tmp_path):
    org, objects, b1, b2 = filled
    out = tmp_path / "t.tar"
    assert export(src, org, out).returncode == 0
    data = bytearray(out.read_bytes())
    # flip one byte of a known object's data, in place (the tar's structure stays valid)
    needle = "議事録の本文".encode()
    i = data.find(needle)
    assert i > 0
    data[i] ^= 0x01
    bad = tmp_path / "bad.tar"
    bad.write_bytes(bytes(data))
    v = src.cli("export", "verify", str(bad), token=None, check=False)
    assert v.returncode == 1, v.stdout + v.stderr
    assert "objects/%s/報告書/令和7年度/議事録.txt" % b1 in v.stdout and "SHA-256" in v.stdout
    assert v.stdout.count("MISMATCH") == 1, v.stdout

    # a file dropped from the archive (rebuilt by Python's tarfile) is named as missing; an added one too
    with tarfile.open(out) as t_in, tarfile.open(tmp_path / "edit.tar", "w", format=tarfile.PAX_FORMAT) as t_out:
        for m in t_in.getmembers():
            if m.name == "objects/%s/small" % b2:
                continue
            t_out.addfile(m, t_in.extractfile(m))
        extra = tarfile.TarInfo("objects/%s/planted" % b2)
        extra.size = 3
        t_out.addfile(extra, io.BytesIO(b"bad"))
    v = src.cli("export", "verify", str(tmp_path / "edit.tar"), token=None, check=False)
    assert v.returncode == 1
    assert "objects/%s/small: listed in the manifest but missing" % b2 in v.stdout, v.stdout
    assert "objects/%s/planted: in the archive but not in the manifest" % b2 in v.stdout, v.stdout

    # truncated: the end is missing
    cut = tmp_path / "cut.tar"
    cut.write_bytes(out.read_bytes()[:len(data) // 2])
    v = src.cli("export", "verify", str(cut), token=None, check=False)
    assert v.returncode == 1 and "truncated" in v.stdout, v.stdout
    # JSON output lists the problems
    v = src.cli("--output", "json", "export", "verify", str(bad), token=None, check=False)
    assert v.returncode == 1
    j = json.loads(v.stdout)
    assert j["intact"] is False and len(j["problems"]) == 1


def test_project_export_and_access(src, filled, tmp_path):
    org, objects, b1, b2 = filled
    # a second project of the same tenant with its own bucket: not in the first project's export
    p2, s3p2 = org.add_project()
    b3 = "exp-" + uuid.uuid4().hex[:8]
    s3p2.create_bucket(Bucket=b3)
    s3p2.put_object(Bucket=b3, Key="other-project", Body=b"p2")
    p = src.cli("export", "--project", org.project, "--out", str(tmp_path / "p.tar"), token=org.token,
                check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    with tarfile.open(tmp_path / "p.tar") as t:
        names = t.getnames()
        reg = json.load(t.extractfile("registry.json"))
    assert "objects/%s/small" % b2 in names and not any(b3 in n for n in names)
    assert [p["id"] for p in reg["tenants"][0]["projects"]] == [org.project]
    p = src.cli("export", "--project", p2, "--out", str(tmp_path / "p2.tar"), token=org.token, check=False)
    assert p.returncode == 0, p.stderr
    with tarfile.open(tmp_path / "p2.tar") as t:
        assert t.extractfile("objects/%s/other-project" % b3).read() == b"p2"
        assert not any(b1 in n for n in t.getnames())
    # another tenant's administrator cannot export this tenant (and learns nothing of it)
    other = Org(src)
    p = src.cli("export", "--tenant", org.tenant, "--out", str(tmp_path / "no.tar"), token=other.token,
                check=False)
    assert p.returncode == 1 and "no such resource" in p.stderr, p.stderr
    assert not (tmp_path / "no.tar").exists()
    # a member cannot export
    _, secret, _ = src.user_key(org.tenant, role="member", scope="project/" + org.project)
    p = src.cli("export", "--tenant", org.tenant, "--out", str(tmp_path / "m.tar"), token=secret, check=False)
    assert p.returncode == 1 and "data.export" in p.stderr, p.stderr


def test_export_into_a_bucket(src, filled, tmp_path):
    org, objects, b1, b2 = filled
    s3 = org.s3()
    dest = "exp-dest-" + uuid.uuid4().hex[:6]
    s3.create_bucket(Bucket=dest)
    p = src.cli("--output", "json", "export", "--tenant", org.tenant, "--bucket", dest, "--key",
                "archive/テナント.tar", token=org.token, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    res = json.loads(p.stdout)
    body = s3.get_object(Bucket=dest, Key="archive/テナント.tar")["Body"].read()
    assert res["size"] == len(body) and res["sha256"] == hashlib.sha256(body).hexdigest()
    assert res["objects"] >= sum(len(o) for o in objects.values())
    f = tmp_path / "from-bucket.tar"
    f.write_bytes(body)
    v = src.cli("export", "verify", str(f), token=None, check=False)
    assert v.returncode == 0, v.stdout
    # the record of the export names the destination (durable before the answer, indexed soon after)
    want = "%s/archive/テナント.tar" % dest
    deadline = time.time() + 10
    while not any(r.get("target") == want and r["outcome"] == "success"
                  for r in src.audit_records(tenant=org.tenant, action="data.export.bucket")):
        assert time.time() < deadline, "no data.export.bucket record for " + want
        time.sleep(0.1)
    # a bucket the caller cannot write: refused before anything is made
    r = src.api("POST", "/admin/v1/tenants/%s/export" % org.tenant, {"bucket": "no-such-bucket", "key": "k"},
                token=org.token)
    assert r.status_code == 404, r.text


def test_export_into_a_bucket_counts_against_quota_and_is_metered(src, filled):
    # the archive is an upload into the destination project: its quota applies and it is metered
    org, objects, b1, b2 = filled
    dest_project, s3 = org.add_project()
    dest = "exp-quota-" + uuid.uuid4().hex[:6]
    s3.create_bucket(Bucket=dest)
    stored = sum(sum(len(b) for b in o.values()) for o in objects.values())
    src.ok("PUT", "/admin/v1/projects/%s/storage-quota" % dest_project, {"max_bytes": stored // 2})
    r = src.api("POST", "/admin/v1/tenants/%s/export" % org.tenant, {"bucket": dest, "key": "full.tar"},
                token=org.token)
    assert r.status_code == 403 and r.json()["error"]["code"] == "quota_exceeded", r.text
    assert "quota" in r.json()["error"]["message"]
    assert s3.list_objects_v2(Bucket=dest).get("KeyCount", 0) == 0   # nothing of it is kept
    used = src.ok("GET", "/admin/v1/projects/%s/storage-quota" % dest_project)["used_bytes"]
    assert used == 0, used

    src.ok("PUT", "/admin/v1/projects/%s/storage-quota" % dest_project, {"max_bytes": stored * 4 + (64 << 20)})
    ok = src.api("POST", "/admin/v1/tenants/%s/export" % org.tenant, {"bucket": dest, "key": "full.tar"},
                 token=org.token)
    assert ok.status_code == 201, ok.text
    res = ok.json()
    assert s3.head_object(Bucket=dest, Key="full.tar")["ContentLength"] == res["size"]
    refused_id, ok_id = r.headers["x-request-id"], ok.headers["x-request-id"]
    deadline = time.time() + 10
    while True:   # usage is written by a batching writer: poll
        items = src.ok("GET", "/admin/v1/usage?tenant=%s&project=%s&limit=1000" % (org.tenant, dest_project))["items"]
        got = {(i["request_id"], i["meter"]): i["quantity"] for i in items
               if i["service"] == "storage" and i["resource"] == dest}
        want = {(refused_id, "requests_write"): 1, (ok_id, "requests_write"): 1, (ok_id, "bytes_in"): res["size"]}
        if all(got.get(k) == v for k, v in want.items()):
            break
        assert time.time() < deadline, (want, got)
        time.sleep(0.2)
    assert (refused_id, "bytes_in") not in got   # nothing stored, nothing billed as stored
    used = src.ok("GET", "/admin/v1/projects/%s/storage-quota" % dest_project)["used_bytes"]
    assert used >= res["size"], (used, res["size"])


def test_versions_and_delete_markers_are_exported(src, tmp_path):
    # a versioned bucket's history is the tenant's data too: every noncurrent version is in the
    # archive (versions/), with its metadata naming key and version, and every delete marker
    org = Org(src)
    s3 = org.s3()
    b = "exp-ver-" + uuid.uuid4().hex[:6]
    s3.create_bucket(Bucket=b)
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    old = [s3.put_object(Bucket=b, Key="規程/文書.txt", Body=("第%d版" % n).encode())["VersionId"] for n in (1, 2)]
    s3.put_object(Bucket=b, Key="規程/文書.txt", Body="第3版".encode())
    gone = s3.put_object(Bucket=b, Key="a", Body=b"deleted later")["VersionId"]
    marker = s3.delete_object(Bucket=b, Key="a")["VersionId"]
    out = tmp_path / "versions.tar"
    p = export(src, org, out)
    assert p.returncode == 0, p.stdout + p.stderr
    assert src.cli("export", "verify", str(out), token=None, check=False).returncode == 0
    with tarfile.open(out) as tar:
        names = tar.getnames()
        assert tar.extractfile("objects/%s/規程/文書.txt" % b).read() == "第3版".encode()
        assert not any(n.startswith("objects/%s/a" % b) for n in names)   # deleted: no current object
        found = {}
        for n in names:
            if n.startswith("metadata-versions/%s/" % b):
                m = json.loads(tar.extractfile(n).read())
                data = tar.extractfile(m["file"]).read() if m.get("file") else None
                found[(m["key"], m["version_id"])] = (data, m.get("delete_marker", False))
    assert found == {("規程/文書.txt", old[0]): ("第1版".encode(), False),
                     ("規程/文書.txt", old[1]): ("第2版".encode(), False),
                     ("a", gone): (b"deleted later", False),
                     ("a", marker): (None, True)}, found


def test_streamed_export_is_audited(src, filled, tmp_path):
    org, objects, b1, b2 = filled
    r = src.api("GET", "/admin/v1/tenants/%s/export" % org.tenant, token=org.token)
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-tar"
    rid = r.headers["x-request-id"]
    rec = src.audit_wait(rid, tenant=org.tenant, action="data.export")
    assert rec["outcome"] == "success" and "sha256=" + hashlib.sha256(r.content).hexdigest() in rec["target"]


def test_client_going_away_mid_stream(src, filled, tmp_path):
    """A client that disconnects part-way: the export stops, is audited as cut short, and the daemon
    serves the next export whole (ASan checks the teardown at the fixture's stop)."""
    import requests
    org = Org(src)
    s3 = org.s3()
    s3.create_bucket(Bucket="exp-cut-" + uuid.uuid4().hex[:6])
    b = s3.list_buckets()["Buckets"][0]["Name"]
    # more than the socket buffers of both ends can hold, so the daemon is still sending
    s3.put_object(Bucket=b, Key="large.bin", Body=os.urandom(48 * 1024 * 1024))
    r = requests.get(src.url + "/admin/v1/tenants/%s/export" % org.tenant,
                     headers={"Authorization": "Bearer " + org.token}, stream=True, timeout=30)
    assert r.status_code == 200
    rid = r.headers["x-request-id"]
    first = r.raw.read(100 * 1024)
    assert len(first) == 100 * 1024
    r.close()
    rec = src.audit_wait(rid, tenant=org.tenant, action="data.export")
    assert rec["outcome"] == "error", rec
    out = tmp_path / "after.tar"
    assert export(src, org, out).returncode == 0


def test_unreadable_objects_are_listed_not_lost(src, tmp_path):
    """An object the operator cannot decrypt (here: its bucket key is disabled; SSE-C objects alike)
    has its metadata in the archive with the reason, no data file, and the export still completes."""
    org = Org(src)
    s3 = org.s3()
    locked, open_ = "exp-lock-" + uuid.uuid4().hex[:6], "exp-open-" + uuid.uuid4().hex[:6]
    for b in (locked, open_):
        s3.create_bucket(Bucket=b)
        s3.put_object(Bucket=b, Key="doc.txt", Body=b"contents of " + b.encode())
    src.ok("POST", "/admin/v1/tenants/%s/kms/keys/bucket:%s/disable" % (org.tenant, locked), token=org.token,
           status=200)
    try:
        p = src.cli("--output", "json", "export", "--tenant", org.tenant, "--bucket", open_, "--key", "a.tar",
                    token=org.token, check=False)
        assert p.returncode == 0, p.stdout + p.stderr
        assert json.loads(p.stdout)["skipped"] == 1
        out = tmp_path / "t.tar"
        assert export(src, org, out).returncode == 0
        with tarfile.open(out) as t:
            names = t.getnames()
            meta = json.load(t.extractfile("metadata/%s/doc.txt.json" % locked))
            assert t.extractfile("objects/%s/doc.txt" % open_).read() == b"contents of " + open_.encode()
        assert meta["exported"] is False and meta["error"] == "key_disabled" and meta["size"] > 0
        assert "objects/%s/doc.txt" % locked not in names
    finally:
        src.ok("POST", "/admin/v1/tenants/%s/kms/keys/bucket:%s/enable" % (org.tenant, locked), token=org.token,
               status=200)


def test_a_keys_limits_are_exported(src, tmp_path):
    """An API key's own cap, model list and rate limits in a project travel with the tenant's
    configuration (key_limits), one row each, the project's defaults as null."""
    org = Org(src)
    key = src.ok("POST", "/admin/v1/keys", {"user": org.admin["id"], "kind": "api", "project": org.project})["id"]
    base = "/admin/v1/projects/%s/keys/%s/" % (org.project, key)
    src.ok("PUT", base + "budget", {"monthly_yen": 500})
    src.ok("PUT", base + "models", {"models": ["tiny"]})
    src.ok("PUT", base + "rate-limits", {"rpm": 30})
    p = export(src, org, tmp_path / "k.tar")
    assert p.returncode == 0, p.stdout + p.stderr
    with tarfile.open(tmp_path / "k.tar") as t:
        reg = json.load(t.extractfile("registry.json"))
    rows = [{k: v for k, v in r.items() if k != "updated_at"} for r in reg["tenants"][0]["key_limits"]]
    assert sorted(rows, key=json.dumps) == sorted([
        {"project_id": org.project, "key_id": key, "monthly_microyen": 500000000, "models": None, "rpm": None, "tpm": None},
        {"project_id": org.project, "key_id": key, "monthly_microyen": None, "models": ["tiny"], "rpm": None, "tpm": None},
        {"project_id": org.project, "key_id": key, "monthly_microyen": None, "models": None, "rpm": 30, "tpm": None},
    ], key=json.dumps), rows
