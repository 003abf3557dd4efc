"""The admin routes behind the console's object browser (docs/admin-api.md, "Objects of a bucket"),
against kasumid and a real S3 client (boto3): folders and paging, bytes both ways through the store
(what the admin API wrote, S3 reads, and back), the limits (key, the project's quota), a
bucket of another project, and the S3 permissions of the caller — no more than its S3 keys allow."""
import hashlib
import json
import uuid

import pytest

from conftest import Daemon
from test_s3 import S3Org


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("objects") / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
    o = S3Org(d)
    yield o
    d.stop()


def base(o, bucket, project=None):
    return "/admin/v1/projects/%s/buckets/%s" % (project or o.project, bucket)


def test_folders_and_paging(org):
    s3, b = org.client(), "browse-" + uuid.uuid4().hex[:6]
    s3.create_bucket(Bucket=b)
    for k in ("a/1", "a/2", "a/3", "b.txt", "c/d/e", "c.txt"):
        s3.put_object(Bucket=b, Key=k, Body=k.encode())
    d = org.d
    top = d.ok("GET", base(org, b) + "/objects")
    assert [i["key"] for i in top["items"]] == ["b.txt", "c.txt"] and top["prefixes"] == ["a/", "c/"]
    assert top["next_cursor"] is None and top["items"][0]["size"] == 5
    # a page of two at a time, in S3's order, folders and objects together
    seen, cursor = [], None
    while True:
        page = d.ok("GET", base(org, b) + "/objects?limit=2" + ("&cursor=" + cursor if cursor else ""))
        seen += page["prefixes"] + [i["key"] for i in page["items"]]
        assert len(page["prefixes"]) + len(page["items"]) <= 2
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == ["a/", "b.txt", "c.txt", "c/"]
    inside = d.ok("GET", base(org, b) + "/objects?prefix=a/")
    assert [i["key"] for i in inside["items"]] == ["a/1", "a/2", "a/3"] and not inside["prefixes"]
    for bad in ("0", "1001", "5x", ""):
        assert d.api("GET", base(org, b) + "/objects?limit=" + bad).status_code == 400, bad


def test_bytes_both_ways(org):
    s3, b, d = org.client(), "bytes-" + uuid.uuid4().hex[:6], org.d
    s3.create_bucket(Bucket=b)
    body = hashlib.sha256(b"seed").digest() * 20000   # 640,000 bytes
    r = d.api("PUT", base(org, b) + "/object?key=dir/日本語 名.bin", raw=body,
              headers={"Content-Type": "application/x-test"})
    assert r.status_code == 201, r.text
    assert r.json()["size"] == len(body) and r.json()["key"] == "dir/日本語 名.bin"
    got = s3.get_object(Bucket=b, Key="dir/日本語 名.bin")
    assert got["Body"].read() == body and got["ContentType"] == "application/x-test"
    assert got["ETag"] == r.json()["etag"]
    s3.put_object(Bucket=b, Key="dir/from-s3", Body=b"S3")
    r = d.api("GET", base(org, b) + "/object?key=dir/from-s3")
    assert r.status_code == 200 and r.content == b"S3" and r.headers["Content-Length"] == "2"
    assert r.headers["Content-Disposition"] == "attachment; filename=\"from-s3\"; filename*=UTF-8''from-s3"
    assert r.headers["Content-Security-Policy"] == "sandbox" and r.headers["X-Content-Type-Options"] == "nosniff"
    r = d.api("GET", base(org, b) + "/object?key=dir/日本語 名.bin")
    assert r.content == body
    assert r.headers["Content-Disposition"] == ("attachment; filename=\"___ _.bin\"; "
                                                "filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E%20%E5%90%8D.bin")
    assert d.api("GET", base(org, b) + "/object?key=nothing").status_code == 404
    assert d.api("GET", base(org, b) + "/object").status_code == 400
    assert d.api("PUT", base(org, b) + "/object?key=" + "k" * 1025, raw=b"x").status_code == 400


def test_limits(org):
    s3, b, d = org.client(), "limits-" + uuid.uuid4().hex[:6], org.d
    s3.create_bucket(Bucket=b)
    # uploads stream: the admin listener's body limit (1 MiB by default) is not theirs
    # (test_console_upload.py has the large ones, the size limit and Content-Length)
    r = d.api("PUT", base(org, b) + "/object?key=big", raw=b"x" * (1048576 + 1))
    assert r.status_code == 201, r.text
    assert d.api("GET", base(org, b) + "/object?key=big").content == b"x" * (1048576 + 1)
    # the project's storage quota
    used = d.ok("GET", "/admin/v1/projects/%s/storage-quota" % org.project)["used_objects"]
    d.ok("PUT", "/admin/v1/projects/%s/storage-quota" % org.project, {"max_objects": used})
    try:
        r = d.api("PUT", base(org, b) + "/object?key=over", raw=b"x")
        assert r.status_code == 403 and r.json()["error"]["code"] == "quota_exceeded", r.text
    finally:
        d.ok("DELETE", "/admin/v1/projects/%s/storage-quota" % org.project)
    assert d.api("PUT", base(org, b) + "/object?key=over", raw=b"x").status_code == 201


def test_another_projects_bucket_and_permissions(org):
    s3, b, d = org.client(), "mine-" + uuid.uuid4().hex[:6], org.d
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="k", Body=b"v")
    other = d.ok("POST", "/admin/v1/tenants/%s/projects" % org.tenant, {"name": "別", "environment": "dev"})["id"]
    for m, path in (("GET", "/objects"), ("GET", "/object?key=k"), ("PUT", "/object?key=k"),
                    ("DELETE", "/object?key=k")):
        r = d.api(m, base(org, b, other) + path, raw=b"no")
        assert r.status_code == 404 and r.json()["error"]["message"] == "no such bucket", r.text
    # an auditor of the tenant has no s3.object.write: the console cannot write for it either
    u = d.ok("POST", "/admin/v1/tenants/%s/users" % org.tenant, {"name": "監査", "email": "aud-%s@example.go.jp" % uuid.uuid4().hex[:6]})
    d.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "auditor", "scope": "tenant/" + org.tenant})
    tok = d.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "api"})["secret"]
    assert d.api("PUT", base(org, b) + "/object?key=k", raw=b"no", token=tok).status_code == 403
    assert d.api("DELETE", base(org, b) + "/object?key=k", token=tok).status_code == 403   # nor delete
    assert d.api("GET", base(org, b) + "/object?key=k").content == b"v"
    # the owner's delete (s3.object.delete): gone for S3 too; a key not there is deleted as in S3
    assert d.ok("DELETE", base(org, b) + "/object?key=k") == {"bucket": b, "key": "k", "deleted": True,
                                                               "delete_marker": False}
    assert s3.list_objects_v2(Bucket=b).get("KeyCount") == 0
    assert d.ok("DELETE", base(org, b) + "/object?key=k")["deleted"] is True
