package server

import (
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/signetproject/signet/ca"
	"github.com/signetproject/signet/ctlog"
	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/trustroot"
	"github.com/signetproject/signet/tsa"
)

// Keys RotateKeys can rotate.
const (
	RotateCA   = "ca"   // the CA's issuing (intermediate) key and certificate
	RotateTlog = "tlog" // the Rekor v2 log's checkpoint key
	RotateTSA  = "tsa"  // the timestamp authority's signing key and chain
	RotateCT   = "ct"   // the CT log's SCT and checkpoint key
)

// RotatableKeys lists what RotateKeys rotates, in order.
var RotatableKeys = []string{RotateCA, RotateTlog, RotateTSA, RotateCT}

// historyFile is the data dir file remembering rotated-out trust material.
const historyFile = "trust-history.json"

// history is what a data directory remembers of key rotations: the trust
// material that verifiers must keep trusting for what it signed before it
// was rotated out (with the window it was in use), and when each current
// key took over.
type history struct {
	Retired []retired            `json:"retired"`
	Current map[string]time.Time `json:"current"`
}

// retired is rotated-out trust material: a CA or TSA chain (PEM), or a log
// public key (PEM), in use from Start to End.
type retired struct {
	Kind      string    `json:"kind"`
	Chain     string    `json:"chain,omitempty"`
	PublicKey string    `json:"publicKey,omitempty"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
}

func loadHistory(dataDir string) (*history, error) {
	h := &history{Current: map[string]time.Time{}}
	data, err := os.ReadFile(filepath.Join(dataDir, historyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, h); err != nil {
		return nil, fmt.Errorf("%s: %w", historyFile, err)
	}
	if h.Current == nil {
		h.Current = map[string]time.Time{}
	}
	return h, nil
}

// start is when the current key of kind took over: its rotation time, or
// def for keys never rotated.
func (h *history) start(kind string, def time.Time) time.Time {
	if t, ok := h.Current[kind]; ok {
		return t
	}
	return def
}

// RotateKeys rotates the named keys (RotatableKeys) of the data directory
// of a stopped server at now: each current key is moved to keys/retired/,
// its public material recorded in trust-history.json with the window it
// was in use, and a new key (with a new intermediate certificate under the
// same CA root, or a new TSA chain under the same TSA root) takes over.
// The restarted server lists old and new material in trusted_root.json,
// the old with validFor ending at now (rounded up to the second), so that
// what the old keys signed before still verifies and nothing they sign
// later does. Publish the new trusted_root.json through TUF with signet
// tuf sign-targets.
//
// The Rekor v1 API's key is not rotated: the v1 log's tree identity is
// bound to it.
func RotateKeys(dataDir string, kinds []string, now time.Time) error {
	for _, k := range kinds {
		if !slices.Contains(RotatableKeys, k) {
			return fmt.Errorf("rotate keys: unknown key %q (want %v)", k, RotatableKeys)
		}
	}
	// Rotation leaves the dev issuer's key alone: retiring it is for the
	// server, when it starts without --dev.
	_, err := os.Stat(filepath.Join(dataDir, "keys", devKeyFile))
	dev := err == nil
	m, err := loadMaterial(dataDir, dev, now)
	if err != nil {
		return err
	}
	h, err := loadHistory(dataDir)
	if err != nil {
		return err
	}
	// Windows are whole seconds, as certificates' validity is: the new
	// material starts at the rotation's second, and the retired material's
	// window ends at the next one, so that what it signed in the rotation's
	// own second, before the rotation, stays inside it. The two overlap by
	// under a second, in which only the retired keys signed: the server is
	// stopped while its keys rotate.
	now = now.UTC()
	end := now.Truncate(time.Second)
	if end.Before(now) {
		end = end.Add(time.Second)
	}
	now = now.Truncate(time.Second)
	caStart := m.caChain[len(m.caChain)-1].NotBefore
	keyDir := filepath.Join(dataDir, "keys")
	retire := func(name string) error {
		from := filepath.Join(keyDir, name)
		to := filepath.Join(keyDir, "retired", fmt.Sprintf("%s.%d", name, now.Unix()))
		if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
			return err
		}
		if err := os.Rename(from, to); err != nil {
			return fmt.Errorf("retire %s: %w", name, err)
		}
		return nil
	}
	for _, kind := range kinds {
		r := retired{Kind: kind, End: end}
		switch kind {
		case RotateCA:
			r.Start, r.Chain = h.start(kind, caStart), string(ca.EncodePEM(m.caChain))
			if err := retire("ca-intermediate.key"); err != nil {
				return err
			}
			key, err := keys.LoadOrCreate(filepath.Join(keyDir, "ca-intermediate.key"), keys.ECDSAP256)
			if err != nil {
				return err
			}
			rootKey, err := keys.Load(filepath.Join(keyDir, "ca-root.key"))
			if err != nil {
				return err
			}
			root := m.caChain[len(m.caChain)-1]
			inter, err := ca.NewIntermediate(root.Subject.Organization[0], root, rootKey, key, now)
			if err != nil {
				return err
			}
			if err := keys.WriteFileAtomic(filepath.Join(dataDir, "ca", "intermediate.pem"), ca.EncodePEM([]*x509.Certificate{inter}), 0o644); err != nil {
				return err
			}
		case RotateTSA:
			r.Start, r.Chain = h.start(kind, m.tsaChain[0].NotBefore), string(tsa.EncodeChainPEM(m.tsaChain))
			if err := retire("tsa.key"); err != nil {
				return err
			}
			// The next start signs a new chain for a new key.
			if err := os.Remove(filepath.Join(dataDir, "tsa", "chain.pem")); err != nil {
				return err
			}
		case RotateTlog, RotateCT:
			name, key := "tlog.key", m.logKey
			if kind == RotateCT {
				name, key = "ct.key", m.ctKey
			}
			der, err := x509.MarshalPKIXPublicKey(key.Public())
			if err != nil {
				return err
			}
			r.Start, r.PublicKey = h.start(kind, caStart), string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
			if err := retire(name); err != nil {
				return err
			}
		}
		h.Retired = append(h.Retired, r)
		h.Current[kind] = now
	}
	data, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	if err := keys.WriteFileAtomic(filepath.Join(dataDir, historyFile), data, 0o644); err != nil {
		return err
	}
	// Create the new keys and TSA chain now, so that a failure shows here.
	_, err = loadMaterial(dataDir, dev, now)
	return err
}

// retiredLogKeys returns the public keys of the Rekor v2 log that h
// records as rotated out, oldest first.
func (h *history) retiredLogKeys() ([]ed25519.PublicKey, error) {
	var pubs []ed25519.PublicKey
	for i, r := range h.Retired {
		if r.Kind != RotateTlog {
			continue
		}
		pub, err := keys.LoadPublicKey([]byte(r.PublicKey))
		if err != nil {
			return nil, fmt.Errorf("%s: retired %d: %w", historyFile, i, err)
		}
		ed, ok := pub.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%s: retired %d: tlog key is %T", historyFile, i, pub)
		}
		pubs = append(pubs, ed)
	}
	return pubs, nil
}

// retiredCTKeys returns the CT log keys that h records as rotated out,
// oldest first.
func (h *history) retiredCTKeys() ([]crypto.PublicKey, error) {
	var pubs []crypto.PublicKey
	for i, r := range h.Retired {
		if r.Kind != RotateCT {
			continue
		}
		pub, err := keys.LoadPublicKey([]byte(r.PublicKey))
		if err != nil {
			return nil, fmt.Errorf("%s: retired %d: %w", historyFile, i, err)
		}
		pubs = append(pubs, pub)
	}
	return pubs, nil
}

// RetiredLogKeys returns the Rekor v2 log keys the data directory's server
// rotated out (signet server rotate-keys), which signed its checkpoints
// before: the log and signet log verify accept what they signed.
func RetiredLogKeys(dataDir string) ([]ed25519.PublicKey, error) {
	h, err := loadHistory(dataDir)
	if err != nil {
		return nil, err
	}
	return h.retiredLogKeys()
}

// retiredMaterial adds the rotated-out material of h to m.
func (s *Server) retiredMaterial(h *history, m *trustroot.Material, origin string) error {
	for i, r := range h.Retired {
		switch r.Kind {
		case RotateCA, RotateTSA:
			chain, err := ca.ParsePEMChain([]byte(r.Chain))
			if err != nil {
				return fmt.Errorf("%s: retired %d: %w", historyFile, i, err)
			}
			a := trustroot.MaterialAuthority{Chain: chain, Start: r.Start, End: r.End, Operator: "signet (retired key)"}
			if r.Kind == RotateCA {
				a.URI = s.opts.BaseURL
				m.CertificateAuthorities = append(m.CertificateAuthorities, a)
			} else {
				a.URI = s.opts.BaseURL + "/api/v1/timestamp"
				m.TimestampAuthorities = append(m.TimestampAuthorities, a)
			}
		case RotateTlog, RotateCT:
			pub, err := keys.LoadPublicKey([]byte(r.PublicKey))
			if err != nil {
				return fmt.Errorf("%s: retired %d: %w", historyFile, i, err)
			}
			l := trustroot.MaterialLog{PublicKey: pub, Start: r.Start, End: r.End, Operator: "signet (retired key)"}
			if r.Kind == RotateTlog {
				ed, ok := pub.(ed25519.PublicKey)
				if !ok {
					return fmt.Errorf("%s: retired %d: tlog key is %T", historyFile, i, pub)
				}
				id, err := trustroot.RekorV2LogID(origin, ed)
				if err != nil {
					return fmt.Errorf("%s: retired %d: %w", historyFile, i, err)
				}
				l.BaseURL, l.LogID = s.opts.BaseURL, id
				m.Tlogs = append(m.Tlogs, l)
			} else {
				id, err := ctlog.LogID(pub)
				if err != nil {
					return err
				}
				l.BaseURL, l.LogID = s.opts.BaseURL+"/ct", id[:]
				m.CTLogs = append(m.CTLogs, l)
			}
		}
	}
	return nil
}
