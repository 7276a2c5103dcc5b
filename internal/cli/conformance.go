package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newConformanceCmd implements the sigstore-conformance client CLI
// protocol (https://github.com/sigstore/sigstore-conformance), so the suite
// can drive signet through a two-line wrapper script:
//
//	#!/bin/sh
//	exec signet conformance "$@"
func newConformanceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "conformance",
		Short: "The sigstore-conformance client protocol (sign-bundle, verify-bundle)",
		Long: `Commands that implement the sigstore-conformance test suite's client CLI protocol.
Exit status 0 means success, anything else failure. With --trusted-root no network
is needed for verification. --staging selects the public-good staging instance,
which this machine cannot reach: pass --trusted-root/--signing-config instead.`,
	}
	cmd.AddCommand(newConformanceSignCmd(), newConformanceVerifyCmd())
	return cmd
}

func newConformanceSignCmd() *cobra.Command {
	var (
		r           signRequest
		staging     bool
		trustedRoot string
	)
	cmd := &cobra.Command{
		Use:   "sign-bundle --identity-token TOKEN --bundle OUT FILE",
		Short: "Sign FILE into a bundle (conformance protocol)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r.artifact = args[0]
			r.rekorVersion, r.tlogUpload = 2, true
			if r.signingConfig == "" {
				return errors.New("--signing-config is required: the public-good instances (and --staging) are not reachable from here")
			}
			_ = trustedRoot // the services' answers are checked by verifiers, not at signing time
			return r.run(cmd.Context(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.BoolVar(&staging, "staging", false, "use the public-good staging instance (unreachable here)")
	f.BoolVar(&r.inToto, "in-toto", false, "FILE is an in-toto statement: sign it as a DSSE envelope")
	f.StringVar(&r.tokens.identityToken, "identity-token", "", "OIDC identity token (required)")
	f.StringVar(&r.bundleOut, "bundle", "", "output bundle (required)")
	f.StringVar(&trustedRoot, "trusted-root", "", "trusted_root.json (accepted for protocol compatibility)")
	f.StringVar(&r.signingConfig, "signing-config", "", "signing_config.json naming the CA, log and TSA")
	_ = cmd.MarkFlagRequired("identity-token")
	_ = cmd.MarkFlagRequired("bundle")
	return cmd
}

func newConformanceVerifyCmd() *cobra.Command {
	var (
		r       verifyRequest
		staging bool
	)
	cmd := &cobra.Command{
		Use:   "verify-bundle --bundle F (--certificate-identity SAN --certificate-oidc-issuer ISS | --key KEY.pem) [--trusted-root F] FILE|sha256:DIGEST",
		Short: "Verify a bundle (conformance protocol)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r.artifact = args[0]
			if r.trustedRoot == "" {
				return errors.New("--trusted-root is required: the public-good trust roots (and --staging) are not reachable from here")
			}
			return r.run(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.BoolVar(&staging, "staging", false, "use the public-good staging instance (unreachable here)")
	f.StringVar(&r.bundlePath, "bundle", "", "the bundle to verify (required)")
	f.StringVar(&r.identity.SAN, "certificate-identity", "", "expected certificate identity (SAN)")
	f.StringVar(&r.identity.Issuer, "certificate-oidc-issuer", "", "expected OIDC issuer")
	f.StringVar(&r.keyPath, "key", "", "public key (PEM) for key-signed bundles")
	f.StringVar(&r.trustedRoot, "trusted-root", "", "trusted_root.json")
	_ = cmd.MarkFlagRequired("bundle")
	return cmd
}
