package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/signetproject/signet/oci"
)

// Severities, highest first, as Trivy and Grype name them (upper-cased),
// and the two states of an image without findings.
const (
	SeverityCritical   = "CRITICAL"
	SeverityHigh       = "HIGH"
	SeverityMedium     = "MEDIUM"
	SeverityLow        = "LOW"
	SeverityNegligible = "NEGLIGIBLE"
	SeverityUnknown    = "UNKNOWN"
	// SeverityNone is a verified scan without findings.
	SeverityNone = "NONE"
	// SeverityUnscanned is an image without a verified scan.
	SeverityUnscanned = "UNSCANNED"
)

// Severities lists the finding severities, highest first.
var Severities = []string{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityNegligible, SeverityUnknown}

// Vulnerabilities summarises an image's verified vulnerability scans.
type Vulnerabilities struct {
	// Highest, Counts and IDs are those of the newest scan (by scan
	// finish time): scans of the same image repeat findings, so they are
	// not added up.
	Highest string         `json:"highestSeverity"`
	Counts  map[string]int `json:"counts"`
	// IDs are the newest scan's distinct vulnerability IDs, highest
	// severity first.
	IDs   []string   `json:"ids"`
	Scans []VulnScan `json:"scans"`
}

// VulnScan is one verified vulnerability attestation
// (https://cosign.sigstore.dev/attestation/vuln/v1).
type VulnScan struct {
	// Format is "trivy" or "grype": the shape of scanner.result.
	Format         string `json:"format,omitempty"`
	Scanner        string `json:"scanner,omitempty"`
	ScannerVersion string `json:"scannerVersion,omitempty"`
	DBVersion      string `json:"dbVersion,omitempty"`
	// FinishedAt is when the scan finished and Age how long before the
	// report that was.
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	Age        string     `json:"age,omitempty"`
	// Highest is the highest finding severity, SeverityNone without one.
	Highest string `json:"highestSeverity"`
	// Counts are the findings (vulnerability in a package) by severity.
	Counts   map[string]int `json:"counts"`
	Findings []Finding      `json:"findings"`
	SignedBy Signer         `json:"signedBy"`
	// Error says why scanner.result could not be read; the scan then
	// says nothing about vulnerabilities.
	Error string `json:"error,omitempty"`
}

// Finding is one vulnerability in one package.
type Finding struct {
	ID           string `json:"id"`
	Severity     string `json:"severity"`
	Package      string `json:"package,omitempty"`
	Version      string `json:"version,omitempty"`
	FixedVersion string `json:"fixedVersion,omitempty"`
}

// maxFindings bounds the findings kept per scan; counts cover them all.
const maxFindings = 10000

// readVulnScan reads a verified vuln predicate and its scanner.result.
func readVulnScan(predicate []byte, s Signer, now time.Time) VulnScan {
	scan := VulnScan{SignedBy: s, Counts: map[string]int{}, Findings: []Finding{}}
	var p oci.VulnPredicate
	dec := json.NewDecoder(bytes.NewReader(predicate))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		scan.Error = fmt.Sprintf("vuln predicate: %v", err)
		return scan
	}
	scan.Scanner, scan.ScannerVersion, scan.DBVersion = p.Scanner.URI, p.Scanner.Version, p.Scanner.DB.Version
	if t := p.Metadata.ScanFinishedOn; !t.IsZero() {
		t = t.UTC()
		scan.FinishedAt = &t
		scan.Age = age(now.Sub(t))
	}
	result, err := json.Marshal(p.Scanner.Result)
	if err != nil {
		scan.Error = fmt.Sprintf("scanner.result: %v", err)
		return scan
	}
	format, findings, err := parseScanResult(result)
	if err != nil {
		scan.Error = err.Error()
		return scan
	}
	scan.Format = format
	for _, f := range findings {
		scan.Counts[f.Severity]++
	}
	if len(findings) > maxFindings {
		findings = findings[:maxFindings]
	}
	scan.Findings = findings
	scan.Highest = highest(scan.Counts)
	return scan
}

// age says how long ago, in days and hours.
func age(d time.Duration) string {
	if d < 0 {
		return "in the future"
	}
	days := int(d.Hours()) / 24
	hours := int(d.Hours()) % 24
	if days > 0 {
		return fmt.Sprintf("%dd%dh", days, hours)
	}
	return fmt.Sprintf("%dh%dm", hours, int(d.Minutes())%60)
}

