package tiles

import (
	"encoding/binary"
	"fmt"
)

// BundlePrefix returns the bytes of the first n entries of an entry bundle
// (two-byte big-endian length, then the entry), which must hold at least n.
func BundlePrefix(raw []byte, n int) ([]byte, error) {
	off := 0
	for i := range n {
		e, err := bundleEntry(raw, off, i, n)
		if err != nil {
			return nil, err
		}
		off += 2 + len(e)
	}
	return raw[:off], nil
}

// bundleEntry returns entry i of n of an entry bundle, which starts at
// off.
func bundleEntry(raw []byte, off, i, n int) ([]byte, error) {
	if off+2 > len(raw) {
		return nil, fmt.Errorf("holds %d entries, want %d", i, n)
	}
	l := int(binary.BigEndian.Uint16(raw[off:]))
	if off+2+l > len(raw) {
		return nil, fmt.Errorf("entry %d of %d bytes is cut off at %d", i, l, len(raw))
	}
	return raw[off+2 : off+2+l], nil
}
