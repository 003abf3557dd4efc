#!/bin/sh
# Object storage through the S3 API (issue "object storage", item 12): GET and PUT throughput of
# 1 MiB and 64 MiB objects and operations per second of 4 KiB objects, with concurrent clients,
# against the real kasumid (HTTP, SigV4, IAM, encryption at rest, audit); beside them, in the same
# run, the single-core AES-256-GCM figure (`openssl speed -evp aes-256-gcm`, 16 KiB blocks: the
# ceiling of encrypted GETs) and nginx serving the same files as static files (the plaintext ceiling).
#
# Set-up (all on 127.0.0.1; everything started here is stopped here):
#   kasumid --workers 1 --s3-listen 127.0.0.1:0, all its threads pinned to core 0 (taskset -c 0);
#   a tenant, a project, a user with role project_admin at the project, an S3 key (admin API);
#   bench/s3/presign.py (Debian's boto3) creates the bucket, uploads the objects the GETs read and
#   writes presigned URLs (SigV4 query auth, path-style, jp-east), so wrk needs no signing;
#   nginx (1 worker, sendfile on) pinned to core 0, serving the same 1 MiB and 64 MiB files;
#   wrk -t1 pinned to core 1 with bench/s3/urls.lua (rotates over the URLs; PUTs carry the body).
# Each round runs every measurement in turn (ROUNDS interleaved rounds; medians are printed):
#   4 KiB: PUT -c64 (durable: acknowledged after fsync; small objects go to the pack log, group
#          commit; 256 keys), GET -c64 (256 objects)
#   1 MiB: GET -c4, -c16 (kasumi and nginx), PUT -c4, -c16 (16 keys)
#   64 MiB: GET -c2 (kasumi and nginx), PUT -c2 (4 keys)
#   openssl speed -evp aes-256-gcm -bytes 16384, pinned to core 0 (and, for the aim's ratio, again
#   just before and just after each GET 64 MiB run: this VM's AES figure moves by 1.5x within
#   minutes, so the GET is divided by the mean of the two figures around it)
# Per run: requests/s, MiB/s (requests/s x object size), the server's CPU (utime+stime of all
# kasumid threads, or of the nginx worker, over the run) and MiB/s per CPU-second, load average.
# Memory: kasumid VmRSS idle, then VmRSS and VmHWM after the 1 MiB runs of round 1, after the
# 64 MiB runs of round 1, and at the end.
# Every response must be a 2xx: a run with a Non-2xx or Socket errors line makes the script fail.
# PROFILE="put4k get64m" (names from spec() below) adds a `perf record -g` of kasumid during one more run of each named
# measurement (reports in $OUT or the temp dir, which is then kept).
#   ROUNDS=3 DUR=8 sh bench/s3.sh          (about 7 minutes; RUNS_1M="..." RUNS_64M="..." pick runs,
#   WARMUP="..." the warm-up runs, e.g. RUNS_1M=put4k RUNS_64M= WARMUP=put4k for the 4 KiB PUTs alone)
# STAT=1 adds two columns per run: synchronous writes (fsync + fdatasync calls of all kasumid threads,
# counted by `perf stat` on the syscall tracepoints) per request, and kasumid CPU µs per request
# (utime+stime over the run ÷ requests). No hardware counters on this VM, so CPU time, not
# instructions.
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-8}   # seconds
PROFILE=${PROFILE:-}
STAT=${STAT:-}
OUT=${OUT:-}

# ---- what is missing ----------------------------------------------------------------------------
for p in wrk nginx-light python3-boto3; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        case $p in
            python3-boto3) python3 -c 'import boto3' 2>/dev/null || apt-get install -y -qq "$p" >/dev/null ;;
            *) command -v "${p%-light}" >/dev/null 2>&1 || apt-get install -y -qq "$p" >/dev/null ;;
        esac
    fi
