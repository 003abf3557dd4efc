#!/bin/sh
# `make tour`: a govcloud and an overseas-ai kasumid side by side (docs/overseas.md), with a model
# server outside Japan (the test suite's fault server answering with its prompt, "fault:echo"; Node
# only, no packages). It sets up one tenant known to both, the governed path between them, prints
# how to reach each, then shows a 機密性2 prompt masked on its way overseas and a 機密性3 prompt
# refused. It keeps running until Ctrl-C; `--once` stops after the demonstration (the tests use it).
#   TOUR_DIR (default: a new temporary directory) holds both data directories and the logs.
#   KASUMID, KASUMI: the binaries (default bin/kasumid, bin/kasumi).
set -eu
once=false
[ "${1:-}" = "--once" ] && once=true
root=$(cd "$(dirname "$0")/.." && pwd)
KASUMID=${KASUMID:-$root/bin/kasumid}
KASUMI=${KASUMI:-$root/bin/kasumi}
dir=${TOUR_DIR:-$(mktemp -d /tmp/kasumi-tour.XXXXXX)}
mkdir -p "$dir"
pids=""
stop() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 130' INT TERM

json() {   # json FILE KEY: one field of a JSON object
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}
field() {   # ... | field KEY
    python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
wait_file() {
    i=0
    while [ ! -s "$1" ]; do
        i=$((i + 1))
        if [ $i -gt 300 ]; then echo "tour: $2 did not start; see $dir/*.log" >&2; exit 1; fi
        sleep 0.1
    done
}

# the model server outside Japan
node "$root/tests/fixtures/llm/fault-server.mjs" --port 0 >"$dir/model.out" 2>"$dir/model.log" &
pids="$pids $!"
wait_file "$dir/model.out" "the model server"
model="http://127.0.0.1:$(head -1 "$dir/model.out" | field port)"

# overseas-ai (jurisdiction US): with swap on it would refuse to start, so the tour says so and
# allows it (a production node turns swap off instead)
swap=""
if [ "$(tail -n +2 /proc/swaps 2>/dev/null | grep -c .)" != 0 ]; then
    swap="--allow-swap"
    echo "tour: this machine has swap on: overseas-ai starts with --allow-swap (audited)"
fi
"$KASUMID" --env-kind overseas-ai --jurisdiction US --data-dir "$dir/overseas" $swap \
    --admin-listen 127.0.0.1:0 --ai-listen 127.0.0.1:0 \
    --bootstrap-token-file "$dir/overseas.token" >"$dir/overseas.log" 2>&1 &
pids="$pids $!"
wait_file "$dir/overseas/listen.json" "overseas-ai"
ov_admin="http://$(json "$dir/overseas/listen.json" admin)"
ov_ai="http://$(json "$dir/overseas/listen.json" ai)"

# govcloud, with the overseas AI listener on its allow-list
"$KASUMID" --env-kind govcloud --data-dir "$dir/gov" --overseas-allow "$ov_ai/" \
    --admin-listen 127.0.0.1:0 --ai-listen 127.0.0.1:0 --s3-listen 127.0.0.1:0 \
    --bootstrap-token-file "$dir/gov.token" >"$dir/gov.log" 2>&1 &
pids="$pids $!"
wait_file "$dir/gov/listen.json" "govcloud"
gov_admin="http://$(json "$dir/gov/listen.json" admin)"
gov_ai="http://$(json "$dir/gov/listen.json" ai)"
gov_s3="http://$(json "$dir/gov/listen.json" s3)"

gov() { KASUMI_ENDPOINT=$gov_admin KASUMI_TOKEN_FILE=$dir/gov.token "$KASUMI" "$@"; }
ov() { KASUMI_ENDPOINT=$ov_admin KASUMI_TOKEN_FILE=$dir/overseas.token "$KASUMI" "$@"; }

# govcloud: a ministry, its project, a member's key; the tenant administrator allows 機密性2 abroad
T=$(gov -o json tenant create --kind ministry --name デジタル庁 --corporate-number 7000012050002 | field id)
P=$(gov -o json project create --tenant "$T" --name 窓口AI --environment prod | field id)
U=$(gov -o json user create --tenant "$T" --name "霞 太郎" --email taro@example.go.jp | field id)
gov role bind --principal "$U" --role member --scope "project/$P" >/dev/null
K=$(gov -o json key create --user "$U" --project "$P" | field secret)
gov ai-policy set --project "$P" --class2-overseas true >/dev/null

# the contract's identities travel to overseas-ai; there the same project gets its model
gov tenant export-identities --out "$dir/registry.json" 2>/dev/null
ov tenant import-identities "$dir/registry.json" >/dev/null
OT=$(ov -o json tenant list | python3 -c 'import json,sys; print([t["id"] for t in json.load(sys.stdin)["items"] if t["corporate_number"] == "7000012050002"][0])')
OP=$(ov -o json project create --tenant "$OT" --name 窓口AI --environment prod | field id)
ov model-route create --project "$OP" --alias gpt-next --provider openai --base-url "$model/v1" \
    --model fault:echo --jurisdiction US >/dev/null
ov model-price set --model gpt-next --prompt-per-1k 2 --completion-per-1k 6 >/dev/null
# govcloud's service credential in overseas-ai, and the governed route in govcloud
R=$(ov -o json user create --tenant platform --name "govcloud relay" --email relay@gov.example.jp | field id)
ov role bind --principal "$R" --role ai_relay --scope platform >/dev/null
(umask 077; ov -o json key create --user "$R" | field secret >"$dir/relay.key")
gov model-route create --project "$P" --alias gpt-next --provider openai --base-url "$ov_ai/v1" \
    --model gpt-next --jurisdiction US --credential-ref "$dir/relay.key" >/dev/null

cat <<EOF

kasumi tour — two environments side by side (data and logs in $dir)

  govcloud (JP)       admin API  $gov_admin/admin/v1/   token: $dir/gov.token
                      AI API     $gov_ai/v1/
                      S3 API     $gov_s3/
  overseas-ai (US)    admin API  $ov_admin/admin/v1/   token: $dir/overseas.token
                      AI API     $ov_ai/v1/            (no S3: it stores nothing)
  model (overseas)    $model/v1/

  govcloud tenant $T (デジタル庁, 7000012050002), project $P (窓口AI), member key:
    export K=$K
  the same tenant in overseas-ai is $OT, the project $OP.

  e.g.  KASUMI_ENDPOINT=$gov_admin KASUMI_TOKEN_FILE=$dir/gov.token $KASUMI audit query
        KASUMI_ENDPOINT=$ov_admin KASUMI_TOKEN_FILE=$dir/overseas.token $KASUMI usage list --tenant $OT

EOF

ask() {   # ask CLASSIFICATION TEXT: a chat call to govcloud; prints status and answer
    curl -s -o "$dir/answer.json" -w '%{http_code}' "$gov_ai/v1/chat/completions" \
        -H "Authorization: Bearer $K" -H 'Content-Type: application/json' \
        -H "X-Kasumi-Classification: $1" \
        -d "{\"model\":\"gpt-next\",\"messages\":[{\"role\":\"user\",\"content\":\"$2\"}]}"
}
echo "1. 機密性2, with a phone number, through govcloud to the model overseas:"
prompt="至急 03-1234-5678 の田中さんに折り返し"
echo "   you send:        $prompt"
status=$(ask 2 "$prompt")
echo "   the model saw:   $(curl -s "$model/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["last_request"]["body"]["messages"][-1]["content"])')"
echo "   you get (HTTP $status): $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["choices"][0]["message"]["content"])' "$dir/answer.json")"
echo
echo "2. 機密性3 never leaves Japan:"
status=$(ask 3 "極秘の人事案")
echo "   HTTP $status: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["message"])' "$dir/answer.json")"
sleep 0.3
echo
echo "3. the audit logs (metadata only; each environment its own):"
gov -o json audit query --action ai.decision --tenant "$T" |
    python3 -c 'import json,sys; [print("   govcloud    ", r["detail"]) for r in json.load(sys.stdin)["items"]]'
ov -o json audit query --action ai.decision --tenant "$OT" |
    python3 -c 'import json,sys; [print("   overseas-ai ", r["detail"]) for r in json.load(sys.stdin)["items"]]'
echo
if $once; then
    exit 0
fi
echo "Both keep running; Ctrl-C stops them."
wait
