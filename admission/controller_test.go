package admission

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/signetproject/signet/internal/kube/kubetest"
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

// policyLists are the list kinds of the policy CRDs, for fake clients.
var policyLists = map[schema.GroupVersionResource]string{ClusterImagePolicyResource: "ClusterImagePolicyList", TrustRootResource: "TrustRootList"}

// TestControllerRebuilds runs the informers against fake clients: the
// first engine is built after sync, and every policy change publishes a
// new generation (an invalid policy publishes its error).
func TestControllerRebuilds(t *testing.T) {
	dyn := kubetest.NewDynamic(policyLists,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "checked", Labels: map[string]string{IncludeLabel: "true"}}},
		unstructuredCIP(t, "deny-evil", `{"images":[{"glob":"**evil**"}],"authorities":[{"static":{"action":"fail"}}]}`))
	factory := CheckerFactoryFunc(func([]*policy.TrustRoot) (policy.AuthorityChecker, error) { return &testChecker{}, nil })
	ctrl, err := NewController(dyn, factory, ControllerOptions{
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
	// A broken policy fails only the images it matches.
	if _, err := cips.Create(ctx, unstructuredCIP(t, "broken", `{"images":[{"glob":"**broken**"}],"authorities":[{"static":{"action":"sometimes"}}]}`), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s3 := waitFor("the broken policy", func(s *Snapshot) bool { return s.Generation > s2.Generation && s.Err == nil })
	if d := s3.Engine.Evaluate(ctx, policy.Request{Image: "broken@sha256:" + strings.Repeat("0", 64)}); d.Allowed || !strings.Contains(fmt.Sprint(d.Denials), "sometimes") {
		t.Errorf("image of the broken policy: %+v", d)
	}
	if d := s3.Engine.Evaluate(ctx, policy.Request{Image: "fine@sha256:" + strings.Repeat("0", 64)}); !d.Allowed {
		t.Errorf("an image the broken policy does not match was denied: %v", d.Denials)
	}
	// A policy whose globs cannot be read may apply to anything: every
	// checked object is denied until it is fixed.
	if _, err := cips.Create(ctx, unstructuredCIP(t, "unreadable", `{"images":[{"glob":"[x"}],"authorities":[{"static":{"action":"pass"}}]}`), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s4 := waitFor("the unreadable policy's error", func(s *Snapshot) bool { return s.Generation > s3.Generation && s.Err != nil })
	if !strings.Contains(s4.Err.Error(), "unreadable") {
		t.Errorf("error %v does not name the policy", s4.Err)
	}
	for _, name := range []string{"broken", "unreadable"} {
		if err := cips.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("recovery", func(s *Snapshot) bool { return s.Generation > s4.Generation && s.Err == nil })
}

// TestControllerCredentialsFromInformers: service accounts and pull
// secrets are read from informers, never with an API request (client-go's
// rate limiter queued, and then failed, admissions under load); only the
// kubelet's pull secret types are seen, without their annotations.
func TestControllerCredentialsFromInformers(t *testing.T) {
	docker := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "regcred", Namespace: "apps",
		Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...}"}},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`), "extra": []byte("x")}}
	opaque := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-password", Namespace: "apps"}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)}}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder", Namespace: "apps"}, ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}}}
	dyn := kubetest.NewDynamic(policyLists, docker, opaque, sa)
	factory := CheckerFactoryFunc(func([]*policy.TrustRoot) (policy.AuthorityChecker, error) { return &testChecker{}, nil })
	ctrl, err := NewController(dyn, factory, ControllerOptions{Logger: slog.New(slog.DiscardHandler)})
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
	var gets atomic.Int64
	dyn.PrependReactor("get", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		gets.Add(1)
		return false, nil, nil
	})
	for range 100 {
		names, err := PullSecretNames(ctx, ctrl, "apps", &corev1.PodSpec{ServiceAccountName: "builder"})
		if err != nil || !slices.Equal(names, []string{"regcred"}) {
			t.Fatalf("pull secret names %v, %v", names, err)
		}
		s, err := ctrl.Secret(ctx, "apps", "regcred")
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Annotations) != 0 || len(s.Data) != 1 {
			t.Fatalf("pull secret kept %v and %d data entries", s.Annotations, len(s.Data))
		}
	}
	if _, err := ctrl.Secret(ctx, "apps", "db-password"); !apierrors.IsNotFound(err) {
		t.Errorf("an Opaque secret was read as a pull secret: %v", err)
	}
	if _, err := ctrl.ServiceAccount(ctx, "apps", "nobody"); !apierrors.IsNotFound(err) {
		t.Errorf("missing service account: %v", err)
	}
	if n := gets.Load(); n != 0 {
		t.Errorf("%d API requests for credentials", n)
	}
}
