"""Nothing is acknowledged before it is durable: shown with strace, and with kill -9."""
import re
import shutil
import subprocess

import pytest

from conftest import KASUMI, Daemon

STRACE = shutil.which("strace")

# "PID HH:MM:SS.uuuuuu rest"
LINE = re.compile(r"^(\d+)\s+(\d\d:\d\d:\d\d\.\d+)\s+(.*)$")


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
def test_audit_fsync_before_201(tmp_path):
    log = tmp_path / "strace.log"
    d = Daemon(tmp_path / "data", wrapper=[STRACE, "-f", "-tt", "-y", "-s", "4096",
                                           "-e", "trace=fsync,fdatasync,write,writev,sendto,sendmsg,read,recvfrom",
                                           "-o", str(log)])
    try:
        d.start()
        t = d.tenant(name="耐久性テスト")
        d.stop()
    finally:
        if d.proc is not None:
            d.kill9()
    lines = log.read_text(errors="replace").splitlines()
    parsed = []
    for i, ln in enumerate(lines):
        m = LINE.match(ln)
        if m:
            parsed.append((i, int(m.group(1)), m.group(2), m.group(3)))

    # The POST's arrival, the 201's first byte on the connection's thread, and audit fdatasyncs.
    # under load strace splits a blocking read into "<unfinished ...>" and "<... read resumed>" lines,
    # the data on the second
    post = [p for p in parsed if re.match(r"((read|recvfrom)\(\d+<(TCP|socket)[^>]*>, |<\.\.\. (read|recvfrom) resumed>\s*)"
                                          r"\"POST /admin/v1/tenants ", p[3])]
    resp = [p for p in parsed if re.match(r"(write|writev|sendto|sendmsg)\(\d+<(TCP|socket)[^>]*>, .*HTTP/1\.1 201", p[3])]
    assert post, "no read of the POST in the strace log"
    assert len(resp) == 1, "expected one 201 write, got %d:\n%s" % (len(resp), "\n".join(x[3] for x in resp))
    r_idx, r_pid, r_time, r_text = resp[0]
    p_idx = post[-1][0]
    assert p_idx < r_idx

    # fdatasync of an audit segment that *completed* between the POST's arrival and the 201.
    syncs = []
    for idx, pid, ts, rest in parsed:
        m = re.match(r"(fsync|fdatasync)\((\d+)<([^>]*)>", rest)
        if m and "/audit/seg-" in m.group(3):
            syncs.append((idx, pid, ts, rest))
    assert syncs, "no fsync/fdatasync of an audit segment at all"
    # completion lines: a whole call "= 0" or a "<... fdatasync resumed>"; map resumed to its pid
    done = []
    for idx, pid, ts, rest in parsed:
        if re.match(r"(fsync|fdatasync)\(\d+<[^>]*/audit/seg-[^>]*>\)\s+= 0", rest):
            done.append((idx, pid, ts))
        elif re.match(r"<\.\.\. (fsync|fdatasync) resumed>.*= 0", rest) and \
                any(s[1] == pid and s[0] < idx and "unfinished" in s[3] for s in syncs):
            done.append((idx, pid, ts))
    between = [x for x in done if p_idx < x[0] < r_idx]
    assert between, ("no audit fdatasync completed between the POST (log line %d) and the 201 (line %d, %s):\n%s"
                     % (p_idx + 1, r_idx + 1, r_time, "\n".join(lines[p_idx:r_idx + 1][:80])))
    w_idx, w_pid, w_time = between[-1]
    assert w_pid != r_pid, "the audit fdatasync ran on the connection's thread %d (expected the writer thread)" % r_pid
    assert w_time <= r_time, "fdatasync completed at %s, after the 201 was written at %s" % (w_time, r_time)
    # ... and what that fdatasync made durable was this request's record.
    m = re.search(r"x-request-id: ([^\\\r]+)\\r", r_text)
    assert m, "no x-request-id in the 201 as traced: %s" % r_text[:300]
    rid = m.group(1)
    recs = [p for p in parsed if p_idx < p[0] < w_idx and p[1] == w_pid and "/audit/seg-" in p[3]
            and re.match(r"(write|writev)\(", p[3])]
    assert any(rid in p[3] and "tenant.create" in p[3] for p in recs), \
        "the audit write before that fdatasync does not hold request %s's tenant.create record:\n%s" % (
            rid, "\n".join(p[3][:400] for p in recs))
    assert t["id"]


def test_kill9_after_acknowledged_writes(tmp_path):
    d = Daemon(tmp_path / "data")
    d.start()
    ids = []
    for i in range(50):
        t = d.tenant(name="強制終了-%02d" % i)   # each asserted 201 by ok()
        ids.append(t["id"])
    d.kill9()
    d.start()
    listed = {t["id"] for t in d.list_all("/admin/v1/tenants")}
    lost = [i for i in ids if i not in listed]
    assert not lost, "%d acknowledged tenants lost after kill -9: %s" % (len(lost), lost[:5])
    recs = d.audit_records(action="tenant.create")
    seen = set()
    for rec in recs:
        if rec.get("outcome") == "success":
            seen.add(rec.get("tenant"))
            seen.add(rec.get("target"))
            seen.update(re.findall(r"[a-z]+_[a-z2-7]{20}", rec.get("target") or ""))
    missing = [i for i in ids if i not in seen]
    assert not missing, "no tenant.create audit record names %d acknowledged tenants, e.g. %s" % (
        len(missing), missing[:5])
    pub = tmp_path / "audit.pub"
    d.cli("audit", "public-key", "--out", str(pub))
    d.stop()
    p = subprocess.run([KASUMI, "audit", "verify", str(d.data_dir / "audit"), "--public-key", str(pub)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, "verify after kill -9 and restart -> %d\n%s%s" % (p.returncode, p.stdout, p.stderr)
