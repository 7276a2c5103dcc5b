// Command signet is a Sigstore-compatible supply-chain trust stack in one
// binary. See "signet --help".
package main

import (
	"crypto/x509"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/x509roots/fallback/bundle"

	"github.com/signetproject/signet/internal/cli"
)

func main() {
	root := cli.NewRoot()
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) {
		if !cli.Offline(cmd) {
			x509.SetFallbackRoots(fallbackRoots())
		}
	}
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "signet:", err)
		os.Exit(1)
	}
}

// fallbackRoots are root certificates for machines (and signet's own
// container image) that have none; the system's roots win wherever they
// exist. This is golang.org/x/crypto/x509roots/fallback's pool, built only
// for commands that may connect to a server, since parsing it takes
// milliseconds.
func fallbackRoots() *x509.CertPool {
	pool := x509.NewCertPool()
	for c := range bundle.Roots() {
		cert, err := x509.ParseCertificate(c.Certificate)
		if err != nil {
			panic(fmt.Sprintf("x509roots bundle: %v", err)) // the bundle is part of the binary
		}
		if c.Constraint == nil {
			pool.AddCert(cert)
		} else {
			pool.AddCertWithConstraint(cert, c.Constraint)
		}
	}
	return pool
}
