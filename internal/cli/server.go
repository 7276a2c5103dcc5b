package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/signetproject/signet/server"
)

func newServerCmd() *cobra.Command {
	var (
		addr, dataDir, configPath, publicURL, logFormat, logStorage, logObjects, tufRepo, keysFrom, ctRoots string
		ctNotAfterStart, ctNotAfterLimit                                                                    string
		dev, devAllowRemote                                                                                 bool
		tufRefresh                                                                                          time.Duration
		ctSubmissionRate                                                                                    float64
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the signet server (keyless CA, transparency log, timestamp authority, trust root) on one port",
		Long: `Run the signet server: a Fulcio-compatible keyless certificate authority plus
trusted_root.json and signing_config.json, on one HTTP port.

Keys and certificates are created in --data-dir on first start (mode 0600) and
reused afterwards, so the trust root stays stable across restarts. Every
certificate carries an SCT from the server's own CT log (static-ct-api at
<url>/ct/). As an RFC 6962 log its URL is <url>/ct (submissions go to
<url>/ct/ct/v1/add-pre-chain); --ct-roots lets other CAs, such as a Fulcio
with --ct-log-url=<url>/ct, log into it (without it the log takes no
submissions, and it never takes its own CA's chains, logged in-process). A
certificate submitted again gets the SCT of the entry the log holds instead of
a new entry (for recent entries; the memory is not kept across restarts);
expired certificates are refused, and --ct-not-after-start/--ct-not-after-limit
bound the NotAfter of submitted ones; --ct-submission-rate bounds how many it
takes a second. With --tuf-repo the trust material is
also published as a TUF repository at <url>/tuf/ (signet tuf --help); signet
server rotate-keys rotates the keys of a stopped server.

--dev mounts a built-in OIDC issuer at <url>/oidc that signs a token for any
identity ("signet dev token"). It is INSECURE and only for local development:
it is refused on a non-loopback --addr unless --dev-allow-remote is given too.
When a data directory that ran --dev starts without it, the dev issuer's key is
retired (renamed), so its tokens never verify again, and the server says so.

/healthz is the liveness probe (503 when a transparency log found its stored
data disagreeing with a checkpoint it signed); /readyz is the readiness probe
(each log can append, each key can sign, an OIDC issuer is reachable).`,
		Example: `  signet server --dev
  signet server --addr 0.0.0.0:8080 --public-url https://signet.example.com --config signet.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctStart, err := parseOptionalTime("--ct-not-after-start", ctNotAfterStart)
			if err != nil {
				return err
			}
			ctLimit, err := parseOptionalTime("--ct-not-after-limit", ctNotAfterLimit)
			if err != nil {
				return err
			}
			var cfg server.Config
			if configPath != "" {
				if cfg, err = server.LoadConfig(configPath); err != nil {
					return err
				}
			}
			if len(cfg.AllIssuers()) == 0 && !dev {
				return fmt.Errorf("no OIDC issuers: pass --config with an issuers list, or --dev for the built-in development issuer")
			}
			logger, err := newLogger(logFormat)
			if err != nil {
				return err
			}
			klog.SetSlogLogger(logger.With("component", "tessera")) // Tessera logs through klog
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			defer ln.Close()
			if ip := ln.Addr().(*net.TCPAddr).IP; dev && !ip.IsLoopback() && !devAllowRemote {
				return fmt.Errorf("--dev on %s: the INSECURE dev issuer would sign tokens for any identity for anyone who can reach this address; "+
					"listen on a loopback address (--addr 127.0.0.1:8080), or pass --dev-allow-remote if you really mean it", ln.Addr())
			}
			base := publicURL
			if base == "" {
				base = "http://" + advertisedAddr(ln.Addr().(*net.TCPAddr))
			}
			srv, err := server.New(server.Options{
				DataDir: dataDir, BaseURL: base, Config: cfg, InsecureDevIssuer: dev, Logger: logger, LogStorage: logStorage, LogObjects: logObjects,
				TUFRepo: tufRepo, TUFRefreshInterval: tufRefresh, KeysFrom: keysFrom, CTRootsFile: ctRoots,
				CTNotAfterStart: ctStart, CTNotAfterLimit: ctLimit, CTSubmissionRate: ctSubmissionRate,
			})
			if err != nil {
				return err
			}
			if dev {
				logger.Warn("INSECURE development OIDC issuer enabled: anyone can get a certificate for any identity from this server",
					"issuer", srv.DevIssuer().URL(), "listen", ln.Addr().String(), "remote_allowed", devAllowRemote)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			fmt.Fprintf(cmd.OutOrStdout(), "signet server listening on %s\n", base)
			err = srv.Serve(ctx, ln)
			closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if cerr := srv.Close(closeCtx); err == nil {
				err = cerr
			}
			logger.Info("signet server stopped")
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "host:port to listen on (port 0 picks a free port)")
	f.StringVar(&dataDir, "data-dir", "./signet-data", "directory for keys, certificates and log data")
	f.StringVar(&configPath, "config", "", "YAML config file listing trusted OIDC issuers")
	f.StringVar(&publicURL, "public-url", "", "URL clients reach this server at (default http://<addr>)")
	f.BoolVar(&dev, "dev", false, "enable the built-in INSECURE development OIDC issuer at <url>/oidc (loopback addresses only)")
	f.BoolVar(&devAllowRemote, "dev-allow-remote", false, "let --dev listen on a non-loopback address: INSECURE, anyone reaching it gets certificates for any identity")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json (logs go to stderr)")
	f.StringVar(&tufRepo, "tuf-repo", "", "serve this TUF repository (the repo/ directory of signet tuf init) at <url>/tuf/, signing snapshot and timestamp online")
	f.DurationVar(&tufRefresh, "tuf-refresh", 10*time.Second, "how often to reread --tuf-repo and renew the online snapshot and timestamp")
	f.StringVar(&logStorage, "log-storage", "", "transparency log storage: empty for files in --data-dir, or mysql://user:pass@tcp(host:port)/db (shared by replicas)")
	f.StringVar(&logObjects, "log-objects", "", logObjectsUsage)
	f.StringVar(&keysFrom, "keys-from", "", "directory holding the complete key material (a mounted Secret from \"signet server init-keys --secret\"); no key is created")
	f.StringVar(&ctRoots, "ct-roots", "", "PEM file of CA certificates the CT log also accepts chains to (besides the CA's root), so another CA such as Fulcio (--ct-log-url=<url>/ct) can log into it; without it the CT log takes no submissions")
	f.StringVar(&ctNotAfterStart, "ct-not-after-start", "", "RFC 3339 time: the CT log refuses submitted certificates expiring before it (expired ones are always refused; the server's own CA is not held to it)")
	f.Float64Var(&ctSubmissionRate, "ct-submission-rate", 0, "most RFC 6962 submissions a second the CT log takes from all clients together (bursts of a second's worth); beyond it they get 429 with Retry-After; 0 for no bound (the server's own CA is not counted)")
	f.StringVar(&ctNotAfterLimit, "ct-not-after-limit", "", "RFC 3339 time: the CT log refuses submitted certificates expiring at or after it, e.g. far-future ones (the server's own CA is not held to it)")
	cmd.AddCommand(newRotateKeysCmd(), newServerInitKeysCmd())
	return cmd
}

func newRotateKeysCmd() *cobra.Command {
	var dataDir string
	var which []string
	cmd := &cobra.Command{
		Use:   "rotate-keys --data-dir DIR",
		Short: "Rotate the CA, log, TSA and CT keys of a stopped server",
		Long: `Replace the keys of a stopped server's data directory: the CA's issuing key (a new
intermediate certificate under the same root), the Rekor v2 log's checkpoint key,
the timestamp authority's key and chain, the CT log's key. The retired public
material stays in trusted_root.json with validFor ending now, so signatures made
before still verify and nothing signed by a retired key later does. Then start
the server and publish its new trusted_root.json with signet tuf sign-targets;
TUF clients pick it up on their next refresh. The Rekor v1 API key is not rotated.`,
		Example: `  signet server rotate-keys --data-dir ./signet-data --keys ca,tlog,tsa,ct`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := server.RotateKeys(dataDir, which, time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rotated %s in %s; restart the server, then signet tuf sign-targets\n", strings.Join(which, ", "), dataDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "./signet-data", "data directory of the stopped server")
	cmd.Flags().StringSliceVar(&which, "keys", server.RotatableKeys, "keys to rotate: ca, tlog, tsa, ct")
	return cmd
}

// advertisedAddr turns a listening address into one clients can dial:
// an unspecified IP (0.0.0.0, ::) becomes loopback.
func advertisedAddr(a *net.TCPAddr) string {
	ip := a.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(a.Port))
}

func newLogger(format string) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, nil)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", format)
	}
}

// parseOptionalTime parses the RFC 3339 value of flag, if any.
func parseOptionalTime(flag, value string) (time.Time, error) {
	if value == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time (e.g. 2027-01-01T00:00:00Z): %w", flag, value, err)
	}
	return t, nil
}
