package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/signetproject/signet/internal/kube"
	"github.com/signetproject/signet/policy"
)

// Resources the controller watches. ClusterImagePolicies are watched at
// v1beta1 only: v1alpha1 and v1beta1 are two views of the same stored
// objects (the CRD converts with strategy None), so a second watch would
// see every policy twice. Objects created as v1alpha1 arrive as v1beta1.
var (
	ClusterImagePolicyResource = schema.GroupVersionResource{Group: policy.Group, Version: "v1beta1", Resource: "clusterimagepolicies"}
	TrustRootResource          = schema.GroupVersionResource{Group: policy.Group, Version: "v1alpha1", Resource: "trustroots"}
)

// ControllerOptions configure a Controller.
type ControllerOptions struct {
	// SystemNamespace is where the Secrets and ConfigMaps policies
	// reference live; default "signet-system".
	SystemNamespace string
	// Engine are the policy engine's options (no-match policy, evaluator…).
	Engine policy.Options
	// Metrics, when set, get the policy generation.
	Metrics *Metrics
	// Logger logs rebuilds; default slog.Default().
	Logger *slog.Logger
	// Resync is the informers' resync period; default 10 minutes.
	Resync time.Duration
	// Debounce is how long a change waits for more before the engine is
	// rebuilt; default 100ms.
	Debounce time.Duration
}

// Controller watches namespaces, ClusterImagePolicies, TrustRoots and the
// system namespace's Secrets and ConfigMaps with informers, and rebuilds
// the policy engine whenever the policies or what they reference change.
// It also watches every namespace's ServiceAccounts and pull secrets
// (Secrets of the two docker config types only, reduced to their docker
// config), so that no admission waits for an API request: client-go's
// client-side rate limiter made decisions queue, and then fail, under
// load. It is the webhook's EngineSource, NamespaceLister and
// SecretReader.
type Controller struct {
	dyn      dynamic.Interface
	checkers CheckerFactory
	opts     ControllerOptions

	informers   []cache.SharedIndexInformer
	namespaces  corelisters.NamespaceLister
	secrets     corelisters.SecretLister
	configMaps  corelisters.ConfigMapLister
	accounts    corelisters.ServiceAccountLister
	pullSecrets []corelisters.SecretLister
	cips, trs   cache.SharedIndexInformer
	changed     chan struct{}

	mu         sync.Mutex
	snapshot   *Snapshot
	generation uint64
}

// NewController returns a controller for the cluster behind dyn that
// makes authority checkers with checkers. Call Run to start it.
func NewController(dyn dynamic.Interface, checkers CheckerFactory, opts ControllerOptions) (*Controller, error) {
	if dyn == nil || checkers == nil {
		return nil, errors.New("new admission controller: dynamic client and checker factory are required")
	}
	if err := opts.Engine.Validate(); err != nil {
		return nil, fmt.Errorf("new admission controller: %w", err)
	}
	if opts.SystemNamespace == "" {
		opts.SystemNamespace = "signet-system"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Resync == 0 {
		opts.Resync = 10 * time.Minute
	}
	if opts.Debounce == 0 {
		opts.Debounce = 100 * time.Millisecond
	}
	c := &Controller{dyn: dyn, checkers: checkers, opts: opts, changed: make(chan struct{}, 1)}
	nsInf := kube.Informer(dyn, kube.Namespaces, "", opts.Resync, nil, kube.Typed[corev1.Namespace](slimObject))
	saInf := kube.Informer(dyn, kube.ServiceAccounts, "", opts.Resync, nil, kube.Typed[corev1.ServiceAccount](slimObject))
	secInf := kube.Informer(dyn, kube.Secrets, opts.SystemNamespace, opts.Resync, nil, kube.Typed[corev1.Secret](nil))
	cmInf := kube.Informer(dyn, kube.ConfigMaps, opts.SystemNamespace, opts.Resync, nil, kube.Typed[corev1.ConfigMap](nil))
	c.namespaces, c.accounts = corelisters.NewNamespaceLister(nsInf.GetIndexer()), corelisters.NewServiceAccountLister(saInf.GetIndexer())
	c.secrets, c.configMaps = corelisters.NewSecretLister(secInf.GetIndexer()), corelisters.NewConfigMapLister(cmInf.GetIndexer())
	c.informers = []cache.SharedIndexInformer{nsInf, saInf, secInf, cmInf}
	for _, t := range pullSecretTypes {
		inf := kube.Informer(dyn, kube.Secrets, "", opts.Resync,
			func(o *metav1.ListOptions) { o.FieldSelector = "type=" + string(t) }, kube.Typed[corev1.Secret](slimObject))
		c.pullSecrets = append(c.pullSecrets, corelisters.NewSecretLister(inf.GetIndexer()))
		c.informers = append(c.informers, inf)
	}
	c.cips = kube.Informer(dyn, kube.Resource{GroupVersionResource: ClusterImagePolicyResource}, "", opts.Resync, nil, nil)
	c.trs = kube.Informer(dyn, kube.Resource{GroupVersionResource: TrustRootResource}, "", opts.Resync, nil, nil)
	c.informers = append(c.informers, c.cips, c.trs)
	onChange := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.trigger() },
		UpdateFunc: func(any, any) { c.trigger() },
		DeleteFunc: func(any) { c.trigger() },
	}
	for _, inf := range []cache.SharedIndexInformer{c.cips, c.trs, secInf, cmInf} {
		if _, err := inf.AddEventHandler(onChange); err != nil {
			return nil, fmt.Errorf("new admission controller: %w", err)
		}
	}
	return c, nil
}

