package policy_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"log"
	"math/big"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
)

// The tests in this file give each authority check of RegistryChecker
// and each TrustRoot conversion a case that fails when the check is
// deleted (make mutate).

// secrets is a SecretGetter over fixed Secrets.
type secrets map[string]map[string][]byte

func (s secrets) Secret(_ context.Context, namespace, name string) (map[string][]byte, error) {
	d, ok := s[namespace+"/"+name]
	if !ok {
		return nil, errors.New("secret not found")
	}
	return d, nil
}

// keyRegistry is an in-process registry with images signed and attested
// by one key, without log entries or timestamps.
type keyRegistry struct {
	host   string
	client *oci.Client
	key    *ecdsa.PrivateKey
}

func newKeyRegistry(t *testing.T) *keyRegistry {
	t.Helper()
	reg := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return &keyRegistry{host: strings.TrimPrefix(reg.URL, "http://"), client: oci.New(oci.Options{}), key: key}
}

// push uploads a random image to repo and returns its digest.
func (r *keyRegistry) push(t *testing.T, repo string) name.Digest {
	t.Helper()
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(r.host + "/" + repo + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	return tag.Context().Digest(h.String())
}

func (r *keyRegistry) opts() sign.Options { return sign.Options{Key: r.key, UnsafeNoTlog: true} }

func TestRegistryCheckerAuthorityGuards(t *testing.T) {
	ctx := context.Background()
	r := newKeyRegistry(t)
	signed, attested, garbage := r.push(t, "signed"), r.push(t, "attested"), r.push(t, "garbage")
	if _, err := r.client.SignImage(ctx, signed, oci.LayoutReferrers, nil, r.opts()); err != nil {
		t.Fatal(err)
	}
	st, err := oci.NewStatement(attested, "custom", []byte(`{"ok":true}`), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.client.AttestImage(ctx, attested, oci.LayoutReferrers, st, r.opts()); err != nil {
		t.Fatal(err)
	}
	// A .sig tag whose layer is not a signature.
	sigTag, err := name.NewTag(garbage.Context().String() + ":" + strings.Replace(garbage.DigestStr(), ":", "-", 1) + ".sig")
	if err != nil {
		t.Fatal(err)
	}
	bad, err := random.Image(16, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(sigTag, bad); err != nil {
		t.Fatal(err)
	}

	keyPEM := string(publicPEM(t, r.key.Public()))
	key := &policy.KeyRef{Data: keyPEM}
	secretKey := func(ns, n string) *policy.KeyRef {
		return &policy.KeyRef{SecretRef: &policy.SecretReference{Namespace: ns, Name: n}}
	}
	store := secrets{
		"ns/one": {"cosign.pub": []byte(keyPEM)},
		"ns/two": {"a.pub": []byte(keyPEM), "b.pub": []byte(keyPEM)},
	}
	for _, tt := range []struct {
		name      string
		secrets   policy.SecretGetter
		authority *policy.Authority
		image     string
		wantErr   string
	}{
		{name: "key", authority: &policy.Authority{Key: key}, image: signed.String()},
		{name: "image by tag", authority: &policy.Authority{Key: key}, image: signed.Context().Tag("v1").String(), wantErr: "must be a digest reference"},
		{name: "rfc3161timestamp needs a signed timestamp", authority: &policy.Authority{Key: key, RFC3161Timestamp: &policy.RFC3161Timestamp{}},
			image: signed.String(), wantErr: "timestamp: 0 verified signed timestamps, need 1"},
		{name: "key from a secret", secrets: store, authority: &policy.Authority{Key: secretKey("ns", "one")}, image: signed.String()},
		{name: "key secret without a secret source", authority: &policy.Authority{Key: secretKey("ns", "one")}, image: signed.String(), wantErr: "no secret source configured"},
		{name: "key secret missing", secrets: store, authority: &policy.Authority{Key: secretKey("ns", "none")}, image: signed.String(), wantErr: "key secretRef ns/none: secret not found"},
		{name: "key secret with two keys", secrets: store, authority: &policy.Authority{Key: secretKey("ns", "two")}, image: signed.String(), wantErr: "has 2 entries"},
		{name: "keyless without identities", authority: &policy.Authority{Keyless: &policy.KeylessRef{URL: "https://fulcio.example"}}, image: signed.String(), wantErr: "keyless authority has no identities"},
		{name: "neither key nor keyless", authority: &policy.Authority{}, image: signed.String(), wantErr: "authority has neither key nor keyless"},
		{name: "malformed signature", authority: &policy.Authority{Key: key}, image: garbage.String(), wantErr: "malformed"},
		{name: "source without a repository keeps the image's", authority: &policy.Authority{Key: key, Sources: []policy.Source{{}}}, image: signed.String()},
		{name: "source repository that does not parse", authority: &policy.Authority{Key: key, Sources: []policy.Source{{OCI: "UPPER/case"}}}, image: signed.String(), wantErr: `source[0]: oci "UPPER/case"`},
		{name: "ctlog trustRootRef missing", authority: &policy.Authority{Key: key, CTLog: &policy.TLog{TrustRootRef: "nope"}}, image: signed.String(), wantErr: "trustRootRef nope: no such TrustRoot"},
		{name: "rfc3161timestamp trustRootRef missing", authority: &policy.Authority{Key: key, RFC3161Timestamp: &policy.RFC3161Timestamp{TrustRootRef: "nope"}}, image: signed.String(), wantErr: "trustRootRef nope: no such TrustRoot"},
		{name: "keyless trustRootRef missing", authority: &policy.Authority{Keyless: &policy.KeylessRef{TrustRootRef: "nope", Identities: []policy.Identity{{Issuer: "i", Subject: "s"}}}}, image: signed.String(), wantErr: "trustRootRef nope: no such TrustRoot"},
		{name: "keyless ca-cert that is no CA", authority: &policy.Authority{Keyless: &policy.KeylessRef{CACert: &policy.KeyRef{Data: "not PEM"}, Identities: []policy.Identity{{Issuer: "i", Subject: "s"}}}}, image: signed.String(), wantErr: "keyless ca-cert:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := policy.NewRegistryChecker(r.client, &trustroot.TrustedRoot{}, policy.CheckerOptions{Secrets: tt.secrets})
			sigs, err := c.VerifySignatures(ctx, tt.image, tt.authority, policy.RegistryCredentials{})
			if tt.wantErr == "" {
				if err != nil || len(sigs) != 1 {
					t.Fatalf("signatures %v, error %v", sigs, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}

	t.Run("attestations", func(t *testing.T) {
		c := policy.NewRegistryChecker(r.client, &trustroot.TrustedRoot{}, policy.CheckerOptions{})
		atts, err := c.VerifyAttestations(ctx, attested.String(), &policy.Authority{Key: key}, policy.RegistryCredentials{})
		if err != nil || len(atts) != 1 {
			t.Fatalf("attestations %v, error %v", atts, err)
		}
		var got struct {
			PredicateType string `json:"predicateType"`
			Subject       []struct {
				Digest map[string]string `json:"digest"`
			} `json:"subject"`
		}
		if err := json.Unmarshal(atts[0].Payload, &got); err != nil {
			t.Fatal(err)
		}
		if atts[0].PredicateType != oci.PredicateCustom || got.PredicateType != oci.PredicateCustom || atts[0].Digest == "" ||
			len(got.Subject) != 1 || "sha256:"+got.Subject[0].Digest["sha256"] != attested.DigestStr() {
			t.Errorf("attestation %+v, payload %s", atts[0], atts[0].Payload)
		}
		if _, err := c.VerifyAttestations(ctx, signed.String(), &policy.Authority{Key: key}, policy.RegistryCredentials{}); err == nil || !strings.Contains(err.Error(), "no attestations found") {
			t.Errorf("attestations of an image that has none: %v", err)
		}
	})
}

// caPEMs returns the PEM of a self-signed root, an intermediate it
// issued (valid from a later time) and a leaf.
func caPEMs(t *testing.T) (root, inter, leaf []byte, interStart time.Time) {
	t.Helper()
	rk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ik, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	lk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now().Truncate(time.Second)
	create := func(tmpl, parent *x509.Certificate, pub any, key *ecdsa.PrivateKey) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	rt := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root"}, NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	rc := create(rt, rt, rk.Public(), rk)
	it := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "inter"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	ic := create(it, rc, ik.Public(), rk)
	lt := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "leaf"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}
	lc := create(lt, ic, lk.Public(), ik)
	return pemOf(t, rc), pemOf(t, ic), pemOf(t, lc), ic.NotBefore
}

func TestTrustRootMaterialGuards(t *testing.T) {
	root, inter, leaf, interStart := caPEMs(t)
	otherRoot, _, _, _ := caPEMs(t)
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := func(chain []byte) policy.CertificateAuthority {
		return policy.CertificateAuthority{Subject: policy.DistinguishedName{Organization: "o", CommonName: "c"}, URI: "https://ca.example", CertChain: chain}
	}
	tlog := func(url, alg string, key []byte) policy.TransparencyLogInstance {
		return policy.TransparencyLogInstance{BaseURL: url, HashAlgorithm: alg, PublicKey: key}
	}
	keysOf := func(edit func(*policy.SigstoreKeys)) *policy.TrustRoot {
		k := &policy.SigstoreKeys{}
		edit(k)
		return &policy.TrustRoot{Metadata: policy.ObjectMeta{Name: "tr"}, Spec: policy.TrustRootSpec{SigstoreKeys: k}}
	}
	for _, tt := range []struct {
		name string
		tr   *policy.TrustRoot
		want string
	}{
		{"CA chain not PEM", keysOf(func(k *policy.SigstoreKeys) {
			k.CertificateAuthorities = []policy.CertificateAuthority{ca([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))}
		}), "certificateAuthority[0]: certificate chain"},
		{"CA chain with a leaf", keysOf(func(k *policy.SigstoreKeys) {
			k.CertificateAuthorities = []policy.CertificateAuthority{ca(cat(root, leaf))}
		}), `"CN=leaf" is not a CA certificate`},
		{"CA chain with two roots", keysOf(func(k *policy.SigstoreKeys) {
			k.CertificateAuthorities = []policy.CertificateAuthority{ca(cat(root, otherRoot))}
		}), "more than one self-signed root"},
		{"CA chain without a root", keysOf(func(k *policy.SigstoreKeys) { k.CertificateAuthorities = []policy.CertificateAuthority{ca(inter)} }), "no self-signed root certificate"},
		{"TSA chain not PEM", keysOf(func(k *policy.SigstoreKeys) { k.TimeStampAuthorities = []policy.CertificateAuthority{ca([]byte("x"))} }), "timestampAuthorities[0]: certificate chain"},
		{"TSA chain of a leaf only", keysOf(func(k *policy.SigstoreKeys) { k.TimeStampAuthorities = []policy.CertificateAuthority{ca(leaf)} }), "no CA certificate above the TSA certificate"},
		{"log hash algorithm", keysOf(func(k *policy.SigstoreKeys) {
			k.TLogs = []policy.TransparencyLogInstance{tlog("https://log.example", "sha-1", publicPEM(t, edPub))}
		}), `tLogs[0]: hashAlgorithm "sha-1"`},
		{"log key not PEM", keysOf(func(k *policy.SigstoreKeys) {
			k.TLogs = []policy.TransparencyLogInstance{tlog("https://log.example", "sha256", []byte("x"))}
		}), "tLogs[0]: publicKey"},
		{"Rekor v2 log without a host", keysOf(func(k *policy.SigstoreKeys) {
			k.TLogs = []policy.TransparencyLogInstance{tlog("file:///log", "sha-256", publicPEM(t, edPub))}
		}), "a Rekor v2 log needs a URL with a host"},
		{"CT log key not PEM", keysOf(func(k *policy.SigstoreKeys) {
			k.CTLogs = []policy.TransparencyLogInstance{tlog("https://ct.example", "sha-256", []byte("x"))}
		}), "ctLogs[0]: publicKey"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.tr.TrustedRoot(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("TrustedRoot error %v, want %q", err, tt.want)
			}
		})
	}

	tr, err := keysOf(func(k *policy.SigstoreKeys) {
		k.CertificateAuthorities = []policy.CertificateAuthority{ca(cat(inter, root))}
		k.TimeStampAuthorities = []policy.CertificateAuthority{ca(cat(leaf, inter, root)), ca(cat(inter, root))}
		k.TLogs = []policy.TransparencyLogInstance{tlog("https://rekor.example", "sha-256", publicPEM(t, edPub)), tlog("https://rekor1.example", "SHA256", publicPEM(t, ecKey.Public()))}
		k.CTLogs = []policy.TransparencyLogInstance{tlog("https://ct.example", "sha-256", publicPEM(t, edPub))}
	}).TrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	c := tr.CertificateAuthorities[0]
	if c.Root == nil || c.Root.Subject.CommonName != "root" || len(c.Intermediates) != 1 || !c.ValidFor.Start.Equal(interStart) {
		t.Errorf("certificate authority %+v: want the root, one intermediate, valid from the intermediate's notBefore", c)
	}
	if a := tr.TimestampAuthorities[0]; a.Leaf == nil || a.Root == nil || len(a.Intermediates) != 1 {
		t.Errorf("timestamp authority with a leaf: %+v", a)
	}
	if a := tr.TimestampAuthorities[1]; a.Leaf != nil || a.Root == nil || len(a.Intermediates) != 1 {
		t.Errorf("timestamp authority without a leaf: %+v", a)
	}
	// An Ed25519 Rekor log is listed under its v1 and v2 IDs; an ECDSA one
	// and a CT log under the v1 ID only.
	if len(tr.Tlogs) != 3 || len(tr.CTLogs) != 1 {
		t.Errorf("%d transparency logs and %d CT logs, want 3 and 1", len(tr.Tlogs), len(tr.CTLogs))
	}
	if rootOnly, err := policy.CertificateAuthorityFromPEM("u", root); err != nil || !rootOnly.ValidFor.Start.Equal(rootOnly.Root.NotBefore) || len(rootOnly.Intermediates) != 0 {
		t.Errorf("root-only CA %+v, %v: want it valid from the root's notBefore", rootOnly, err)
	}
}

func TestValidateTSAChains(t *testing.T) {
	root, inter, leaf, _ := caPEMs(t)
	_, _, otherLeaf, _ := caPEMs(t)
	tr := func(chain []byte) *policy.TrustRoot {
		return &policy.TrustRoot{TypeMeta: policy.TypeMeta{APIVersion: policy.V1alpha1, Kind: policy.KindTrustRoot}, Metadata: policy.ObjectMeta{Name: "tr"},
			Spec: policy.TrustRootSpec{SigstoreKeys: &policy.SigstoreKeys{TimeStampAuthorities: []policy.CertificateAuthority{{
				Subject: policy.DistinguishedName{Organization: "o", CommonName: "c"}, URI: "https://tsa.example", CertChain: chain}}}}}
	}
	if err := tr(append(append(append([]byte{}, leaf...), inter...), root...)).Validate(); err != nil {
		t.Errorf("one TSA leaf: %v", err)
	}
	if err := tr(append(append(append([]byte{}, leaf...), otherLeaf...), root...)).Validate(); err == nil || !strings.Contains(err.Error(), "at most one TSA certificate") {
		t.Errorf("two TSA leaves: %v", err)
	}
	if err := tr([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")).Validate(); err == nil || !strings.Contains(err.Error(), "error splitting the certificates") {
		t.Errorf("garbage chain: %v", err)
	}
}
