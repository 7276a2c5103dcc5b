package verify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	flog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/signetproject/signet/bundle"
)

// verifyTlogEntries checks the bundle's entries in trusted logs and returns
// the integrated times they vouch for. Entries of logs the trusted root
// does not list are ignored; TlogThreshold decides whether enough remain.
func (v *Verifier) verifyTlogEntries(b *bundle.Bundle, s *signer, res *Result) ([]Timestamp, error) {
	if v.opts.TlogThreshold == 0 {
		return nil, nil
	}
	entries := b.TlogEntries()
	for i := range entries {
		for j := i + 1; j < len(entries); j++ {
			if bytes.Equal(entries[i].Proto.GetLogId().GetKeyId(), entries[j].Proto.GetLogId().GetKeyId()) &&
				entries[i].Proto.GetLogIndex() == entries[j].Proto.GetLogIndex() {
				return nil, fail(CheckTlog, "entries %d and %d are the same log entry", i, j)
			}
		}
	}
	trustTime := v.opts.IntegratedTimeThreshold > 0 || v.opts.ObserverTimestampThreshold > 0
	verified := map[string]bool{}
	var times []Timestamp
	for i, e := range entries {
		id := string(e.Proto.GetLogId().GetKeyId())
		lv, ok := v.tlogs[id]
		if !ok {
			continue
		}
		if err := v.verifyTlogEntry(b, s, e, lv); err != nil {
			return nil, &Error{Check: CheckTlog, Err: fmt.Errorf("entry %d (log index %d): %w", i, e.Proto.GetLogIndex(), err)}
		}
		te := TlogEntry{LogID: e.Proto.GetLogId().GetKeyId(), LogIndex: e.Proto.GetLogIndex(), RekorV2: e.RekorV2()}
		if it := e.Proto.GetIntegratedTime(); it != 0 {
			te.IntegratedTime = time.Unix(it, 0)
		}
		res.TlogEntries = append(res.TlogEntries, te)
		if trustTime && e.HasInclusionPromise() && !verified[id] {
			times = append(times, Timestamp{Kind: TimestampTlog, URI: lv.log.BaseURL, Time: te.IntegratedTime})
		}
		verified[id] = true
	}
	if len(verified) < v.opts.TlogThreshold {
		return nil, fail(CheckTlog, "%d verified entries from trusted logs, need %d", len(verified), v.opts.TlogThreshold)
	}
	return times, nil
}

