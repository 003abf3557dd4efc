-- wrk script of bench/s3.sh: requests rotate round-robin over the URL paths in $BENCH_URLS (one a
-- line, presigned: the signature is in the query, so nothing here signs). $BENCH_METHOD (GET or
-- PUT) and, for PUT, the body in the file $BENCH_BODY. Requests are formatted once, in init, so a
-- 64 MiB PUT costs wrk a write and no copy.
local reqs, n, i = {}, 0, 0

function init(args)
    local method = os.getenv("BENCH_METHOD") or "GET"
    local body = nil
    if method == "PUT" then
        local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
        body = f:read("*a")
        f:close()
        wrk.headers["Content-Type"] = "application/octet-stream"
    end
    for line in io.lines(os.getenv("BENCH_URLS")) do
        if line ~= "" then
            n = n + 1
            reqs[n] = wrk.format(method, line, nil, body)
        end
    end
    assert(n > 0, "no URLs in " .. os.getenv("BENCH_URLS"))
end

function request()
    i = i % n + 1
    return reqs[i]
end
