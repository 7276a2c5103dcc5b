package rekorv1

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/signetproject/signet/tlog"
)

func TestParseV1EntryErrors(t *testing.T) {
	ctx := context.Background()
	s := newTestSigner(t)
	e, err := NewEntry(ctx, v1HashedRekord(t, s, []byte("artifact"), keyPEM(t, s)))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ParseEntry(ctx, e.Body); err != nil || !cmp.Equal(got.Body, e.Body) {
		t.Fatalf("ParseV1Entry of a logged body: %v", err)
	}
	large := newLargeCertSigner(t, tlog.MaxEntrySize)
	for _, tt := range []struct {
		name, body, want string
	}{
		{"not JSON", `{`, "decode proposed entry"},
		{"spec of the wrong type", `{"apiVersion":"0.0.1","kind":"hashedrekord","spec":[]}`, "hashedrekord entry: spec is an array, not an object"},
		{"spec that does not unmarshal", `{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}`, "hashedrekord entry: data.hash is missing"},
		{"entry too large", string(v1HashedRekord(t, large, []byte("artifact"), certPEM(t, large))), "exceeds"},
		{"not canonical", strings.Replace(string(e.Body), `{"apiVersion"`, `{ "apiVersion"`, 1), "is not in canonical form"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseEntry(ctx, []byte(tt.body)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseV1Entry error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestNormalizeSearchKeys(t *testing.T) {
	got := normalizeSearchKeys([]string{"SHA256:AB", "", "sha256:ab", "cd", "CD"})
	if diff := cmp.Diff([]string{"sha256:ab", "cd"}, got); diff != "" {
		t.Errorf("normalizeSearchKeys (-want +got):\n%s", diff)
	}
}
