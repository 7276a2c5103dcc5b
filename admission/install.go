package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
)

// Names of the objects Install creates.
const (
	// WebhookConfigurationName names the Validating- and
	// MutatingWebhookConfiguration.
	WebhookConfigurationName = "signet-admission"
	// ValidatingWebhookName and MutatingWebhookName name the webhooks;
	// the API server quotes them in denials ("admission webhook
	// \"validate.policy.signet.dev\" denied the request: …").
	ValidatingWebhookName = "validate.policy.signet.dev"
	MutatingWebhookName   = "mutate.policy.signet.dev"
	// DefaultNamespace and DefaultServiceName locate the webhook in
	// service mode.
	DefaultNamespace   = "signet-system"
	DefaultServiceName = "signet-admission"
	// ValidatePath and MutatePath are the webhook's HTTP paths.
	ValidatePath = "/validate"
	MutatePath   = "/mutate"
)

// InstallConfig says how the API server reaches the webhook: at URL (a
// webhook outside the cluster), or through a Service in Namespace.
type InstallConfig struct {
	// URL is the validating webhook's https URL; the mutating one is the
	// same with the last path element "mutate". Empty means service mode.
	URL string
	// Namespace and Service name the webhook's Service in service mode;
	// defaults DefaultNamespace and DefaultServiceName. In service mode
	// the manifests also hold the namespace, service account, RBAC and
	// Service the webhook's Deployment needs.
	Namespace, Service string
	// CABundle is the PEM CA that signed the webhook's serving
	// certificate. In service mode it may be empty: `signet admission
	// serve` patches it in at start.
	CABundle []byte
	// UnsafeNoPinning leaves out the MutatingWebhookConfiguration that
	// pins image tags to the digests they name at admission. Without
	// pinning, the validating webhook checks what a tag names at
	// admission and the kubelet pulls what it names when the container
	// starts: a tag moved in between runs an unchecked image.
	UnsafeNoPinning bool
	// TimeoutSeconds is the API server's timeout for a webhook call;
	// default 10.
	TimeoutSeconds int32
}

// Validate checks the URL and fills in defaults.
func (c *InstallConfig) Validate() error {
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.Service == "" {
		c.Service = DefaultServiceName
	}
	if c.TimeoutSeconds == 0 {
		c.TimeoutSeconds = 10
	}
	if c.TimeoutSeconds < 1 || c.TimeoutSeconds > 30 {
		return fmt.Errorf("install config: timeout %ds: want 1 to 30", c.TimeoutSeconds)
	}
	if c.URL == "" {
		return nil
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("install config: webhook URL: %w", err)
	}
	if u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("install config: webhook URL %q: want https://HOST[:PORT]/PATH without user, query or fragment", c.URL)
	}
	if !c.UnsafeNoPinning && !strings.HasSuffix(u.Path, ValidatePath) {
		return fmt.Errorf("install config: webhook URL %q: with tag pinning (the mutating webhook) its path must end in %s (the mutating one is then .../mutate)", c.URL, ValidatePath)
	}
	return nil
}

// workloadRules are the webhooks' rules: every workload kind
// ParseWorkload knows, created or updated.
func workloadRules() []admissionregistrationv1.RuleWithOperations {
	rule := func(group string, resources ...string) admissionregistrationv1.RuleWithOperations {
		scope := admissionregistrationv1.NamespacedScope
		return admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{group}, APIVersions: []string{"v1"}, Resources: resources, Scope: &scope},
		}
	}
	return []admissionregistrationv1.RuleWithOperations{
		rule("", "pods", "pods/ephemeralcontainers", "replicationcontrollers"),
		rule("apps", "deployments", "replicasets", "statefulsets", "daemonsets"),
		rule("batch", "jobs", "cronjobs"),
		rule("serving.knative.dev", "services"),
	}
}

// includeSelector selects namespaces labelled IncludeLabel=true.
func includeSelector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: IncludeLabel, Operator: metav1.LabelSelectorOpIn, Values: []string{"true"}},
	}}
}

func (c *InstallConfig) clientConfig(path string) admissionregistrationv1.WebhookClientConfig {
	cc := admissionregistrationv1.WebhookClientConfig{CABundle: c.CABundle}
	if c.URL != "" {
		u := c.URL
		if path == MutatePath {
			u = strings.TrimSuffix(u, ValidatePath) + MutatePath
		}
		cc.URL = &u
		return cc
	}
	port := int32(443)
	cc.Service = &admissionregistrationv1.ServiceReference{Namespace: c.Namespace, Name: c.Service, Path: &path, Port: &port}
	return cc
}

