package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// input is `go test -bench` output as `make bench` writes it, shortened:
// two packages, a loadavg line per command, one pair run twice.
const input = `loadavg: 0.10 0.20 0.30
goos: linux
pkg: github.com/signetproject/signet/tlog
BenchmarkAppend/ecdsa-p256-verify-2         	   58909	     58949 ns/op
BenchmarkAppend/posix/signet/clients=16-2   	     492	   7148459 ns/op	       140.0 appends/s	       600.0 cpu-µs/op
BenchmarkAppend/posix/tessera/clients=16-2  	     495	   6976716 ns/op	       143.3 appends/s	       570.2 cpu-µs/op
BenchmarkAppend/posix/signet/clients=16-2   	     492	   7148459 ns/op	       160.0 appends/s	       400.0 cpu-µs/op
BenchmarkAppend/posix/tessera/clients=16-2  	     495	   6976716 ns/op	       100.0 appends/s	       500.0 cpu-µs/op
BenchmarkAppendOpenLoop/posix/tessera/rate=100-2	337	10572060 ns/op	94.59 appends/s
PASS
loadavg: 1.50 1.00 0.50
pkg: github.com/signetproject/signet/e2e
    log_bench_test.go:150: rekor-tiles serve --hostname=rekor-tiles.bench.test
BenchmarkReport/signet/cold-2     	       3	         0 ns/op	       12.00 ms/image
BenchmarkReport/signet/warm-2     	       3	         0 ns/op	        2.00 ms/image
BenchmarkReport/cosign-v3-2       	       3	         0 ns/op	       60.00 ms/image
BenchmarkCAPeer/fulcio+signet-ct/clients=1-2	100	20000000 ns/op	50.00 certs/s
BenchmarkCAPeer/signet/clients=1-2	100	10000000 ns/op	100.0 certs/s
BenchmarkCLIStart/version-2	30	1000000 ns/op	0.3000 cosign/signet-p50
`

func TestCompare(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.txt")
	if err := os.WriteFile(path, []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	benches, err := read([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	got := compare(benches)
	want := []row{
		// ns/op is the same in both runs; appends/s is higher-better,
		// so signet's median 150 over tessera's 121.65; cpu-µs/op is
		// lower-better, so tessera's median 535.1 over signet's 500.
		{pair: "Append/posix/{signet,tessera}/clients=16", unit: "ns/op", signet: 7148459, peer: 6976716, better: 6976716.0 / 7148459, low: 6976716.0 / 7148459, high: 6976716.0 / 7148459, runs: 2, load: "0.10 0.20 0.30"},
		{pair: "Append/posix/{signet,tessera}/clients=16", unit: "appends/s", signet: 150, peer: 121.65, better: 150 / 121.65, low: 140 / 143.3, high: 160 / 100.0, runs: 2, load: "0.10 0.20 0.30"},
		{pair: "Append/posix/{signet,tessera}/clients=16", unit: "cpu-µs/op", signet: 500, peer: 535.1, better: 535.1 / 500, low: 500 / 600.0, high: 570.2 / 400, runs: 2, load: "0.10 0.20 0.30"},
		// A peer without signet's variants is the peer of each of them.
		{pair: "Report/{signet,cosign-v3}/cold", unit: "ms/image", signet: 12, peer: 60, better: 5, runs: 1, load: "1.50 1.00 0.50"},
		{pair: "Report/{signet,cosign-v3}/warm", unit: "ms/image", signet: 2, peer: 60, better: 30, runs: 1, load: "1.50 1.00 0.50"},
		// "fulcio+signet-ct" is a peer, not signet's.
		{pair: "CAPeer/{signet,fulcio+signet-ct}/clients=1", unit: "ns/op", signet: 10000000, peer: 20000000, better: 2, runs: 1, load: "1.50 1.00 0.50"},
		{pair: "CAPeer/{signet,fulcio+signet-ct}/clients=1", unit: "certs/s", signet: 100, peer: 50, better: 2, runs: 1, load: "1.50 1.00 0.50"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(row{}), cmpopts.EquateApprox(1e-9, 1e-6)); diff != "" {
		t.Errorf("compare (-want +got):\n%s", diff)
	}
}

func TestWrite(t *testing.T) {
	var b strings.Builder
	rows := []row{{pair: "LogAppendPeer/{signet,rekor-tiles}/clients=2048", unit: "appends/s", signet: 3345, peer: 1107, better: 3345.0 / 1107, low: 2.5, high: 3.5, runs: 3, load: "0.18 0.20 0.30"}}
	if err := write(&b, rows); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"LogAppendPeer/{signet,rekor-tiles}/clients=2048", "3345", "1107", "3.02", "2.50–3.50", "0.18 0.20 0.30"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

func TestReadRejectsBadLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.txt")
	if err := os.WriteFile(path, []byte("BenchmarkX-2 \t 10 \t twelve ns/op\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := read([]string{path}); err == nil || !strings.Contains(err.Error(), "bench.txt:1") {
		t.Errorf("read = %v, want an error naming bench.txt:1", err)
	}
}
