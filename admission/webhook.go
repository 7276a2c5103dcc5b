package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	// Timeout bounds the work on one request; default 9 seconds, under
	// the API server's default webhook timeout of 10 seconds.
	Timeout time.Duration
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
	w := &Webhook{engines: engines, namespaces: namespaces, secrets: secrets, resolver: resolver,
		cache: opts.Cache, metrics: opts.Metrics, logger: opts.Logger, timeout: opts.Timeout}
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

// checked returns the workload of a request the webhooks must check, or
// nil when the request is out of scope (not a create or update, a
// subresource other than ephemeral containers, not a workload kind, a
// namespace without IncludeLabel=true, an object being deleted).
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
	if wl.Deleting {
		// Updates of an object being deleted (finalizers) run nothing new.
		return nil, nil
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

// Validate decides on an admission request: it evaluates every image of a
// checked object and denies when a policy in enforce mode fails, when no
// policy matches and the no-match policy is deny, or when the webhook
// cannot decide. Failures of warn-mode policies become warnings.
func (w *Webhook) Validate(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	log := w.logger.With("uid", req.UID, "kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name, "operation", req.Operation)

	wl, ierr := w.checked(ctx, req)
	if ierr != nil {
		return w.failClosed(log, resp, "validate", "", ierr)
	}
	if wl == nil {
		w.metrics.Requests.WithLabelValues("validate", "skipped").Inc()
		return resp
	}
	snap := w.engines.Snapshot()
	switch {
	case snap == nil:
		return w.failClosed(log, resp, "validate", "", &internalError{reason: ReasonPolicy, err: errors.New("policies are not loaded yet")})
	case snap.Err != nil:
		return w.failClosed(log, resp, "validate", "", &internalError{reason: ReasonPolicy, err: fmt.Errorf("policies did not load: %w", snap.Err)})
	}

	results := w.evaluateImages(ctx, snap, req.Namespace, wl)
	var denials, warnings []string
	reasons := map[string]bool{}
	for _, c := range wl.Images {
		r := results[c.Image]
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
			warnings = append(warnings, fmt.Sprintf("%s is not pinned to a digest; checked %s, the digest the tag named at admission", prefix, r.resolved.Digest.DigestStr()))
		}
	}
	for _, reason := range slices.Sorted(maps.Keys(reasons)) {
		w.metrics.InternalErrors.WithLabelValues(reason).Inc()
	}
	resp.Warnings = warnings
	if len(denials) > 0 {
		resp.Allowed = false
		resp.Result = &metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusForbidden,
			Reason:  metav1.StatusReasonForbidden,
			Message: "validation failed: " + strings.Join(denials, "\n"),
		}
		w.metrics.Requests.WithLabelValues("validate", "denied").Inc()
		log.Info("admission denied", "denials", denials, "warnings", warnings)
		return resp
	}
	outcome := "allowed"
	if len(warnings) > 0 {
		outcome = "warned"
	}
	w.metrics.Requests.WithLabelValues("validate", outcome).Inc()
	log.Info("admission allowed", "images", len(results), "warnings", warnings)
	return resp
}

// evaluateImages resolves and decides every distinct image of the
// workload, concurrently, each tag resolved once.
func (w *Webhook) evaluateImages(ctx context.Context, snap *Snapshot, namespace string, wl *Workload) map[string]*imageResult {
	// The pod's pull credentials resolve tags and read signatures, as the
	// kubelet and policy-controller use them. They are read once, when
	// first needed, with their own deadline: a decision shared with other
	// admissions must not fail because this one gave up.
	podKeychain := &lazyKeychain{build: func() (authn.Keychain, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.timeout)
		defer cancel()
		kc, err := PullSecretKeychain(ctx, w.secrets, namespace, wl.PodSpec)
		if err != nil {
			return nil, fmt.Errorf("registry credentials of the pod: %w", err)
		}
		return kc, nil
	}}
	rr := &requestResolver{resolver: w.resolver, cache: w.cache, namespace: namespace, keychain: func(context.Context) (authn.Keychain, error) {
		return podKeychain.get()
	}}
	creds := policy.RegistryCredentials{Keychain: podKeychain, PullSecrets: func(ctx context.Context, names []string) (authn.Keychain, error) {
		return SecretsKeychain(ctx, w.secrets, namespace, names)
	}}
	resKey := resourceKey(wl.Resource)
	credKey := credentialsKey(namespace, wl)
	results := map[string]*imageResult{}
	var wg sync.WaitGroup
	for _, c := range wl.Images {
		if results[c.Image] != nil {
			continue
		}
		r := &imageResult{image: c.Image}
		results[c.Image] = r
		wg.Go(func() { w.evaluateImage(ctx, snap, rr, creds, CacheKey{Resource: resKey, Credentials: credKey}, wl, r) })
	}
	wg.Wait()
	return results
}

