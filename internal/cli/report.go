package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/signetproject/signet/admission"
	"github.com/signetproject/signet/internal/kube"
	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/report"
	"github.com/signetproject/signet/trustroot"
	"github.com/signetproject/signet/verify"
)

// reportRequest holds the flags of `signet report`.
type reportRequest struct {
	kubeconfig, namespace string
	allNamespaces         bool
	trustedRoot, server   string
	keyPaths              []string
	policyFiles           []string
	identity              verify.Identity
	ignoreTlog            bool
	systemNamespace       string
	output, pkg           string
	concurrency           int
	img                   imageFlags
}

func newReportCmd() *cobra.Command {
	var r reportRequest
	cmd := &cobra.Command{
		Use:   "report [IMAGE…]",
		Short: "Who built each image, where, from what source, with what known vulnerabilities",
		Long: `Answer, from verified evidence only, four questions about container images: who
signed them (certificate identity and issuer, or key; log index and signing time),
where they were built (Fulcio certificate build claims, SLSA v0.2/v1 provenance),
from what source (repository, commit and ref from certificates and provenance,
with disagreements flagged) and with what known vulnerabilities (cosign vuln
attestations with Trivy or Grype reports; SBOM attestations for --package).
Signatures and attestations that do not verify are listed with the reason, never
as answers.

Images are the IMAGE arguments, or without them every image running in a cluster
(--kubeconfig, default $KUBECONFIG; -n NAMESPACE or -A): the digest each pod's
container runs (status imageID), or its spec reference resolved once.

Trust is, in this order: --key and certificate identity flags (any of them: keys
and keyless signers matching the identity under --trusted-root/--server); else
ClusterImagePolicy files (--policy) or, with a cluster, the cluster's
ClusterImagePolicies and TrustRoots: what its admission webhook would accept, with
each image's policy verdict (keyless authorities without a trustRootRef chain to
--trusted-root, --server or $SIGNET_SERVER when given); else any identity
certified by --trusted-root/--server.

Output: a table grouped by image (default), -o json (schema ` + report.SchemaVersion + `,
see the README) or -o html (one self-contained page).`,
		Example: `  signet report -A -o html > report.html
  signet report -n prod --package log4j-core
  signet report 127.0.0.1:5000/app@sha256:… --server http://127.0.0.1:8080 -o json
  signet report 127.0.0.1:5000/app:v1 --key cosign.pub --insecure-ignore-tlog`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.run(cmd, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&r.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to report on (default $KUBECONFIG) when no IMAGE is given")
	f.StringVarP(&r.namespace, "namespace", "n", "", "namespace to report on (default: the kubeconfig's)")
	f.BoolVarP(&r.allNamespaces, "all-namespaces", "A", false, "report on every namespace")
	f.StringVar(&r.trustedRoot, "trusted-root", "", "trusted_root.json keyless signatures must chain to")
	f.StringVar(&r.server, "server", defaultServer(), "signet server whose trusted root to use when --trusted-root is not given")
	f.StringArrayVar(&r.keyPaths, "key", nil, "trust this public key (PEM; repeatable)")
	f.StringArrayVar(&r.policyFiles, "policy", nil, "trust what these ClusterImagePolicy files accept, and give each image their verdict (repeatable)")
	f.BoolVar(&r.ignoreTlog, "insecure-ignore-tlog", false, "accept key signatures without transparency log entries (cosign --tlog-upload=false)")
	f.StringVar(&r.systemNamespace, "system-namespace", admission.DefaultNamespace, "namespace of the Secrets and ConfigMaps the cluster's policies reference")
	f.StringVarP(&r.output, "output", "o", "table", "output format: table, json or html")
	f.StringVar(&r.pkg, "package", "", "find the images (and pods) whose verified SBOMs list this package: NAME or NAME@VERSION")
	f.IntVar(&r.concurrency, "concurrency", 8, "images verified at once")
	addIdentityFlags(cmd, &r.identity)
	r.img.add(cmd)
	return cmd
}

func (r *reportRequest) run(cmd *cobra.Command, args []string) error {
	ctx, stdout, stderr := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	write, err := reportWriter(r.output)
	if err != nil {
		return err
	}
	var query *report.PackageQuery
	if r.pkg != "" {
		if query, err = report.ParsePackageQuery(r.pkg); err != nil {
			return fmt.Errorf("--package: %w", err)
		}
	}
	if r.concurrency < 1 {
		return fmt.Errorf("--concurrency %d: must be at least 1", r.concurrency)
	}
	if r.trustedRoot != "" {
		r.server = ""
	}
	client := r.img.client()
	listings := report.NewListings(client)

	var cluster *reportCluster
	if len(args) == 0 {
		if cluster, err = r.connect(); err != nil {
			return err
		}
	} else if r.allNamespaces || r.namespace != "" {
		return errors.New("give IMAGE arguments or a cluster (-n/-A), not both")
	}

	opts := report.Options{Lister: listings, Concurrency: r.concurrency}
	if err := r.trust(ctx, cmd, cluster, listings, &opts); err != nil {
		return err
	}

	var targets []report.Target
	if cluster != nil {
		targets, err = cluster.targets(ctx, client, stderr)
	} else {
		targets, err = imageTargets(ctx, client, args)
	}
	if err != nil {
		return err
	}
	rep, err := report.New(opts)
	if err != nil {
		return err
	}
	res := rep.Report(ctx, targets, query, progressLine(stderr))
	return write(stdout, res)
}

func reportWriter(format string) (func(io.Writer, *report.Report) error, error) {
	switch format {
	case "table":
		return report.WriteTable, nil
	case "json":
		return report.WriteJSON, nil
	case "html":
		return report.WriteHTML, nil
	}
	return nil, fmt.Errorf("-o %q: want table, json or html", format)
}

// progressLine returns a progress callback that redraws one line on a
// terminal, and nil elsewhere (logs and pipes get no progress noise).
func progressLine(w io.Writer) report.Progress {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return func(done, total int) {
		fmt.Fprintf(f, "\rverified %d of %d images", done, total)
		if done == total {
			fmt.Fprintln(f)
		}
	}
}

// imageTargets resolves the IMAGE arguments.
func imageTargets(ctx context.Context, c *oci.Client, args []string) ([]report.Target, error) {
	var out []report.Target
	for _, a := range args {
		res, err := c.Resolve(ctx, a)
		if err != nil {
			return nil, err
		}
		out = append(out, report.Target{Image: res.Digest, Reference: a})
	}
	return out, nil
}

// trust sets opts.Trust (and Decide) from the flags, as the help says.
func (r *reportRequest) trust(ctx context.Context, cmd *cobra.Command, cluster *reportCluster, listings *report.Listings, opts *report.Options) error {
	static := len(r.keyPaths) > 0 || r.identity != (verify.Identity{})
	rootGiven := r.trustedRoot != "" || cmd.Flags().Changed("server") || os.Getenv("SIGNET_SERVER") != ""
	var tr *trustroot.TrustedRoot
	loadRoot := func() error {
		var err error
		tr, err = loadTrustedRoot(r.trustedRoot, r.server)
		return err
	}

	if static {
		var auths []report.Authority
		var names []string
		needRoot := r.identity != (verify.Identity{}) || !r.ignoreTlog || rootGiven
		tr = &trustroot.TrustedRoot{}
		if needRoot {
			if err := loadRoot(); err != nil {
				return err
			}
		}
		if r.identity != (verify.Identity{}) {
			v, err := verify.New(tr, verify.DefaultOptions())
			if err != nil {
				return err
			}
			auths = append(auths, report.Authority{Name: "identity " + identityString(r.identity), Verifier: v, Policy: verify.Policy{Identities: []verify.Identity{r.identity}}})
			names = append(names, "certificates matching "+identityString(r.identity))
		}
		keyOpts := verify.DefaultOptions()
		if r.ignoreTlog {
			keyOpts = verify.Options{UseCurrentTime: true}
		}
		kv, err := verify.New(tr, keyOpts)
		if err != nil {
			return err
		}
		for _, p := range r.keyPaths {
			data, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("--key: %w", err)
			}
			pub, err := keys.LoadPublicKey(data)
			if err != nil {
				return fmt.Errorf("--key %s: %w", p, err)
			}
			a, err := report.KeyAuthority(p, pub, kv)
			if err != nil {
				return err
			}
			auths = append(auths, a)
			names = append(names, "key "+p+" "+a.KeyFingerprint)
		}
		opts.Trust = &report.StaticTrust{List: auths, Description: strings.Join(names, "; ")}
		return nil
	}

	if len(r.policyFiles) > 0 || cluster != nil {
		// Keyless authorities without a trustRootRef chain to the
		// given root; without one, only TrustRoots and keys can vouch.
		tr = &trustroot.TrustedRoot{}
		if rootGiven {
			if err := loadRoot(); err != nil {
				return err
			}
		}
		eval, err := policy.NewEvaluator(policy.EvaluatorOptions{})
		if err != nil {
			return err
		}
		engOpts := policy.Options{NoMatch: policy.NoMatchDeny, Evaluator: eval}
		var eng *policy.Engine
		if len(r.policyFiles) > 0 {
			eng, err = policyFilesEngine(r.policyFiles, listings, tr, engOpts, cmd.ErrOrStderr())
		} else {
			eng, err = admission.ClusterEngine(ctx, cluster.dyn, r.systemNamespace,
				admission.CheckerFactoryFunc(func(trs []*policy.TrustRoot) (policy.AuthorityChecker, error) {
					return policy.NewRegistryChecker(listings, tr, policy.CheckerOptions{TrustRoots: trs}), nil
				}), engOpts)
		}
		if err != nil {
			return err
		}
		opts.Trust = &report.PolicyTrust{Engine: eng}
		opts.Decide = func(ctx context.Context, d name.Digest, t report.Target) policy.Decision {
			req := policy.Request{Image: d.String()}
			if pod, ok := t.Context.(*corev1.Pod); ok {
				res := admission.PodResource(pod)
				req.Resource = &res
			}
			return eng.Evaluate(ctx, req)
		}
		return nil
	}

	if err := loadRoot(); err != nil {
		return err
	}
	v, err := verify.New(tr, verify.DefaultOptions())
	if err != nil {
		return err
	}
	opts.Trust = &report.StaticTrust{Description: "any identity certified by the trusted root's CAs, with a log entry",
		List: []report.Authority{{Name: "trusted root", Verifier: v, Policy: verify.Policy{UnsafeSkipIdentity: true}}}}
	return nil
}

func identityString(id verify.Identity) string {
	var parts []string
	for _, p := range []struct{ k, v string }{{"identity", id.SAN}, {"identity~", id.SANRegexp}, {"issuer", id.Issuer}, {"issuer~", id.IssuerRegexp},
		{"repository", id.GitHubWorkflowRepository}, {"ref", id.GitHubWorkflowRef}} {
		if p.v != "" {
			parts = append(parts, p.k+" "+p.v)
		}
	}
	return strings.Join(parts, ", ")
}

// policyFilesEngine loads ClusterImagePolicy (and TrustRoot) files.
func policyFilesEngine(files []string, lister policy.AttachmentLister, tr *trustroot.TrustedRoot, opts policy.Options, stderr io.Writer) (*policy.Engine, error) {
	var cips []*policy.ClusterImagePolicy
	var trs []*policy.TrustRoot
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		docs, warnings, err := policy.Load(data, policy.ValidateOptions{})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, w := range warnings {
			fmt.Fprintf(stderr, "%s: warning: %s\n", f, w)
		}
		cips = append(cips, docs.Policies...)
		trs = append(trs, docs.TrustRoots...)
	}
	return policy.NewEngine(cips, policy.NewRegistryChecker(lister, tr, policy.CheckerOptions{TrustRoots: trs}), opts)
}

