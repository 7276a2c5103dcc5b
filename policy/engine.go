package policy

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/signetproject/signet/oci"
)

// AuthorityChecker verifies an image's signatures or attestations for one
// authority: its key or keyless identities, ctlog, rfc3161timestamp and
// source settings. Implementations do the registry and cryptographic work;
// the engine only combines their results. They must be safe for concurrent
// use.
type AuthorityChecker interface {
	// VerifySignatures returns the image's signatures that verify under
	// the authority, read from registries with creds (the Request's
	// Credentials). An error, or no signatures, fails the authority.
	VerifySignatures(ctx context.Context, image string, authority *Authority, creds RegistryCredentials) ([]Signature, error)
	// VerifyAttestations returns the image's attestations, of every
	// predicate type, whose signatures verify under the authority, read
	// with creds as VerifySignatures reads signatures, with their in-toto
	// statements as Payload. The engine then matches them to
	// authority.Attestations and applies their policies.
	VerifyAttestations(ctx context.Context, image string, authority *Authority, creds RegistryCredentials) ([]VerifiedAttestation, error)
}

// PolicyEvaluator evaluates a CUE or Rego policy (already validated, given
// inline, by ConfigMap or by URL) against a JSON document. It returns nil
// when the document satisfies the policy and an error saying why not
// otherwise. It must be safe for concurrent use.
type PolicyEvaluator interface {
	EvaluatePolicy(ctx context.Context, name string, policy *Policy, input []byte) error
}

// ConfigFileFetcher fetches an image's OCI config files, keyed by platform
// ("linux/amd64", "linux/arm/v7"), for CIP-level policies that set
// fetchConfigFile.
type ConfigFileFetcher interface {
	// s is the decision's registry session (Request.Credentials.Session),
	// nil when it has none.
	ConfigFiles(ctx context.Context, image string, s *oci.Session) (map[string]json.RawMessage, error)
}

