#!/bin/sh
# Rating and the monthly report for N usage records (default 10 million), kasumi against DuckDB on
# the same data, each on one core (taskset -c 0; DuckDB with threads=1). billing_bench generates the
# records, rates them through ksm_billing_rate, loads them into a kasumi database and builds the
# platform-wide report of the month (CSV); it writes the same records to a CSV that DuckDB
# (@duckdb/node-api) loads, rates by the same price list and reports from. Both print their totals,
# which must be equal. ROUNDS rounds each (default 3); the medians go to docs/PERFORMANCE.md.
#
#   sh bench/billing.sh [N]
set -eu
cd "$(dirname "$0")/.."
N=${1:-10000000}
ROUNDS=${ROUNDS:-3}
CSV=${CSV:-/tmp/kasumi-billing-bench.csv}
cmake --build build/release -j2 --target billing_bench >/dev/null
sh scripts/npm-deps.sh
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
# each loads the data once (not timed as rating or report), then rates and reports ROUNDS times
taskset -c 0 build/release/billing_bench "$N" "$CSV" "$ROUNDS"
echo "# load between: $(cut -d' ' -f1-3 /proc/loadavg)"
taskset -c 0 node bench/billing_duckdb.mjs "$CSV" "$ROUNDS"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$CSV"
