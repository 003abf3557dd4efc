# bench/ai/setup.sh — what the AI benchmarks share (bench/ai_gateway.sh, bench/ai_instr.sh): the fast
# upstream and kasumid set up with all the governance on. Sourced after bench/lib.sh, with $tmp and
# $PIDS defined.

# The upstream's fixed answer: an OpenAI chat.completion with usage.
ANSWER='{"id":"chatcmpl-bench","object":"chat.completion","created":1763700000,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"Here is the rewritten notice in plain Japanese and in English."},"finish_reason":"stop"}],"usage":{"prompt_tokens":310,"completion_tokens":24,"total_tokens":334}}'

ngxconf() {   # name body-of-server: an nginx configuration with one worker in $tmp/name
    mkdir -p "$tmp/$1"
    cat >"$tmp/$1/nginx.conf" <<CONF
worker_processes 1; daemon off; error_log $tmp/$1/error.log; pid $tmp/$1/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $tmp/$1/body; proxy_temp_path $tmp/$1/proxy;
    fastcgi_temp_path $tmp/$1/fcgi; uwsgi_temp_path $tmp/$1/uwsgi; scgi_temp_path $tmp/$1/scgi;
    keepalive_requests 1000000;
    $2
}
CONF
}

# ai_floor_conf PORT UPSTREAM_PORT: $tmp/proxy/nginx.conf, the floor both AI benchmarks measure:
# nginx proxy_pass with a keep-alive upstream (as kasumi and Portkey keep theirs).
ai_floor_conf() {
    ngxconf proxy "upstream llm { server 127.0.0.1:$2; keepalive 64; }
    server { listen 127.0.0.1:$1;
        location / { proxy_pass http://llm; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
}

# ai_upstream_start PORT: nginx `return 200` of $ANSWER for POST /v1/chat/completions, on core 1.
ai_upstream_start() {
    ngxconf upstream "server { listen 127.0.0.1:$1; default_type application/json;
        location = /v1/chat/completions { return 200 '$ANSWER'; } }"
    taskset -c 1 nginx -e "$tmp/upstream/error.log" -c "$tmp/upstream/nginx.conf" -p "$tmp/upstream" &
    PIDS="$PIDS $!"
}

# ai_kasumid_setup UPSTREAM_PORT: kasumid started ($tmp/kasumid) and set up through the admin API as
# an operator would: tenant, project, member with an API key narrowed to the project, the route
# bench -> openai at the upstream (JP, a credential_ref file), its price, a budget of 10^9 yen, the
# default AI policy written explicitly. Sets AI (the listener's address) and KEY.
ai_kasumid_setup() {
    echo "bench-upstream-key" >"$tmp/upstream.key"
    kasumid_start --ai-listen 127.0.0.1:0
    AI=$(jget ai <"$tmp/data/listen.json")
    bench_org "生成AI利用" "霞 花子" member
    KEY=$(api POST /admin/v1/keys "{\"user\":\"$USER_ID\",\"kind\":\"api\",\"project\":\"$PROJECT\"}" | jget secret)
    api POST "/admin/v1/projects/$PROJECT/model-routes" "{\"alias\":\"bench\",\"targets\":[{\"provider\":\"openai\",
        \"base_url\":\"http://127.0.0.1:$1/v1\",\"model\":\"bench\",\"credential_ref\":\"$tmp/upstream.key\",
        \"jurisdiction\":\"JP\"}]}" >/dev/null
    api POST /admin/v1/model-prices '{"model":"bench","prompt_per_1k":"0.15","completion_per_1k":"0.6"}' >/dev/null
    api PUT "/admin/v1/projects/$PROJECT/budget" '{"monthly_yen":1000000000}' >/dev/null
    api PUT "/admin/v1/projects/$PROJECT/ai-policy" '{"default_classification":2,"pii":{"mynumber":"block",
        "phone":"mask","email":"mask","card":"mask","pension":"mask","passport":"mask"},
        "project_rpm":0,"project_tpm":0,"key_rpm":0,"key_tpm":0}' >/dev/null
}
