package tlog

import (
	"errors"
	"fmt"

	"github.com/signetproject/signet/tlog/internal/tiles"
	"github.com/signetproject/signet/tlog/storage"
)

// ErrInvalidRequest is the parent of every error caused by the content of a
// create-entry request. Nothing is appended when it is returned; an HTTP
// adapter answers 400 Bad Request for errors.Is(err, ErrInvalidRequest).
var ErrInvalidRequest = errors.New("invalid entry request")

var (
	// ErrMalformedRequest reports a request that cannot be decoded or misses
	// required fields (signature, verifier, digest, envelope...).
	ErrMalformedRequest = fmt.Errorf("%w: malformed", ErrInvalidRequest)
	// ErrUnsupportedEntry reports a request for an entry kind or version the
	// log does not accept.
	ErrUnsupportedEntry = fmt.Errorf("%w: unsupported entry type", ErrInvalidRequest)
	// ErrUnsupportedAlgorithm reports a key type, key size or signature
	// algorithm (PublicKeyDetails) the log does not accept, or key details that
	// do not match the key.
	ErrUnsupportedAlgorithm = fmt.Errorf("%w: unsupported signing algorithm", ErrInvalidRequest)
	// ErrInvalidSignature reports a signature that does not verify with the
	// key or certificate given in the request.
	ErrInvalidSignature = fmt.Errorf("%w: invalid signature", ErrInvalidRequest)
	// ErrEntryTooLarge reports a request or an entry larger than the log
	// accepts ([MaxRequestSize], [MaxEntrySize]).
	ErrEntryTooLarge = fmt.Errorf("%w: too large", ErrInvalidRequest)
)

// DuplicateError is returned by [Log.Append] when an identical entry is
// already in the log; nothing new is appended. Like rekor-tiles, an HTTP
// adapter answers 409 Conflict and may put Index in an x-log-index header;
// [Log.EntryAt] returns the existing entry with a fresh inclusion proof.
type DuplicateError struct {
	// Index is the log index of the existing entry.
	Index uint64
}

// Error implements error.
func (e *DuplicateError) Error() string {
	return fmt.Sprintf("an equivalent entry already exists in the transparency log with index %d", e.Index)
}

// ErrIntegrity is the parent of every error reporting that a log's stored
// state disagrees with itself or with a checkpoint the log signed; see
// [storage.ErrIntegrity] and [Log.Health].
var ErrIntegrity = storage.ErrIntegrity

// LeafHashes parses a log's entry bundle: see [tiles.LeafHashes].
type LeafHashes = tiles.LeafHashes
