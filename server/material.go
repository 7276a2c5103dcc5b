package server

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/signetproject/signet/ca"
	"github.com/signetproject/signet/keys"
)

// material is the key material a server keeps in its data directory.
type material struct {
	caKey   crypto.Signer
	caChain []*x509.Certificate
	devKey  crypto.Signer // nil unless the dev issuer is on
}

// loadMaterial opens the data directory, creating keys and certificates on
// first start. Later starts reuse them, so the published trust root stays
// the same.
func loadMaterial(dataDir string, dev bool, now time.Time) (*material, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	keyDir := filepath.Join(dataDir, "keys")
	rootKey, err := keys.LoadOrCreate(filepath.Join(keyDir, "ca-root.key"), keys.ECDSAP384)
	if err != nil {
		return nil, err
	}
	interKey, err := keys.LoadOrCreate(filepath.Join(keyDir, "ca-intermediate.key"), keys.ECDSAP256)
	if err != nil {
		return nil, err
	}
	chain, err := ca.LoadOrCreateHierarchy(filepath.Join(dataDir, "ca"), "signet", rootKey, interKey, now)
	if err != nil {
		return nil, err
	}
	m := &material{caKey: interKey, caChain: chain}
	if dev {
		if m.devKey, err = keys.LoadOrCreate(filepath.Join(keyDir, "oidc-dev.key"), keys.ECDSAP256); err != nil {
			return nil, err
		}
	}
	return m, nil
}
