#!/usr/bin/env bash
# bench.sh — what `make bench` runs: the Go benchmarks, then the e2e ones
# against real peers (rekor-tiles, Fulcio, cosign), each signet figure next
# to its peer's from the same run. All output goes to bin/bench.txt too,
# with a "loadavg:" line (/proc/loadavg) before each command, and ends with
# the table internal/tools/benchratio makes of it: how many times better
# signet is than each peer, metric by metric. BENCH_COUNT=3 runs each
# benchmark three times; the table then gives the median and the spread.
set -euo pipefail
cd "$(dirname "$0")/.."
export SIGNET_E2E_CACHE=${SIGNET_E2E_CACHE:-$HOME/.cache/signet-e2e}
export SIGNET_SHARED=${SIGNET_SHARED:-$(cd ../shared && pwd)}
export GO=${GO:-go}
count=${BENCH_COUNT:-1}
out=bin/bench.txt
mkdir -p bin
: >"$out"

# run ARGS...: one `go test` command, its output on the terminal and in $out.
run() {
  echo "loadavg: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
  "$GO" test -run '^$' -count "$count" "$@" 2>&1 | tee -a "$out"
}

# BenchmarkAppend's closed loops run 5 s each: at 2,048 clients one second
# is about ten checkpoint rounds, and signet's appends/s over Tessera's
# spread 0.71–1.02 over six 1 s runs, 0.84–0.86 over three 5 s runs.
run -bench . -skip '^BenchmarkAppend$' -benchmem ./...
run -bench '^BenchmarkAppend$' -benchtime 5s -benchmem ./tlog/
run -tags e2e -bench ImageVerify -benchtime 20x ./e2e/
# BenchmarkLogAppendPeer gets a -benchtime duration, not a count: up to
# 2048 clients share its b.N appends.
run -tags e2e -bench LogAppendPeer -benchtime 5s ./e2e/
run -tags e2e -bench CAPeer -benchtime 3s ./e2e/
run -tags e2e -bench BenchmarkReport -benchtime 3x -timeout 30m ./e2e/
run -tags e2e -bench CLIStart -benchtime 30x ./e2e/

echo
echo "== signet against its peers (from $out)"
"$GO" run ./internal/tools/benchratio "$out"
