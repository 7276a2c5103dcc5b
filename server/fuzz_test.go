package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzSigningCertRequest feeds arbitrary bodies to the request decoder of
// both signingCert APIs: it never panics, every error is an *apiError with
// a 4xx status, and a decoded request re-encodes to a body that decodes to
// the same request.
func FuzzSigningCertRequest(f *testing.F) {
	pop := base64.StdEncoding.EncodeToString([]byte("0E\x02 signature"))
	f.Add([]byte(`{"credentials":{"oidcIdentityToken":"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2EuZXhhbXBsZSJ9.c2ln"},` +
		`"publicKeyRequest":{"publicKey":{"algorithm":"ECDSA","content":"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"},"proofOfPossession":"` + pop + `"}}`))
	f.Add([]byte(`{"credentials":{"oidc_identity_token":"t"},"certificate_signing_request":"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K"}`))
	f.Add([]byte(`{"publicKey":{"content":"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE","algorithm":"ecdsa"},"signedEmailAddress":"` + pop + `"}`))
	f.Add([]byte(`{"public_key":{"content":"MFkw-_","algorithm":"ecdsa"},"signed_email_address":"MEUCIQ=="}`))
	f.Add([]byte(`{"publicKeyRequest":{"publicKey":{"algorithm":2,"content":"x"}}}`))
	f.Add([]byte(`{"credentials":null,"frobnicate":[1,{"a_b":true}]}`))
	f.Add([]byte(`{"certificateSigningRequest":"!!!"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"credentials":`))
	f.Add([]byte(`"just a string"`))
	f.Fuzz(func(t *testing.T, body []byte) {
		decode := func(v any, b []byte) error {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/api/v2/signingCert", strings.NewReader(string(b)))
			err := readJSON(rec, req, v)
			if err == nil {
				return nil
			}
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T) is not an *apiError", err, err)
			}
			if ae.status < 400 || ae.status > 499 || ae.message == "" || ae.reason == "" {
				t.Fatalf("apiError %+v: want a 4xx status, a message and a reason", ae)
			}
			return err
		}
		var v2 v2SigningCertRequest
		if decode(&v2, body) == nil {
			var again v2SigningCertRequest
			if err := decode(&again, reencode(t, v2)); err != nil {
				t.Fatalf("re-encoded v2 request does not decode: %v", err)
			}
			// An absent algorithm re-encodes as null.
			if pk := v2.PublicKeyRequest; pk != nil && pk.PublicKey != nil && pk.PublicKey.Algorithm == nil {
				pk.PublicKey.Algorithm = json.RawMessage("null")
			}
			if diff := cmp.Diff(v2, again, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("v2 round trip changed the request (-decoded +round-tripped):\n%s", diff)
			}
		}
		var v1 v1SigningCertRequest
		if decode(&v1, body) == nil {
			var again v1SigningCertRequest
			if err := decode(&again, reencode(t, v1)); err != nil {
				t.Fatalf("re-encoded v1 request does not decode: %v", err)
			}
			if diff := cmp.Diff(v1, again, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("v1 round trip changed the request (-decoded +round-tripped):\n%s", diff)
			}
		}
	})
}

// reencode marshals a decoded request; b64 fields become standard base64
// and the algorithm enum stays raw JSON.
func reencode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("re-encode %T: %v", v, err)
	}
	return b
}
