"""SSE-C with boto3 over TLS against the real kasumid: objects sealed under the customer's key are
readable only with that key, the key is refused over plain HTTP, and it is never stored: neither the
key nor its base64 appears anywhere in the data directory."""
import base64
import json
import os
import pathlib

import boto3
import botocore
import pytest
from botocore.config import Config

from conftest import Daemon
from test_s3 import S3Org
from test_tls import make_cert


@pytest.fixture(scope="module")
def tls_s3(tmp_path_factory):
    base = tmp_path_factory.mktemp("ssec")
    cert, key = make_cert(base)
    d = Daemon(base / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.write_config('[s3]\ntls_cert = "%s"\ntls_key = "%s"\n' % (cert, key))
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
    d.cert = str(cert)
    yield d
    d.stop()


def client(org, d, secure=True):
    scheme = "https" if secure else "http"
    return boto3.client("s3", endpoint_url="%s://%s" % (scheme, d.s3_addr),
                        aws_access_key_id=org.akid, aws_secret_access_key=org.secret,
                        region_name="jp-east", verify=d.cert if secure else False,
                        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))


def code(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return "OK", 200


def test_sse_c_round_trip_and_refusals(tls_s3):
    d = tls_s3
    org = S3Org(d)
    s3 = client(org, d)
    b = "ssec-" + os.urandom(4).hex()
    s3.create_bucket(Bucket=b)
    key, other = os.urandom(32), os.urandom(32)
    small, big = os.urandom(3000), os.urandom(3 * 1024 * 1024 + 17)
    ssec = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}
    for name, data in (("small", small), ("big", big)):
        r = s3.put_object(Bucket=b, Key=name, Body=data, **ssec)
        assert r["SSECustomerAlgorithm"] == "AES256" and r["SSECustomerKeyMD5"]
    for name, data in (("small", small), ("big", big)):
        g = s3.get_object(Bucket=b, Key=name, **ssec)
        assert g["Body"].read() == data and g["SSECustomerAlgorithm"] == "AES256"
        assert s3.head_object(Bucket=b, Key=name, **ssec)["ContentLength"] == len(data)
        r = s3.get_object(Bucket=b, Key=name, Range="bytes=100-199", **ssec)["Body"].read()
        assert r == data[100:200]
        # without the key, with another key
        assert code(lambda: s3.get_object(Bucket=b, Key=name)) == ("InvalidRequest", 400)
        assert code(lambda: s3.head_object(Bucket=b, Key=name))[1] == 400
        assert code(lambda: s3.get_object(Bucket=b, Key=name, SSECustomerAlgorithm="AES256",
                                          SSECustomerKey=other)) == ("AccessDenied", 403)
    # a key for an object stored without one is refused too
    s3.put_object(Bucket=b, Key="plain", Body=b"plain")
    assert code(lambda: s3.get_object(Bucket=b, Key="plain", **ssec)) == ("InvalidRequest", 400)
    # a key whose MD5 does not match (mangled in transit), signed like any header
    mangle = client(org, d)
    def wrong_md5(request, **kw):
        name = "x-amz-server-side-encryption-customer-key-MD5"
        del request.headers[name]   # botocore's headers would otherwise hold both values
        request.headers[name] = base64.b64encode(b"0" * 16).decode()
    mangle.meta.events.register("before-sign.s3.GetObject", wrong_md5)
    assert code(lambda: mangle.get_object(Bucket=b, Key="small", **ssec)) == ("InvalidArgument", 400)

    # multipart: every part needs the upload's key
    up = s3.create_multipart_upload(Bucket=b, Key="mpu", **ssec)["UploadId"]
    part = os.urandom(5 * 1024 * 1024)
    assert code(lambda: s3.upload_part(Bucket=b, Key="mpu", UploadId=up, PartNumber=1,
                                       Body=part))[0] == "InvalidRequest"
    assert code(lambda: s3.upload_part(Bucket=b, Key="mpu", UploadId=up, PartNumber=1, Body=part,
                                       SSECustomerAlgorithm="AES256", SSECustomerKey=other))[0] == "AccessDenied"
    e1 = s3.upload_part(Bucket=b, Key="mpu", UploadId=up, PartNumber=1, Body=part, **ssec)["ETag"]
    e2 = s3.upload_part(Bucket=b, Key="mpu", UploadId=up, PartNumber=2, Body=b"tail", **ssec)["ETag"]
    s3.complete_multipart_upload(Bucket=b, Key="mpu", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert s3.get_object(Bucket=b, Key="mpu", **ssec)["Body"].read() == part + b"tail"
    assert code(lambda: s3.get_object(Bucket=b, Key="mpu"))[0] == "InvalidRequest"

    # the key is nowhere on disk
    d.stop()
    needles = [key, base64.b64encode(key), key.hex().encode()]
    for f in pathlib.Path(d.data_dir).rglob("*"):
        if f.is_file():
            blob = f.read_bytes()
            assert not any(n in blob for n in needles), f
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]   # a new port


