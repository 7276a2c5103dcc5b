package tlog

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	rekorv1 "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/signetproject/signet/tlog/storage"
	"github.com/signetproject/signet/trustroot"
)

// checkEntry verifies tle's checkpoint signature and inclusion proof
// independently of the log and returns the checkpoint.
func checkEntry(t *testing.T, l *Log, tle *rekorv1.TransparencyLogEntry) *f_log.Checkpoint {
	t.Helper()
	ip := tle.GetInclusionProof()
	cp, _, _, err := f_log.ParseCheckpoint([]byte(ip.GetCheckpoint().GetEnvelope()), testOrigin, l.Verifier())
	if err != nil {
		t.Fatalf("entry %d: checkpoint: %v", tle.GetLogIndex(), err)
	}
	if uint64(ip.GetTreeSize()) != cp.Size || !bytes.Equal(ip.GetRootHash(), cp.Hash) || ip.GetLogIndex() != tle.GetLogIndex() {
		t.Fatalf("entry %d: proof fields (size %d, root %x, index %d) disagree with checkpoint (%d, %x)", tle.GetLogIndex(), ip.GetTreeSize(), ip.GetRootHash(), ip.GetLogIndex(), cp.Size, cp.Hash)
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(tle.GetCanonicalizedBody())
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(tle.GetLogIndex()), cp.Size, leaf, ip.GetHashes(), cp.Hash); err != nil {
		t.Fatalf("entry %d: inclusion proof: %v", tle.GetLogIndex(), err)
	}
	if !bytes.Equal(tle.GetLogId().GetKeyId(), l.LogID()) {
		t.Fatalf("entry %d: log ID %x, want %x", tle.GetLogIndex(), tle.GetLogId().GetKeyId(), l.LogID())
	}
	return cp
}

