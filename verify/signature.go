package verify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"io"

	"golang.org/x/crypto/ssh"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/fulcio"
)

// scheme is how signatures by one key are checked: the hash functions a
// hash-then-sign signature may use (first is the key's default, later ones
// are compatibility fallbacks), or Ed25519 in pure or pre-hashed form.
type scheme struct {
	pub    crypto.PublicKey
	hashes []crypto.Hash
	pure   bool // Ed25519 over the whole message
}

// newScheme derives the signature scheme from the key type, as Sigstore
// clients do: ECDSA with the curve's hash, RSA PKCS#1 v1.5 with SHA-256,
// Ed25519 (pre-hashed with SHA-512 when prehash is set). compat adds
// SHA-256 for P-384/P-521 keys, which older clients used.
func newScheme(pub crypto.PublicKey, prehash, compat bool) (scheme, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		var h crypto.Hash
		switch k.Curve {
		case elliptic.P256():
			h = crypto.SHA256
		case elliptic.P384():
			h = crypto.SHA384
		case elliptic.P521():
			h = crypto.SHA512
		default:
			return scheme{}, errors.New("unsupported ECDSA curve")
		}
		s := scheme{pub: pub, hashes: []crypto.Hash{h}}
		if compat && h != crypto.SHA256 {
			s.hashes = append(s.hashes, crypto.SHA256)
		}
		return s, nil
	case *rsa.PublicKey:
		switch k.Size() * 8 {
		case 2048, 3072, 4096:
			return scheme{pub: pub, hashes: []crypto.Hash{crypto.SHA256}}, nil
		}
		return scheme{}, fmt.Errorf("unsupported RSA key size %d", k.Size()*8)
	case ed25519.PublicKey:
		if prehash {
			return scheme{pub: pub, hashes: []crypto.Hash{crypto.SHA512}}, nil
		}
		return scheme{pub: pub, pure: true}, nil
	}
	return scheme{}, fmt.Errorf("unsupported public key type %T", pub)
}

// verifyDigest checks sig over a digest made with h.
func (s scheme) verifyDigest(h crypto.Hash, digest, sig []byte) bool {
	if len(digest) != h.Size() {
		return false
	}
	switch k := s.pub.(type) {
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, digest, sig)
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, h, digest, sig) == nil
	case ed25519.PublicKey:
		return !s.pure && ed25519.VerifyWithOptions(k, digest, sig, &ed25519.Options{Hash: crypto.SHA512}) == nil
	}
	return false
}

// verifyDigests checks sig given the message's digests under s.hashes.
func (s scheme) verifyDigests(digests map[crypto.Hash][]byte, sig []byte) error {
	for _, h := range s.hashes {
		if s.verifyDigest(h, digests[h], sig) {
			return nil
		}
	}
	return errors.New("signature does not verify")
}

// verifyMessage checks sig over msg.
func (s scheme) verifyMessage(msg, sig []byte) error {
	if s.pure {
		if !ed25519.Verify(s.pub.(ed25519.PublicKey), msg, sig) {
			return errors.New("signature does not verify")
		}
		return nil
	}
	digests := map[crypto.Hash][]byte{}
	for _, h := range s.hashes {
		hh := h.New()
		hh.Write(msg)
		digests[h] = hh.Sum(nil)
	}
	return s.verifyDigests(digests, sig)
}

// signer is the key a bundle claims to be signed with.
type signer struct {
	cert    *x509.Certificate // nil for key bundles
	summary *Certificate
	key     *TrustedKey // for key bundles
	pub     crypto.PublicKey
}

func (s *signer) scheme(dsse, compat bool) (scheme, error) {
	if s.cert != nil {
		// Fulcio-certified Ed25519 keys sign messages pre-hashed.
		return newScheme(s.pub, !dsse, compat)
	}
	return newScheme(s.pub, false, false)
}

func (v *Verifier) signer(b *bundle.Bundle, policy Policy) (*signer, error) {
	if cert := b.Certificate(); cert != nil {
		if policy.Key != nil {
			return nil, fail(CheckKey, "bundle is signed with a certificate, the policy expects a key")
		}
		summary, err := fulcio.Summarize(cert)
		if err != nil {
			return nil, fail(CheckCertificate, "%w", err)
		}
		return &signer{cert: cert, summary: summary, pub: cert.PublicKey}, nil
	}
	if policy.Key == nil {
		return nil, fail(CheckIdentity, "bundle is signed with a public key, the policy expects a certificate identity")
	}
	return &signer{key: policy.Key, pub: policy.Key.PublicKey}, nil
}

// pae is the DSSE v1 pre-authentication encoding.
func pae(payloadType string, payload []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(payload), payload)
}

// sshFingerprint is the key ID the DSSE reference implementation derives
// from a public key.
func sshFingerprint(pub crypto.PublicKey) (string, error) {
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", err
	}
	return ssh.FingerprintSHA256(k), nil
}

// multiHasher hashes a stream with several functions at once.
type multiHasher map[crypto.Hash]hash.Hash

func newMultiHasher(hs ...crypto.Hash) multiHasher {
	m := multiHasher{}
	for _, h := range hs {
		if h.Available() {
			m[h] = h.New()
		}
	}
	return m
}

func (m multiHasher) Write(p []byte) (int, error) {
	for _, h := range m {
		h.Write(p)
	}
	return len(p), nil
}

func (m multiHasher) sums() map[crypto.Hash][]byte {
	out := map[crypto.Hash][]byte{}
	for k, h := range m {
		out[k] = h.Sum(nil)
	}
	return out
}

// readArtifact streams r through the given hashes; pure Ed25519 needs the
// whole artifact, which is then returned too.
func readArtifact(r io.Reader, keep bool, hs ...crypto.Hash) (map[crypto.Hash][]byte, []byte, error) {
	m := newMultiHasher(hs...)
	var buf bytes.Buffer
	w := io.Writer(m)
	if keep {
		w = io.MultiWriter(m, &buf)
	}
	if _, err := io.Copy(w, r); err != nil {
		return nil, nil, fmt.Errorf("read artifact: %w", err)
	}
	return m.sums(), buf.Bytes(), nil
}
