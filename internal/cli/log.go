package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/search"
	"github.com/signetproject/signet/server"
	"github.com/signetproject/signet/tlog"
	"github.com/signetproject/signet/tlog/rekorv1"
	"github.com/signetproject/signet/tlog/storage"
)

func newLogCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Maintain a server's transparency logs",
	}
	cmd.AddCommand(newLogReindexCmd(), newLogVerifyCmd(), newLogMigrateCmd())
	return cmd
}

// logObjectsUsage documents --log-objects wherever a command takes it.
const logObjectsUsage = "with a mysql:// --log-storage: keep the logs' checkpoints, tiles and entry bundles in this S3-compatible object store, " +
	"s3://BUCKET[/PREFIX][?endpoint=http://host:port&region=REGION] (Tessera's AWS driver; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the AWS SDK's other sources)"

func newLogVerifyCmd() *cobra.Command {
	var dataDir, logStorage, logObjects, logURL, trustedRoot string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check a transparency log from scratch: every entry bundle, every tile, root = checkpoint",
		Long: `Check a transparency log from scratch: the checkpoint verifies with the log's key,
every entry bundle holds the entries its width says, every hash tile holds exactly
the hashes the entries give, and the root the entries give equals the checkpoint's.

On a server's data directory (the default), it checks both logs (Rekor v2 and v1)
with the keys there, and also the log's record of the last checkpoint it signed,
Tessera's tree state and the entries integrated beyond the published checkpoint; run
it with the server stopped, or expect the newest entries to race the check. With
--log-storage mysql://…, it reads the logs from the database instead (and the keys
from --data-dir), and with --log-objects too, from the object store and database.

With --url, it checks a remote log's tiles over HTTP against the Rekor v2 log key that
--trusted-root lists for that URL (or, without it, the server's own
/trusted_root.json, which only proves the log is self-consistent).

Each problem found is printed on a line of its own; the exit status is 1 if any.`,
		Example: `  signet log verify --data-dir ./signet-data
  signet log verify --url https://signet.example.com --trusted-root trusted_root.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			if logURL != "" {
				rep, err := verifyRemoteLog(ctx, logURL, trustedRoot)
				return printLogCheck(out, "log "+logURL, rep, err)
			}
			key, err := keys.Load(filepath.Join(dataDir, "keys", "tlog.key"))
			if err != nil {
				return fmt.Errorf("open log key (is %s a signet data dir?): %w", dataDir, err)
			}
			pub, ok := key.Public().(ed25519.PublicKey)
			if !ok {
				return fmt.Errorf("log key %s is not an Ed25519 key", filepath.Join(dataDir, "keys", "tlog.key"))
			}
			v1Key, err := keys.Load(filepath.Join(dataDir, "keys", "tlog-v1.key"))
			if err != nil {
				return fmt.Errorf("open Rekor v1 log key: %w", err)
			}
			v1Pub, ok := v1Key.Public().(*ecdsa.PublicKey)
			if !ok {
				return fmt.Errorf("the Rekor v1 log key is not an ECDSA key")
			}
			retired, err := server.RetiredLogKeys(dataDir)
			if err != nil {
				return err
			}
			var rep, v1Rep *tlog.CheckReport
			var v2Err, v1Err error
			if err := checkLogStorage(logStorage, logObjects); err != nil {
				return err
			}
			quietTessera(cmd)
			switch {
			case logStorage == "":
				rep, v2Err = tlog.CheckLogDir(ctx, filepath.Join(dataDir, "log"), pub, retired...)
				v1Rep, v1Err = rekorv1.CheckDir(ctx, filepath.Join(dataDir, "rekor-v1"), v1Pub)
			case logObjects != "":
				rep, v2Err = tlog.CheckLogAWS(ctx, logStorage, logObjects, pub, retired...)
				v1Rep, v1Err = rekorv1.CheckAWS(ctx, logStorage, logObjects, v1Pub)
			case strings.HasPrefix(logStorage, "mysql://"):
				rep, v2Err = tlog.CheckLogMySQL(ctx, logStorage, pub, retired...)
				v1Rep, v1Err = rekorv1.CheckMySQL(ctx, logStorage, v1Pub)
			default:
				return fmt.Errorf("unknown --log-storage %q: want empty (files in the data dir) or mysql://user:pass@tcp(host:port)/db", logStorage)
			}
			return errors.Join(printLogCheck(out, "Rekor v2 log", rep, v2Err), printLogCheck(out, "Rekor v1 log", v1Rep, v1Err))
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "./signet-data", "the server's data directory")
	f.StringVar(&logStorage, "log-storage", "", "the server's --log-storage: empty for files in --data-dir, or mysql://user:pass@tcp(host:port)/db")
	f.StringVar(&logObjects, "log-objects", "", "the server's --log-objects: "+logObjectsUsage)
	f.StringVar(&logURL, "url", "", "check the Rekor v2 log served at this URL instead of a data directory")
	f.StringVar(&trustedRoot, "trusted-root", "", "with --url: trusted_root.json listing the log's key (default: the server's own)")
	return cmd
}

// verifyRemoteLog checks the Rekor v2 log at base over HTTP.
func verifyRemoteLog(ctx context.Context, base, trustedRoot string) (*tlog.CheckReport, error) {
	base = strings.TrimRight(base, "/")
	u, err := url.Parse(base + "/")
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("--url %q is not an absolute URL", base)
	}
	tr, err := loadTrustedRoot(trustedRoot, base)
	if err != nil {
		return nil, err
	}
	// Every key the trusted root lists for the log counts: after a key
	// rotation, the checkpoint may still be the retired key's.
	var vs []note.Verifier
	for _, l := range tr.Tlogs {
		if k, ok := l.PublicKey.(ed25519.PublicKey); ok && strings.TrimRight(l.BaseURL, "/") == base {
			v, err := tlog.CheckpointVerifier(u.Hostname(), k)
			if err != nil {
				return nil, err
			}
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("the trusted root lists no Rekor v2 (Ed25519) log at %s", base)
	}
	src, err := client.NewHTTPFetcher(u, httpClient)
	if err != nil {
		return nil, err
	}
	return tlog.CheckLog(ctx, src, u.Hostname(), vs)
}

// printLogCheck prints what a log check found and returns an error if it
// found problems or could not check.
func printLogCheck(w io.Writer, name string, rep *tlog.CheckReport, err error) error {
	if rep != nil {
		for _, p := range rep.Problems {
			fmt.Fprintf(w, "%s: %s\n", name, p)
		}
	}
	switch {
	case err != nil && rep == nil:
		return fmt.Errorf("%s: %w", name, err)
	case err != nil:
		return fmt.Errorf("%s: %d problems: %w", name, len(rep.Problems), err)
	}
	fmt.Fprintf(w, "%s: ok: %d entries, %d entry bundles, %d tiles; root %x = checkpoint (size %d)\n",
		name, rep.Size, rep.Bundles, rep.Tiles, rep.Checkpoint.Hash, rep.Checkpoint.Size)
	return nil
}

func newLogReindexCmd() *cobra.Command {
	var dataDir, hostname, logStorage, logObjects string
	cmd := &cobra.Command{
		Use:   "reindex",
		Short: "Rebuild the search indexes (hash, identity, key → entries) from the logs alone",
		Long: `Rebuild, from the entries in the logs' tiles, the search index behind
POST /api/v1/index/retrieve (the Rekor v1 API) and the index of the web UI and
/api/search, which covers both the Rekor v2 and the v1 log. Keys only a proposed
entry carried (in-toto statement subjects) cannot be recovered for the v1 API's
index, as with Rekor's own backfill; the web UI's index recovers them from the
envelopes the server kept. An index with records that cannot be read (a damaged
disk), which the server refuses to start on, is rebuilt too: the damaged records
are dropped and counted, and the first-seen times the others hold are kept.

With files (the default), run it with the server stopped, on the server's data
directory. With --log-storage mysql://…, give the database the servers share, the
data directory of one of them (for the log keys) and their public hostname
(and their --log-objects if they have one); servers may keep running, but their searches miss entries until it finishes.`,
		Example: `  signet log reindex --data-dir ./signet-data
  signet log reindex --data-dir ./signet-data --hostname signet.example.com \
    --log-storage 'mysql://user:pass@tcp(db:3306)/signet'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if err := checkLogStorage(logStorage, logObjects); err != nil {
				return err
			}
			quietTessera(cmd)
			n, dropped, err := reindexV1(dataDir, hostname, logStorage, logObjects)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "rebuilt the Rekor v1 API's search index: %d entries%s\n", n, droppedNote(dropped))
			v2, v1, dropped, err := reindexSearch(dataDir, hostname, logStorage, logObjects)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "rebuilt the search index: %d Rekor v2 and %d Rekor v1 entries%s\n", v2, v1, droppedNote(dropped))
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "./signet-data", "the server's data directory")
	cmd.Flags().StringVar(&hostname, "hostname", "127.0.0.1", "hostname of the server's public URL (the log's checkpoint origin)")
	cmd.Flags().StringVar(&logStorage, "log-storage", "", "the server's --log-storage: empty for files in --data-dir, or mysql://user:pass@tcp(host:port)/db")
	cmd.Flags().StringVar(&logObjects, "log-objects", "", "the server's --log-objects: "+logObjectsUsage)
	return cmd
}

