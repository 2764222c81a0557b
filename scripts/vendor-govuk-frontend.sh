#!/usr/bin/env bash
# Refresh the vendored GOV.UK Frontend CSS and JS from the npm registry.
# The GDS Transport font is only licensed for GOV.UK services, so its @font-face rules are
# removed and pages fall back to the Design System's own fallback stack (Arial).
set -euo pipefail
version="${1:-6.6.0}"
out="$(dirname "$0")/../handlers/static/govuk"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "govuk-frontend@$version" --silent >/dev/null && tar xzf ./*.tgz)
sed -E 's/@font-face\{[^}]*\}//g' "$work/package/dist/govuk/govuk-frontend.min.css" > "$out/govuk-frontend.min.css"
cp "$work/package/dist/govuk/govuk-frontend.min.js" "$out/govuk-frontend.min.js"
echo "$version" > "$out/VERSION"
