package server

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/signetproject/signet/oidc"
)

type metrics struct {
	registry      *prometheus.Registry
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	certsIssued   *prometheus.CounterVec
	certRejected  *prometheus.CounterVec
	issueDuration *prometheus.HistogramVec
}

// unknownIssuer labels requests whose token named no configured issuer, so
// arbitrary iss values cannot grow the label set.
const unknownIssuer = "unknown"

func newMetrics(issuers []oidc.IssuerConfig) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "signet_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route"}),
		certsIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_ca_certificates_issued_total", Help: "Certificates issued, by OIDC issuer.",
		}, []string{"issuer"}),
		certRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_ca_requests_rejected_total", Help: "Certificate requests refused, by OIDC issuer and reason.",
		}, []string{"issuer", "reason"}),
		issueDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "signet_ca_issue_duration_seconds", Help: "Time to verify a token and issue a certificate, by OIDC issuer.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 16),
		}, []string{"issuer"}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.certsIssued, m.certRejected, m.issueDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, is := range issuers { // make every issuer's series visible from the start
		m.certsIssued.WithLabelValues(is.URL)
	}
	return m
}

func (m *metrics) observeRequest(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// integrityMetric counts the integrity failures a transparency log found
// (stored state disagreeing with a checkpoint it signed).
func integrityMetric(log string, count func() uint64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name:        "signet_log_integrity_failures_total",
		Help:        "Integrity failures a transparency log found: stored data disagreeing with a checkpoint it signed. The log refuses to append after one.",
		ConstLabels: prometheus.Labels{"log": log},
	}, func() float64 { return float64(count()) })
}
