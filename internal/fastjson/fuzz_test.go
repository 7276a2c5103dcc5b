package fastjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// FuzzScanner checks every method against encoding/json on arbitrary
// input, and against protojson for the methods protojson's fast paths
// use. Whatever a method accepts is, as written, the first value
// encoding/json's Decoder reads from the input, and decodes to the same Go
// value; an input a method accepts up to trailing whitespace is valid
// JSON. The other way round, each method accepts the part of JSON its
// documentation puts in the subset, so that the fast paths take the
// common form of a document.
func FuzzScanner(f *testing.F) {
	for _, s := range seeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = data[:len(data):len(data)] // reads past the end panic
		checkSkip(t, data)
		checkString(t, data)
		checkNumber(t, data)
		checkDigits(t, data, false)
		checkDigits(t, data, true)
		checkLiterals(t, data)
		checkBase64(t, data)
		checkValue(t, data)
		checkObject(t, data, false)
		checkObject(t, data, true)
		checkStruct(t, data, false)
		checkStruct(t, data, true)
	})
}

// seeds returns the inputs of every table test.
func seeds() []string {
	var s []string
	for _, tc := range stringCases {
		s = append(s, tc.in)
	}
	for _, tc := range numberCases {
		s = append(s, tc.in)
	}
	for _, tc := range digitsCases {
		s = append(s, tc.in)
	}
	for _, tc := range literalCases {
		s = append(s, tc.in)
	}
	for _, tc := range skipCases {
		s = append(s, tc.in)
	}
	for _, tc := range objectCases {
		s = append(s, tc.in)
	}
	for _, tc := range membersCases {
		s = append(s, tc.in)
	}
	for _, tc := range structCases {
		s = append(s, tc.in)
	}
	for _, tc := range arrayCases {
		s = append(s, tc.in)
	}
	for _, tc := range base64Cases {
		s = append(s, tc.in)
	}
	return append(s, documentSeeds...)
}

// firstValue returns the first value encoding/json's Decoder reads from
// data, as written, and what follows it.
func firstValue(data []byte) (raw, after []byte, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		return nil, nil, false
	}
	lead := len(data) - len(bytes.TrimLeft(data, " \t\r\n"))
	return v, data[lead+len(v):], true
}

// ends reports whether after, the input after a value, starts with a byte
// that can end a value, or is empty.
func ends(after []byte) bool {
	return len(after) == 0 || strings.IndexByte(" \t\r\n,]}", after[0]) >= 0
}

// checkAccepted checks what a method accepted from data: span, the value
// it consumed as written, is the first value encoding/json reads; if only
// whitespace follows, data is valid JSON.
func checkAccepted(t *testing.T, method string, data, span []byte, d *Decoder) {
	t.Helper()
	raw, _, ok := firstValue(data)
	if !ok || !bytes.Equal(raw, span) {
		t.Fatalf("%s accepts %q of %q; encoding/json reads %q (ok %v)", method, span, data, raw, ok)
	}
	if d.End() && !json.Valid(data) {
		t.Fatalf("%s accepts all of %q, which encoding/json rejects", method, data)
	}
}

// surrogateEscape reports whether JSON text has a \u escape of a UTF-16
// surrogate (\uD800 to \uDFFF).
func surrogateEscape(b []byte) bool {
	for i := 0; i+1 < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if b[i+1] == 'u' && i+4 <= len(b) && (b[i+2]|0x20) == 'd' && strings.IndexByte("89abcdefABCDEF", b[i+3]) >= 0 {
			return true
		}
		i++
	}
	return false
}

// inSubset reports whether raw, JSON text, has only strings in the
// subset and nesting within MaxDepth (counting brackets in strings too).
func inSubset(raw []byte) bool {
	return utf8.Valid(raw) && !surrogateEscape(raw) && bytes.Count(raw, []byte("["))+bytes.Count(raw, []byte("{")) <= MaxDepth
}

func checkSkip(t *testing.T, data []byte) {
	d := NewDecoder(data)
	span, ok := d.Skip()
	if !ok {
		if raw, after, ok := firstValue(data); ok && ends(after) && inSubset(raw) {
			t.Fatalf("Skip declines %q of %q", raw, data)
		}
		return
	}
	checkAccepted(t, "Skip", data, span, d)
}

