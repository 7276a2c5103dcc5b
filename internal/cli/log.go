package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/signetproject/signet/keys"
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
		Short: "Rebuild the Rekor v1 search index (hash, identity, key → entries) from the log alone",
		Long: `Rebuild the search index behind POST /api/v1/index/retrieve from the entries in the
log. Keys only a proposed entry carried (in-toto statement subjects) cannot be
recovered, as with Rekor's own backfill.

With files (the default), run it with the server stopped, on the server's data
directory. With --log-storage mysql://…, give the database the servers share, the
data directory of one of them (for the v1 log key) and their public hostname;
servers may keep running, but their searches miss entries until it finishes.`,
		Example: `  signet log reindex --data-dir ./signet-data
  signet log reindex --data-dir ./signet-data --hostname signet.example.com \
    --log-storage 'mysql://user:pass@tcp(db:3306)/signet'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := keys.Load(filepath.Join(dataDir, "keys", "tlog-v1.key"))
			if err != nil {
				return fmt.Errorf("open log key (is %s a signet data dir?): %w", dataDir, err)
			}
			ctx := context.Background()
			var l *tlog.V1Log
			switch {
			case logStorage == "":
				l, err = tlog.OpenV1LogDir(ctx, filepath.Join(dataDir, "rekor-v1"), hostname, key, tlog.DefaultOptions())
			case strings.HasPrefix(logStorage, "mysql://"):
				l, err = tlog.OpenV1LogMySQL(ctx, logStorage, hostname, key, tlog.DefaultOptions())
			default:
				err = fmt.Errorf("unknown --log-storage %q: want empty (files in the data dir) or mysql://user:pass@tcp(host:port)/db", logStorage)
			}
			if err != nil {
				return err
			}
			if err := l.Reindex(ctx); err != nil {
				l.Close(ctx)
				return fmt.Errorf("reindex: %w", err)
			}
			info, err := l.LogInfo(ctx)
			if cerr := l.Close(ctx); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "reindexed %d entries\n", info.TreeSize)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "./signet-data", "the server's data directory")
	cmd.Flags().StringVar(&hostname, "hostname", "127.0.0.1", "hostname of the server's public URL (the log's checkpoint origin)")
	cmd.Flags().StringVar(&logStorage, "log-storage", "", "the server's --log-storage: empty for files in --data-dir, or mysql://user:pass@tcp(host:port)/db")
	return cmd
}
