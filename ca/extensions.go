package ca

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"

	"github.com/signetproject/signet/oidc"
)

// Fulcio's certificate extension OIDs (1.3.6.1.4.1.57264.1.*).
var (
	OIDIssuer                              = fulcioOID(1) // deprecated raw string
	OIDGitHubWorkflowTrigger               = fulcioOID(2) // deprecated raw string
	OIDGitHubWorkflowSHA                   = fulcioOID(3) // deprecated raw string
	OIDGitHubWorkflowName                  = fulcioOID(4) // deprecated raw string
	OIDGitHubWorkflowRepository            = fulcioOID(5) // deprecated raw string
	OIDGitHubWorkflowRef                   = fulcioOID(6) // deprecated raw string
	OIDOtherName                           = fulcioOID(7)
	OIDIssuerV2                            = fulcioOID(8)
	OIDBuildSignerURI                      = fulcioOID(9)
	OIDBuildSignerDigest                   = fulcioOID(10)
	OIDRunnerEnvironment                   = fulcioOID(11)
	OIDSourceRepositoryURI                 = fulcioOID(12)
	OIDSourceRepositoryDigest              = fulcioOID(13)
	OIDSourceRepositoryRef                 = fulcioOID(14)
	OIDSourceRepositoryIdentifier          = fulcioOID(15)
	OIDSourceRepositoryOwnerURI            = fulcioOID(16)
	OIDSourceRepositoryOwnerIdentifier     = fulcioOID(17)
	OIDBuildConfigURI                      = fulcioOID(18)
	OIDBuildConfigDigest                   = fulcioOID(19)
	OIDBuildTrigger                        = fulcioOID(20)
	OIDRunInvocationURI                    = fulcioOID(21)
	OIDSourceRepositoryVisibilityAtSigning = fulcioOID(22)
	OIDDeploymentEnvironment               = fulcioOID(23)

	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	// RFC 6962 §3.1 precertificate poison and §3.3 embedded SCT list.
	oidPoison  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}
	oidSCTList = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}
)

func fulcioOID(n int) asn1.ObjectIdentifier {
	return asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, n}
}

// Extensions renders the Fulcio extensions for id: the issuer (twice: the
// deprecated raw form and the DER UTF8String form), the deprecated raw
// GitHub workflow claims, and the DER UTF8String build claims.
func Extensions(id oidc.Identity) ([]pkix.Extension, error) {
	if id.Issuer == "" {
		return nil, errors.New("identity has no issuer")
	}
	b := id.Build
	exts := []pkix.Extension{{Id: OIDIssuer, Value: []byte(id.Issuer)}}
	for _, raw := range []struct {
		oid   asn1.ObjectIdentifier
		value string
	}{
		{OIDGitHubWorkflowTrigger, b.GitHubWorkflowTrigger},
		{OIDGitHubWorkflowSHA, b.GitHubWorkflowSHA},
		{OIDGitHubWorkflowName, b.GitHubWorkflowName},
		{OIDGitHubWorkflowRepository, b.GitHubWorkflowRepository},
		{OIDGitHubWorkflowRef, b.GitHubWorkflowRef},
	} {
		if raw.value != "" {
			exts = append(exts, pkix.Extension{Id: raw.oid, Value: []byte(raw.value)})
		}
	}
	for _, u := range []struct {
		oid   asn1.ObjectIdentifier
		value string
	}{
		{OIDIssuerV2, id.Issuer},
		{OIDBuildSignerURI, b.BuildSignerURI},
		{OIDBuildSignerDigest, b.BuildSignerDigest},
		{OIDRunnerEnvironment, b.RunnerEnvironment},
		{OIDSourceRepositoryURI, b.SourceRepositoryURI},
		{OIDSourceRepositoryDigest, b.SourceRepositoryDigest},
		{OIDSourceRepositoryRef, b.SourceRepositoryRef},
		{OIDSourceRepositoryIdentifier, b.SourceRepositoryIdentifier},
		{OIDSourceRepositoryOwnerURI, b.SourceRepositoryOwnerURI},
		{OIDSourceRepositoryOwnerIdentifier, b.SourceRepositoryOwnerIdentifier},
		{OIDBuildConfigURI, b.BuildConfigURI},
		{OIDBuildConfigDigest, b.BuildConfigDigest},
		{OIDBuildTrigger, b.BuildTrigger},
		{OIDRunInvocationURI, b.RunInvocationURI},
		{OIDSourceRepositoryVisibilityAtSigning, b.SourceRepositoryVisibilityAtSigning},
		{OIDDeploymentEnvironment, b.DeploymentEnvironment},
	} {
		if u.value == "" {
			continue
		}
		v, err := asn1.MarshalWithParams(u.value, "utf8")
		if err != nil {
			return nil, err
		}
		exts = append(exts, pkix.Extension{Id: u.oid, Value: v})
	}
	return exts, nil
}

// otherNameSAN encodes a critical subjectAltName extension holding one
// otherName of type OIDOtherName with a UTF8String value.
func otherNameSAN(name string) (pkix.Extension, error) {
	type otherName struct {
		ID    asn1.ObjectIdentifier
		Value string `asn1:"utf8,explicit,tag:0"`
	}
	type generalNames struct {
		OtherName otherName `asn1:"tag:0"`
	}
	v, err := asn1.Marshal(generalNames{otherName{ID: OIDOtherName, Value: name}})
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: oidSubjectAltName, Critical: true, Value: v}, nil
}