func checkString(t *testing.T, data []byte) {
	d := NewDecoder(data)
	var v []byte
	span, ok := d.Capture(func() (ok bool) { v, ok = d.StringBytes(); return ok })
	if !ok {
		if raw, _, ok := firstValue(data); ok && raw[0] == '"' && inSubset(raw) {
			t.Fatalf("StringBytes declines %q of %q", raw, data)
		}
		return
	}
	start := d.pos - len(span)
	checkAccepted(t, "StringBytes", data, span, d)
	var js string
	if err := json.Unmarshal(span, &js); err != nil || js != string(v) {
		t.Fatalf("StringBytes(%q) = %q; encoding/json: %q, %v", span, v, js, err)
	}
	var ps wrapperspb.StringValue
	if err := protojson.Unmarshal(span, &ps); err != nil || ps.GetValue() != string(v) {
		t.Fatalf("StringBytes(%q) = %q; protojson: %q, %v", span, v, ps.GetValue(), err)
	}
	if s, _ := NewDecoder(data).String(); s != string(v) {
		t.Fatalf("String(%q) = %q, StringBytes %q", span, s, v)
	}
	if !bytes.Contains(span, []byte(`\`)) && len(v) > 0 && &v[0] != &data[start+1] {
		t.Fatalf("StringBytes(%q) copies a string without escapes", span)
	}
}

// digitNext reports whether after, the input after a value, starts with
// a digit, which makes a number of leading zero (01) of the two.
func digitNext(after []byte) bool { return len(after) > 0 && '0' <= after[0] && after[0] <= '9' }

// digitCount returns how many decimal digits a number's text has.
func digitCount(b []byte) int {
	n := 0
	for _, c := range b {
		if '0' <= c && c <= '9' {
			n++
		}
	}
	return n
}

func checkNumber(t *testing.T, data []byte) {
	d := NewDecoder(data)
	span, ok := d.Capture(d.Number)
	if !ok {
		if raw, after, ok := firstValue(data); ok && !digitNext(after) && (raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9') && !bytes.ContainsAny(raw, "eE") && digitCount(raw) <= 15 {
			t.Fatalf("Number declines %q of %q", raw, data)
		}
		return
	}
	checkAccepted(t, "Number", data, span, d)
	checkNumberValue(t, span)
}

// checkNumberValue checks a number Number accepted: it has no exponent
// and at most 15 digits, and encoding/json and protojson read it to a
// float64 that, printed to 15 significant digits, is the number as
// written.
func checkNumberValue(t *testing.T, span []byte) {
	t.Helper()
	if bytes.ContainsAny(span, "eE") || digitCount(span) > 15 {
		t.Fatalf("Number accepts %q", span)
	}
	var f float64
	if err := json.Unmarshal(span, &f); err != nil {
		t.Fatalf("Number accepts %q; encoding/json: %v", span, err)
	}
	written, ok1 := new(big.Rat).SetString(string(span))
	back, ok2 := new(big.Rat).SetString(strconv.FormatFloat(f, 'e', 14, 64))
	if !ok1 || !ok2 || written.Cmp(back) != 0 {
		t.Fatalf("Number accepts %q, which is %v as a float64", span, f)
	}
	var pv structpb.Value
	if err := protojson.Unmarshal(span, &pv); err != nil || math.Float64bits(pv.GetNumberValue()) != math.Float64bits(f) {
		t.Fatalf("Number accepts %q (%v); protojson: %v, %v", span, f, pv.GetNumberValue(), err)
	}
}

func checkDigits(t *testing.T, data []byte, quoted bool) {
	d := NewDecoder(data)
	var n int64
	span, ok := d.Capture(func() (ok bool) { n, ok = d.Digits(quoted); return ok })
	if !ok {
		raw, after, ok := firstValue(data)
		if !ok || digitNext(after) {
			return
		}
		if quoted {
			if raw[0] != '"' {
				return
			}
			raw = raw[1 : len(raw)-1]
		}
		if len(raw) > 0 && len(raw) <= 18 && digitCount(raw) == len(raw) && (raw[0] != '0' || len(raw) == 1) {
			t.Fatalf("Digits(quoted %v) declines %q of %q", quoted, raw, data)
		}
		return
	}
	checkAccepted(t, "Digits", data, span, d)
	checkDigitsValue(t, span, quoted, n)
}

// checkDigitsValue checks an integer Digits accepted as n: encoding/json
// reads it to n, into an int64 or, quoted, into an int64 with the string
// option; protojson reads it to n as an int64; and n written in decimal
// is the number as written.
func checkDigitsValue(t *testing.T, span []byte, quoted bool, n int64) {
	t.Helper()
	text := string(span)
	if quoted {
		var v struct {
			V int64 `json:",string"`
		}
		if err := json.Unmarshal([]byte(`{"V":`+string(span)+`}`), &v); err != nil || v.V != n {
			t.Fatalf("Digits(%s) = %d; encoding/json: %d, %v", span, n, v.V, err)
		}
		text = text[1 : len(text)-1]
	} else {
		var v int64
		if err := json.Unmarshal(span, &v); err != nil || v != n {
			t.Fatalf("Digits(%s) = %d; encoding/json: %d, %v", span, n, v, err)
		}
	}
	var pv wrapperspb.Int64Value
	if err := protojson.Unmarshal(span, &pv); err != nil || pv.GetValue() != n {
		t.Fatalf("Digits(%s) = %d; protojson: %d, %v", span, n, pv.GetValue(), err)
	}
	if n < 0 || strconv.FormatInt(n, 10) != text {
		t.Fatalf("Digits(%s) = %d", span, n)
	}
}

func checkLiterals(t *testing.T, data []byte) {
	for _, lit := range []string{"true", "false", "null"} {
		d := NewDecoder(data)
		span, ok := d.Capture(func() bool { return d.Literal(lit) })
		if !ok {
			if raw, after, ok := firstValue(data); ok && string(raw) == lit && ends(after) {
				t.Fatalf("Literal(%s) declines %q", lit, data)
			}
			continue
		}
		if string(span) != lit || !ends(d.in[d.pos:]) {
			t.Fatalf("Literal(%s) accepts %q of %q", lit, span, data)
		}
		checkAccepted(t, "Literal", data, span, d)
	}
}

func checkBase64(t *testing.T, data []byte) {
	d := NewDecoder(data)
	var v []byte
	span, ok := d.Capture(func() (ok bool) { v, ok = d.Base64(); return ok })
	if !ok {
		return
	}
	checkAccepted(t, "Base64", data, span, d)
	checkBase64Value(t, span, v)
}

// checkBase64Value checks bytes Base64 accepted as v: encoding/json and
// protojson read them to v, and an empty value is nil.
func checkBase64Value(t *testing.T, span, v []byte) {
	t.Helper()
	if v != nil && len(v) == 0 {
		t.Fatalf("Base64(%s) = empty, not nil", span)
	}
	var jb []byte
	if err := json.Unmarshal(span, &jb); err != nil || !bytes.Equal(jb, v) {
		t.Fatalf("Base64(%s) = %x; encoding/json: %x, %v", span, v, jb, err)
	}
	var pb wrapperspb.BytesValue
	if err := protojson.Unmarshal(span, &pb); err != nil || !bytes.Equal(pb.GetValue(), v) {
		t.Fatalf("Base64(%s) = %x; protojson: %x, %v", span, v, pb.GetValue(), err)
	}
}

// value decodes a value with Members, Array, String, Literal and Skip
// (for numbers) to what encoding/json decodes into an any with UseNumber.
func value(d *Decoder, depth int) (any, bool) {
	switch d.Peek() {
	case '{':
		m := map[string]any{}
		ok := depth < MaxDepth && d.Members(func(key []byte) bool {
			v, ok := value(d, depth+1)
			m[string(key)] = v
			return ok
		})
		return m, ok
	case '[':
		a := []any{}
		ok := depth < MaxDepth && d.Array(func() bool {
			v, ok := value(d, depth+1)
			a = append(a, v)
			return ok
		})
		return a, ok
	case '"':
		s, ok := d.String()
		return s, ok
	case 't':
		return true, d.Literal("true")
	case 'f':
		return false, d.Literal("false")
	case 'n':
		return nil, d.Literal("null")
	}
	n, ok := d.Skip()
	return json.Number(n), ok
}

// decodeJSON decodes data with encoding/json, numbers as json.Number.
func decodeJSON(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("encoding/json rejects %q, which fastjson accepts: %v", data, err)
	}
}

func checkValue(t *testing.T, data []byte) {
	d := NewDecoder(data)
	var got any
	span, ok := d.Capture(func() (ok bool) { got, ok = value(d, 0); return ok })
	if !ok {
		if raw, after, ok := firstValue(data); ok && ends(after) && inSubset(raw) {
			t.Fatalf("value declines %q of %q", raw, data)
		}
		return
	}
	checkAccepted(t, "value", data, span, d)
	var want any
	decodeJSON(t, span, &want)
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("value(%q) (-encoding/json +fastjson):\n%s", span, diff(want, got))
	}
}

// diff returns cmp.Diff(want, got), or for values nested deeper than a
// few levels (whose comparison cmp takes time exponential in the depth
// for), the two values.
func diff(want, got any) string {
	if depth(reflect.ValueOf(want)) > 8 || depth(reflect.ValueOf(got)) > 8 {
		return fmt.Sprintf("-%v\n+%v", want, got)
	}
	return cmp.Diff(want, got)
}

// depth returns how deeply v nests maps, slices and structs.
func depth(v reflect.Value) int {
	d := 0
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() {
			return depth(v.Elem())
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			d = max(d, depth(it.Value()))
		}
		return d + 1
	case reflect.Slice:
		for i := range v.Len() {
			d = max(d, depth(v.Index(i)))
		}
		return d + 1
	case reflect.Struct:
		for i := range v.NumField() {
			d = max(d, depth(v.Field(i)))
		}
		return d + 1
	}
	return d
}

// topKeys returns the keys of a JSON object, decoded, in order.
func topKeys(t *testing.T, obj []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func checkObject(t *testing.T, data []byte, skipNull bool) {
	fields := []string{"a", "b", "c"}
	d := NewDecoder(data)
	d.SkipNull = skipNull
	got := map[string]any{}
	span, ok := d.Capture(func() bool {
		return d.Object(fields, func(i int) bool {
			v, ok := value(d, 1)
			got[fields[i]] = v
			return ok
		})
	})
	if !ok {
		return
	}
	checkAccepted(t, "Object", data, span, d)
	seen := map[string]bool{}
	for _, k := range topKeys(t, span) {
		if seen[k] || !strings.Contains("abc", k) || len(k) != 1 {
			t.Fatalf("Object(%q) accepts key %q", span, k)
		}
		seen[k] = true
	}
	var want map[string]any
	decodeJSON(t, span, &want)
	for k, v := range want {
		if v == nil && skipNull {
			delete(want, k)
		}
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("Object(%q, SkipNull %v) (-encoding/json +fastjson):\n%s", span, skipNull, diff(want, got))
	}
}

func checkStruct(t *testing.T, data []byte, skipNull bool) {
	d := NewDecoder(data)
	d.SkipNull = skipNull
	var got structTarget
	span, ok := d.Capture(func() bool {
		return d.Struct(structFields, func(i int) (ok bool) {
			*got.field(i), ok = value(d, 1)
			return ok
		})
	})
	if !ok {
		return
	}
	checkAccepted(t, "Struct", data, span, d)
	var want structTarget
	decodeJSON(t, span, &want)
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("Struct(%q, SkipNull %v) (-encoding/json +fastjson):\n%s", span, skipNull, diff(want, got))
	}
	// Each field's key at most once, and no key encoding/json would
	// match to a field but by its exact name.
	seen := map[string]bool{}
	for _, k := range topKeys(t, span) {
		exact := false
		for _, f := range structFields {
			exact = exact || k == f
		}
		if exact {
			if seen[k] {
				t.Fatalf("Struct(%q) accepts key %q twice", span, k)
			}
			seen[k] = true
			continue
		}
		name, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		var folded structTarget
		if err := json.Unmarshal([]byte(`{`+string(name)+`:1}`), &folded); err != nil || folded != (structTarget{}) {
			t.Fatalf("Struct(%q) skips key %q, which encoding/json decodes to a field (%v)", span, k, err)
		}
	}
}