// reportCluster is the cluster `signet report` reads pods from.
type reportCluster struct {
	dyn       dynamic.Interface
	namespace string // "" for all
}

func (r *reportRequest) connect() (*reportCluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if r.kubeconfig != "" {
		rules.ExplicitPath = r.kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no IMAGE given and no cluster to report on: %w", err)
	}
	cfg.UserAgent = "signet-report/" + Version
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	c := &reportCluster{dyn: dyn}
	switch {
	case r.allNamespaces && r.namespace != "":
		return nil, errors.New("give -n NAMESPACE or -A, not both")
	case r.allNamespaces:
	case r.namespace != "":
		c.namespace = r.namespace
	default:
		if c.namespace, _, err = cc.Namespace(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// targets lists the cluster's pods and pins their images.
func (c *reportCluster) targets(ctx context.Context, oc *oci.Client, stderr io.Writer) ([]report.Target, error) {
	list, err := kube.List[corev1.Pod](ctx, c.dyn, kube.Pods, c.namespace, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	pods := make([]*corev1.Pod, len(list))
	for i := range list {
		pods[i] = &list[i]
	}
	var mu sync.Mutex
	resolve := func(ctx context.Context, _, image string) (name.Digest, error) {
		mu.Lock()
		defer mu.Unlock()
		res, err := oc.Resolve(ctx, image)
		if err != nil {
			return name.Digest{}, err
		}
		return res.Digest, nil
	}
	targets, errs := admission.PodTargets(ctx, pods, admission.NewOwners(c.dyn), resolve)
	for _, err := range errs {
		fmt.Fprintln(stderr, "warning:", err)
	}
	return targets, nil
}
