package policy_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/server"
	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
	signettuf "github.com/signetproject/signet/tuf"
)

func pemOf(t *testing.T, certs ...*x509.Certificate) []byte {
	t.Helper()
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func publicPEM(t *testing.T, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// selfSignedCA returns a PEM CA certificate no signature chains to.
func selfSignedCA(t *testing.T) []byte {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestRegistryCheckerAuthorities signs images in an in-process registry
// with a key (without log or timestamps, as cosign --tlog-upload=false
// does, and with a log entry) and keyless against an in-process signet
// server, and checks key, keyless, ca-cert and trustRootRef authorities
// with the registry checker.
func TestRegistryCheckerAuthorities(t *testing.T) {
	ctx := context.Background()
	tufDir := t.TempDir()
	inst := servertest.Start(t, func(o *server.Options) { o.TUFRepo = signettuf.RepoDir(tufDir) })
	get := func(path string) []byte {
		t.Helper()
		resp, err := http.Get(inst.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		return b
	}
	serverRoot, err := trustroot.LoadTrustedRoot(get("/trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The server's TUF repository, and another one's root.json.
	tufRoot := initTUF(t, tufDir, get("/tuf/online-key.pem"), get("/trusted_root.json"))
	otherTUFRoot := initTUF(t, t.TempDir(), get("/tuf/online-key.pem"), get("/trusted_root.json"))
	sc, err := trustroot.LoadSigningConfig(get("/signing_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := sign.ServicesFrom(sc, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	issuer := inst.URL + "/oidc"
	tok, err := inst.Server.DevIssuer().Mint(oidc.TokenRequest{Email: "alice@example.com"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	client := oci.New(oci.Options{})
	host := strings.TrimPrefix(reg.URL, "http://")
	// push uploads a random image to repo and signs it, with the
	// signatures in sigRepo (repo when empty).
	pushTo := func(repo, sigRepo string, layout oci.Layout, opts sign.Options) string {
		t.Helper()
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		tag, err := name.NewTag(host + "/" + repo + ":v1")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(tag, img); err != nil {
			t.Fatal(err)
		}
		h, _ := img.Digest()
		d := tag.Context().Digest(h.String())
		signed := d
		if sigRepo != "" {
			r, err := name.NewRepository(host + "/" + sigRepo)
			if err != nil {
				t.Fatal(err)
			}
			signed = r.Digest(h.String())
		}
		if _, err := client.SignImage(ctx, signed, layout, nil, opts); err != nil {
			t.Fatalf("sign %s: %v", d, err)
		}
		return d.String()
	}
	push := func(repo string, layout oci.Layout, opts sign.Options) string {
		t.Helper()
		return pushTo(repo, "", layout, opts)
	}
	keyNoLog := push("key-nolog", oci.LayoutLegacy, sign.Options{Key: key, UnsafeNoTlog: true})
	keyNoLogBundle := push("key-nolog-bundle", oci.LayoutReferrers, sign.Options{Key: key, UnsafeNoTlog: true})
	keyLogged := push("key-logged", oci.LayoutReferrers, sign.Options{Key: key, Logs: svc.Logs})
	keyless := push("keyless", oci.LayoutReferrers, sign.Options{CA: svc.CA, IDToken: tok, Logs: svc.Logs, TSAs: svc.TSAs})
	// Signatures in another repository (cosign's COSIGN_REPOSITORY).
	keySource := pushTo("key-source", "signatures", oci.LayoutLegacy, sign.Options{Key: key, UnsafeNoTlog: true})
	prefix, badPrefix := "custom", "a/b"

	// The server's material as a TrustRoot, in pieces.
	ca := serverRoot.CertificateAuthorities[0]
	caPEM := pemOf(t, append(append([]*x509.Certificate{}, ca.Intermediates...), ca.Root)...)
	tsa := serverRoot.TimestampAuthorities[0]
	var tsaChain []*x509.Certificate
	if tsa.Leaf != nil {
		tsaChain = append(tsaChain, tsa.Leaf)
	}
	tsaPEM := pemOf(t, append(append(tsaChain, tsa.Intermediates...), tsa.Root)...)
	var tlogs []policy.TransparencyLogInstance
	seen := map[string]bool{}
	for _, l := range serverRoot.Tlogs {
		p := publicPEM(t, l.PublicKey)
		if !seen[string(p)] {
			seen[string(p)] = true
			tlogs = append(tlogs, policy.TransparencyLogInstance{BaseURL: l.BaseURL, HashAlgorithm: "sha-256", PublicKey: p})
		}
	}
	cas := []policy.CertificateAuthority{{Subject: policy.DistinguishedName{Organization: "signet", CommonName: "signet"}, URI: inst.URL, CertChain: caPEM}}
	tsas := []policy.CertificateAuthority{{Subject: policy.DistinguishedName{Organization: "signet", CommonName: "tsa"}, URI: inst.URL, CertChain: tsaPEM}}
	trustRoot := func(name string, keys *policy.SigstoreKeys) *policy.TrustRoot {
		return &policy.TrustRoot{TypeMeta: policy.TypeMeta{APIVersion: policy.V1alpha1, Kind: policy.KindTrustRoot},
			Metadata: policy.ObjectMeta{Name: name}, Spec: policy.TrustRootSpec{SigstoreKeys: keys}}
	}
	trustRoots := []*policy.TrustRoot{
		trustRoot("signet", &policy.SigstoreKeys{CertificateAuthorities: cas, TLogs: tlogs, TimeStampAuthorities: tsas}),
		trustRoot("signet-no-logs", &policy.SigstoreKeys{CertificateAuthorities: cas, TimeStampAuthorities: tsas}),
		trustRoot("signet-ca-only", &policy.SigstoreKeys{CertificateAuthorities: cas}),
		trustRoot("logs-only", &policy.SigstoreKeys{TLogs: tlogs, TimeStampAuthorities: tsas}),
		{TypeMeta: policy.TypeMeta{APIVersion: policy.V1alpha1, Kind: policy.KindTrustRoot}, Metadata: policy.ObjectMeta{Name: "tuf"},
			Spec: policy.TrustRootSpec{Remote: &policy.Remote{Mirror: inst.URL + "/tuf", Root: tufRoot}}},
		{TypeMeta: policy.TypeMeta{APIVersion: policy.V1alpha1, Kind: policy.KindTrustRoot}, Metadata: policy.ObjectMeta{Name: "tuf-other-root"},
			Spec: policy.TrustRootSpec{Remote: &policy.Remote{Mirror: inst.URL + "/tuf", Root: otherTUFRoot}}},
		{TypeMeta: policy.TypeMeta{APIVersion: policy.V1alpha1, Kind: policy.KindTrustRoot}, Metadata: policy.ObjectMeta{Name: "tuf-air-gapped"},
			Spec: policy.TrustRootSpec{Repository: &policy.Repository{Root: tufRoot, MirrorFS: []byte{1}, Targets: "targets"}}},
	}
	// Configured roots: the server's, one without its CA, and nothing.
	noCA := *serverRoot
	noCA.CertificateAuthorities = nil
	empty := &trustroot.TrustedRoot{}

	alice := []policy.Identity{{Issuer: issuer, Subject: "alice@example.com"}}
	keyAuth := &policy.Authority{Name: "key", Key: &policy.KeyRef{Data: string(publicPEM(t, key.Public()))}}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tt := range []struct {
		name      string
		root      *trustroot.TrustedRoot
		authority *policy.Authority
		image     string
		wantErr   string // "" = passes
	}{
		{"key, no log, legacy", empty, keyAuth, keyNoLog, ""},
		{"key, no log, bundle", empty, keyAuth, keyNoLogBundle, ""},
		{"other key", empty, &policy.Authority{Key: &policy.KeyRef{Data: string(publicPEM(t, other.Public()))}}, keyNoLog, "signature does not verify"},
		{"key with ctlog needs a log entry", serverRoot, &policy.Authority{Key: keyAuth.Key, CTLog: &policy.TLog{URL: inst.URL}}, keyNoLog, "tlog: 0 verified entries"},
		{"key with ctlog, logged", serverRoot, &policy.Authority{Key: keyAuth.Key, CTLog: &policy.TLog{URL: inst.URL}}, keyLogged, ""},
		{"key with ctlog trustRootRef, logged", empty, &policy.Authority{Key: keyAuth.Key, CTLog: &policy.TLog{TrustRootRef: "signet"}}, keyLogged, ""},
		{"key with ctlog trustRootRef without logs", empty, &policy.Authority{Key: keyAuth.Key, CTLog: &policy.TLog{TrustRootRef: "signet-ca-only"}}, keyLogged, "tlog: 0 verified entries"},
		{"keyless, configured root", serverRoot, &policy.Authority{Keyless: &policy.KeylessRef{URL: inst.URL, Identities: alice}}, keyless, ""},
		{"keyless, wrong identity", serverRoot, &policy.Authority{Keyless: &policy.KeylessRef{URL: inst.URL,
			Identities: []policy.Identity{{Issuer: issuer, Subject: "mallory@example.com"}}}}, keyless, "alice@example.com"},
		{"keyless, no CA configured", empty, &policy.Authority{Keyless: &policy.KeylessRef{URL: inst.URL, Identities: alice}}, keyless, "no matching signatures"},
		{"keyless trustRootRef", empty, &policy.Authority{Keyless: &policy.KeylessRef{TrustRootRef: "signet", Identities: alice}}, keyless, ""},
		{"keyless trustRootRef without logs: the TSA timestamp suffices", empty,
			&policy.Authority{Keyless: &policy.KeylessRef{TrustRootRef: "signet-no-logs", Identities: alice}}, keyless, ""},
		{"keyless trustRootRef without logs or TSAs", empty,
			&policy.Authority{Keyless: &policy.KeylessRef{TrustRootRef: "signet-ca-only", Identities: alice}}, keyless, "timestamp: 0 verified"},
		{"keyless trustRootRef, ctlog and rfc3161timestamp trustRootRefs", empty,
			&policy.Authority{Keyless: &policy.KeylessRef{TrustRootRef: "signet-ca-only", Identities: alice},
				CTLog: &policy.TLog{TrustRootRef: "logs-only"}, RFC3161Timestamp: &policy.RFC3161Timestamp{TrustRootRef: "logs-only"}}, keyless, ""},
		{"keyless trustRootRef missing", serverRoot, &policy.Authority{Keyless: &policy.KeylessRef{TrustRootRef: "nope", Identities: alice}}, keyless, "trustRootRef nope: no such TrustRoot"},
		{"keyless trustRootRef to a TUF remote", empty, &policy.Authority{Keyless: &policy.KeylessRef{TrustRootRef: "tuf", Identities: alice}}, keyless, ""},
		{"keyless trustRootRef to a TUF remote, root.json of another repository", serverRoot, &policy.Authority{Keyless: &policy.KeylessRef{TrustRootRef: "tuf-other-root", Identities: alice}}, keyless, "not enough signatures"},
		{"keyless trustRootRef to an air-gapped TUF repository", serverRoot, &policy.Authority{Keyless: &policy.KeylessRef{TrustRootRef: "tuf-air-gapped", Identities: alice}}, keyless, "air-gapped TUF trust roots"},
		{"keyless ca-cert", &noCA, &policy.Authority{Keyless: &policy.KeylessRef{CACert: &policy.KeyRef{Data: string(caPEM)}, Identities: alice}}, keyless, ""},
		{"keyless ca-cert of another CA", serverRoot, &policy.Authority{Keyless: &policy.KeylessRef{CACert: &policy.KeyRef{Data: string(selfSignedCA(t))}, Identities: alice}}, keyless, "no trusted CA issued the certificate"},
		{"keyless ca-cert secretRef not inlined", serverRoot, &policy.Authority{Keyless: &policy.KeylessRef{CACert: &policy.KeyRef{SecretRef: &policy.SecretReference{Name: "ca"}}, Identities: alice}}, keyless, "inline data"},
		{"key, signatures in a source repository", empty, &policy.Authority{Key: keyAuth.Key, Sources: []policy.Source{{OCI: host + "/elsewhere"}, {OCI: host + "/signatures"}}}, keySource, ""},
		{"key, signatures in another repository without source", empty, keyAuth, keySource, "no signatures found"},
		// The signatures are under sha256-<hex>.sig, not custom-sha256-<hex>.sig.
		{"source tagPrefix", empty, &policy.Authority{Key: keyAuth.Key, Sources: []policy.Source{{OCI: host + "/signatures", TagPrefix: &prefix}}}, keySource, "no signatures found"},
		{"source tagPrefix invalid", empty, &policy.Authority{Key: keyAuth.Key, Sources: []policy.Source{{OCI: host + "/signatures", TagPrefix: &badPrefix}}}, keySource, `source[0]: tag prefix "a/b"`},
		{"source signaturePullSecrets without a cluster", empty, &policy.Authority{Key: keyAuth.Key, Sources: []policy.Source{{OCI: host + "/signatures",
			SignaturePullSecrets: []policy.LocalObjectReference{{Name: "regcred"}}}}}, keySource, "signaturePullSecrets regcred: Secrets are read only by the admission webhook"},
		{"KMS key", empty, &policy.Authority{Key: &policy.KeyRef{KMS: "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k"}}, keyNoLog, "KMS keys are not supported yet"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := policy.NewRegistryChecker(client, tt.root, policy.CheckerOptions{TrustRoots: trustRoots})
			sigs, err := c.VerifySignatures(ctx, tt.image, tt.authority, policy.RegistryCredentials{})
			if tt.wantErr == "" {
				if err != nil || len(sigs) == 0 {
					t.Fatalf("signatures %v, error %v", sigs, err)
				}
				if tt.authority.Keyless != nil && sigs[0].Subject != "alice@example.com" {
					t.Errorf("subject %q", sigs[0].Subject)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// initTUF creates a TUF repository in dir for a server's online key and
// trusted root, as signet tuf init does, and returns its 1.root.json.
func initTUF(t *testing.T, dir string, onlinePEM, trustedRoot []byte) []byte {
	t.Helper()
	online, err := keys.LoadPublicKey(onlinePEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := signettuf.Init(dir, signettuf.InitOptions{Online: online, Targets: map[string][]byte{signettuf.TargetTrustedRoot: trustedRoot}}); err != nil {
		t.Fatal(err)
	}
	root, err := os.ReadFile(filepath.Join(signettuf.RepoDir(dir), "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	return root
}
