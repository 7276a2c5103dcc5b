package tlog

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	rekorv1 "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// EncodeTransparencyLogEntry returns the JSON body of a create-entry
// response, as rekor-tiles writes it: protojson with unpopulated fields
// emitted. Every append answers with one, so it is written directly;
// FuzzEncodeTransparencyLogEntry checks the result means the same as
// protojson's.
func EncodeTransparencyLogEntry(tle *rekorv1.TransparencyLogEntry) ([]byte, error) {
	if js, ok := appendTransparencyLogEntry(make([]byte, 0, tleSizeHint(tle)), tle); ok {
		return js, nil
	}
	js, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(tle)
	if err != nil {
		return nil, fmt.Errorf("encode transparency log entry: %w", err)
	}
	return js, nil
}

// appendTransparencyLogEntry writes tle as protojson does with
// EmitUnpopulated: every field in field-number order, nil messages as null,
// 64-bit integers as strings. ok is false for a string that is not valid
// UTF-8, which protojson refuses.
func appendTransparencyLogEntry(dst []byte, tle *rekorv1.TransparencyLogEntry) (out []byte, ok bool) {
	w := jsonWriter{buf: dst, ok: true}
	w.open()
	w.int64("logIndex", tle.GetLogIndex())
	id := tle.GetLogId()
	w.objectOrNull("logId", id != nil, func() { w.bytesAlways("keyId", id.GetKeyId()) })
	kv := tle.GetKindVersion()
	w.objectOrNull("kindVersion", kv != nil, func() {
		w.quoted("kind", kv.GetKind())
		w.quoted("version", kv.GetVersion())
	})
	w.int64("integratedTime", tle.GetIntegratedTime())
	promise := tle.GetInclusionPromise()
	w.objectOrNull("inclusionPromise", promise != nil, func() {
		w.bytesAlways("signedEntryTimestamp", promise.GetSignedEntryTimestamp())
	})
	p := tle.GetInclusionProof()
	w.objectOrNull("inclusionProof", p != nil, func() {
		w.int64("logIndex", p.GetLogIndex())
		w.bytesAlways("rootHash", p.GetRootHash())
		w.int64("treeSize", p.GetTreeSize())
		w.key("hashes")
		w.buf = append(w.buf, '[')
		for i, h := range p.GetHashes() {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.base64(h)
		}
		w.buf = append(w.buf, ']')
		cp := p.GetCheckpoint()
		w.objectOrNull("checkpoint", cp != nil, func() { w.quoted("envelope", cp.GetEnvelope()) })
	})
	w.bytesAlways("canonicalizedBody", tle.GetCanonicalizedBody())
	w.close()
	return w.buf, w.ok
}

// objectOrNull writes an object member whose members fill writes, or null
// when the message is not present.
func (w *jsonWriter) objectOrNull(k string, present bool, fill func()) {
	w.key(k)
	if !present {
		w.buf = append(w.buf, "null"...)
		return
	}
	w.open()
	fill()
	w.close()
}

// int64 writes a 64-bit integer member as protojson does: a decimal string.
func (w *jsonWriter) int64(k string, v int64) {
	w.key(k)
	w.buf = append(w.buf, '"')
	w.buf = strconv.AppendInt(w.buf, v, 10)
	w.buf = append(w.buf, '"')
}

// bytesAlways writes a bytes member even when empty.
func (w *jsonWriter) bytesAlways(k string, b []byte) {
	w.key(k)
	w.base64(b)
}

// quoted writes a string member, escaped as protojson escapes it, even when
// empty.
func (w *jsonWriter) quoted(k, s string) {
	if !utf8.ValidString(s) {
		w.ok = false
		return
	}
	w.key(k)
	w.buf = append(w.buf, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			w.buf = append(w.buf, '\\', c)
		case c == '\n':
			w.buf = append(w.buf, '\\', 'n')
		case c == '\r':
			w.buf = append(w.buf, '\\', 'r')
		case c == '\t':
			w.buf = append(w.buf, '\\', 't')
		case c == '\b':
			w.buf = append(w.buf, '\\', 'b')
		case c == '\f':
			w.buf = append(w.buf, '\\', 'f')
		case c < 0x20:
			w.buf = append(w.buf, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&0xf])
		default:
			w.buf = append(w.buf, c)
		}
	}
	w.buf = append(w.buf, '"')
}

const hexDigit = "0123456789abcdef"

// tleSizeHint is about the length of tle's JSON encoding.
func tleSizeHint(tle *rekorv1.TransparencyLogEntry) int {
	p := tle.GetInclusionProof()
	n := len(tle.GetCanonicalizedBody()) + len(p.GetHashes())*32 + len(tle.GetInclusionPromise().GetSignedEntryTimestamp()) + 64
	return n*4/3 + len(p.GetCheckpoint().GetEnvelope())*5/4 + 384
}
