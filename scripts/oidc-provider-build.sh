#!/usr/bin/env bash
# oidc-provider-build.sh — builds the third-party OpenID provider of the identity e2e
# tests (e2e/identity_test.go) into the e2e cache unless it is there: zitadel/oidc's
# example OP (its op package, login pages and in-memory storage) behind the small main
# in scripts/zitadel-op, a module of its own that pins zitadel/oidc and its
# dependencies (go.sum), fetched from the Go module proxy. The cache directory is named
# after the zitadel/oidc version and a hash of the main and go.sum, so an edit rebuilds.
# Cache layout and lock as in $SIGNET_SHARED/e2e/lib.sh. Prints ZITADEL_OP=PATH.
# Usage: oidc-provider-build.sh
set -euo pipefail
cd "$(dirname "$0")/zitadel-op"
shared=${SIGNET_SHARED:-$(cd ../../../shared && pwd)}
source "$shared/e2e/lib.sh"
go=${GO:-go}
version=$($go list -m -f '{{.Version}}' github.com/zitadel/oidc/v3)
sum=$(cat main.go go.mod go.sum | sha256sum | cut -c1-12)
bin=$E2E_CACHE/zitadel-op-$version-$sum/zitadel-op
export GOFLAGS="-p=${SIGNET_E2E_BUILD_JOBS:-2} -trimpath -buildvcs=false -mod=readonly"
# Built already (binaries are renamed into place whole): no need to wait for the lock.
[[ -x $bin ]] && { echo "ZITADEL_OP=$bin"; exit 0; }
lock_cache
if [[ ! -x $bin ]]; then
  start=$SECONDS
  mkdir -p "$(dirname "$bin")"
  rm -f "$bin.part"
  $go build -ldflags "-s -w" -o "$bin.part" .
  mv "$bin.part" "$bin"
  echo "built zitadel/oidc $version example OP in $((SECONDS - start))s" >&2
fi
echo "ZITADEL_OP=$bin"
