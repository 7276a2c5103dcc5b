package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	slsa02 "github.com/in-toto/attestation/go/predicates/provenance/v02"
	slsa1 "github.com/in-toto/attestation/go/predicates/provenance/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// In-toto statement and predicate type URIs used by cosign.
const (
	StatementTypeV01 = "https://in-toto.io/Statement/v0.1"
	StatementTypeV1  = "https://in-toto.io/Statement/v1"

	// PredicateCosignSign is the predicate of cosign v3 image signatures:
	// a statement whose subject is the image digest and whose predicate is
	// empty.
	PredicateCosignSign = "https://sigstore.dev/cosign/sign/v1"

	PredicateCustom    = "https://cosign.sigstore.dev/attestation/v1"
	PredicateVuln      = "https://cosign.sigstore.dev/attestation/vuln/v1"
	PredicateSLSA02    = "https://slsa.dev/provenance/v0.2"
	PredicateSLSA1     = "https://slsa.dev/provenance/v1"
	PredicateSPDX      = "https://spdx.dev/Document"
	PredicateCycloneDX = "https://cyclonedx.org/bom"
	PredicateLink      = "https://in-toto.io/Link/v1"
	PredicateOpenVEX   = "https://openvex.dev/ns"
)

// Media types of signed content and of OCI artifacts.
const (
	// MediaTypeInToto is the DSSE payload type of in-toto statements.
	MediaTypeInToto = "application/vnd.in-toto+json"
	// MediaTypeDSSE is the layer media type of legacy attestations.
	MediaTypeDSSE = "application/vnd.dsse.envelope.v1+json"
	// MediaTypeBundle03 is the artifact type and layer media type of
	// bundle referrers.
	MediaTypeBundle03 = "application/vnd.dev.sigstore.bundle.v0.3+json"

	mediaTypeOCIEmpty  = "application/vnd.oci.empty.v1+json"
	mediaTypeOCIConfig = "application/vnd.oci.image.config.v1+json"
)

// predicateTypes maps the names `cosign attest --type` accepts to
// predicate type URIs (cosign's options.PredicateTypeMap).
var predicateTypes = map[string]string{
	"custom":           PredicateCustom,
	"slsaprovenance":   PredicateSLSA02,
	"slsaprovenance02": PredicateSLSA02,
	"slsaprovenance1":  PredicateSLSA1,
	"spdx":             PredicateSPDX,
	"spdxjson":         PredicateSPDX,
	"cyclonedx":        PredicateCycloneDX,
	"link":             PredicateLink,
	"vuln":             PredicateVuln,
	"openvex":          PredicateOpenVEX,
}

// PredicateTypes returns the short predicate type names, sorted.
func PredicateTypes() []string {
	var names []string
	for k := range predicateTypes {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// PredicateTypeURI maps a `cosign attest --type` value (slsaprovenance,
// slsaprovenance1, spdxjson, cyclonedx, vuln, openvex, custom, …) or an
// absolute URI to the predicate type URI, as cosign does.
func PredicateTypeURI(t string) (string, error) {
	if uri, ok := predicateTypes[t]; ok {
		return uri, nil
	}
	if _, err := url.ParseRequestURI(t); err != nil {
		return "", fmt.Errorf("invalid predicate type %q: not one of %v or a URI", t, PredicateTypes())
	}
	return t, nil
}

// Statement is an in-toto statement as signet reads and writes it.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate,omitempty"`
}

// Subject is an in-toto resource descriptor naming a signed artifact.
type Subject struct {
	Name             string            `json:"name,omitempty"`
	URI              string            `json:"uri,omitempty"`
	Digest           map[string]string `json:"digest"`
	Content          []byte            `json:"content,omitempty"`
	DownloadLocation string            `json:"downloadLocation,omitempty"`
	MediaType        string            `json:"mediaType,omitempty"`
	Annotations      map[string]any    `json:"annotations,omitempty"`
}

// Marshal encodes the statement.
func (s *Statement) Marshal() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode in-toto statement: %w", err)
	}
	return b, nil
}

// ParseStatement parses an in-toto statement (v0.1 or v1) strictly: known
// top-level fields only, no duplicate keys, a predicate type, at least one
// subject, every subject with at least one digest.
func ParseStatement(data []byte) (*Statement, error) {
	if len(data) > maxPayloadSize {
		return nil, fmt.Errorf("in-toto statement: %d bytes is too large", len(data))
	}
	var s Statement
	if err := decodeStrict(data, &s); err != nil {
		return nil, fmt.Errorf("in-toto statement: %w", err)
	}
	switch {
	case s.Type != StatementTypeV01 && s.Type != StatementTypeV1:
		return nil, fmt.Errorf("in-toto statement: unsupported _type %q", s.Type)
	case s.PredicateType == "":
		return nil, errors.New("in-toto statement: missing predicateType")
	case len(s.Subject) == 0:
		return nil, errors.New("in-toto statement: no subjects")
	}
	for i, sub := range s.Subject {
		if len(sub.Digest) == 0 {
			return nil, fmt.Errorf("in-toto statement: subject %d has no digest", i)
		}
	}
	if len(s.Predicate) > 0 && bytes.Equal(bytes.TrimSpace(s.Predicate), []byte("null")) {
		s.Predicate = nil
	}
	return &s, nil
}

