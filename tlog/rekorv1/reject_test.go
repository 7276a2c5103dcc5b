package rekorv1

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/signetproject/signet/fulcio"
	"github.com/signetproject/signet/tlog"
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// TestEntryRejections feeds hostile proposals: each is rejected with an
// error that names the problem and wraps the right sentinel.
func TestEntryRejections(t *testing.T) {
	k := newDiffKeys(t)
	d := sha256.Sum256([]byte("artifact"))
	sig, err := k.p384.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pkixPEM(t, k.p384.Public())
	good := string(hashedRekordInput(t, "sha256", d[:], sig, keyPEM))
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	edEnv := signEnvelope(t, inTotoPayloadType, []byte(`{}`), k.ed)
	env := string(signEnvelope(t, inTotoPayloadType, []byte(`{}`), k.p384))
	intoto := string(intotoProposal(t, []byte(env), keyPEM))
	dsse := string(dsseProposal(t, env, keyPEM))
	var chain11 []byte
	for range 11 {
		chain11 = append(chain11, pemOf("CERTIFICATE", k.leaf.Raw)...)
	}
	edPEM := pkixPEM(t, k.ed.Public())
	edSig := k.ed.Sign
	edSig256, err := edSig(rand.Reader, d[:], crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, in, want string
		is             error
	}{
		{"too large", `{"kind":"` + strings.Repeat("x", tlog.MaxRequestSize) + `"}`, "exceeds", tlog.ErrEntryTooLarge},
		{"not JSON", `{`, "decode proposed entry: unexpected EOF", tlog.ErrMalformedRequest},
		{"no kind", `{"apiVersion":"0.0.1"}`, "kind is missing", tlog.ErrMalformedRequest},
		{"other kind", `{"kind":"rekord"}`, `entry kind "rekord"`, tlog.ErrUnsupportedEntry},
		{"version of the wrong type", `{"kind":"dsse","apiVersion":1}`, "decode proposed entry: json: cannot unmarshal", tlog.ErrMalformedRequest},
		{"no version", `{"kind":"dsse"}`, "has no apiVersion", tlog.ErrMalformedRequest},
		{"other version", strings.Replace(good, `"0.0.1"`, `"0.0.2"`, 1), `version "0.0.2", want "0.0.1"`, tlog.ErrUnsupportedEntry},

		{"hashedrekord spec not an object", `{"kind":"hashedrekord","apiVersion":"0.0.1","spec":"x"}`, "spec is a string, not an object", tlog.ErrInvalidRequest},
		{"hashedrekord bad base64 signature", strings.Replace(good, `"content":"`, `"content":"!`, 1), "signature: content is not base64", tlog.ErrInvalidRequest},
		{"hashedrekord bad base64 key", strings.Replace(good, `"publicKey":{"content":"`, `"publicKey":{"content":"!`, 1), "signature.publicKey: content is not base64", tlog.ErrInvalidRequest},
		{"hashedrekord no hash", strings.Replace(good, `"hash"`, `"hush"`, 1), "data.hash is missing", tlog.ErrInvalidRequest},
		{"hashedrekord no algorithm", strings.Replace(good, `"algorithm"`, `"alg"`, 1), "data.hash.algorithm is missing", tlog.ErrInvalidRequest},
		{"hashedrekord other algorithm", strings.Replace(good, `"sha256"`, `"md5"`, 1), `data.hash.algorithm "md5" is not one of`, tlog.ErrInvalidRequest},
		{"hashedrekord no value", strings.Replace(good, `"value"`, `"val"`, 1), "data.hash.value is missing", tlog.ErrInvalidRequest},
		{"hashedrekord no signature", strings.Replace(good, `"signature"`, `"sig"`, 1), "signature is missing", tlog.ErrInvalidRequest},
		{"hashedrekord no key", strings.Replace(good, `"publicKey"`, `"key"`, 1), "signature.publicKey is missing", tlog.ErrInvalidRequest},
		{"hashedrekord empty signature", string(hashedRekordInput(t, "sha256", d[:], nil, keyPEM)), "signature is empty", tlog.ErrInvalidSignature},
		{"hashedrekord key not PEM", string(hashedRekordInput(t, "sha256", d[:], sig, []byte("key"))), "public key is not PEM", tlog.ErrInvalidRequest},
		{"hashedrekord other PEM", string(hashedRekordInput(t, "sha256", d[:], sig, pemOf("EC PRIVATE KEY", []byte{1}))), `PEM block "EC PRIVATE KEY" is neither`, tlog.ErrInvalidRequest},
		{"hashedrekord bad key", string(hashedRekordInput(t, "sha256", d[:], sig, pemOf("PUBLIC KEY", []byte{1}))), "signature.publicKey: public key: asn1", tlog.ErrInvalidRequest},
		{"hashedrekord bad certificate", string(hashedRekordInput(t, "sha256", d[:], sig, pemOf("CERTIFICATE", []byte{1}))), "signature.publicKey: certificate: x509", tlog.ErrInvalidRequest},
		{"hashedrekord chain too long", string(hashedRekordInput(t, "sha256", d[:], sig, chain11)), "more than 10 certificates", tlog.ErrInvalidRequest},
		{"hashedrekord chain with junk", string(hashedRekordInput(t, "sha256", d[:], sig, append(pemOf("CERTIFICATE", k.leaf.Raw), "junk"...))), "certificate chain: block 2 is not PEM", tlog.ErrInvalidRequest},
		{"hashedrekord chain with a key", string(hashedRekordInput(t, "sha256", d[:], sig, append(slices2(keyPEM), keyPEM...))), "certificate chain: certificate 1: x509", tlog.ErrInvalidRequest},
		{"hashedrekord chain that does not chain", string(hashedRekordInput(t, "sha256", d[:], sig, append(pemOf("CERTIFICATE", k.leaf.Raw), pemOf("CERTIFICATE", k.ecdsa.Cert.Raw)...))), "certificate chain: x509", tlog.ErrInvalidSignature},
		{"hashedrekord short digest", string(hashedRekordInput(t, "sha256", d[:31], sig, keyPEM)), "data.hash.value has 62 hex digits, want 64 for sha256", tlog.ErrInvalidRequest},
		{"hashedrekord digest not hex", strings.Replace(good, hex.EncodeToString(d[:]), "zz"+hex.EncodeToString(d[1:]), 1), "data.hash.value: encoding/hex", tlog.ErrInvalidRequest},
		{"hashedrekord signature over other data", string(hashedRekordInput(t, "sha256", bytes.Repeat([]byte{1}, 32), sig, keyPEM)), "verify signature: invalid ASN.1 encoded ECDSA signature", tlog.ErrInvalidSignature},
		{"hashedrekord Ed25519 over SHA-256", string(hashedRekordInput(t, "sha256", d[:], edSig256, edPEM)), "an Ed25519 key verifies only SHA-512 digests", tlog.ErrInvalidSignature},
		{"hashedrekord DSA key", string(hashedRekordInput(t, "sha256", d[:], sig, []byte(dsaPublicKeyPEM))), "unsupported public key type *dsa.PublicKey", tlog.ErrInvalidSignature},
		{"hashedrekord P1363 of odd length", string(hashedRekordInput(t, "sha256", d[:], append([]byte{0}, make([]byte, 96)...), keyPEM)), "neither ASN.1 nor IEEE P1363", tlog.ErrInvalidSignature},

		{"dsse spec not an object", `{"kind":"dsse","apiVersion":"0.0.1","spec":[]}`, "spec is an array, not an object", tlog.ErrInvalidRequest},
		{"dsse verifier not base64", `{"kind":"dsse","apiVersion":"0.0.1","spec":{"proposedContent":{"envelope":"{}","verifiers":["!"]}}}`, "proposedContent.verifiers[0] is not base64", tlog.ErrInvalidRequest},
		{"dsse no envelope", `{"kind":"dsse","apiVersion":"0.0.1","spec":{"proposedContent":{"verifiers":["` + b64(keyPEM) + `"]}}}`, "proposedContent.envelope is missing", tlog.ErrInvalidRequest},
		{"dsse no verifiers", `{"kind":"dsse","apiVersion":"0.0.1","spec":{"proposedContent":{"envelope":"{}","verifiers":[""]}}}`, "proposedContent.verifiers is empty", tlog.ErrInvalidRequest},
		{"dsse envelope not JSON", string(dsseProposal(t, "{", keyPEM)), "proposedContent.envelope: unexpected end of JSON input", tlog.ErrInvalidRequest},
		{"dsse no signatures in the envelope", string(dsseProposal(t, `{"payload":"","signatures":[]}`, keyPEM)), "DSSE envelope has no signatures", tlog.ErrInvalidRequest},
		{"dsse payload not base64", string(dsseProposal(t, `{"payload":"!","signatures":[{"sig":"AAAA"}]}`, keyPEM)), "DSSE payload is not base64", tlog.ErrInvalidRequest},
		{"dsse signature not base64", string(dsseProposal(t, `{"payload":"","signatures":[{"sig":"!"}]}`, keyPEM)), "DSSE signature 0 is not base64", tlog.ErrInvalidRequest},
		{"dsse verifier not a key", string(dsseProposal(t, env, []byte("key"))), "verifier 0: public key is not PEM", tlog.ErrInvalidRequest},
		{"dsse wrong verifier", string(dsseProposal(t, env, edPEM)), "verifier 0 verifies no signature", tlog.ErrInvalidSignature},
		{"dsse unverified signature", string(dsseProposal(t, string(signEnvelope(t, "x", []byte("y"), k.p384, k.ed)), keyPEM)), "a DSSE signature verifies with none of the verifiers", tlog.ErrInvalidSignature},
		{"dsse proposal with recorded fields", strings.Replace(dsse, `"spec":{`, `"spec":{"payloadHash":{"algorithm":"sha256","value":"x"},`, 1), "carries proposedContent only", tlog.ErrInvalidRequest},
		{"dsse empty signatures", strings.Replace(dsse, `"spec":{`, `"spec":{"signatures":[],`, 1), "signatures is empty", tlog.ErrInvalidRequest},
		{"dsse log form without proposal", string(dsseLogForm(t, keyPEM)), "lacks the fields of a proposal", tlog.ErrInvalidRequest},
		{"dsse log form without payloadHash", strings.Replace(string(dsseLogForm(t, keyPEM)), `"payloadHash"`, `"ph"`, 1), "either proposedContent or envelopeHash, payloadHash and signatures", tlog.ErrInvalidRequest},
		{"dsse log form bad hash", strings.Replace(string(dsseLogForm(t, keyPEM)), `"sha256"`, `"sha1"`, 1), `envelopeHash.algorithm "sha1" is not one of`, tlog.ErrInvalidRequest},
		{"dsse log form signature not base64", strings.Replace(string(dsseLogForm(t, keyPEM)), `"signature":"AAAA"`, `"signature":"AAA"`, 1), "signatures[0].signature is not base64", tlog.ErrInvalidRequest},
		{"dsse log form signature with a non-base64 character", strings.Replace(string(dsseLogForm(t, keyPEM)), `"signature":"AAAA"`, `"signature":"AA-A"`, 1), "signatures[0].signature is not base64", tlog.ErrInvalidRequest},
		{"dsse log form signature with three pads", strings.Replace(string(dsseLogForm(t, keyPEM)), `"signature":"AAAA"`, `"signature":"A==="`, 1), "signatures[0].signature is not base64", tlog.ErrInvalidRequest},
		{"dsse log form without signature", strings.Replace(string(dsseLogForm(t, keyPEM)), `"signature":"AAAA"`, `"s":"AAAA"`, 1), "signatures[0].signature is missing", tlog.ErrInvalidRequest},
		{"dsse log form without verifier", strings.Replace(string(dsseLogForm(t, keyPEM)), `"verifier"`, `"v"`, 1), "signatures[0].verifier is missing", tlog.ErrInvalidRequest},
		{"dsse log form verifier not base64", strings.Replace(string(dsseLogForm(t, keyPEM)), `"verifier":"`, `"verifier":"!`, 1), "signatures[0]: verifier is not base64", tlog.ErrInvalidRequest},

		{"intoto spec not an object", `{"kind":"intoto","apiVersion":"0.0.2","spec":null}`, "spec is null, not an object", tlog.ErrInvalidRequest},
		{"intoto payload not base64", strings.Replace(intoto, `"payload":"`, `"payload":"!`, 1), "content.envelope: payload is not base64", tlog.ErrInvalidRequest},
		{"intoto publicKey not base64", strings.Replace(intoto, `"publicKey":"`, `"publicKey":"!`, 1), "content.envelope.signatures[0]: publicKey is not base64", tlog.ErrInvalidRequest},
		{"intoto sig not base64", strings.Replace(intoto, `"sig":"`, `"sig":"!`, 1), "content.envelope.signatures[0]: sig is not base64", tlog.ErrInvalidRequest},
		{"intoto no publicKey", strings.Replace(intoto, `"publicKey"`, `"pk"`, 1), "content.envelope.signatures[0].publicKey is missing", tlog.ErrInvalidRequest},
		{"intoto no sig", strings.Replace(intoto, `"sig"`, `"sg"`, 1), "content.envelope.signatures[0].sig is missing", tlog.ErrInvalidRequest},
		{"intoto no payloadType", strings.Replace(intoto, `"payloadType"`, `"pt"`, 1), "content.envelope.payloadType is missing", tlog.ErrInvalidRequest},
		{"intoto no signatures", strings.Replace(intoto, `"signatures"`, `"sigs"`, 1), "content.envelope.signatures is missing or empty", tlog.ErrInvalidRequest},
		{"intoto no hash", strings.Replace(intoto, `"hash"`, `"h"`, 1), "content.hash (the envelope digest) is missing", tlog.ErrInvalidRequest},
		{"intoto bad hash", strings.Replace(intoto, `"algorithm":"sha256"`, `"algorithm":"sha512"`, 1), `content.hash.algorithm "sha512" is not one of`, tlog.ErrInvalidRequest},
		{"intoto bad payloadHash", strings.Replace(intoto, `"hash":`, `"payloadHash":{"algorithm":"md5","value":""},"hash":`, 1), `content.payloadHash.algorithm "md5" is not one of`, tlog.ErrInvalidRequest},
		{"intoto without payload", strings.Replace(intoto, `"payload"`, `"pl"`, 1), "content.payloadHash is missing", tlog.ErrInvalidRequest},
		{"intoto wrong key", string(intotoProposal(t, []byte(env), edPEM)), "verifier 0 verifies no signature", tlog.ErrInvalidSignature},
		{"intoto URL-safe payload", string(intotoProposal(t, urlSafeEnvelope(t, k.p384), keyPEM)), "DSSE payload is not padded standard base64", tlog.ErrInvalidRequest},
		{"intoto empty payloadType", string(intotoProposal(t, signEnvelope(t, "", []byte("x"), k.p384), keyPEM)), "lacks the fields of a proposal", tlog.ErrInvalidRequest},
		{"intoto Ed25519 envelope with an ECDSA key", string(intotoProposal(t, edEnv, keyPEM)), "verifier 0 verifies no signature", tlog.ErrInvalidSignature},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewEntry(context.Background(), []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, tt.is) {
				t.Fatalf("error %v, want %q wrapping %v", err, tt.want, tt.is)
			}
		})
	}
}

