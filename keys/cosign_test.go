package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// cosignTestCost is a tiny scrypt cost that keeps tests that do not need
// cosign's real parameters fast (cosign itself would refuse it).
var cosignTestCost = scryptParams{N: 2, R: 1, P: 1}

var (
	cosignTestKeysOnce sync.Once
	cosignTestKeysMap  map[string]crypto.Signer
)

// cosignTestKeys returns one key of every type cosign signs with, generated
// once per test binary (RSA generation is slow under -race).
func cosignTestKeys(t testing.TB) map[string]crypto.Signer {
	t.Helper()
	cosignTestKeysOnce.Do(func() {
		m := map[string]crypto.Signer{}
		for name, curve := range map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()} {
			k, err := ecdsa.GenerateKey(curve, rand.Reader)
			if err != nil {
				panic(err)
			}
			m[name] = k
		}
		_, ed, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		m["Ed25519"] = ed
		rk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		m["RSA-2048"] = rk
		cosignTestKeysMap = m
	})
	return cosignTestKeysMap
}

// cosignSameKey fails the test unless got is the same private key as want.
func cosignSameKey(t *testing.T, got crypto.PrivateKey, want crypto.Signer) {
	t.Helper()
	eq, ok := want.(interface{ Equal(crypto.PrivateKey) bool })
	if !ok {
		t.Fatalf("%T has no Equal method", want)
	}
	if !eq.Equal(got) {
		t.Fatalf("decrypted %T is not the key that was encrypted (%T)", got, want)
	}
}

// cosignEnvelope decodes the JSON inside a cosign key file.
func cosignEnvelope(t *testing.T, pemBytes []byte) (string, encryptedKey) {
	t.Helper()
	block, rest := pem.Decode(pemBytes)
	if block == nil || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("want exactly one PEM block, got %q", pemBytes)
	}
	var enc encryptedKey
	if err := json.Unmarshal(block.Bytes, &enc); err != nil {
		t.Fatal(err)
	}
	return block.Type, enc
}

// TestEncryptCosignKeyReadByCryptoutils checks the files we write with cosign's
// own parameters are read by sigstore/sigstore, the code cosign reads them with.
func TestEncryptCosignKeyReadByCryptoutils(t *testing.T) {
	cosignRealCost(t)
	keys := cosignTestKeys(t)
	// Each key family with a password, and cosign's default key type with
	// the empty password (COSIGN_PASSWORD=""). Each case costs real scrypt
	// work (slow under -race), so P-384 and P-521, which differ from P-256
	// only inside the PKCS#8 plaintext, are left to TestCosignKeyRoundTrip.
	tests := []struct {
		name     string
		key      crypto.Signer
		password string
	}{
		{"P-256", keys["P-256"], "correct horse battery staple"},
		{"Ed25519", keys["Ed25519"], "pw"},
		{"RSA-2048", keys["RSA-2048"], "pw"},
		{"P-256/empty password", keys["P-256"], ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pemBytes, err := EncryptCosignKey(tc.key, []byte(tc.password))
			if err != nil {
				t.Fatal(err)
			}
			typ, enc := cosignEnvelope(t, pemBytes)
			type envelope struct {
				Type, KDF, Cipher string
				Params            scryptParams
				Salt, Nonce       int
			}
			got := envelope{typ, enc.KDF.Name, enc.Cipher.Name, enc.KDF.Params, len(enc.KDF.Salt), len(enc.Cipher.Nonce)}
			want := envelope{"ENCRYPTED SIGSTORE PRIVATE KEY", "scrypt", "nacl/secretbox", scryptParams{N: 65536, R: 8, P: 1}, 32, 24}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("envelope (-want +got):\n%s", diff)
			}
			// cryptoutils skips decryption for a nil password, so pass a
			// non-nil empty one, as cosign does for COSIGN_PASSWORD="".
			priv, err := cryptoutils.UnmarshalPEMToPrivateKey(pemBytes, cryptoutils.StaticPasswordFunc(append([]byte{}, tc.password...)))
			if err != nil {
				t.Fatalf("cryptoutils cannot read our key: %v", err)
			}
			cosignSameKey(t, priv, tc.key)
			if tc.name == "P-256" {
				if _, err := cryptoutils.UnmarshalPEMToPrivateKey(pemBytes, cryptoutils.StaticPasswordFunc([]byte("wrong"))); err == nil {
					t.Error("cryptoutils decrypted our key with a wrong password")
				}
			}
		})
	}
}

