"""What a dead model server costs callers, with the targets' health on and off (docs/ai-gateway.md,
"When a model server fails"): a route whose preferred target takes the connection and never answers
(the fault server's `hang`, timeout_ms 1000) and whose fallback answers; 60 sequential chat calls,
first with [ai] eject_after = 3, then with 0 (health off). Prints the total time and the latency
percentiles of each run.

usage (pytest for the fault server's fixture; bin/kasumid from `make`):
  KASUMID=bin/kasumid KASUMI=bin/kasumi python3 -m pytest -q -s -p no:cacheprovider bench/ai_health.py"""
import pathlib
import statistics
import sys
import time
import uuid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "integration"))
from test_ai_gateway import Org, ai_daemon  # noqa: E402
from upstreams import fault_server  # noqa: E402,F401  (the fixture)

CALLS = 60


def run(tmp_path, fault, eject_after):
    d = ai_daemon(tmp_path / ("eject%d" % eject_after),
                  config="[ai]\neject_after = %d\neject_ms = 30000\n" % eject_after)
    try:
        o = Org(d, None, fault)
        tag = uuid.uuid4().hex[:6]
        alias = o.route("dead-primary-" + tag, [
            {"provider": "openai", "base_url": fault.base_url, "model": "fault:hang;tag=" + tag,
             "timeout_ms": 1000, "weight": 1000},
            {"provider": "openai", "base_url": fault.base_url, "model": "fault:ok;tag=" + tag, "weight": 1}])
        took = []
        for _ in range(CALLS):
            t0 = time.time()
            r = o.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "x"}]})
            assert r.status_code == 200, r.text
            took.append((time.time() - t0) * 1000)
        s = sorted(took)
        print("eject_after=%d: %d calls in %.1f s; p50 %.1f ms, p90 %.1f ms, the slowest three %s ms" % (
            eject_after, CALLS, sum(took) / 1000, statistics.median(s), s[int(CALLS * 0.9) - 1],
            [round(x) for x in s[-3:]]))
    finally:
        d.stop()


def test_dead_primary(tmp_path, fault_server):
    run(tmp_path, fault_server, 3)
    run(tmp_path, fault_server, 0)
