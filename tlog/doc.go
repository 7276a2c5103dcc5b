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
// opened with (see package [storage]).
//
// # Never signing a lie
//
// A log's checkpoints are signed through a guard (the note signer Tessera
// is given): before it signs, it proves from the tiles and entry bundles
// that the new tree extends the last checkpoint the log signed, which it
// keeps durably outside what Tessera rewrites (<dir>/.signet/signed-checkpoint,
// or the SignetSignedCheckpoint table in MySQL). At open, the published
// checkpoint, Tessera's tree state, the edge tiles and the edge entry
// bundle are checked against it. A damaged or rolled-back store makes [New]
// (and the Rekor v1 log's constructors) fail, or a running log refuse to sign and to append, with
// an error wrapping [ErrIntegrity] ([Log.Health] reports it). Tiles and
// bundles are served only after they are checked against the latest
// checkpoint. [CheckLog] checks a whole log from scratch.
//
// The package holds no transport code: an HTTP adapter decodes request bodies
// with [DecodeCreateEntryRequest], calls [Log.Append] and maps the errors
// ([ErrInvalidRequest], [*DuplicateError], tessera.ErrPushback) to status codes.
//
// # Packages
//
// As Tessera splits its drivers from its core, the log is split by what
// it serves: this package is the Rekor v2 log; tlog/rekorv1 serves Rekor
// v1 clients from a tree of its own; tlog/storage opens the Tessera
// drivers, each with the signed-checkpoint record the guard needs; and
// tlog/internal holds the machinery the logs (and the CT log, through
// [OpenGuarded]) share: proofs from tiles and the consistency guard.
package tlog
