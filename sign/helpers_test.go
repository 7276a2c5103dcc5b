package sign_test

import (
	"crypto"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signetproject/signet/verify"
)

// keyMaterial adds one trusted public key to a sigstore-go trusted root.
type keyMaterial struct {
	*root.TrustedRoot
	key *verify.TrustedKey
}

func (k *keyMaterial) PublicKeyVerifier(string) (root.TimeConstrainedVerifier, error) {
	v, err := signature.LoadVerifier(k.key.PublicKey, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &alwaysValid{v}, nil
}

type alwaysValid struct{ signature.Verifier }

func (*alwaysValid) ValidAtTime(time.Time) bool { return true }

func sgverifyExtensions() certificate.Extensions { return certificate.Extensions{} }
