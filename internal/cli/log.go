package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/transparency-dev/tessera"

	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/search"
	"github.com/signetproject/signet/tlog"
)

func newLogCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Maintain a server's transparency logs",
	}
	cmd.AddCommand(newLogReindexCmd())
	return cmd
}

func newLogReindexCmd() *cobra.Command {
	var dataDir, hostname, logStorage string
	cmd := &cobra.Command{
		Use:   "reindex",
		Short: "Rebuild the search indexes (hash, identity, key → entries) from the logs alone",
		Long: `Rebuild, from the entries in the logs' tiles, the search index behind
POST /api/v1/index/retrieve (the Rekor v1 API) and the index of the web UI and
/api/search, which covers both the Rekor v2 and the v1 log. Keys only a proposed
entry carried (in-toto statement subjects) cannot be recovered for the v1 API's
index, as with Rekor's own backfill; the web UI's index recovers them from the
envelopes the server kept.

With files (the default), run it with the server stopped, on the server's data
directory. With --log-storage mysql://…, give the database the servers share, the
data directory of one of them (for the log keys) and their public hostname;
servers may keep running, but their searches miss entries until it finishes.`,
		Example: `  signet log reindex --data-dir ./signet-data
  signet log reindex --data-dir ./signet-data --hostname signet.example.com \
    --log-storage 'mysql://user:pass@tcp(db:3306)/signet'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			n, err := reindexV1(dataDir, hostname, logStorage)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "reindexed %d entries\n", n)
			v2, v1, err := reindexSearch(dataDir, hostname, logStorage)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "rebuilt the search index: %d Rekor v2 and %d Rekor v1 entries\n", v2, v1)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "./signet-data", "the server's data directory")
	cmd.Flags().StringVar(&hostname, "hostname", "127.0.0.1", "hostname of the server's public URL (the log's checkpoint origin)")
	cmd.Flags().StringVar(&logStorage, "log-storage", "", "the server's --log-storage: empty for files in --data-dir, or mysql://user:pass@tcp(host:port)/db")
	return cmd
}

func checkLogStorage(logStorage string) error {
	if logStorage != "" && !strings.HasPrefix(logStorage, "mysql://") {
		return fmt.Errorf("unknown --log-storage %q: want empty (files in the data dir) or mysql://user:pass@tcp(host:port)/db", logStorage)
	}
	return nil
}

func openV1Log(ctx context.Context, dataDir, hostname, logStorage string) (*tlog.V1Log, error) {
	if err := checkLogStorage(logStorage); err != nil {
		return nil, err
	}
	key, err := keys.Load(filepath.Join(dataDir, "keys", "tlog-v1.key"))
	if err != nil {
		return nil, fmt.Errorf("open log key (is %s a signet data dir?): %w", dataDir, err)
	}
	if logStorage == "" {
		return tlog.OpenV1LogDir(ctx, filepath.Join(dataDir, "rekor-v1"), hostname, key, tlog.DefaultOptions())
	}
	return tlog.OpenV1LogMySQL(ctx, logStorage, hostname, key, tlog.DefaultOptions())
}

// reindexV1 rebuilds the Rekor v1 API's search index and returns the
// log's size.
func reindexV1(dataDir, hostname, logStorage string) (int64, error) {
	ctx := context.Background()
	l, err := openV1Log(ctx, dataDir, hostname, logStorage)
	if err != nil {
		return 0, err
	}
	if err := l.Reindex(ctx); err != nil {
		l.Close(ctx)
		return 0, fmt.Errorf("reindex: %w", err)
	}
	info, err := l.LogInfo(ctx)
	if cerr := l.Close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	return info.TreeSize, nil
}

// reindexSearch rebuilds the web UI's search index over both logs and
// returns their sizes.
func reindexSearch(dataDir, hostname, logStorage string) (v2Size, v1Size uint64, err error) {
	ctx := context.Background()
	key, err := keys.Load(filepath.Join(dataDir, "keys", "tlog.key"))
	if err != nil {
		return 0, 0, fmt.Errorf("open log key (is %s a signet data dir?): %w", dataDir, err)
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
		if driver, err = tlog.NewPOSIXDriver(ctx, filepath.Join(dataDir, "log")); err != nil {
			return 0, 0, err
		}
		x, env, err := search.OpenFiles(filepath.Join(dataDir, "search"))
		if err != nil {
			return 0, 0, err
		}
		closers = append(closers, x.Close)
		index, envelopes = x, env
	} else {
		if err := checkLogStorage(logStorage); err != nil {
			return 0, 0, err
		}
		if driver, db, err = tlog.NewMySQLDriver(ctx, logStorage); err != nil {
			return 0, 0, err
		}
		closers = append(closers, db.Close)
		if index, err = search.NewMySQLIndex(ctx, db); err != nil {
			return 0, 0, err
		}
		if envelopes, err = search.NewMySQLEnvelopeStore(ctx, db); err != nil {
			return 0, 0, err
		}
		opts.CheckpointInterval = tlog.MySQLMinCheckpointInterval
	}
	v2, err := tlog.New(ctx, driver, hostname, key, opts)
	if err != nil {
		return 0, 0, fmt.Errorf("open the Rekor v2 log: %w", err)
	}
	closers = append(closers, func() error { return v2.Close(ctx) })
	v1, err := openV1Log(ctx, dataDir, hostname, logStorage)
	if err != nil {
		return 0, 0, err
	}
	closers = append(closers, func() error { return v1.Close(ctx) })
	svc, err := search.NewService(index, envelopes, v2, v1)
	if err != nil {
		return 0, 0, err
	}
	if err := svc.Reindex(ctx); err != nil {
		return 0, 0, err
	}
	return svc.Sizes(ctx)
}
