"""Bucket CORS (what lets the console upload and download from a browser) and per-project storage
quotas, with boto3 against the real kasumid. The preflight is sent as a browser sends it: OPTIONS
with Origin and Access-Control-Request-*, no credentials."""
import concurrent.futures as cf
import json
import os
import time
import uuid

import botocore
import pytest
import requests

from conftest import Daemon
from test_s3 import S3Org

CONSOLE = "https://console.kasumi.example.go.jp"


@pytest.fixture(scope="module")
def s3d(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("s3gov") / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
    yield d
    d.stop()


def new_bucket(s3, prefix="gov"):
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:10])
    s3.create_bucket(Bucket=name)
    return name


def preflight(org, path, origin=CONSOLE, method="PUT", headers=None):
    h = {"Access-Control-Request-Method": method}
    if origin:
        h["Origin"] = origin
    if headers:
        h["Access-Control-Request-Headers"] = headers
    return requests.options(org.endpoint + path, headers=h, timeout=10)


# ---- CORS ----------------------------------------------------------------------------------------

def test_cors_configuration_round_trip_and_preflight(s3d):
    org = S3Org(s3d)
    s3 = org.client()
    b = new_bucket(s3)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.get_bucket_cors(Bucket=b)
    assert ei.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"
    # before any rule, a browser may not send the upload
    r = preflight(org, "/%s/report.pdf" % b)
    assert r.status_code == 403 and b"AccessForbidden" in r.content, r.text
    assert "Access-Control-Allow-Origin" not in r.headers

    rules = [{"ID": "console", "AllowedOrigins": [CONSOLE, "https://*.portal.example.lg.jp"],
              "AllowedMethods": ["GET", "PUT", "HEAD"], "AllowedHeaders": ["content-type", "x-amz-*"],
              "ExposeHeaders": ["ETag", "x-amz-request-id"], "MaxAgeSeconds": 600},
             {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]
    s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": rules})
    got = s3.get_bucket_cors(Bucket=b)["CORSRules"]
    assert got[0]["ID"] == "console" and got[0]["AllowedOrigins"] == rules[0]["AllowedOrigins"]
    assert got[0]["AllowedMethods"] == ["GET", "PUT", "HEAD"] and got[0]["MaxAgeSeconds"] == 600
    assert got[0]["AllowedHeaders"] == ["content-type", "x-amz-*"]
    assert got[1]["AllowedOrigins"] == ["*"] and "ID" not in got[1]

    # the console's upload: PUT with its signed headers
    r = preflight(org, "/%s/報告書.pdf" % b, headers="Content-Type, X-Amz-Date, x-amz-content-sha256")
    assert r.status_code == 200, r.text
    assert r.headers["Access-Control-Allow-Origin"] == CONSOLE
    assert r.headers["Access-Control-Allow-Methods"] == "GET, PUT, HEAD"
    assert r.headers["Access-Control-Allow-Headers"] == "Content-Type, X-Amz-Date, x-amz-content-sha256"
    assert r.headers["Access-Control-Max-Age"] == "600"
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in r.headers["Vary"]
    # a wildcard origin pattern; a header no rule allows; a method no rule allows; another origin
    assert preflight(org, "/%s/a" % b, origin="https://city.portal.example.lg.jp").status_code == 200
    assert preflight(org, "/%s/a" % b, headers="x-secret-header").status_code == 403
    assert preflight(org, "/%s/a" % b, method="DELETE").status_code == 403
    r = preflight(org, "/%s/a" % b, origin="https://evil.example.com", method="GET")
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in r.headers
    assert preflight(org, "/%s/a" % b, origin="https://evil.example.com").status_code == 403
    # a preflight needs an Origin, as S3 says
    r = preflight(org, "/%s/a" % b, origin=None)
    assert r.status_code == 400 and b"Origin" in r.content

    # the actual request: a presigned GET from the page carries the bucket's CORS headers
    s3.put_object(Bucket=b, Key="報告書.pdf", Body=b"%PDF-1.7 ...")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "報告書.pdf"})
    r = requests.get(url, headers={"Origin": CONSOLE}, timeout=10)
    assert r.status_code == 200 and r.content == b"%PDF-1.7 ..."
    assert r.headers["Access-Control-Allow-Origin"] == CONSOLE
    assert r.headers["Access-Control-Expose-Headers"] == "ETag, x-amz-request-id"
    r = requests.get(url, headers={"Origin": "https://evil.example.com"}, timeout=10)
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
    r = requests.get(url, timeout=10)   # no Origin: no CORS headers at all
    assert "Access-Control-Allow-Origin" not in r.headers

    # wrong configurations are refused and change nothing
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": [
            {"AllowedOrigins": ["https://*.*.example"], "AllowedMethods": ["GET"]}]})
    assert ei.value.response["Error"]["Code"] == "InvalidArgument"
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": [
            {"AllowedOrigins": [CONSOLE], "AllowedMethods": ["PATCH"]}]})
    assert ei.value.response["Error"]["Code"] == "MalformedXML"
    assert len(s3.get_bucket_cors(Bucket=b)["CORSRules"]) == 2

    s3.delete_bucket_cors(Bucket=b)
    assert preflight(org, "/%s/a" % b).status_code == 403
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.get_bucket_cors(Bucket=b)
    assert ei.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"


