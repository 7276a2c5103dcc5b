package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// WriteJSON writes the report as indented JSON (schema SchemaVersion).
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// clean makes registry-supplied text safe for a terminal: control and
// other non-printing characters (escape sequences, line breaks) are shown
// escaped, as Go quotes them.
func clean(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

// maxTableIDs bounds the vulnerability IDs the table prints per image.
const maxTableIDs = 10

// WriteTable writes the report as text, grouped by image: the pods
// running it, then the four answers, unverified evidence and the policy
// verdict.
func WriteTable(w io.Writer, r *Report) error {
	p := &printer{w: w}
	s := r.Summary
	p.printf("signet report (%s), %s\n", r.SchemaVersion, r.GeneratedAt.Format("2006-01-02 15:04:05 MST"))
	p.printf("trust: %s\n", clean(r.Trust))
	p.printf("%d images, %d pods: %d signed, %d unsigned", s.Images, s.Pods, s.Signed, s.Unsigned)
	if s.PolicyAllowed+s.PolicyDenied > 0 {
		p.printf("; policy: %d allowed, %d denied", s.PolicyAllowed, s.PolicyDenied)
	}
	p.printf("\n")
	if q := r.Package; q != nil {
		p.printf("\npackage %s: found in %d images\n", clean(q.Query), len(q.Matches))
		for _, m := range q.Matches {
			var pk []string
			for _, x := range m.Packages {
				pk = append(pk, clean(x.Name+" "+x.Version))
			}
			p.printf("  %s (%s)\n", clean(m.Image), strings.Join(pk, ", "))
			for _, pod := range m.Pods {
				p.printf("    pod %s\n", clean(pod.String()))
			}
		}
	}
	for _, img := range r.Images {
		p.image(img)
	}
	return p.err
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// field prints "  name: first line" and further lines indented.
func (p *printer) field(name string, lines ...string) {
	for i, l := range lines {
		label := ""
		if i == 0 {
			label = name + ":"
		}
		p.printf("  %-9s %s\n", label, l)
	}
}

func (p *printer) image(img *Image) {
	state := "UNSIGNED"
	if img.Signed {
		state = "SIGNED"
	}
	if img.Policy != nil {
		if img.Policy.Allowed {
			state += ", policy ALLOWED"
		} else {
			state += ", policy DENIED"
		}
	}
	p.printf("\nIMAGE %s  [%s]\n", clean(img.Image), state)
	for _, ref := range img.References {
		p.field("ref", clean(ref))
	}
	var pods []string
	for _, pod := range img.Pods {
		pods = append(pods, clean(pod.String()))
	}
	if len(pods) > 0 {
		p.field("pods", pods...)
	}

	var who []string
	for _, s := range img.Who {
		who = append(who, clean(s.String())+" — trusted by "+clean(s.TrustedBy))
	}
	if len(who) == 0 {
		who = []string{"no verified signature"}
	}
	p.field("who", who...)

	var where []string
	for _, b := range img.Where.Certificate {
		where = append(where, clean(buildLine(b)))
	}
	for _, pr := range img.Where.Provenance {
		where = append(where, clean(provenanceLine(pr)))
	}
	if len(where) == 0 {
		where = []string{"unknown (no verified build claims or provenance)"}
	}
	p.field("where", where...)

	p.field("source", sourceLines(&img.Source)...)

	p.field("vulns", vulnLines(img.Vulnerabilities)...)

	var sboms []string
	for _, sb := range img.SBOMs {
		line := fmt.Sprintf("%s %q, %d packages, signed by %s", sb.Format, sb.Name, sb.Packages, signerName(sb.SignedBy))
		if sb.Error != "" {
			line = "unreadable: " + sb.Error + ", signed by " + signerName(sb.SignedBy)
		}
		for _, m := range sb.Matches {
			line += fmt.Sprintf("; contains %s %s", m.Name, m.Version)
		}
		sboms = append(sboms, clean(line))
	}
	if len(sboms) > 0 {
		p.field("sbom", sboms...)
	}

	var bad []string
	for _, u := range img.Unverified {
		bad = append(bad, clean(u.Ref+": "+u.String()))
	}
	for _, e := range img.Errors {
		bad = append(bad, clean("error: "+e))
	}
	if len(bad) > 0 {
		p.field("!", bad...)
	}
	if v := img.Policy; v != nil {
		var lines []string
		if v.NoMatch {
			lines = append(lines, "no policy matches")
		}
		for _, o := range v.Policies {
			res := "passed"
			if !o.Passed {
				res = "failed: " + strings.Join(o.Reasons, "; ")
			}
			lines = append(lines, clean(fmt.Sprintf("%s (%s) %s", o.Name, o.Mode, res)))
		}
		for _, d := range v.Denials {
			if v.NoMatch || strings.HasPrefix(d, "no matching policies") {
				lines = append(lines, clean("denied: "+d))
			}
		}
		p.field("policy", lines...)
	}
}

func signerName(s Signer) string {
	if s.Identity != "" {
		return s.Identity
	}
	if s.KeyName != "" {
		return "key " + s.KeyName
	}
	return "key " + s.KeyFingerprint
}

func buildLine(b BuildClaims) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+" "+v)
		}
	}
	add("build signer", b.BuildSignerURI)
	add("runner", b.RunnerEnvironment)
	add("run", b.RunInvocationURI)
	add("trigger", b.BuildTrigger)
	add("workflow", b.Workflow)
	return "certificate of " + b.Identity + ": " + strings.Join(parts, ", ")
}

