#!/bin/sh
# `make bench`: the core's benchmarks. Results go to stdout; copy the medians into docs/PERFORMANCE.md
# with the date and the machine. Never part of `make check`.
set -eu
cd "$(dirname "$0")/.."
for p in wrk nginx-light; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || apt-get install -y -qq "$p"
done
cmake --build build/release -j2 --target audit_bench pii_bench kms_bench store_bench >/dev/null
ROUNDS=5 DUR=8s sh bench/admin_get.sh
for i in 1 2 3; do d=$(mktemp -d); build/release/audit_bench "$d" 2 200000 5; rm -rf "$d"; done
taskset -c 0 build/release/pii_bench
taskset -c 0 build/release/kms_bench 64 5
d=$(mktemp -d); build/release/store_bench "$d" 64; rm -rf "$d"
sh bench/ai_gateway.sh