func slices2(b []byte) []byte { return append([]byte{}, b...) }

// TestOtherNameSAN compares fulcio.OtherNameSAN, which Rekor v1 entries' index keys use, with sigstore's
// cryptoutils.UnmarshalOtherNameSAN on well-formed and malformed SAN
// extensions.
func TestOtherNameSAN(t *testing.T) {
	type otherName struct {
		ID    asn1.ObjectIdentifier
		Value string `asn1:"utf8,explicit,tag:0"`
	}
	on := func(oid asn1.ObjectIdentifier, v string) asn1.RawValue {
		b, err := asn1.MarshalWithParams(otherName{oid, v}, "tag:0")
		if err != nil {
			t.Fatal(err)
		}
		return asn1.RawValue{FullBytes: b}
	}
	seq := func(vs ...asn1.RawValue) []byte {
		b, err := asn1.Marshal(vs)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dns := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte("host")}
	oidOtherName := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 7} // Fulcio's "user!domain" identity
	ext := func(v []byte) pkix.Extension { return pkix.Extension{Id: oidSubjectAltName, Value: v} }
	for _, tt := range []struct {
		name string
		exts []pkix.Extension
		want string
	}{
		{"none", nil, ""},
		{"one", []pkix.Extension{ext(seq(dns, on(oidOtherName, "foo!oidc.local")))}, "foo!oidc.local"},
		{"other extension", []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: seq(on(oidOtherName, "x"))}}, ""},
		{"two", []pkix.Extension{ext(seq(on(oidOtherName, "a"), on(oidOtherName, "b")))}, ""},
		{"two extensions", []pkix.Extension{ext(seq(on(oidOtherName, "a"))), ext(seq(on(oidOtherName, "b")))}, ""},
		{"other OID", []pkix.Extension{ext(seq(on(asn1.ObjectIdentifier{1, 2}, "a")))}, ""},
		{"trailing data", []pkix.Extension{ext(append(seq(on(oidOtherName, "a")), 0))}, ""},
		{"not a sequence", []pkix.Extension{ext([]byte{0x31, 0})}, ""},
		{"not DER", []pkix.Extension{ext([]byte{0x30})}, ""},
		{"bad element", []pkix.Extension{ext([]byte{0x30, 2, 0x82, 5})}, ""},
		{"bad otherName", []pkix.Extension{ext(seq(asn1.RawValue{FullBytes: []byte{0xa0, 1, 5}}))}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &x509.Certificate{Extensions: tt.exts}
			got := fulcio.OtherNameSAN(c)
			sigstore, _ := cryptoutils.UnmarshalOtherNameSAN(tt.exts)
			if got != tt.want || got != sigstore {
				t.Fatalf("fulcio.OtherNameSAN = %q, want %q (sigstore %q)", got, tt.want, sigstore)
			}
		})
	}
}

