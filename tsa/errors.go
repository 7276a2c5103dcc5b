package tsa

import (
	"errors"
	"fmt"

	"github.com/digitorus/timestamp"
)

// Reasons a timestamp request is refused. Every error that Authority.Timestamp
// returns because of the request itself is a *RequestError wrapping exactly one
// of these, so callers can branch with errors.Is and errors.As.
var (
	// ErrMalformedRequest means the request is not a DER TimeStampReq.
	ErrMalformedRequest = errors.New("malformed timestamp request")
	// ErrRequestTooLarge means the request is larger than MaxRequestBytes.
	ErrRequestTooLarge = errors.New("timestamp request too large")
	// ErrWeakHash means the message imprint uses SHA-1.
	ErrWeakHash = errors.New("weak hash algorithm: must be SHA-256, SHA-384 or SHA-512")
	// ErrUnsupportedHash means the message imprint uses a hash other than SHA-256/384/512.
	ErrUnsupportedHash = errors.New("unsupported hash algorithm")
	// ErrDigestLength means the message imprint's length does not match its hash algorithm.
	ErrDigestLength = errors.New("digest length inconsistent with hash algorithm")
	// ErrUnacceptedPolicy means the request names a TSA policy the authority does not issue under.
	ErrUnacceptedPolicy = errors.New("requested TSA policy is not accepted")
	// ErrUnacceptedExtension means the request carries extensions, which the authority does not support.
	ErrUnacceptedExtension = errors.New("request extensions are not accepted")
)

// ErrOutsideValidity means the authority's clock is outside the validity
// window of its signing certificate, so any token it produced would fail
// verification. It is a server-side condition, not a *RequestError.
var ErrOutsideValidity = errors.New("clock outside the TSA certificate's validity")

// RequestError reports a timestamp request the authority refuses. An HTTP
// adapter answers it with 400 Bad Request, as Sigstore's timestamp authority
// does; RejectionResponse gives the RFC 3161 rejection for adapters that
// prefer to answer in-protocol.
type RequestError struct {
	// Err wraps one of the Err* reasons of this package with detail.
	Err error
	// failure is the RFC 3161 PKIFailureInfo bit for RejectionResponse.
	failure timestamp.FailureInfo
}

func newRequestError(reason error, failure timestamp.FailureInfo, format string, args ...any) *RequestError {
	err := reason
	if format != "" {
		err = fmt.Errorf("%w: %s", reason, fmt.Sprintf(format, args...))
	}
	return &RequestError{Err: err, failure: failure}
}

// Error describes the refused request.
func (e *RequestError) Error() string {
	return "timestamp request refused: " + e.Err.Error()
}

// Unwrap returns the reason, so errors.Is matches the Err* sentinels.
func (e *RequestError) Unwrap() error { return e.Err }

// RejectionResponse returns a DER TimeStampResp with status rejection and the
// PKIFailureInfo bit that fits the reason (RFC 3161 section 2.4.2).
func (e *RequestError) RejectionResponse() ([]byte, error) {
	resp, err := timestamp.CreateErrorResponse(timestamp.Rejection, e.failure)
	if err != nil {
		return nil, fmt.Errorf("encode timestamp rejection: %w", err)
	}
	return resp, nil
}
