package policy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Validate checks a TrustRoot the way policy-controller's webhook does,
// with its messages and paths. Call SetDefaults first.
//
// Differences from policy-controller v0.13.1: an air-gapped repository is
// only checked to be a gzipped tarball (building a TUF client from it is
// the trustroot package's job), and every sigstoreKeys finding is reported
// (policy-controller keeps only the last list entry's findings).
func (t *TrustRoot) Validate() FieldErrors {
	var f findings
	t.Spec.validate(&f, "spec")
	return f.list
}

func (s *TrustRootSpec) validate(f *findings, p path) {
	n := 0
	for _, set := range []bool{s.Repository != nil, s.Remote != nil, s.SigstoreKeys != nil} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		f.missingOneOf(p.child("repository"), p.child("remote"), p.child("sigstoreKeys"))
	case n > 1:
		f.multipleOneOf(p.child("repository"), p.child("remote"), p.child("sigstoreKeys"))
	case s.Repository != nil:
		s.Repository.validate(f, p.child("repository"))
	case s.Remote != nil:
		s.Remote.validate(f, p.child("remote"))
	default:
		s.SigstoreKeys.validate(f, p.child("sigstoreKeys"))
	}
}

func (r *Repository) validate(f *findings, p path) {
	before := len(f.list)
	if r.Targets == "" {
		f.missing(p.child("targets"))
	}
	validateRoot(f, r.Root, p.child("root"))
	if len(r.MirrorFS) == 0 {
		f.missing(p.child("repository"))
		return
	}
	if len(f.list) > before {
		// Like policy-controller: with the above wrong, a TUF error would
		// only add noise.
		return
	}
	if err := checkTarGz(r.MirrorFS); err != nil {
		f.invalid("failed to construct a TUF client", p.child("mirrorFS"), err.Error())
	}
}

// checkTarGz checks that b starts like a gzipped tarball.
func checkTarGz(b []byte) error {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("failed to uncompress: %w", err)
	}
	defer zr.Close()
	if _, err := tar.NewReader(zr).Next(); err != nil {
		return fmt.Errorf("failed to read tarball: %w", err)
	}
	return nil
}

func (r *Remote) validate(f *findings, p path) {
	if r.Mirror == "" {
		f.missing(p.child("mirror"))
	} else {
		validateURL(f, r.Mirror, p.child("mirror"))
	}
	validateRoot(f, r.Root, p.child("root"))
}

// validateRoot checks that root is a JSON object with signatures.
func validateRoot(f *findings, root []byte, p path) {
	if root == nil {
		f.missing(p)
		return
	}
	var m map[string]any
	if err := json.Unmarshal(root, &m); err != nil {
		f.invalid("failed to unmarshal", p, err.Error())
		return
	}
	if m["signatures"] == nil {
		f.invalid("missing signatures in root.json", p, "no signatures")
	}
}

func (k *SigstoreKeys) validate(f *findings, p path) {
	if len(k.CertificateAuthorities) == 0 && len(k.TimeStampAuthorities) == 0 {
		f.missingOneOf(p.child("certificateAuthority"), p.child("timestampAuthorities"))
	}
	for i, ca := range k.CertificateAuthorities {
		ca.validate(f, p.index("certificateAuthority", i))
	}
	for i, tsa := range k.TimeStampAuthorities {
		tp := p.index("timestampAuthorities", i)
		tsa.validate(f, tp)
		leaves, err := leafCertificates(tsa.CertChain)
		if err != nil {
			f.invalid("error splitting the certificates", tp.child("certChain"), err.Error())
		} else if leaves > 1 {
			f.invalid("certificate chain must contain at most one TSA certificate", tp.child("certChain"))
		}
	}
	for i, l := range k.CTLogs {
		l.validate(f, p.index("ctLogs", i))
	}
	for i, l := range k.TLogs {
		l.validate(f, p.index("tLogs", i))
	}
}

func (ca *CertificateAuthority) validate(f *findings, p path) {
	if ca.Subject.Organization == "" {
		f.missing(p.child("subject").child("organization"))
	}
	if ca.Subject.CommonName == "" {
		f.missing(p.child("subject").child("commonName"))
	}
	if ca.URI == "" {
		f.missing(p.child("uri"))
	}
	if len(ca.CertChain) == 0 {
		f.missing(p.child("certchain"))
	}
}

// leafCertificates counts the non-CA certificates of a PEM chain.
func leafCertificates(chain []byte) (int, error) {
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(chain)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range certs {
		if !c.IsCA {
			n++
		}
	}
	return n, nil
}

func (l *TransparencyLogInstance) validate(f *findings, p path) {
	if l.BaseURL == "" {
		f.missing(p.child("baseURL"))
	}
	if l.HashAlgorithm == "" {
		f.missing(p.child("hashAlgorithm"))
	}
	if len(l.PublicKey) == 0 {
		f.missing(p.child("publicKey"))
	}
}
