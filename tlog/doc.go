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
// # Never signing a lie
//
// A log's checkpoints are signed through a guard (the note signer Tessera
// is given): before it signs, it proves from the tiles and entry bundles
// that the new tree extends the last checkpoint the log signed, which it
// keeps durably outside what Tessera rewrites (<dir>/.signet/signed-checkpoint,
// or the SignetSignedCheckpoint table in MySQL). At open, the published
// checkpoint, Tessera's tree state, the edge tiles and the edge entry
// bundle are checked against it. A damaged or rolled-back store makes [New]
// and [NewV1Log] fail, or a running log refuse to sign and to append, with
// an error wrapping [ErrIntegrity] ([Log.Health] reports it). Tiles and
// bundles are served only after they are checked against the latest
// checkpoint. [CheckLog] checks a whole log from scratch.
//
// The package holds no transport code: an HTTP adapter decodes request bodies
// with [DecodeCreateEntryRequest], calls [Log.Append] and maps the errors
// ([ErrInvalidRequest], [*DuplicateError], tessera.ErrPushback) to status codes.
//
// # Rekor v1 compatibility
//
// cosign ≤ 2.6 and other older clients speak Rekor v1. A [V1Log] serves them
// from a second Tessera tree, separate from the Rekor v2 log, because the two
// cannot share one: v1 clients (sigstore-go's tlog.VerifySET and
// VerifyInclusion, cosign's VerifyTLogEntryOffline) require an ECDSA log key
// whose log ID is the SHA-256 of its DER form, signed entry timestamps, and
// checkpoints whose origin is "<hostname> - <treeID>" (sigstore-go tells a
// v1 checkpoint from a v2 one by that suffix), while v2 clients need an
// Ed25519 signed-note key over the origin "<hostname>" and a tree whose
// leaves are all v2 entries (monitors and witnesses read the tiles). So a
// V1Log has its own Tessera driver (for example dir/tiles), an ECDSA P-256
// key, and a numeric tree ID; in trusted_root.json it is a second tlogs[]
// entry ([V1Log.TransparencyLogInstance]).
//
// Leaves are byte for byte Rekor v1 entry bodies: proposed entries
// (hashedrekord 0.0.1, intoto 0.0.2, dsse 0.0.1) are validated and
// canonicalized with Rekor's own type implementations ([NewV1Entry]), so the
// entry UUID is the hex RFC 6962 leaf hash of the body, as clients recompute
// it. Each response carries an inclusion proof against the latest Tessera
// checkpoint, re-signed in Rekor v1's checkpoint format, and a signed entry
// timestamp over the RFC 8785 JSON of {body, integratedTime, logID,
// logIndex}.
//
// What Tessera cannot hold lives behind two small interfaces: a
// [V1EntryStore] (per leaf: integrated time, recorded before the leaf is
// appended so that a crash cannot lose it, and log index — this is what
// makes duplicate detection and UUID lookups survive restarts) and a
// [V1SearchIndex] (artifact digest, signer identity and key hash → UUIDs),
// which [V1Log.Reindex] rebuilds from the tree. [OpenV1LogDir] keeps both
// in append-only files next to the tiles; database-backed stores can replace
// them. Read-side errors wrap [ErrInvalidQuery] (400) or os.ErrNotExist
// (404); a duplicate entry is a [*V1DuplicateError] (409).
package tlog