// pullSecretTypes are the Secret types the kubelet reads pull credentials
// from (k8s.io/kubernetes/pkg/credentialprovider/secrets); it ignores
// others, and so do the informers.
var pullSecretTypes = []corev1.SecretType{corev1.SecretTypeDockerConfigJson, corev1.SecretTypeDockercfg}

// slimObject keeps of the objects of the cluster-wide informers what the
// webhook reads: names, labels, a ServiceAccount's imagePullSecrets, a
// pull secret's docker config. Annotations (kubectl's
// last-applied-configuration copies a Secret's data) and managed fields
// are dropped.
func slimObject(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Secret:
		slim := &corev1.Secret{ObjectMeta: slimMeta(o.ObjectMeta), Type: o.Type, Data: map[string][]byte{}}
		for _, k := range []string{corev1.DockerConfigJsonKey, corev1.DockerConfigKey} {
			if v, ok := o.Data[k]; ok {
				slim.Data[k] = v
			}
		}
		return slim, nil
	case *corev1.ServiceAccount:
		return &corev1.ServiceAccount{ObjectMeta: slimMeta(o.ObjectMeta), ImagePullSecrets: o.ImagePullSecrets}, nil
	case *corev1.Namespace:
		return &corev1.Namespace{ObjectMeta: slimMeta(o.ObjectMeta)}, nil
	}
	return obj, nil
}

func slimMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion, Labels: m.Labels}
}

func (c *Controller) trigger() {
	select {
	case c.changed <- struct{}{}:
	default: // a rebuild is already pending
	}
}

// Run starts the informers, builds the first engine once they have
// synced, and rebuilds on every change until ctx ends. It returns after
// every goroutine it started has stopped.
func (c *Controller) Run(ctx context.Context) error {
	ctx, stop := context.WithCancel(ctx)
	wait := kube.Run(ctx, c.informers...)
	defer func() { stop(); wait() }()
	if !kube.WaitForSync(ctx, c.informers...) {
		return fmt.Errorf("admission controller: informers did not sync: %w", ctx.Err())
	}
	c.rebuild(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.changed:
		}
		// Let a burst of changes (kubectl apply -f dir/) settle.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(c.opts.Debounce):
		}
		select {
		case <-c.changed:
		default:
		}
		c.rebuild(ctx)
	}
}

