package tlog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"time"

	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	trustrootv1 "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/signetproject/signet/trustroot"
)

// Origin returns the checkpoint origin, the hostname of the log's base URL.
func (l *Log) Origin() string { return l.origin }

// PublicKey returns the Ed25519 key that verifies the log's checkpoints.
func (l *Log) PublicKey() ed25519.PublicKey { return bytes.Clone(l.pub) }

// LogID returns the log's 32-byte ID ([LogID] of its origin and key), as
// entries and trusted_root.json carry it.
func (l *Log) LogID() []byte { return bytes.Clone(l.logID) }

// CheckpointKeyID returns the 4-byte signed-note key ID of the checkpoint
// signatures, for trusted_root.json v0.2 tlogs[].checkpointKeyId.
func (l *Log) CheckpointKeyID() []byte { return bytes.Clone(l.logID[:4]) }

// VerifierKey returns the log's signed-note verifier key
// ("<origin>+<key hash>+<base64 key>"), as tlog-tiles clients and witnesses
// configure it.
func (l *Log) VerifierKey() string { return l.vkey }

// Verifier returns the signed-note verifier of the log's checkpoints.
func (l *Log) Verifier() note.Verifier { return l.verifier }

// TransparencyLogInstance describes the log for trusted_root.json tlogs[]:
// baseUrl, SHA-256 tree hashing, the PKIX Ed25519 public key valid from
// validFrom, and the log ID. The hostname of baseURL must be the log's
// origin, since verifiers (sigstore-go) derive the checkpoint origin from it.
func (l *Log) TransparencyLogInstance(baseURL string, validFrom time.Time) (*trustrootv1.TransparencyLogInstance, error) {
	origin, err := trustroot.CheckpointOrigin(baseURL)
	if err != nil {
		return nil, fmt.Errorf("tlog base URL: %w", err)
	}
	if origin != l.origin {
		return nil, fmt.Errorf("tlog base URL %q has hostname %q, want the checkpoint origin %q", baseURL, origin, l.origin)
	}
	der, err := x509.MarshalPKIXPublicKey(l.pub)
	if err != nil {
		return nil, fmt.Errorf("marshal tlog public key: %w", err)
	}
	return &trustrootv1.TransparencyLogInstance{
		BaseUrl:       baseURL,
		HashAlgorithm: commonv1.HashAlgorithm_SHA2_256,
		PublicKey: &commonv1.PublicKey{
			RawBytes:   der,
			KeyDetails: commonv1.PublicKeyDetails_PKIX_ED25519,
			ValidFor:   &commonv1.TimeRange{Start: timestamppb.New(validFrom)},
		},
		LogId: &commonv1.LogId{KeyId: l.LogID()},
	}, nil
}
