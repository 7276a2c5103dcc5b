package tuf

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/signetproject/signet/keys"
)

// RepositoryOptions configure a [Repository].
type RepositoryOptions struct {
	// SnapshotExpiry and TimestampExpiry are the lifetimes of the online
	// metadata (defaults 7 days and 1 day). Each is renewed once less than
	// half of it is left.
	SnapshotExpiry, TimestampExpiry time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

// Repository is the server side of a TUF repository: it serves the
// offline-signed root and targets metadata of a directory (an offline
// directory's repo/) and signs snapshot and timestamp metadata with the
// online key, persisting them under a state directory so that their
// versions only grow across restarts. Its methods are safe for concurrent
// use.
type Repository struct {
	dir, stateDir string
	key           crypto.Signer
	keyID         string
	opts          RepositoryOptions

	lastTry atomic.Int64 // UnixNano of the last load attempt while nothing is loaded

	mu      sync.RWMutex
	files   map[string][]byte // served name → content
	offline []byte            // digest of the offline files last loaded
	targets *metadata.Metadata[metadata.TargetsType]
	snap    *metadata.Metadata[metadata.SnapshotType]
	ts      *metadata.Metadata[metadata.TimestampType]
}

// OpenRepository loads and checks the offline-signed metadata in dir and
// signs snapshot and timestamp with key, keeping them in stateDir. A dir
// without metadata yet (signet tuf init not run) is not an error: the
// repository serves nothing until a Refresh finds it.
func OpenRepository(dir, stateDir string, key crypto.Signer, opts RepositoryOptions) (*Repository, error) {
	if opts.SnapshotExpiry <= 0 {
		opts.SnapshotExpiry = 7 * 24 * time.Hour
	}
	if opts.TimestampExpiry <= 0 {
		opts.TimestampExpiry = 24 * time.Hour
	}
	opts.Now = nowOr(opts.Now)
	k, err := metadata.KeyFromPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("tuf online key: %w", err)
	}
	id, err := k.ID()
	if err != nil {
		return nil, fmt.Errorf("tuf online key: %w", err)
	}
	r := &Repository{dir: dir, stateDir: stateDir, key: key, keyID: id, opts: opts}
	r.snap = readState[metadata.SnapshotType](filepath.Join(stateDir, "snapshot.json"))
	r.ts = readState[metadata.TimestampType](filepath.Join(stateDir, "timestamp.json"))
	if err := r.Refresh(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return r, nil
}

// File returns the served file name ("1.root.json", "timestamp.json",
// "3.snapshot.json", "2.targets.json", "targets/<sha256>.<target>").
// Until the offline metadata exists, each call (at most one a second)
// looks for it.
func (r *Repository) File(name string) ([]byte, bool) {
	r.mu.RLock()
	loaded := r.files != nil
	b, ok := r.files[name]
	r.mu.RUnlock()
	if !loaded && r.lastTry.Load()+int64(time.Second) < time.Now().UnixNano() {
		r.lastTry.Store(time.Now().UnixNano())
		if r.Refresh() == nil {
			return r.File(name)
		}
	}
	return b, ok
}

// Refresh reloads the offline-signed files when they changed, and renews
// snapshot and timestamp when the targets changed or they are past half
// their lifetime. Call it periodically; a failure keeps serving what was
// served before.
func (r *Repository) Refresh() error {
	digest, err := r.offlineDigest()
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	files := r.files
	targets := r.targets
	if files == nil || !bytes.Equal(digest, r.offline) {
		if files, targets, err = r.loadOffline(); err != nil {
			return err
		}
	}
	now := r.opts.Now()
	snap, ts := r.snap, r.ts
	if snap == nil || snap.Signed.Meta[targetsMD].Version != targets.Signed.Version || stale(now, snap.Signed.Expires, r.opts.SnapshotExpiry) {
		version := firstVersion(now)
		if snap != nil {
			version = snap.Signed.Version + 1
		}
		snap = metadata.Snapshot(expiry(now, r.opts.SnapshotExpiry))
		snap.Signed.Version = version
		snap.Signed.Meta[targetsMD] = metadata.MetaFile(targets.Signed.Version)
		if err := signAll(snap, []crypto.Signer{r.key}); err != nil {
			return fmt.Errorf("sign snapshot: %w", err)
		}
		ts = nil // the timestamp must name the new snapshot
	}
	snapBytes, err := snap.ToBytes(false)
	if err != nil {
		return err
	}
	if ts == nil || ts.Signed.Meta["snapshot.json"].Version != snap.Signed.Version || stale(now, ts.Signed.Expires, r.opts.TimestampExpiry) {
		version := firstVersion(now)
		if r.ts != nil {
			version = r.ts.Signed.Version + 1
		}
		ts = metadata.Timestamp(expiry(now, r.opts.TimestampExpiry))
		ts.Signed.Version = version
		mf := metadata.MetaFile(snap.Signed.Version)
		sum := sha256.Sum256(snapBytes)
		mf.Length = int64(len(snapBytes))
		mf.Hashes = metadata.Hashes{"sha256": sum[:]}
		ts.Signed.Meta["snapshot.json"] = mf
		if err := signAll(ts, []crypto.Signer{r.key}); err != nil {
			return fmt.Errorf("sign timestamp: %w", err)
		}
	}
	tsBytes, err := ts.ToBytes(false)
	if err != nil {
		return err
	}
	// Persist before serving: a restart must never go back in version.
	if snap != r.snap {
		if err := keys.WriteFileAtomic(filepath.Join(r.stateDir, "snapshot.json"), snapBytes, 0o644); err != nil {
			return err
		}
	}
	if ts != r.ts {
		if err := keys.WriteFileAtomic(filepath.Join(r.stateDir, "timestamp.json"), tsBytes, 0o644); err != nil {
			return err
		}
	}
	out := make(map[string][]byte, len(files)+2)
	for k, v := range files {
		out[k] = v
	}
	out[fmt.Sprintf("%d.snapshot.json", snap.Signed.Version)] = snapBytes
	out["timestamp.json"] = tsBytes
	r.files, r.offline, r.targets, r.snap, r.ts = out, digest, targets, snap, ts
	return nil
}

// loadOffline reads every N.root.json (checking each is signed by its
// predecessor's and its own root keys, and that the latest trusts the
// online key), targets.json (signed by the latest root's targets keys)
// and the target files it lists (matching its hashes).
func (r *Repository) loadOffline() (map[string][]byte, *metadata.Metadata[metadata.TargetsType], error) {
	latest, err := latestRootVersion(r.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("tuf repository %s: %w", r.dir, err)
	}
	files := map[string][]byte{}
	var root *metadata.Metadata[metadata.RootType]
	for v := int64(1); v <= latest; v++ {
		name := fmt.Sprintf("%d.root.json", v)
		data, err := os.ReadFile(filepath.Join(r.dir, name))
		if err != nil {
			return nil, nil, fmt.Errorf("tuf repository: %w", err)
		}
		next, err := new(metadata.Metadata[metadata.RootType]).FromBytes(data)
		if err != nil {
			return nil, nil, fmt.Errorf("tuf repository %s: %w", name, err)
		}
		if next.Signed.Version != v {
			return nil, nil, fmt.Errorf("tuf repository %s: holds version %d", name, next.Signed.Version)
		}
		if root != nil {
			if err := root.VerifyDelegate(metadata.ROOT, next); err != nil {
				return nil, nil, fmt.Errorf("tuf repository %s: not signed by root version %d: %w", name, v-1, err)
			}
		}
		if err := next.VerifyDelegate(metadata.ROOT, next); err != nil {
			return nil, nil, fmt.Errorf("tuf repository %s: not signed by its own root keys: %w", name, err)
		}
		root = next
		files[name] = data
	}
	for _, role := range []string{metadata.SNAPSHOT, metadata.TIMESTAMP} {
		if rl := root.Signed.Roles[role]; rl == nil || rl.Threshold != 1 || !contains(rl.KeyIDs, r.keyID) {
			return nil, nil, fmt.Errorf("tuf repository: root version %d does not trust this server's online key %s for %s (run signet tuf sign-root --server)", latest, r.keyID, role)
		}
	}
	data, err := os.ReadFile(filepath.Join(r.dir, targetsMD))
	if err != nil {
		return nil, nil, fmt.Errorf("tuf repository: %w", err)
	}
	targets, err := new(metadata.Metadata[metadata.TargetsType]).FromBytes(data)
	if err != nil {
		return nil, nil, fmt.Errorf("tuf repository targets.json: %w", err)
	}
	if err := root.VerifyDelegate(metadata.TARGETS, targets); err != nil {
		return nil, nil, fmt.Errorf("tuf repository targets.json: not signed by the root's targets key: %w", err)
	}
	files[fmt.Sprintf("%d.targets.json", targets.Signed.Version)] = data
	for name, tf := range targets.Signed.Targets {
		content, err := os.ReadFile(filepath.Join(r.dir, targetsDir, name))
		if err != nil {
			return nil, nil, fmt.Errorf("tuf repository target %s: %w", name, err)
		}
		if err := tf.VerifyLengthHashes(content); err != nil {
			return nil, nil, fmt.Errorf("tuf repository target %s: %w", name, err)
		}
		files[targetsDir+"/"+hex.EncodeToString(tf.Hashes["sha256"])+"."+name] = content
	}
	return files, targets, nil
}

// offlineDigest hashes the names and contents of the offline files, to
// notice a new targets.json or root version.
func (r *Repository) offlineDigest() ([]byte, error) {
	h := sha256.New()
	for _, dir := range []string{r.dir, filepath.Join(r.dir, targetsDir)} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("tuf repository: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, fmt.Errorf("tuf repository: %w", err)
			}
			sum := sha256.Sum256(data)
			fmt.Fprintf(h, "%s/%s %x\n", dir, e.Name(), sum)
		}
	}
	return h.Sum(nil), nil
}

func readState[T metadata.Roles](path string) *metadata.Metadata[T] {
	md, err := new(metadata.Metadata[T]).FromFile(path)
	if err != nil {
		return nil // first start, or unreadable: sign anew (versions restart only if the file is lost)
	}
	return md
}

// firstVersion is the version of the first snapshot or timestamp a state
// directory holds: the Unix time, so that a server whose state was lost
// still never serves a version below one it served before.
func firstVersion(now time.Time) int64 { return now.Unix() }

func stale(now, expires time.Time, lifetime time.Duration) bool {
	return expires.Sub(now) < lifetime/2
}

func expiry(now time.Time, d time.Duration) time.Time { return now.Add(d).UTC().Truncate(time.Second) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
