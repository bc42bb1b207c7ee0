#!/usr/bin/env bash
# Refreshes the Mermaid build embedded in `agentmux report` (vendor/mermaid/).
#
# Usage: scripts/refresh-mermaid.sh [VERSION]   (default: the version in vendor/mermaid/VERSION)
#
# Takes the npm package with `npm pack` (the registry's tarball, checked by npm against its
# integrity hash), copies `dist/mermaid.min.js` and `LICENSE`, and records the version and the
# sha256 of the script in vendor/mermaid/VERSION. A unit test checks the embedded script against
# that file, so an edit by hand fails the build's tests.
#
# The report must stay under 5 MB for a six-document session (BENCHMARKS.md): check the size of
# mermaid.min.js before moving to a new major version (12.x's is 5.5 MB; 11.x's is 3.6 MB).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/vendor/mermaid"
version="${1:-$(sed -n 's/^version=//p' "$dest/VERSION")}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "mermaid@$version" >/dev/null)
tar -xzf "$work/mermaid-$version.tgz" -C "$work"
cp "$work/package/dist/mermaid.min.js" "$dest/mermaid.min.js"
cp "$work/package/LICENSE" "$dest/LICENSE"
sum="$(sha256sum "$dest/mermaid.min.js" | cut -d' ' -f1)"
printf 'version=%s\nsha256=%s\n' "$version" "$sum" > "$dest/VERSION"
echo "mermaid $version: $(wc -c < "$dest/mermaid.min.js") bytes, sha256 $sum"
