package verify

import (
	"maps"
	"strings"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signetproject/signet/bundle"
)

// checkStatementFast fails t unless statementDigestsFast's result, when it
// has one, is protojson's.
func checkStatementFast(t *testing.T, payload []byte) bool {
	t.Helper()
	got, ok := statementDigestsFast(payload)
	if !ok {
		return false
	}
	var st intoto.Statement
	if err := protojson.Unmarshal(payload, &st); err != nil {
		t.Fatalf("statementDigestsFast accepts what protojson rejects: %v", err)
	}
	if len(got) != len(st.GetSubject()) {
		t.Fatalf("statementDigestsFast: %d subjects, protojson %d", len(got), len(st.GetSubject()))
	}
	for i, sub := range st.GetSubject() {
		if !maps.Equal(got[i], sub.GetDigest()) {
			t.Fatalf("subject %d: statementDigestsFast %v, protojson %v", i, got[i], sub.GetDigest())
		}
	}
	return true
}

// vectorStatements are the DSSE payloads of the test vectors.
func vectorStatements(t testing.TB) [][]byte {
	var out [][]byte
	for _, name := range []string{"sigstore.js@2.0.0-provenance.sigstore.json", "examples-bundle-provenance.sigstore.json", "dsse.sigstore.json"} {
		b, err := bundle.Decode(readTestdata(t, name))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b.Envelope().GetPayload())
	}
	return out
}

func TestStatementDigestsFastVectors(t *testing.T) {
	for i, p := range vectorStatements(t) {
		if !checkStatementFast(t, p) {
			t.Errorf("statement %d left to protojson: %.100s", i, p)
		}
	}
}

// TestStatementDigestsFastSubset pins what the fast path leaves to
// protojson.
func TestStatementDigestsFastSubset(t *testing.T) {
	const sub = `"subject":[{"name":"a","digest":{"sha256":"00","sha512":"11"}},{"uri":"u"}]`
	for _, tc := range []struct {
		name, json string
		fast       bool
	}{
		{"statement", `{"_type":"https://in-toto.io/Statement/v1",` + sub + `,"predicateType":"p","predicate":{"a":[1,-2.5,0,true,false,null,"s",{"b":{}}],"c":"\u00e9"}}`, true},
		{"null members", `{"_type":null,"subject":null,"predicate":null}`, true},
		{"empty", `{}`, true},
		{"predicate not an object", `{"predicate":[]}`, false},
		{"duplicate predicate key", `{"predicate":{"a":1,"a":2}}`, false},
		{"duplicate digest", `{"subject":[{"digest":{"sha256":"00","sha256":"11"}}]}`, false},
		{"null digest value", `{"subject":[{"digest":{"sha256":null}}]}`, false},
		{"proto field name", `{"predicate_type":"p"}`, false},
		{"unknown field", `{"x":"y"}`, false},
		{"exponent", `{"predicate":{"a":1e400}}`, false},
		{"16 digits", `{"predicate":{"a":1234567890123456}}`, false},
		{"leading zero", `{"predicate":{"a":01}}`, false},
		{"deep", `{"predicate":` + strings.Repeat(`{"a":`, maxFastDepth+1) + `1` + strings.Repeat(`}`, maxFastDepth+1) + `}`, false},
		{"many keys", `{"predicate":{` + manyKeys(maxFastKeys+1) + `}}`, false},
		{"literal prefix", `{"predicate":{"a":truex}}`, false},
		{"trailing data", `{} {}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkStatementFast(t, []byte(tc.json)); got != tc.fast {
				t.Errorf("decoded by the fast path: %v, want %v", got, tc.fast)
			}
		})
	}
}

func manyKeys(n int) string {
	var keys []string
	for i := range n {
		keys = append(keys, `"k`+strings.Repeat("x", i)+`":0`)
	}
	return strings.Join(keys, ",")
}

// FuzzStatementDigestsFast checks the fast statement decoder against
// protojson, the general path.
func FuzzStatementDigestsFast(f *testing.F) {
	for _, p := range vectorStatements(f) {
		f.Add(p)
	}
	f.Add([]byte(`{"predicate":{"a":[1,-2.5,0,true,false,null,"s\n",{"b":{}}]},"subject":[{"digest":{}}]}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		checkStatementFast(t, payload)
	})
}
