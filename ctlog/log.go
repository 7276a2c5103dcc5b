package ctlog

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/ctonly"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/mod/sumdb/note"

	"github.com/signetproject/signet/tlog"
	"github.com/signetproject/signet/trustroot"
)

// ErrInvalidChain is wrapped by Add and AddPreChain errors about the submitted
// chain itself.
var ErrInvalidChain = errors.New("invalid chain")

// maxLeafIndex is the largest index the 40-bit leaf_index extension holds.
const maxLeafIndex = 1<<40 - 1

// Options tune a [Log]. Start from [DefaultOptions].
type Options struct {
	// BatchMaxSize is the most entries Tessera sequences in one batch.
	BatchMaxSize uint
	// BatchMaxAge is how long Tessera waits for a batch the log hands it
	// to fill (the log hands over one batch at a time, as entries arrive
	// while the previous one is written); an SCT is returned once its
	// batch is durably sequenced.
	BatchMaxAge time.Duration
	// CheckpointInterval is the shortest time between two published
	// checkpoints (at least 100 ms on POSIX, 1 s on MySQL).
	CheckpointInterval time.Duration
	// PushbackMaxOutstanding is the number of sequenced but not yet
	// integrated entries above which AddPreChain fails with
	// tessera.ErrPushback.
	PushbackMaxOutstanding uint
	// RetiredKeys are keys the log rotated out: checkpoints they signed
	// are the log's own.
	RetiredKeys []crypto.PublicKey
	// DedupCacheSize is how many recent entries (at least, at most twice
	// as many) the log remembers so that a resubmitted certificate or
	// precertificate gets an SCT for the entry it has instead of a new
	// entry; zero turns deduplication off. The memory is not kept across
	// restarts: an entry logged before one is logged again.
	DedupCacheSize uint
	// NotAfterStart and NotAfterLimit, when not zero, bound the NotAfter
	// of the certificates [Log.Add] takes to [NotAfterStart,
	// NotAfterLimit), as static-ct-api logs shard by expiry. Whatever
	// they are, Add refuses an expired certificate. Neither applies to
	// [Log.AddPreChain], the log's own CA's path.
	NotAfterStart, NotAfterLimit time.Time
}

// DefaultOptions returns options for a CT log serving one CA. A
// certificate request waits for its SCT, so the log commits in groups:
// entries go to Tessera as one batch while none is being written, and
// those that arrive during a write go together after it. Tessera's batch
// age then only covers handing a batch over (1 ms; a lone signer used to
// wait 10 ms for it before every durable write of about as long).
func DefaultOptions() Options {
	return Options{
		BatchMaxSize:           1024,
		BatchMaxAge:            time.Millisecond,
		CheckpointInterval:     time.Second,
		PushbackMaxOutstanding: tessera.DefaultPushbackMaxOutstanding,
		DedupCacheSize:         64 << 10,
	}
}

// Validate reports whether the options can be used.
func (o Options) Validate() error {
	if o.BatchMaxSize == 0 || o.BatchMaxAge <= 0 || o.CheckpointInterval <= 0 || o.PushbackMaxOutstanding == 0 {
		return errors.New("invalid ctlog options: batch size and age, checkpoint interval and pushback must be positive")
	}
	if !o.NotAfterStart.IsZero() && !o.NotAfterLimit.IsZero() && !o.NotAfterStart.Before(o.NotAfterLimit) {
		return fmt.Errorf("invalid ctlog options: NotAfter window start %s is not before its limit %s", o.NotAfterStart.Format(time.RFC3339), o.NotAfterLimit.Format(time.RFC3339))
	}
	return nil
}

// Log is an RFC 6962 certificate transparency log of precertificates. Its
// methods are safe for concurrent use.
type Log struct {
	origin   string
	key      crypto.Signer
	logID    [32]byte
	verifier note.Verifier
	roots    []*x509.Certificate
	issuers  IssuerStore
	now      func() time.Time

	notAfterStart, notAfterLimit time.Time
	dedup                        *dedup // nil when off

	commits *committer
	store   *tlog.Guarded

	storedMu sync.Mutex
	stored   map[[32]byte]bool // issuers known to be in the issuer store

	linksMu sync.Mutex
	links   map[[2][32]byte]bool // issuing-chain links whose signature verified
}

