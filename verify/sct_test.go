package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"
	"time"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/tls"

	"github.com/signetproject/signet/ca"
	"github.com/signetproject/signet/ctlog"
	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/tlog/storage"
	"github.com/signetproject/signet/trustroot"
)

// tamperSCT flips a bit of the SCT a CT log returns, after the log signed
// it, so that the CA embeds a well-formed SCT with a wrong signature.
type tamperSCT struct{ log ca.CTLog }

func (t tamperSCT) AddPreChain(ctx context.Context, chain []*x509.Certificate) ([]byte, error) {
	sct, err := t.log.AddPreChain(ctx, chain)
	if err == nil {
		sct[len(sct)-1] ^= 1
	}
	return sct, err
}

// TestSCTsFromSignetCTLog runs verifySCTs on certificates from a real CA and CT logs:
// only an SCT whose signature verifies, from a CT log of the trusted root,
// inside the log's validity window, counts.
func TestSCTsFromSignetCTLog(t *testing.T) {
	gen := func(alg keys.Algorithm) crypto.Signer {
		k, err := keys.Generate(alg)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	interKey := gen(keys.ECDSAP256)
	chain, err := ca.NewHierarchy("signet test", gen(keys.ECDSAP256), interKey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	authority, err := ca.New(interKey, chain)
	if err != nil {
		t.Fatal(err)
	}
	openLog := func(name string) *ctlog.Log {
		dir := t.TempDir()
		driver, err := storage.NewPOSIX(t.Context(), dir)
		if err != nil {
			t.Fatal(err)
		}
		opts := ctlog.DefaultOptions()
		opts.BatchMaxAge = 5 * time.Millisecond
		opts.CheckpointInterval = 100 * time.Millisecond
		l, err := ctlog.New(t.Context(), driver, ctlog.NewDirIssuers(dir), "signet.test/"+name, gen(keys.ECDSAP256), chain[1:], opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close(context.Background()) })
		return l
	}
	trusted, other := openLog("ct"), openLog("other")
	trustedLog := trustroot.Log{BaseURL: "https://signet.test/ct", LogID: trusted.ID(), PublicKey: trusted.PublicKey()}
	root := func(logs ...trustroot.Log) *trustroot.TrustedRoot {
		return &trustroot.TrustedRoot{
			CertificateAuthorities: []trustroot.CertificateAuthority{{Root: chain[1], Intermediates: chain[:1]}},
			CTLogs:                 logs,
		}
	}
	issue := func(logs ...ca.CTLog) *x509.Certificate {
		id := oidc.Identity{Issuer: "https://issuer.example", Challenge: "a@example.com", Email: "a@example.com"}
		var (
			c   *x509.Certificate
			err error
		)
		if len(logs) == 0 {
			c, err = authority.Issue(id, gen(keys.ECDSAP256).Public())
		} else {
			c, err = authority.IssueWithSCTs(t.Context(), id, gen(keys.ECDSAP256).Public(), logs...)
		}
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	expired := trustedLog
	expired.ValidFor = trustroot.Window{End: time.Now().Add(-time.Hour)}
	notYet := trustedLog
	notYet.ValidFor = trustroot.Window{Start: time.Now().Add(time.Hour)}

	for _, tt := range []struct {
		name      string
		cert      *x509.Certificate
		root      *trustroot.TrustedRoot
		threshold int
		want      string // "" to pass, else a substring of the error
		wantN     int
	}{
		{name: "SCT from the trusted log", cert: issue(trusted), root: root(trustedLog), wantN: 1},
		{name: "SCTs from two logs, one trusted", cert: issue(other, trusted), root: root(trustedLog), wantN: 1},
		{name: "no SCT", cert: issue(), root: root(trustedLog), want: "0 verified SCTs, need 1"},
		{name: "tampered SCT", cert: issue(tamperSCT{trusted}), root: root(trustedLog), want: "SCT from https://signet.test/ct"},
		{name: "SCT from an unknown log", cert: issue(other), root: root(trustedLog), want: "0 verified SCTs, need 1"},
		{name: "log retired before the SCT", cert: issue(trusted), root: root(expired), want: "outside the log's validity"},
		{name: "log valid only after the SCT", cert: issue(trusted), root: root(notYet), want: "outside the log's validity"},
		{name: "two SCTs needed, one trusted log", cert: issue(trusted, other), root: root(trustedLog), threshold: 2, want: "1 verified SCTs, need 2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := DefaultOptions()
			opts.SCTThreshold = tt.threshold
			v, err := New(tt.root, opts)
			if err != nil {
				t.Fatal(err)
			}
			n, err := v.verifySCTs(tt.cert, append([]*x509.Certificate{tt.cert}, chain...))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("verifySCTs: %v", err)
			case tt.want == "" && n != tt.wantN:
				t.Fatalf("verifySCTs counted %d logs, want %d", n, tt.wantN)
			case tt.want != "" && err == nil:
				t.Fatalf("verifySCTs accepted, want error containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("verifySCTs: %v, want error containing %q", err, tt.want)
			}
		})
	}
}

// FuzzEmbeddedSCTs feeds arbitrary SCT list extension values to the parser
// of embedded SCTs: it must not panic, and what it accepts must re-encode
// to SCTs that parse to the same values.
func FuzzEmbeddedSCTs(f *testing.F) {
	// A well-formed list: one SCT with a leaf_index extension.
	f.Add([]byte{0x04, 0x0f, 0x00, 0x0d, 0x00, 0x0b, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a})
	f.Add([]byte{0x04, 0x02, 0x00, 0x00})
	f.Add([]byte{0x04, 0x00})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, value []byte) {
		cert := &x509.Certificate{Extensions: []pkix.Extension{{Id: oidSCTList, Value: value}}}
		scts, err := embeddedSCTs(cert)
		if err != nil {
			return
		}
		for _, s := range scts {
			enc, err := tls.Marshal(*s)
			if err != nil {
				t.Fatalf("accepted SCT does not re-encode: %v", err)
			}
			var back ct.SignedCertificateTimestamp
			if rest, err := tls.Unmarshal(enc, &back); err != nil || len(rest) != 0 {
				t.Fatalf("re-encoded SCT does not parse: %v", err)
			}
			if back.Timestamp != s.Timestamp || back.LogID != s.LogID || !bytes.Equal(back.Extensions, s.Extensions) || !bytes.Equal(back.Signature.Signature, s.Signature.Signature) {
				t.Fatalf("SCT round trip changed it: %+v -> %+v", s, back)
			}
		}
	})
}
