"""Key management through the admin API and `kasumi kms`, checked with boto3 against the real
kasumid: disable / enable / destroy a bucket key with reads and writes before and after (and after
a restart), rotation (old objects readable, new ones under the new version), who may do what, and
the master key on the host: Shamir backup 5/3 and restore from shares 1, 3, 5 after the key file is
lost (2 shares refused), master key rotation across a restart with the same S3 credentials."""
import hashlib
import json
import os
import subprocess
import time
import uuid

import boto3
import botocore
import pytest
from botocore.config import Config

from conftest import KASUMI, Daemon
from test_s3 import S3Org


def s3_daemon(path):
    d = Daemon(path, extra_args=["--s3-listen", "127.0.0.1:0"])
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
    return d


def restart(d):
    d.stop()
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]


@pytest.fixture(scope="module")
def kd(tmp_path_factory):
    d = s3_daemon(tmp_path_factory.mktemp("kms") / "data")
    yield d
    d.stop()


@pytest.fixture(scope="module")
def org(kd):
    return S3Org(kd)


def s3_error(fn, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        fn(*args, **kw)
    return e.value.response["Error"]["Code"]


def quick(org):
    """A client that gives up on a stalled response after 3 s."""
    return boto3.client("s3", endpoint_url=org.endpoint, aws_access_key_id=org.akid,
                        aws_secret_access_key=org.secret, region_name="jp-east",
                        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                      retries={"total_max_attempts": 1}, read_timeout=3))