// TestDecryptCosignKeyFromCryptoutils reads files written the way cosign
// writes them (securesystemslib's encrypted.Encrypt of the PKCS#8 DER, via
// cryptoutils, in an ENCRYPTED SIGSTORE/COSIGN PRIVATE KEY block).
func TestDecryptCosignKeyFromCryptoutils(t *testing.T) {
	cosignRealCost(t)
	keys := cosignTestKeys(t)
	tests := []struct {
		name, pemType string
		key           crypto.Signer
	}{
		{"P-256", CosignPrivateKeyPEMType, keys["P-256"]},
		{"Ed25519", CosignPrivateKeyPEMType, keys["Ed25519"]},
		{"RSA-2048", CosignPrivateKeyPEMType, keys["RSA-2048"]},
		{"P-256/legacy PEM type", LegacyCosignPrivateKeyPEMType, keys["P-256"]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pw := []byte("hunter2")
			der, err := cryptoutils.MarshalPrivateKeyToEncryptedDER(tc.key, cryptoutils.StaticPasswordFunc(pw))
			if err != nil {
				t.Fatal(err)
			}
			pemBytes := pem.EncodeToMemory(&pem.Block{Type: tc.pemType, Bytes: der})
			got, err := DecryptCosignKey(pemBytes, pw)
			if err != nil {
				t.Fatal(err)
			}
			cosignSameKey(t, got, tc.key)
			if tc.name == "P-256" {
				if _, err := DecryptCosignKey(pemBytes, []byte("hunter3")); !errors.Is(err, ErrWrongPassword) {
					t.Errorf("wrong password: got %v, want %v", err, ErrWrongPassword)
				}
			}
		})
	}
}

// TestDecryptCosignKeyCryptoutilsKeyPair reads the key pair cryptoutils
// generates with the empty password, which a nil password must open.
func TestDecryptCosignKeyCryptoutilsKeyPair(t *testing.T) {
	cosignRealCost(t)
	t.Parallel()
	privPEM, pubPEM, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte{}))
	if err != nil {
		t.Fatal(err)
	}
	if typ, _ := cosignEnvelope(t, privPEM); typ != CosignPrivateKeyPEMType {
		t.Fatalf("cryptoutils wrote %q, want %q", typ, CosignPrivateKeyPEMType)
	}
	key, err := DecryptCosignKey(privPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !key.Public().(*ecdsa.PublicKey).Equal(pub) {
		t.Error("private key does not match cosign.pub")
	}
}