// droppedNote says how many unreadable records of an old index a rebuild
// dropped, if any.
func droppedNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (dropped %d damaged records of the old index)", n)
}

func checkLogStorage(logStorage, logObjects string) error {
	if logStorage != "" && !strings.HasPrefix(logStorage, "mysql://") {
		return fmt.Errorf("unknown --log-storage %q: want empty (files in the data dir) or mysql://user:pass@tcp(host:port)/db", logStorage)
	}
	if logObjects != "" && logStorage == "" {
		return fmt.Errorf("--log-objects %q needs a --log-storage mysql://… database to sequence the logs in", logObjects)
	}
	return nil
}

// openV1LogToReindex opens the Rekor v1 log for [rekorv1.Log.Reindex]: a
// file-based search index opens even with records it cannot read, and
// skipped says how many it skipped.
func openV1LogToReindex(ctx context.Context, dataDir, hostname, logStorage, logObjects string) (l *rekorv1.Log, skipped int, err error) {
	if err := checkLogStorage(logStorage, logObjects); err != nil {
		return nil, 0, err
	}
	key, err := keys.Load(filepath.Join(dataDir, "keys", "tlog-v1.key"))
	if err != nil {
		return nil, 0, fmt.Errorf("open log key (is %s a signet data dir?): %w", dataDir, err)
	}
	if logStorage == "" {
		return rekorv1.OpenDirToReindex(ctx, filepath.Join(dataDir, "rekor-v1"), hostname, key, tlog.DefaultOptions())
	}
	if logObjects != "" {
		l, err = rekorv1.OpenAWS(ctx, logStorage, logObjects, hostname, key, tlog.DefaultOptions())
	} else {
		l, err = rekorv1.OpenMySQL(ctx, logStorage, hostname, key, tlog.DefaultOptions())
	}
	return l, 0, err
}

