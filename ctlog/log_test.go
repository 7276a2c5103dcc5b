package ctlog_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/ctutil"
	"github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/google/certificate-transparency-go/x509util"
	f_log "github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/signetproject/signet/ca"
	"github.com/signetproject/signet/ctlog"
	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/tlog/storage"
)

const origin = "signet.test/ct"

type fixture struct {
	ca       *ca.CA
	chain    []*x509.Certificate // intermediate, root
	interKey crypto.Signer
	rootKey  crypto.Signer
	key      crypto.Signer // the CT log's
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	gen := func(alg keys.Algorithm) crypto.Signer {
		k, err := keys.Generate(alg)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	rootKey, interKey := gen(keys.ECDSAP256), gen(keys.ECDSAP256)
	chain, err := ca.NewHierarchy("signet test", rootKey, interKey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.New(interKey, chain)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{ca: c, chain: chain, interKey: interKey, rootKey: rootKey, key: gen(keys.ECDSAP256)}
}

func openLog(t testing.TB, dir string, key crypto.Signer, roots []*x509.Certificate) *ctlog.Log {
	t.Helper()
	l, err := tryOpenLog(t, dir, key, roots)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// tryOpenLog opens the log in dir, to be closed when the test ends.
func tryOpenLog(t testing.TB, dir string, key crypto.Signer, roots []*x509.Certificate) (*ctlog.Log, error) {
	t.Helper()
	return tryOpenLogWith(t, dir, key, roots, nil)
}

// tryOpenLogWith is tryOpenLog with options changed by mutate.
func tryOpenLogWith(t testing.TB, dir string, key crypto.Signer, roots []*x509.Certificate, mutate func(*ctlog.Options)) (*ctlog.Log, error) {
	t.Helper()
	ctx := context.Background()
	driver, err := storage.NewPOSIX(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	opts := ctlog.DefaultOptions()
	opts.BatchMaxAge = 10 * time.Millisecond
	opts.CheckpointInterval = 100 * time.Millisecond
	if mutate != nil {
		mutate(&opts)
	}
	l, err := ctlog.New(ctx, driver, ctlog.NewDirIssuers(dir), origin, key, roots, opts)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l, nil
}

func identity(i int) oidc.Identity {
	e := fmt.Sprintf("user%d@example.com", i)
	return oidc.Identity{Issuer: "https://issuer.example", Challenge: e, Email: e}
}

func leafKey(t testing.TB) crypto.PublicKey {
	t.Helper()
	k, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	return k.Public()
}

// TestIssueWithSCT issues certificates with SCTs from the log and checks
// them with certificate-transparency-go's verifier, then checks that the
// log's published checkpoint (verified with transparency-dev's RFC 6962
// note verifier) commits to exactly the leaves the SCTs promise, also
// after a restart.
func TestIssueWithSCT(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	l := openLog(t, dir, f.key, f.chain[1:])

	const n = 6
	certs := make([]*x509.Certificate, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			certs[i], errs[i] = f.ca.IssueWithSCTs(t.Context(), identity(i), leafKey(t), l)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	leaves := map[uint64][]byte{}
	for i, c := range certs {
		idx, leaf := checkSCT(t, c, f.chain[0], f.key.Public())
		if _, dup := leaves[idx]; dup {
			t.Fatalf("certificate %d: leaf index %d used twice", i, idx)
		}
		leaves[idx] = leaf
	}
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkTree(t, dir, f.key.Public(), leaves)

	// Restart: the log continues after the entries it has.
	l2 := openLog(t, dir, f.key, f.chain[1:])
	c, err := f.ca.IssueWithSCTs(t.Context(), identity(n), leafKey(t), l2)
	if err != nil {
		t.Fatal(err)
	}
	idx, leaf := checkSCT(t, c, f.chain[0], f.key.Public())
	if idx != n {
		t.Errorf("after restart: leaf index %d, want %d", idx, n)
	}
	leaves[idx] = leaf
	if err := l2.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkTree(t, dir, f.key.Public(), leaves)

	// The issuers the entries name are served.
	der, err := l2.Issuer(t.Context(), sha256.Sum256(f.chain[0].Raw))
	if err != nil || string(der) != string(f.chain[0].Raw) {
		t.Errorf("issuer: %v (%d bytes)", err, len(der))
	}
}

// checkSCT verifies the one embedded SCT of cert and returns its leaf
// index and the RFC 6962 Merkle tree leaf it promises.
func checkSCT(t *testing.T, cert, issuer *x509.Certificate, logKey crypto.PublicKey) (uint64, []byte) {
	t.Helper()
	chain := parseCT(t, cert, issuer)
	scts, err := x509util.ParseSCTsFromCertificate(cert.Raw)
	if err != nil || len(scts) != 1 {
		t.Fatalf("embedded SCTs: %v (%d)", err, len(scts))
	}
	sct := scts[0]
	if err := ctutil.VerifySCT(logKey, chain, sct, true); err != nil {
		t.Fatalf("SCT does not verify: %v", err)
	}
	id, _ := ctlog.LogID(logKey)
	if sct.LogID.KeyID != id {
		t.Errorf("SCT log ID %x, want %x", sct.LogID.KeyID, id)
	}
	if d := time.Since(ct.TimestampToTime(sct.Timestamp)); d < 0 || d > time.Minute {
		t.Errorf("SCT timestamp %v is not now", ct.TimestampToTime(sct.Timestamp))
	}
	ext := []byte(sct.Extensions)
	if len(ext) != 8 || ext[0] != 0 || ext[1] != 0 || ext[2] != 5 {
		t.Fatalf("SCT extensions %x are not one leaf_index", ext)
	}
	idx := uint64(ext[3])<<32 | uint64(ext[4])<<24 | uint64(ext[5])<<16 | uint64(ext[6])<<8 | uint64(ext[7])
	leaf, err := ct.MerkleTreeLeafForEmbeddedSCT(chain, sct.Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	leaf.TimestampedEntry.Extensions = sct.Extensions
	raw, err := tls.Marshal(*leaf)
	if err != nil {
		t.Fatal(err)
	}
	return idx, raw
}

func parseCT(t *testing.T, certs ...*x509.Certificate) []*ctx509.Certificate {
	t.Helper()
	var out []*ctx509.Certificate
	for _, c := range certs {
		p, err := ctx509.ParseCertificate(c.Raw)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// checkTree reads the log's checkpoint and checks its root hash is the
// Merkle tree of exactly leaves.
func checkTree(t *testing.T, dir string, logKey crypto.PublicKey, leaves map[uint64][]byte) {
	t.Helper()
	vkey, err := ctlog.VerifierKey(origin, logKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := fnote.NewRFC6962Verifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	// The static-ct-api checkpoint, as the POSIX layout stores it.
	raw, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	cp, _, _, err := f_log.ParseCheckpoint(raw, origin, v)
	if err != nil {
		t.Fatalf("checkpoint does not verify: %v\n%s", err, raw)
	}
	if cp.Size != uint64(len(leaves)) {
		t.Fatalf("checkpoint size %d, want %d", cp.Size, len(leaves))
	}
	idxs := make([]uint64, 0, len(leaves))
	for i := range leaves {
		idxs = append(idxs, i)
	}
	sort.Slice(idxs, func(a, b int) bool { return idxs[a] < idxs[b] })
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r := rf.NewEmptyRange(0)
	for _, i := range idxs {
		if err := r.Append(rfc6962.DefaultHasher.HashLeaf(leaves[i]), nil); err != nil {
			t.Fatal(err)
		}
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(root) != string(cp.Hash) {
		t.Fatalf("checkpoint root %x is not the tree of the SCTs' leaves %x", cp.Hash, root)
	}
}

// TestAddPreChainRejects: the log signs SCTs only for precertificates
// chaining to its roots.
func TestAddPreChainRejects(t *testing.T) {
	f := newFixture(t)
	l := openLog(t, t.TempDir(), f.key, f.chain[1:])
	other := newFixture(t)
	final, err := f.ca.Issue(identity(0), leafKey(t))
	if err != nil {
		t.Fatal(err)
	}
	pre := precert(t, f)
	otherPre := precert(t, other)
	// The precertificate re-signed with its poison extension changed.
	repoisoned := func(critical bool, value []byte) *x509.Certificate {
		tmpl := *pre
		tmpl.ExtraExtensions = nil
		for _, e := range pre.Extensions {
			if e.Id.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}) {
				e.Critical, e.Value = critical, value
			}
			if !e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 35}) { // the authority key ID is added again
				tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, e)
			}
		}
		der, err := x509.CreateCertificate(rand.Reader, &tmpl, f.chain[0], pre.PublicKey, f.interKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tt := range []struct {
		name  string
		chain []*x509.Certificate
	}{
		{"no issuer", []*x509.Certificate{pre}},
		{"final certificate, no poison", append([]*x509.Certificate{final}, f.chain...)},
		{"foreign root", append([]*x509.Certificate{otherPre}, other.chain...)},
		{"foreign CA chain ending in our root", []*x509.Certificate{otherPre, other.chain[0], f.chain[1]}},
		{"issuer missing", []*x509.Certificate{pre, f.chain[1]}},
		{"poison not critical", append([]*x509.Certificate{repoisoned(false, asn1.NullBytes)}, f.chain...)},
		{"poison not NULL", append([]*x509.Certificate{repoisoned(true, []byte{0x04, 0x00})}, f.chain...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := l.AddPreChain(t.Context(), tt.chain); !errors.Is(err, ctlog.ErrInvalidChain) {
				t.Fatalf("AddPreChain = %v, want ErrInvalidChain", err)
			}
		})
	}
	if _, err := l.AddPreChain(t.Context(), append([]*x509.Certificate{pre}, f.chain...)); err != nil {
		t.Fatalf("the good precertificate: %v", err)
	}
	if _, err := l.AddPreChain(t.Context(), append([]*x509.Certificate{repoisoned(true, asn1.NullBytes)}, f.chain...)); err != nil {
		t.Fatalf("the good precertificate re-signed: %v", err)
	}
}

// TestAddPreChainRefusesNonDER: a precertificate crypto/x509 parses but
// whose TBSCertificate is not DER (here its NotBefore is a GeneralizedTime
// before 2050) is refused: certificate-transparency-go, with which CT
// clients rebuild the entry, would re-encode it, and the log copies it.
func TestAddPreChainRefusesNonDER(t *testing.T) {
	f := newFixture(t)
	l := openLog(t, t.TempDir(), f.key, f.chain[1:])
	pre := precert(t, f)
	in := cryptobyte.String(pre.RawTBSCertificate)
	var fields, validity cryptobyte.String
	b := cryptobyte.NewBuilder(nil)
	if !in.ReadASN1(&fields, cbasn1.SEQUENCE) {
		t.Fatal("malformed TBSCertificate")
	}
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for !fields.Empty() {
			var field cryptobyte.String
			var tag cbasn1.Tag
			if !fields.ReadAnyASN1Element(&field, &tag) {
				t.Fatal("malformed TBSCertificate field")
			}
			if rest := field; !rest.ReadASN1(&validity, cbasn1.SEQUENCE) || !validity.PeekASN1Tag(cbasn1.UTCTime) {
				b.AddBytes(field)
				continue
			}
			var notBefore time.Time
			if !validity.ReadASN1UTCTime(&notBefore) {
				t.Fatal("malformed NotBefore")
			}
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1GeneralizedTime(notBefore)
				b.AddBytes(validity)
			})
		}
	})
	tbs := b.BytesOrPanic()
	digest := sha256.Sum256(tbs)
	sig, err := f.interKey.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	b = cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}) // ECDSA with SHA-256
		})
		b.AddASN1BitString(sig)
	})
	generalized, err := x509.ParseCertificate(b.BytesOrPanic())
	if err != nil {
		t.Fatal(err)
	}
	if !generalized.NotBefore.Equal(pre.NotBefore) {
		t.Fatalf("NotBefore %v, want %v", generalized.NotBefore, pre.NotBefore)
	}
	_, err = l.AddPreChain(t.Context(), append([]*x509.Certificate{generalized}, f.chain...))
	if !errors.Is(err, ctlog.ErrInvalidChain) || !strings.Contains(err.Error(), "validity") {
		t.Fatalf("AddPreChain = %v, want ErrInvalidChain about the validity", err)
	}
}

