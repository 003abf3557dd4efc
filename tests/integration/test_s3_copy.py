"""CopyObject (metadata directive, conditions, across buckets, regions and tenants), UploadPartCopy
with ranges, and object tagging (?tagging, x-amz-tagging, x-amz-tagging-count), with boto3 against
the real kasumid. The daemon and the tenant come from test_s3's fixtures."""
import hashlib
import json
import os
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone

import boto3
import botocore
from botocore.config import Config
import pytest
import requests

from test_s3 import S3Org, bucket_name, code, org, s3d  # noqa: F401  (fixtures)


def md5_etag(data):
    return '"%s"' % hashlib.md5(data).hexdigest()


def test_copy_within_and_across_buckets_and_regions(org):
    s3 = org.client()
    src, east, west = bucket_name(), bucket_name(), bucket_name()
    s3.create_bucket(Bucket=src)
    s3.create_bucket(Bucket=east)
    s3.create_bucket(Bucket=west, CreateBucketConfiguration={"LocationConstraint": "jp-west"})
    small, big = b"small object", os.urandom(9 * 1024 * 1024 + 321)
    s3.put_object(Bucket=src, Key="s", Body=small)
    s3.put_object(Bucket=src, Key="dir/大きい ファイル+1.bin", Body=big)
    for dst_bucket, dst_key in ((src, "s-copy"), (east, "s"), (west, "s")):
        r = s3.copy_object(Bucket=dst_bucket, Key=dst_key, CopySource={"Bucket": src, "Key": "s"})
        assert r["CopyObjectResult"]["ETag"] == md5_etag(small)
        assert s3.get_object(Bucket=dst_bucket, Key=dst_key)["Body"].read() == small
    for dst_bucket in (east, west):
        r = s3.copy_object(Bucket=dst_bucket, Key="big",
                           CopySource={"Bucket": src, "Key": "dir/大きい ファイル+1.bin"})
        assert r["CopyObjectResult"]["ETag"] == md5_etag(big)
        got = s3.get_object(Bucket=dst_bucket, Key="big")["Body"].read()
        assert hashlib.sha256(got).digest() == hashlib.sha256(big).digest()
    # a copy of a copy across regions, and a string copy source with a leading slash
    s3.copy_object(Bucket=east, Key="back", CopySource="/%s/big" % west)
    assert s3.head_object(Bucket=east, Key="back")["ContentLength"] == len(big)
    # an empty object
    s3.put_object(Bucket=src, Key="empty", Body=b"")
    s3.copy_object(Bucket=east, Key="empty", CopySource={"Bucket": src, "Key": "empty"})
    assert s3.get_object(Bucket=east, Key="empty")["Body"].read() == b""
    # the source is untouched
    assert s3.get_object(Bucket=src, Key="s")["Body"].read() == small


def test_copy_missing_source(org):
    s3 = org.client()
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=b, Key="x", CopySource={"Bucket": b, "Key": "nope"})
    assert code(e) == "NoSuchKey"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=b, Key="x", CopySource={"Bucket": bucket_name(), "Key": "k"})
    assert code(e) == "NoSuchBucket"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=b, Key="x", CopySource={"Bucket": b, "Key": "k", "VersionId": "v123"})
    assert code(e) == "InvalidArgument"
    assert s3.list_objects_v2(Bucket=b)["KeyCount"] == 0


