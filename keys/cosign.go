package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"
)

// PEM block types of cosign's password-protected private keys. Both hold the
// same JSON envelope (scrypt + nacl/secretbox around a PKCS#8 key), the format
// of go-securesystemslib's "encrypted" package.
const (
	// CosignPrivateKeyPEMType is what cosign v2.x and v3 write and what
	// EncryptCosignKey writes.
	CosignPrivateKeyPEMType = "ENCRYPTED SIGSTORE PRIVATE KEY"
	// LegacyCosignPrivateKeyPEMType is what cosign v1 wrote; it is still read.
	LegacyCosignPrivateKeyPEMType = "ENCRYPTED COSIGN PRIVATE KEY"
)

// ErrWrongPassword is returned by DecryptCosignKey when the ciphertext does
// not authenticate under the key derived from the password: almost always a
// wrong password, otherwise a corrupted file.
var ErrWrongPassword = errors.New("decrypt key: wrong password?")

const (
	kdfScrypt       = "scrypt"
	cipherSecretBox = "nacl/secretbox"
	saltSize        = 32
	nonceSize       = 24
	boxKeySize      = 32

	// maxScryptWork bounds N·r·p (and so also scrypt's 128·N·r bytes of
	// memory) when reading a key: a hostile file must not make us allocate
	// gigabytes or spin for minutes. It equals the strongest parameters
	// go-securesystemslib writes (OWASP: N=2^17, r=8, p=1), i.e. 128 MiB.
	maxScryptWork = 1 << 20
)

// cosignScryptStandard are the scrypt parameters cosign writes
// (go-securesystemslib's "Standard" level). cosign reads only this set and
// N=2^15 or N=2^17 with the same r and p, so these are also what we write.
var cosignScryptStandard = scryptParams{N: 1 << 16, R: 8, P: 1}

// encryptedKey is the JSON inside a cosign key's PEM block. Byte fields are
// standard base64, as encoding/json writes them.
type encryptedKey struct {
	KDF        scryptKDF       `json:"kdf"`
	Cipher     secretBoxCipher `json:"cipher"`
	Ciphertext []byte          `json:"ciphertext"`
}

type scryptKDF struct {
	Name   string       `json:"name"`
	Params scryptParams `json:"params"`
	Salt   []byte       `json:"salt"`
}

type scryptParams struct {
	N int `json:"N"`
	R int `json:"r"`
	P int `json:"p"`
}

type secretBoxCipher struct {
	Name  string `json:"name"`
	Nonce []byte `json:"nonce"`
}

// EncryptCosignKey encodes key as a cosign private key file: a PEM block of
// type CosignPrivateKeyPEMType holding the PKCS#8 key sealed with
// nacl/secretbox under an scrypt-derived key (N=65536, r=8, p=1, as
// `cosign generate-key-pair` writes). A nil or empty password is the empty
// password, which cosign also accepts. key must be an in-memory ECDSA
// (P-256, P-384, P-521), Ed25519 or RSA (2048–4096 bit) private key.
func EncryptCosignKey(key crypto.Signer, password []byte) ([]byte, error) {
	return encryptCosignKey(key, password, cosignScryptStandard, CosignPrivateKeyPEMType, rand.Reader)
}

func encryptCosignKey(key crypto.Signer, password []byte, params scryptParams, pemType string, random io.Reader) ([]byte, error) {
	if err := checkExportable(key); err != nil {
		return nil, fmt.Errorf("encrypt key: %w", err)
	}
	if err := checkCosignPublicKey(key.Public()); err != nil {
		return nil, fmt.Errorf("encrypt key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encrypt key: marshal PKCS#8: %w", err)
	}
	return sealCosignKey(der, password, params, pemType, random)
}

