package verify

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"

	"github.com/signetproject/signet/bundle"
)

// InTotoPayloadType is the DSSE payload type of in-toto statements, the
// only DSSE payload Sigstore verifiers accept.
const InTotoPayloadType = "application/vnd.in-toto+json"

// Limits on in-toto subjects, against statements built to be slow.
const (
	maxSubjects       = 1024
	maxSubjectDigests = 32
)

// compatVersions are the bundle versions whose P-384/P-521 signatures may
// use SHA-256, as older clients produced.
var compatVersions = map[string]bool{"v0.1": true, "v0.2": true, "v0.3": true}

// verifySignature checks the bundle's signature and binds it to the
// artifact.
func (v *Verifier) verifySignature(b *bundle.Bundle, s *signer, a Artifact, res *Result) error {
	env := b.Envelope()
	sch, err := s.scheme(env != nil, compatVersions[b.Version()])
	if err != nil {
		return fail(CheckSignature, "%w", err)
	}
	if env == nil {
		return verifyMessageSignature(b.MessageSignature(), sch, a)
	}
	if n := len(env.GetSignatures()); n != 1 {
		return fail(CheckSignature, "DSSE envelope has %d signatures, want exactly one", n)
	}
	sig := env.GetSignatures()[0]
	if sig.GetKeyid() != "" {
		// A key ID, when present, must name the verifying key (DSSE
		// protocol, as the reference implementation applies it).
		if fp, err := sshFingerprint(s.pub); err == nil && fp != sig.GetKeyid() {
			return fail(CheckSignature, "DSSE signature key ID %q does not name the signing key", sig.GetKeyid())
		}
	}
	if err := sch.verifyMessage(pae(env.GetPayloadType(), env.GetPayload()), sig.GetSig()); err != nil {
		return fail(CheckSignature, "DSSE: %w", err)
	}
	if env.GetPayloadType() != InTotoPayloadType {
		return fail(CheckSignature, "unsupported DSSE payload type %q", env.GetPayloadType())
	}
	subjects, err := statementDigests(env.GetPayload())
	if err != nil {
		return fail(CheckSignature, "DSSE payload is not an in-toto statement: %w", err)
	}
	res.PayloadType, res.Payload = env.GetPayloadType(), env.GetPayload()
	if a.UnsafeSkip {
		return nil
	}
	if err := matchSubjects(subjects, a); err != nil {
		return &Error{Check: CheckArtifact, Err: err}
	}
	return nil
}

func verifyMessageSignature(ms *protocommon.MessageSignature, sch scheme, a Artifact) error {
	digest := ms.GetMessageDigest().GetDigest()
	if digest == nil {
		return fail(CheckSignature, "message signature has no digest")
	}
	dh, err := hashFromProto(ms.GetMessageDigest().GetAlgorithm())
	if err != nil {
		return fail(CheckSignature, "%w", err)
	}
	switch {
	case a.Reader != nil:
		sums, data, err := readArtifact(a.Reader, sch.pure, append(slices.Clone(sch.hashes), dh)...)
		if err != nil {
			return &Error{Check: CheckArtifact, Err: err}
		}
		if sch.pure {
			err = sch.verifyMessage(data, ms.GetSignature())
		} else {
			err = sch.verifyDigests(sums, ms.GetSignature())
		}
		if err != nil {
			return fail(CheckSignature, "%w", err)
		}
		if !bytes.Equal(sums[dh], digest) {
			return fail(CheckArtifact, "artifact digest does not match the signed digest")
		}
		return nil
	case a.Digest != nil:
		if !bytes.Equal(a.Digest, digest) {
			return fail(CheckArtifact, "artifact digest does not match the signed digest")
		}
		if sch.pure {
			return fail(CheckSignature, "pure Ed25519 signatures need the artifact, not its digest")
		}
		if err := sch.verifyDigests(sameDigest(sch, digest), ms.GetSignature()); err != nil {
			return fail(CheckSignature, "%w", err)
		}
		return nil
	default: // UnsafeSkip: the signature must at least cover the bundle's digest.
		if sch.pure {
			return fail(CheckSignature, "pure Ed25519 signatures need the artifact")
		}
		if err := sch.verifyDigests(sameDigest(sch, digest), ms.GetSignature()); err != nil {
			return fail(CheckSignature, "%w", err)
		}
		return nil
	}
}

