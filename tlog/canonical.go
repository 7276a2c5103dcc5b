package tlog

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
)

// canonicalJSON returns the RFC 8785 (JCS) form of the JSON document js,
// as jsoncanonicalizer.Transform does.
//
// Log entries are canonicalized on every append and the general
// canonicalizer is a large share of an append's cost. protojson's
// encoding of an entry holds only objects, arrays and strings of
// printable ASCII without escapes (base64, enum names, fixed kinds). For
// such documents JCS is what encoding/json writes for the decoded value
// without HTML escaping: object members sorted bytewise (for ASCII the
// same as JCS's UTF-16 order), no whitespace, strings verbatim. Any other
// document — numbers, literals, escapes, non-ASCII, duplicate keys, JSON
// that encoding/json rejects — goes through the general canonicalizer. FuzzCanonicalJSON checks the two
// agree.
func canonicalJSON(js []byte) ([]byte, error) {
	if !plainASCII(js) {
		return jsoncanonicalizer.Transform(js)
	}
	var v any
	if err := json.Unmarshal(js, &v); err != nil || !onlyStrings(v) {
		return jsoncanonicalizer.Transform(js)
	}
	var buf bytes.Buffer
	buf.Grow(len(js))
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("canonicalize JSON: %w", err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(out) != compactLen(js) {
		// Decoding dropped a duplicate member: let the general
		// canonicalizer decide what that means.
		return jsoncanonicalizer.Transform(js)
	}
	return out, nil
}

// plainASCII reports whether js has only printable ASCII and JSON
// whitespace, and no backslash (so no string escapes).
func plainASCII(js []byte) bool {
	for _, c := range js {
		switch {
		case c == '\\':
			return false
		case c >= 0x20 && c < 0x7f, c == '\t', c == '\n', c == '\r':
		default:
			return false
		}
	}
	return true
}

// onlyStrings reports whether v, decoded by encoding/json, is built of
// objects, arrays and strings only.
func onlyStrings(v any) bool {
	switch v := v.(type) {
	case string:
		return true
	case map[string]any:
		for _, e := range v {
			if !onlyStrings(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range v {
			if !onlyStrings(e) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

// compactLen is the length of js, a document without string escapes,
// without its insignificant whitespace.
func compactLen(js []byte) int {
	n, inString := 0, false
	for _, c := range js {
		switch {
		case c == '"':
			inString = !inString
			n++
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
		default:
			n++
		}
	}
	return n
}
