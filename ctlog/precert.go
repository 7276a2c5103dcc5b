package ctlog

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// removePoison returns the DER TBSCertificate tbs without its one RFC 6962
// poison extension: the PreCert.tbs_certificate of RFC 6962 §3.2 as
// certificate-transparency-go's x509.RemoveCTPoison makes it (CT clients
// rebuild the log's entries with it), without its reflective parse and
// re-encoding. It copies every field but the extensions as it is, which
// gives RemoveCTPoison's bytes for every TBSCertificate RemoveCTPoison
// writes back as it was (every DER one, but for tags in high-tag-number
// form, which cryptobyte, and so crypto/x509, does not read); it refuses
// the others, and those RemoveCTPoison refuses. Like RemoveCTPoison, it
// leaves an empty extensions SEQUENCE if the poison was the only
// extension, and it does not look into the poison: checkChain has checked
// that it is critical and holds a NULL.
func removePoison(tbs []byte) ([]byte, error) {
	in := cryptobyte.String(tbs)
	var fields cryptobyte.String
	if !in.ReadASN1(&fields, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errors.New("TBSCertificate is not one DER SEQUENCE")
	}
	all := fields
	for _, f := range tbsFields {
		if !f.read(&fields) {
			return nil, fmt.Errorf("TBSCertificate %s is malformed or not in DER", f.name)
		}
	}
	head := all[:len(all)-len(fields)]
	var wrapped, exts cryptobyte.String
	if !fields.ReadASN1(&wrapped, tagExtensions) || !wrapped.ReadASN1(&exts, cbasn1.SEQUENCE) || !wrapped.Empty() {
		return nil, errors.New("TBSCertificate has no extensions field, or one not in DER")
	}
	if !fields.Empty() {
		return nil, errors.New("TBSCertificate has data after its extensions")
	}
	before, after, err := cutPoison(exts)
	if err != nil {
		return nil, err
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, len(tbs)))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(head)
		b.AddASN1(tagExtensions, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddBytes(before)
				b.AddBytes(after)
			})
		})
	})
	return b.Bytes()
}

var (
	tagVersion         = cbasn1.Tag(0).Constructed().ContextSpecific()
	tagIssuerUniqueID  = cbasn1.Tag(1).ContextSpecific()
	tagSubjectUniqueID = cbasn1.Tag(2).ContextSpecific()
	tagExtensions      = cbasn1.Tag(3).Constructed().ContextSpecific()
	// derPoison is the content of the poison extension's OBJECT
	// IDENTIFIER, 1.3.6.1.4.1.11129.2.4.3 (DER has one encoding of it).
	derPoison = []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x03}
)

// tbsFields read the fields of a TBSCertificate before its extensions
// (RFC 5280 §4.1), each checked as RemoveCTPoison parses it and, if it
// writes the field anew, for being in the form it writes.
var tbsFields = []struct {
	name string
	read func(*cryptobyte.String) bool
}{
	{"version", readVersion},
	{"serial number", readSerial},
	{"signature algorithm", readAlgorithm},
	{"issuer", readElement},
	{"validity", readValidity},
	{"subject", readElement},
	{"subject public key info", readPublicKeyInfo},
	{"issuer unique ID", optionalBitString(tagIssuerUniqueID)},
	{"subject unique ID", optionalBitString(tagSubjectUniqueID)},
}

// readVersion reads the optional [0] EXPLICIT version, which must not be
// the default, 0 (v1): RemoveCTPoison would leave it out.
func readVersion(s *cryptobyte.String) bool {
	var v cryptobyte.String
	var present bool
	var version int64
	return s.ReadOptionalASN1(&v, &present, tagVersion) &&
		(!present || v.ReadASN1Integer(&version) && v.Empty() && version != 0)
}

// readSerial reads an INTEGER of any size and sign, in DER: not empty,
// and without a leading byte that only repeats the sign of the next.
func readSerial(s *cryptobyte.String) bool {
	var n cryptobyte.String
	return s.ReadASN1(&n, cbasn1.INTEGER) &&
		(len(n) == 1 || len(n) > 1 && !(n[0] == 0 && n[1]&0x80 == 0) && !(n[0] == 0xff && n[1]&0x80 != 0))
}

// readAlgorithm reads an AlgorithmIdentifier, which RemoveCTPoison copies
// (certificate-transparency-go's pkix.AlgorithmIdentifier keeps its raw
// content) once it has parsed the OID, leniently, and the parameters'
// header, ignoring anything after them.
func readAlgorithm(s *cryptobyte.String) bool {
	var alg, oid, params cryptobyte.String
	var tag cbasn1.Tag
	return s.ReadASN1(&alg, cbasn1.SEQUENCE) && alg.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) &&
		validOID(oid, false) && (alg.Empty() || alg.ReadAnyASN1(&params, &tag))
}

// readElement reads any one element (a Name, which RemoveCTPoison copies
// as an asn1.RawValue).
func readElement(s *cryptobyte.String) bool {
	var e cryptobyte.String
	var tag cbasn1.Tag
	return s.ReadAnyASN1(&e, &tag)
}

