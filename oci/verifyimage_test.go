package oci_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/verify"
)

// TestVerifyImage signs and attests an image in each layout and checks
// what VerifyImage accepts and rejects, and why.
func TestVerifyImage(t *testing.T) {
	for _, layout := range []oci.Layout{oci.LayoutReferrers, oci.LayoutLegacy} {
		t.Run(string(layout), func(t *testing.T) {
			s := newStack(t, true)
			ctx := context.Background()
			img, bare := s.push(t, "app"), s.push(t, "bare")
			if _, err := s.client.SignImage(ctx, img, layout, map[string]string{"env": "prod"}, s.keyless(t, "alice@example.com")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.client.SignImage(ctx, img, layout, nil, s.keyless(t, "bob@example.com")); err != nil {
				t.Fatal(err)
			}
			st, err := oci.NewStatement(img, "vuln", []byte(vulnPredicate), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.client.AttestImage(ctx, img, layout, st, s.keyless(t, "alice@example.com")); err != nil {
				t.Fatal(err)
			}
			v := s.verifierFor(layout)
			vuln, slsa := oci.PredicateVuln, oci.PredicateSLSA1
			refuse := func(context.Context, *oci.Verified) error { return errors.New("policy says no") }
			tests := []struct {
				name     string
				img      string // "bare" for the unsigned image
				who      string
				opts     oci.VerifyImageOptions
				verified int
				rejected []string // substrings, in order
				err      string
			}{
				{name: "signature", who: "alice@example.com", verified: 1, rejected: []string{"identity"}},
				{name: "signature with its annotation", who: "alice@example.com", opts: oci.VerifyImageOptions{Annotations: map[string]string{"env": "prod"}}, verified: 1, rejected: []string{"identity"}},
				{name: "signature without the annotation", who: "bob@example.com", opts: oci.VerifyImageOptions{Annotations: map[string]string{"env": "prod"}},
					rejected: []string{"identity", "missing or incorrect annotation"}, err: "none of the 2 signatures of"},
				{name: "annotation with another value", who: "alice@example.com", opts: oci.VerifyImageOptions{Annotations: map[string]string{"env": "dev"}},
					rejected: []string{"missing or incorrect annotation", "identity"}, err: "none of the 2 signatures of"},
				{name: "nobody's signature", who: "mallory@example.com", rejected: []string{"identity", "identity"}, err: "none of the 2 signatures of"},
				{name: "unsigned image", img: "bare", who: "alice@example.com", err: "no signatures found for"},
				{name: "attestation of its type", who: "alice@example.com", opts: oci.VerifyImageOptions{Attestations: true, PredicateType: vuln}, verified: 1},
				{name: "attestation of any type", who: "alice@example.com", opts: oci.VerifyImageOptions{Attestations: true}, verified: 1},
				{name: "attestation of another type", who: "alice@example.com", opts: oci.VerifyImageOptions{Attestations: true, PredicateType: slsa},
					err: "no attestations of type " + slsa + " found for"},
				{name: "attestation a check refuses", who: "alice@example.com", opts: oci.VerifyImageOptions{Attestations: true, PredicateType: vuln, Check: refuse},
					rejected: []string{"policy says no"}, err: "none of the 1 attestations of type " + vuln},
				{name: "a check sees signatures too", who: "alice@example.com", opts: oci.VerifyImageOptions{Check: refuse},
					rejected: []string{"policy says no", "identity"}, err: "none of the 2 signatures"},
				{name: "predicate type without attestations", who: "alice@example.com", opts: oci.VerifyImageOptions{PredicateType: vuln}, err: "a predicate type applies to attestations only"},
				{name: "annotations on attestations", who: "alice@example.com", opts: oci.VerifyImageOptions{Attestations: true, Annotations: map[string]string{"a": "b"}}, err: "annotations apply to signatures only"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					target := img
					if tt.img == "bare" {
						target = bare
					}
					res, err := s.client.VerifyImage(ctx, target, v, s.identity(tt.who), tt.opts)
					if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
						t.Fatalf("VerifyImage error %v, want %q", err, tt.err)
					}
					if err != nil && res == nil {
						return // invalid options
					}
					if err != nil && !errors.Is(err, oci.ErrNotVerified) {
						t.Errorf("error %v does not wrap ErrNotVerified", err)
					}
					if len(res.Verified) != tt.verified {
						t.Errorf("%d verified, want %d", len(res.Verified), tt.verified)
					}
					for _, va := range res.Verified {
						if c := va.Verified.Result.Certificate; c == nil || c.SAN != tt.who {
							t.Errorf("verified %s signed by %+v", va.Ref, c)
						}
					}
					var got []string
					for _, r := range res.Rejected {
						got = append(got, r.Error())
					}
					if len(got) != len(tt.rejected) {
						t.Fatalf("rejected %q, want %q", got, tt.rejected)
					}
					// Listing order is not the signing order: match as sets.
					for _, want := range tt.rejected {
						found := false
						for i, g := range got {
							if strings.Contains(g, want) {
								got = append(got[:i], got[i+1:]...)
								found = true
								break
							}
						}
						if !found {
							t.Errorf("no rejection mentions %q among %q", want, got)
						}
					}
					if len(res.Verified)+len(res.Rejected) != res.Candidates {
						t.Errorf("%d candidates, %d verified, %d rejected", res.Candidates, len(res.Verified), len(res.Rejected))
					}
				})
			}
		})
	}
}

func TestImageVerifyOptions(t *testing.T) {
	if diff := cmp.Diff(verify.DefaultOptions(), oci.ImageVerifyOptions(false, false)); diff != "" {
		t.Errorf("certificate, tlog: %s", diff)
	}
	if diff := cmp.Diff(verify.DefaultOptions(), oci.ImageVerifyOptions(true, false)); diff != "" {
		t.Errorf("key, tlog: %s", diff)
	}
	if diff := cmp.Diff(verify.Options{UseCurrentTime: true}, oci.ImageVerifyOptions(true, true)); diff != "" {
		t.Errorf("key, no tlog: %s", diff)
	}
	if diff := cmp.Diff(verify.Options{ObserverTimestampThreshold: 1}, oci.ImageVerifyOptions(false, true)); diff != "" {
		t.Errorf("certificate, no tlog: %s", diff)
	}
}