// sameDigest offers a precomputed digest to every hash of the scheme;
// verifyDigest rejects it where its length does not fit.
func sameDigest(sch scheme, digest []byte) map[crypto.Hash][]byte {
	m := map[crypto.Hash][]byte{}
	for _, h := range sch.hashes {
		m[h] = digest
	}
	return m
}

func hashFromProto(a protocommon.HashAlgorithm) (crypto.Hash, error) {
	switch a {
	case protocommon.HashAlgorithm_SHA2_256:
		return crypto.SHA256, nil
	case protocommon.HashAlgorithm_SHA2_384:
		return crypto.SHA384, nil
	case protocommon.HashAlgorithm_SHA2_512:
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("unsupported digest algorithm %s", a)
}

// hashFromName maps in-toto and Rekor digest names to hash functions.
func hashFromName(name string) (crypto.Hash, bool) {
	switch name {
	case "sha256", "SHA2_256":
		return crypto.SHA256, true
	case "sha384", "SHA2_384":
		return crypto.SHA384, true
	case "sha512", "SHA2_512":
		return crypto.SHA512, true
	}
	return 0, false
}

func hashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA256:
		return "sha256"
	case crypto.SHA384:
		return "sha384"
	case crypto.SHA512:
		return "sha512"
	}
	return h.String()
}

// matchSubjects checks that the artifact is one of the statement's
// subjects, given by their digests.
func matchSubjects(subjects []map[string]string, a Artifact) error {
	if len(subjects) > maxSubjects {
		return fmt.Errorf("too many subjects: %d > %d", len(subjects), maxSubjects)
	}
	for _, sub := range subjects {
		if len(sub) > maxSubjectDigests {
			return fmt.Errorf("too many digests in a subject: %d > %d", len(sub), maxSubjectDigests)
		}
	}
	if a.Digest != nil {
		name := hashName(a.DigestAlgorithm)
		found := false
		for _, sub := range subjects {
			for alg, hx := range sub {
				d, err := hex.DecodeString(hx)
				if err != nil {
					return fmt.Errorf("subject digest: %w", err)
				}
				found = found || (alg == name && bytes.Equal(d, a.Digest))
			}
		}
		if !found {
			return errors.New("artifact digest is not a subject of the statement")
		}
		return nil
	}

	if len(subjects) == 0 {
		return errors.New("statement has no subjects")
	}
	// Hash the artifact with, per subject, its strongest supported digest
	// unless an already chosen one covers it.
	var chosen []crypto.Hash
	for _, sub := range subjects {
		var have []crypto.Hash
		for alg := range sub {
			if h, ok := hashFromName(alg); ok {
				have = append(have, h)
			}
		}
		if slices.ContainsFunc(have, func(h crypto.Hash) bool { return slices.Contains(chosen, h) }) {
			continue
		}
		for _, h := range []crypto.Hash{crypto.SHA512, crypto.SHA384, crypto.SHA256} {
			if slices.Contains(have, h) {
				chosen = append(chosen, h)
				break
			}
		}
	}
	if len(chosen) == 0 {
		return errors.New("no supported digest algorithm among the subjects")
	}
	sums, _, err := readArtifact(a.Reader, false, chosen...)
	if err != nil {
		return err
	}
	for _, sub := range subjects {
		for alg, hx := range sub {
			// sums has only the chosen hashes: an empty subject digest of
			// another algorithm must not match a missing sum.
			h, ok := hashFromName(alg)
			d, err := hex.DecodeString(hx)
			if ok && err == nil && sums[h] != nil && bytes.Equal(d, sums[h]) {
				return nil
			}
		}
	}
	return errors.New("artifact is not a subject of the statement")
}
