#!/usr/bin/env bash
# versitygw-build.sh — installs versitygw (github.com/versity/versitygw,
# Apache-2.0), an S3-compatible server, from the Go module proxy into the e2e
# cache unless it is there: with its POSIX backend in a temporary directory it
# is the object store of the scale-out log tests (Tessera's AWS driver; see
# scripts/versitygw-up.sh). The module has no replace directives, so
# `go install pkg@version` builds it with the module's own go.sum pinning
# every dependency. SIGNET_E2E_VERSITYGW_VERSION overrides the version.
# Cache layout and lock as in $SIGNET_SHARED/e2e/lib.sh. Prints VERSITYGW=PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SIGNET_SHARED:-$(cd ../shared && pwd)}
source "$shared/e2e/lib.sh"
go=${GO:-go}
version=${SIGNET_E2E_VERSITYGW_VERSION:-v1.8.0}
bin=$E2E_CACHE/versitygw-$version/versitygw
if [[ ! -x $bin ]]; then
  lock_cache
  if [[ ! -x $bin ]]; then
    export GOFLAGS="-p=${SIGNET_E2E_BUILD_JOBS:-2} -trimpath -buildvcs=false"
    start=$SECONDS
    rm -rf "$bin.part"
    mkdir -p "$(dirname "$bin")"
    # An interrupted build leaves only $bin.part.
    GOBIN="$bin.part" GOWORK=off $go install -ldflags "-s -w" "github.com/versity/versitygw/cmd/versitygw@$version"
    mv "$bin.part/versitygw" "$bin" && rmdir "$bin.part"
    echo "installed versitygw $version in $((SECONDS - start))s" >&2
  fi
fi
echo "VERSITYGW=$bin"
