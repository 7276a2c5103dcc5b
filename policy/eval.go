package policy

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"sync"
	"time"
)

// Defaults of EvaluatorOptions.
const (
	// DefaultEvalTimeout bounds one policy evaluation.
	DefaultEvalTimeout = 5 * time.Second
	// DefaultFetchTimeout bounds fetching one remote policy.
	DefaultFetchTimeout = 10 * time.Second
	// DefaultMaxPolicySize is the largest policy text accepted, in bytes.
	DefaultMaxPolicySize = 512 << 10
	// DefaultPolicyCacheSize is how many compiled policies are cached.
	DefaultPolicyCacheSize = 256
	// DefaultMaxCUEEvaluations bounds the CUE evaluations running at once,
	// including ones abandoned at their deadline (see [Evaluator]).
	DefaultMaxCUEEvaluations = 16
	// maxIdleCUEWorkers is how many idle CUE worker processes are kept.
	maxIdleCUEWorkers = 4
)

// ConfigMapGetter returns the data of a ConfigMap, for policies given by
// configMapRef. The admission controller backs it with an informer,
// `signet policy test` with files. Namespace is the reference's, and empty
// when the reference has none: the getter then uses its own default (for
// policy-controller, the namespace it runs in). It must be safe for
// concurrent use.
type ConfigMapGetter interface {
	ConfigMapData(ctx context.Context, namespace, name string) (map[string]string, error)
}

// HTTPDoer sends an HTTP request; *http.Client implements it. Remote
// policies are fetched through it.
type HTTPDoer interface {
	Do(req *http.Request) (*http.Response, error)
}

// EvaluatorOptions configure an Evaluator. The zero value is valid: it uses
// the defaults above, fails configMapRef policies, and fetches remote
// policies with a plain http.Client.
type EvaluatorOptions struct {
	// Timeout bounds each evaluation (on top of the caller's context);
	// default DefaultEvalTimeout.
	Timeout time.Duration
	// FetchTimeout bounds fetching a remote policy; default
	// DefaultFetchTimeout.
	FetchTimeout time.Duration
	// MaxPolicySize is the largest policy text, in bytes, from any source;
	// default DefaultMaxPolicySize.
	MaxPolicySize int
	// CacheSize is how many compiled policies (by content hash) and
	// fetched remote policies are kept; default DefaultPolicyCacheSize.
	CacheSize int
	// MaxCUEEvaluations bounds the CUE evaluations in flight; default
	// DefaultMaxCUEEvaluations.
	MaxCUEEvaluations int
	// ConfigMaps resolves configMapRef policies. Without it they fail.
	ConfigMaps ConfigMapGetter
	// HTTPClient fetches remote (url) policies; default a new http.Client.
	HTTPClient HTTPDoer
	// CUEWorker, when set, makes the command of a CUE worker process: one
	// that runs ServeCUEWorker on its stdin and stdout, such as `signet
	// policy cue-worker`. CUE evaluations then run in worker processes, at
	// most MaxCUEEvaluations at once, and one still running at its
	// deadline is killed with its process. Without it, CUE runs in this
	// process, where an evaluation abandoned at its deadline runs on (it
	// cannot be interrupted) holding one of the MaxCUEEvaluations slots.
	CUEWorker func() *exec.Cmd
	// UnsafeRegoBuiltins lets Rego policies call http.send,
	// net.lookup_ip_addr and opa.runtime, as policy-controller does. They
	// are off by default: they let a policy make network requests from
	// the admission path or read the process environment.
	UnsafeRegoBuiltins bool
}

// Validate reports negative limits.
func (o *EvaluatorOptions) Validate() error {
	for _, v := range []struct {
		name string
		neg  bool
	}{
		{"timeout", o.Timeout < 0},
		{"fetch timeout", o.FetchTimeout < 0},
		{"max policy size", o.MaxPolicySize < 0},
		{"cache size", o.CacheSize < 0},
		{"max CUE evaluations", o.MaxCUEEvaluations < 0},
	} {
		if v.neg {
			return fmt.Errorf("evaluator options: %s must not be negative", v.name)
		}
	}
	return nil
}

