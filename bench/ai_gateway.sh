#!/bin/sh
# The AI gateway's cost (issue "AI inference gateway", item 11), with all governance on: API-key auth,
# route, classification, PII scan of a ~1 KiB prompt (My Number block, other kinds mask), price,
# budget and quota reservation, decision and request audit records, usage metering.
#
# Four paths to one fast upstream (nginx, 1 worker, `return 200` of a fixed chat.completion JSON):
#   direct   wrk -> upstream
#   kasumi   wrk -> kasumid (--workers 1) -> upstream
#   nginx    wrk -> nginx proxy_pass (1 worker, keep-alive upstream) -> upstream   (the floor)
#   portkey  wrk -> @portkey-ai/gateway (node) -> upstream                           (the peer)
# Pinning: the gateway under test (all its threads) on core 0; wrk and the upstream on core 1.
# Each round measures every path in turn (ROUNDS interleaved rounds; medians are printed):
#   (a) latency at a low fixed concurrency:  wrk -t1 -c4  -d$DUR --latency   -> p50, p99
#   (b) throughput:                          wrk -t1 -c64 -d$DUR             -> requests/s
#   (c) CPU per request in (b): utime+stime of the gateway process (/proc/PID/stat, all threads)
#       and kasumi's CPU per request over nginx's, within each round and the median of those ratios
#   (d) memory: VmRSS idle (before the load) and VmHWM (after all rounds)
#   (e) steal: the share of core 0 the hypervisor gave to other guests during (b)
# Every response must be a 200: a run with non-2xx answers or socket errors makes the script fail.
# PROFILE=1 adds a `perf record -g` of kasumid during one more throughput run (report in $OUT).
#   ROUNDS=3 DUR=10s sh bench/ai_gateway.sh        (about 5 minutes)
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-10s}
PROFILE=${PROFILE:-0}
PII_BENCH=${PII_BENCH:-1}
OUT=${OUT:-}

# ---- what is missing ----------------------------------------------------------------------------
for p in wrk nginx-light; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        command -v "${p%-light}" >/dev/null 2>&1 || apt-get install -y -qq "$p" >/dev/null
    fi
