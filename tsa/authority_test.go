package tsa

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/google/go-cmp/cmp"
)

var (
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

// rawRequest mirrors TimeStampReq (RFC 3161 section 2.4.1) so tests can
// encode requests the library's own encoder refuses to produce.
type rawRequest struct {
	Version        int
	MessageImprint rawImprint
	ReqPolicy      asn1.ObjectIdentifier `asn1:"optional"`
	Nonce          *big.Int              `asn1:"optional"`
	CertReq        bool                  `asn1:"optional,default:false"`
	Extensions     []pkix.Extension      `asn1:"tag:0,optional"`
}

type rawImprint struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
}

// rawResponse mirrors TimeStampResp to read rejection responses.
type rawResponse struct {
	Status struct {
		Status       int
		StatusString []string       `asn1:"optional,utf8"`
		FailInfo     asn1.BitString `asn1:"optional"`
	}
	TimeStampToken asn1.RawValue `asn1:"optional"`
}

func encodeRequest(t testing.TB, r rawRequest) []byte {
	t.Helper()
	if r.Version == 0 {
		r.Version = 1
	}
	der, err := asn1.Marshal(r)
	if err != nil {
		t.Fatalf("encode request: %v", err)
	}
	return der
}

func imprint(oid asn1.ObjectIdentifier, digest []byte) rawImprint {
	return rawImprint{HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oid, Parameters: asn1.NullRawValue}, HashedMessage: digest}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newTestAuthority returns an authority with a fresh P-256 chain.
func newTestAuthority(t testing.TB, opts Options) (*Authority, crypto.Signer) {
	t.Helper()
	tsaKey := newKey(t)
	chain, err := CreateChain(newKey(t), tsaKey, ChainOptions{})
	if err != nil {
		t.Fatalf("CreateChain: %v", err)
	}
	a, err := NewAuthority(tsaKey, chain, opts)
	if err != nil {
		t.Fatalf("NewAuthority: %v", err)
	}
	return a, tsaKey
}

