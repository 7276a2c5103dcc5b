package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"math/big"
	"strings"
	"testing"
	"time"

	ct "github.com/google/certificate-transparency-go"

	"github.com/signetproject/signet/trustroot"
)

// The tests in this file reach guards that Verify's own flow keeps out of
// reach of any bundle (an earlier check catches the input first); they
// call the guarded function directly, so each guard still has a test that
// fails without it.

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		opts Options
		want string
	}{
		{DefaultOptions(), ""},
		{Options{UseCurrentTime: true}, ""},
		{Options{SignedTimestampThreshold: -1, UseCurrentTime: true}, "thresholds must not be negative"},
		{Options{IntegratedTimeThreshold: -1, UseCurrentTime: true}, "thresholds must not be negative"},
		{Options{ObserverTimestampThreshold: -1, UseCurrentTime: true}, "thresholds must not be negative"},
		{Options{SCTThreshold: -1, UseCurrentTime: true}, "thresholds must not be negative"},
		{Options{TlogThreshold: 1}, "need a source of time"},
		{Options{IntegratedTimeThreshold: 1}, "integrated times need TlogThreshold > 0"},
		{Options{UseCurrentTime: true, UnsafeSkipSCT: true, SCTThreshold: 1}, "UnsafeSkipSCT contradicts SCTThreshold"},
		{Options{UseCurrentTime: true, UnsafeSkipSCT: true}, ""},
	}
	for _, tt := range tests {
		err := tt.opts.Validate()
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v: Validate() = %v, want %q", tt.opts, err, tt.want)
		}
	}
}

// TestVerifyNeedsATime: were option validation ever loosened, Verify
// still refuses to verify a certificate at no time at all.
func TestVerifyNeedsATime(t *testing.T) {
	v, err := New(readRoot(t, "trusted-root-public-good.json"), Options{UseCurrentTime: true})
	if err != nil {
		t.Fatal(err)
	}
	v.opts = Options{}
	_, err = v.Verify(readBundle(t, "dsse.sigstore.json"), Artifact{UnsafeSkip: true}, Policy{UnsafeSkipIdentity: true})
	if err == nil || !strings.Contains(err.Error(), "no verified timestamps") {
		t.Fatalf("Verify = %v, want no verified timestamps", err)
	}
}

func TestPolicyMatchWithoutIdentities(t *testing.T) {
	if _, err := (Policy{}).match(&Certificate{SAN: "a", Issuer: "b"}); err == nil || !strings.Contains(err.Error(), "the policy expects a key") {
		t.Errorf("match = %v", err)
	}
}

