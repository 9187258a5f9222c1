#!/bin/sh
# Installs (or upgrades) cic-sts as a systemd service on Debian/Ubuntu; see docs/operating.md.
#   sudo deploy/install.sh [PACKAGE] [install-service options...]
# PACKAGE: a cic-sts wheel (default: this checkout). The virtual environment is
# /opt/cic-sts/venv, made with Debian's python3 (package python3-venv) and filled with the
# versions in constraints.txt, the ones the test suite passed with. Then
# `cic-sts install-service` creates the user, folders, configuration, keys and units.
# Running it again is safe: what is already right is kept.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
package=$here
constraints=$here/constraints.txt  # a checkout; a wheel's share/cic-sts/deploy has its own
[ -f "$constraints" ] || constraints=$(dirname "$0")/constraints.txt
case "${1:-}" in
    ""|-*) ;;
    *) package=$1; shift ;;
esac
venv=/opt/cic-sts/venv
python=${CIC_STS_PYTHON:-/usr/bin/python3}
if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (sudo)" >&2
    exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv" || {
        echo "install.sh: cannot create $venv (apt-get install python3-venv)" >&2
        exit 1
    }
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --constraint "$constraints" --upgrade "$package"
exec "$venv/bin/cic-sts" install-service "$@"