// Signature is a verified signature, in the shape CIP-level policies see
// (policy-controller's PolicySignature).
type Signature struct {
	// ID identifies the signature, typically its layer digest.
	ID string `json:"id,omitempty"`
	// Subject and Issuer are the certificate identity that matched.
	Subject string `json:"subject,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
	GithubExtensions
}

// GithubExtensions are Fulcio's GitHub Actions certificate extensions
// (OIDs 1.3.6.1.4.1.57264.1.2–6).
type GithubExtensions struct {
	WorkflowTrigger string `json:"githubWorkflowTrigger,omitempty"`
	WorkflowSHA     string `json:"githubWorkflowSha,omitempty"`
	WorkflowName    string `json:"githubWorkflowName,omitempty"`
	WorkflowRepo    string `json:"githubWorkflowRepo,omitempty"`
	WorkflowRef     string `json:"githubWorkflowRef,omitempty"`
}

// VerifiedAttestation is an attestation whose signature verified.
type VerifiedAttestation struct {
	Signature
	// PredicateType is the in-toto statement's predicateType.
	PredicateType string `json:"predicateType,omitempty"`
	// Digest identifies the attestation.
	Digest string `json:"digest,omitempty"`
	// Payload is the in-toto statement (JSON) that attestation policies
	// are evaluated against. CIP-level policies do not see it.
	Payload []byte `json:"-"`
}

// AuthorityMatch is what a CIP-level policy sees of a passing authority.
type AuthorityMatch struct {
	Signatures   []Signature                      `json:"signatures,omitempty"`
	Attestations map[string][]VerifiedAttestation `json:"attestations,omitempty"`
	Static       bool                             `json:"static,omitempty"`
}

// PolicyInput is the JSON document a CIP-level policy is evaluated
// against, as in policy-controller: the passing authorities by name, and
// the config files, spec, metadata and type of the admitted object when the
// policy asks for them.
type PolicyInput struct {
	AuthorityMatches map[string]AuthorityMatch  `json:"authorityMatches,omitempty"`
	Config           map[string]json.RawMessage `json:"config,omitempty"`
	Spec             any                        `json:"spec,omitempty"`
	ObjectMeta       any                        `json:"metadata,omitempty"`
	TypeMeta         any                        `json:"typemeta,omitempty"`
}

// NoMatchPolicy says what happens to an image no policy matches.
type NoMatchPolicy string

// No-match policies (policy-controller's no-match-policy).
const (
	NoMatchDeny  NoMatchPolicy = "deny"
	NoMatchWarn  NoMatchPolicy = "warn"
	NoMatchAllow NoMatchPolicy = "allow"
)

// Options configure an Engine. The zero value denies unmatched images and
// fails every policy that needs a CUE/Rego evaluator or config files.
type Options struct {
	// NoMatch is the fate of images no policy matches; default deny.
	NoMatch NoMatchPolicy
	// Evaluator evaluates attestation and CIP-level policies. Without
	// one, authorities and policies that have a policy fail.
	Evaluator PolicyEvaluator
	// ConfigFiles fetches config files for policies with fetchConfigFile.
	// Without it, such policies fail.
	ConfigFiles ConfigFileFetcher
	// MaxConcurrentChecks bounds the AuthorityChecker calls in flight
	// during one Evaluate; default 8.
	MaxConcurrentChecks int
	// Unusable names policies, among those given to NewEngine, that apply
	// to images but cannot be evaluated, and why: a Secret, ConfigMap or
	// TrustRoot they reference is missing or broken. Each fails every
	// image it matches with its error; the other policies are unaffected.
	// Only their globs and match clauses need to be valid.
	Unusable map[string]error
}

// Validate reports an unknown NoMatch value or a negative concurrency.
func (o *Options) Validate() error {
	switch o.NoMatch {
	case "", NoMatchDeny, NoMatchWarn, NoMatchAllow:
	default:
		return fmt.Errorf("no-match policy %q: want allow, warn or deny", o.NoMatch)
	}
	if o.MaxConcurrentChecks < 0 {
		return fmt.Errorf("max concurrent checks %d: must not be negative", o.MaxConcurrentChecks)
	}
	return nil
}

// ErrUnavailable is wrapped by authority errors that say nothing about
// the image: its signatures could not be read (registry unreachable or
// failing, registry credentials that could not be read, a deadline). A
// Decision failed by one is Unavailable: a failure to decide, not a
// verdict to remember.
var ErrUnavailable = errors.New("signatures could not be read")

// Engine decides whether images are admitted under a set of
// ClusterImagePolicies. It is safe for concurrent use.
type Engine struct {
	policies []*ClusterImagePolicy // defaulted, validated, sorted by name
	globs    map[string][]*Glob    // by policy name
	checker  AuthorityChecker
	opts     Options
}

// NewEngine returns an engine for the policies, which are copied, defaulted
// and validated (policies without authorities are accepted, and deny what
// they match). Policy names must be unique.
func NewEngine(policies []*ClusterImagePolicy, checker AuthorityChecker, opts Options) (*Engine, error) {
	if checker == nil {
		return nil, errors.New("new policy engine: nil AuthorityChecker")
	}
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("new policy engine: %w", err)
	}
	if opts.NoMatch == "" {
		opts.NoMatch = NoMatchDeny
	}
	if opts.MaxConcurrentChecks == 0 {
		opts.MaxConcurrentChecks = 8
	}
	e := &Engine{checker: checker, opts: opts, globs: map[string][]*Glob{}}
	for i, p := range policies {
		if p == nil {
			return nil, fmt.Errorf("new policy engine: policy %d is nil", i)
		}
		c, err := p.DeepCopy()
		if err != nil {
			return nil, fmt.Errorf("new policy engine: policy %q: %w", p.Metadata.Name, err)
		}
		c.SetDefaults()
		name := c.Metadata.Name
		if _, ok := e.globs[name]; ok {
			return nil, fmt.Errorf("new policy engine: two policies named %q", name)
		}
		if _, unusable := opts.Unusable[name]; unusable {
			// Only what decides whether it applies must be sound.
			var f findings
			scope := ClusterImagePolicySpec{Images: c.Spec.Images, Match: c.Spec.Match}
			scope.validate(&f, "spec", ValidateOptions{AllowEmptyAuthorities: true})
			if err := f.list.Err(); err != nil {
				return nil, fmt.Errorf("new policy engine: policy %q is invalid: %w", name, err)
			}
		} else if err := c.Validate(ValidateOptions{AllowEmptyAuthorities: true}).Err(); err != nil {
			return nil, fmt.Errorf("new policy engine: policy %q is invalid: %w", name, err)
		}
		globs := make([]*Glob, 0, len(c.Spec.Images))
		for _, img := range c.Spec.Images {
			g, err := CompileGlob(img.Glob)
			if err != nil {
				return nil, fmt.Errorf("new policy engine: policy %q: %w", name, err)
			}
			globs = append(globs, g)
		}
		e.globs[name] = globs
		e.policies = append(e.policies, c)
	}
	slices.SortFunc(e.policies, func(a, b *ClusterImagePolicy) int { return cmp.Compare(a.Metadata.Name, b.Metadata.Name) })
	return e, nil
}

// Policies returns the engine's policies, defaulted and sorted by name.
// They are the engine's own: callers must not modify them.
func (e *Engine) Policies() []*ClusterImagePolicy { return e.policies }

// Checker returns the AuthorityChecker the engine verifies with.
func (e *Engine) Checker() AuthorityChecker { return e.checker }

// Request is one image to decide on.
type Request struct {
	// Image is the reference as written in the object.
	Image string
	// Resource is the object the image is in, for spec.match. Nil means
	// there is no object (offline `signet policy test`): match clauses are
	// then ignored and every policy whose globs match applies.
	Resource *Resource
	// Spec, ObjectMeta and TypeMeta of the object, for CIP-level policies
	// with includeSpec, includeObjectMeta and includeTypeMeta.
	Spec, ObjectMeta, TypeMeta any
	// Credentials are the object's registry credentials, which the
	// AuthorityChecker reads the image's signatures and attestations
	// with. The zero value means the checker's own credentials only (and
	// no signaturePullSecrets), as where there is no cluster.
	Credentials RegistryCredentials
}

// Decision is the verdict on one image, with the evidence for it.
type Decision struct {
	Image string
	// Allowed is false when there are Denials.
	Allowed bool
	// NoMatch is true when no policy matched the image.
	NoMatch bool
	// Policies are the results of the matching policies, by name.
	Policies []PolicyResult
	// Denials and Warnings say why, in policy-controller's words.
	Denials  []Violation
	Warnings []Violation
	// Unavailable is true when a policy failed for want of the image's
	// signatures (see ErrUnavailable) rather than because of them: the
	// decision may differ once the registry answers, so it is no verdict
	// to cache, and a denial is a failure to decide.
	Unavailable bool
}

// Violation is one reason an image is denied or warned about. In an
// admission response it is a field error at the container's image path
// with Message and Details, as policy-controller reports it.
type Violation struct {
	// Policy is the failing policy, empty for "no matching policies" and
	// for errors that prevented matching.
	Policy string
	// Message is "failed policy: <name>", "no matching policies" or the
	// matching error.
	Message string
	// Details is the image followed by the reasons, space separated.
	Details string
}

// String returns Message and Details on one line.
func (v Violation) String() string {
	if v.Details == "" {
		return v.Message
	}
	return v.Message + ": " + v.Details
}

// PolicyResult is the outcome of one ClusterImagePolicy for an image.
type PolicyResult struct {
	Name string
	Mode string
	// Passed is true when an authority passed and, if the policy has a
	// CIP-level policy, that passed too.
	Passed bool
	// Authorities are the results of every authority, in spec order.
	Authorities []AuthorityResult
	// Err says why the policy failed when no authority is to blame alone:
	// no authorities, or the CIP-level policy (or its inputs) failed.
	Err error
}

// Reasons returns why the policy failed: each failing authority's error,
// then Err.
func (r *PolicyResult) Reasons() []error {
	var out []error
	if !r.Passed && !r.anyAuthorityPassed() {
		for _, a := range r.Authorities {
			if a.Err != nil {
				out = append(out, a.Err)
			}
		}
	}
	if r.Err != nil {
		out = append(out, r.Err)
	}
	return out
}

// unavailable reports whether the failed policy might have passed had the
// signatures been readable: an error it failed with wraps ErrUnavailable
// or a context error.
func (r *PolicyResult) unavailable() bool {
	if r.Passed {
		return false
	}
	return slices.ContainsFunc(r.Reasons(), func(err error) bool {
		return errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
	})
}

func (r *PolicyResult) anyAuthorityPassed() bool {
	return slices.ContainsFunc(r.Authorities, func(a AuthorityResult) bool { return a.Passed })
}

// AuthorityResult is the outcome of one authority for an image.
type AuthorityResult struct {
	Name   string
	Passed bool
	// Static is true for a static authority.
	Static bool
	// Signatures are the verified signatures of a signature authority.
	Signatures []Signature
	// Attestations are, for an attestation authority, the attestations
	// that satisfied each of its attestations[] entries, by name.
	Attestations map[string][]VerifiedAttestation
	// Err says why the authority failed.
	Err error
}

// Evaluate decides on one image: it must satisfy every policy that matches
// it (by resource, then by glob). Failures of "warn" policies become
// warnings; an image no policy matches follows Options.NoMatch. Errors
// while matching deny the image. Evaluate never returns without a
// decision; cancelling ctx fails the checks still running.
func (e *Engine) Evaluate(ctx context.Context, req Request) Decision {
	d := Decision{Image: req.Image}
	var matched []*ClusterImagePolicy
	for _, p := range e.policies {
		ok, err := e.matches(p, req)
		if err != nil {
			d.Denials = append(d.Denials, Violation{Policy: p.Metadata.Name, Message: err.Error(), Details: req.Image})
			continue
		}
		if ok {
			matched = append(matched, p)
		}
	}
	if len(matched) == 0 && len(d.Denials) == 0 {
		return e.Unmatched(req.Image)
	}

	sem := make(chan struct{}, e.opts.MaxConcurrentChecks)
	d.Policies = make([]PolicyResult, len(matched))
	var wg sync.WaitGroup
	for i, p := range matched {
		wg.Go(func() { d.Policies[i] = e.evaluatePolicy(ctx, p, req, sem) })
	}
	wg.Wait()

	for _, r := range d.Policies {
		if r.Passed {
			continue
		}
		d.Unavailable = d.Unavailable || r.unavailable()
		details := []string{req.Image}
		for _, err := range r.Reasons() {
			details = append(details, err.Error())
		}
		v := Violation{Policy: r.Name, Message: "failed policy: " + r.Name, Details: strings.Join(details, " ")}
		if r.Mode == ModeWarn {
			d.Warnings = append(d.Warnings, v)
		} else {
			d.Denials = append(d.Denials, v)
		}
	}
	d.Allowed = len(d.Denials) == 0
	return d
}

// Unmatched returns the decision on an image no policy matches, as
// Options.NoMatch says.
func (e *Engine) Unmatched(image string) Decision {
	d := Decision{Image: image, NoMatch: true}
	v := Violation{Message: "no matching policies", Details: image}
	switch e.opts.NoMatch {
	case NoMatchAllow:
	case NoMatchWarn:
		d.Warnings = append(d.Warnings, v)
	default:
		d.Denials = append(d.Denials, v)
	}
	d.Allowed = len(d.Denials) == 0
	return d
}

// MayApply reports whether some policy may apply to an image of the
// repository (a normalised name, "index.docker.io/library/nginx"), in
// resource (nil: any), whatever its digest. When it returns false, every
// digest of repo gets Unmatched's decision, so a tag of repo need not be
// resolved to decide. A policy whose match clause cannot be evaluated may
// apply.
func (e *Engine) MayApply(repo string, resource *Resource) bool {
	for _, p := range e.policies {
		if resource != nil {
			if ok, err := p.MatchesResource(*resource); err == nil && !ok {
				continue
			}
		}
		for _, g := range e.globs[p.Metadata.Name] {
			if g.MatchesAnyDigest(repo) {
				return true
			}
		}
	}
	return false
}

func (e *Engine) matches(p *ClusterImagePolicy, req Request) (bool, error) {
	if req.Resource != nil {
		ok, err := p.MatchesResource(*req.Resource)
		if err != nil || !ok {
			return false, err
		}
	}
	var lastErr error
	for _, g := range e.globs[p.Metadata.Name] {
		ok, err := g.Match(req.Image)
		if err != nil {
			lastErr = err
			continue
		}
		if ok {
			return true, nil
		}
	}
	return false, lastErr
}

func (e *Engine) evaluatePolicy(ctx context.Context, p *ClusterImagePolicy, req Request, sem chan struct{}) PolicyResult {
	if err, ok := e.opts.Unusable[p.Metadata.Name]; ok {
		return PolicyResult{Name: p.Metadata.Name, Mode: p.Spec.Mode, Err: fmt.Errorf("policy cannot be used: %w", err)}
	}
	r := PolicyResult{Name: p.Metadata.Name, Mode: p.Spec.Mode, Authorities: make([]AuthorityResult, len(p.Spec.Authorities))}
	var wg sync.WaitGroup
	for i := range p.Spec.Authorities {
		wg.Go(func() {
			r.Authorities[i] = e.evaluateAuthority(ctx, &p.Spec.Authorities[i], req.Image, req.Credentials, sem)
		})
	}
	wg.Wait()

	switch {
	case len(p.Spec.Authorities) == 0:
		r.Err = errors.New("policy has no authorities")
		return r
	case !r.anyAuthorityPassed():
		return r
	case p.Spec.Policy == nil:
		r.Passed = true
		return r
	}
	if err := e.evaluateCIPPolicy(ctx, p, req, r.Authorities); err != nil {
		r.Err = err
		return r
	}
	r.Passed = true
	return r
}

// evaluateCIPPolicy evaluates spec.policy over the passing authorities.
func (e *Engine) evaluateCIPPolicy(ctx context.Context, p *ClusterImagePolicy, req Request, results []AuthorityResult) error {
	pol := p.Spec.Policy
	in := PolicyInput{AuthorityMatches: map[string]AuthorityMatch{}}
	for _, a := range results {
		if a.Passed {
			in.AuthorityMatches[a.Name] = AuthorityMatch{Signatures: a.Signatures, Attestations: a.Attestations, Static: a.Static}
		}
	}
	if isTrue(pol.FetchConfigFile) {
		if e.opts.ConfigFiles == nil {
			return errors.New("policy needs the image config file (fetchConfigFile) but no config file fetcher is configured")
		}
		cfg, err := e.opts.ConfigFiles.ConfigFiles(ctx, req.Image, req.Credentials.Session)
		if err != nil {
			return fmt.Errorf("fetch config files for %s: %w", req.Image, err)
		}
		in.Config = cfg
	}
	if isTrue(pol.IncludeSpec) {
		in.Spec = req.Spec
	}
	if isTrue(pol.IncludeObjectMeta) {
		in.ObjectMeta = req.ObjectMeta
	}
	if isTrue(pol.IncludeTypeMeta) {
		in.TypeMeta = req.TypeMeta
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode policy input: %w", err)
	}
	return e.evaluate(ctx, KindClusterImagePolicy, pol, raw)
}

func (e *Engine) evaluate(ctx context.Context, name string, pol *Policy, input []byte) error {
	if e.opts.Evaluator == nil {
		return fmt.Errorf("%s policy %q: no %s policy evaluator is configured", name, pol.Type, pol.Type)
	}
	// The evaluator's errors are policy-controller's text ("failed
	// evaluating cue policy for NAME: …"), which users match on.
	return e.opts.Evaluator.EvaluatePolicy(ctx, name, pol, input)
}

func isTrue(b *bool) bool { return b != nil && *b }

func (e *Engine) evaluateAuthority(ctx context.Context, a *Authority, image string, creds RegistryCredentials, sem chan struct{}) AuthorityResult {
	r := AuthorityResult{Name: a.Name}
	if a.Static != nil {
		r.Static = true
		if a.Static.Action == StaticFail {
			r.Err = fmt.Errorf("disallowed by static policy: %s", a.Static.Message)
			return r
		}
		r.Passed = true
		return r
	}
	// Bound the checker calls, but give up if ctx ends while waiting.
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		r.Err = fmt.Errorf("authority %s: %w before validation completed", a.Name, ctx.Err())
		return r
	}
	if len(a.Attestations) > 0 {
		atts, err := e.checker.VerifyAttestations(ctx, image, a, creds)
		<-sem
		if err != nil {
			r.Err = fmt.Errorf("attestation validation failed for authority %s for %s: %w", a.Name, image, err)
			return r
		}
		r.Attestations, r.Err = e.matchAttestations(ctx, a, image, atts)
		r.Passed = r.Err == nil
		return r
	}
	sigs, err := e.checker.VerifySignatures(ctx, image, a, creds)
	<-sem
	switch {
	case err != nil:
		r.Err = fmt.Errorf("signature validation failed for authority %s for %s: %w", a.Name, image, err)
	case len(sigs) == 0:
		r.Err = fmt.Errorf("no matching signatures for authority %s for %s", a.Name, image)
	default:
		r.Signatures = sigs
		r.Passed = true
	}
	return r
}

// matchAttestations checks that every attestations[] entry of the
// authority is satisfied by at least one verified attestation of its
// predicate type (and its policy, if any), as policy-controller does.
func (e *Engine) matchAttestations(ctx context.Context, a *Authority, image string, verified []VerifiedAttestation) (map[string][]VerifiedAttestation, error) {
	if len(verified) == 0 {
		return nil, fmt.Errorf("no matching attestations for authority %s for %s", a.Name, image)
	}
	out := make(map[string][]VerifiedAttestation, len(a.Attestations))
	for _, want := range a.Attestations {
		uri := PredicateTypeURI(want.PredicateType)
		var firstErr error
		checked := map[string]bool{}
		var ok []VerifiedAttestation
		for _, va := range verified {
			if va.PredicateType != "" {
				checked[va.PredicateType] = true
			}
			if va.PredicateType != uri {
				continue
			}
			if want.Policy != nil {
				// Policies see the statement as policy-controller
				// shows it (NormalizeAttestation).
				payload, err := NormalizeAttestation(want.PredicateType, va.Payload)
				if err == nil {
					err = e.evaluate(ctx, want.Name, want.Policy, payload)
				}
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
			}
			ok = append(ok, va)
		}
		if len(ok) == 0 {
			if firstErr != nil {
				return nil, firstErr
			}
			types := make([]string, 0, len(checked))
			for t := range checked {
				types = append(types, t)
			}
			slices.Sort(types)
			return nil, fmt.Errorf("no matching attestations with type %s, checked the following predicateTypes: %q", want.PredicateType, strings.Join(types, ","))
		}
		out[want.Name] = ok
	}
	return out, nil
}
