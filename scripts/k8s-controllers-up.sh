#!/usr/bin/env bash
# k8s-controllers-up.sh K8SDIR — starts kube-controller-manager and
# kube-scheduler against the control plane $SIGNET_SHARED/e2e/k8s-up.sh K8SDIR
# started (its admin kubeconfig), on 127.0.0.1, logs and PIDs in K8SDIR. The
# controller manager publishes the API server's CA as kube-root-ca.crt in every
# namespace (what in-cluster clients trust) and signs nothing. Neither serves
# HTTPS (--secure-port=0): nothing here reads their health endpoints, and a
# port picked in advance could be taken as an outgoing connection's local
# port before they bind it ("bind: address already in use" failed a CI run).
# Stop with k8s-controllers-down.sh K8SDIR.
set -euo pipefail
shared=${SIGNET_SHARED:-$(cd "$(dirname "$0")/../../shared" && pwd)}
source "$shared/e2e/lib.sh"
[[ $# -eq 1 ]] || { echo "usage: $0 K8SDIR" >&2; exit 2; }
DIR=$(cd "$1" && pwd)
eval "$("$(dirname "$0")/k8s-controllers-build.sh" | sed 's/^/export /')"
"$KUBE_CONTROLLER_MANAGER" --kubeconfig="$DIR/kubeconfig" --authentication-kubeconfig="$DIR/kubeconfig" \
  --authorization-kubeconfig="$DIR/kubeconfig" --secure-port=0 \
  --leader-elect=false --root-ca-file="$DIR/certs/apiserver.crt" \
  --service-account-private-key-file="$DIR/sa.key" --use-service-account-credentials=false \
  --controllers='*,-nodeipam' >"$DIR/kube-controller-manager.log" 2>&1 &
echo $! >"$DIR/kube-controller-manager.pid"
"$KUBE_SCHEDULER" --kubeconfig="$DIR/kubeconfig" --authentication-kubeconfig="$DIR/kubeconfig" \
  --authorization-kubeconfig="$DIR/kubeconfig" --secure-port=0 \
  --leader-elect=false >"$DIR/kube-scheduler.log" 2>&1 &
echo $! >"$DIR/kube-scheduler.pid"
sleep 1
for p in kube-controller-manager kube-scheduler; do
  kill -0 "$(<"$DIR/$p.pid")" 2>/dev/null || { tail -20 "$DIR/$p.log" >&2; exit 1; }
done
echo "controller manager and scheduler running; logs in $DIR"
