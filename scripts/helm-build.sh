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
# The default Kubernetes version helm assumes without a cluster (template,
# lint) is set at link time, as helm's own release builds do: 1.37, the
# client-go helm v3.22 is built with (unset, it is 1.20, older than the
# chart's kubeVersion).
kube_minor=${SIGNET_E2E_HELM_KUBE_MINOR:-37}
bin=$E2E_CACHE/helm-$version-k8s1.$kube_minor/helm
if [[ ! -x $bin ]]; then
  lock_cache
  if [[ ! -x $bin ]]; then
    export GOFLAGS="-p=${SIGNET_E2E_BUILD_JOBS:-2} -trimpath -buildvcs=false"
    start=$SECONDS
    rm -rf "$bin.part"
    GOBIN="$bin.part" $go install -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version \
      -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kube_minor \
      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kube_minor" "helm.sh/helm/v3/cmd/helm@$version"
    mv "$bin.part/helm" "$bin" && rmdir "$bin.part"
    echo "installed helm $version in $((SECONDS - start))s" >&2
  fi
fi
echo "HELM=$bin"