done
# KASUMID=path benchmarks that binary; otherwise `make` (release build), or the build in place when
# bin/ is busy.
if [ -z "${KASUMID:-}" ]; then
    make >/dev/null 2>&1 || cmake --build build/release -j2 --target kasumid >/dev/null
    KASUMID=build/release/kasumid
fi

tmp=$(mktemp -d)
chmod 755 "$tmp"   # nginx workers run as www-data
PIDS=""
KEEP=0
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
    if [ -n "${DEBUG:-}" ]; then echo "kept $tmp" >&2; elif [ "$KEEP" = 1 ]; then rm -rf "$tmp/data" "$tmp/www" "$tmp"/body-*.bin; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
[ -z "${DEBUG:-}" ] || KEEP=1
trap 'exit 130' INT TERM
cp "$KASUMID" "$tmp/kasumid"   # our own copy: never holds bin/ busy for others

. bench/lib.sh

# ---- the payloads (random: nothing compresses) and nginx serving them --------------------------
head -c 4096 /dev/urandom >"$tmp/body-4k.bin"
head -c 1048576 /dev/urandom >"$tmp/body-1m.bin"
head -c 67108864 /dev/urandom >"$tmp/body-64m.bin"
mkdir -p "$tmp/www/files" "$tmp/nginx"
cp "$tmp/body-1m.bin" "$tmp/www/files/1m.bin"
cp "$tmp/body-64m.bin" "$tmp/www/files/64m.bin"
chmod -R a+rX "$tmp/www"
NGX=$(freeport)
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; error_log $tmp/nginx/error.log; pid $tmp/nginx/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
    client_body_temp_path $tmp/nginx/body; proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fcgi; uwsgi_temp_path $tmp/nginx/uwsgi; scgi_temp_path $tmp/nginx/scgi;
    default_type application/octet-stream;
    server { listen 127.0.0.1:$NGX; root $tmp/www; }
}
CONF
taskset -c 0 nginx -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" &
NGXMASTER=$!
PIDS="$PIDS $NGXMASTER"

# ---- kasumid, set up through the admin API as an operator would -------------------------------
kasumid_start --s3-listen 127.0.0.1:0
S3=$(jget s3 <"$tmp/data/listen.json")
bench_org "文書保管" "保管 担当" project_admin
api POST /admin/v1/keys "{\"user\":\"$USER_ID\",\"kind\":\"s3\",\"project\":\"$PROJECT\"}" >"$tmp/key.json"
AKID=$(jget access_key_id <"$tmp/key.json")
SECRET=$(jget secret_access_key <"$tmp/key.json")
python3 bench/s3/presign.py "http://$S3" "$AKID" "$SECRET" bench-objects "$tmp" 86400

# one request each before any load: the bytes come back whole, a presigned PUT is a 200
for s in 1m 64m; do
    code=$(curl -s -o "$tmp/one.out" -w '%{http_code}' "http://$S3$(head -1 "$tmp/get-$s.urls")")
    [ "$code" = 200 ] && cmp -s "$tmp/one.out" "$tmp/body-$s.bin" || { echo "kasumi GET $s: $code" >&2; exit 1; }
    code=$(curl -s -o "$tmp/one.out" -w '%{http_code}' "http://127.0.0.1:$NGX/files/$s.bin")
    [ "$code" = 200 ] && cmp -s "$tmp/one.out" "$tmp/body-$s.bin" || { echo "nginx GET $s: $code" >&2; exit 1; }
done
code=$(curl -s -o "$tmp/one.out" -w '%{http_code}' -X PUT --data-binary "@$tmp/body-4k.bin" \
    "http://$S3$(head -1 "$tmp/put-4k.urls")")
[ "$code" = 200 ] || { echo "kasumi PUT 4k: $code $(cat "$tmp/one.out")" >&2; exit 1; }
rm -f "$tmp/one.out"
NGXPID=$(pgrep -P "$NGXMASTER" | head -1)   # nginx's worker process

