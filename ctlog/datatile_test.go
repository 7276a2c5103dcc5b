package ctlog

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/transparency-dev/tessera/ctonly"
)

// TestDataTileLeaves parses data tiles as Tessera writes them and checks
// the leaf hashes against Tessera's own, and that every cut-off tile is
// refused.
func TestDataTileLeaves(t *testing.T) {
	entries := []ctonly.Entry{
		{Timestamp: 1, IsPrecert: true, Certificate: []byte("tbs one"), Precertificate: []byte("precert one"),
			IssuerKeyHash: bytes.Repeat([]byte{1}, sha256.Size), FingerprintsChain: [][32]byte{{2}, {3}}},
		{Timestamp: 2, Certificate: []byte("a final certificate"), FingerprintsChain: [][32]byte{{4}}},
		{Timestamp: 3, IsPrecert: true, Certificate: bytes.Repeat([]byte("t"), 70000), Precertificate: []byte("p"),
			IssuerKeyHash: bytes.Repeat([]byte{5}, sha256.Size)},
	}
	var tile []byte
	var want [][]byte
	for i, e := range entries {
		tile = append(tile, e.LeafData(uint64(i))...)
		want = append(want, e.MerkleLeafHash(uint64(i)))
	}
	for n := 1; n <= len(entries); n++ {
		data, got, err := dataTileLeaves(tile, n)
		if err != nil {
			t.Fatalf("%d leaves: %v", n, err)
		}
		if diff := cmp.Diff(want[:n], got); diff != "" {
			t.Errorf("%d leaves: hashes (-want +got):\n%s", n, diff)
		}
		var prefix []byte
		for i, e := range entries[:n] {
			prefix = append(prefix, e.LeafData(uint64(i))...)
		}
		if !bytes.Equal(data, prefix) {
			t.Errorf("%d leaves: data of %d bytes, want the first %d entries' %d", n, len(data), n, len(prefix))
		}
	}
	for cut := range len(tile) {
		if _, _, err := dataTileLeaves(tile[:cut], len(entries)); err == nil {
			t.Fatalf("a tile cut at %d of %d bytes parsed", cut, len(tile))
		}
	}
	bad := bytes.Clone(tile)
	bad[9] = 7 // entry type
	if _, _, err := dataTileLeaves(bad, 1); err == nil || !strings.Contains(err.Error(), "entry type 7") {
		t.Errorf("unknown entry type: %v", err)
	}
}
