package search

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/signetproject/signet/tlog/rekorv1"
)

// MaxTextLength bounds every string a view holds: longer values from the
// log are cut, saying how long they were.
const MaxTextLength = 1024

// clean makes a value from the log fit for people: valid UTF-8 (invalid
// bytes become U+FFFD), control and format characters shown as escapes (so
// they can neither hide text nor reorder it), at most MaxTextLength bytes.
// It does not escape markup; the adapter's templates do.
func clean(s string) string {
	n := len(s)
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if b.Len() >= MaxTextLength {
			fmt.Fprintf(&b, "… (%d bytes in all)", n)
			break
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func hexString(b []byte) string { return hex.EncodeToString(b) }

func leafUUID(body []byte) string { return hexString(rfc6962.DefaultHasher.HashLeaf(body)) }

// Summary is what a results list shows of an entry.
type Summary struct {
	Kind string `json:"kind"` // e.g. "hashedrekord 0.0.2"
	// Identity is the signer's first subject alternative name, or "key
	// <fingerprint>" for a key-signed entry.
	Identity string `json:"identity,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	// Digest is the artifact digest or, for DSSE, the payload hash.
	Digest string `json:"digest,omitempty"`
	UUID   string `json:"uuid"`
}

func summarize(r *Record) *Summary {
	s := &Summary{Kind: clean(r.Kind + " " + r.APIVersion), UUID: r.UUID()}
	switch {
	case r.ArtifactDigest.Hex != "":
		s.Digest = r.ArtifactDigest.String()
	case r.PayloadHash.Hex != "":
		s.Digest = r.PayloadHash.String()
	}
	for _, sg := range r.Signers {
		sv := signerView(sg)
		if len(sv.SANs) > 0 {
			s.Identity, s.Issuer = sv.SANs[0], sv.Issuer
			break
		}
		if sv.Fingerprint != "" {
			s.Identity = "key " + sv.Fingerprint
			break
		}
	}
	return s
}

// EntryView is an entry decoded for people. Every string in it is
// [clean]: valid UTF-8, bounded, but not escaped.
type EntryView struct {
	Log   Log    `json:"log"`
	Index uint64 `json:"logIndex"`
	// UUID is the leaf hash (the Rekor v1 entry UUID); EntryID the v1
	// entry ID with its tree ID (v1 only).
	UUID       string `json:"uuid"`
	EntryID    string `json:"entryID,omitempty"`
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	// IntegratedTime is the v1 log's signed integrated time; zero for v2
	// entries, which have none. FirstIndexed is when this server's index
	// first saw a v2 entry (zero if it has not): no log signs it.
	IntegratedTime time.Time    `json:"integratedTime,omitzero"`
	FirstIndexed   time.Time    `json:"firstIndexed,omitzero"`
	ArtifactDigest string       `json:"artifactDigest,omitempty"`
	PayloadHash    string       `json:"payloadHash,omitempty"`
	Signers        []SignerView `json:"signers"`
	// Attestation is the DSSE payload shown from the stored envelope; nil
	// when there is none. AttestationNote says why nothing is shown.
	Attestation     *AttestationView `json:"attestation,omitempty"`
	AttestationNote string           `json:"attestationNote,omitempty"`
	Proof           ProofStatus      `json:"inclusionProof"`
	// Body is the canonical entry, the leaf (JSON), when it is short
	// enough to show.
	Body string `json:"-"`
	// Commands verify a bundle holding this entry.
	Commands []Command `json:"verifyCommands"`
}

// SignerView is a signer's certificate or key for people.
type SignerView struct {
	// Certificate is true for a certificate, false for a bare public key.
	Certificate bool `json:"certificate"`
	// KeyType is e.g. "ECDSA P-256".
	KeyType string `json:"keyType,omitempty"`
	// Fingerprint is [keys.Fingerprint] of the public key;
	// CertificateFingerprint the SHA-256 of the certificate (DER).
	Fingerprint            string `json:"keyFingerprint,omitempty"`
	CertificateFingerprint string `json:"certificateFingerprint,omitempty"`
	// SANs are the subject alternative names (email, URI, otherName).
	SANs []string `json:"subjectAlternativeNames,omitempty"`
	// Issuer is the OIDC issuer (Fulcio extension .8, else .1).
	Issuer string `json:"oidcIssuer,omitempty"`
	// CertificateIssuer is the issuing CA's distinguished name.
	CertificateIssuer string    `json:"certificateIssuer,omitempty"`
	Serial            string    `json:"serial,omitempty"`
	NotBefore         time.Time `json:"notBefore,omitzero"`
	NotAfter          time.Time `json:"notAfter,omitzero"`
	// Build holds the CI facts people look for first.
	Build []Field `json:"build,omitempty"`
	// Extensions are every Fulcio extension, by name.
	Extensions []Extension `json:"extensions,omitempty"`
	// Err says why the signer could not be decoded, or why the
	// certificate's Fulcio extensions are malformed.
	Err string `json:"error,omitempty"`
}

// Field is a named value.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Extension is one Fulcio certificate extension.
type Extension struct {
	OID   string `json:"oid"`
	Name  string `json:"name"`
	Value string `json:"value"`
	// Malformed is set when the value is not what the OID requires; Value
	// then holds its hex.
	Malformed bool `json:"malformed,omitempty"`
}

// AttestationView is a verified DSSE payload for people.
type AttestationView struct {
	PayloadType   string    `json:"payloadType"`
	PredicateType string    `json:"predicateType,omitempty"`
	Subjects      []Subject `json:"subjects,omitempty"`
	// StatementErr says why an in-toto payload did not parse.
	StatementErr string `json:"statementError,omitempty"`
}

// Subject is an in-toto statement subject.
type Subject struct {
	Name    string   `json:"name,omitempty"`
	Digests []string `json:"digests"` // "<alg>:<hex>", sorted
}

// ProofStatus is the outcome of checking the entry's inclusion proof
// against the log's latest checkpoint.
type ProofStatus struct {
	Verified bool   `json:"verified"`
	TreeSize uint64 `json:"treeSize"`
	RootHash string `json:"rootHash"`
	// Checkpoint is the signed checkpoint (note) the proof is against.
	Checkpoint string `json:"checkpoint"`
	Err        string `json:"error,omitempty"`
}

// Command is a command line that verifies the entry's bundle.
type Command struct {
	Tool string `json:"tool"`
	Line string `json:"command"`
}

// fulcioExtensionNames are the names Fulcio's OID documentation gives
// 1.3.6.1.4.1.57264.1.N.
var fulcioExtensionNames = map[int]string{
	1: "Issuer (deprecated)", 2: "GitHub Workflow Trigger (deprecated)", 3: "GitHub Workflow SHA (deprecated)",
	4: "GitHub Workflow Name (deprecated)", 5: "GitHub Workflow Repository (deprecated)", 6: "GitHub Workflow Ref (deprecated)",
	7: "OtherName SAN", 8: "Issuer", 9: "Build Signer URI", 10: "Build Signer Digest", 11: "Runner Environment",
	12: "Source Repository URI", 13: "Source Repository Digest", 14: "Source Repository Ref",
	15: "Source Repository Identifier", 16: "Source Repository Owner URI", 17: "Source Repository Owner Identifier",
	18: "Build Config URI", 19: "Build Config Digest", 20: "Build Trigger", 21: "Run Invocation URI",
	22: "Source Repository Visibility At Signing", 23: "Deployment Environment",
}

var oidFulcio = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1}

// fulcioExtensions lists every Fulcio extension of cert, decoding each as
// its OID says (.1–.6 raw strings, .8 on DER UTF8Strings) without failing
// on a malformed one.
func fulcioExtensions(cert *x509.Certificate) []Extension {
	var out []Extension
	for _, ext := range cert.Extensions {
		id := ext.Id
		if len(id) != len(oidFulcio)+1 || !id[:len(oidFulcio)].Equal(oidFulcio) {
			continue
		}
		n := id[len(oidFulcio)]
		e := Extension{OID: id.String(), Name: fulcioExtensionNames[n]}
		if e.Name == "" {
			e.Name = "Fulcio extension " + strconv.Itoa(n)
		}
		switch {
		case n <= 6:
			e.Value = clean(string(ext.Value))
		default:
			var s string
			rest, err := asn1.Unmarshal(ext.Value, &s)
			if err != nil || len(rest) != 0 {
				e.Value, e.Malformed = clean(hexString(ext.Value)), true
			} else {
				e.Value = clean(s)
			}
		}
		out = append(out, e)
	}
	return out
}

func keyType(pub any) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	}
	return fmt.Sprintf("%T", pub)
}

func signerView(s Signer) SignerView {
	var v SignerView
	if s.Err != nil {
		v.Err = clean(s.Err.Error())
		return v
	}
	v.KeyType = keyType(s.PublicKey)
	v.Fingerprint = s.Fingerprint
	c := s.Certificate
	if c == nil {
		return v
	}
	v.Certificate = true
	v.CertificateFingerprint = sha256Hex(s.CertificateDER)
	v.CertificateIssuer = clean(c.Issuer.String())
	v.Serial = clean(c.SerialNumber.Text(16))
	v.NotBefore, v.NotAfter = c.NotBefore, c.NotAfter
	for _, e := range c.EmailAddresses {
		v.SANs = append(v.SANs, clean(e))
	}
	for _, u := range c.URIs {
		v.SANs = append(v.SANs, clean(u.String()))
	}
	v.Extensions = fulcioExtensions(c)
	f := s.Fulcio
	if s.FulcioErr != nil {
		v.Err = clean("certificate: " + s.FulcioErr.Error())
		return v
	}
	if len(v.SANs) == 0 {
		v.SANs = []string{clean(f.SAN)}
	}
	v.Issuer = clean(f.Issuer)
	for _, b := range []Field{
		{"Workflow", f.BuildConfigURI}, // Build Config URI
		{"Repository", firstNonEmpty(f.SourceRepositoryURI, f.GitHubWorkflowRepository)}, // Source Repository URI, GitHub Workflow Repository
		{"Ref", firstNonEmpty(f.SourceRepositoryRef, f.GitHubWorkflowRef)},
		{"Commit", firstNonEmpty(f.SourceRepositoryDigest, f.GitHubWorkflowSHA)},
		{"Runner", f.RunnerEnvironment},
		{"Trigger", firstNonEmpty(f.BuildTrigger, f.GitHubWorkflowTrigger)},
		{"Run", f.RunInvocationURI},
	} {
		if b.Value != "" {
			v.Build = append(v.Build, Field{b.Name, clean(b.Value)})
		}
	}
	return v
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// Entry returns the entry at index of log for people, with its inclusion
// proof checked against the log's latest checkpoint. baseURL is the
// server's public URL, for the verification commands. Errors wrap
// os.ErrNotExist for an index beyond the latest checkpoint and
// [ErrInvalidQuery] for an unknown log.
func (s *Service) Entry(ctx context.Context, log Log, index uint64, baseURL string) (*EntryView, error) {
	if _, err := s.source(log); err != nil {
		return nil, err
	}
	var (
		body []byte
		ps   ProofStatus
		v    = &EntryView{Log: log, Index: index}
	)
	switch log {
	case LogV2:
		e, err := s.v2.EntryAt(ctx, index)
		if err != nil {
			return nil, err
		}
		body = e.GetCanonicalizedBody()
		p := e.GetInclusionProof()
		ps = checkProof(index, body, uint64(p.GetTreeSize()), p.GetHashes(), p.GetRootHash(), p.GetCheckpoint().GetEnvelope())
	case LogV1:
		e, err := s.v1.EntryByIndex(ctx, int64(index))
		if err != nil {
			return nil, err
		}
		body = e.Body
		v.EntryID = e.EntryID
		v.IntegratedTime = time.Unix(e.IntegratedTime, 0).UTC()
		ps = checkV1Proof(index, body, e.Verification.InclusionProof)
	}
	r, err := DecodeLeaf(log, index, body)
	if err != nil {
		return nil, err
	}
	v.UUID, v.Kind, v.APIVersion = r.UUID(), clean(r.Kind), clean(r.APIVersion)
	v.Proof = ps
	v.Body = clean(string(body))
	if len(body) > MaxTextLength {
		v.Body = "" // shown by the JSON API and the tiles, not inline
	}
	if r.ArtifactDigest.Hex != "" {
		v.ArtifactDigest = r.ArtifactDigest.String()
	}
	if r.PayloadHash.Hex != "" {
		v.PayloadHash = r.PayloadHash.String()
	}
	if log == LogV2 {
		if t := s.entryTime(ctx, r); t != 0 {
			v.FirstIndexed = time.Unix(t, 0).UTC()
		}
	}
	for _, sg := range r.Signers {
		v.Signers = append(v.Signers, signerView(sg))
	}
	if r.PayloadHash.Hex != "" {
		att, err := s.attestation(ctx, r, body)
		switch {
		case err != nil:
			v.AttestationNote = clean("the stored envelope was rejected: " + err.Error())
		case att == nil:
			v.AttestationNote = "this server did not keep the envelope (logged elsewhere, before it kept envelopes, or larger than " + strconv.Itoa(MaxEnvelopeSize>>10) + " KiB); the log entry records only the payload's hash"
		default:
			v.Attestation = attestationView(att)
		}
	}
	v.Commands = commands(v, baseURL)
	return v, nil
}

func attestationView(a *Attestation) *AttestationView {
	v := &AttestationView{PayloadType: clean(a.PayloadType)}
	if a.StatementErr != nil {
		v.StatementErr = clean(a.StatementErr.Error())
	}
	if st := a.Statement; st != nil {
		v.PredicateType = clean(st.GetPredicateType())
		for i, sub := range st.GetSubject() {
			if i == 100 {
				v.Subjects = append(v.Subjects, Subject{Name: fmt.Sprintf("… %d subjects in all", len(st.GetSubject()))})
				break
			}
			s := Subject{Name: clean(sub.GetName())}
			for alg, hx := range sub.GetDigest() {
				s.Digests = append(s.Digests, clean(alg+":"+hx))
			}
			slices.Sort(s.Digests)
			v.Subjects = append(v.Subjects, s)
		}
	}
	return v
}

// checkProof checks an inclusion proof of the leaf body at index against
// root, which the signed checkpoint (verified by package tlog when it
// returned the entry) commits to.
func checkProof(index uint64, body []byte, size uint64, hashes [][]byte, root []byte, checkpoint string) ProofStatus {
	ps := ProofStatus{TreeSize: size, RootHash: hexString(root), Checkpoint: clean(checkpoint)}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, rfc6962.DefaultHasher.HashLeaf(body), hashes, root); err != nil {
		ps.Err = clean(err.Error())
		return ps
	}
	ps.Verified = true
	return ps
}

func checkV1Proof(index uint64, body []byte, p *rekorv1.InclusionProof) ProofStatus {
	if p == nil {
		return ProofStatus{Err: "no inclusion proof"}
	}
	root, err := hex.DecodeString(p.RootHash)
	if err != nil {
		return ProofStatus{Err: "root hash: " + clean(err.Error())}
	}
	hashes := make([][]byte, len(p.Hashes))
	for i, h := range p.Hashes {
		if hashes[i], err = hex.DecodeString(h); err != nil {
			return ProofStatus{Err: "proof hash: " + clean(err.Error())}
		}
	}
	return checkProof(index, body, uint64(p.TreeSize), hashes, root, p.Checkpoint)
}

// ShellQuote quotes s as one POSIX shell word. ok is false when s holds a
// character a person should not paste into a terminal (control and format
// characters, U+FFFD from invalid UTF-8).
func ShellQuote(s string) (quoted string, ok bool) {
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return "", false
		}
	}
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_") == "" {
		return s, true
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'", true
}

// commands returns the command lines that verify a bundle with this entry:
// signet verify-blob and cosign verify-blob (or verify-blob-attestation),
// with the entry's identity and issuer or key. Values that cannot be
// quoted safely are left as placeholders.
func commands(v *EntryView, baseURL string) []Command {
	artifact := "FILE"
	if strings.HasPrefix(v.ArtifactDigest, "sha256:") {
		artifact = v.ArtifactDigest
	}
	if a := v.Attestation; a != nil && len(a.Subjects) > 0 {
		for _, d := range a.Subjects[0].Digests {
			if strings.HasPrefix(d, "sha256:") {
				artifact = d
			}
		}
	}
	var who []string
	if len(v.Signers) > 0 && v.Signers[0].Certificate && len(v.Signers[0].SANs) > 0 {
		san, ok1 := ShellQuote(v.Signers[0].SANs[0])
		iss, ok2 := ShellQuote(v.Signers[0].Issuer)
		if !ok1 || v.Signers[0].Issuer == "" || !ok2 {
			san, iss = "IDENTITY", "ISSUER"
		}
		who = []string{"--certificate-identity " + san, "--certificate-oidc-issuer " + iss}
	} else {
		who = []string{"--key KEY.pub"}
	}
	server, ok := ShellQuote(baseURL)
	if !ok {
		server = "URL"
	}
	signet := append([]string{"signet verify-blob " + artifact, "--bundle BUNDLE.sigstore.json", "--server " + server}, who...)
	cosignArtifact := artifact
	if strings.HasPrefix(artifact, "sha256:") {
		cosignArtifact = "FILE"
	}
	verb := "verify-blob"
	if v.PayloadHash != "" {
		verb = "verify-blob-attestation"
	}
	cosign := append([]string{"cosign " + verb + " --bundle BUNDLE.sigstore.json", "--trusted-root trusted_root.json"}, who...)
	if v.PayloadHash != "" && v.Attestation != nil && v.Attestation.PredicateType != "" {
		if t, ok := ShellQuote(v.Attestation.PredicateType); ok {
			cosign = append(cosign, "--type "+t)
		}
	}
	cosign = append(cosign, cosignArtifact)
	return []Command{
		{Tool: "signet", Line: strings.Join(signet, " \\\n    ")},
		{Tool: "cosign", Line: "curl -fsS " + server + "/trusted_root.json -o trusted_root.json\n" + strings.Join(cosign, " \\\n    ")},
	}
}
