package policy

import (
	"context"
	"fmt"
	"sync"

	cuelang "cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
)

// cueInstanceUses is how many evaluations a compiled CUE value serves
// before it is dropped: each input leaves its labels interned in the
// value's cue.Context, so a context must not live for ever.
const cueInstanceUses = 256

// cuePolicy is a CUE policy text with a pool of compiled values. A
// cue.Context, and the values built in it, may be used by one goroutine at
// a time, so each evaluation takes an instance from the pool (or compiles
// one) and returns it when done.
type cuePolicy struct {
	src     string
	maxIdle int

	mu         sync.Mutex
	compileErr error // the policy's compile error, once known
	idle       []*cueInstance
}

// cueInstance is the policy compiled in its own cue.Context.
type cueInstance struct {
	ctx    *cuelang.Context
	policy cuelang.Value
	uses   int
}

// evaluateCUE evaluates a CUE policy as cosign's evaluateCue does, in a
// goroutine holding a slot of e.cueSlots, and gives up at ctx's deadline;
// or in a worker process (see evaluateCUEWorker).
func (e *Evaluator) evaluateCUE(ctx context.Context, src string, input []byte) error {
	if e.workers != nil {
		return e.evaluateCUEWorker(ctx, src, input)
	}
	c := e.compiledFor(PolicyTypeCUE, src, func() (*compiledPolicy, bool) {
		return &compiledPolicy{cue: &cuePolicy{src: src, maxIdle: e.opts.MaxCUEEvaluations}}, true
	})
	p := c.cue
	if err := p.knownCompileError(); err != nil {
		return err
	}
	select {
	case e.cueSlots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("no free CUE evaluation slot (%d evaluations running): %w", cap(e.cueSlots), context.Cause(ctx))
	}
	done := make(chan error, 1)
	go func() {
		// This goroutine may outlive the call (CUE cannot be
		// interrupted); its slot bounds how many do.
		defer func() { <-e.cueSlots }()
		done <- p.evaluate(input)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (p *cuePolicy) knownCompileError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.compileErr
}

// evaluate unifies the policy with the input and validates the result,
// with cosign's error messages. A panic in CUE becomes an error.
func (p *cuePolicy) evaluate(input []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("CUE evaluator panicked: %v", r)
		}
	}()
	inst, err := p.instance()
	if err != nil {
		return err
	}
	att := inst.ctx.CompileBytes(input)
	if err := att.Err(); err != nil {
		// Inputs compiled into a context stay there; drop it.
		return fmt.Errorf("failed to compile the attestation data with error: %w", err)
	}
	err = inst.policy.Unify(att).Validate()
	// A failed validation leaves the instance usable.
	p.release(inst)
	if err != nil {
		return fmt.Errorf("failed to evaluate the policy with error: %w", err)
	}
	return nil
}

// instance takes an idle compiled instance or compiles a new one.
func (p *cuePolicy) instance() (*cueInstance, error) {
	p.mu.Lock()
	if p.compileErr != nil {
		defer p.mu.Unlock()
		return nil, p.compileErr
	}
	if n := len(p.idle); n > 0 {
		inst := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return inst, nil
	}
	p.mu.Unlock()

	ctx := cuecontext.New()
	v := ctx.CompileString(p.src)
	if err := v.Err(); err != nil {
		err = fmt.Errorf("failed to compile the cue policy with error: %w", err)
		p.mu.Lock()
		p.compileErr = err
		p.mu.Unlock()
		return nil, err
	}
	return &cueInstance{ctx: ctx, policy: v}, nil
}

// release returns an instance to the pool unless it is worn out or the
// pool is full.
func (p *cuePolicy) release(inst *cueInstance) {
	inst.uses++
	if inst.uses >= cueInstanceUses {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) < p.maxIdle {
		p.idle = append(p.idle, inst)
	}
}

// Wait blocks until no CUE evaluation is running, including ones
// EvaluatePolicy abandoned at their deadline, or until ctx ends. Call it
// at shutdown, after the last EvaluatePolicy call has returned, so no
// evaluation outlives its owner.
func (e *Evaluator) Wait(ctx context.Context) error {
	held := 0
	defer func() {
		for range held {
			<-e.cueSlots
		}
	}()
	for held < cap(e.cueSlots) {
		select {
		case e.cueSlots <- struct{}{}:
			held++
		case <-ctx.Done():
			return fmt.Errorf("wait for CUE evaluations: %w", ctx.Err())
		}
	}
	return nil
}
