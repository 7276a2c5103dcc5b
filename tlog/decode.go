package tlog

//lint:file-ignore SA1019 Rekor v2 dsse v0.0.2 entries are deprecated upstream but signet still accepts them (issue 4)

import (
	"encoding/base64"

	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	dssepb "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
)

// decodeCreateEntryRequestFast decodes the common form of a create-entry
// request without reflection: protojson's own encoding of a hashedrekord or
// dsse v0.0.2 request, as sigstore-go, cosign and sign.RekorV2 send it, in
// about a third of protojson's time and allocations
// (BenchmarkDecodeCreateEntryRequest).
//
// It accepts a strict subset of what protojson accepts: one JSON object with
// JSON whitespace anywhere, members in any order; keys only as protojson
// writes them (lowerCamelCase JSON names), each at most once, and at most one
// member of a oneof; values only objects, arrays of objects, and strings of
// printable ASCII without escapes; bytes only as padded standard base64 of a
// length divisible by 4; enums only by a name the enum defines. ok is false
// for anything else (null, numbers, booleans, proto field names, unknown
// fields, escapes, URL-safe or unpadded base64, trailing data, ...), and the
// caller then decodes body with protojson, which gives the result or the
// error. When ok is true, protojson decodes body to a message proto.Equal to
// req; FuzzDecodeCreateEntryRequestFast checks that.
func decodeCreateEntryRequestFast(body []byte) (req *rekorpb.CreateEntryRequest, ok bool) {
	d := fastDecoder{in: body}
	req, ok = d.createEntryRequest()
	if !ok || !d.end() {
		return nil, false
	}
	return req, true
}

// decodeEntryFast decodes a log leaf, an Entry, as decodeCreateEntryRequestFast
// decodes a request, and with the same JSON subset: every leaf CanonicalBody
// writes is in it. Followers (search) and readers decode every leaf, so this
// saves protojson's reflection there. When ok is true, protojson decodes body
// to a message proto.Equal to e; FuzzDecodeEntryFast checks that.
func decodeEntryFast(body []byte) (e *rekorpb.Entry, ok bool) {
	d := fastDecoder{in: body}
	e, ok = d.entry()
	if !ok || !d.end() {
		return nil, false
	}
	return e, true
}

// fastDecoder scans the JSON subset decodeCreateEntryRequestFast accepts.
// Each method consumes one value at pos and reports whether it was in the
// subset; after a false, pos is meaningless.
type fastDecoder struct {
	in  []byte
	pos int
}

func (d *fastDecoder) createEntryRequest() (*rekorpb.CreateEntryRequest, bool) {
	req := &rekorpb.CreateEntryRequest{}
	ok := d.object([]string{"hashedRekordRequestV002", "dsseRequestV002"}, func(field int) bool {
		if req.Spec != nil {
			return false // a second oneof member, which protojson rejects
		}
		if field == 0 {
			hr, ok := d.hashedRekordRequest()
			req.Spec = &rekorpb.CreateEntryRequest_HashedRekordRequestV002{HashedRekordRequestV002: hr}
			return ok
		}
		dr, ok := d.dsseRequest()
		req.Spec = &rekorpb.CreateEntryRequest_DsseRequestV002{DsseRequestV002: dr}
		return ok
	})
	return req, ok
}

func (d *fastDecoder) hashedRekordRequest() (*rekorpb.HashedRekordRequestV002, bool) {
	hr := &rekorpb.HashedRekordRequestV002{}
	ok := d.object([]string{"digest", "signature"}, func(field int) (ok bool) {
		if field == 0 {
			hr.Digest, ok = d.base64Bytes()
		} else {
			hr.Signature, ok = d.signature()
		}
		return ok
	})
	return hr, ok
}

func (d *fastDecoder) signature() (*rekorpb.Signature, bool) {
	sig := &rekorpb.Signature{}
	ok := d.object([]string{"content", "verifier"}, func(field int) (ok bool) {
		if field == 0 {
			sig.Content, ok = d.base64Bytes()
		} else {
			sig.Verifier, ok = d.verifier()
		}
		return ok
	})
	return sig, ok
}

