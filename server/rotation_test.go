package server_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	sgtuf "github.com/sigstore/sigstore-go/pkg/tuf"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/server"
	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
	signettuf "github.com/signetproject/signet/tuf"
	"github.com/signetproject/signet/verify"
)

// signed is a bundle, its artifact and the identity issuer it was signed
// under.
type signed struct {
	bundle   []byte
	artifact []byte
	issuer   string
}

// signBlob signs artifact keyless against inst with signet's signer
// (CA, Rekor v2 log, TSA).
func signBlob(t *testing.T, inst *servertest.Instance, artifact []byte) signed {
	return signBlobWith(t, inst, inst, artifact)
}

// signBlobWith signs with caInst's CA (and dev issuer), and inst's log and
// TSA.
func signBlobWith(t *testing.T, caInst, inst *servertest.Instance, artifact []byte) signed {
	t.Helper()
	caSC, err := trustroot.LoadSigningConfig(get(t, caInst.URL+"/signing_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	caSvc, err := sign.SelectServices(caSC, time.Now(), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := trustroot.LoadSigningConfig(get(t, inst.URL+"/signing_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := sign.SelectServices(sc, time.Now(), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := caInst.Server.DevIssuer().Mint(oidc.TokenRequest{Email: "alice@example.com"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pb, err := sign.Blob(context.Background(), bytes.NewReader(artifact), sign.Options{CA: caSvc.CA, IDToken: tok, Logs: svc.Logs, TSAs: svc.TSAs})
	if err != nil {
		t.Fatal(err)
	}
	data, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return signed{bundle: data, artifact: artifact, issuer: caInst.Server.DevIssuer().URL()}
}

// check verifies s with signet's verifier and with sigstore-go, both
// requiring an SCT, against trust material each fetched through TUF, and
// returns the two errors.
func (s signed) check(t *testing.T, tr *trustroot.TrustedRoot, sg root.TrustedMaterial) (signetErr, sigstoreGoErr error) {
	t.Helper()
	b, err := bundle.Decode(s.bundle)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(tr, verify.Options{TlogThreshold: 1, SignedTimestampThreshold: 1, SCTThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, signetErr = v.Verify(b, verify.Artifact{Reader: bytes.NewReader(s.artifact)}, verify.Policy{Identities: []verify.Identity{{SAN: "alice@example.com", Issuer: s.issuer}}})

	sgv, err := sgverify.NewVerifier(sg, sgverify.WithTransparencyLog(1), sgverify.WithSignedTimestamps(1), sgverify.WithSignedCertificateTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	id, err := sgverify.NewShortCertificateIdentity(s.issuer, "", "alice@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	_, sigstoreGoErr = sgv.Verify(mustSigstoreGoBundle(t, s.bundle), sgverify.NewPolicy(sgverify.WithArtifact(bytes.NewReader(s.artifact)), sgverify.WithCertificateIdentity(id)))
	return signetErr, sigstoreGoErr
}

// TestKeyRotation runs the documented rotation procedure: sign, stop the
// server, rotate every key (signet server rotate-keys), restart, publish
// the new trusted root through TUF (signet tuf sign-targets), sign again.
// Clients that refresh TUF — signet's and sigstore-go's — verify both
// bundles; a bundle signed with the retired keys after the rotation is
// refused by both.
func TestKeyRotation(t *testing.T) {
	dataDir, offline := t.TempDir(), t.TempDir()
	withTUF := func(o *server.Options) { o.TUFRepo = signettuf.RepoDir(offline) }
	signetCache, sgCache := t.TempDir(), t.TempDir()
	var root1 []byte
	var mirror string
	fetchSignet := func() *trustroot.TrustedRoot {
		t.Helper()
		files, err := signettuf.Fetch(signettuf.ClientOptions{Mirror: mirror, Root: root1, CacheDir: signetCache}, signettuf.TargetTrustedRoot)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := trustroot.LoadTrustedRoot(files[signettuf.TargetTrustedRoot])
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	fetchSigstoreGo := func() root.TrustedMaterial {
		t.Helper()
		opts := sgtuf.DefaultOptions()
		opts.Root, opts.RepositoryBaseURL, opts.CachePath = root1, mirror, sgCache
		opts.CacheValidity = 0     // refresh on every use, as a client after the cache period does
		opts.Context = t.Context() // stops its refresh goroutine with the test
		tr, err := root.NewLiveTrustedRoot(opts)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	targets := func(inst *servertest.Instance) map[string][]byte {
		return map[string][]byte{
			signettuf.TargetTrustedRoot:   get(t, inst.URL+"/trusted_root.json"),
			signettuf.TargetSigningConfig: get(t, inst.URL+"/signing_config.json"),
		}
	}

	var before signed
	var beforeCA *x509.Certificate
	t.Run("before", func(t *testing.T) {
		inst := servertest.StartInDir(t, dataDir, withTUF)
		online, err := keys.LoadPublicKey(get(t, inst.URL+"/tuf/online-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		if err := signettuf.Init(offline, signettuf.InitOptions{Online: online, Targets: targets(inst)}); err != nil {
			t.Fatal(err)
		}
		if root1, err = os.ReadFile(filepath.Join(signettuf.RepoDir(offline), "1.root.json")); err != nil {
			t.Fatal(err)
		}
		mirror = inst.URL + "/tuf"
		before = signBlob(t, inst, []byte("signed before the rotation\n"))
		beforeCA = inst.Server.CAChain()[0]
		if e1, e2 := before.check(t, fetchSignet(), fetchSigstoreGo()); e1 != nil || e2 != nil {
			t.Fatalf("before rotation: signet %v, sigstore-go %v", e1, e2)
		}
	})
	// A copy of the data dir keeps the old keys, as a thief of them would.
	stolen := t.TempDir()
	if out, err := exec.Command("cp", "-a", dataDir+"/.", stolen).CombinedOutput(); err != nil {
		t.Fatalf("copy data dir: %v\n%s", err, out)
	}

	if err := server.RotateKeys(dataDir, server.RotatableKeys, time.Now()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // what the retired keys sign from now on is after their validFor end
	inst := servertest.StartInDir(t, dataDir, withTUF)
	mirror = inst.URL + "/tuf"
	if err := signettuf.SignTargets(offline, targets(inst), 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := inst.Server.RefreshTUF(); err != nil {
		t.Fatal(err)
	}
	after := signBlob(t, inst, []byte("signed after the rotation\n"))
	if got := inst.Server.CAChain()[0]; got.Equal(beforeCA) || samePub(got.PublicKey, beforeCA.PublicKey) {
		t.Fatal("the CA still issues with its old key")
	}
	tr, sg := fetchSignet(), fetchSigstoreGo()
	if len(tr.CertificateAuthorities) != 2 || len(tr.TimestampAuthorities) != 2 || len(tr.CTLogs) != 2 || len(tr.Tlogs) != 3 {
		t.Fatalf("trusted root after rotation: %d CAs, %d TSAs, %d CT logs, %d tlogs; want 2, 2, 2, 3 (v1 not rotated)",
			len(tr.CertificateAuthorities), len(tr.TimestampAuthorities), len(tr.CTLogs), len(tr.Tlogs))
	}
	for name, s := range map[string]signed{"signed before": before, "signed after": after} {
		if e1, e2 := s.check(t, tr, sg); e1 != nil || e2 != nil {
			t.Errorf("%s the rotation: signet %v, sigstore-go %v", name, e1, e2)
		}
	}

	// The retired keys, used after their validFor end: all of them, and the
	// retired CA key (with its CT log's retired key) beside the current
	// TSA and log.
	rogue := servertest.StartInDir(t, stolen)
	for _, c := range []struct {
		name string
		late signed
		want string // in signet's error
	}{
		{"retired CA, TSA, log and CT keys", signBlob(t, rogue, []byte("signed with retired keys\n")), "outside the authority's validity"},
		{"retired CA and CT keys, current TSA and log", signBlobWith(t, rogue, inst, []byte("signed with the retired CA key\n")), "not valid at that time"},
	} {
		e1, e2 := c.late.check(t, tr, sg)
		if e1 == nil || e2 == nil {
			t.Fatalf("%s: a bundle signed after the rotation was accepted: signet %v, sigstore-go %v", c.name, e1, e2)
		}
		t.Logf("%s: refused: signet: %v; sigstore-go: %v", c.name, e1, e2)
		if !strings.Contains(e1.Error(), c.want) {
			t.Errorf("%s: signet refused it for another reason than the validity window (want %q): %v", c.name, c.want, e1)
		}
	}
}

func samePub(a, b crypto.PublicKey) bool {
	x, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && x.Equal(b)
}
