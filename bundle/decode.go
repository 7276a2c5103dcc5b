package bundle

import (
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signetproject/signet/internal/fastjson"
)

// decodeFast decodes the common form of a bundle without reflection: the
// protobuf JSON that sigstore-go, sigstore-js, cosign and protojson write,
// in a fraction of protojson's time (BenchmarkDecode).
//
// It accepts a strict subset of what protojson accepts: one object in the
// JSON subset of fastjson, members in any order; keys only as protojson
// writes them (lowerCamelCase JSON names), each at most once, and at most
// one member of a oneof; values only objects, arrays, strings, integers as
// strings or numbers of at most 18 digits without sign or leading zero, and
// null as a member's value (which leaves the field unset); bytes only as
// padded standard base64 of a length divisible by 4; enums only by a name
// the enum defines. ok is false for anything else (booleans, other
// numbers, proto field names, unknown fields, URL-safe or unpadded base64,
// trailing data, ...), and the caller then decodes data with protojson,
// which gives the result or the error. When ok is true, protojson decodes
// data to a message proto.Equal to pb, with the same nil bytes fields;
// FuzzDecodeFast checks that.
func decodeFast(data []byte) (pb *protobundle.Bundle, ok bool) {
	d := fastDecoder{fastjson.NewDecoder(data)}
	d.SkipNull = true
	pb, ok = d.bundle()
	if !ok || !d.End() {
		return nil, false
	}
	return pb, true
}

// DecodeTlogEntry decodes a transparency log entry from its protobuf JSON,
// as a Rekor v2 log answers an append: through the fast path of Decode
// when the entry is in its subset, with protojson otherwise. It does not
// check the entry; FromProto does, as part of a bundle.
func DecodeTlogEntry(data []byte) (*protorekor.TransparencyLogEntry, error) {
	if e, ok := decodeTlogEntryFast(data); ok {
		return e, nil
	}
	e := &protorekor.TransparencyLogEntry{}
	if err := protojson.Unmarshal(data, e); err != nil {
		return nil, err
	}
	return e, nil
}

// decodeTlogEntryFast is decodeFast for one transparency log entry: the
// same subset, the same promise (FuzzDecodeTlogEntryFast checks it).
func decodeTlogEntryFast(data []byte) (*protorekor.TransparencyLogEntry, bool) {
	d := fastDecoder{fastjson.NewDecoder(data)}
	d.SkipNull = true
	e, ok := d.tlogEntry()
	if !ok || !d.End() {
		return nil, false
	}
	return e, true
}

// fastDecoder reads bundle messages and entry bodies from the JSON subset
// of fastjson. Each method consumes one value and reports whether it was in
// the subset.
type fastDecoder struct{ *fastjson.Decoder }

func (d fastDecoder) bundle() (*protobundle.Bundle, bool) {
	b := &protobundle.Bundle{}
	ok := d.Object([]string{"mediaType", "verificationMaterial", "messageSignature", "dsseEnvelope"}, func(field int) bool {
		var ok bool
		switch field {
		case 0:
			b.MediaType, ok = d.String()
		case 1:
			b.VerificationMaterial, ok = d.verificationMaterial()
		case 2, 3:
			if b.Content != nil {
				return false // a second oneof member, which protojson rejects
			}
			if field == 2 {
				var ms *protocommon.MessageSignature
				ms, ok = d.messageSignature()
				b.Content = &protobundle.Bundle_MessageSignature{MessageSignature: ms}
			} else {
				var env *protodsse.Envelope
				env, ok = d.envelope()
				b.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: env}
			}
		}
		return ok
	})
	return b, ok
}

func (d fastDecoder) verificationMaterial() (*protobundle.VerificationMaterial, bool) {
	vm := &protobundle.VerificationMaterial{}
	ok := d.Object([]string{"publicKey", "x509CertificateChain", "certificate", "tlogEntries", "timestampVerificationData"}, func(field int) bool {
		if field <= 2 && vm.Content != nil {
			return false
		}
		switch field {
		case 0:
			pk := &protocommon.PublicKeyIdentifier{}
			vm.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: pk}
			return d.Object([]string{"hint"}, func(int) (ok bool) { pk.Hint, ok = d.String(); return ok })
		case 1:
			chain := &protocommon.X509CertificateChain{}
			vm.Content = &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: chain}
			return d.Object([]string{"certificates"}, func(int) bool {
				return d.Array(func() bool {
					c, ok := d.certificate()
					chain.Certificates = append(chain.Certificates, c)
					return ok
				})
			})
		case 2:
			c, ok := d.certificate()
			vm.Content = &protobundle.VerificationMaterial_Certificate{Certificate: c}
			return ok
		case 3:
			return d.Array(func() bool {
				e, ok := d.tlogEntry()
				vm.TlogEntries = append(vm.TlogEntries, e)
				return ok
			})
		default:
			tv := &protobundle.TimestampVerificationData{}
			vm.TimestampVerificationData = tv
			return d.Object([]string{"rfc3161Timestamps"}, func(int) bool {
				return d.Array(func() bool {
					ts := &protocommon.RFC3161SignedTimestamp{}
					tv.Rfc3161Timestamps = append(tv.Rfc3161Timestamps, ts)
					return d.Object([]string{"signedTimestamp"}, func(int) (ok bool) { ts.SignedTimestamp, ok = d.Base64(); return ok })
				})
			})
		}
	})
	return vm, ok
}

