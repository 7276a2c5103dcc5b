package admission

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	"github.com/signetproject/signet/internal/kube"
	"github.com/signetproject/signet/policy"
)

// ServeConfig configures Serve.
type ServeConfig struct {
	// Dynamic talks to the cluster.
	Dynamic dynamic.Interface
	// Checkers makes the authority checkers of the policy engine.
	Checkers CheckerFactory
	// Engine are the policy engine's options (no-match policy, evaluator…).
	Engine policy.Options
	// Listener is where the webhook serves TLS.
	Listener net.Listener
	// CertDir holds the CA and serving certificate, created on first
	// start (see EnsureServingCert).
	CertDir string
	// Hosts are the serving certificate's SANs: the IP or DNS name the
	// API server dials.
	Hosts []string
	// Mutate serves the mutating webhook at MutatePath too.
	Mutate bool
	// PatchCABundle makes Serve write the CA into the caBundle of the
	// webhook configurations named WebhookConfigurationName, as it does
	// in a cluster where the configurations come from deploy/ YAML.
	PatchCABundle bool
	// CASecret, when set, names the Secret in SystemNamespace through
	// which replicas share one webhook CA (see SyncCASecret).
	CASecret string
	// SystemNamespace is where referenced Secrets and ConfigMaps live;
	// default DefaultNamespace.
	SystemNamespace string
	// Resolver resolves tags; default a RemoteResolver.
	Resolver Resolver
	// Cache configures the decision cache.
	Cache CacheOptions
	// Timeout bounds one admission request; see WebhookOptions.
	Timeout time.Duration
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Ready, when set, is called once the policies are loaded and the
	// webhook answers.
	Ready func()
	// Report, when set, serves the report of the images the cluster's
	// pods run at ReportPath, with its gauges at /metrics (see Inventory).
	Report *InventoryOptions
}

