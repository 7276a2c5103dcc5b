// Package fastjson scans a strict subset of JSON without reflection, for
// fast paths that decode the common form of a document and leave anything
// else to a general decoder (protojson, encoding/json), which then gives
// the result or the error.
//
// The subset: JSON whitespace anywhere; objects whose keys a caller names,
// each at most once; arrays; strings of valid UTF-8 with JSON's escapes but
// surrogates (\uD800 to \uDFFF); numbers without exponent of at most 15
// digits (Digits: integers of at most 18); true, false and null where a
// caller asks for them. Each method consumes one value and reports whether
// it was in the subset; after a false, the Decoder is spent.
//
// Skip and Struct serve fast paths in front of encoding/json: Skip
// consumes a value nobody interprets (so strings and numbers in JSON's
// whole grammar), and Struct consumes an object as encoding/json decodes
// one into a struct, which ignores unknown keys but matches keys
// case-insensitively.
package fastjson

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

// Decoder scans one JSON document.
type Decoder struct {
	in  []byte
	pos int
	// SkipNull makes Object skip members whose value is null, as protojson
	// does; otherwise null is outside the subset.
	SkipNull bool
}

// NewDecoder returns a Decoder at the start of data.
func NewDecoder(data []byte) *Decoder { return &Decoder{in: data} }

// Object consumes an object whose keys are all in fields, each at most
// once. For each member (but those SkipNull skips) it calls member with the
// key's index in fields and the Decoder at the value, which member must
// consume.
func (d *Decoder) Object(fields []string, member func(field int) bool) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	var seen uint64
	for {
		key, ok := d.StringBytes()
		if !ok || !d.consume(':') {
			return false
		}
		field := -1
		for i, f := range fields {
			if string(key) == f {
				field = i
				break
			}
		}
		if field < 0 || field >= 64 || seen&(1<<field) != 0 {
			return false
		}
		seen |= 1 << field
		if !(d.SkipNull && d.Literal("null")) && !member(field) {
			return false
		}
		if d.consume('}') {
			return true
		}
		if !d.consume(',') {
			return false
		}
	}
}

// Members consumes an object with any keys, calling member with each key
// and the Decoder at its value, which member must consume. It does not
// check keys for duplicates.
func (d *Decoder) Members(member func(key []byte) bool) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	for {
		key, ok := d.StringBytes()
		if !ok || !d.consume(':') || !member(key) {
			return false
		}
		if d.consume('}') {
			return true
		}
		if !d.consume(',') {
			return false
		}
	}
}

// Struct consumes an object as encoding/json decodes it into a struct
// whose JSON field names are fields. For each member whose key is exactly
// in fields, each at most once, it calls member with the key's index and
// the Decoder at the value, which member must consume; with SkipNull, a
// null value counts as absent. Other members' values are skipped (Skip),
// which encoding/json does too, but for keys it would match to a field
// case-insensitively: a key outside the subset is one that
// bytes.EqualFold finds equal to a name in fields, encoding/json's own
// rule ("ımage" is not "image"; "ſpec" and "\u212aind" are "spec" and
// "kind").
func (d *Decoder) Struct(fields []string, member func(field int) bool) bool {
	var seen uint64
	return d.Members(func(key []byte) bool {
		field := -1
		for i, f := range fields {
			if string(key) == f {
				field = i
				break
			}
		}
		if field < 0 {
			for _, f := range fields {
				if bytes.EqualFold(key, []byte(f)) {
					return false
				}
			}
			_, ok := d.Skip()
			return ok
		}
		if field >= 64 || seen&(1<<field) != 0 {
			return false
		}
		seen |= 1 << field
		if d.SkipNull && d.Literal("null") {
			return true
		}
		return member(field)
	})
}

// MaxDepth is how deep Skip follows nested objects and arrays; deeper
// values are outside the subset.
const MaxDepth = 256

// Skip consumes one value of any type and returns it as written, without
// the whitespace around it. Since Skip does not interpret the value, its
// strings and numbers may be any of JSON's (invalid UTF-8 and lone
// surrogates included, as encoding/json's scanner accepts them), and
// objects may repeat keys; object keys are in the subset, and nesting is
// bounded by MaxDepth.
func (d *Decoder) Skip() ([]byte, bool) {
	d.skipSpace()
	start := d.pos
	if !d.skip(0) {
		return nil, false
	}
	return d.in[start:d.pos], true
}