func (d fastDecoder) certificate() (*protocommon.X509Certificate, bool) {
	c := &protocommon.X509Certificate{}
	ok := d.Object([]string{"rawBytes"}, func(int) (ok bool) { c.RawBytes, ok = d.Base64(); return ok })
	return c, ok
}

func (d fastDecoder) tlogEntry() (*protorekor.TransparencyLogEntry, bool) {
	e := &protorekor.TransparencyLogEntry{}
	ok := d.Object([]string{"logIndex", "logId", "kindVersion", "integratedTime", "inclusionPromise", "inclusionProof", "canonicalizedBody"}, func(field int) (ok bool) {
		switch field {
		case 0:
			e.LogIndex, ok = d.int64()
		case 1:
			e.LogId = &protocommon.LogId{}
			ok = d.Object([]string{"keyId"}, func(int) (ok bool) { e.LogId.KeyId, ok = d.Base64(); return ok })
		case 2:
			kv := &protorekor.KindVersion{}
			e.KindVersion = kv
			ok = d.Object([]string{"kind", "version"}, func(f int) (ok bool) {
				if f == 0 {
					kv.Kind, ok = d.String()
				} else {
					kv.Version, ok = d.String()
				}
				return ok
			})
		case 3:
			e.IntegratedTime, ok = d.int64()
		case 4:
			e.InclusionPromise = &protorekor.InclusionPromise{}
			ok = d.Object([]string{"signedEntryTimestamp"}, func(int) (ok bool) {
				e.InclusionPromise.SignedEntryTimestamp, ok = d.Base64()
				return ok
			})
		case 5:
			e.InclusionProof, ok = d.inclusionProof()
		default:
			e.CanonicalizedBody, ok = d.Base64()
		}
		return ok
	})
	return e, ok
}

func (d fastDecoder) inclusionProof() (*protorekor.InclusionProof, bool) {
	p := &protorekor.InclusionProof{}
	ok := d.Object([]string{"logIndex", "rootHash", "treeSize", "hashes", "checkpoint"}, func(field int) (ok bool) {
		switch field {
		case 0:
			p.LogIndex, ok = d.int64()
		case 1:
			p.RootHash, ok = d.Base64()
		case 2:
			p.TreeSize, ok = d.int64()
		case 3:
			ok = d.Array(func() bool {
				h, ok := d.Base64()
				p.Hashes = append(p.Hashes, h)
				return ok
			})
		default:
			p.Checkpoint = &protorekor.Checkpoint{}
			ok = d.Object([]string{"envelope"}, func(int) (ok bool) { p.Checkpoint.Envelope, ok = d.String(); return ok })
		}
		return ok
	})
	return p, ok
}

func (d fastDecoder) messageSignature() (*protocommon.MessageSignature, bool) {
	ms := &protocommon.MessageSignature{}
	ok := d.Object([]string{"messageDigest", "signature"}, func(field int) bool {
		if field == 1 {
			var ok bool
			ms.Signature, ok = d.Base64()
			return ok
		}
		h := &protocommon.HashOutput{}
		ms.MessageDigest = h
		return d.Object([]string{"algorithm", "digest"}, func(f int) bool {
			if f == 1 {
				var ok bool
				h.Digest, ok = d.Base64()
				return ok
			}
			name, ok := d.String()
			v, known := protocommon.HashAlgorithm_value[name]
			h.Algorithm = protocommon.HashAlgorithm(v)
			return ok && known
		})
	})
	return ms, ok
}

func (d fastDecoder) envelope() (*protodsse.Envelope, bool) {
	env := &protodsse.Envelope{}
	ok := d.Object([]string{"payload", "payloadType", "signatures"}, func(field int) (ok bool) {
		switch field {
		case 0:
			env.Payload, ok = d.Base64()
		case 1:
			env.PayloadType, ok = d.String()
		default:
			ok = d.Array(func() bool {
				s := &protodsse.Signature{}
				env.Signatures = append(env.Signatures, s)
				return d.Object([]string{"sig", "keyid"}, func(f int) (ok bool) {
					if f == 0 {
						s.Sig, ok = d.Base64()
					} else {
						s.Keyid, ok = d.String()
					}
					return ok
				})
			})
		}
		return ok
	})
	return env, ok
}

// int64 consumes an int64 field as protojson writes it, a string of
// digits, or as a number.
func (d fastDecoder) int64() (int64, bool) {
	return d.Digits(d.Peek() == '"')
}
