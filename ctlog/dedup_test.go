package ctlog_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/ctutil"
	"github.com/google/certificate-transparency-go/tls"
	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/signetproject/signet/ca"
	"github.com/signetproject/signet/ctlog"
	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/tlog/storage"
)

// steppingClock returns a clock a second later at every reading, so that
// an SCT signed with the time of a later submission would show.
func steppingClock() func() time.Time {
	start, n := time.Now(), atomic.Int64{}
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * time.Second) }
}

// TestAddDeduplicates: a certificate or precertificate submitted again —
// with the same chain, with its root left out, with its signature made
// again over the same TBS — gets an SCT for the entry the log has: its
// leaf index and timestamp, signed by the log, matching the data tile
// entry byte for byte. The same TBS under another issuer key is another
// entry, as are other certificates; the tree holds each entry once.
func TestAddDeduplicates(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	l := openLog(t, dir, f.key, f.chain[1:])
	ctlog.SetNow(l, steppingClock())
	inter, root := f.chain[0], f.chain[1]
	pre := precert(t, f)
	other2, other2Key := sameNameIntermediate(t, f)

	first := addOK(t, l, []*x509.Certificate{pre, inter, root}, true)
	if idx := checkStored(t, l, f.key.Public(), first, pre, inter); idx != 0 {
		t.Fatalf("first entry at %d", idx)
	}
	for _, tt := range []struct {
		name  string
		chain []*x509.Certificate
	}{
		{"same chain", []*x509.Certificate{pre, inter, root}},
		{"root left out", []*x509.Certificate{pre, inter}},
		{"precertificate signed again", []*x509.Certificate{resign(t, pre, inter, f.interKey), inter, root}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sct := addOK(t, l, tt.chain, true)
			if sct.Timestamp != first.Timestamp || !bytes.Equal(sct.Extensions, first.Extensions) {
				t.Fatalf("resubmission: timestamp %d, extensions %x; want the first entry's %d, %x", sct.Timestamp, sct.Extensions, first.Timestamp, first.Extensions)
			}
			checkStored(t, l, f.key.Public(), sct, tt.chain[0], tt.chain[1])
		})
	}

	// The same TBS certificate signed by another intermediate (same name,
	// other key): another issuer key hash, so another entry, whose SCT
	// verifies with that issuer.
	otherIssuer := resign(t, pre, other2, other2Key)
	sct := addOK(t, l, []*x509.Certificate{otherIssuer, other2, root}, true)
	if idx := checkStored(t, l, f.key.Public(), sct, otherIssuer, other2); idx != 1 {
		t.Fatalf("same TBS, other issuer key: entry %d, want a new entry 1", idx)
	}

	// A final certificate, through either chain, is one entry.
	final, err := f.ca.Issue(identity(0), leafKey(t))
	if err != nil {
		t.Fatal(err)
	}
	a := addOK(t, l, []*x509.Certificate{final, inter}, false)
	b := addOK(t, l, []*x509.Certificate{final, inter, root}, false)
	if checkStored(t, l, f.key.Public(), a, final, nil) != 2 || checkStored(t, l, f.key.Public(), b, final, nil) != 2 || a.Timestamp != b.Timestamp {
		t.Fatalf("final certificate: entries %x at %d and %x at %d, want entry 2 twice", a.Extensions, a.Timestamp, b.Extensions, b.Timestamp)
	}
	pre2 := precert(t, f)
	if idx := checkStored(t, l, f.key.Public(), addOK(t, l, []*x509.Certificate{pre2, inter, root}, true), pre2, inter); idx != 3 {
		t.Fatalf("another precertificate: entry %d, want 3", idx)
	}
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if cp := readCTCheckpoint(t, dir, f); cp.Size != 4 {
		t.Fatalf("the tree has %d entries, want 4", cp.Size)
	}
}