func (d *Decoder) skip(depth int) bool {
	switch d.Peek() {
	case '{':
		if depth >= MaxDepth {
			return false
		}
		return d.Members(func([]byte) bool { return d.skip(depth + 1) })
	case '[':
		if depth >= MaxDepth {
			return false
		}
		return d.Array(func() bool { return d.skip(depth + 1) })
	case '"':
		return d.skipString()
	case 't':
		return d.Literal("true")
	case 'f':
		return d.Literal("false")
	case 'n':
		return d.Literal("null")
	}
	return d.skipNumber()
}

// skipString consumes a string in JSON's grammar: bytes but control
// characters, and escapes (\uXXXX of any four hex digits). Skip does not
// interpret it, so it need not be in the subset: encoding/json keeps a
// value it does not interpret (json.RawMessage) as written too.
func (d *Decoder) skipString() bool {
	if !d.consume('"') {
		return false
	}
	for d.pos < len(d.in) {
		c := d.in[d.pos]
		switch {
		case c == '"':
			d.pos++
			return true
		case c == '\\':
			if d.pos+1 >= len(d.in) {
				return false
			}
			switch d.in[d.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.pos += 2
			case 'u':
				if d.pos+6 > len(d.in) || !isHex4(d.in[d.pos+2:d.pos+6]) {
					return false
				}
				d.pos += 6
			default:
				return false
			}
		case c < ' ':
			return false
		default:
			d.pos++
		}
	}
	return false
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// skipNumber consumes a number in JSON's grammar: an optional minus, an
// integer part without leading zero, an optional fraction and an optional
// exponent.
func (d *Decoder) skipNumber() bool {
	if _, ok := d.mantissa(); !ok {
		return false
	}
	if d.pos < len(d.in) && (d.in[d.pos] == 'e' || d.in[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.in) && (d.in[d.pos] == '+' || d.in[d.pos] == '-') {
			d.pos++
		}
		if d.digits() == 0 {
			return false
		}
	}
	return true
}

// mantissa consumes an optional minus, an integer part without leading
// zero and an optional fraction, and returns how many digits they hold.
func (d *Decoder) mantissa() (digits int, ok bool) {
	if d.pos < len(d.in) && d.in[d.pos] == '-' {
		d.pos++
	}
	intStart := d.pos
	n := d.digits()
	if n == 0 || (n > 1 && d.in[intStart] == '0') {
		return 0, false
	}
	if d.pos < len(d.in) && d.in[d.pos] == '.' {
		d.pos++
		f := d.digits()
		if f == 0 {
			return 0, false
		}
		n += f
	}
	return n, true
}

// Capture calls consume, which must consume one value, and returns that
// value as written, without the whitespace before it.
func (d *Decoder) Capture(consume func() bool) ([]byte, bool) {
	d.skipSpace()
	start := d.pos
	if !consume() {
		return nil, false
	}
	return d.in[start:d.pos], true
}

// Array consumes an array, calling elem with the Decoder at each element,
// which elem must consume.
func (d *Decoder) Array(elem func() bool) bool {
	if !d.consume('[') {
		return false
	}
	if d.consume(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.consume(']') {
			return true
		}
		if !d.consume(',') {
			return false
		}
	}
}

// String consumes a string and returns its value.
func (d *Decoder) String() (string, bool) {
	b, ok := d.StringBytes()
	return string(b), ok
}

// StringBytes consumes a string and returns its value, which aliases the
// input unless the string has escapes.
func (d *Decoder) StringBytes() ([]byte, bool) {
	if !d.consume('"') {
		return nil, false
	}
	var buf []byte // the value so far, once an escape was seen
	rest := d.in[d.pos:]
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if c >= ' ' && c != '"' && c != '\\' {
			continue
		}
		if c < ' ' || !utf8.Valid(rest[:i]) {
			return nil, false
		}
		if c == '"' {
			d.pos += i + 1
			if buf == nil {
				return rest[:i], true
			}
			return append(buf, rest[:i]...), true
		}
		if i+1 >= len(rest) {
			return nil, false
		}
		r, n := unescape(rest[i+1:])
		if n == 0 {
			return nil, false
		}
		buf = utf8.AppendRune(append(buf, rest[:i]...), r)
		d.pos += i + 1 + n
		rest, i = d.in[d.pos:], -1
	}
	return nil, false
}

