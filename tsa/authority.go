// Package tsa is signet's RFC 3161 timestamp authority: it creates the TSA
// certificate chain and answers DER timestamp requests with signed
// timestamp tokens that Sigstore verifiers (sigstore-go, cosign) accept.
//
// Sigstore clients timestamp the SHA-256 of the signature bytes; the
// authority signs whatever SHA-256, SHA-384 or SHA-512 imprint it is given.
// The package has no transport: an HTTP adapter feeds request bodies to
// Authority.Timestamp and serves Authority.ChainPEM.
package tsa

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/digitorus/timestamp"
)

const (
	// MaxRequestBytes bounds the DER timestamp requests Timestamp accepts.
	// A request is a message imprint, an optional policy OID and nonce, so
	// real ones are far smaller; adapters should cap request bodies at this.
	MaxRequestBytes = 4096
	// ContentTypeQuery is the media type of a DER timestamp request (RFC 3161 section 3.4).
	ContentTypeQuery = "application/timestamp-query"
	// ContentTypeReply is the media type of a DER timestamp response (RFC 3161 section 3.4).
	ContentTypeReply = "application/timestamp-reply"
	// DefaultPolicyOID is the TSA policy tokens are issued under unless
	// WithPolicy says otherwise; it is the default of Sigstore's timestamp
	// authority, so clients that ask for it by name are served.
	DefaultPolicyOID = "1.3.6.1.4.1.57264.2"
	// DefaultAccuracy is the accuracy stated in tokens unless WithAccuracy
	// says otherwise; the genTime is truncated to whole seconds.
	DefaultAccuracy = time.Second
)

// defaultPolicy is DefaultPolicyOID as an object identifier.
var defaultPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}

// unknownHash is the error the pinned digitorus/timestamp returns for a
// message imprint whose hash OID it does not know.
const unknownHash = timestamp.ParseError("Time-Stamp request uses unknown hash function")

// Authority issues RFC 3161 timestamp tokens with one signing key and its
// certificate chain. It holds no mutable state and is safe for concurrent
// use when its crypto.Signer is.
type Authority struct {
	signer   crypto.Signer
	sigHash  crypto.Hash
	chain    []*x509.Certificate
	chainPEM []byte
	policy   asn1.ObjectIdentifier
	accepted []asn1.ObjectIdentifier
	accuracy time.Duration
	now      func() time.Time
}

// Options configures NewAuthority; the zero value issues tokens under
// DefaultPolicyOID with DefaultAccuracy, dated by time.Now.
type Options struct {
	// Now is the clock that dates tokens.
	Now func() time.Time
	// Policy is the TSA policy tokens are issued under when the request
	// names none. Requests may also name it.
	Policy asn1.ObjectIdentifier
	// AcceptedPolicies are TSA policies a request may name besides the
	// issuing policy; a token answering such a request carries the named
	// policy.
	AcceptedPolicies []asn1.ObjectIdentifier
	// Accuracy is the accuracy stated in tokens (DefaultAccuracy when
	// zero); with OmitAccuracy, tokens state none.
	Accuracy     time.Duration
	OmitAccuracy bool
}

// withDefaults checks o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Policy == nil {
		o.Policy = defaultPolicy
	}
	if len(o.Policy) < 2 {
		return o, fmt.Errorf("policy OID %v has fewer than two arcs", o.Policy)
	}
	o.Policy = slices.Clone(o.Policy)
	accepted := make([]asn1.ObjectIdentifier, 0, len(o.AcceptedPolicies))
	for _, oid := range o.AcceptedPolicies {
		if len(oid) < 2 {
			return o, fmt.Errorf("accepted policy OID %v has fewer than two arcs", oid)
		}
		accepted = append(accepted, slices.Clone(oid))
	}
	o.AcceptedPolicies = accepted
	switch {
	case o.Accuracy < 0:
		return o, fmt.Errorf("accuracy %v is negative", o.Accuracy)
	case o.OmitAccuracy:
		o.Accuracy = 0
	case o.Accuracy == 0:
		o.Accuracy = DefaultAccuracy
	}
	return o, nil
}

// NewAuthority returns an Authority that signs with signer and presents
// chain, leaf first and root last, as CreateChain returns it. The chain must
// certify signer's key for timestamping only (critical EKU, end-entity leaf)
// and be valid now by the authority's clock.
func NewAuthority(signer crypto.Signer, chain []*x509.Certificate, opts Options) (*Authority, error) {
	if signer == nil {
		return nil, errors.New("new timestamp authority: nil signer")
	}
	cfg, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("new timestamp authority: %w", err)
	}
	sigHash, err := signatureHash(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("new timestamp authority: %w", err)
	}
	if err := validateChain(chain, signer.Public(), cfg.Now()); err != nil {
		return nil, fmt.Errorf("new timestamp authority: invalid TSA chain: %w", err)
	}
	chain = slices.Clone(chain)
	return &Authority{
		signer:   signer,
		sigHash:  sigHash,
		chain:    chain,
		chainPEM: EncodeChainPEM(chain),
		policy:   cfg.Policy,
		accepted: append([]asn1.ObjectIdentifier{cfg.Policy}, cfg.AcceptedPolicies...),
		accuracy: cfg.Accuracy,
		now:      cfg.Now,
	}, nil
}

