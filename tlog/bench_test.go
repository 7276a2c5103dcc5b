package tlog

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppend measures Append on the POSIX driver with 1 and 8 concurrent
// clients per GOMAXPROCS, from the call to the returned inclusion proof. It
// reports appends/s and the p50/p99 latency.
func BenchmarkAppend(b *testing.B) {
	for _, p := range []int{1, 8} {
		b.Run(fmt.Sprintf("parallelism=%d", p), func(b *testing.B) { benchmarkAppend(b, p) })
	}
}

func benchmarkAppend(b *testing.B, parallelism int) {
	l := openTestLog(b, b.TempDir(), newLogKey(b), DefaultOptions())
	s := newTestSigner(b)
	var (
		n         atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
	)
	b.SetParallelism(parallelism)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var local []time.Duration
		for pb.Next() {
			req := s.hashedRekord(b, fmt.Appendf(nil, "bench %d", n.Add(1)), s.certVerifier())
			t0 := time.Now()
			if _, err := l.Append(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		latencies = append(latencies, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "appends/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