// sealCosignKey wraps the plaintext der in cosign's encrypted PEM envelope.
func sealCosignKey(der, password []byte, params scryptParams, pemType string, random io.Reader) ([]byte, error) {
	enc := encryptedKey{
		KDF:    scryptKDF{Name: kdfScrypt, Params: params, Salt: make([]byte, saltSize)},
		Cipher: secretBoxCipher{Name: cipherSecretBox, Nonce: make([]byte, nonceSize)},
	}
	if _, err := io.ReadFull(random, enc.KDF.Salt); err != nil {
		return nil, fmt.Errorf("encrypt key: read salt: %w", err)
	}
	if _, err := io.ReadFull(random, enc.Cipher.Nonce); err != nil {
		return nil, fmt.Errorf("encrypt key: read nonce: %w", err)
	}
	boxKey, err := scrypt.Key(password, enc.KDF.Salt, params.N, params.R, params.P, boxKeySize)
	if err != nil {
		return nil, fmt.Errorf("encrypt key: derive key: %w", err)
	}
	enc.Ciphertext = secretbox.Seal(nil, der, (*[nonceSize]byte)(enc.Cipher.Nonce), (*[boxKeySize]byte)(boxKey))
	body, err := json.Marshal(enc)
	if err != nil {
		return nil, fmt.Errorf("encrypt key: encode JSON: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: body}), nil
}

// DecryptCosignKey reads a cosign private key file (PEM type
// CosignPrivateKeyPEMType or LegacyCosignPrivateKeyPEMType), such as the
// cosign.key `cosign generate-key-pair` writes, and returns its key. A nil
// password is the empty password. It returns ErrWrongPassword when the key
// does not decrypt. To bound the work a hostile file can cause it accepts
// scrypt parameters only up to N·r·p = 2^20 (cosign writes at most 2^17·8·1).
func DecryptCosignKey(pemBytes, password []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("decrypt key: no PEM block found")
	}
	if block.Type != CosignPrivateKeyPEMType && block.Type != LegacyCosignPrivateKeyPEMType {
		return nil, fmt.Errorf("decrypt key: PEM block type is %q, want %q or %q",
			block.Type, CosignPrivateKeyPEMType, LegacyCosignPrivateKeyPEMType)
	}
	var enc encryptedKey
	if err := json.Unmarshal(block.Bytes, &enc); err != nil {
		return nil, fmt.Errorf("decrypt key: parse JSON: %w", err)
	}
	if enc.KDF.Name != kdfScrypt {
		return nil, fmt.Errorf("decrypt key: unsupported KDF %q, want %q", enc.KDF.Name, kdfScrypt)
	}
	if enc.Cipher.Name != cipherSecretBox {
		return nil, fmt.Errorf("decrypt key: unsupported cipher %q, want %q", enc.Cipher.Name, cipherSecretBox)
	}
	if err := enc.KDF.Params.check(); err != nil {
		return nil, fmt.Errorf("decrypt key: %w", err)
	}
	if len(enc.Cipher.Nonce) != nonceSize {
		return nil, fmt.Errorf("decrypt key: nonce is %d bytes, want %d", len(enc.Cipher.Nonce), nonceSize)
	}
	p := enc.KDF.Params
	boxKey, err := scrypt.Key(password, enc.KDF.Salt, p.N, p.R, p.P, boxKeySize)
	if err != nil {
		return nil, fmt.Errorf("decrypt key: derive key: %w", err)
	}
	der, ok := secretbox.Open(nil, enc.Ciphertext, (*[nonceSize]byte)(enc.Cipher.Nonce), (*[boxKeySize]byte)(boxKey))
	if !ok {
		return nil, ErrWrongPassword
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("decrypt key: parse PKCS#8: %w", err)
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("decrypt key: unsupported key type %T", parsed)
	}
	if err := checkCosignPublicKey(signer.Public()); err != nil {
		return nil, fmt.Errorf("decrypt key: %w", err)
	}
	return signer, nil
}

// check bounds scrypt parameters read from a file; see maxScryptWork.
func (p scryptParams) check() error {
	// Compare each factor first so the product cannot overflow.
	if p.N < 2 || p.N&(p.N-1) != 0 || p.R < 1 || p.P < 1 ||
		p.N > maxScryptWork || p.R > maxScryptWork || p.P > maxScryptWork ||
		int64(p.N)*int64(p.R)*int64(p.P) > maxScryptWork {
		return fmt.Errorf("scrypt parameters N=%d r=%d p=%d out of bounds "+
			"(want N a power of two ≥ 2, r ≥ 1, p ≥ 1, N·r·p ≤ %d)", p.N, p.R, p.P, maxScryptWork)
	}
	return nil
}

// GenerateCosignKeyPair makes a new ECDSA P-256 key, cosign's default, and
// returns it as `cosign generate-key-pair` does: the private key encrypted
// with password (see EncryptCosignKey) and the public key as a PKIX
// "PUBLIC KEY" PEM block.
func GenerateCosignKeyPair(password []byte) (privPEM, pubPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	privPEM, err = EncryptCosignKey(key, password)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("encode public key: %w", err)
	}
	return privPEM, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// LoadPublicKey reads a verification key as cosign's --key accepts it: a
// PKIX "PUBLIC KEY" PEM block (cosign.pub), a PKCS#1 "RSA PUBLIC KEY" block,
// or a "CERTIFICATE" block, whose subject public key is returned. Only the
// key types cosign signs with are accepted: ECDSA P-256/P-384/P-521, Ed25519
// and RSA of 2048–4096 bits.
func LoadPublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("load public key: no PEM block found")
	}
	var pub crypto.PublicKey
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("load public key: %w", err)
		}
		pub = k
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("load public key: %w", err)
		}
		pub = k
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("load public key: %w", err)
		}
		pub = cert.PublicKey
	default:
		return nil, fmt.Errorf("load public key: PEM block type is %q, want \"PUBLIC KEY\", \"RSA PUBLIC KEY\" or \"CERTIFICATE\"", block.Type)
	}
	if err := checkCosignPublicKey(pub); err != nil {
		return nil, fmt.Errorf("load public key: %w", err)
	}
	return pub, nil
}

