// Package cli defines signet's command line: flag parsing and output only;
// every command calls into the domain or server packages.
package cli

import (
	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=…".
var Version = "devel"

// NewRoot returns the signet root command with all subcommands.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "signet",
		Short: "Sigstore-compatible signing, transparency and admission in one binary",
		Long: `signet signs and verifies software artifacts and container images the way Sigstore
does, and runs the services that make it work on one port: a keyless certificate
authority for OIDC identities, a transparency log (Rekor v2 and v1 APIs), a timestamp
authority, trust root and signing config. It enforces image policy in Kubernetes
with an admission webhook that reads policy-controller's ClusterImagePolicies.

Start a local server with a built-in (insecure) token issuer:
  signet server --dev`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.AddCommand(newServerCmd(), newTUFCmd(), newDevCmd(), newTrustRootCmd(), newSignBlobCmd(), newVerifyBlobCmd(), newConformanceCmd(), newGenerateKeyPairCmd(), newLogCmd(),
		newSignCmd(), newAttestCmd(), newVerifyCmd(), newVerifyAttestationCmd(), newTreeCmd(), newPolicyCmd(), newAdmissionCmd(nil, nil), newReportCmd(), newVersionCmd())
	return root
}

// offline is the annotation of commands that never connect to a server.
const offline = "signet.dev/offline"

// Offline reports whether cmd never connects to a server, so needs no
// root certificates for TLS.
func Offline(cmd *cobra.Command) bool {
	_, ok := cmd.Annotations[offline]
	return ok
}