func (d *fastDecoder) verifier() (*rekorpb.Verifier, bool) {
	v := &rekorpb.Verifier{}
	ok := d.object([]string{"publicKey", "x509Certificate", "keyDetails"}, func(field int) bool {
		if field == 2 {
			name, ok := d.str()
			details, known := commonv1.PublicKeyDetails_value[string(name)]
			v.KeyDetails = commonv1.PublicKeyDetails(details)
			return ok && known
		}
		if v.Verifier != nil {
			return false // a second oneof member
		}
		raw, ok := d.rawBytes()
		if field == 0 {
			v.Verifier = &rekorpb.Verifier_PublicKey{PublicKey: &rekorpb.PublicKey{RawBytes: raw}}
		} else {
			v.Verifier = &rekorpb.Verifier_X509Certificate{X509Certificate: &commonv1.X509Certificate{RawBytes: raw}}
		}
		return ok
	})
	return v, ok
}

// rawBytes consumes a PublicKey or X509Certificate message, which both hold
// only rawBytes.
func (d *fastDecoder) rawBytes() (raw []byte, ok bool) {
	ok = d.object([]string{"rawBytes"}, func(int) (ok bool) {
		raw, ok = d.base64Bytes()
		return ok
	})
	return raw, ok
}

func (d *fastDecoder) dsseRequest() (*rekorpb.DSSERequestV002, bool) {
	dr := &rekorpb.DSSERequestV002{}
	ok := d.object([]string{"envelope", "verifiers"}, func(field int) (ok bool) {
		if field == 0 {
			dr.Envelope, ok = d.envelope()
			return ok
		}
		return d.array(func() bool {
			v, ok := d.verifier()
			dr.Verifiers = append(dr.Verifiers, v)
			return ok
		})
	})
	return dr, ok
}

func (d *fastDecoder) envelope() (*dssepb.Envelope, bool) {
	env := &dssepb.Envelope{}
	ok := d.object([]string{"payload", "payloadType", "signatures"}, func(field int) (ok bool) {
		switch field {
		case 0:
			env.Payload, ok = d.base64Bytes()
		case 1:
			var s []byte
			s, ok = d.str()
			env.PayloadType = string(s)
		default:
			ok = d.array(func() bool {
				sig, ok := d.dsseSignature()
				env.Signatures = append(env.Signatures, sig)
				return ok
			})
		}
		return ok
	})
	return env, ok
}

func (d *fastDecoder) dsseSignature() (*dssepb.Signature, bool) {
	sig := &dssepb.Signature{}
	ok := d.object([]string{"sig", "keyid"}, func(field int) (ok bool) {
		if field == 0 {
			sig.Sig, ok = d.base64Bytes()
		} else {
			var s []byte
			s, ok = d.str()
			sig.Keyid = string(s)
		}
		return ok
	})
	return sig, ok
}

func (d *fastDecoder) entry() (*rekorpb.Entry, bool) {
	e := &rekorpb.Entry{}
	ok := d.object([]string{"kind", "apiVersion", "spec"}, func(field int) (ok bool) {
		var s []byte
		switch field {
		case 0:
			s, ok = d.str()
			e.Kind = string(s)
		case 1:
			s, ok = d.str()
			e.ApiVersion = string(s)
		default:
			e.Spec, ok = d.spec()
		}
		return ok
	})
	return e, ok
}

func (d *fastDecoder) spec() (*rekorpb.Spec, bool) {
	spec := &rekorpb.Spec{}
	ok := d.object([]string{"hashedRekordV002", "dsseV002"}, func(field int) bool {
		if spec.Spec != nil {
			return false // a second oneof member, which protojson rejects
		}
		if field == 0 {
			hr, ok := d.hashedRekordEntry()
			spec.Spec = &rekorpb.Spec_HashedRekordV002{HashedRekordV002: hr}
			return ok
		}
		de, ok := d.dsseEntry()
		spec.Spec = &rekorpb.Spec_DsseV002{DsseV002: de}
		return ok
	})
	return spec, ok
}

