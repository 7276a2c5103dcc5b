// Package kubetest makes fake dynamic clients that hold Kubernetes objects
// of built-in types, for tests of code that uses package kube.
package kubetest

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/signetproject/signet/internal/kube"
)

// NewDynamic returns a fake dynamic client holding objs: k8s.io/api
// structs of the kinds package kube names, or unstructured objects. It
// lists the resources package kube names and those of custom (resource to
// list kind, for custom resources), with or without objects. It panics on
// an object it cannot convert, as client-go's fakes do.
func NewDynamic(custom map[schema.GroupVersionResource]string, objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	lists := map[schema.GroupVersionResource]string{}
	for _, r := range []kube.Resource{kube.Namespaces, kube.Secrets, kube.ConfigMaps, kube.ServiceAccounts, kube.Pods,
		kube.ReplicaSets, kube.Jobs, kube.ValidatingWebhookConfigurations, kube.MutatingWebhookConfigurations} {
		lists[r.GroupVersionResource] = r.Kind + "List"
	}
	for gvr, kind := range custom {
		lists[gvr] = kind
	}
	unstructuredObjs := make([]runtime.Object, len(objs))
	for i, o := range objs {
		unstructuredObjs[i] = Unstructured(o)
	}
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists, unstructuredObjs...)
}

// typed knows the k8s.io/api structs of the kinds package kube names.
var typed = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, admissionregistrationv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// Unstructured returns obj, a k8s.io/api struct of a kind package kube
// names, as the unstructured object a dynamic client holds (obj itself
// when it is unstructured already), for a fake's Tracker.
func Unstructured(obj runtime.Object) *unstructured.Unstructured {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u
	}
	gvks, _, err := typed.ObjectKinds(obj)
	if err != nil {
		panic(err)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		panic(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvks[0])
	return u
}
