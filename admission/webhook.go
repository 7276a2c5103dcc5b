package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/policy"
)

// IncludeLabel is the namespace label that opts a namespace into policy
// checks, with the value "true" (policy-controller's).
const IncludeLabel = "policy.sigstore.dev/include"

// Snapshot is the policy engine built from one generation of policies.
type Snapshot struct {
	// Engine decides; nil when Err is set.
	Engine *policy.Engine
	// Generation grows by one on every rebuild; decisions are cached per
	// generation.
	Generation uint64
	// Cacheable is false when a policy sees the admitted object (includeSpec,
	// includeObjectMeta, includeTypeMeta), so decisions depend on more
	// than the image and the object's kind and labels.
	Cacheable bool
	// Err says why the policies did not load; every checked object is
	// then denied.
	Err error
}

// EngineSource provides the current engine. Snapshot returns nil until
// the policies have been loaded once.
type EngineSource interface {
	Snapshot() *Snapshot
}

// NamespaceLister returns a namespace's labels.
type NamespaceLister interface {
	NamespaceLabels(ctx context.Context, name string) (map[string]string, error)
}

// WebhookOptions configure a Webhook.
type WebhookOptions struct {
	// Cache holds decisions and tag resolutions; default a cache with
	// NewDecisionCache's defaults.
	Cache *DecisionCache
	// Metrics are updated on every request; default metrics registered
	// nowhere.
	Metrics *Metrics
	// Logger logs decisions and errors; default slog.Default().
	Logger *slog.Logger
	// Timeout bounds the work on one request, /validate and /mutate
	// alike: by then the webhook answers (denying what it could not
	// decide) and the request's work is cancelled. Default 9 seconds,
	// under the API server's default webhook timeout of 10 seconds.
	Timeout time.Duration
	// Registry bounds the registry work of the decision on one image, over
	// all its policies and authorities (see oci.Session); zero fields take
	// oci's defaults.
	Registry oci.Limits
}

// Webhook is the validating and mutating admission webhook.
type Webhook struct {
	engines    EngineSource
	namespaces NamespaceLister
	secrets    SecretReader
	resolver   Resolver
	cache      *DecisionCache
	metrics    *Metrics
	logger     *slog.Logger
	timeout    time.Duration
	limits     oci.Limits
	refs       refCache

	// inflight are the reviews' goroutines, including those of reviews
	// answered at their deadline before the work returned.
	inflight sync.WaitGroup
}

// NewWebhook returns a webhook that decides with the engines' current
// snapshot, checks objects in namespaces labelled IncludeLabel=true, reads
// pull secrets with secrets and resolves tags with resolver.
func NewWebhook(engines EngineSource, namespaces NamespaceLister, secrets SecretReader, resolver Resolver, opts WebhookOptions) (*Webhook, error) {
	if engines == nil || namespaces == nil || secrets == nil || resolver == nil {
		return nil, errors.New("new webhook: engines, namespaces, secrets and resolver are required")
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("new webhook: negative timeout %s", opts.Timeout)
	}
	if _, err := oci.NewSession(opts.Registry); err != nil {
		return nil, fmt.Errorf("new webhook: %w", err)
	}
	w := &Webhook{engines: engines, namespaces: namespaces, secrets: secrets, resolver: resolver,
		cache: opts.Cache, metrics: opts.Metrics, logger: opts.Logger, timeout: opts.Timeout, limits: opts.Registry}
	if w.cache == nil {
		c, err := NewDecisionCache(CacheOptions{})
		if err != nil {
			return nil, fmt.Errorf("new webhook: %w", err)
		}
		w.cache = c
	}
	if w.metrics == nil {
		m, err := NewMetrics(prometheus.NewRegistry())
		if err != nil {
			return nil, fmt.Errorf("new webhook: %w", err)
		}
		w.metrics = m
	}
	if w.logger == nil {
		w.logger = slog.Default()
	}
	if w.timeout == 0 {
		w.timeout = 9 * time.Second
	}
	return w, nil
}

// Wait blocks until the work of every review has returned, that of
// reviews answered at their deadline included, or until ctx ends. Call it
// at shutdown, after the HTTP server stopped.
func (w *Webhook) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		w.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for admission reviews: %w", ctx.Err())
	}
}

