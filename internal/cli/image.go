package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/trustroot"
	"github.com/signetproject/signet/verify"
)

// imageFlags are the registry flags every image command shares.
type imageFlags struct {
	insecure  bool
	recursive bool // sign and attest only
}

func (f *imageFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.insecure, "allow-insecure-registry", false, "talk plain HTTP to the registry (local registries; 127.0.0.1 and localhost always are)")
}

func (f *imageFlags) client() *oci.Client {
	return oci.New(oci.Options{InsecureHTTP: f.insecure})
}

func (f *imageFlags) addRecursive(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.recursive, "recursive", false, "when IMAGE is a multi-platform index, also sign every manifest it lists (as cosign --recursive)")
}

// targets resolves IMAGE (see resolve) and returns what to sign: the
// image, and with --recursive every manifest of an image index.
func (f *imageFlags) targets(ctx context.Context, c *oci.Client, image string, stderr io.Writer) ([]name.Digest, error) {
	res, err := f.resolve(ctx, c, image, stderr)
	if err != nil {
		return nil, err
	}
	if !f.recursive {
		return []name.Digest{res.Digest}, nil
	}
	return c.Manifests(ctx, res.Digest)
}

// resolve turns IMAGE into a digest reference, warning when a tag was given.
func (f *imageFlags) resolve(ctx context.Context, c *oci.Client, image string, stderr io.Writer) (*oci.Resolved, error) {
	res, err := c.Resolve(ctx, image)
	if err != nil {
		return nil, err // says "resolve IMAGE: …"
	}
	if res.Tagged {
		fmt.Fprintf(stderr, "WARNING: %s is a tag; using its current digest %s (pass IMAGE@sha256:… to be sure what you sign)\n", image, res.Digest)
	}
	return res, nil
}

func addSignFlags(cmd *cobra.Command, r *signRequest, layout *string) {
	f := cmd.Flags()
	f.StringVar(layout, "registry-layout", "referrers", "where to store it: referrers (cosign v3: OCI 1.1 referrer bundle) or legacy (cosign v2: sha256-<hex>.sig/.att tags)")
	f.StringVar(&r.server, "server", defaultServer(), "signet server URL whose signing config to use (env SIGNET_SERVER)")
	f.StringVar(&r.signingConfig, "signing-config", "", "signing_config.json to use instead of the server's")
	f.StringVar(&r.keyPath, "key", "", "sign with this private key instead of keyless")
	r.tokens.add(cmd)
	f.Uint32Var(&r.rekorVersion, "rekor-version", 0, "transparency log API: 2 or 1 (default: 2 for referrers, 1 for legacy, which cosign v2 verifies)")
	addUploadFlags(cmd, r)
}

func parseLayout(s string) (oci.Layout, error) {
	switch oci.Layout(s) {
	case oci.LayoutReferrers, oci.LayoutLegacy:
		return oci.Layout(s), nil
	}
	return "", fmt.Errorf("--registry-layout %q: want referrers or legacy", s)
}

// imageSignOptions resolves the layout and signing options.
func imageSignOptions(r *signRequest, layoutFlag string, stderr io.Writer) (oci.Layout, error) {
	layout, err := parseLayout(layoutFlag)
	if err != nil {
		return "", err
	}
	if r.rekorVersion == 0 {
		r.rekorVersion = 2
		if layout == oci.LayoutLegacy {
			r.rekorVersion = 1
		}
	}
	return layout, nil
}