def test_copy_metadata_directive(org):
    s3 = org.client()
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="src", Body=b"data", ContentType="text/plain",
                  CacheControl="max-age=60", Metadata={"owner": "kasumi"}, Tagging="class=secret")
    s3.copy_object(Bucket=b, Key="copied", CopySource={"Bucket": b, "Key": "src"})
    h = s3.head_object(Bucket=b, Key="copied")
    assert h["ContentType"] == "text/plain" and h["CacheControl"] == "max-age=60"
    assert h["Metadata"] == {"owner": "kasumi"}
    assert s3.get_object_tagging(Bucket=b, Key="copied")["TagSet"] == [{"Key": "class", "Value": "secret"}]
    s3.copy_object(Bucket=b, Key="replaced", CopySource={"Bucket": b, "Key": "src"},
                   MetadataDirective="REPLACE", ContentType="application/json", Metadata={"new": "1"},
                   TaggingDirective="REPLACE", Tagging="a=b")
    h = s3.head_object(Bucket=b, Key="replaced")
    assert h["ContentType"] == "application/json" and h["Metadata"] == {"new": "1"}
    assert "CacheControl" not in h
    assert s3.get_object_tagging(Bucket=b, Key="replaced")["TagSet"] == [{"Key": "a", "Value": "b"}]
    assert s3.get_object(Bucket=b, Key="replaced")["Body"].read() == b"data"
    odd = org.client()   # boto3 validates the directive: set an unknown one below it
    odd.meta.events.register("before-sign.s3.CopyObject",
                             lambda request, **kw: request.headers.__setitem__("x-amz-metadata-directive", "MOVE"))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        odd.copy_object(Bucket=b, Key="bad", CopySource={"Bucket": b, "Key": "src"})
    assert code(e) == "InvalidArgument"


def test_copy_onto_itself(org):
    s3 = org.client()
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    body = os.urandom(2 * 1024 * 1024)
    s3.put_object(Bucket=b, Key="self", Body=body, Metadata={"v": "1"})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=b, Key="self", CopySource={"Bucket": b, "Key": "self"})
    assert code(e) == "InvalidRequest"
    s3.copy_object(Bucket=b, Key="self", CopySource={"Bucket": b, "Key": "self"},
                   MetadataDirective="REPLACE", Metadata={"v": "2"})
    got = s3.get_object(Bucket=b, Key="self")
    assert got["Metadata"] == {"v": "2"} and got["Body"].read() == body


def test_copy_conditions(org):
    s3 = org.client()
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    etag = s3.put_object(Bucket=b, Key="src", Body=b"conditional")["ETag"]
    src = {"Bucket": b, "Key": "src"}
    past = datetime.now(timezone.utc) - timedelta(days=1)
    future = datetime.now(timezone.utc) + timedelta(days=1)
    refused = [{"CopySourceIfMatch": '"0000"'}, {"CopySourceIfNoneMatch": etag},
               {"CopySourceIfUnmodifiedSince": past}, {"CopySourceIfModifiedSince": future}]
    for cond in refused:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.copy_object(Bucket=b, Key="dst", CopySource=src, **cond)
        assert code(e) == "PreconditionFailed", cond
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=b, Key="dst")
    accepted = [{"CopySourceIfMatch": etag}, {"CopySourceIfNoneMatch": '"0000"'},
                {"CopySourceIfUnmodifiedSince": future}, {"CopySourceIfModifiedSince": past},
                {"CopySourceIfMatch": etag, "CopySourceIfUnmodifiedSince": past}]
    for cond in accepted:
        s3.copy_object(Bucket=b, Key="dst", CopySource=src, **cond)
    assert s3.get_object(Bucket=b, Key="dst")["Body"].read() == b"conditional"


def test_copy_from_other_tenant_or_project(s3d, org):
    other = S3Org(s3d)
    name = bucket_name()
    org.client().create_bucket(Bucket=name)
    other.client().create_bucket(Bucket=name)
    other.client().put_object(Bucket=name, Key="theirs", Body=b"THEIR SECRET")
    # the caller's bucket of that name has no "theirs"; another tenant's is invisible
    with pytest.raises(botocore.exceptions.ClientError) as e:
        org.client().copy_object(Bucket=name, Key="stolen", CopySource={"Bucket": name, "Key": "theirs"})
    assert code(e) == "NoSuchKey"
    only_theirs = bucket_name()
    other.client().create_bucket(Bucket=only_theirs)
    other.client().put_object(Bucket=only_theirs, Key="theirs", Body=b"THEIR SECRET")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        org.client().copy_object(Bucket=name, Key="stolen", CopySource={"Bucket": only_theirs, "Key": "theirs"})
    assert code(e) == "NoSuchBucket"
    # a bucket of the same tenant in a project the caller has no role in
    d = s3d
    project = d.ok("POST", "/admin/v1/tenants/%s/projects" % org.tenant,
                   {"name": "other-" + uuid.uuid4().hex[:6], "environment": "prod"})["id"]
    u = d.ok("POST", "/admin/v1/tenants/%s/users" % org.tenant,
             {"name": "別 担当", "email": "s3o-%s@example.go.jp" % uuid.uuid4().hex[:6]})
    d.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "project_admin",
                                             "scope": "project/" + project})
    k = d.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "s3", "project": project})
    neighbour = S3Org.__new__(S3Org)
    neighbour.d, neighbour.endpoint = d, org.endpoint
    neighbour.akid, neighbour.secret = k["access_key_id"], k["secret_access_key"]
    closed = bucket_name()
    neighbour.client().create_bucket(Bucket=closed)
    neighbour.client().put_object(Bucket=closed, Key="k", Body=b"project data")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        org.client().copy_object(Bucket=name, Key="stolen", CopySource={"Bucket": closed, "Key": "k"})
    assert code(e) == "AccessDenied"
    assert [o["Key"] for o in org.client().list_objects_v2(Bucket=name).get("Contents", [])] == []


