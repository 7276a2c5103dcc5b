package policy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
)

// CUE evaluation cannot be interrupted: cuelang.org/go v0.17.1 takes no
// context and has no step or memory limit, so an evaluation abandoned at
// its deadline keeps running, and allocating, in its goroutine until it
// ends, minutes later for an expensive policy. With
// EvaluatorOptions.CUEWorker, evaluations run in child processes instead,
// one at a time each, and an evaluation still running at its deadline is
// stopped by killing its process.

// cueRequest and cueResponse are the worker protocol: one JSON document
// each way per evaluation, over the worker's stdin and stdout.
type cueRequest struct {
	Policy string `json:"policy"`
	Input  []byte `json:"input"`
}

type cueResponse struct {
	Error string `json:"error,omitempty"`
}

// cueWorkerPolicies is how many compiled policies a worker keeps.
const cueWorkerPolicies = 64

// ServeCUEWorker evaluates the CUE policies requested on r, one at a time,
// writing each result to w, until r ends: the body of a CUE worker process
// (see EvaluatorOptions.CUEWorker; `signet policy cue-worker`). Compiled
// policies are reused across requests.
func ServeCUEWorker(r io.Reader, w io.Writer) error {
	dec := json.NewDecoder(bufio.NewReader(r))
	out := bufio.NewWriter(w)
	enc := json.NewEncoder(out)
	policies := newLRU[*cuePolicy](cueWorkerPolicies)
	for {
		var req cueRequest
		if err := dec.Decode(&req); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("cue worker: read request: %w", err)
		}
		key := sha256.Sum256([]byte(req.Policy))
		p, ok := policies.get(key)
		if !ok {
			p = &cuePolicy{src: req.Policy, maxIdle: 1}
			policies.put(key, p)
		}
		var resp cueResponse
		if err := p.evaluate(req.Input); err != nil {
			resp.Error = err.Error()
		}
		if err := enc.Encode(resp); err != nil {
			return fmt.Errorf("cue worker: write response: %w", err)
		}
		if err := out.Flush(); err != nil {
			return fmt.Errorf("cue worker: write response: %w", err)
		}
	}
}

// cueWorker is a running worker process.
type cueWorker struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	enc    *json.Encoder
	dec    *json.Decoder
	stderr *tailBuffer
}

// startCUEWorker starts the process newCmd makes.
func startCUEWorker(newCmd func() *exec.Cmd) (*cueWorker, error) {
	cmd := newCmd()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	w := &cueWorker{cmd: cmd, stdin: stdin, enc: json.NewEncoder(stdin), dec: json.NewDecoder(bufio.NewReader(stdout)), stderr: &tailBuffer{max: 2048}}
	cmd.Stderr = w.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return w, nil
}

// call sends one request and reads its response.
func (w *cueWorker) call(src string, input []byte) (cueResponse, error) {
	var resp cueResponse
	if err := w.enc.Encode(cueRequest{Policy: src, Input: input}); err != nil {
		return resp, err
	}
	if err := w.dec.Decode(&resp); err != nil {
		return resp, err
	}
	return resp, nil
}

// stop ends the worker: kill it when it is busy, else close its input so
// that it exits; then reap it.
func (w *cueWorker) stop(kill bool) {
	if kill {
		_ = w.cmd.Process.Kill()
	}
	_ = w.stdin.Close()
	_ = w.cmd.Wait()
}

// exitError says how a worker that failed mid-request ended.
func (w *cueWorker) exitError(err error) error {
	w.stop(true)
	if s := bytes.TrimSpace(w.stderr.bytes()); len(s) > 0 {
		return fmt.Errorf("CUE worker failed: %w: %s", err, s)
	}
	return fmt.Errorf("CUE worker failed: %w (%v)", err, w.cmd.ProcessState)
}

// cueWorkers is a pool of idle workers.
type cueWorkers struct {
	newCmd  func() *exec.Cmd
	maxIdle int

	mu     sync.Mutex
	idle   []*cueWorker
	closed bool
}

func (p *cueWorkers) get() (*cueWorker, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return w, nil
	}
	p.mu.Unlock()
	return startCUEWorker(p.newCmd)
}

func (p *cueWorkers) put(w *cueWorker) {
	p.mu.Lock()
	if !p.closed && len(p.idle) < p.maxIdle {
		p.idle = append(p.idle, w)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	w.stop(false)
}

func (p *cueWorkers) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, w := range idle {
		w.stop(false)
	}
}

// evaluateCUEWorker evaluates a CUE policy in a worker process holding a
// slot of e.cueSlots, and kills the process at ctx's deadline: the slot
// is free again once the process is gone.
func (e *Evaluator) evaluateCUEWorker(ctx context.Context, src string, input []byte) error {
	select {
	case e.cueSlots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("no free CUE evaluation slot (%d evaluations running): %w", cap(e.cueSlots), context.Cause(ctx))
	}
	defer func() { <-e.cueSlots }()
	w, err := e.workers.get()
	if err != nil {
		return fmt.Errorf("start CUE worker: %w", err)
	}
	type result struct {
		resp cueResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := w.call(src, input)
		done <- result{resp, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return w.exitError(r.err)
		}
		e.workers.put(w)
		if r.resp.Error != "" {
			return errors.New(r.resp.Error)
		}
		return nil
	case <-ctx.Done():
		_ = w.cmd.Process.Kill()
		<-done // the pipes close with the process
		w.stop(false)
		return context.Cause(ctx)
	}
}

// Close stops the idle CUE worker processes; evaluations after Close
// start and stop a worker each. Call it at shutdown, after Wait.
func (e *Evaluator) Close() {
	if e.workers != nil {
		e.workers.close()
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = b.buf[len(b.buf)-b.max:]
	}
	return len(p), nil
}

func (b *tailBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf)
}
