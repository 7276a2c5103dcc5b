package rekorv1

import (
	"errors"
	"strings"
	"testing"
)

func TestHashSearchKey(t *testing.T) {
	hex := func(n int) string { return strings.Repeat("aB", n/2) }
	low := func(n int) string { return strings.Repeat("ab", n/2) }
	for _, tc := range []struct {
		digest, want string // want "" for an ErrInvalidQuery
	}{
		{hex(40), "sha1:" + low(40)},
		{hex(64), "sha256:" + low(64)},
		{hex(96), "sha384:" + low(96)},
		{hex(128), "sha512:" + low(128)},
		{"SHA256:" + hex(64), "sha256:" + low(64)},
		{"sha512:" + hex(128), "sha512:" + low(128)},
		{"", ""},
		{"zz", ""},
		{hex(62), ""},
		{"sha256:" + hex(62), ""},
		{"sha256:" + hex(128), ""}, // a SHA-512 digest under the wrong name
		{"sha1:" + hex(64), ""},
		{"md5:" + hex(32), ""},
		{"sha256:" + strings.Repeat("g", 64), ""},
		{strings.Repeat("g", 64), ""},
		{"sha256:" + hex(30) + ":" + hex(32) + "a", ""},
		{":" + hex(64), ""},
	} {
		got, err := hashSearchKey(tc.digest)
		if tc.want == "" {
			if !errors.Is(err, ErrInvalidQuery) {
				t.Errorf("hashSearchKey(%q) = %q, %v; want ErrInvalidQuery", tc.digest, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("hashSearchKey(%q) = %q, %v; want %q", tc.digest, got, err, tc.want)
		}
	}
}
