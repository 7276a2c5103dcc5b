package policy

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzLoad decodes, defaults and validates arbitrary input: it must never
// panic, and every policy that loads must survive a JSON round trip and
// validate identically afterwards.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(keylessYAML))
	f.Add([]byte(`{"apiVersion":"policy.sigstore.dev/v1alpha1","kind":"ClusterImagePolicy","spec":{"images":[{"glob":"*"}]}}`))
	f.Add([]byte("apiVersion: policy.sigstore.dev/v1alpha1\nkind: TrustRoot\nspec: {repository: {root: e30=, mirrorFS: H4sI}}\n"))
	f.Add(trustRootSeed(f))
	files, _ := filepath.Glob(filepath.Join("testdata", "policy-controller", "test", "testdata", "policy-controller", "*", "*.yaml"))
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, _, _ := Load(data, ValidateOptions{ResourceNames: DefaultResourceNames})
		if docs == nil {
			return
		}
		for _, c := range docs.Policies {
			first := c.Validate(ValidateOptions{}).Error()
			raw, err := jsonOf(c)
			if err != nil {
				t.Fatalf("marshal decoded policy: %v", err)
			}
			again, err := DecodeClusterImagePolicy(raw)
			if err != nil {
				// Load accepts any policy.sigstore.dev version; Decode
				// only the known ones.
				if c.APIVersion == V1alpha1 || c.APIVersion == V1beta1 {
					t.Fatalf("re-decode %s: %v", raw, err)
				}
				continue
			}
			if diff := cmp.Diff(c, again, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("round trip (-first +second):\n%s", diff)
			}
			if second := again.Validate(ValidateOptions{}).Error(); second != first {
				t.Fatalf("validation changed after round trip:\n%s\n---\n%s", first, second)
			}
		}
		for _, tr := range docs.TrustRoots {
			_ = tr.Validate()
			// The checker's view of the material: an error or a root,
			// never a panic.
			if root, err := tr.TrustedRoot(); err == nil && root == nil {
				t.Fatal("TrustedRoot returned neither a root nor an error")
			}
		}
	})
}

// trustRootSeed is a TrustRoot whose sigstoreKeys material parses: a fresh
// self-signed CA and an Ed25519 log key.
func trustRootSeed(f *testing.F) []byte {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{Organization: []string{"o"}, CommonName: "c"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, caKey.Public(), caKey)
	if err != nil {
		f.Fatal(err)
	}
	logKey, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	logDER, err := x509.MarshalPKIXPublicKey(logKey)
	if err != nil {
		f.Fatal(err)
	}
	b64 := func(typ string, der []byte) string {
		return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	return []byte("apiVersion: policy.sigstore.dev/v1alpha1\nkind: TrustRoot\nmetadata: {name: t}\nspec: {sigstoreKeys: {" +
		"certificateAuthorities: [{subject: {organization: o, commonName: c}, uri: https://ca.example, certChain: " + b64("CERTIFICATE", der) + "}], " +
		"tLogs: [{baseURL: https://log.example, hashAlgorithm: sha-256, publicKey: " + b64("PUBLIC KEY", logDER) + "}]}}\n")
}

// FuzzMatchGlob checks glob compilation and matching never panic, that a
// glob that compiles also validates, and that "**" matches every parsable
// reference.
func FuzzMatchGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"ghcr.io/**", "ghcr.io/foo/bar"},
		{"*", "foo"},
		{"*/*", "myuser/myapp"},
		{"index.docker.io/library/*:latest", "foo"},
		{"ghcr.io/foo@sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350", "ghcr.io/foo@sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350"},
		{"[a-z]*", "invalid&name"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, glob, image string) {
		g, err := CompileGlob(glob)
		if err != nil {
			return
		}
		if g.String() != glob {
			t.Fatalf("String() = %q, want %q", g.String(), glob)
		}
		ok, err := g.Match(image)
		if err != nil {
			return
		}
		all, _ := MatchGlob("**", image)
		if !all {
			t.Fatalf("** does not match parsable reference %q", image)
		}
		// A glob matching the reference as written always matches
		// (policy-controller's fallback).
		if g.re.MatchString(image) && !ok {
			t.Fatalf("Match(%q) = false, but the glob matches it as written", image)
		}
	})
}
