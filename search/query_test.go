package search

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/transparency-dev/merkle/rfc6962"
)

func TestPlanQuery(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	for _, tt := range []struct {
		q       Query
		keys    []string
		indexes []uint64
		err     bool
	}{
		{q: Query{Value: "Alice@Example.com "}, keys: []string{"identity:alice@example.com", "issuer:alice@example.com"}},
		{q: Query{Value: "https://github.com/o/r/", Kind: KindIdentity}, keys: []string{"identity:https://github.com/o/r"}},
		{q: Query{Value: "42"}, indexes: []uint64{42}},
		{q: Query{Value: "sha256:" + strings.ToUpper(hex64)}, keys: []string{"sha256:" + hex64}},
		{q: Query{Value: hex64}, keys: []string{"sha256:" + hex64, "key:" + hex64, "uuid:" + hex64}},
		{q: Query{Value: "0123456789abcdef" + hex64}, keys: []string{"uuid:" + hex64}},
		{q: Query{Value: strings.Repeat("AB:", 31) + "AB", Kind: KindFingerprint}, keys: []string{"key:" + hex64}},
		{q: Query{Value: ""}, err: true},
		{q: Query{Value: strings.Repeat("a", MaxQueryLength+1)}, err: true},
		{q: Query{Value: "sha256:abc"}, err: true},
		{q: Query{Value: "-1", Kind: KindIndex}, err: true},
		{q: Query{Value: "x", Kind: KindUUID}, err: true},
		{q: Query{Value: "x", Kind: "nope"}, err: true},
	} {
		p, err := planQuery(tt.q)
		if tt.err {
			if !errors.Is(err, ErrInvalidQuery) {
				t.Errorf("planQuery(%+v) error = %v, want ErrInvalidQuery", tt.q, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("planQuery(%+v): %v", tt.q, err)
			continue
		}
		if d := cmp.Diff(tt.keys, p.keys); d != "" {
			t.Errorf("planQuery(%+v) keys (-want +got):\n%s", tt.q, d)
		}
		if d := cmp.Diff(tt.indexes, p.indexes); d != "" {
			t.Errorf("planQuery(%+v) indexes (-want +got):\n%s", tt.q, d)
		}
	}
}

func TestCheckProof(t *testing.T) {
	leaves := [][]byte{[]byte("a"), []byte("b")}
	h := rfc6962.DefaultHasher
	root := h.HashChildren(h.HashLeaf(leaves[0]), h.HashLeaf(leaves[1]))
	if ps := checkProof(0, leaves[0], 2, [][]byte{h.HashLeaf(leaves[1])}, root, "cp"); !ps.Verified || ps.Err != "" {
		t.Errorf("good proof: %+v", ps)
	}
	for name, ps := range map[string]ProofStatus{
		"other leaf":  checkProof(0, []byte("x"), 2, [][]byte{h.HashLeaf(leaves[1])}, root, "cp"),
		"other root":  checkProof(0, leaves[0], 2, [][]byte{h.HashLeaf(leaves[1])}, h.HashLeaf(nil), "cp"),
		"short proof": checkProof(0, leaves[0], 2, nil, root, "cp"),
	} {
		if ps.Verified || ps.Err == "" {
			t.Errorf("%s: verified %+v", name, ps)
		}
	}
}

func TestFileIndexOrderPagingAndReset(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.jsonl")
	x, err := OpenFileIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	add := func(log Log, i uint64, tm int64, keys ...string) {
		t.Helper()
		if err := x.Add(ctx, []IndexEntry{{Posting{Log: log, Index: i, Time: tm}, keys}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Add(ctx, []IndexEntry{{Posting{Log: LogV2, Index: 7, Time: 1, Summary: &Summary{Kind: "dsse 0.0.2", Identity: "<b>"}}, []string{"s"}}}); err != nil {
		t.Fatal(err)
	}
	if page, _, err := x.Lookup(ctx, []string{"s"}, 0, 1); err != nil || len(page) != 1 || page[0].Summary == nil || page[0].Summary.Identity != "<b>" {
		t.Errorf("summary not kept: %+v %v", page, err)
	}
	add(LogV2, 0, 100, "k", "a")
	add(LogV1, 0, 101, "k")
	add(LogV2, 1, 101, "k", "b")
	add(LogV2, 0, 999, "k", "c") // the first time is kept
	page, total, err := x.Lookup(ctx, []string{"k"}, 0, 2)
	want := []Posting{{Log: LogV2, Index: 1, Time: 101}, {Log: LogV1, Index: 0, Time: 101}}
	if err != nil || total != 3 || !cmp.Equal(page, want) {
		t.Errorf("Lookup k = %v, %d, %v; want %v, 3", page, total, err, want)
	}
	page, total, _ = x.Lookup(ctx, []string{"a", "b", "c", "k"}, 2, 5)
	if total != 3 || !cmp.Equal(page, []Posting{{Log: LogV2, Index: 0, Time: 100}}) {
		t.Errorf("Lookup a,b,c,k page 2 = %v of %d", page, total)
	}
	if err := x.SetFollowed(ctx, LogV2, 2, 0); err != nil {
		t.Fatal(err)
	}
	// Reopening replays the file.
	x.Close()
	if x, err = OpenFileIndex(path); err != nil {
		t.Fatal(err)
	}
	if n, gen, _ := x.Followed(ctx, LogV2); n != 2 || gen != 0 {
		t.Errorf("followed = %d gen %d after reopening", n, gen)
	}
	if err := x.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	// A follow of the old generation cannot mark leaves followed.
	_ = x.SetFollowed(ctx, LogV2, 5, 0)
	if n, gen, _ := x.Followed(ctx, LogV2); n != 0 || gen != 1 {
		t.Errorf("after reset followed = %d gen %d, want 0 gen 1", n, gen)
	}
	if _, total, _ := x.Lookup(ctx, []string{"k"}, 0, 10); total != 0 {
		t.Errorf("after reset %d postings", total)
	}
	add(LogV2, 0, 5000, "k")
	x.Close()
	if x, err = OpenFileIndex(path); err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if page, _, _ := x.Lookup(ctx, []string{"k"}, 0, 10); !cmp.Equal(page, []Posting{{Log: LogV2, Index: 0, Time: 100}}) {
		t.Errorf("after reset and reopen = %v: the first time was not kept", page)
	}
}

// TestFileIndexDamagedRecord opens an index with a complete record that is
// not JSON between two good ones: OpenFileIndex refuses it, naming
// ErrDamagedIndex; OpenFilesToReindex skips it, keeps the good records, and
// Reset rewrites the file without it.
func TestFileIndexDamagedRecord(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "index.jsonl")
	good := `{"l":2,"i":0,"t":100,"k":["a"]}` + "\n" + `{"l":2,"i":1,"t":101,"k":["a"]}` + "\n"
	first, second, _ := strings.Cut(good, "\n")
	if err := os.WriteFile(path, []byte(first+"\n{\"k\":\x00}\n"+second), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFileIndex(path); !errors.Is(err, ErrDamagedIndex) {
		t.Fatalf("OpenFileIndex of a damaged index: %v, want ErrDamagedIndex", err)
	}
	x, _, skipped, err := OpenFilesToReindex(dir)
	if err != nil || skipped != 1 {
		t.Fatalf("OpenFilesToReindex = %d skipped, %v; want 1", skipped, err)
	}
	want := []Posting{{Log: LogV2, Index: 1, Time: 101}, {Log: LogV2, Index: 0, Time: 100}}
	if page, _, err := x.Lookup(ctx, []string{"a"}, 0, 10); err != nil || !cmp.Equal(page, want) {
		t.Errorf("Lookup a = %v, %v; want %v", page, err, want)
	}
	if err := x.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	x.Close()
	if x, err = OpenFileIndex(path); err != nil {
		t.Fatalf("OpenFileIndex after Reset: %v", err)
	}
	x.Close()
}

func TestEnvelopeStoreLimit(t *testing.T) {
	s, err := NewFileEnvelopeStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), [32]byte{1}, make([]byte, MaxEnvelopeSize+1)); err == nil {
		t.Error("stored an envelope over the limit")
	}
	if err := s.Put(context.Background(), [32]byte{1}, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if b, ok, err := s.Get(context.Background(), [32]byte{1}); err != nil || !ok || string(b) != "{}" {
		t.Errorf("Get = %q %v %v", b, ok, err)
	}
}

func TestKeysBounded(t *testing.T) {
	var ks keySet
	ks.add("uuid:" + strings.Repeat("0", 64))
	for i := range 10 * MaxKeysPerEntry {
		ks.add("identity:user-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i))
	}
	if len(ks.keys) != MaxKeysPerEntry || ks.keys[0] != "uuid:"+strings.Repeat("0", 64) {
		t.Errorf("%d keys, first %q", len(ks.keys), ks.keys[0])
	}
}

func TestVerifyEnvelopeIntoto(t *testing.T) {
	payload := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + strings.Repeat("cd", 32) + `"}}],"predicateType":"https://example.com/p"}`)
	r := &Record{Log: LogV1, Kind: "intoto", PayloadType: inTotoPayloadType, PayloadHash: Digest{"sha256", sha256Hex(payload)}}
	env := func(typ string, p []byte) []byte {
		b, _ := json.Marshal(envelopeJSON{PayloadType: typ, Payload: p})
		return b
	}
	a, err := verifyEnvelope(context.Background(), r, nil, env(inTotoPayloadType, payload))
	if err != nil || a.Statement.GetPredicateType() != "https://example.com/p" || len(a.SubjectDigests()) != 1 {
		t.Fatalf("matching envelope: %+v, %v", a, err)
	}
	if _, err := verifyEnvelope(context.Background(), r, nil, env(inTotoPayloadType, append(payload, ' '))); err == nil {
		t.Error("an envelope with another payload was accepted")
	}
	if _, err := verifyEnvelope(context.Background(), r, nil, env("text/plain", payload)); err == nil {
		t.Error("an envelope with another payload type was accepted")
	}
}
