-- wrk script of bench/s3.sh for PUTs: for $BENCH_SECS seconds from the first request, PUTs of the
-- body in $BENCH_BODY rotating over the presigned URL paths in $BENCH_URLS; after that, GETs of the
-- URL paths in $BENCH_TAIL_URLS (small objects) until wrk's -d ends. wrk closes its connections
-- mid-request when -d ends; the tail makes those requests GETs, so every PUT sent completes and is
-- counted (and no PUT is cut off while its commit waits in the pack log). done() prints
--   PUT-phase: SENT sent, DONE answered, ELAPSED s
-- where ELAPSED runs from the first PUT sent to the last PUT answered. SENT is one more than the PUTs
-- on the wire: wrk calls request() once, before the run, to check the script.
local ffi = require("ffi")
ffi.cdef [[
struct bench_timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clk, struct bench_timespec *ts);
]]
local ts = ffi.new("struct bench_timespec")
local function now()
    ffi.C.clock_gettime(1, ts)   -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local puts, tails, np, nt, ip, it = {}, {}, 0, 0, 0, 0
local secs, t0 = 0, nil
sent, answered, elapsed = 0, 0, 0   -- globals: done() reads them through thread:get

function init(args)
    secs = tonumber(os.getenv("BENCH_SECS"))
    local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
    local body = f:read("*a")
    f:close()
    local h = {}
    for k, v in pairs(wrk.headers) do h[k] = v end
    h["Content-Type"] = "application/octet-stream"
    for line in io.lines(os.getenv("BENCH_URLS")) do
        if line ~= "" then np = np + 1; puts[np] = wrk.format("PUT", line, h, body) end
    end
    for line in io.lines(os.getenv("BENCH_TAIL_URLS")) do
        if line ~= "" then nt = nt + 1; tails[nt] = wrk.format("GET", line) end
    end
    assert(np > 0 and nt > 0, "no URLs")
end

function request()
    local t = now()
    t0 = t0 or t
    if t - t0 < secs then
        sent = sent + 1
        ip = ip % np + 1
        return puts[ip]
    end
    it = it % nt + 1
    return tails[it]
end

function response(status, headers, body)
    if #body == 0 then   -- a PUT's answer has no body; the tail GETs' have the object's bytes
        answered = answered + 1
        elapsed = now() - t0
    end
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

function done(summary, latency, requests)
    for _, t in ipairs(threads) do
        io.write(string.format("PUT-phase: %d sent, %d answered, %.4f s\n",
                               t:get("sent"), t:get("answered"), t:get("elapsed")))
    end
end