// maxVerifiedLinks bounds the issuing-chain links a log remembers: a log
// serves a few CAs, each with a chain of one or two links.
const maxVerifiedLinks = 256

// New opens the CT log kept by driver (a driver of package storage:
// POSIX, MySQL or AWS; other drivers are refused) and issuers. As the
// transparency logs do, it signs checkpoints through tlog's consistency
// guard ([tlog.OpenGuarded]): it never signs a checkpoint inconsistent with
// one it signed before, and it refuses to open (with an error wrapping
// [tlog.ErrIntegrity]) when its stored state disagrees with the last one. origin is the log's static-ct-api origin (its submission
// prefix without scheme, e.g. "signet.example.com/ct"); key signs SCTs and
// checkpoints and must be an ECDSA P-256 key; roots are the certificates
// accepted chains must end in. Background work runs until Close.
func New(ctx context.Context, driver tessera.Driver, issuers IssuerStore, origin string, key crypto.Signer, roots []*x509.Certificate, opts Options) (*Log, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if key == nil {
		return nil, errors.New("ctlog: nil key")
	}
	pub, ok := key.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("ctlog: key is %T, want an ECDSA P-256 key", key.Public())
	}
	if len(roots) == 0 {
		return nil, errors.New("ctlog: no accepted roots")
	}
	if issuers == nil {
		return nil, errors.New("ctlog: nil issuer store")
	}
	id, err := LogID(pub)
	if err != nil {
		return nil, err
	}
	cps, verifier, err := newCheckpointSigner(origin, key)
	if err != nil {
		return nil, fmt.Errorf("ctlog: %w", err)
	}
	if cps.origin != origin {
		return nil, fmt.Errorf("ctlog: origin %q must be lower case, without scheme or trailing slash", origin)
	}
	var retired []note.Verifier
	for i, k := range opts.RetiredKeys {
		v, err := newCheckpointVerifier(origin, k)
		if err != nil {
			return nil, fmt.Errorf("ctlog: retired key %d: %w", i, err)
		}
		retired = append(retired, v)
	}
	ao := tessera.NewAppendOptions().
		WithCTLayout().
		WithBatching(opts.BatchMaxSize, opts.BatchMaxAge).
		WithCheckpointInterval(opts.CheckpointInterval).
		WithPushback(opts.PushbackMaxOutstanding)
	store, err := tlog.OpenGuarded(ctx, driver, tlog.GuardConfig{
		Signer:             cps,
		Verifier:           verifier,
		Retired:            retired,
		Append:             ao,
		CheckpointInterval: opts.CheckpointInterval,
		Leaves:             dataTileLeaves,
		CanSign: func() error {
			_, err := sign(key, []byte("signet readiness probe: not a tree head"))
			return err
		},
	})
	if err != nil {
		return nil, fmt.Errorf("ctlog: open: %w", err)
	}
	l := &Log{
		origin: origin, key: key, logID: id, verifier: verifier, roots: roots, issuers: issuers, now: time.Now,
		notAfterStart: opts.NotAfterStart, notAfterLimit: opts.NotAfterLimit,
		commits: newCommitter(tessera.NewCertificateTransparencyAppender(store.Appender())), store: store,
		stored: map[[32]byte]bool{}, links: map[[2][32]byte]bool{},
	}
	if opts.DedupCacheSize > 0 {
		l.dedup = newDedup(int(min(opts.DedupCacheSize, 1<<30)))
	}
	return l, nil
}

// LogID returns an RFC 6962 log ID: the SHA-256 of the log's DER
// SubjectPublicKeyInfo, as SCTs and trusted_root.json ctlogs carry it (the
// ID Rekor v1 logs have too: [trustroot.RekorV1LogID]).
func LogID(pub crypto.PublicKey) ([32]byte, error) {
	id, err := trustroot.RekorV1LogID(pub)
	if err != nil {
		return [32]byte{}, fmt.Errorf("ctlog: %w", err)
	}
	return [32]byte(id), nil
}

