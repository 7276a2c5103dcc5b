package main

import (
	"crypto/x509"
	"testing"

	"github.com/signetproject/signet/internal/cli"
)

// TestFallbackRoots checks that the fallback pool holds the bundle's roots
// and that only commands that never connect go without it.
func TestFallbackRoots(t *testing.T) {
	if fallbackRoots().Equal(x509.NewCertPool()) {
		t.Error("fallback root pool is empty")
	}
	root := cli.NewRoot()
	for _, args := range [][]string{{"version"}, {"verify-blob"}, {"server"}, {"admission", "serve"}} {
		cmd, _, err := root.Find(args)
		if err != nil {
			t.Fatalf("signet %v: %v", args, err)
		}
		if got, want := cli.Offline(cmd), args[0] == "version"; got != want {
			t.Errorf("Offline(signet %v) = %v, want %v", args, got, want)
		}
	}
}
