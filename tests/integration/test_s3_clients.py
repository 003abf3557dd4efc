"""Object storage with real clients at scale (issue 4, item 11): the npm AWS SDK v3 over TLS with its
trailing checksums, 10,000 keys listed with delimiters, a 100 MiB multipart upload, and
virtual-host-style addressing, against the real kasumid."""
import base64
import concurrent.futures
import hashlib
import json
import os
import shutil
import socket
import subprocess
import uuid
import zlib

import boto3
import botocore
import pytest
import requests
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from conftest import ROOT, Daemon
from test_s3 import S3Org
from test_tls import make_cert

SDK_CLIENT = ROOT / "tests" / "fixtures" / "s3" / "sdk-client.mjs"
NODE_MODULES = ROOT / "node_modules"
MiB = 1024 * 1024


def s3_daemon(base, config=None):
    d = Daemon(base / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    if config:
        d.write_config(config)
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
    return d


@pytest.fixture(scope="module")
def s3d(tmp_path_factory):
    d = s3_daemon(tmp_path_factory.mktemp("s3clients"))
    yield d
    d.stop()


@pytest.fixture(scope="module")
def org(s3d):
    return S3Org(s3d)


def boto(org, endpoint=None, addressing="path", pool=10):
    return boto3.client("s3", endpoint_url=endpoint or org.endpoint, aws_access_key_id=org.akid,
                        aws_secret_access_key=org.secret, region_name="jp-east",
                        config=Config(s3={"addressing_style": addressing}, signature_version="s3v4",
                                      retries={"total_max_attempts": 1}, max_pool_connections=pool))


def bucket_name():
    return "c-" + uuid.uuid4().hex[:12]


def utf8_sorted(keys):
    return sorted(keys, key=lambda s: s.encode("utf-8"))


# ---- the npm AWS SDK v3 over TLS --------------------------------------------------------------

def run_sdk(cmd, ca, timeout=180):
    """Runs tests/fixtures/s3/sdk-client.mjs with cmd; returns its result lines (one per op)."""
    node = shutil.which("node")
    if not node:
        pytest.fail("node is not on PATH: the npm AWS SDK test needs Node.js 20+", pytrace=False)
    missing = [p for p in ("@aws-sdk/client-s3", "@aws-sdk/lib-storage")
               if not (NODE_MODULES / p / "package.json").exists()]
    if missing:
        pytest.fail("npm packages missing from %s: %s. Run `sh scripts/npm-deps.sh` at the repo root "
                    "(npm ci --omit=optional; `make check` runs it)" % (NODE_MODULES, ", ".join(missing)),
                    pytrace=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(NODE_EXTRA_CA_CERTS=str(ca), AWS_EC2_METADATA_DISABLED="true", NODE_NO_WARNINGS="1")
    p = subprocess.run([node, str(SDK_CLIENT)], input=json.dumps(cmd), capture_output=True, text=True,
                       env=env, cwd=str(ROOT), timeout=timeout)
    assert p.returncode == 0, "sdk-client.mjs -> %d\nstdout: %s\nstderr: %s" % (p.returncode, p.stdout[-3000:],
                                                                                p.stderr[-3000:])
    lines = [json.loads(ln) for ln in p.stdout.splitlines() if ln.strip()]
    assert len(lines) == len(cmd["ops"]), "expected %d result lines, got %d:\n%s\nstderr: %s" % (
        len(cmd["ops"]), len(lines), p.stdout[-3000:], p.stderr[-3000:])
    return lines


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.fixture(scope="module")
def tls_s3(tmp_path_factory):
    base = tmp_path_factory.mktemp("s3tls")
    cert, key = make_cert(base)
    d = s3_daemon(base, '[s3]\ntls_cert = "%s"\ntls_key = "%s"\n' % (cert, key))
    d.cert = cert
    yield d
    d.stop()


def test_npm_aws_sdk_v3_over_tls(tls_s3, tmp_path):
    d = tls_s3
    org = S3Org(d)
    b = bucket_name()
    big = os.urandom(3 * MiB + 12345)              # a few MiB: its own data file
    small = os.urandom(70 * 1024)                  # pack log
    mpu = os.urandom(12 * MiB + 777)               # lib-storage: parts of 5 MiB
    files = {}
    for name, data in (("big", big), ("small", small), ("mpu", mpu)):
        files[name] = tmp_path / name
        files[name].write_bytes(data)
    ops = [
        {"op": "version"},
        {"op": "create_bucket", "bucket": b},
        {"op": "put", "bucket": b, "key": "sdk/big.bin", "file": str(files["big"]), "stream": True},
        {"op": "put", "bucket": b, "key": "sdk/small.bin", "file": str(files["small"]), "stream": True},
        {"op": "put", "bucket": b, "key": "sdk/buffer.bin", "file": str(files["small"]), "stream": False},
        {"op": "get", "bucket": b, "key": "sdk/big.bin"},
        {"op": "get", "bucket": b, "key": "sdk/small.bin"},
        {"op": "get", "bucket": b, "key": "sdk/big.bin", "range": "bytes=65530-1048600"},
        {"op": "upload", "bucket": b, "key": "sdk/mpu.bin", "file": str(files["mpu"]), "part_size": 5 * MiB},
        {"op": "get", "bucket": b, "key": "sdk/mpu.bin"},
        {"op": "list", "bucket": b, "prefix": "sdk/", "max_keys": 2},
        {"op": "list", "bucket": b, "delimiter": "/"},
        {"op": "delete", "bucket": b, "key": "sdk/small.bin"},
        {"op": "list", "bucket": b},
    ]
    nxt = sdk_results(d, org, ops)

    ver = nxt("version")["result"]
    assert ver["client_s3"] == "3.1169.0", "package.json pins @aws-sdk/client-s3 3.1169.0, node_modules has %s" % ver
    nxt("CreateBucket")

    for what, data in (("PutObject 3 MiB stream", big), ("PutObject 70 KiB stream", small)):
        r = nxt(what)
        assert r["result"]["ETag"] == '"%s"' % hashlib.md5(data).hexdigest(), (what, r["result"])
        assert len(r["requests"]) == 1, r["requests"]
        h = r["requests"][0]["headers"]
        # the trailing-checksum path: aws-chunked, unsigned payload, a CRC-32 trailer
        assert h.get("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER", (what, h)
        assert h.get("x-amz-trailer") == "x-amz-checksum-crc32", (what, h)
        assert "aws-chunked" in h.get("content-encoding", ""), (what, h)
        assert h.get("x-amz-decoded-content-length") == str(len(data)), (what, h)
        assert "content-length" not in h and h.get("transfer-encoding") == "chunked", (what, h)
    r = nxt("PutObject Buffer")
    h = r["requests"][0]["headers"]
    assert h.get("x-amz-checksum-crc32") == crc32_b64(small), ("the SDK sends the CRC-32 as a header", h)
    assert r["result"]["ETag"] == '"%s"' % hashlib.md5(small).hexdigest()

    for what, data in (("GetObject big", big), ("GetObject small", small)):
        r = nxt(what)["result"]
        assert r["length"] == len(data) and r["sha256"] == hashlib.sha256(data).hexdigest(), (what, r)
    r = nxt("GetObject range")["result"]
    part = big[65530:1048601]
    assert r["length"] == len(part) and r["sha256"] == hashlib.sha256(part).hexdigest(), r
    assert r["ContentRange"] == "bytes 65530-1048600/%d" % len(big), r

    r = nxt("lib-storage Upload")
    kinds = [(q["method"], sorted(k for k in q["query"] if k != "x-id")) for q in r["requests"]]
    assert kinds.count(("PUT", ["partNumber", "uploadId"])) == 3, "expected 3 UploadPart requests: %s" % kinds
    assert ("POST", ["uploads"]) in kinds and ("POST", ["uploadId"]) in kinds, kinds
    etag = r["result"]["ETag"]
    assert etag.endswith('-3"'), "multipart ETag of 3 parts expected, got %s" % etag
    r = nxt("GetObject mpu")["result"]
    assert r["length"] == len(mpu) and r["sha256"] == hashlib.sha256(mpu).hexdigest(), r
    assert r["ETag"] == etag

    r = nxt("ListObjectsV2 paged")["result"]
    want = ["sdk/big.bin", "sdk/buffer.bin", "sdk/mpu.bin", "sdk/small.bin"]
    assert [k["key"] for k in r["keys"]] == want and r["pages"] == 2, r
    sizes = {k["key"]: k["size"] for k in r["keys"]}
    assert sizes == {"sdk/big.bin": len(big), "sdk/buffer.bin": len(small), "sdk/mpu.bin": len(mpu),
                     "sdk/small.bin": len(small)}, sizes
    r = nxt("ListObjectsV2 delimiter")["result"]
    assert r["prefixes"] == ["sdk/"] and r["keys"] == [], r
    nxt("DeleteObject")
    r = nxt("ListObjectsV2 after delete")["result"]
    assert [k["key"] for k in r["keys"]] == ["sdk/big.bin", "sdk/buffer.bin", "sdk/mpu.bin"], r



def sdk_results(d, org, ops):
    """Runs ops through the SDK over TLS; returns nxt(what, ok=True), which gives the next result
    line and (with ok) asserts the op succeeded."""
    res = iter(run_sdk({"endpoint": "https://" + d.s3_addr, "accessKeyId": org.akid,
                        "secretAccessKey": org.secret, "region": "jp-east", "ops": ops}, d.cert))

    def nxt(what, ok=True):
        r = next(res)
        if ok:
            assert r["ok"], "%s failed: %s\nrequests: %s" % (what, r.get("error"), json.dumps(r["requests"])[:2000])
        return r
    return nxt


def test_npm_aws_sdk_wrong_trailing_checksum(tls_s3, tmp_path):
    """The SDK computes the trailing CRC-32 as it streams; the test alters it on the wire."""
    org = S3Org(tls_s3)
    b = bucket_name()
    f = tmp_path / "body"
    f.write_bytes(os.urandom(2 * MiB + 3))
    nxt = sdk_results(tls_s3, org, [
        {"op": "create_bucket", "bucket": b},
        {"op": "put", "bucket": b, "key": "bad/trailer.bin", "file": str(f), "stream": True, "tamper_trailer": True},
        {"op": "head", "bucket": b, "key": "bad/trailer.bin"},
        {"op": "put", "bucket": b, "key": "good/trailer.bin", "file": str(f), "stream": True},
    ])
    nxt("CreateBucket")
    r = nxt("PutObject wrong trailing checksum", ok=False)
    h = r["requests"][0]["headers"] if r["requests"] else {}
    assert h.get("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER", h
    assert not r["ok"], ("PUT /%s/bad/trailer.bin (aws-chunked, STREAMING-UNSIGNED-PAYLOAD-TRAILER) with a "
                         "trailing x-amz-checksum-crc32 that does not match the body was accepted: %s" % (b, r))
    assert r["error"]["status"] == 400 and r["error"]["code"] == "BadDigest", r["error"]
    r = nxt("HeadObject after the refused PUT", ok=False)
    assert not r["ok"] and r["error"]["status"] == 404, ("the refused object was stored", r)
    nxt("the same PUT untampered")      # the tampering, not the body, was refused


def test_npm_aws_sdk_wrong_checksum_header(tls_s3, tmp_path):
    """ChecksumCRC32 given by the caller goes as an x-amz-checksum-crc32 header with a plain body;
    S3 checks it against the body (400 BadDigest when it differs)."""
    org = S3Org(tls_s3)
    b = bucket_name()
    f = tmp_path / "body"
    data = os.urandom(70 * 1024)
    f.write_bytes(data)
    wrong = crc32_b64(b"not the data")
    nxt = sdk_results(tls_s3, org, [
        {"op": "create_bucket", "bucket": b},
        {"op": "put", "bucket": b, "key": "bad/header.bin", "file": str(f), "stream": False, "checksum_crc32": wrong},
        {"op": "head", "bucket": b, "key": "bad/header.bin"},
        {"op": "put", "bucket": b, "key": "good/header.bin", "file": str(f), "stream": False,
         "checksum_crc32": crc32_b64(data)},
    ])
    nxt("CreateBucket")
    r = nxt("PutObject wrong x-amz-checksum-crc32 header", ok=False)
    sent = r["requests"][0]["headers"] if r["requests"] else {}
    assert sent.get("x-amz-checksum-crc32") == wrong and "x-amz-trailer" not in sent, sent
    assert not r["ok"], ("PUT /%s/bad/header.bin with x-amz-checksum-crc32: %s (the CRC-32 of other data) "
                         "was accepted (%s; sent %s); S3 refuses it with 400 BadDigest" % (
                             b, wrong, r.get("result"), {k: v for k, v in sent.items() if k.startswith(
                                 ("x-amz-checksum", "x-amz-sdk-checksum", "x-amz-content-sha256", "content-"))}))
    assert r["error"]["status"] == 400 and r["error"]["code"] == "BadDigest", r["error"]
    r = nxt("HeadObject after wrong header", ok=False)
    assert not r["ok"] and r["error"]["status"] == 404, ("the refused object was stored", r)
    nxt("PutObject with the right x-amz-checksum-crc32")


# ---- 10,000 keys, listed with delimiters -----------------------------------------------------

def ten_thousand_keys():
    keys = []
    for i in range(16):                                  # 16 "directories" × 400
        keys += ["d%02d/f%04d" % (i, j) for j in range(400)]
    keys += ["d01/sub%02d/x%02d" % (i, j) for i in range(20) for j in range(10)]   # 200 nested
    keys += ["d01-x/%04d" % j for j in range(100)]       # '-' (0x2D) sorts before '/' (0x2F)
    keys += ["d01.txt", "d01", "d010"]                   # '.' 0x2E, the bare name, '0' 0x30
    keys += ["日本/東京/%04d" % j for j in range(300)]     # multi-byte UTF-8
    keys += ["日本/大阪/%04d" % j for j in range(200)]
    keys += ["ü/%03d" % j for j in range(100)]           # U+00FC: 0xC3 0xBC, before 日 (0xE6)
    keys += ["Z/%03d" % j for j in range(100)]           # upper case before lower case
    keys += ["top%04d" % j for j in range(10000 - len(keys) - 3)]
    keys += ["a b/c", "a+b/c", "é"]
    assert len(keys) == len(set(keys)) == 10000
    return keys


def expected_listing(keys, prefix="", delimiter=None, start_after=None):
    """(contents, common prefixes) as S3 gives them, each in UTF-8 binary order."""
    contents, prefixes = [], set()
    for k in keys:
        if not k.startswith(prefix):
            continue
        rest = k[len(prefix):]
        if delimiter and delimiter in rest:
            cp = prefix + rest[:rest.index(delimiter) + len(delimiter)]
            if start_after is None or cp.encode() > start_after.encode():
                prefixes.add(cp)
        elif start_after is None or k.encode() > start_after.encode():
            contents.append(k)
    return utf8_sorted(contents), utf8_sorted(prefixes)


def list_all(s3, bucket, max_pages=2000, **kw):
    """Every page of list_objects_v2 (by continuation token): (keys, prefixes, pages, entries in
    the order returned: each page's keys and prefixes merged in binary order)."""
    keys, prefixes, merged, token, pages = [], [], [], None, 0
    while True:
        args = dict(kw, Bucket=bucket)
        if token:
            args["ContinuationToken"] = token
        r = s3.list_objects_v2(**args)
        pages += 1
        assert pages <= max_pages, "more than %d pages listing %r: the continuation does not end" % (max_pages, kw)
        ks = [o["Key"] for o in r.get("Contents", [])]
        ps = [p["Prefix"] for p in r.get("CommonPrefixes", [])]
        assert r["KeyCount"] == len(ks) + len(ps), "KeyCount %d != %d keys + %d prefixes" % (
            r["KeyCount"], len(ks), len(ps))
        assert r["KeyCount"] <= kw.get("MaxKeys", 1000), "page of %d entries, MaxKeys %s" % (
            r["KeyCount"], kw.get("MaxKeys", 1000))
        keys += ks
        prefixes += ps
        merged += utf8_sorted(ks + ps)
        if not r["IsTruncated"]:
            assert "NextContinuationToken" not in r
            return keys, prefixes, pages, merged
        token = r["NextContinuationToken"]
        assert token, "IsTruncated without a NextContinuationToken"


@pytest.fixture(scope="module")
def many_keys(org):
    s3 = boto(org, pool=16)
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    keys = ten_thousand_keys()

    def put(k):
        return s3.put_object(Bucket=b, Key=k, Body=k.encode())["ETag"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        etags = list(pool.map(put, keys))
    bad = [(k, e) for k, e in zip(keys, etags) if e != '"%s"' % hashlib.md5(k.encode()).hexdigest()]
    assert not bad, "wrong ETags for %d puts, e.g. %s" % (len(bad), bad[:3])
    return s3, b, keys


def test_list_10000_keys(many_keys):
    s3, b, keys = many_keys
    # everything, 1,000 a page: every key once, in UTF-8 binary order
    got, prefixes, pages, _ = list_all(s3, b)
    assert pages == 10 and not prefixes, (pages, prefixes[:5])
    assert len(got) == len(set(got)) == 10000, "%d keys listed, %d distinct" % (len(got), len(set(got)))
    want = utf8_sorted(keys)
    assert got == want, "listing order differs from UTF-8 binary order at index %d: %r vs %r" % next(
        (i, g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w)


@pytest.mark.parametrize("case", [
    dict(Delimiter="/", MaxKeys=7),                  # pages end on prefixes and keys alike
    dict(Delimiter="/"),
    dict(Delimiter="/", Prefix="d01/", MaxKeys=33),  # 400 keys and 20 sub-prefixes
    dict(Delimiter="/", Prefix="日本/"),
    dict(Delimiter="/", Prefix="日本/東京/", MaxKeys=64),
    dict(Prefix="d01", Delimiter="/", MaxKeys=3),    # d01, d01-x/, d01.txt, d01/, d010
    dict(Delimiter="/", StartAfter="d05/f0399", MaxKeys=50),
    dict(Delimiter="/", StartAfter="d01/", MaxKeys=5),   # a marker equal to a common prefix skips it
    dict(Prefix="ü/", MaxKeys=30),
    dict(Delimiter="0", Prefix="top", MaxKeys=100),  # a delimiter other than "/"
    dict(Delimiter="/", Prefix="nothing-here/"),
], ids=lambda c: ",".join("%s=%s" % kv for kv in c.items()))
def test_list_10000_keys_with_delimiters(many_keys, case):
    s3, b, keys = many_keys
    want_keys, want_prefixes = expected_listing(keys, case.get("Prefix", ""), case.get("Delimiter"),
                                                case.get("StartAfter"))
    got_keys, got_prefixes, pages, merged = list_all(s3, b, **case)
    assert got_prefixes == want_prefixes, "common prefixes for %r: got %d %r…, want %d %r…" % (
        case, len(got_prefixes), got_prefixes[:8], len(want_prefixes), want_prefixes[:8])
    assert got_keys == want_keys, "keys for %r: got %d (%r…), want %d (%r…); missing %r, extra %r" % (
        case, len(got_keys), got_keys[:5], len(want_keys), want_keys[:5],
        sorted(set(want_keys) - set(got_keys))[:5], sorted(set(got_keys) - set(want_keys))[:5])
    # across pages, keys and prefixes together come once each, in binary order
    assert merged == utf8_sorted(want_keys + want_prefixes), "entries across pages out of order or repeated for %r" % case
    per_page = case.get("MaxKeys", 1000)
    total = len(want_keys) + len(want_prefixes)
    assert pages == max(1, -(-total // per_page)), "%d pages for %d entries at MaxKeys %d" % (pages, total, per_page)


def test_list_v1_markers_over_10000_keys(many_keys):
    s3, b, keys = many_keys
    got, marker = [], None
    for _ in range(100):
        args = {"Bucket": b, "MaxKeys": 1000}
        if marker:
            args["Marker"] = marker
        r = s3.list_objects(**args)
        got += [o["Key"] for o in r.get("Contents", [])]
        if not r["IsTruncated"]:
            break
        marker = r.get("NextMarker") or r["Contents"][-1]["Key"]
    else:
        pytest.fail("ListObjects v1 did not end within 100 pages")
    assert got == utf8_sorted(keys), "ListObjects v1 with markers: %d keys, %d distinct" % (len(got), len(set(got)))


# ---- 100 MiB multipart -----------------------------------------------------------------------

def test_multipart_100mib(org, tmp_path):
    s3 = boto(org, pool=8)
    b = bucket_name()
    s3.create_bucket(Bucket=b)
    size = 100 * MiB + 4097
    src = tmp_path / "big.bin"
    h = hashlib.sha256()
    with open(src, "wb") as f:
        for _ in range(size // MiB):
            block = os.urandom(MiB)
            h.update(block)
            f.write(block)
        tail = os.urandom(size % MiB)
        h.update(tail)
        f.write(tail)
    digest = h.hexdigest()
    part = 8 * MiB
    cfg = TransferConfig(multipart_threshold=part, multipart_chunksize=part, max_concurrency=4)
    s3.upload_file(str(src), b, "big/100mib.bin", Config=cfg)
    nparts = -(-size // part)
    head = s3.head_object(Bucket=b, Key="big/100mib.bin")
    assert head["ContentLength"] == size, head
    assert head["ETag"].endswith('-%d"' % nparts), "multipart ETag of %d parts expected: %s" % (nparts, head["ETag"])
    dst = tmp_path / "back.bin"
    s3.download_file(b, "big/100mib.bin", str(dst), Config=cfg)
    h2 = hashlib.sha256()
    with open(dst, "rb") as f:
        for block in iter(lambda: f.read(MiB), b""):
            h2.update(block)
    assert dst.stat().st_size == size and h2.hexdigest() == digest, "the 100 MiB download differs from the upload"

    # Range GETs across part boundaries (every 8 MiB), 64 KiB chunk edges and the short last part
    with open(src, "rb") as f:
        def want(a, z):
            f.seek(a)
            return f.read(z - a + 1)
        ranges = [(part - 1, part), (part - 10, part + 10), (3 * part - 65536 - 3, 3 * part + 65536 + 3),
                  (part - 5, 2 * part + 5),                      # across two boundaries: a whole part inside
                  (5 * part + 65535, 5 * part + 65536), ((nparts - 1) * part - 1, size - 1),
                  (0, 0), (size - 1, size - 1)]
        for a, z in ranges:
            r = s3.get_object(Bucket=b, Key="big/100mib.bin", Range="bytes=%d-%d" % (a, z))
            body = r["Body"].read()
            assert r["ContentRange"] == "bytes %d-%d/%d" % (a, z, size), (a, z, r["ContentRange"])
            assert body == want(a, z), "Range bytes=%d-%d: %d bytes back, differ from the upload" % (a, z, len(body))
        n = size - (nparts - 1) * part + 100                  # a suffix range reaching into the part before
        r = s3.get_object(Bucket=b, Key="big/100mib.bin", Range="bytes=-%d" % n)
        assert r["Body"].read() == want(size - n, size - 1), "suffix range bytes=-%d differs" % n
        r = s3.get_object(Bucket=b, Key="big/100mib.bin", Range="bytes=%d-" % (size - part - 3))
        assert r["Body"].read() == want(size - part - 3, size - 1), "open range from %d differs" % (size - part - 3)


# ---- virtual-host style -----------------------------------------------------------------------

class LocalhostSubdomains:
    """Makes BUCKET.localhost resolve to 127.0.0.1 in this process while active.

    RFC 6761 (6.3) says every name under .localhost is loopback, and systemd's nss-myhostname or
    resolved make it so; this machine's /etc/nsswitch.conf has only "files dns", so
    getaddrinfo("b.localhost") fails. Rather than skip, the test resolves those names itself: the
    client still connects to 127.0.0.1 and sends Host: BUCKET.localhost:PORT, which is what the
    daemon sees with any resolver."""

    def __init__(self):
        self.real = socket.getaddrinfo

    def __enter__(self):
        real = self.real

        def getaddrinfo(host, *a, **kw):
            if isinstance(host, bytes):
                host = host.decode()
            if isinstance(host, str) and host.lower().endswith(".localhost"):
                host = "127.0.0.1"
            return real(host, *a, **kw)
        socket.getaddrinfo = getaddrinfo
        return self

    def __exit__(self, *exc):
        socket.getaddrinfo = self.real


def test_virtual_host_style(s3d, org):
    port = s3d.s3_addr.rsplit(":", 1)[1]
    s3 = boto(org, endpoint="http://localhost:%s" % port, addressing="virtual")
    b = bucket_name()
    hosts = []
    s3.meta.events.register("before-send.s3", lambda request, **kw: hosts.append(
        (request.method, request.url, request.headers.get("Host"))))
    with LocalhostSubdomains():
        s3.create_bucket(Bucket=b)
        body = os.urandom(200 * 1024)
        put = s3.put_object(Bucket=b, Key="v/日本.bin", Body=body)
        assert put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
        assert s3.get_object(Bucket=b, Key="v/日本.bin")["Body"].read() == body
        assert s3.get_object(Bucket=b, Key="v/日本.bin", Range="bytes=10-19")["Body"].read() == body[10:20]
        listed = s3.list_objects_v2(Bucket=b, Delimiter="/")
        assert [p["Prefix"] for p in listed.get("CommonPrefixes", [])] == ["v/"], listed
        url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "v/日本.bin"}, ExpiresIn=60)
        assert url.startswith("http://%s.localhost:%s/" % (b, port)), url
        r = requests.get(url, timeout=30)
        assert r.status_code == 200 and r.content == body, (r.status_code, r.text[:300])
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.head_object(Bucket="nope-" + uuid.uuid4().hex[:8], Key="x")
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        # one namespace: what went in virtual-host style is there path style
        assert boto(org).get_object(Bucket=b, Key="v/日本.bin")["Body"].read() == body
        s3.delete_object(Bucket=b, Key="v/日本.bin")
        s3.delete_bucket(Bucket=b)
    # every request went virtual-host style: the bucket in Host, never in the path
    assert hosts, "no request seen"
    for method, u, host in hosts:
        assert u.startswith("http://"), u
        netloc = u.split("/")[2]
        assert netloc.endswith(".localhost:%s" % port), "%s %s was not virtual-host style" % (method, u)
        bucket = netloc.split(".localhost")[0]
        assert not u.split("/", 3)[3].startswith(bucket + "/"), "bucket in the path of %s" % u