// Close waits until every sequenced entry is integrated and covered by a
// checkpoint (bounded by ctx), then stops the background work.
func (l *Log) Close(ctx context.Context) error {
	if err := l.store.Close(ctx); err != nil {
		return fmt.Errorf("close ctlog: %w", err)
	}
	return nil
}

// Health returns nil while the log is sound, or an error wrapping
// [tlog.ErrIntegrity] once it found stored state that disagrees with a
// checkpoint it signed (it then refuses to sign and to log until repaired
// and restarted), as [tlog.Log.Health] does.
func (l *Log) Health(ctx context.Context) error { return l.store.Health(ctx) }

// Ready returns nil when the log can append, as [tlog.Log.Ready] does.
func (l *Log) Ready(ctx context.Context) error { return l.store.Ready(ctx) }

// IntegrityFailures counts the integrity failures the log found, for a
// metric.
func (l *Log) IntegrityFailures() uint64 { return l.store.IntegrityFailures() }

// Origin returns the log's checkpoint origin.
func (l *Log) Origin() string { return l.origin }

// PublicKey returns the key that verifies the log's SCTs and checkpoints.
func (l *Log) PublicKey() crypto.PublicKey { return l.key.Public() }

// ID returns the log's RFC 6962 log ID ([LogID] of its key).
func (l *Log) ID() []byte { return bytes.Clone(l.logID[:]) }

// Verifier returns the signed-note verifier of the log's checkpoints.
func (l *Log) Verifier() note.Verifier { return l.verifier }

// Roots returns the certificates accepted chains must end in.
func (l *Log) Roots() []*x509.Certificate { return l.roots }

// AddPreChain logs a precertificate and returns its SCT, TLS-encoded as
// RFC 6962 §3.2 SignedCertificateTimestamp, ready for an SCT list. chain
// is the precertificate (with the critical poison extension), signed by
// chain[1], followed by the issuing chain up to one of the log's roots.
// The entry is durably sequenced before the SCT is signed; its leaf index
// is the SCT's leaf_index extension (static-ct-api). It is [Log.Add] for
// the CA in-process, without Add's checks of the certificate's validity
// period.
func (l *Log) AddPreChain(ctx context.Context, chain []*x509.Certificate) ([]byte, error) {
	sct, err := l.add(ctx, chain, true, false)
	if err != nil {
		return nil, err
	}
	out, err := tls.Marshal(*sct)
	if err != nil {
		return nil, fmt.Errorf("ctlog: encode SCT: %w", err)
	}
	return out, nil
}

// Add logs a chain as RFC 6962's add-pre-chain (precert true) or
// add-chain (precert false) submission does and returns the entry's SCT.
// chain[0] is the precertificate (with the critical poison extension, and
// signed directly by chain[1]: precertificate signing certificates are
// refused, as static-ct-api allows) or the final certificate (without
// it); each certificate is signed by the next; the last is one of the
// log's roots, or is signed by one, which the entry's chain then ends in
// (RFC 6962 §4.1 lets submitters leave the root out). chain[0] must not
// have expired, and its NotAfter must be in the window the options set.
//
// A certificate (or a precertificate's TBS with the same issuer key)
// logged recently ([Options.DedupCacheSize]) is not logged again: its SCT
// names the entry the log has, with that entry's timestamp and leaf index,
// whatever issuing chain came with it. Concurrent submissions of one
// certificate wait for the first.
//
// A chain the log refuses is an error wrapping [ErrInvalidChain];
// Tessera's pushback is one wrapping [tessera.ErrPushback].
func (l *Log) Add(ctx context.Context, chain []*x509.Certificate, precert bool) (*ct.SignedCertificateTimestamp, error) {
	return l.add(ctx, chain, precert, true)
}

