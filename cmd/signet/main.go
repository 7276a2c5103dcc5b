// Command signet is a Sigstore-compatible supply-chain trust stack in one
// binary. See "signet --help".
package main

import (
	"fmt"
	"os"

	"github.com/signetproject/signet/internal/cli"
)

func main() {
	if err := cli.NewRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "signet:", err)
		os.Exit(1)
	}
}
