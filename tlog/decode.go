package tlog

//lint:file-ignore SA1019 Rekor v2 dsse v0.0.2 entries are deprecated upstream but signet still accepts them (issue 4)

import (
	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	dssepb "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"

	"github.com/signetproject/signet/internal/fastjson"
)

// decodeCreateEntryRequestFast decodes the common form of a create-entry
// request without reflection: protojson's own encoding of a hashedrekord or
// dsse v0.0.2 request, as sigstore-go, cosign and sign.RekorV2 send it, in
// about a third of protojson's time and allocations
// (BenchmarkDecodeCreateEntryRequest).
//
// It accepts a strict subset of what protojson accepts: one JSON object in
// fastjson's subset, members in any order; keys only as protojson writes
// them (lowerCamelCase JSON names), each at most once, and at most one
// member of a oneof; values only objects, arrays of objects and strings;
// bytes only as padded standard base64; enums only by a name the enum
// defines. ok is false for anything else (null, numbers, booleans, proto
// field names, unknown fields, URL-safe or unpadded base64, trailing data,
// ...), and the
// caller then decodes body with protojson, which gives the result or the
// error. When ok is true, protojson decodes body to a message proto.Equal to
// req; FuzzDecodeCreateEntryRequestFast checks that.
func decodeCreateEntryRequestFast(body []byte) (req *rekorpb.CreateEntryRequest, ok bool) {
	d := fastDecoder{fastjson.NewDecoder(body)}
	req, ok = d.createEntryRequest()
	if !ok || !d.End() {
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
	d := fastDecoder{fastjson.NewDecoder(body)}
	e, ok = d.entry()
	if !ok || !d.End() {
		return nil, false
	}
	return e, true
}

// fastDecoder reads Rekor v2 requests and leaves from the JSON subset of
// fastjson. Each method consumes one value and reports whether it was in
// the subset.
type fastDecoder struct{ *fastjson.Decoder }

func (d fastDecoder) createEntryRequest() (*rekorpb.CreateEntryRequest, bool) {
	req := &rekorpb.CreateEntryRequest{}
	ok := d.Object([]string{"hashedRekordRequestV002", "dsseRequestV002"}, func(field int) bool {
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

func (d fastDecoder) hashedRekordRequest() (*rekorpb.HashedRekordRequestV002, bool) {
	hr := &rekorpb.HashedRekordRequestV002{}
	ok := d.Object([]string{"digest", "signature"}, func(field int) (ok bool) {
		if field == 0 {
			hr.Digest, ok = d.Base64()
		} else {
			hr.Signature, ok = d.signature()
		}
		return ok
	})
	return hr, ok
}

func (d fastDecoder) signature() (*rekorpb.Signature, bool) {
	sig := &rekorpb.Signature{}
	ok := d.Object([]string{"content", "verifier"}, func(field int) (ok bool) {
		if field == 0 {
			sig.Content, ok = d.Base64()
		} else {
			sig.Verifier, ok = d.verifier()
		}
		return ok
	})
	return sig, ok
}

func (d fastDecoder) verifier() (*rekorpb.Verifier, bool) {
	v := &rekorpb.Verifier{}
	ok := d.Object([]string{"publicKey", "x509Certificate", "keyDetails"}, func(field int) bool {
		if field == 2 {
			name, ok := d.StringBytes()
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
func (d fastDecoder) rawBytes() (raw []byte, ok bool) {
	ok = d.Object([]string{"rawBytes"}, func(int) (ok bool) {
		raw, ok = d.Base64()
		return ok
	})
	return raw, ok
}

func (d fastDecoder) dsseRequest() (*rekorpb.DSSERequestV002, bool) {
	dr := &rekorpb.DSSERequestV002{}
	ok := d.Object([]string{"envelope", "verifiers"}, func(field int) (ok bool) {
		if field == 0 {
			dr.Envelope, ok = d.envelope()
			return ok
		}
		return d.Array(func() bool {
			v, ok := d.verifier()
			dr.Verifiers = append(dr.Verifiers, v)
			return ok
		})
	})
	return dr, ok
}

func (d fastDecoder) envelope() (*dssepb.Envelope, bool) {
	env := &dssepb.Envelope{}
	ok := d.Object([]string{"payload", "payloadType", "signatures"}, func(field int) (ok bool) {
		switch field {
		case 0:
			env.Payload, ok = d.Base64()
		case 1:
			var s []byte
			s, ok = d.StringBytes()
			env.PayloadType = string(s)
		default:
			ok = d.Array(func() bool {
				sig, ok := d.dsseSignature()
				env.Signatures = append(env.Signatures, sig)
				return ok
			})
		}
		return ok
	})
	return env, ok
}

func (d fastDecoder) dsseSignature() (*dssepb.Signature, bool) {
	sig := &dssepb.Signature{}
	ok := d.Object([]string{"sig", "keyid"}, func(field int) (ok bool) {
		if field == 0 {
			sig.Sig, ok = d.Base64()
		} else {
			var s []byte
			s, ok = d.StringBytes()
			sig.Keyid = string(s)
		}
		return ok
	})
	return sig, ok
}

func (d fastDecoder) entry() (*rekorpb.Entry, bool) {
	e := &rekorpb.Entry{}
	ok := d.Object([]string{"kind", "apiVersion", "spec"}, func(field int) (ok bool) {
		var s []byte
		switch field {
		case 0:
			s, ok = d.StringBytes()
			e.Kind = string(s)
		case 1:
			s, ok = d.StringBytes()
			e.ApiVersion = string(s)
		default:
			e.Spec, ok = d.spec()
		}
		return ok
	})
	return e, ok
}

func (d fastDecoder) spec() (*rekorpb.Spec, bool) {
	spec := &rekorpb.Spec{}
	ok := d.Object([]string{"hashedRekordV002", "dsseV002"}, func(field int) bool {
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

func (d fastDecoder) hashedRekordEntry() (*rekorpb.HashedRekordLogEntryV002, bool) {
	hr := &rekorpb.HashedRekordLogEntryV002{}
	ok := d.Object([]string{"data", "signature"}, func(field int) (ok bool) {
		if field == 0 {
			hr.Data, ok = d.hashOutput()
		} else {
			hr.Signature, ok = d.signature()
		}
		return ok
	})
	return hr, ok
}

func (d fastDecoder) dsseEntry() (*rekorpb.DSSELogEntryV002, bool) {
	de := &rekorpb.DSSELogEntryV002{}
	ok := d.Object([]string{"payloadHash", "signatures"}, func(field int) (ok bool) {
		if field == 0 {
			de.PayloadHash, ok = d.hashOutput()
			return ok
		}
		return d.Array(func() bool {
			sig, ok := d.signature()
			de.Signatures = append(de.Signatures, sig)
			return ok
		})
	})
	return de, ok
}

func (d fastDecoder) hashOutput() (*commonv1.HashOutput, bool) {
	h := &commonv1.HashOutput{}
	ok := d.Object([]string{"algorithm", "digest"}, func(field int) (ok bool) {
		if field == 0 {
			name, ok := d.StringBytes()
			alg, known := commonv1.HashAlgorithm_value[string(name)]
			h.Algorithm = commonv1.HashAlgorithm(alg)
			return ok && known
		}
		h.Digest, ok = d.Base64()
		return ok
	})
	return h, ok
}