// unescape decodes the escape after a backslash and returns its rune and
// length, or a zero length for one outside the subset.
func unescape(s []byte) (rune, int) {
	switch s[0] {
	case '"', '\\', '/':
		return rune(s[0]), 1
	case 'b':
		return '\b', 1
	case 'f':
		return '\f', 1
	case 'n':
		return '\n', 1
	case 'r':
		return '\r', 1
	case 't':
		return '\t', 1
	case 'u':
		if len(s) < 5 {
			return 0, 0
		}
		v, err := strconv.ParseUint(string(s[1:5]), 16, 16)
		if err != nil || (v >= 0xD800 && v <= 0xDFFF) {
			return 0, 0
		}
		return rune(v), 5
	}
	return 0, 0
}

// Base64 consumes a bytes value as protojson reads it with
// base64.StdEncoding. protojson switches to unpadded encoding if the length
// is not a multiple of 4, and to URL-safe encoding if the string has '-' or
// '_', which StdEncoding rejects; both are outside the subset. Like
// protojson, it returns nil for an empty value.
func (d *Decoder) Base64() ([]byte, bool) {
	s, ok := d.StringBytes()
	if !ok || len(s)%4 != 0 {
		return nil, false
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(b, s)
	if err != nil {
		return nil, false
	}
	if n == 0 {
		return nil, true
	}
	return b[:n], true
}

// Digits consumes a non-negative integer of at most 18 digits without
// leading zero, as a number or, when quoted, as a string. A number with a
// fraction or an exponent is outside the subset, even if its value is an
// integer.
func (d *Decoder) Digits(quoted bool) (int64, bool) {
	d.skipSpace()
	if quoted {
		if d.pos >= len(d.in) || d.in[d.pos] != '"' {
			return 0, false
		}
		d.pos++
	}
	start := d.pos
	for d.pos < len(d.in) && d.in[d.pos] >= '0' && d.in[d.pos] <= '9' {
		d.pos++
	}
	digits := d.in[start:d.pos]
	if len(digits) == 0 || len(digits) > 18 || (digits[0] == '0' && len(digits) > 1) {
		return 0, false
	}
	if quoted {
		if d.pos >= len(d.in) || d.in[d.pos] != '"' {
			return 0, false
		}
		d.pos++
	} else if d.pos < len(d.in) && (d.in[d.pos] == '.' || d.in[d.pos] == 'e' || d.in[d.pos] == 'E') {
		return 0, false
	}
	n, err := strconv.ParseInt(string(digits), 10, 64)
	return n, err == nil
}

// Number consumes a number: an optional minus, an integer part without
// leading zero and an optional fraction, at most 15 digits in all (so that
// it is exact as a float64), no exponent.
func (d *Decoder) Number() bool {
	d.skipSpace()
	start := d.pos
	n, ok := d.mantissa()
	if !ok || n > 15 || (d.pos < len(d.in) && (d.in[d.pos] == 'e' || d.in[d.pos] == 'E')) {
		return false
	}
	return d.pos > start
}

func (d *Decoder) digits() int {
	start := d.pos
	for d.pos < len(d.in) && d.in[d.pos] >= '0' && d.in[d.pos] <= '9' {
		d.pos++
	}
	return d.pos - start
}

// Peek returns the next byte after whitespace, or 0 at the end.
func (d *Decoder) Peek() byte {
	d.skipSpace()
	if d.pos < len(d.in) {
		return d.in[d.pos]
	}
	return 0
}

// Literal consumes lit (true, false or null) if it comes next, followed by
// a byte that can end a value.
func (d *Decoder) Literal(lit string) bool {
	d.skipSpace()
	rest := d.in[d.pos:]
	if !bytes.HasPrefix(rest, []byte(lit)) {
		return false
	}
	if len(rest) > len(lit) && !bytes.ContainsRune([]byte(" \t\r\n,}]"), rune(rest[len(lit)])) {
		return false
	}
	d.pos += len(lit)
	return true
}

// End reports whether only whitespace is left.
func (d *Decoder) End() bool {
	d.skipSpace()
	return d.pos == len(d.in)
}

// consume skips whitespace and then consumes c if it comes next.
func (d *Decoder) consume(c byte) bool {
	d.skipSpace()
	if d.pos < len(d.in) && d.in[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

func (d *Decoder) skipSpace() {
	for d.pos < len(d.in) {
		switch d.in[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}
