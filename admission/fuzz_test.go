package admission

import (
	"context"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signetproject/signet/policy"
)

// FuzzReview feeds arbitrary AdmissionReview bodies through decoding,
// workload parsing and both webhooks: they must never panic, and a review
// that decodes always gets a response with its UID.
func FuzzReview(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"namespace":"checked","operation":"CREATE","object":{"spec":{"containers":[{"image":"evil:1"}],"initContainers":[{"image":"x@sha256:00"}]}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"batch","version":"v1","kind":"CronJob"},"namespace":"checked","operation":"UPDATE","object":{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"image":"good:1"}]}}}}}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"ReplicationController"},"namespace":"checked","operation":"CREATE","object":{"spec":{}}}}`))
	checker := &testChecker{}
	eng := newTestEngine(f, checker, policy.NoMatchWarn)
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		f.Fatal(err)
	}
	wh, err := NewWebhook(staticSnapshot{&Snapshot{Engine: eng, Generation: 1, Cacheable: true}},
		fakeNamespaces{"checked": {IncludeLabel: "true"}}, fakeSecrets{}, &fakeResolver{},
		WebhookOptions{Metrics: m, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rev, err := ParseReview(body)
		if err != nil {
			return
		}
		for _, review := range []func(context.Context, *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse{wh.Validate, wh.Mutate} {
			resp := review(context.Background(), rev.Request)
			if resp == nil || resp.UID != rev.Request.UID {
				t.Fatalf("response %+v for request %s", resp, rev.Request.UID)
			}
			if !resp.Allowed && resp.Result == nil {
				t.Fatal("denial without a status")
			}
		}
	})
}