def read_fails(s3, bucket, key, code):
    """A GET under an unusable key fails with the key's error, before any byte of the object: the S3
    layer opens the object's data key before it sends the response head."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except botocore.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == code, e.response
        return
    raise AssertionError("the read succeeded under an unusable key: %r" % body[:40])


def new_bucket(org):
    name = "k-" + uuid.uuid4().hex[:12]
    org.client().create_bucket(Bucket=name)
    return name


def key_path(org, name, op=None):
    p = "/admin/v1/tenants/%s/kms/keys/%s" % (org.tenant, name)
    return p + "/" + op if op else p


def keys(d, org, token="__admin__"):
    return d.ok("GET", "/admin/v1/tenants/%s/kms/keys" % org.tenant, token=token)["items"]


def test_list_names_keys_never_material(kd, org):
    b = new_bucket(org)
    items = keys(kd, org)
    tenant = [k for k in items if k["kind"] == "tenant"]
    assert len(tenant) == 1 and tenant[0]["key"] == org.tenant and tenant[0]["state"] == "active"
    mine = [k for k in items if k["bucket"] == b]
    assert len(mine) == 1 and mine[0]["version"] == 1 and mine[0]["bucket_id"].startswith("bk_")
    assert mine[0]["key"] == mine[0]["bucket_id"] and mine[0]["created_at"].endswith("Z")
    assert items[0]["kind"] == "tenant"
    for k in items:
        assert set(k) == {"key", "kind", "tenant", "bucket", "bucket_id", "key_id", "version",
                          "state", "created_at", "rotated_at", "state_changed_at"}
    # the same key by its bucket name and by its id
    r1 = kd.ok("POST", key_path(org, "bucket:" + b, "enable"), status=200)
    r2 = kd.ok("POST", key_path(org, mine[0]["bucket_id"], "enable"), status=200)
    assert r1["key_id"] == r2["key_id"] == mine[0]["key_id"]
    r = kd.api("POST", key_path(org, "bucket:no-such-bucket", "rotate"))
    assert r.status_code == 404, r.text


def test_disable_then_enable_bucket_key(kd, org):
    s3, b = org.client(), new_bucket(org)
    s3.put_object(Bucket=b, Key="before.txt", Body=b"readable")
    assert s3.get_object(Bucket=b, Key="before.txt")["Body"].read() == b"readable"

    r = kd.ok("POST", key_path(org, "bucket:" + b, "disable"), status=200)
    assert r["state"] == "disabled" and r["state_changed_at"]
    read_fails(quick(org), b, "before.txt", "KMS.DisabledException")
    assert s3_error(s3.put_object, Bucket=b, Key="new.txt", Body=b"x") == "KMS.DisabledException"
    deadline = time.time() + 10
    while not [x for x in kd.audit_records(action="s3.GetObject")
               if x.get("status") == 403 and "KMS.DisabledException" in (x.get("detail") or "")]:
        assert time.time() < deadline, "the failed read is not in the audit log"
        time.sleep(0.1)
    # other buckets of the tenant are not affected
    other = new_bucket(org)
    s3.put_object(Bucket=other, Key="o", Body=b"fine")
    assert s3.get_object(Bucket=other, Key="o")["Body"].read() == b"fine"

    kd.cli("kms", "key", "enable", "--tenant", org.tenant, "--bucket", b)
    assert s3.get_object(Bucket=b, Key="before.txt")["Body"].read() == b"readable"
    s3.put_object(Bucket=b, Key="new.txt", Body=b"after")
    assert s3.get_object(Bucket=b, Key="new.txt")["Body"].read() == b"after"


def test_disable_tenant_key_stops_every_bucket(kd, org):
    s3, b = org.client(), new_bucket(org)
    s3.put_object(Bucket=b, Key="t", Body=b"tenant-wide")
    kd.cli("kms", "key", "disable", "--tenant", org.tenant)
    try:
        read_fails(quick(org), b, "t", "KMS.DisabledException")
        assert s3_error(s3.create_bucket, Bucket="k-" + uuid.uuid4().hex[:12]) == \
            "KMS.DisabledException"
    finally:
        kd.cli("kms", "key", "enable", "--tenant", org.tenant)
    assert s3.get_object(Bucket=b, Key="t")["Body"].read() == b"tenant-wide"


def test_rotation_keeps_old_objects_and_uses_new_version(kd, org):
    s3, b = org.client(), new_bucket(org)
    s3.put_object(Bucket=b, Key="v1", Body=b"one")
    p = kd.cli("--output", "json", "kms", "key", "rotate", "--tenant", org.tenant, "--bucket", b)
    r = json.loads(p.stdout)
    assert r["version"] == 2 and r["rotated_at"]
    s3.put_object(Bucket=b, Key="v2", Body=b"two")
    # the data key of the new object was made under version 2 (kms audits every key use)
    deadline = time.time() + 10
    while True:   # kms's records are durable within the group-commit window
        gens = [x for x in kd.audit_records(action="kms.generate") if x.get("target") == r["key_id"]]
        if gens or time.time() > deadline:
            break
        time.sleep(0.1)
    assert len(gens) == 1 and "version=2" in gens[0]["detail"], gens
    # the tenant key rotates too (its bucket keys are re-wrapped under the new version)
    t = kd.ok("POST", key_path(org, org.tenant, "rotate"), status=200)
    assert t["kind"] == "tenant" and t["version"] >= 2
    for restarted in (False, True):   # before and after a restart (no cached keys)
        if restarted:
            restart(kd)
            org.endpoint = "http://" + kd.s3_addr
            s3 = org.client()
        assert s3.get_object(Bucket=b, Key="v1")["Body"].read() == b"one"
        assert s3.get_object(Bucket=b, Key="v2")["Body"].read() == b"two"
    listed = [k for k in keys(kd, org) if k["bucket"] == b][0]
    assert listed["version"] == 2


def test_destroy_is_confirmed_and_final(kd, org):
    s3, b = org.client(), new_bucket(org)
    s3.put_object(Bucket=b, Key="gone.txt", Body=b"erase me")
    r = kd.api("POST", key_path(org, "bucket:" + b, "destroy"), {})
    assert r.status_code == 400, r.text
    r = kd.api("POST", key_path(org, "bucket:" + b, "destroy"), {"confirm": org.tenant})
    assert r.status_code == 400 and "bucket's name" in r.json()["error"]["message"], r.text
    p = kd.cli("kms", "key", "destroy", "--tenant", org.tenant, "--bucket", b, "--confirm", b)
    assert "destroyed" in p.stdout
    read_fails(quick(org), b, "gone.txt", "KMS.KMSInvalidStateException")
    assert s3_error(s3.put_object, Bucket=b, Key="x", Body=b"x") == "KMS.KMSInvalidStateException"
    r = kd.api("POST", key_path(org, "bucket:" + b, "enable"))
    assert r.status_code == 410 and r.json()["error"]["code"] == "key_destroyed", r.text
    restart(kd)
    org.endpoint = "http://" + kd.s3_addr
    s3 = org.client()
    read_fails(quick(org), b, "gone.txt", "KMS.KMSInvalidStateException")
    # the admin calls and the key's destruction are in the audit log
    acts = {rec["action"] for rec in kd.audit_records(tenant=org.tenant) if rec["action"].startswith("kms.")}
    assert {"kms.key.destroy", "kms.key.rotate", "kms.key.disable", "kms.key.enable",
            "kms.key.list"} <= acts, acts
    assert any(rec["action"] == "kms.destroy" for rec in kd.audit_records(action="kms.destroy"))


def test_get_error_code(kd, org):
    s3, b = org.client(), new_bucket(org)
    s3.put_object(Bucket=b, Key="k", Body=b"v")
    kd.ok("POST", key_path(org, "bucket:" + b, "disable"), status=200)
    try:
        assert s3_error(s3.get_object, Bucket=b, Key="k") == "KMS.DisabledException"
    finally:
        kd.ok("POST", key_path(org, "bucket:" + b, "enable"), status=200)


def test_permissions(kd, org):
    auditor, atok, _ = kd.user_key(org.tenant, role="auditor")
    assert keys(kd, org, token=atok)
    r = kd.api("POST", key_path(org, org.tenant, "rotate"), token=atok)
    assert r.status_code == 403, r.text
    _, mtok, _ = kd.user_key(org.tenant, role="member")
    assert kd.api("GET", "/admin/v1/tenants/%s/kms/keys" % org.tenant, token=mtok).status_code == 403
    _, ttok = kd.tenant_admin(org.tenant)
    assert kd.ok("POST", key_path(org, org.tenant, "rotate"), token=ttok, status=200)["kind"] == "tenant"
    # another tenant's administrator cannot tell the tenant's keys exist
    other = kd.tenant()
    _, otok = kd.tenant_admin(other["id"])
    r = kd.api("GET", "/admin/v1/tenants/%s/kms/keys" % org.tenant, token=otok)
    assert r.status_code == 404, r.text


def test_cli_table(kd, org):
    b = new_bucket(org)
    p = kd.cli("kms", "key", "list", "--tenant", org.tenant)
    head = p.stdout.splitlines()[0].split()
    assert head[:5] == ["KIND", "BUCKET", "VERSION", "STATE", "CREATED_AT"], p.stdout
    assert b in p.stdout and "tenant" in p.stdout
    p = kd.cli("kms", "key", "destroy", "--tenant", org.tenant, "--bucket", b, check=False)
    assert p.returncode == 2 and "--confirm" in p.stderr


# ---- the master key, on the host ------------------------------------------------------------------

def kasumi(*args, stdin=None):
    return subprocess.run([KASUMI] + list(args), input=stdin, capture_output=True, text=True,
                          timeout=60)


def test_backup_restore_5_of_3(tmp_path):
    d = s3_daemon(tmp_path / "data")
    try:
        o = S3Org(d)
        s3, b = o.client(), new_bucket(o)
        s3.put_object(Bucket=b, Key="keep.txt", Body=b"survives the lost key")
        p = kasumi("kms", "backup", "--data", str(d.data_dir), "--shares", "5", "--threshold", "3")
        assert p.returncode == 0, p.stderr
        shares = [l for l in p.stdout.splitlines() if l and not l.startswith("#")]
        assert len(shares) == 5 and all(s.startswith("kasumi-share-1:3:5:%d:" % (i + 1))
                                        for i, s in enumerate(shares))
        assert "not in its audit log" in p.stderr   # kasumid runs: the log is its own
        d.stop()
        p = kasumi("kms", "backup", "--data", str(d.data_dir), "--shares", "2", "--threshold", "2")
        assert p.returncode == 0 and not p.stderr, p.stderr
        key = d.data_dir / "keys" / "master.key"
        original = key.read_bytes()
        key.unlink()
        with pytest.raises(RuntimeError, match="missing"):
            d.start()
        d.proc = None

        # two shares: refused, nothing written
        p = kasumi("kms", "restore", "--data", str(d.data_dir), stdin="\n".join(shares[:2]) + "\n")
        assert p.returncode == 1 and "threshold" in p.stderr, p.stderr
        assert not key.exists()
        # a mistyped share: refused with its line
        bad = shares[0][:30] + ("0" if shares[0][30] != "0" else "1") + shares[0][31:]
        p = kasumi("kms", "restore", "--data", str(d.data_dir), stdin=bad + "\n" + "\n".join(shares[1:]))
        assert p.returncode == 2 and "line 1" in p.stderr, p.stderr
        assert not key.exists()

        # shares 1, 3 and 5, from a file with comments
        f = tmp_path / "shares.txt"
        f.write_text("# custodians A, C, E\n%s\n\n%s\n%s\n" % (shares[0], shares[2], shares[4]))
        p = kasumi("kms", "restore", "--data", str(d.data_dir), "--in", str(f))
        assert p.returncode == 0, p.stderr
        assert key.read_bytes() == original and (key.stat().st_mode & 0o777) == 0o600
        # again: the same key is fine; a different key file is not overwritten without --force
        assert kasumi("kms", "restore", "--data", str(d.data_dir), "--in", str(f)).returncode == 0
        key.write_bytes(os.urandom(32))
        p = kasumi("kms", "restore", "--data", str(d.data_dir), "--in", str(f))
        assert p.returncode == 1 and "--force" in p.stderr
        assert kasumi("kms", "restore", "--data", str(d.data_dir), "--in", str(f), "--force").returncode == 0
        assert key.read_bytes() == original

        d.start()
        d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
        o.endpoint = "http://" + d.s3_addr
        assert o.client().get_object(Bucket=b, Key="keep.txt")["Body"].read() == b"survives the lost key"
        # restore refuses while kasumid runs
        p = kasumi("kms", "restore", "--data", str(d.data_dir), "--in", str(f))
        assert p.returncode == 1 and "running" in p.stderr
        # the host-side commands are in the audit log, which still verifies
        acts = [r for r in d.audit_records() if r["action"].startswith("kms.master.")]
        assert [r["action"] for r in acts].count("kms.master.restore") == 5, acts
        assert [r["detail"] for r in acts if r["action"] == "kms.master.backup"] == \
            ["shares=2 threshold=2"], acts
        assert all(r["principal"].startswith("host:") for r in acts)
        pub = tmp_path / "audit.pub"
        pub.write_text(d.ok("GET", "/admin/v1/audit/public-key").text)
        d.stop()
        p = kasumi("audit", "verify", str(d.data_dir / "audit"), "--public-key", str(pub))
        assert p.returncode == 0, p.stdout + p.stderr
    finally:
        d.stop()


def test_restore_refuses_another_environments_shares(tmp_path):
    a, b = s3_daemon(tmp_path / "a"), s3_daemon(tmp_path / "b")
    a.stop()
    b.stop()
    p = kasumi("kms", "backup", "--data", str(a.data_dir), "--shares", "3", "--threshold", "2")
    shares = [l for l in p.stdout.splitlines() if l and not l.startswith("#")]
    (b.data_dir / "keys" / "master.key").unlink()
    p = kasumi("kms", "restore", "--data", str(b.data_dir), stdin="\n".join(shares[:2]))
    assert p.returncode == 1 and "not the master key" in p.stderr, p.stderr
    assert not (b.data_dir / "keys" / "master.key").exists()


def data_files(d):
    root = d.data_dir / "regions"
    return {str(x.relative_to(root)): hashlib.sha256(x.read_bytes()).hexdigest()
            for x in root.rglob("*") if x.is_file()}


def test_rotate_master_across_restart(tmp_path):
    d = s3_daemon(tmp_path / "data")
    try:
        o = S3Org(d)
        s3, b = o.client(), new_bucket(o)
        for i in range(3):
            s3.put_object(Bucket=b, Key="obj%d" % i, Body=("before rotation %d" % i).encode() * 1000)
        big = os.urandom(300 * 1024)   # a large object too (file path, not the pack log)
        s3.put_object(Bucket=b, Key="big", Body=big)
        p = kasumi("kms", "rotate-master", "--data", str(d.data_dir))
        assert p.returncode != 0 and "running" in p.stderr
        d.stop()
        key = d.data_dir / "keys" / "master.key"
        old = key.read_bytes()
        objects = data_files(d)
        p = kasumi("kms", "rotate-master", "--data", str(d.data_dir))
        assert p.returncode == 0, p.stderr
        assert "1 sealed secret" in p.stdout and "generation 2" in p.stdout, p.stdout
        assert key.read_bytes() != old and (key.stat().st_mode & 0o777) == 0o600
        assert not (d.data_dir / "keys" / "master.key.old").exists()
        assert not (d.data_dir / "keys" / "master.key.new").exists()
        # object data untouched: the same files, byte for byte
        assert data_files(d) == objects

        # the old key no longer opens the data directory
        new = key.read_bytes()
        key.write_bytes(old)
        with pytest.raises(RuntimeError, match="mismatch"):
            d.start()
        d.proc = None
        key.write_bytes(new)

        d.start()
        d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
        o.endpoint = "http://" + d.s3_addr
        s3 = o.client()   # the same S3 secret: re-sealed under the new key
        for i in range(3):
            assert s3.get_object(Bucket=b, Key="obj%d" % i)["Body"].read() == \
                ("before rotation %d" % i).encode() * 1000
        assert s3.get_object(Bucket=b, Key="big")["Body"].read() == big
        s3.put_object(Bucket=b, Key="after", Body=b"new")
        assert s3.get_object(Bucket=b, Key="after")["Body"].read() == b"new"
        s3.create_bucket(Bucket="k-" + uuid.uuid4().hex[:12])
        rot = [r for r in d.audit_records(action="kms.master.rotate")]
        assert len(rot) == 1 and rot[0]["detail"].startswith("generation=2 ") and \
            rot[0]["outcome"] == "success", rot
    finally:
        d.stop()
