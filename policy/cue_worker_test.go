package policy

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cueWorkerEnv makes this test binary a CUE worker (see TestMain).
const cueWorkerEnv = "SIGNET_TEST_CUE_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(cueWorkerEnv) == "1" {
		if err := ServeCUEWorker(os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testCUEWorker runs this test binary as a CUE worker.
func testCUEWorker() *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), cueWorkerEnv+"=1")
	return cmd
}

// workerRecorder remembers the worker processes it started.
type workerRecorder struct {
	mu   sync.Mutex
	cmds []*exec.Cmd
}

func (r *workerRecorder) start() *exec.Cmd {
	cmd := testCUEWorker()
	r.mu.Lock()
	r.cmds = append(r.cmds, cmd)
	r.mu.Unlock()
	return cmd
}

// alive counts the started workers whose process still exists.
func (r *workerRecorder) alive() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.cmds {
		if c.Process != nil && syscall.Kill(c.Process.Pid, 0) == nil {
			n++
		}
	}
	return n
}

// TestCUEWorkerKilledAtDeadline: a CUE evaluation still running at its
// deadline stops: its worker process is killed, so no CPU or memory is
// spent on it afterwards, and its slot is free at once. (In process, the
// same evaluation runs on for minutes; see TestEvaluatePolicyTimeout.)
func TestCUEWorkerKilledAtDeadline(t *testing.T) {
	const timeout = 300 * time.Millisecond
	rec := &workerRecorder{}
	e := newTestEvaluator(t, EvaluatorOptions{Timeout: timeout, MaxCUEEvaluations: 1, CUEWorker: rec.start})
	for i := range 3 {
		start := time.Now()
		err := e.EvaluatePolicy(context.Background(), "slow", &Policy{Type: PolicyTypeCUE, Data: slowCUE}, []byte(`{}`))
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "took longer than 300ms") {
			t.Errorf("evaluation %d: %v", i, err)
		}
		if d := time.Since(start); d > timeout+5*time.Second {
			t.Errorf("evaluation %d took %s", i, d)
		}
		// The one slot is free again, without waiting for the evaluation.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := e.Wait(ctx); err != nil {
			t.Errorf("evaluation %d still holds its slot: %v", i, err)
		}
		cancel()
		if n := rec.alive(); n != 0 {
			t.Errorf("%d worker processes alive after evaluation %d was abandoned", n, i)
		}
	}
	// Workers serve the next evaluations, and are reused (with the
	// default timeout: starting a worker takes a while on a busy machine).
	rec = &workerRecorder{}
	e = newTestEvaluator(t, EvaluatorOptions{MaxCUEEvaluations: 1, CUEWorker: rec.start})
	for range 3 {
		if err := e.EvaluatePolicy(context.Background(), "ok", &Policy{Type: PolicyTypeCUE, Data: `a: 1`}, []byte(`{"a":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.EvaluatePolicy(context.Background(), "bad", &Policy{Type: PolicyTypeCUE, Data: `a: 1`}, []byte(`{"a":2}`)); err == nil || !strings.Contains(err.Error(), "conflicting values") {
		t.Errorf("failing policy: %v", err)
	}
	if n := len(rec.cmds); n != 1 {
		t.Errorf("%d workers started, want 1, reused", n)
	}
	e.Close()
	deadline := time.Now().Add(5 * time.Second)
	for rec.alive() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := rec.alive(); n != 0 {
		t.Errorf("%d workers alive after Close", n)
	}
}

// TestCUEWorkerSlots: no more CUE worker evaluations run at once than
// MaxCUEEvaluations; one that finds no free slot by its deadline fails
// without starting a process.
func TestCUEWorkerSlots(t *testing.T) {
	rec := &workerRecorder{}
	e := newTestEvaluator(t, EvaluatorOptions{Timeout: time.Minute, MaxCUEEvaluations: 1, CUEWorker: rec.start})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.EvaluatePolicy(ctx, "slow", &Policy{Type: PolicyTypeCUE, Data: slowCUE}, []byte(`{}`))
	}()
	for deadline := time.Now().Add(10 * time.Second); len(e.cueSlots) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first evaluation never took its slot")
		}
	}
	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err := e.EvaluatePolicy(short, "second", &Policy{Type: PolicyTypeCUE, Data: `a: 1`}, []byte(`{"a":1}`))
	cancelShort()
	if err == nil || !strings.Contains(err.Error(), "no free CUE evaluation slot") {
		t.Errorf("second evaluation with the slot taken: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled evaluation: %v", err)
	}
	rec.mu.Lock()
	started := len(rec.cmds)
	rec.mu.Unlock()
	if started != 1 {
		t.Errorf("%d workers started, want 1", started)
	}
}

// TestCUEWorkerFailure: a worker that cannot start or dies mid-request
// fails the evaluation with why.
func TestCUEWorkerFailure(t *testing.T) {
	e := newTestEvaluator(t, EvaluatorOptions{CUEWorker: func() *exec.Cmd { return exec.Command("/nonexistent/signet") }})
	if err := e.EvaluatePolicy(context.Background(), "p", &Policy{Type: PolicyTypeCUE, Data: `a: 1`}, []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "start CUE worker") {
		t.Errorf("missing worker binary: %v", err)
	}
	e = newTestEvaluator(t, EvaluatorOptions{CUEWorker: func() *exec.Cmd { return exec.Command("sh", "-c", "echo worker crashed >&2; exit 3") }})
	if err := e.EvaluatePolicy(context.Background(), "p", &Policy{Type: PolicyTypeCUE, Data: `a: 1`}, []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "worker crashed") {
		t.Errorf("crashing worker: %v", err)
	}
}

// BenchmarkCUEEvaluation compares a typical attestation policy evaluated
// in process, in a warm worker process, and in a new worker process each
// time (what an evaluation after a kill costs).
func BenchmarkCUEEvaluation(b *testing.B) {
	pol := &Policy{Type: PolicyTypeCUE, Data: `predicateType: "https://cosign.sigstore.dev/attestation/v1"
predicate: Data: "foobar e2e test"`}
	input := []byte(cosignCustomAttestation)
	for _, bc := range []struct {
		name string
		opts EvaluatorOptions
	}{
		{"in-process", EvaluatorOptions{}},
		{"worker", EvaluatorOptions{CUEWorker: testCUEWorker}},
		{"worker-cold", EvaluatorOptions{CUEWorker: testCUEWorker, MaxCUEEvaluations: 1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newTestEvaluator(b, bc.opts)
			for b.Loop() {
				if bc.name == "worker-cold" {
					e.workers.close()
					e.workers.closed = false
				}
				if err := e.EvaluatePolicy(context.Background(), "bench", pol, input); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
