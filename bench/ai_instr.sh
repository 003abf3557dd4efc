#!/bin/sh
# The AI gateway's cost per request in user-space instructions, which the load of other processes on
# the machine does not change (unlike CPU time, which cache and core sharing inflate): kasumid runs
# under callgrind with bench/ai_gateway.sh's set-up (all governance on, the same 1 KiB prompt and
# fast upstream), a warm-up, then callgrind's counters are zeroed, wrk runs, and the counters are
# dumped. Instructions (Ir, all threads: worker, audit writer and indexer, usage writer) divided by
# the requests wrk completed. The kernel's share (TCP loopback, fdatasync) is not counted.
# The floor is measured the same way: nginx's proxy_pass to the same upstream (bench/ai_gateway.sh's
# configuration, in one process), so the ratio of user-space instructions per request is a yardstick
# that the machine's noise does not move (the aim itself is CPU time, kernel included).
#   sh bench/ai_instr.sh [KASUMID]        (about two minutes; needs valgrind)
#   CONC=16 DUR=15s; FLOOR=0 skips the floor (not NGINX=0: nginx reads that variable itself);
#   CG_OUT=FILE keeps callgrind's output, one file per thread: FILE.worker, FILE.usage,
#   FILE.audit, ... (callgrind_annotate FILE.NAME: where that thread's instructions go)
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
worker_ir=0
per=""
for f in "$tmp"/cg.out.*; do   # one file per thread (--separate-threads): its name is the thread's
    t=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    [ -n "$t" ] && [ "$t" -gt 0 ] || continue
    name=$(callgrind_annotate --inclusive=yes "$f" 2>/dev/null | awk '   # by the function it runs
        /server.c:worker_main/ {print "worker"; exit} /usage_writer.c:writer_main/ {print "usage"; exit}
        /audit_writer.c:writer_main/ {print "audit"; exit} /audit_writer.c:indexer_main/ {print "audit-idx"; exit}')
    name=${name:-other}
    ir=$((ir + t))
    [ "$name" != worker ] || worker_ir=$t
    [ $((t / n)) -lt 500 ] || per="$per $name=$((t / n))"
    [ -z "${CG_OUT:-}" ] || cp "$f" "$CG_OUT.$name"
done
echo "kasumid $KBIN: $ir instructions for $n requests: $(awk -v a="$ir" -v b="$n" 'BEGIN {printf "%.0f", a / b}') per request"
echo "per thread:$per"

[ "${FLOOR:-1}" = 1 ] || exit 0
# ---- the floor, counted the same way: nginx proxy_pass with a keep-alive upstream, one process ----
NGX=$(freeport)
ai_floor_conf "$NGX" "$UP"
sed -i '1s/^/master_process off; /' "$tmp/proxy/nginx.conf"   # the worker is the process callgrind sees
taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$tmp/ngx.out" \
    nginx -e "$tmp/proxy/error.log" -c "$tmp/proxy/nginx.conf" -p "$tmp/proxy" 2>/dev/null &
NPID=$!
PIDS="$PIDS $NPID"
waitport "$NGX" 300
nload() { taskset -c 1 wrk --timeout 20s -s bench/ai/post.lua "$@" "http://127.0.0.1:$NGX/v1/chat/completions"; }
nload -t1 -c"$CONC" -d8s >/dev/null
callgrind_control -z "$NPID" >/dev/null 2>&1
nload -t1 -c"$CONC" -d"$DUR" >"$tmp/nrun.out"
callgrind_control -d "$NPID" >/dev/null 2>&1
sleep 1
nn=$(awk '/requests in/ {print $1}' "$tmp/nrun.out")
nir=0
for f in "$tmp"/ngx.out*; do
    t=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    [ -n "$t" ] && nir=$((nir + t))
done
echo "nginx (the floor): $nir instructions for $nn requests: $(awk -v a="$nir" -v b="$nn" 'BEGIN {printf "%.0f", a / b}') per request"
# The worker's ratio is the stable one. The writers' per-batch costs (fdatasync, the checkpoint's
# signature) are spread over the one or two records a batch holds at callgrind's speed, not the
# hundreds it holds at full speed, so the all-thread ratio overstates them.
awk -v k="$ir" -v kn="$n" -v w="$worker_ir" -v g="$nir" -v gn="$nn" 'BEGIN {
    if (g > 0 && gn > 0) printf "user-space instructions per request against nginx: worker %.2f, all threads %.2f (writers overstated)\n",
        (w / kn) / (g / gn), (k / kn) / (g / gn) }'
