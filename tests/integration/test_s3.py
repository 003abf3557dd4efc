"""Object storage through the S3 API, with the clients people use: boto3, aws-cli, s3cmd and rclone
from Debian, against the real kasumid. Keys come from the admin API (kind "s3")."""
import hashlib
import json
import os
import pathlib
import subprocess
import time
import uuid

import boto3
import botocore
import pytest
import requests
from botocore.config import Config

from conftest import Daemon


class S3Org:
    def __init__(self, d):
        self.d = d
        t = d.tenant()
        self.tenant = t["id"]
        self.project = d.ok("POST", "/admin/v1/tenants/%s/projects" % self.tenant,
                            {"name": "data-" + uuid.uuid4().hex[:6], "environment": "prod"})["id"]
        u = d.ok("POST", "/admin/v1/tenants/%s/users" % self.tenant,
                 {"name": "保管 担当", "email": "s3-%s@example.go.jp" % uuid.uuid4().hex[:6]})
        d.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "project_admin",
                                                 "scope": "project/" + self.project})
        k = d.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "s3", "project": self.project})
        self.akid, self.secret = k["access_key_id"], k["secret_access_key"]
        self.endpoint = "http://" + d.s3_addr

    def client(self, secret=None, region="jp-east"):
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.akid,
                            aws_secret_access_key=secret or self.secret, region_name=region,
                            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                          retries={"total_max_attempts": 1}))

    def env(self):
        e = dict(os.environ, AWS_ACCESS_KEY_ID=self.akid, AWS_SECRET_ACCESS_KEY=self.secret,
                 AWS_DEFAULT_REGION="jp-east", AWS_EC2_METADATA_DISABLED="true")
        # a CA bundle from the machine's environment breaks rclone's AWS SDK on plain http
        for k in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE"):
            e.pop(k, None)
        return e


@pytest.fixture(scope="module")
def s3d(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("s3") / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
    yield d
    d.stop()


@pytest.fixture(scope="module")
def org(s3d):
    return S3Org(s3d)


def bucket_name():
    return "b-" + uuid.uuid4().hex[:12]


def code(exc):
    return exc.value.response["Error"]["Code"]


def test_bucket_lifecycle(org):
    s3 = org.client()
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    assert s3.get_bucket_location(Bucket=b)["LocationConstraint"] == "jp-east"
    west = bucket_name()
    s3.create_bucket(Bucket=west, CreateBucketConfiguration={"LocationConstraint": "jp-west"})
    assert s3.get_bucket_location(Bucket=west)["LocationConstraint"] == "jp-west"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.create_bucket(Bucket=bucket_name(), CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    assert code(e) == "InvalidLocationConstraint"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.create_bucket(Bucket="Bad_Name")
    assert code(e) == "InvalidBucketName"
    names = [x["Name"] for x in s3.list_buckets()["Buckets"]]
    assert b in names and west in names
    s3.head_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="x", Body=b"1")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.delete_bucket(Bucket=b)
    assert code(e) == "BucketNotEmpty"
    s3.delete_object(Bucket=b, Key="x")
    s3.delete_bucket(Bucket=b)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_bucket(Bucket=b)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_objects_round_trip(org):
    s3 = org.client()
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    for size in (0, 1, 65535, 65536, 65537, 3 * 1024 * 1024 + 17):
        body = os.urandom(size)
        key = "dir/ファイル-%d.bin" % size
        put = s3.put_object(Bucket=b, Key=key, Body=body, ContentType="application/x-test",
                            Metadata={"owner": "kasumi", "note": "tokyo"})
        assert put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
        got = s3.get_object(Bucket=b, Key=key)
        assert got["Body"].read() == body
        assert got["ContentType"] == "application/x-test" and got["Metadata"] == {"owner": "kasumi", "note": "tokyo"}
        head = s3.head_object(Bucket=b, Key=key)
        assert head["ContentLength"] == size and head["ETag"] == put["ETag"]
        if size > 100:
            r = s3.get_object(Bucket=b, Key=key, Range="bytes=50-99")
            assert r["Body"].read() == body[50:100] and r["ContentRange"] == "bytes 50-99/%d" % size
            r = s3.get_object(Bucket=b, Key=key, Range="bytes=-10")
            assert r["Body"].read() == body[-10:]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=b, Key="nope")
    assert code(e) == "NoSuchKey"
    # conditional requests
    etag = s3.head_object(Bucket=b, Key="dir/ファイル-1.bin")["ETag"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=b, Key="dir/ファイル-1.bin", IfNoneMatch=etag)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=b, Key="dir/ファイル-1.bin", IfMatch='"0000"')
    assert code(e) == "PreconditionFailed"
    # overwrite and delete
    one = s3.put_object(Bucket=b, Key="k", Body=b"one")
    two = s3.put_object(Bucket=b, Key="k", Body=b"two")
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"two"
    # the data-plane log: every write says its size and what it replaced
    rec = org.d.audit_wait(two["ResponseMetadata"]["RequestId"], action="s3.PutObject")
    assert rec["detail"] == "size=3 replaces=%s:3 bytes_in=3 bytes_out=0" % one["ETag"], rec
    assert rec["target"] == b + "/k" and rec["outcome"] == "success"
    s3.delete_object(Bucket=b, Key="k")
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=b, Key="k")
    # responses carry nosniff and stored HTML cannot script the origin
    s3.put_object(Bucket=b, Key="page.html", Body=b"<script>alert(1)</script>", ContentType="text/html")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "page.html"}, ExpiresIn=60)
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and r.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in r.headers.get("Content-Security-Policy", "")


