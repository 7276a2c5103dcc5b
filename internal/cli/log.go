package cli

import (
	"context"
	"fmt"
	"path/filepath"

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
	var dataDir, hostname string
	cmd := &cobra.Command{
		Use:   "reindex",
		Short: "Rebuild the Rekor v1 search index (hash, identity, key → entries) from the log alone",
		Long: `Rebuild the search index behind POST /api/v1/index/retrieve from the entries in the
log. Run it with the server stopped, on the server's data directory. Keys only a
proposed entry carried (in-toto statement subjects) cannot be recovered, as with
Rekor's own backfill.`,
		Example: `  signet log reindex --data-dir ./signet-data`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := keys.Load(filepath.Join(dataDir, "keys", "tlog-v1.key"))
			if err != nil {
				return fmt.Errorf("open log key (is %s a signet data dir?): %w", dataDir, err)
			}
			ctx := context.Background()
			l, err := tlog.OpenV1LogDir(ctx, filepath.Join(dataDir, "rekor-v1"), hostname, key, tlog.DefaultOptions())
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
	return cmd
}