// trivyReport is the part of Trivy's JSON report (SchemaVersion 2) read.
type trivyReport struct {
	SchemaVersion *int `json:"SchemaVersion"`
	Results       *[]struct {
		Target          string `json:"Target"`
		Vulnerabilities []struct {
			VulnerabilityID  string `json:"VulnerabilityID"`
			PkgName          string `json:"PkgName"`
			InstalledVersion string `json:"InstalledVersion"`
			FixedVersion     string `json:"FixedVersion"`
			Severity         string `json:"Severity"`
		} `json:"Vulnerabilities"`
	} `json:"Results"`
}

// grypeReport is the part of Grype's JSON report read.
type grypeReport struct {
	Matches *[]struct {
		Vulnerability struct {
			ID       string `json:"id"`
			Severity string `json:"severity"`
			Fix      struct {
				Versions []string `json:"versions"`
			} `json:"fix"`
		} `json:"vulnerability"`
		Artifact struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"artifact"`
	} `json:"matches"`
}

// parseScanResult reads Trivy or Grype JSON: Trivy's has "Results" (or
// "SchemaVersion"), Grype's "matches".
func parseScanResult(data []byte) (string, []Finding, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil || probe == nil {
		return "", nil, errors.New("scanner.result is not a JSON object (want Trivy or Grype JSON)")
	}
	var out []Finding
	switch {
	case probe["matches"] != nil:
		var g grypeReport
		if err := json.Unmarshal(data, &g); err != nil {
			return "", nil, fmt.Errorf("scanner.result (Grype JSON): %w", err)
		}
		if g.Matches == nil {
			return "", nil, errors.New("scanner.result (Grype JSON): matches is null")
		}
		for _, m := range *g.Matches {
			f := Finding{ID: m.Vulnerability.ID, Severity: severity(m.Vulnerability.Severity), Package: m.Artifact.Name, Version: m.Artifact.Version}
			if len(m.Vulnerability.Fix.Versions) > 0 {
				f.FixedVersion = strings.Join(m.Vulnerability.Fix.Versions, ", ")
			}
			out = append(out, f)
		}
		return "grype", sortFindings(out), nil
	case probe["Results"] != nil || probe["SchemaVersion"] != nil:
		var t trivyReport
		if err := json.Unmarshal(data, &t); err != nil {
			return "", nil, fmt.Errorf("scanner.result (Trivy JSON): %w", err)
		}
		if t.Results != nil {
			for _, r := range *t.Results {
				for _, v := range r.Vulnerabilities {
					out = append(out, Finding{ID: v.VulnerabilityID, Severity: severity(v.Severity), Package: v.PkgName,
						Version: v.InstalledVersion, FixedVersion: v.FixedVersion})
				}
			}
		}
		return "trivy", sortFindings(out), nil
	}
	return "", nil, errors.New(`scanner.result is neither Trivy JSON ("Results") nor Grype JSON ("matches")`)
}

// severity normalises a scanner's severity name.
func severity(s string) string {
	u := strings.ToUpper(strings.TrimSpace(s))
	if slices.Contains(Severities, u) {
		return u
	}
	return SeverityUnknown
}

func sevRank(s string) int {
	if i := slices.Index(Severities, s); i >= 0 {
		return i
	}
	return len(Severities)
}

func sortFindings(fs []Finding) []Finding {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if d := sevRank(a.Severity) - sevRank(b.Severity); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	return fs
}

func highest(counts map[string]int) string {
	for _, s := range Severities {
		if counts[s] > 0 {
			return s
		}
	}
	return SeverityNone
}

// summarise takes the newest readable scan as the image's answer.
func (v *Vulnerabilities) summarise() {
	var newest *VulnScan
	for i := range v.Scans {
		s := &v.Scans[i]
		if s.Error != "" {
			continue
		}
		if newest == nil || (s.FinishedAt != nil && (newest.FinishedAt == nil || s.FinishedAt.After(*newest.FinishedAt))) {
			newest = s
		}
	}
	if newest == nil {
		// Verified scans, but none says anything readable.
		v.Highest, v.Counts, v.IDs = SeverityUnscanned, map[string]int{}, []string{}
		return
	}
	v.Highest, v.Counts, v.IDs = newest.Highest, newest.Counts, []string{}
	seen := map[string]bool{}
	for _, f := range newest.Findings {
		if !seen[f.ID] {
			seen[f.ID] = true
			v.IDs = append(v.IDs, f.ID)
		}
	}
}