def test_listing_and_delete_objects(org):
    s3 = org.client()
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    keys = ["a/%03d" % i for i in range(120)] + ["b/%03d" % i for i in range(30)] + ["top", "z/日本/1"]
    for k in keys:
        s3.put_object(Bucket=b, Key=k, Body=k.encode())
    p = s3.get_paginator("list_objects_v2")
    got = [o["Key"] for page in p.paginate(Bucket=b, PaginationConfig={"PageSize": 25}) for o in page.get("Contents", [])]
    assert got == sorted(keys, key=lambda s: s.encode())
    r = s3.list_objects_v2(Bucket=b, Delimiter="/")
    assert [c["Prefix"] for c in r["CommonPrefixes"]] == ["a/", "b/", "z/"]
    assert [o["Key"] for o in r["Contents"]] == ["top"]
    r = s3.list_objects_v2(Bucket=b, Prefix="a/", StartAfter="a/100")
    assert [o["Key"] for o in r["Contents"]] == ["a/%03d" % i for i in range(101, 120)]
    v1 = s3.list_objects(Bucket=b, Prefix="b/", MaxKeys=10)
    assert len(v1["Contents"]) == 10 and v1["IsTruncated"]
    out = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": k} for k in keys[:100]]})
    assert len(out["Deleted"]) == 100
    assert s3.list_objects_v2(Bucket=b)["KeyCount"] == len(keys) - 100


