package server

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/signetproject/signet/keys"
)

// materialDirs are the data directory's subdirectories that hold key
// material (keys and the certificates made from them), and materialFiles
// its files at the top that do (the rotation history the trust root is
// built from); everything else in the data directory is log data.
var (
	materialDirs  = []string{"keys", "ca", "tsa"}
	materialFiles = []string{historyFile}
)

// InitMaterial creates in dataDir the key material a first start would
// (with dev, the dev issuer's key too), without starting anything. Existing
// material is kept.
func InitMaterial(dataDir string, dev bool) error {
	_, err := loadMaterial(dataDir, dev, time.Now())
	return err
}

// ReadMaterial returns the key material in dataDir by slash-separated path
// relative to it ("keys/tlog.key", "ca/root.pem", …).
func ReadMaterial(dataDir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, d := range materialDirs {
		root := filepath.Join(dataDir, d)
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == root {
					return nil
				}
				return err
			}
			if e.IsDir() {
				return nil
			}
			if !e.Type().IsRegular() {
				return fmt.Errorf("key material %s is not a regular file", p)
			}
			if strings.HasPrefix(e.Name(), ".") { // temporary files of WriteFileAtomic
				return nil
			}
			rel, err := filepath.Rel(dataDir, p)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = data
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read key material: %w", err)
		}
	}
	for _, f := range materialFiles {
		data, err := os.ReadFile(filepath.Join(dataDir, f))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read key material: %w", err)
		}
		out[f] = data
	}
	return out, nil
}

// checkMaterialPath accepts the slash-separated relative paths
// ReadMaterial returns and nothing that could land outside the material
// directories.
func checkMaterialPath(rel string) error {
	for _, f := range materialFiles {
		if rel == f {
			return nil
		}
	}
	clean := path.Clean(rel)
	dir, _, ok := strings.Cut(clean, "/")
	if !ok || clean != rel || strings.HasPrefix(clean, "/") || strings.Contains(clean, "..") {
		return fmt.Errorf("key material path %q: want DIR/FILE inside the data directory", rel)
	}
	for _, d := range materialDirs {
		if dir == d {
			return nil
		}
	}
	return fmt.Errorf("key material path %q: not under %s", rel, strings.Join(materialDirs, ", "))
}

// WriteMaterial writes files (as ReadMaterial returns them) into dataDir,
// private keys with mode 0600. A file that already exists must hold the
// same bytes: material is never silently replaced, so a data directory
// cannot end up with keys that disagree with the certificates and logs it
// already holds.
func WriteMaterial(dataDir string, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for n := range files {
		if err := checkMaterialPath(n); err != nil {
			return err
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dataDir, filepath.FromSlash(n))
		old, err := os.ReadFile(p)
		switch {
		case err == nil:
			if !bytes.Equal(old, files[n]) {
				return fmt.Errorf("key material %s in %s differs from the one given: refusing to replace it", n, dataDir)
			}
			continue
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
		perm := os.FileMode(0o644)
		if strings.HasPrefix(n, "keys/") {
			perm = 0o600
		}
		if err := keys.WriteFileAtomic(p, files[n], perm); err != nil {
			return err
		}
	}
	return nil
}

// SecretKey and SecretPath map a material path to a Kubernetes Secret data
// key and back ("keys/tlog.key" ↔ "keys--tlog.key"): Secret keys may not
// hold a slash.
func SecretKey(rel string) string { return strings.ReplaceAll(rel, "/", "--") }

// SecretPath is the inverse of SecretKey.
func SecretPath(key string) string { return strings.ReplaceAll(key, "--", "/") }

// ReadMaterialSecretDir reads a mounted Secret made from ReadMaterial's
// files with SecretKey names (what `signet server init-keys --secret`
// creates). Kubernetes' own entries (..data, dot-files) are skipped.
func ReadMaterialSecretDir(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("key material: %w", err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		rel := SecretPath(e.Name())
		if err := checkMaterialPath(rel); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, e.Name()), err)
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name())) // follows the Secret's symlinks
		if err != nil {
			return nil, fmt.Errorf("key material: %w", err)
		}
		out[rel] = data
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("key material: %s holds no key files", dir)
	}
	return out, nil
}

// loadSharedMaterial is loadMaterial, first copying the material in
// keysFrom (when set) into dataDir and then checking that loading it
// created nothing: the data directory holds exactly what keysFrom gave.
func loadSharedMaterial(dataDir, keysFrom string, dev bool, now time.Time) (*material, error) {
	if keysFrom == "" {
		return loadMaterial(dataDir, dev, now)
	}
	given, err := ReadMaterialSecretDir(keysFrom)
	if err != nil {
		return nil, err
	}
	if err := WriteMaterial(dataDir, given); err != nil {
		return nil, err
	}
	m, err := loadMaterial(dataDir, dev, now)
	if err != nil {
		return nil, fmt.Errorf("key material from %s: %w", keysFrom, err)
	}
	have, err := ReadMaterial(dataDir)
	if err != nil {
		return nil, err
	}
	var extra []string
	for n := range have {
		if _, ok := given[n]; !ok {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return nil, fmt.Errorf("key material %s is not in %s (created now, or left from an earlier start): "+
			"regenerate the Secret with `signet server init-keys` (with --dev if the server runs --dev)", strings.Join(extra, ", "), keysFrom)
	}
	return m, nil
}