// checked returns the workload of a request the webhooks must check, or
// nil when the request is out of scope: not a create or update, a
// subresource other than ephemeral containers, not a workload kind, a
// namespace without IncludeLabel=true, or an update of an object being
// deleted that changes no image (a finalizer's removal must not be denied
// by a policy its images fail today). Image changes are checked whether or
// not the object is being deleted.
func (w *Webhook) checked(ctx context.Context, req *admissionv1.AdmissionRequest) (*Workload, *internalError) {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return nil, nil
	}
	if req.SubResource != "" && !(req.Kind.Kind == "Pod" && req.SubResource == "ephemeralcontainers") {
		return nil, nil
	}
	if !IsWorkloadKind(req.Kind.Group, req.Kind.Version, req.Kind.Kind) || req.Namespace == "" {
		return nil, nil
	}
	labels, err := w.namespaces.NamespaceLabels(ctx, req.Namespace)
	if err != nil {
		return nil, &internalError{reason: ReasonNamespace, err: fmt.Errorf("look up namespace %s: %w", req.Namespace, err)}
	}
	if labels[IncludeLabel] != "true" {
		return nil, nil
	}
	wl, err := ParseWorkload(req.Kind.Group, req.Kind.Version, req.Kind.Kind, req.Object.Raw)
	if err != nil {
		return nil, &internalError{reason: ReasonDecode, err: err}
	}
	if wl.Deleting && req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
		old, err := ParseWorkload(req.Kind.Group, req.Kind.Version, req.Kind.Kind, req.OldObject.Raw)
		if err != nil {
			return nil, &internalError{reason: ReasonDecode, err: fmt.Errorf("old object: %w", err)}
		}
		if slices.Equal(old.Images, wl.Images) {
			return nil, nil
		}
	}
	return wl, nil
}

// internalError is a failure to decide, which denies (fail closed).
type internalError struct {
	reason string
	err    error
}

func (e *internalError) Error() string { return e.err.Error() }

// imageResult is the verdict on one distinct image of a request.
type imageResult struct {
	image    string
	resolved resolvedImage
	decision policy.Decision
	err      *internalError
}

// verdict is a review's answer and what the metrics and log say of it.
type verdict struct {
	resp     *admissionv1.AdmissionResponse
	outcome  string   // allowed, denied, warned, skipped, patched
	reasons  []string // of internal errors, for the metrics
	ierr     *internalError
	denials  []string
	warnings []string
	patch    string
}

// Validate decides on an admission request: it evaluates every image of a
// checked object and denies when a policy in enforce mode fails, when no
// policy matches and the no-match policy is deny, or when the webhook
// cannot decide. Failures of warn-mode policies become warnings. It
// answers by the webhook's timeout.
func (w *Webhook) Validate(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	return w.review(ctx, "validate", req, w.validate)
}

