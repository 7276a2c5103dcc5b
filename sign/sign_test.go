package sign_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
	"github.com/signetproject/signet/verify"
)

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return b
}

// TestSignAgainstSignetServer signs blobs and statements, keyless and with
// a key, using only the services a signet server's signing config lists,
// and checks that sigstore-go v1.3.0 and signet's verifier accept them.
func TestSignAgainstSignetServer(t *testing.T) {
	inst := servertest.Start(t)
	sc, err := trustroot.LoadSigningConfig(get(t, inst.URL+"/signing_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := sign.ServicesFrom(sc, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if svc.CA == nil || len(svc.Logs) != 1 || len(svc.TSAs) != 1 || svc.OIDCURL != inst.URL+"/oidc" {
		t.Fatalf("services = %+v, want a CA, one log, one TSA and the dev issuer", svc)
	}
	trJSON := get(t, inst.URL+"/trusted_root.json")
	sgRoot, err := root.NewTrustedRootFromJSON(trJSON)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trustroot.LoadTrustedRoot(trJSON)
	if err != nil {
		t.Fatal(err)
	}
	signet, err := verify.New(tr, verify.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := inst.Server.DevIssuer().Mint(oidc.TokenRequest{Email: "alice@example.com"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	artifact := []byte("release.tar.gz contents")
	statement := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"00"}}],"predicateType":"https://example.com/p","predicate":{}}`)
	v1, err := sign.SelectServices(sc, time.Now(), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	keyless := sign.Options{CA: svc.CA, IDToken: tok, Logs: svc.Logs, TSAs: svc.TSAs}
	keyed := sign.Options{Key: key, Logs: svc.Logs, TSAs: svc.TSAs}
	keylessV1 := sign.Options{CA: svc.CA, IDToken: tok, Logs: v1.Logs, TSAs: svc.TSAs}
	keyedV1 := sign.Options{Key: key, Logs: v1.Logs}
	identity := verify.Policy{Identities: []verify.Identity{{SAN: "alice@example.com", Issuer: inst.URL + "/oidc"}}}
	keyPolicy := verify.Policy{Key: &verify.TrustedKey{PublicKey: key.Public()}}

	for _, tt := range []struct {
		name   string
		dsse   bool
		opts   sign.Options
		policy verify.Policy
	}{
		{"keyless blob", false, keyless, identity},
		{"keyless in-toto", true, keyless, identity},
		{"key blob", false, keyed, keyPolicy},
		{"key in-toto", true, keyed, keyPolicy},
		{"keyless blob, Rekor v1", false, keylessV1, identity},
		{"keyless in-toto, Rekor v1", true, keylessV1, identity},
		{"key blob, Rekor v1, no TSA", false, keyedV1, keyPolicy},
		{"key in-toto, Rekor v1, no TSA", true, keyedV1, keyPolicy},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			var pb, err = sign.Blob(ctx, bytes.NewReader(artifact), tt.opts)
			art := verify.Artifact{Reader: bytes.NewReader(artifact)}
			sgArt := sgverify.WithArtifact(bytes.NewReader(artifact))
			if tt.dsse {
				pb, err = sign.DSSE(ctx, sign.InTotoPayloadType, statement, tt.opts)
				art = verify.Artifact{UnsafeSkip: true}
				sgArt = sgverify.WithoutArtifactUnsafe()
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := protojson.Marshal(pb)
			if err != nil {
				t.Fatal(err)
			}
			b, err := bundle.Decode(data)
			if err != nil {
				t.Fatalf("signet cannot decode its own bundle: %v", err)
			}
			if _, err := signet.Verify(b, art, tt.policy); err != nil {
				t.Fatalf("signet verify: %v", err)
			}
			// sigstore-go, the reference.
			var sgb sgbundle.Bundle
			if err := sgb.UnmarshalJSON(data); err != nil {
				t.Fatal(err)
			}
			// Rekor v1 entries carry a signed integrated time; Rekor v2
			// entries need the TSA's timestamp.
			timeOpt := sgverify.WithSignedTimestamps(1)
			if len(tt.opts.TSAs) == 0 {
				timeOpt = sgverify.WithIntegratedTimestamps(1)
			}
			sgv, err := sgverify.NewVerifier(sgRoot, sgverify.WithTransparencyLog(1), timeOpt)
			if err != nil {
				t.Fatal(err)
			}
			var pol sgverify.PolicyBuilder
			if tt.policy.Key != nil {
				pol = sgverify.NewPolicy(sgArt, sgverify.WithKey())
				sgv, err = sgverify.NewVerifier(&keyMaterial{TrustedRoot: sgRoot, key: tt.policy.Key}, sgverify.WithTransparencyLog(1), timeOpt)
				if err != nil {
					t.Fatal(err)
				}
			} else {
				san, _ := sgverify.NewSANMatcher("alice@example.com", "")
				iss, _ := sgverify.NewIssuerMatcher(inst.URL+"/oidc", "")
				id, _ := sgverify.NewCertificateIdentity(san, iss, sgverifyExtensions())
				pol = sgverify.NewPolicy(sgArt, sgverify.WithCertificateIdentity(id))
			}
			if _, err := sgv.Verify(&sgb, pol); err != nil {
				t.Fatalf("sigstore-go rejects signet's bundle: %v", err)
			}
			// Tampering: another artifact.
			if !tt.dsse {
				if _, err := signet.Verify(b, verify.Artifact{Reader: strings.NewReader("other")}, tt.policy); err == nil {
					t.Error("signet accepted the bundle for another artifact")
				}
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &sign.Fulcio{BaseURL: "http://127.0.0.1:1"}
	log := &sign.RekorV2{BaseURL: "http://127.0.0.1:1"}
	for _, tt := range []struct {
		name string
		opts sign.Options
		want string
	}{
		{"nothing", sign.Options{}, "need a key or a certificate authority"},
		{"both", sign.Options{Key: key, CA: ca, Logs: []sign.TransparencyLog{log}}, "not both"},
		{"no token", sign.Options{CA: ca, Logs: []sign.TransparencyLog{log}}, "identity token"},
		{"no log", sign.Options{Key: key}, "no transparency log"},
	} {
		err := tt.opts.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want %q", tt.name, err, tt.want)
		}
	}
	if err := (sign.Options{Key: key, UnsafeNoTlog: true}).Validate(); err != nil {
		t.Errorf("key without log but UnsafeNoTlog: %v", err)
	}
}
