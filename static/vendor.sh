#!/bin/sh
# Re-vendor htmx and its SSE extension from npm into static/vendor/.
# Pinned versions: bump them here and in VENDOR.md together.
# node_modules lives in a temporary directory and is never committed.
set -eu

HTMX_VERSION=2.0.11
SSE_VERSION=2.2.4

dest="$(cd "$(dirname "$0")" && pwd)/vendor"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cd "$tmp"
npm init -y >/dev/null
npm i --no-audit --no-fund "htmx.org@$HTMX_VERSION" "htmx-ext-sse@$SSE_VERSION"

mkdir -p "$dest"
cp node_modules/htmx.org/dist/htmx.min.js "$dest/htmx.min.js"
cp node_modules/htmx.org/LICENSE "$dest/LICENSE.htmx"
cp node_modules/htmx-ext-sse/dist/sse.min.js "$dest/htmx-ext-sse.js"
cp node_modules/htmx-ext-sse/LICENSE "$dest/LICENSE.htmx-ext-sse"

echo "vendored htmx.org@$HTMX_VERSION and htmx-ext-sse@$SSE_VERSION into $dest"