// checkExportable reports whether key is an in-memory private key that
// x509.MarshalPKCS8PrivateKey can encode, rejecting values (typed nils,
// truncated Ed25519 keys, KMS signers) on which it or Public would fail.
func checkExportable(key crypto.Signer) error {
	switch k := key.(type) {
	case nil:
		return errors.New("nil key")
	case *ecdsa.PrivateKey:
		if k == nil {
			return errors.New("nil ECDSA key")
		}
	case *rsa.PrivateKey:
		if k == nil {
			return errors.New("nil RSA key")
		}
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return fmt.Errorf("bad Ed25519 private key length %d, want %d", len(k), ed25519.PrivateKeySize)
		}
	default:
		return fmt.Errorf("cannot export a %T: only in-memory ECDSA, Ed25519 and RSA keys can be written", key)
	}
	return nil
}

// checkCosignPublicKey accepts the key types and sizes cosign signs with (the
// sigstore "goodkey" set): ECDSA P-256/P-384/P-521, Ed25519, RSA 2048–4096.
func checkCosignPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return errors.New("ECDSA key without a curve")
		}
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		name := "unknown"
		if params := k.Curve.Params(); params != nil {
			name = params.Name
		}
		return fmt.Errorf("unsupported ECDSA curve %s, want P-256, P-384 or P-521", name)
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("bad Ed25519 public key length %d, want %d", len(k), ed25519.PublicKeySize)
		}
		return nil
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return errors.New("RSA key without a modulus")
		}
		if bits := k.N.BitLen(); bits < 2048 || bits > 4096 {
			return fmt.Errorf("unsupported RSA key size %d bits, want 2048 to 4096", bits)
		}
		return nil
	default:
		return fmt.Errorf("unsupported key type %T, want ECDSA, Ed25519 or RSA", pub)
	}
}
