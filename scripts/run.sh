#!/bin/sh
# `make run`: starts kasumid in the foreground with embedded defaults (SQLite metadata, data under
# ./var). On the first start it prints the platform administrator's token once.
set -eu
data=${1:-var}
mkdir -p "$data"
echo "kasumi: data in $data (delete it to start afresh); Ctrl-C stops."
exec bin/kasumid --data-dir "$data" --admin-listen "${KASUMI_ADMIN_LISTEN:-127.0.0.1:8400}"
