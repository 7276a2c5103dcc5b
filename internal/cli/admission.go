package cli

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/signetproject/signet/admission"
	"github.com/signetproject/signet/internal/kube"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/trustroot"
)

// newAdmissionCmd returns `signet admission`: the Kubernetes admission
// webhook (serve) and its installer (install). checkers verifies
// signatures and attestations for key and keyless authorities, evaluator
// runs CUE and Rego policies; either may be nil, in which case the
// authorities or policies that need it fail (and deny, in enforce mode).
func newAdmissionCmd(checkers admission.CheckerFactory, evaluator policy.PolicyEvaluator) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admission",
		Short: "Kubernetes admission webhook enforcing ClusterImagePolicies",
		Long: `The admission webhook checks the images of Pods, Deployments, ReplicaSets,
StatefulSets, DaemonSets, Jobs, CronJobs and ReplicationControllers in
namespaces labelled ` + admission.IncludeLabel + `=true against the cluster's
ClusterImagePolicies (policy.sigstore.dev v1alpha1/v1beta1, as policy-controller).
It fails closed: what it cannot decide, it denies.`,
	}
	cmd.AddCommand(newAdmissionServeCmd(checkers, evaluator), newAdmissionInstallCmd())
	return cmd
}

// kubeClients connects to the cluster of kubeconfig (default $KUBECONFIG),
// or to the one this process runs in when neither is set.
func kubeClients(kubeconfig string) (dynamic.Interface, *kube.Discovery, bool, error) {
	if kubeconfig == "" {
		kubeconfig = os.Getenv("KUBECONFIG")
	}
	var (
		cfg       *rest.Config
		err       error
		inCluster = kubeconfig == ""
	)
	if inCluster {
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return nil, nil, false, fmt.Errorf("no --kubeconfig and not in a cluster: %w", err)
		}
	} else if cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig); err != nil {
		return nil, nil, false, fmt.Errorf("--kubeconfig %s: %w", kubeconfig, err)
	}
	cfg.UserAgent = "signet-admission/" + Version
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, false, fmt.Errorf("kubernetes client: %w", err)
	}
	disc, err := kube.NewDiscovery(cfg)
	if err != nil {
		return nil, nil, false, err
	}
	return dyn, disc, inCluster, nil
}

