#!/bin/sh
# `make bench`: the core's benchmarks. Results go to stdout; copy the medians into docs/PERFORMANCE.md
# with the date and the machine. Never part of `make check`.
set -eu
cd "$(dirname "$0")/.."
for p in wrk nginx-light; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || apt-get install -y -qq "$p"
done
cmake --build build/release -j2 --target audit_bench >/dev/null
sh bench/admin_get.sh
build/release/audit_bench