// TestAddPreChainRechecksChangedIssuers: issuing-chain links the log has
// verified are remembered by their exact bytes, so an intermediate whose
// signature was tampered with is refused even after the genuine one was
// accepted.
func TestAddPreChainRechecksChangedIssuers(t *testing.T) {
	f := newFixture(t)
	l := openLog(t, t.TempDir(), f.key, f.chain[1:])
	if _, err := l.AddPreChain(t.Context(), append([]*x509.Certificate{precert(t, f)}, f.chain...)); err != nil {
		t.Fatalf("the good precertificate: %v", err)
	}
	raw := bytes.Clone(f.chain[0].Raw)
	raw[len(raw)-1] ^= 1 // the last byte of the intermediate's signature
	forged, err := x509.ParseCertificate(raw)
	if err != nil {
		t.Fatal(err)
	}
	chain := []*x509.Certificate{precert(t, f), forged, f.chain[1]}
	if _, err := l.AddPreChain(t.Context(), chain); !errors.Is(err, ctlog.ErrInvalidChain) {
		t.Fatalf("AddPreChain with a forged intermediate signature = %v, want ErrInvalidChain", err)
	}
	// The genuine chain is still accepted from memory.
	if _, err := l.AddPreChain(t.Context(), append([]*x509.Certificate{precert(t, f)}, f.chain...)); err != nil {
		t.Fatalf("the good precertificate again: %v", err)
	}
}