// evaluateImage decides on one image; key holds the resource and
// credentials parts of its cache key.
func (w *Webhook) evaluateImage(ctx context.Context, snap *Snapshot, rr *requestResolver, creds policy.RegistryCredentials, key CacheKey, wl *Workload, r *imageResult) {
	resolved, err := rr.resolve(ctx, r.image)
	if err != nil {
		r.err = &internalError{reason: ReasonResolve, err: err}
		if ctx.Err() != nil {
			r.err.reason = ReasonTimeout
		}
		return
	}
	r.resolved = resolved
	digestRef := resolved.Digest.Name()
	var timedOut atomic.Bool // this call's evaluation ran out of time
	eval := func(ctx context.Context) (policy.Decision, bool) {
		ctx, cancel := context.WithTimeout(ctx, w.timeout)
		defer cancel()
		defer func() {
			if ctx.Err() != nil {
				timedOut.Store(true)
			}
		}()
		start := time.Now()
		req := wl.Request(digestRef)
		req.Credentials = creds
		d := snap.Engine.Evaluate(ctx, req)
		w.metrics.EvaluationSeconds.Observe(time.Since(start).Seconds())
		// A decision reached after the deadline holds "context deadline
		// exceeded" failures: a denial (fail closed) not to be cached.
		return d, snap.Cacheable && ctx.Err() == nil
	}
	if !snap.Cacheable {
		// Decisions depend on the whole object: neither cached nor shared.
		r.decision, _ = eval(context.WithoutCancel(ctx))
		w.metrics.Cache.WithLabelValues(string(CacheMiss)).Inc()
		if ctx.Err() != nil || timedOut.Load() {
			r.err = &internalError{reason: ReasonTimeout, err: fmt.Errorf("decide on %s: %w", digestRef, context.DeadlineExceeded)}
		}
		return
	}
	key.Image, key.Generation = digestRef, snap.Generation
	d, res, err := w.cache.Decide(ctx, key, eval)
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("decide on %s: %w", digestRef, ctx.Err())
	}
	if err == nil && timedOut.Load() {
		err = fmt.Errorf("decide on %s: %w", digestRef, context.DeadlineExceeded)
	}
	if err != nil {
		r.err = &internalError{reason: ReasonTimeout, err: err}
		return
	}
	w.metrics.Cache.WithLabelValues(string(res)).Inc()
	r.decision = d
}

// resourceKey is the part of a cache key that spec.match can see.
func resourceKey(r policy.Resource) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s/%s", r.Group, r.Version, r.Resource)
	for _, k := range slices.Sorted(maps.Keys(r.Labels)) {
		fmt.Fprintf(&b, ",%q=%q", k, r.Labels[k])
	}
	return b.String()
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
	return fmt.Sprintf("%s/%s%q", namespace, sa, secrets)
}

// failClosed denies a request the webhook could not decide on.
func (w *Webhook) failClosed(log *slog.Logger, resp *admissionv1.AdmissionResponse, webhook, prefix string, ierr *internalError) *admissionv1.AdmissionResponse {
	w.metrics.InternalErrors.WithLabelValues(ierr.reason).Inc()
	w.metrics.Requests.WithLabelValues(webhook, "denied").Inc()
	log.Error("admission denied: cannot decide (fail closed)", "reason", ierr.reason, "err", ierr.err)
	resp.Allowed = false
	resp.Result = &metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusForbidden,
		Reason:  metav1.StatusReasonForbidden,
		Message: fmt.Sprintf("%scannot decide, denying (fail closed): %v", prefix, ierr.err),
	}
	return resp
}

// jsonPatchOp is one RFC 6902 operation.
type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

