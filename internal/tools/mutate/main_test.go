package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMutateFindsSurvivors runs the tool on a package whose test covers
// one guard and leaves another unchecked: exactly that mutant survives.
func TestMutateFindsSurvivors(t *testing.T) {
	tg, err := parseTarget("testdata/guard", "")
	if err != nil {
		t.Fatal(err)
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	survivors, err := mutate(context.Background(), tg, "", "", 2, false, devnull)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range survivors {
		got = append(got, m.String())
	}
	want := []string{"guard/guard.go:12: delete if n > 100"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("survivors (-want +got):\n%s", diff)
	}
}

func TestInstrument(t *testing.T) {
	src := []byte("package p\n\nfunc f(a bool) bool {\n\tif a {\n\t\treturn false\n\t}\n\treturn a && true\n}\n\nfunc g() int {\n\tif x := 1; x > 0 {\n\t\treturn x\n\t}\n\treturn 0\n}\n")
	n := 0
	out, ms, err := instrument(src, "p/p.go", &n, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.String())
	}
	want := []string{
		"p/p.go:4: delete if a", "p/p.go:4: invert if a",
		"p/p.go:5: invert return false",
		"p/p.go:7: invert return a && true",
		"p/p.go:11: delete if x > 0", "p/p.go:11: invert if x > 0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mutants (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(out), "if x := 1; signetMutant(3, x > 0)") {
		t.Errorf("instrumented source:\n%s", out)
	}
}
