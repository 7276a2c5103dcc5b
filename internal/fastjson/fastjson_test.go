package fastjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The tables below pin each method's contract: the inputs in the subset,
// with the value and what the method leaves unread, and the inputs outside
// it. Where a method returns true, each test also checks that
// encoding/json (and protojson, for the methods protojson's fast paths
// use) reads the consumed text to the same value. FuzzScanner seeds from
// every table.

// input returns s as a slice whose capacity is its length, so that a
// read past the end of the input panics rather than reads spare capacity.
func input(s string) []byte {
	b := []byte(s)
	return b[:len(b):len(b)]
}

// unread returns the input d has not consumed.
func unread(d *Decoder) string { return string(d.in[d.pos:]) }

// consumed returns the input d has consumed, without leading whitespace.
func consumed(d *Decoder) string { return strings.TrimLeft(string(d.in[:d.pos]), " \t\r\n") }

// nested returns n levels of arrays or objects (keys "k") around 0.
func nested(open, close string, n int) string {
	return strings.Repeat(open, n) + "0" + strings.Repeat(close, n)
}

var stringCases = []struct {
	in, want string
	ok       bool
	rest     string
}{
	{in: `""`, ok: true},
	{in: `"abc"`, want: "abc", ok: true},
	{in: " \t\r\n\"abc\" , ", want: "abc", ok: true, rest: " , "},
	// A string ends at its quote; what may follow is the caller's to check.
	{in: `"a"b`, want: "a", ok: true, rest: "b"},
	{in: `"a""b"`, want: "a", ok: true, rest: `"b"`},
	// Every short escape.
	{in: `"\"\\\/\b\f\n\r\t"`, want: "\"\\/\b\f\n\r\t", ok: true},
	{in: `"x\"y"`, want: `x"y`, ok: true},
	{in: `"\\"`, want: `\`, ok: true},
	{in: `"a\/b"`, want: "a/b", ok: true},
	{in: `"\b\f"`, want: "\b\f", ok: true},
	{in: `"\n\r\t"`, want: "\n\r\t", ok: true},
	{in: `"ab\ncd\tef"`, want: "ab\ncd\tef", ok: true},
	// \uXXXX in either case, from U+0000 to U+FFFF but surrogates.
	{in: `"x\u00e9y"`, want: "xéy", ok: true},
	{in: `"\u00E9\u00e9"`, want: "éé", ok: true},
	{in: `"\u0000"`, want: "\x00", ok: true},
	{in: `"\u001f\u007F"`, want: "\x1f\x7f", ok: true},
	{in: `"\u2603\uFFFF"`, want: "☃\uffff", ok: true},
	{in: `"\uD7FF\uE000"`, want: "\ud7ff\ue000", ok: true},
	{in: `"\u0041BC"`, want: "ABC", ok: true},
	// Surrogates: encoding/json decodes a pair and replaces a lone one
	// with U+FFFD; protojson rejects a lone one. Both are outside the
	// subset.
	{in: `"\uD800"`},
	{in: `"\udbff"`},
	{in: `"\uDC00"`},
	{in: `"\uDFFF"`},
	{in: `"\uD83D\uDE00"`},
	{in: `"\ud83d\ude00"`},
	{in: `"a\uDFFFb"`},
	// Malformed \u escapes.
	{in: `"\u12"`},
	{in: `"\u12`},
	{in: `"\u`},
	{in: `"\u00g0"`},
	{in: `"\u+0ff"`},
	{in: `"\u0_ff"`},
	{in: `"\u 0ff"`},
	{in: `"\U00e9"`},
	// Escapes JSON does not have.
	{in: `"\x41"`},
	{in: `"\a"`},
	{in: `"\'"`},
	{in: `"\ "`},
	{in: `"\0"`},
	{in: "\"\\\n\""},
	// Unterminated.
	{in: `"`},
	{in: `"abc`},
	{in: `"abc\`},
	{in: `"abc\"`},
	{in: `"\n`},
	// Not a string.
	{in: ``},
	{in: `  `},
	{in: `abc`},
	{in: `'abc'`},
	{in: `null`},
	{in: `1`},
	// Control characters must be escaped; DEL need not.
	{in: "\"a\x00b\""},
	{in: "\"\x1f\""},
	{in: "\"\t\""},
	{in: "\"\n\""},
	{in: "\"\r\""},
	{in: "\"\\n\x01\""},
	{in: "\"\x7f\"", want: "\x7f", ok: true},
	{in: "\" ~\"", want: " ~", ok: true},
	// UTF-8: valid text is the value as written; invalid UTF-8 (which
	// encoding/json replaces with U+FFFD and protojson rejects) is
	// outside the subset, before, between and after escapes.
	{in: "\"héllo ☃ 😀\"", want: "héllo ☃ 😀", ok: true},
	{in: "\"\U0010FFFF\"", want: "\U0010FFFF", ok: true},
	{in: "\"é\\n☃\\t😀\"", want: "é\n☃\t😀", ok: true},
	{in: "\"\xff\""},
	{in: "\"a\xc3\""},
	{in: "\"\xe2\x82\""},
	{in: "\"\xc0\xaf\""},
	{in: "\"\xed\xa0\x80\""},
	{in: "\"\xf4\x90\x80\x80\""},
	{in: "\"\xff\\n\""},
	{in: "\"\\n\xff\""},
	{in: "\"\\n\xff\\t\""},
	{in: "\"\xc3\\n\xa9\""},
}

func TestStringBytes(t *testing.T) {
	for _, tc := range stringCases {
		in := input(tc.in)
		d := NewDecoder(in)
		got, ok := d.StringBytes()
		if ok != tc.ok {
			t.Errorf("StringBytes(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if string(got) != tc.want || unread(d) != tc.rest {
			t.Errorf("StringBytes(%q) = %q leaving %q, want %q leaving %q", tc.in, got, unread(d), tc.want, tc.rest)
		}
		var js string
		if err := json.Unmarshal([]byte(consumed(d)), &js); err != nil || js != string(got) {
			t.Errorf("StringBytes(%q) = %q; encoding/json: %q, %v", tc.in, got, js, err)
		}
		var ps wrapperspb.StringValue
		if err := protojson.Unmarshal([]byte(consumed(d)), &ps); err != nil || ps.GetValue() != string(got) {
			t.Errorf("StringBytes(%q) = %q; protojson: %q, %v", tc.in, got, ps.GetValue(), err)
		}
		s, ok := NewDecoder(in).String()
		if !ok || s != tc.want {
			t.Errorf("String(%q) = %q, %v; want %q, true", tc.in, s, ok, tc.want)
		}
	}
}

// TestStringBytesAliases checks that a string without escapes is returned
// as a slice of the input, and one with escapes as a copy.
func TestStringBytesAliases(t *testing.T) {
	in := []byte(`"abc" "a\nc"`)
	d := NewDecoder(in)
	plain, ok1 := d.StringBytes()
	escaped, ok2 := d.StringBytes()
	if !ok1 || !ok2 {
		t.Fatal("StringBytes declined")
	}
	in[2], in[8] = 'X', 'Y'
	if string(plain) != "aXc" {
		t.Errorf("a string without escapes is %q after the input changed, want it to alias the input", plain)
	}
	if string(escaped) != "a\nc" {
		t.Errorf("a string with escapes is %q after the input changed, want a copy", escaped)
	}
}

var numberCases = []struct {
	in   string
	ok   bool
	rest string
}{
	{in: "0", ok: true},
	{in: "-0", ok: true},
	{in: "1", ok: true},
	{in: "-1", ok: true},
	{in: "10", ok: true},
	{in: "1234567890", ok: true},
	{in: "0.5", ok: true},
	{in: "-0.5", ok: true},
	{in: "-0.0", ok: true},
	{in: "0.000", ok: true},
	{in: "1.25", ok: true},
	{in: " \t\r\n7 , ", ok: true, rest: " , "},
	{in: "1]", ok: true, rest: "]"},
	{in: "1}", ok: true, rest: "}"},
	// A number ends at the first byte that cannot continue it, as
	// encoding/json's Decoder reads a first value; the caller checks
	// what follows.
	{in: "1x", ok: true, rest: "x"},
	{in: "0x10", ok: true, rest: "x10"},
	{in: "1.5.5", ok: true, rest: ".5"},
	{in: "1-2", ok: true, rest: "-2"},
	// At most 15 digits, counting a leading 0.
	{in: "999999999999999", ok: true},
	{in: "-999999999999999", ok: true},
	{in: "1234567890123456"},
	{in: "99999999999999.9", ok: true},
	{in: "9.99999999999999", ok: true},
	{in: "9.999999999999999"},
	{in: "0.00000000000001", ok: true},
	{in: "0.000000000000001"},
	{in: "12345678901234567890"},
	// No exponent.
	{in: "1e5"},
	{in: "1E5"},
	{in: "1e+5"},
	{in: "1E+5"},
	{in: "1.5e-3"},
	{in: "0e0"},
	{in: "-1E-0"},
	{in: "1e400"},
	{in: "1e"},
	// Outside JSON's grammar.
	{in: ""},
	{in: "   "},
	{in: "-"},
	{in: "- 1"},
	{in: "--1"},
	{in: "+1"},
	{in: ".5"},
	{in: "-.5"},
	{in: "1."},
	{in: "1.e5"},
	{in: "1.x"},
	{in: "01"},
	{in: "-01"},
	{in: "00"},
	{in: "00.5"},
	{in: "x"},
	{in: "-x"},
	{in: "Infinity"},
	{in: "-Infinity"},
	{in: "NaN"},
	{in: `"1"`},
	{in: "true"},
}

func TestNumber(t *testing.T) {
	for _, tc := range numberCases {
		d := NewDecoder(input(tc.in))
		ok := d.Number()
		if ok != tc.ok {
			t.Errorf("Number(%q) = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if unread(d) != tc.rest {
			t.Errorf("Number(%q) leaves %q, want %q", tc.in, unread(d), tc.rest)
		}
		checkNumberValue(t, []byte(consumed(d)))
	}
}

var digitsCases = []struct {
	in     string
	quoted bool
	want   int64
	ok     bool
	rest   string
}{
	{in: "0", ok: true},
	{in: "7", want: 7, ok: true},
	{in: "1234567890", want: 1234567890, ok: true},
	{in: " \t\r\n42 , ", want: 42, ok: true, rest: " , "},
	{in: "1,", want: 1, ok: true, rest: ","},
	{in: "1}", want: 1, ok: true, rest: "}"},
	{in: "1]", want: 1, ok: true, rest: "]"},
	{in: "1x", want: 1, ok: true, rest: "x"},
	// At most 18 digits, so every value fits in an int64.
	{in: "999999999999999999", want: 999999999999999999, ok: true},
	{in: "1000000000000000000"},
	{in: "9223372036854775807"},
	{in: "9223372036854775808"},
	{in: "99999999999999999999999"},
	// Integers only: a fraction or an exponent is not the end of the
	// integer but a number Digits does not take.
	{in: "1.5"},
	{in: "1.0"},
	{in: "0.5"},
	{in: "1e3"},
	{in: "1E3"},
	{in: "0e0"},
	{in: "1.5,"},
	{in: "1e400"},
	// Non-negative, without leading zero or sign.
	{in: "01"},
	{in: "00"},
	{in: "-1"},
	{in: "-0"},
	{in: "+1"},
	{in: ""},
	{in: "  "},
	{in: "x"},
	{in: `"1"`},
	{in: "null"},
	// Quoted, as protojson writes an int64.
	{in: `"0"`, quoted: true, ok: true},
	{in: `"123"`, quoted: true, want: 123, ok: true},
	{in: ` "42" , `, quoted: true, want: 42, ok: true, rest: " , "},
	{in: `"1"x`, quoted: true, want: 1, ok: true, rest: "x"},
	{in: `"999999999999999999"`, quoted: true, want: 999999999999999999, ok: true},
	{in: `"1000000000000000000"`, quoted: true},
	{in: `""`, quoted: true},
	{in: `"01"`, quoted: true},
	{in: `"-1"`, quoted: true},
	{in: `"+1"`, quoted: true},
	{in: `" 1"`, quoted: true},
	{in: `"1 "`, quoted: true},
	{in: `"1.5"`, quoted: true},
	{in: `"1e3"`, quoted: true},
	{in: `"\u0031"`, quoted: true},
	{in: `"1`, quoted: true},
	{in: `"`, quoted: true},
	{in: ``, quoted: true},
	{in: `1`, quoted: true},
	{in: `'1'`, quoted: true},
	{in: `'1"`, quoted: true},
}

func TestDigits(t *testing.T) {
	for _, tc := range digitsCases {
		d := NewDecoder(input(tc.in))
		got, ok := d.Digits(tc.quoted)
		if ok != tc.ok {
			t.Errorf("Digits(%q, quoted %v) ok = %v, want %v", tc.in, tc.quoted, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if got != tc.want || unread(d) != tc.rest {
			t.Errorf("Digits(%q, quoted %v) = %d leaving %q, want %d leaving %q", tc.in, tc.quoted, got, unread(d), tc.want, tc.rest)
		}
		checkDigitsValue(t, []byte(consumed(d)), tc.quoted, got)
	}
}

var literalCases = []struct {
	in, lit string
	ok      bool
	rest    string
}{
	{in: "true", lit: "true", ok: true},
	{in: "false", lit: "false", ok: true},
	{in: "null", lit: "null", ok: true},
	{in: " \t\r\nnull", lit: "null", ok: true},
	// A byte that can end a value may follow.
	{in: "true ", lit: "true", ok: true, rest: " "},
	{in: "true\t", lit: "true", ok: true, rest: "\t"},
	{in: "true\r", lit: "true", ok: true, rest: "\r"},
	{in: "true\n", lit: "true", ok: true, rest: "\n"},
	{in: "true,", lit: "true", ok: true, rest: ","},
	{in: "false}", lit: "false", ok: true, rest: "}"},
	{in: "null]", lit: "null", ok: true, rest: "]"},
	// Any other byte may not.
	{in: "truex", lit: "true"},
	{in: "true1", lit: "true"},
	{in: "truetrue", lit: "true"},
	{in: `true"`, lit: "true"},
	{in: "true:", lit: "true"},
	{in: "true[", lit: "true"},
	{in: "true{", lit: "true"},
	{in: "nulls", lit: "null"},
	{in: "null\f", lit: "null"},
	{in: "null\x00", lit: "null"},
	{in: "null\xc2\xa0", lit: "null"},
	// Truncated, misspelt or another literal.
	{in: "tru", lit: "true"},
	{in: "t", lit: "true"},
	{in: "fals", lit: "false"},
	{in: "nul", lit: "null"},
	{in: "", lit: "null"},
	{in: "True", lit: "true"},
	{in: "NULL", lit: "null"},
	{in: "nil", lit: "null"},
	{in: "true", lit: "null"},
	{in: "null", lit: "false"},
	{in: `"null"`, lit: "null"},
}

func TestLiteral(t *testing.T) {
	for _, tc := range literalCases {
		d := NewDecoder(input(tc.in))
		ok := d.Literal(tc.lit)
		if ok != tc.ok {
			t.Errorf("Literal(%q) on %q = %v, want %v", tc.lit, tc.in, ok, tc.ok)
			continue
		}
		if ok && (unread(d) != tc.rest || consumed(d) != tc.lit) {
			t.Errorf("Literal(%q) on %q consumes %q leaving %q, want %q leaving %q", tc.lit, tc.in, consumed(d), unread(d), tc.lit, tc.rest)
		}
	}
}

var skipCases = []struct {
	in, span string
	ok       bool
	rest     string
}{
	// Strings in JSON's whole grammar, as written: invalid UTF-8 and
	// surrogates of any kind included.
	{in: `""`, span: `""`, ok: true},
	{in: ` "a\"b" , `, span: `"a\"b"`, ok: true, rest: " , "},
	{in: `"\"\\\/\b\f\n\r\t"`, span: `"\"\\\/\b\f\n\r\t"`, ok: true},
	{in: `"\u00e9\u00E9\uFFFF\u0000"`, span: `"\u00e9\u00E9\uFFFF\u0000"`, ok: true},
	{in: `"\uD83D\uDE00\uD800\udfff"`, span: `"\uD83D\uDE00\uD800\udfff"`, ok: true},
	{in: `"\uaAfF\u09aF"`, span: `"\uaAfF\u09aF"`, ok: true},
	{in: "\"\xff\xed\xa0\x80\xc3\"", span: "\"\xff\xed\xa0\x80\xc3\"", ok: true},
	{in: "\"héllo\x7f\"", span: "\"héllo\x7f\"", ok: true},
	{in: `"\u12"`},
	{in: `"\u12`},
	{in: `"\u`},
	{in: `"\u00g0"`},
	{in: `"\u00G0"`},
	{in: `"\u/000"`},
	{in: `"\u:000"`},
	{in: `"\u@000"`},
	{in: "\"\\u`000\""},
	{in: `"\x41"`},
	{in: `"\a"`},
	{in: `"\'"`},
	{in: `"\U00e9"`},
	{in: `"abc\`},
	{in: `"abc\"`},
	{in: `"abc`},
	{in: `"`},
	{in: "\"\x00\""},
	{in: "\"\x1f\""},
	{in: "\"a\tb\""},
	{in: "\"a\nb\""},
	// Numbers in JSON's whole grammar.
	{in: "0", span: "0", ok: true},
	{in: "-0", span: "-0", ok: true},
	{in: "123", span: "123", ok: true},
	{in: "-1.5", span: "-1.5", ok: true},
	{in: "1e5", span: "1e5", ok: true},
	{in: "1E5", span: "1E5", ok: true},
	{in: "1e+5", span: "1e+5", ok: true},
	{in: "1E+5", span: "1E+5", ok: true},
	{in: "1.5e-3", span: "1.5e-3", ok: true},
	{in: "-0.0e-0", span: "-0.0e-0", ok: true},
	{in: "0e0", span: "0e0", ok: true},
	{in: "1e400", span: "1e400", ok: true},
	{in: "-1e-400", span: "-1e-400", ok: true},
	{in: "1e999999999999999999999", span: "1e999999999999999999999", ok: true},
	{in: "123456789012345678901234567890", span: "123456789012345678901234567890", ok: true},
	{in: "1e5x", span: "1e5", ok: true, rest: "x"},
	{in: "1.5,", span: "1.5", ok: true, rest: ","},
	{in: "+1"},
	{in: ".5"},
	{in: "-.5"},
	{in: "1."},
	{in: "1.e5"},
	{in: "01"},
	{in: "-01"},
	{in: "-"},
	{in: "- 1"},
	{in: "1e"},
	{in: "1E"},
	{in: "1e+"},
	{in: "1e-"},
	{in: "1e+-5"},
	{in: "1e 5"},
	{in: "1ee5"},
	{in: "Infinity"},
	{in: "NaN"},
	{in: "0x10", span: "0", ok: true, rest: "x10"},
	// Literals.
	{in: "true", span: "true", ok: true},
	{in: "false", span: "false", ok: true},
	{in: "null", span: "null", ok: true},
	{in: "tru"},
	{in: "fals"},
	{in: "nul"},
	{in: "truex"},
	{in: "nullnull"},
	// Arrays.
	{in: "[]", span: "[]", ok: true},
	{in: " [ ] ", span: "[ ]", ok: true, rest: " "},
	{in: `[1,"a",true,null,[],{}]`, span: `[1,"a",true,null,[],{}]`, ok: true},
	{in: " [ 1 , 2 ] ]", span: "[ 1 , 2 ]", ok: true, rest: " ]"},
	{in: "[1,]"},
	{in: "[,1]"},
	{in: "[,]"},
	{in: "[1 2]"},
	{in: "[1;2]"},
	{in: "[1"},
	{in: "[1,"},
	{in: "["},
	{in: "]"},
	{in: "[}"},
	// Objects, which may repeat keys; keys are in the subset.
	{in: "{}", span: "{}", ok: true},
	{in: " { } ", span: "{ }", ok: true, rest: " "},
	{in: `{"a":1,"b":[{"c":null}],"a":"x"}`, span: `{"a":1,"b":[{"c":null}],"a":"x"}`, ok: true},
	{in: `{ "a" : 1 , "\u00e9" : {} }`, span: `{ "a" : 1 , "\u00e9" : {} }`, ok: true},
	{in: `{"a":"\ud800"}`, span: `{"a":"\ud800"}`, ok: true},
	{in: `{"\ud800":1}`},
	{in: "{\"\xff\":1}"},
	{in: `{"a" 1}`},
	{in: `{"a":}`},
	{in: `{"a":1,}`},
	{in: `{,"a":1}`},
	{in: `{"a":1 "b":2}`},
	{in: `{"a":1;"b":2}`},
	{in: `{"a"}`},
	{in: `{"a":1`},
	{in: `{"a":1]`},
	{in: `{a:1}`},
	{in: `{'a':1}`},
	{in: `{1:1}`},
	{in: `{null:1}`},
	{in: "{"},
	{in: "}"},
	{in: "{]"},
	// Nesting up to MaxDepth.
	{in: nested("[", "]", MaxDepth), span: nested("[", "]", MaxDepth), ok: true},
	{in: nested("[", "]", MaxDepth+1)},
	{in: nested(`{"k":`, "}", MaxDepth), span: nested(`{"k":`, "}", MaxDepth), ok: true},
	{in: nested(`{"k":`, "}", MaxDepth+1)},
	{in: nested(`[{"k":`, "}]", MaxDepth/2), span: nested(`[{"k":`, "}]", MaxDepth/2), ok: true},
	{in: "[" + nested(`[{"k":`, "}]", MaxDepth/2) + "]"},
	// Whitespace is space, tab, CR and LF only.
	{in: " \t\r\n1 \t\r\n", span: "1", ok: true, rest: " \t\r\n"},
	{in: "[\t1\r,\n2 ]", span: "[\t1\r,\n2 ]", ok: true},
	{in: "\f1"},
	{in: "\v1"},
	{in: "\x001"},
	{in: "\xc2\xa01"},
	{in: "\xef\xbb\xbf1"},
	{in: "[1\f]"},
	{in: "{\"a\"\v:1}"},
	// Nothing, or not a value.
	{in: ""},
	{in: "   "},
	{in: ":"},
	{in: ","},
	{in: "x"},
}

func TestSkip(t *testing.T) {
	for _, tc := range skipCases {
		d := NewDecoder(input(tc.in))
		span, ok := d.Skip()
		if ok != tc.ok {
			t.Errorf("Skip(%.80q) ok = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if string(span) != tc.span || unread(d) != tc.rest {
			t.Errorf("Skip(%.80q) = %.80q leaving %q, want %.80q leaving %q", tc.in, span, unread(d), tc.span, tc.rest)
		}
		if !json.Valid(span) {
			t.Errorf("Skip(%.80q) = %.80q, which encoding/json finds invalid", tc.in, span)
		}
	}
}

// member is one call of an Object, Members or Struct callback: the field
// index or key, and the value as written.
type member struct {
	Field int
	Key   string
	Value string
}

// skipMembers returns a callback for Object or Struct that records each
// call and skips the value.
func skipMembers(d *Decoder, calls *[]member) func(int) bool {
	return func(field int) bool {
		v, ok := d.Skip()
		*calls = append(*calls, member{Field: field, Value: string(v)})
		return ok
	}
}

var objectCases = []struct {
	in       string
	skipNull bool
	calls    []member
	ok       bool
	rest     string
}{
	{in: "{}", ok: true},
	{in: " { \t} ,", ok: true, rest: " ,"},
	{in: `{"a":1}`, calls: []member{{0, "", "1"}}, ok: true},
	{in: `{"b":[1, 2],"a":{"x":1}}`, calls: []member{{1, "", "[1, 2]"}, {0, "", `{"x":1}`}}, ok: true},
	{in: ` { "a" : "x" , "b" : null } `, calls: []member{{0, "", `"x"`}, {1, "", "null"}}, ok: true, rest: " "},
	{in: `{"\u0061":1}`, calls: []member{{0, "", "1"}}, ok: true},
	{in: `{"a":1}}`, calls: []member{{0, "", "1"}}, ok: true, rest: "}"},
	// Keys in fields, exactly, each at most once.
	{in: `{"a":1,"a":2}`},
	{in: `{"a":1,"b":2,"a":3}`},
	{in: `{"c":1}`},
	{in: `{"A":1}`},
	{in: `{"a ":1}`},
	{in: `{"":1}`, calls: []member{{2, "", "1"}}, ok: true}, // "" is a field
	{in: `{:1}`},
	{in: `{"a":1,:2}`},
	// SkipNull: a null member is not passed on, but counts as present.
	{in: `{"a":null,"b":1}`, skipNull: true, calls: []member{{1, "", "1"}}, ok: true},
	{in: `{"a": null }`, skipNull: true, ok: true},
	{in: `{"a":null,"a":1}`, skipNull: true},
	{in: `{"a":1,"a":null}`, skipNull: true},
	{in: `{"a":nul}`, skipNull: true},
	{in: `{"a":nullx}`, skipNull: true},
	{in: `{"c":null}`, skipNull: true},
	// Outside JSON's grammar.
	{in: `{"a" 1}`},
	{in: `{"a"}`},
	{in: `{"a":}`},
	{in: `{"a":1,}`},
	{in: `{,}`},
	{in: `{,"a":1}`},
	{in: `{"a":1 "b":2}`},
	{in: `{"a":1;"b":2}`},
	{in: `{"a":1`},
	{in: `{"a":1,`},
	{in: `{"a":1]`},
	{in: `{a:1}`},
	{in: `{"\ud800":1}`},
	{in: "{\"a\xff\":1}"},
	{in: `{"a:1}`},
	{in: "{"},
	{in: "[]"},
	{in: "null"},
	{in: ""},
}

func TestObject(t *testing.T) {
	for _, tc := range objectCases {
		d := NewDecoder(input(tc.in))
		d.SkipNull = tc.skipNull
		var calls []member
		ok := d.Object([]string{"a", "b", ""}, skipMembers(d, &calls))
		if ok != tc.ok {
			t.Errorf("Object(%q, SkipNull %v) ok = %v, want %v", tc.in, tc.skipNull, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if diff := cmp.Diff(tc.calls, calls); diff != "" || unread(d) != tc.rest {
			t.Errorf("Object(%q, SkipNull %v) leaves %q (want %q), calls (-want +got):\n%s", tc.in, tc.skipNull, unread(d), tc.rest, diff)
		}
	}
}

// TestObjectMemberDeclines checks that Object, Members, Struct and Array
// decline when their callback does.
func TestObjectMemberDeclines(t *testing.T) {
	no := func(int) bool { return false }
	if NewDecoder([]byte(`{"a":1}`)).Object([]string{"a"}, no) {
		t.Error("Object accepts a member its callback declines")
	}
	if NewDecoder([]byte(`{"a":1}`)).Struct([]string{"a"}, no) {
		t.Error("Struct accepts a member its callback declines")
	}
	if NewDecoder([]byte(`{"a":1}`)).Members(func([]byte) bool { return false }) {
		t.Error("Members accepts a member its callback declines")
	}
	if NewDecoder([]byte(`[1]`)).Array(func() bool { return false }) {
		t.Error("Array accepts an element its callback declines")
	}
	// Empty containers call nothing.
	if !NewDecoder([]byte(`{}`)).Object([]string{"a"}, no) || !NewDecoder([]byte(`{}`)).Struct([]string{"a"}, no) ||
		!NewDecoder([]byte(`{}`)).Members(func([]byte) bool { return false }) || !NewDecoder([]byte(`[]`)).Array(func() bool { return false }) {
		t.Error("an empty object or array calls its callback")
	}
}

// TestObjectManyFields checks Object's and Struct's bound of 64 fields,
// the bits of their record of fields seen.
func TestObjectManyFields(t *testing.T) {
	fields := make([]string, 65)
	for i := range fields {
		fields[i] = string(rune('A'+i/26)) + string(rune('a'+i%26))
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"Cl":1}`, true}, // field 63
		{`{"Cm":1}`, false},
		{`{"Aa":1,"Cl":2,"Ab":3}`, true},
		{`{"Cl":1,"Cl":2}`, false},
	} {
		for name, scan := range map[string]func(d *Decoder) bool{
			"Object": func(d *Decoder) bool { return d.Object(fields, func(int) bool { return d.Number() }) },
			"Struct": func(d *Decoder) bool { return d.Struct(fields, func(int) bool { return d.Number() }) },
		} {
			d := NewDecoder(input(tc.in))
			if ok := scan(d); ok != tc.ok || ok && !d.End() {
				t.Errorf("%s(%s) of 65 fields = %v, want %v", name, tc.in, ok, tc.ok)
			}
		}
	}
}

var membersCases = []struct {
	in    string
	calls []member
	ok    bool
	rest  string
}{
	{in: "{}", ok: true},
	{in: " { } ]", ok: true, rest: " ]"},
	{in: `{"z":1,"a":[2],"z":{}}`, calls: []member{{0, "z", "1"}, {0, "a", "[2]"}, {0, "z", "{}"}}, ok: true},
	{in: `{ "" : "" , "\u00e9\n" : null }`, calls: []member{{0, "", `""`}, {0, "é\n", "null"}}, ok: true},
	{in: `{"a" 1}`},
	{in: `{"a":1,}`},
	{in: `{,"a":1}`},
	{in: `{"a":1 "b":2}`},
	{in: `{"a":1`},
	{in: `{"a":}`},
	{in: `{1:1}`},
	{in: `{:1}`},
	{in: `{"a":1,:2}`},
	{in: `{"\udc00":1}`},
	{in: "{\"\xff\":1}"},
	{in: "["},
	{in: ""},
}

func TestMembers(t *testing.T) {
	for _, tc := range membersCases {
		d := NewDecoder(input(tc.in))
		var calls []member
		ok := d.Members(func(key []byte) bool {
			v, ok := d.Skip()
			calls = append(calls, member{Key: string(key), Value: string(v)})
			return ok
		})
		if ok != tc.ok {
			t.Errorf("Members(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if diff := cmp.Diff(tc.calls, calls); diff != "" || unread(d) != tc.rest {
			t.Errorf("Members(%q) leaves %q (want %q), calls (-want +got):\n%s", tc.in, unread(d), tc.rest, diff)
		}
	}
}

// structFields are the JSON names of structTarget's fields.
var structFields = []string{"kind", "spec", "image"}

// structTarget is what encoding/json decodes a Struct case into.
type structTarget struct {
	Kind  any `json:"kind"`
	Spec  any `json:"spec"`
	Image any `json:"image"`
}

func (s *structTarget) field(i int) *any { return [...]*any{&s.Kind, &s.Spec, &s.Image}[i] }

var structCases = []struct {
	in       string
	skipNull bool
	calls    []member
	ok       bool
	rest     string
}{
	{in: "{}", ok: true},
	{in: ` { } ,`, ok: true, rest: " ,"},
	{in: `{"kind":"Pod","spec":{"a":1},"image":"x"}`, calls: []member{{0, "", `"Pod"`}, {1, "", `{"a":1}`}, {2, "", `"x"`}}, ok: true},
	{in: `{"\u006bind":1}`, calls: []member{{0, "", "1"}}, ok: true},
	// Other keys are skipped, their values in Skip's grammar, repeated or not.
	{in: `{"other":[1e5,"\ud800"],"kind":1,"other":{"kind":2}}`, calls: []member{{0, "", "1"}}, ok: true},
	{in: "{\"x\":\"\xff\",\"y\":true}", ok: true},
	{in: `{"x":01}`},
	{in: `{"x":tru}`},
	{in: `{"x":"\q"}`},
	{in: `{"x":[1,]}`},
	// Keys encoding/json folds to a field's are outside the subset; keys
	// it does not fold to one are skipped.
	{in: `{"Kind":1}`},
	{in: `{"KIND":1}`},
	{in: `{"sPeC":1}`},
	{in: `{"kind":1,"Kind":2}`},
	{in: `{"ſpec":1}`},
	{in: `{"\u017fpec":1}`},
	{in: `{"\u212aind":1}`},
	{in: `{"ımage":1}`, ok: true},
	{in: `{"İmage":1}`, ok: true},
	{in: `{"kinds":1,"kin":2," kind":3}`, ok: true},
	// Exact keys at most once.
	{in: `{"kind":1,"kind":2}`},
	{in: `{"kind":1,"spec":2,"kind":1}`},
	// SkipNull: a null value counts as absent (and as seen).
	{in: `{"kind":null,"spec":1}`, skipNull: true, calls: []member{{1, "", "1"}}, ok: true},
	{in: `{"kind":null,"kind":1}`, skipNull: true},
	{in: `{"kind":null}`, calls: []member{{0, "", "null"}}, ok: true},
	// Outside JSON's grammar.
	{in: `{"kind" 1}`},
	{in: `{"kind":1,}`},
	{in: `{"x":1,}`},
	{in: `{"x" 1}`},
	{in: `{"kind":1 "spec":2}`},
	{in: `{"kind":1`},
	{in: `{kind:1}`},
	{in: `{"\ud800":1}`},
	{in: "[]"},
	{in: ""},
}

func TestStruct(t *testing.T) {
	for _, tc := range structCases {
		d := NewDecoder(input(tc.in))
		d.SkipNull = tc.skipNull
		var calls []member
		ok := d.Struct(structFields, skipMembers(d, &calls))
		if ok != tc.ok {
			t.Errorf("Struct(%q, SkipNull %v) ok = %v, want %v", tc.in, tc.skipNull, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if diff := cmp.Diff(tc.calls, calls); diff != "" || unread(d) != tc.rest {
			t.Errorf("Struct(%q, SkipNull %v) leaves %q (want %q), calls (-want +got):\n%s", tc.in, tc.skipNull, unread(d), tc.rest, diff)
		}
		// encoding/json sets the fields Struct passed on, and only those.
		var got, want structTarget
		for _, c := range calls {
			if err := json.Unmarshal([]byte(c.Value), got.field(c.Field)); err != nil {
				t.Fatal(err)
			}
		}
		if err := json.Unmarshal([]byte(consumed(d)), &want); err != nil {
			t.Errorf("Struct(%q) accepts what encoding/json rejects: %v", tc.in, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Struct(%q) differs from encoding/json (-json +Struct):\n%s", tc.in, diff)
		}
	}
}

var arrayCases = []struct {
	in    string
	elems []string
	ok    bool
	rest  string
}{
	{in: "[]", ok: true},
	{in: " [ \n] ,", ok: true, rest: " ,"},
	{in: "[1]", elems: []string{"1"}, ok: true},
	{in: `[ 1 , "a" ,[], {} ,null]]`, elems: []string{"1", `"a"`, "[]", "{}", "null"}, ok: true, rest: "]"},
	{in: "[1,]"},
	{in: "[,1]"},
	{in: "[,]"},
	{in: "[1 2]"},
	{in: "[1:2]"},
	{in: "[1"},
	{in: "[1,"},
	{in: "["},
	{in: "[}"},
	{in: "{}"},
	{in: ""},
	// An array starts with '[', even where the rest would end one.
	{in: "1]"},
	{in: `"a",2]`},
	{in: "]"},
}

func TestArray(t *testing.T) {
	for _, tc := range arrayCases {
		d := NewDecoder(input(tc.in))
		var elems []string
		ok := d.Array(func() bool {
			v, ok := d.Skip()
			elems = append(elems, string(v))
			return ok
		})
		if ok != tc.ok {
			t.Errorf("Array(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if ok && (!cmp.Equal(tc.elems, elems) || unread(d) != tc.rest) {
			t.Errorf("Array(%q) = %q leaving %q, want %q leaving %q", tc.in, elems, unread(d), tc.elems, tc.rest)
		}
	}
}

func TestCapture(t *testing.T) {
	d := NewDecoder([]byte(" \t[ 1 , {\"a\" : true} ] \n, null x"))
	got, ok := d.Capture(func() bool { return d.Array(func() bool { _, ok := d.Skip(); return ok }) })
	if !ok || string(got) != `[ 1 , {"a" : true} ]` {
		t.Errorf("Capture(Array) = %q, %v", got, ok)
	}
	if !d.consume(',') {
		t.Fatal("no comma after the array")
	}
	got, ok = d.Capture(func() bool { return d.Literal("null") })
	if !ok || string(got) != "null" || unread(d) != " x" {
		t.Errorf("Capture(Literal) = %q, %v leaving %q", got, ok, unread(d))
	}
	got, ok = d.Capture(func() bool { return d.Literal("null") })
	if ok || got != nil {
		t.Errorf("Capture of a declined value = %q, %v; want nil, false", got, ok)
	}
}

var base64Cases = []struct {
	in   string
	want []byte
	ok   bool
}{
	// Like protojson, nil for an empty value.
	{in: `""`, ok: true},
	{in: `"QQ=="`, want: []byte("A"), ok: true},
	{in: `"QUI="`, want: []byte("AB"), ok: true},
	{in: `"QUJD"`, want: []byte("ABC"), ok: true},
	{in: ` "AAAA//+/" `, want: []byte{0, 0, 0, 0xff, 0xff, 0xbf}, ok: true},
	// StdEncoding, as protojson and encoding/json read it: non-zero
	// padding bits and CR and LF are let through.
	{in: `"QR=="`, want: []byte("A"), ok: true},
	{in: `"QQ==\r\n\n\n"`, want: []byte("A"), ok: true},
	{in: `"Q\u0051=="`, want: []byte("A"), ok: true},
	// protojson reads unpadded or URL-safe base64 too; outside the subset.
	{in: `"QQ"`},
	{in: `"QUI"`},
	{in: `"QQ="`},
	{in: `"-_-_"`},
	{in: `"____"`},
	{in: `"QQ==\n"`},
	// Not base64.
	{in: `"QQ=A"`},
	{in: `"QQ==QQ=="`},
	{in: `"===="`},
	{in: `"QQ!="`},
	{in: `"QQ== "`},
	{in: `"A"`},
	{in: `null`},
	{in: `1234`},
	{in: `"QQ==`},
	{in: "\"QQ=\xff\""},
}

func TestBase64(t *testing.T) {
	for _, tc := range base64Cases {
		d := NewDecoder(input(tc.in))
		got, ok := d.Base64()
		if ok != tc.ok {
			t.Errorf("Base64(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if !cmp.Equal(tc.want, got) {
			t.Errorf("Base64(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
		checkBase64Value(t, []byte(consumed(d)), got)
	}
}

func TestPeekEnd(t *testing.T) {
	for _, tc := range []struct {
		in   string
		peek byte
	}{
		{"", 0},
		{" \t\r\n", 0},
		{"x", 'x'},
		{" \t\r\n{ ", '{'},
		{"\f", '\f'},
		{"\v", '\v'},
		{"\xc2\xa0", 0xc2},
		{"\x00", 0},
	} {
		d := NewDecoder(input(tc.in))
		if got := d.Peek(); got != tc.peek {
			t.Errorf("Peek(%q) = %q, want %q", tc.in, got, tc.peek)
		}
		wantEnd := strings.Trim(tc.in, " \t\r\n") == ""
		if got := d.End(); got != wantEnd {
			t.Errorf("End(%q) = %v, want %v", tc.in, got, wantEnd)
		}
		if got := NewDecoder(input(tc.in)).End(); got != wantEnd {
			t.Errorf("End(%q) = %v, want %v", tc.in, got, wantEnd)
		}
	}
}

// TestDocuments decodes whole documents with the methods together, as the
// fast paths do, and checks the results against encoding/json.
func TestDocuments(t *testing.T) {
	for _, doc := range documentSeeds {
		d := NewDecoder(input(doc))
		got, ok := value(d, 0)
		if !ok || !d.End() {
			t.Errorf("value(%.80q) declined", doc)
			continue
		}
		var want any
		dec := json.NewDecoder(bytes.NewReader([]byte(doc)))
		dec.UseNumber()
		if err := dec.Decode(&want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("value(%.80q) (-encoding/json +fastjson):\n%s", doc, diff(want, got))
		}
	}
}

// documentSeeds are documents in the subset that use every method.
var documentSeeds = []string{
	`{"a":1,"b":[true,false,null],"c":{"x":"y\n","x":"z"}}`,
	` { "kind" : "Pod" , "spec" : { "image" : "\u00e9" , "n" : -1.5e3 } , "image" : null , "other" : [ 1E+5 , "\ud7ff" ] } `,
	`[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"a":"b"}},"spec":{"containers":[{"image":"x"}]}}]`,
	`{"logIndex":"123","integratedTime":1700000000,"canonicalizedBody":"QUJD","rootHash":""}`,
	`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"ab"}}],"predicate":{"x":[0.5,-0,{}]}}`,
}
