"""Object storage durability (issue 4, items 7 and 11): nothing is acknowledged before its data and
metadata are durable — shown with strace for a data-file object and a pack-log object — and a
kill -9 during uploads loses no acknowledged object and leaves no partial one."""
import hashlib
import json
import os
import re
import shutil
import threading
import time
import uuid

import boto3
import botocore
import pytest
from botocore.config import Config

from conftest import Daemon
from test_s3 import S3Org

STRACE = shutil.which("strace")
KiB, MiB = 1024, 1024 * 1024

# "PID HH:MM:SS.uuuuuu rest"
LINE = re.compile(r"^(\d+)\s+(\d\d:\d\d:\d\d\.\d+)\s+(.*)$")
SYNC = re.compile(r"^(fsync|fdatasync)\((\d+)<([^>]*)>")
RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)\)\s+=\s+(-?\d+)")


def s3_daemon(data_dir, wrapper=()):
    d = Daemon(data_dir, extra_args=["--s3-listen", "127.0.0.1:0"], wrapper=wrapper)
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
    return d


def client(org, pool=10):
    return boto3.client("s3", endpoint_url="http://" + org.d.s3_addr, aws_access_key_id=org.akid,
                        aws_secret_access_key=org.secret, region_name="jp-east",
                        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                      retries={"total_max_attempts": 1}, max_pool_connections=pool,
                                      connect_timeout=5, read_timeout=30))


# ---- the syscall trace ------------------------------------------------------------------------

def parse_trace(text):
    """strace -f -tt -y output → (lines, calls). calls: one per completed syscall, in order of
    completion: (line index, pid, time, name, first argument as printed, result); an
    "<unfinished ...>" call is joined with its "<... resumed>" line on the same pid."""
    lines = text.splitlines()
    calls, pending = [], {}
    for i, ln in enumerate(lines):
        m = LINE.match(ln)
        if not m:
            continue
        pid, ts, rest = int(m.group(1)), m.group(2), m.group(3)
        r = RESUMED.match(rest)
        if r:
            start = pending.pop((pid, r.group(1)), None)
            if start is not None:   # output arguments (a read's bytes) are printed on resumption
                calls.append((i, pid, ts, r.group(1), start + r.group(2), int(r.group(3))))
            continue
        c = re.match(r"^(\w+)\((.*)", rest)
        if not c:
            continue
        name, args = c.group(1), c.group(2)
        if rest.endswith("<unfinished ...>"):
            pending[(pid, name)] = args
            continue
        res = re.search(r"\)\s+=\s+(-?\d+)", rest)
        calls.append((i, pid, ts, name, args, int(res.group(1)) if res else None))
    return lines, calls


