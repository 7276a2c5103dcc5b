package policy_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signetproject/signet/internal/registrytest"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
)

// TestRegistryCheckerPrivateSources checks key signatures kept in a
// private signature repository (source.oci) with the admitted object's
// credentials, with source.signaturePullSecrets, and under a
// source.tagPrefix.
func TestRegistryCheckerPrivateSources(t *testing.T) {
	ctx := context.Background()
	open, authed := registrytest.BasicAuth(t, "sigreader", "secret")
	_, appRef := registrytest.PushRandom(t, open, "team/app")
	app, err := name.NewDigest(appRef)
	if err != nil {
		t.Fatal(err)
	}
	h, err := v1.NewHash(app.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	image := authed + "/team/app@" + h.String()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keyAuth := policy.KeyRef{Data: string(publicPEM(t, key.Public()))}
	// The signature, cosign v2 style, in the repository "signatures";
	// the same signature tagged "release-sha256-<hex>.sig" in "prefixed",
	// as cosign sign with a tag prefix writes it.
	setup := oci.New(oci.Options{Keychain: authn.NewMultiKeychain()})
	sigs, _ := name.NewRepository(open + "/signatures")
	if _, err := setup.SignImage(ctx, sigs.Digest(h.String()), oci.LayoutLegacy, nil, sign.Options{Key: key, UnsafeNoTlog: true}); err != nil {
		t.Fatal(err)
	}
	sig, err := remote.Image(sigs.Tag("sha256-" + h.Hex + ".sig"))
	if err != nil {
		t.Fatal(err)
	}
	prefixed, _ := name.NewRepository(open + "/prefixed")
	if err := remote.Write(prefixed.Tag("release-sha256-"+h.Hex+".sig"), sig); err != nil {
		t.Fatal(err)
	}

	reader := registrytest.HostKeychain{Host: authed, User: "sigreader", Password: "secret"}
	wrong := registrytest.HostKeychain{Host: authed, User: "sigreader", Password: "guess"}
	// pullSecrets has the Secret "sig-creds" with reader's credentials
	// and "stale" with wrong ones, and records what it was asked for.
	var asked [][]string
	pullSecrets := func(_ context.Context, names []string) (authn.Keychain, error) {
		asked = append(asked, slices.Clone(names))
		var kcs []authn.Keychain
		for _, n := range names {
			switch n {
			case "sig-creds":
				kcs = append(kcs, reader)
			case "stale":
				kcs = append(kcs, wrong)
			case "broken":
				return nil, errors.New("pull secret ns/broken: has neither .dockerconfigjson nor .dockercfg")
			}
		}
		return authn.NewMultiKeychain(kcs...), nil
	}
	source := func(repo string, secrets ...string) policy.Source {
		s := policy.Source{OCI: authed + "/" + repo}
		for _, n := range secrets {
			s.SignaturePullSecrets = append(s.SignaturePullSecrets, policy.LocalObjectReference{Name: n})
		}
		return s
	}
	release := "release-"
	withPrefix := func(s policy.Source, p *string) policy.Source { s.TagPrefix = p; return s }

	for _, tt := range []struct {
		name    string
		creds   policy.RegistryCredentials // zero: none
		sources []policy.Source
		asked   [][]string // names pullSecrets was asked for
		wantErr string     // "" = passes
	}{
		{name: "no credentials", sources: []policy.Source{source("signatures")}, wantErr: "registry authentication failed"},
		{name: "object's credentials", creds: policy.RegistryCredentials{Keychain: reader}, sources: []policy.Source{source("signatures")}},
		{name: "object's wrong credentials", creds: policy.RegistryCredentials{Keychain: wrong}, sources: []policy.Source{source("signatures")},
			wantErr: "registry authentication failed"},
		{name: "signaturePullSecrets", creds: policy.RegistryCredentials{PullSecrets: pullSecrets},
			sources: []policy.Source{source("signatures", "other", "sig-creds")}, asked: [][]string{{"other", "sig-creds"}}},
		{name: "signaturePullSecrets replace the object's credentials", creds: policy.RegistryCredentials{Keychain: reader, PullSecrets: pullSecrets},
			sources: []policy.Source{source("signatures", "stale")}, asked: [][]string{{"stale"}}, wantErr: "registry authentication failed"},
		{name: "the last source's signaturePullSecrets win", creds: policy.RegistryCredentials{PullSecrets: pullSecrets},
			sources: []policy.Source{source("elsewhere", "stale"), source("signatures", "sig-creds")}, asked: [][]string{{"sig-creds"}}},
		{name: "signaturePullSecrets that do not parse", creds: policy.RegistryCredentials{Keychain: reader, PullSecrets: pullSecrets},
			sources: []policy.Source{source("signatures", "broken")}, asked: [][]string{{"broken"}},
			wantErr: "signaturePullSecrets broken: pull secret ns/broken: has neither"},
		{name: "signaturePullSecrets without a cluster", creds: policy.RegistryCredentials{Keychain: reader},
			sources: []policy.Source{source("signatures", "sig-creds")}, wantErr: "signaturePullSecrets sig-creds: Secrets are read only by the admission webhook"},
		{name: "tagPrefix", creds: policy.RegistryCredentials{Keychain: reader}, sources: []policy.Source{withPrefix(source("prefixed"), &release)}},
		{name: "tagPrefix with signaturePullSecrets", creds: policy.RegistryCredentials{PullSecrets: pullSecrets},
			sources: []policy.Source{withPrefix(source("prefixed", "sig-creds"), &release)}, asked: [][]string{{"sig-creds"}}},
		{name: "no tagPrefix", creds: policy.RegistryCredentials{Keychain: reader}, sources: []policy.Source{source("prefixed")}, wantErr: "no signatures found"},
		{name: "tagPrefix of another source", creds: policy.RegistryCredentials{Keychain: reader},
			sources: []policy.Source{withPrefix(source("elsewhere"), &release), source("prefixed")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			asked = nil
			c := policy.NewRegistryChecker(setup, &trustroot.TrustedRoot{}, policy.CheckerOptions{})
			got, err := c.VerifySignatures(ctx, image, &policy.Authority{Name: "key", Key: &keyAuth, Sources: tt.sources}, tt.creds)
			if !slices.EqualFunc(asked, tt.asked, slices.Equal) {
				t.Errorf("pull secrets read %q, want %q", asked, tt.asked)
			}
			if tt.wantErr == "" {
				if err != nil || len(got) != 1 {
					t.Fatalf("signatures %v, error %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