def test_cors_is_per_bucket_and_needs_bucket_write(s3d):
    org = S3Org(s3d)
    s3 = org.client()
    b1, b2 = new_bucket(s3), new_bucket(s3)
    s3.put_bucket_cors(Bucket=b1, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": [CONSOLE], "AllowedMethods": ["PUT"]}]})
    assert preflight(org, "/%s/x" % b1).status_code == 200
    assert preflight(org, "/%s/x" % b2).status_code == 403
    # another tenant cannot read or change the rules of this bucket (it does not exist for them)
    other = S3Org(s3d).client()
    for call in (lambda: other.get_bucket_cors(Bucket=b1), lambda: other.delete_bucket_cors(Bucket=b1)):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            call()
        assert ei.value.response["Error"]["Code"] == "NoSuchBucket"
    assert preflight(org, "/%s/x" % b1).status_code == 200
    # the rules go with the bucket
    s3.delete_bucket(Bucket=b1)
    assert preflight(org, "/%s/x" % b1).status_code == 403
    # the configuration change is audited
    deadline = time.time() + 15   # durable before the answer; in the audit index a moment later
    while True:
        recs = s3d.audit_records(action="s3.PutBucketCors")
        if any(r.get("target") == b1 and r.get("outcome") == "success" for r in recs):
            break
        assert time.time() < deadline, recs
        time.sleep(0.2)


# ---- quotas --------------------------------------------------------------------------------------

def set_quota(d, project, **limits):
    return d.ok("PUT", "/admin/v1/projects/%s/storage-quota" % project, limits)


def code_of(fn):
    try:
        fn()
        return "OK"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]


def test_quota_objects_at_the_edge_under_concurrent_uploads(s3d):
    org = S3Org(s3d)
    s3 = org.client()
    b = new_bucket(s3)
    s3.put_object(Bucket=b, Key="existing", Body=b"x" * 100)
    q = set_quota(s3d, org.project, max_objects=10)
    assert q["max_objects"] == 10 and q["max_bytes"] is None and q["used_objects"] == 1

    clients = [org.client() for _ in range(8)]
    def put(i):
        return code_of(lambda: clients[i % 8].put_object(Bucket=b, Key="k%03d" % i, Body=os.urandom(1000)))
    with cf.ThreadPoolExecutor(32) as ex:
        results = list(ex.map(put, range(40)))
    assert results.count("OK") == 9, results            # 10 - the one already there
    assert results.count("QuotaExceeded") == 31, results
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]]
    assert len(keys) == 10
    got = s3d.ok("GET", "/admin/v1/projects/%s/storage-quota" % org.project)
    assert got["used_objects"] == 10 and got["used_bytes"] == 100 + 9 * 1000

    # an overwrite adds no object: allowed at the edge
    s3.put_object(Bucket=b, Key="existing", Body=b"y" * 50)
    # a delete frees room again
    s3.delete_object(Bucket=b, Key=keys[1])
    s3.put_object(Bucket=b, Key="after-delete", Body=b"z")
    assert code_of(lambda: s3.put_object(Bucket=b, Key="one-too-many", Body=b"z")) == "QuotaExceeded"
    # the refusal says why, in S3's error format, and is audited
    r = requests.put(s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "p"}),
                     data=b"abc", timeout=10)
    assert r.status_code == 403 and b"<Code>QuotaExceeded</Code>" in r.content
    assert b"quota of 10 objects" in r.content, r.text
    deadline = time.time() + 15
    while not any(x.get("status") == 403 and "quota=objects" in (x.get("detail") or "")
                  for x in s3d.audit_records(action="s3.PutObject")):
        assert time.time() < deadline, "the refusal is not in the audit log"
        time.sleep(0.2)

    # removing the quota lifts the limit at once
    s3d.ok("DELETE", "/admin/v1/projects/%s/storage-quota" % org.project)
    s3.put_object(Bucket=b, Key="free-again", Body=b"z")


