// Package rekorv1 is signet's Rekor v1 API, for cosign ≤ 2.6 and other
// older clients that speak Rekor v1. A [Log] serves them from a second Tessera tree, separate from the Rekor v2 log, because the two
// cannot share one: v1 clients (sigstore-go's tlog.VerifySET and
// VerifyInclusion, cosign's VerifyTLogEntryOffline) require an ECDSA log key
// whose log ID is the SHA-256 of its DER form, signed entry timestamps, and
// checkpoints whose origin is "<hostname> - <treeID>" (sigstore-go tells a
// v1 checkpoint from a v2 one by that suffix), while v2 clients need an
// Ed25519 signed-note key over the origin "<hostname>" and a tree whose
// leaves are all v2 entries (monitors and witnesses read the tiles). So a
// Log has its own Tessera driver (for example dir/tiles), an ECDSA P-256
// key, and a numeric tree ID; in trusted_root.json it is a second tlogs[]
// entry ([Log.TransparencyLogInstance]).
//
// Leaves are byte for byte Rekor v1 entry bodies: proposed entries
// (hashedrekord 0.0.1, intoto 0.0.2, dsse 0.0.1) are validated and
// canonicalized as Rekor v1 does ([NewEntry]; one file per kind, pki.go for
// PEM keys and certificates, envelope.go for DSSE verification), so the
// entry UUID is the hex RFC 6962 leaf hash of the body, as clients
// recompute it. Rekor's own types are a test dependency only: differential
// tests and a fuzz target check that both accept the same entries with the
// same bodies and search keys. Each response carries an inclusion proof against the latest Tessera
// checkpoint, re-signed in Rekor v1's checkpoint format, and a signed entry
// timestamp over the RFC 8785 JSON of {body, integratedTime, logID,
// logIndex}.
//
// What Tessera cannot hold lives behind two small interfaces: a
// [EntryStore] (per leaf: integrated time, recorded before the leaf is
// appended so that a crash cannot lose it, and log index — this is what
// makes duplicate detection and UUID lookups survive restarts) and a
// [SearchIndex] (artifact digest, signer identity and key hash → UUIDs),
// which [Log.Reindex] rebuilds from the tree. [OpenDir] keeps both
// in append-only files next to the tiles; database-backed stores can replace
// them. Read-side errors wrap [ErrInvalidQuery] (400) or os.ErrNotExist
// (404); a duplicate entry is a [*DuplicateError] (409).
//
// Checkpoints are signed through the same consistency guard as the Rekor
// v2 log's ([tlog] describes it), on storage from tlog/storage.
package rekorv1
