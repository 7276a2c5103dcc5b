// Package kube reads, writes and watches Kubernetes objects of built-in
// types as Go structs (k8s.io/api) through client-go's dynamic client.
//
// signet uses it in place of client-go's typed clientset and informers
// (k8s.io/client-go/kubernetes, k8s.io/client-go/informers): linking those
// registers every API group of Kubernetes in a scheme when the program
// starts, several milliseconds of every signet command, most of which never
// talk to a cluster. This package converts between the dynamic client's
// unstructured objects and the structs instead, for the few kinds signet
// uses.
package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Resource is an API resource and the kind of its objects.
type Resource struct {
	schema.GroupVersionResource
	Kind string
}

func core(resource, kind string) Resource {
	return Resource{schema.GroupVersionResource{Version: "v1", Resource: resource}, kind}
}

// The resources signet reads and writes.
var (
	Namespaces      = core("namespaces", "Namespace")
	Secrets         = core("secrets", "Secret")
	ConfigMaps      = core("configmaps", "ConfigMap")
	ServiceAccounts = core("serviceaccounts", "ServiceAccount")
	Pods            = core("pods", "Pod")
	ReplicaSets     = Resource{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}, "ReplicaSet"}
	Jobs            = Resource{schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, "Job"}

	ValidatingWebhookConfigurations = Resource{schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1",
		Resource: "validatingwebhookconfigurations"}, "ValidatingWebhookConfiguration"}
	MutatingWebhookConfigurations = Resource{schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1",
		Resource: "mutatingwebhookconfigurations"}, "MutatingWebhookConfiguration"}
)

// Get reads the object name of r in namespace ("" for cluster-scoped
// resources) into a T (a k8s.io/api struct). Errors are the API server's,
// for k8s.io/apimachinery/pkg/api/errors to classify.
func Get[T any](ctx context.Context, dyn dynamic.Interface, r Resource, namespace, name string) (*T, error) {
	u, err := dyn.Resource(r.GroupVersionResource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return fromUnstructured[T](u)
}

// List lists r's objects in namespace ("" for all) as Ts.
func List[T any](ctx context.Context, dyn dynamic.Interface, r Resource, namespace string, opts metav1.ListOptions) ([]T, error) {
	l, err := dyn.Resource(r.GroupVersionResource).Namespace(namespace).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(l.Items))
	for i := range l.Items {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(l.Items[i].Object, &out[i]); err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.Kind, l.Items[i].GetName(), err)
		}
	}
	return out, nil
}

// Create creates obj, a T of r, in namespace and returns the object the
// API server stored.
func Create[T any](ctx context.Context, dyn dynamic.Interface, r Resource, namespace string, obj *T, opts metav1.CreateOptions) (*T, error) {
	u, err := toUnstructured(r, obj)
	if err != nil {
		return nil, err
	}
	if u, err = dyn.Resource(r.GroupVersionResource).Namespace(namespace).Create(ctx, u, opts); err != nil {
		return nil, err
	}
	return fromUnstructured[T](u)
}

// Update replaces obj, a T of r, in namespace and returns the object the
// API server stored; obj's resourceVersion makes a concurrent change a
// conflict.
func Update[T any](ctx context.Context, dyn dynamic.Interface, r Resource, namespace string, obj *T, opts metav1.UpdateOptions) (*T, error) {
	u, err := toUnstructured(r, obj)
	if err != nil {
		return nil, err
	}
	if u, err = dyn.Resource(r.GroupVersionResource).Namespace(namespace).Update(ctx, u, opts); err != nil {
		return nil, err
	}
	return fromUnstructured[T](u)
}

func fromUnstructured[T any](u *unstructured.Unstructured) (*T, error) {
	var t T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &t); err != nil {
		return nil, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return &t, nil
}

func toUnstructured[T any](r Resource, obj *T) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Kind, err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion(r.GroupVersion().String())
	u.SetKind(r.Kind)
	return u, nil
}

// Informer returns an informer of r's objects in namespace ("" for all),
// listed and watched through dyn, indexed by namespace. tweak, when not
// nil, edits the list options (a field selector); transform, when not nil,
// replaces each object before it is stored: Typed stores structs for
// client-go's listers (k8s.io/client-go/listers), else the store holds
// *unstructured.Unstructured.
func Informer(dyn dynamic.Interface, r Resource, namespace string, resync time.Duration, tweak func(*metav1.ListOptions), transform cache.TransformFunc) cache.SharedIndexInformer {
	res := dyn.Resource(r.GroupVersionResource).Namespace(namespace)
	tweaked := func(o metav1.ListOptions) metav1.ListOptions {
		if tweak != nil {
			tweak(&o)
		}
		return o
	}
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return res.List(ctx, tweaked(o))
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return res.Watch(ctx, tweaked(o))
		},
	}, dyn)
	inf := cache.NewSharedIndexInformerWithOptions(lw, &unstructured.Unstructured{}, cache.SharedIndexInformerOptions{
		ResyncPeriod:      resync,
		Indexers:          cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc},
		ObjectDescription: r.String(),
	})
	if transform != nil {
		// Only fails once the informer has started.
		_ = inf.SetTransform(transform)
	}
	return inf
}

// Run runs the informers until ctx ends. The function it returns waits
// until they have stopped.
func Run(ctx context.Context, informers ...cache.SharedIndexInformer) (wait func()) {
	var wg sync.WaitGroup
	for _, inf := range informers {
		wg.Go(func() { inf.RunWithContext(ctx) })
	}
	return wg.Wait
}

// WaitForSync waits until the informers have listed their objects, and
// reports whether they did before ctx ended.
func WaitForSync(ctx context.Context, informers ...cache.SharedIndexInformer) bool {
	synced := make([]cache.InformerSynced, len(informers))
	for i, inf := range informers {
		synced[i] = inf.HasSynced
	}
	return cache.WaitForCacheSync(ctx.Done(), synced...)
}

// Typed returns an informer transform that converts the dynamic client's
// objects into *T and then applies next, when not nil.
func Typed[T any](next cache.TransformFunc) cache.TransformFunc {
	return func(obj any) (any, error) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return obj, nil
		}
		t, err := fromUnstructured[T](u)
		if err != nil || next == nil {
			return t, err
		}
		return next(t)
	}
}

// Discovery lists the resources an API server serves, as client-go's
// discovery client does, without the OpenAPI models that client links.
type Discovery struct {
	client rest.Interface
}

// NewDiscovery returns a discovery client for the API server of cfg.
func NewDiscovery(cfg *rest.Config) (*Discovery, error) {
	c := rest.CopyConfig(cfg)
	c.GroupVersion, c.APIPath = nil, ""
	c.NegotiatedSerializer = serializer.NewCodecFactory(runtime.NewScheme()).WithoutConversion()
	client, err := rest.UnversionedRESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("kubernetes discovery client: %w", err)
	}
	return &Discovery{client: client}, nil
}

// ServerResources returns the resources of group version gv ("v1" for
// the core group, else "group/version").
func (d *Discovery) ServerResources(ctx context.Context, gv string) (*metav1.APIResourceList, error) {
	path := "/apis/" + gv
	if gv == "v1" {
		path = "/api/v1"
	}
	raw, err := d.client.Get().AbsPath(path).Do(ctx).Raw()
	if err != nil {
		return nil, err
	}
	var list metav1.APIResourceList
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("discovery %s: %w", path, err)
	}
	return &list, nil
}
