package policy

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/signetproject/signet/oci"
)

// NormalizeAttestation returns an in-toto statement as policy-controller
// shows it to an attestation's policy (cosign's AttestationToPayloadJSON):
// decoded and re-encoded with the in-toto Go types, so that fields outside
// the statement schema are dropped, JSON numbers become float64, and for
// the short predicate types "slsaprovenance" (SLSA v0.2), "link" and
// "vuln" the predicate is decoded into its schema (unknown predicate
// fields dropped, missing ones zero, timestamps in RFC 3339). Every other
// predicateType, short name or URI, keeps its predicate as decoded JSON.
//
// predicateType is the attestation's spec predicateType; the statement's
// own predicateType must be the URI it stands for.
func NormalizeAttestation(predicateType string, statement []byte) ([]byte, error) {
	if predicateType == "" {
		return nil, fmt.Errorf("missing predicate type")
	}
	var st intotoStatement[any]
	if err := json.Unmarshal(statement, &st); err != nil {
		return nil, fmt.Errorf("unmarshal in-toto statement: %w", err)
	}
	if want := PredicateTypeURI(predicateType); st.PredicateType != want {
		return nil, fmt.Errorf("in-toto statement has predicateType %q, want %q", st.PredicateType, want)
	}
	switch predicateType {
	case "link":
		return renormalize[intotoStatement[intotoLink]](statement, "LinkStatement")
	case "slsaprovenance":
		return renormalize[intotoStatement[slsa02Predicate]](statement, "ProvenanceStatementSLSA02")
	case "vuln":
		return renormalize[intotoStatement[oci.VulnPredicate]](statement, "CosignVulnStatement")
	}
	out, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("generating Statement: %w", err)
	}
	return out, nil
}

// renormalize decodes the statement into T and encodes it again.
func renormalize[T any](statement []byte, what string) ([]byte, error) {
	var v T
	if err := json.Unmarshal(statement, &v); err != nil {
		return nil, fmt.Errorf("unmarshaling %s: %w", what, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshaling %s: %w", what, err)
	}
	return out, nil
}

// The types below have the JSON shape of in-toto-golang v0.9.0's and
// cosign v2.5.0's, which policy-controller v0.13.1 decodes statements with.

// intotoStatement is an in-toto v0.1 statement with predicate P.
type intotoStatement[P any] struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Subject       []intotoSubject `json:"subject"`
	Predicate     P               `json:"predicate"`
}

type intotoSubject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// intotoLink is the in-toto link predicate.
type intotoLink struct {
	Type        string         `json:"_type"`
	Name        string         `json:"name"`
	Materials   map[string]any `json:"materials"`
	Products    map[string]any `json:"products"`
	ByProducts  map[string]any `json:"byproducts"`
	Command     []string       `json:"command"`
	Environment map[string]any `json:"environment"`
}

// slsa02Predicate is the SLSA provenance v0.2 predicate.
type slsa02Predicate struct {
	Builder struct {
		ID string `json:"id"`
	} `json:"builder"`
	BuildType  string `json:"buildType"`
	Invocation struct {
		ConfigSource struct {
			URI        string            `json:"uri,omitempty"`
			Digest     map[string]string `json:"digest,omitempty"`
			EntryPoint string            `json:"entryPoint,omitempty"`
		} `json:"configSource,omitempty"`
		Parameters  any `json:"parameters,omitempty"`
		Environment any `json:"environment,omitempty"`
	} `json:"invocation,omitempty"`
	BuildConfig any `json:"buildConfig,omitempty"`
	Metadata    *struct {
		BuildInvocationID string     `json:"buildInvocationID,omitempty"`
		BuildStartedOn    *time.Time `json:"buildStartedOn,omitempty"`
		BuildFinishedOn   *time.Time `json:"buildFinishedOn,omitempty"`
		Completeness      struct {
			Parameters  bool `json:"parameters"`
			Environment bool `json:"environment"`
			Materials   bool `json:"materials"`
		} `json:"completeness"`
		Reproducible bool `json:"reproducible"`
	} `json:"metadata,omitempty"`
	Materials []struct {
		URI    string            `json:"uri,omitempty"`
		Digest map[string]string `json:"digest,omitempty"`
	} `json:"materials,omitempty"`
}
