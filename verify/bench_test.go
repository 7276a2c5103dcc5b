package verify

import (
	"testing"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	sgroot "github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/trustroot"
)

// BenchmarkVerify decodes and verifies the same keyless bundle (DSSE,
// Rekor v1 with promise and proof, SCT, identity policy) with signet and
// with sigstore-go v1.3.0. Both parse the trusted root once, outside the
// loop; signet's Verifier also memoizes certificate checks (chains and
// SCTs).
func BenchmarkVerify(b *testing.B) {
	data := readTestdata(b, "sigstore.js@2.0.0-provenance.sigstore.json")
	rootJSON := readTestdata(b, "trusted-root-public-good.json")

	b.Run("signet", func(b *testing.B) {
		root, err := trustroot.LoadTrustedRoot(rootJSON)
		if err != nil {
			b.Fatal(err)
		}
		v, err := New(root, DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		policy := Policy{Identities: []Identity{{SAN: sigstoreJSWorkflow, Issuer: githubIssuer}}}
		b.ReportAllocs()
		for b.Loop() {
			bd, err := bundle.Decode(data)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := v.Verify(bd, Artifact{UnsafeSkip: true}, policy); err != nil {
				b.Fatal(err)
			}
		}
	})

	// signet-cold builds a new Verifier per bundle, so nothing is reused
	// between verifications but the parsed trusted root.
	b.Run("signet-cold", func(b *testing.B) {
		root, err := trustroot.LoadTrustedRoot(rootJSON)
		if err != nil {
			b.Fatal(err)
		}
		policy := Policy{Identities: []Identity{{SAN: sigstoreJSWorkflow, Issuer: githubIssuer}}}
		b.ReportAllocs()
		for b.Loop() {
			v, err := New(root, DefaultOptions())
			if err != nil {
				b.Fatal(err)
			}
			bd, err := bundle.Decode(data)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := v.Verify(bd, Artifact{UnsafeSkip: true}, policy); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("sigstore-go", func(b *testing.B) {
		tr, err := sgroot.NewTrustedRootFromJSON(rootJSON)
		if err != nil {
			b.Fatal(err)
		}
		v, err := sgverify.NewVerifier(tr, sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1),
			sgverify.WithSignedCertificateTimestamps(1))
		if err != nil {
			b.Fatal(err)
		}
		id, err := sgverify.NewShortCertificateIdentity(githubIssuer, "", sigstoreJSWorkflow, "")
		if err != nil {
			b.Fatal(err)
		}
		policy := sgverify.NewPolicy(sgverify.WithoutArtifactUnsafe(), sgverify.WithCertificateIdentity(id))
		b.ReportAllocs()
		for b.Loop() {
			var bd sgbundle.Bundle
			if err := bd.UnmarshalJSON(data); err != nil {
				b.Fatal(err)
			}
			if _, err := v.Verify(&bd, policy); err != nil {
				b.Fatal(err)
			}
		}
	})
}