// TestDecryptCosignKeyLegacyKDF reads the scrypt level cosign v1 wrote
// (securesystemslib's Legacy, N=2^15).
func TestDecryptCosignKeyLegacyKDF(t *testing.T) {
	cosignRealCost(t)
	t.Parallel()
	key := cosignTestKeys(t)["P-256"]
	body, err := encrypted.EncryptWithCustomKDFParameters(cosignPKCS8(t, key), []byte("pw"), encrypted.Legacy)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecryptCosignKey(pem.EncodeToMemory(&pem.Block{Type: LegacyCosignPrivateKeyPEMType, Bytes: body}), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	cosignSameKey(t, got, key)
}

// TestScryptParamsCheck pins the bound on scrypt work: every level
// securesystemslib writes passes (OWASP exactly at the limit), more does not.
func TestScryptParamsCheck(t *testing.T) {
	tests := []struct {
		params scryptParams
		ok     bool
	}{
		{scryptParams{N: 1 << 15, R: 8, P: 1}, true}, // Legacy
		{scryptParams{N: 1 << 16, R: 8, P: 1}, true}, // Standard, what cosign writes
		{scryptParams{N: 1 << 17, R: 8, P: 1}, true}, // OWASP
		{scryptParams{N: 2, R: 1, P: 1}, true},
		{scryptParams{N: 1 << 20, R: 1, P: 1}, true},
		{scryptParams{N: 2, R: 1, P: 1 << 19}, true},
		{scryptParams{N: 1 << 18, R: 8, P: 1}, false},
		{scryptParams{N: 1 << 17, R: 9, P: 1}, false},
		{scryptParams{N: 1 << 21, R: 1, P: 1}, false},
		{scryptParams{N: 2, R: 1, P: 1 << 20}, false},
		{scryptParams{N: 3, R: 1, P: 1}, false},
	}
	for _, tc := range tests {
		if got := tc.params.check() == nil; got != tc.ok {
			t.Errorf("%+v.check() ok = %v, want %v", tc.params, got, tc.ok)
		}
	}
}

func TestCosignKeyRoundTrip(t *testing.T) {
	for name, key := range cosignTestKeys(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, pw := range [][]byte{nil, {}, []byte("pw"), {0, 0xff, '\n'}} {
				pemBytes, err := encryptCosignKey(key, pw, cosignTestCost, CosignPrivateKeyPEMType, rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				got, err := DecryptCosignKey(pemBytes, pw)
				if err != nil {
					t.Fatalf("password %q: %v", pw, err)
				}
				cosignSameKey(t, got, key)
				// The signer must sign, and the signature verify.
				digest := sha256.Sum256([]byte("payload"))
				opts := crypto.SignerOpts(crypto.SHA256)
				msg := digest[:]
				if _, ok := got.(ed25519.PrivateKey); ok {
					opts, msg = crypto.Hash(0), []byte("payload")
				}
				sig, err := got.Sign(rand.Reader, msg, opts)
				if err != nil {
					t.Fatal(err)
				}
				if !cosignVerify(got.Public(), msg, sig) {
					t.Errorf("password %q: signature does not verify", pw)
				}
			}
		})
	}
}

func cosignVerify(pub crypto.PublicKey, msg, sig []byte) bool {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, msg, sig)
	case ed25519.PublicKey:
		return ed25519.Verify(k, msg, sig)
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, msg, sig) == nil
	}
	return false
}

func TestGenerateCosignKeyPair(t *testing.T) {
	cosignRealCost(t)
	t.Parallel()
	privPEM, pubPEM, err := GenerateCosignKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := DecryptCosignKey(privPEM, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	ek, ok := key.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		t.Fatalf("generated %T, want an ECDSA P-256 key", key)
	}
	pub, err := LoadPublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !ek.PublicKey.Equal(pub) {
		t.Error("public key file does not match the private key")
	}
	if block, _ := pem.Decode(pubPEM); block == nil || block.Type != "PUBLIC KEY" {
		t.Errorf("public key file %q is not a PUBLIC KEY PEM block", pubPEM)
	}
	// cosign reads the public key file (the private one is
	// TestEncryptCosignKeyReadByCryptoutils' subject).
	cpub, err := cryptoutils.UnmarshalPEMToPublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !ek.PublicKey.Equal(cpub) {
		t.Error("cryptoutils reads a different public key")
	}
}

// cosignSealed returns a cosign key file whose ciphertext is plaintext sealed
// at the test cost under password, then lets edit change the envelope.
func cosignSealed(t *testing.T, plaintext, password []byte, edit func(*encryptedKey)) []byte {
	t.Helper()
	pemBytes, err := sealCosignKey(plaintext, password, cosignTestCost, CosignPrivateKeyPEMType, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return pemBytes
	}
	typ, enc := cosignEnvelope(t, pemBytes)
	edit(&enc)
	body, err := json.Marshal(enc)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: body})
}

func cosignPKCS8(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// cosignRealCost skips tests that run scrypt at cosign's own parameters
// (64 MiB, seconds under -race) when -short is given.
func cosignRealCost(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping scrypt at cosign's real cost")
	}
}

