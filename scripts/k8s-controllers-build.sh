#!/usr/bin/env bash
# k8s-controllers-build.sh — builds kube-scheduler and kube-controller-manager
# (the Kubernetes version of $SIGNET_SHARED/e2e/lib.sh) into the e2e cache the
# way $SIGNET_SHARED/e2e/node-build.sh builds kubelet, so that Deployments,
# ReplicaSets, Endpoints and garbage collection work in e2e clusters. Skips what
# is cached. Prints KUBE_SCHEDULER=PATH and KUBE_CONTROLLER_MANAGER=PATH.
set -euo pipefail
shared=${SIGNET_SHARED:-$(cd "$(dirname "$0")/../../shared" && pwd)}
source "$shared/e2e/lib.sh"
OUTDIR=$E2E_CACHE/kubernetes-$K8S_VERSION
if [[ ! -x $OUTDIR/kube-scheduler || ! -x $OUTDIR/kube-controller-manager ]]; then
  lock_cache
  export GOFLAGS="-p=${SIGNET_E2E_BUILD_JOBS:-2} -trimpath -buildvcs=false"
  mkdir -p "$OUTDIR"
  work=$(mktemp -d /tmp/controllers-build.XXXXXX); trap 'rm -rf "$work"' EXIT
  cd "$work" && go mod init signet-e2e/controllers >/dev/null 2>&1
  # k8s.io/kubernetes requires its staging modules at v0.0.0 (replaced by
  # ./staging in its own tree): point them at the published versions.
  staging=v0.${K8S_VERSION#v1.}
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
  for m in $(awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "$gomod"); do
    if grep -q "^	$m v0.0.0$" "$gomod"; then go mod edit -replace="$m=$m@$staging"; fi
  done
  go mod edit -require="k8s.io/kubernetes@$K8S_VERSION"
  go get "k8s.io/kubernetes/cmd/kube-scheduler@$K8S_VERSION" "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION"
  v=k8s.io/component-base/version minor=${K8S_VERSION#v1.}
  LD="-s -w -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=${minor%%.*} -X $v.gitTreeState=clean"
  for b in kube-scheduler kube-controller-manager; do
    [[ -x $OUTDIR/$b ]] && continue
    t=$SECONDS
    go build -o "$OUTDIR/$b.part" -ldflags "$LD" "k8s.io/kubernetes/cmd/$b"
    mv "$OUTDIR/$b.part" "$OUTDIR/$b"
    echo "built $b $K8S_VERSION in $((SECONDS - t))s" >&2
  done
fi
echo "KUBE_SCHEDULER=$OUTDIR/kube-scheduler"
echo "KUBE_CONTROLLER_MANAGER=$OUTDIR/kube-controller-manager"
