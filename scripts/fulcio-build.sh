#!/usr/bin/env bash
# fulcio-build.sh — builds Sigstore's CA, Fulcio (github.com/sigstore/fulcio),
# from the Go module proxy into the e2e cache unless it is there, as the
# peer of `make bench`'s CA comparison (BenchmarkCAPeer in e2e/). Fulcio's
# go.mod may carry replace directives, so the script builds inside a copy
# of the module source, with the module's own go.sum pinning every
# dependency. Cache layout and lock as in $SIGNET_SHARED/e2e/lib.sh.
# Prints FULCIO=PATH.
# Usage: fulcio-build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SIGNET_SHARED:-$(cd ../shared && pwd)}
source "$shared/e2e/lib.sh"
go=${GO:-go}
version=${SIGNET_E2E_FULCIO_VERSION:-v1.8.8}
bin=$E2E_CACHE/fulcio-$version/fulcio
export GOFLAGS="-p=${SIGNET_E2E_BUILD_JOBS:-2} -trimpath -buildvcs=false"
lock_cache

if [[ ! -x $bin ]]; then
  start=$SECONDS
  src=$($go mod download -json "github.com/sigstore/fulcio@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d $src ]] || { echo "fulcio-build.sh: no module source for fulcio@$version" >&2; exit 1; }
  work=$(mktemp -d)
  trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
  cp -r "$src" "$work/src" && chmod -R u+w "$work/src"
  mkdir -p "$(dirname "$bin")"
  # An interrupted build leaves only $bin.part.
  (cd "$work/src" && GOWORK=off CGO_ENABLED=0 $go build -ldflags "-s -w" -o "$bin.part" .)
  mv "$bin.part" "$bin"
  echo "built fulcio $version in $((SECONDS - start))s" >&2
fi
echo "FULCIO=$bin"