// TestHashSearchKeyAgreesWithRekor compares hashSearchKey with Rekor's
// API: every digest its search pattern admits is taken, and a digest taken
// gets the prefix Rekor's util.PrefixSHA gives it.
func TestHashSearchKeyAgreesWithRekor(t *testing.T) {
	rekorPattern := regexp.MustCompile(`^(sha512:)?[0-9a-fA-F]{128}$|^(sha256:)?[0-9a-fA-F]{64}$|^(sha1:)?[0-9a-fA-F]{40}$`)
	for _, in := range []string{
		"", "ab", strings.Repeat("a", 40), strings.Repeat("b", 64), strings.Repeat("c", 96), strings.Repeat("d", 128),
		strings.Repeat("D", 128), "sha256:" + strings.Repeat("b", 64), "sha1:" + strings.Repeat("b", 64), "sha1:" + strings.Repeat("b", 35),
		"x:" + strings.Repeat("b", 62), "a:b:" + strings.Repeat("b", 60), strings.Repeat("e", 63), "sha384:" + strings.Repeat("f", 96),
	} {
		got, err := hashSearchKey(in)
		if rekorPattern.MatchString(in) && err != nil {
			t.Errorf("hashSearchKey(%q): %v; Rekor's API takes it", in, err)
		}
		if want := strings.ToLower(util.PrefixSHA(in)); err == nil && got != want {
			t.Errorf("hashSearchKey(%q) = %q, want %q as Rekor's util.PrefixSHA", in, got, want)
		}
	}
}