// Evaluator is signet's PolicyEvaluator: it evaluates CUE and Rego
// policies exactly as policy-controller v0.13.1 does (through cosign's
// EvaluatePolicyAgainstJSON), with their error messages, and adds a
// deadline, a size limit and a cache of compiled policies keyed by content
// hash. It is safe for concurrent use.
//
// CUE: the policy and the input (compiled as CUE, as policy-controller
// does) are unified and the result must validate. Like policy-controller,
// this does not require the result to be concrete, and fields the policy
// sets that the input lacks are simply added: a policy constrains only the
// fields the input has.
//
// Rego: the module must be `package sigstore` in Rego v0 syntax (v1 syntax
// needs `import rego.v1`, as in policy-controller) and
// data.sigstore.isCompliant must be true, or be a set of objects
// {"result": bool, "error": string, "warning": string}; a compliant
// result with a warning fails with "warning: <warning>", because
// policy-controller fails on warnings.
//
// Rego evaluation stops at the deadline. CUE evaluation cannot be
// interrupted: at the deadline EvaluatePolicy returns, and the evaluation
// goes on in its goroutine, holding one of MaxCUEEvaluations slots, until
// it finishes; when all slots are held, CUE policies fail at their
// deadline. With EvaluatorOptions.CUEWorker, CUE runs in worker processes
// instead, and an evaluation at its deadline is killed.
type Evaluator struct {
	opts     EvaluatorOptions
	compiled *lru[*compiledPolicy]
	remote   *lru[string]
	cueSlots chan struct{}
	workers  *cueWorkers // nil: CUE runs in this process
}

var _ PolicyEvaluator = (*Evaluator)(nil)

// NewEvaluator returns an Evaluator with the options, defaulted.
func NewEvaluator(opts EvaluatorOptions) (*Evaluator, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("new policy evaluator: %w", err)
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultEvalTimeout
	}
	if opts.FetchTimeout == 0 {
		opts.FetchTimeout = DefaultFetchTimeout
	}
	if opts.MaxPolicySize == 0 {
		opts.MaxPolicySize = DefaultMaxPolicySize
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = DefaultPolicyCacheSize
	}
	if opts.MaxCUEEvaluations == 0 {
		opts.MaxCUEEvaluations = DefaultMaxCUEEvaluations
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	e := &Evaluator{
		opts:     opts,
		compiled: newLRU[*compiledPolicy](opts.CacheSize),
		remote:   newLRU[string](opts.CacheSize),
		cueSlots: make(chan struct{}, opts.MaxCUEEvaluations),
	}
	if opts.CUEWorker != nil {
		e.workers = &cueWorkers{newCmd: opts.CUEWorker, maxIdle: min(opts.MaxCUEEvaluations, maxIdleCUEWorkers)}
	}
	return e, nil
}

// EvaluatePolicy resolves the policy's text (inline, configMapRef or url)
// and evaluates it against input, a JSON document. name names the policy
// in errors: the attestation's name, or "ClusterImagePolicy" for spec.policy.
// It returns nil when input satisfies the policy.
func (e *Evaluator) EvaluatePolicy(ctx context.Context, name string, p *Policy, input []byte) error {
	if p == nil {
		return fmt.Errorf("policy %s: nil policy", name)
	}
	if p.Type != PolicyTypeCUE && p.Type != PolicyTypeRego {
		// cosign's wording.
		return fmt.Errorf("sorry Type %s is not supported yet", p.Type)
	}
	src, err := e.source(ctx, p)
	if err != nil {
		return fmt.Errorf("%s policy %s: %w", p.Type, name, err)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, e.opts.Timeout,
		fmt.Errorf("policy evaluation took longer than %s: %w", e.opts.Timeout, context.DeadlineExceeded))
	defer cancel()
	if p.Type == PolicyTypeCUE {
		if err := e.evaluateCUE(ctx, src, input); err != nil {
			return fmt.Errorf("failed evaluating cue policy for %s: %w", name, err)
		}
		return nil
	}
	warning, err := e.evaluateRego(ctx, src, input)
	if err != nil {
		return fmt.Errorf("failed evaluating rego policy for type %s: %w", name, err)
	}
	return warning
}