def test_multipart_upload(org, tmp_path):
    s3 = org.client()
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    data = os.urandom(16 * 1024 * 1024 + 123)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    from boto3.s3.transfer import TransferConfig
    cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_file(str(src), b, "big.bin", Config=cfg)
    head = s3.head_object(Bucket=b, Key="big.bin")
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-4"')
    dst = tmp_path / "back.bin"
    s3.download_file(b, "big.bin", str(dst))
    assert hashlib.sha256(dst.read_bytes()).digest() == hashlib.sha256(data).digest()
    r = s3.get_object(Bucket=b, Key="big.bin", Range="bytes=5242870-5242890")   # across a part boundary
    assert r["Body"].read() == data[5242870:5242891]
    # a part list out of order and a too-small part are refused; abort cleans up
    up = s3.create_multipart_upload(Bucket=b, Key="bad")
    e1 = s3.upload_part(Bucket=b, Key="bad", UploadId=up["UploadId"], PartNumber=1, Body=b"small")["ETag"]
    e2 = s3.upload_part(Bucket=b, Key="bad", UploadId=up["UploadId"], PartNumber=2, Body=b"tiny")["ETag"]
    assert len(s3.list_parts(Bucket=b, Key="bad", UploadId=up["UploadId"])["Parts"]) == 2
    assert any(u["UploadId"] == up["UploadId"] for u in s3.list_multipart_uploads(Bucket=b)["Uploads"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.complete_multipart_upload(Bucket=b, Key="bad", UploadId=up["UploadId"], MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert code(e) == "EntityTooSmall"
    s3.abort_multipart_upload(Bucket=b, Key="bad", UploadId=up["UploadId"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.list_parts(Bucket=b, Key="bad", UploadId=up["UploadId"])
    assert code(e) == "NoSuchUpload"


def test_signatures_and_bad_input(org):
    b = bucket_name()
    org.client().create_bucket(Bucket=b)
    bad = org.client(secret="x" * 40)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        bad.put_object(Bucket=b, Key="k", Body=b"data")
    assert code(e) == "SignatureDoesNotMatch"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        org.client().put_object(Bucket=b, Key="k", Body=b"data", ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")
    assert code(e) == "BadDigest"
    with pytest.raises(botocore.exceptions.ClientError):
        org.client().head_object(Bucket=b, Key="k")   # nothing of the refused body was stored
    r = requests.get(org.endpoint + "/" + b, timeout=10)
    assert r.status_code == 403 and b"<Code>AccessDenied</Code>" in r.content
    url = org.client().generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"}, ExpiresIn=60)
    r = requests.get(url.replace("X-Amz-Expires=60", "X-Amz-Expires=61"), timeout=10)
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content


def test_presigned_put_and_get_with_curl(org, tmp_path):
    s3 = org.client()
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    put = s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "via-curl"}, ExpiresIn=120)
    f = tmp_path / "f"
    f.write_bytes(b"presigned body")
    assert subprocess.run(["curl", "-sf", "-T", str(f), put], timeout=30).returncode == 0
    get = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "via-curl"}, ExpiresIn=120)
    out = subprocess.run(["curl", "-sf", get], capture_output=True, timeout=30)
    assert out.returncode == 0 and out.stdout == b"presigned body"


def test_same_bucket_name_in_two_tenants(s3d, org):
    other = S3Org(s3d)
    name = bucket_name()
    org.client().create_bucket(Bucket=name)
    other.client().create_bucket(Bucket=name)   # no BucketAlreadyExists across tenants
    org.client().put_object(Bucket=name, Key="mine", Body=b"A")
    other.client().put_object(Bucket=name, Key="theirs", Body=b"B")
    assert [o["Key"] for o in org.client().list_objects_v2(Bucket=name)["Contents"]] == ["mine"]
    assert [o["Key"] for o in other.client().list_objects_v2(Bucket=name)["Contents"]] == ["theirs"]
    only_mine = bucket_name()
    org.client().create_bucket(Bucket=only_mine)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        other.client().head_bucket(Bucket=only_mine)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_plaintext_never_on_disk(s3d, org):
    s3 = org.client()
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    canary = ("KASUMI-CANARY-" + uuid.uuid4().hex).encode()
    s3.put_object(Bucket=b, Key="canary", Body=canary * 100)
    s3.put_object(Bucket=b, Key="small-canary", Body=canary)
    assert s3.get_object(Bucket=b, Key="canary")["Body"].read() == canary * 100
    for p in pathlib.Path(s3d.data_dir).rglob("*"):
        if p.is_file():
            assert canary not in p.read_bytes(), p


def test_aws_cli_s3cmd_rclone(org, tmp_path):
    b = bucket_name()
    org.client().create_bucket(Bucket=b)
    src = tmp_path / "src.bin"
    data = os.urandom(9 * 1024 * 1024 + 7)   # above the CLIs' multipart thresholds
    src.write_bytes(data)
    env = org.env()
    aws = ["aws", "--endpoint-url", org.endpoint, "s3"]
    subprocess.run(aws + ["cp", str(src), "s3://%s/aws/src.bin" % b], check=True, env=env, timeout=120,
                   capture_output=True)
    ls = subprocess.run(aws + ["ls", "s3://%s/aws/" % b], check=True, env=env, timeout=60,
                        capture_output=True, text=True)
    assert "src.bin" in ls.stdout
    subprocess.run(aws + ["cp", "s3://%s/aws/src.bin" % b, str(tmp_path / "aws.bin")], check=True, env=env,
                   timeout=120, capture_output=True)
    assert (tmp_path / "aws.bin").read_bytes() == data
    host = org.endpoint.replace("http://", "")
    s3cmd = ["s3cmd", "--no-ssl", "--host", host, "--host-bucket", host, "--access_key", org.akid,
             "--secret_key", org.secret, "--region", "jp-east", "-c", "/dev/null"]
    subprocess.run(s3cmd + ["put", str(src), "s3://%s/s3cmd/src.bin" % b], check=True, timeout=120,
                   capture_output=True)
    subprocess.run(s3cmd + ["get", "s3://%s/s3cmd/src.bin" % b, str(tmp_path / "s3cmd.bin")], check=True,
                   timeout=120, capture_output=True)
    assert (tmp_path / "s3cmd.bin").read_bytes() == data
    renv = dict(env, RCLONE_CONFIG_K_TYPE="s3", RCLONE_CONFIG_K_PROVIDER="Other",
                RCLONE_CONFIG_K_ACCESS_KEY_ID=org.akid, RCLONE_CONFIG_K_SECRET_ACCESS_KEY=org.secret,
                RCLONE_CONFIG_K_ENDPOINT=org.endpoint, RCLONE_CONFIG_K_REGION="jp-east",
                RCLONE_CONFIG_K_FORCE_PATH_STYLE="true", RCLONE_CONFIG="/dev/null")
    subprocess.run(["rclone", "copyto", str(src), "k:%s/rclone/src.bin" % b], check=True, env=renv,
                   timeout=120, capture_output=True)
    subprocess.run(["rclone", "copyto", "k:%s/rclone/src.bin" % b, str(tmp_path / "rclone.bin")], check=True,
                   env=renv, timeout=120, capture_output=True)
    assert (tmp_path / "rclone.bin").read_bytes() == data
    keys = sorted(o["Key"] for o in org.client().list_objects_v2(Bucket=b)["Contents"])
    assert keys == ["aws/src.bin", "rclone/src.bin", "s3cmd/src.bin"]


def test_s3_keys_in_admin_api(s3d):
    org = S3Org(s3d)
    org.client().list_buckets()
    keys = s3d.ok("GET", "/admin/v1/keys?tenant=" + org.tenant)["items"]
    mine = [k for k in keys if k.get("access_key_id") == org.akid]
    assert mine and mine[0]["kind"] == "s3" and "secret_access_key" not in mine[0]
    # the secret is stored sealed: it appears nowhere in the data dir
    for p in pathlib.Path(s3d.data_dir).rglob("*"):
        if p.is_file():
            assert org.secret.encode() not in p.read_bytes(), p
    # revoked → InvalidAccessKeyId
    s3d.ok("DELETE", "/admin/v1/keys/" + mine[0]["id"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        org.client().list_buckets()
    assert code(e) == "InvalidAccessKeyId"


def test_s3_key_through_cli(s3d):
    """kasumi key create --kind s3 --project … --output json gives the SigV4 pair, which works."""
    org = S3Org(s3d)
    u = s3d.ok("POST", "/admin/v1/tenants/%s/users" % org.tenant,
               {"name": "CLI", "email": "cli-%s@example.go.jp" % uuid.uuid4().hex[:6]})
    s3d.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "member",
                                               "scope": "project/" + org.project})
    out = s3d.cli("key", "create", "--user", u["id"], "--kind", "s3", "--project", org.project, "--output", "json")
    k = json.loads(out.stdout)
    assert k["kind"] == "s3" and k["access_key_id"].startswith("KSM") and len(k["secret_access_key"]) == 40
    org.akid, org.secret = k["access_key_id"], k["secret_access_key"]
    org.client().list_buckets()
    table = s3d.cli("key", "create", "--user", u["id"], "--kind", "s3", "--project", org.project).stdout
    assert "ACCESS_KEY_ID" in table and "SECRET_ACCESS_KEY" in table
    r = s3d.api("POST", "/admin/v1/keys", {"user": u["id"], "kind": "s3"})
    assert r.status_code == 400 and "project" in r.json()["error"]["message"]


def test_metering(tmp_path):
    """Requests, bytes in and out per request, and stored bytes over time per bucket (sampled)."""
    d = Daemon(tmp_path / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.write_config("[s3]\nmeter_interval_s = 1\n")
    d.start()
    try:
        d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
        org = S3Org(d)
        s3 = org.client()
        b = bucket_name()
        s3.create_bucket(Bucket=b)
        s3.put_object(Bucket=b, Key="a", Body=b"x" * 100000)
        assert len(s3.get_object(Bucket=b, Key="a")["Body"].read()) == 100000

        def usage():
            return d.ok("GET", "/admin/v1/usage?tenant=%s&service=storage&limit=1000" % org.tenant)["items"]
        deadline = time.time() + 15
        while time.time() < deadline:
            items = usage()
            if sum(1 for i in items if i["meter"] == "storage_byte_seconds") >= 2:
                break
            time.sleep(0.2)
        meters = {}
        for i in items:
            meters.setdefault(i["meter"], []).append(i)
        assert sum(i["quantity"] for i in meters["bytes_in"]) >= 100000
        assert sum(i["quantity"] for i in meters["bytes_out"]) >= 100000
        assert meters["requests_write"] and meters["requests_read"]
        assert all(i["resource"] == b for i in meters["storage_bytes"])
        assert max(i["quantity"] for i in meters["storage_bytes"]) == 100000
        bs = meters["storage_byte_seconds"]
        assert bs and all(i["quantity"] % 100000 == 0 and i["quantity"] >= 100000 for i in bs), bs
    finally:
        d.stop()


def test_buffered_body_must_match_its_signature(org):
    """An XML body (here DeleteObjects) altered after signing is refused before it acts."""
    import base64
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    s3 = org.client()
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="keep", Body=b"1")
    body = b"<Delete><Object><Key>gone</Key></Object></Delete>"
    url = org.endpoint + "/" + b + "?delete"
    req = AWSRequest(method="POST", url=url, data=body,
                     headers={"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()})
    S3SigV4Auth(Credentials(org.akid, org.secret), "s3", "jp-east").add_auth(req)
    assert req.headers["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest()
    tampered = body.replace(b"gone", b"keep")
    r = requests.post(url, data=tampered, headers=dict(req.headers), timeout=10)
    assert r.status_code == 400 and b"XAmzContentSHA256Mismatch" in r.content, r.content
    assert s3.head_object(Bucket=b, Key="keep")["ContentLength"] == 1
    r = requests.post(url, data=body, headers=dict(req.headers), timeout=10)
    assert r.status_code == 200, r.content


def test_overseas_ai_environment_stores_nothing(tmp_path):
    """The overseas AI environment has no S3 listener and no s3 keys (SPEC.md O3)."""
    d = Daemon(tmp_path / "data", env_kind="overseas-ai")
    d.start()
    try:
        listen = json.loads((d.data_dir / "listen.json").read_text())
        assert "s3" not in listen and "admin" in listen and "ai" in listen
        t = d.tenant()
        p = d.ok("POST", "/admin/v1/tenants/%s/projects" % t["id"], {"name": "p", "environment": "dev"})
        u = d.ok("POST", "/admin/v1/tenants/%s/users" % t["id"], {"name": "u", "email": "u@example.go.jp"})
        r = d.api("POST", "/admin/v1/keys", {"user": u["id"], "kind": "s3", "project": p["id"]})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_supported_in_environment"
        assert not (d.data_dir / "regions").exists() and not (d.data_dir / "keys" / "master.key").exists()
    finally:
        d.stop()


def test_clients_leaving_mid_upload(tmp_path):
    """Clients that go away before their answer (mid-body, or while a small PUT is being made
    durable in the pack log) neither crash the daemon nor leak: it serves on and stops clean."""
    import socket
    from urllib.parse import urlsplit
    d = Daemon(tmp_path / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.start()
    try:
        d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
        org = S3Org(d)
        s3 = org.client()
        b = bucket_name()
        s3.create_bucket(Bucket=b)
        host, port = d.s3_addr.rsplit(":", 1)

        def put_and_leave(key, size, send):
            url = urlsplit(s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": key},
                                                     ExpiresIn=300))
            head = ("PUT %s?%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n"
                    % (url.path, url.query, d.s3_addr, size)).encode()
            with socket.create_connection((host, int(port)), timeout=5) as c:
                c.sendall(head + b"k" * send)
        for i in range(150):   # whole small bodies, gone before the pack log's answer
            put_and_leave("small-%d" % i, 4096, 4096)
        for i in range(30):    # half a body, then gone
            put_and_leave("half-%d" % i, 1 << 20, 200000)
        s3.put_object(Bucket=b, Key="after", Body=b"still here")
        assert s3.get_object(Bucket=b, Key="after")["Body"].read() == b"still here"
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", [])}
        assert not any(k.startswith("half-") for k in keys), keys   # nothing partial
        for k in keys:
            if k.startswith("small-"):   # a small PUT either landed whole or not at all
                assert s3.get_object(Bucket=b, Key=k)["Body"].read() == b"k" * 4096
    finally:
        d.stop()   # exits 0 with nothing from ASan/LSan
