package admission

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/signetproject/signet/policy"
)

func unstructuredCIP(t *testing.T, name, spec string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(`{"apiVersion":"policy.sigstore.dev/v1beta1","kind":"ClusterImagePolicy","metadata":{"name":"` + name + `"},"spec":` + spec + `}`)); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestControllerRebuilds runs the informers against fake clients: the
// first engine is built after sync, and every policy change publishes a
// new generation (an invalid policy publishes its error).
func TestControllerRebuilds(t *testing.T) {
	client := kubefake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "checked", Labels: map[string]string{IncludeLabel: "true"}}})
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{ClusterImagePolicyResource: "ClusterImagePolicyList", TrustRootResource: "TrustRootList"},
		unstructuredCIP(t, "deny-evil", `{"images":[{"glob":"**evil**"}],"authorities":[{"static":{"action":"fail"}}]}`))
	factory := CheckerFactoryFunc(func([]*policy.TrustRoot) (policy.AuthorityChecker, error) { return &testChecker{}, nil })
	ctrl, err := NewController(client, dyn, factory, ControllerOptions{
		Engine: policy.Options{NoMatch: policy.NoMatchAllow}, Logger: slog.New(slog.DiscardHandler), Debounce: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := ctrl.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	snap := ctrl.Snapshot()
	if snap.Err != nil {
		t.Fatal(snap.Err)
	}
	evil := policy.Request{Image: "evil@sha256:" + strings.Repeat("0", 64)}
	if d := snap.Engine.Evaluate(ctx, evil); d.Allowed {
		t.Error("first engine admits evil")
	}
	labels, err := ctrl.NamespaceLabels(ctx, "checked")
	if err != nil || labels[IncludeLabel] != "true" {
		t.Errorf("namespace labels %v, %v", labels, err)
	}

	waitFor := func(what string, ok func(*Snapshot) bool) *Snapshot {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if s := ctrl.Snapshot(); ok(s) {
				return s
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s; snapshot %+v", what, ctrl.Snapshot())
		return nil
	}
	cips := dyn.Resource(ClusterImagePolicyResource)
	if _, err := cips.Create(ctx, unstructuredCIP(t, "deny-late", `{"images":[{"glob":"**late**"}],"authorities":[{"static":{"action":"fail"}}]}`), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s2 := waitFor("a rebuild with deny-late", func(s *Snapshot) bool {
		return s.Generation > snap.Generation && s.Err == nil && !s.Engine.Evaluate(ctx, policy.Request{Image: "late@sha256:" + strings.Repeat("0", 64)}).Allowed
	})
	if _, err := cips.Create(ctx, unstructuredCIP(t, "broken", `{"images":[{"glob":"**"}],"authorities":[{"static":{"action":"sometimes"}}]}`), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s3 := waitFor("the broken policy's error", func(s *Snapshot) bool { return s.Generation > s2.Generation && s.Err != nil })
	if !strings.Contains(s3.Err.Error(), "broken") {
		t.Errorf("error %v does not name the policy", s3.Err)
	}
	if err := cips.Delete(ctx, "broken", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("recovery", func(s *Snapshot) bool { return s.Generation > s3.Generation && s.Err == nil })
}
