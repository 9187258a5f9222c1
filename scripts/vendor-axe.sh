#!/usr/bin/env bash
# axe-core, the accessibility engine the browser tests run in Chromium, from the npm registry:
# one pinned version, checked against its published integrity, unpacked into tests/vendor/
# (git-ignored). `make test` runs this first; the tests themselves never fetch anything.
set -euo pipefail
VERSION=4.14.1
INTEGRITY=sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==
DEST=tests/vendor/axe-core
[ -f "$DEST/axe.min.js" ] && grep -q "axe v$VERSION" "$DEST/axe.min.js" && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
( cd "$work" && npm pack --silent "axe-core@$VERSION" >/dev/null )
tarball="$work/axe-core-$VERSION.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$INTEGRITY" ]; then
    echo "axe-core $VERSION: integrity mismatch (got $actual)" >&2
    exit 1
fi
tar -xzf "$tarball" -C "$work" package/axe.min.js package/LICENSE
mkdir -p "$DEST"
mv "$work/package/axe.min.js" "$work/package/LICENSE" "$DEST/"
echo "axe-core $VERSION in $DEST"