func TestTimestampFields(t *testing.T) {
	clock := time.Date(2030, 1, 2, 3, 4, 5, 678_000_000, time.FixedZone("X", 3600))
	tsaKey := newKey(t)
	chain, err := CreateChain(newKey(t), tsaKey, ChainOptions{NotBefore: time.Now().Add(-time.Hour), Validity: 20 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	extraPolicy := asn1.ObjectIdentifier{1, 2, 3, 4}
	a, err := NewAuthority(tsaKey, chain, Options{Now: func() time.Time { return clock }, Accuracy: 1500 * time.Millisecond, AcceptedPolicies: []asn1.ObjectIdentifier{extraPolicy}})
	if err != nil {
		t.Fatal(err)
	}
	sum256 := sha256.Sum256([]byte("sig"))
	sum384 := sha512.Sum384([]byte("sig"))
	sum512 := sha512.Sum512([]byte("sig"))
	type fields struct {
		Hash     crypto.Hash
		Digest   []byte
		Time     time.Time
		Accuracy time.Duration
		Nonce    *big.Int
		Policy   asn1.ObjectIdentifier
		Certs    int
	}
	want := fields{Time: time.Date(2030, 1, 2, 2, 4, 5, 0, time.UTC), Accuracy: 1500 * time.Millisecond, Policy: defaultPolicy}
	tests := []struct {
		name string
		req  rawRequest
		want func(fields) fields
	}{
		{"sha256", rawRequest{MessageImprint: imprint(oidSHA256, sum256[:])}, func(f fields) fields {
			f.Hash, f.Digest = crypto.SHA256, sum256[:]
			return f
		}},
		{"sha384 nonce", rawRequest{MessageImprint: imprint(oidSHA384, sum384[:]), Nonce: big.NewInt(424242)}, func(f fields) fields {
			f.Hash, f.Digest, f.Nonce = crypto.SHA384, sum384[:], big.NewInt(424242)
			return f
		}},
		{"sha512 certReq", rawRequest{MessageImprint: imprint(oidSHA512, sum512[:]), CertReq: true}, func(f fields) fields {
			f.Hash, f.Digest, f.Certs = crypto.SHA512, sum512[:], 2
			return f
		}},
		{"default policy named", rawRequest{MessageImprint: imprint(oidSHA256, sum256[:]), ReqPolicy: defaultPolicy}, func(f fields) fields {
			f.Hash, f.Digest = crypto.SHA256, sum256[:]
			return f
		}},
		{"accepted policy named", rawRequest{MessageImprint: imprint(oidSHA256, sum256[:]), ReqPolicy: extraPolicy}, func(f fields) fields {
			f.Hash, f.Digest, f.Policy = crypto.SHA256, sum256[:], extraPolicy
			return f
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := a.Timestamp(encodeRequest(t, tt.req))
			if err != nil {
				t.Fatalf("Timestamp: %v", err)
			}
			ts, err := timestamp.ParseResponse(resp)
			if err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			got := fields{ts.HashAlgorithm, ts.HashedMessage, ts.Time, ts.Accuracy, ts.Nonce, ts.Policy, len(ts.Certificates)}
			if diff := cmp.Diff(tt.want(want), got, cmp.Comparer(func(x, y *big.Int) bool {
				return (x == nil && y == nil) || (x != nil && y != nil && x.Cmp(y) == 0)
			})); diff != "" {
				t.Errorf("token fields (-want +got):\n%s", diff)
			}
			if tt.req.CertReq {
				if !ts.Certificates[0].Equal(chain[0]) || !ts.Certificates[1].Equal(chain[1]) {
					t.Errorf("token certificates are not the chain, leaf first")
				}
			}
		})
	}
}

func TestTimestampRequestErrors(t *testing.T) {
	a, _ := newTestAuthority(t, Options{})
	sum := sha256.Sum256([]byte("sig"))
	sum1 := sha1.Sum([]byte("sig"))
	valid := encodeRequest(t, rawRequest{MessageImprint: imprint(oidSHA256, sum[:])})
	tests := []struct {
		name    string
		req     []byte
		reason  error
		failure timestamp.FailureInfo
	}{
		{"empty", nil, ErrMalformedRequest, timestamp.BadDataFormat},
		{"garbage", []byte("not a timestamp request"), ErrMalformedRequest, timestamp.BadDataFormat},
		{"truncated", valid[:len(valid)-3], ErrMalformedRequest, timestamp.BadDataFormat},
		{"trailing data", append(append([]byte{}, valid...), 0), ErrMalformedRequest, timestamp.BadDataFormat},
		{"too large", make([]byte, MaxRequestBytes+1), ErrRequestTooLarge, timestamp.BadRequest},
		{"no digest", encodeRequest(t, rawRequest{MessageImprint: imprint(oidSHA256, nil)}), ErrMalformedRequest, timestamp.BadDataFormat},
		{"sha1", encodeRequest(t, rawRequest{MessageImprint: imprint(oidSHA1, sum1[:])}), ErrWeakHash, timestamp.BadAlgorithm},
		{"sha224", encodeRequest(t, rawRequest{MessageImprint: imprint(oidSHA224, sum[:28])}), ErrUnsupportedHash, timestamp.BadAlgorithm},
		{"short sha256", encodeRequest(t, rawRequest{MessageImprint: imprint(oidSHA256, sum[:20])}), ErrDigestLength, timestamp.BadDataFormat},
		{"sha512 named, sha256 digest", encodeRequest(t, rawRequest{MessageImprint: imprint(oidSHA512, sum[:])}), ErrDigestLength, timestamp.BadDataFormat},
		{"unaccepted policy", encodeRequest(t, rawRequest{MessageImprint: imprint(oidSHA256, sum[:]), ReqPolicy: asn1.ObjectIdentifier{1, 2, 3}}), ErrUnacceptedPolicy, timestamp.UnacceptedPolicy},
		{"extension", encodeRequest(t, rawRequest{MessageImprint: imprint(oidSHA256, sum[:]), Extensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{5, 0}}}}), ErrUnacceptedExtension, timestamp.UnacceptedExtension},
	}
	reasons := []error{ErrMalformedRequest, ErrRequestTooLarge, ErrWeakHash, ErrUnsupportedHash, ErrDigestLength, ErrUnacceptedPolicy, ErrUnacceptedExtension}
	type outcome struct {
		Reasons []string
		Failure timestamp.FailureInfo
		Status  int
		FailBit int
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := a.Timestamp(tt.req)
			if err == nil {
				t.Fatalf("Timestamp accepted the request: %x", resp)
			}
			var reqErr *RequestError
			if !errors.As(err, &reqErr) {
				t.Fatalf("error %v is not a *RequestError", err)
			}
			var got outcome
			for _, r := range reasons {
				if errors.Is(err, r) {
					got.Reasons = append(got.Reasons, r.Error())
				}
			}
			got.Failure = reqErr.failure
			rejection, rerr := reqErr.RejectionResponse()
			if rerr != nil {
				t.Fatalf("RejectionResponse: %v", rerr)
			}
			var rr rawResponse
			if _, err := asn1.Unmarshal(rejection, &rr); err != nil {
				t.Fatalf("decode rejection: %v", err)
			}
			got.Status, got.FailBit = rr.Status.Status, rr.Status.FailInfo.At(int(tt.failure))
			want := outcome{Reasons: []string{tt.reason.Error()}, Failure: tt.failure, Status: int(timestamp.Rejection), FailBit: 1}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("refusal (-want +got):\n%s\nerror: %v", diff, err)
			}
			if _, err := timestamp.ParseResponse(rejection); err == nil {
				t.Errorf("library parsed the rejection as a granted token")
			}
		})
	}
}