def test_upload_part_copy(org):
    s3 = org.client()
    b, west = bucket_name(), bucket_name()
    s3.create_bucket(Bucket=b)
    s3.create_bucket(Bucket=west, CreateBucketConfiguration={"LocationConstraint": "jp-west"})
    a = os.urandom(7 * 1024 * 1024 + 5)
    c = os.urandom(5 * 1024 * 1024 + 17)
    s3.put_object(Bucket=b, Key="a", Body=a)
    s3.put_object(Bucket=west, Key="c", Body=c)
    up = s3.create_multipart_upload(Bucket=b, Key="joined")["UploadId"]
    first, last = 5 * 1024 * 1024, len(a) - 1
    p1 = s3.upload_part_copy(Bucket=b, Key="joined", UploadId=up, PartNumber=1,
                             CopySource={"Bucket": b, "Key": "a"}, CopySourceRange="bytes=0-%d" % (first - 1))
    assert p1["CopyPartResult"]["ETag"] == md5_etag(a[:first])
    p2 = s3.upload_part_copy(Bucket=b, Key="joined", UploadId=up, PartNumber=2,
                             CopySource={"Bucket": west, "Key": "c"})   # the whole object, across regions
    p3 = s3.upload_part_copy(Bucket=b, Key="joined", UploadId=up, PartNumber=3,
                             CopySource={"Bucket": b, "Key": "a"},
                             CopySourceRange="bytes=%d-%d" % (first, last))
    for bad in ("bytes=0-%d" % len(a), "bytes=5-1", "0-10", "bytes=1-"):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.upload_part_copy(Bucket=b, Key="joined", UploadId=up, PartNumber=4,
                                CopySource={"Bucket": b, "Key": "a"}, CopySourceRange=bad)
        assert code(e) == "InvalidArgument", bad
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.upload_part_copy(Bucket=b, Key="joined", UploadId="nope", PartNumber=1,
                            CopySource={"Bucket": b, "Key": "a"})
    assert code(e) == "NoSuchUpload"
    parts = [{"PartNumber": n, "ETag": p["CopyPartResult"]["ETag"]} for n, p in ((1, p1), (2, p2), (3, p3))]
    s3.complete_multipart_upload(Bucket=b, Key="joined", UploadId=up, MultipartUpload={"Parts": parts})
    want = a[:first] + c + a[first:]
    got = s3.get_object(Bucket=b, Key="joined")["Body"].read()
    assert len(got) == len(want) and hashlib.sha256(got).digest() == hashlib.sha256(want).digest()


