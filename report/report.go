// Package report answers, for container images, the four questions an
// operator asks of what runs in a cluster — who built it, where it was
// built, from what source, and with what known vulnerabilities — from
// verified evidence only.
//
// For each image it lists the signatures and attestations attached in the
// registry (both cosign layouts, through package oci), verifies each under
// the caller's trust (a trusted root, a key, or the authorities of
// ClusterImagePolicies), and reads the answers from what verified: the
// signers (Who), the Fulcio certificate's build claims and SLSA provenance
// (Where), the source repository, commit and ref from both (Source), and
// vulnerability scans and SBOMs (Vulnerabilities, SBOMs). Evidence that
// does not verify is reported as such, with the reason, and never as an
// answer. The CLI and the admission webhook are adapters: they feed it
// images (and the pods running them) and trust, and print the Report.
package report

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/policy"
)

// SchemaVersion names the version of the JSON form of a Report. It
// changes when a field changes meaning or goes away; new fields may be
// added within a version.
const SchemaVersion = "signet.dev/report/v1"

// Report is the answer for a set of images.
type Report struct {
	SchemaVersion string    `json:"schemaVersion"`
	GeneratedAt   time.Time `json:"generatedAt"`
	// Trust says what evidence had to verify against.
	Trust   string   `json:"trust"`
	Summary Summary  `json:"summary"`
	Images  []*Image `json:"images"`
	// Package is the answer to a package query (--package NAME[@VERSION]).
	Package *PackageAnswer `json:"package,omitempty"`
}

// Summary counts the images of a Report.
type Summary struct {
	Images   int `json:"images"`
	Pods     int `json:"pods"`
	Signed   int `json:"signed"`
	Unsigned int `json:"unsigned"`
	// BySeverity counts images by the highest severity of their newest
	// verified vulnerability scan; "NONE" for a scan without findings,
	// "UNSCANNED" for images without a verified scan.
	BySeverity map[string]int `json:"bySeverity"`
	// PolicyAllowed and PolicyDenied count images by policy verdict.
	PolicyAllowed int `json:"policyAllowed"`
	PolicyDenied  int `json:"policyDenied"`
}

// Image is everything verified about one image digest.
type Image struct {
	// Image is the digest reference: "registry/repo@sha256:…".
	Image string `json:"image"`
	// References are the references the image was asked for by (as
	// written in pod specs or on the command line), when they differ.
	References []string `json:"references,omitempty"`
	// Pods run the image.
	Pods []Pod `json:"pods,omitempty"`
	// Signed is true when at least one image signature verified.
	Signed bool `json:"signed"`
	// Who are the verified image signatures' signers.
	Who []Signer `json:"who"`
	// Where is the build platform, from certificates and provenance.
	Where Where `json:"where"`
	// Source is the source repository, commit and ref.
	Source Source `json:"source"`
	// Vulnerabilities summarises the verified vulnerability scans; nil
	// when there is none.
	Vulnerabilities *Vulnerabilities `json:"vulnerabilities,omitempty"`
	// SBOMs are the verified SBOM attestations.
	SBOMs []SBOM `json:"sboms,omitempty"`
	// Attestations are all verified attestations, by predicate type.
	Attestations []Attestation `json:"attestations,omitempty"`
	// Unverified is the evidence that is present but did not verify.
	Unverified []Unverified `json:"unverified,omitempty"`
	// Policy is the ClusterImagePolicy verdict; nil when the report was
	// made without policies.
	Policy *PolicyVerdict `json:"policy,omitempty"`
	// Errors say why evidence could not be read (registry, trust).
	Errors []string `json:"errors,omitempty"`
}

// Pod is a running pod's container that runs an image.
type Pod struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Container string `json:"container"`
	// Owner is the workload that owns the pod, "Kind/name" (the
	// Deployment of a ReplicaSet's pod, the CronJob of a Job's).
	Owner string `json:"owner,omitempty"`
}

func (p Pod) String() string {
	s := p.Namespace + "/" + p.Name
	if p.Container != "" {
		s += " [" + p.Container + "]"
	}
	if p.Owner != "" {
		s += " (" + p.Owner + ")"
	}
	return s
}

