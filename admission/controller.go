package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

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
// It is the webhook's EngineSource, NamespaceLister and SecretReader.
type Controller struct {
	client   kubernetes.Interface
	checkers CheckerFactory
	opts     ControllerOptions

	typed, system informers.SharedInformerFactory
	dynamic       dynamicinformer.DynamicSharedInformerFactory
	namespaces    corelisters.NamespaceLister
	secrets       corelisters.SecretLister
	configMaps    corelisters.ConfigMapLister
	cips, trs     cache.SharedIndexInformer
	synced        []cache.InformerSynced
	changed       chan struct{}

	mu         sync.Mutex
	snapshot   *Snapshot
	generation uint64
}

// NewController returns a controller for the cluster behind client and dyn
// that makes authority checkers with checkers. Call Run to start it.
func NewController(client kubernetes.Interface, dyn dynamic.Interface, checkers CheckerFactory, opts ControllerOptions) (*Controller, error) {
	if client == nil || dyn == nil || checkers == nil {
		return nil, errors.New("new admission controller: client, dynamic client and checker factory are required")
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
	c := &Controller{client: client, checkers: checkers, opts: opts, changed: make(chan struct{}, 1)}
	c.typed = informers.NewSharedInformerFactory(client, opts.Resync)
	c.system = informers.NewSharedInformerFactoryWithOptions(client, opts.Resync, informers.WithNamespace(opts.SystemNamespace))
	c.dynamic = dynamicinformer.NewDynamicSharedInformerFactory(dyn, opts.Resync)

	nsInf := c.typed.Core().V1().Namespaces()
	secInf := c.system.Core().V1().Secrets()
	cmInf := c.system.Core().V1().ConfigMaps()
	c.namespaces, c.secrets, c.configMaps = nsInf.Lister(), secInf.Lister(), cmInf.Lister()
	c.cips = c.dynamic.ForResource(ClusterImagePolicyResource).Informer()
	c.trs = c.dynamic.ForResource(TrustRootResource).Informer()
	onChange := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.trigger() },
		UpdateFunc: func(any, any) { c.trigger() },
		DeleteFunc: func(any) { c.trigger() },
	}
	for _, inf := range []cache.SharedIndexInformer{c.cips, c.trs, secInf.Informer(), cmInf.Informer()} {
		if _, err := inf.AddEventHandler(onChange); err != nil {
			return nil, fmt.Errorf("new admission controller: %w", err)
		}
	}
	c.synced = []cache.InformerSynced{nsInf.Informer().HasSynced, secInf.Informer().HasSynced, cmInf.Informer().HasSynced, c.cips.HasSynced, c.trs.HasSynced}
	return c, nil
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
	c.typed.Start(ctx.Done())
	c.system.Start(ctx.Done())
	c.dynamic.Start(ctx.Done())
	defer func() {
		c.typed.Shutdown()
		c.system.Shutdown()
		c.dynamic.Shutdown()
	}()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
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
	eng, cacheable, err := BuildEngine(ctx, c, spec)
	c.mu.Lock()
	c.generation++
	c.snapshot = &Snapshot{Engine: eng, Generation: c.generation, Cacheable: cacheable, Err: err}
	gen := c.generation
	c.mu.Unlock()
	if c.opts.Metrics != nil {
		c.opts.Metrics.PolicyGeneration.Set(float64(gen))
	}
	if err != nil {
		c.opts.Logger.Error("policies did not load; denying every checked object until they do", "generation", gen, "err", err)
		return
	}
	c.opts.Logger.Info("policy engine rebuilt", "generation", gen, "policies", len(spec.Policies), "trustRoots", len(spec.TrustRoots), "cacheable", cacheable)
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
		ns, err = c.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, err
	}
	return ns.Labels, nil
}

// Secret implements SecretReader and RefReader: from the informer for the
// system namespace, from the API server elsewhere (pull secrets live in
// every namespace; watching them all would copy the cluster's secrets
// into this process).
func (c *Controller) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	if namespace == c.opts.SystemNamespace {
		return c.secrets.Secrets(namespace).Get(name)
	}
	return c.client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
}

// ConfigMap implements RefReader from the system namespace's informer.
func (c *Controller) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	if namespace == c.opts.SystemNamespace {
		return c.configMaps.ConfigMaps(namespace).Get(name)
	}
	return c.client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
}

// ServiceAccount implements SecretReader with a request to the API server.
func (c *Controller) ServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	return c.client.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
}
