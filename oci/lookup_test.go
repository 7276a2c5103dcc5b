package oci_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signetproject/signet/internal/registrytest"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/sign"
)

// TestLookup lists a legacy signature in a registry that wants basic
// auth, with the credentials of the Lookup given to ListKind and under a
// tag prefix written the way cosign's WithPrefix writes it.
func TestLookup(t *testing.T) {
	ctx := context.Background()
	open, authed := registrytest.BasicAuth(t, "alice", "secret")
	_, appRef := registrytest.PushRandom(t, open, "app")
	app, err := name.NewDigest(appRef)
	if err != nil {
		t.Fatal(err)
	}
	h, err := v1.NewHash(app.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	setup := oci.New(oci.Options{Keychain: authn.NewMultiKeychain()})
	// A plain signature of the app, and one only under the tag
	// "v2-sha256-<hex>.sig" of the repository "prefixed": signed in
	// "staging", then copied there.
	if _, err := setup.SignImage(ctx, app, oci.LayoutLegacy, nil, sign.Options{Key: key, UnsafeNoTlog: true}); err != nil {
		t.Fatal(err)
	}
	staging, _ := name.NewRepository(open + "/staging")
	if _, err := setup.SignImage(ctx, staging.Digest(h.String()), oci.LayoutLegacy, nil, sign.Options{Key: key, UnsafeNoTlog: true}); err != nil {
		t.Fatal(err)
	}
	sig, err := remote.Image(staging.Tag("sha256-" + h.Hex + ".sig"))
	if err != nil {
		t.Fatal(err)
	}
	prefixed, _ := name.NewRepository(open + "/prefixed")
	if err := remote.Write(prefixed.Tag("v2-sha256-"+h.Hex+".sig"), sig); err != nil {
		t.Fatal(err)
	}

	alice := registrytest.HostKeychain{Host: authed, User: "alice", Password: "secret"}
	mallory := registrytest.HostKeychain{Host: authed, User: "alice", Password: "guess"}
	subject := func(repo string) name.Digest {
		r, err := name.NewRepository(authed + "/" + repo)
		if err != nil {
			t.Fatal(err)
		}
		return r.Digest(h.String())
	}
	for _, tt := range []struct {
		name     string
		client   authn.Keychain // the Client's own keychain
		lookup   oci.Lookup
		repo     string
		wantSigs int
		wantErr  error  // the error wraps it
		errText  string // the error contains it
	}{
		{name: "no credentials", repo: "app", wantErr: oci.ErrUnauthorized},
		{name: "lookup credentials", lookup: oci.Lookup{Keychain: alice}, repo: "app", wantSigs: 1},
		{name: "wrong lookup credentials", lookup: oci.Lookup{Keychain: mallory}, repo: "app", wantErr: oci.ErrUnauthorized},
		{name: "client credentials when the lookup has none", client: alice, lookup: oci.Lookup{Keychain: registrytest.HostKeychain{Host: "elsewhere.example"}}, repo: "app", wantSigs: 1},
		{name: "lookup credentials before the client's", client: mallory, lookup: oci.Lookup{Keychain: alice}, repo: "app", wantSigs: 1},
		{name: "tag prefix", lookup: oci.Lookup{Keychain: alice, TagPrefix: "v2-"}, repo: "prefixed", wantSigs: 1},
		{name: "no tag prefix", lookup: oci.Lookup{Keychain: alice}, repo: "prefixed", wantSigs: 0},
		{name: "tag prefix, unprefixed tag", lookup: oci.Lookup{Keychain: alice, TagPrefix: "v2-"}, repo: "app", wantSigs: 0},
		{name: "invalid tag prefix", lookup: oci.Lookup{Keychain: alice, TagPrefix: "a/b"}, repo: "prefixed", errText: `tag prefix "a/b"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kc := tt.client
			if kc == nil {
				kc = authn.NewMultiKeychain()
			}
			c := oci.New(oci.Options{Keychain: kc})
			got, err := c.ListKind(ctx, subject(tt.repo), oci.KindSignature, tt.lookup)
			switch {
			case tt.wantErr != nil || tt.errText != "":
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("error %v, want %v %q", err, tt.wantErr, tt.errText)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if n := len(got.Filter(oci.KindSignature)); n != tt.wantSigs {
				t.Fatalf("%d signatures, want %d", n, tt.wantSigs)
			}
		})
	}
}

func TestValidateTagPrefix(t *testing.T) {
	for prefix, ok := range map[string]bool{
		"":                      true,
		"v2-":                   true,
		"team_a.":               true,
		"a/b":                   false,
		"a:b":                   false,
		strings.Repeat("x", 52): true, // 52 + len("sha256-") + 64 + len(".sbom") = 128
		strings.Repeat("x", 53): false,
		"sp ace":                false,
	} {
		if err := oci.ValidateTagPrefix(prefix); (err == nil) != ok {
			t.Errorf("ValidateTagPrefix(%q) = %v, want ok %v", prefix, err, ok)
		}
	}
}
