package tsa

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"

	"github.com/digitorus/timestamp"
)

// FuzzTimestamp feeds arbitrary bytes to Authority.Timestamp. It must never
// panic; every refusal must be a *RequestError; every accepted request must
// yield a granted token over exactly the request's imprint and nonce, and
// the accepted request must survive a re-encoding round trip.
func FuzzTimestamp(f *testing.F) {
	a, _ := newTestAuthority(f, Options{})
	s256 := sha256.Sum256([]byte("sig"))
	s384 := sha512.Sum384([]byte("sig"))
	s512 := sha512.Sum512([]byte("sig"))
	s1 := sha1.Sum([]byte("sig"))
	for _, r := range []rawRequest{
		{MessageImprint: imprint(oidSHA256, s256[:])},
		{MessageImprint: imprint(oidSHA384, s384[:]), Nonce: big.NewInt(-7), CertReq: true},
		{MessageImprint: imprint(oidSHA512, s512[:]), ReqPolicy: defaultPolicy, Nonce: new(big.Int).Lsh(big.NewInt(1), 200)},
		{MessageImprint: imprint(oidSHA1, s1[:])},
		{MessageImprint: imprint(oidSHA224, s256[:28])},
		{MessageImprint: imprint(oidSHA256, s256[:]), Extensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2}, Value: []byte{5, 0}}}},
		{Version: 2, MessageImprint: imprint(oidSHA256, s256[:]), ReqPolicy: asn1.ObjectIdentifier{1, 2, 3}},
	} {
		f.Add(encodeRequest(f, r))
	}
	f.Add([]byte{})
	f.Add([]byte{0x30, 0x80})
	f.Fuzz(func(t *testing.T, der []byte) {
		resp, err := a.Timestamp(der)
		if err != nil {
			var reqErr *RequestError
			if !errors.As(err, &reqErr) {
				t.Fatalf("refusal is not a *RequestError: %v", err)
			}
			if _, err := reqErr.RejectionResponse(); err != nil {
				t.Fatalf("RejectionResponse: %v", err)
			}
			return
		}
		req, err := timestamp.ParseRequest(der)
		if err != nil {
			t.Fatalf("accepted a request the library cannot parse: %v", err)
		}
		reencoded, err := req.Marshal()
		if err != nil {
			t.Fatalf("re-encode accepted request: %v", err)
		}
		again, err := a.parseRequest(reencoded)
		if err != nil {
			t.Fatalf("re-encoded accepted request refused: %v", err)
		}
		if again.HashAlgorithm != req.HashAlgorithm || !bytes.Equal(again.HashedMessage, req.HashedMessage) ||
			!again.TSAPolicyOID.Equal(req.TSAPolicyOID) || again.Certificates != req.Certificates || !sameInt(again.Nonce, req.Nonce) {
			t.Fatalf("request changed in the round trip: %+v vs %+v", req, again)
		}
		ts, err := timestamp.ParseResponse(resp)
		if err != nil {
			t.Fatalf("token does not parse: %v", err)
		}
		if ts.HashAlgorithm != req.HashAlgorithm || !bytes.Equal(ts.HashedMessage, req.HashedMessage) || !sameInt(ts.Nonce, req.Nonce) {
			t.Fatalf("token imprint/nonce differ from the request")
		}
	})
}

func sameInt(x, y *big.Int) bool {
	if x == nil || y == nil {
		return x == y
	}
	return x.Cmp(y) == 0
}
