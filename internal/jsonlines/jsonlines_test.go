package jsonlines

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type rec struct {
	N int `json:"n"`
}

// open opens path, replaying its records as ints; a line that is not a rec
// is refused.
func open(t *testing.T, path string, skipDamaged bool) (*File, []int, int, error) {
	t.Helper()
	var got []int
	f, skipped, err := Open(path, func(line []byte) error {
		var r rec
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		got = append(got, r.N)
		return nil
	}, skipDamaged)
	return f, got, skipped, err
}

func TestOpenReplaysCompleteLines(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		skipDamaged   bool
		want          []int
		skipped       int
		err           string // in Open's error; "" for none
		after         string // the file after Open
	}{
		{"missing", "", false, nil, 0, "", ""},
		{"two records", "{\"n\":1}\n{\"n\":2}\n", false, []int{1, 2}, 0, "", "{\"n\":1}\n{\"n\":2}\n"},
		{"torn last line", "{\"n\":1}\n{\"n\":", false, []int{1}, 0, "", "{\"n\":1}\n"},
		{"damaged record", "{\"n\":1}\n{\"n\":x}\n{\"n\":3}\n", false, nil, 0, "record at offset 8: invalid character 'x'", "{\"n\":1}\n{\"n\":x}\n{\"n\":3}\n"},
		{"damaged record skipped", "{\"n\":1}\n{\"n\":x}\n{\"n\":3}\n{\"n\"", true, []int{1, 3}, 1, "", "{\"n\":1}\n{\"n\":x}\n{\"n\":3}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.jsonl")
			if tc.name != "missing" {
				if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f, got, skipped, err := open(t, path, tc.skipDamaged)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Open = %v, want an error with %q", err, tc.err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				f.Close()
				if diff := cmp.Diff(tc.want, got); diff != "" || skipped != tc.skipped {
					t.Errorf("replayed (-want +got):\n%s; skipped %d, want %d", diff, skipped, tc.skipped)
				}
			}
			if data, _ := os.ReadFile(path); string(data) != tc.after {
				t.Errorf("file after Open = %q, want %q", data, tc.after)
			}
		})
	}
}

func TestAppendReplace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.jsonl")
	if err := os.WriteFile(path, []byte("{\"n\":1}\n{\"n\":"), 0o644); err != nil {
		t.Fatal(err)
	}
	reopen := func() []int {
		t.Helper()
		f, got, _, err := open(t, path, false)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		return got
	}
	f, _, _, err := open(t, path, false)
	if err != nil {
		t.Fatal(err)
	}
	// Appends go after the last complete record, not after the torn one.
	if err := f.Append(rec{2}, rec{3}); err != nil {
		t.Fatal(err)
	}
	if got := reopen(); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("after Append: %v", got)
	}
	// A record that cannot be encoded leaves the file as it was.
	if replaced, err := f.Replace(slices.Values([]any{rec{9}, make(chan int)})); err == nil || replaced {
		t.Errorf("Replace with a record JSON cannot encode = %t, %v; want false and an error", replaced, err)
	}
	if got := reopen(); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("after a failed Replace: %v", got)
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed Replace left its temporary file: %v", err)
	}
	if replaced, err := f.Replace(slices.Values([]any{rec{7}})); err != nil || !replaced {
		t.Fatalf("Replace = %t, %v", replaced, err)
	}
	// Appends after Replace go to the new file.
	if err := f.Append(rec{8}); err != nil {
		t.Fatal(err)
	}
	if got := reopen(); !slices.Equal(got, []int{7, 8}) {
		t.Errorf("after Replace and Append: %v", got)
	}
	if _, err := f.Replace(slices.Values([]any(nil))); err != nil {
		t.Fatal(err)
	}
	if got := reopen(); len(got) != 0 {
		t.Errorf("after Replace with nothing: %v", got)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := f.Append(rec{1}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Append after Close: %v, want os.ErrClosed", err)
	}
	if _, err := f.Replace(slices.Values([]any(nil))); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Replace after Close: %v, want os.ErrClosed", err)
	}
}
