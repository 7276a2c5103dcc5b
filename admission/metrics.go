package admission

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Reasons for internal errors, the values of the "reason" label of
// signet_admission_internal_errors_total.
const (
	ReasonDecode    = "decode"    // the AdmissionReview or object did not decode
	ReasonNamespace = "namespace" // the namespace could not be looked up
	ReasonPolicy    = "policy"    // the policies did not load into an engine
	ReasonResolve   = "resolve"   // a tag could not be resolved to a digest
	ReasonTimeout   = "timeout"   // the request's deadline passed
	// ReasonUnavailable: an image's signatures, or the registry
	// credentials to read them, could not be read (registry unreachable,
	// failing or throttling); such denials are never cached.
	ReasonUnavailable = "unavailable"
)

// Metrics are the webhook's Prometheus metrics.
type Metrics struct {
	// Requests counts admission requests by webhook (validate, mutate)
	// and outcome (allowed, denied, warned, skipped, patched).
	Requests *prometheus.CounterVec
	// InternalErrors counts failures that denied a request because the
	// webhook could not decide (fail closed), by reason.
	InternalErrors *prometheus.CounterVec
	// Cache counts decision lookups by result (hit, miss, shared).
	Cache *prometheus.CounterVec
	// EvaluationSeconds observes the time of policy engine evaluations.
	EvaluationSeconds prometheus.Histogram
	// PolicyGeneration is the generation of the engine in use.
	PolicyGeneration prometheus.Gauge
	// RegistryRequests observes the registry requests of each image
	// decision (all its policies and authorities).
	RegistryRequests prometheus.Histogram
	// ReviewDecodes counts the admission reviews decoded, by decoder:
	// "fast" (the reflection-free path an API server's reviews take) or
	// "general" (encoding/json, for anything outside it).
	ReviewDecodes *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_admission_requests_total",
			Help: "Admission requests by webhook and outcome.",
		}, []string{"webhook", "outcome"}),
		InternalErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_admission_internal_errors_total",
			Help: "Admission requests denied because the webhook failed to decide (fail closed), by reason.",
		}, []string{"reason"}),
		Cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_admission_decision_cache_total",
			Help: "Image decision lookups by cache result (hit, miss, shared).",
		}, []string{"result"}),
		EvaluationSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "signet_admission_evaluation_seconds",
			Help:    "Time of policy engine evaluations of one image.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}),
		PolicyGeneration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "signet_admission_policy_generation",
			Help: "Generation of the policy engine in use; it grows on every policy change.",
		}),
		RegistryRequests: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "signet_admission_registry_requests",
			Help:    "Registry requests of one image decision, over all its policies and authorities.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
		ReviewDecodes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_admission_review_decodes_total",
			Help: "Admission reviews decoded, by decoder: fast, or general (encoding/json) for reviews outside the fast path's JSON subset.",
		}, []string{"decoder"}),
	}
	for _, c := range []prometheus.Collector{m.Requests, m.InternalErrors, m.Cache, m.EvaluationSeconds, m.PolicyGeneration, m.RegistryRequests, m.ReviewDecodes} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