// review runs one webhook's review of req under the timeout and answers
// by then: when the review has not returned at the deadline, the request
// is denied (fail closed) and the review, whose context is now done,
// returns on its own.
func (w *Webhook) review(ctx context.Context, webhook string, req *admissionv1.AdmissionRequest, run func(context.Context, *admissionv1.AdmissionRequest) verdict) *admissionv1.AdmissionResponse {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	done := make(chan verdict, 1)
	w.inflight.Go(func() { done <- run(ctx, req) })
	var v verdict
	select {
	case v = <-done:
	case <-ctx.Done():
		select {
		case v = <-done:
		default:
			v = failClosed(req, "", &internalError{reason: ReasonTimeout, err: fmt.Errorf("no decision within %s: %w", w.timeout, ctx.Err())})
		}
	}
	w.metrics.Requests.WithLabelValues(webhook, v.outcome).Inc()
	for _, reason := range v.reasons {
		w.metrics.InternalErrors.WithLabelValues(reason).Inc()
	}
	level := slog.LevelInfo
	if v.ierr != nil {
		level = slog.LevelError
	}
	if v.outcome == "skipped" && v.ierr == nil || !w.logger.Enabled(ctx, level) {
		return v.resp
	}
	log := w.logger.With("webhook", webhook, "uid", req.UID, "kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name, "operation", req.Operation)
	switch {
	case v.ierr != nil:
		log.Error("admission denied: cannot decide (fail closed)", "reason", v.ierr.reason, "err", v.ierr.err)
	case v.outcome == "denied":
		log.Info("admission denied", "denials", v.denials, "warnings", v.warnings)
	case v.outcome == "patched":
		log.Info("pinned image tags to digests", "patch", v.patch)
	case v.outcome != "skipped":
		log.Info("admission allowed", "warnings", v.warnings)
	}
	return v.resp
}

// Caps on what one response says: a request may hold hundreds of
// containers, and a registry decides how many reasons an image fails.
const (
	maxListed      = 10   // denials or warnings listed; the others are counted
	maxReasonBytes = 2048 // bytes of one denial
)

// capped keeps the first maxListed entries, each cut to maxReasonBytes,
// and counts the others.
func capped(list []string, what string) []string {
	out := make([]string, 0, min(len(list), maxListed+1))
	for i, s := range list {
		if i == maxListed {
			out = append(out, fmt.Sprintf("and %d more %s", len(list)-maxListed, what))
			break
		}
		if len(s) > maxReasonBytes {
			s = strings.ToValidUTF8(s[:maxReasonBytes], "") + "…"
		}
		out = append(out, s)
	}
	return out
}

func (w *Webhook) validate(ctx context.Context, req *admissionv1.AdmissionRequest) verdict {
	wl, ierr := w.checked(ctx, req)
	if ierr != nil {
		return failClosed(req, "", ierr)
	}
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	if wl == nil {
		return verdict{resp: resp, outcome: "skipped"}
	}
	snap := w.engines.Snapshot()
	switch {
	case snap == nil:
		return failClosed(req, "", &internalError{reason: ReasonPolicy, err: errors.New("policies are not loaded yet")})
	case snap.Err != nil:
		return failClosed(req, "", &internalError{reason: ReasonPolicy, err: fmt.Errorf("policies did not load: %w", snap.Err)})
	}

	results := w.evaluateImages(ctx, snap, req.Namespace, wl)
	var denials, warnings []string
	reasons := map[string]bool{}
	for _, c := range wl.Images {
		r := results[c.Image]
		if r.err == nil && len(r.decision.Denials) == 0 && len(r.decision.Warnings) == 0 && !r.resolved.Resolved {
			continue // nothing to say of this image
		}
		prefix := fmt.Sprintf("%s: image %q", c.Field, c.Image)
		if r.err != nil {
			denials = append(denials, fmt.Sprintf("%s: cannot decide, denying (fail closed): %v", prefix, r.err))
			reasons[r.err.reason] = true
			continue
		}
		for _, v := range r.decision.Denials {
			denials = append(denials, prefix+": "+v.String())
		}
		for _, v := range r.decision.Warnings {
			warnings = append(warnings, prefix+": "+v.String())
		}
		if r.resolved.Resolved {
			// Only the mutating webhook's pinning makes the kubelet run
			// what was checked; without it a tag arrives here.
			warnings = append(warnings, fmt.Sprintf("%s is not pinned to a digest: checked %s, what the tag named at admission, but the kubelet pulls whatever the tag names when it starts the container; pin the image by digest, or install the webhook with tag pinning (signet admission install does by default)", prefix, r.resolved.Digest.DigestStr()))
		}
	}
	v := verdict{resp: resp, reasons: slices.Sorted(maps.Keys(reasons)), denials: capped(denials, "denials"), warnings: capped(warnings, "warnings")}
	resp.Warnings = v.warnings
	if len(denials) > 0 {
		resp.Allowed = false
		resp.Result = &metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusForbidden,
			Reason:  metav1.StatusReasonForbidden,
			Message: "validation failed: " + strings.Join(v.denials, "\n"),
		}
		v.outcome = "denied"
		return v
	}
	v.outcome = "allowed"
	if len(warnings) > 0 {
		v.outcome = "warned"
	}
	return v
}

// detached returns a context that ends at ctx's deadline but not when ctx
// is cancelled: work shared with other requests (a decision, a keychain)
// must not fail because the one that started it gave up, nor outlive it.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(context.WithoutCancel(ctx), deadline)
	}
	return context.WithCancel(context.WithoutCancel(ctx))
}

