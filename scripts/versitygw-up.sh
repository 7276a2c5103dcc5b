#!/usr/bin/env bash
# versitygw-up.sh DIR PORT — start a throwaway S3-compatible object store
# (versitygw, built by scripts/versitygw-build.sh) on 127.0.0.1:PORT with
# its POSIX backend under DIR, create bucket "signet", and print the
# --log-objects URL for it. Its root credentials are signet/signet-secret:
# export AWS_ACCESS_KEY_ID=signet AWS_SECRET_ACCESS_KEY=signet-secret for
# signet and the tests (which create buckets of their own).
# Stop it with: kill "$(cat DIR/versitygw.pid)"
set -euo pipefail
dir=${1:?usage: versitygw-up.sh DIR PORT}
port=${2:?usage: versitygw-up.sh DIR PORT}
cd "$(dirname "$0")/.."
bin=$(scripts/versitygw-build.sh | sed -n 's/^VERSITYGW=//p')
mkdir -p "$dir/data"
dir=$(cd "$dir" && pwd)
# Object metadata (ETags, checksums, content types) is kept in extended
# attributes, set on a new object's file before it replaces the old one: a
# --sidecar directory is written separately, and a read racing an overwrite
# (the log's checkpoint is rewritten every second) then gets the new data
# with the old checksum.
"$bin" --access signet --secret signet-secret --port "127.0.0.1:$port" --quiet \
  posix "$dir/data" >"$dir/versitygw.log" 2>&1 &
echo $! >"$dir/versitygw.pid"
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    # A bucket is a directory of the backend's top level.
    mkdir -p "$dir/data/signet"
    echo "s3://signet?endpoint=http://127.0.0.1:$port"
    exit 0
  fi
  kill -0 "$(cat "$dir/versitygw.pid")" 2>/dev/null || break
  sleep 0.1
done
echo "versitygw did not start; see $dir/versitygw.log" >&2
tail -20 "$dir/versitygw.log" >&2
exit 1
