package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/signetproject/signet/policy"
)

// waitIdle waits for the webhook's abandoned work, so that tests leave no
// goroutine behind.
func waitIdle(t *testing.T, wh *Webhook) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := wh.Wait(ctx); err != nil {
		t.Error(err)
	}
}

// TestTimeoutHonoured: both webhooks answer by --timeout, denying, even
// when the registry client ignores its context (the API server gives up
// at its own timeout and applies failurePolicy anyway).
func TestTimeoutHonoured(t *testing.T) {
	for _, webhook := range []string{"validate", "mutate"} {
		t.Run(webhook, func(t *testing.T) {
			r := newRig(t, policy.NoMatchDeny, nil)
			r.wh.timeout = 300 * time.Millisecond
			r.resolver.delay, r.resolver.ignoreCtx = 2*time.Second, true
			obj, _, _ := workloadObject("Pod", podSpec("good:1"))
			review := r.wh.Validate
			if webhook == "mutate" {
				review = r.wh.Mutate
			}
			start := time.Now()
			resp := review(context.Background(), request(t, admissionv1.Create, "", "Pod", "checked", obj))
			elapsed := time.Since(start)
			if resp.Allowed || !strings.Contains(resp.Result.Message, "no decision within 300ms") {
				t.Errorf("response %+v", resp.Result)
			}
			if elapsed > time.Second {
				t.Errorf("answered after %s with a 300ms timeout", elapsed)
			}
			if got := counterValue(r.metrics.InternalErrors.WithLabelValues(ReasonTimeout)); got != 1 {
				t.Errorf("internal errors{timeout} = %v", got)
			}
			waitIdle(t, r.wh)
			// The abandoned review's late verdict is not counted again.
			if got := counterValue(r.metrics.Requests.WithLabelValues(webhook, "denied")); got != 1 {
				t.Errorf("requests{denied} = %v, want 1", got)
			}
		})
	}
}

