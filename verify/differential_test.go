package verify

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	sgroot "github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/trustroot"
)

// diffCase is one verification set up identically for signet and
// sigstore-go v1.3.0.
type diffCase struct {
	name     string
	bundle   []byte
	rootJSON []byte
	opts     Options
	artifact Artifact
	policy   Policy
	// reject says the unmodified bundle must fail verification; all
	// others must pass, in both verifiers.
	reject bool
}

// sigstoreGo runs sigstore-go v1.3.0 on the case with the equivalent
// configuration and returns its verdict.
func (c *diffCase) sigstoreGo(bundleJSON []byte) error {
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return err
	}
	tr, err := sgroot.NewTrustedRootFromJSON(c.rootJSON)
	if err != nil {
		return err
	}
	var tm sgroot.TrustedMaterial = tr
	var vopts []sgverify.VerifierOption
	if c.opts.TlogThreshold > 0 {
		vopts = append(vopts, sgverify.WithTransparencyLog(c.opts.TlogThreshold))
	}
	if c.opts.ObserverTimestampThreshold > 0 {
		vopts = append(vopts, sgverify.WithObserverTimestamps(c.opts.ObserverTimestampThreshold))
	}
	if c.opts.SignedTimestampThreshold > 0 {
		vopts = append(vopts, sgverify.WithSignedTimestamps(c.opts.SignedTimestampThreshold))
	}
	if c.opts.IntegratedTimeThreshold > 0 {
		vopts = append(vopts, sgverify.WithIntegratedTimestamps(c.opts.IntegratedTimeThreshold))
	}
	// signet checks SCTs whenever the root lists CT logs and the bundle
	// carries a certificate; sigstore-go when asked to.
	if len(tr.CTLogs()) > 0 && !c.opts.UnsafeSkipSCT && b.VerificationMaterial.GetPublicKey() == nil {
		vopts = append(vopts, sgverify.WithSignedCertificateTimestamps(1))
	}
	var popts []sgverify.PolicyOption
	switch {
	case c.policy.Key != nil:
		sv, err := signature.LoadDefaultVerifier(c.policy.Key.PublicKey)
		if err != nil {
			return err
		}
		key := sgroot.NewExpiringKey(sv, c.policy.Key.ValidFor.Start, c.policy.Key.ValidFor.End)
		tm = sgroot.TrustedMaterialCollection{tr, sgroot.NewTrustedPublicKeyMaterial(func(string) (sgroot.TimeConstrainedVerifier, error) {
			return key, nil
		})}
		popts = append(popts, sgverify.WithKey())
	case c.policy.UnsafeSkipIdentity:
		popts = append(popts, sgverify.WithoutIdentitiesUnsafe())
	}
	for _, id := range c.policy.Identities {
		ci, err := sgverify.NewShortCertificateIdentity(id.Issuer, id.IssuerRegexp, id.SAN, id.SANRegexp)
		if err != nil {
			return err
		}
		popts = append(popts, sgverify.WithCertificateIdentity(ci))
	}
	var aopt sgverify.ArtifactPolicyOption
	switch {
	case c.artifact.UnsafeSkip:
		aopt = sgverify.WithoutArtifactUnsafe()
	case c.artifact.Digest != nil:
		aopt = sgverify.WithArtifactDigest(hashName(c.artifact.DigestAlgorithm), c.artifact.Digest)
	default:
		panic("differential cases use digests")
	}
	v, err := sgverify.NewVerifier(tm, vopts...)
	if err != nil {
		return err
	}
	_, err = v.Verify(&b, sgverify.NewPolicy(aopt, popts...))
	return err
}

