package verify

import (
	"testing"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/trustroot"
)

// FuzzVerify feeds arbitrary bundles to every vector's verifier
// configuration: verification must fail cleanly, never panic, and any
// failure must say which check failed.
func FuzzVerify(f *testing.F) {
	cases := vectorCases(f)
	type prepared struct {
		v *Verifier
		c *diffCase
	}
	var ps []prepared
	for _, c := range cases {
		f.Add(c.bundle)
		r, err := trustroot.LoadTrustedRoot(c.rootJSON)
		if err != nil {
			f.Fatal(err)
		}
		v, err := New(r, c.opts)
		if err != nil {
			f.Fatal(err)
		}
		ps = append(ps, prepared{v, c})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := bundle.Decode(data)
		if err != nil {
			return
		}
		for _, p := range ps {
			res, err := p.v.Verify(b, p.c.artifact, p.c.policy)
			if err == nil {
				if res == nil || len(res.Timestamps) == 0 {
					t.Fatalf("%s: success without result or timestamps", p.c.name)
				}
				continue
			}
			if _, ok := err.(*Error); !ok {
				t.Fatalf("%s: error %v is not a *verify.Error", p.c.name, err)
			}
		}
	})
}
