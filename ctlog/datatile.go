package ctlog

import (
	"crypto/sha256"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Entry types of RFC 6962 §3.4.
const (
	x509Entry    = 0
	precertEntry = 1
)

// dataTileLeaves parses a static-ct-api data tile, a sequence of TileLeaf
// structures:
//
//	struct {
//	    TimestampedEntry timestamped_entry;
//	    select (entry_type) {
//	        case x509_entry: Empty;
//	        case precert_entry: ASN.1Cert pre_certificate;
//	    };
//	    Fingerprint certificate_chain<0..2^16-1>;
//	} TileLeaf;
//
// It returns the bytes of the first n leaves and their RFC 6962 leaf
// hashes: the hash of the MerkleTreeLeaf (version v1, leaf type
// timestamped_entry, then the TimestampedEntry). It is the tlog guard's
// [tlog.LeafHashes] for the CT log.
func dataTileLeaves(raw []byte, n int) ([]byte, [][]byte, error) {
	s := cryptobyte.String(raw)
	hashes := make([][]byte, 0, n)
	for i := range n {
		start := len(raw) - len(s)
		var (
			timestamp  uint64
			entryType  uint16
			body, exts cryptobyte.String
		)
		if !s.ReadUint64(&timestamp) || !s.ReadUint16(&entryType) {
			return nil, nil, fmt.Errorf("holds %d entries, want %d", i, n)
		}
		switch entryType {
		case x509Entry:
			if !s.ReadUint24LengthPrefixed(&body) {
				return nil, nil, fmt.Errorf("entry %d: certificate cut off", i)
			}
		case precertEntry:
			if !s.Skip(sha256.Size) || !s.ReadUint24LengthPrefixed(&body) {
				return nil, nil, fmt.Errorf("entry %d: issuer key hash or TBS certificate cut off", i)
			}
		default:
			return nil, nil, fmt.Errorf("entry %d: unknown entry type %d", i, entryType)
		}
		if !s.ReadUint16LengthPrefixed(&exts) {
			return nil, nil, fmt.Errorf("entry %d: extensions cut off", i)
		}
		timestamped := raw[start : len(raw)-len(s)]
		var precert, chain cryptobyte.String
		if entryType == precertEntry && !s.ReadUint24LengthPrefixed(&precert) {
			return nil, nil, fmt.Errorf("entry %d: precertificate cut off", i)
		}
		if !s.ReadUint16LengthPrefixed(&chain) || len(chain)%sha256.Size != 0 {
			return nil, nil, fmt.Errorf("entry %d: certificate chain fingerprints cut off", i)
		}
		// RFC 6962 §2.1 leaf hash: SHA-256(0x00 || MerkleTreeLeaf), and
		// the MerkleTreeLeaf is version v1 (0), leaf type
		// timestamped_entry (0), then the TimestampedEntry.
		h := sha256.New()
		h.Write([]byte{0, 0, 0})
		h.Write(timestamped)
		hashes = append(hashes, h.Sum(nil))
	}
	return raw[:len(raw)-len(s)], hashes, nil
}