func (v *Verifier) verifyTlogEntry(b *bundle.Bundle, s *signer, e *bundle.TlogEntry, lv *logVerifier) error {
	pb := e.Proto
	if !e.HasInclusionPromise() && !e.HasInclusionProof() {
		return errors.New("entry has neither an inclusion proof nor an inclusion promise")
	}
	if e.RekorV2() && !e.HasInclusionProof() {
		return errors.New("rekor v2 entry has no inclusion proof")
	}
	if e.HasInclusionPromise() {
		if err := lv.verifySET(pb.GetCanonicalizedBody(), pb.GetIntegratedTime(), pb.GetLogIndex(), pb.GetLogId().GetKeyId(),
			pb.GetInclusionPromise().GetSignedEntryTimestamp()); err != nil {
			return fmt.Errorf("inclusion promise: %w", err)
		}
	}
	if e.HasInclusionProof() {
		if err := v.verifyInclusion(b, s, e, lv); err != nil {
			return fmt.Errorf("inclusion proof: %w", err)
		}
	}
	if !e.RekorV2() {
		if err := matchRekorV1Body(b, s, e); err != nil {
			return err
		}
	}
	if it := pb.GetIntegratedTime(); it != 0 {
		t := time.Unix(it, 0)
		if s.cert != nil && (t.Before(s.cert.NotBefore) || t.After(s.cert.NotAfter)) {
			return fmt.Errorf("integrated time %s outside the certificate's validity", t.UTC().Format(time.RFC3339))
		}
		if s.key != nil && !s.key.ValidFor.Contains(t) {
			return fmt.Errorf("integrated time %s outside the key's validity", t.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// verifySET checks a Rekor v1 signed entry timestamp: the log's ECDSA
// signature over the canonical JSON of body, integrated time, log ID and
// index.
func (lv *logVerifier) verifySET(body []byte, integratedTime, logIndex int64, logID, set []byte) error {
	t := time.Unix(integratedTime, 0)
	w := lv.log.ValidFor
	if w.Start.IsZero() {
		return errors.New("log key has no validity start")
	}
	if !w.Contains(t) {
		return fmt.Errorf("log key not valid at integrated time %s", t.UTC().Format(time.RFC3339))
	}
	k, ok := lv.log.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return fmt.Errorf("unsupported log key %T for inclusion promises", lv.log.PublicKey)
	}
	// RFC 8785 canonical form: sorted keys, no spaces; the values need no
	// escaping.
	payload := make([]byte, 0, 80+base64.StdEncoding.EncodedLen(len(body))+2*len(logID))
	payload = append(payload, `{"body":"`...)
	payload = base64.StdEncoding.AppendEncode(payload, body)
	payload = append(payload, `","integratedTime":`...)
	payload = strconv.AppendInt(payload, integratedTime, 10)
	payload = append(payload, `,"logID":"`...)
	payload = hex.AppendEncode(payload, logID)
	payload = append(payload, `","logIndex":`...)
	payload = strconv.AppendInt(payload, logIndex, 10)
	payload = append(payload, '}')
	d := sha256.Sum256(payload)
	if !ecdsa.VerifyASN1(k, d[:], set) {
		return errors.New("signature does not verify")
	}
	return nil
}

func (v *Verifier) verifyInclusion(b *bundle.Bundle, s *signer, e *bundle.TlogEntry, lv *logVerifier) error {
	p := e.Proto.GetInclusionProof()
	env := p.GetCheckpoint().GetEnvelope()
	if isRekorV1Checkpoint(env) {
		cp, err := lv.verifyRekorV1Checkpoint(env)
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		if !cp.equalRoot(p.GetRootHash()) {
			return errors.New("proof root hash does not match the checkpoint")
		}

		leaf := rfc6962.DefaultHasher.HashLeaf(e.Proto.GetCanonicalizedBody())
		return verifyInclusionProof(uint64(p.GetLogIndex()), uint64(p.GetTreeSize()), //nolint:gosec // negative values fail the proof
			leaf, p.GetHashes(), p.GetRootHash())
	}
	if lv.noteErr != nil {
		return lv.noteErr
	}
	cp, _, _, err := flog.ParseCheckpoint([]byte(env), lv.origin, lv.note)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	// The proof's own fields must state what is proven: this entry, in the
	// tree the checkpoint signs.
	index := e.Proto.GetLogIndex()
	switch {
	case index < 0 || uint64(index) >= cp.Size:
		return fmt.Errorf("log index %d is outside the checkpoint's tree of size %d", index, cp.Size)
	case p.GetLogIndex() != index:
		return fmt.Errorf("proof is for log index %d, the entry is at %d", p.GetLogIndex(), index)
	case p.GetTreeSize() < 0 || uint64(p.GetTreeSize()) != cp.Size:
		return fmt.Errorf("proof tree size %d differs from the checkpoint's %d", p.GetTreeSize(), cp.Size)
	case !bytes.Equal(p.GetRootHash(), cp.Hash):
		return fmt.Errorf("proof root hash %x differs from the checkpoint's %x", p.GetRootHash(), cp.Hash)
	}
	body, err := rekorV2Body(b, s)
	if err != nil {
		return err
	}
	if !bytes.Equal(body, e.Proto.GetCanonicalizedBody()) {
		return errors.New("canonicalized body is not the entry rebuilt from the bundle's signature, key and digest")
	}
	return verifyInclusionProof(uint64(index), cp.Size, rfc6962.DefaultHasher.HashLeaf(body), p.GetHashes(), cp.Hash)
}

// verifyInclusionProof is proof.VerifyInclusion with a one-line error.
func verifyInclusionProof(index, size uint64, leaf []byte, hashes [][]byte, root []byte) error {
	err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, leaf, hashes, root)
	var rm proof.RootMismatchError
	if errors.As(err, &rm) {
		return fmt.Errorf("proof gives root %x, the checkpoint's is %x", rm.CalculatedRoot, rm.ExpectedRoot)
	}
	return err
}

// matchRekorV1Body checks that a Rekor v1 entry logs this bundle: same
// signature, same key or certificate, same digest or DSSE payload.
func matchRekorV1Body(b *bundle.Bundle, s *signer, e *bundle.TlogEntry) error {
	if !bytes.Equal(e.Signature, b.Signature()) {
		return errors.New("logged signature differs from the bundle's")
	}
	if s.cert != nil {
		if !bytes.Equal(e.PublicKey, s.cert.Raw) {
			return errors.New("logged certificate differs from the bundle's")
		}
	} else {
		k, err := x509.ParsePKIXPublicKey(e.PublicKey)
		eq, ok := k.(interface{ Equal(crypto.PublicKey) bool })
		if err != nil || !ok || !eq.Equal(s.pub) {
			return errors.New("logged public key differs from the trusted key")
		}
	}
	if ms := b.MessageSignature(); ms != nil {
		if e.Digest == nil {
			return fmt.Errorf("a message signature must be logged as hashedrekord, not %s", e.Kind)
		}
		bh, err := hashFromProto(ms.GetMessageDigest().GetAlgorithm())
		if err != nil {
			return err
		}
		eh, ok := hashFromName(e.DigestAlgorithm)
		if !ok {
			return fmt.Errorf("unsupported logged digest algorithm %q", e.DigestAlgorithm)
		}
		if bh != eh || !bytes.Equal(e.Digest, ms.GetMessageDigest().GetDigest()) {
			return errors.New("logged digest differs from the bundle's")
		}
		return nil
	}
	if e.PayloadHash == nil {
		return fmt.Errorf("a DSSE envelope must be logged as intoto or dsse, not %s", e.Kind)
	}
	if d := sha256.Sum256(b.Envelope().GetPayload()); !bytes.Equal(d[:], e.PayloadHash) {
		return errors.New("logged payload hash differs from the envelope's")
	}
	return nil
}

// rekorV2Body rebuilds the Rekor v2 hashedrekord 0.0.2 entry the bundle
// implies, as the log stores it: the RFC 8785 canonical JSON of the entry,
// so that an inclusion proof for its leaf hash proves that this
// signature, key and digest were logged.
func rekorV2Body(b *bundle.Bundle, s *signer) ([]byte, error) {
	details, h, err := rekorV2KeyDetails(s.pub)
	if err != nil {
		return nil, err
	}
	verifier := map[string]any{"keyDetails": details.String()}
	if s.cert != nil {
		verifier["x509Certificate"] = map[string]any{"rawBytes": s.cert.Raw}
	} else {
		der, err := x509.MarshalPKIXPublicKey(s.pub)
		if err != nil {
			return nil, fmt.Errorf("marshal key: %w", err)
		}
		verifier["publicKey"] = map[string]any{"rawBytes": der}
	}
	var digest []byte
	if ms := b.MessageSignature(); ms != nil {
		digest = ms.GetMessageDigest().GetDigest()
	} else {
		hh := h.New()
		hh.Write(pae(b.Envelope().GetPayloadType(), b.Envelope().GetPayload()))
		digest = hh.Sum(nil)
	}
	data := map[string]any{"algorithm": protoHashName(h)}
	if len(digest) > 0 { // protobuf JSON omits empty fields
		data["digest"] = digest
	}
	sig := map[string]any{"verifier": verifier}
	if content := b.Signature(); len(content) > 0 {
		sig["content"] = content
	}
	entry := map[string]any{
		"apiVersion": "0.0.2",
		"kind":       "hashedrekord",
		"spec": map[string]any{"hashedRekordV002": map[string]any{
			"data":      data,
			"signature": sig,
		}},
	}
	// encoding/json sorts map keys and emits no whitespace; every value is
	// ASCII without characters RFC 8785 would escape differently.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(entry); err != nil {
		return nil, fmt.Errorf("encode entry: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// rekorV2KeyDetails names the key's signature algorithm the way Rekor v2
// records it (Ed25519 keys sign pre-hashed) and returns its hash.
func rekorV2KeyDetails(pub crypto.PublicKey) (protocommon.PublicKeyDetails, crypto.Hash, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, crypto.SHA256, nil
		case elliptic.P384():
			return protocommon.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384, crypto.SHA384, nil
		case elliptic.P521():
			return protocommon.PublicKeyDetails_PKIX_ECDSA_P521_SHA_512, crypto.SHA512, nil
		}
	case *rsa.PublicKey:
		switch k.Size() * 8 {
		case 2048:
			return protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_2048_SHA256, crypto.SHA256, nil
		case 3072:
			return protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_3072_SHA256, crypto.SHA256, nil
		case 4096:
			return protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_4096_SHA256, crypto.SHA256, nil
		}
	case ed25519.PublicKey:
		return protocommon.PublicKeyDetails_PKIX_ED25519_PH, crypto.SHA512, nil
	}
	return 0, 0, fmt.Errorf("unsupported key %T for Rekor v2 entries", pub)
}

func protoHashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA384:
		return protocommon.HashAlgorithm_SHA2_384.String()
	case crypto.SHA512:
		return protocommon.HashAlgorithm_SHA2_512.String()
	}
	return protocommon.HashAlgorithm_SHA2_256.String()
}
