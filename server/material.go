package server

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/signetproject/signet/ca"
	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/tsa"
)

// material is the key material a server keeps in its data directory.
type material struct {
	caKey    crypto.Signer
	caChain  []*x509.Certificate
	logKey   crypto.Signer
	v1LogKey crypto.Signer // ECDSA P-256: Rekor v1 SETs and checkpoints
	tsaKey   crypto.Signer
	tsaChain []*x509.Certificate // leaf first
	ctKey    crypto.Signer       // ECDSA P-256: the CT log's SCTs and checkpoints
	tufKey   crypto.Signer       // ECDSA P-256: the TUF repository's online snapshot and timestamp key
	devKey   crypto.Signer       // nil unless the dev issuer is on
}

// loadMaterial opens the data directory, creating keys and certificates on
// first start. Later starts reuse them, so the published trust root stays
// the same.
func loadMaterial(dataDir string, dev bool, now time.Time) (*material, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	keyDir := filepath.Join(dataDir, "keys")
	load := func(name string, alg keys.Algorithm) (crypto.Signer, error) {
		return keys.LoadOrCreate(filepath.Join(keyDir, name), alg)
	}
	m := &material{}
	rootKey, err := load("ca-root.key", keys.ECDSAP384)
	if err != nil {
		return nil, err
	}
	if m.caKey, err = load("ca-intermediate.key", keys.ECDSAP256); err != nil {
		return nil, err
	}
	if m.caChain, err = ca.LoadOrCreateHierarchy(filepath.Join(dataDir, "ca"), "signet", rootKey, m.caKey, now); err != nil {
		return nil, err
	}
	if m.logKey, err = load("tlog.key", keys.Ed25519); err != nil {
		return nil, err
	}
	if m.v1LogKey, err = load("tlog-v1.key", keys.ECDSAP256); err != nil {
		return nil, err
	}
	if m.ctKey, err = load("ct.key", keys.ECDSAP256); err != nil {
		return nil, err
	}
	if m.tufKey, err = load("tuf-online.key", keys.ECDSAP256); err != nil {
		return nil, err
	}
	tsaRootKey, err := load("tsa-root.key", keys.ECDSAP384)
	if err != nil {
		return nil, err
	}
	if m.tsaKey, err = load("tsa.key", keys.ECDSAP256); err != nil {
		return nil, err
	}
	if m.tsaChain, err = loadOrCreateTSAChain(filepath.Join(dataDir, "tsa", "chain.pem"), tsaRootKey, m.tsaKey, now); err != nil {
		return nil, err
	}
	if dev {
		if m.devKey, err = load("oidc-dev.key", keys.ECDSAP256); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func loadOrCreateTSAChain(path string, rootKey, leafKey crypto.Signer, now time.Time) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		chain, err := tsa.ParseChainPEM(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return chain, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	chain, err := tsa.CreateChain(rootKey, leafKey, tsa.ChainOptions{Organization: "signet", NotBefore: now.Add(-time.Minute)})
	if err != nil {
		return nil, fmt.Errorf("create TSA chain: %w", err)
	}
	if err := keys.WriteFileAtomic(path, tsa.EncodeChainPEM(chain), 0o644); err != nil {
		return nil, err
	}
	return chain, nil
}