// add is [Log.Add], checking chain[0]'s validity period if checkValidity.
func (l *Log) add(ctx context.Context, chain []*x509.Certificate, precert, checkValidity bool) (*ct.SignedCertificateTimestamp, error) {
	chain, err := l.checkChain(chain, precert)
	if err != nil {
		return nil, err
	}
	now := l.now()
	if checkValidity {
		if err := l.checkNotAfter(chain[0], now); err != nil {
			return nil, err
		}
	}
	if err := l.store.Failure(); err != nil {
		// No checkpoint will commit to the entry: promise none.
		return nil, fmt.Errorf("ctlog: %w", err)
	}
	entry := &ctonly.Entry{
		Timestamp:   uint64(now.UnixMilli()),
		IsPrecert:   precert,
		Certificate: chain[0].Raw,
	}
	timestamped := &ct.TimestampedEntry{
		EntryType: ct.X509LogEntryType,
		X509Entry: &ct.ASN1Cert{Data: chain[0].Raw},
	}
	if precert {
		tbs, err := removePoison(chain[0].RawTBSCertificate)
		if err != nil {
			return nil, fmt.Errorf("%w: remove poison: %v", ErrInvalidChain, err)
		}
		issuerKeyHash := sha256.Sum256(chain[1].RawSubjectPublicKeyInfo)
		entry.Certificate, entry.Precertificate, entry.IssuerKeyHash = tbs, chain[0].Raw, issuerKeyHash[:]
		timestamped.EntryType, timestamped.X509Entry = ct.PrecertLogEntryType, nil
		timestamped.PrecertEntry = &ct.PreCert{IssuerKeyHash: issuerKeyHash, TBSCertificate: tbs}
	}
	st, _, err := l.dedup.sequence(ctx, entryID(entry), func() (stamp, error) {
		return l.sequence(ctx, entry, chain)
	})
	if err != nil {
		return nil, err
	}
	sct := ct.SignedCertificateTimestamp{
		SCTVersion: ct.V1,
		LogID:      ct.LogID{KeyID: l.logID},
		Timestamp:  st.timestamp,
		Extensions: ct.CTExtensions(leafIndexExtension(st.index)),
	}
	timestamped.Timestamp, timestamped.Extensions = sct.Timestamp, sct.Extensions
	leaf := ct.LogEntry{Leaf: ct.MerkleTreeLeaf{
		Version:          ct.V1,
		LeafType:         ct.TimestampedEntryLeafType,
		TimestampedEntry: timestamped,
	}}
	input, err := ct.SerializeSCTSignatureInput(sct, leaf)
	if err != nil {
		return nil, fmt.Errorf("ctlog: SCT signature input: %w", err)
	}
	if sct.Signature, err = sign(l.key, input); err != nil {
		return nil, fmt.Errorf("ctlog: sign SCT: %w", err)
	}
	return &sct, nil
}

// sequence stores the issuers of chain and appends entry, returning where
// and when it was logged once it is durably sequenced.
func (l *Log) sequence(ctx context.Context, entry *ctonly.Entry, chain []*x509.Certificate) (stamp, error) {
	entry.FingerprintsChain = make([][32]byte, 0, len(chain)-1)
	for _, c := range chain[1:] {
		fp := sha256.Sum256(c.Raw)
		if err := l.storeIssuer(ctx, fp, c.Raw); err != nil {
			return stamp{}, err
		}
		entry.FingerprintsChain = append(entry.FingerprintsChain, fp)
	}
	idx, err := l.commits.append(ctx, entry)
	if err != nil {
		return stamp{}, fmt.Errorf("ctlog: add entry: %w", err)
	}
	if idx.IsDup {
		return stamp{}, fmt.Errorf("ctlog: certificate already logged at index %d", idx.Index)
	}
	if idx.Index > maxLeafIndex {
		return stamp{}, fmt.Errorf("ctlog: leaf index %d does not fit the leaf_index extension", idx.Index)
	}
	return stamp{index: idx.Index, timestamp: entry.Timestamp}, nil
}

