package server_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	sgtuf "github.com/sigstore/sigstore-go/pkg/tuf"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/server"
	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/trustroot"
	signettuf "github.com/signetproject/signet/tuf"
	"github.com/signetproject/signet/verify"
)

// TestSigstoreGoSignsAgainstSignet has sigstore-go's signer use every
// service of one signet server — CA, Rekor v2 log and TSA, found through the
// served signing config — then verifies the bundle with sigstore-go and with
// signet's own verifier against the served trusted root, which sigstore-go
// fetched through signet's TUF repository.
func TestSigstoreGoSignsAgainstSignet(t *testing.T) {
	// sigstore-go takes signet's trust material through signet's TUF
	// repository, bootstrapped from the offline 1.root.json, as a client
	// of the public-good instance does from the embedded root.
	tufDir := t.TempDir()
	inst := servertest.Start(t, func(o *server.Options) { o.TUFRepo = signettuf.RepoDir(tufDir) })
	online, err := keys.LoadPublicKey(get(t, inst.URL+"/tuf/online-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	trJSON := get(t, inst.URL+"/trusted_root.json")
	if err := signettuf.Init(tufDir, signettuf.InitOptions{Online: online, Targets: map[string][]byte{
		signettuf.TargetTrustedRoot: trJSON, signettuf.TargetSigningConfig: get(t, inst.URL+"/signing_config.json"),
	}}); err != nil {
		t.Fatal(err)
	}
	tufOpts := sgtuf.DefaultOptions()
	if tufOpts.Root, err = os.ReadFile(filepath.Join(signettuf.RepoDir(tufDir), "1.root.json")); err != nil {
		t.Fatal(err)
	}
	tufOpts.RepositoryBaseURL = inst.URL + "/tuf"
	tufOpts.CachePath = t.TempDir()
	tufOpts.Context = t.Context() // stops its refresh goroutine with the test
	sgRoot, err := root.NewLiveTrustedRoot(tufOpts)
	if err != nil {
		t.Fatalf("sigstore-go's TUF client: trusted root: %v", err)
	}
	sc, err := root.FetchSigningConfigWithOptions(tufOpts)
	if err != nil {
		t.Fatalf("sigstore-go's TUF client: signing config: %v", err)
	}
	caURL, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), []uint32{1}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rekorURLs, err := root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), []uint32{2}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tsaURLs, err := root.SelectServices(sc.TimestampAuthorityURLs(), sc.TimestampAuthorityURLsConfig(), []uint32{1}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dev := inst.Server.DevIssuer()
	artifact := []byte("hello, transparency\n")

	type testCase struct {
		name         string
		content      sign.Content
		token        oidc.TokenRequest
		policy       verify.Identity
		rekorVersion uint32
	}
	cases := []testCase{
		{"message signature", &sign.PlainData{Data: artifact}, oidc.TokenRequest{Email: "alice@example.com"},
			verify.Identity{SAN: "alice@example.com", Issuer: dev.URL()}, 0},
		{"DSSE in-toto", &sign.DSSEData{Data: []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + sha256hex(artifact) + `"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`), PayloadType: "application/vnd.in-toto+json"},
			oidc.TokenRequest{GitHubWorkflow: "octo/app@main"},
			verify.Identity{SANRegexp: `^https://github\.com/octo/app/`, Issuer: dev.URL(), GitHubWorkflowRepository: "octo/app"}, 0},
	}
	// The same through the Rekor v1 API, which older clients use.
	for _, c := range cases[:2] {
		c.name += " (Rekor v1)"
		c.rekorVersion = 1
		cases = append(cases, c)
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := dev.Mint(tt.token, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			kp, err := sign.NewEphemeralKeypair(nil)
			if err != nil {
				t.Fatal(err)
			}
			opts := sign.BundleOptions{
				CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: caURL.URL}),
				CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: tok},
				Context:                    context.Background(),
			}
			for _, u := range tsaURLs {
				opts.TimestampAuthorities = append(opts.TimestampAuthorities, sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: u.URL}))
			}
			for _, u := range rekorURLs {
				version := u.MajorAPIVersion
				if tt.rekorVersion != 0 {
					version = tt.rekorVersion
				}
				opts.TransparencyLogs = append(opts.TransparencyLogs, sign.NewRekor(&sign.RekorOptions{BaseURL: u.URL, Version: version}))
			}
			pb, err := sign.Bundle(tt.content, kp, opts)
			if err != nil {
				t.Fatalf("sigstore-go sign.Bundle against signet: %v", err)
			}
			bundleJSON, err := protojson.Marshal(pb)
			if err != nil {
				t.Fatal(err)
			}

			// sigstore-go verifies.
			sgv, err := sgverify.NewVerifier(sgRoot, sgverify.WithTransparencyLog(1), sgverify.WithSignedTimestamps(1), sgverify.WithSignedCertificateTimestamps(1))
			if err != nil {
				t.Fatal(err)
			}
			sanMatcher, err := sgverify.NewSANMatcher(tt.policy.SAN, tt.policy.SANRegexp)
			if err != nil {
				t.Fatal(err)
			}
			issuerMatcher, err := sgverify.NewIssuerMatcher(tt.policy.Issuer, "")
			if err != nil {
				t.Fatal(err)
			}
			certID, err := sgverify.NewCertificateIdentity(sanMatcher, issuerMatcher, certificateExtensions(tt.policy))
			if err != nil {
				t.Fatal(err)
			}
			artifactOpt := sgverify.WithArtifact(bytes.NewReader(artifact))
			if _, ok := tt.content.(*sign.DSSEData); ok {
				artifactOpt = sgverify.WithoutArtifactUnsafe()
			}
			sgBundle := mustSigstoreGoBundle(t, bundleJSON)
			if _, err := sgv.Verify(sgBundle, sgverify.NewPolicy(artifactOpt, sgverify.WithCertificateIdentity(certID))); err != nil {
				t.Fatalf("sigstore-go rejects the bundle signet's services produced: %v", err)
			}

			// signet verifies.
			tr, err := trustroot.LoadTrustedRoot(trJSON)
			if err != nil {
				t.Fatal(err)
			}
			v, err := verify.New(tr, verify.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			b, err := bundle.Decode(bundleJSON)
			if err != nil {
				t.Fatal(err)
			}
			art := verify.Artifact{Reader: bytes.NewReader(artifact)}
			if _, ok := tt.content.(*sign.DSSEData); ok {
				art = verify.Artifact{UnsafeSkip: true}
			}
			res, err := v.Verify(b, art, verify.Policy{Identities: []verify.Identity{tt.policy}})
			if err != nil {
				t.Fatalf("signet rejects the bundle: %v", err)
			}
			if len(res.TlogEntries) != 1 || res.TlogEntries[0].RekorV2 != (tt.rekorVersion != 1) {
				t.Errorf("tlog entries = %+v, want one entry, Rekor v2 unless the case says v1", res.TlogEntries)
			}
			// A wrong identity must fail in both.
			wrong := tt.policy
			wrong.Issuer = "https://accounts.example.com"
			if _, err := v.Verify(b, art, verify.Policy{Identities: []verify.Identity{wrong}}); err == nil {
				t.Error("signet accepted the bundle for the wrong issuer")
			}
		})
	}

	// The log is readable over tlog-tiles.
	cp := get(t, inst.URL+"/checkpoint")
	if !strings.HasPrefix(string(cp), "127.0.0.1\n2\n") {
		t.Errorf("checkpoint = %q, want origin 127.0.0.1 and size 2", cp)
	}
	if resp, err := http.Get(inst.URL + "/tile/0/000.p/2"); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET /tile/0/000.p/2: %v %v", resp.Status, err)
	}
	if resp, err := http.Get(inst.URL + "/tile/entries/000.p/2"); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET /tile/entries/000.p/2: %v %v", resp.Status, err)
	}
	if resp, err := http.Get(inst.URL + "/tile/0/999"); err != nil || resp.StatusCode != 404 {
		t.Errorf("GET missing tile: %v %v, want 404", resp.Status, err)
	}
}