def test_object_tagging(org):
    s3 = org.client()
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    assert s3.get_object_tagging(Bucket=b, Key="k")["TagSet"] == []
    assert "x-amz-tagging-count" not in s3.head_object(Bucket=b, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    tags = [{"Key": "部署", "Value": "デジタル庁"}, {"Key": "class", "Value": "open"}]
    s3.put_object_tagging(Bucket=b, Key="k", Tagging={"TagSet": tags})
    got = s3.get_object_tagging(Bucket=b, Key="k")["TagSet"]
    assert sorted(got, key=lambda t: t["Key"]) == sorted(tags, key=lambda t: t["Key"])
    assert s3.head_object(Bucket=b, Key="k")["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    assert s3.get_object(Bucket=b, Key="k")["TagCount"] == 2
    s3.delete_object_tagging(Bucket=b, Key="k")
    assert s3.get_object_tagging(Bucket=b, Key="k")["TagSet"] == []
    # x-amz-tagging at creation, URL-encoded
    s3.put_object(Bucket=b, Key="t", Body=b"y", Tagging="project=%E9%9C%9E&empty=&sp=a+b")
    got = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=b, Key="t")["TagSet"]}
    assert got == {"project": "霞", "empty": "", "sp": "a b"}
    assert s3.get_object(Bucket=b, Key="t")["TagCount"] == 3
    # bad tag sets
    eleven = [{"Key": "k%d" % i, "Value": "v"} for i in range(11)]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object_tagging(Bucket=b, Key="k", Tagging={"TagSet": eleven})
    assert code(e) == "InvalidTag"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object_tagging(Bucket=b, Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "1"},
                                                                     {"Key": "a", "Value": "2"}]})
    assert code(e) == "InvalidTag"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object_tagging(Bucket=b, Key="k", Tagging={"TagSet": [{"Key": "x" * 129, "Value": "1"}]})
    assert code(e) == "InvalidTag"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=b, Key="u", Body=b"z", Tagging="&".join("k%d=v" % i for i in range(11)))
    assert code(e) == "InvalidTag"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=b, Key="u", Body=b"z", Tagging="a=1&a=2")
    assert code(e) == "InvalidArgument"
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=b, Key="u")   # nothing stored
    def truncate(request, **kw):   # a signed body that is not well-formed XML
        request.data = b"<Tagging><TagSet><Tag><Key>a</Key>"
        for h in ("Content-MD5", "x-amz-checksum-crc32", "x-amz-sdk-checksum-algorithm"):
            if h in request.headers:
                del request.headers[h]
    bad = org.client()
    bad.meta.events.register("before-sign.s3.PutObjectTagging", truncate)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        bad.put_object_tagging(Bucket=b, Key="k", Tagging={"TagSet": tags})
    assert code(e) == "MalformedXML"
    def tamper(request, **kw):   # altered after signing: the payload hash no longer holds
        request.body = request.body.replace(b"open", b"shut")
    altered = org.client()
    altered.meta.events.register("before-send.s3.PutObjectTagging", tamper)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        altered.put_object_tagging(Bucket=b, Key="k", Tagging={"TagSet": tags})
    assert code(e) == "XAmzContentSHA256Mismatch"
    assert s3.get_object_tagging(Bucket=b, Key="k")["TagSet"] == []
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object_tagging(Bucket=b, Key="nope")
    assert code(e) == "NoSuchKey"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object_tagging(Bucket=b, Key="nope", Tagging={"TagSet": tags})
    assert code(e) == "NoSuchKey"


def test_copy_is_audited(s3d, org):
    s3 = org.client()
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="src", Body=b"12345")
    r = s3.copy_object(Bucket=b, Key="dst", CopySource={"Bucket": b, "Key": "src"})
    rid = r["ResponseMetadata"]["RequestId"]
    rec = s3d.audit_wait(rid, tenant=org.tenant)
    assert rec["action"] == "s3.CopyObject" and rec["outcome"] == "success"
    assert rec["detail"] == "copy_from=%s/src size=5" % b


def test_copy_survives_the_client_leaving(org):
    s3 = org.client()
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    big = os.urandom(48 * 1024 * 1024)
    s3.put_object(Bucket=b, Key="big", Body=big)
    hasty = boto3.client("s3", endpoint_url=org.endpoint, aws_access_key_id=org.akid,
                         aws_secret_access_key=org.secret, region_name="jp-east",
                         config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                       read_timeout=0.05, retries={"total_max_attempts": 1}))
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        hasty.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "big"})
    # the copy is either absent or whole, and the daemon keeps serving
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            h = s3.head_object(Bucket=b, Key="copy")
            break
        except botocore.exceptions.ClientError:
            time.sleep(0.1)
    assert h["ContentLength"] == len(big) and h["ETag"] == md5_etag(big)
    assert s3.get_object(Bucket=b, Key="copy", Range="bytes=0-99")["Body"].read() == big[:100]