// checkNotAfter refuses a certificate that expired before now, or whose
// NotAfter is outside the log's window.
func (l *Log) checkNotAfter(c *x509.Certificate, now time.Time) error {
	const layout = time.RFC3339
	switch {
	case c.NotAfter.Before(now):
		return fmt.Errorf("%w: certificate expired at %s (NotAfter): this log takes only unexpired certificates", ErrInvalidChain, c.NotAfter.UTC().Format(layout))
	case !l.notAfterStart.IsZero() && c.NotAfter.Before(l.notAfterStart):
		return fmt.Errorf("%w: certificate NotAfter %s is before %s, where this log's NotAfter window starts", ErrInvalidChain, c.NotAfter.UTC().Format(layout), l.notAfterStart.UTC().Format(layout))
	case !l.notAfterLimit.IsZero() && !c.NotAfter.Before(l.notAfterLimit):
		return fmt.Errorf("%w: certificate NotAfter %s is not before %s, where this log's NotAfter window ends", ErrInvalidChain, c.NotAfter.UTC().Format(layout), l.notAfterLimit.UTC().Format(layout))
	}
	return nil
}

// oidPrecertSigning is the extended key usage of an RFC 6962 §3.1
// precertificate signing certificate.
var oidPrecertSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 4}

// checkChain accepts a precertificate (precert) or final certificate,
// each certificate signed by the next, ending in one of the log's roots or
// in a certificate one of them signed; it returns the chain ending in the
// root.
func (l *Log) checkChain(chain []*x509.Certificate, precert bool) ([]*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, fmt.Errorf("%w: empty chain", ErrInvalidChain)
	}
	poisoned, hasPoison := false, false
	for _, ext := range chain[0].Extensions {
		if ext.Id.Equal(asn1.ObjectIdentifier(ctx509.OIDExtensionCTPoison)) {
			hasPoison = true
			poisoned = ext.Critical && bytes.Equal(ext.Value, asn1.NullBytes)
		}
		if precert && ext.Id.Equal(asn1.ObjectIdentifier(ctx509.OIDExtensionCTSCT)) {
			return nil, fmt.Errorf("%w: precertificate already carries an SCT list", ErrInvalidChain)
		}
	}
	switch {
	case precert && !poisoned:
		return nil, fmt.Errorf("%w: first certificate has no critical poison extension: not a precertificate", ErrInvalidChain)
	case !precert && hasPoison:
		return nil, fmt.Errorf("%w: first certificate has the poison extension: a precertificate, submit it with add-pre-chain", ErrInvalidChain)
	}
	var verified []int // issuing-chain links checked here
	for i := 0; i+1 < len(chain); i++ {
		if i > 0 && l.linkVerified(chain[i], chain[i+1]) {
			continue
		}
		if err := chain[i].CheckSignatureFrom(chain[i+1]); err != nil {
			return nil, fmt.Errorf("%w: certificate %d is not signed by certificate %d: %v", ErrInvalidChain, i, i+1, err)
		}
		if i > 0 {
			verified = append(verified, i)
		}
	}
	chain, err := l.toRoot(chain)
	if err != nil {
		return nil, err
	}
	// Only the links of chains to the log's roots are remembered: anyone
	// may submit chains, and theirs would crowd out the CAs'.
	for _, i := range verified {
		l.rememberLink(chain[i], chain[i+1])
	}
	if precert {
		if len(chain) < 2 {
			return nil, fmt.Errorf("%w: a precertificate needs an issuer", ErrInvalidChain)
		}
		// The entry's issuer key hash is chain[1]'s: a precertificate
		// signing certificate between the precertificate and its CA
		// would make it the wrong one.
		if slices.ContainsFunc(chain[1].UnknownExtKeyUsage, oidPrecertSigning.Equal) {
			return nil, fmt.Errorf("%w: precertificate issued by a precertificate signing certificate, which this log does not accept", ErrInvalidChain)
		}
	}
	return chain, nil
}

