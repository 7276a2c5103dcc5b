package report

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/verify"
)

// store is one place evidence is read from and the authorities that may
// vouch for it there.
type store struct {
	subject name.Digest
	lookup  oci.Lookup
	auths   []*Authority
}

// kindLister is what a Lister may also offer to read with other
// credentials or under a tag prefix; *oci.Client does.
type kindLister interface {
	ListKind(ctx context.Context, subject name.Digest, kind oci.Kind, l oci.Lookup) (*oci.Attached, error)
}

// verifyImage reads and verifies the evidence of one image. It returns
// the image (without pods, policy verdict or package matches) and the
// packages of each of its SBOMs.
func (r *Reporter) verifyImage(ctx context.Context, d name.Digest) (*Image, [][]Package) {
	ev := &evidence{img: &Image{Image: d.String(), Who: []Signer{}}, now: r.opts.Now()}
	auths, errs := r.opts.Trust.Authorities(ctx, d)
	for _, err := range errs {
		ev.img.Errors = append(ev.img.Errors, "trust: "+err.Error())
	}
	// The image's own repository is always read, to show evidence no
	// authority vouches for.
	stores := []*store{{subject: d}}
	for i := range auths {
		a := &auths[i]
		subject := a.Subject
		if subject.String() == "" || subject.Name() == "" {
			subject = d
		}
		k := slices.IndexFunc(stores, func(s *store) bool {
			// Keychains need not be comparable: the first one of a
			// repository and tag prefix reads it.
			return s.subject.String() == subject.String() && s.lookup.TagPrefix == a.Lookup.TagPrefix
		})
		if k < 0 {
			stores = append(stores, &store{subject: subject, lookup: a.Lookup})
			k = len(stores) - 1
		}
		stores[k].auths = append(stores[k].auths, a)
	}
	seen := map[string]bool{}
	for _, s := range stores {
		if len(s.auths) == 0 && s.subject.String() != d.String() {
			continue
		}
		attached, err := r.list(ctx, s)
		if err != nil {
			ev.img.Errors = append(ev.img.Errors, fmt.Sprintf("read evidence of %s: %v", s.subject, err))
			continue
		}
		for _, a := range attached.Attachments {
			key := fmt.Sprintf("%s#%d", a.Ref, a.Index)
			if seen[key] {
				continue
			}
			seen[key] = true
			ev.attachment(a, s.auths)
		}
	}
	ev.finish()
	return ev.img, ev.sboms
}

func (r *Reporter) list(ctx context.Context, s *store) (*oci.Attached, error) {
	if s.lookup.Keychain == nil && s.lookup.TagPrefix == "" {
		return r.opts.Lister.List(ctx, s.subject)
	}
	kl, ok := r.opts.Lister.(kindLister)
	if !ok {
		return nil, errors.New("the registry lister cannot read with a policy's credentials or tag prefix")
	}
	out := &oci.Attached{Subject: s.subject}
	for _, k := range []oci.Kind{oci.KindSignature, oci.KindAttestation} {
		a, err := kl.ListKind(ctx, s.subject, k, s.lookup)
		if err != nil {
			return nil, err
		}
		out.Attachments = append(out.Attachments, a.Attachments...)
	}
	return out, nil
}

// evidence accumulates what verified for one image.
type evidence struct {
	img   *Image
	sboms [][]Package
	now   time.Time
}

// attachment verifies one attachment under the first authority that
// accepts it, and records it as evidence or as unverified.
func (ev *evidence) attachment(a *oci.Attachment, auths []*Authority) {
	ref := a.Ref
	if a.Layout == oci.LayoutLegacy {
		ref = fmt.Sprintf("%s (layer %d)", a.Ref, a.Index)
	}
	u := Unverified{Kind: string(a.Kind), PredicateType: a.PredicateType, Ref: ref}
	switch {
	case a.Kind == oci.KindOther:
		u.Reason = "not signed, so not used as evidence"
		if a.ArtifactType != "" {
			u.Reason = a.ArtifactType + " " + u.Reason
		}
		ev.img.Unverified = append(ev.img.Unverified, u)
		return
	case a.Err != nil:
		u.Reason = "malformed: " + a.Err.Error()
		ev.img.Unverified = append(ev.img.Unverified, u)
		return
	}
	var best error
	var bestAuth *Authority
	tried := 0
	for _, auth := range auths {
		// A certificate can only verify under identities, a key
		// signature only under a key.
		if (a.Bundle.Certificate() != nil) != (auth.Policy.Key == nil) {
			continue
		}
		tried++
		got, err := a.Verify(auth.Verifier, auth.Policy)
		if err == nil {
			ev.verified(a, got, auth, ref)
			return
		}
		if best == nil || rank(err) > rank(best) {
			best, bestAuth = err, auth
		}
	}
	switch {
	case len(auths) == 0:
		u.Reason = "no trusted authority covers this image's evidence"
	case tried == 0 && a.Bundle.Certificate() != nil:
		u.Reason = "signed with a certificate, but only keys are trusted"
	case tried == 0:
		u.Reason = "signed with a key that no trusted authority names"
	default:
		// oci's errors start with the attachment's reference, which
		// the report shows beside the reason.
		u.Reason = fmt.Sprintf("%s (%s)", strings.TrimPrefix(best.Error(), a.Ref+": "), bestAuth.Name)
		if tried > 1 {
			u.Reason += fmt.Sprintf("; %d authorities tried", tried)
		}
	}
	ev.img.Unverified = append(ev.img.Unverified, u)
}