# ---- the measurements ---------------------------------------------------------------------------
HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
check_ok() {   # wrk output file, label: fail on non-2xx answers or socket errors
    if grep -q -e 'Non-2xx' -e 'Socket errors' "$1"; then
        echo "$2: errors in the run:" >&2; cat "$1" >&2; exit 1
    fi
}
size_of() { case $1 in *4k) echo 4096 ;; *64m) echo 67108864 ;; *1m) echo 1048576 ;; esac; }
# name: server method size concurrency
spec() {
    case $1 in
        put4k) echo "kasumi PUT 4k 64" ;;     get4k) echo "kasumi GET 4k 64" ;;
        get1m_c4) echo "kasumi GET 1m 4" ;;   ngx1m_c4) echo "nginx GET 1m 4" ;;
        get1m_c16) echo "kasumi GET 1m 16" ;; ngx1m_c16) echo "nginx GET 1m 16" ;;
        put1m_c4) echo "kasumi PUT 1m 4" ;;   put1m_c16) echo "kasumi PUT 1m 16" ;;
        get64m) echo "kasumi GET 64m 2" ;;    ngx64m) echo "nginx GET 64m 2" ;;
        put64m) echo "kasumi PUT 64m 2" ;;
    esac
}
wrk_run() {   # name seconds -> $tmp/wrk.out; prints "req/s MiB/s cpu% MiB/s-per-core [syncs/req cpu-us/req]"
    set -- "$1" "$2" $(spec "$1")
    name=$1; secs=$2; server=$3; method=$4; size=$5; conc=$6
    if [ "$server" = nginx ]; then
        echo "/files/$size.bin" >"$tmp/ngx-$size.urls"
        urls=$tmp/ngx-$size.urls; base=http://127.0.0.1:$NGX; pid=$NGXPID
    else
        urls=$tmp/$(echo "$method" | tr A-Z a-z)-$size.urls; base=http://$S3; pid=$KPID
    fi
    # the server's CPU over the measured seconds (PUT runs: the PUT phase, not the tail)
    (sleep "$secs"; ticks "$pid" >"$tmp/t1") &
    TP=$!
    SP=
    if [ -n "$STAT" ]; then
        perf record -q -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync \
            -p "$pid" -o "$tmp/sync.data" -- sleep "$secs" >/dev/null 2>&1 &
        SP=$!
    fi
    t0=$(ticks "$pid")
    if [ "$method" = PUT ]; then
        BENCH_URLS=$urls BENCH_BODY=$tmp/body-$size.bin BENCH_SECS=$secs BENCH_TAIL_URLS=$tmp/get-4k.urls \
            taskset -c 1 wrk -t1 -c"$conc" -d"$((secs + 2))s" --timeout 30s -s bench/s3/put.lua "$base/" \
            >"$tmp/wrk.out"
    else
        BENCH_URLS=$urls taskset -c 1 wrk -t1 -c"$conc" -d"${secs}s" --timeout 30s -s bench/s3/urls.lua \
            "$base/" >"$tmp/wrk.out"
    fi
    wait "$TP"
    syncs=-1
    if [ -n "$SP" ]; then
        wait "$SP" || true
        perf script -i "$tmp/sync.data" 2>/dev/null >"$tmp/sync.txt" || true
        syncs=$(grep -c 'sys_enter_f' "$tmp/sync.txt" || true)
        # which files are synced (fd -> the file it names now), to stderr
        ls -l "/proc/$pid/fd" 2>/dev/null | awk '{print $(NF-2), $NF}' >"$tmp/fds.txt"
        awk 'function hex(s,  i, v) {v = 0; s = tolower(substr(s, 3))
                 for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
                 return v}
             NR == FNR {f[$1] = $2; next} /sys_enter_f/ {fd = hex($NF); n[fd in f ? f[fd] : fd]++}
             END {for (p in n) printf " %s=%d", p, n[p]; print ""}' "$tmp/fds.txt" "$tmp/sync.txt" |
            sed "s|$tmp/data/||g; s/^/$name syncs by file:/" >&2
    fi
    check_ok "$tmp/wrk.out" "$name"
    awk -v a="$t0" -v b="$(cat "$tmp/t1")" -v hz="$HZ" -v sz="$(size_of "$size")" -v secs="$secs" \
        -v syncs="$syncs" '
        /requests in/ && !put {n = $1; d = $4; sub(/s,?$/, "", d)}
        /^PUT-phase:/ {put = 1; n = $4; d = $6; if ($2 - $4 > 1) bad = 1}
        END {if (bad || d <= 0) {print "PUT phase not drained or empty" > "/dev/stderr"; exit 1}
             rps = n / d; mib = rps * sz / 1048576; cpu = (b - a) / hz / secs;
             printf "%.1f %.1f %.0f %.1f", rps, mib, cpu * 100, (cpu > 0 ? mib / cpu : 0)
             if (syncs >= 0) printf " %.3f %.0f", syncs / (rps * secs), cpu * 1e6 / rps
             printf "\n"}' "$tmp/wrk.out"
}
mem() { echo "$(( $(status_kb "$KPID" VmRSS) / 1024 )) $(( $(status_kb "$KPID" VmHWM) / 1024 ))"; }
aes() {   # the single-core AES-256-GCM figure at 16 KiB blocks, in MB/s (10^6 bytes)
    taskset -c 0 openssl speed -evp aes-256-gcm -seconds 3 -bytes 16384 2>/dev/null |
        awk '$1 == "AES-256-GCM" || $1 == "aes-256-gcm" {v = $NF; sub(/k$/, "", v); printf "%.0f\n", v / 1000}'
}

echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)," \
     "$(awk '/MemTotal/ {printf "%d GiB", $2 / 1048576}' /proc/meminfo)"
echo "versions: $(nginx -v 2>&1 | sed 's/.*: //'), $(openssl version | cut -d' ' -f1-2)," \
     "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), boto3 $(python3 -c 'import boto3; print(boto3.__version__)')," \
     "kasumid $KASUMID ($(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "kasumid idle: VmRSS $(( $(status_kb "$KPID" VmRSS) / 1024 )) MiB"
WARMUP=${WARMUP-"put4k get4k get1m_c4 put1m_c4 ngx1m_c4"}
for n in $WARMUP; do   # warm-up: no 64 MiB object yet, so round 1
    wrk_run "$n" 2 >/dev/null                          # shows memory before and after the first ones
done
IDLE=$(status_kb "$KPID" VmRSS)
echo "kasumid after warm-up, idle: VmRSS $((IDLE / 1024)) MiB, VmHWM $(( $(status_kb "$KPID" VmHWM) / 1024 )) MiB"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
RUNS_1M=${RUNS_1M-"put4k get4k get1m_c4 ngx1m_c4 get1m_c16 ngx1m_c16 put1m_c4 put1m_c16"}
RUNS_64M=${RUNS_64M-"get64m ngx64m put64m"}
: >"$tmp/results"
for r in $(seq "$ROUNDS"); do
    for n in $RUNS_1M MARK1 $RUNS_64M MARK64; do
        case $n in
            MARK1) m=$(mem); echo "round $r after 4 KiB + 1 MiB runs: kasumid VmRSS/VmHWM MiB $m"
                   [ "$r" = 1 ] && echo "$m" >"$tmp/mem1"; continue ;;
            MARK64) m=$(mem); echo "round $r after 64 MiB runs: kasumid VmRSS/VmHWM MiB $m"
                    [ "$r" = 1 ] && echo "$m" >"$tmp/mem64"; continue ;;
        esac
        [ "$n" = get64m ] && a0=$(aes)
        res=$(wrk_run "$n" "$DUR")
        echo "round $r $n rps/MiBps/cpu%/MiBps-per-core $res load=$(cut -d' ' -f1 /proc/loadavg)"
        echo "$n $res" >>"$tmp/results"
        if [ "$n" = get64m ]; then   # the aim's ratio, against AES measured just before and after
            a1=$(aes)
            pr=$(echo "$res" | awk -v x="$a0" -v y="$a1" '{printf "%.2f", $4 / ((x + y) / 2 * 1e6 / 1048576)}')
            echo "round $r get64m per core / AES around it ($a0, $a1 MB/s): $pr"
            echo "paired $pr" >>"$tmp/results"
        fi
    done
    a=$(aes)
    echo "round $r openssl-aes-256-gcm-16k MB/s $a load=$(cut -d' ' -f1 /proc/loadavg)"
    echo "aes $a" >>"$tmp/results"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

