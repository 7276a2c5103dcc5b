package trustroot

import (
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The public sigstore-go vectors live with the verifier's test data.
const vectors = "../verify/testdata"

func TestLoadTrustedRootFile(t *testing.T) {
	type summary struct {
		CAs, TSAs        []string
		TSALeaf          []bool
		Tlogs, CTLogs    []string
		TlogStart        []time.Time
		CAIntermediates  []int
		RootSelfSigned   []bool
		PublicGoodLogged bool
	}
	tests := []struct {
		file string
		want summary
	}{
		{"trusted-root-public-good.json", summary{
			CAs:             []string{"https://fulcio.sigstore.dev", "https://fulcio.sigstore.dev"},
			TSAs:            []string{""},
			TSALeaf:         []bool{true},
			Tlogs:           []string{"https://rekor.sigstore.dev"},
			CTLogs:          []string{"https://ctfe.sigstore.dev/test", "https://ctfe.sigstore.dev/2022"},
			TlogStart:       []time.Time{time.Date(2021, 1, 12, 11, 53, 27, 0, time.UTC)},
			CAIntermediates: []int{0, 1},
			RootSelfSigned:  []bool{true, true},
			// Rekor's log ID is the SHA-256 of its key.
			PublicGoodLogged: true,
		}},
		{"trusted-root-scaffolding.json", summary{
			CAs:             []string{"http://fulcio.fulcio-system.172.18.255.1.sslip.io"},
			Tlogs:           []string{"http://rekor.rekor-system.172.18.255.1.sslip.io"},
			CTLogs:          []string{"http://ctlog.ctlog-system.172.18.255.1.sslip.io"},
			TlogStart:       []time.Time{time.Date(2024, 7, 12, 18, 35, 53, 0, time.UTC)},
			CAIntermediates: []int{0},
			RootSelfSigned:  []bool{true},
		}},
		{"trusted-root-public-key-validity.json", summary{
			TSAs:    []string{"https://virtual.tsa.sigstore.dev"},
			TSALeaf: []bool{true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r, err := LoadTrustedRootFile(filepath.Join(vectors, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var got summary
			for _, ca := range r.CertificateAuthorities {
				got.CAs = append(got.CAs, ca.URI)
				got.CAIntermediates = append(got.CAIntermediates, len(ca.Intermediates))
				got.RootSelfSigned = append(got.RootSelfSigned, ca.Root.CheckSignatureFrom(ca.Root) == nil)
			}
			for _, tsa := range r.TimestampAuthorities {
				got.TSAs = append(got.TSAs, tsa.URI)
				got.TSALeaf = append(got.TSALeaf, tsa.Leaf != nil)
			}
			for _, l := range r.Tlogs {
				got.Tlogs = append(got.Tlogs, l.BaseURL)
				got.TlogStart = append(got.TlogStart, l.ValidFor.Start)
			}
			for _, l := range r.CTLogs {
				got.CTLogs = append(got.CTLogs, l.BaseURL)
			}
			id, _ := hex.DecodeString("c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d")
			_, got.PublicGoodLogged = r.Tlog(id)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("loaded root (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadTrustedRootErrors(t *testing.T) {
	const mt = `"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"`
	tests := []struct {
		name, json, want string
	}{
		{"not json", `{`, "invalid trusted root"},
		{"media type", `{"mediaType":"application/json"}`, "unsupported media type"},
		{"empty chain", `{` + mt + `,"certificateAuthorities":[{"uri":"x"}]}`, "empty certificate chain"},
		{"bad certificate", `{` + mt + `,"certificateAuthorities":[{"certChain":{"certificates":[{"rawBytes":"AAAA"}]}}]}`, "certificate 0"},
		{"tlog without key", `{` + mt + `,"tlogs":[{"hashAlgorithm":"SHA2_256","logId":{"keyId":"AAAA"}}]}`, "missing public key"},
		{"tlog without log ID", `{` + mt + `,"tlogs":[{"hashAlgorithm":"SHA2_256"}]}`, "missing log ID"},
		{"tlog hash", `{` + mt + `,"tlogs":[{"hashAlgorithm":"SHA2_384"}]}`, "unsupported hash algorithm"},
		{"tlog without start", `{` + mt + `,"tlogs":[{"hashAlgorithm":"SHA2_256","logId":{"keyId":"AAAA"},"publicKey":{"rawBytes":"AAAA"}}]}`, "no validity start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadTrustedRoot([]byte(tt.json))
			if err == nil || !errors.Is(err, ErrInvalidTrustedRoot) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadTrustedRoot error = %v, want ErrInvalidTrustedRoot containing %q", err, tt.want)
			}
		})
	}
}

func TestWindowContains(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		w    Window
		t    time.Time
		want bool
	}{
		{Window{}, t0, true},
		{Window{Start: t0}, t0, true},
		{Window{Start: t0}, t0.Add(-time.Nanosecond), false},
		{Window{End: t0}, t0, true},
		{Window{End: t0}, t0.Add(time.Nanosecond), false},
		{Window{Start: t0, End: t0.Add(time.Hour)}, t0.Add(time.Minute), true},
	}
	for i, tt := range tests {
		if got := tt.w.Contains(tt.t); got != tt.want {
			t.Errorf("%d: Contains = %v, want %v", i, got, tt.want)
		}
	}
}
