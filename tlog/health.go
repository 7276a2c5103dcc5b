package tlog

import (
	"context"
)

// Health returns nil while the log is sound, or an error wrapping
// [ErrIntegrity] once the log found stored state that disagrees with a
// checkpoint it signed (it then refuses to sign and append until repaired
// and restarted), or when its published checkpoint does not verify. A
// server answers its liveness probe with it.
func (l *Log) Health(ctx context.Context) error { return l.health.Health(ctx) }

// Ready returns nil when the log can append: it is healthy, its key can
// sign, and integrated entries are committed to by a published checkpoint
// within a bounded time. A server answers its readiness probe with it.
func (l *Log) Ready(ctx context.Context) error { return l.health.Ready(ctx) }

// IntegrityFailures counts the integrity failures the log found, for a
// metric.
func (l *Log) IntegrityFailures() uint64 { return l.guard.Failures() }
