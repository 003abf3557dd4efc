#!/bin/sh
# Runs one libFuzzer target for a bounded time: new inputs go to the build tree, the repo's seeds are read only.
# usage: run.sh FUZZER SECONDS SEED_DIR WORK_DIR
set -eu
fuzzer=$1 secs=$2 seeds=$3 work=$4
mkdir -p "$work"
[ -d "$seeds" ] || seeds=""
exec "$fuzzer" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "$work" $seeds