func newSignCmd() *cobra.Command {
	var (
		r           signRequest
		layout      string
		annotations []string
		img         imageFlags
	)
	cmd := &cobra.Command{
		Use:   "sign IMAGE",
		Short: "Sign a container image (keyless or with a key), as cosign does",
		Long: `Sign a container image by digest and store the signature in the registry in the
layout cosign uses: "referrers" (cosign v3's default: a Sigstore bundle attached as an
OCI 1.1 referrer, with the sha256-<hex> fallback tag for registries without the
referrers API) or "legacy" (cosign v2: the sha256-<hex>.sig tag). A tag is resolved to
its digest first (with a warning). Registry credentials come from the Docker config.

` + tokenSourcesHelp,
		Example: `  signet sign registry.example.com/app@sha256:… --server $SIGNET_SERVER
  signet sign 127.0.0.1:5000/app:v1 --key cosign.key --registry-layout legacy -a env=prod`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stderr := cmd.Context(), cmd.ErrOrStderr()
			lay, err := imageSignOptions(&r, layout, stderr)
			if err != nil {
				return err
			}
			ann, err := parseAnnotations(annotations)
			if err != nil {
				return err
			}
			c := img.client()
			targets, err := img.targets(ctx, c, args[0], stderr)
			if err != nil {
				return err
			}
			opts, err := r.options(ctx, stderr)
			if err != nil {
				return err
			}
			for _, d := range targets {
				if _, err := c.SignImage(ctx, d, lay, ann, opts); err != nil {
					return fmt.Errorf("sign %s: %w", d, err)
				}
				fmt.Fprintf(stderr, "Signed %s (%s layout)\n", d, lay)
			}
			return nil
		},
	}
	addSignFlags(cmd, &r, &layout)
	cmd.Flags().StringArrayVarP(&annotations, "annotations", "a", nil, "extra key=value annotations to sign")
	img.addRecursive(cmd)
	img.add(cmd)
	return cmd
}

func parseAnnotations(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("annotation %q: want key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

func newAttestCmd() *cobra.Command {
	var (
		r                 signRequest
		layout, pred, typ string
		img               imageFlags
	)
	cmd := &cobra.Command{
		Use:   "attest IMAGE --predicate FILE --type TYPE",
		Short: "Attach a signed in-toto attestation (SLSA provenance, SBOM, vulnerability scan…) to an image",
		Long: `Wrap the predicate in an in-toto statement about the image digest, sign it as a DSSE
envelope and attach it in cosign's layout (referrer bundle, or the sha256-<hex>.att tag).
--type is one of ` + strings.Join(oci.PredicateTypes(), ", ") + `, or a predicate type URI.

` + tokenSourcesHelp,
		Example: `  signet attest 127.0.0.1:5000/app@sha256:… --predicate provenance.json --type slsaprovenance1
  signet attest 127.0.0.1:5000/app@sha256:… --predicate scan.json --type vuln --key cosign.key`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stderr := cmd.Context(), cmd.ErrOrStderr()
			lay, err := imageSignOptions(&r, layout, stderr)
			if err != nil {
				return err
			}
			predicate, err := os.ReadFile(pred)
			if err != nil {
				return fmt.Errorf("read predicate: %w", err)
			}
			c := img.client()
			targets, err := img.targets(ctx, c, args[0], stderr)
			if err != nil {
				return err
			}
			opts, err := r.options(ctx, stderr)
			if err != nil {
				return err
			}
			for _, d := range targets {
				st, err := oci.NewStatement(d, typ, predicate, time.Now())
				if err != nil {
					return err
				}
				if _, err := c.AttestImage(ctx, d, lay, st, opts); err != nil {
					return fmt.Errorf("attest %s: %w", d, err)
				}
				fmt.Fprintf(stderr, "Attested %s with a %s predicate (%s layout)\n", d, typ, lay)
			}
			return nil
		},
	}
	addSignFlags(cmd, &r, &layout)
	cmd.Flags().StringVar(&pred, "predicate", "", "predicate file (JSON) (required)")
	cmd.Flags().StringVar(&typ, "type", "custom", "predicate type: "+strings.Join(oci.PredicateTypes(), ", ")+", or a URI")
	_ = cmd.MarkFlagRequired("predicate")
	img.add(cmd)
	img.addRecursive(cmd)
	return cmd
}

// imageVerifyRequest is what verify and verify-attestation share.
type imageVerifyRequest struct {
	verifyRequest
	img           imageFlags
	ignoreTlog    bool
	attestation   bool
	predicateType string
	policyFile    string
	annotations   []string // verify only: key=value pairs the signature must carry
}

func (r *imageVerifyRequest) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&r.trustedRoot, "trusted-root", "", "trusted_root.json to verify against")
	f.StringVar(&r.server, "server", defaultServer(), "signet server whose trusted root to fetch when --trusted-root is not given")
	f.StringVar(&r.keyPath, "key", "", "public key (PEM) for key-signed images")
	f.BoolVar(&r.ignoreTlog, "insecure-ignore-tlog", false, "accept signatures without transparency log entries (key-signed images from cosign --tlog-upload=false)")
	addIdentityFlags(cmd, &r.identity)
	r.addSCTFlag(cmd)
	r.tuf.add(cmd)
	r.img.add(cmd)
}

