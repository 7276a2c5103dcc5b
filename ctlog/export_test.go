package ctlog

import "time"

// RememberedLinks returns how many verified issuing-chain links l keeps.
func RememberedLinks(l *Log) int {
	l.linksMu.Lock()
	defer l.linksMu.Unlock()
	return len(l.links)
}

// SetNow sets l's clock; call it before l is used.
func SetNow(l *Log, now func() time.Time) { l.now = now }

// DataTileLeafHashes returns the RFC 6962 leaf hashes of the first n
// entries of a data tile.
func DataTileLeafHashes(raw []byte, n int) ([][]byte, error) {
	_, hashes, err := dataTileLeaves(raw, n)
	return hashes, err
}

// RemovePoison is removePoison, for the external tests.
var RemovePoison = removePoison