def fd_path(args):
    m = re.match(r"(\d+)<([^>]*)>", args)
    return (int(m.group(1)), m.group(2)) if m else (None, "")


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
def test_put_fsyncs_before_200(tmp_path):
    log = tmp_path / "strace.log"
    data = tmp_path / "data"
    d = Daemon(data, extra_args=["--s3-listen", "127.0.0.1:0"],
               wrapper=[STRACE, "-f", "-tt", "-y", "-s", "512", "-o", str(log), "-e",
                        "trace=fsync,fdatasync,rename,renameat,renameat2,write,writev,pwrite64,"
                        "sendto,sendmsg,read,recvfrom"])
    bucket = "dur-" + uuid.uuid4().hex[:8]
    bodies = {"large-1mib": os.urandom(MiB), "small-4kib": os.urandom(4 * KiB)}
    try:
        d.start()
        d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
        org = S3Org(d)
        s3 = client(org)
        s3.create_bucket(Bucket=bucket)
        for key, body in bodies.items():
            put = s3.put_object(Bucket=bucket, Key=key, Body=body)
            assert put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest(), (key, put)
        d.stop()
    finally:
        if d.proc is not None:
            d.kill9()
    lines, calls = parse_trace(log.read_text(errors="replace"))
    region = str(data.resolve() / "regions" / "jp-east") + "/"
    meta = str(data.resolve() / "meta.db")

    def show(a, z):
        return "\n".join(lines[max(a, 0):z + 1][-150:])

    for key, body in bodies.items():
        # the request's arrival: the read of its request line, on a TCP socket
        arrive = [c for c in calls if c[3] in ("read", "recvfrom") and fd_path(c[4])[1].startswith(("TCP", "socket"))
                  and re.search(r'"PUT /%s/%s[ ?]' % (bucket, key), c[4])]
        assert len(arrive) == 1, "expected one read of PUT /%s/%s, got %d" % (bucket, key, len(arrive))
        a_idx, _, _, _, a_args, _ = arrive[0]
        sock = fd_path(a_args)
        # the response: the first "HTTP/1.1 200" written on that socket after it
        resp = [c for c in calls if c[0] > a_idx and c[3] in ("write", "writev", "sendto", "sendmsg")
                and fd_path(c[4]) == sock and "HTTP/1.1 200" in c[4]]
        assert resp, "no HTTP/1.1 200 written on %s after the PUT of %s" % (sock, key)
        r_idx, r_pid, r_time, _, r_args, _ = resp[0]
        assert hashlib.md5(body).hexdigest() in r_args, "the 200 at line %d is not this PUT's (no ETag %s): %s" % (
            r_idx + 1, hashlib.md5(body).hexdigest(), r_args[:300])
        window = [c for c in calls if a_idx < c[0] < r_idx]
        syncs = [(c, fd_path(c[4])[1]) for c in window if c[3] in ("fsync", "fdatasync") and c[5] == 0]
        data_syncs = [(c, p) for c, p in syncs if p.startswith(region)]
        meta_syncs = [(c, p) for c, p in syncs if p in (meta, meta + "-wal")]
        assert data_syncs, ("PUT %s (%d bytes): no fsync/fdatasync of a file under %s completed between the "
                            "request (line %d) and the 200 (line %d):\n%s" % (
                                key, len(body), region, a_idx + 1, r_idx + 1, show(a_idx, r_idx)))
        assert meta_syncs, ("PUT %s: no fsync/fdatasync of %s or its -wal completed between the request "
                            "(line %d) and the 200 (line %d):\n%s" % (key, meta, a_idx + 1, r_idx + 1,
                                                                      show(a_idx, r_idx)))
        # data first, then the commit of the row that points at it (WAL frames written, then
        # synced), then the answer. Other threads (metering, the audit) commit too: look for a
        # WAL write and sync after the data sync.
        first_data = min(c[0] for c, _ in data_syncs)
        commits = [c for c, _ in meta_syncs if c[0] > first_data and any(
            w[0] > first_data and w[0] < c[0] and w[1] == c[1] and w[3] in ("write", "pwrite64")
            and fd_path(w[4])[1] == meta + "-wal" for w in window)]
        assert commits, ("PUT %s: no metadata commit (a write to %s-wal then its fsync/fdatasync on one thread) "
                         "after the data sync (line %d) and before the 200 (line %d):\n%s" % (
                             key, meta, first_data + 1, r_idx + 1, show(first_data, r_idx)))
        for c in [c for c, _ in data_syncs] + commits:
            assert c[2] <= r_time, "PUT %s: %s completed at %s, after the 200 at %s" % (key, c[3], c[2], r_time)
        if key.startswith("large"):
            # an object file of its own: written to tmp/, fsynced, renamed into objects/, directory fsynced
            files = {p for _, p in data_syncs}
            assert any("/tmp/" in p or "/objects/" in p for p in files), files
            ren = [c for c in window if c[3].startswith("rename") and c[5] == 0 and "/objects/" in c[4]]
            assert ren, "PUT %s: no rename into objects/ before the 200:\n%s" % (key, show(a_idx, r_idx))
            dir_sync = [c for c, p in data_syncs if "/objects/" in p and c[0] > ren[0][0]
                        and not re.search(r"/[0-9a-f]{32}$", p)]
            assert dir_sync, "PUT %s: no fsync of the objects/ directory after the rename (line %d):\n%s" % (
                key, ren[0][0] + 1, show(a_idx, r_idx))
        else:
            # the pack log: appended and fdatasynced by the writer thread, not the connection's
            packs = [c for c, p in data_syncs if "/packs/" in p]
            assert packs, "PUT %s (4 KiB): no sync of a pack file under %spacks/ before the 200; synced: %s" % (
                key, region, sorted({p for _, p in data_syncs}))
            assert all(c[1] != r_pid for c in packs), "the pack fdatasync ran on the connection's thread"
            assert any(c[1] == packs[0][1] for c in commits), (
                "PUT %s: the pack writer (thread %d) did not commit the rows itself before the 200" % (key, packs[0][1]))
            objects = [p for _, p in data_syncs if "/objects/" in p]
            assert not objects, "PUT %s (4 KiB) synced an object file of its own: %s" % (key, objects)


