package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/signetproject/signet/tlog/rekorv1"
	"github.com/signetproject/signet/tlog/storage"
)

// LogMigration is what MigrateLogsToAWS copied of one log.
type LogMigration struct {
	// Log names the log: "Rekor v2 log", "Rekor v1 log" or "CT log".
	Log string
	storage.MigrateReport
}

// MigrateLogsToAWS copies the server's three logs from Tessera's MySQL
// driver (Options.LogStorage alone) onto its AWS driver (LogStorage with
// Options.LogObjects = objects), each with [storage.MigrateMySQLToAWS]:
// the Rekor v2 log, the Rekor v1 tree and the CT log, each into its own
// place under objects and its own database's object-store tables. The
// servers must be stopped; the source is only read. It stops at the first
// log that fails, returning what it copied before. Check the copies from
// scratch afterwards (tlog.CheckLogAWS, tlog.CheckV1LogAWS).
func MigrateLogsToAWS(ctx context.Context, logStorage, objects string) ([]LogMigration, error) {
	if !strings.HasPrefix(logStorage, "mysql://") {
		return nil, fmt.Errorf("--log-storage %q: a log migrates from a mysql://user:pass@tcp(host:port)/db database", storage.RedactDSN(logStorage))
	}
	if _, err := storage.ParseS3URL(objects); err != nil {
		return nil, err
	}
	logs := []struct {
		name, dbSuffix, sub string
		entriesPath         func(uint64, uint8) string
	}{
		{"Rekor v2 log", "", "", nil},
		{"Rekor v1 log", rekorv1.MySQLDatabaseSuffix, rekorv1.ObjectsPrefix, nil},
		{"CT log", ctMySQLDatabaseSuffix, CTObjectsPrefix, storage.CTEntriesPath},
	}
	var done []LogMigration
	for _, l := range logs {
		rep, err := storage.MigrateMySQLToAWS(ctx, logStorage, l.dbSuffix, objects, l.sub, l.entriesPath)
		if err != nil {
			return done, fmt.Errorf("%s: %w", l.name, err)
		}
		done = append(done, LogMigration{Log: l.name, MigrateReport: *rep})
	}
	return done, nil
}
