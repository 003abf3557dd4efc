-- wrk script of bench/ai_gateway.sh: every request is the same POST of the JSON body in the file
-- named by $BENCH_BODY; per-path headers (Authorization, x-portkey-*) come from wrk's -H.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