def test_sse_c_refused_over_plain_http(tmp_path):
    d = Daemon(tmp_path / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.start()
    try:
        d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
        org = S3Org(d)
        d.cert = None
        s3 = client(org, d, secure=False)
        b = "plainssec-" + os.urandom(4).hex()
        s3.create_bucket(Bucket=b)
        c = code(lambda: s3.put_object(Bucket=b, Key="k", Body=b"x", SSECustomerAlgorithm="AES256",
                                       SSECustomerKey=os.urandom(32)))
        assert c == ("InvalidRequest", 400), c
        assert "Contents" not in s3.list_objects_v2(Bucket=b)
    finally:
        d.stop()


def test_sse_kms_names_the_bucket_or_tenant_key(tmp_path):
    d = Daemon(tmp_path / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.start()
    try:
        d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
        org = S3Org(d)
        s3 = org.client()
        b, other = "kms-" + os.urandom(4).hex(), "kmsother-" + os.urandom(4).hex()
        s3.create_bucket(Bucket=b)
        s3.create_bucket(Bucket=other)
        keys = d.ok("GET", "/admin/v1/tenants/%s/kms/keys" % org.tenant)["items"]
        ids = {k["bucket"]: k["bucket_id"] for k in keys if k["kind"] == "bucket"}
        r = s3.put_object(Bucket=b, Key="a", Body=b"a", ServerSideEncryption="aws:kms",
                          SSEKMSKeyId=ids[b])
        assert r["ServerSideEncryption"] == "aws:kms" and r["SSEKMSKeyId"] == ids[b]
        for kid in ("bucket:" + b, org.tenant, "arn:aws:kms:jp-east:000000000000:key/" + ids[b]):
            s3.put_object(Bucket=b, Key="b", Body=b"b", ServerSideEncryption="aws:kms", SSEKMSKeyId=kid)
        s3.put_object(Bucket=b, Key="c", Body=b"c", ServerSideEncryption="AES256")
        g = s3.get_object(Bucket=b, Key="c")
        assert g["ServerSideEncryption"] == "aws:kms" and g["SSEKMSKeyId"] == ids[b]
        # another bucket's key cannot seal this bucket's objects; nothing is stored
        assert code(lambda: s3.put_object(Bucket=b, Key="x", Body=b"x", ServerSideEncryption="aws:kms",
                                          SSEKMSKeyId=ids[other])) == ("KMS.NotFoundException", 400)
        assert code(lambda: s3.put_object(Bucket=b, Key="x", Body=b"x",
                                          ServerSideEncryption="aws:fsx"))[0] == "InvalidArgument"
        assert [o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]] == ["a", "b", "c"]
    finally:
        d.stop()


def test_sse_c_copies_rekey_and_convert(tls_s3):
    d = tls_s3
    org = S3Org(d)
    s3 = client(org, d)
    b = "ssecc-" + os.urandom(4).hex()
    s3.create_bucket(Bucket=b)
    k1, k2 = os.urandom(32), os.urandom(32)
    data = os.urandom(200_000)
    s3.put_object(Bucket=b, Key="src", Body=data, SSECustomerAlgorithm="AES256", SSECustomerKey=k1)
    # without the source's key the copy cannot read it
    assert code(lambda: s3.copy_object(Bucket=b, Key="x", CopySource={"Bucket": b, "Key": "src"}))[0] \
        == "InvalidRequest"
    # re-key: source under k1, copy under k2
    s3.copy_object(Bucket=b, Key="rekeyed", CopySource={"Bucket": b, "Key": "src"},
                   CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=k1,
                   SSECustomerAlgorithm="AES256", SSECustomerKey=k2)
    assert s3.get_object(Bucket=b, Key="rekeyed", SSECustomerAlgorithm="AES256",
                         SSECustomerKey=k2)["Body"].read() == data
    assert code(lambda: s3.get_object(Bucket=b, Key="rekeyed", SSECustomerAlgorithm="AES256",
                                      SSECustomerKey=k1))[0] == "AccessDenied"
    # out of SSE-C, and back in
    s3.copy_object(Bucket=b, Key="plain", CopySource={"Bucket": b, "Key": "src"},
                   CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=k1)
    assert s3.get_object(Bucket=b, Key="plain")["Body"].read() == data
    s3.copy_object(Bucket=b, Key="back", CopySource={"Bucket": b, "Key": "plain"},
                   SSECustomerAlgorithm="AES256", SSECustomerKey=k2)
    assert code(lambda: s3.get_object(Bucket=b, Key="back"))[0] == "InvalidRequest"