// TestChainCache: chain verification is memoized per certificate and
// time, and the cache is emptied when full.
func TestChainCache(t *testing.T) {
	ca := newTestCA(t)
	k := mustECDSA(t, elliptic.P256())
	cert := ca.issue(t, k.Public(), nil)
	root := &trustroot.TrustedRoot{CertificateAuthorities: []trustroot.CertificateAuthority{ca.authority()}}
	v, err := New(root, Options{UseCurrentTime: true})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	sentinel := []*x509.Certificate{cert, cert, cert}
	v.chains[chainKey{leaf: sha256.Sum256(cert.Raw), at: at.UnixNano()}] = sentinel
	if got, err := v.cachedChainAt(cert, at); err != nil || len(got) != 3 {
		t.Errorf("cachedChainAt = %d certificates, %v; want the cached chain", len(got), err)
	}
	for i := range maxCachedChains - 1 {
		v.chains[chainKey{at: int64(i)}] = nil
	}
	if got, err := v.cachedChainAt(cert, at.Add(time.Second)); err != nil || len(got) != 2 {
		t.Fatalf("cachedChainAt = %d certificates, %v", len(got), err)
	}
	if len(v.chains) != 1 {
		t.Errorf("after filling up, the cache holds %d chains, want 1", len(v.chains))
	}
	if _, err := v.cachedChainAt(cert, at.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if len(v.chains) != 2 {
		t.Errorf("the cache holds %d chains, want 2", len(v.chains))
	}
}

// TestSCTCache: SCT checks are memoized per certificate and issuer key,
// failures are not, and the cache is emptied when full.
func TestSCTCache(t *testing.T) {
	ca := newTestCA(t)
	log := newTestCTLog(t, "https://ct.example")
	k := mustECDSA(t, elliptic.P256())
	good := ca.issueWithSCTs(t, k.Public(), []*testCTLog{log}, nil)
	bad := ca.issueWithSCTs(t, k.Public(), []*testCTLog{log}, func(_ int, s *ct.SignedCertificateTimestamp) { s.Timestamp++ })
	root := &trustroot.TrustedRoot{CertificateAuthorities: []trustroot.CertificateAuthority{ca.authority()}, CTLogs: []trustroot.Log{log.log()}}
	v, err := New(root, Options{UseCurrentTime: true})
	if err != nil {
		t.Fatal(err)
	}
	key := func(c *x509.Certificate) sctKey {
		return sctKey{leaf: sha256.Sum256(c.Raw), issuerKey: sha256.Sum256(ca.cert.RawSubjectPublicKeyInfo)}
	}
	if n, err := v.cachedSCTs(good, []*x509.Certificate{good, ca.cert}); err != nil || n != 1 || v.scts[key(good)] != 1 {
		t.Fatalf("cachedSCTs = %d, %v; cache %v", n, err, v.scts)
	}
	if _, err := v.cachedSCTs(bad, []*x509.Certificate{bad, ca.cert}); err == nil {
		t.Fatal("an SCT with another timestamp verifies")
	}
	if _, ok := v.scts[key(bad)]; ok {
		t.Error("a failed SCT check is cached")
	}
	v.scts[key(good)] = 7
	if n, err := v.cachedSCTs(good, []*x509.Certificate{good, ca.cert}); err != nil || n != 7 {
		t.Errorf("cachedSCTs = %d, %v; want the cached count", n, err)
	}
	if _, err := v.cachedSCTs(good, []*x509.Certificate{good}); err == nil {
		t.Error("a chain without issuer passes")
	}
	delete(v.scts, key(good))
	for i := range maxCachedChains {
		v.scts[sctKey{leaf: [32]byte{byte(i), byte(i >> 8)}}] = 1
	}
	if _, err := v.cachedSCTs(good, []*x509.Certificate{good, ca.cert}); err != nil {
		t.Fatal(err)
	}
	if len(v.scts) != 1 {
		t.Errorf("after filling up, the cache holds %d entries, want 1", len(v.scts))
	}
}

// v1Note signs a Rekor v1 checkpoint text with key, under key hash kh.
func v1Note(t *testing.T, key crypto.Signer, kh uint32, text string) string {
	t.Helper()
	var sig []byte
	if _, ok := key.(ed25519.PrivateKey); ok {
		sig = signWith(t, key, 0, []byte(text))
	} else {
		sig = signWith(t, key, crypto.SHA256, []byte(text))
	}
	raw := binary.BigEndian.AppendUint32(nil, kh)
	return text + "\n\u2014 log.example " + base64.StdEncoding.EncodeToString(append(raw, sig...)) + "\n"
}

func TestRekorV1Checkpoint(t *testing.T) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, key := range []crypto.Signer{mustECDSA(t, elliptic.P256()), mustRSA(t), edKey} {
		lv := newLogVerifier(&trustroot.Log{BaseURL: "https://log.example", PublicKey: key.Public()})
		if lv.err != nil {
			t.Fatal(lv.err)
		}
		good := "log.example - 1\n5\nAAAA\n"
		cp, err := lv.verifyRekorV1Checkpoint(v1Note(t, key, lv.pkixHash, good))
		if err != nil {
			t.Fatalf("%T: %v", key, err)
		}
		if cp.origin != "log.example - 1" || cp.size != 5 || len(cp.hash) != 3 {
			t.Errorf("%T: checkpoint %+v", key, cp)
		}
	}
	key := mustECDSA(t, elliptic.P256())
	lv := newLogVerifier(&trustroot.Log{BaseURL: "https://log.example", PublicKey: key.Public()})
	sign := func(text string) string { return v1Note(t, key, lv.pkixHash, text) }
	tests := []struct {
		name, note, want string
	}{
		{"no signature block", "log.example - 1\n5\nAAAA\n", "malformed note: no signature block"},
		{"signature block without newline", strings.TrimSuffix(sign("log.example - 1\n5\nAAAA\n"), "\n"), "malformed note: signature block"},
		{"signature line without dash", strings.Replace(sign("log.example - 1\n5\nAAAA\n"), "\u2014 ", "- ", 1), "malformed signature line"},
		{"signature line with three fields", strings.Replace(sign("log.example - 1\n5\nAAAA\n"), "\u2014 log.example", "\u2014 log example", 1), "malformed signature line"},
		{"signature not base64", "log.example - 1\n5\nAAAA\n\n\u2014 log.example !!!!\n", "malformed signature line"},
		{"signature too short", "log.example - 1\n5\nAAAA\n\n\u2014 log.example AAAAAA==\n", "malformed signature line"},
		{"unknown key", v1Note(t, key, lv.pkixHash+1, "log.example - 1\n5\nAAAA\n"), "checkpoint signed by an unknown key"},
		{"second signature bad", sign("log.example - 1\n5\nAAAA\n") + strings.TrimPrefix(v1Note(t, mustECDSA(t, elliptic.P256()), lv.pkixHash, "x\n"), "x\n\n"), "checkpoint signature does not verify"},
		{"too few lines", sign("log.example - 1\n5\n"), "malformed checkpoint"},
		{"empty origin", sign("\n5\nAAAA\n"), "malformed checkpoint"},
		{"size not a number", sign("log.example - 1\nfive\nAAAA\n"), "checkpoint size"},
		{"hash not base64", sign("log.example - 1\n5\n!!!!\n"), "checkpoint hash"},
		// bufio.Scanner, which this once used, stops without a word at a
		// line over 64 KiB: no signature was checked at all.
		{"only signature line too long", "log.example - 1\n5\nAAAA\n\n\u2014 log.example " + strings.Repeat("A", 70<<10) + "\n", "checkpoint signed by an unknown key"},
	}
	for _, tt := range tests {
		if _, err := lv.verifyRekorV1Checkpoint(tt.note); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestIsRekorV1Checkpoint(t *testing.T) {
	for cp, want := range map[string]bool{
		"log.example - 1\n5\nAAAA\n\n\u2014 sig\n": true,
		"log.example\n5\nAAAA\n\n\u2014 sig\n":     false,
		"log.example - 1\n5\n":                     false,
		"log.example - x\n5\nAAAA\n\n\u2014 sig\n": false,
	} {
		if got := isRekorV1Checkpoint(cp); got != want {
			t.Errorf("isRekorV1Checkpoint(%q) = %v", cp, got)
		}
	}
}

// offCurve is a P-256 public key whose point is not on the curve: the
// signature schemes accept its type, the PKIX encoder refuses it.
func offCurve() *ecdsa.PublicKey {
	//lint:ignore SA1019 an invalid key on purpose, which only the raw coordinates can make
	return &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)}
}