// Serve runs the admission webhook until ctx ends: informers and engine
// rebuilds (Controller), the webhooks at ValidatePath and MutatePath,
// Prometheus metrics at /metrics, health at /healthz and /readyz and,
// with Report set, the report at ReportPath, all on one TLS listener. Until the policies are first loaded every checked
// object is denied. It returns after every goroutine it started has
// stopped.
func Serve(ctx context.Context, cfg ServeConfig) error {
	if cfg.Listener == nil || cfg.Dynamic == nil || cfg.Checkers == nil {
		return errors.New("admission serve: listener, clients and checker factory are required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.CASecret != "" {
		ns := cfg.SystemNamespace
		if ns == "" {
			ns = DefaultNamespace
		}
		if err := SyncCASecret(ctx, cfg.Dynamic, ns, cfg.CASecret, cfg.CertDir); err != nil {
			return fmt.Errorf("admission serve: %w", err)
		}
	}
	pair, caPEM, err := EnsureServingCert(cfg.CertDir, cfg.Hosts)
	if err != nil {
		return fmt.Errorf("admission serve: %w", err)
	}
	if cfg.PatchCABundle {
		if err := PatchCABundle(ctx, cfg.Dynamic, caPEM); err != nil {
			return fmt.Errorf("admission serve: %w", err)
		}
		log.Info("patched the webhook configurations' caBundle", "name", WebhookConfigurationName)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := NewMetrics(reg)
	if err != nil {
		return fmt.Errorf("admission serve: %w", err)
	}
	ctrl, err := NewController(cfg.Dynamic, cfg.Checkers, ControllerOptions{
		SystemNamespace: cfg.SystemNamespace, Engine: cfg.Engine, Metrics: metrics, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("admission serve: %w", err)
	}
	cache, err := NewDecisionCache(cfg.Cache)
	if err != nil {
		return fmt.Errorf("admission serve: %w", err)
	}
	resolver := cfg.Resolver
	if resolver == nil {
		resolver = &RemoteResolver{}
	}
	wh, err := NewWebhook(ctrl, ctrl, ctrl, resolver, WebhookOptions{Cache: cache, Metrics: metrics, Logger: log, Timeout: cfg.Timeout})
	if err != nil {
		return fmt.Errorf("admission serve: %w", err)
	}

	mux := http.NewServeMux()
	mux.Handle("POST "+ValidatePath, wh.ValidateHandler())
	if cfg.Mutate {
		mux.Handle("POST "+MutatePath, wh.MutateHandler())
	}
	var inv *Inventory
	if cfg.Report != nil {
		opts := *cfg.Report
		if opts.Logger == nil {
			opts.Logger = log
		}
		if inv, err = NewInventory(cfg.Dynamic, ctrl, wh, reg, opts); err != nil {
			return fmt.Errorf("admission serve: %w", err)
		}
		mux.Handle("GET "+ReportPath, inv)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s := ctrl.Snapshot(); s == nil || s.Err != nil {
			http.Error(w, "policies not loaded", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() {
		if err := ctrl.Run(ctx); err != nil {
			errs <- err
		}
		cancel()
	})
	wg.Go(func() {
		if err := srv.ServeTLS(cfg.Listener, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("admission serve: %w", err)
		}
		cancel()
	})
	if inv != nil {
		wg.Go(func() {
			if err := inv.Run(ctx); err != nil && ctx.Err() == nil {
				log.Warn("report inventory stopped", "err", err)
			}
		})
	}
	wg.Go(func() {
		if ctrl.WaitReady(ctx) == nil {
			log.Info("admission webhook ready", "addr", cfg.Listener.Addr().String(), "mutate", cfg.Mutate)
			if cfg.Ready != nil {
				cfg.Ready()
			}
		}
	})
	<-ctx.Done()
	shutdownCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer stop()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("admission webhook shutdown", "err", err)
	}
	if err := wh.Wait(shutdownCtx); err != nil {
		log.Warn("admission webhook shutdown", "err", err)
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// PatchCABundle writes caPEM into the clientConfig.caBundle of every
// webhook of the Validating- and MutatingWebhookConfiguration named
// WebhookConfigurationName. A configuration that does not exist is
// skipped (the mutating one is optional); the validating one must exist.
//
// Replicas starting together may update a configuration at the same time;
// a conflicting update is read again and retried.
func PatchCABundle(ctx context.Context, dyn dynamic.Interface, caPEM []byte) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error { return patchCABundle(ctx, dyn, caPEM) })
}

func patchCABundle(ctx context.Context, dyn dynamic.Interface, caPEM []byte) error {
	v, err := kube.Get[admissionregistrationv1.ValidatingWebhookConfiguration](ctx, dyn, kube.ValidatingWebhookConfigurations, "", WebhookConfigurationName)
	if err != nil {
		return fmt.Errorf("patch caBundle: %w", err)
	}
	changed := false
	for i := range v.Webhooks {
		if !CABundleMatches(v.Webhooks[i].ClientConfig.CABundle, caPEM) {
			v.Webhooks[i].ClientConfig.CABundle, changed = caPEM, true
		}
	}
	if changed {
		if _, err := kube.Update(ctx, dyn, kube.ValidatingWebhookConfigurations, "", v, metav1.UpdateOptions{FieldManager: "signet"}); err != nil {
			return fmt.Errorf("patch caBundle of ValidatingWebhookConfiguration %s: %w", v.Name, err)
		}
	}
	m, err := kube.Get[admissionregistrationv1.MutatingWebhookConfiguration](ctx, dyn, kube.MutatingWebhookConfigurations, "", WebhookConfigurationName)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("patch caBundle: %w", err)
	}
	changed = false
	for i := range m.Webhooks {
		if !CABundleMatches(m.Webhooks[i].ClientConfig.CABundle, caPEM) {
			m.Webhooks[i].ClientConfig.CABundle, changed = caPEM, true
		}
	}
	if changed {
		if _, err := kube.Update(ctx, dyn, kube.MutatingWebhookConfigurations, "", m, metav1.UpdateOptions{FieldManager: "signet"}); err != nil {
			return fmt.Errorf("patch caBundle of MutatingWebhookConfiguration %s: %w", m.Name, err)
		}
	}
	return nil
}