// readValidity reads a Validity and its two times.
func readValidity(s *cryptobyte.String) bool {
	var v cryptobyte.String
	return s.ReadASN1(&v, cbasn1.SEQUENCE) && readTime(&v) && readTime(&v) && v.Empty()
}

// readTime reads a Time in the one form RemoveCTPoison writes it: to the
// second, as a UTCTime for the years 1950 to 2049 and a GeneralizedTime
// for the others, that time.Parse takes and formats back as it was.
func readTime(s *cryptobyte.String) bool {
	var t cryptobyte.String
	tag, layout := cbasn1.UTCTime, "060102150405Z0700"
	if s.PeekASN1Tag(cbasn1.GeneralizedTime) {
		tag, layout = cbasn1.GeneralizedTime, "20060102150405Z0700"
	}
	read := s.ReadASN1(&t, tag)
	parsed, err := time.Parse(layout, string(t))
	var buf [len("20060102150405-0700")]byte
	if !read || err != nil || string(parsed.AppendFormat(buf[:0], layout)) != string(t) {
		return false
	}
	// time.Parse puts a UTCTime in 1969 to 2068, and RemoveCTPoison in
	// 1950 to 2049: either way a UTCTime is the form it writes.
	year := parsed.Year()
	return tag == cbasn1.UTCTime || year < 1950 || year >= 2050
}

// readPublicKeyInfo reads a SubjectPublicKeyInfo, which RemoveCTPoison
// copies (its publicKeyInfo keeps its raw content) once it has parsed the
// algorithm and the key, ignoring anything after them.
func readPublicKeyInfo(s *cryptobyte.String) bool {
	var spki, key cryptobyte.String
	return s.ReadASN1(&spki, cbasn1.SEQUENCE) && readAlgorithm(&spki) &&
		spki.ReadASN1(&key, cbasn1.BIT_STRING) && validBitString(key)
}

// optionalBitString reads an optional [tag] IMPLICIT BIT STRING.
func optionalBitString(tag cbasn1.Tag) func(*cryptobyte.String) bool {
	return func(s *cryptobyte.String) bool {
		var b cryptobyte.String
		var present bool
		return s.ReadOptionalASN1(&b, &present, tag) && (!present || validBitString(b))
	}
}

// validBitString reports whether b is the content of a BIT STRING: the
// count of unused bits, at most 7, which are zero. (With no bits, the
// last byte is the count, so it must be 0.)
func validBitString(b []byte) bool {
	return len(b) > 0 && b[0] <= 7 && b[len(b)-1]&(1<<b[0]-1) == 0
}

// validOID reports whether b is the content of an OBJECT IDENTIFIER that
// certificate-transparency-go's asn1 parses: arcs of at most 5 bytes
// base 128, each at most 2^31-1. If minimal, an arc must not start with a
// 0x80 byte, which its encoder would drop.
func validOID(b []byte, minimal bool) bool {
	if len(b) == 0 {
		return false
	}
	for len(b) > 0 {
		if minimal && b[0] == 0x80 {
			return false
		}
		var arc int64
		n := 0
		for ; b[n]&0x80 != 0; n++ {
			if n == 4 || n == len(b)-1 {
				return false
			}
			arc = arc<<7 | int64(b[n]&0x7f)
		}
		if arc<<7|int64(b[n]) > math.MaxInt32 {
			return false
		}
		b = b[n+1:]
	}
	return true
}

// cutPoison returns the extensions before and after the one poison
// extension in exts, the content of the Extensions SEQUENCE. The others
// are checked for being in the form RemoveCTPoison writes them.
func cutPoison(exts cryptobyte.String) (before, after []byte, err error) {
	all, found := exts, false
	for i := 0; !exts.Empty(); i++ {
		start := len(all) - len(exts)
		var ext, oid, value cryptobyte.String
		var critical bool
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) || !validOID(oid, true) {
			return nil, nil, fmt.Errorf("TBSCertificate extension %d is malformed or not in DER", i)
		}
		flagged := ext.PeekASN1Tag(cbasn1.BOOLEAN)
		if flagged && !ext.ReadASN1Boolean(&critical) || !ext.ReadASN1(&value, cbasn1.OCTET_STRING) || !ext.Empty() {
			return nil, nil, fmt.Errorf("TBSCertificate extension %d is malformed or not in DER", i)
		}
		if flagged && !critical {
			// DER leaves out the default, and so does RemoveCTPoison.
			return nil, nil, fmt.Errorf("TBSCertificate extension %d has its critical flag written out as FALSE, not DER", i)
		}
		if !bytes.Equal(oid, derPoison) {
			continue
		}
		if found {
			return nil, nil, errors.New("TBSCertificate has two poison extensions")
		}
		found = true
		before, after = all[:start], all[len(all)-len(exts):]
	}
	if !found {
		return nil, nil, errors.New("TBSCertificate has no poison extension")
	}
	return before, after, nil
}
