//go:build e2e

package e2e

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/signetproject/signet/ca"
	"github.com/signetproject/signet/ctlog"
	"github.com/signetproject/signet/internal/freeport"
	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/tlog/storage"
)

// tufServer is a signet server publishing its trust material through TUF:
// `signet tuf init` made the offline keys and first metadata in offline/,
// and the server serves offline/repo.
type tufServer struct {
	url, dataDir, offline, root string
}

func startTUFServer(t *testing.T) tufServer {
	t.Helper()
	dir := t.TempDir()
	s := tufServer{dataDir: filepath.Join(dir, "data"), offline: filepath.Join(dir, "offline")}
	srv, err := startServer(s.dataDir, "--tuf-repo", filepath.Join(s.offline, "repo"), "--tuf-refresh", "500ms")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.stop(); err != nil {
			t.Errorf("%v\n%s", err, srv.log.String())
		}
	})
	s.url = srv.url
	if res := runSignet(t, "tuf", "init", "--dir", s.offline, "--server", s.url); res.err != nil {
		t.Fatalf("signet tuf init: %v\n%s", res.err, res.out)
	}
	s.root = filepath.Join(s.offline, "repo", "1.root.json")
	return s
}

// token returns a dev token for alice from this server's dev issuer.
func (s tufServer) token(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), env.signetBin, "dev", "token", "--server", s.url, "--email", "alice@example.com").Output()
	if err != nil {
		t.Fatalf("signet dev token: %v", err)
	}
	return writeFile(t, dir, "token", []byte(strings.TrimSpace(string(out))))
}

// TestCosignTUF: after `cosign initialize --mirror <signet>/tuf --root
// 1.root.json`, cosign v2.6.5 and v3.1.3 sign keyless against signet and
// verify with trust from signet's TUF repository alone — no --trusted-root,
// no key files in the environment, no --insecure-ignore-sct — and so does
// signet verify-blob --tuf-mirror/--tuf-root.
func TestCosignTUF(t *testing.T) {
	s := startTUFServer(t)
	for _, c := range []struct {
		name string
		bin  func() string
		sign func(dir, token, bundle string) []string
	}{
		{"cosign-v3", func() string { return env.cosignV3 }, func(dir, token, bundle string) []string {
			// v3 takes the CA, Rekor v2 and the TSA from the signing config it got through TUF.
			return []string{"sign-blob", "--yes", "--identity-token", token, "--bundle", bundle}
		}},
		{"cosign-v2", func() string { return env.cosignV2 }, func(dir, token, bundle string) []string {
			// v2 checks the new certificate's SCT with the CT log of the TUF trusted root.
			return []string{"sign-blob", "--yes", "--fulcio-url", s.url, "--rekor-url", s.url, "--identity-token", token, "--bundle", bundle}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			tufEnv := []string{"TUF_ROOT=" + filepath.Join(dir, "tuf-cache")}
			if res := runCosign(t, c.bin(), tufEnv, "initialize", "--mirror", s.url+"/tuf", "--root", s.root); res.err != nil {
				t.Fatalf("cosign initialize: %v\n%s", res.err, res.out)
			}
			blob := writeFile(t, dir, "blob.txt", []byte("signed through TUF trust\n"))
			bundle := filepath.Join(dir, "blob.sigstore.json")
			if res := runCosign(t, c.bin(), tufEnv, append(c.sign(dir, s.token(t, dir), bundle), blob)...); res.err != nil {
				t.Fatalf("sign-blob: %v\n%s", res.err, res.out)
			}
			id := []string{"--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", s.url + "/oidc"}
			if res := runCosign(t, c.bin(), tufEnv, append(append([]string{"verify-blob", "--bundle", bundle}, id...), blob)...); res.err != nil {
				t.Fatalf("verify-blob: %v\n%s", res.err, res.out)
			}
			wrong := []string{"--certificate-identity", "bob@example.com", "--certificate-oidc-issuer", s.url + "/oidc"}
			if res := runCosign(t, c.bin(), tufEnv, append(append([]string{"verify-blob", "--bundle", bundle}, wrong...), blob)...); res.err == nil {
				t.Fatalf("verify-blob accepted the wrong identity\n%s", res.out)
			}
			if c.name == "cosign-v3" {
				res := runSignet(t, append([]string{"verify-blob", blob, "--bundle", bundle, "--tuf-mirror", s.url + "/tuf", "--tuf-root", s.root}, id...)...)
				if res.err != nil {
					t.Fatalf("signet verify-blob through TUF: %v\n%s", res.err, res.out)
				}
			}
		})
	}
}

