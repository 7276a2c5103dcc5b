package bundle

import (
	"encoding/base64"

	"github.com/signetproject/signet/internal/fastjson"
)

// decodeBodyFast is decodeBody without reflection for the Rekor v1 entry
// types bundles carry (hashedrekord 0.0.1, intoto 0.0.2, dsse 0.0.1) in the
// form Rekor writes them: RFC 8785 canonical JSON, so with kind and
// apiVersion before spec.
//
// It accepts a strict subset of what decodeBody accepts: the JSON subset
// decodeFast reads, without null; keys only as spelled in the structs'
// tags (encoding/json also matches them case-insensitively), each at most
// once; no other keys but those Rekor writes and decodeBody ignores. ok is
// false for anything else, and the caller then uses decodeBody, which
// gives the result or the error. When ok is true, decodeBody decodes body
// to the same kind, version and spec; FuzzDecodeBodyFast checks that.
func decodeBodyFast(body []byte) (kind, version string, spec any, ok bool) {
	d := fastDecoder{fastjson.NewDecoder(body)}
	ok = d.Object([]string{"apiVersion", "kind", "spec"}, func(field int) (ok bool) {
		switch field {
		case 0:
			version, ok = d.String()
		case 1:
			kind, ok = d.String()
		default:
			switch kind + "/" + version {
			case "hashedrekord/0.0.1":
				spec, ok = d.hashedRekordV001()
			case "intoto/0.0.2":
				spec, ok = d.intotoV002()
			case "dsse/0.0.1":
				spec, ok = d.dsseV001()
			}
		}
		return ok
	})
	if !ok || spec == nil || !d.End() {
		return "", "", nil, false
	}
	return kind, version, spec, true
}

func (d fastDecoder) hashedRekordV001() (*hashedRekordV001, bool) {
	s := &hashedRekordV001{}
	ok := d.Object([]string{"data", "signature"}, func(field int) bool {
		if field == 0 {
			return d.Object([]string{"hash"}, func(int) (ok bool) { s.Data.Hash, ok = d.rekorHash(); return ok })
		}
		return d.Object([]string{"content", "publicKey"}, func(f int) (ok bool) {
			if f == 0 {
				s.Signature.Content, ok = d.jsonBytes()
				return ok
			}
			return d.Object([]string{"content"}, func(int) (ok bool) { s.Signature.PublicKey.Content, ok = d.jsonBytes(); return ok })
		})
	})
	return s, ok
}

func (d fastDecoder) intotoV002() (*intotoV002, bool) {
	s := &intotoV002{}
	ok := d.Object([]string{"content"}, func(int) bool {
		s.Content = &intotoV002Content{}
		return d.Object([]string{"envelope", "hash", "payloadHash"}, func(field int) (ok bool) {
			switch field {
			case 0:
				return d.intotoEnvelope(s.Content)
			case 1:
				_, ok = d.rekorHash()
			default:
				s.Content.PayloadHash, ok = d.rekorHash()
			}
			return ok
		})
	})
	return s, ok
}

func (d fastDecoder) intotoEnvelope(c *intotoV002Content) bool {
	c.Envelope = &intotoV002Envelope{}
	return d.Object([]string{"payloadType", "signatures"}, func(field int) bool {
		if field == 0 {
			_, ok := d.StringBytes()
			return ok
		}
		c.Envelope.Signatures = []intotoV002Signature{} // encoding/json's [] is empty, not nil
		return d.Array(func() bool {
			c.Envelope.Signatures = append(c.Envelope.Signatures, intotoV002Signature{})
			sig := &c.Envelope.Signatures[len(c.Envelope.Signatures)-1]
			return d.Object([]string{"publicKey", "sig", "keyid"}, func(f int) (ok bool) {
				switch f {
				case 0:
					sig.PublicKey, ok = d.jsonBytes()
				case 1:
					sig.Sig, ok = d.jsonBytes()
				default:
					_, ok = d.StringBytes()
				}
				return ok
			})
		})
	})
}

func (d fastDecoder) dsseV001() (*dsseV001, bool) {
	s := &dsseV001{}
	ok := d.Object([]string{"envelopeHash", "payloadHash", "signatures"}, func(field int) (ok bool) {
		switch field {
		case 0:
			_, ok = d.rekorHash()
		case 1:
			s.PayloadHash, ok = d.rekorHash()
		default:
			s.Signatures = []dsseV001Signature{} // encoding/json's [] is empty, not nil
			ok = d.Array(func() bool {
				s.Signatures = append(s.Signatures, dsseV001Signature{})
				sig := &s.Signatures[len(s.Signatures)-1]
				return d.Object([]string{"signature", "verifier"}, func(f int) (ok bool) {
					if f == 0 {
						sig.Signature, ok = d.String()
					} else {
						sig.Verifier, ok = d.jsonBytes()
					}
					return ok
				})
			})
		}
		return ok
	})
	return s, ok
}

func (d fastDecoder) rekorHash() (*rekorHash, bool) {
	h := &rekorHash{}
	ok := d.Object([]string{"algorithm", "value"}, func(field int) (ok bool) {
		if field == 0 {
			h.Algorithm, ok = d.String()
		} else {
			h.Value, ok = d.String()
		}
		return ok
	})
	return h, ok
}

// jsonBytes consumes a []byte value as encoding/json decodes it: standard
// base64 (which skips \r and \n), an empty string giving an empty slice.
func (d fastDecoder) jsonBytes() ([]byte, bool) {
	s, ok := d.StringBytes()
	if !ok {
		return nil, false
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(b, s)
	return b[:n], err == nil
}