// TestAddConcurrentDuplicates: racing submissions of one precertificate
// (through two chains) make one entry, and every one of them gets an SCT
// for it that matches the stored entry.
func TestAddConcurrentDuplicates(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	l := openLog(t, dir, f.key, f.chain[1:])
	ctlog.SetNow(l, steppingClock())
	pre := precert(t, f)
	const n = 16
	scts, errs := make([]*ct.SignedCertificateTimestamp, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		chain := append([]*x509.Certificate{pre}, f.chain[:1+i%2]...)
		wg.Go(func() { scts[i], errs[i] = l.Add(t.Context(), chain, true) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i, sct := range scts {
		if idx := checkStored(t, l, f.key.Public(), sct, pre, f.chain[0]); idx != 0 || sct.Timestamp != scts[0].Timestamp {
			t.Errorf("submission %d: entry %d at %d, want entry 0 at %d", i, idx, sct.Timestamp, scts[0].Timestamp)
		}
	}
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if cp := readCTCheckpoint(t, dir, f); cp.Size != 1 {
		t.Fatalf("the tree has %d entries, want 1", cp.Size)
	}
}

// TestAddDedupForgetting: with deduplication off, and after a restart
// (the log remembers entries in memory only), a resubmission is a new
// entry, and its SCT names it.
func TestAddDedupForgetting(t *testing.T) {
	f := newFixture(t)
	pre := precert(t, f)
	chain := []*x509.Certificate{pre, f.chain[0]}
	l, err := tryOpenLogWith(t, t.TempDir(), f.key, f.chain[1:], func(o *ctlog.Options) { o.DedupCacheSize = 0 })
	if err != nil {
		t.Fatal(err)
	}
	addOK(t, l, chain, true)
	if idx := checkStored(t, l, f.key.Public(), addOK(t, l, chain, true), pre, f.chain[0]); idx != 1 {
		t.Fatalf("deduplication off: resubmission at %d, want a new entry 1", idx)
	}

	dir := t.TempDir()
	l = openLog(t, dir, f.key, f.chain[1:])
	addOK(t, l, chain, true)
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, f.key, f.chain[1:])
	if idx := checkStored(t, l, f.key.Public(), addOK(t, l, chain, true), pre, f.chain[0]); idx != 1 {
		t.Fatalf("after a restart: resubmission at %d, want a new entry 1", idx)
	}
}

// TestAddNotAfter: add-chain and add-pre-chain refuse expired
// certificates and, with a NotAfter window, certificates expiring outside
// it; the CA's in-process AddPreChain is not held to either.
func TestAddNotAfter(t *testing.T) {
	f := newFixture(t)
	final, err := f.ca.Issue(identity(0), leafKey(t))
	if err != nil {
		t.Fatal(err)
	}
	pre := precert(t, f)
	na, pna := final.NotAfter, pre.NotAfter // a second or more apart under load
	later := func() time.Time { return na.Add(time.Second) }
	for _, tt := range []struct {
		name   string
		opts   func(*ctlog.Options)
		now    func() time.Time
		chain  []*x509.Certificate
		pre    bool
		want   string // "" for accepted
		inProc bool   // through AddPreChain
	}{
		{"unexpired", nil, nil, []*x509.Certificate{final, f.chain[0]}, false, "", false},
		{"expired", nil, later, []*x509.Certificate{final, f.chain[0]}, false, "certificate expired at", false},
		{"expired precertificate", nil, func() time.Time { return pre.NotAfter.Add(time.Millisecond) }, []*x509.Certificate{pre, f.chain[0]}, true, "certificate expired at", false},
		{"expired, in-process", nil, func() time.Time { return pna.Add(time.Second) }, []*x509.Certificate{pre, f.chain[0]}, true, "", true},
		{"before the window", func(o *ctlog.Options) { o.NotAfterStart = na.Add(time.Second) }, nil, []*x509.Certificate{final, f.chain[0]}, false, "where this log's NotAfter window starts", false},
		{"at the window's start", func(o *ctlog.Options) { o.NotAfterStart = na }, nil, []*x509.Certificate{final, f.chain[0]}, false, "", false},
		{"at the window's limit", func(o *ctlog.Options) { o.NotAfterLimit = pna }, nil, []*x509.Certificate{pre, f.chain[0]}, true, "where this log's NotAfter window ends", false},
		{"inside the window", func(o *ctlog.Options) { o.NotAfterStart, o.NotAfterLimit = pna.Add(-time.Second), pna.Add(time.Second) }, nil, []*x509.Certificate{pre, f.chain[0]}, true, "", false},
		{"outside the window, in-process", func(o *ctlog.Options) { o.NotAfterLimit = pna }, nil, []*x509.Certificate{pre, f.chain[0]}, true, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := tryOpenLogWith(t, t.TempDir(), f.key, f.chain[1:], tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if tt.now != nil {
				ctlog.SetNow(l, tt.now)
			}
			if tt.inProc {
				_, err = l.AddPreChain(t.Context(), tt.chain)
			} else {
				_, err = l.Add(t.Context(), tt.chain, tt.pre)
			}
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (!errors.Is(err, ctlog.ErrInvalidChain) || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Add = %v, want ErrInvalidChain saying %q", err, tt.want)
			}
		})
	}
}

func TestOptionsNotAfterWindow(t *testing.T) {
	o := ctlog.DefaultOptions()
	o.NotAfterStart = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	o.NotAfterLimit = o.NotAfterStart
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "is not before its limit") {
		t.Fatalf("empty window: Validate = %v", err)
	}
	o.NotAfterLimit = o.NotAfterStart.Add(time.Hour)
	if err := o.Validate(); err != nil {
		t.Fatalf("window of an hour: %v", err)
	}
}

func addOK(t *testing.T, l *ctlog.Log, chain []*x509.Certificate, precert bool) *ct.SignedCertificateTimestamp {
	t.Helper()
	sct, err := l.Add(t.Context(), chain, precert)
	if err != nil {
		t.Fatal(err)
	}
	return sct
}

// checkStored verifies sct, the log's SCT for cert (a precertificate when
// issuer is given), against logKey, and checks that the data tile entry at its leaf index is the
// entry it promises, with its timestamp. It returns the leaf index.
func checkStored(t *testing.T, l *ctlog.Log, logKey crypto.PublicKey, sct *ct.SignedCertificateTimestamp, cert, issuer *x509.Certificate) uint64 {
	t.Helper()
	ext := []byte(sct.Extensions)
	if len(ext) != 8 || ext[0] != 0 || ext[1] != 0 || ext[2] != 5 {
		t.Fatalf("SCT extensions %x are not one leaf_index", ext)
	}
	idx := uint64(ext[3])<<32 | uint64(ext[4])<<24 | uint64(ext[5])<<16 | uint64(ext[6])<<8 | uint64(ext[7])
	chain, etype := parseCT(t, cert), ct.X509LogEntryType
	if issuer != nil {
		chain, etype = parseCT(t, cert, issuer), ct.PrecertLogEntryType
	}
	if err := ctutil.VerifySCT(logKey, chain, sct, false); err != nil {
		t.Fatalf("SCT does not verify with the log's key: %v", err)
	}
	leaf, err := ct.MerkleTreeLeafFromChain(chain, etype, sct.Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	leaf.TimestampedEntry.Extensions = sct.Extensions
	raw, err := tls.Marshal(*leaf)
	if err != nil {
		t.Fatal(err)
	}
	size := waitForCoverage(t, l, idx+1)
	tile, err := l.ReadEntryBundle(t.Context(), 0, uint8(size))
	if err != nil {
		t.Fatal(err)
	}
	hashes, err := ctlog.DataTileLeafHashes(tile, int(size))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(hashes[idx], rfc6962.DefaultHasher.HashLeaf(raw)) {
		t.Fatalf("the data tile entry %d is not the one the SCT (timestamp %d) promises", idx, sct.Timestamp)
	}
	return idx
}

// waitForCoverage waits until l's checkpoint covers at least n (< 256)
// entries and returns its size.
func waitForCoverage(t *testing.T, l *ctlog.Log, n uint64) uint64 {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		raw, err := l.ReadCheckpoint(t.Context())
		var cp f_log.Checkpoint
		if err == nil {
			_, err = cp.Unmarshal(raw[:bytes.Index(raw, []byte("\n\n"))+1])
		}
		if err == nil && cp.Size >= n {
			if cp.Size >= 256 {
				t.Fatalf("checkpoint size %d: the test reads the first data tile only", cp.Size)
			}
			return cp.Size
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint covers %d entries, want %d (%v)", cp.Size, n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// resign returns c with its TBS certificate signed again by key (ECDSA
// signatures differ every time): other certificate bytes, the same TBS.
func resign(t *testing.T, c, issuer *x509.Certificate, key crypto.Signer) *x509.Certificate {
	t.Helper()
	var parts struct {
		TBS asn1.RawValue
		Alg pkix.AlgorithmIdentifier
		Sig asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.Raw, &parts); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(c.RawTBSCertificate)
	sig, err := key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	parts.Sig = asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}
	der, err := asn1.Marshal(parts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.CheckSignatureFrom(issuer); err != nil || !bytes.Equal(out.RawTBSCertificate, c.RawTBSCertificate) || bytes.Equal(out.Raw, c.Raw) {
		t.Fatalf("re-signed certificate: %v", err)
	}
	return out
}

// sameNameIntermediate returns a second intermediate under f's root, with
// the name of f's, and its key.
func sameNameIntermediate(t *testing.T, f fixture) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.NewIntermediate("signet test", f.chain[1], f.rootKey, key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.RawSubject, f.chain[0].RawSubject) {
		t.Fatal("the second intermediate has another name")
	}
	return c, key
}

// flakyIssuers is an issuer store whose first AddIssuer fails.
type flakyIssuers struct {
	ctlog.IssuerStore
	failed atomic.Bool
}

func (f *flakyIssuers) AddIssuer(ctx context.Context, fp [32]byte, der []byte) error {
	if !f.failed.Swap(true) {
		return errors.New("issuer store down")
	}
	return f.IssuerStore.AddIssuer(ctx, fp, der)
}

// TestAddFailureNotRemembered: a submission that fails before it is
// sequenced (here: storing its issuer) gets an error, not an SCT, and is
// not remembered: submitted again, it is logged as the first entry.
func TestAddFailureNotRemembered(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	driver, err := storage.NewPOSIX(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	opts := ctlog.DefaultOptions()
	opts.CheckpointInterval = 100 * time.Millisecond
	l, err := ctlog.New(t.Context(), driver, &flakyIssuers{IssuerStore: ctlog.NewDirIssuers(dir)}, origin, f.key, f.chain[1:], opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	pre := precert(t, f)
	chain := []*x509.Certificate{pre, f.chain[0], f.chain[1]}
	if sct, err := l.Add(t.Context(), chain, true); err == nil || !strings.Contains(err.Error(), "issuer store down") {
		t.Fatalf("Add with the issuer store down = %v, %v; want its error", sct, err)
	}
	if idx := checkStored(t, l, f.key.Public(), addOK(t, l, chain, true), pre, f.chain[0]); idx != 0 {
		t.Fatalf("after the failure: entry %d, want 0", idx)
	}
}
