// Package verify checks Sigstore bundles against trusted material and an
// identity policy, in the order sigstore-go uses: signature over the
// artifact (or DSSE PAE), signed timestamps and transparency log entries,
// the signing certificate chain at every verified time, SCTs, and finally
// the signer identity. It is a pure function of its inputs: no network, no
// clock unless Options.UseCurrentTime asks for one, no logging.
//
// A Verifier is built once from a trustroot.TrustedRoot (certificate pools,
// log keys and checkpoint verifiers are prepared up front) and is safe for
// concurrent use.
package verify

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/trustroot"
)

// Check names the stage of verification that failed.
type Check string

// The checks Verify performs, in order.
const (
	CheckPolicy      Check = "policy"
	CheckSignature   Check = "signature"
	CheckArtifact    Check = "artifact"
	CheckTimestamp   Check = "timestamp"
	CheckTlog        Check = "tlog"
	CheckCertificate Check = "certificate"
	CheckKey         Check = "key"
	CheckSCT         Check = "sct"
	CheckIdentity    Check = "identity"
)

// Error is returned by Verify; Check says which stage rejected the bundle,
// so a CLI can print one line such as "tlog: inclusion proof: ...".
type Error struct {
	Check Check
	Err   error
}

// Error implements error.
func (e *Error) Error() string {
	// One line, whatever the wrapped errors say (errors.Join and the
	// merkle package break lines).
	return string(e.Check) + ": " + strings.Join(strings.Fields(e.Err.Error()), " ")
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

func fail(c Check, format string, args ...any) error {
	return &Error{Check: c, Err: fmt.Errorf(format, args...)}
}

// Options say how much evidence a bundle must carry. Thresholds count
// distinct sources: transparency logs, timestamp authorities.
type Options struct {
	// TlogThreshold is the number of trusted transparency logs whose entries
	// must verify. Zero ignores the log entries.
	TlogThreshold int
	// SignedTimestampThreshold is the number of RFC 3161 timestamps from
	// distinct trusted authorities that must verify.
	SignedTimestampThreshold int
	// IntegratedTimeThreshold is the number of log integrated times (from
	// entries with a verified inclusion promise) that must be available.
	IntegratedTimeThreshold int
	// ObserverTimestampThreshold counts RFC 3161 timestamps and integrated
	// times together.
	ObserverTimestampThreshold int
	// UseCurrentTime adds the current time as a verification time, for
	// bundles without timestamps (e.g. long-lived keys).
	UseCurrentTime bool
	// SCTThreshold is the number of CT logs whose SCTs embedded in the
	// certificate must verify. Zero means one when the trusted root lists CT
	// logs and none otherwise.
	SCTThreshold int
	// UnsafeSkipSCT disables SCT checks even when the root lists CT logs.
	UnsafeSkipSCT bool
	// Now returns the current time when UseCurrentTime is set; nil means
	// time.Now.
	Now func() time.Time
}

// DefaultOptions requires one verified log entry and one observed time
// (signed timestamp or integrated time), like cosign and sigstore-go.
func DefaultOptions() Options {
	return Options{TlogThreshold: 1, ObserverTimestampThreshold: 1}
}

// Validate reports options that cannot be satisfied or make no sense.
func (o Options) Validate() error {
	if o.TlogThreshold < 0 || o.SignedTimestampThreshold < 0 || o.IntegratedTimeThreshold < 0 ||
		o.ObserverTimestampThreshold < 0 || o.SCTThreshold < 0 {
		return errors.New("thresholds must not be negative")
	}
	if o.SignedTimestampThreshold == 0 && o.IntegratedTimeThreshold == 0 &&
		o.ObserverTimestampThreshold == 0 && !o.UseCurrentTime {
		return errors.New("need a source of time: a timestamp threshold or UseCurrentTime")
	}
	if o.IntegratedTimeThreshold > 0 && o.TlogThreshold == 0 {
		return errors.New("integrated times need TlogThreshold > 0")
	}
	if o.UnsafeSkipSCT && o.SCTThreshold > 0 {
		return errors.New("UnsafeSkipSCT contradicts SCTThreshold")
	}
	return nil
}

// Verifier verifies bundles against one trusted root.
type Verifier struct {
	opts    Options
	cas     []*caVerifier
	tsas    []*tsaVerifier
	tlogs   map[string]*logVerifier // by string(log ID)
	ct      map[string]*trustroot.Log
	minSCTs int

	chainMu sync.Mutex
	chains  map[chainKey][]*x509.Certificate
	sctMu   sync.Mutex
	scts    map[sctKey]int // verified SCT counts
}

// New prepares a Verifier. The trusted root must not be modified afterwards.
func New(root *trustroot.TrustedRoot, opts Options) (*Verifier, error) {
	if root == nil {
		return nil, errors.New("verify: nil trusted root")
	}
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("verify: options: %w", err)
	}
	v := &Verifier{opts: opts, tlogs: map[string]*logVerifier{}, ct: map[string]*trustroot.Log{},
		chains: map[chainKey][]*x509.Certificate{}, scts: map[sctKey]int{}}
	for i := range root.CertificateAuthorities {
		v.cas = append(v.cas, newCAVerifier(&root.CertificateAuthorities[i]))
	}
	for i := range root.TimestampAuthorities {
		v.tsas = append(v.tsas, newTSAVerifier(&root.TimestampAuthorities[i]))
	}
	for i := range root.Tlogs {
		l := &root.Tlogs[i]
		v.tlogs[string(l.LogID)] = newLogVerifier(l)
	}
	for i := range root.CTLogs {
		l := &root.CTLogs[i]
		v.ct[string(l.LogID)] = l
	}
	switch {
	case opts.UnsafeSkipSCT:
	case opts.SCTThreshold > 0:
		v.minSCTs = opts.SCTThreshold
	case len(root.CTLogs) > 0:
		v.minSCTs = 1
	}
	return v, nil
}

