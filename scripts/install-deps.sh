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
# glewlwyd (a test dependency, the SSO tests' identity provider) is run by the tests themselves: its
# package must neither configure a database (dbconfig) nor start its service on 0.0.0.0:4593 with
# admin/password. "No configuration" skips the former; a policy-rc.d forbids the latter.
echo "glewlwyd glewlwyd/config_type select No configuration" | debconf-set-selections
made_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && made_policy=1
fi
rc=0
apt-get update -qq || rc=$?
[ $rc = 0 ] && { apt-get install -y -qq --no-install-recommends $missing || rc=$?; }
[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
if [ -d /run/systemd/system ]; then systemctl disable --now glewlwyd >/dev/null 2>&1 || true; fi
exit $rc
