package search

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"

	"github.com/signetproject/signet/tlog"
	"github.com/signetproject/signet/tlog/rekorv1"
)

// Service searches the server's logs through an [Index] and shows their
// entries. Its methods are safe for concurrent use.
type Service struct {
	index     Index
	envelopes EnvelopeStore
	v2        *tlog.Log
	v1        *rekorv1.Log
	now       func() time.Time

	followMu sync.Mutex
}

// NewService returns a search service over the Rekor v2 log v2 and the
// Rekor v1 log v1 (nil if the server has none), with index and the
// envelope store envelopes (nil: envelopes are neither kept nor shown).
func NewService(index Index, envelopes EnvelopeStore, v2 *tlog.Log, v1 *rekorv1.Log) (*Service, error) {
	if index == nil || v2 == nil {
		return nil, errors.New("search: an index and the Rekor v2 log are required")
	}
	return &Service{index: index, envelopes: envelopes, v2: v2, v1: v1, now: time.Now}, nil
}

// source reads one log's committed leaves.
type source struct {
	log        Log
	size       func(ctx context.Context) (uint64, error)
	readBundle client.EntryBundleFetcherFunc
}

func (s *Service) sources() []source {
	out := []source{{log: LogV2, size: s.v2Size, readBundle: s.v2.ReadEntryBundle}}
	if s.v1 != nil {
		out = append(out, source{log: LogV1, size: s.v1.TreeSize, readBundle: s.v1.ReadEntryBundle})
	}
	return out
}

func (s *Service) source(log Log) (source, error) {
	for _, src := range s.sources() {
		if src.log == log {
			return src, nil
		}
	}
	return source{}, fmt.Errorf("this server has no %s log: %w", log, ErrInvalidQuery)
}

// v2Size is the size of the v2 tree its latest verified checkpoint commits
// to; 0 before the first checkpoint.
func (s *Service) v2Size(ctx context.Context) (uint64, error) {
	cp, _, err := s.v2.Checkpoint(ctx)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return cp.Size, nil
}

