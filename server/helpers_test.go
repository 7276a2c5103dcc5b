package server_test

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"testing"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/signetproject/signet/verify"
)

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func mustSigstoreGoBundle(t *testing.T, data []byte) *sgbundle.Bundle {
	t.Helper()
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		t.Fatalf("sigstore-go cannot parse the bundle: %v", err)
	}
	return &b
}

func certificateExtensions(id verify.Identity) certificate.Extensions {
	return certificate.Extensions{GithubWorkflowRepository: id.GitHubWorkflowRepository}
}

func mustPKIX(key *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		panic(err)
	}
	return der
}