done
if [ ! -f bench/ai/node_modules/@portkey-ai/gateway/build/start-server.js ]; then
    (cd bench/ai && timeout 600 npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
# KASUMID=path benchmarks that binary (e.g. one built from a clean `git archive HEAD`); otherwise
# `make` (release build), or the build in place when bin/ is busy (somebody runs bin/kasumid).
BUILD=build/release
if [ -z "${KASUMID:-}" ]; then
    make >/dev/null 2>&1 || cmake --build "$BUILD" -j2 --target kasumid >/dev/null
    KASUMID=$BUILD/kasumid
elif [ -f "$(dirname "$KASUMID")/CMakeCache.txt" ]; then
    BUILD=$(dirname "$KASUMID")   # the PII bench is built beside it; else in build/release
fi

tmp=$(mktemp -d)
chmod 755 "$tmp"   # nginx workers run as www-data
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cp "$KASUMID" "$tmp/kasumid"   # our own copy: never holds bin/ busy for others

. bench/lib.sh
UP=$(freeport); NGX=$(freeport); PK=$(freeport)

# ---- the fast upstream --------------------------------------------------------------------------
. bench/ai/setup.sh
ai_upstream_start "$UP"

# ---- the floor: nginx proxy_pass, keep-alive to the upstream (as kasumi and Portkey keep theirs) -
ai_floor_conf "$NGX" "$UP"
taskset -c 0 nginx -e "$tmp/proxy/error.log" -c "$tmp/proxy/nginx.conf" -p "$tmp/proxy" &
NGXMASTER=$!
PIDS="$PIDS $NGXMASTER"

# ---- the peer: Portkey's gateway, told the upstream per request (x-portkey-custom-host) -----------
NODE_ENV=production taskset -c 0 node -r ./bench/ai/loopback.cjs \
    bench/ai/node_modules/@portkey-ai/gateway/build/start-server.js --port="$PK" --headless \
    >"$tmp/portkey.out" 2>&1 &
PKPID=$!
PIDS="$PIDS $PKPID"

# ---- kasumid, set up through the admin API as an operator would -------------------------------
ai_kasumid_setup "$UP"

waitport "$UP"; waitport "$NGX"; waitport "$PK"
NGXPID=$(pgrep -P "$NGXMASTER" | head -1)   # the proxy's worker process

# ---- the paths ------------------------------------------------------------------------------------
BODY=bench/ai/body.json
export BENCH_BODY="$BODY"
PATHS=${PATHS:-"direct kasumi nginx portkey"}   # PATHS="direct kasumi nginx" skips Portkey
url() {
    case $1 in
        direct) echo "http://127.0.0.1:$UP/v1/chat/completions" ;;
        kasumi) echo "http://$AI/v1/chat/completions" ;;
        nginx) echo "http://127.0.0.1:$NGX/v1/chat/completions" ;;
        portkey) echo "http://127.0.0.1:$PK/v1/chat/completions" ;;
    esac
}
pid_of() { case $1 in kasumi) echo "$KPID" ;; nginx) echo "$NGXPID" ;; portkey) echo "$PKPID" ;; *) echo "" ;; esac; }
wrk_path() {   # path wrk-args...
    p=$1; shift
    case $p in
        kasumi) taskset -c 1 wrk --timeout 10s -s bench/ai/post.lua -H "Authorization: Bearer $KEY" "$@" "$(url $p)" ;;
        portkey) taskset -c 1 wrk --timeout 10s -s bench/ai/post.lua -H "Authorization: Bearer bench-upstream-key" \
            -H "x-portkey-provider: openai" -H "x-portkey-custom-host: http://127.0.0.1:$UP/v1" "$@" "$(url $p)" ;;
        *) taskset -c 1 wrk --timeout 10s -s bench/ai/post.lua "$@" "$(url $p)" ;;
    esac
}
for p in $PATHS; do   # one request each: 200 and an answer of the upstream's
    case $p in
        kasumi) h1="Authorization: Bearer $KEY"; h2="X-Bench: 1"; h3="X-Bench: 1" ;;
        portkey) h1="Authorization: Bearer bench-upstream-key"; h2="x-portkey-provider: openai"
                 h3="x-portkey-custom-host: http://127.0.0.1:$UP/v1" ;;
        *) h1="X-Bench: 1"; h2="X-Bench: 1"; h3="X-Bench: 1" ;;
    esac
    code=$(curl -s -o "$tmp/one.out" -w '%{http_code}' -H "$h1" -H "$h2" -H "$h3" \
        -H 'Content-Type: application/json' --data-binary "@$BODY" "$(url $p)")
    if [ "$code" != 200 ] || ! grep -q 'rewritten notice' "$tmp/one.out"; then
        echo "$p: $code $(cat "$tmp/one.out")" >&2; exit 1
    fi
done

