package server_test

import (
	"log/slog"
	"os"
	"testing"

	"k8s.io/klog/v2"
)

// TestMain keeps Tessera's informational klog lines out of test and
// benchmark output; its warnings and errors still reach stderr.
func TestMain(m *testing.M) {
	klog.SetSlogLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}