// Chain returns the authority's certificate chain, leaf first, for the
// timestampAuthorities entry of trusted_root.json.
func (a *Authority) Chain() []*x509.Certificate {
	return slices.Clone(a.chain)
}

// ChainPEM returns the certificate chain as PEM, leaf first: the body of
// GET /api/v1/timestamp/certchain.
func (a *Authority) ChainPEM() []byte {
	return slices.Clone(a.chainPEM)
}

// Timestamp answers a DER TimeStampReq with a DER TimeStampResp granting a
// signed token over the request's message imprint. The token echoes the
// nonce, carries the requested (accepted) or default policy, the accuracy,
// a fresh random 160-bit serial number and the clock's time; when the
// request sets certReq it includes the whole chain. (The CMS signingTime
// attribute, which verifiers only check against the leaf's validity, comes
// from the wall clock inside digitorus/pkcs7.) A request the authority
// refuses yields a *RequestError; any other error is the authority's fault,
// ErrOutsideValidity among them.
func (a *Authority) Timestamp(request []byte) ([]byte, error) {
	req, err := a.parseRequest(request)
	if err != nil {
		return nil, err
	}
	now := a.now().UTC().Truncate(time.Second)
	leaf := a.chain[0]
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("timestamp at %s: %w [%s, %s]", now.Format(time.RFC3339), ErrOutsideValidity,
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	policy := a.policy
	if len(req.TSAPolicyOID) > 0 {
		policy = req.TSAPolicyOID
	}
	ts := timestamp.Timestamp{
		HashAlgorithm:     req.HashAlgorithm,
		HashedMessage:     req.HashedMessage,
		Time:              now,
		Accuracy:          a.accuracy,
		Nonce:             req.Nonce,
		Policy:            policy,
		AddTSACertificate: req.Certificates,
	}
	if req.Certificates {
		ts.Certificates = a.chain[1:]
	}
	// digitorus/timestamp draws the token's serial number from crypto/rand
	// (160 bits), so serial numbers are unique without shared state across
	// goroutines or replicas.
	resp, err := ts.CreateResponseWithOpts(leaf, a.signer, a.sigHash)
	if err != nil {
		return nil, fmt.Errorf("sign timestamp token: %w", err)
	}
	return resp, nil
}

// parseRequest decodes a DER TimeStampReq and checks it against what the
// authority issues, as Sigstore's timestamp authority does.
func (a *Authority) parseRequest(der []byte) (*timestamp.Request, error) {
	if len(der) > MaxRequestBytes {
		return nil, newRequestError(ErrRequestTooLarge, timestamp.BadRequest, "%d bytes, limit %d", len(der), MaxRequestBytes)
	}
	req, err := timestamp.ParseRequest(der)
	if errors.Is(err, unknownHash) {
		return nil, newRequestError(ErrUnsupportedHash, timestamp.BadAlgorithm, "")
	}
	if err != nil {
		return nil, newRequestError(ErrMalformedRequest, timestamp.BadDataFormat, "%v", err)
	}
	switch req.HashAlgorithm {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	case crypto.SHA1:
		return nil, newRequestError(ErrWeakHash, timestamp.BadAlgorithm, "")
	default:
		return nil, newRequestError(ErrUnsupportedHash, timestamp.BadAlgorithm, "%v", req.HashAlgorithm)
	}
	if got, want := len(req.HashedMessage), req.HashAlgorithm.Size(); got != want {
		return nil, newRequestError(ErrDigestLength, timestamp.BadDataFormat, "%v digest of %d bytes, want %d", req.HashAlgorithm, got, want)
	}
	if len(req.Extensions) > 0 {
		return nil, newRequestError(ErrUnacceptedExtension, timestamp.UnacceptedExtension, "%d extensions", len(req.Extensions))
	}
	if len(req.TSAPolicyOID) > 0 && !slices.ContainsFunc(a.accepted, req.TSAPolicyOID.Equal) {
		return nil, newRequestError(ErrUnacceptedPolicy, timestamp.UnacceptedPolicy, "%v", req.TSAPolicyOID)
	}
	return req, nil
}

// signatureHash picks the digest for the token signature that matches the
// strength of the signing key.
func signatureHash(pub crypto.PublicKey) (crypto.Hash, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return crypto.SHA256, nil
		case elliptic.P384():
			return crypto.SHA384, nil
		case elliptic.P521():
			return crypto.SHA512, nil
		}
		return 0, fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return 0, fmt.Errorf("RSA key of %d bits, want at least 2048", k.N.BitLen())
		}
		return crypto.SHA256, nil
	}
	return 0, fmt.Errorf("unsupported TSA key type %T, want ECDSA or RSA", pub)
}
