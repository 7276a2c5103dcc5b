package tlog

import (
	"bytes"
	"testing"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
)

// FuzzCanonicalJSON checks canonicalJSON agrees with the general RFC 8785
// canonicalizer on every document the latter accepts.
func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range []string{
		`{"b":"x","a":{"d":["1","2"],"c":"y"}}`,
		`{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":{"algorithm":"SHA2_256","digest":"AAAA"}}}}`,
		`{"a":"1","a":"2"}`,
		`{ "a" : [ "x" , { } ] , "B":"<&>" }`,
		`{"n":1.50,"t":true,"z":null}`,
		`{"s":"caf\u00e9","e":"\n"}`,
		`["a",{"b":"c"}]`,
		`"plain"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, js []byte) {
		want, err := jsoncanonicalizer.Transform(js)
		if err != nil {
			return
		}
		got, err := canonicalJSON(js)
		if err != nil {
			t.Fatalf("canonicalJSON(%q): %v; general canonicalizer gives %q", js, err, want)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("canonicalJSON(%q) = %q, want %q", js, got, want)
		}
	})
}

func BenchmarkCanonicalBody(b *testing.B) {
	s := newTestSigner(b)
	e, err := NewEntry(s.hashedRekord(b, []byte("artifact"), s.certVerifier()), nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := CanonicalBody(e); err != nil {
			b.Fatal(err)
		}
	}
}
