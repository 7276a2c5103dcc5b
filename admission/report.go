package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/signetproject/signet/internal/kube"
	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/report"
)

// ReportPath is where Serve serves the report of the images running in
// the cluster (JSON; HTML with ?format=html or Accept: text/html).
const ReportPath = "/report"

// InventoryOptions configure an Inventory.
type InventoryOptions struct {
	// Lister reads signatures and attestations (the webhook's own
	// registry credentials).
	Lister report.Lister
	// Interval is how often the gauges are refreshed; default 1 minute.
	// Evidence of an image is reused for 5 intervals.
	Interval time.Duration
	// Resync is the pod informer's resync period; default 10 minutes.
	Resync time.Duration
	Logger *slog.Logger
}

// Inventory is the report of the images the cluster's pods run, kept by
// the admission webhook: pods from an informer, trust and policy verdicts
// from the webhook's current policy engine and decision cache.
type Inventory struct {
	engines EngineSource
	webhook *Webhook
	opts    InventoryOptions
	owners  *Owners

	podInf cache.SharedIndexInformer
	pods   corelisters.PodLister

	signed, severity *prometheus.GaugeVec

	mu         sync.Mutex
	generation uint64
	reporter   *report.Reporter
}

// NewInventory returns an inventory of the pods of dyn's cluster that
// reports under engines' policies, with decisions from webhook. Its
// gauges are registered with reg. Call Run to start its informer.
func NewInventory(dyn dynamic.Interface, engines EngineSource, webhook *Webhook, reg prometheus.Registerer, opts InventoryOptions) (*Inventory, error) {
	if dyn == nil || engines == nil || webhook == nil || opts.Lister == nil {
		return nil, errors.New("new inventory: dynamic client, engines, webhook and lister are required")
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Minute
	}
	if opts.Resync <= 0 {
		opts.Resync = 10 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	inv := &Inventory{engines: engines, webhook: webhook, opts: opts, owners: NewOwners(dyn),
		signed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "signet_report_images",
			Help: "Distinct images running in the cluster, by whether a signature verified under the policies' authorities.",
		}, []string{"signed"}),
		severity: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "signet_report_images_by_severity",
			Help: "Distinct images running in the cluster by the highest severity of their newest verified vulnerability scan (NONE: no findings, UNSCANNED: no verified scan).",
		}, []string{"severity"}),
	}
	for _, c := range []prometheus.Collector{inv.signed, inv.severity} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("new inventory: %w", err)
		}
	}
	inv.podInf = kube.Informer(dyn, kube.Pods, "", opts.Resync, nil, kube.Typed[corev1.Pod](nil))
	inv.pods = corelisters.NewPodLister(inv.podInf.GetIndexer())
	return inv, nil
}