// Follow indexes every leaf both logs' latest checkpoints commit to that
// the index has not indexed yet. A leaf that cannot be decoded is indexed
// by its UUID alone and reported in the returned error, after the others
// are indexed.
func (s *Service) Follow(ctx context.Context) error {
	s.followMu.Lock()
	defer s.followMu.Unlock()
	var errs []error
	for _, src := range s.sources() {
		if err := s.follow(ctx, src); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Reindex rebuilds the index from the logs' tiles (and the envelope
// store), keeping the times entries were first indexed at. With a shared
// database, servers that follow meanwhile help rebuild it.
func (s *Service) Reindex(ctx context.Context) error {
	if err := s.index.Reset(ctx); err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	if err := s.Follow(ctx); err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	return nil
}

// follow indexes src's new leaves, one entry bundle at a time.
func (s *Service) follow(ctx context.Context, src source) error {
	size, err := src.size(ctx)
	if err != nil {
		return fmt.Errorf("follow %s log: %w", src.log, err)
	}
	from, gen, err := s.index.Followed(ctx, src.log)
	if err != nil {
		return fmt.Errorf("follow %s log: %w", src.log, err)
	}
	var errs []error
	for from < size {
		bundle, err := client.GetEntryBundle(ctx, src.readBundle, from/layout.EntryBundleWidth, size)
		if err != nil {
			return fmt.Errorf("follow %s log at %d: %w", src.log, from, err)
		}
		base := from - from%layout.EntryBundleWidth
		next := min(base+uint64(len(bundle.Entries)), size)
		if next <= from {
			return fmt.Errorf("follow %s log at %d: entry bundle holds %d entries", src.log, from, len(bundle.Entries))
		}
		batch := make([]IndexEntry, 0, next-from)
		for i := from; i < next; i++ {
			e, err := s.indexEntry(ctx, src.log, i, bundle.Entries[i-base])
			if err != nil {
				errs = append(errs, err)
			}
			batch = append(batch, e)
		}
		if err := s.index.Add(ctx, batch); err != nil {
			return fmt.Errorf("follow %s log at %d: %w", src.log, from, err)
		}
		if err := s.index.SetFollowed(ctx, src.log, next, gen); err != nil {
			return fmt.Errorf("follow %s log: %w", src.log, err)
		}
		from = next
	}
	return errors.Join(errs...)
}

// indexEntry derives the index entry of the leaf body at index of log. On
// error it still returns an entry, keyed by the leaf's UUID.
func (s *Service) indexEntry(ctx context.Context, log Log, index uint64, body []byte) (IndexEntry, error) {
	r, err := DecodeLeaf(log, index, body)
	if err != nil {
		var ks keySet
		ks.add(nsUUID + leafUUID(body))
		return IndexEntry{Posting: Posting{Log: log, Index: index, Time: s.now().Unix()}, Keys: ks.keys}, err
	}
	att, _ := s.attestation(ctx, r, body)
	p := Posting{Log: log, Index: index, Time: s.now().Unix(), Summary: summarize(r)}
	if log == LogV1 {
		if t, ok, err := s.v1.IntegratedTime(ctx, r.LeafHash); err == nil && ok {
			p.Time = t
		}
	}
	return IndexEntry{Posting: p, Keys: r.Keys(att.SubjectDigests())}, nil
}

// attestation returns the verified content of r's stored envelope: nil
// without error when the entry is not DSSE or no envelope is stored.
func (s *Service) attestation(ctx context.Context, r *Record, body []byte) (*Attestation, error) {
	if s.envelopes == nil || r.PayloadHash.Hex == "" {
		return nil, nil
	}
	env, ok, err := s.envelopes.Get(ctx, r.LeafHash)
	if err != nil || !ok {
		return nil, err
	}
	return verifyEnvelope(ctx, r, body, env)
}

// RecordV2 keeps the envelope of a dsse request the v2 log accepted as
// entry (the canonical body Append returned, at index) and indexes the
// entry with its statement's subjects. Call it after a successful append;
// following would index the entry too, but without the subjects if it got
// there before the envelope was stored.
func (s *Service) RecordV2(ctx context.Context, index uint64, body []byte, envelope []byte) error {
	return s.record(ctx, LogV2, index, body, envelope)
}

// RecordV1 is [Service.RecordV2] for an entry of the v1 log; envelope comes
// from [V1Envelope].
func (s *Service) RecordV1(ctx context.Context, index uint64, body []byte, envelope []byte) error {
	if s.v1 == nil {
		return errors.New("search: no v1 log")
	}
	return s.record(ctx, LogV1, index, body, envelope)
}

func (s *Service) record(ctx context.Context, log Log, index uint64, body, envelope []byte) error {
	if s.envelopes == nil || len(envelope) == 0 {
		return nil
	}
	r, err := DecodeLeaf(log, index, body)
	if err != nil {
		return err
	}
	// Only an envelope that reproduces the entry is worth keeping.
	if _, err := verifyEnvelope(ctx, r, body, envelope); err != nil {
		return fmt.Errorf("keep envelope of %s entry %d: %w", log, index, err)
	}
	if err := s.envelopes.Put(ctx, r.LeafHash, envelope); err != nil {
		return fmt.Errorf("keep envelope of %s entry %d: %w", log, index, err)
	}
	e, err := s.indexEntry(ctx, log, index, body)
	if err != nil {
		return err
	}
	return s.index.Add(ctx, []IndexEntry{e})
}

// leaf returns the leaf at index of src, committed to by a checkpoint of
// size treeSize.
func leaf(ctx context.Context, src source, index, treeSize uint64) ([]byte, error) {
	if index >= treeSize {
		return nil, fmt.Errorf("%s entry %d beyond tree size %d: %w", src.log, index, treeSize, os.ErrNotExist)
	}
	bundle, err := client.GetEntryBundle(ctx, src.readBundle, index/layout.EntryBundleWidth, treeSize)
	if err != nil {
		return nil, fmt.Errorf("%s entry %d: %w", src.log, index, err)
	}
	i := index % layout.EntryBundleWidth
	if i >= uint64(len(bundle.Entries)) {
		return nil, fmt.Errorf("%s entry %d: bundle holds %d entries", src.log, index, len(bundle.Entries))
	}
	return bundle.Entries[i], nil
}

// MaxQueryLength bounds a search value.
const MaxQueryLength = 4096

// Query kinds: what a search value is. KindAuto guesses from its form.
const (
	KindAuto        = ""
	KindIdentity    = "identity"
	KindIssuer      = "issuer"
	KindDigest      = "digest"
	KindFingerprint = "fingerprint"
	KindIndex       = "index"
	KindUUID        = "uuid"
)

// QueryKinds are the kinds a [Query] may name, KindAuto first.
var QueryKinds = []string{KindAuto, KindIdentity, KindIssuer, KindDigest, KindFingerprint, KindIndex, KindUUID}

// Query is a search: a value of a kind, and the page of results wanted.
type Query struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
	// Page is the 1-based page number; 0 means 1.
	Page int `json:"page"`
	// PageSize is the number of results a page; 0 means [DefaultPageSize].
	PageSize int `json:"pageSize"`
}

// Page sizes.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Results is a page of search results.
type Results struct {
	Query Query `json:"query"`
	// Searched says what the value was taken for, e.g. "artifact digest
	// sha256:…", for people.
	Searched []string `json:"searched"`
	Hits     []Hit    `json:"hits"`
	// Total is the number of matching entries; Pages the number of pages.
	Total int `json:"total"`
	Pages int `json:"pages"`
}

// Hit is one search result.
type Hit struct {
	// Posting holds the entry's Summary, nil when the entry could not be
	// read; Err says why.
	Posting
	Err string `json:"error,omitempty"`
}

// plan is what a query looks up: index keys, and log indexes to read
// directly.
type plan struct {
	keys     []string
	indexes  []uint64
	searched []string
}

// planQuery turns a query into index keys, validating its value.
func planQuery(q Query) (plan, error) {
	v := strings.TrimSpace(q.Value)
	if v == "" {
		return plan{}, fmt.Errorf("empty search: %w", ErrInvalidQuery)
	}
	if len(v) > MaxQueryLength {
		return plan{}, fmt.Errorf("search value of %d bytes exceeds %d: %w", len(v), MaxQueryLength, ErrInvalidQuery)
	}
	var p plan
	identity := func() {
		p.keys = append(p.keys, nsIdentity+NormalizeValue(v))
		p.searched = append(p.searched, "identity "+v)
	}
	issuer := func() {
		p.keys = append(p.keys, nsIssuer+NormalizeValue(v))
		p.searched = append(p.searched, "OIDC issuer "+v)
	}
	switch q.Kind {
	case KindIdentity:
		identity()
	case KindIssuer:
		issuer()
	case KindDigest:
		d, err := parseDigest(v)
		if err != nil {
			return plan{}, err
		}
		p.keys = append(p.keys, d.String())
		p.searched = append(p.searched, "artifact digest "+d.String())
	case KindFingerprint:
		fp, err := parseFingerprint(v)
		if err != nil {
			return plan{}, err
		}
		p.keys = append(p.keys, nsFingerprint+fp)
		p.searched = append(p.searched, "key or certificate fingerprint "+fp)
	case KindUUID:
		u, err := parseUUID(v)
		if err != nil {
			return plan{}, err
		}
		p.keys = append(p.keys, nsUUID+u)
		p.searched = append(p.searched, "entry UUID "+u)
	case KindIndex:
		i, err := strconv.ParseUint(v, 10, 63)
		if err != nil {
			return plan{}, fmt.Errorf("log index %q is not a non-negative integer: %w", v, ErrInvalidQuery)
		}
		p.indexes = append(p.indexes, i)
		p.searched = append(p.searched, "log index "+v)
	case KindAuto:
		lower := strings.ToLower(v)
		switch {
		case isDigits(v):
			return planQuery(Query{Kind: KindIndex, Value: v})
		case len(v) == 80 && isHex(lower):
			return planQuery(Query{Kind: KindUUID, Value: v})
		case len(v) == 64 && isHex(lower):
			for _, k := range []string{KindDigest, KindFingerprint, KindUUID} {
				sub, _ := planQuery(Query{Kind: k, Value: v})
				p.keys = append(p.keys, sub.keys...)
				p.searched = append(p.searched, sub.searched...)
			}
		case (len(v) == 96 || len(v) == 128) && isHex(lower),
			strings.HasPrefix(lower, "sha256:"), strings.HasPrefix(lower, "sha384:"), strings.HasPrefix(lower, "sha512:"):
			return planQuery(Query{Kind: KindDigest, Value: v})
		default:
			identity()
			issuer()
		}
	default:
		return plan{}, fmt.Errorf("unknown search kind %q: %w", q.Kind, ErrInvalidQuery)
	}
	return p, nil
}

func parseDigest(v string) (Digest, error) {
	alg, hx, found := strings.Cut(strings.ToLower(v), ":")
	if !found {
		hx = alg
		switch len(hx) {
		case 64:
			alg = "sha256"
		case 96:
			alg = "sha384"
		case 128:
			alg = "sha512"
		}
	}
	d := v1Hash{Algorithm: alg, Value: hx}.digest()
	want := map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}[d.Algorithm]
	if d.Hex == "" || len(d.Hex) != want {
		return Digest{}, fmt.Errorf("digest %q: want sha256:<64 hex digits> (or sha384, sha512): %w", v, ErrInvalidQuery)
	}
	return d, nil
}

