"""Pack compaction (issue 4) as a user of object storage sees it: put many small objects with
boto3, delete most of them, and the data directory shrinks by itself while every remaining object
reads back byte-identical — also after a restart and after a kill -9 at an arbitrary moment."""
import concurrent.futures
import hashlib
import json
import os
import random
import re
import threading
import time
import uuid

import botocore
import pytest
import requests
from botocore.config import Config

import boto3
from conftest import Daemon
from test_s3 import S3Org

KiB = 1024


def start(d):
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
    return d


def client(org):
    return boto3.client("s3", endpoint_url="http://" + org.d.s3_addr, aws_access_key_id=org.akid,
                        aws_secret_access_key=org.secret, region_name="jp-east",
                        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                      retries={"total_max_attempts": 1}, max_pool_connections=16))


def pack_bytes(d):
    """Bytes of pack files under the regions' data directories."""
    return sum(p.stat().st_size for p in (d.data_dir / "regions").rglob("*.pack"))


def data_bytes(d):
    return sum(p.stat().st_size for p in (d.data_dir / "regions").rglob("*") if p.is_file())


def metric(d, name):
    text = requests.get(d.url + "/metrics", timeout=10).text
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    assert m, "no %s in /metrics" % name
    return int(m.group(1))


def put_many(s3, bucket, prefix, n):
    """n objects of 1..16 KiB (the pack log's size), 16 at a time; {key: body}."""
    bodies = {"%s/%04d" % (prefix, i): os.urandom(random.randint(1, 16 * KiB)) for i in range(n)}
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        list(ex.map(lambda kv: s3.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]), bodies.items()))
    return bodies


def delete_keys(s3, bucket, keys):
    for i in range(0, len(keys), 1000):
        r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[i:i + 1000]],
                                                     "Quiet": True})
        assert not r.get("Errors"), r


def check_all(s3, bucket, keep, gone):
    def one(kv):
        got = s3.get_object(Bucket=bucket, Key=kv[0])["Body"].read()
        return hashlib.sha256(got).digest() == hashlib.sha256(kv[1]).digest()
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        bad = [k for k, ok in zip(keep, ex.map(one, keep.items())) if not ok]
    assert not bad, "differ after compaction: %s" % bad[:5]
    for k in gone[:20]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.head_object(Bucket=bucket, Key=k)
        assert e.value.response["Error"]["Code"] in ("404", "NoSuchKey")
    listed = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        listed |= {o["Key"] for o in page.get("Contents", [])}
    assert listed == set(keep)


def wait_for(cond, what, timeout=60):
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "timed out waiting for " + what
        time.sleep(0.2)


def test_deleted_small_objects_give_space_back(tmp_path):
    d = Daemon(tmp_path / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.write_config("[s3]\ncompact_interval_s = 1\ncompact_live_percent = 50\n")
    start(d)
    try:
        org = S3Org(d)
        s3 = client(org)
        b = "cmp-" + uuid.uuid4().hex[:10]
        s3.create_bucket(Bucket=b)
        bodies = put_many(s3, b, "small", 600)   # ~4.8 MB: past the 1 MiB a pack is sealed at
        peak, peak_data = pack_bytes(d), data_bytes(d)
        assert peak > 2_000_000, peak
        keys = sorted(bodies)
        gone = [k for i, k in enumerate(keys) if i % 10]   # 90% deleted
        delete_keys(s3, b, gone)
        keep = {k: bodies[k] for i, k in enumerate(keys) if i % 10 == 0}
        # nobody asks: the compactor notices within its interval
        wait_for(lambda: pack_bytes(d) < peak / 4, "the pack files to shrink")
        assert data_bytes(d) < peak_data / 3
        # the counters follow the unlink (which the file system shows first) by a moment
        wait_for(lambda: metric(d, "kasumi_store_compacted_packs_total") >= 1, "the counter")
        assert metric(d, "kasumi_store_compaction_reclaimed_bytes_total") > peak / 2
        assert metric(d, "kasumi_store_compaction_errors_total") == 0
        assert re.search(r"compacted pack jp-east/\d+: \d+ bytes reclaimed", d.stderr()), d.stderr()[-2000:]
        check_all(s3, b, keep, gone)
        # the survivors' new place is durable: a restart reads them from it
        d.stop()
        start(d)
        s3 = client(org)
        check_all(s3, b, keep, gone)
        assert pack_bytes(d) < peak / 4

        # again, with a kill -9 at some moment of the compaction that follows
        more = put_many(s3, b, "more", 400)
        mkeys = sorted(more)
        mgone = [k for i, k in enumerate(mkeys) if i % 5]
        delete_keys(s3, b, mgone)
        keep.update({k: more[k] for i, k in enumerate(mkeys) if i % 5 == 0})
        before = pack_bytes(d)
        time.sleep(random.uniform(0.5, 2.0))
        d.kill9()
        start(d)
        s3 = client(org)
        check_all(s3, b, keep, gone + mgone)
        wait_for(lambda: pack_bytes(d) < before / 2, "the pack files to shrink after the crash")
        check_all(s3, b, keep, gone + mgone)
    finally:
        d.stop()


def test_compaction_moves_noncurrent_versions(tmp_path):
    """Versions kept in a versioned bucket live in the same packs: compaction moves them too, and
    every version still reads back, before and after a restart."""
    d = Daemon(tmp_path / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.write_config("[s3]\ncompact_interval_s = 1\ncompact_live_percent = 50\n")
    start(d)
    try:
        org = S3Org(d)
        s3 = client(org)
        b = "cmpv-" + uuid.uuid4().hex[:10]
        s3.create_bucket(Bucket=b)
        s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        bodies = put_many(s3, b, "mix", 600)   # interleaved in the packs
        first = {k: s3.head_object(Bucket=b, Key=k)["VersionId"] for k in bodies}
        keys = sorted(bodies)
        kept = [k for i, k in enumerate(keys) if i % 5 == 0]
        for k in kept:   # their first versions become noncurrent, in the old packs
            s3.put_object(Bucket=b, Key=k, Body=b"second " + k.encode())
        s3.delete_object(Bucket=b, Key=kept[0])   # and a delete marker over one key
        peak = pack_bytes(d)
        gone = [(k, first[k]) for k in keys if k not in set(kept)]
        for i in range(0, len(gone), 1000):   # 80% of the first versions, for good
            r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": k, "VersionId": v} for k, v in gone[i:i + 1000]],
                                                    "Quiet": True})
            assert not r.get("Errors"), r
        wait_for(lambda: metric(d, "kasumi_store_compacted_packs_total") >= 1, "a pack to be compacted")
        wait_for(lambda: pack_bytes(d) < peak / 2, "the pack files to shrink")
        assert metric(d, "kasumi_store_compaction_errors_total") == 0

        def check():
            c = client(org)
            for k in kept:   # the noncurrent first versions were moved, not lost
                assert c.get_object(Bucket=b, Key=k, VersionId=first[k])["Body"].read() == bodies[k], k
            for k in kept[1:5]:
                assert c.get_object(Bucket=b, Key=k)["Body"].read() == b"second " + k.encode()
            with pytest.raises(botocore.exceptions.ClientError):
                c.get_object(Bucket=b, Key=kept[0])   # still under its delete marker
        check()
        d.stop()
        start(d)
        check()
    finally:
        d.stop()


