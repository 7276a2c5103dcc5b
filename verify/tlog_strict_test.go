package verify

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/trustroot"
)

// caseNamed returns the signet case of that name.
func caseNamed(t *testing.T, cases []*diffCase, name string) *diffCase {
	t.Helper()
	for _, c := range cases {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no case %q", name)
	return nil
}

// mutate applies f to the decoded JSON of c's bundle and returns the new
// bundle.
func mutate(t *testing.T, c *diffCase, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.bundle, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// verifyCase runs our verifier on data under c's trust root and options and
// returns the *Error, failing the test if the result is not one.
func verifyCase(t *testing.T, c *diffCase, data []byte) (*Error, error) {
	t.Helper()
	b, err := bundle.Decode(data)
	if err != nil {
		return nil, err // a bundle the decoder refuses is refused too
	}
	root, err := trustroot.LoadTrustedRoot(c.rootJSON)
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(root, c.opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(b, c.artifact, c.policy)
	if err == nil {
		return nil, nil
	}
	var ve *Error
	if !errors.As(err, &ve) {
		t.Fatalf("Verify error %v is not an *Error", err)
	}
	return ve, err
}

// TestRekorV2ProofFields checks that a Rekor v2 entry's canonicalized body
// and its inclusion proof's root hash, tree size and log index must be
// what was rebuilt and proven (sigstore-go v1.3.0 ignores them; see
// knownDifference), with a one-line message naming the log check.
func TestRekorV2ProofFields(t *testing.T) {
	cases := signetCases(t)
	c := caseNamed(t, cases, "signet keyless blob, rekor v2")
	other := caseNamed(t, cases, "signet key blob, rekor v2")
	if ve, err := verifyCase(t, c, c.bundle); ve != nil || err != nil {
		t.Fatalf("unmodified bundle: %v", err)
	}
	entry := []any{"verificationMaterial", "tlogEntries", 0}
	at := func(path ...any) []any { return append(append([]any{}, entry...), path...) }
	setField := func(path []any, v any) func(map[string]any) {
		return func(m map[string]any) {
			// protobuf JSON omits zero values: create the field if need be.
			parent, ok := get(m, path[:len(path)-1])
			pm, isMap := parent.(map[string]any)
			if !ok || !isMap {
				t.Fatalf("no field %v", path[:len(path)-1])
			}
			pm[path[len(path)-1].(string)] = v
		}
	}
	var otherBody any
	{
		var m map[string]any
		if err := json.Unmarshal(other.bundle, &m); err != nil {
			t.Fatal(err)
		}
		otherBody, _ = get(m, at("canonicalizedBody"))
	}
	proofField := func(name string) string {
		var m map[string]any
		_ = json.Unmarshal(c.bundle, &m)
		v, _ := get(m, at("inclusionProof", name))
		return fmt.Sprint(v)
	}
	root, _ := base64.StdEncoding.DecodeString(proofField("rootHash"))
	root[0] ^= 1
	for _, tc := range []struct {
		name   string
		change func(map[string]any)
		want   string
	}{
		{"another entry's body", setField(at("canonicalizedBody"), otherBody), "canonicalized body is not the entry rebuilt"},
		{"flipped root hash", setField(at("inclusionProof", "rootHash"), base64.StdEncoding.EncodeToString(root)), "proof root hash"},
		{"another tree size", setField(at("inclusionProof", "treeSize"), proofField("treeSize")+"1"), "proof tree size"},
		{"huge tree size", setField(at("inclusionProof", "treeSize"), "9223372036854775807"), "proof tree size"},
		{"negative tree size", setField(at("inclusionProof", "treeSize"), "-1"), "proof tree size"},
		{"proof log index + 1", setField(at("inclusionProof", "logIndex"), "1"), "proof is for log index 1"},
		{"huge proof log index", setField(at("inclusionProof", "logIndex"), "9223372036854775807"), "proof is for log index"},
		{"negative proof log index", setField(at("inclusionProof", "logIndex"), "-1"), "proof is for log index -1"},
		{"huge entry log index", setField(at("logIndex"), "9223372036854775807"), "outside the checkpoint's tree"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := mutate(t, c, tc.change)
			ve, err := verifyCase(t, c, data)
			if ve == nil || ve.Check != CheckTlog || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify = %v, want a tlog error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			t.Logf("sigstore-go v1.3.0: %v", c.sigstoreGo(data))
		})
	}
}

// TestCertificateTamperingBlamedOnChain alters the CA signature of a
// bundle's certificate: the failure names the certificate check, not the
// log entry that logged the certificate.
func TestCertificateTamperingBlamedOnChain(t *testing.T) {
	cases := signetCases(t)
	for _, name := range []string{"signet keyless blob, rekor v2", "signet keyless blob, rekor v1", "signet keyless dsse, rekor v2"} {
		t.Run(name, func(t *testing.T) {
			c := caseNamed(t, cases, name)
			data := mutate(t, c, func(m map[string]any) {
				path := []any{"verificationMaterial", "certificate", "rawBytes"}
				v, _ := get(m, path)
				der, err := base64.StdEncoding.DecodeString(v.(string))
				if err != nil {
					t.Fatal(err)
				}
				der[len(der)-1] ^= 1 // inside the signature value
				set(m, path, base64.StdEncoding.EncodeToString(der))
			})
			ve, err := verifyCase(t, c, data)
			if ve == nil || ve.Check != CheckCertificate {
				t.Fatalf("Verify = %v, want a certificate error", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}
