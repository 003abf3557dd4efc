#!/bin/sh
# Authenticated admin GETs per second and p99 on one pinned core, with nginx serving the same JSON
# as a static file as the peer, both measured in the same run (3 interleaved rounds, medians).
#   server: taskset -c 0 (1 worker); wrk: taskset -c 1, -t1 -c64 -d10s --latency
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-10s}
tmp=$(mktemp -d)
trap 'kill $KPID $NPID 2>/dev/null || true; rm -rf "$tmp"' EXIT

taskset -c 0 bin/kasumid --data-dir "$tmp/data" --admin-listen 127.0.0.1:0 \
    --bootstrap-token-file "$tmp/token" --workers 1 --log-level warn >"$tmp/kasumid.out" 2>&1 &
KPID=$!
while [ ! -f "$tmp/data/listen.json" ]; do sleep 0.1; done
ADDR=$(sed 's/.*"admin":"\([^"]*\)".*/\1/' "$tmp/data/listen.json")
TOKEN=$(cat "$tmp/token")
TENANT=$(curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"kind":"ministry","name":"デジタル庁","corporate_number":"7000012050002"}' \
    "http://$ADDR/admin/v1/tenants" | sed 's/.*"id":"\([^"]*\)".*/\1/')
URL="http://$ADDR/admin/v1/tenants/$TENANT"
curl -s -H "Authorization: Bearer $TOKEN" "$URL" >"$tmp/tenant.json"

# the peer: nginx (1 worker, pinned to the same core) returning the same bytes from a file
mkdir -p "$tmp/www"
cp "$tmp/tenant.json" "$tmp/www/tenant.json"
chmod 755 "$tmp" "$tmp/www" && chmod 644 "$tmp/www/tenant.json"   # nginx workers run as www-data
cat >"$tmp/nginx.conf" <<CONF
worker_processes 1; daemon off; error_log $tmp/nginx.err; pid $tmp/nginx.pid;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:18480; root $tmp/www; } }
CONF
taskset -c 0 nginx -c "$tmp/nginx.conf" -p "$tmp" &
NPID=$!
sleep 0.5

run() {   # name url [header]
    taskset -c 1 wrk -t1 -c64 -d"$DUR" --latency ${3:+-H "$3"} "$2" >"$tmp/wrk.out"
    rps=$(awk '/Requests\/sec/ {print $2}' "$tmp/wrk.out")
    p99=$(awk '$1=="99%" {print $2}' "$tmp/wrk.out")
    non2xx=$(awk '/Non-2xx/ {print $5}' "$tmp/wrk.out")
    echo "$1 rps=$rps p99=$p99 non2xx=${non2xx:-0}"
}
for i in $(seq "$ROUNDS"); do
    run kasumi "$URL" "Authorization: Bearer $TOKEN"
    run nginx "http://127.0.0.1:18480/tenant.json"
done
