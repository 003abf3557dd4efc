"""Versioning and object lock (WORM) with boto3 and aws-cli against the real kasumid: versioned
round trips, delete markers, suspended buckets, COMPLIANCE and GOVERNANCE retention, legal holds,
default retention, and that locked versions survive every delete attempt, the tenant's and the
platform administrator's included."""
import datetime
import json
import os
import subprocess
import time
import uuid

import boto3
import botocore
import pytest
from botocore.config import Config

from conftest import Daemon
from test_s3 import S3Org


@pytest.fixture(scope="module")
def s3d(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("s3ver") / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
    yield d
    d.stop()


@pytest.fixture(scope="module")
def org(s3d):
    return S3Org(s3d)


def client_for(org, key):
    """A boto3 client with another user's S3 key of the same project."""
    return boto3.client("s3", endpoint_url=org.endpoint, aws_access_key_id=key["access_key_id"],
                        aws_secret_access_key=key["secret_access_key"], region_name="jp-east",
                        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))


def bucket_name(prefix="ver"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def err(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], \
            e.response["ResponseMetadata"]["HTTPHeaders"]
    return "OK", 200, {}


def body(s3, b, k, **kw):
    return s3.get_object(Bucket=b, Key=k, **kw)["Body"].read()


def test_versioned_round_trip_with_boto3(org):
    s3 = org.client()
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    assert "Status" not in s3.get_bucket_versioning(Bucket=b)
    s3.put_object(Bucket=b, Key="doc.txt", Body=b"before versioning")
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"

    v1 = s3.put_object(Bucket=b, Key="doc.txt", Body=b"first")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="doc.txt", Body=b"second")["VersionId"]
    assert v1 and v2 and v1 != v2 and v1 != "null"
    assert body(s3, b, "doc.txt") == b"second"
    assert body(s3, b, "doc.txt", VersionId=v1) == b"first"
    assert body(s3, b, "doc.txt", VersionId="null") == b"before versioning"
    h = s3.head_object(Bucket=b, Key="doc.txt", VersionId=v1)
    assert h["VersionId"] == v1 and h["ContentLength"] == 5
    assert s3.get_object(Bucket=b, Key="doc.txt")["VersionId"] == v2

    lv = s3.list_object_versions(Bucket=b)
    vers = [(v["VersionId"], v["IsLatest"], v["Size"]) for v in lv["Versions"]]
    assert vers == [(v2, True, 6), (v1, False, 5), ("null", False, 17)], vers
    assert "DeleteMarkers" not in lv

    # a delete adds a marker; the data stays
    d = s3.delete_object(Bucket=b, Key="doc.txt")
    assert d["DeleteMarker"] is True and d["VersionId"]
    marker = d["VersionId"]
    code, status, hdrs = err(lambda: s3.get_object(Bucket=b, Key="doc.txt"))
    assert (code, status) == ("NoSuchKey", 404) and hdrs.get("x-amz-delete-marker") == "true"
    assert body(s3, b, "doc.txt", VersionId=v2) == b"second"
    code, status, hdrs = err(lambda: s3.head_object(Bucket=b, Key="doc.txt", VersionId=marker))
    assert status == 405 and hdrs.get("x-amz-delete-marker") == "true"
    assert "Contents" not in s3.list_objects_v2(Bucket=b)
    lv = s3.list_object_versions(Bucket=b)
    assert [(m["VersionId"], m["IsLatest"]) for m in lv["DeleteMarkers"]] == [(marker, True)]
    assert all(not v["IsLatest"] for v in lv["Versions"])

    # removing the marker brings the object back; removing the current version promotes the next
    s3.delete_object(Bucket=b, Key="doc.txt", VersionId=marker)
    assert body(s3, b, "doc.txt") == b"second"
    s3.delete_object(Bucket=b, Key="doc.txt", VersionId=v2)
    assert body(s3, b, "doc.txt") == b"first"
    assert err(lambda: s3.get_object(Bucket=b, Key="doc.txt", VersionId=v2))[0] == "NoSuchVersion"

    # copies read a chosen version
    r = s3.copy_object(Bucket=b, Key="copy.txt", CopySource={"Bucket": b, "Key": "doc.txt", "VersionId": "null"})
    assert r["CopySourceVersionId"] == "null" and r["VersionId"]
    assert body(s3, b, "copy.txt") == b"before versioning"

    # suspended: writes are the null version, replacing only that one
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
    r = s3.put_object(Bucket=b, Key="doc.txt", Body=b"suspended 1")
    assert r.get("VersionId") == "null"
    s3.put_object(Bucket=b, Key="doc.txt", Body=b"suspended 2")
    ids = [v["VersionId"] for v in s3.list_object_versions(Bucket=b, Prefix="doc")["Versions"]]
    assert ids == ["null", v1], ids   # the old null version was replaced, v1 kept
    assert body(s3, b, "doc.txt") == b"suspended 2"

    # DeleteObjects with version ids; paging through versions
    for i in range(5):
        s3.put_object(Bucket=b, Key="many", Body=b"x" * i)
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    for i in range(5):
        s3.put_object(Bucket=b, Key="many", Body=b"y" * i)
    seen, kw = [], {}
    while True:
        page = s3.list_object_versions(Bucket=b, Prefix="many", MaxKeys=2, **kw)
        seen += [v["VersionId"] for v in page.get("Versions", [])]
        if not page["IsTruncated"]:
            break
        kw = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    assert len(seen) == 6 and len(set(seen)) == 6 and seen[-1] == "null", seen
    res = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "many", "VersionId": v} for v in seen]})
    assert len(res["Deleted"]) == 6 and "Errors" not in res
    assert "Versions" not in s3.list_object_versions(Bucket=b, Prefix="many")

    # with a delimiter, versions under a common prefix roll up, across pages too
    for k in ("dir/a", "dir/b", "dir/sub/c", "top"):
        s3.put_object(Bucket=b, Key=k, Body=b"1")
        s3.put_object(Bucket=b, Key=k, Body=b"2")
    lv = s3.list_object_versions(Bucket=b, Delimiter="/")
    assert [p["Prefix"] for p in lv["CommonPrefixes"]] == ["dir/"]
    assert {v["Key"] for v in lv["Versions"]} == {"copy.txt", "doc.txt", "top"}
    lv = s3.list_object_versions(Bucket=b, Prefix="dir/", Delimiter="/")
    assert [p["Prefix"] for p in lv["CommonPrefixes"]] == ["dir/sub/"]
    assert [(v["Key"], v["IsLatest"]) for v in lv["Versions"]] == \
        [("dir/a", True), ("dir/a", False), ("dir/b", True), ("dir/b", False)]
    entries, kw = [], {}
    while True:
        page = s3.list_object_versions(Bucket=b, Delimiter="/", MaxKeys=1, **kw)
        entries += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        entries += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
        if not page["IsTruncated"]:
            break
        kw = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page.get("NextVersionIdMarker", "")}
    assert entries.count("dir/") == 1 and len(entries) == len(set(entries)), entries
    assert sum(1 for e in entries if e != "dir/" and e[0] == "top") == 2

    # a bucket with versions is not empty
    assert err(lambda: s3.delete_bucket(Bucket=b))[0] == "BucketNotEmpty"


