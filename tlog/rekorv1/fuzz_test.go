package rekorv1

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/signetproject/signet/tlog"
)

// FuzzV1Entry feeds untrusted Rekor v1 proposed entries through decoding,
// verification and canonicalization: nothing panics, every rejection wraps
// tlog.ErrInvalidRequest, and an accepted entry's body is RFC 8785 canonical and
// parses back (as a log read does) to the same body and leaf hash. The same
// input read as a stored body or an entry ID must not panic either.
func FuzzV1Entry(f *testing.F) {
	s := newTestSigner(f)
	envJSON, _ := v1Envelope(f, s, []byte("fuzz subject"))
	seeds := [][]byte{
		v1HashedRekord(f, s, []byte("a"), certPEM(f, s)),
		v1HashedRekord(f, s, []byte("b"), keyPEM(f, s)),
		v1ProposedEnvelopeEntry(f, KindIntoto, envJSON, certPEM(f, s)),
		v1ProposedEnvelopeEntry(f, KindDSSE, envJSON, keyPEM(f, s)),
		[]byte(`{"kind":"intoto","apiVersion":"0.0.2","spec":{"content":{"envelope":{"payloadType":"x","signatures":[{}]}}}}`),
		[]byte(`{"kind":"dsse","apiVersion":"0.0.1","spec":{"proposedContent":{"envelope":"{}","verifiers":[null]}}}`),
		[]byte(`{"kind":"hashedrekord","apiVersion":"0.0.1","spec":{"signature":{"publicKey":{}}}}`),
	}
	for _, seed := range seeds {
		f.Add(seed)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, proposed []byte) {
		_, _ = ParseEntry(ctx, proposed)
		_, _, _, _ = ParseEntryID(string(proposed))

		e, err := NewEntry(ctx, proposed)
		if err != nil {
			if !errors.Is(err, tlog.ErrInvalidRequest) {
				t.Fatalf("rejection %v does not wrap tlog.ErrInvalidRequest", err)
			}
			return
		}
		canon, err := jsoncanonicalizer.Transform(e.Body)
		if err != nil || !bytes.Equal(canon, e.Body) {
			t.Fatalf("body is not RFC 8785 canonical: %s", e.Body)
		}
		back, err := ParseEntry(ctx, e.Body)
		if err != nil {
			t.Fatalf("canonical body does not parse back: %v\n%s", err, e.Body)
		}
		if back.LeafHash != e.LeafHash || back.Kind != e.Kind || back.APIVersion != e.APIVersion {
			t.Fatalf("parsed back as %s/%s %x, want %s/%s %x", back.Kind, back.APIVersion, back.LeafHash, e.Kind, e.APIVersion, e.LeafHash)
		}
	})
}