def test_multipart_upload_tagging(org, tmp_path):
    """x-amz-tagging (and the standard headers) at CreateMultipartUpload become the object's at
    CompleteMultipartUpload, with PutObject's checks; the same through aws-cli's s3api."""
    s3 = org.client()
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    up = s3.create_multipart_upload(Bucket=b, Key="mp", Tagging="project=%E9%9C%9E&class=open&sp=a+b",
                                    CacheControl="max-age=60", ContentType="text/plain",
                                    Metadata={"owner": "kasumi"})["UploadId"]
    # the tags are the object's only once it exists
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object_tagging(Bucket=b, Key="mp")
    assert code(e) == "NoSuchKey"
    p1, p2 = os.urandom(5 * 1024 * 1024), b"tail"
    e1 = s3.upload_part(Bucket=b, Key="mp", UploadId=up, PartNumber=1, Body=p1)["ETag"]
    e2 = s3.upload_part(Bucket=b, Key="mp", UploadId=up, PartNumber=2, Body=p2)["ETag"]
    s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    got = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=b, Key="mp")["TagSet"]}
    assert got == {"project": "霞", "class": "open", "sp": "a b"}
    g = s3.get_object(Bucket=b, Key="mp")
    assert g["TagCount"] == 3 and g["CacheControl"] == "max-age=60" and g["ContentType"] == "text/plain"
    assert g["Metadata"] == {"owner": "kasumi"} and g["Body"].read() == p1 + p2
    # without the header: no tags
    up = s3.create_multipart_upload(Bucket=b, Key="plain")["UploadId"]
    e1 = s3.upload_part(Bucket=b, Key="plain", UploadId=up, PartNumber=1, Body=b"x")["ETag"]
    s3.complete_multipart_upload(Bucket=b, Key="plain", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}]})
    assert s3.get_object_tagging(Bucket=b, Key="plain")["TagSet"] == []
    # PutObject's errors, and no upload is created
    for tagging, want in (("&".join("k%d=v" % i for i in range(11)), "InvalidTag"),
                          ("a=1&a=2", "InvalidArgument"), ("aws:x=1", "InvalidTag"),
                          ("%s=1" % ("k" * 129), "InvalidTag"), ("k=%s" % ("v" * 257), "InvalidTag"),
                          ("a=%ZZ", "InvalidArgument")):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.create_multipart_upload(Bucket=b, Key="bad", Tagging=tagging)
        assert code(e) == want, tagging
    assert not any(u["Key"] == "bad" for u in s3.list_multipart_uploads(Bucket=b).get("Uploads", []))
    # aws-cli (s3api): create with --tagging, one part, complete
    src = tmp_path / "part.bin"
    data = os.urandom(300 * 1024 + 5)
    src.write_bytes(data)
    aws = ["aws", "--endpoint-url", org.endpoint, "--output", "json", "s3api"]
    def cli(*args):
        r = subprocess.run(aws + list(args), env=org.env(), timeout=120, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout) if r.stdout.strip() else None
    up = cli("create-multipart-upload", "--bucket", b, "--key", "cli.bin", "--tagging",
             "via=aws-cli&n=2")["UploadId"]
    etag = cli("upload-part", "--bucket", b, "--key", "cli.bin", "--upload-id", up, "--part-number", "1",
               "--body", str(src))["ETag"]
    cli("complete-multipart-upload", "--bucket", b, "--key", "cli.bin", "--upload-id", up,
        "--multipart-upload", json.dumps({"Parts": [{"PartNumber": 1, "ETag": etag}]}))
    got = {t["Key"]: t["Value"] for t in cli("get-object-tagging", "--bucket", b, "--key", "cli.bin")["TagSet"]}
    assert got == {"via": "aws-cli", "n": "2"}
    assert s3.get_object(Bucket=b, Key="cli.bin")["Body"].read() == data
