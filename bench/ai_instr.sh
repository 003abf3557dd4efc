#!/bin/sh
# The AI gateway's cost per request in user-space instructions, which the load of other processes on
# the machine does not change (unlike CPU time, which cache and core sharing inflate): kasumid runs
# under callgrind with bench/ai_gateway.sh's set-up (all governance on, the same 1 KiB prompt and
# fast upstream), a warm-up, then callgrind's counters are zeroed, wrk runs, and the counters are
# dumped. Instructions (Ir, all threads: worker, audit writer and indexer, usage writer) divided by
# the requests wrk completed. The kernel's share (TCP loopback, fdatasync) is not counted.
#   sh bench/ai_instr.sh [KASUMID]        (about a minute; needs valgrind)
#   CONC=16 DUR=15s; CG_OUT=FILE keeps callgrind's output, one file per thread: FILE.worker,
#   FILE.usage, FILE.audit, ... (callgrind_annotate FILE.NAME: where that thread's instructions go)
set -eu
cd "$(dirname "$0")/.."
KBIN=$(readlink -f "${1:-build/release/kasumid}")
CONC=${CONC:-16}
DUR=${DUR:-15s}
command -v valgrind >/dev/null || apt-get install -y -qq valgrind >/dev/null

tmp=$(mktemp -d)
chmod 755 "$tmp"
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    sleep 0.5
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
printf '#!/bin/sh\nexec valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file=%s/cg.out %s "$@"\n' \
    "$tmp" "$KBIN" >"$tmp/kasumid"
chmod +x "$tmp/kasumid"
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
. bench/lib.sh
. bench/ai/setup.sh
UP=$(freeport)
ai_upstream_start "$UP"
ai_kasumid_setup "$UP"

export BENCH_BODY=bench/ai/body.json
load() { taskset -c 1 wrk --timeout 20s -s bench/ai/post.lua -H "Authorization: Bearer $KEY" "$@" \
    "http://$AI/v1/chat/completions"; }
load -t1 -c"$CONC" -d8s >/dev/null   # warm-up: connections, memo tables, easy handles
callgrind_control -z "$KPID" >/dev/null 2>&1
load -t1 -c"$CONC" -d"$DUR" >"$tmp/run.out"
callgrind_control -d "$KPID" >/dev/null 2>&1
sleep 1
if grep -q -e 'Non-2xx' -e 'Socket errors' "$tmp/run.out"; then cat "$tmp/run.out" >&2; exit 1; fi
n=$(awk '/requests in/ {print $1}' "$tmp/run.out")
ir=0
per=""
for f in "$tmp"/cg.out.*; do   # one file per thread (--separate-threads): its name is the thread's
    t=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    [ -n "$t" ] && [ "$t" -gt 0 ] || continue
    name=$(callgrind_annotate --inclusive=yes "$f" 2>/dev/null | awk '   # by the function it runs
        /server.c:worker_main/ {print "worker"; exit} /usage_writer.c:writer_main/ {print "usage"; exit}
        /audit_writer.c:writer_main/ {print "audit"; exit} /audit_writer.c:indexer_main/ {print "audit-idx"; exit}')
    name=${name:-other}
    ir=$((ir + t))
    [ $((t / n)) -lt 500 ] || per="$per $name=$((t / n))"
    [ -z "${CG_OUT:-}" ] || cp "$f" "$CG_OUT.$name"
done
echo "kasumid $KBIN: $ir instructions for $n requests: $(awk -v a="$ir" -v b="$n" 'BEGIN {printf "%.0f", a / b}') per request"
echo "per thread:$per"
