// Package search finds entries in signet's two transparency logs, the Rekor
// v2 log ([tlog.Log]) and the Rekor v1 API's log ([rekorv1.Log]), and decodes
// them for people.
//
// An [Index] maps search keys to the entries they occur in. Keys are
// derived from each entry's leaf alone (see [Record.Keys]): the signer's
// identities (every subject alternative name, and the GitHub workflow and
// repository of Fulcio's certificate extensions), the OIDC issuer, artifact
// digests (a hashedrekord's digest, a DSSE envelope's payload hash), the
// fingerprint of the signing key and certificate, and the entry's leaf hash
// (the Rekor v1 UUID). So the index is derived state: [Service.Reindex]
// rebuilds it from the logs' tiles, and [Service.Follow] keeps it up to date
// by reading each log's new leaves, as [rekorv1.Log.Follow] does for the v1
// API's own search index.
//
// Rekor entries do not keep a DSSE envelope's payload, only its hash. So
// that people can see which artifacts an attestation is about, the server
// keeps the envelopes it logs in an [EnvelopeStore] (like Rekor v1's
// attestation storage, up to [MaxEnvelopeSize]). A stored envelope is never
// trusted: it is shown only when it reproduces the log entry (the v2 entry,
// or the v1 dsse entry, its signatures verified again by package tlog) or
// matches its payload hash (v1 intoto), and only then are the in-toto
// statement's subject digests added to the index. The envelope store is
// primary data the tiles cannot restore; losing it loses only those
// subjects.
//
// Rekor v2 entries carry no integrated time. The index records, for each
// entry, the time it first indexed it, and orders results by that time for
// v2 entries and by the integrated time for v1 entries, newest first; a
// reindex keeps the recorded times.
//
// [FileIndex] and [FileEnvelopeStore] keep everything in files under the
// server's data directory; [MySQLIndex] keeps it in the MySQL or MariaDB
// database that several servers share.
//
// Everything in a log entry is attacker-controlled: anyone may log a
// self-signed certificate. [Service.Entry] decodes an entry into plain strings,
// valid UTF-8 and bounded in length, for an adapter that escapes them.
package search