# ---- kill -9 during uploads -------------------------------------------------------------------

SIZES = [2 * KiB, 3 * KiB + 7, 16 * KiB, 100 * KiB, 127 * KiB, 129 * KiB, 700 * KiB + 1, MiB, 2 * MiB + 5, 3 * MiB]


def body_of(key, size):
    """The bytes PUT under key: derived from the key, so any object found after the restart can
    be checked whether or not its PUT was answered."""
    seed = hashlib.sha256(key.encode()).digest()
    return (seed * (size // 32 + 1))[:size]


def traffic_then_kill(d, s3, bucket, rnd, attempted, acked, min_acked=200, min_large=25):
    """8 threads PUT objects of mixed sizes until min_acked (min_large of them above the pack-log
    size) were acknowledged in this round; then kill -9 mid-traffic. Fills attempted (key -> size)
    and acked (key -> ETag)."""
    errors, lock = [], threading.Lock()
    killing = threading.Event()   # from here on, failures are the kill's
    mine = set()

    def worker(n):
        for i in range(100000):
            if killing.is_set():
                return
            key = "r%d/w%02d/%05d-%s" % (rnd, n, i, uuid.uuid4().hex[:6])
            size = SIZES[(n * 7 + i) % len(SIZES)]
            data = body_of(key, size)
            with lock:
                attempted[key] = size
            try:
                r = s3.put_object(Bucket=bucket, Key=key, Body=data)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                if not killing.is_set():
                    with lock:
                        errors.append((key, repr(e)))
                return
            etag = r["ETag"].strip('"')
            with lock:
                if etag != hashlib.md5(data).hexdigest():
                    errors.append((key, "ETag %s, MD5 %s" % (etag, hashlib.md5(data).hexdigest())))
                acked[key] = etag
                mine.add(key)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(8)]
    for t in threads:
        t.start()
    deadline = time.time() + 60
    while True:
        with lock:
            n_acked = len(mine)
            n_large = sum(1 for k in mine if attempted[k] > 128 * KiB)
            assert not errors, "PUTs failed before the kill: %s" % errors[:3]
        if n_acked >= min_acked and n_large >= min_large:
            break
        assert time.time() < deadline, "round %d: only %d PUTs (%d large) acknowledged in 60 s" % (
            rnd, n_acked, n_large)
        time.sleep(0.05)
    with lock:
        killing.set()
        in_flight = sum(1 for k in attempted if k.startswith("r%d/" % rnd) and k not in acked)
    d.kill9()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a client thread still runs 60 s after the kill"
    assert not errors, "PUTs failed before the kill: %s" % errors[:3]
    assert in_flight > 0, "round %d: no PUT was in flight at the kill: it did not kill mid-traffic" % rnd
    return in_flight


def list_bucket(s3, bucket):
    listed, token = {}, None
    for _ in range(1000):
        args = {"Bucket": bucket}
        if token:
            args["ContinuationToken"] = token
        r = s3.list_objects_v2(**args)
        for o in r.get("Contents", []):
            assert o["Key"] not in listed, "key listed twice: %s" % o["Key"]
            listed[o["Key"]] = (o["Size"], o["ETag"].strip('"'))
        if not r["IsTruncated"]:
            return listed
        token = r["NextContinuationToken"]
    pytest.fail("the listing did not end within 1,000 pages")


def test_kill9_during_uploads(tmp_path):
    """Two rounds of: 8 clients PUT continuously, kill -9 mid-traffic, restart on the same data
    dir, check every object. The second round runs on a store that already recovered once."""
    d = s3_daemon(tmp_path / "data")
    org = S3Org(d)
    bucket = "kill-" + uuid.uuid4().hex[:8]
    client(org).create_bucket(Bucket=bucket)
    attempted, acked = {}, {}
    region = d.data_dir / "regions" / "jp-east"
    for rnd in (1, 2):
        in_flight = traffic_then_kill(d, client(org, pool=16), bucket, rnd, attempted, acked)
        tmp_before = len(list((region / "tmp").iterdir())) if (region / "tmp").exists() else 0
        d.start()      # orphan collection runs here; start() fails if kasumid does not come up
        d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
        s3 = client(org)
        listed = list_bucket(s3, bucket)
        ctx = "round %d (%d PUTs acknowledged, %d in flight at the kill)" % (rnd, len(acked), in_flight)

        lost = sorted(k for k in acked if k not in listed)
        assert not lost, "%s: %d acknowledged objects lost after kill -9, e.g. %s" % (ctx, len(lost), lost[:5])
        junk = sorted(k for k in listed if k not in attempted)
        assert not junk, "%s: objects nobody wrote are listed: %s" % (ctx, junk[:5])
        wrong_size = [(k, listed[k], attempted[k]) for k in listed if listed[k][0] != attempted[k]]
        assert not wrong_size, "%s: listed sizes differ from what was PUT (partial objects): %s" % (ctx, wrong_size[:5])
        # every object present, acknowledged or not, is whole: its bytes and its ETag
        for k, (size, etag) in sorted(listed.items()):
            want = body_of(k, attempted[k])
            assert etag == hashlib.md5(want).hexdigest(), "%s: %s listed with ETag %s, MD5 of its body %s" % (
                ctx, k, etag, hashlib.md5(want).hexdigest())
            if k in acked:
                assert etag == acked[k], "%s: %s has ETag %s, %s when acknowledged" % (ctx, k, etag, acked[k])
            if k.startswith("r%d/" % rnd):
                got = s3.get_object(Bucket=bucket, Key=k)["Body"].read()
                assert got == want, "%s: %s read back %d bytes of %d, %s" % (
                    ctx, k, len(got), len(want), "differing" if len(got) == len(want) else "partial")
        # absent objects are absent to HEAD and GET too
        for k in sorted(set(attempted) - set(listed))[:20]:
            for call in (s3.head_object, s3.get_object):
                with pytest.raises(botocore.exceptions.ClientError) as e:
                    call(Bucket=bucket, Key=k)
                assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404, (ctx, k)
        # orphans collected at start: no upload temporaries, no object file that no row references
        tmp_left = list((region / "tmp").iterdir()) if (region / "tmp").exists() else []
        assert not tmp_left, "%s: %d upload temporaries before the restart, %d left after: %s" % (
            ctx, tmp_before, len(tmp_left), tmp_left[:5])
        n_files = sum(1 for p in (region / "objects").rglob("*") if p.is_file())
        n_large = sum(1 for k in listed if attempted[k] > 128 * KiB)
        assert n_files == n_large, ("%s: %d object files under %s/objects for %d listed objects above the "
                                    "pack-log size: orphans not collected" % (ctx, n_files, region, n_large))
    # the store takes writes again, and stops cleanly
    s3.put_object(Bucket=bucket, Key="after-restart", Body=b"ok")
    assert s3.get_object(Bucket=bucket, Key="after-restart")["Body"].read() == b"ok"
    d.stop()



@pytest.fixture
def own_bucket(tmp_path):
    """A daemon of the test's own and a new bucket in it: (daemon, boto3 client, bucket name)."""
    d = s3_daemon(tmp_path / "data")
    try:
        s3 = client(S3Org(d))
        b = "b-" + uuid.uuid4().hex[:12]
        s3.create_bucket(Bucket=b)
        yield d, s3, b
    finally:
        d.stop()


def data_files(d, size):
    """The object data files of a plaintext of size bytes: its chunks and their tags."""
    return [p for p in d.data_dir.rglob("*") if p.is_file() and size < p.stat().st_size < size + 64 * KiB]


def test_damaged_data_is_cut_short_and_reported(own_bucket):
    """A byte of an object's data changed on disk (bit rot, a bad block): a GET never hands out the
    altered bytes — its body stops before the damaged piece (1 MiB of plaintext), so the client sees
    a short read — and the daemon logs an error naming the object, not just the audit detail."""
    d, s3, b = own_bucket
    body = os.urandom(4 * MiB)
    s3.put_object(Bucket=b, Key="台帳/2026.bin", Body=body)
    assert s3.get_object(Bucket=b, Key="台帳/2026.bin")["Body"].read() == body
    files = data_files(d, 4 * MiB)
    assert len(files) == 1, files
    with open(files[0], "r+b") as f:
        f.seek(3 * MiB)
        byte = f.read(1)
        f.seek(3 * MiB)
        f.write(bytes([byte[0] ^ 0x01]))
    with pytest.raises(botocore.exceptions.ResponseStreamingError):
        s3.get_object(Bucket=b, Key="台帳/2026.bin")["Body"].read()
    # what came before the damaged chunk is the object's own bytes, and nothing after it came
    got = s3.get_object(Bucket=b, Key="台帳/2026.bin", Range="bytes=0-%d" % (MiB - 1))["Body"].read()
    assert got == body[:MiB]
    deadline = time.time() + 5
    while "s3: GET %s/台帳/2026.bin" % b not in d.stderr() and time.time() < deadline:
        time.sleep(0.05)
    line = next((x for x in d.stderr().splitlines() if "s3: GET %s/台帳/2026.bin" % b in x),
                "(no such line in kasumid's stderr)")
    assert " error " in line and "stopped after 2097152 bytes: data_corrupt" in line, line


def test_get_finishes_the_object_it_began_with(own_bucket):
    """An overwrite committed while a GET of a multipart object is under way (its client reads
    slowly) does not cut that GET short: it ends with every byte of the object it began with, as
    S3's does, and the old parts' files go once it is done."""
    d, s3, b = own_bucket
    parts = [os.urandom(8 * MiB) for _ in range(4)]
    up = s3.create_multipart_upload(Bucket=b, Key="動画.mp4")["UploadId"]
    etags = [s3.upload_part(Bucket=b, Key="動画.mp4", UploadId=up, PartNumber=i + 1, Body=p)["ETag"]
             for i, p in enumerate(parts)]
    s3.complete_multipart_upload(Bucket=b, Key="動画.mp4", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
    old = b"".join(parts)
    assert len(data_files(d, 8 * MiB)) == 4
    body = s3.get_object(Bucket=b, Key="動画.mp4")["Body"]
    got = body.read(MiB)   # the server runs ahead only as far as the socket lets it
    new = os.urandom(3 * MiB)
    s3.put_object(Bucket=b, Key="動画.mp4", Body=new)
    assert s3.get_object(Bucket=b, Key="動画.mp4")["Body"].read() == new
    time.sleep(0.5)        # the reaper has had the old parts' files by now
    assert len(data_files(d, 8 * MiB)) == 4, "removed under the reader"
    got += body.read()
    assert len(got) == len(old) and got == old
    deadline = time.time() + 10
    while data_files(d, 8 * MiB) and time.time() < deadline:
        time.sleep(0.05)
    assert data_files(d, 8 * MiB) == []   # released by the finished GET, then reaped
