package cli

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/server"
	"github.com/signetproject/signet/tlog"
	"github.com/signetproject/signet/tlog/rekorv1"
)

func newLogMigrateCmd() *cobra.Command {
	var dataDir, logStorage, logObjects string
	cmd := &cobra.Command{
		Use:   "migrate --log-storage mysql://… --log-objects s3://…",
		Short: "Move the logs of MySQL-only servers onto an S3-compatible object store (Tessera's AWS driver)",
		Long: `Copy the three logs (Rekor v2, Rekor v1 tree, CT) that servers run with
--log-storage mysql://… alone, on Tessera's MySQL driver, onto Tessera's AWS driver:
servers started with the same --log-storage plus --log-objects s3://… then serve
them. Each log's published checkpoint, entry bundles and hash tiles are copied to
their tlog-tiles names in the object store (the Rekor v2 log at the prefix, the v1
tree under rekor-v1/, the CT log under ct/), read back and compared, and the AWS
driver's tables in the same databases are set to the copied trees. The record of
the last signed checkpoint, the Rekor v1 entry store and the search indexes stay
where they are, in the databases. The MySQL driver's tables are only read, but
servers without --log-objects refuse the moved logs from then on (appending there
would fork them). To go back before any server appended on the object store, drop
the AWS driver's tables (SeqCoord, Seq, IntCoord, PubCoord, GCCoord) from the three
databases.

Stop every server first. A target that already holds a log is refused, and a
source whose published checkpoint lags its tree (a server killed rather than
stopped) is refused with what to do. Afterwards the copied Rekor v2 and v1 logs
are checked from scratch with the keys in --data-dir, as signet log verify does.`,
		Example: `  AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… signet log migrate --data-dir ./signet-data \
    --log-storage 'mysql://user:pass@tcp(db:3306)/signet' \
    --log-objects 's3://signet-logs?endpoint=http://s3.internal:7070'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			if logStorage == "" || logObjects == "" {
				return errors.New("give both --log-storage mysql://… (the servers' database) and --log-objects s3://… (the object store to move the logs to)")
			}
			if err := checkLogStorage(logStorage, logObjects); err != nil {
				return err
			}
			pub, v1Pub, retired, err := logKeys(dataDir)
			if err != nil {
				return err
			}
			quietTessera(cmd)
			done, err := server.MigrateLogsToAWS(ctx, logStorage, logObjects)
			for _, m := range done {
				fmt.Fprintf(out, "%s: copied tree size %d: %d entry bundles, %d tiles\n", m.Log, m.Size, m.Bundles, m.Tiles)
			}
			if err != nil {
				return err
			}
			rep, v2Err := tlog.CheckLogAWS(ctx, logStorage, logObjects, pub, retired...)
			v1Rep, v1Err := rekorv1.CheckAWS(ctx, logStorage, logObjects, v1Pub)
			if err := errors.Join(printLogCheck(out, "Rekor v2 log", rep, v2Err), printLogCheck(out, "Rekor v1 log", v1Rep, v1Err)); err != nil {
				return fmt.Errorf("the copy does not check out; do not start servers on it: %w", err)
			}
			fmt.Fprintf(out, "migrated: start the servers with --log-storage and --log-objects %s\n", logObjects)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "./signet-data", "a server's data directory, for the log keys the copies are checked with")
	f.StringVar(&logStorage, "log-storage", "", "the servers' --log-storage: mysql://user:pass@tcp(host:port)/db")
	f.StringVar(&logObjects, "log-objects", "", "where to move the logs: "+logObjectsUsage)
	return cmd
}

// quietTessera sends what Tessera logs through klog to stderr, warnings
// and errors only (its AWS driver greets every opening at length).
func quietTessera(cmd *cobra.Command) {
	klog.SetSlogLogger(slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// logKeys loads the public keys of a data directory's Rekor v2 log (with
// the keys it rotated out) and Rekor v1 log.
func logKeys(dataDir string) (ed25519.PublicKey, *ecdsa.PublicKey, []ed25519.PublicKey, error) {
	key, err := keys.Load(filepath.Join(dataDir, "keys", "tlog.key"))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open log key (is %s a signet data dir?): %w", dataDir, err)
	}
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return nil, nil, nil, fmt.Errorf("log key %s is not an Ed25519 key", filepath.Join(dataDir, "keys", "tlog.key"))
	}
	v1Key, err := keys.Load(filepath.Join(dataDir, "keys", "tlog-v1.key"))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open Rekor v1 log key: %w", err)
	}
	v1Pub, ok := v1Key.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, nil, nil, fmt.Errorf("the Rekor v1 log key is not an ECDSA key")
	}
	retired, err := server.RetiredLogKeys(dataDir)
	if err != nil {
		return nil, nil, nil, err
	}
	return pub, v1Pub, retired, nil
}
