package bundle

import (
	"reflect"
	"testing"
)

// vectorBodies returns the entry bodies of the test vectors.
func vectorBodies(t testing.TB) [][]byte {
	t.Helper()
	var bodies [][]byte
	for _, data := range vectorFiles(t) {
		b, err := Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range b.TlogEntries() {
			bodies = append(bodies, e.Proto.GetCanonicalizedBody())
		}
	}
	return bodies
}

// checkBodyFast fails t unless decodeBodyFast's result, when it has one,
// is decodeBody's.
func checkBodyFast(t *testing.T, body []byte) (ok bool) {
	t.Helper()
	kind, version, spec, ok := decodeBodyFast(body)
	if !ok {
		return false
	}
	wk, wv, wspec, err := decodeBody(body)
	if err != nil {
		t.Fatalf("decodeBodyFast accepts what encoding/json rejects: %v", err)
	}
	if kind != wk || version != wv || !reflect.DeepEqual(spec, wspec) {
		t.Fatalf("decodeBodyFast = %s/%s %#v, encoding/json = %s/%s %#v", kind, version, spec, wk, wv, wspec)
	}
	return true
}

func TestDecodeBodyFastVectors(t *testing.T) {
	kinds := map[string]bool{}
	for _, body := range vectorBodies(t) {
		if checkBodyFast(t, body) {
			k, v, _, _ := decodeBodyFast(body)
			kinds[k+"/"+v] = true
		} else {
			t.Errorf("decodeBodyFast leaves a real entry body to encoding/json: %.100s", body)
		}
	}
	t.Logf("entry types decoded by the fast path: %v", kinds)
}

// TestDecodeBodyFastSubset pins what the fast path leaves to encoding/json.
func TestDecodeBodyFastSubset(t *testing.T) {
	const hr = `"spec":{"data":{"hash":{"algorithm":"sha256","value":"00"}},"signature":{"content":"","publicKey":{"content":"YQ=="}}}}`
	for _, tc := range []struct {
		name, json string
		fast       bool
	}{
		{"hashedrekord", `{"apiVersion":"0.0.1","kind":"hashedrekord",` + hr, true},
		{"dsse", `{"apiVersion":"0.0.1","kind":"dsse","spec":{"envelopeHash":{"algorithm":"sha256","value":"00"},"payloadHash":{"algorithm":"sha256","value":"00"},"signatures":[{"signature":"YQ==","verifier":"YQ=="}]}}`, true},
		{"intoto without signatures", `{"apiVersion":"0.0.2","kind":"intoto","spec":{"content":{"envelope":{"signatures":[]}}}}`, true},
		{"dsse without signatures", `{"apiVersion":"0.0.1","kind":"dsse","spec":{"signatures":[]}}`, true},
		{"spec before kind", `{"spec":{},"apiVersion":"0.0.1","kind":"hashedrekord"}`, false},
		{"unknown kind", `{"apiVersion":"0.0.1","kind":"rekord","spec":{}}`, false},
		{"rekor v2 hashedrekord", `{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{}}`, false},
		{"key in another case", `{"apiVersion":"0.0.1","Kind":"hashedrekord",` + hr, false},
		{"unknown key", `{"apiVersion":"0.0.1","kind":"hashedrekord","x":"y",` + hr, false},
		{"null", `{"apiVersion":"0.0.1","kind":"hashedrekord","spec":null}`, false},
		{"bad base64", `{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"signature":{"content":"YQ"}}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkBodyFast(t, []byte(tc.json)); got != tc.fast {
				t.Errorf("decoded by the fast path: %v, want %v", got, tc.fast)
			}
		})
	}
}

// FuzzDecodeBodyFast checks the fast entry body decoder against
// encoding/json, the general path.
func FuzzDecodeBodyFast(f *testing.F) {
	for _, body := range vectorBodies(f) {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkBodyFast(t, body)
	})
}