func parseFingerprint(v string) (string, error) {
	fp := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(strings.ToLower(v), "sha256:"), ":", ""))
	if len(fp) != 64 || !isHex(fp) {
		return "", fmt.Errorf("fingerprint %q: want the 64 hex digits of a SHA-256: %w", v, ErrInvalidQuery)
	}
	return fp, nil
}

func parseUUID(v string) (string, error) {
	leaf, _, _, err := rekorv1.ParseEntryID(strings.ToLower(v))
	if err != nil {
		return "", fmt.Errorf("%v: %w", err, ErrInvalidQuery)
	}
	return hexString(leaf[:]), nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func isHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}

// Search runs a query over both logs and returns one page of results,
// newest first.
func (s *Service) Search(ctx context.Context, q Query) (*Results, error) {
	if q.Page <= 0 {
		q.Page = 1
	}
	if q.PageSize <= 0 {
		q.PageSize = DefaultPageSize
	}
	if q.PageSize > MaxPageSize {
		return nil, fmt.Errorf("page size %d exceeds %d: %w", q.PageSize, MaxPageSize, ErrInvalidQuery)
	}
	if q.Page > 1<<20 {
		return nil, fmt.Errorf("page %d is too far: %w", q.Page, ErrInvalidQuery)
	}
	p, err := planQuery(q)
	if err != nil {
		return nil, err
	}
	res := &Results{Query: q, Searched: p.searched}
	var postings []Posting
	if len(p.keys) > 0 {
		postings, res.Total, err = s.index.Lookup(ctx, p.keys, (q.Page-1)*q.PageSize, q.PageSize)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
	}
	sizes := map[Log]uint64{}
	for _, src := range s.sources() {
		if sizes[src.log], err = src.size(ctx); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
	}
	for _, i := range p.indexes {
		// Newest first: v1 entries carry integrated times, but a log index
		// names one entry in each log; list the v2 log's first.
		for _, src := range s.sources() {
			if i < sizes[src.log] {
				res.Total++
				postings = append(postings, Posting{Log: src.log, Index: i})
			}
		}
		if q.Page > 1 {
			postings = nil
		}
	}
	res.Pages = (res.Total + q.PageSize - 1) / q.PageSize
	for _, p := range postings {
		h := Hit{Posting: p}
		if p.Summary != nil {
			res.Hits = append(res.Hits, h)
			continue
		}
		src, _ := s.source(p.Log)
		body, err := leaf(ctx, src, p.Index, sizes[p.Log])
		if err == nil {
			var r *Record
			if r, err = DecodeLeaf(p.Log, p.Index, body); err == nil {
				h.Summary = summarize(r)
				if h.Time == 0 {
					h.Time = s.entryTime(ctx, r)
				}
			}
		}
		if err != nil {
			h.Err = clean(err.Error())
		}
		res.Hits = append(res.Hits, h)
	}
	return res, nil
}

// entryTime returns the time of r as the index orders it: the v1
// integrated time, or the time the index first saw a v2 entry (0 if it has
// not yet).
func (s *Service) entryTime(ctx context.Context, r *Record) int64 {
	if r.Log == LogV1 {
		if t, ok, err := s.v1.IntegratedTime(ctx, r.LeafHash); err == nil && ok {
			return t
		}
		return 0
	}
	ps, _, err := s.index.Lookup(ctx, []string{nsUUID + r.UUID()}, 0, 4)
	if err != nil {
		return 0
	}
	for _, p := range ps {
		if p.Log == r.Log && p.Index == r.Index {
			return p.Time
		}
	}
	return 0
}

// Sizes returns the sizes of the v2 and v1 trees that the logs' latest
// checkpoints commit to (v1 is 0 without a v1 log).
func (s *Service) Sizes(ctx context.Context) (v2, v1 uint64, err error) {
	if v2, err = s.v2Size(ctx); err != nil {
		return 0, 0, err
	}
	if s.v1 != nil {
		if v1, err = s.v1.TreeSize(ctx); err != nil {
			return 0, 0, err
		}
	}
	return v2, v1, nil
}
