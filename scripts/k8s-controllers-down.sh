#!/usr/bin/env bash
# k8s-controllers-down.sh K8SDIR — stops what k8s-controllers-up.sh K8SDIR started.
set -euo pipefail
shared=${SIGNET_SHARED:-$(cd "$(dirname "$0")/../../shared" && pwd)}
source "$shared/e2e/lib.sh"
DIR=$(cd "$1" && pwd)
stop_pidfile "$DIR/kube-scheduler.pid" kube-scheduler
stop_pidfile "$DIR/kube-controller-manager.pid" kube-controller # comm is cut at 15 characters
