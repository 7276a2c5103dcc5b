package cli

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestVersion runs `signet version` and `signet version --json` through
// the root command: both name Version, the Go toolchain and the platform.
func TestVersion(t *testing.T) {
	old := Version
	Version = "v1.2.3"
	t.Cleanup(func() { Version = old })

	run := func(args ...string) string {
		t.Helper()
		root := NewRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs(append([]string{"version"}, args...))
		if err := root.Execute(); err != nil {
			t.Fatalf("signet version %s: %v", strings.Join(args, " "), err)
		}
		return out.String()
	}

	text := run()
	for _, want := range []string{"GitVersion:    v1.2.3\n", "GoVersion:     " + runtime.Version() + "\n", "Platform:      " + runtime.GOOS + "/" + runtime.GOARCH + "\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("signet version printed\n%s\nwant a line %q", text, want)
		}
	}

	var got versionInfo
	if err := json.Unmarshal([]byte(run("--json")), &got); err != nil {
		t.Fatalf("signet version --json: %v", err)
	}
	// A test binary carries no VCS settings.
	want := versionInfo{GitVersion: "v1.2.3", GitCommit: "unknown", GitTreeState: "unknown", BuildDate: "unknown",
		GoVersion: runtime.Version(), Compiler: runtime.Compiler, Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("signet version --json (-want +got):\n%s", diff)
	}
}