// TestPublicKeySearchKeyErrors checks the error of each publicKey search
// criterion the log refuses.
func TestPublicKeySearchKeyErrors(t *testing.T) {
	key := pkixPEM(t, newDiffKeys(t).p384.Public())
	for _, tt := range []struct {
		pk   SearchPublicKey
		want string
	}{
		{SearchPublicKey{Format: "pgp", Content: key}, `public key format "pgp" is not supported`},
		{SearchPublicKey{Format: "x509", Content: key, URL: "https://example.com/key"}, "public key URLs are not supported"},
		{SearchPublicKey{Format: "x509"}, "public key content is empty"},
		{SearchPublicKey{Format: "x509", Content: []byte("key")}, "parse public key: public key is not PEM"},
		{SearchPublicKey{Format: "x509", Content: []byte(dsaPublicKeyPEM)}, "canonicalize public key: encode public key"},
	} {
		if _, err := publicKeySearchKey(&tt.pk); err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("publicKeySearchKey(%+v) = %v, want %q wrapping ErrInvalidQuery", tt.pk, err, tt.want)
		}
	}
	got, err := publicKeySearchKey(&SearchPublicKey{Format: "x509", Content: append([]byte("\n "), key...)})
	h := sha256.Sum256(key)
	if err != nil || got != hex.EncodeToString(h[:]) {
		t.Errorf("publicKeySearchKey = %q, %v, want the hex SHA-256 of the canonical PEM", got, err)
	}
}