var partOf = map[string]string{"app.kubernetes.io/part-of": "signet", "app.kubernetes.io/component": "admission"}

// WebhookConfigurations returns the ValidatingWebhookConfiguration and,
// unless c.UnsafeNoPinning, the MutatingWebhookConfiguration (else nil). Both fail
// closed (failurePolicy Fail) and only see namespaces labelled
// IncludeLabel=true.
func WebhookConfigurations(c InstallConfig) (*admissionregistrationv1.ValidatingWebhookConfiguration, *admissionregistrationv1.MutatingWebhookConfiguration, error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	equivalent := admissionregistrationv1.Equivalent
	timeout := c.TimeoutSeconds
	meta := metav1.ObjectMeta{Name: WebhookConfigurationName, Labels: partOf}
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"},
		ObjectMeta: meta,
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: ValidatingWebhookName, ClientConfig: c.clientConfig(ValidatePath), Rules: workloadRules(),
			FailurePolicy: &fail, MatchPolicy: &equivalent, NamespaceSelector: includeSelector(),
			SideEffects: &none, TimeoutSeconds: &timeout, AdmissionReviewVersions: []string{"v1"},
		}},
	}
	if c.UnsafeNoPinning {
		return v, nil, nil
	}
	never := admissionregistrationv1.NeverReinvocationPolicy
	m := &admissionregistrationv1.MutatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingWebhookConfiguration"},
		ObjectMeta: meta,
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: MutatingWebhookName, ClientConfig: c.clientConfig(MutatePath), Rules: workloadRules(),
			FailurePolicy: &fail, MatchPolicy: &equivalent, NamespaceSelector: includeSelector(),
			SideEffects: &none, TimeoutSeconds: &timeout, AdmissionReviewVersions: []string{"v1"},
			ReinvocationPolicy: &never,
		}},
	}
	return v, m, nil
}

// clusterRole is what the webhook reads and patches.
func clusterRole() *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: "signet-admission", Labels: partOf},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch"}},
			// Pull secrets and service accounts of admitted pods, in every
			// namespace; the system namespace's Secrets and ConfigMaps are
			// watched for the policies' key and policy references.
			{APIGroups: []string{""}, Resources: []string{"secrets", "configmaps", "serviceaccounts"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"policy.sigstore.dev"}, Resources: []string{"clusterimagepolicies", "trustroots"}, Verbs: []string{"get", "list", "watch"}},
			// The report (/report): running pods and the workloads
			// owning their ReplicaSets and Jobs.
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"apps"}, Resources: []string{"replicasets"}, Verbs: []string{"get"}},
			{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"get"}},
			{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"validatingwebhookconfigurations", "mutatingwebhookconfigurations"},
				ResourceNames: []string{WebhookConfigurationName}, Verbs: []string{"get", "update", "patch"}},
		},
	}
}

// Manifests returns every object Install applies, in apply order: the
// CRDs; in service mode the namespace, service account, RBAC and Service;
// then the webhook configurations. The webhook's Deployment is not among
// them: it depends on how signet's image is built and pulled.
func Manifests(c InstallConfig) ([]any, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var out []any
	for _, crd := range CRDs() {
		out = append(out, crd)
	}
	if c.URL == "" {
		sel := map[string]string{"app.kubernetes.io/name": "signet-admission"}
		out = append(out,
			&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: c.Namespace, Labels: partOf}},
			&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: metav1.ObjectMeta{Name: c.Service, Namespace: c.Namespace, Labels: partOf}},
			clusterRole(),
			&rbacv1.ClusterRoleBinding{
				TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
				ObjectMeta: metav1.ObjectMeta{Name: "signet-admission", Labels: partOf},
				RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "signet-admission"},
				Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: c.Service, Namespace: c.Namespace}},
			},
			// The first replica stores the shared webhook CA (SyncCASecret).
			&rbacv1.Role{
				TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
				ObjectMeta: metav1.ObjectMeta{Name: "signet-admission-ca", Namespace: c.Namespace, Labels: partOf},
				Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}}},
			},
			&rbacv1.RoleBinding{
				TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
				ObjectMeta: metav1.ObjectMeta{Name: "signet-admission-ca", Namespace: c.Namespace, Labels: partOf},
				RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "signet-admission-ca"},
				Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: c.Service, Namespace: c.Namespace}},
			},
			&corev1.Service{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
				ObjectMeta: metav1.ObjectMeta{Name: c.Service, Namespace: c.Namespace, Labels: partOf},
				Spec: corev1.ServiceSpec{Selector: sel, Ports: []corev1.ServicePort{
					{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8443), Protocol: corev1.ProtocolTCP},
				}},
			},
		)
	}
	v, m, err := WebhookConfigurations(c)
	if err != nil {
		return nil, err
	}
	out = append(out, v)
	if m != nil {
		out = append(out, m)
	}
	return out, nil
}

