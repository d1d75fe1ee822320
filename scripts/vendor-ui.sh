#!/usr/bin/env bash
# Installs the web UI's chart library, uPlot, from the npm registry at the
# pinned version below and copies its built files and licence into
# internal/ui/assets/vendor/uplot/, where go:embed picks them up. The files
# are committed: the UI fetches nothing at run time, and building magelab
# needs no npm. Run it again after changing UPLOT_VERSION:
#
#   scripts/vendor-ui.sh
set -euo pipefail
cd "$(dirname "$0")/.."

UPLOT_VERSION=1.6.32
dest=internal/ui/assets/vendor/uplot

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "uplot@$UPLOT_VERSION" >/dev/null && tar -xzf "uplot-$UPLOT_VERSION.tgz")
pkg=$tmp/package
got=$(node -p "require('$pkg/package.json').version")
[ "$got" = "$UPLOT_VERSION" ] || { echo "vendor-ui: npm gave uplot $got, want $UPLOT_VERSION" >&2; exit 1; }

rm -rf "$dest"
mkdir -p "$dest"
cp "$pkg/dist/uPlot.esm.js" "$pkg/dist/uPlot.min.css" "$pkg/LICENSE" "$dest/"
printf 'uplot %s from the npm registry (npm pack uplot@%s), by scripts/vendor-ui.sh; MIT licence in LICENSE\n' \
  "$UPLOT_VERSION" "$UPLOT_VERSION" > "$dest/VERSION"
echo "vendored uplot $UPLOT_VERSION into $dest"