// credentials are the registry credentials of one admitted object: its
// pod's pull secrets, read once, when first needed, and the Secrets of its
// namespace that policy sources name.
type credentials struct {
	keychain *lazyKeychain
	policy   policy.RegistryCredentials
}

func (w *Webhook) credentials(ctx context.Context, namespace string, ps *corev1.PodSpec) *credentials {
	kc := &lazyKeychain{build: func() (authn.Keychain, error) {
		ctx, cancel := detached(ctx)
		defer cancel()
		kc, err := PullSecretKeychain(ctx, w.secrets, namespace, ps)
		if err != nil {
			return nil, fmt.Errorf("registry credentials of the pod: %w", err)
		}
		return kc, nil
	}}
	return &credentials{keychain: kc, policy: policy.RegistryCredentials{Keychain: kc, PullSecrets: func(ctx context.Context, names []string) (authn.Keychain, error) {
		return SecretsKeychain(ctx, w.secrets, namespace, names)
	}}}
}

// evaluateImages resolves and decides every distinct image of the
// workload, concurrently, each tag resolved once.
func (w *Webhook) evaluateImages(ctx context.Context, snap *Snapshot, namespace string, wl *Workload) map[string]*imageResult {
	creds := w.credentials(ctx, namespace, wl.PodSpec)
	rr := &requestResolver{resolver: w.resolver, cache: w.cache, namespace: namespace, keychain: creds.keychain}
	resKey := resourceKey(wl.Resource)
	credKey := credentialsKey(namespace, wl)
	results := make(map[string]*imageResult, len(wl.Images))
	distinct := make([]*imageResult, 0, len(wl.Images))
	for _, c := range wl.Images {
		if results[c.Image] != nil {
			continue
		}
		r := &imageResult{image: c.Image}
		results[c.Image] = r
		distinct = append(distinct, r)
	}
	key := CacheKey{Resource: resKey, Credentials: credKey}
	if len(distinct) == 1 {
		// One image: no goroutine to start (and grow a stack for).
		w.evaluateImage(ctx, snap, rr, creds, key, wl, distinct[0])
		return results
	}
	var wg sync.WaitGroup
	for _, r := range distinct {
		wg.Go(func() { w.evaluateImage(ctx, snap, rr, creds, key, wl, r) })
	}
	wg.Wait()
	return results
}

// failureKeychain records that its keychain failed.
type failureKeychain struct {
	kc     authn.Keychain
	failed *atomic.Bool
}

func (k failureKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	a, err := k.kc.Resolve(target)
	if err != nil && !isBadPullSecret(err) {
		k.failed.Store(true)
	}
	return a, err
}

