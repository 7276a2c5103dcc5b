// Package tuf publishes and fetches signet's trust material through a TUF
// repository (TUF specification 1.0, metadata by go-tuf v2) laid out as
// Sigstore's clients expect it: consistent snapshots, versioned root
// files (1.root.json, 2.root.json, …), timestamp.json, N.snapshot.json,
// N.targets.json and hash-prefixed target files under targets/, with the
// targets trusted_root.json and signing_config.v0.2.json.
//
// Keys are split as in Sigstore's own repository: the root and targets
// keys stay offline ([Init], [SignTargets] and [SignRoot] work on a
// directory the operator keeps away from the server), and the server
// holds one online key that signs snapshot and timestamp metadata
// ([Repository]), renewing them before they expire. [Fetch] is the client
// side: go-tuf's updater, which rejects rollbacks, frozen (expired)
// metadata and signatures by keys the root does not trust.
package tuf

// Target names Sigstore clients look up.
const (
	TargetTrustedRoot   = "trusted_root.json"
	TargetSigningConfig = "signing_config.v0.2.json"
)