// Mutate pins the image tags of a checked object to the digests they name
// now, as "<image as written>@sha256:…", so that the validating webhook
// and the kubelet see the same image. Images with a digest are left alone.
// It denies when a tag cannot be resolved (fail closed).
func (w *Webhook) Mutate(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	log := w.logger.With("uid", req.UID, "kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name, "operation", req.Operation)
	wl, ierr := w.checked(ctx, req)
	if ierr != nil {
		return w.failClosed(log, resp, "mutate", "", ierr)
	}
	if wl == nil {
		w.metrics.Requests.WithLabelValues("mutate", "skipped").Inc()
		return resp
	}
	rr := &requestResolver{resolver: w.resolver, cache: w.cache, namespace: req.Namespace, keychain: func(ctx context.Context) (authn.Keychain, error) {
		return PullSecretKeychain(ctx, w.secrets, req.Namespace, wl.PodSpec)
	}}
	var patch []jsonPatchOp
	for _, c := range wl.Images {
		r, err := rr.resolve(ctx, c.Image)
		if err != nil {
			reason := ReasonResolve
			if ctx.Err() != nil {
				reason = ReasonTimeout
			}
			return w.failClosed(log, resp, "mutate", fmt.Sprintf("%s: image %q: ", c.Field, c.Image), &internalError{reason: reason, err: err})
		}
		if r.Resolved {
			patch = append(patch, jsonPatchOp{Op: "replace", Path: c.Pointer, Value: c.Image + "@" + r.Digest.DigestStr()})
		}
	}
	if len(patch) == 0 {
		w.metrics.Requests.WithLabelValues("mutate", "allowed").Inc()
		return resp
	}
	raw, err := json.Marshal(patch)
	if err != nil {
		return w.failClosed(log, resp, "mutate", "", &internalError{reason: ReasonDecode, err: fmt.Errorf("encode patch: %w", err)})
	}
	pt := admissionv1.PatchTypeJSONPatch
	resp.Patch, resp.PatchType = raw, &pt
	w.metrics.Requests.WithLabelValues("mutate", "patched").Inc()
	log.Info("pinned image tags to digests", "patch", string(raw))
	return resp
}

// maxReviewBytes bounds an AdmissionReview body: the API server limits
// objects to 3 MiB, and a review of an update carries two.
const maxReviewBytes = 8 << 20

// ValidateHandler serves the validating webhook (AdmissionReview v1).
func (w *Webhook) ValidateHandler() http.Handler { return w.reviewHandler("validate", w.Validate) }

// MutateHandler serves the mutating webhook (AdmissionReview v1).
func (w *Webhook) MutateHandler() http.Handler { return w.reviewHandler("mutate", w.Mutate) }

func (w *Webhook) reviewHandler(webhook string, review func(context.Context, *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		in, err := DecodeReview(r)
		if err != nil {
			// The API server treats an error status as a failed call and
			// applies the failure policy (Fail: denied).
			w.metrics.InternalErrors.WithLabelValues(ReasonDecode).Inc()
			w.metrics.Requests.WithLabelValues(webhook, "denied").Inc()
			w.logger.Warn("bad admission review", "webhook", webhook, "err", err)
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		out := admissionv1.AdmissionReview{TypeMeta: in.TypeMeta, Response: review(r.Context(), in.Request)}
		rw.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(rw).Encode(&out); err != nil {
			w.logger.Warn("write admission review", "webhook", webhook, "err", err)
		}
	})
}

// DecodeReview reads an AdmissionReview v1 request from an HTTP request.
func DecodeReview(r *http.Request) (*admissionv1.AdmissionReview, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("admission review: method %s, want POST", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return nil, fmt.Errorf("admission review: content type %q, want application/json", ct)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxReviewBytes+1))
	if err != nil {
		return nil, fmt.Errorf("admission review: read body: %w", err)
	}
	if len(body) > maxReviewBytes {
		return nil, fmt.Errorf("admission review: body larger than %d bytes", maxReviewBytes)
	}
	return ParseReview(body)
}

// ParseReview decodes an AdmissionReview v1 with a request.
func ParseReview(body []byte) (*admissionv1.AdmissionReview, error) {
	var rev admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &rev); err != nil {
		return nil, fmt.Errorf("admission review: %w", err)
	}
	if rev.APIVersion != admissionv1.SchemeGroupVersion.String() || rev.Kind != "AdmissionReview" {
		return nil, fmt.Errorf("admission review: got %s %s, want %s AdmissionReview", rev.APIVersion, rev.Kind, admissionv1.SchemeGroupVersion)
	}
	if rev.Request == nil {
		return nil, errors.New("admission review: no request")
	}
	return &rev, nil
}
