// Package benchutil runs benchmark loads from many concurrent clients and
// reports throughput and latency percentiles as benchmark metrics. It is
// for tests only.
package benchutil

import (
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RunClients calls do(0) … do(b.N-1) from the given number of goroutines,
// each call timed on its own, and reports "<unit>/s" throughput, p50-ms
// and p99-ms latency, and cpu-µs/op: the CPU time (user + system) the whole
// test process spent per call, clients included. Errors fail the benchmark.
//
// Closed-loop clients each wait for their last call, so throughput is at
// most clients / latency; cpu-µs/op bounds it from the other side, at
// GOMAXPROCS / cpu-µs/op when the machine's CPUs are the limit.
func RunClients(b *testing.B, clients int, unit string, do func(i int) error) {
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
		wg        sync.WaitGroup
		next      = make(chan int)
	)
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t0 := time.Now()
				err := do(i)
				d := time.Since(t0)
				if err != nil {
					b.Error(err)
				}
				mu.Lock()
				latencies = append(latencies, d)
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < b.N; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), unit+"/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(Percentile(latencies, 0.50), "p50-ms")
	b.ReportMetric(Percentile(latencies, 0.99), "p99-ms")
}

// Percentile returns the p-th quantile (0 ≤ p ≤ 1) of ds in milliseconds,
// sorting ds in place; 0 for no durations.
func Percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) / 1000
}

// RunOpenLoop starts do(0) … do(b.N-1) at rate calls per second, each in
// its own goroutine whether or not earlier calls have returned, and
// reports "<unit>/s" throughput, p50-ms and p99-ms latency and cpu-µs/op
// as RunClients does. Call i is due at i/rate seconds after the start; a
// call that falls behind its time starts at once, so the rate holds on
// average even where the timer is coarser than 1/rate. Errors fail the
// benchmark.
func RunOpenLoop(b *testing.B, rate int, unit string, do func(i int) error) {
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
		wg        sync.WaitGroup
	)
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	for i := 0; i < b.N; i++ {
		if wait := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); wait > 0 {
			time.Sleep(wait)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			err := do(i)
			d := time.Since(t0)
			if err != nil {
				b.Error(err)
			}
			mu.Lock()
			latencies = append(latencies, d)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), unit+"/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(Percentile(latencies, 0.50), "p50-ms")
	b.ReportMetric(Percentile(latencies, 0.99), "p99-ms")
}

// processCPU returns the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