func (r *imageVerifyRequest) run(ctx context.Context, image string, stdout, stderr io.Writer) error {
	if r.trustedRoot != "" {
		r.server = ""
	}
	pol, err := r.policy()
	if err != nil {
		return err
	}
	// A key without log entries needs no trust material (as cosign verify
	// --key --insecure-ignore-tlog): no server to ask.
	tr := &trustroot.TrustedRoot{}
	if r.trustedRoot != "" || r.tuf.mirror != "" || !r.ignoreTlog || pol.Key == nil {
		if tr, err = r.trust(); err != nil {
			return err
		}
	}
	v, err := verify.New(tr, r.options(oci.ImageVerifyOptions(pol.Key != nil, r.ignoreTlog)))
	if err != nil {
		return err
	}
	opts, err := r.imageOptions()
	if err != nil {
		return err
	}
	c := r.img.client()
	img, err := r.img.resolve(ctx, c, image, stderr)
	if err != nil {
		return err
	}
	res, err := c.VerifyImage(ctx, img.Digest, v, pol, opts)
	if res != nil {
		for _, rej := range res.Rejected {
			fmt.Fprintln(stderr, "  rejected", rej)
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Verified %d of %d for %s\n", len(res.Verified), len(res.Verified)+len(res.Rejected), img.Digest)
	enc := json.NewEncoder(stdout)
	for _, va := range res.Verified {
		if err := enc.Encode(verifiedOutput(va.Attachment, va.Verified)); err != nil {
			return err
		}
	}
	return nil
}

// imageOptions turns the flags into what VerifyImage accepts.
func (r *imageVerifyRequest) imageOptions() (oci.VerifyImageOptions, error) {
	var opts oci.VerifyImageOptions
	var err error
	if opts.Annotations, err = parseAnnotations(r.annotations); err != nil {
		return opts, err
	}
	if !r.attestation {
		return opts, nil
	}
	opts.Attestations = true
	if opts.PredicateType, err = oci.PredicateTypeURI(r.predicateType); err != nil {
		return opts, err
	}
	if r.policyFile != "" {
		eval, p, err := loadAttestationPolicy(r.policyFile)
		if err != nil {
			return opts, err
		}
		opts.Check = func(ctx context.Context, got *oci.Verified) error {
			return evaluateStatement(ctx, eval, p, r.policyFile, got)
		}
	}
	return opts, nil
}

// verifiedOutput is what verify prints per verified signature: the signed
// payload plus who signed it.
func verifiedOutput(a *oci.Attachment, v *oci.Verified) map[string]any {
	out := map[string]any{"layout": a.Layout, "ref": a.Ref}
	switch {
	case v.SimpleSigning != nil:
		if payload, err := v.SimpleSigning.Marshal(); err == nil {
			out["payload"] = json.RawMessage(payload) // cosign's simple-signing JSON
		}
	case v.Statement != nil:
		out["statement"] = v.Statement
	}
	if c := v.Result.Certificate; c != nil {
		out["identity"], out["issuer"] = c.SAN, c.Issuer
	}
	return out
}

func newVerifyCmd() *cobra.Command {
	var r imageVerifyRequest
	cmd := &cobra.Command{
		Use:   "verify IMAGE",
		Short: "Verify an image's signatures (either cosign layout) and print the signed payloads",
		Example: `  signet verify 127.0.0.1:5000/app@sha256:… --certificate-identity alice@example.com --certificate-oidc-issuer $SIGNET_SERVER/oidc
  signet verify 127.0.0.1:5000/app:v1 --key cosign.pub --insecure-ignore-tlog -a env=prod`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.run(cmd.Context(), args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	r.addFlags(cmd)
	cmd.Flags().StringArrayVarP(&r.annotations, "annotations", "a", nil, "key=value annotations the signature must carry (as signed with sign -a)")
	return cmd
}

func newVerifyAttestationCmd() *cobra.Command {
	var r imageVerifyRequest
	r.attestation = true
	cmd := &cobra.Command{
		Use:   "verify-attestation IMAGE --type TYPE",
		Short: "Verify an image's attestations of one predicate type and print the statements",
		Example: `  signet verify-attestation 127.0.0.1:5000/app@sha256:… --type vuln \
    --certificate-identity-regexp '^https://github.com/octo/' --certificate-oidc-issuer $SIGNET_SERVER/oidc`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.run(cmd.Context(), args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	r.addFlags(cmd)
	cmd.Flags().StringVar(&r.predicateType, "type", "custom", "predicate type: "+strings.Join(oci.PredicateTypes(), ", ")+", or a URI")
	cmd.Flags().StringVar(&r.policyFile, "policy", "", "CUE (.cue) or Rego (.rego, package sigstore, isCompliant) policy every reported attestation must satisfy")
	return cmd
}

// loadAttestationPolicy reads a .cue or .rego policy file.
func loadAttestationPolicy(path string) (*policy.Evaluator, *policy.Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	typ := ""
	switch {
	case strings.HasSuffix(path, ".cue"):
		typ = "cue"
	case strings.HasSuffix(path, ".rego"):
		typ = "rego"
	default:
		return nil, nil, fmt.Errorf("--policy %s: the file name must end in .cue or .rego", path)
	}
	eval, err := policy.NewEvaluator(policy.EvaluatorOptions{})
	if err != nil {
		return nil, nil, err
	}
	return eval, &policy.Policy{Type: typ, Data: string(data)}, nil
}

// evaluateStatement applies the policy to a verified attestation, as the
// admission controller does: to the normalised in-toto statement.
func evaluateStatement(ctx context.Context, eval *policy.Evaluator, p *policy.Policy, name string, got *oci.Verified) error {
	raw, err := json.Marshal(got.Statement)
	if err != nil {
		return err
	}
	input, err := policy.NormalizeAttestation(got.PredicateType, raw)
	if err != nil {
		return fmt.Errorf("policy %s: %w", name, err)
	}
	if err := eval.EvaluatePolicy(ctx, name, p, input); err != nil {
		return fmt.Errorf("policy %s: %w", name, err)
	}
	return nil
}

func newTreeCmd() *cobra.Command {
	var img imageFlags
	cmd := &cobra.Command{
		Use:   "tree IMAGE",
		Short: "List the signatures, attestations and other artifacts attached to an image",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stdout := cmd.Context(), cmd.OutOrStdout()
			c := img.client()
			res, err := img.resolve(ctx, c, args[0], cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			attached, err := c.List(ctx, res.Digest)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "📦 %s\n", res.Digest)
			if len(attached.Attachments) == 0 {
				fmt.Fprintln(stdout, "└── (nothing attached)")
				return nil
			}
			for i, a := range attached.Attachments {
				branch := "├──"
				if i == len(attached.Attachments)-1 {
					branch = "└──"
				}
				detail := a.PredicateType
				if detail == "" {
					detail = a.ArtifactType
				}
				if a.Err != nil {
					detail += " (malformed: " + a.Err.Error() + ")"
				}
				fmt.Fprintf(stdout, "%s %s [%s] %s %s\n", branch, a.Kind, a.Layout, a.Ref, detail)
			}
			return nil
		},
	}
	img.add(cmd)
	return cmd
}
