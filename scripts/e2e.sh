#!/usr/bin/env bash
# e2e.sh — what `make e2e` runs: real peers (cosign, MariaDB, kube-apiserver)
# against signet. Peer binaries are cached in $SIGNET_E2E_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."
export SIGNET_E2E_CACHE=${SIGNET_E2E_CACHE:-$HOME/.cache/signet-e2e}
export SIGNET_SHARED=${SIGNET_SHARED:-$(cd ../shared && pwd)}
go=${GO:-go}

work=$(mktemp -d)
cleanup() {
  [ -f "$work/mariadb/mariadb.pid" ] && kill "$(cat "$work/mariadb/mariadb.pid")" 2>/dev/null || true
  [ -f "$work/versitygw/versitygw.pid" ] && kill "$(cat "$work/versitygw/versitygw.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(( 20000 + RANDOM % 12000 )) # below the ephemeral range, as e2e freePort
echo "== MariaDB for the scale-out log (port $port)"
export SIGNET_TEST_MYSQL_URL=$(scripts/mariadb-up.sh "$work/mariadb" "$port")
s3port=$(( 20000 + RANDOM % 12000 ))
echo "== versitygw (S3-compatible) for the scale-out log on Tessera's AWS driver (port $s3port)"
export SIGNET_TEST_S3_URL=$(scripts/versitygw-up.sh "$work/versitygw" "$s3port")
export AWS_ACCESS_KEY_ID=signet AWS_SECRET_ACCESS_KEY=signet-secret

echo "== transparency log on MySQL"
$go test -count=1 -run 'TestMySQLScaleOut|TestSearchUIMySQL|TestAWS' ./server/
$go test -count=1 -run 'TestMySQLIndex' ./search/
# The logs' own MySQL and object-store tests (they skip without the URLs).
$go test -count=1 ./tlog/... ./ctlog/

# Peer binaries are built (once, into $SIGNET_E2E_CACHE) before the tests
# start, so that their timeout bounds the tests and not a cold build (about
# 50 minutes of builds on 2 cores). A build that fails here is not fatal:
# the test that needs it runs the script again and reports the failure.
echo "== peer binaries in $SIGNET_E2E_CACHE"
for script in "$SIGNET_SHARED"/e2e/{cosign,k8s,node}-build.sh \
  scripts/{fulcio,helm,k8s-controllers,oidc-provider,policy-tester,rekor-tiles}-build.sh; do
  start=$SECONDS rc=0
  GO=$go bash "$script" > /dev/null || rc=$?
  if ((rc == 0)); then
    echo "${script##*/}: ready in $((SECONDS - start))s"
  else
    echo "${script##*/}: exit $rc after $((SECONDS - start))s; the tests that need it will run it again" >&2
  fi
done

echo "== interop with real peers (build tag e2e)"
$go test -tags e2e -count=1 -timeout 40m ./e2e/...