// TestCosignRejectsBadSCTs: certificates from signet's CA whose SCT was
// altered after the CT log signed it, or comes from a CT log cosign does
// not trust, are refused by cosign v2 and v3 (which accept the same
// certificate with its genuine SCT).
func TestCosignRejectsBadSCTs(t *testing.T) {
	dir := t.TempDir()
	tr := fetchTrust(t, dir)
	serverData := filepath.Join(env.workDir, "server")
	interKey, err := keys.Load(filepath.Join(serverData, "keys", "ca-intermediate.key"))
	if err != nil {
		t.Fatal(err)
	}
	chain, err := ca.ParsePEMChain(readFile(t, tr.chainPEM))
	if err != nil {
		t.Fatal(err)
	}
	authority, err := ca.New(interKey, chain)
	if err != nil {
		t.Fatal(err)
	}
	ctKey, err := keys.Load(filepath.Join(serverData, "keys", "ct.key"))
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	// CT logs in scratch directories: one with signet's CT key (its SCTs
	// are genuine), one with a key nobody trusts.
	genuine, unknown := newScratchCTLog(t, ctKey, chain), newScratchCTLog(t, otherKey, chain)
	blob := writeFile(t, dir, "blob.txt", []byte("bad SCT e2e\n"))
	for _, c := range []struct {
		name string
		log  ca.CTLog
		want string // "" to pass
	}{
		{"genuine SCT", genuine, ""},
		{"tampered SCT", tamperedSCT{genuine}, `SCT|sct`},
		{"SCT from an unknown log", unknown, `SCT|sct|ctlog|CT log|ctfe public key not found`},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			id := oidc.Identity{Issuer: env.oidcIssuer, Challenge: "alice@example.com", Email: "alice@example.com"}
			cert, err := authority.IssueWithSCTs(t.Context(), id, leafKey.Public(), c.log)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(readFile(t, blob))
			sig, err := ecdsa.SignASN1(rand.Reader, leafKey, sum[:])
			if err != nil {
				t.Fatal(err)
			}
			sigFile := writeFile(t, out, "blob.sig", []byte(base64.StdEncoding.EncodeToString(sig)))
			certFile := writeFile(t, out, "blob.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
			for _, bin := range []struct {
				name string
				path string
			}{{"v2", env.cosignV2}, {"v3", env.cosignV3}} {
				res := runCosign(t, bin.path, []string{"SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=" + tr.ctKey},
					"verify-blob", "--signature", sigFile, "--certificate", certFile, "--certificate-chain", tr.chainPEM,
					"--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", env.oidcIssuer,
					"--insecure-ignore-tlog", // the certificate was made here, not logged; the SCT is what is tested
					blob)
				switch {
				case c.want == "" && res.err != nil:
					t.Fatalf("cosign %s rejects the genuine SCT: %v\n%s", bin.name, res.err, res.out)
				case c.want != "" && res.err == nil:
					t.Fatalf("cosign %s accepted a certificate with a bad SCT\n%s", bin.name, res.out)
				case c.want != "" && !regexp.MustCompile(c.want).MatchString(res.printed()):
					t.Fatalf("cosign %s failed for another reason (want %q): %v\n%s", bin.name, c.want, res.err, res.out)
				}
			}
		})
	}
}

