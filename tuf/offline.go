package tuf

import (
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/signetproject/signet/keys"
)

// Offline directory layout: keys/root.key and keys/targets.key (the
// current offline keys; retired ones are kept as keys/root.<N>.key), and
// repo/, which the server serves from (signet server --tuf-repo DIR/repo):
// every N.root.json, targets.json and targets/<name>.
const (
	repoDir    = "repo"
	keysDir    = "keys"
	targetsDir = "targets"
	targetsMD  = "targets.json"
)

// Default expiry of offline-signed metadata.
const (
	DefaultRootExpiry    = 365 * 24 * time.Hour
	DefaultTargetsExpiry = 180 * 24 * time.Hour
)

// RepoDir returns the directory under an offline directory that the server
// serves (signet server --tuf-repo).
func RepoDir(dir string) string { return filepath.Join(dir, repoDir) }

// InitOptions configure [Init].
type InitOptions struct {
	// Online is the server's online key, trusted for snapshot and
	// timestamp.
	Online crypto.PublicKey
	// Targets are the target files by name (trusted_root.json,
	// signing_config.v0.2.json).
	Targets map[string][]byte
	// RootExpiry and TargetsExpiry default to DefaultRootExpiry and
	// DefaultTargetsExpiry.
	RootExpiry, TargetsExpiry time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

// Init creates a TUF repository in dir: new offline root and targets keys
// (ECDSA P-256, 0600), 1.root.json trusting them and opts.Online for
// snapshot and timestamp, and targets.json version 1 listing opts.Targets.
// It refuses a dir that already holds a repository.
func Init(dir string, opts InitOptions) error {
	if opts.Online == nil {
		return errors.New("tuf init: no online key")
	}
	if err := checkTargets(opts.Targets); err != nil {
		return fmt.Errorf("tuf init: %w", err)
	}
	now := nowOr(opts.Now)
	if _, err := os.Stat(filepath.Join(dir, repoDir, "1.root.json")); err == nil {
		return fmt.Errorf("tuf init: %s already holds a repository", dir)
	}
	rootKey, err := newKey(filepath.Join(dir, keysDir, "root.key"))
	if err != nil {
		return err
	}
	targetsKey, err := newKey(filepath.Join(dir, keysDir, "targets.key"))
	if err != nil {
		return err
	}
	root := metadata.Root(now().Add(durOr(opts.RootExpiry, DefaultRootExpiry)).UTC().Truncate(time.Second))
	for _, k := range []struct {
		pub  crypto.PublicKey
		role string
	}{{rootKey.Public(), metadata.ROOT}, {targetsKey.Public(), metadata.TARGETS}, {opts.Online, metadata.SNAPSHOT}, {opts.Online, metadata.TIMESTAMP}} {
		if err := addKey(&root.Signed, k.pub, k.role); err != nil {
			return fmt.Errorf("tuf init: %w", err)
		}
	}
	if err := writeRoot(dir, root, rootKey); err != nil {
		return err
	}
	return writeTargets(dir, 1, opts.Targets, now().Add(durOr(opts.TargetsExpiry, DefaultTargetsExpiry)), targetsKey)
}

// SignTargets replaces the targets of the repository in dir with targets,
// as targets.json one version up, signed with the offline targets key.
func SignTargets(dir string, targets map[string][]byte, expiry time.Duration, now func() time.Time) error {
	if err := checkTargets(targets); err != nil {
		return fmt.Errorf("tuf sign-targets: %w", err)
	}
	cur, err := readTargets(dir)
	if err != nil {
		return err
	}
	key, err := keys.Load(filepath.Join(dir, keysDir, "targets.key"))
	if err != nil {
		return fmt.Errorf("tuf sign-targets: %w", err)
	}
	return writeTargets(dir, cur.Signed.Version+1, targets, nowOr(now)().Add(durOr(expiry, DefaultTargetsExpiry)), key)
}

// SignRootOptions configure [SignRoot].
type SignRootOptions struct {
	// RotateRoot replaces the root key; RotateTargets the targets key (and
	// re-signs targets.json with it). Online, when set, replaces the
	// online snapshot/timestamp key.
	RotateRoot, RotateTargets bool
	Online                    crypto.PublicKey
	// Expiry defaults to DefaultRootExpiry.
	Expiry time.Duration
	Now    func() time.Time
}

// SignRoot writes the next root version: the same keys, or new ones as
// opts asks, with a new expiry, signed by the current root key and, when
// it is rotated, by the new one too (TUF clients require both).
func SignRoot(dir string, opts SignRootOptions) error {
	now := nowOr(opts.Now)
	latest, err := latestRootVersion(filepath.Join(dir, repoDir))
	if err != nil {
		return fmt.Errorf("tuf sign-root: %w", err)
	}
	root, err := new(metadata.Metadata[metadata.RootType]).FromFile(filepath.Join(dir, repoDir, fmt.Sprintf("%d.root.json", latest)))
	if err != nil {
		return fmt.Errorf("tuf sign-root: %w", err)
	}
	oldRootKey, err := keys.Load(filepath.Join(dir, keysDir, "root.key"))
	if err != nil {
		return fmt.Errorf("tuf sign-root: %w", err)
	}
	next := root.Signed
	next.Version++
	next.Expires = now().Add(durOr(opts.Expiry, DefaultRootExpiry)).UTC().Truncate(time.Second)
	next.Keys = maps(root.Signed.Keys)
	next.Roles = map[string]*metadata.Role{}
	for name, r := range root.Signed.Roles {
		next.Roles[name] = &metadata.Role{KeyIDs: slices.Clone(r.KeyIDs), Threshold: r.Threshold}
	}
	signers := []crypto.Signer{oldRootKey}
	rotate := func(role string, pub crypto.PublicKey) error {
		for _, id := range slices.Clone(next.Roles[role].KeyIDs) {
			if err := next.RevokeKey(id, role); err != nil {
				return err
			}
		}
		return addKey(&next, pub, role)
	}
	var newTargetsKey crypto.Signer
	if opts.RotateRoot {
		k, err := retireAndCreate(dir, "root", latest)
		if err != nil {
			return err
		}
		if err := rotate(metadata.ROOT, k.Public()); err != nil {
			return err
		}
		signers = append(signers, k)
	}
	if opts.RotateTargets {
		if newTargetsKey, err = retireAndCreate(dir, "targets", latest); err != nil {
			return err
		}
		if err := rotate(metadata.TARGETS, newTargetsKey.Public()); err != nil {
			return err
		}
	}
	if opts.Online != nil {
		for _, role := range []string{metadata.SNAPSHOT, metadata.TIMESTAMP} {
			if err := rotate(role, opts.Online); err != nil {
				return err
			}
		}
	}
	md := &metadata.Metadata[metadata.RootType]{Signed: next, Signatures: []metadata.Signature{}}
	if err := writeRoot(dir, md, signers...); err != nil {
		return err
	}
	if newTargetsKey != nil {
		cur, err := readTargets(dir)
		if err != nil {
			return err
		}
		targets := map[string][]byte{}
		for name := range cur.Signed.Targets {
			data, err := os.ReadFile(filepath.Join(dir, repoDir, targetsDir, name))
			if err != nil {
				return err
			}
			targets[name] = data
		}
		return writeTargets(dir, cur.Signed.Version+1, targets, cur.Signed.Expires, newTargetsKey)
	}
	return nil
}

func maps(in map[string]*metadata.Key) map[string]*metadata.Key {
	out := make(map[string]*metadata.Key, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// retireAndCreate keeps keys/<name>.key as keys/<name>.<version>.key and
// creates a new keys/<name>.key.
func retireAndCreate(dir, name string, version int64) (crypto.Signer, error) {
	cur := filepath.Join(dir, keysDir, name+".key")
	if err := os.Rename(cur, filepath.Join(dir, keysDir, fmt.Sprintf("%s.%d.key", name, version))); err != nil {
		return nil, fmt.Errorf("retire %s key: %w", name, err)
	}
	return newKey(cur)
}

func newKey(path string) (crypto.Signer, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("%s already exists", path)
	}
	k, err := keys.LoadOrCreate(path, keys.ECDSAP256)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return k, nil
}

func addKey(root *metadata.RootType, pub crypto.PublicKey, role string) error {
	k, err := metadata.KeyFromPublicKey(pub)
	if err != nil {
		return fmt.Errorf("%s key: %w", role, err)
	}
	return root.AddKey(k, role)
}

func writeRoot(dir string, root *metadata.Metadata[metadata.RootType], signers ...crypto.Signer) error {
	if err := signAll(root, signers); err != nil {
		return fmt.Errorf("sign root: %w", err)
	}
	data, err := root.ToBytes(true)
	if err != nil {
		return err
	}
	return keys.WriteFileAtomic(filepath.Join(dir, repoDir, fmt.Sprintf("%d.root.json", root.Signed.Version)), data, 0o644)
}

func writeTargets(dir string, version int64, targets map[string][]byte, expires time.Time, key crypto.Signer) error {
	md := metadata.Targets(expires.UTC().Truncate(time.Second))
	md.Signed.Version = version
	names := make([]string, 0, len(targets))
	for name := range targets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		tf, err := metadata.TargetFile().FromBytes(name, targets[name], "sha256")
		if err != nil {
			return err
		}
		md.Signed.Targets[name] = tf
		if err := keys.WriteFileAtomic(filepath.Join(dir, repoDir, targetsDir, name), targets[name], 0o644); err != nil {
			return err
		}
	}
	if err := signAll(md, []crypto.Signer{key}); err != nil {
		return fmt.Errorf("sign targets: %w", err)
	}
	data, err := md.ToBytes(true)
	if err != nil {
		return err
	}
	return keys.WriteFileAtomic(filepath.Join(dir, repoDir, targetsMD), data, 0o644)
}

func readTargets(dir string) (*metadata.Metadata[metadata.TargetsType], error) {
	md, err := new(metadata.Metadata[metadata.TargetsType]).FromFile(filepath.Join(dir, repoDir, targetsMD))
	if err != nil {
		return nil, fmt.Errorf("read targets metadata: %w", err)
	}
	return md, nil
}

// signAll signs md with each key (ECDSA P-256 over SHA-256, the
// "ecdsa-sha2-nistp256" scheme).
func signAll[T metadata.Roles](md *metadata.Metadata[T], signers []crypto.Signer) error {
	for _, s := range signers {
		sv, err := signature.LoadSignerWithOpts(s)
		if err != nil {
			return err
		}
		if _, err := md.Sign(sv); err != nil {
			return err
		}
	}
	return nil
}

// latestRootVersion returns the highest N of the N.root.json files in dir.
func latestRootVersion(dir string) (int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, e := range entries {
		if v, ok := strings.CutSuffix(e.Name(), ".root.json"); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > latest {
				latest = n
			}
		}
	}
	if latest == 0 {
		return 0, fmt.Errorf("%s holds no N.root.json: %w", dir, fs.ErrNotExist)
	}
	return latest, nil
}

func checkTargets(targets map[string][]byte) error {
	if len(targets) == 0 {
		return errors.New("no targets")
	}
	for name := range targets {
		if name == "" || strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
			return fmt.Errorf("target name %q: want a plain file name", name)
		}
	}
	return nil
}

func nowOr(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}

func durOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