def test_compaction_and_kill9_under_small_put_load(tmp_path):
    """24 clients PUT and DELETE small objects while the compactor seals the open pack and
    compacts packs every second — the pack writer's batches (rows and dead counts in one
    transaction), the reaper's rounds and the compactor's moves all interleaved — then kill -9
    mid-traffic. Every acknowledged object that was not deleted reads back whole, every
    acknowledged delete stays a delete, nothing else appears, and compaction goes on without
    errors after the restart."""
    d = Daemon(tmp_path / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.write_config("[s3]\ncompact_interval_s = 1\ncompact_live_percent = 90\n")
    start(d)
    org = S3Org(d)
    s3 = boto3.client("s3", endpoint_url="http://" + d.s3_addr, aws_access_key_id=org.akid,
                      aws_secret_access_key=org.secret, region_name="jp-east",
                      config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                    retries={"total_max_attempts": 1}, max_pool_connections=32,
                                    connect_timeout=5, read_timeout=30))
    b = "load-" + uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=b)
    lock, stop, errors = threading.Lock(), threading.Event(), []
    live, deleted, attempted = {}, set(), {}   # key -> body; keys whose DELETE was answered

    def worker(n):
        mine = []
        for i in range(1000000):
            if stop.is_set():
                return
            key = "w%02d/%06d" % (n, i)
            body = os.urandom(random.randint(1, 8 * KiB))
            with lock:
                attempted[key] = body
            try:
                s3.put_object(Bucket=b, Key=key, Body=body)
                with lock:
                    live[key] = body
                mine.append(key)
                if i % 3 == 2:   # a third of them deleted again: packs fall below 90% live
                    gone = mine.pop(random.randrange(len(mine)))
                    with lock:
                        del live[gone]   # from here on it may be either, until answered
                    s3.delete_object(Bucket=b, Key=gone)
                    with lock:
                        deleted.add(gone)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                if not stop.is_set():
                    with lock:
                        errors.append((key, repr(e)))
                return

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(24)]
    try:
        for t in threads:
            t.start()
        # past a few compactions of packs that were open a moment before
        wait_for(lambda: errors or metric(d, "kasumi_store_compacted_packs_total") >= 3,
                 "three packs compacted under load", timeout=120)
        assert not errors, errors[:3]
        time.sleep(random.uniform(0.2, 1.0))
        with lock:
            stop.set()
        d.kill9()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors[:3]
        start(d)
        s3 = client(org)
        listed = set()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b):
            listed |= {o["Key"] for o in page.get("Contents", [])}
        lost = sorted(set(live) - listed)
        assert not lost, "%d acknowledged objects lost, e.g. %s" % (len(lost), lost[:5])
        back = sorted(deleted & listed)
        assert not back, "%d acknowledged deletes undone, e.g. %s" % (len(back), back[:5])
        assert listed <= set(attempted), sorted(listed - set(attempted))[:5]

        def same(k):
            got = s3.get_object(Bucket=b, Key=k)["Body"].read()
            return hashlib.sha256(got).digest() == hashlib.sha256(attempted[k]).digest()
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            keys = sorted(listed)
            bad = [k for k, ok in zip(keys, ex.map(same, keys)) if not ok]
        assert not bad, "%d objects differ after the crash, e.g. %s" % (len(bad), bad[:5])
        assert metric(d, "kasumi_store_compaction_errors_total") == 0
    finally:
        stop.set()
        d.stop()