func newAdmissionServeCmd(checkers admission.CheckerFactory, evaluator policy.PolicyEvaluator) *cobra.Command {
	var (
		kubeconfig, addr, certDir, noMatch, namespace, service, logFormat string
		trustedRoot, server, caSecret                                     string
		hosts                                                             []string
		mutate, patchCABundle, serveReport                                bool
		reportInterval                                                    time.Duration
		timeout, tagTTL                                                   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the validating (and optionally mutating) admission webhook over TLS",
		Long: `Serve the admission webhook over TLS at /validate and /mutate (tag pinning),
with Prometheus metrics at /metrics, health at /healthz and /readyz, and the
report of the images the cluster's pods run at /report (see "signet report").

The serving certificate and its CA are created in --cert-dir on first start and
reused; give the CA to "signet admission install --ca-bundle-from". Without
--kubeconfig the webhook uses its in-cluster service account, listens on all
interfaces, shares one CA between its replicas through the Secret --ca-secret in
its namespace and writes that CA into the caBundle of the webhook configurations
itself.`,
		Example: `  signet admission serve --kubeconfig ~/.kube/config --addr 127.0.0.1:8443 --cert-dir ./webhook-certs
  signet admission serve --no-match warn   # in a cluster`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(logFormat)
			if err != nil {
				return err
			}
			if evaluator == nil {
				// CUE runs in worker processes that are killed at the
				// decision's deadline.
				eval, err := policy.NewEvaluator(policy.EvaluatorOptions{CUEWorker: cueWorker})
				if err != nil {
					return err
				}
				defer eval.Close()
				evaluator = eval
			}
			engine, err := admission.EngineOptions(policy.NoMatchPolicy(noMatch), evaluator)
			if err != nil {
				return fmt.Errorf("--no-match: %w", err)
			}
			dyn, _, inCluster, err := kubeClients(kubeconfig)
			if err != nil {
				return err
			}
			at, f := admission.Placement{InCluster: inCluster, PodNamespace: os.Getenv("POD_NAMESPACE")}, cmd.Flags()
			defaultTo(f, "addr", &addr, at.ListenAddr())
			defaultTo(f, "namespace", &namespace, at.Namespace())
			defaultTo(f, "ca-secret", &caSecret, at.CASecret())
			defaultTo(f, "patch-ca-bundle", &patchCABundle, at.PatchCABundle())
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			defer ln.Close()
			if len(hosts) == 0 {
				hosts = at.Hosts(ln.Addr(), service, namespace)
			}
			// Tag resolution and signature reads share the registries'
			// authentication handshakes.
			auth, err := oci.NewAuthCache(oci.AuthCacheOptions{})
			if err != nil {
				return err
			}
			if checkers == nil {
				tr, err := keylessTrust(trustedRoot, server, f.Changed("server"))
				if err != nil {
					return err
				}
				checkers = admission.RegistryCheckers(oci.New(oci.Options{AuthCache: auth}), tr)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "signet admission webhook listening on https://%s\n", advertisedAddr(ln.Addr().(*net.TCPAddr)))
			return admission.Serve(ctx, admission.ServeConfig{
				Dynamic: dyn, Checkers: checkers, Engine: engine,
				Listener: ln, CertDir: certDir, Hosts: hosts, Mutate: mutate, PatchCABundle: patchCABundle, CASecret: caSecret,
				SystemNamespace: namespace, Timeout: timeout, Logger: logger, Cache: admission.CacheOptions{TagTTL: tagTTL},
				Resolver: &admission.RemoteResolver{AuthCache: auth},
				Ready:    func() { fmt.Fprintln(out, "signet admission webhook ready") },
				Report:   reportOptions(serveReport, reportInterval, auth),
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, else the in-cluster service account)")
	f.StringVar(&addr, "addr", "127.0.0.1:8443", "host:port to serve TLS on (0.0.0.0:8443 in a cluster)")
	f.StringVar(&caSecret, "ca-secret", "", "Secret in --namespace through which replicas share one webhook CA (default "+admission.DefaultCASecret+" in a cluster; empty: the CA in --cert-dir only)")
	f.StringVar(&certDir, "cert-dir", "signet-admission-certs", "directory for the webhook CA and serving certificate (created on first start)")
	f.StringSliceVar(&hosts, "tls-san", nil, "DNS names or IPs for the serving certificate (default: the --addr IP, or the Service's DNS names in a cluster)")
	f.StringVar(&noMatch, "no-match", string(policy.NoMatchDeny), "what to do with images no policy matches: allow, warn or deny")
	f.BoolVar(&mutate, "mutate", true, "serve the mutating webhook that pins image tags to digests at /mutate (install configures it by default)")
	f.BoolVar(&patchCABundle, "patch-ca-bundle", false, "write the CA into the webhook configurations' caBundle at start (default: true in a cluster)")
	f.StringVar(&namespace, "namespace", "", "system namespace holding the Secrets and ConfigMaps policies reference (default $POD_NAMESPACE or "+admission.DefaultNamespace+")")
	f.StringVar(&service, "service", admission.DefaultServiceName, "the webhook's Service name, for the certificate's DNS names in a cluster")
	f.DurationVar(&timeout, "timeout", 9*time.Second, "time limit for one admission request (keep it under the webhook configuration's timeoutSeconds)")
	f.DurationVar(&tagTTL, "tag-ttl", 30*time.Second, "how long the digest an image tag resolved to is reused (a moved tag is seen after at most this long)")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json (logs go to stderr)")
	f.StringVar(&trustedRoot, "trusted-root", "", "trusted_root.json that keyless signatures must chain to")
	f.StringVar(&server, "server", "", "signet server whose trusted root to use when --trusted-root is not given")
	f.BoolVar(&serveReport, "report", true, "serve the report of the images the cluster's pods run at "+admission.ReportPath+" (JSON; ?format=html), with its gauges at /metrics")
	f.DurationVar(&reportInterval, "report-interval", time.Minute, "how often the report's gauges are refreshed (an image's evidence is reused for 5 intervals)")
	return cmd
}

// reportOptions configures the webhook's /report, or turns it off. Its
// registry reads share the admission path's authentication handshakes.
func reportOptions(on bool, interval time.Duration, auth *oci.AuthCache) *admission.InventoryOptions {
	if !on {
		return nil
	}
	lister := oci.New(oci.Options{UserAgent: "signet-admission/" + Version, AuthCache: auth})
	return &admission.InventoryOptions{Lister: lister, Interval: interval}
}

// defaultTo sets *p to the default v unless the flag was given.
func defaultTo[T any](f *pflag.FlagSet, name string, p *T, v T) {
	if !f.Changed(name) {
		*p = v
	}
}

// keylessTrust loads the trusted root keyless authorities chain to, when
// --trusted-root or --server names one; else the root is empty and only
// key and static authorities can pass.
func keylessTrust(path, server string, serverSet bool) (*trustroot.TrustedRoot, error) {
	if path == "" && !serverSet {
		return &trustroot.TrustedRoot{}, nil
	}
	if path != "" {
		server = ""
	}
	tr, err := loadTrustedRoot(path, server)
	if err != nil {
		return nil, fmt.Errorf("trust root for keyless authorities: %w", err)
	}
	return tr, nil
}

func newAdmissionInstallCmd() *cobra.Command {
	var (
		kubeconfig, webhookURL, caBundleFrom, namespace, service string
		mutate                                                   bool
		timeoutSeconds                                           int32
	)
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install the policy CRDs and the admission webhook configurations",
		Long: `Install (server-side apply) the ClusterImagePolicy (v1alpha1, v1beta1) and
TrustRoot CRDs and the Validating- and MutatingWebhookConfiguration named
` + admission.WebhookConfigurationName + `. The mutating webhook pins image tags to the digests they name
at admission, so that the kubelet runs what was checked; --mutate=false leaves it
out, and then a tag moved after admission runs an unchecked image. The webhooks fail
closed (failurePolicy Fail) and only see namespaces labelled ` + admission.IncludeLabel + `=true.

With --webhook-url the API server calls a webhook outside the cluster at that
URL (the mutating one at the same URL ending in /mutate). Without it, the
webhook is the Service --service in --namespace, and install also creates the
namespace, service account, RBAC and Service; the webhook's Deployment comes
from the Helm chart (charts/signet) or deploy/admission.yaml, rendered from it.

--ca-bundle-from names the --cert-dir of "signet admission serve"; its CA is
created there if missing. In a cluster the webhook patches the caBundle itself.`,
		Example: `  signet admission install --kubeconfig ~/.kube/config --webhook-url https://127.0.0.1:8443/validate --ca-bundle-from ./webhook-certs`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kubeconfig == "" {
				kubeconfig = os.Getenv("KUBECONFIG")
			}
			if kubeconfig == "" {
				return errors.New("--kubeconfig (or $KUBECONFIG) is required")
			}
			cfg := admission.InstallConfig{URL: webhookURL, Namespace: namespace, Service: service, UnsafeNoPinning: !mutate, TimeoutSeconds: timeoutSeconds}
			if !mutate {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning: --mutate=false: image tags are not pinned to digests; a tag moved after admission runs an image no policy checked")
			}
			if caBundleFrom != "" {
				ca, err := admission.EnsureCA(caBundleFrom)
				if err != nil {
					return fmt.Errorf("--ca-bundle-from: %w", err)
				}
				cfg.CABundle = ca
			} else if webhookURL != "" {
				return fmt.Errorf("--webhook-url needs --ca-bundle-from (the API server must trust the webhook's certificate; see %s in serve's --cert-dir), or run serve with --patch-ca-bundle after installing", filepath.Join("CERTDIR", admission.CACertFile))
			}
			dyn, disc, _, err := kubeClients(kubeconfig)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			return admission.Install(cmd.Context(), disc, dyn, cfg, func(kind, name string) {
				fmt.Fprintf(out, "applied %s %s\n", kind, name)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file of the cluster to install into (default $KUBECONFIG)")
	f.StringVar(&webhookURL, "webhook-url", "", "https URL of a webhook outside the cluster, ending in "+admission.ValidatePath)
	f.StringVar(&caBundleFrom, "ca-bundle-from", "", "certificate directory of \"signet admission serve\" whose CA goes into caBundle")
	f.StringVar(&namespace, "namespace", admission.DefaultNamespace, "namespace of the webhook's Service (service mode)")
	f.StringVar(&service, "service", admission.DefaultServiceName, "name of the webhook's Service (service mode)")
	f.BoolVar(&mutate, "mutate", true, "install the mutating webhook that pins image tags to the digests checked (--mutate=false: the kubelet may run another image than the one checked)")
	f.Int32Var(&timeoutSeconds, "timeout-seconds", 10, "API server timeout for a webhook call (1-30)")
	return cmd
}
