package server_test

import (
	"strings"
	"testing"

	"github.com/signetproject/signet/server/servertest"
)

// TestRekorV1BadQueries sends the Rekor v1 API queries a client can get
// wrong: each is refused with 400 and a message naming what is wrong, not
// answered as if it were a search that found nothing.
func TestRekorV1BadQueries(t *testing.T) {
	inst := servertest.Start(t)
	digest := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string // in the body
	}{
		{"GET", "/api/v1/log/proof", "", 400, "lastSize is required"},
		{"GET", "/api/v1/log/proof?lastSize=ten", "", 400, `lastSize: strconv.ParseInt: parsing \"ten\"`},
		{"GET", "/api/v1/log/proof?lastSize=18446744073709551615", "", 400, `lastSize: strconv.ParseInt: parsing \"18446744073709551615\": value out of range`},
		{"POST", "/api/v1/index/retrieve", `{"hash":"sha256:zz"}`, 400, `hash \"sha256:zz\" is not a hex SHA-1, SHA-256, SHA-384 or SHA-512 digest`},
		{"POST", "/api/v1/index/retrieve", `{"hash":"md5:` + digest[:32] + `"}`, 400, "is not a hex SHA-1"},
		{"POST", "/api/v1/index/retrieve", `{"hash":"` + strings.Repeat("x", 64) + `"}`, 400, "is not hex"},
		{"POST", "/api/v1/index/retrieve", `{"email":"\u003cx\u003e"}`, 400, `email \"\u003cx\u003e\" is not an email address`},
		{"POST", "/api/v1/index/retrieve", `{"hash":"SHA256:` + strings.ToUpper(digest) + `"}`, 200, "[]"},
		{"POST", "/api/v1/index/retrieve", `{"hash":"` + digest + `","email":"Signer@Signet.Test","operator":"and"}`, 200, "[]"},
	} {
		var body []byte
		if tc.body != "" {
			body = []byte(tc.body)
		}
		resp, got := v1Request(t, tc.method, inst.URL+tc.path, body)
		if resp.StatusCode != tc.status || !strings.Contains(string(got), tc.want) {
			t.Errorf("%s %s %s = %d %s, want %d with %s", tc.method, tc.path, tc.body, resp.StatusCode, got, tc.status, tc.want)
		}
	}
}
