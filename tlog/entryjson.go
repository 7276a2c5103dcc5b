package tlog

//lint:file-ignore SA1019 Rekor v2 dsse v0.0.2 entries are deprecated upstream but signet still accepts them (issue 4)

import (
	"encoding/base64"

	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// appendEntryJSON appends the canonical body of e, written directly: the
// RFC 8785 form of protojson's encoding of e, without building and
// re-parsing that encoding. Every append canonicalizes its entry, and going
// through protojson and a canonicalizer was about a sixth of an append's CPU.
//
// Members are written in the bytewise order JCS sorts them in, and fields
// are left out when protojson leaves them out (empty strings and bytes,
// zero enums, nil messages, empty lists). Strings need no escaping: kinds
// and versions from the log, enum names and base64. ok is false for an
// entry this writer does not cover (a string that would need escaping, an
// enum value without a name, a nil oneof or list element); CanonicalBody
// then uses the general path. FuzzEntryJSON checks that both agree.
func appendEntryJSON(dst []byte, e *rekorpb.Entry) (out []byte, ok bool) {
	w := jsonWriter{buf: dst, ok: true}
	w.open()
	w.str("apiVersion", e.GetApiVersion())
	w.str("kind", e.GetKind())
	if spec := e.GetSpec(); spec != nil {
		w.key("spec")
		w.open()
		switch s := spec.GetSpec().(type) {
		case *rekorpb.Spec_DsseV002:
			w.dsse(s.DsseV002)
		case *rekorpb.Spec_HashedRekordV002:
			w.hashedRekord(s.HashedRekordV002)
		case nil:
		default:
			w.ok = false
		}
		w.close()
	}
	w.close()
	return w.buf, w.ok
}

// jsonWriter writes one JSON document member by member; ok turns false
// when it meets something appendEntryJSON does not cover.
type jsonWriter struct {
	buf   []byte
	ok    bool
	first bool // no member written yet in the innermost object or array
}

func (w *jsonWriter) open() {
	w.buf = append(w.buf, '{')
	w.first = true
}

func (w *jsonWriter) close() {
	w.buf = append(w.buf, '}')
	w.first = false
}

func (w *jsonWriter) key(k string) {
	if !w.first {
		w.buf = append(w.buf, ',')
	}
	w.first = false
	w.buf = append(w.buf, '"')
	w.buf = append(w.buf, k...)
	w.buf = append(w.buf, '"', ':')
}

// str writes a string member unless v is empty.
func (w *jsonWriter) str(k, v string) {
	if v == "" {
		return
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			w.ok = false // needs escaping: leave it to the general path
			return
		}
	}
	w.key(k)
	w.buf = append(w.buf, '"')
	w.buf = append(w.buf, v...)
	w.buf = append(w.buf, '"')
}

// bytes writes a bytes member, base64-encoded as protojson does, unless b is
// empty.
func (w *jsonWriter) bytes(k string, b []byte) {
	if len(b) == 0 {
		return
	}
	w.key(k)
	w.base64(b)
}

// base64 writes b as a base64 string, as protojson writes bytes.
func (w *jsonWriter) base64(b []byte) {
	w.buf = append(w.buf, '"')
	w.buf = base64.StdEncoding.AppendEncode(w.buf, b)
	w.buf = append(w.buf, '"')
}

// enum writes an enum member by its name unless it is zero.
func (w *jsonWriter) enum(k string, v protoreflect.Enum) {
	n := v.Number()
	if n == 0 {
		return
	}
	ev := v.Descriptor().Values().ByNumber(n)
	if ev == nil {
		w.ok = false // protojson writes unnamed values as numbers
		return
	}
	w.str(k, string(ev.Name()))
}

func (w *jsonWriter) hashOutput(k string, h *commonv1.HashOutput) {
	if h == nil {
		return
	}
	w.key(k)
	w.open()
	w.enum("algorithm", h.GetAlgorithm())
	w.bytes("digest", h.GetDigest())
	w.close()
}

func (w *jsonWriter) hashedRekord(hr *rekorpb.HashedRekordLogEntryV002) {
	if hr == nil {
		w.ok = false
		return
	}
	w.key("hashedRekordV002")
	w.open()
	w.hashOutput("data", hr.GetData())
	if sig := hr.GetSignature(); sig != nil {
		w.key("signature")
		w.signature(sig)
	}
	w.close()
}

func (w *jsonWriter) dsse(d *rekorpb.DSSELogEntryV002) {
	if d == nil {
		w.ok = false
		return
	}
	w.key("dsseV002")
	w.open()
	w.hashOutput("payloadHash", d.GetPayloadHash())
	if sigs := d.GetSignatures(); len(sigs) > 0 {
		w.key("signatures")
		w.buf = append(w.buf, '[')
		for i, sig := range sigs {
			if sig == nil {
				w.ok = false
				return
			}
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.signature(sig)
		}
		w.buf = append(w.buf, ']')
		w.first = false
	}
	w.close()
}

// signature writes a Signature object (its member name already written).
func (w *jsonWriter) signature(sig *rekorpb.Signature) {
	w.open()
	w.bytes("content", sig.GetContent())
	if v := sig.GetVerifier(); v != nil {
		w.key("verifier")
		w.open()
		w.enum("keyDetails", v.GetKeyDetails())
		switch m := v.GetVerifier().(type) {
		case *rekorpb.Verifier_PublicKey:
			w.rawBytes("publicKey", m.PublicKey)
		case *rekorpb.Verifier_X509Certificate:
			w.rawBytes("x509Certificate", m.X509Certificate)
		case nil:
		default:
			w.ok = false
		}
		w.close()
	}
	w.close()
}

// rawBytes writes a PublicKey or X509Certificate object, whose only field is
// raw_bytes.
func (w *jsonWriter) rawBytes(k string, m interface{ GetRawBytes() []byte }) {
	if isNilMessage(m) {
		w.ok = false
		return
	}
	w.key(k)
	w.open()
	w.bytes("rawBytes", m.GetRawBytes())
	w.close()
}

func isNilMessage(m interface{ GetRawBytes() []byte }) bool {
	switch m := m.(type) {
	case *rekorpb.PublicKey:
		return m == nil
	case *commonv1.X509Certificate:
		return m == nil
	}
	return true
}

// entrySizeHint is about the length of e's canonical body: its binary
// fields base64-encoded plus room for the names around them.
func entrySizeHint(e *rekorpb.Entry) int {
	n := 0
	add := func(sig *rekorpb.Signature) {
		n += len(sig.GetContent()) + len(sig.GetVerifier().GetPublicKey().GetRawBytes()) +
			len(sig.GetVerifier().GetX509Certificate().GetRawBytes()) + 128
	}
	if hr := e.GetSpec().GetHashedRekordV002(); hr != nil {
		n += len(hr.GetData().GetDigest())
		add(hr.GetSignature())
	}
	if d := e.GetSpec().GetDsseV002(); d != nil {
		n += len(d.GetPayloadHash().GetDigest())
		for _, sig := range d.GetSignatures() {
			add(sig)
		}
	}
	return n*4/3 + 192
}