func cosignErrString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestDecryptCosignKeyErrors(t *testing.T) {
	good := cosignPKCS8(t, cosignTestKeys(t)["P-256"])
	pw := []byte("pw")
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	params := func(n, r, p int) func(*encryptedKey) {
		return func(e *encryptedKey) { e.KDF.Params = scryptParams{N: n, R: r, P: p} }
	}
	const bounds = "(want N a power of two ≥ 2, r ≥ 1, p ≥ 1, N·r·p ≤ 1048576)"
	tests := []struct {
		name     string
		pem      []byte
		password []byte
		want     string
		wrongPW  bool
	}{
		{name: "empty", pem: nil, want: "decrypt key: no PEM block found"},
		{name: "not PEM", pem: []byte("cosign.key"), want: "decrypt key: no PEM block found"},
		{
			name: "unencrypted PKCS#8",
			pem:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: good}),
			want: `decrypt key: PEM block type is "PRIVATE KEY", want "ENCRYPTED SIGSTORE PRIVATE KEY" or "ENCRYPTED COSIGN PRIVATE KEY"`,
		},
		{
			name: "public key",
			pem:  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}}),
			want: `decrypt key: PEM block type is "PUBLIC KEY", want "ENCRYPTED SIGSTORE PRIVATE KEY" or "ENCRYPTED COSIGN PRIVATE KEY"`,
		},
		{
			name: "truncated JSON",
			pem:  pem.EncodeToMemory(&pem.Block{Type: CosignPrivateKeyPEMType, Bytes: []byte(`{"kdf":`)}),
			want: "decrypt key: parse JSON: unexpected end of JSON input",
		},
		{
			name: "not JSON",
			pem:  pem.EncodeToMemory(&pem.Block{Type: CosignPrivateKeyPEMType, Bytes: []byte("key")}),
			want: "decrypt key: parse JSON: invalid character 'k' looking for beginning of value",
		},
		{
			name: "empty object",
			pem:  pem.EncodeToMemory(&pem.Block{Type: CosignPrivateKeyPEMType, Bytes: []byte(`{}`)}),
			want: `decrypt key: unsupported KDF "", want "scrypt"`,
		},
		{
			name: "argon2 KDF",
			pem:  cosignSealed(t, good, pw, func(e *encryptedKey) { e.KDF.Name = "argon2id" }),
			want: `decrypt key: unsupported KDF "argon2id", want "scrypt"`,
		},
		{
			name: "AES cipher",
			pem:  cosignSealed(t, good, pw, func(e *encryptedKey) { e.Cipher.Name = "aes-256-gcm" }),
			want: `decrypt key: unsupported cipher "aes-256-gcm", want "nacl/secretbox"`,
		},
		{name: "N zero", pem: cosignSealed(t, good, pw, params(0, 8, 1)), want: "decrypt key: scrypt parameters N=0 r=8 p=1 out of bounds " + bounds},
		{name: "N one", pem: cosignSealed(t, good, pw, params(1, 8, 1)), want: "decrypt key: scrypt parameters N=1 r=8 p=1 out of bounds " + bounds},
		{name: "N not a power of two", pem: cosignSealed(t, good, pw, params(65535, 8, 1)), want: "decrypt key: scrypt parameters N=65535 r=8 p=1 out of bounds " + bounds},
		{name: "N negative", pem: cosignSealed(t, good, pw, params(-65536, 8, 1)), want: "decrypt key: scrypt parameters N=-65536 r=8 p=1 out of bounds " + bounds},
		{name: "N 2^30", pem: cosignSealed(t, good, pw, params(1<<30, 8, 1)), want: "decrypt key: scrypt parameters N=1073741824 r=8 p=1 out of bounds " + bounds},
		{name: "r zero", pem: cosignSealed(t, good, pw, params(65536, 0, 1)), want: "decrypt key: scrypt parameters N=65536 r=0 p=1 out of bounds " + bounds},
		{name: "p zero", pem: cosignSealed(t, good, pw, params(65536, 8, 0)), want: "decrypt key: scrypt parameters N=65536 r=8 p=0 out of bounds " + bounds},
		{name: "work just over", pem: cosignSealed(t, good, pw, params(1<<17, 8, 2)), want: "decrypt key: scrypt parameters N=131072 r=8 p=2 out of bounds " + bounds},
		{name: "r huge", pem: cosignSealed(t, good, pw, params(2, 1<<40, 1)), want: "decrypt key: scrypt parameters N=2 r=1099511627776 p=1 out of bounds " + bounds},
		{name: "work far over", pem: cosignSealed(t, good, pw, params(1<<20, 1<<20, 1<<20)), want: "decrypt key: scrypt parameters N=1048576 r=1048576 p=1048576 out of bounds " + bounds},
		{
			name: "short nonce",
			pem:  cosignSealed(t, good, pw, func(e *encryptedKey) { e.Cipher.Nonce = e.Cipher.Nonce[:23] }),
			want: "decrypt key: nonce is 23 bytes, want 24",
		},
		{
			name: "no nonce",
			pem:  cosignSealed(t, good, pw, func(e *encryptedKey) { e.Cipher.Nonce = nil }),
			want: "decrypt key: nonce is 0 bytes, want 24",
		},
		{name: "wrong password", pem: cosignSealed(t, good, pw, nil), password: []byte("pW"), want: "decrypt key: wrong password?", wrongPW: true},
		{name: "missing password", pem: cosignSealed(t, good, pw, nil), password: nil, want: "decrypt key: wrong password?", wrongPW: true},
		{
			name: "tampered ciphertext", password: pw, want: "decrypt key: wrong password?", wrongPW: true,
			pem: cosignSealed(t, good, pw, func(e *encryptedKey) { e.Ciphertext[len(e.Ciphertext)-1] ^= 1 }),
		},
		{
			name: "truncated ciphertext", password: pw, want: "decrypt key: wrong password?", wrongPW: true,
			pem: cosignSealed(t, good, pw, func(e *encryptedKey) { e.Ciphertext = e.Ciphertext[:15] }),
		},
		{
			name: "other salt", password: pw, want: "decrypt key: wrong password?", wrongPW: true,
			pem: cosignSealed(t, good, pw, func(e *encryptedKey) { e.KDF.Salt[0] ^= 1 }),
		},
		{
			name: "other scrypt parameters", password: pw, want: "decrypt key: wrong password?", wrongPW: true,
			pem: cosignSealed(t, good, pw, params(4, 1, 1)),
		},
		{
			name: "PKCS#1 inside", password: pw,
			pem:  cosignSealed(t, x509.MarshalPKCS1PrivateKey(rsa1024), pw, nil),
			want: "decrypt key: parse PKCS#8: x509: failed to parse private key (use ParsePKCS1PrivateKey instead for this key format)",
		},
		{
			name: "garbage inside", password: pw,
			pem:  cosignSealed(t, []byte("not a key"), pw, nil),
			want: "decrypt key: parse PKCS#8: asn1: structure error: tags don't match (16 vs {class:1 tag:14 length:111 isCompound:true}) {optional:false explicit:false application:false private:false defaultValue:<nil> tag:<nil> stringType:0 timeType:0 set:false omitEmpty:false} pkcs8 @2",
		},
		{
			name: "X25519 key", password: pw,
			pem:  cosignSealed(t, cosignPKCS8(t, x25519), pw, nil),
			want: "decrypt key: unsupported key type *ecdh.PrivateKey",
		},
		{
			name: "P-224 key", password: pw,
			pem:  cosignSealed(t, cosignPKCS8(t, p224), pw, nil),
			want: "decrypt key: unsupported ECDSA curve P-224, want P-256, P-384 or P-521",
		},
		{
			name: "RSA-1024 key", password: pw,
			pem:  cosignSealed(t, cosignPKCS8(t, rsa1024), pw, nil),
			want: "decrypt key: unsupported RSA key size 1024 bits, want 2048 to 4096",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := DecryptCosignKey(tc.pem, tc.password)
			if diff := cmp.Diff(tc.want, cosignErrString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if key != nil {
				t.Errorf("got key %T with an error", key)
			}
			if got := errors.Is(err, ErrWrongPassword); got != tc.wrongPW {
				t.Errorf("errors.Is(err, ErrWrongPassword) = %v, want %v", got, tc.wrongPW)
			}
		})
	}
}

