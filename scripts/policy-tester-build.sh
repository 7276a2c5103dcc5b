#!/usr/bin/env bash
# policy-tester-build.sh — builds policy-controller's own policy tester
# (github.com/sigstore/policy-controller/cmd/tester) from the Go module proxy
# into the e2e cache unless it is there, as the oracle of the catalog's
# differential e2e test (TestPolicyTesterCatalog). policy-controller's go.mod
# has replace directives, so `go install pkg@version` refuses it: the script
# downloads the module source, copies it and builds inside it, with the
# module's own go.sum pinning every dependency. Cache layout and lock as in
# $SIGNET_SHARED/e2e/lib.sh. Prints POLICY_TESTER=PATH and
# POLICY_CONTROLLER_SRC=DIR (the module source, read-only, for its examples).
# Usage: policy-tester-build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SIGNET_SHARED:-$(cd ../shared && pwd)}
source "$shared/e2e/lib.sh"
go=${GO:-go}
version=${SIGNET_E2E_POLICY_CONTROLLER_VERSION:-v0.13.1}
bin=$E2E_CACHE/policy-controller-$version/policy-tester
export GOFLAGS="-p=${SIGNET_E2E_BUILD_JOBS:-2} -trimpath -buildvcs=false"
lock_cache

src=$($go mod download -json "github.com/sigstore/policy-controller@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -d $src ]] || { echo "policy-tester-build.sh: no module source for policy-controller@$version" >&2; exit 1; }
if [[ ! -x $bin ]]; then
  start=$SECONDS
  work=$(mktemp -d)
  trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
  cp -r "$src" "$work/src" && chmod -R u+w "$work/src"
  mkdir -p "$(dirname "$bin")"
  # An interrupted build leaves only $bin.part.
  (cd "$work/src" && GOWORK=off $go build -ldflags "-s -w" -o "$bin.part" ./cmd/tester)
  mv "$bin.part" "$bin"
  echo "built policy-tester $version in $((SECONDS - start))s" >&2
fi
echo "POLICY_TESTER=$bin"
echo "POLICY_CONTROLLER_SRC=$src"