// checkRank orders verification failures by how far verification got,
// so that the most telling reason is reported.
var checkRank = map[verify.Check]int{
	verify.CheckPolicy: 1, verify.CheckSignature: 2, verify.CheckArtifact: 3, verify.CheckTimestamp: 4,
	verify.CheckTlog: 5, verify.CheckCertificate: 6, verify.CheckKey: 7, verify.CheckSCT: 8, verify.CheckIdentity: 9,
}

func rank(err error) int {
	if errors.Is(err, oci.ErrContent) {
		return 10
	}
	var ve *verify.Error
	if errors.As(err, &ve) {
		return checkRank[ve.Check]
	}
	return 0
}

// signer says who signed verified evidence.
func signer(got *oci.Verified, auth *Authority, ref string) Signer {
	s := Signer{TrustedBy: auth.Name, Ref: ref}
	if c := got.Result.Certificate; c != nil {
		s.Identity, s.Issuer = c.SAN, c.Issuer
	} else {
		s.KeyFingerprint, s.KeyName = auth.KeyFingerprint, auth.KeyName
	}
	if len(got.Result.TlogEntries) > 0 {
		i := got.Result.TlogEntries[0].LogIndex
		s.LogIndex = &i
	}
	for _, ts := range got.Result.Timestamps {
		if ts.Kind == verify.TimestampCurrent {
			continue
		}
		if s.SignedAt == nil || ts.Time.Before(*s.SignedAt) {
			t := ts.Time.UTC()
			s.SignedAt, s.TimeSource = &t, string(ts.Kind)
		}
	}
	return s
}

// verified records verified evidence.
func (ev *evidence) verified(a *oci.Attachment, got *oci.Verified, auth *Authority, ref string) {
	s := signer(got, auth, ref)
	if c := got.Result.Certificate; c != nil {
		ev.certificate(c, s)
	}
	if a.Kind == oci.KindSignature {
		ev.img.Signed = true
		ev.img.Who = append(ev.img.Who, s)
		return
	}
	ev.img.Attestations = append(ev.img.Attestations, Attestation{PredicateType: got.PredicateType, SignedBy: s})
	switch got.PredicateType {
	case oci.PredicateSLSA02, oci.PredicateSLSA1:
		p, claims := readProvenance(got.Statement, s)
		ev.img.Where.Provenance = append(ev.img.Where.Provenance, p)
		ev.img.Source.Claims = append(ev.img.Source.Claims, claims...)
	case oci.PredicateVuln:
		scan := readVulnScan(got.Statement.Predicate, s, ev.now)
		if ev.img.Vulnerabilities == nil {
			ev.img.Vulnerabilities = &Vulnerabilities{}
		}
		ev.img.Vulnerabilities.Scans = append(ev.img.Vulnerabilities.Scans, scan)
	case oci.PredicateSPDX, oci.PredicateCycloneDX:
		sb, pkgs := readSBOM(got.PredicateType, got.Statement.Predicate, s)
		ev.img.SBOMs = append(ev.img.SBOMs, sb)
		ev.sboms = append(ev.sboms, pkgs)
	}
}

// certificate records a verified certificate's build and source claims.
func (ev *evidence) certificate(c *verify.Certificate, s Signer) {
	b := BuildClaims{Identity: c.SAN, Issuer: c.Issuer, BuildSignerURI: c.BuildSignerURI, BuildSignerDigest: c.BuildSignerDigest,
		RunnerEnvironment: c.RunnerEnvironment, RunInvocationURI: c.RunInvocationURI, BuildTrigger: c.BuildTrigger,
		BuildConfigURI: c.BuildConfigURI, BuildConfigDigest: c.BuildConfigDigest, Workflow: c.GitHubWorkflowName}
	if b.BuildTrigger == "" {
		b.BuildTrigger = c.GitHubWorkflowTrigger
	}
	hasBuild := b.BuildSignerURI != "" || b.RunnerEnvironment != "" || b.RunInvocationURI != "" || b.BuildTrigger != "" || b.BuildConfigURI != "" || b.Workflow != ""
	if hasBuild && !slices.Contains(ev.img.Where.Certificate, b) {
		ev.img.Where.Certificate = append(ev.img.Where.Certificate, b)
	}
	claim := SourceClaim{From: "certificate", Repository: c.SourceRepositoryURI, Commit: c.SourceRepositoryDigest, Ref: c.SourceRepositoryRef, Signer: s.Identity}
	if claim.Repository == "" && c.GitHubWorkflowRepository != "" {
		// Certificates from before OID .1.12: the legacy claims.
		claim = SourceClaim{From: "certificate (legacy GitHub claims)", Repository: "https://github.com/" + c.GitHubWorkflowRepository,
			Commit: c.GitHubWorkflowSHA, Ref: c.GitHubWorkflowRef, Signer: s.Identity}
	}
	if (claim.Repository != "" || claim.Commit != "") && !slices.Contains(ev.img.Source.Claims, claim) {
		ev.img.Source.Claims = append(ev.img.Source.Claims, claim)
	}
}

// finish derives the summaries: the source answer and conflicts, the
// newest scan's counts.
func (ev *evidence) finish() {
	ev.img.Source.resolve()
	if v := ev.img.Vulnerabilities; v != nil {
		v.summarise()
	}
}