// evaluateImage decides on one image; key holds the resource and
// credentials parts of its cache key. A tag no policy may apply to is
// not resolved: every image it could name gets the no-match decision.
func (w *Webhook) evaluateImage(ctx context.Context, snap *Snapshot, rr *requestResolver, creds *credentials, key CacheKey, wl *Workload, r *imageResult) {
	ref, err := w.refs.parse(r.image)
	if err == nil {
		if tag, ok := ref.(name.Tag); ok && !snap.Engine.MayApply(tag.Context().Name(), &wl.Resource) {
			r.decision = snap.Engine.Unmatched(r.image)
			return
		}
	}
	resolved, err := rr.resolveRef(ctx, r.image, ref, err)
	if err != nil {
		r.err = &internalError{reason: ReasonResolve, err: err}
		if ctx.Err() != nil {
			r.err.reason = ReasonTimeout
		}
		return
	}
	r.resolved = resolved
	digestRef := resolved.Digest.Name()
	// Shared evaluations are detached from the caller's cancellation (see
	// DecisionCache.Decide) but end at its deadline, with all their
	// goroutines, however long resolving the tag took.
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(w.timeout)
	}
	eval := func(ectx context.Context) (policy.Decision, bool) {
		ectx, cancel := context.WithDeadline(ectx, deadline)
		defer cancel()
		var credsFailed atomic.Bool
		c := creds.policy
		c.Keychain = failureKeychain{kc: creds.keychain, failed: &credsFailed}
		c.PullSecrets = func(ctx context.Context, names []string) (authn.Keychain, error) {
			kc, err := creds.policy.PullSecrets(ctx, names)
			if err != nil && !isBadPullSecret(err) {
				credsFailed.Store(true)
			}
			return kc, err
		}
		c.Session, _ = oci.NewSession(w.limits) // validated by NewWebhook
		start := time.Now()
		req := wl.Request(digestRef)
		req.Credentials = c
		d := snap.Engine.Evaluate(ectx, req)
		w.metrics.EvaluationSeconds.Observe(time.Since(start).Seconds())
		w.metrics.RegistryRequests.Observe(float64(c.Session.Requests()))
		// The credentials could not be read: whatever failed for want of
		// them says nothing about the image.
		d.Unavailable = d.Unavailable || (credsFailed.Load() && !d.Allowed)
		// A decision reached after the deadline, or for want of the
		// signatures, is a failure to decide: never cached.
		return d, snap.Cacheable && ectx.Err() == nil && !d.Unavailable
	}
	var d policy.Decision
	if !snap.Cacheable {
		// Decisions depend on the whole object: neither cached nor shared.
		d, _ = eval(ctx)
		w.metrics.Cache.WithLabelValues(string(CacheMiss)).Inc()
	} else {
		key.Image, key.Generation = digestRef, snap.Generation
		var res CacheResult
		d, res, err = w.cache.Decide(ctx, key, eval)
		if err != nil {
			r.err = &internalError{reason: ReasonTimeout, err: err}
			return
		}
		w.metrics.Cache.WithLabelValues(string(res)).Inc()
	}
	switch {
	case ctx.Err() != nil || !time.Now().Before(deadline):
		// The evaluation's own timer may fire before ctx's.
		r.err = &internalError{reason: ReasonTimeout, err: fmt.Errorf("decide on %s: %w", digestRef, context.DeadlineExceeded)}
	case d.Unavailable && !d.Allowed:
		var why []string
		for _, v := range d.Denials {
			why = append(why, v.String())
		}
		r.err = &internalError{reason: ReasonUnavailable, err: errors.New(strings.Join(why, "; "))}
	default:
		r.decision = d
	}
}

// resourceKey is the part of a cache key that spec.match can see.
func resourceKey(r policy.Resource) string {
	b := make([]byte, 0, 64)
	b = append(append(append(append(append(b, r.Group...), '/'), r.Version...), '/'), r.Resource...)
	for _, k := range slices.Sorted(maps.Keys(r.Labels)) {
		b = strconv.AppendQuote(append(b, ','), k)
		b = strconv.AppendQuote(append(b, '='), r.Labels[k])
	}
	return string(b)
}

// credentialsKey is the part of a cache key that says whose registry
// credentials a decision was reached with.
func credentialsKey(namespace string, wl *Workload) string {
	sa := "default"
	var secrets []string
	if ps := wl.PodSpec; ps != nil {
		if ps.ServiceAccountName != "" {
			sa = ps.ServiceAccountName
		}
		for _, s := range ps.ImagePullSecrets {
			secrets = append(secrets, s.Name)
		}
	}
	b := make([]byte, 0, 64)
	b = append(append(append(append(b, namespace...), '/'), sa...), '[')
	for i, s := range secrets {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendQuote(b, s)
	}
	return string(append(b, ']'))
}

// failClosed denies a request the webhook could not decide on.
func failClosed(req *admissionv1.AdmissionRequest, prefix string, ierr *internalError) verdict {
	return verdict{
		resp: &admissionv1.AdmissionResponse{UID: req.UID, Allowed: false, Result: &metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusForbidden,
			Reason:  metav1.StatusReasonForbidden,
			Message: fmt.Sprintf("%scannot decide, denying (fail closed): %v", prefix, ierr.err),
		}},
		outcome: "denied",
		reasons: []string{ierr.reason},
		ierr:    ierr,
	}
}

// jsonPatchOp is one RFC 6902 operation.
type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

// maxResolving bounds the tags of one request resolved at once.
const maxResolving = 8

