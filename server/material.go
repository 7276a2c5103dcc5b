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
	// retiredDevKeys are the dev issuer keys this data directory retired
	// (see retireDevKey); retiredNow is set when one was retired by this
	// load.
	retiredDevKeys []string
	retiredNow     string
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
		if m.devKey, err = load(devKeyFile, keys.ECDSAP256); err != nil {
			return nil, err
		}
	} else if m.retiredNow, err = retireDevKey(keyDir, now); err != nil {
		return nil, err
	}
	if m.retiredDevKeys, err = filepath.Glob(filepath.Join(keyDir, devKeyFile+".retired-*")); err != nil {
		return nil, err
	}
	return m, nil
}

// devKeyFile is the dev issuer's key in the key directory.
const devKeyFile = "oidc-dev.key"

// retireDevKey renames the dev issuer's key, if the key directory has one,
// so that tokens it signed can never verify again, even if --dev is turned
// back on (a new key is made then), and returns the new name.
func retireDevKey(keyDir string, now time.Time) (string, error) {
	path := filepath.Join(keyDir, devKeyFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("dev issuer key: %w", err)
	}
	retired := fmt.Sprintf("%s.retired-%s", path, now.UTC().Format("20060102T150405Z"))
	if err := os.Rename(path, retired); err != nil {
		return "", fmt.Errorf("retire the dev issuer key: %w", err)
	}
	return retired, nil
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