// HasSubjectDigest reports whether the statement names the sha256 digest
// ("sha256:<hex>") as a subject.
func (s *Statement) HasSubjectDigest(digest string) bool {
	for _, sub := range s.Subject {
		if "sha256:"+sub.Digest["sha256"] == digest {
			return true
		}
	}
	return false
}

// SignStatement is the statement cosign v3 signs for an image: subject
// the image digest (no name) with the signer's annotations, predicate type
// PredicateCosignSign and an empty predicate.
func SignStatement(image name.Digest, annotations map[string]string) (*Statement, error) {
	hex, err := digestHex(image)
	if err != nil {
		return nil, err
	}
	sub := Subject{Digest: map[string]string{"sha256": hex}}
	if len(annotations) > 0 {
		sub.Annotations = map[string]any{}
		for k, v := range annotations {
			sub.Annotations[k] = v
		}
	}
	return &Statement{Type: StatementTypeV1, Subject: []Subject{sub}, PredicateType: PredicateCosignSign,
		Predicate: json.RawMessage("{}")}, nil
}

// NewStatement builds the statement `cosign attest --type typ --predicate
// file` signs: type v0.1, subject the image repository and digest, and the
// predicate normalised as cosign does for its known types (SLSA predicates
// through the in-toto protobuf schema, vuln through cosign's vuln schema,
// custom wrapped as {"Data","Timestamp"}). Other types need a JSON object.
// now is the custom predicate's timestamp.
func NewStatement(image name.Digest, typ string, predicate []byte, now time.Time) (*Statement, error) {
	uri, err := PredicateTypeURI(typ)
	if err != nil {
		return nil, err
	}
	hex, err := digestHex(image)
	if err != nil {
		return nil, err
	}
	var pred any
	switch {
	case typ == "custom":
		pred = map[string]string{"Data": string(predicate), "Timestamp": now.UTC().Format(time.RFC3339)}
	case uri == PredicateSLSA02:
		pred, err = normaliseProto(predicate, &slsa02.Provenance{}, nil)
	case uri == PredicateSLSA1:
		pred, err = normaliseProto(predicate, &slsa1.Provenance{}, renameInvocationID)
	case uri == PredicateVuln:
		pred, err = normaliseVuln(predicate)
	case typ == "spdx":
		return nil, errors.New("predicate type spdx embeds the document as a JSON string, which in-toto verifiers cannot parse; use spdxjson")
	default:
		pred, err = jsonObject(predicate)
	}
	if err != nil {
		return nil, fmt.Errorf("%s predicate: %w", typ, err)
	}
	raw, err := json.Marshal(pred)
	if err != nil {
		return nil, fmt.Errorf("%s predicate: %w", typ, err)
	}
	return &Statement{
		Type:          StatementTypeV01,
		Subject:       []Subject{{Name: image.Context().String(), Digest: map[string]string{"sha256": hex}}},
		PredicateType: uri,
		Predicate:     raw,
	}, nil
}

func digestHex(d name.Digest) (string, error) {
	s := d.DigestStr()
	if !sha256Digest.MatchString(s) {
		return "", fmt.Errorf("image digest %q is not sha256:<64 hex>", s)
	}
	return s[len("sha256:"):], nil
}

func jsonObject(data []byte) (map[string]any, error) {
	if err := checkJSONObject(data); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// normaliseProto passes a predicate through its protobuf schema, dropping
// unknown fields, as cosign does for SLSA provenance.
func normaliseProto(data []byte, m proto.Message, fix func(map[string]any)) (any, error) {
	obj, err := jsonObject(data)
	if err != nil {
		return nil, err
	}
	if fix != nil {
		fix(obj)
		if data, err = json.Marshal(obj); err != nil {
			return nil, err
		}
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, m); err != nil {
		return nil, err
	}
	out, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	return jsonObject(out)
}

// renameInvocationID applies cosign's fix-up of SLSA v1 predicates that
// spell runDetails.metadata.invocationID (the schema says invocationId).
func renameInvocationID(obj map[string]any) {
	rd, _ := obj["runDetails"].(map[string]any)
	md, _ := rd["metadata"].(map[string]any)
	if v, ok := md["invocationID"]; ok {
		md["invocationId"] = v
		delete(md, "invocationID")
	}
}

// VulnPredicate is cosign's vulnerability scan predicate
// (attestation.CosignVulnPredicate), the schema `--type vuln` predicates are
// normalised to when attesting and before policies see them.
type VulnPredicate struct {
	Invocation struct {
		Parameters any    `json:"parameters"`
		URI        string `json:"uri"`
		EventID    string `json:"event_id"`
		BuilderID  string `json:"builder.id"`
	} `json:"invocation"`
	Scanner struct {
		URI     string `json:"uri"`
		Version string `json:"version"`
		DB      struct {
			URI     string `json:"uri"`
			Version string `json:"version"`
		} `json:"db"`
		Result any `json:"result"`
	} `json:"scanner"`
	Metadata struct {
		ScanStartedOn  time.Time `json:"scanStartedOn"`
		ScanFinishedOn time.Time `json:"scanFinishedOn"`
	} `json:"metadata"`
}

func normaliseVuln(data []byte) (any, error) {
	if _, err := jsonObject(data); err != nil {
		return nil, err
	}
	var v VulnPredicate
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