ticks() { [ -n "$1" ] && awk '{print $14 + $15}' "/proc/$1/stat" || echo 0; }
sys_ticks() { [ -n "$1" ] && awk '{print $15}' "/proc/$1/stat" || echo 0; }   # the kernel's share
thread_ticks() {   # pid: "name user kernel" per thread (names have no spaces)
    [ -z "$1" ] || cat /proc/"$1"/task/*/stat 2>/dev/null | awk '{gsub(/[()]/, "", $2); print $2, $14, $15}'
}
per_thread() {   # before-file after-file requests: "name=user+kernel" in us per request, busy threads
    awk -v n="$3" -v hz="$HZ" 'NR == FNR {u[$1] += $2; k[$1] += $3; next} {U[$1] += $2; K[$1] += $3}
        END {for (t in U) {du = (U[t] - u[t]) * 1e6 / hz / n; dk = (K[t] - k[t]) * 1e6 / hz / n
             if (du + dk >= 0.5) printf "%s=%.1f+%.1f ", t, du, dk}}' "$1" "$2"
}
status_kb() { [ -n "$1" ] && awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" || echo 0; }
to_us() { awk '{v = $1 + 0; if ($1 ~ /us$/) print v; else if ($1 ~ /ms$/) print v * 1000;
                else if ($1 ~ /m$/) print v * 60e6; else print v * 1e6}'; }
check_ok() {   # wrk output file, label: fail on non-2xx answers or socket errors
    if grep -q -e 'Non-2xx' -e 'Socket errors' "$1"; then
        echo "$2: errors in the run:" >&2; cat "$1" >&2; exit 1
    fi
}
# Core 0's counters from /proc/stat (user nice system idle iowait irq softirq steal): on a VM the
# host can take a large share of the core away ("steal"), which slows every path; printed per run
# so that a result can be read against the machine's state at the time.
core0() { awk '$1 == "cpu0" {print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $9}' /proc/stat; }
steal_pct() {   # "total steal" before, after
    echo "$1 $2" | awk '{d = $3 - $1; printf "%.0f", (d > 0 ? ($4 - $2) * 100 / d : 0)}'
}
HZ=$(getconf CLK_TCK)
for p in $PATHS; do   # idle RSS, then warm-up (JIT, connection pools, memo tables)
    pid=$(pid_of $p); echo "$p $(status_kb "$pid" VmRSS)" >>"$tmp/rss_idle"
    wrk_path $p -t1 -c64 -d3s >"$tmp/warm.out"; check_ok "$tmp/warm.out" "$p warm-up"
done

echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
echo "versions: $(nginx -v 2>&1 | sed 's/.*: //'), node $(node --version), @portkey-ai/gateway" \
     "$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' bench/ai/node_modules/@portkey-ai/gateway/package.json | head -1)," \
     "@hono/node-server $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' bench/ai/node_modules/@hono/node-server/package.json | head -1)," \
     "kasumid $KASUMID"
echo "prompt: $(python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); print(sum(len(m["content"].encode()) for m in b["messages"]))' "$BODY") bytes of text, body $(wc -c <"$BODY") bytes"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
    for p in $PATHS; do
        wrk_path $p -t1 -c4 -d"$DUR" --latency >"$tmp/lat.out"; check_ok "$tmp/lat.out" "$p latency"
        p50=$(awk '$1 == "50%" {print $2}' "$tmp/lat.out" | to_us)
        p99=$(awk '$1 == "99%" {print $2}' "$tmp/lat.out" | to_us)
        pid=$(pid_of $p); t0=$(ticks "$pid"); s0=$(sys_ticks "$pid"); thread_ticks "$pid" >"$tmp/th0"
        c0=$(core0)
        wrk_path $p -t1 -c64 -d"$DUR" >"$tmp/max.out"; check_ok "$tmp/max.out" "$p throughput"
        t1=$(ticks "$pid"); s1=$(sys_ticks "$pid"); thread_ticks "$pid" >"$tmp/th1"
        c1=$(core0)
        n=$(awk '/requests in/ {print $1}' "$tmp/max.out")
        rps=$(awk '/Requests\/sec/ {print $2}' "$tmp/max.out")
        cpu=$(awk -v a="$t0" -v b="$t1" -v n="$n" -v hz="$HZ" 'BEGIN {printf "%.1f", (b - a) * 1e6 / hz / n}')
        sys=$(awk -v a="$s0" -v b="$s1" -v n="$n" -v hz="$HZ" 'BEGIN {printf "%.1f", (b - a) * 1e6 / hz / n}')
        [ -n "$pid" ] || { cpu=""; sys=""; }
        echo "round $r $p p50_us=$p50 p99_us=$p99 rps=$rps cpu_us_per_req=$cpu (kernel $sys) requests=$n load=$(cut -d' ' -f1 /proc/loadavg) steal=$(steal_pct "$c0" "$c1")%"
        [ "$p" != kasumi ] || echo "round $r $p threads (user+kernel us/request): $(per_thread "$tmp/th0" "$tmp/th1" "$n")"
        echo "$p $p50 $p99 $rps $cpu" >>"$tmp/results"
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

median() {   # path column
    awk -v p="$1" -v c="$2" '$1 == p && $c != "" {print $c}' "$tmp/results" | sort -g |
        awk '{v[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
d50=$(median direct 2); d99=$(median direct 3); n_cpu=$(median nginx 5)
echo
echo "medians of $ROUNDS rounds (latency at -c4, throughput and CPU at -c64, $DUR each):"
printf '%-8s %9s %9s %10s %10s %9s %10s %9s %9s %9s\n' path p50_us p99_us added_p50 added_p99 max_rps \
    cpu_us/req x_nginx rss_idle rss_hwm
for p in $PATHS; do
    pid=$(pid_of $p)
    m50=$(median $p 2); m99=$(median $p 3); rps=$(median $p 4); cpu=$(median $p 5)
    printf '%-8s %9s %9s %10s %10s %9s %10s %9s %9s %9s\n' "$p" "$m50" "$m99" \
        "$(awk -v a="$m50" -v b="$d50" 'BEGIN {print a - b}')" "$(awk -v a="$m99" -v b="$d99" 'BEGIN {print a - b}')" \
        "$rps" "$cpu" "$(awk -v a="$cpu" -v b="$n_cpu" 'BEGIN {if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b}')" \
        "$(awk -v p="$p" '$1 == p {print int($2 / 1024) "M"}' "$tmp/rss_idle")" \
        "$( [ -n "$pid" ] && echo "$(( $(status_kb "$pid" VmHWM) / 1024 ))M" || echo -)"
done
# nginx's own CPU per request moves between rounds (on one machine: 13.6-14.4 or 15.9-17.5 us), so
# the ratio of the two medians can pair kasumi's round with another round's nginx: also print the
# ratio within each round (the two paths measured minutes apart at most) and its median
if echo " $PATHS " | grep -q " kasumi " && echo " $PATHS " | grep -q " nginx "; then
    awk '$1 == "kasumi" && $5 != "" {k[++nk] = $5} $1 == "nginx" && $5 != "" {g[++ng] = $5}
        END {for (i = 1; i <= nk && i <= ng; i++) {r[i] = k[i] / g[i]; printf "%s%.2f", (i > 1 ? " " : ""), r[i]}
             n = i - 1; for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (r[j] < r[i]) {t = r[i]; r[i] = r[j]; r[j] = t}
             if (n) printf "  (median %.2f)", n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2; print ""}' \
        "$tmp/results" | sed 's/^/kasumi x nginx within each round: /'
fi
grep -i -e error -e warn "$tmp/kasumid.out" | head -5 || true

if [ "$PROFILE" = 1 ]; then   # where kasumid's time goes at full load (reports in $OUT or $tmp)
    P=${OUT:-$tmp}
    perf record --call-graph dwarf,16384 -F 499 -o "$P/perf.data" -p "$KPID" -- sleep 8 >/dev/null 2>&1 &
    PERF=$!
    sleep 0.5
    wrk_path kasumi -t1 -c64 -d8s >"$tmp/max.out"
    wait $PERF || true
    perf report -i "$P/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep '%' >"$P/perf-dso.txt" || true
    perf report -i "$P/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null | grep '%' \
        >"$P/perf-self.txt" || true
    perf report -i "$P/perf.data" --children --sort symbol --stdio -g none 2>/dev/null | grep '%' \
        >"$P/perf-children.txt" || true
    echo "perf: $P/perf-dso.txt, perf-self.txt, perf-children.txt"
    head -12 "$P/perf-dso.txt"; head -25 "$P/perf-self.txt"
fi

if [ "$PII_BENCH" = 1 ]; then   # the scanner's own speed (aim: >= 500 MB/s per core)
    cmake --build "$BUILD" -j2 --target pii_bench >/dev/null
    echo
    taskset -c 0 "$BUILD/pii_bench"
fi