// reindexV1 rebuilds the Rekor v1 API's search index and returns the
// log's size and how many unreadable records of the old index it dropped.
func reindexV1(dataDir, hostname, logStorage, logObjects string) (size int64, dropped int, err error) {
	ctx := context.Background()
	l, dropped, err := openV1LogToReindex(ctx, dataDir, hostname, logStorage, logObjects)
	if err != nil {
		return 0, 0, err
	}
	if err := l.Reindex(ctx); err != nil {
		l.Close(ctx)
		return 0, 0, fmt.Errorf("reindex: %w", err)
	}
	info, err := l.LogInfo(ctx)
	if cerr := l.Close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, 0, err
	}
	return info.TreeSize, dropped, nil
}

// reindexSearch rebuilds the web UI's search index over both logs and
// returns their sizes and how many unreadable records of the old index it
// dropped.
func reindexSearch(dataDir, hostname, logStorage, logObjects string) (v2Size, v1Size uint64, dropped int, err error) {
	ctx := context.Background()
	key, err := keys.Load(filepath.Join(dataDir, "keys", "tlog.key"))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("open log key (is %s a signet data dir?): %w", dataDir, err)
	}
	var (
		driver    tessera.Driver
		db        *sql.DB
		index     search.Index
		envelopes search.EnvelopeStore
		closers   []func() error
	)
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			err = errors.Join(err, closers[i]())
		}
	}()
	opts := tlog.DefaultOptions()
	if logStorage == "" {
		if driver, err = storage.NewPOSIX(ctx, filepath.Join(dataDir, "log")); err != nil {
			return 0, 0, 0, err
		}
		x, env, skipped, err := search.OpenFilesToReindex(filepath.Join(dataDir, "search"))
		if err != nil {
			return 0, 0, 0, err
		}
		closers = append(closers, x.Close)
		index, envelopes, dropped = x, env, skipped
	} else {
		if err := checkLogStorage(logStorage, logObjects); err != nil {
			return 0, 0, 0, err
		}
		if logObjects != "" {
			driver, db, err = storage.NewAWS(ctx, logStorage, logObjects)
		} else {
			driver, db, err = storage.NewMySQL(ctx, logStorage)
		}
		if err != nil {
			return 0, 0, 0, err
		}
		closers = append(closers, db.Close)
		if index, err = search.NewMySQLIndex(ctx, db); err != nil {
			return 0, 0, 0, err
		}
		if envelopes, err = search.NewMySQLEnvelopeStore(ctx, db); err != nil {
			return 0, 0, 0, err
		}
		opts.CheckpointInterval = max(storage.MySQLMinCheckpointInterval, storage.AWSMinCheckpointInterval)
	}
	v2, err := tlog.New(ctx, driver, hostname, key, opts)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("open the Rekor v2 log: %w", err)
	}
	closers = append(closers, func() error { return v2.Close(ctx) })
	v1, _, err := openV1LogToReindex(ctx, dataDir, hostname, logStorage, logObjects)
	if err != nil {
		return 0, 0, 0, err
	}
	closers = append(closers, func() error { return v1.Close(ctx) })
	svc, err := search.NewService(index, envelopes, v2, v1)
	if err != nil {
		return 0, 0, 0, err
	}
	if err := svc.Reindex(ctx); err != nil {
		return 0, 0, 0, err
	}
	v2Size, v1Size, err = svc.Sizes(ctx)
	return v2Size, v1Size, dropped, err
}