// WaitReady blocks until the first engine is built or ctx ends.
func (c *Controller) WaitReady(ctx context.Context) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for c.Snapshot() == nil {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for policies: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// rebuild makes a new engine from the informers' caches and publishes it
// under the next generation, or publishes the error (which denies every
// checked object) when the policies do not load.
func (c *Controller) rebuild(ctx context.Context) {
	spec := EngineSpec{
		Policies:        storeJSON(c.cips.GetStore()),
		TrustRoots:      storeJSON(c.trs.GetStore()),
		SystemNamespace: c.opts.SystemNamespace,
		Checkers:        c.checkers,
		Options:         c.opts.Engine,
	}
	built, err := BuildEngine(ctx, c, spec)
	snap := &Snapshot{Err: err}
	if err == nil {
		snap.Engine, snap.Cacheable = built.Engine, built.Cacheable
	}
	c.mu.Lock()
	c.generation++
	snap.Generation = c.generation
	c.snapshot = snap
	gen := c.generation
	c.mu.Unlock()
	if c.opts.Metrics != nil {
		c.opts.Metrics.PolicyGeneration.Set(float64(gen))
	}
	if err != nil {
		c.opts.Logger.Error("policies did not load; denying every checked object until they do", "generation", gen, "err", err)
		return
	}
	for _, p := range built.Problems {
		c.opts.Logger.Error("resource cannot be used; the images of the policies that need it are denied", "generation", gen, "err", p)
	}
	c.opts.Logger.Info("policy engine rebuilt", "generation", gen, "policies", len(spec.Policies), "trustRoots", len(spec.TrustRoots), "unusable", len(built.Problems), "cacheable", built.Cacheable)
}

// storeJSON returns the store's objects as JSON, sorted by name, skipping
// objects that are not unstructured (there are none in a dynamic
// informer's store).
func storeJSON(s cache.Store) [][]byte {
	objs := s.List()
	out := make([][]byte, 0, len(objs))
	names := make([]string, 0, len(objs))
	for _, o := range objs {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		raw, err := json.Marshal(u.Object)
		if err != nil {
			continue // unstructured content always marshals
		}
		out = append(out, raw)
		names = append(names, u.GetName())
	}
	sort.Sort(byName{names, out})
	return out
}

type byName struct {
	names []string
	raws  [][]byte
}

func (b byName) Len() int           { return len(b.names) }
func (b byName) Less(i, j int) bool { return b.names[i] < b.names[j] }
func (b byName) Swap(i, j int) {
	b.names[i], b.names[j] = b.names[j], b.names[i]
	b.raws[i], b.raws[j] = b.raws[j], b.raws[i]
}

// Snapshot implements EngineSource.
func (c *Controller) Snapshot() *Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snapshot
}

// NamespaceLabels implements NamespaceLister from the informer, asking
// the API server when the informer has not seen the namespace yet.
func (c *Controller) NamespaceLabels(ctx context.Context, name string) (map[string]string, error) {
	ns, err := c.namespaces.Get(name)
	if apierrors.IsNotFound(err) {
		ns, err = kube.Get[corev1.Namespace](ctx, c.dyn, kube.Namespaces, "", name)
	}
	if err != nil {
		return nil, err
	}
	return ns.Labels, nil
}

// Secret implements SecretReader and RefReader from the informers: any
// Secret of the system namespace, and elsewhere the pull secrets (Secrets
// of a docker config type); other Secrets are not found, as the kubelet
// does not read pull credentials from them.
func (c *Controller) Secret(_ context.Context, namespace, name string) (*corev1.Secret, error) {
	if namespace == c.opts.SystemNamespace {
		return c.secrets.Secrets(namespace).Get(name)
	}
	for _, l := range c.pullSecrets {
		s, err := l.Secrets(namespace).Get(name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if slices.Contains(pullSecretTypes, s.Type) {
			return s, nil
		}
	}
	return nil, apierrors.NewNotFound(corev1.Resource("secrets"), name)
}

// ConfigMap implements RefReader from the system namespace's informer.
func (c *Controller) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	if namespace == c.opts.SystemNamespace {
		return c.configMaps.ConfigMaps(namespace).Get(name)
	}
	return kube.Get[corev1.ConfigMap](ctx, c.dyn, kube.ConfigMaps, namespace, name)
}

// ServiceAccount implements SecretReader from the informer.
func (c *Controller) ServiceAccount(_ context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	return c.accounts.ServiceAccounts(namespace).Get(name)
}
