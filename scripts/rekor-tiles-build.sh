#!/usr/bin/env bash
# rekor-tiles-build.sh — installs the real Rekor v2 server (sigstore/rekor-tiles,
# POSIX backend) from the Go module proxy into the e2e cache unless it is there,
# for the log peer benchmark (e2e BenchmarkLogAppendPeer; not `make e2e`). The
# version is the one in go.mod, so the peer is the code signet's log follows;
# SIGNET_E2E_REKOR_TILES_VERSION overrides it. Cache layout and lock as in
# $SIGNET_SHARED/e2e/lib.sh. Prints REKOR_TILES_POSIX=PATH.
# Usage: rekor-tiles-build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SIGNET_SHARED:-$(cd ../shared && pwd)}
source "$shared/e2e/lib.sh"
go=${GO:-go}
version=${SIGNET_E2E_REKOR_TILES_VERSION:-$($go list -m -f '{{.Version}}' github.com/sigstore/rekor-tiles/v2)}
bin=$E2E_CACHE/rekor-tiles-$version/rekor-server-posix
export GOFLAGS="-p=${SIGNET_E2E_BUILD_JOBS:-2} -trimpath -buildvcs=false"
lock_cache

if [[ ! -x $bin ]]; then
  # An interrupted install leaves only $bin.part/.
  start=$SECONDS
  rm -rf "$bin.part"
  GOBIN="$bin.part" $go install -ldflags "-s -w" "github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix@$version"
  mv "$bin.part/posix" "$bin" && rmdir "$bin.part"
  echo "installed rekor-tiles $version (posix) in $((SECONDS - start))s" >&2
fi
"$bin" version 2>&1 | grep GitVersion >&2 || true
echo "REKOR_TILES_POSIX=$bin"
