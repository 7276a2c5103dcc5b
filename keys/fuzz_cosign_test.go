package keys

import (
	"crypto"
	"crypto/rand"
	"encoding/pem"
	"testing"
)

// cosignFuzzSeeds returns cosign key files for every supported key type,
// sealed at a tiny scrypt cost so the fuzzer spends its time on parsing, plus
// a few broken envelopes.
func cosignFuzzSeeds(f *testing.F) [][]byte {
	f.Helper()
	var seeds [][]byte
	for _, key := range cosignTestKeys(f) {
		for _, pemType := range []string{CosignPrivateKeyPEMType, LegacyCosignPrivateKeyPEMType} {
			pemBytes, err := encryptCosignKey(key, []byte("pw"), cosignTestCost, pemType, rand.Reader)
			if err != nil {
				f.Fatal(err)
			}
			seeds = append(seeds, pemBytes)
		}
	}
	for _, body := range []string{
		`{}`,
		`{"kdf":{"name":"scrypt","params":{"N":4,"r":1,"p":1},"salt":""},"cipher":{"name":"nacl/secretbox","nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},"ciphertext":""}`,
		`{"kdf":{"name":"scrypt","params":{"N":1048576,"r":1,"p":1}}}`,
		`{"kdf":{"name":"argon2"},"cipher":{"name":"nacl/secretbox"}}`,
	} {
		seeds = append(seeds, pem.EncodeToMemory(&pem.Block{Type: CosignPrivateKeyPEMType, Bytes: []byte(body)}))
	}
	return seeds
}

// checkCosignDecrypt runs DecryptCosignKey on untrusted input and checks the
// properties that must hold whatever the input: no panic, exactly one of key
// and error, a supported key, and a round trip that returns the same key.
func checkCosignDecrypt(t *testing.T, pemBytes, password []byte) {
	key, err := DecryptCosignKey(pemBytes, password)
	if err != nil {
		if key != nil {
			t.Fatalf("got key %T and error %v", key, err)
		}
		return
	}
	if key == nil {
		t.Fatal("got neither key nor error")
	}
	if err := checkCosignPublicKey(key.Public()); err != nil {
		t.Fatalf("decrypted an unsupported key: %v", err)
	}
	again, err := encryptCosignKey(key, password, cosignTestCost, CosignPrivateKeyPEMType, rand.Reader)
	if err != nil {
		t.Fatalf("cannot re-encrypt a key we decrypted: %v", err)
	}
	back, err := DecryptCosignKey(again, password)
	if err != nil {
		t.Fatalf("cannot decrypt a key we re-encrypted: %v", err)
	}
	if !key.(interface{ Equal(crypto.PrivateKey) bool }).Equal(back) {
		t.Fatal("round trip changed the key")
	}
}

// FuzzDecryptCosignKey feeds whole files (PEM armour included) and passwords.
func FuzzDecryptCosignKey(f *testing.F) {
	for _, seed := range cosignFuzzSeeds(f) {
		f.Add(seed, []byte("pw"))
		f.Add(seed, []byte{})
	}
	f.Add([]byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"), []byte(nil))
	f.Fuzz(checkCosignDecrypt)
}

// FuzzDecryptCosignKeyJSON fuzzes the JSON envelope inside the PEM block,
// which the base64 armour hides from most mutations of FuzzDecryptCosignKey.
func FuzzDecryptCosignKeyJSON(f *testing.F) {
	for _, seed := range cosignFuzzSeeds(f) {
		block, _ := pem.Decode(seed)
		f.Add(block.Bytes, []byte("pw"))
	}
	f.Fuzz(func(t *testing.T, body, password []byte) {
		checkCosignDecrypt(t, pem.EncodeToMemory(&pem.Block{Type: CosignPrivateKeyPEMType, Bytes: body}), password)
	})
}