func TestTimestampOutsideValidity(t *testing.T) {
	tsaKey := newKey(t)
	notBefore := time.Now().Add(-time.Hour)
	chain, err := CreateChain(newKey(t), tsaKey, ChainOptions{NotBefore: notBefore, Validity: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a, err := NewAuthority(tsaKey, chain, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("sig"))
	req := encodeRequest(t, rawRequest{MessageImprint: imprint(oidSHA256, sum[:])})
	if _, err := a.Timestamp(req); err != nil {
		t.Fatalf("Timestamp inside validity: %v", err)
	}
	mu.Lock()
	now = notBefore.Add(25 * time.Hour)
	mu.Unlock()
	_, err = a.Timestamp(req)
	var reqErr *RequestError
	if !errors.Is(err, ErrOutsideValidity) || errors.As(err, &reqErr) {
		t.Fatalf("Timestamp after the leaf expired: got %v, want ErrOutsideValidity and no *RequestError", err)
	}
}

func TestNewAuthorityRejects(t *testing.T) {
	tsaKey := newKey(t)
	rootKey := newKey(t)
	chain, err := CreateChain(rootKey, tsaKey, ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := CreateChain(newKey(t), newKey(t), ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A leaf like ours but with a non-critical EKU, issued by our root.
	nonCritical := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "nc"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	}
	ncDER, err := x509.CreateCertificate(rand.Reader, nonCritical, chain[1], tsaKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	ncLeaf, err := x509.ParseCertificate(ncDER)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edChain, err := CreateChain(rootKey, edKey, ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		signer  crypto.Signer
		chain   []*x509.Certificate
		opts    Options
		wantErr string
	}{
		{"nil signer", nil, chain, Options{}, "nil signer"},
		{"no chain", tsaKey, nil, Options{}, "chain has 0 certificates"},
		{"leaf only", tsaKey, chain[:1], Options{}, "chain has 1 certificates"},
		{"nil certificate", tsaKey, []*x509.Certificate{chain[0], nil}, Options{}, "certificate 1 is nil"},
		{"root first", tsaKey, []*x509.Certificate{chain[1], chain[0]}, Options{}, "does not certify the signer's public key"},
		{"other key", newKey(t), chain, Options{}, "does not certify the signer's public key"},
		{"other root", tsaKey, []*x509.Certificate{chain[0], other[1]}, Options{}, "not issued by certificate 1"},
		{"non-critical EKU", tsaKey, []*x509.Certificate{ncLeaf, chain[1]}, Options{}, "extended key usage is not critical"},
		{"ed25519 key", edKey, edChain, Options{}, "unsupported TSA key type"},
		{"expired by clock", tsaKey, chain, Options{Now: func() time.Time { return time.Now().AddDate(11, 0, 0) }}, "expired"},
		{"negative accuracy", tsaKey, chain, Options{Accuracy: -time.Second}, "accuracy -1s is negative"},
		{"short policy", tsaKey, chain, Options{Policy: asn1.ObjectIdentifier{1}}, "policy OID 1 has fewer than two arcs"},
		{"short accepted policy", tsaKey, chain, Options{AcceptedPolicies: []asn1.ObjectIdentifier{{}}}, "has fewer than two arcs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewAuthority(tt.signer, tt.chain, tt.opts)
			if err == nil {
				t.Fatalf("NewAuthority accepted it: %v", a)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewAuthority error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
	if _, err := NewAuthority(tsaKey, chain, Options{}); err != nil {
		t.Fatalf("NewAuthority on the good chain: %v", err)
	}
}

func TestPolicyOption(t *testing.T) {
	policy := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}
	a, _ := newTestAuthority(t, Options{Policy: policy, OmitAccuracy: true})
	sum := sha256.Sum256([]byte("sig"))
	for _, tt := range []struct {
		name   string
		policy asn1.ObjectIdentifier
		err    error
	}{
		{"none named", nil, nil},
		{"own named", policy, nil},
		{"sigstore default named", defaultPolicy, ErrUnacceptedPolicy},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := a.Timestamp(encodeRequest(t, rawRequest{MessageImprint: imprint(oidSHA256, sum[:]), ReqPolicy: tt.policy}))
			if !errors.Is(err, tt.err) {
				t.Fatalf("Timestamp error %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			ts, err := timestamp.ParseResponse(resp)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(struct {
				Policy   asn1.ObjectIdentifier
				Accuracy time.Duration
			}{policy, 0}, struct {
				Policy   asn1.ObjectIdentifier
				Accuracy time.Duration
			}{ts.Policy, ts.Accuracy}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultPolicyOID(t *testing.T) {
	if got := defaultPolicy.String(); got != DefaultPolicyOID {
		t.Errorf("defaultPolicy = %s, DefaultPolicyOID = %s", got, DefaultPolicyOID)
	}
}

// TestSerialNumbersUnique issues tokens from several goroutines and checks
// that no serial number repeats.
func TestSerialNumbersUnique(t *testing.T) {
	a, _ := newTestAuthority(t, Options{})
	sum := sha256.Sum256([]byte("sig"))
	req := encodeRequest(t, rawRequest{MessageImprint: imprint(oidSHA256, sum[:])})
	const workers, each = 4, 250
	serials := make(chan string, workers*each)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				resp, err := a.Timestamp(req)
				if err != nil {
					errs <- err
					return
				}
				ts, err := timestamp.ParseResponse(resp)
				if err != nil {
					errs <- err
					return
				}
				if ts.SerialNumber.Sign() <= 0 {
					errs <- errors.New("non-positive serial number " + ts.SerialNumber.String())
					return
				}
				serials <- ts.SerialNumber.String()
			}
		}()
	}
	wg.Wait()
	close(serials)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for s := range serials {
		if seen[s] {
			t.Fatalf("serial number %s repeated", s)
		}
		seen[s] = true
	}
	if len(seen) != workers*each {
		t.Fatalf("got %d serial numbers, want %d", len(seen), workers*each)
	}
}

func TestChainAccessorsCopy(t *testing.T) {
	a, _ := newTestAuthority(t, Options{})
	c := a.Chain()
	c[0] = nil
	p := a.ChainPEM()
	p[0] = 'X'
	if a.Chain()[0] == nil || a.ChainPEM()[0] != '-' {
		t.Fatal("accessors expose the authority's internal state")
	}
	parsed, err := ParseChainPEM(a.ChainPEM())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a.Chain(), parsed, cmp.Comparer(func(x, y *x509.Certificate) bool { return x.Equal(y) })); diff != "" {
		t.Errorf("ChainPEM round trip (-want +got):\n%s", diff)
	}
}

func BenchmarkTimestamp(b *testing.B) {
	a, _ := newTestAuthority(b, Options{})
	sum := sha256.Sum256([]byte("sig"))
	for _, bc := range []struct {
		name    string
		certReq bool
	}{{"plain", false}, {"certReq", true}} {
		req := encodeRequest(b, rawRequest{MessageImprint: imprint(oidSHA256, sum[:]), Nonce: big.NewInt(1), CertReq: bc.certReq})
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := a.Timestamp(req); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "timestamps/s")
		})
	}
}