func (d *fastDecoder) hashedRekordEntry() (*rekorpb.HashedRekordLogEntryV002, bool) {
	hr := &rekorpb.HashedRekordLogEntryV002{}
	ok := d.object([]string{"data", "signature"}, func(field int) (ok bool) {
		if field == 0 {
			hr.Data, ok = d.hashOutput()
		} else {
			hr.Signature, ok = d.signature()
		}
		return ok
	})
	return hr, ok
}

func (d *fastDecoder) dsseEntry() (*rekorpb.DSSELogEntryV002, bool) {
	de := &rekorpb.DSSELogEntryV002{}
	ok := d.object([]string{"payloadHash", "signatures"}, func(field int) (ok bool) {
		if field == 0 {
			de.PayloadHash, ok = d.hashOutput()
			return ok
		}
		return d.array(func() bool {
			sig, ok := d.signature()
			de.Signatures = append(de.Signatures, sig)
			return ok
		})
	})
	return de, ok
}

func (d *fastDecoder) hashOutput() (*commonv1.HashOutput, bool) {
	h := &commonv1.HashOutput{}
	ok := d.object([]string{"algorithm", "digest"}, func(field int) (ok bool) {
		if field == 0 {
			name, ok := d.str()
			alg, known := commonv1.HashAlgorithm_value[string(name)]
			h.Algorithm = commonv1.HashAlgorithm(alg)
			return ok && known
		}
		h.Digest, ok = d.base64Bytes()
		return ok
	})
	return h, ok
}

// object consumes an object whose keys are all in fields, each at most once.
// For each member it calls member with the key's index in fields and pos at
// the value, which member must consume.
func (d *fastDecoder) object(fields []string, member func(field int) bool) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	var seen uint
	for {
		key, ok := d.str()
		if !ok || !d.consume(':') {
			return false
		}
		field := -1
		for i, f := range fields {
			if string(key) == f {
				field = i
				break
			}
		}
		if field < 0 || seen&(1<<field) != 0 || !member(field) {
			return false
		}
		seen |= 1 << field
		if d.consume('}') {
			return true
		}
		if !d.consume(',') {
			return false
		}
	}
}

// array consumes an array, calling elem with pos at each element, which elem
// must consume.
func (d *fastDecoder) array(elem func() bool) bool {
	if !d.consume('[') {
		return false
	}
	if d.consume(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.consume(']') {
			return true
		}
		if !d.consume(',') {
			return false
		}
	}
}

// str consumes a string of printable ASCII without escapes and returns
// its contents, which alias the input.
func (d *fastDecoder) str() ([]byte, bool) {
	if !d.consume('"') {
		return nil, false
	}
	rest := d.in[d.pos:]
	for i, c := range rest {
		switch {
		case c == '"':
			d.pos += i + 1
			return rest[:i], true
		case c < ' ' || c > '~' || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

// base64Bytes consumes a bytes value that protojson decodes with
// base64.StdEncoding. protojson switches to unpadded encoding if the length is
// not a multiple of 4, and to URL-safe encoding if the string has '-' or '_',
// which StdEncoding rejects; this decoder leaves both cases to protojson.
func (d *fastDecoder) base64Bytes() ([]byte, bool) {
	s, ok := d.str()
	if !ok || len(s)%4 != 0 {
		return nil, false
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(b, s)
	if err != nil {
		return nil, false
	}
	return b[:n], true
}

// consume skips whitespace and then consumes c if it comes next.
func (d *fastDecoder) consume(c byte) bool {
	d.skipSpace()
	if d.pos < len(d.in) && d.in[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (d *fastDecoder) end() bool {
	d.skipSpace()
	return d.pos == len(d.in)
}

func (d *fastDecoder) skipSpace() {
	for d.pos < len(d.in) {
		switch d.in[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}