// TestDecisionEndsAtDeadline: a decision's work ends at the request's
// deadline, however long resolving its tag took; it does not get a
// timeout of its own once resolution is done.
func TestDecisionEndsAtDeadline(t *testing.T) {
	r := newRig(t, policy.NoMatchDeny, nil)
	r.wh.timeout = 500 * time.Millisecond
	r.resolver.delay = 300 * time.Millisecond
	r.checker.block = make(chan struct{}) // never released
	r.checker.returned = make(chan time.Time, 1)
	obj, _, _ := workloadObject("Pod", podSpec("keyed-signed:1"))
	resp := r.wh.Validate(context.Background(), request(t, admissionv1.Create, "", "Pod", "checked", obj))
	answered := time.Now()
	if resp.Allowed {
		t.Fatal("admitted")
	}
	select {
	case gaveUp := <-r.checker.returned:
		if late := gaveUp.Sub(answered); late > 100*time.Millisecond {
			t.Errorf("the authority check ran %s after the answer", late)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the authority check never gave up")
	}
	waitIdle(t, r.wh)
}

// TestTimedOutDecisionNotCached: a decision cut off by the deadline is a
// failure to decide, not a verdict, even when the check that gave up does
// not say why: the next admission of the image decides again.
func TestTimedOutDecisionNotCached(t *testing.T) {
	r := newRig(t, policy.NoMatchDeny, nil)
	r.wh.timeout = 300 * time.Millisecond
	r.checker.block, r.checker.opaque = make(chan struct{}), true
	r.checker.returned = make(chan time.Time, 1)
	obj, _, _ := workloadObject("Pod", podSpec("keyed-signed@sha256:"+strings.Repeat("b", 64)))
	if resp := r.wh.Validate(context.Background(), request(t, admissionv1.Create, "", "Pod", "checked", obj)); resp.Allowed {
		t.Fatal("admitted without a decision")
	}
	<-r.checker.returned // the abandoned check gave up…
	waitIdle(t, r.wh)
	// …and its evaluation, which no request waits for, has ended (a
	// request joining it would share its failure).
	time.Sleep(100 * time.Millisecond)
	close(r.checker.block) // the registry answers again
	if resp := r.wh.Validate(context.Background(), request(t, admissionv1.Create, "", "Pod", "checked", obj)); !resp.Allowed {
		t.Errorf("denied after the registry recovered: %s", resp.Result.Message)
	}
	if n := r.checker.calls.Load(); n != 2 {
		t.Errorf("checker calls = %d, want 2 (the timed-out decision must not be cached)", n)
	}
}

// TestTagsResolvedOnlyWhenAPolicyMayApply: a tag no policy can match is
// not resolved (resolving it is registry work any pod creator could
// trigger), by either webhook.
func TestTagsResolvedOnlyWhenAPolicyMayApply(t *testing.T) {
	for _, noMatch := range []policy.NoMatchPolicy{policy.NoMatchDeny, policy.NoMatchAllow} {
		t.Run(string(noMatch), func(t *testing.T) {
			r := newRig(t, noMatch, nil)
			obj, _, _ := workloadObject("Pod", podSpec("registry.example/unrelated/app:1"))
			resp := r.wh.Validate(context.Background(), request(t, admissionv1.Create, "", "Pod", "checked", obj))
			if resp.Allowed != (noMatch == policy.NoMatchAllow) {
				t.Errorf("allowed = %v", resp.Allowed)
			}
			if noMatch == policy.NoMatchDeny && !strings.Contains(resp.Result.Message, "no matching policies") {
				t.Errorf("denial %q", resp.Result.Message)
			}
			if len(resp.Warnings) != 0 {
				t.Errorf("warnings %q", resp.Warnings)
			}
			if resp := r.wh.Mutate(context.Background(), request(t, admissionv1.Create, "", "Pod", "checked", obj)); !resp.Allowed || resp.Patch != nil {
				t.Errorf("mutate: %+v", resp)
			}
			if n := r.resolver.calls.Load(); n != 0 {
				t.Errorf("%d tag resolutions", n)
			}
			// A tag a policy may apply to is resolved.
			obj, _, _ = workloadObject("Pod", podSpec("registry.example/good/app:1"))
			r.wh.Validate(context.Background(), request(t, admissionv1.Create, "", "Pod", "checked", obj))
			if n := r.resolver.calls.Load(); n != 1 {
				t.Errorf("%d tag resolutions, want 1", n)
			}
		})
	}
}

// TestUnavailableNotCached: a denial because the signatures or the
// credentials could not be read is a failure to decide: said so, counted
// as an internal error, and never cached.
func TestUnavailableNotCached(t *testing.T) {
	digest := "@sha256:" + strings.Repeat("f", 64)
	for _, tt := range []struct {
		name  string
		image string
		saErr error
		want  string
	}{
		{"registry unreachable", "keyed-flaky" + digest, nil, "registry unreachable"},
		{"credentials throttled", "keyed-signed" + digest, errors.New("client rate limiter Wait returned an error: context deadline exceeded"), "client rate limiter"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, policy.NoMatchDeny, nil)
			r.wh.secrets = fakeSecrets{saErr: tt.saErr}
			obj, _, _ := workloadObject("Pod", podSpec(tt.image))
			for i := range 2 {
				resp := r.wh.Validate(context.Background(), request(t, admissionv1.Create, "", "Pod", "checked", obj))
				if resp.Allowed {
					t.Fatal("admitted")
				}
				for _, want := range []string{"cannot decide, denying (fail closed)", tt.want} {
					if !strings.Contains(resp.Result.Message, want) {
						t.Errorf("denial %d %q lacks %q", i, resp.Result.Message, want)
					}
				}
			}
			if n := r.checker.calls.Load(); n != 2 {
				t.Errorf("checker calls = %d, want 2 (the first denial must not be cached)", n)
			}
			if got := counterValue(r.metrics.InternalErrors.WithLabelValues(ReasonUnavailable)); got != 2 {
				t.Errorf("internal errors{unavailable} = %v, want 2", got)
			}
			if r.wh.cache.Len() != 0 {
				t.Errorf("%d cached decisions", r.wh.cache.Len())
			}
		})
	}
}

