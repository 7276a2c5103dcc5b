package tuf

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

// ClientOptions configure [Fetch].
type ClientOptions struct {
	// Mirror is the repository's base URL, e.g. https://signet.example/tuf.
	Mirror string
	// Root is a root.json the user trusts, obtained out of band (for
	// signet: the operator's 1.root.json). A newer root kept in CacheDir
	// from an earlier run takes its place.
	Root []byte
	// CacheDir keeps trusted metadata and targets between runs, which is
	// what lets a client notice a rollback or a freeze across runs; empty
	// means keep nothing.
	CacheDir string
	// HTTPClient fetches from the mirror; nil means a 30 s timeout client.
	HTTPClient *http.Client
}

// Fetch updates the client's view of the repository as the TUF
// specification's client workflow says (root rotation, timestamp,
// snapshot, targets, each checked for signatures by the keys the trusted
// root names, version rollback and expiry) and returns the named target
// files, checked against the lengths and hashes targets.json lists.
func Fetch(opts ClientOptions, names ...string) (map[string][]byte, error) {
	if opts.Mirror == "" {
		return nil, fmt.Errorf("tuf: no mirror URL")
	}
	if _, err := url.ParseRequestURI(opts.Mirror); err != nil {
		return nil, fmt.Errorf("tuf: mirror %q: %w", opts.Mirror, err)
	}
	mirror := strings.TrimRight(opts.Mirror, "/")
	root, err := trustedRoot(opts.Root, opts.CacheDir, mirror)
	if err != nil {
		return nil, err
	}
	cfg, err := config.New(mirror, root)
	if err != nil {
		return nil, fmt.Errorf("tuf: %w", err)
	}
	if opts.CacheDir == "" {
		cfg.DisableLocalCache = true
	} else {
		dir := cacheDir(opts.CacheDir, mirror)
		cfg.LocalMetadataDir, cfg.LocalTargetsDir = dir, filepath.Join(dir, "targets")
		if err := os.MkdirAll(cfg.LocalTargetsDir, 0o700); err != nil {
			return nil, fmt.Errorf("tuf cache: %w", err)
		}
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	f := fetcher.NewDefaultFetcher()
	f.SetHTTPClient(hc)
	f.SetRetry(time.Second, 2)
	cfg.Fetcher = f
	up, err := updater.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("tuf: trusted root: %w", err)
	}
	if err := up.Refresh(); err != nil {
		return nil, fmt.Errorf("tuf: update from %s: %w", mirror, err)
	}
	out := make(map[string][]byte, len(names))
	for _, name := range names {
		ti, err := up.GetTargetInfo(name)
		if err != nil {
			return nil, fmt.Errorf("tuf: target %s: %w", name, err)
		}
		path := ""
		if opts.CacheDir != "" {
			path = filepath.Join(cfg.LocalTargetsDir, name)
			if _, data, err := up.FindCachedTarget(ti, path); err == nil && data != nil {
				out[name] = data
				continue
			}
		}
		_, data, err := up.DownloadTarget(ti, path, "")
		if err != nil {
			return nil, fmt.Errorf("tuf: target %s: %w", name, err)
		}
		out[name] = data
	}
	return out, nil
}

// trustedRoot picks the root to start from: the given one, or a newer one
// an earlier run cached.
func trustedRoot(given []byte, cache, mirror string) ([]byte, error) {
	g, err := new(metadata.Metadata[metadata.RootType]).FromBytes(given)
	if err != nil {
		return nil, fmt.Errorf("tuf: initial root: %w", err)
	}
	if cache == "" {
		return given, nil
	}
	data, err := os.ReadFile(filepath.Join(cacheDir(cache, mirror), "root.json"))
	if err != nil {
		return given, nil
	}
	c, err := new(metadata.Metadata[metadata.RootType]).FromBytes(data)
	if err != nil || c.Signed.Version <= g.Signed.Version {
		return given, nil
	}
	return data, nil
}

// cacheDir is the per-mirror cache directory: the mirror URL with its
// scheme dropped and path separators flattened.
func cacheDir(base, mirror string) string {
	u := mirror
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	return filepath.Join(base, strings.NewReplacer("/", "-", ":", "-").Replace(u))
}