def test_quota_bytes_concurrent_failed_uploads_give_room_back(s3d):
    org = S3Org(s3d)
    s3 = org.client()
    b = new_bucket(s3)
    set_quota(s3d, org.project, max_bytes=5 * 100_000)
    clients = [org.client() for _ in range(8)]
    body = os.urandom(100_000)
    def put(i):
        return code_of(lambda: clients[i % 8].put_object(Bucket=b, Key="b%02d" % i, Body=body))
    with cf.ThreadPoolExecutor(16) as ex:
        results = list(ex.map(put, range(16)))
    assert results.count("OK") == 5 and results.count("QuotaExceeded") == 11, results
    used = s3d.ok("GET", "/admin/v1/projects/%s/storage-quota" % org.project)["used_bytes"]
    assert used == 5 * 100_000

    # room freed by a delete; an upload that fails its checksum gives its reservation back
    s3.delete_object(Bucket=b, Key=[k for k, r in zip(("b%02d" % i for i in range(16)), results) if r == "OK"][0])
    bad = code_of(lambda: s3.put_object(Bucket=b, Key="bad", Body=body, ContentMD5="AAAAAAAAAAAAAAAAAAAAAA=="))
    assert bad in ("BadDigest", "InvalidDigest"), bad
    assert code_of(lambda: s3.put_object(Bucket=b, Key="fits", Body=body)) == "OK"
    assert code_of(lambda: s3.put_object(Bucket=b, Key="one-byte-over", Body=b"1")) == "QuotaExceeded"

    # multipart: parts count as they arrive; a copy counts its length
    set_quota(s3d, org.project, max_bytes=5 * 100_000 + 6 * 1024 * 1024)
    up = s3.create_multipart_upload(Bucket=b, Key="mpu")["UploadId"]
    part = os.urandom(5 * 1024 * 1024)
    e1 = s3.upload_part(Bucket=b, Key="mpu", UploadId=up, PartNumber=1, Body=part)["ETag"]
    assert code_of(lambda: s3.upload_part(Bucket=b, Key="mpu", UploadId=up, PartNumber=2,
                                          Body=part)) == "QuotaExceeded"
    s3.complete_multipart_upload(Bucket=b, Key="mpu", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}]})
    assert code_of(lambda: s3.copy_object(Bucket=b, Key="mpu-copy",
                                          CopySource={"Bucket": b, "Key": "mpu"})) == "QuotaExceeded"
    got = s3d.ok("GET", "/admin/v1/projects/%s/storage-quota" % org.project)
    assert got["used_bytes"] == 5 * 100_000 + 5 * 1024 * 1024 <= got["max_bytes"]


def test_quota_api_validation_and_permissions(s3d):
    org = S3Org(s3d)
    path = "/admin/v1/projects/%s/storage-quota" % org.project
    for body in ({}, {"max_bytes": -1}, {"max_objects": "10"}, {"max_files": 3}):
        r = s3d.api("PUT", path, body)
        assert r.status_code == 400, (body, r.text)
    # the project admin (the key's owner) may read the quota but not raise it: the tenant sets it
    t = s3d.ok("GET", "/admin/v1/projects/%s" % org.project)["tenant"]
    u = s3d.ok("POST", "/admin/v1/tenants/%s/users" % t,
               {"name": "事業 担当", "email": "pa-%s@example.go.jp" % uuid.uuid4().hex[:6]})
    s3d.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "project_admin",
                                               "scope": "project/" + org.project})
    k = s3d.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "api"})["secret"]
    assert s3d.api("GET", path, token=k).status_code == 200
    assert s3d.api("PUT", path, {"max_bytes": 10**12}, token=k).status_code == 403
    _, admin = s3d.tenant_admin(t)
    assert s3d.api("PUT", path, {"max_bytes": 10**12}, token=admin).status_code == 200


def test_quota_through_the_cli(s3d):
    org = S3Org(s3d)
    p = s3d.cli("storage-quota", "set", "--project", org.project, "--max-bytes", "2GiB",
                "--max-objects", "1000")
    assert "2147483648" in p.stdout and "1000" in p.stdout, p.stdout
    got = s3d.ok("GET", "/admin/v1/projects/%s/storage-quota" % org.project)
    assert got["max_bytes"] == 2 << 30 and got["max_objects"] == 1000
    p = s3d.cli("storage-quota", "set", "--project", org.project, "--max-bytes", "2GB", check=False)
    assert p.returncode != 0 and "KiB, MiB, GiB" in p.stderr, p.stderr
    p = s3d.cli("storage-quota", "get", "--project", org.project, "--output", "json")
    assert json.loads(p.stdout)["used_objects"] == 0
    s3d.cli("storage-quota", "delete", "--project", org.project)
    assert s3d.ok("GET", "/admin/v1/projects/%s/storage-quota" % org.project)["max_bytes"] is None
