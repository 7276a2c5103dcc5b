package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
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
	cmd.AddCommand(newPolicyTestCmd(), &cobra.Command{
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
		trustedRoot string
		server      string
		noMatch     string
		timeout     time.Duration
		img         imageFlags
	)
	cmd := &cobra.Command{
		Use:   "test --policy FILE [--policy FILE…] IMAGE…",
		Short: "Evaluate ClusterImagePolicies against images, offline of any cluster",
		Long: `Load ClusterImagePolicy resources (v1alpha1 or v1beta1, as written for the Sigstore
policy-controller) and the TrustRoots they name by trustRootRef (sigstoreKeys),
validate them as a cluster would, and decide each image as the
admission controller would: an image must satisfy every policy whose globs match it;
a policy passes when one of its authorities does. Prints, per image, which
policy/authority passed or why each failed. Exit status 0 only when every image is
allowed, so it fits CI pipelines.`,
		Example: `  signet policy test --policy require-signed.yaml 127.0.0.1:5000/app@sha256:…`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(files) == 0 {
				return fmt.Errorf("give at least one --policy FILE")
			}
			var policies []*policy.ClusterImagePolicy
			var trustRoots []*policy.TrustRoot
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				docs, warnings, err := policy.Load(data, policy.ValidateOptions{})
				if err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
				for _, w := range warnings {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: warning: %s\n", f, w)
				}
				for _, c := range docs.Policies {
					for _, w := range c.GlobWarnings() {
						fmt.Fprintf(cmd.ErrOrStderr(), "%s: warning: %s %q: %s\n", f, policy.KindClusterImagePolicy, c.Metadata.Name, w)
					}
				}
				policies = append(policies, docs.Policies...)
				trustRoots = append(trustRoots, docs.TrustRoots...)
			}
			nm, err := parseNoMatch(noMatch)
			if err != nil {
				return err
			}
			if trustedRoot != "" {
				server = ""
			}
			tr, err := loadTrustedRoot(trustedRoot, server)
			if err != nil {
				return err
			}
			client := img.client()
			engineOpts, err := policyEngineOptions(nm)
			if err != nil {
				return err
			}
			checker := policy.NewRegistryChecker(client, tr, nil, policy.WithTrustRoots(trustRoots))
			engine, err := policy.NewEngine(policies, checker, engineOpts)
			if err != nil {
				return err
			}
			denied := 0
			if timeout <= 0 {
				return fmt.Errorf("--timeout %s: must be positive", timeout)
			}
			for _, image := range args {
				d, err := decideImage(cmd.Context(), timeout, image, func(ctx context.Context) (policy.Decision, error) {
					res, err := img.resolve(ctx, client, image, cmd.ErrOrStderr())
					if err != nil {
						return policy.Decision{}, err
					}
					// One image's registry work is bounded as in the webhook.
					session, err := oci.NewSession(oci.Limits{})
					if err != nil {
						return policy.Decision{}, err
					}
					return engine.Evaluate(ctx, policy.Request{Image: res.Digest.String(), Credentials: policy.RegistryCredentials{Session: session}}), nil
				})
				if err != nil {
					return err
				}
				printDecision(cmd.OutOrStdout(), d)
				if !d.Allowed {
					denied++
				}
			}
			if denied > 0 {
				return fmt.Errorf("%d of %d images denied", denied, len(args))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&files, "policy", nil, "ClusterImagePolicy YAML/JSON file (repeatable; multi-document files are fine)")
	f.StringVar(&trustedRoot, "trusted-root", "", "trusted_root.json for keyless authorities")
	f.StringVar(&server, "server", defaultServer(), "signet server whose trusted root to use when --trusted-root is not given")
	f.StringVar(&noMatch, "no-match", "deny", "images no policy matches: allow, warn or deny")
	f.DurationVar(&timeout, "timeout", time.Minute, "time limit for deciding on one image, its tag's resolution included (a registry that never answers denies it)")
	img.add(cmd)
	return cmd
}

// decideImage runs decide under a time limit for one image; a decision
// that runs out of time says so in its denial.
func decideImage(ctx context.Context, timeout time.Duration, image string, decide func(context.Context) (policy.Decision, error)) (policy.Decision, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%s: no decision within --timeout %s", image, timeout))
	defer cancel()
	d, err := decide(ctx)
	if cause := context.Cause(ctx); cause != nil && ctx.Err() == context.DeadlineExceeded {
		if err != nil {
			return d, fmt.Errorf("%w: %w", cause, err)
		}
		d.Allowed = false
		d.Denials = append(d.Denials, policy.Violation{Message: cause.Error()})
	}
	return d, err
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

func printDecision(w io.Writer, d policy.Decision) {
	verdict := "ALLOWED"
	if !d.Allowed {
		verdict = "DENIED"
	}
	fmt.Fprintf(w, "%s %s\n", verdict, d.Image)
	if d.NoMatch {
		fmt.Fprintln(w, "  no policy matches this image")
	}
	for _, p := range d.Policies {
		state := "failed"
		if p.Passed {
			state = "passed"
		}
		fmt.Fprintf(w, "  policy %s (%s): %s\n", p.Name, p.Mode, state)
		for _, a := range p.Authorities {
			if a.Passed {
				fmt.Fprintf(w, "    authority %s: passed%s\n", a.Name, signers(a))
			} else if a.Err != nil {
				fmt.Fprintf(w, "    authority %s: failed: %v\n", a.Name, a.Err)
			}
		}
		if p.Err != nil {
			fmt.Fprintf(w, "    %v\n", p.Err)
		}
	}
	for _, v := range d.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", v)
	}
	for _, v := range d.Denials {
		fmt.Fprintf(w, "  denied: %s\n", v)
	}
}

func signers(a policy.AuthorityResult) string {
	var who []string
	for _, s := range a.Signatures {
		if s.Subject != "" {
			who = append(who, s.Subject)
		}
	}
	if len(who) == 0 {
		return ""
	}
	return " (signed by " + strings.Join(who, ", ") + ")"
}

// policyEngineOptions configures the engine as the admission controller
// does: CUE and Rego policies given inline or by https URL (ConfigMap
// references need a cluster).
func policyEngineOptions(nm policy.NoMatchPolicy) (policy.Options, error) {
	eval, err := policy.NewEvaluator(policy.EvaluatorOptions{CUEWorker: cueWorker})
	if err != nil {
		return policy.Options{}, err
	}
	return policy.Options{NoMatch: nm, Evaluator: eval}, nil
}