// Run starts the pod informer and refreshes the gauges every interval
// until ctx ends. It returns after every goroutine it started stopped.
func (inv *Inventory) Run(ctx context.Context) error {
	ctx, stop := context.WithCancel(ctx)
	wait := kube.Run(ctx, inv.podInf)
	defer func() { stop(); wait() }()
	if !kube.WaitForSync(ctx, inv.podInf) {
		return nil // stopped before the pods were listed
	}
	t := time.NewTicker(inv.opts.Interval)
	defer t.Stop()
	for {
		if rep, err := inv.Report(ctx, nil); err == nil {
			inv.setGauges(rep)
		} else if ctx.Err() == nil {
			inv.opts.Logger.Warn("inventory report", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (inv *Inventory) setGauges(rep *report.Report) {
	inv.signed.Reset()
	inv.signed.WithLabelValues("true").Set(float64(rep.Summary.Signed))
	inv.signed.WithLabelValues("false").Set(float64(rep.Summary.Unsigned))
	inv.severity.Reset()
	for _, s := range append(append([]string{}, report.Severities...), report.SeverityNone, report.SeverityUnscanned) {
		inv.severity.WithLabelValues(s).Set(float64(rep.Summary.BySeverity[s]))
	}
}

// reporterFor returns the reporter of the snapshot's policy generation:
// evidence is reused across reports until the policies change.
func (inv *Inventory) reporterFor(snap *Snapshot) (*report.Reporter, error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.reporter != nil && inv.generation == snap.Generation {
		return inv.reporter, nil
	}
	r, err := report.New(report.Options{Lister: inv.opts.Lister, Trust: &report.PolicyTrust{Engine: snap.Engine},
		CacheTTL: 5 * inv.opts.Interval,
		Decide: func(ctx context.Context, d name.Digest, t report.Target) policy.Decision {
			return inv.decide(ctx, snap, d, t)
		}})
	if err != nil {
		return nil, err
	}
	inv.reporter, inv.generation = r, snap.Generation
	return r, nil
}

// decide is the webhook's decision on the image for the target's pod, as
// admission would make it now: same cache key (image, policy generation,
// pod labels, pull credentials), so decisions admission cached are reused.
func (inv *Inventory) decide(ctx context.Context, snap *Snapshot, d name.Digest, t report.Target) policy.Decision {
	pod, ok := t.Context.(*corev1.Pod)
	if !ok {
		return snap.Engine.Evaluate(ctx, policy.Request{Image: d.String()})
	}
	// The pod as admission sees it: its JSON, decoded as the webhook
	// decodes admitted objects.
	raw, err := json.Marshal(pod)
	if err == nil {
		var wl *Workload
		if wl, err = ParseWorkload("", "v1", "Pod", raw); err == nil {
			wl.Images = []ContainerImage{{Image: d.String()}}
			return inv.decideWorkload(ctx, snap, d, pod.Namespace, wl)
		}
	}
	return policy.Decision{Image: d.String(), Denials: []policy.Violation{{Message: "cannot decide", Details: err.Error()}}}
}

func (inv *Inventory) decideWorkload(ctx context.Context, snap *Snapshot, d name.Digest, namespace string, wl *Workload) policy.Decision {
	r := inv.webhook.evaluateImages(ctx, snap, namespace, wl)[d.String()]
	if r.err != nil {
		return policy.Decision{Image: d.String(), Denials: []policy.Violation{{Message: "cannot decide", Details: r.err.Error()}}}
	}
	return r.decision
}

// Report reports on the images the informer's pods run now.
func (inv *Inventory) Report(ctx context.Context, query *report.PackageQuery) (*report.Report, error) {
	snap := inv.engines.Snapshot()
	switch {
	case snap == nil:
		return nil, errors.New("policies are not loaded yet")
	case snap.Err != nil:
		return nil, fmt.Errorf("policies did not load: %w", snap.Err)
	}
	if !inv.podInf.HasSynced() {
		return nil, errors.New("pods are not listed yet")
	}
	pods, err := inv.pods.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	kc := func(ctx context.Context, namespace, image string) (name.Digest, error) {
		rr := &requestResolver{resolver: inv.webhook.resolver, cache: inv.webhook.cache, namespace: namespace,
			// Pods without an imageID have not pulled yet; their tags
			// resolve with the webhook's own credentials.
			keychain: &lazyKeychain{build: func() (authn.Keychain, error) { return authn.DefaultKeychain, nil }}}
		res, err := rr.resolve(ctx, image)
		return res.Digest, err
	}
	targets, errs := PodTargets(ctx, pods, inv.owners, kc)
	for _, err := range errs {
		inv.opts.Logger.Warn("inventory: image not pinned", "err", err)
	}
	rep, err := inv.reporterFor(snap)
	if err != nil {
		return nil, err
	}
	return rep.Report(ctx, targets, query, nil), nil
}

// ServeHTTP serves the report: JSON, or HTML for ?format=html or a
// browser's Accept header; ?package=NAME[@VERSION] asks for a package.
func (inv *Inventory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var query *report.PackageQuery
	if p := r.URL.Query().Get("package"); p != "" {
		q, err := report.ParsePackageQuery(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		query = q
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
		if strings.Contains(r.Header.Get("Accept"), "text/html") {
			format = "html"
		}
	}
	write, ctype := report.WriteJSON, "application/json"
	switch format {
	case "json":
	case "html":
		write, ctype = report.WriteHTML, "text/html; charset=utf-8"
	default:
		http.Error(w, fmt.Sprintf("format %q: want json or html", format), http.StatusBadRequest)
		return
	}
	rep, err := inv.Report(r.Context(), query)
	if err != nil {
		http.Error(w, "report: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	var buf bytes.Buffer
	if err := write(&buf, rep); err != nil {
		http.Error(w, "report: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(buf.Bytes())
}