func appendConcurrently(t *testing.T, l *Log, s *testSigner, prefix string, clients, perClient int) []*rekorv1.TransparencyLogEntry {
	t.Helper()
	reqs := make([]*rekorpb.CreateEntryRequest, clients*perClient)
	for i := range reqs {
		reqs[i] = s.HashedRekord(t, fmt.Appendf(nil, "%s artifact %d", prefix, i), s.CertVerifier())
	}
	out := make([]*rekorv1.TransparencyLogEntry, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := c * perClient; i < (c+1)*perClient; i++ {
				out[i], errs[i] = l.Append(context.Background(), reqs[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConcurrentAppendAndReopen(t *testing.T) {
	ctx := context.Background()
	dir, key, s := t.TempDir(), newLogKey(t), newTestSigner(t)
	l := openTestLog(t, dir, key, DefaultOptions())

	const clients, perClient = 16, 6
	first := appendConcurrently(t, l, s, "first", clients, perClient)
	seen := map[int64]bool{}
	for _, tle := range first {
		checkEntry(t, l, tle)
		if seen[tle.GetLogIndex()] {
			t.Fatalf("index %d assigned twice", tle.GetLogIndex())
		}
		seen[tle.GetLogIndex()] = true
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, s.HashedRekord(t, []byte("after close"), s.KeyVerifier())); err == nil {
		t.Error("Append after Close succeeded")
	}

	reopened := openTestLog(t, dir, key, DefaultOptions())
	oldCP, _, err := reopened.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if oldCP.Size != clients*perClient {
		t.Fatalf("reopened log has size %d, want %d", oldCP.Size, clients*perClient)
	}
	second := appendConcurrently(t, reopened, s, "second", 4, 4)
	for _, tle := range second {
		checkEntry(t, reopened, tle)
		if tle.GetLogIndex() < int64(oldCP.Size) {
			t.Fatalf("entry appended after reopening got old index %d", tle.GetLogIndex())
		}
	}
	newCP, _, err := reopened.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cproof, err := reopened.ConsistencyProof(ctx, oldCP.Size, newCP.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, oldCP.Size, newCP.Size, cproof, oldCP.Hash, newCP.Hash); err != nil {
		t.Errorf("checkpoints before and after reopening are inconsistent: %v", err)
	}
	// Every entry from before the restart is still provable in the new tree.
	for _, tle := range first {
		got, err := reopened.EntryAt(ctx, uint64(tle.GetLogIndex()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.GetCanonicalizedBody(), tle.GetCanonicalizedBody()) {
			t.Fatalf("entry %d changed after reopening", tle.GetLogIndex())
		}
		checkEntry(t, reopened, got)
	}
}

func TestDuplicates(t *testing.T) {
	ctx := context.Background()
	s := newTestSigner(t)
	req := s.HashedRekord(t, []byte("twice"), s.CertVerifier())

	t.Run("deduplicated", func(t *testing.T) {
		l := openTestLog(t, t.TempDir(), newLogKey(t), DefaultOptions())
		first, err := l.Append(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.Append(ctx, proto.Clone(req).(*rekorpb.CreateEntryRequest))
		if diff := cmp.Diff(&DuplicateError{Index: 0}, err); diff != "" {
			t.Fatalf("second Append error mismatch (-want +got):\n%s", diff)
		}
		existing, err := l.EntryAt(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, existing, protocmp.Transform()); diff != "" {
			t.Errorf("EntryAt differs from the appended entry (-append +EntryAt):\n%s", diff)
		}
		if _, err := l.Append(ctx, s.HashedRekord(t, []byte("next"), s.CertVerifier())); err != nil {
			t.Errorf("Append after a duplicate: %v", err)
		}
	})
	t.Run("dedup off", func(t *testing.T) {
		opts := DefaultOptions()
		opts.DedupCacheSize = 0
		l := openTestLog(t, t.TempDir(), newLogKey(t), opts)
		for i := range 2 {
			tle, err := l.Append(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if tle.GetLogIndex() != int64(i) {
				t.Errorf("append %d got index %d", i, tle.GetLogIndex())
			}
			checkEntry(t, l, tle)
		}
	})
}

func TestAppendRejectsInvalidRequests(t *testing.T) {
	ctx := context.Background()
	l := openTestLog(t, t.TempDir(), newLogKey(t), DefaultOptions())
	s := newTestSigner(t)
	bad := s.HashedRekord(t, []byte("a"), s.CertVerifier())
	hr(bad).Digest[0] ^= 1
	if _, err := l.Append(ctx, bad); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("Append(bad signature) = %v, want ErrInvalidSignature", err)
	}
	// A dsse entry with ten certificates of ~7 KiB each is larger than a
	// tlog-tiles entry may be.
	env := s.Envelope(t, "text/plain", []byte("x"))
	vs := []*rekorpb.Verifier{s.CertVerifier()}
	for len(env.Signatures) < maxDSSESignatures {
		o := newLargeCertSigner(t, 7000)
		env.Signatures = append(env.Signatures, o.Envelope(t, "text/plain", []byte("x")).Signatures[0])
		vs = append(vs, o.CertVerifier())
	}
	if _, err := l.Append(ctx, dsseRequest(env, vs...)); !errors.Is(err, ErrEntryTooLarge) {
		t.Errorf("Append(oversized entry) = %v, want ErrEntryTooLarge", err)
	}
	switch cp, _, err := l.Checkpoint(ctx); {
	case errors.Is(err, os.ErrNotExist): // nothing published yet
	case err != nil:
		t.Fatal(err)
	case cp.Size != 0:
		t.Errorf("rejected requests were appended: tree size %d", cp.Size)
	}
}

func TestReadSide(t *testing.T) {
	ctx := context.Background()
	l := openTestLog(t, t.TempDir(), newLogKey(t), DefaultOptions())
	s := newTestSigner(t)
	tles := appendConcurrently(t, l, s, "read", 3, 1)

	cp, raw, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != 3 || cp.Origin != testOrigin {
		t.Fatalf("checkpoint = %+v, want size 3 and origin %q", cp, testOrigin)
	}
	direct, err := l.ReadCheckpoint(ctx)
	if err != nil || !bytes.Equal(direct, raw) {
		t.Fatalf("ReadCheckpoint = %q, %v; want %q", direct, err, raw)
	}

	tile, err := l.ReadTile(ctx, 0, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	var leaves [][]byte
	for i := 0; i < len(tile); i += 32 {
		leaves = append(leaves, tile[i:i+32])
	}
	bundleRaw, err := l.ReadEntryBundle(ctx, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	var b api.EntryBundle
	if err := b.UnmarshalText(bundleRaw); err != nil {
		t.Fatal(err)
	}
	var wantLeaves, gotBodies, wantBodies [][]byte
	for i := range b.Entries {
		wantLeaves = append(wantLeaves, rfc6962.DefaultHasher.HashLeaf(b.Entries[i]))
		gotBodies = append(gotBodies, b.Entries[i])
	}
	for _, tle := range tles {
		wantBodies = append(wantBodies, tle.GetCanonicalizedBody())
	}
	sortBytes := cmpopts.SortSlices(func(a, b []byte) bool { return bytes.Compare(a, b) < 0 })
	if diff := cmp.Diff(wantLeaves, leaves); diff != "" {
		t.Errorf("tile 0/000 does not hash the entry bundle (-bundle +tile):\n%s", diff)
	}
	if diff := cmp.Diff(wantBodies, gotBodies, sortBytes); diff != "" {
		t.Errorf("entry bundle does not hold the appended entries (-appended +bundle):\n%s", diff)
	}

	for name, read := range map[string]func() error{
		"tile":         func() error { _, err := l.ReadTile(ctx, 0, 7, 0); return err },
		"entry bundle": func() error { _, err := l.ReadEntryBundle(ctx, 7, 0); return err },
		"entry":        func() error { _, err := l.EntryAt(ctx, 3); return err },
	} {
		if err := read(); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("reading a missing %s = %v, want os.ErrNotExist", name, err)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Options)
		wantErr bool
	}{
		{name: "defaults", mutate: func(*Options) {}},
		{name: "zero batch size", mutate: func(o *Options) { o.BatchMaxSize = 0 }, wantErr: true},
		{name: "zero batch age", mutate: func(o *Options) { o.BatchMaxAge = 0 }, wantErr: true},
		{name: "zero checkpoint interval", mutate: func(o *Options) { o.CheckpointInterval = 0 }, wantErr: true},
		{name: "zero poll interval", mutate: func(o *Options) { o.PollInterval = 0 }, wantErr: true},
		{name: "zero pushback", mutate: func(o *Options) { o.PushbackMaxOutstanding = 0 }, wantErr: true},
		{name: "unknown algorithm", mutate: func(o *Options) { o.Algorithms = append(o.Algorithms, 999) }, wantErr: true},
		{name: "dedup off", mutate: func(o *Options) { o.DedupCacheSize = 0 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.mutate(&o)
			if err := o.Validate(); (err != nil) != tc.wantErr {
				t.Errorf("Validate() = %v, want error: %v", err, tc.wantErr)
			}
		})
	}
}

func TestNewRejectsBadSetup(t *testing.T) {
	ctx := context.Background()
	d, err := storage.NewPOSIX(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		origin string
		key    crypto.Signer
	}{
		{name: "empty origin", origin: "", key: newLogKey(t)},
		{name: "origin with space", origin: "a b", key: newLogKey(t)},
		{name: "origin with plus", origin: "a+b", key: newLogKey(t)},
		{name: "no key", origin: testOrigin},
		{name: "ECDSA key", origin: testOrigin, key: newTestSigner(t).Key},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(ctx, d, tc.origin, tc.key, DefaultOptions()); err == nil {
				t.Error("New succeeded")
			}
		})
	}
	opts := DefaultOptions()
	opts.CheckpointInterval = 10 * time.Millisecond // below the POSIX driver's minimum
	if _, err := New(ctx, d, testOrigin, newLogKey(t), opts); err == nil {
		t.Error("New accepted a checkpoint interval the POSIX driver refuses")
	}
}

func TestTransparencyLogInstance(t *testing.T) {
	l := openTestLog(t, t.TempDir(), newLogKey(t), DefaultOptions())
	if _, err := l.TransparencyLogInstance("https://elsewhere.test", time.Now()); err == nil {
		t.Error("TransparencyLogInstance accepted a base URL whose host is not the origin")
	}
	inst, err := l.TransparencyLogInstance("https://"+testOrigin+":8443/", time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	want, err := trustroot.RekorV2LogID(testOrigin, l.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if got := inst.GetLogId().GetKeyId(); !bytes.Equal(got, want) {
		t.Errorf("log ID %x, want %x", got, want)
	}
	if got := l.CheckpointKeyID(); !bytes.Equal(got, l.LogID()[:4]) {
		t.Errorf("checkpoint key ID %x is not the log ID's prefix", got)
	}
	// The checkpoint key ID is the key hash in the note verifier key.
	if got, want := l.Verifier().KeyHash(), uint32(l.LogID()[0])<<24|uint32(l.LogID()[1])<<16|uint32(l.LogID()[2])<<8|uint32(l.LogID()[3]); got != want {
		t.Errorf("note key hash %08x, want %08x", got, want)
	}
}

// TestCheckpointCache checks that the log verifies each checkpoint it has
// not verified from exactly the same bytes: the last two verified are
// remembered, and a checkpoint differing from them in one byte (here, its
// signature) is verified, and refused.
func TestCheckpointCache(t *testing.T) {
	ctx := context.Background()
	l := openTestLog(t, t.TempDir(), newLogKey(t), DefaultOptions())
	s := newTestSigner(t)
	var cps [][]byte
	for i := range 3 {
		if _, err := l.Append(ctx, s.HashedRekord(t, fmt.Appendf(nil, "artifact %d", i), s.CertVerifier())); err != nil {
			t.Fatal(err)
		}
		_, raw, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, raw)
	}
	for i, raw := range cps {
		if _, err := l.verifiedCheckpoint(raw); err != nil {
			t.Fatalf("checkpoint %d: %v", i, err)
		}
	}
	// cps[1] and cps[2] are remembered; each forgery differs from one.
	for i, raw := range cps {
		forged := bytes.Clone(raw)
		forged[len(forged)-10] ^= 1 // in the signature's base64
		if _, err := l.verifiedCheckpoint(forged); !errors.Is(err, ErrIntegrity) {
			t.Errorf("checkpoint %d with a damaged signature: err = %v, want ErrIntegrity", i, err)
		}
		if p, err := l.verifiedCheckpoint(raw); err != nil || !bytes.Equal(p.raw, raw) || p.envelope != string(raw) {
			t.Errorf("checkpoint %d: %v", i, err)
		}
	}
}

// TestInclusionProofChecked checks that the log verifies the inclusion
// proof it builds for an append against the checkpoint before returning
// it: proving a leaf hash the tree does not hold at that index fails.
func TestInclusionProofChecked(t *testing.T) {
	ctx := context.Background()
	l := openTestLog(t, t.TempDir(), newLogKey(t), DefaultOptions())
	s := newTestSigner(t)
	var entries []*rekorv1.TransparencyLogEntry
	for i := range 3 {
		e, err := l.Append(ctx, s.HashedRekord(t, fmt.Appendf(nil, "artifact %d", i), s.CertVerifier()))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	_, cpRaw, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		index := uint64(e.GetLogIndex())
		leaf := rfc6962.DefaultHasher.HashLeaf(e.GetCanonicalizedBody())
		if _, err := l.inclusionProofAt(ctx, index, leaf, cpRaw); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		other := rfc6962.DefaultHasher.HashLeaf(entries[(i+1)%len(entries)].GetCanonicalizedBody())
		if p, err := l.inclusionProofAt(ctx, index, other, cpRaw); err == nil {
			t.Errorf("entry %d: proved another entry's leaf at its index: %v", i, p)
		}
	}
}