// source returns the policy text, checked against MaxPolicySize.
func (e *Evaluator) source(ctx context.Context, p *Policy) (string, error) {
	var src string
	switch {
	case p.Data != "":
		src = p.Data
	case p.ConfigMapRef != nil:
		s, err := e.fromConfigMap(ctx, p.ConfigMapRef)
		if err != nil {
			return "", err
		}
		src = s
	case p.Remote != nil:
		s, err := e.fromURL(ctx, p.Remote)
		if err != nil {
			return "", err
		}
		src = s
	default:
		return "", errors.New("policy has no data, configMapRef or remote")
	}
	if len(src) > e.opts.MaxPolicySize {
		return "", fmt.Errorf("policy is %d bytes, more than the limit of %d", len(src), e.opts.MaxPolicySize)
	}
	return src, nil
}

// fromConfigMap reads a policy from a ConfigMap key, with
// policy-controller's errors.
func (e *Evaluator) fromConfigMap(ctx context.Context, ref *ConfigMapReference) (string, error) {
	if e.opts.ConfigMaps == nil {
		return "", fmt.Errorf("configmap %q: no ConfigMap getter is configured", ref.Name)
	}
	data, err := e.opts.ConfigMaps.ConfigMapData(ctx, ref.Namespace, ref.Name)
	if err != nil {
		return "", fmt.Errorf("read configmap %q: %w", ref.Name, err)
	}
	if len(data) == 0 {
		return "", fmt.Errorf("configmap %q contains no data", ref.Name)
	}
	if data[ref.Key] == "" {
		return "", fmt.Errorf("configmap %q does not contain key %s", ref.Name, ref.Key)
	}
	return data[ref.Key], nil
}

// fromURL fetches a remote policy and checks its sha256sum. Verified
// policies are cached by URL and digest: the digest pins the content.
func (e *Evaluator) fromURL(ctx context.Context, r *RemotePolicy) (string, error) {
	key := sha256.Sum256([]byte(r.URL + "\x00" + r.Sha256sum))
	if src, ok := e.remote.get(key); ok {
		return src, nil
	}
	if r.Sha256sum == "" {
		return "", fmt.Errorf("policy url %s: missing sha256sum", r.URL)
	}
	u, err := url.Parse(r.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("policy url %q: want an https URL with a host", r.URL)
	}
	ctx, cancel := context.WithTimeout(ctx, e.opts.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return "", fmt.Errorf("policy url %s: %w", r.URL, err)
	}
	resp, err := e.opts.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("failed to fetch content from policy url: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", fmt.Errorf("failed to fetch content from policy url %s with code %d", r.URL, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(e.opts.MaxPolicySize)+1))
	if err != nil {
		return "", fmt.Errorf("failed to read policy url response: %w", err)
	}
	if len(data) > e.opts.MaxPolicySize {
		return "", fmt.Errorf("policy url %s: response is more than the limit of %d bytes", r.URL, e.opts.MaxPolicySize)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != r.Sha256sum {
		return "", fmt.Errorf("failed to check sha256sum from policy remote: %s got %s", r.Sha256sum, got)
	}
	e.remote.put(key, string(data))
	return string(data), nil
}

// compiledPolicy is a cached compilation of one policy text: a prepared
// Rego query, a pool of compiled CUE values, or the compile error.
type compiledPolicy struct {
	rego *regoPolicy
	cue  *cuePolicy
	err  error
}

// compiledFor returns the cache entry for a policy text of a type,
// creating it with build on a miss. build may decline to have its result
// cached (for errors caused by the deadline rather than the policy).
func (e *Evaluator) compiledFor(typ, src string, build func() (c *compiledPolicy, cache bool)) *compiledPolicy {
	key := sha256.Sum256([]byte(typ + "\x00" + src))
	if c, ok := e.compiled.get(key); ok {
		return c
	}
	c, cache := build()
	if cache {
		e.compiled.put(key, c)
	}
	return c
}

// lru is a small, mutex-guarded least-recently-used cache keyed by hash.
type lru[V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *lruEntry[V], most recent first
	items map[[32]byte]*list.Element
}

type lruEntry[V any] struct {
	key   [32]byte
	value V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, order: list.New(), items: map[[32]byte]*list.Element{}}
}

func (c *lru[V]) get(key [32]byte) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry[V]).value, true
}

func (c *lru[V]) put(key [32]byte, value V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*lruEntry[V]).value = value
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&lruEntry[V]{key: key, value: value})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry[V]).key)
	}
}

func (c *lru[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
