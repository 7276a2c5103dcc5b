package tlog

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
)

// FuzzV1Entry feeds untrusted Rekor v1 proposed entries through decoding,
// verification and canonicalization: nothing panics, every rejection wraps
// ErrInvalidRequest, and an accepted entry's body is RFC 8785 canonical and
// parses back (as a log read does) to the same body and leaf hash. The same
// input read as a stored body or an entry ID must not panic either.
func FuzzV1Entry(f *testing.F) {
	s := newTestSigner(f)
	envJSON, _ := s.v1Envelope(f, []byte("fuzz subject"))
	seeds := [][]byte{
		s.v1HashedRekord(f, []byte("a"), s.certPEM(f)),
		s.v1HashedRekord(f, []byte("b"), s.keyPEM(f)),
		v1ProposedEnvelopeEntry(f, V1KindIntoto, envJSON, s.certPEM(f)),
		v1ProposedEnvelopeEntry(f, V1KindDSSE, envJSON, s.keyPEM(f)),
		[]byte(`{"kind":"intoto","apiVersion":"0.0.2","spec":{"content":{"envelope":{"payloadType":"x","signatures":[{}]}}}}`),
		[]byte(`{"kind":"dsse","apiVersion":"0.0.1","spec":{"proposedContent":{"envelope":"{}","verifiers":[null]}}}`),
		[]byte(`{"kind":"hashedrekord","apiVersion":"0.0.1","spec":{"signature":{"publicKey":{}}}}`),
	}
	for _, seed := range seeds {
		f.Add(seed)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, proposed []byte) {
		_, _ = ParseV1Entry(ctx, proposed)
		_, _, _, _ = ParseV1EntryID(string(proposed))

		e, err := NewV1Entry(ctx, proposed)
		if err != nil {
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("rejection %v does not wrap ErrInvalidRequest", err)
			}
			return
		}
		canon, err := jsoncanonicalizer.Transform(e.Body)
		if err != nil || !bytes.Equal(canon, e.Body) {
			t.Fatalf("body is not RFC 8785 canonical: %s", e.Body)
		}
		back, err := ParseV1Entry(ctx, e.Body)
		if err != nil {
			t.Fatalf("canonical body does not parse back: %v\n%s", err, e.Body)
		}
		if back.LeafHash != e.LeafHash || back.Kind != e.Kind || back.APIVersion != e.APIVersion {
			t.Fatalf("parsed back as %s/%s %x, want %s/%s %x", back.Kind, back.APIVersion, back.LeafHash, e.Kind, e.APIVersion, e.LeafHash)
		}
	})
}
