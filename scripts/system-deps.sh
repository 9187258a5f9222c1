#!/usr/bin/env bash
# Installs the Debian packages cic-sts needs for `make run` and `make test`, only those missing.
#   xmlsec1    - the reference verifier in interoperability tests, and pysaml2's default signer
#   nginx      - the proxy generator's `--check` and end-to-end tests
#   chromium   - headless browser for end-to-end tests (driven by Playwright, never downloaded)
#   redis      - shared state for a pair of STS servers (tests)
#   wrk        - HTTP load generator for `make bench`
set -euo pipefail
want=(xmlsec1 nginx-light chromium redis-server wrk)
missing=()
for pkg in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged services; tests and the demo start their own on loopback.
for service in nginx redis-server; do
    $sudo systemctl disable --now "$service" >/dev/null 2>&1 || $sudo service "$service" stop >/dev/null 2>&1 || true
done
