package cli

import (
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/trustroot"
	"github.com/signetproject/signet/tuf"
)

func newTUFCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tuf",
		Short: "Keep the offline keys and metadata of a server's TUF repository",
		Long: `Publish a server's trusted_root.json and signing_config.v0.2.json through TUF, as
Sigstore publishes its own: clients bootstrap from one root.json (cosign initialize
--mirror URL/tuf --root root.json) and follow key rotations from then on.

The root and targets keys are offline: these commands keep them, with the metadata
they sign, in --dir, a directory away from the server. The server serves DIR/repo
(signet server --tuf-repo DIR/repo, or a copy of it) and signs snapshot and
timestamp with its online key, renewing them before they expire.`,
	}
	cmd.AddCommand(newTUFInitCmd(), newTUFSignTargetsCmd(), newTUFSignRootCmd())
	return cmd
}

// tufTargets fetches the targets a server publishes through TUF.
func tufTargets(server string) (map[string][]byte, error) {
	base := strings.TrimRight(server, "/")
	tr, err := fetch(base + "/trusted_root.json")
	if err != nil {
		return nil, err
	}
	if _, err := trustroot.LoadTrustedRoot(tr); err != nil {
		return nil, fmt.Errorf("trusted_root.json from %s: %w", base, err)
	}
	sc, err := fetch(base + "/signing_config.json")
	if err != nil {
		return nil, err
	}
	if _, err := trustroot.LoadSigningConfig(sc); err != nil {
		return nil, fmt.Errorf("signing_config.json from %s: %w", base, err)
	}
	return map[string][]byte{tuf.TargetTrustedRoot: tr, tuf.TargetSigningConfig: sc}, nil
}

// tufOnlineKey fetches the server's online TUF key.
func tufOnlineKey(server string) (crypto.PublicKey, error) {
	data, err := fetch(strings.TrimRight(server, "/") + "/tuf/online-key.pem")
	if err != nil {
		return nil, err
	}
	return keys.LoadPublicKey(data)
}

func newTUFInitCmd() *cobra.Command {
	var dir, server string
	var rootExpiry, targetsExpiry time.Duration
	cmd := &cobra.Command{
		Use:   "init --dir DIR",
		Short: "Create offline root and targets keys and the first TUF metadata for a server",
		Example: `  signet tuf init --dir ./tuf --server http://127.0.0.1:8080
  signet server --tuf-repo ./tuf/repo …
  cosign initialize --mirror http://127.0.0.1:8080/tuf --root ./tuf/repo/1.root.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return errors.New("--dir is required")
			}
			online, err := tufOnlineKey(server)
			if err != nil {
				return err
			}
			targets, err := tufTargets(server)
			if err != nil {
				return err
			}
			if err := tuf.Init(dir, tuf.InitOptions{Online: online, Targets: targets, RootExpiry: rootExpiry, TargetsExpiry: targetsExpiry}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (offline keys: keep them away from the server)\nserve %s with signet server --tuf-repo; clients start from %s\n",
				filepath.Join(dir, "keys"), tuf.RepoDir(dir), filepath.Join(tuf.RepoDir(dir), "1.root.json"))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "offline directory for the keys and metadata (created)")
	f.StringVar(&server, "server", defaultServer(), "signet server whose trust material and online key to use (env SIGNET_SERVER)")
	f.DurationVar(&rootExpiry, "root-expiry", tuf.DefaultRootExpiry, "lifetime of the root metadata")
	f.DurationVar(&targetsExpiry, "targets-expiry", tuf.DefaultTargetsExpiry, "lifetime of the targets metadata")
	return cmd
}

func newTUFSignTargetsCmd() *cobra.Command {
	var dir, server string
	var expiry time.Duration
	cmd := &cobra.Command{
		Use:   "sign-targets --dir DIR",
		Short: "Publish a server's current trust material: sign a new targets version offline",
		Long: `Fetch the server's trusted_root.json and signing_config.json (after a key rotation,
say) and sign them as the next targets.json version with the offline targets key.
The server picks the new version up from its --tuf-repo directory on its own.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return errors.New("--dir is required")
			}
			targets, err := tufTargets(server)
			if err != nil {
				return err
			}
			if err := tuf.SignTargets(dir, targets, expiry, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "signed %s\n", filepath.Join(tuf.RepoDir(dir), "targets.json"))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "offline directory (signet tuf init)")
	f.StringVar(&server, "server", defaultServer(), "signet server whose trust material to publish (env SIGNET_SERVER)")
	f.DurationVar(&expiry, "expiry", tuf.DefaultTargetsExpiry, "lifetime of the targets metadata")
	return cmd
}

func newTUFSignRootCmd() *cobra.Command {
	var dir, server string
	var rotateRoot, rotateTargets, online bool
	var expiry time.Duration
	cmd := &cobra.Command{
		Use:   "sign-root --dir DIR",
		Short: "Sign the next root version offline: renew it, or rotate the root, targets or online key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return errors.New("--dir is required")
			}
			opts := tuf.SignRootOptions{RotateRoot: rotateRoot, RotateTargets: rotateTargets, Expiry: expiry}
			if online {
				k, err := tufOnlineKey(server)
				if err != nil {
					return err
				}
				opts.Online = k
			}
			if err := tuf.SignRoot(dir, opts); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "signed the next root version in %s\n", tuf.RepoDir(dir))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "offline directory (signet tuf init)")
	f.BoolVar(&rotateRoot, "rotate-root", false, "replace the root key (the new root is signed by the old and the new key)")
	f.BoolVar(&rotateTargets, "rotate-targets", false, "replace the targets key and re-sign targets.json with it")
	f.BoolVar(&online, "online-key-from-server", false, "trust the server's current online key for snapshot and timestamp")
	f.StringVar(&server, "server", defaultServer(), "signet server for --online-key-from-server (env SIGNET_SERVER)")
	f.DurationVar(&expiry, "expiry", tuf.DefaultRootExpiry, "lifetime of the new root")
	return cmd
}

// tufFlags are --tuf-mirror and --tuf-root: trust material from a TUF
// repository instead of a file or the server's unauthenticated copy.
type tufFlags struct {
	mirror, root string
}

func (t *tufFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.mirror, "tuf-mirror", "", "TUF repository to fetch trusted_root.json from (e.g. http://127.0.0.1:8080/tuf); needs --tuf-root")
	cmd.Flags().StringVar(&t.root, "tuf-root", "", "the TUF root.json to trust first (the operator's 1.root.json)")
}

// trustedRoot fetches trusted_root.json through TUF, or returns nil when
// no mirror is set. Trusted metadata is cached under the user's cache
// directory so that rollbacks are noticed across runs.
func (t tufFlags) trustedRoot() (*trustroot.TrustedRoot, error) {
	if t.mirror == "" && t.root == "" {
		return nil, nil
	}
	if t.mirror == "" || t.root == "" {
		return nil, errors.New("--tuf-mirror and --tuf-root go together")
	}
	root, err := os.ReadFile(t.root)
	if err != nil {
		return nil, fmt.Errorf("--tuf-root: %w", err)
	}
	cache := os.Getenv("SIGNET_TUF_CACHE")
	if cache == "" {
		if base, err := os.UserCacheDir(); err == nil {
			cache = filepath.Join(base, "signet", "tuf")
		}
	}
	files, err := tuf.Fetch(tuf.ClientOptions{Mirror: t.mirror, Root: root, CacheDir: cache, HTTPClient: httpClient}, tuf.TargetTrustedRoot)
	if err != nil {
		return nil, err
	}
	return trustroot.LoadTrustedRoot(files[tuf.TargetTrustedRoot])
}
