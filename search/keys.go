package search

import (
	"net/url"
	"strings"
)

// Search key namespaces. A key is "<namespace>:<value>", the value
// lowercased (as Rekor's index does: GitHub names and email domains are
// case-insensitive).
const (
	nsIdentity    = "identity:"
	nsIssuer      = "issuer:"
	nsFingerprint = "key:"
	nsUUID        = "uuid:"
	// Artifact digests are keyed "sha256:<hex>" (or sha384, sha512), as
	// Rekor's index keys them.
)

// Keys returns the search keys of r: its identities, issuers, artifact
// digests, key fingerprints and UUID. subjects are the digests of the
// in-toto statement subjects of the entry's envelope, when the server
// keeps a verified envelope; nil otherwise.
func (r *Record) Keys(subjects []Digest) []string {
	var ks keySet
	ks.add(nsUUID + r.UUID())
	if r.ArtifactDigest.Hex != "" {
		ks.add(r.ArtifactDigest.String())
	}
	if r.PayloadHash.Hex != "" {
		ks.add(r.PayloadHash.String())
	}
	for _, d := range subjects {
		ks.add(d.String())
	}
	for _, s := range r.Signers {
		if s.Fingerprint != "" {
			ks.add(nsFingerprint + s.Fingerprint)
		}
		if s.Certificate == nil {
			continue
		}
		ks.add(nsFingerprint + sha256Hex(s.CertificateDER))
		for _, id := range certificateIdentities(s) {
			ks.add(nsIdentity + id)
		}
		if s.Fulcio != nil && s.Fulcio.Issuer != "" {
			ks.add(nsIssuer + s.Fulcio.Issuer)
		}
	}
	return ks.keys
}

// certificateIdentities returns the names a person may search a signer by:
// every subject alternative name and, for CI certificates, the workflow
// (without its ref) and the repository, by name and by URI.
func certificateIdentities(s Signer) []string {
	c := s.Certificate
	var ids []string
	ids = append(ids, c.EmailAddresses...)
	for _, u := range c.URIs {
		ids = append(ids, u.String())
	}
	f := s.Fulcio
	if f == nil {
		return ids
	}
	ids = append(ids, f.SAN, // an otherName SAN is only here
		f.GitHubWorkflowRepository, f.SourceRepositoryURI, f.BuildConfigURI, f.BuildSignerURI) // repository (legacy, URI), build config and signer URIs
	for _, w := range []string{f.SAN, f.BuildConfigURI, f.BuildSignerURI} {
		// https://github.com/o/r/.github/workflows/x.yml@refs/heads/main →
		// the workflow at any ref.
		if u, err := url.Parse(w); err == nil && u.Scheme != "" {
			if path, _, found := strings.Cut(w, "@"); found {
				ids = append(ids, path)
			}
		}
	}
	if repo := f.SourceRepositoryURI; repo != "" {
		if u, err := url.Parse(repo); err == nil && u.Host != "" {
			ids = append(ids, strings.Trim(u.Path, "/")) // owner/repo
		}
	}
	return ids
}

// MaxKeysPerEntry bounds the search keys of one entry: a certificate
// anyone may log can hold thousands of SANs. Keys past the limit are not
// indexed.
const MaxKeysPerEntry = 64

// keySet collects distinct, lowercased keys in order, at most
// MaxKeysPerEntry.
type keySet struct {
	keys []string
	seen map[string]bool
}

func (s *keySet) add(k string) {
	ns, v, _ := strings.Cut(k, ":")
	v = NormalizeValue(v)
	if v == "" {
		return
	}
	k = ns + ":" + v
	if s.seen == nil {
		s.seen = make(map[string]bool)
	}
	if !s.seen[k] && len(s.keys) < MaxKeysPerEntry {
		s.seen[k] = true
		s.keys = append(s.keys, k)
	}
}

// NormalizeValue is how index keys and queries are compared: trimmed of
// spaces and a trailing slash, lowercased.
func NormalizeValue(v string) string {
	return strings.ToLower(strings.TrimRight(strings.TrimSpace(v), "/"))
}