// signet runs our verifier on the case.
func (c *diffCase) signet(bundleJSON []byte) error {
	b, err := bundle.Decode(bundleJSON)
	if err != nil {
		return err
	}
	root, err := trustroot.LoadTrustedRoot(c.rootJSON)
	if err != nil {
		return err
	}
	v, err := New(root, c.opts)
	if err != nil {
		return err
	}
	_, err = v.Verify(b, c.artifact, c.policy)
	return err
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func vectorCases(t testing.TB) []*diffCase {
	good := readTestdata(t, "trusted-root-public-good.json")
	sjs := Policy{Identities: []Identity{{SAN: sigstoreJSWorkflow, Issuer: githubIssuer}}}
	skip := Artifact{UnsafeSkip: true}
	return []*diffCase{
		{name: "sigstore-js", bundle: readTestdata(t, "sigstore.js@2.0.0-provenance.sigstore.json"), rootJSON: good,
			opts: DefaultOptions(), artifact: skip, policy: sjs},
		{name: "examples-provenance", bundle: readTestdata(t, "examples-bundle-provenance.sigstore.json"), rootJSON: good,
			opts: Options{TlogThreshold: 1, IntegratedTimeThreshold: 1}, artifact: skip, policy: sjs},
		{name: "dsse", bundle: readTestdata(t, "dsse.sigstore.json"), rootJSON: good,
			opts: DefaultOptions(), artifact: skip,
			policy: Policy{Identities: []Identity{{SAN: "brian@dehamer.com", Issuer: "https://github.com/login/oauth"}}}},
		{name: "dsse-2sigs", bundle: readTestdata(t, "dsse-2sigs.sigstore.json"), rootJSON: good,
			opts: DefaultOptions(), artifact: skip, policy: Policy{UnsafeSkipIdentity: true}, reject: true},
		{name: "othername", bundle: readTestdata(t, "othername.sigstore.json"), rootJSON: readTestdata(t, "trusted-root-scaffolding.json"),
			opts:     DefaultOptions(),
			artifact: Artifact{Digest: mustHex("bc103b4a84971ef6459b294a2b98568a2bfb72cded09d4acd1e16366a401f95b"), DigestAlgorithm: crypto.SHA256},
			policy:   Policy{Identities: []Identity{{SAN: "foo!oidc.local", Issuer: "http://oidc.local:8080"}}}},
		{name: "public-key-validity", bundle: readTestdata(t, "public-key-validity.sigstore.json"), rootJSON: readTestdata(t, "trusted-root-public-key-validity.json"),
			opts:     Options{SignedTimestampThreshold: 1},
			artifact: Artifact{Digest: mustHex("6ae8a75555209fd6c44157c0aed8016e763ff435a19cf186f76863140143ff72"), DigestAlgorithm: crypto.SHA256},
			policy:   Policy{Key: &TrustedKey{PublicKey: readKey(t, "public-key-validity.pem")}}},
		{name: "public-key-expired", bundle: readTestdata(t, "public-key-validity.sigstore.json"), rootJSON: readTestdata(t, "trusted-root-public-key-validity.json"),
			opts:     Options{SignedTimestampThreshold: 1},
			artifact: Artifact{Digest: mustHex("6ae8a75555209fd6c44157c0aed8016e763ff435a19cf186f76863140143ff72"), DigestAlgorithm: crypto.SHA256},
			policy:   Policy{Key: &TrustedKey{PublicKey: readKey(t, "public-key-validity.pem"), ValidFor: trustroot.Window{Start: time.Unix(0, 0), End: time.Unix(1, 0)}}},
			reject:   true},
		{name: "managed-key", bundle: readTestdata(t, "examples-bundle-publish.sigstore.json"), rootJSON: good,
			opts: DefaultOptions(), artifact: skip, policy: Policy{Key: &TrustedKey{PublicKey: readKey(t, "examples-publish_key.pub")}}},
	}
}

// mutation is a named, deterministic change to a bundle's JSON.
type mutation struct {
	name  string
	apply func(m map[string]any) bool // false when it does not apply
}

// path navigates decoded JSON: string keys and int indexes.
func lookup(m any, path []any) (parent any, key any, ok bool) {
	cur := m
	for i, p := range path {
		var next any
		switch k := p.(type) {
		case string:
			mm, isMap := cur.(map[string]any)
			if !isMap {
				return nil, nil, false
			}
			if next, ok = mm[k]; !ok {
				return nil, nil, false
			}
		case int:
			s, isSlice := cur.([]any)
			if !isSlice || k >= len(s) {
				return nil, nil, false
			}
			next = s[k]
		}
		if i == len(path)-1 {
			return cur, p, true
		}
		cur = next
	}
	return nil, nil, false
}

func get(m any, path []any) (any, bool) {
	parent, key, ok := lookup(m, path)
	if !ok {
		return nil, false
	}
	switch k := key.(type) {
	case string:
		return parent.(map[string]any)[k], true
	default:
		return parent.([]any)[k.(int)], true
	}
}

func set(m any, path []any, v any) bool {
	parent, key, ok := lookup(m, path)
	if !ok {
		return false
	}
	switch k := key.(type) {
	case string:
		parent.(map[string]any)[k] = v
	default:
		parent.([]any)[k.(int)] = v
	}
	return true
}

func del(m any, path []any) bool {
	parent, key, ok := lookup(m, path)
	if !ok {
		return false
	}
	switch k := key.(type) {
	case string:
		delete(parent.(map[string]any), k)
	default:
		s := parent.([]any)
		i := k.(int)
		return set(m, path[:len(path)-1], append(append([]any{}, s[:i]...), s[i+1:]...))
	}
	return true
}

// bytesFields are base64 fields whose bytes the mutations flip.
var bytesFields = [][]any{
	{"messageSignature", "signature"},
	{"messageSignature", "messageDigest", "digest"},
	{"dsseEnvelope", "signatures", 0, "sig"},
	{"dsseEnvelope", "payload"},
	{"verificationMaterial", "certificate", "rawBytes"},
	{"verificationMaterial", "x509CertificateChain", "certificates", 0, "rawBytes"},
	{"verificationMaterial", "tlogEntries", 0, "inclusionPromise", "signedEntryTimestamp"},
	{"verificationMaterial", "tlogEntries", 0, "inclusionProof", "rootHash"},
	{"verificationMaterial", "tlogEntries", 0, "inclusionProof", "hashes", 0},
	{"verificationMaterial", "tlogEntries", 0, "inclusionProof", "hashes", 1},
	{"verificationMaterial", "tlogEntries", 0, "canonicalizedBody"},
	{"verificationMaterial", "tlogEntries", 0, "logId", "keyId"},
	{"verificationMaterial", "timestampVerificationData", "rfc3161Timestamps", 0, "signedTimestamp"},
}

// intFields are int64 fields (JSON strings in protobuf JSON).
var intFields = [][]any{
	{"verificationMaterial", "tlogEntries", 0, "logIndex"},
	{"verificationMaterial", "tlogEntries", 0, "integratedTime"},
	{"verificationMaterial", "tlogEntries", 0, "inclusionProof", "logIndex"},
	{"verificationMaterial", "tlogEntries", 0, "inclusionProof", "treeSize"},
}

// removable are fields the mutations delete.
var removable = [][]any{
	{"mediaType"}, {"messageSignature"}, {"dsseEnvelope"}, {"verificationMaterial"},
	{"messageSignature", "messageDigest"}, {"messageSignature", "signature"},
	{"dsseEnvelope", "payload"}, {"dsseEnvelope", "payloadType"}, {"dsseEnvelope", "signatures"},
	{"dsseEnvelope", "signatures", 0, "keyid"},
	{"verificationMaterial", "certificate"}, {"verificationMaterial", "x509CertificateChain"},
	{"verificationMaterial", "publicKey"}, {"verificationMaterial", "tlogEntries"},
	{"verificationMaterial", "timestampVerificationData"},
	{"verificationMaterial", "tlogEntries", 0, "inclusionPromise"},
	{"verificationMaterial", "tlogEntries", 0, "inclusionProof"},
	{"verificationMaterial", "tlogEntries", 0, "inclusionProof", "checkpoint"},
	{"verificationMaterial", "tlogEntries", 0, "inclusionProof", "hashes"},
	{"verificationMaterial", "tlogEntries", 0, "inclusionProof", "hashes", 0},
	{"verificationMaterial", "tlogEntries", 0, "kindVersion"},
	{"verificationMaterial", "tlogEntries", 0, "logId"},
	{"verificationMaterial", "tlogEntries", 0, "integratedTime"},
	{"verificationMaterial", "tlogEntries", 0, "canonicalizedBody"},
	{"verificationMaterial", "x509CertificateChain", "certificates", 1},
}

func pathName(p []any) string {
	var parts []string
	for _, e := range p {
		parts = append(parts, fmt.Sprint(e))
	}
	return strings.Join(parts, ".")
}

// mutations returns the deterministic mutations of a bundle: flipped bytes
// at spread and seeded-random positions of every byte field, flipped
// checkpoint characters, shifted integers, removed fields, swapped
// certificates and changed media types, kinds and payload types.
func mutations(seed uint64, otherCerts []string) []mutation {
	rng := rand.New(rand.NewPCG(seed, 42))
	var ms []mutation
	for _, f := range bytesFields {
		positions := []int{0, 1, 2, 7, 16, 31, 32, 33, 64, -1, -2, -33}
		for range 12 {
			positions = append(positions, rng.IntN(4096))
		}
		for _, pos := range positions {
			for _, x := range []byte{0x01, 0x80} {
				ms = append(ms, mutation{
					name: fmt.Sprintf("flip %s[%d]^%#x", pathName(f), pos, x),
					apply: func(m map[string]any) bool {
						v, ok := get(m, f)
						s, isStr := v.(string)
						if !ok || !isStr {
							return false
						}
						b, err := base64.StdEncoding.DecodeString(s)
						if err != nil || len(b) == 0 {
							return false
						}
						i := pos
						if i < 0 {
							i += len(b)
						}
						if i < 0 || i >= len(b) {
							return false
						}
						b[i] ^= x
						return set(m, f, base64.StdEncoding.EncodeToString(b))
					},
				})
			}
		}
	}
	cp := []any{"verificationMaterial", "tlogEntries", 0, "inclusionProof", "checkpoint", "envelope"}
	for pos := range 200 {
		ms = append(ms, mutation{
			name: fmt.Sprintf("flip checkpoint[%d]", pos),
			apply: func(m map[string]any) bool {
				v, _ := get(m, cp)
				s, ok := v.(string)
				if !ok || pos >= len(s) {
					return false
				}
				b := []byte(s)
				b[pos] ^= 0x01
				return set(m, cp, string(b))
			},
		})
	}
	for _, f := range intFields {
		for _, d := range []int64{1, -1, 2, 1000, -1 << 40, 1 << 33} {
			ms = append(ms, mutation{
				name: fmt.Sprintf("shift %s by %d", pathName(f), d),
				apply: func(m map[string]any) bool {
					v, ok := get(m, f)
					s, isStr := v.(string)
					if !ok || !isStr {
						return false
					}
					var n int64
					if _, err := fmt.Sscan(s, &n); err != nil {
						return false
					}
					return set(m, f, fmt.Sprint(n+d))
				},
			})
		}
	}
	for _, f := range removable {
		ms = append(ms, mutation{name: "remove " + pathName(f), apply: func(m map[string]any) bool { return del(m, f) }})
	}
	for i, c := range otherCerts {
		for _, f := range [][]any{
			{"verificationMaterial", "certificate", "rawBytes"},
			{"verificationMaterial", "x509CertificateChain", "certificates", 0, "rawBytes"},
		} {
			ms = append(ms, mutation{
				name: fmt.Sprintf("swap %s with certificate %d", pathName(f), i),
				apply: func(m map[string]any) bool {
					if v, ok := get(m, f); !ok || v == c {
						return false
					}
					return set(m, f, c)
				},
			})
		}
	}
	for _, mt := range []string{
		bundle.MediaType01, bundle.MediaType02, bundle.MediaType03,
		"application/vnd.dev.sigstore.bundle.v0.4+json", "application/vnd.dev.sigstore.bundle.v0.3.1+json",
		"application/vnd.dev.sigstore.bundle+json;version=0.4", "application/json", "",
	} {
		ms = append(ms, mutation{name: "media type " + mt, apply: func(m map[string]any) bool {
			if m["mediaType"] == mt {
				return false
			}
			m["mediaType"] = mt
			return true
		}})
	}
	setTo := func(name string, path []any, v any) {
		ms = append(ms, mutation{name: name, apply: func(m map[string]any) bool {
			if _, ok := get(m, path); !ok {
				return false
			}
			return set(m, path, v)
		}})
	}
	kv := []any{"verificationMaterial", "tlogEntries", 0, "kindVersion"}
	setTo("kind dsse/0.0.1", kv, map[string]any{"kind": "dsse", "version": "0.0.1"})
	setTo("kind hashedrekord/0.0.1", kv, map[string]any{"kind": "hashedrekord", "version": "0.0.1"})
	setTo("kind intoto/0.0.2", kv, map[string]any{"kind": "intoto", "version": "0.0.2"})
	setTo("kind intoto/0.0.1", kv, map[string]any{"kind": "intoto", "version": "0.0.1"})
	setTo("payload type text/plain", []any{"dsseEnvelope", "payloadType"}, "text/plain")
	setTo("keyid other", []any{"dsseEnvelope", "signatures", 0, "keyid"}, "SHA256:other")
	setTo("keyid empty", []any{"dsseEnvelope", "signatures", 0, "keyid"}, "")
	setTo("digest algorithm SHA2_384", []any{"messageSignature", "messageDigest", "algorithm"}, "SHA2_384")
	setTo("digest algorithm SHA2_512", []any{"messageSignature", "messageDigest", "algorithm"}, "SHA2_512")
	setTo("public key hint other", []any{"verificationMaterial", "publicKey", "hint"}, "other")
	setTo("duplicate tlog entry", []any{"verificationMaterial", "tlogEntries"}, nil)
	return ms
}

// knownDifferences lists mutations on which signet and sigstore-go v1.3.0
// are expected to disagree, each with the reason.
var knownDifferences = map[string]string{}

func init() {
	// sigstore-go's tlog.NewTlogEntry copies kind and version from the
	// entry's kindVersion rather than from the body, so the later
	// "kind and version mismatch" check in ParseTransparencyLogEntry compares
	// kindVersion with itself and never fires. signet rejects an entry whose
	// kindVersion contradicts its (logged, proven) body as malformed. The
	// field is not covered by the proof or promise, so accepting it is not
	// a forgery, but it is a malformed bundle.
	const why = "sigstore-go ignores kindVersion/body mismatch (no-op check)"
	for _, kv := range []string{"dsse/0.0.1", "hashedrekord/0.0.1", "intoto/0.0.2", "intoto/0.0.1"} {
		knownDifferences["kind "+kv] = why
	}
}

// knownDifference explains an expected disagreement, if it is one.
func knownDifference(caseName, mutationName string) (string, bool) {
	if why, ok := knownDifferences[mutationName]; ok {
		return why, true
	}
	// sigstore-go v1.3.0 rebuilds the Rekor v2 leaf from the bundle and,
	// of the logged body, only checks that it parses as a protobuf-JSON
	// Entry with a hashedRekordV002 spec and apiVersion 0.0.2: a corrupted
	// "kind" passes. signet requires the body to name hashedrekord 0.0.2
	// (the proof still covers the reconstructed leaf in both).
	if strings.Contains(caseName, "rekor v2") && strings.Contains(mutationName, "canonicalizedBody") {
		return "sigstore-go ignores the kind of a Rekor v2 body", true
	}
	return "", false
}

func TestDifferential(t *testing.T) {
	cases := append(append(vectorCases(t), generatedCases(t)...), signetCases(t)...)
	var certs []string
	for _, c := range cases {
		var m map[string]any
		if err := json.Unmarshal(c.bundle, &m); err != nil {
			t.Fatal(err)
		}
		for _, f := range [][]any{
			{"verificationMaterial", "certificate", "rawBytes"},
			{"verificationMaterial", "x509CertificateChain", "certificates", 0, "rawBytes"},
			{"verificationMaterial", "x509CertificateChain", "certificates", 1, "rawBytes"},
		} {
			if v, ok := get(m, f); ok {
				certs = append(certs, v.(string))
			}
		}
	}
	sort.Strings(certs)

	var runs, accepted, disagreements int
	for ci, c := range cases {
		ours, theirs := c.signet(c.bundle), c.sigstoreGo(c.bundle)
		switch {
		case c.reject && (ours == nil || theirs == nil):
			t.Errorf("%s unmodified must be rejected: signet %v, sigstore-go %v", c.name, ours, theirs)
		case !c.reject && (ours != nil || theirs != nil):
			t.Errorf("%s unmodified must verify: signet %v, sigstore-go %v", c.name, ours, theirs)
		}
		for _, mu := range mutations(uint64(ci), certs) {
			var m map[string]any
			if err := json.Unmarshal(c.bundle, &m); err != nil {
				t.Fatal(err)
			}
			if mu.name == "duplicate tlog entry" {
				if es, ok := get(m, []any{"verificationMaterial", "tlogEntries"}); ok {
					s := es.([]any)
					set(m, []any{"verificationMaterial", "tlogEntries"}, append(s, s...))
				} else {
					continue
				}
			} else if !mu.apply(m) {
				continue
			}
			mutated, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(mutated, c.bundle) {
				continue
			}
			runs++
			ours, theirs := c.signet(mutated), c.sigstoreGo(mutated)
			if ours == nil {
				accepted++
			}
			if (ours == nil) == (theirs == nil) {
				continue
			}
			disagreements++
			if why, ok := knownDifference(c.name, mu.name); ok {
				t.Logf("%s / %s: known difference (%s)", c.name, mu.name, why)
				continue
			}
			t.Errorf("%s / %s: signet %v; sigstore-go %v", c.name, mu.name, ours, theirs)
		}
	}
	t.Logf("%d mutated bundles, %d accepted by both, %d disagreements", runs, accepted, disagreements)
	if runs < 1000 {
		t.Errorf("only %d mutations ran", runs)
	}
}