def test_versioning_with_aws_cli(org, tmp_path):
    b = bucket_name("cli")
    env = org.env()
    def aws(*args):
        p = subprocess.run(["aws", "--endpoint-url", org.endpoint, "s3api"] + list(args),
                           capture_output=True, text=True, env=env, timeout=60)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout) if p.stdout.strip() else {}
    aws("create-bucket", "--bucket", b)
    aws("put-bucket-versioning", "--bucket", b, "--versioning-configuration", "Status=Enabled")
    f = tmp_path / "f.bin"
    f.write_bytes(os.urandom(70_000))
    v1 = aws("put-object", "--bucket", b, "--key", "f.bin", "--body", str(f))["VersionId"]
    f2 = tmp_path / "f2.bin"
    f2.write_bytes(b"second version")
    aws("put-object", "--bucket", b, "--key", "f.bin", "--body", str(f2))
    out = tmp_path / "out.bin"
    aws("get-object", "--bucket", b, "--key", "f.bin", "--version-id", v1, str(out))
    assert out.read_bytes() == f.read_bytes()
    lv = aws("list-object-versions", "--bucket", b)
    assert [v["IsLatest"] for v in lv["Versions"]] == [True, False]


# ---- object lock ---------------------------------------------------------------------------------

def until(days=1):
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)


