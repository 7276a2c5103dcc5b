package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net/http"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
)

// signetCases are bundles signet's own signer made against a running signet
// server (CA, Rekor v2 and v1 logs, TSA), for the differential test: what
// signet signs, signet and sigstore-go must judge alike, mutated or not.
func signetCases(t testing.TB) []*diffCase {
	t.Helper()
	inst := servertest.Start(t)
	fetch := func(path string) []byte {
		resp, err := http.Get(inst.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		return b
	}
	rootJSON := fetch("/trusted_root.json")
	sc, err := trustroot.LoadSigningConfig(fetch("/signing_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := sign.SelectServices(sc, time.Now(), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := sign.SelectServices(sc, time.Now(), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := inst.Server.DevIssuer().Mint(oidc.TokenRequest{GitHubWorkflow: "octo/app@refs/tags/v1.0.0"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	artifact := []byte("signet-signed artifact")
	digest := sha256.Sum256(artifact)
	statement := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"00"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{}}}`)
	id := Policy{Identities: []Identity{{SANRegexp: "^https://github.com/octo/app/", Issuer: inst.URL + "/oidc"}}}
	keyPolicy := Policy{Key: &TrustedKey{PublicKey: key.Public()}}
	withTSA := Options{TlogThreshold: 1, SignedTimestampThreshold: 1}
	withSET := Options{TlogThreshold: 1, IntegratedTimeThreshold: 1}
	digestArt := Artifact{Digest: digest[:], DigestAlgorithm: crypto.SHA256}
	skip := Artifact{UnsafeSkip: true}

	ctx := context.Background()
	var cases []*diffCase
	for _, c := range []struct {
		name     string
		dsse     bool
		opts     sign.Options
		vopts    Options
		artifact Artifact
		policy   Policy
	}{
		{"signet keyless blob, rekor v2", false, sign.Options{CA: v2.CA, IDToken: tok, Logs: v2.Logs, TSAs: v2.TSAs}, withTSA, digestArt, id},
		{"signet keyless dsse, rekor v2", true, sign.Options{CA: v2.CA, IDToken: tok, Logs: v2.Logs, TSAs: v2.TSAs}, withTSA, skip, id},
		{"signet keyless blob, rekor v1", false, sign.Options{CA: v2.CA, IDToken: tok, Logs: v1.Logs}, withSET, digestArt, id},
		{"signet key dsse, rekor v1", true, sign.Options{Key: key, Logs: v1.Logs}, withSET, skip, keyPolicy},
		{"signet key blob, rekor v2", false, sign.Options{Key: key, Logs: v2.Logs, TSAs: v2.TSAs}, withTSA, digestArt, keyPolicy},
	} {
		var (
			data []byte
			err  error
		)
		if c.dsse {
			pb, serr := sign.DSSE(ctx, sign.InTotoPayloadType, statement, c.opts)
			if serr != nil {
				t.Fatalf("%s: %v", c.name, serr)
			}
			data, err = protojson.Marshal(pb)
		} else {
			pb, serr := sign.Blob(ctx, bytes.NewReader(artifact), c.opts)
			if serr != nil {
				t.Fatalf("%s: %v", c.name, serr)
			}
			data, err = protojson.Marshal(pb)
		}
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, &diffCase{name: c.name, bundle: data, rootJSON: rootJSON, opts: c.vopts, artifact: c.artifact, policy: c.policy})
	}
	return cases
}
