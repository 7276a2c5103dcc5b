package search

import (
	"strings"
	"testing"
)

func TestShellQuote(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"alice@example.com", "alice@example.com", true},
		{"https://github.com/o/r/.github/workflows/x.yml@refs/heads/main", "https://github.com/o/r/.github/workflows/x.yml@refs/heads/main", true},
		{"it's; rm -rf ~", `'it'\''s; rm -rf ~'`, true},
		{"$(id)`x`", `'$(id)` + "`x`'", true},
		{"", "''", true},
		{"a\nb", "", false},
		{"a\u202eb", "", false},
		{"a\x1bb", "", false},
		{"a\uFFFDb", "", false},
	} {
		got, ok := ShellQuote(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ShellQuote(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestClean(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"<script>", "<script>"}, // escaping is the template's job
		{"a\xffb", "a\uFFFDb"},
		{"a\x00b\nc", `a\u0000b\u000ac`},
		{"x\u202ey", `x\u202ey`},
	} {
		if got := clean(tt.in); got != tt.want {
			t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := clean(strings.Repeat("é", 5000))
	if len(long) > MaxTextLength+40 || !strings.HasSuffix(long, "(10000 bytes in all)") {
		t.Errorf("clean of 10000 bytes = %d bytes ending %q", len(long), long[len(long)-30:])
	}
}

func TestCommandsQuoteIdentity(t *testing.T) {
	v := &EntryView{ArtifactDigest: "sha256:" + strings.Repeat("ab", 32), Signers: []SignerView{{
		Certificate: true, SANs: []string{"https://github.com/o/r/.github/workflows/x.yml@refs/heads/main"}, Issuer: "https://token.actions.githubusercontent.com",
	}}}
	cmds := commands(v, "http://127.0.0.1:8080")
	if !strings.Contains(cmds[0].Line, "--certificate-identity https://github.com/o/r/.github/workflows/x.yml@refs/heads/main") ||
		!strings.Contains(cmds[0].Line, "signet verify-blob sha256:abab") {
		t.Errorf("signet command = %s", cmds[0].Line)
	}
	v.Signers[0].SANs[0] = "evil\n; curl x | sh"
	cmds = commands(v, "http://127.0.0.1:8080")
	if strings.Contains(cmds[0].Line, "curl x") || !strings.Contains(cmds[0].Line, "--certificate-identity IDENTITY") {
		t.Errorf("an identity with a newline made it into the command: %s", cmds[0].Line)
	}
}
