package rekorv1

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/google/go-cmp/cmp"
	"github.com/signetproject/signet/tlog"
	"github.com/signetproject/signet/tlog/storage"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// TestV1CanonicalBodyAndSET checks the bytes clients recompute: the
// canonical hashedrekord body, its UUID and entry ID, the log ID and the SET
// payload, each built here independently of the implementation.
func TestV1CanonicalBodyAndSET(t *testing.T) {
	ctx := context.Background()
	key := newV1LogKey(t)
	l := openTestV1Log(t, t.TempDir(), key)
	s := newTestSigner(t)

	artifact := []byte("canonical artifact")
	d := sha256.Sum256(artifact)
	sig := s.SignDigest(t, d[:])
	// Proposed with the keys in another order and extra whitespace.
	proposed := fmt.Appendf(nil, `{ "spec": {"signature": {"publicKey": {"content": %q}, "content": %q},
		"data": {"hash": {"value": %q, "algorithm": "sha256"}}}, "apiVersion": "0.0.1", "kind": "hashedrekord" }`,
		base64.StdEncoding.EncodeToString(certPEM(t, s)), base64.StdEncoding.EncodeToString(sig), hex.EncodeToString(d[:]))
	e, err := l.Create(ctx, proposed)
	if err != nil {
		t.Fatal(err)
	}

	wantBody, err := jsoncanonicalizer.Transform(fmt.Appendf(nil,
		`{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":%q}},"signature":{"content":%q,"publicKey":{"content":%q}}}}`,
		hex.EncodeToString(d[:]), base64.StdEncoding.EncodeToString(sig), base64.StdEncoding.EncodeToString(certPEM(t, s))))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(wantBody), string(e.Body)); diff != "" {
		t.Errorf("canonical body (-want +got):\n%s", diff)
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(wantBody)
	if e.UUID != hex.EncodeToString(leaf) {
		t.Errorf("UUID %s, want the leaf hash %x", e.UUID, leaf)
	}
	if want := fmt.Sprintf("%016x%x", l.TreeID(), leaf); e.EntryID != want || len(e.EntryID) != 80 {
		t.Errorf("entry ID %s, want %s", e.EntryID, want)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	logID := sha256.Sum256(der)
	if e.LogID != hex.EncodeToString(logID[:]) {
		t.Errorf("log ID %s, want %x", e.LogID, logID)
	}
	setMsg := fmt.Appendf(nil, `{"body":%q,"integratedTime":%d,"logID":"%x","logIndex":0}`, base64.StdEncoding.EncodeToString(wantBody), e.IntegratedTime, logID)
	setDigest := sha256.Sum256(setMsg)
	if !ecdsa.VerifyASN1(&key.PublicKey, setDigest[:], e.Verification.SignedEntryTimestamp) {
		t.Error("SET does not verify over the canonical payload")
	}
	if b, _ := pem.Decode(l.PublicKeyPEM()); b == nil || !bytes.Equal(b.Bytes, der) {
		t.Errorf("PublicKeyPEM = %q", l.PublicKeyPEM())
	}

	// The wire form: body and SET base64, proof hashes hex.
	js, err := json.Marshal(e.Keyed())
	if err != nil {
		t.Fatal(err)
	}
	var wire map[string]map[string]any
	if err := json.Unmarshal(js, &wire); err != nil {
		t.Fatal(err)
	}
	got := wire[e.EntryID]
	if got["body"] != base64.StdEncoding.EncodeToString(wantBody) || got["logID"] != e.LogID {
		t.Errorf("wire entry %s", js)
	}
	ip := got["verification"].(map[string]any)["inclusionProof"].(map[string]any)
	if ip["hashes"] == nil || ip["rootHash"] != hex.EncodeToString(rfc6962.DefaultHasher.HashLeaf(wantBody)) {
		t.Errorf("wire inclusion proof of a one-leaf tree: %v", ip)
	}
}

func TestV1EntryValidation(t *testing.T) {
	ctx := context.Background()
	s := newTestSigner(t)
	other := newTestSigner(t)
	d := sha256.Sum256([]byte("artifact"))
	good := v1HashedRekord(t, s, []byte("artifact"), certPEM(t, s))
	envJSON, _ := v1Envelope(t, s, []byte("subject"))
	otherEnv, _ := v1Envelope(t, other, []byte("subject"))

	replace := func(b []byte, old, repl string) []byte { return bytes.Replace(b, []byte(old), []byte(repl), 1) }
	big := newLargeCertSigner(t, 70<<10)

	tests := []struct {
		name     string
		proposed []byte
		want     error
	}{
		{"malformed JSON", []byte(`{"kind":`), tlog.ErrMalformedRequest},
		{"not an object", []byte(`[]`), tlog.ErrMalformedRequest},
		{"no kind", []byte(`{"apiVersion":"0.0.1","spec":{}}`), tlog.ErrMalformedRequest},
		{"unknown kind", []byte(`{"kind":"tarball","apiVersion":"0.0.1","spec":{}}`), tlog.ErrUnsupportedEntry},
		{"unsupported kind rekord", []byte(`{"kind":"rekord","apiVersion":"0.0.1","spec":{}}`), tlog.ErrUnsupportedEntry},
		{"hashedrekord 0.0.2", replace(good, `"0.0.1"`, `"0.0.2"`), tlog.ErrUnsupportedEntry},
		{"intoto 0.0.1", []byte(`{"kind":"intoto","apiVersion":"0.0.1","spec":{}}`), tlog.ErrUnsupportedEntry},
		{"no apiVersion", []byte(`{"kind":"hashedrekord","spec":{}}`), tlog.ErrMalformedRequest},
		{"oversize request", append(good[:len(good)-1], []byte(`,"pad":"`+strings.Repeat("a", tlog.MaxRequestSize)+`"}`)...), tlog.ErrEntryTooLarge},
		{"oversize entry", v1HashedRekord(t, big, []byte("artifact"), certPEM(t, big)), tlog.ErrEntryTooLarge},
		{"bad signature", v1HashedRekordJSON(t, hex.EncodeToString(d[:]), other.SignDigest(t, d[:]), certPEM(t, s)), tlog.ErrInvalidRequest},
		{"wrong digest", replace(good, hex.EncodeToString(d[:]), strings.Repeat("00", 32)), tlog.ErrInvalidRequest},
		{"short digest", replace(good, hex.EncodeToString(d[:]), "abcd"), tlog.ErrInvalidRequest},
		{"missing signature", []byte(`{"kind":"hashedrekord","apiVersion":"0.0.1","spec":{"data":{"hash":{"algorithm":"sha256","value":"` + hex.EncodeToString(d[:]) + `"}}}}`), tlog.ErrInvalidRequest},
		{"garbage public key", v1HashedRekordJSON(t, hex.EncodeToString(d[:]), s.SignDigest(t, d[:]), []byte("not a key")), tlog.ErrInvalidRequest},
		{"intoto signed by another key", v1ProposedEnvelopeEntryUnchecked(t, KindIntoto, otherEnv, envJSON, certPEM(t, s)), tlog.ErrInvalidRequest},
		{"dsse signed by another key", v1ProposedEnvelopeEntryUnchecked(t, KindDSSE, otherEnv, envJSON, certPEM(t, s)), tlog.ErrInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewEntry(ctx, tc.proposed)
			if !errors.Is(err, tc.want) {
				t.Fatalf("NewV1Entry error = %v, want %v", err, tc.want)
			}
			if !errors.Is(err, tlog.ErrInvalidRequest) {
				t.Errorf("error %v does not wrap tlog.ErrInvalidRequest", err)
			}
		})
	}
	if _, err := NewEntry(ctx, good); err != nil {
		t.Fatalf("valid entry rejected: %v", err)
	}
}

