#!/usr/bin/env bash
# helm-build.sh — installs helm v3 from the Go module proxy into the e2e cache
# unless it is there, for the chart tests (e2e TestHelmChart) and `make deploy`.
# SIGNET_E2E_HELM_VERSION overrides the version. Cache layout and lock as in
# $SIGNET_SHARED/e2e/lib.sh. Prints HELM=PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SIGNET_SHARED:-$(cd ../shared && pwd)}
source "$shared/e2e/lib.sh"
go=${GO:-go}
version=${SIGNET_E2E_HELM_VERSION:-v3.22.0}
bin=$E2E_CACHE/helm-$version/helm
if [[ ! -x $bin ]]; then
  lock_cache
  if [[ ! -x $bin ]]; then
    export GOFLAGS="-p=${SIGNET_E2E_BUILD_JOBS:-2} -trimpath -buildvcs=false"
    start=$SECONDS
    rm -rf "$bin.part"
    GOBIN="$bin.part" $go install -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version" "helm.sh/helm/v3/cmd/helm@$version"
    mv "$bin.part/helm" "$bin" && rmdir "$bin.part"
    echo "installed helm $version in $((SECONDS - start))s" >&2
  fi
fi
echo "HELM=$bin"