// Mutate pins the image tags of a checked object to the digests they name
// now, as "<image as written>@sha256:…", so that the validating webhook
// and the kubelet see the same image. Images with a digest are left alone,
// and so are tags no policy may apply to (whatever they name, no policy
// matches it). It denies when a tag cannot be resolved (fail closed), and
// answers by the webhook's timeout.
func (w *Webhook) Mutate(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	return w.review(ctx, "mutate", req, w.mutate)
}

func (w *Webhook) mutate(ctx context.Context, req *admissionv1.AdmissionRequest) verdict {
	wl, ierr := w.checked(ctx, req)
	if ierr != nil {
		return failClosed(req, "", ierr)
	}
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	if wl == nil {
		return verdict{resp: resp, outcome: "skipped"}
	}
	// Without policies loaded, pin every tag: the validating webhook
	// denies anyway, and the next attempt then runs what it checks.
	var eng *policy.Engine
	if snap := w.engines.Snapshot(); snap != nil && snap.Err == nil {
		eng = snap.Engine
	}
	creds := w.credentials(ctx, req.Namespace, wl.PodSpec)
	rr := &requestResolver{resolver: w.resolver, cache: w.cache, namespace: req.Namespace, keychain: creds.keychain}
	type pin struct {
		res resolvedImage
		err error
	}
	pins := map[string]*pin{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxResolving)
	for _, c := range wl.Images {
		if pins[c.Image] != nil {
			continue
		}
		p := &pin{}
		pins[c.Image] = p
		ref, err := w.refs.parse(c.Image)
		if tag, ok := ref.(name.Tag); ok && err == nil && eng != nil && !eng.MayApply(tag.Context().Name(), &wl.Resource) {
			continue
		}
		g.Go(func() error {
			p.res, p.err = rr.resolveRef(gctx, c.Image, ref, err)
			return p.err
		})
	}
	_ = g.Wait() // the first failure denies; it is in its pin
	var patch []jsonPatchOp
	for _, c := range wl.Images {
		p := pins[c.Image]
		if p.err != nil {
			reason := ReasonResolve
			if ctx.Err() != nil {
				reason = ReasonTimeout
			}
			return failClosed(req, fmt.Sprintf("%s: image %q: ", c.Field, c.Image), &internalError{reason: reason, err: p.err})
		}
		if p.res.Resolved {
			patch = append(patch, jsonPatchOp{Op: "replace", Path: c.Pointer, Value: c.Image + "@" + p.res.Digest.DigestStr()})
		}
	}
	if len(patch) == 0 {
		return verdict{resp: resp, outcome: "allowed"}
	}
	raw, err := json.Marshal(patch)
	if err != nil {
		return failClosed(req, "", &internalError{reason: ReasonDecode, err: fmt.Errorf("encode patch: %w", err)})
	}
	pt := admissionv1.PatchTypeJSONPatch
	resp.Patch, resp.PatchType = raw, &pt
	return verdict{resp: resp, outcome: "patched", patch: string(raw)}
}

// ValidateHandler serves the validating webhook (AdmissionReview v1).
func (w *Webhook) ValidateHandler() http.Handler { return w.reviewHandler("validate", w.Validate) }

// MutateHandler serves the mutating webhook (AdmissionReview v1).
func (w *Webhook) MutateHandler() http.Handler { return w.reviewHandler("mutate", w.Mutate) }

func (w *Webhook) reviewHandler(webhook string, review func(context.Context, *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		in, fast, err := decodeReview(r)
		if err != nil {
			// The API server treats an error status as a failed call and
			// applies the failure policy (Fail: denied).
			w.metrics.InternalErrors.WithLabelValues(ReasonDecode).Inc()
			w.metrics.Requests.WithLabelValues(webhook, "denied").Inc()
			w.logger.Warn("bad admission review", "webhook", webhook, "err", err)
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		decoder := "general"
		if fast {
			decoder = "fast"
		}
		w.metrics.ReviewDecodes.WithLabelValues(decoder).Inc()
		out := admissionv1.AdmissionReview{TypeMeta: in.TypeMeta, Response: review(r.Context(), in.Request)}
		rw.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(rw).Encode(&out); err != nil {
			w.logger.Warn("write admission review", "webhook", webhook, "err", err)
		}
	})
}