median() {   # name column
    awk -v p="$1" -v c="$2" '$1 == p && $c != "" {print $c}' "$tmp/results" | sort -g |
        awk '{v[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
AES=$(median aes 2)
AESMIB=$(awk -v a="$AES" 'BEGIN {printf "%.0f", a * 1e6 / 1048576}')
echo
echo "medians of $ROUNDS rounds (${DUR}s each); AES-256-GCM single core: $AES MB/s = $AESMIB MiB/s"
printf '%-10s %-7s %-4s %5s %5s %10s %10s %6s %12s %13s %10s %10s\n' run server op size conc req/s MiB/s cpu% \
    MiB/s/core per_core/aes syncs/req cpu-us/req
for n in $RUNS_1M $RUNS_64M; do
    set -- $(spec "$n")
    rps=$(median "$n" 2); mib=$(median "$n" 3); cpu=$(median "$n" 4); per=$(median "$n" 5)
    syn=$(median "$n" 6); cus=$(median "$n" 7)
    xa=$(awk -v m="$per" -v a="$AESMIB" -v s="$1" 'BEGIN {if (s == "nginx" || a == "-") print "-"; else printf "%.2f", m / a}')
    printf '%-10s %-7s %-4s %5s %5s %10s %10s %6s %12s %13s %10s %10s\n' "$n" "$1" "$2" "$3" "$4" "$rps" "$mib" "$cpu" "$per" "$xa" "$syn" "$cus"
done
case " $RUNS_64M " in *" get64m "*)
    echo "get64m per core / AES measured just before and after it, median of $ROUNDS rounds: $(median paired 2)" ;;
esac
echo
echo "kasumid memory (MiB): idle after warm-up VmRSS $((IDLE / 1024));" \
     "round 1 after 4 KiB + 1 MiB runs VmRSS/VmHWM $(cat "$tmp/mem1");" \
     "after 64 MiB runs $(cat "$tmp/mem64"); at the end $(mem)"
grep -i -e error -e warn "$tmp/kasumid.out" | head -5 || true

for n in $PROFILE; do   # where kasumid's time goes in one more run of each named measurement
    P=${OUT:-$tmp}
    [ -n "$OUT" ] || KEEP=1
    perf record -g -F 999 -o "$P/perf-$n.data" -p "$KPID" -- sleep 8 >/dev/null 2>&1 &
    PERF=$!
    sleep 0.3
    res=$(wrk_run "$n" 8)
    wait $PERF || true
    echo "profiled run $n: rps/MiBps/cpu%/MiBps-per-core $res"
    perf report -i "$P/perf-$n.data" --no-children --sort dso --stdio 2>/dev/null | grep '%' \
        >"$P/perf-$n-dso.txt" || true
    perf report -i "$P/perf-$n.data" --no-children --sort comm,dso,symbol --stdio -g none 2>/dev/null |
        grep '%' >"$P/perf-$n-self.txt" || true
    perf report -i "$P/perf-$n.data" --children --sort symbol --stdio -g none 2>/dev/null | grep '%' \
        >"$P/perf-$n-children.txt" || true
    echo "perf: $P/perf-$n-{dso,self,children}.txt"
    head -8 "$P/perf-$n-dso.txt"; head -20 "$P/perf-$n-self.txt"
done