def test_compliance_lock_survives_every_delete(s3d, org):
    s3 = org.client()
    b = bucket_name("worm")
    s3.create_bucket(Bucket=b, ObjectLockEnabledForBucket=True)
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"
    assert s3.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    r = s3.put_object(Bucket=b, Key="議事録.pdf", Body=b"record", ObjectLockMode="COMPLIANCE",
                      ObjectLockRetainUntilDate=until(1))
    vid = r["VersionId"]
    h = s3.head_object(Bucket=b, Key="議事録.pdf")
    assert h["ObjectLockMode"] == "COMPLIANCE" and h["ObjectLockRetainUntilDate"] > until(0)
    ret = s3.get_object_retention(Bucket=b, Key="議事録.pdf", VersionId=vid)["Retention"]
    assert ret["Mode"] == "COMPLIANCE"

    # the project admin, with and without asking to bypass
    assert err(lambda: s3.delete_object(Bucket=b, Key="議事録.pdf", VersionId=vid))[:2] == ("AccessDenied", 403)
    assert err(lambda: s3.delete_object(Bucket=b, Key="議事録.pdf", VersionId=vid,
                                        BypassGovernanceRetention=True))[0] == "AccessDenied"
    res = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "議事録.pdf", "VersionId": vid}]},
                            BypassGovernanceRetention=True)
    assert res["Errors"][0]["Code"] == "AccessDenied"
    # nor can the retention be shortened or removed
    assert err(lambda: s3.put_object_retention(Bucket=b, Key="議事録.pdf", VersionId=vid,
                                               Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until(2)},
                                               BypassGovernanceRetention=True))[0] == "AccessDenied"
    assert err(lambda: s3.put_object_retention(Bucket=b, Key="議事録.pdf", VersionId=vid,
                                               Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until(0.5)}))[0] == "AccessDenied"
    # lengthening is allowed
    s3.put_object_retention(Bucket=b, Key="議事録.pdf", VersionId=vid,
                            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until(3)})

    # the tenant administrator, who holds the bypass permission
    t = s3d.ok("GET", "/admin/v1/projects/%s" % org.project)["tenant"]
    ta = s3d.ok("POST", "/admin/v1/tenants/%s/users" % t,
                {"name": "テナント 管理者", "email": "ta-%s@example.go.jp" % uuid.uuid4().hex[:6]})
    s3d.ok("POST", "/admin/v1/role-bindings", {"principal": ta["id"], "role": "tenant_admin", "scope": "tenant/" + t})
    # the platform administrator has no S3 key in a tenant (platform roles bind only platform
    # users, and S3 keys belong to a tenant's users), so it cannot even reach the object
    pa = s3d.ok("POST", "/admin/v1/tenants/%s/users" % t,
                {"name": "基盤 管理者", "email": "pa-%s@example.go.jp" % uuid.uuid4().hex[:6]})
    bound = s3d.api("POST", "/admin/v1/role-bindings", {"principal": pa["id"], "role": "platform_admin",
                                                        "scope": "platform"})
    assert bound.status_code in (400, 403, 404), bound.text
    who = [ta]
    for u in who:
        c = client_for(org, s3d.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "s3",
                                                               "project": org.project}))
        assert err(lambda: c.delete_object(Bucket=b, Key="議事録.pdf", VersionId=vid,
                                           BypassGovernanceRetention=True))[0] == "AccessDenied", u["name"]
    # the platform administrator's own admin API cannot remove it either: the project is in use
    assert s3d.api("DELETE", "/admin/v1/projects/%s" % org.project).status_code == 409

    # a delete without a version id only adds a marker; the locked version is still there
    assert s3.delete_object(Bucket=b, Key="議事録.pdf")["DeleteMarker"] is True
    assert body(s3, b, "議事録.pdf", VersionId=vid) == b"record"
    # an overwrite is a new version; the locked one stays
    s3.put_object(Bucket=b, Key="議事録.pdf", Body=b"new")
    assert body(s3, b, "議事録.pdf", VersionId=vid) == b"record"
    # versioning cannot be suspended under object lock
    assert err(lambda: s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"}))[0] \
        == "InvalidBucketState"

    # every refusal is audited, with why
    deadline = time.time() + 10   # refusals are not waited for: durable within the commit window
    while True:
        recs = s3d.audit_records(action="s3.DeleteObject")
        refused = [x for x in recs if x.get("status") == 403 and "object_locked" in (x.get("detail") or "")]
        if len(refused) >= 2 + len(who) or time.time() > deadline:
            break
        time.sleep(0.2)
    assert len(refused) >= 2 + len(who), recs[:3]
    assert "mode=COMPLIANCE" in refused[0]["detail"]


def test_governance_legal_hold_and_default_retention(s3d, org):
    s3 = org.client()
    b = bucket_name("gov")
    s3.create_bucket(Bucket=b, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}}})
    cfg = s3.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"]
    assert cfg["Rule"]["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": 30}
    vid = s3.put_object(Bucket=b, Key="ledger.csv", Body=b"a,b\n")["VersionId"]
    h = s3.head_object(Bucket=b, Key="ledger.csv")
    assert h["ObjectLockMode"] == "GOVERNANCE"
    assert until(29) < h["ObjectLockRetainUntilDate"] < until(31)

    # GOVERNANCE: refused without bypass; the member role cannot bypass even when asking
    assert err(lambda: s3.delete_object(Bucket=b, Key="ledger.csv", VersionId=vid))[0] == "AccessDenied"
    # legal hold blocks even the bypass
    s3.put_object_legal_hold(Bucket=b, Key="ledger.csv", VersionId=vid, LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket=b, Key="ledger.csv", VersionId=vid)["LegalHold"]["Status"] == "ON"
    t = s3d.ok("GET", "/admin/v1/projects/%s" % org.project)["tenant"]
    ta = s3d.ok("POST", "/admin/v1/tenants/%s/users" % t,
                {"name": "管理者", "email": "g-%s@example.go.jp" % uuid.uuid4().hex[:6]})
    s3d.ok("POST", "/admin/v1/role-bindings", {"principal": ta["id"], "role": "tenant_admin", "scope": "tenant/" + t})
    admin = client_for(org, s3d.ok("POST", "/admin/v1/keys", {"user": ta["id"], "kind": "s3",
                                                               "project": org.project}))
    assert err(lambda: admin.delete_object(Bucket=b, Key="ledger.csv", VersionId=vid,
                                           BypassGovernanceRetention=True))[0] == "AccessDenied"
    s3.put_object_legal_hold(Bucket=b, Key="ledger.csv", VersionId=vid, LegalHold={"Status": "OFF"})
    # the project admin asks to bypass but lacks the permission
    assert err(lambda: s3.delete_object(Bucket=b, Key="ledger.csv", VersionId=vid,
                                        BypassGovernanceRetention=True))[0] == "AccessDenied"
    # the tenant admin may
    admin.delete_object(Bucket=b, Key="ledger.csv", VersionId=vid, BypassGovernanceRetention=True)
    assert err(lambda: s3.head_object(Bucket=b, Key="ledger.csv", VersionId=vid))[1] == 404

    # a legal hold alone, on a version without retention
    s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    v2 = s3.put_object(Bucket=b, Key="hold.txt", Body=b"h", ObjectLockLegalHoldStatus="ON")["VersionId"]
    assert err(lambda: s3.get_object_retention(Bucket=b, Key="hold.txt"))[0] == "NoSuchObjectLockConfiguration"
    assert err(lambda: admin.delete_object(Bucket=b, Key="hold.txt", VersionId=v2,
                                           BypassGovernanceRetention=True))[0] == "AccessDenied"
    s3.put_object_legal_hold(Bucket=b, Key="hold.txt", VersionId=v2, LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=b, Key="hold.txt", VersionId=v2)


def test_lock_needs_a_lock_bucket(org):
    s3 = org.client()
    b = bucket_name("plain")
    s3.create_bucket(Bucket=b)
    code = err(lambda: s3.put_object(Bucket=b, Key="k", Body=b"x", ObjectLockMode="COMPLIANCE",
                                     ObjectLockRetainUntilDate=until(1)))[0]
    assert code == "InvalidArgument"
    assert err(lambda: s3.get_object_lock_configuration(Bucket=b))[0] == "ObjectLockConfigurationNotFoundError"
    assert err(lambda: s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled"}))[0] == "InvalidBucketState"   # versioning is off
    # a retain-until in the past is refused
    b2 = bucket_name("past")
    s3.create_bucket(Bucket=b2, ObjectLockEnabledForBucket=True)
    assert err(lambda: s3.put_object(Bucket=b2, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
                                     ObjectLockRetainUntilDate=until(-1)))[0] == "InvalidArgument"
