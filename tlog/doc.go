// Package tlog is signet's transparency log: a Rekor v2 compatible log of
// signed artifacts, built on Tessera (https://github.com/transparency-dev/tessera).
//
// A [Log] accepts Rekor v2 create-entry requests (hashedrekord v0.0.2 and dsse
// v0.0.2), verifies their signatures, appends the RFC 8785 canonical JSON of the
// resulting entry as a leaf, waits until a signed checkpoint commits to it, and
// returns a TransparencyLogEntry with an inclusion proof, exactly as rekor-tiles
// does. Checkpoints are C2SP signed notes made with an Ed25519 key; the log's
// origin is the hostname of its base URL.
//
// The read side ([Log.ReadCheckpoint], [Log.ReadTile], [Log.ReadEntryBundle])
// serves the C2SP tlog-tiles resources from whichever Tessera driver the log was
// opened with (POSIX files or MySQL).
//
// The package holds no transport code: an HTTP adapter decodes request bodies
// with [DecodeCreateEntryRequest], calls [Log.Append] and maps the errors
// ([ErrInvalidRequest], [*DuplicateError], tessera.ErrPushback) to status codes.
package tlog