// Signer is who signed a verified signature or attestation.
type Signer struct {
	// Identity and Issuer are the certificate's SAN and OIDC issuer.
	Identity string `json:"identity,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	// KeyFingerprint and KeyName identify the key of key-signed evidence.
	KeyFingerprint string `json:"keyFingerprint,omitempty"`
	KeyName        string `json:"keyName,omitempty"`
	// TrustedBy names the trust it verified under.
	TrustedBy string `json:"trustedBy"`
	// LogIndex is the transparency log entry's index, when logged.
	LogIndex *int64 `json:"logIndex,omitempty"`
	// SignedAt is the verified signing time (log integrated time or
	// RFC 3161 timestamp) and TimeSource where it came from ("tlog",
	// "tsa"); nil when only the current time vouched for a key.
	SignedAt   *time.Time `json:"signedAt,omitempty"`
	TimeSource string     `json:"timeSource,omitempty"`
	// Ref is where the evidence is stored.
	Ref string `json:"ref"`
}

func (s Signer) String() string {
	var who string
	switch {
	case s.Identity != "":
		who = s.Identity + " (issuer " + s.Issuer + ")"
	case s.KeyName != "":
		who = "key " + s.KeyName + " " + s.KeyFingerprint
	default:
		who = "key " + s.KeyFingerprint
	}
	if s.LogIndex != nil {
		who += fmt.Sprintf(", log index %d", *s.LogIndex)
	}
	if s.SignedAt != nil {
		who += ", signed " + s.SignedAt.UTC().Format(time.RFC3339) + " (" + s.TimeSource + ")"
	}
	return who
}

// Where is the build platform.
type Where struct {
	// Certificate are the build claims of the verified signing
	// certificates (Fulcio extensions), one per distinct set.
	Certificate []BuildClaims `json:"certificate,omitempty"`
	// Provenance are the verified SLSA provenance attestations.
	Provenance []Provenance `json:"provenance,omitempty"`
}

// BuildClaims are the build claims of a Fulcio certificate.
type BuildClaims struct {
	Identity          string `json:"identity"`
	Issuer            string `json:"issuer"`
	BuildSignerURI    string `json:"buildSignerURI,omitempty"`
	BuildSignerDigest string `json:"buildSignerDigest,omitempty"`
	RunnerEnvironment string `json:"runnerEnvironment,omitempty"`
	RunInvocationURI  string `json:"runInvocationURI,omitempty"`
	BuildTrigger      string `json:"buildTrigger,omitempty"`
	BuildConfigURI    string `json:"buildConfigURI,omitempty"`
	BuildConfigDigest string `json:"buildConfigDigest,omitempty"`
	// Workflow is the legacy GitHub workflow name (OID .1.4).
	Workflow string `json:"workflow,omitempty"`
}

// Provenance is a verified SLSA provenance predicate.
type Provenance struct {
	// PredicateType is https://slsa.dev/provenance/v0.2 or /v1.
	PredicateType string     `json:"predicateType"`
	BuilderID     string     `json:"builderID,omitempty"`
	BuildType     string     `json:"buildType,omitempty"`
	InvocationID  string     `json:"invocationID,omitempty"`
	StartedOn     *time.Time `json:"startedOn,omitempty"`
	FinishedOn    *time.Time `json:"finishedOn,omitempty"`
	SignedBy      Signer     `json:"signedBy"`
	// Error says why the predicate could not be read; the other fields
	// are then empty.
	Error string `json:"error,omitempty"`
}

// Source is the source repository, commit and ref of an image, with the
// claim each piece of evidence makes.
type Source struct {
	// Repository, Commit and Ref are the answer when every claim that
	// states them agrees; empty otherwise.
	Repository string `json:"repository,omitempty"`
	Commit     string `json:"commit,omitempty"`
	Ref        string `json:"ref,omitempty"`
	// Claims are what each piece of verified evidence says.
	Claims []SourceClaim `json:"claims,omitempty"`
	// Conflicts say where claims disagree.
	Conflicts []string `json:"conflicts,omitempty"`
}

// SourceClaim is one piece of evidence's statement about the source.
type SourceClaim struct {
	// From names the evidence: "certificate", "provenance v0.2
	// materials", "provenance v0.2 configSource", "provenance v1
	// resolvedDependencies", "provenance v1 externalParameters".
	From       string `json:"from"`
	Repository string `json:"repository,omitempty"`
	Commit     string `json:"commit,omitempty"`
	Ref        string `json:"ref,omitempty"`
	// Signer is who vouched for the claim (the identity or key).
	Signer string `json:"signer"`
}

// Attestation is one verified attestation.
type Attestation struct {
	PredicateType string `json:"predicateType"`
	SignedBy      Signer `json:"signedBy"`
}

// Unverified is evidence present in the registry that did not verify.
type Unverified struct {
	// Kind is "signature", "attestation" or "other" (unsigned
	// attachments such as `cosign attach sbom` SBOMs).
	Kind          string `json:"kind"`
	PredicateType string `json:"predicateType,omitempty"`
	Ref           string `json:"ref"`
	Reason        string `json:"reason"`
}

func (u Unverified) String() string {
	what := u.Kind
	if u.PredicateType != "" && u.Kind != string(oci.KindSignature) {
		what += " " + u.PredicateType
	}
	if u.Kind == string(oci.KindOther) {
		return what + " present, unsigned: " + u.Reason
	}
	return what + " present, does not verify: " + u.Reason
}

// PolicyVerdict is whether the image passes the ClusterImagePolicies now.
type PolicyVerdict struct {
	Allowed bool `json:"allowed"`
	// NoMatch is true when no policy matches the image.
	NoMatch  bool            `json:"noMatch,omitempty"`
	Policies []PolicyOutcome `json:"policies,omitempty"`
	Denials  []string        `json:"denials,omitempty"`
	Warnings []string        `json:"warnings,omitempty"`
}

// PolicyOutcome is one matching policy's result.
type PolicyOutcome struct {
	Name    string   `json:"name"`
	Mode    string   `json:"mode"`
	Passed  bool     `json:"passed"`
	Reasons []string `json:"reasons,omitempty"`
}

// Verdict converts an engine decision.
func Verdict(d policy.Decision) *PolicyVerdict {
	v := &PolicyVerdict{Allowed: d.Allowed, NoMatch: d.NoMatch}
	for _, p := range d.Policies {
		o := PolicyOutcome{Name: p.Name, Mode: p.Mode, Passed: p.Passed}
		for _, err := range p.Reasons() {
			o.Reasons = append(o.Reasons, err.Error())
		}
		v.Policies = append(v.Policies, o)
	}
	for _, x := range d.Denials {
		v.Denials = append(v.Denials, x.String())
	}
	for _, x := range d.Warnings {
		v.Warnings = append(v.Warnings, x.String())
	}
	return v
}

// Target is one image to report on, with the pod running it, if any.
type Target struct {
	// Image is the digest the image was pinned to.
	Image name.Digest
	// Reference is the reference as asked for (tag or digest).
	Reference string
	// Pod runs the image; nil for images named on the command line.
	Pod *Pod
	// Context is passed to Options.Decide for the first target of each
	// image (the admission webhook passes the pod).
	Context any
}

// Lister lists everything attached to an image; *oci.Client is one.
type Lister interface {
	List(ctx context.Context, subject name.Digest) (*oci.Attached, error)
}

// Options configure a Reporter.
type Options struct {
	// Lister reads the registry.
	Lister Lister
	// Trust says what evidence must verify against.
	Trust Trust
	// Decide, when set, returns the policy verdict on an image; t is the
	// image's first target.
	Decide func(ctx context.Context, image name.Digest, t Target) policy.Decision
	// Concurrency bounds the images verified at once; default 8.
	Concurrency int
	// CacheTTL, when positive, keeps each image's evidence for that long
	// (the admission webhook reports every minute; the CLI reports once).
	CacheTTL time.Duration
	// Now returns the time; default time.Now.
	Now func() time.Time
}

// Reporter verifies images and assembles reports. It is safe for
// concurrent use.
type Reporter struct {
	opts Options

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	img     *Image
	sboms   [][]Package
	expires time.Time
}

// New returns a Reporter.
func New(opts Options) (*Reporter, error) {
	if opts.Lister == nil || opts.Trust == nil {
		return nil, fmt.Errorf("report: a lister and trust are required")
	}
	if opts.Concurrency < 0 || opts.CacheTTL < 0 {
		return nil, fmt.Errorf("report: concurrency %d and cache TTL %s must not be negative", opts.Concurrency, opts.CacheTTL)
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 8
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Reporter{opts: opts, cache: map[string]cached{}}, nil
}

// Progress is called after each image is verified, with the number done
// and the number of distinct images.
type Progress func(done, total int)

// Report verifies each distinct image of the targets once, at most
// Options.Concurrency at a time, and returns the report, images sorted
// by reference. query, when set, is answered from the verified SBOMs.
func (r *Reporter) Report(ctx context.Context, targets []Target, query *PackageQuery, progress Progress) *Report {
	now := r.opts.Now()
	type group struct {
		digest  name.Digest
		targets []Target
	}
	var order []string
	groups := map[string]*group{}
	for _, t := range targets {
		k := t.Image.String()
		g, ok := groups[k]
		if !ok {
			g = &group{digest: t.Image}
			groups[k] = g
			order = append(order, k)
		}
		g.targets = append(g.targets, t)
	}
	sort.Strings(order)

	results := make([]cached, len(order))
	sem := make(chan struct{}, r.opts.Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i, k := range order {
		g := groups[k]
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = cached{img: &Image{Image: k, Errors: []string{ctx.Err().Error()}}}
				return
			}
			results[i] = r.evidence(ctx, g.digest, g.targets[0])
			<-sem
			if progress != nil {
				mu.Lock()
				done++
				progress(done, len(order))
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	rep := &Report{SchemaVersion: SchemaVersion, GeneratedAt: now.UTC(), Trust: r.opts.Trust.Describe(),
		Images: make([]*Image, 0, len(order)), Summary: Summary{BySeverity: map[string]int{}}}
	if query != nil {
		rep.Package = &PackageAnswer{Query: query.String(), Matches: []PackageMatch{}}
	}
	for i, k := range order {
		img := *results[i].img // a copy: cached images are shared
		g := groups[k]
		img.References, img.Pods = nil, nil
		for _, t := range g.targets {
			if t.Reference != "" && t.Reference != img.Image && !slices.Contains(img.References, t.Reference) {
				img.References = append(img.References, t.Reference)
			}
			if t.Pod != nil {
				img.Pods = append(img.Pods, *t.Pod)
			}
		}
		sortPods(img.Pods)
		if query != nil {
			img.SBOMs = slices.Clone(img.SBOMs)
			for j := range img.SBOMs {
				img.SBOMs[j].Matches = query.Match(results[i].sboms[j])
				for _, m := range img.SBOMs[j].Matches {
					rep.Package.add(&img, m)
				}
			}
		}
		rep.Images = append(rep.Images, &img)
		rep.Summary.add(&img)
	}
	return rep
}

func sortPods(ps []Pod) {
	slices.SortFunc(ps, func(a, b Pod) int {
		return strings.Compare(a.Namespace+"/"+a.Name+"/"+a.Container, b.Namespace+"/"+b.Name+"/"+b.Container)
	})
}

func (s *Summary) add(img *Image) {
	s.Images++
	s.Pods += len(img.Pods)
	if img.Signed {
		s.Signed++
	} else {
		s.Unsigned++
	}
	s.BySeverity[img.HighestSeverity()]++
	if img.Policy != nil {
		if img.Policy.Allowed {
			s.PolicyAllowed++
		} else {
			s.PolicyDenied++
		}
	}
}

// HighestSeverity is the highest severity of the image's newest verified
// vulnerability scan: CRITICAL, HIGH, MEDIUM, LOW, NEGLIGIBLE, UNKNOWN,
// NONE (a scan without findings) or UNSCANNED.
func (img *Image) HighestSeverity() string {
	if img.Vulnerabilities == nil {
		return SeverityUnscanned
	}
	return img.Vulnerabilities.Highest
}

// evidence returns the image's verified evidence, from the cache when
// it is fresh.
func (r *Reporter) evidence(ctx context.Context, d name.Digest, first Target) cached {
	key := d.String()
	now := r.opts.Now()
	if r.opts.CacheTTL > 0 {
		r.mu.Lock()
		c, ok := r.cache[key]
		r.mu.Unlock()
		if ok && now.Before(c.expires) {
			return c
		}
	}
	img, sboms := r.verifyImage(ctx, d)
	if r.opts.Decide != nil {
		img.Policy = Verdict(r.opts.Decide(ctx, d, first))
	}
	c := cached{img: img, sboms: sboms, expires: now.Add(r.opts.CacheTTL)}
	if r.opts.CacheTTL > 0 && ctx.Err() == nil {
		r.mu.Lock()
		for k, e := range r.cache {
			if !now.Before(e.expires) {
				delete(r.cache, k)
			}
		}
		r.cache[key] = c
		r.mu.Unlock()
	}
	return c
}
