"""GET /admin/v1/audit/verification: the daemon checks its own running audit log (hash chain,
sequence, segment numbering, checkpoint and seal signatures) with the same verifier as the offline
`kasumi audit verify`. An untouched log across a sealed segment and the open one is intact; a byte
changed in a segment on disk is reported with the segment and line, by the API and by the CLI alike.
A tenant's auditor sees the chain's status (no record content); a member without audit.read does not."""
import time

from conftest import Daemon


def verification(d, token="__admin__"):
    r = d.api("GET", "/admin/v1/audit/verification", token=token)
    assert r.status_code == 200, r.text
    return r.json()


def lines_of(path):
    return path.read_bytes().split(b"\n")[:-1]


def flip_request_id(seg):
    """Changes one character of a record's request_id in the middle of seg: the line stays valid
    JSON, so only the chain can tell. Returns the line number (1-based) of the changed record."""
    lines = lines_of(seg)
    recs = [i for i, ln in enumerate(lines) if b'"kind"' not in ln]
    idx = recs[len(recs) // 2]
    ln = bytearray(lines[idx])
    pos = ln.index(b'"request_id":"') + len(b'"request_id":"') + 2
    ln[pos] = ord("0") if ln[pos] != ord("0") else ord("1")
    lines[idx] = bytes(ln)
    seg.write_bytes(b"\n".join(lines) + b"\n")
    return idx + 1


def test_verification_intact_then_broken(tmp_path):
    d = Daemon(tmp_path / "data")
    d.start()
    t = d.tenant(name="検証庁")
    for _ in range(5):
        d.api("GET", "/admin/v1/tenants/" + t["id"])
    d.stop()            # seals seg-000001.log
    d.start()           # and writes on into seg-000002.log
    try:
        _, auditor_token = d.user_key(t["id"], role="auditor")[:2]
        _, member_token = d.user_key(t["id"], role="member")[:2]
        v = verification(d)
        assert v["intact"] is True and v["broken"] is None, v
        assert v["segments"] >= 2 and v["seals"] >= 1 and v["checkpoints"] >= 1, v
        assert v["first"]["seq"] == 1 and v["last"]["seq"] >= 10 and v["records"] == v["last"]["seq"], v
        assert v["last_checkpoint"]["seq"] == v["last"]["seq"] and v["last_checkpoint"]["time"], v
        assert len(v["last_hash"]) == 64 and v["checked_at"].endswith("Z"), v

        # a tenant's auditor sees the status of the whole chain, and nothing of its records
        va = verification(d, token=auditor_token)
        assert va["intact"] is True and va["records"] >= v["records"], va
        assert set(va) == set(v)
        # a member lacks audit.read
        r = d.api("GET", "/admin/v1/audit/verification", token=member_token)
        assert r.status_code == 403, r.text

        # the call itself is audited
        r = d.api("GET", "/admin/v1/audit/verification")
        rec = d.audit_wait(r.headers["x-request-id"])
        assert rec["action"] == "audit.verification" and rec["outcome"] == "success", rec

        # one byte of a sealed segment changed on disk, while the daemon keeps writing
        seg = d.data_dir / "audit" / "seg-000001.log"
        line = flip_request_id(seg)
        for _ in range(3):
            d.api("GET", "/admin/v1/tenants/" + t["id"])
        v = verification(d)
        assert v["intact"] is False, v
        b = v["broken"]
        assert b["segment"] == "seg-000001.log" and b["line"] in (line, line + 1), (line, b)
        assert "hash chain" in b["reason"] and b["seq"] >= 1, b
        # the auditor sees it broken too; the offline verifier agrees on the place
        assert verification(d, token=auditor_token)["broken"]["segment"] == "seg-000001.log"
        pub = tmp_path / "audit.pub"
        d.cli("audit", "public-key", "--out", str(pub))
        p = d.cli("audit", "verify", str(d.data_dir / "audit"), "--public-key", str(pub), check=False)
        assert p.returncode == 1 and "seg-000001.log line %d" % b["line"] in p.stdout, p.stdout
    finally:
        d.stop()


def test_verification_while_writing(fresh):
    """Records arriving while the check reads the open segment are left for the next check: a
    batch being written is neither a torn line nor an unsigned record."""
    import threading
    d = fresh.start()
    stop = threading.Event()

    def load():
        while not stop.is_set():
            d.api("GET", "/admin/v1/whoami")

    th = [threading.Thread(target=load) for _ in range(3)]
    for x in th:
        x.start()
    try:
        seen = []
        deadline = time.time() + 3
        while time.time() < deadline:
            v = verification(d)
            assert v["intact"] is True, v
            seen.append(v["records"])
        assert len(seen) >= 3 and seen[-1] > seen[0], seen
    finally:
        stop.set()
        for x in th:
            x.join()


def test_verification_one_at_a_time(fresh):
    """Each check reads every segment on libuv's pool (shared with storage I/O): while one runs,
    another caller gets 429 with Retry-After instead of a second reader."""
    import concurrent.futures
    d = fresh.start()
    for _ in range(200):
        d.api("GET", "/admin/v1/whoami")
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        rs = list(ex.map(lambda _: d.api("GET", "/admin/v1/audit/verification"), range(16)))
    codes = [r.status_code for r in rs]
    assert set(codes) <= {200, 429} and 200 in codes, codes
    for r in rs:
        if r.status_code == 429:
            assert r.headers["Retry-After"] == "1" and r.json()["error"]["code"] == "rate_limited", r.text
        else:
            assert r.json()["intact"] is True, r.text