// opaqueSigner is a crypto.Signer whose private key cannot be exported, like
// a KMS key.
type opaqueSigner struct{ crypto.Signer }

func TestEncryptCosignKeyErrors(t *testing.T) {
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  crypto.Signer
		want string
	}{
		{"nil", nil, "encrypt key: nil key"},
		{"typed nil ECDSA", (*ecdsa.PrivateKey)(nil), "encrypt key: nil ECDSA key"},
		{"typed nil RSA", (*rsa.PrivateKey)(nil), "encrypt key: nil RSA key"},
		{"short Ed25519", ed25519.PrivateKey(make([]byte, 32)), "encrypt key: bad Ed25519 private key length 32, want 64"},
		{"KMS-like signer", opaqueSigner{cosignTestKeys(t)["P-256"]}, "encrypt key: cannot export a keys.opaqueSigner: only in-memory ECDSA, Ed25519 and RSA keys can be written"},
		{"P-224", p224, "encrypt key: unsupported ECDSA curve P-224, want P-256, P-384 or P-521"},
		{"RSA-1024", rsa1024, "encrypt key: unsupported RSA key size 1024 bits, want 2048 to 4096"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EncryptCosignKey(tc.key, []byte("pw"))
			if diff := cmp.Diff(tc.want, cosignErrString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if got != nil {
				t.Errorf("got output %q with an error", got)
			}
		})
	}
}