func TestUnusableKeys(t *testing.T) {
	lv := newLogVerifier(&trustroot.Log{BaseURL: "https://log.example", PublicKey: offCurve()})
	if lv.err == nil || lv.noteErr == nil {
		t.Errorf("log verifier for an off-curve key: err %v, noteErr %v", lv.err, lv.noteErr)
	}
	if (&logVerifier{log: &trustroot.Log{PublicKey: "not a key"}}).verifyV1Signature([]byte("m"), []byte("s")) {
		t.Error("verifyV1Signature accepted an unsupported key")
	}
	if (scheme{pub: "not a key", hashes: []crypto.Hash{crypto.SHA256}}).verifyDigest(crypto.SHA256, make([]byte, 32), nil) {
		t.Error("verifyDigest accepted an unsupported key")
	}
	if _, err := sshFingerprint(mustECDSA(t, elliptic.P224()).Public()); err == nil {
		t.Error("sshFingerprint of a P-224 key")
	}
	if _, err := rekorV2Body(nil, &signer{pub: mustECDSA(t, elliptic.P224()).Public()}); err == nil || !strings.Contains(err.Error(), "unsupported key") {
		t.Errorf("rekorV2Body of a P-224 key: %v", err)
	}
	if _, err := rekorV2Body(nil, &signer{pub: offCurve()}); err == nil || !strings.Contains(err.Error(), "marshal key") {
		t.Errorf("rekorV2Body of an off-curve key: %v", err)
	}
}
