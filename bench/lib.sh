# bench/lib.sh — what the benchmark scripts share: start kasumid pinned to core 0 and set up a
# tenant, a project and a user with a role through the admin API, as an operator would.
# Sourced by bench/ai_gateway.sh, bench/ai_instr.sh and bench/s3.sh, which define $tmp, $PIDS and
# have made $tmp/kasumid.

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() {   # port [tenths of a second, default 150]: until something answers HTTP there
    i=0
    while ! curl -s -o /dev/null "http://127.0.0.1:$1/"; do
        i=$((i + 1)); [ $i -lt "${2:-150}" ] || { echo "nothing listens on $1" >&2; exit 1; }
        sleep 0.1
    done
}

jget() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# kasumid_start [listen flags...]: sets KPID, ADMIN, TOKEN; adds to PIDS.
kasumid_start() {
    taskset -c 0 "$tmp/kasumid" --data-dir "$tmp/data" --admin-listen 127.0.0.1:0 "$@" \
        --bootstrap-token-file "$tmp/token" --workers 1 --log-level warn >"$tmp/kasumid.out" 2>&1 &
    KPID=$!
    PIDS="$PIDS $KPID"
    i=0
    while [ ! -s "$tmp/data/listen.json" ]; do
        i=$((i + 1)); [ $i -lt 600 ] ||   # 60 s: kasumid under valgrind on a loaded machine
            { cat "$tmp/kasumid.out" >&2; exit 1; }
        sleep 0.1
    done
    ADMIN=$(jget admin <"$tmp/data/listen.json")
    TOKEN=$(cat "$tmp/token")
}

api() {   # method path [json]: the body of a 2xx answer, or fail
    code=$(curl -s -o "$tmp/api.out" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' ${3:+-d "$3"} "http://$ADMIN$2")
    case $code in 2??) cat "$tmp/api.out" ;; *) echo "$1 $2 -> $code: $(cat "$tmp/api.out")" >&2; exit 1 ;; esac
}

# bench_org PROJECT_NAME USER_NAME ROLE: sets TENANT, PROJECT, USER_ID (the role at the project).
bench_org() {
    TENANT=$(api POST /admin/v1/tenants \
        '{"kind":"ministry","name":"デジタル庁","corporate_number":"7000012050002"}' | jget id)
    PROJECT=$(api POST "/admin/v1/tenants/$TENANT/projects" "{\"name\":\"$1\",\"environment\":\"prod\"}" | jget id)
    USER_ID=$(api POST "/admin/v1/tenants/$TENANT/users" "{\"name\":\"$2\",\"email\":\"bench@example.go.jp\"}" | jget id)
    api POST /admin/v1/role-bindings \
        "{\"principal\":\"$USER_ID\",\"role\":\"$3\",\"scope\":\"project/$PROJECT\"}" >/dev/null
}
