package catalog_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/policy/catalog"
	"github.com/signetproject/signet/policy/catalog/catalogtest"
)

var (
	fixturesOnce sync.Once
	fixtures     *catalogtest.Fixtures
)

// TestCatalogEntries checks every catalog policy's metadata, parameters
// and defaults, and that it has table tests admitting and rejecting.
func TestCatalogEntries(t *testing.T) {
	all, err := catalog.All()
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]int{}
	for _, e := range all {
		groups[e.Group]++
		t.Run(e.Name, func(t *testing.T) {
			if e.Group == "workloads" && e.Mode != policy.ModeWarn {
				t.Errorf("workload policy in mode %q by default, want warn", e.Mode)
			}
			for _, p := range e.Params {
				if p.Description == "" {
					t.Errorf("parameter %s has no description", p.Name)
				}
			}
			if _, err := os.Stat(filepath.Join("testdata", e.Name+".yaml")); err != nil {
				t.Errorf("no table tests: %v", err)
			}
		})
	}
	for _, g := range catalog.Groups {
		if groups[g] == 0 {
			t.Errorf("group %s is empty", g)
		}
	}
}

// TestCatalogCases runs every catalog policy's table tests: each case's
// images are decided as `signet policy test` and the webhook decide them,
// and the verdict, errors and warnings must be exactly the expected ones.
func TestCatalogCases(t *testing.T) {
	fixturesOnce.Do(func() { fixtures = catalogtest.Start(t) })
	fx := fixtures
	all, err := catalog.All()
	if err != nil {
		t.Fatal(err)
	}
	client := oci.New(oci.Options{})
	eval, err := policy.NewEvaluator(policy.EvaluatorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		t.Run(e.Name, func(t *testing.T) {
			cf, err := catalogtest.LoadCases(".", e.Name, fx)
			if err != nil {
				t.Fatal(err)
			}
			var admits, rejects bool
			for _, c := range cf.Cases {
				admits = admits || c.Want == catalogtest.Allowed
				rejects = rejects || c.Want != catalogtest.Allowed
			}
			if !admits || !rejects {
				t.Errorf("test cases admit (%v) and reject (%v): want both", admits, rejects)
			}
			rendered, err := e.Render(cf.Params)
			if err != nil {
				t.Fatal(err)
			}
			docs, _, err := policy.LoadFile(e.Name+".yaml", rendered, policy.ValidateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checker := policy.NewRegistryChecker(client, fx.TrustedRoot, policy.CheckerOptions{})
			engine, err := policy.NewEngine(docs.Policies, checker, policy.Options{NoMatch: policy.NoMatchAllow, Evaluator: eval, ConfigFiles: client})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cf.Cases {
				t.Run(c.Name, func(t *testing.T) {
					var reqs []policy.Request
					if c.Resource != "" {
						obj, err := policy.ParseObject([]byte(c.Resource))
						if err != nil {
							t.Fatal(err)
						}
						for _, img := range obj.Images {
							reqs = append(reqs, obj.Request(img.Image))
						}
					} else {
						for _, img := range c.Images {
							reqs = append(reqs, policy.Request{Image: img})
						}
					}
					errs, warnings := []string{}, []string{}
					for _, req := range reqs {
						d := engine.Evaluate(context.Background(), req)
						for _, v := range d.Denials {
							errs = append(errs, v.String())
						}
						for _, v := range d.Warnings {
							warnings = append(warnings, v.String())
						}
					}
					if got := catalogtest.VerdictOf(errs, warnings); got != c.Want {
						t.Errorf("verdict %s, want %s", got, c.Want)
					}
					if os.Getenv("CATALOG_DEBUG") != "" {
						t.Logf("errors %q warnings %q", errs, warnings)
					}
					if !catalogtest.MatchAll(c.Errors, errs) {
						t.Errorf("errors (-want +got):\n%s", cmp.Diff(nonNil(c.Errors), errs))
					}
					if !catalogtest.MatchAll(c.Warnings, warnings) {
						t.Errorf("warnings (-want +got):\n%s", cmp.Diff(nonNil(c.Warnings), warnings))
					}
				})
			}
		})
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TestRenderDefaults renders every catalog policy with its defaults (and
// a key for the one that needs one): each must load as a cluster would
// validate it, with the title, mode and group its listing shows.
func TestRenderDefaults(t *testing.T) {
	all, err := catalog.All()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	key := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	for _, e := range all {
		t.Run(e.Name, func(t *testing.T) {
			vals := map[string]string{}
			for _, p := range e.Params {
				if p.Required {
					vals[p.Name] = key
				}
			}
			out, err := e.Render(vals)
			if err != nil {
				t.Fatal(err)
			}
			docs, warnings, err := policy.LoadFile(e.Name+".yaml", out, policy.ValidateOptions{ResourceNames: policy.DefaultResourceNames})
			if err != nil || len(warnings) > 0 || len(docs.Policies) != 1 {
				t.Fatalf("load: %v, warnings %q", err, warnings)
			}
			p := docs.Policies[0]
			if p.Metadata.Name != e.Name || p.Spec.Mode != e.Mode || p.Metadata.Labels[catalog.GroupLabel] != e.Group ||
				p.Metadata.Annotations[catalog.TitleAnnotation] != e.Title || e.Title == "" || e.Description == "" {
				t.Errorf("entry %+v does not describe the policy %+v", e, p.Metadata)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	e, err := catalog.Lookup("max-image-age")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		vals map[string]string
		want string
	}{
		{map[string]string{"dayz": "3"}, `catalog policy max-image-age has no parameter "dayz" (parameters: days, mode, images)`},
		{map[string]string{"days": "three"}, `want a non-negative whole number, got "three"`},
		{map[string]string{"mode": "audit"}, `catalog policy max-image-age with these parameters does not load: max-image-age.yaml:19: ClusterImagePolicy "max-image-age": invalid value: audit: spec.mode`},
		{map[string]string{"images": "x["}, `spec.images[0].glob`},
	} {
		if _, err := e.Render(tt.vals); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Render(%v) error %v, want %q", tt.vals, err, tt.want)
		}
	}
	k, err := catalog.Lookup("key-signed")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Render(nil); err == nil || !strings.Contains(err.Error(), "catalog policy key-signed needs --set key=…") {
		t.Errorf("Render without the key: %v", err)
	}
	if _, err := k.Render(map[string]string{"key": "not a key"}); err == nil || !strings.Contains(err.Error(), "spec.authorities[0].key.data") {
		t.Errorf("Render with a bad key: %v", err)
	}
	// A value cannot break out of its YAML string.
	g, err := catalog.Lookup("github-actions-keyless")
	if err != nil {
		t.Fatal(err)
	}
	out, err := g.Render(map[string]string{"issuer": "https://x.example\"\nmode: warn"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `issuer: "https://x.example\"\nmode: warn"`) {
		t.Errorf("issuer not quoted:\n%s", out)
	}
	if _, err := catalog.Lookup("nope"); err == nil || !strings.Contains(err.Error(), `no catalog policy "nope"`) {
		t.Errorf("Lookup(nope): %v", err)
	}
}

func TestMatches(t *testing.T) {
	for _, tt := range []struct {
		want, got string
		ok        bool
	}{
		{"a <any-digest>: b", "a sha256:" + strings.Repeat("0", 64) + ": b", true},
		{"a <any-digest>: b", "a sha256:" + strings.Repeat("0", 63) + ": b", false},
		{"a <any-digest>: b", "a sha256:" + strings.Repeat("0", 64) + ": c", false},
		{"exact (text)", "exact (text)", true},
		{"exact (text)", "exact (text) ", false},
	} {
		if got := catalogtest.Matches(tt.want, tt.got); got != tt.ok {
			t.Errorf("Matches(%q, %q) = %v", tt.want, tt.got, got)
		}
	}
}
