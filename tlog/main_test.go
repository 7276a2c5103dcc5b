package tlog

import (
	"log/slog"
	"os"
	"testing"

	"go.uber.org/goleak"
	"k8s.io/klog/v2"
)

// TestMain keeps Tessera's informational klog lines out of test and
// benchmark output (its warnings and errors still reach stderr), and
// fails the package's tests when a goroutine outlives them.
func TestMain(m *testing.M) {
	klog.SetSlogLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	var opts []goleak.Option
	if os.Getenv("SIGNET_TEST_S3_URL") != "" {
		// Tessera's AWS driver opens a database pool for each appender
		// and never closes it (it keeps no idle connections).
		opts = append(opts, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
	}
	goleak.VerifyTestMain(m, opts...)
}
