package report

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	slsa1 "github.com/in-toto/attestation/go/predicates/provenance/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/signetproject/signet/oci"
)

// readProvenance reads a verified SLSA provenance statement (v0.2 or
// v1): the build platform, and the source claims of its materials or
// resolved dependencies and of its config source or workflow parameters.
func readProvenance(st *oci.Statement, s Signer) (Provenance, []SourceClaim) {
	p := Provenance{PredicateType: st.PredicateType, SignedBy: s}
	who := s.Identity
	if who == "" {
		who = "key " + s.KeyFingerprint
	}
	dec := protojson.UnmarshalOptions{DiscardUnknown: true}
	var claims []SourceClaim
	switch st.PredicateType {
	case oci.PredicateSLSA02:
		// Plain JSON, not the in-toto protobuf type: the v0.2 spec
		// spells metadata.buildInvocationID, which protojson drops.
		var pred slsa02Predicate
		if err := json.Unmarshal(st.Predicate, &pred); err != nil {
			p.Error = fmt.Sprintf("SLSA v0.2 predicate: %v", err)
			return p, nil
		}
		p.BuilderID, p.BuildType = pred.Builder.ID, pred.BuildType
		p.InvocationID = pred.Metadata.BuildInvocationID
		p.StartedOn, p.FinishedOn = utc(pred.Metadata.BuildStartedOn), utc(pred.Metadata.BuildFinishedOn)
		for _, m := range pred.Materials {
			if c, ok := gitClaim("provenance v0.2 materials", m.URI, m.Digest, who); ok {
				claims = append(claims, c)
			}
		}
		cs := pred.Invocation.ConfigSource
		if c, ok := gitClaim("provenance v0.2 configSource", cs.URI, cs.Digest, who); ok {
			claims = append(claims, c)
		}
	case oci.PredicateSLSA1:
		var pred slsa1.Provenance
		if err := dec.Unmarshal(st.Predicate, &pred); err != nil {
			p.Error = fmt.Sprintf("SLSA v1 predicate: %v", err)
			return p, nil
		}
		bd, rd := pred.GetBuildDefinition(), pred.GetRunDetails()
		p.BuilderID, p.BuildType = rd.GetBuilder().GetId(), bd.GetBuildType()
		p.InvocationID = rd.GetMetadata().GetInvocationId()
		p.StartedOn, p.FinishedOn = timeOf(rd.GetMetadata().GetStartedOn()), timeOf(rd.GetMetadata().GetFinishedOn())
		for _, d := range bd.GetResolvedDependencies() {
			if c, ok := gitClaim("provenance v1 resolvedDependencies", d.GetUri(), d.GetDigest(), who); ok {
				claims = append(claims, c)
			}
		}
		if c, ok := workflowClaim(bd.GetExternalParameters(), who); ok {
			claims = append(claims, c)
		}
	}
	return p, claims
}

// slsa02Predicate is the part of a SLSA v0.2 provenance predicate read.
// encoding/json matches names without regard to case, so both
// buildInvocationID (the spec) and buildInvocationId (protojson) are read.
type slsa02Predicate struct {
	Builder struct {
		ID string `json:"id"`
	} `json:"builder"`
	BuildType  string `json:"buildType"`
	Invocation struct {
		ConfigSource struct {
			URI        string            `json:"uri"`
			Digest     map[string]string `json:"digest"`
			EntryPoint string            `json:"entryPoint"`
		} `json:"configSource"`
	} `json:"invocation"`
	Metadata struct {
		BuildInvocationID string     `json:"buildInvocationID"`
		BuildStartedOn    *time.Time `json:"buildStartedOn"`
		BuildFinishedOn   *time.Time `json:"buildFinishedOn"`
	} `json:"metadata"`
	Materials []struct {
		URI    string            `json:"uri"`
		Digest map[string]string `json:"digest"`
	} `json:"materials"`
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func timeOf(ts *timestamppb.Timestamp) *time.Time {
	if ts == nil {
		return nil
	}
	t := ts.AsTime().UTC()
	return &t
}

// gitClaim reads a git source from a material or resource descriptor:
// "git+https://host/repo@refs/heads/main" (SLSA's git URI convention)
// with a "sha1" or "gitCommit" digest. Other materials (base images,
// tools) are not source claims.
func gitClaim(from, uri string, digest map[string]string, who string) (SourceClaim, bool) {
	commit := digest["gitCommit"]
	if commit == "" {
		commit = digest["sha1"]
	}
	if !strings.HasPrefix(uri, "git+") && commit == "" {
		return SourceClaim{}, false
	}
	repo, ref := strings.TrimPrefix(uri, "git+"), ""
	if i := strings.LastIndex(repo, "@"); i > strings.Index(repo, "://")+2 && strings.Contains(repo, "://") {
		repo, ref = repo[:i], repo[i+1:]
	}
	if repo == "" && commit == "" {
		return SourceClaim{}, false
	}
	return SourceClaim{From: from, Repository: repo, Commit: commit, Ref: ref, Signer: who}, true
}

// workflowClaim reads the GitHub Actions build type's
// externalParameters.workflow {repository, ref}.
func workflowClaim(ext *structpb.Struct, who string) (SourceClaim, bool) {
	w := ext.GetFields()["workflow"].GetStructValue()
	if w == nil {
		return SourceClaim{}, false
	}
	repo := w.GetFields()["repository"].GetStringValue()
	ref := w.GetFields()["ref"].GetStringValue()
	if repo == "" {
		return SourceClaim{}, false
	}
	return SourceClaim{From: "provenance v1 externalParameters", Repository: repo, Ref: ref, Signer: who}, true
}

// normRepo is the form repository URIs are compared in: no "git+"
// prefix, lower-case scheme and host, no trailing ".git" or "/".
func normRepo(s string) string {
	s = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(s, "git+"), "/"), ".git")
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
		return u.String()
	}
	return s
}

// resolve sets the answer from the claims and lists their conflicts.
func (s *Source) resolve() {
	s.Repository, s.Commit, s.Ref, s.Conflicts = "", "", "", nil
	for _, f := range []struct {
		name string
		get  func(SourceClaim) string
		norm func(string) string
		set  *string
	}{
		{"repository", func(c SourceClaim) string { return c.Repository }, normRepo, &s.Repository},
		{"commit", func(c SourceClaim) string { return c.Commit }, strings.ToLower, &s.Commit},
		{"ref", func(c SourceClaim) string { return c.Ref }, func(x string) string { return x }, &s.Ref},
	} {
		var values []string
		var says []string
		for _, c := range s.Claims {
			v := f.get(c)
			if v == "" {
				continue
			}
			says = append(says, fmt.Sprintf("%s says %s", c.From, v))
			if n := f.norm(v); !slices.Contains(values, n) {
				values = append(values, n)
			}
		}
		switch len(values) {
		case 0:
		case 1:
			*f.set = values[0]
		default:
			s.Conflicts = append(s.Conflicts, fmt.Sprintf("%s disagrees: %s", f.name, strings.Join(slices.Compact(says), "; ")))
		}
	}
}
