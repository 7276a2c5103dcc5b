// Package ctlog is signet's certificate transparency log: an RFC 6962 log
// of the precertificates signet's CA issues, stored with Tessera in the
// static-ct-api layout (c2sp.org/static-ct-api) and read through its
// monitoring API (checkpoint, tiles, data tiles, issuers).
//
// The CA calls [Log.AddPreChain] in-process with a precertificate (carrying
// the RFC 6962 poison extension) and its issuing chain; the log sequences
// the entry durably, then returns a signed certificate timestamp (SCT)
// whose leaf_index extension names the entry, which the CA embeds in the
// final certificate. [Log.Add] serves the RFC 6962 submissions
// (add-pre-chain, add-chain) other CAs send over HTTP, for chains to the
// roots the log accepts ([ParseRoots] reads extra ones): a certificate
// submitted again gets the SCT of the entry the log has (RFC 6962 §4.1)
// rather than a new entry, and an expired one is refused ([Options]
// sets the memory and a NotAfter window). Checkpoints carry an RFC6962NoteSignature, so
// transparency-dev's verifiers and CT monitors read them as they read any
// static-ct-api log.
package ctlog
