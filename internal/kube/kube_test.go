package kube_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/signetproject/signet/internal/kube"
	"github.com/signetproject/signet/internal/kube/kubetest"
)

// TestObjects writes and reads structs through a dynamic client.
func TestObjects(t *testing.T) {
	ctx := context.Background()
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "prod", Labels: map[string]string{"app": "web"}}}
	dyn := kubetest.NewDynamic(nil, rs)

	got, err := kube.Get[appsv1.ReplicaSet](ctx, dyn, kube.ReplicaSets, "prod", "web-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "web-1" || got.Labels["app"] != "web" || got.Kind != "ReplicaSet" {
		t.Errorf("Get = %+v", got)
	}
	if _, err := kube.Get[appsv1.ReplicaSet](ctx, dyn, kube.ReplicaSets, "dev", "web-1"); !apierrors.IsNotFound(err) {
		t.Errorf("Get in another namespace: err = %v, want not found", err)
	}

	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "keys", Namespace: "prod"}, Data: map[string][]byte{"k": []byte("v1")}}
	if _, err := kube.Create(ctx, dyn, kube.Secrets, "prod", s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.Create(ctx, dyn, kube.Secrets, "prod", s, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Errorf("second Create: err = %v, want already exists", err)
	}
	s.Data["k"] = []byte("v2")
	if _, err := kube.Update(ctx, dyn, kube.Secrets, "prod", s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	list, err := kube.List[corev1.Secret](ctx, dyn, kube.Secrets, "", metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || string(list[0].Data["k"]) != "v2" || list[0].Namespace != "prod" {
		t.Errorf("List = %+v, want the updated Secret", list)
	}
}

// TestInformer checks a typed informer stores transformed structs that
// client-go's listers read, and follows changes.
func TestInformer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dyn := kubetest.NewDynamic(nil, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ns",
		Annotations: map[string]string{"big": "x"}}})
	dropAnnotations := func(obj any) (any, error) {
		s := obj.(*corev1.Secret)
		s.Annotations = nil
		return s, nil
	}
	var selectors []string
	dyn.PrependReactor("list", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		selectors = append(selectors, a.(k8stesting.ListAction).GetListRestrictions().Fields.String())
		return false, nil, nil
	})
	tweak := func(o *metav1.ListOptions) { o.FieldSelector = "type=Opaque" }
	inf := kube.Informer(dyn, kube.Secrets, "ns", time.Hour, tweak, kube.Typed[corev1.Secret](dropAnnotations))
	wait := kube.Run(ctx, inf)
	defer func() { cancel(); wait() }()
	if !kube.WaitForSync(ctx, inf) {
		t.Fatal("informer did not sync")
	}
	if len(selectors) != 1 || selectors[0] != "type=Opaque" {
		t.Errorf("listed with field selectors %q, want type=Opaque", selectors)
	}
	secrets := corelisters.NewSecretLister(inf.GetIndexer()).Secrets("ns")
	a, err := secrets.Get("a")
	if err != nil {
		t.Fatal(err)
	}
	if a.Annotations != nil {
		t.Errorf("stored Secret kept its annotations: %v", a.Annotations)
	}
	if _, err := kube.Create(ctx, dyn, kube.Secrets, "ns", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "ns"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := secrets.Get("b"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the informer did not see a new Secret")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDiscovery checks the paths discovery asks and the list it returns.
func TestDiscovery(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1":
			w.Write([]byte(`{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"secrets","namespaced":true,"kind":"Secret","verbs":["get"]}]}`))
		case "/apis/apps/v1":
			w.Write([]byte(`{"kind":"APIResourceList","groupVersion":"apps/v1","resources":[{"name":"deployments","namespaced":true,"kind":"Deployment","verbs":["get"]}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	disc, err := kube.NewDiscovery(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for gv, want := range map[string]metav1.APIResource{
		"v1":      {Name: "secrets", Namespaced: true, Kind: "Secret", Verbs: metav1.Verbs{"get"}},
		"apps/v1": {Name: "deployments", Namespaced: true, Kind: "Deployment", Verbs: metav1.Verbs{"get"}},
	} {
		list, err := disc.ServerResources(ctx, gv)
		if err != nil {
			t.Fatalf("%s: %v", gv, err)
		}
		if diff := cmp.Diff([]metav1.APIResource{want}, list.APIResources); diff != "" || list.GroupVersion != gv {
			t.Errorf("%s: group version %q, resources (-want +got):\n%s", gv, list.GroupVersion, diff)
		}
	}
	if _, err := disc.ServerResources(ctx, "nope/v1"); !apierrors.IsNotFound(err) {
		t.Errorf("unknown group version: err = %v, want not found", err)
	}
}
