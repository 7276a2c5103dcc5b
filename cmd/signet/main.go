// Command signet is a Sigstore-compatible supply-chain trust stack in one
// binary. See "signet --help".
package main

import (
	"fmt"
	"os"

	// Root certificates for machines (and signet's own container image)
	// that have none; the system's roots win wherever they exist.
	_ "golang.org/x/crypto/x509roots/fallback"

	"github.com/signetproject/signet/internal/cli"
)

func main() {
	if err := cli.NewRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "signet:", err)
		os.Exit(1)
	}
}