// Result says what was verified.
type Result struct {
	// Certificate summarises the signing certificate; nil for key bundles.
	Certificate *Certificate
	// KeyHint is the bundle's public key hint for key bundles.
	KeyHint string
	// Identity is the policy identity that matched, if any were given.
	Identity *Identity
	// Timestamps are the verified times the certificate or key was checked at.
	Timestamps []Timestamp
	// TlogEntries are the verified transparency log entries.
	TlogEntries []TlogEntry
	// SCTs is the number of CT logs whose SCTs verified.
	SCTs int
	// PayloadType and Payload are the DSSE envelope content, if any.
	PayloadType string
	Payload     []byte
}

// TimestampKind says where a verified time came from.
type TimestampKind string

// Sources of verified time.
const (
	TimestampTlog      TimestampKind = "tlog"
	TimestampAuthority TimestampKind = "tsa"
	TimestampCurrent   TimestampKind = "current"
)

// Timestamp is a verified time and its source (log or TSA URI).
type Timestamp struct {
	Kind TimestampKind
	URI  string
	Time time.Time
}

// TlogEntry identifies a verified transparency log entry.
type TlogEntry struct {
	LogID          []byte
	LogIndex       int64
	IntegratedTime time.Time // zero for Rekor v2
	RekorV2        bool
}

// Verify checks b against the trusted root, the artifact and the policy.
// Every failure is an *Error naming the check that failed.
func (v *Verifier) Verify(b *bundle.Bundle, artifact Artifact, policy Policy) (*Result, error) {
	if b == nil {
		return nil, fail(CheckPolicy, "nil bundle")
	}
	if err := artifact.validate(); err != nil {
		return nil, &Error{Check: CheckPolicy, Err: err}
	}
	policy, err := policy.compiled()
	if err != nil {
		return nil, &Error{Check: CheckPolicy, Err: err}
	}
	s, err := v.signer(b, policy)
	if err != nil {
		return nil, err
	}
	res := &Result{Certificate: s.summary}
	if s.cert == nil {
		res.KeyHint, _ = b.PublicKeyHint()
	}

	// Signature first: everything else only matters for a valid signature.
	if err := v.verifySignature(b, s, artifact, res); err != nil {
		return nil, err
	}

	times, err := v.verifyTimestamps(b)
	if err != nil {
		return nil, err
	}
	logTimes, err := v.verifyTlogEntries(b, s, res)
	if err != nil {
		// A log entry logs the certificate: one whose CA signature was
		// altered fails here first, but the fault is the certificate's.
		if s.cert != nil {
			if cerr := v.checkIssuedByTrustedCA(s.cert); cerr != nil {
				return nil, cerr
			}
		}
		return nil, err
	}
	if err := v.checkTimeThresholds(len(times), len(logTimes)); err != nil {
		return nil, err
	}
	res.Timestamps = append(logTimes, times...)
	if v.opts.UseCurrentTime {
		now := time.Now
		if v.opts.Now != nil {
			now = v.opts.Now
		}
		res.Timestamps = append(res.Timestamps, Timestamp{Kind: TimestampCurrent, Time: now()})
	}
	if len(res.Timestamps) == 0 {
		return nil, fail(CheckTimestamp, "no verified timestamps")
	}

	if s.cert != nil {
		chain, err := v.verifyChain(s.cert, res.Timestamps)
		if err != nil {
			return nil, err
		}
		if v.minSCTs > 0 {
			n, err := v.cachedSCTs(s.cert, chain)
			if err != nil {
				return nil, err
			}
			res.SCTs = n
		}
		id, err := policy.match(s.summary)
		if err != nil {
			return nil, &Error{Check: CheckIdentity, Err: err}
		}
		res.Identity = id
	} else {
		for _, ts := range res.Timestamps {
			if !s.key.ValidFor.Contains(ts.Time) {
				return nil, fail(CheckKey, "%s time %s outside the key's validity window", ts.Kind, ts.Time.UTC().Format(time.RFC3339))
			}
		}
	}
	return res, nil
}

// checkTimeThresholds checks the integrated time and observer thresholds;
// verifyTimestamps has checked the signed timestamp threshold.
func (v *Verifier) checkTimeThresholds(signed, integrated int) error {
	o := v.opts
	if integrated < o.IntegratedTimeThreshold {
		return fail(CheckTimestamp, "%d verified integrated times, need %d", integrated, o.IntegratedTimeThreshold)
	}
	if signed+integrated < o.ObserverTimestampThreshold {
		return fail(CheckTimestamp, "%d verified signed timestamps and integrated times, need %d",
			signed+integrated, o.ObserverTimestampThreshold)
	}
	return nil
}