// precert captures the precertificate f's CA submits.
func precert(t testing.TB, f fixture) *x509.Certificate {
	t.Helper()
	var c capture
	if _, err := f.ca.IssueWithSCTs(t.Context(), identity(1), leafKey(t), &c); err == nil || c.pre == nil {
		t.Fatalf("capture precertificate: %v", err)
	}
	return c.pre
}

type capture struct{ pre *x509.Certificate }

func (c *capture) AddPreChain(_ context.Context, chain []*x509.Certificate) ([]byte, error) {
	c.pre = chain[0]
	return nil, errors.New("captured")
}

func TestNewRejectsBadKeysAndOrigins(t *testing.T) {
	f := newFixture(t)
	ed, _ := keys.Generate(keys.Ed25519)
	for _, tt := range []struct {
		name   string
		origin string
		key    crypto.Signer
	}{
		{"ed25519 key", origin, ed},
		{"origin with scheme", "https://signet.test/ct", f.key},
		{"upper case origin", "Signet.test/ct", f.key},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			driver, err := storage.NewPOSIX(t.Context(), filepath.Join(dir, "log"))
			if err != nil {
				t.Fatal(err)
			}
			if l, err := ctlog.New(t.Context(), driver, ctlog.NewDirIssuers(dir), tt.origin, tt.key, f.chain[1:], ctlog.DefaultOptions()); err == nil {
				l.Close(t.Context())
				t.Fatal("New succeeded")
			}
		})
	}
}