// v1ProposedEnvelopeEntryUnchecked builds a proposed entry for signedEnv (made
// with validEnv's key, so that Rekor's constructor accepts it) and then swaps
// in signedEnv, whose signature the key does not verify.
func v1ProposedEnvelopeEntryUnchecked(t *testing.T, kind string, signedEnv, validEnv, verifierPEM []byte) []byte {
	t.Helper()
	js := v1ProposedEnvelopeEntry(t, kind, validEnv, verifierPEM)
	var a, b struct {
		Signatures []struct {
			Sig string `json:"sig"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(validEnv, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(signedEnv, &b); err != nil {
		t.Fatal(err)
	}
	oldSig, newSig := a.Signatures[0].Sig, b.Signatures[0].Sig
	if kind == KindIntoto {
		// intoto v0.0.2 carries the base64 signature base64-encoded again.
		oldSig = base64.StdEncoding.EncodeToString([]byte(oldSig))
		newSig = base64.StdEncoding.EncodeToString([]byte(newSig))
	}
	out := strings.Replace(string(js), oldSig, newSig, 1)
	if out == string(js) {
		t.Fatal("signature not found in proposed entry")
	}
	return []byte(out)
}

func TestParseV1EntryID(t *testing.T) {
	uuid := strings.Repeat("ab", 32)
	tests := []struct {
		id      string
		tree    int64
		hasTree bool
		err     error
	}{
		{uuid, 0, false, nil},
		{strings.ToUpper(uuid), 0, false, nil},
		{"108e9186e8c5677a" + uuid, 0x108e9186e8c5677a, true, nil},
		{uuid[:62], 0, false, ErrInvalidQuery},
		{"zz" + uuid[2:], 0, false, ErrInvalidQuery},
		{"ffffffffffffffff" + uuid, 0, false, ErrInvalidQuery}, // not a positive int64
		{"", 0, false, ErrInvalidQuery},
	}
	for _, tc := range tests {
		leaf, tree, hasTree, err := ParseEntryID(tc.id)
		if !errors.Is(err, tc.err) {
			t.Errorf("ParseV1EntryID(%q) error %v, want %v", tc.id, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if hex.EncodeToString(leaf[:]) != uuid || tree != tc.tree || hasTree != tc.hasTree {
			t.Errorf("ParseV1EntryID(%q) = %x, %d, %v", tc.id, leaf, tree, hasTree)
		}
		if hasTree && EntryID(tree, uuid) != strings.ToLower(tc.id) {
			t.Errorf("V1EntryID does not round-trip %q", tc.id)
		}
	}
}

// v1Fixture is a log with one entry of each kind.
type v1Fixture struct {
	s                      *testSigner
	hashed, intoto, dsse   *LogEntry
	proposed               [][]byte // the three proposed entries
	artifact, subjectHash  string   // "sha256:<hex>" search keys
	intotoEnv, dsseEnvJSON []byte
}

func fillV1Log(t *testing.T, l *Log) *v1Fixture {
	t.Helper()
	ctx := context.Background()
	f := &v1Fixture{s: newTestSigner(t)}
	artifact := []byte("searchable artifact")
	d := sha256.Sum256(artifact)
	f.artifact = fmt.Sprintf("sha256:%x", d)
	subj := []byte("attested artifact")
	sd := sha256.Sum256(subj)
	f.subjectHash = fmt.Sprintf("sha256:%x", sd)
	f.intotoEnv, _ = v1Envelope(t, f.s, subj)
	f.dsseEnvJSON, _ = v1Envelope(t, f.s, subj)
	f.proposed = [][]byte{
		v1HashedRekord(t, f.s, artifact, certPEM(t, f.s)),
		v1ProposedEnvelopeEntry(t, KindIntoto, f.intotoEnv, certPEM(t, f.s)),
		v1ProposedEnvelopeEntry(t, KindDSSE, f.dsseEnvJSON, certPEM(t, f.s)),
	}
	out := make([]*LogEntry, 3)
	for i, p := range f.proposed {
		e, err := l.Create(ctx, p)
		if err != nil {
			t.Fatalf("Create %d: %v", i, err)
		}
		if e.LogIndex != int64(i) {
			t.Fatalf("entry %d has log index %d", i, e.LogIndex)
		}
		out[i] = e
	}
	f.hashed, f.intoto, f.dsse = out[0], out[1], out[2]
	return f
}

// checkV1Lookups exercises every read path against the fixture's entries.
func checkV1Lookups(t *testing.T, l *Log, f *v1Fixture, wantSubjectHits int) {
	t.Helper()
	ctx := context.Background()
	all := []*LogEntry{f.hashed, f.intoto, f.dsse}

	for i, want := range all {
		// Duplicates are detected, with the existing entry's ID.
		_, err := l.Create(ctx, f.proposed[i])
		var dup *DuplicateError
		if !errors.As(err, &dup) || dup.EntryID != want.EntryID || dup.UUID != want.UUID || dup.Index != uint64(i) {
			t.Errorf("re-creating entry %d: %v, want a DuplicateError for %s", i, err, want.EntryID)
		}
		for _, id := range []string{want.UUID, want.EntryID, strings.ToUpper(want.EntryID)} {
			got, err := l.EntryByUUID(ctx, id)
			if err != nil {
				t.Errorf("EntryByUUID(%s): %v", id, err)
				continue
			}
			if got.EntryID != want.EntryID || !bytes.Equal(got.Body, want.Body) || got.IntegratedTime != want.IntegratedTime || got.LogIndex != want.LogIndex {
				t.Errorf("EntryByUUID(%s) = %s at %d (time %d), want %s at %d (time %d)", id, got.EntryID, got.LogIndex, got.IntegratedTime, want.EntryID, want.LogIndex, want.IntegratedTime)
			}
			if err := verifyWithRekorV1Client(t, l, got); err != nil {
				t.Errorf("entry %s read back does not verify: %v", id, err)
			}
		}
		got, err := l.EntryByIndex(ctx, int64(i))
		if err != nil || got.EntryID != want.EntryID || got.IntegratedTime != want.IntegratedTime {
			t.Errorf("EntryByIndex(%d) = %v, %v", i, got, err)
		}
	}

	notFound := []string{strings.Repeat("00", 32), fmt.Sprintf("%016x", l.TreeID()+1) + f.hashed.UUID}
	for _, id := range notFound {
		if _, err := l.EntryByUUID(ctx, id); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("EntryByUUID(%s) = %v, want os.ErrNotExist", id, err)
		}
	}
	if _, err := l.EntryByUUID(ctx, "xyz"); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("EntryByUUID(xyz) = %v, want ErrInvalidQuery", err)
	}
	if _, err := l.EntryByIndex(ctx, 3); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("EntryByIndex(3) = %v, want os.ErrNotExist", err)
	}
	if _, err := l.EntryByIndex(ctx, -1); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("EntryByIndex(-1) = %v, want ErrInvalidQuery", err)
	}

	// Retrieve: by UUID, by proposed entry (as cosign's FindTlogEntry), by
	// index; missing ones are left out.
	got, err := l.Retrieve(ctx, SearchLogQuery{
		EntryUUIDs: []string{f.dsse.UUID, notFound[0]},
		Entries:    []json.RawMessage{f.proposed[0], f.proposed[1]},
		LogIndexes: []int64{2, 99},
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range got {
		ids = append(ids, e.EntryID)
	}
	if diff := cmp.Diff([]string{f.dsse.EntryID, f.hashed.EntryID, f.intoto.EntryID, f.dsse.EntryID}, ids); diff != "" {
		t.Errorf("Retrieve entry IDs (-want +got):\n%s", diff)
	}
	if _, err := l.Retrieve(ctx, SearchLogQuery{LogIndexes: make([]int64, MaxSearchQueries+1)}); !errors.Is(err, ErrTooManyQueries) {
		t.Errorf("Retrieve of 11 queries = %v, want ErrTooManyQueries", err)
	}
	if _, err := l.Retrieve(ctx, SearchLogQuery{Entries: []json.RawMessage{[]byte(`{"kind":"rpm"}`)}}); !errors.Is(err, tlog.ErrInvalidRequest) {
		t.Errorf("Retrieve of an unsupported entry = %v, want tlog.ErrInvalidRequest", err)
	}

	// Search index.
	search := func(q SearchIndexQuery) []string {
		t.Helper()
		ids, err := l.SearchIndex(ctx, q)
		if err != nil {
			t.Fatalf("SearchIndex(%+v): %v", q, err)
		}
		return ids
	}
	sorted := func(es ...*LogEntry) []string {
		var ids []string
		for _, e := range es {
			ids = append(ids, e.EntryID)
		}
		slices.Sort(ids)
		return ids
	}
	digestHex := strings.TrimPrefix(f.artifact, "sha256:")
	certKey := &SearchPublicKey{Format: "x509", Content: certPEM(t, f.s)}
	searches := []struct {
		name string
		q    SearchIndexQuery
		want []string
	}{
		{"artifact hash", SearchIndexQuery{Hash: f.artifact}, sorted(f.hashed)},
		{"bare hex hash", SearchIndexQuery{Hash: strings.ToUpper(digestHex)}, sorted(f.hashed)},
		{"email", SearchIndexQuery{Email: "Signer@Signet.Test"}, sorted(all...)},
		{"certificate", SearchIndexQuery{PublicKey: certKey}, sorted(all...)},
		{"hash and email", SearchIndexQuery{Hash: f.artifact, Email: "signer@signet.test", Operator: "and"}, sorted(f.hashed)},
		{"hash or unknown email", SearchIndexQuery{Hash: f.artifact, Email: "nobody@signet.test"}, sorted(f.hashed)},
		{"hash and unknown email", SearchIndexQuery{Hash: f.artifact, Email: "nobody@signet.test", Operator: "and"}, []string{}},
		{"nothing", SearchIndexQuery{}, []string{}},
	}
	for _, tc := range searches {
		if diff := cmp.Diff(tc.want, search(tc.q)); diff != "" {
			t.Errorf("search by %s (-want +got):\n%s", tc.name, diff)
		}
	}
	if got := search(SearchIndexQuery{Hash: f.subjectHash}); len(got) != wantSubjectHits {
		t.Errorf("search by attested subject found %d entries, want %d", len(got), wantSubjectHits)
	}
	for _, q := range []SearchIndexQuery{
		{Operator: "xor"},
		{Hash: "zz"},
		{Hash: "sha256:" + digestHex[:62]},
		{Hash: "md5:" + digestHex[:32]},
		{Hash: "sha256:" + strings.Repeat("g", 64)},
		{Hash: "sha256:" + digestHex + ":" + digestHex},
		{Hash: f.artifact, Email: "not an address"},
		{Email: "https://github.com/signet/signet/.github/workflows/release.yml@refs/heads/main"},
		{PublicKey: &SearchPublicKey{Format: "pgp", Content: []byte("x")}},
		{PublicKey: &SearchPublicKey{Format: "x509", URL: "https://example.com/key"}},
		{PublicKey: &SearchPublicKey{Format: "x509", Content: []byte("not a key")}},
		{PublicKey: &SearchPublicKey{Format: "x509", Content: []byte(dsaPublicKeyPEM)}}, // parses, but has no canonical form
	} {
		if _, err := l.SearchIndex(ctx, q); !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("SearchIndex(%+v) = %v, want ErrInvalidQuery", q, err)
		}
	}

	// Log info and proofs.
	info, err := l.LogInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.TreeSize != 3 || info.TreeID != fmt.Sprint(l.TreeID()) || !strings.HasPrefix(info.SignedTreeHead, l.CheckpointOrigin()+"\n3\n") {
		t.Errorf("LogInfo = %+v", info)
	}
	root3, _ := hex.DecodeString(info.RootHash)
	ip, err := l.InclusionProof(ctx, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	root2, _ := hex.DecodeString(ip.RootHash)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, 0, 2, rfc6962.DefaultHasher.HashLeaf(f.hashed.Body), unhex(t, ip.Hashes), root2); err != nil {
		t.Errorf("inclusion proof in tree of 2: %v", err)
	}
	if !strings.HasPrefix(ip.Checkpoint, l.CheckpointOrigin()+"\n2\n") {
		t.Errorf("inclusion proof checkpoint %q", ip.Checkpoint)
	}
	cons, err := l.ConsistencyProof(ctx, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if cons.RootHash != info.RootHash {
		t.Errorf("consistency proof root %s, want %s", cons.RootHash, info.RootHash)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, 2, 3, unhex(t, cons.Hashes), root2, root3); err != nil {
		t.Errorf("consistency proof 2 → 3: %v", err)
	}
	if c, err := l.ConsistencyProof(ctx, 1, 2); err != nil || c.RootHash != ip.RootHash {
		t.Errorf("ConsistencyProof(1, 2) = %+v, %v; want root %s", c, err, ip.RootHash)
	}
	for _, sizes := range [][2]int64{{0, 2}, {3, 2}, {1, 4}} {
		if _, err := l.ConsistencyProof(ctx, sizes[0], sizes[1]); !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("ConsistencyProof(%d, %d) = %v, want ErrInvalidQuery", sizes[0], sizes[1], err)
		}
	}
	for _, args := range [][2]int64{{2, 2}, {0, 4}, {-1, 0}} {
		if _, err := l.InclusionProof(ctx, args[0], args[1]); !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("InclusionProof(%d, %d) = %v, want ErrInvalidQuery", args[0], args[1], err)
		}
	}
	if err := l.CheckTreeID(fmt.Sprint(l.TreeID())); err != nil {
		t.Error(err)
	}
	if err := l.CheckTreeID("12"); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("CheckTreeID(12) = %v, want ErrInvalidQuery", err)
	}
}

func unhex(t *testing.T, hs []string) [][]byte {
	t.Helper()
	out := make([][]byte, len(hs))
	for i, h := range hs {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

func TestV1LookupsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := newV1LogKey(t)

	l, err := OpenDir(ctx, dir, testOrigin, key, tlog.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	f := fillV1Log(t, l)
	// intoto and dsse entries are found by their statement subject.
	checkV1Lookups(t, l, f, 2)
	treeID := l.TreeID()
	closeV1Log(t, l)

	// Reopened: same tree, duplicates and lookups still work.
	l = openTestV1Log(t, dir, key)
	if l.TreeID() != treeID {
		t.Fatalf("tree ID changed from %d to %d", treeID, l.TreeID())
	}
	checkV1Lookups(t, l, f, 2)

	// Rebuilt from the log alone, the index lacks the statement subjects,
	// which only proposed entries carry.
	if err := l.Reindex(ctx); err != nil {
		t.Fatal(err)
	}
	checkV1Lookups(t, l, f, 0)
	if err := l.LastFollowError(); err != nil {
		t.Errorf("background follow: %v", err)
	}
}

func TestV1RecoversLostEntryStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := newV1LogKey(t)
	l, err := OpenDir(ctx, dir, testOrigin, key, tlog.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	f := fillV1Log(t, l)
	closeV1Log(t, l)

	// Without its entry store and index, the log rebuilds both from the
	// tree when it opens; integrated times are lost and become the time of
	// recovery, never earlier than the real ones.
	for _, name := range []string{"entries.jsonl", "search.jsonl"} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	l = openTestV1Log(t, dir, key)
	for _, want := range []*LogEntry{f.hashed, f.intoto, f.dsse} {
		got, err := l.EntryByUUID(ctx, want.EntryID)
		if err != nil {
			t.Fatalf("EntryByUUID after recovery: %v", err)
		}
		if got.LogIndex != want.LogIndex || got.IntegratedTime < want.IntegratedTime {
			t.Errorf("recovered entry at %d with time %d, want %d with time ≥ %d", got.LogIndex, got.IntegratedTime, want.LogIndex, want.IntegratedTime)
		}
		if err := verifyWithRekorV1Client(t, l, got); err != nil {
			t.Errorf("recovered entry does not verify: %v", err)
		}
	}
	if _, err := l.Create(ctx, f.proposed[0]); !errors.As(err, new(*DuplicateError)) {
		t.Errorf("duplicate after recovery: %v", err)
	}
	ids, err := l.SearchIndex(ctx, SearchIndexQuery{Hash: f.artifact})
	if err != nil || len(ids) != 1 || ids[0] != f.hashed.EntryID {
		t.Errorf("search after recovery = %v, %v", ids, err)
	}
}

func TestV1LogRejectsBadConfig(t *testing.T) {
	ctx := context.Background()
	stores := func(t *testing.T) Stores {
		dir := t.TempDir()
		e, err := NewFileEntryStore(filepath.Join(dir, "e"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewFileSearchIndex(filepath.Join(dir, "s"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close(); s.Close() })
		return Stores{Entries: e, Search: s}
	}
	tests := []struct {
		name     string
		hostname string
		treeID   int64
		key      crypto.Signer
	}{
		{"Ed25519 key", testOrigin, 1, newLogKey(t)},
		{"zero tree ID", testOrigin, 0, newV1LogKey(t)},
		{"hostname with space", "log signet", 1, newV1LogKey(t)},
		{"no key", testOrigin, 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := storage.NewPOSIX(ctx, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			l, err := New(ctx, d, stores(t), tc.hostname, tc.treeID, tc.key, tlog.DefaultOptions())
			if err == nil {
				closeV1Log(t, l)
				t.Fatal("NewV1Log accepted a bad configuration")
			}
		})
	}
	d, err := storage.NewPOSIX(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(ctx, d, Stores{}, testOrigin, 1, newV1LogKey(t), tlog.DefaultOptions()); err == nil {
		t.Error("NewV1Log accepted missing stores")
	}
}

func TestFileV1StoresDropTornWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "entries.jsonl")
	s, err := NewFileEntryStore(path)
	if err != nil {
		t.Fatal(err)
	}
	leaf := sha256.Sum256([]byte("leaf"))
	want := EntryRecord{IntegratedTime: 1700000000, Index: 7, Indexed: true}
	if err := s.Put(ctx, leaf, EntryRecord{IntegratedTime: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, leaf, want); err != nil {
		t.Fatal(err)
	}
	if err := s.SetFollowedSize(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of a write leaves half a line.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"leaf":"ab`); err != nil {
		t.Fatal(err)
	}
	f.Close()

	s, err = NewFileEntryStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, ok, err := s.Get(ctx, leaf)
	if err != nil || !ok || got != want {
		t.Errorf("Get after reopen = %+v, %v, %v; want %+v", got, ok, err, want)
	}
	if n, _ := s.FollowedSize(ctx); n != 8 {
		t.Errorf("FollowedSize = %d, want 8", n)
	}
	other := sha256.Sum256([]byte("other"))
	if err := s.Put(ctx, other, want); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(`"ab{`)) || !bytes.HasSuffix(raw, []byte("}\n")) {
		t.Errorf("torn record not cut off:\n%s", raw)
	}

	x, err := NewFileSearchIndex(filepath.Join(dir, "search.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for range 2 {
		if err := x.Add(ctx, "u1", []string{"k1", "k2"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Add(ctx, "u2", []string{"k1"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := x.Lookup(ctx, "k1"); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Errorf("Lookup(k1) = %v", got)
	}
	if err := x.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := x.Lookup(ctx, "k1"); len(got) != 0 {
		t.Errorf("Lookup after Reset = %v", got)
	}

	// A complete record that is not JSON: refused, or skipped for a reindex.
	damaged := filepath.Join(dir, "damaged.jsonl")
	if err := os.WriteFile(damaged, []byte(`{"u":"u1","k":"k1"}`+"\n{\"u\":\x00}\n"+`{"u":"u2","k":"k1"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFileSearchIndex(damaged); !errors.Is(err, ErrDamagedIndex) {
		t.Errorf("NewFileSearchIndex of a damaged index: %v, want ErrDamagedIndex", err)
	}
	d, skipped, err := newFileSearchIndex(damaged, true)
	if err != nil || skipped != 1 {
		t.Fatalf("newFileSearchIndex skipping damaged records: %d skipped, %v; want 1", skipped, err)
	}
	defer d.Close()
	if got, _ := d.Lookup(ctx, "k1"); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Errorf("Lookup(k1) around a damaged record = %v", got)
	}
}

func TestV1ConcurrentCreates(t *testing.T) {
	ctx := context.Background()
	l := openTestV1Log(t, t.TempDir(), newV1LogKey(t))
	s := newTestSigner(t)
	same := v1HashedRekord(t, s, []byte("the same artifact"), certPEM(t, s))
	const n = 8
	created := make([]*LogEntry, n)
	errs := make([]error, n)
	distinct := make([]*LogEntry, n)
	distinctErrs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { created[i], errs[i] = l.Create(ctx, same) })
		wg.Go(func() {
			distinct[i], distinctErrs[i] = l.Create(ctx, v1HashedRekord(t, s, fmt.Appendf(nil, "artifact %d", i), keyPEM(t, s)))
		})
	}
	wg.Wait()

	var winner *LogEntry
	for i := range n {
		var dup *DuplicateError
		switch {
		case errs[i] == nil:
			if winner != nil {
				t.Fatalf("the same entry was created twice, at %d and %d", winner.LogIndex, created[i].LogIndex)
			}
			winner = created[i]
		case !errors.As(errs[i], &dup):
			t.Fatalf("Create: %v", errs[i])
		}
	}
	if winner == nil {
		t.Fatal("no Create of the entry succeeded")
	}
	for i := range n {
		var dup *DuplicateError
		if errs[i] != nil && (!errors.As(errs[i], &dup) || dup.EntryID != winner.EntryID) {
			t.Errorf("duplicate error %v does not name %s", errs[i], winner.EntryID)
		}
	}
	indexes := map[int64]bool{winner.LogIndex: true}
	for i, e := range distinct {
		if distinctErrs[i] != nil {
			t.Fatalf("Create distinct %d: %v", i, distinctErrs[i])
		}
		if indexes[e.LogIndex] {
			t.Errorf("log index %d assigned twice", e.LogIndex)
		}
		indexes[e.LogIndex] = true
		if err := verifyWithRekorV1Client(t, l, e); err != nil {
			t.Errorf("entry %d: %v", e.LogIndex, err)
		}
	}
	if info, err := l.LogInfo(ctx); err != nil || info.TreeSize != n+1 {
		t.Errorf("LogInfo = %+v, %v; want %d entries", info, err, n+1)
	}
}
