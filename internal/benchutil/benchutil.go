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
		wg   sync.WaitGroup
		next = make(chan int)
	)
	run := startRun(b)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				run.call(do, i)
			}
		}()
	}
	for i := 0; i < b.N; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	run.report(unit)
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
	var wg sync.WaitGroup
	run := startRun(b)
	for i := 0; i < b.N; i++ {
		if wait := time.Until(run.start.Add(time.Duration(i) * time.Second / time.Duration(rate))); wait > 0 {
			time.Sleep(wait)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			run.call(do, i)
		}()
	}
	wg.Wait()
	run.report(unit)
}

// run times the calls of one benchmark run and reports its metrics.
type run struct {
	b         *testing.B
	start     time.Time
	cpu0      time.Duration
	mu        sync.Mutex
	latencies []time.Duration
}

// startRun resets b's timer and starts the clock and the CPU count.
func startRun(b *testing.B) *run {
	b.ResetTimer()
	return &run{b: b, start: time.Now(), cpu0: processCPU(), latencies: make([]time.Duration, 0, b.N)}
}

// call calls do(i), failing the benchmark on an error, and records how long
// it took.
func (r *run) call(do func(i int) error, i int) {
	t0 := time.Now()
	err := do(i)
	d := time.Since(t0)
	if err != nil {
		r.b.Error(err)
	}
	r.mu.Lock()
	r.latencies = append(r.latencies, d)
	r.mu.Unlock()
}

// report stops b's timer and reports "<unit>/s", cpu-µs/op, p50-ms and
// p99-ms.
func (r *run) report(unit string) {
	elapsed, cpu := time.Since(r.start), processCPU()-r.cpu0
	r.b.StopTimer()
	r.b.ReportMetric(float64(r.b.N)/elapsed.Seconds(), unit+"/s")
	r.b.ReportMetric(float64(cpu.Microseconds())/float64(r.b.N), "cpu-µs/op")
	r.b.ReportMetric(Percentile(r.latencies, 0.50), "p50-ms")
	r.b.ReportMetric(Percentile(r.latencies, 0.99), "p99-ms")
}

// processCPU returns the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