func TestLoadPublicKey(t *testing.T) {
	keys := cosignTestKeys(t)
	pkix := func(pub crypto.PublicKey) []byte {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	for name, key := range keys {
		t.Run(name, func(t *testing.T) {
			for _, in := range [][]byte{pkix(key.Public()), cosignTestCert(t, key)} {
				got, err := LoadPublicKey(in)
				if err != nil {
					t.Fatal(err)
				}
				if !got.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
					t.Errorf("LoadPublicKey(%q) returned another key", in)
				}
			}
		})
	}
	t.Run("PKCS#1", func(t *testing.T) {
		pub := keys["RSA-2048"].Public().(*rsa.PublicKey)
		got, err := LoadPublicKey(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)}))
		if err != nil {
			t.Fatal(err)
		}
		if !pub.Equal(got) {
			t.Error("returned another key")
		}
	})
}

// cosignTestCert returns a self-signed certificate PEM for key.
func cosignTestCert(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestLoadPublicKeyErrors(t *testing.T) {
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	pkixDER := func(pub any) []byte {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "load public key: no PEM block found"},
		{"not PEM", []byte("cosign.pub"), "load public key: no PEM block found"},
		{"private key", block("PRIVATE KEY", cosignPKCS8(t, p224)), `load public key: PEM block type is "PRIVATE KEY", want "PUBLIC KEY", "RSA PUBLIC KEY" or "CERTIFICATE"`},
		{"encrypted private key", block(CosignPrivateKeyPEMType, []byte("{}")), `load public key: PEM block type is "ENCRYPTED SIGSTORE PRIVATE KEY", want "PUBLIC KEY", "RSA PUBLIC KEY" or "CERTIFICATE"`},
		{"bad PKIX", block("PUBLIC KEY", []byte{0x30, 0}), "load public key: asn1: syntax error: sequence truncated"},
		{"bad PKCS#1", block("RSA PUBLIC KEY", []byte{0x30, 0}), "load public key: asn1: syntax error: sequence truncated"},
		{"bad certificate", block("CERTIFICATE", []byte{0x30, 0}), "load public key: x509: malformed tbs certificate"},
		{"P-224", block("PUBLIC KEY", pkixDER(&p224.PublicKey)), "load public key: unsupported ECDSA curve P-224, want P-256, P-384 or P-521"},
		{"X25519", block("PUBLIC KEY", pkixDER(x25519.PublicKey())), "load public key: unsupported key type *ecdh.PublicKey, want ECDSA, Ed25519 or RSA"},
		{"P-224 certificate", cosignTestCert(t, p224), "load public key: unsupported ECDSA curve P-224, want P-256, P-384 or P-521"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadPublicKey(tc.in)
			if diff := cmp.Diff(tc.want, cosignErrString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if got != nil {
				t.Errorf("got key %T with an error", got)
			}
		})
	}
}