func provenanceLine(p Provenance) string {
	v := "SLSA v1"
	if strings.HasSuffix(p.PredicateType, "v0.2") {
		v = "SLSA v0.2"
	}
	if p.Error != "" {
		return v + " provenance unreadable: " + p.Error
	}
	line := v + " provenance: builder " + p.BuilderID + ", buildType " + p.BuildType
	if p.InvocationID != "" {
		line += ", invocation " + p.InvocationID
	}
	return line + ", signed by " + signerName(p.SignedBy)
}

func sourceLines(s *Source) []string {
	var lines []string
	if s.Repository != "" || s.Commit != "" {
		line := s.Repository
		if s.Commit != "" {
			line += " @ " + s.Commit
		}
		if s.Ref != "" {
			line += " (" + s.Ref + ")"
		}
		var from []string
		for _, c := range s.Claims {
			if !slices.Contains(from, c.From) {
				from = append(from, c.From)
			}
		}
		lines = append(lines, clean(line+" — from "+strings.Join(from, ", ")))
	}
	for _, c := range s.Conflicts {
		lines = append(lines, clean("CONFLICT: "+c))
	}
	if len(lines) == 0 {
		lines = []string{"unknown (no verified source claims)"}
	}
	return lines
}

func vulnLines(v *Vulnerabilities) []string {
	if v == nil {
		return []string{"unknown (no verified vulnerability scan)"}
	}
	var lines []string
	if v.Highest != SeverityUnscanned {
		var counts []string
		for _, s := range Severities {
			if n := v.Counts[s]; n > 0 {
				counts = append(counts, fmt.Sprintf("%d %s", n, s))
			}
		}
		if len(counts) == 0 {
			counts = []string{"no known vulnerabilities"}
		}
		line := "highest " + v.Highest + ": " + strings.Join(counts, ", ")
		ids := v.IDs
		more := ""
		if len(ids) > maxTableIDs {
			ids, more = ids[:maxTableIDs], fmt.Sprintf(" and %d more", len(v.IDs)-maxTableIDs)
		}
		if len(ids) > 0 {
			line += " — " + strings.Join(ids, " ") + more
		}
		lines = append(lines, clean(line))
	}
	for _, s := range v.Scans {
		line := fmt.Sprintf("scan by %s %s (%s)", s.Scanner, s.ScannerVersion, s.Format)
		if s.FinishedAt != nil {
			line += ", finished " + s.FinishedAt.Format("2006-01-02 15:04") + ", " + s.Age + " ago"
		}
		if s.Error != "" {
			line += ", unreadable: " + s.Error
		}
		lines = append(lines, clean(line+", signed by "+signerName(s.SignedBy)))
	}
	return lines
}
