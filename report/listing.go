package report

import (
	"context"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signetproject/signet/oci"
)

// Listings reads each image's attachments once for one report run and
// serves them both to the report and to a policy engine's checker
// (policy.AttachmentLister), so that verifying an image for its answers
// and for its policy verdict costs one listing. Listings with other
// credentials or a tag prefix go to the client each time. Use a new
// Listings per run: it never forgets.
type Listings struct {
	client *oci.Client

	mu sync.Mutex
	m  map[string]*listing
}

type listing struct {
	done chan struct{}
	a    *oci.Attached
	err  error
}

// NewListings returns an empty memo over client.
func NewListings(client *oci.Client) *Listings {
	return &Listings{client: client, m: map[string]*listing{}}
}

// List implements Lister: the first call for a subject reads the
// registry, concurrent and later calls share its result.
func (l *Listings) List(ctx context.Context, subject name.Digest) (*oci.Attached, error) {
	k := subject.String()
	l.mu.Lock()
	e, ok := l.m[k]
	if !ok {
		e = &listing{done: make(chan struct{})}
		l.m[k] = e
	}
	l.mu.Unlock()
	if !ok {
		e.a, e.err = l.client.List(ctx, subject)
		close(e.done)
	}
	select {
	case <-e.done:
		return e.a, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ListKind implements policy.AttachmentLister.
func (l *Listings) ListKind(ctx context.Context, subject name.Digest, kind oci.Kind, lookup oci.Lookup) (*oci.Attached, error) {
	if lookup.Keychain != nil || lookup.TagPrefix != "" {
		return l.client.ListKind(ctx, subject, kind, lookup)
	}
	all, err := l.List(ctx, subject)
	if err != nil {
		return nil, err
	}
	return &oci.Attached{Subject: all.Subject, Attachments: all.Filter(kind)}, nil
}
