#!/bin/sh
# Installs the Debian packages in packages.txt that are not installed yet.
# Runs as root on a fresh Debian 12 (the README's set-up commands call it); does nothing when all are present.
set -eu
here=$(dirname "$0")/..
missing=""
for p in $(grep -v '^#' "$here/packages.txt" | sed 's/#.*//'); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install:$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
