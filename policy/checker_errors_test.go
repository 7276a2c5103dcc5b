package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signetproject/signet/oci"
)

// listerFunc adapts a function to AttachmentLister.
type listerFunc func(ctx context.Context, subject name.Digest, kind oci.Kind, l oci.Lookup) (*oci.Attached, error)

func (f listerFunc) ListKind(ctx context.Context, subject name.Digest, kind oci.Kind, l oci.Lookup) (*oci.Attached, error) {
	return f(ctx, subject, kind, l)
}

// TestRegistryCheckerErrors: a registry decides how many signatures fail,
// so the error lists the first few and counts the rest; a registry that
// cannot be read is ErrUnavailable, one that serves too much is not; the
// request's session reaches the lister.
func TestRegistryCheckerErrors(t *testing.T) {
	const image = "ghcr.io/org/app@sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350"
	session, err := oci.NewSession(oci.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	authority := &Authority{Name: "k", Key: &KeyRef{Data: validPublicKey}}
	for _, tt := range []struct {
		name        string
		list        func() (*oci.Attached, error)
		want        string
		unavailable bool
	}{
		{"many bad signatures", func() (*oci.Attached, error) {
			a := &oci.Attached{}
			for i := range 1000 {
				a.Attachments = append(a.Attachments, &oci.Attachment{Kind: oci.KindSignature, Err: fmt.Errorf("garbage %d", i)})
			}
			return a, nil
		}, "malformed: garbage 4; and 995 more", false},
		{"unreachable", func() (*oci.Attached, error) {
			return nil, fmt.Errorf("read: %w: connection refused", oci.ErrUnreachable)
		}, "registry unreachable", true},
		{"deadline", func() (*oci.Attached, error) { return nil, context.DeadlineExceeded }, "deadline", true},
		{"limit", func() (*oci.Attached, error) { return nil, fmt.Errorf("read: %w: manifest too large", oci.ErrLimit) }, "limit", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lister := listerFunc(func(_ context.Context, _ name.Digest, _ oci.Kind, l oci.Lookup) (*oci.Attached, error) {
				if l.Session != session {
					t.Error("the request's session did not reach the lister")
				}
				return tt.list()
			})
			c := NewRegistryChecker(lister, nil, CheckerOptions{})
			_, err := c.VerifySignatures(context.Background(), image, authority, RegistryCredentials{Session: session})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if len(err.Error()) > 1000 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
			if got := errors.Is(err, ErrUnavailable); got != tt.unavailable {
				t.Errorf("ErrUnavailable = %v, want %v", got, tt.unavailable)
			}
		})
	}
}