// TestDenialsCapped: a pod with 500 failing containers gets a denial that
// lists the first few and counts the rest.
func TestDenialsCapped(t *testing.T) {
	r := newRig(t, policy.NoMatchDeny, nil)
	r.wh.timeout = time.Minute // 500 images, with -race on a busy machine
	var images, shady []string
	for i := range 500 {
		images = append(images, fmt.Sprintf("registry.example/evil/app-%03d@sha256:%064d", i, i))
		shady = append(shady, fmt.Sprintf("registry.example/shady/app-%03d@sha256:%064d", i, i))
	}
	obj, _, _ := workloadObject("Pod", podSpec(images...))
	resp := r.wh.Validate(context.Background(), request(t, admissionv1.Create, "", "Pod", "checked", obj))
	if resp.Allowed {
		t.Fatal("admitted")
	}
	msg := resp.Result.Message
	if len(msg) > 16<<10 || !strings.Contains(msg, "and 490 more denials") || !strings.Contains(msg, "containers[0].image") {
		t.Errorf("denial of %d bytes: %.300s…", len(msg), msg)
	}
	obj, _, _ = workloadObject("Pod", podSpec(shady...))
	resp = r.wh.Validate(context.Background(), request(t, admissionv1.Create, "", "Pod", "checked", obj))
	if !resp.Allowed || len(resp.Warnings) != maxListed+1 || resp.Warnings[maxListed] != "and 490 more warnings" {
		t.Errorf("allowed %v, warnings %q", resp.Allowed, resp.Warnings)
	}
	if got := capped([]string{strings.Repeat("x", 10000)}, "denials"); len(got[0]) > maxReasonBytes+len("…") {
		t.Errorf("a denial of %d bytes", len(got[0]))
	}
}

// TestDeletingObjectImageChange: an object being deleted (held by a
// finalizer) cannot swap its images unchecked; updates that change no
// image (the finalizer's removal) are not checked.
func TestDeletingObjectImageChange(t *testing.T) {
	digest := "@sha256:" + strings.Repeat("a", 64)
	for _, kind := range []string{"Pod", "Deployment"} {
		t.Run(kind, func(t *testing.T) {
			r := newRig(t, policy.NoMatchDeny, nil)
			deleting := func(image string) runtime.Object {
				obj, _, _ := workloadObject(kind, podSpec(image))
				now := metav1.Now()
				switch o := obj.(type) {
				case interface{ SetDeletionTimestamp(*metav1.Time) }:
					o.SetDeletionTimestamp(&now)
				default:
					t.Fatalf("%T has no deletion timestamp", obj)
				}
				return obj
			}
			group := map[string]string{"Pod": "", "Deployment": "apps"}[kind]
			update := func(oldImage, newImage string) *admissionv1.AdmissionResponse {
				req := request(t, admissionv1.Update, group, kind, "checked", deleting(newImage))
				old, err := json.Marshal(deleting(oldImage))
				if err != nil {
					t.Fatal(err)
				}
				req.OldObject = runtime.RawExtension{Raw: old}
				return r.wh.Validate(context.Background(), req)
			}
			if resp := update("registry.example/good/app"+digest, "registry.example/evil/app"+digest); resp.Allowed {
				t.Error("image changed to an evil one while deleting: admitted")
			}
			if resp := update("registry.example/evil/app"+digest, "registry.example/evil/app"+digest); !resp.Allowed {
				t.Errorf("finalizer update without image change denied: %s", resp.Result.Message)
			}
			if got := counterValue(r.metrics.Requests.WithLabelValues("validate", "skipped")); got != 1 {
				t.Errorf("requests{skipped} = %v, want 1", got)
			}
		})
	}
}

// TestUnpinnedWarning: without pinning, the warning says what was checked
// and that the kubelet may run something else.
func TestUnpinnedWarning(t *testing.T) {
	r := newRig(t, policy.NoMatchDeny, nil)
	obj, _, _ := workloadObject("Pod", podSpec("registry.example/good/app:1"))
	resp := r.wh.Validate(context.Background(), request(t, admissionv1.Create, "", "Pod", "checked", obj))
	if !resp.Allowed || len(resp.Warnings) != 1 {
		t.Fatalf("%+v", resp)
	}
	for _, want := range []string{"is not pinned to a digest", fakeDigest("registry.example/good/app:1").String(), "the kubelet pulls whatever the tag names when it starts the container", "tag pinning"} {
		if !strings.Contains(resp.Warnings[0], want) {
			t.Errorf("warning %q lacks %q", resp.Warnings[0], want)
		}
	}
}