// toRoot returns chain if it ends in one of the log's roots, or chain and
// the root that signed its last certificate.
func (l *Log) toRoot(chain []*x509.Certificate) ([]*x509.Certificate, error) {
	last := chain[len(chain)-1]
	for _, r := range l.roots {
		if bytes.Equal(r.Raw, last.Raw) {
			return chain, nil
		}
	}
	for _, r := range l.roots {
		if bytes.Equal(r.RawSubject, last.RawIssuer) && last.CheckSignatureFrom(r) == nil {
			return append(slices.Clip(chain), r), nil
		}
	}
	return nil, fmt.Errorf("%w: chain does not end in a root the log accepts", ErrInvalidChain)
}

// linkKey names an issuing-chain link by the SHA-256 of both certificates'
// bytes, signatures included.
func linkKey(child, parent *x509.Certificate) [2][32]byte {
	return [2][32]byte{sha256.Sum256(child.Raw), sha256.Sum256(parent.Raw)}
}

// linkVerified reports whether child's signature by parent verified
// before. Every precertificate of a CA comes with the same issuing chain,
// and checking its link to a P-384 root costs more than the rest of an SCT:
// the result is kept for those exact bytes. The precertificate's own
// signature, new every time, is always checked.
func (l *Log) linkVerified(child, parent *x509.Certificate) bool {
	k := linkKey(child, parent)
	l.linksMu.Lock()
	defer l.linksMu.Unlock()
	return l.links[k]
}

// rememberLink records that child's signature by parent verified.
func (l *Log) rememberLink(child, parent *x509.Certificate) {
	k := linkKey(child, parent)
	l.linksMu.Lock()
	defer l.linksMu.Unlock()
	if len(l.links) >= maxVerifiedLinks {
		clear(l.links)
	}
	l.links[k] = true
}

// storeIssuer writes an issuer certificate to the issuer store once.
func (l *Log) storeIssuer(ctx context.Context, fp [32]byte, der []byte) error {
	l.storedMu.Lock()
	done := l.stored[fp]
	l.storedMu.Unlock()
	if done {
		return nil
	}
	if err := l.issuers.AddIssuer(ctx, fp, der); err != nil {
		return fmt.Errorf("ctlog: store issuer: %w", err)
	}
	l.storedMu.Lock()
	l.stored[fp] = true
	l.storedMu.Unlock()
	return nil
}

// leafIndexExtension encodes the static-ct-api CTExtensions holding one
// leaf_index extension (type 0, a 40-bit big-endian index).
func leafIndexExtension(idx uint64) []byte {
	var b cryptobyte.Builder
	b.AddUint8(0)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddBytes([]byte{byte(idx >> 32), byte(idx >> 24), byte(idx >> 16), byte(idx >> 8), byte(idx)})
	})
	return b.BytesOrPanic()
}

// ReadCheckpoint returns the latest signed checkpoint (static-ct-api
// /checkpoint) once it verifies with the log's key (otherwise the error
// wraps [tlog.ErrIntegrity]); before the first one its error wraps
// os.ErrNotExist.
func (l *Log) ReadCheckpoint(ctx context.Context) ([]byte, error) {
	return l.store.ReadCheckpoint(ctx)
}

// ReadTile returns a Merkle tree tile (/tile/<L>/<N>[.p/<W>]), checked
// against the latest checkpoint: a tile it does not commit to is missing
// (the error wraps os.ErrNotExist), and one whose size or hashes are wrong
// is an error wrapping [tlog.ErrIntegrity].
func (l *Log) ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	return l.store.ReadTile(ctx, level, index, p)
}

// ReadEntryBundle returns a data tile (/tile/data/<N>[.p/<W>]), checked
// against the latest checkpoint as [Log.ReadTile] checks tiles.
func (l *Log) ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error) {
	return l.store.ReadEntryBundle(ctx, index, p)
}

// Issuer returns the issuer certificate with the given SHA-256
// fingerprint (/issuer/<hex>); a missing one's error wraps os.ErrNotExist.
func (l *Log) Issuer(ctx context.Context, fingerprint [32]byte) ([]byte, error) {
	return l.issuers.Issuer(ctx, fingerprint)
}
