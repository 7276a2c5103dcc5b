package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/policy"
)

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Work with ClusterImagePolicy files (policy-controller compatible)",
	}
	cmd.AddCommand(newPolicyTestCmd(), newPolicyCatalogCmd(), &cobra.Command{
		Use:    "cue-worker",
		Short:  "Evaluate CUE policies sent on stdin (the child processes policy evaluation runs CUE in)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return policy.ServeCUEWorker(cmd.InOrStdin(), cmd.OutOrStdout())
		},
	})
	return cmd
}

// cueWorker makes the command of a CUE worker process: this binary's
// `signet policy cue-worker`. CUE cannot be interrupted in process; a
// worker evaluating past its deadline is killed.
var cueWorker = func() *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return exec.Command(exe, "policy", "cue-worker")
}

func newPolicyTestCmd() *cobra.Command {
	var (
		files       []string
		resource    string
		output      string
		trustedRoot string
		server      string
		noMatch     string
		timeout     time.Duration
		img         imageFlags
	)
	cmd := &cobra.Command{
		Use:   "test --policy FILE [--policy FILE…] (IMAGE… | --resource FILE)",
		Short: "Evaluate ClusterImagePolicies against images or a Kubernetes object, offline of any cluster",
		Long: `Load ClusterImagePolicy resources (v1alpha1 or v1beta1, as written for the Sigstore
policy-controller) and the TrustRoots they name by trustRootRef (sigstoreKeys),
validate them as a cluster would, and decide each image as the
admission controller would: an image must satisfy every policy whose globs match it;
a policy passes when one of its authorities does. Prints, per image, which
policy/authority passed or why each failed. Exit status 0 only when every image is
allowed, so it fits CI pipelines.

With --resource, the images are those of a Kubernetes object (Pod, Deployment,
ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, ReplicationController, Knative
Service), decided exactly as the admission webhook decides them: spec.match sees the
object's resource and labels, includeSpec/includeObjectMeta/includeTypeMeta policies
see its spec, metadata, apiVersion and kind. Images whose matching policies have only
static authorities are decided without a registry, trust root or network.

--output json prints one JSON document (see the README) instead of text.`,
		Example: `  signet policy test --policy require-signed.yaml 127.0.0.1:5000/app@sha256:…
  signet policy test --policy restricted.yaml --resource deployment.yaml --output json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(files) == 0 {
				return fmt.Errorf("give at least one --policy FILE")
			}
			switch {
			case resource == "" && len(args) == 0:
				return fmt.Errorf("give IMAGE arguments or --resource FILE")
			case resource != "" && len(args) > 0:
				return fmt.Errorf("give IMAGE arguments or --resource FILE, not both")
			case output != "text" && output != "json":
				return fmt.Errorf("--output %q: want text or json", output)
			case timeout <= 0:
				return fmt.Errorf("--timeout %s: must be positive", timeout)
			}
			var obj *policy.Object
			if resource != "" {
				data, err := os.ReadFile(resource)
				if err != nil {
					return err
				}
				if obj, err = policy.ParseObject(data); err != nil {
					return fmt.Errorf("%s: %w", resource, err)
				}
			}
			policies, trustRoots, err := loadPolicyFiles(files, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			nm, err := parseNoMatch(noMatch)
			if err != nil {
				return err
			}
			if trustedRoot != "" {
				server = ""
			}
			client := img.client()
			engineOpts, err := policyEngineOptions(nm, client)
			if err != nil {
				return err
			}
			// The trust root is read when an authority first needs it:
			// static authorities and CUE/Rego over the object need none.
			checker := &lazyChecker{build: func() (policy.AuthorityChecker, error) {
				tr, err := loadTrustedRoot(trustedRoot, server)
				if err != nil {
					return nil, err
				}
				return policy.NewRegistryChecker(client, tr, policy.CheckerOptions{TrustRoots: trustRoots}), nil
			}}
			engine, err := policy.NewEngine(policies, checker, engineOpts)
			if err != nil {
				return err
			}
			t := &policyTester{engine: engine, client: client, stderr: cmd.ErrOrStderr(), timeout: timeout}
			rep := t.run(cmd.Context(), obj, args)
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				printReport(cmd.OutOrStdout(), rep)
			}
			if denied := rep.denied(); denied > 0 {
				return fmt.Errorf("%d of %d images denied", denied, len(rep.Images))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&files, "policy", nil, "ClusterImagePolicy YAML/JSON file (repeatable; multi-document files are fine)")
	f.StringVar(&resource, "resource", "", "Kubernetes object (YAML/JSON) whose images to decide, as the admission webhook would")
	f.StringVar(&output, "output", "text", "text or json")
	f.StringVar(&trustedRoot, "trusted-root", "", "trusted_root.json for keyless authorities")
	f.StringVar(&server, "server", defaultServer(), "signet server whose trusted root to use when --trusted-root is not given")
	f.StringVar(&noMatch, "no-match", "deny", "images no policy matches: allow, warn or deny")
	f.DurationVar(&timeout, "timeout", time.Minute, "time limit for deciding on one image, its tag's resolution included (a registry that never answers denies it)")
	img.add(cmd)
	return cmd
}

// loadPolicyFiles loads, defaults and validates the policy files; errors
// and warnings name the file, line and field.
func loadPolicyFiles(files []string, stderr io.Writer) ([]*policy.ClusterImagePolicy, []*policy.TrustRoot, error) {
	var policies []*policy.ClusterImagePolicy
	var trustRoots []*policy.TrustRoot
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		docs, warnings, err := policy.LoadFile(f, data, policy.ValidateOptions{})
		if err != nil {
			return nil, nil, err
		}
		for _, w := range warnings {
			fmt.Fprintf(stderr, "warning: %s\n", w)
		}
		for _, c := range docs.Policies {
			for _, w := range c.GlobWarnings() {
				fmt.Fprintf(stderr, "%s: warning: %s %q: %s\n", f, policy.KindClusterImagePolicy, c.Metadata.Name, w)
			}
		}
		policies = append(policies, docs.Policies...)
		trustRoots = append(trustRoots, docs.TrustRoots...)
	}
	return policies, trustRoots, nil
}

func parseNoMatch(s string) (policy.NoMatchPolicy, error) {
	switch s {
	case "allow":
		return policy.NoMatchAllow, nil
	case "warn":
		return policy.NoMatchWarn, nil
	case "deny":
		return policy.NoMatchDeny, nil
	}
	return "", fmt.Errorf("--no-match %q: want allow, warn or deny", s)
}

// lazyChecker builds its AuthorityChecker on first use.
type lazyChecker struct {
	build   func() (policy.AuthorityChecker, error)
	once    sync.Once
	checker policy.AuthorityChecker
	err     error
}

func (l *lazyChecker) get() (policy.AuthorityChecker, error) {
	l.once.Do(func() { l.checker, l.err = l.build() })
	return l.checker, l.err
}

func (l *lazyChecker) VerifySignatures(ctx context.Context, image string, a *policy.Authority, creds policy.RegistryCredentials) ([]policy.Signature, error) {
	c, err := l.get()
	if err != nil {
		return nil, err
	}
	return c.VerifySignatures(ctx, image, a, creds)
}

func (l *lazyChecker) VerifyAttestations(ctx context.Context, image string, a *policy.Authority, creds policy.RegistryCredentials) ([]policy.VerifiedAttestation, error) {
	c, err := l.get()
	if err != nil {
		return nil, err
	}
	return c.VerifyAttestations(ctx, image, a, creds)
}

// policyEngineOptions configures the engine as the admission controller
// does: CUE and Rego policies given inline or by https URL (ConfigMap
// references need a cluster), config files read from the registry.
func policyEngineOptions(nm policy.NoMatchPolicy, client *oci.Client) (policy.Options, error) {
	eval, err := policy.NewEvaluator(policy.EvaluatorOptions{CUEWorker: cueWorker})
	if err != nil {
		return policy.Options{}, err
	}
	return policy.Options{NoMatch: nm, Evaluator: eval, ConfigFiles: client}, nil
}

// testReport is the JSON document `signet policy test --output json`
// prints; README.md documents it.
type testReport struct {
	// Allowed is true when every image is allowed.
	Allowed bool `json:"allowed"`
	// Resource is the object given with --resource.
	Resource *resourceReport `json:"resource,omitempty"`
	Images   []imageReport   `json:"images"`
}

type resourceReport struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
}

type imageReport struct {
	// Image is the reference as given or written in the object.
	Image string `json:"image"`
	// Field is the image's field path in the object.
	Field string `json:"field,omitempty"`
	// Digest is the digest reference decided on, when the image was
	// looked up in its registry.
	Digest   string         `json:"digest,omitempty"`
	Allowed  bool           `json:"allowed"`
	NoMatch  bool           `json:"noMatch,omitempty"`
	Errors   []string       `json:"errors"`
	Warnings []string       `json:"warnings"`
	Policies []policyReport `json:"policies"`
}

type policyReport struct {
	Name        string            `json:"name"`
	Mode        string            `json:"mode"`
	Passed      bool              `json:"passed"`
	Authorities []authorityReport `json:"authorities"`
	Error       string            `json:"error,omitempty"`
}

type authorityReport struct {
	Name    string   `json:"name"`
	Passed  bool     `json:"passed"`
	Static  bool     `json:"static,omitempty"`
	Signers []string `json:"signers,omitempty"`
	Error   string   `json:"error,omitempty"`
}

func (r *testReport) denied() int {
	n := 0
	for _, i := range r.Images {
		if !i.Allowed {
			n++
		}
	}
	return n
}

// policyTester decides images as the admission webhook does.
type policyTester struct {
	engine *policy.Engine
	client *oci.Client
	stderr io.Writer
	// timeout limits the work on one image, its tag's resolution
	// included.
	timeout time.Duration
}

// run decides the images given, or those of obj.
func (t *policyTester) run(ctx context.Context, obj *policy.Object, images []string) *testReport {
	rep := &testReport{Allowed: true, Images: []imageReport{}}
	if obj == nil {
		for _, image := range images {
			rep.Images = append(rep.Images, t.decide(ctx, policy.Request{Image: image}))
		}
	} else {
		rep.Resource = &resourceReport{APIVersion: obj.TypeMeta.APIVersion, Kind: obj.TypeMeta.Kind, Name: obj.Name, Namespace: obj.Namespace}
		decided := map[string]imageReport{}
		for _, c := range obj.Images {
			r, ok := decided[c.Image]
			if !ok {
				r = t.decide(ctx, obj.Request(c.Image))
				decided[c.Image] = r
			}
			r.Field = c.Field
			rep.Images = append(rep.Images, r)
		}
	}
	rep.Allowed = rep.denied() == 0
	return rep
}

// decide decides one image. Only when a matching policy needs the
// registry is a tag resolved to its digest, as the webhook's mutating
// half would pin it.
func (t *policyTester) decide(ctx context.Context, req policy.Request) (r imageReport) {
	r = imageReport{Image: req.Image, Errors: []string{}, Warnings: []string{}, Policies: []policyReport{}}
	ctx, cancel := context.WithTimeoutCause(ctx, t.timeout, fmt.Errorf("%s: no decision within --timeout %s", req.Image, t.timeout))
	defer cancel()
	// An image whose decision ran out of time is denied, saying so,
	// whatever the registry client or checker made of the deadline.
	defer func() {
		if ctx.Err() == context.DeadlineExceeded {
			r.Allowed = false
			r.Errors = append(r.Errors, context.Cause(ctx).Error())
		}
	}()
	if t.engine.NeedsRegistry(req) {
		res, err := t.client.Resolve(ctx, req.Image)
		if err != nil {
			r.Errors = append(r.Errors, err.Error())
			return r
		}
		if res.Tagged {
			fmt.Fprintf(t.stderr, "WARNING: %s is a tag; deciding on its current digest %s\n", req.Image, res.Digest)
		}
		req.Image = res.Digest.String()
		r.Digest = req.Image
	}
	// One image's registry work is bounded as in the webhook.
	session, err := oci.NewSession(oci.Limits{})
	if err != nil {
		r.Errors = append(r.Errors, err.Error())
		return r
	}
	req.Credentials.Session = session
	d := t.engine.Evaluate(ctx, req)
	r.Allowed, r.NoMatch = d.Allowed, d.NoMatch
	for _, v := range d.Denials {
		r.Errors = append(r.Errors, v.String())
	}
	for _, v := range d.Warnings {
		r.Warnings = append(r.Warnings, v.String())
	}
	for _, p := range d.Policies {
		pr := policyReport{Name: p.Name, Mode: p.Mode, Passed: p.Passed, Authorities: []authorityReport{}}
		if p.Err != nil {
			pr.Error = p.Err.Error()
		}
		for _, a := range p.Authorities {
			ar := authorityReport{Name: a.Name, Passed: a.Passed, Static: a.Static}
			for _, s := range a.Signatures {
				if s.Subject != "" {
					ar.Signers = append(ar.Signers, s.Subject)
				}
			}
			if a.Err != nil {
				ar.Error = a.Err.Error()
			}
			pr.Authorities = append(pr.Authorities, ar)
		}
		r.Policies = append(r.Policies, pr)
	}
	return r
}

func printReport(w io.Writer, rep *testReport) {
	for _, r := range rep.Images {
		verdict := "ALLOWED"
		if !r.Allowed {
			verdict = "DENIED"
		}
		image := r.Image
		if r.Digest != "" {
			image = r.Digest
		}
		if r.Field != "" {
			fmt.Fprintf(w, "%s %s (%s)\n", verdict, image, r.Field)
		} else {
			fmt.Fprintf(w, "%s %s\n", verdict, image)
		}
		if r.NoMatch {
			fmt.Fprintln(w, "  no policy matches this image")
		}
		for _, p := range r.Policies {
			state := "failed"
			if p.Passed {
				state = "passed"
			}
			fmt.Fprintf(w, "  policy %s (%s): %s\n", p.Name, p.Mode, state)
			for _, a := range p.Authorities {
				switch {
				case a.Passed && len(a.Signers) > 0:
					fmt.Fprintf(w, "    authority %s: passed (signed by %s)\n", a.Name, strings.Join(a.Signers, ", "))
				case a.Passed:
					fmt.Fprintf(w, "    authority %s: passed\n", a.Name)
				case a.Error != "":
					fmt.Fprintf(w, "    authority %s: failed: %s\n", a.Name, a.Error)
				}
			}
			if p.Error != "" {
				fmt.Fprintf(w, "    %s\n", p.Error)
			}
		}
		for _, v := range r.Warnings {
			fmt.Fprintf(w, "  warning: %s\n", v)
		}
		for _, v := range r.Errors {
			fmt.Fprintf(w, "  denied: %s\n", v)
		}
	}
}
