package verify

import (
	"bytes"
	"slices"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signetproject/signet/internal/fastjson"
)

// statementDigests checks that payload is an in-toto statement (it
// decodes with protojson into intoto.Statement) and returns the digests of
// its subjects.
func statementDigests(payload []byte) ([]map[string]string, error) {
	if digests, ok := statementDigestsFast(payload); ok {
		return digests, nil
	}
	var st intoto.Statement
	if err := protojson.Unmarshal(payload, &st); err != nil {
		return nil, err
	}
	digests := make([]map[string]string, len(st.GetSubject()))
	for i, sub := range st.GetSubject() {
		digests[i] = sub.GetDigest()
	}
	return digests, nil
}

// Bounds of the fast path's JSON, beyond which protojson decides.
const (
	maxFastDepth = 32
	maxFastKeys  = 64 // per object, checked for duplicates pairwise
)

// statementDigestsFast is statementDigests without reflection for the
// common form of statements. It accepts a strict subset of what protojson
// accepts: an object in the JSON subset of fastjson with keys _type,
// subject, predicateType and predicate, each at most once, null meaning
// unset; subjects with keys name, uri and digest, digests mapping distinct
// keys to strings; a predicate of at most maxFastDepth levels of objects
// with at most maxFastKeys distinct keys, arrays, strings, numbers, true,
// false and null. ok is false for anything else, and statementDigests then
// asks protojson. When ok is true, protojson decodes payload to a
// statement with the same subject digests; FuzzStatementDigestsFast checks
// that.
func statementDigestsFast(payload []byte) (digests []map[string]string, ok bool) {
	d := fastjson.NewDecoder(payload)
	d.SkipNull = true
	ok = d.Object([]string{"_type", "subject", "predicateType", "predicate"}, func(field int) bool {
		switch field {
		case 0, 2:
			_, ok := d.StringBytes()
			return ok
		case 1:
			return d.Array(func() bool {
				digests = append(digests, nil)
				sub := &digests[len(digests)-1]
				return d.Object([]string{"name", "uri", "digest"}, func(f int) bool {
					if f < 2 {
						_, ok := d.StringBytes()
						return ok
					}
					*sub = map[string]string{}
					return d.Members(func(key []byte) bool {
						_, dup := (*sub)[string(key)] // protojson rejects duplicate keys
						v, ok := d.String()
						(*sub)[string(key)] = v
						return ok && !dup
					})
				})
			})
		default:
			return d.Peek() == '{' && structValue(d, 0)
		}
	})
	return digests, ok && d.End()
}

// structValue consumes a value protojson accepts as a google.protobuf.Value.
func structValue(d *fastjson.Decoder, depth int) bool {
	return depth < maxFastDepth && anyValue(d, depth)
}

func anyValue(d *fastjson.Decoder, depth int) bool {
	switch d.Peek() {
	case '{':
		var keys [][]byte
		return d.Members(func(key []byte) bool {
			// protojson rejects duplicate keys.
			fresh := len(keys) < maxFastKeys && !slices.ContainsFunc(keys, func(k []byte) bool { return bytes.Equal(k, key) })
			keys = append(keys, key)
			return fresh && structValue(d, depth+1)
		})
	case '[':
		return d.Array(func() bool { return structValue(d, depth+1) })
	case '"':
		_, ok := d.StringBytes()
		return ok
	case 't':
		return d.Literal("true")
	case 'f':
		return d.Literal("false")
	case 'n':
		return d.Literal("null")
	}
	return d.Number()
}