// newScratchCTLog is a CT log in a scratch directory signing with key.
func newScratchCTLog(t *testing.T, key crypto.Signer, chain []*x509.Certificate) *ctlog.Log {
	t.Helper()
	d := t.TempDir()
	driver, err := storage.NewPOSIX(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	opts := ctlog.DefaultOptions()
	opts.CheckpointInterval = 100 * time.Millisecond
	l, err := ctlog.New(t.Context(), driver, ctlog.NewDirIssuers(d), "127.0.0.1/ct", key, chain[len(chain)-1:], opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l
}

// tamperedSCT flips a bit of the signature of the SCT a log returns.
type tamperedSCT struct{ log ca.CTLog }

func (t tamperedSCT) AddPreChain(ctx context.Context, chain []*x509.Certificate) ([]byte, error) {
	sct, err := t.log.AddPreChain(ctx, chain)
	if err == nil {
		sct[len(sct)-1] ^= 1
	}
	return sct, err
}

// TestCosignKeyRotation: cosign v3.1.3 and v2.6.5, initialized from
// signet's TUF repository, sign; the operator stops the server, rotates
// every key (signet server rotate-keys), restarts it and publishes the new
// trusted root (signet tuf sign-targets); cosign signs again. Without any
// change on the clients, each cosign version verifies both of its bundles,
// and signet both of cosign v3's. (TestKeyRotation shows in-process that what retired keys sign
// afterwards is refused.)
func TestCosignKeyRotation(t *testing.T) {
	dir := t.TempDir()
	dataDir, offline := filepath.Join(dir, "data"), filepath.Join(dir, "offline")
	args := []string{"--tuf-repo", filepath.Join(offline, "repo"), "--tuf-refresh", "200ms", "--addr", fmt.Sprintf("127.0.0.1:%d", freeport.Get(t))}
	srv, err := startServer(dataDir, args...)
	if err != nil {
		t.Fatal(err)
	}
	url := srv.url
	if res := runSignet(t, "tuf", "init", "--dir", offline, "--server", url); res.err != nil {
		t.Fatalf("signet tuf init: %v\n%s", res.err, res.out)
	}
	s := tufServer{url: url, dataDir: dataDir, offline: offline, root: filepath.Join(offline, "repo", "1.root.json")}
	versions := []struct {
		name string
		bin  string
		sign []string
	}{
		{"cosign-v3", env.cosignV3, []string{"sign-blob", "--yes"}},
		{"cosign-v2", env.cosignV2, []string{"sign-blob", "--yes", "--fulcio-url", url, "--rekor-url", url}},
	}
	id := []string{"--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", url + "/oidc"}
	sign := func(v int, name string) (blob, bundle string) {
		t.Helper()
		c := versions[v]
		blob = writeFile(t, dir, c.name+"-"+name+".txt", []byte(name+"\n"))
		bundle = filepath.Join(dir, c.name+"-"+name+".sigstore.json")
		tufEnv := []string{"TUF_ROOT=" + filepath.Join(dir, c.name+"-tuf")}
		if res := runCosign(t, c.bin, tufEnv, append(c.sign, "--identity-token", s.token(t, t.TempDir()), "--bundle", bundle, blob)...); res.err != nil {
			t.Fatalf("%s sign-blob %s: %v\n%s", c.name, name, res.err, res.out)
		}
		return blob, bundle
	}
	type signedBlob struct{ blob, bundle string }
	var all []signedBlob
	for i, c := range versions {
		if res := runCosign(t, c.bin, []string{"TUF_ROOT=" + filepath.Join(dir, c.name+"-tuf")}, "initialize", "--mirror", url+"/tuf", "--root", s.root); res.err != nil {
			t.Fatalf("%s initialize: %v\n%s", c.name, res.err, res.out)
		}
		b, bu := sign(i, "before")
		all = append(all, signedBlob{b, bu})
	}

	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	if res := runSignet(t, "server", "rotate-keys", "--data-dir", dataDir); res.err != nil {
		t.Fatalf("rotate-keys: %v\n%s", res.err, res.out)
	}
	if srv, err = startServer(dataDir, args...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.stop() })
	if res := runSignet(t, "tuf", "sign-targets", "--dir", offline, "--server", url); res.err != nil {
		t.Fatalf("tuf sign-targets: %v\n%s", res.err, res.out)
	}
	time.Sleep(time.Second) // the server rereads its TUF repository every 200 ms
	for i := range versions {
		b, bu := sign(i, "after")
		all = append(all, signedBlob{b, bu})
	}
	for _, sb := range all {
		for _, c := range versions {
			if !strings.HasPrefix(filepath.Base(sb.bundle), c.name) {
				continue // each version reads its own bundle format
			}
			res := runCosign(t, c.bin, []string{"TUF_ROOT=" + filepath.Join(dir, c.name+"-tuf")}, append(append([]string{"verify-blob", "--bundle", sb.bundle}, id...), sb.blob)...)
			if res.err != nil {
				t.Errorf("%s verify-blob %s after the rotation: %v\n%s", c.name, filepath.Base(sb.bundle), res.err, res.out)
			}
		}
		if strings.HasPrefix(filepath.Base(sb.bundle), "cosign-v3") {
			res := runSignet(t, append([]string{"verify-blob", sb.blob, "--bundle", sb.bundle, "--tuf-mirror", url + "/tuf", "--tuf-root", s.root}, id...)...)
			if res.err != nil {
				t.Errorf("signet verify-blob %s after the rotation: %v\n%s", filepath.Base(sb.bundle), res.err, res.out)
			}
		}
	}
}