// toUnstructured converts a typed object through JSON, dropping the
// zero-valued fields (creationTimestamp: null…) that apply would send.
func toUnstructured(obj any) (*unstructured.Unstructured, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	pruneNulls(m)
	if st, ok := m["status"].(map[string]any); ok && len(st) == 0 {
		delete(m, "status")
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// pruneNulls deletes null values, recursively.
func pruneNulls(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if e == nil {
				delete(t, k)
				continue
			}
			pruneNulls(e)
		}
	case []any:
		for _, e := range t {
			pruneNulls(e)
		}
	}
}

// ManifestObjects returns Manifests as unstructured objects, as Install
// applies them and deploy/ ships them.
func ManifestObjects(c InstallConfig) ([]*unstructured.Unstructured, error) {
	objs, err := Manifests(c)
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		u, err := toUnstructured(o)
		if err != nil {
			return nil, fmt.Errorf("manifests: %w", err)
		}
		out = append(out, u)
	}
	return out, nil
}

// Discoverer lists the resources of an API group version ("v1",
// "apps/v1"), as kube.Discovery does.
type Discoverer interface {
	ServerResources(ctx context.Context, groupVersion string) (*metav1.APIResourceList, error)
}

// Install applies the manifests (server-side apply, field manager
// "signet", conflicts forced) and waits until the CRDs are established.
// It reports each object applied through progress, when set.
func Install(ctx context.Context, disc Discoverer, dyn dynamic.Interface, c InstallConfig, progress func(kind, name string)) error {
	objs, err := ManifestObjects(c)
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	mapper, err := newKindMapper(ctx, disc)
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	for _, u := range objs {
		gvr, namespaced, err := mapper(u.GroupVersionKind())
		if err != nil {
			return fmt.Errorf("install %s %s: %w", u.GetKind(), u.GetName(), err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(gvr)
		if namespaced {
			ri = dyn.Resource(gvr).Namespace(u.GetNamespace())
		}
		if _, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "signet", Force: true}); err != nil {
			return fmt.Errorf("install %s %s: %w", u.GetKind(), u.GetName(), err)
		}
		if progress != nil {
			progress(u.GetKind(), u.GetName())
		}
		if u.GetKind() == "CustomResourceDefinition" {
			if err := waitEstablished(ctx, dyn.Resource(gvr), u.GetName()); err != nil {
				return fmt.Errorf("install: %w", err)
			}
		}
	}
	return nil
}

// newKindMapper maps the kinds Manifests makes to resources, asking
// discovery whether each is namespaced.
func newKindMapper(ctx context.Context, disc Discoverer) (func(schema.GroupVersionKind) (schema.GroupVersionResource, bool, error), error) {
	cache := map[string]*metav1.APIResourceList{}
	return func(gvk schema.GroupVersionKind) (schema.GroupVersionResource, bool, error) {
		gv := gvk.GroupVersion().String()
		list, ok := cache[gv]
		if !ok {
			var err error
			list, err = disc.ServerResources(ctx, gv)
			if err != nil {
				return schema.GroupVersionResource{}, false, fmt.Errorf("discover %s: %w", gv, err)
			}
			cache[gv] = list
		}
		for _, r := range list.APIResources {
			if r.Kind == gvk.Kind && !strings.Contains(r.Name, "/") {
				return gvk.GroupVersion().WithResource(r.Name), r.Namespaced, nil
			}
		}
		return schema.GroupVersionResource{}, false, fmt.Errorf("the API server has no resource for %s", gvk)
	}, nil
}

// waitEstablished polls a CRD until its Established condition is True.
func waitEstablished(ctx context.Context, crds dynamic.NamespaceableResourceInterface, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		u, err := crds.Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRD %s not established: %w", name, errors.Join(ctx.Err(), err))
		case <-time.After(200 * time.Millisecond):
		}
	}
}
