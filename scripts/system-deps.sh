#!/usr/bin/env bash
# Installs the Debian packages one make target needs, only those missing:
#   scripts/system-deps.sh test    make test
#   scripts/system-deps.sh bench   make bench
# `make run` needs none. Services that are already on the machine are never stopped,
# disabled or restarted; the services of packages installed here are not started either
# (a policy-rc.d for the time of the install): tests start their own servers on loopback.
#   xmlsec1   - the reference verifier in interoperability tests
#   nginx-light - the proxy generator's `--check` and end-to-end tests
#   haproxy   - the HAProxy renderer's `--check`, its switchover tests and bench
#   chromium  - headless browser for end-to-end tests (driven by Playwright, never downloaded)
#   redis-server - shared state for a pair of STS servers (tests)
#   systemd   - systemd-analyze, which checks the units in deploy/ (works without systemd running)
#   sqlite3   - the backup recipe of docs/operating.md, tested
#   wrk       - HTTP load generator for `make bench`
set -euo pipefail
case "${1:-test}" in
    test) want=(xmlsec1 nginx-light haproxy chromium redis-server systemd sqlite3) ;;
    bench) want=(xmlsec1 nginx-light haproxy redis-server wrk) ;;
    *) echo "usage: $0 test|bench" >&2; exit 2 ;;
esac
missing=()
for pkg in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    # exit code 101: "action not allowed", so invoke-rc.d starts none of the new services
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    trap '$sudo rm -f "$policy"' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
