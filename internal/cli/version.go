package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionInfo is what `signet version` prints, in the fields and JSON
// names of `cosign version`.
type versionInfo struct {
	GitVersion   string `json:"gitVersion"`
	GitCommit    string `json:"gitCommit"`
	GitTreeState string `json:"gitTreeState"`
	BuildDate    string `json:"buildDate"`
	GoVersion    string `json:"goVersion"`
	Compiler     string `json:"compiler"`
	Platform     string `json:"platform"`
}

// buildVersion reads the version info: Version, and the VCS revision, its
// state and time that the go command records when it builds from a
// checkout ("unknown" otherwise, as in cosign).
func buildVersion() versionInfo {
	v := versionInfo{
		GitVersion: Version, GitCommit: "unknown", GitTreeState: "unknown", BuildDate: "unknown",
		GoVersion: runtime.Version(), Compiler: runtime.Compiler, Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.GitCommit = s.Value
		case "vcs.time":
			v.BuildDate = s.Value
		case "vcs.modified":
			v.GitTreeState = map[string]string{"true": "dirty", "false": "clean"}[s.Value]
		}
	}
	return v
}

func (v versionInfo) write(w io.Writer, asJSON bool) error {
	if asJSON {
		out, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", out)
		return err
	}
	_, err := fmt.Fprintf(w, "GitVersion:    %s\nGitCommit:     %s\nGitTreeState:  %s\nBuildDate:     %s\nGoVersion:     %s\nCompiler:      %s\nPlatform:      %s\n",
		v.GitVersion, v.GitCommit, v.GitTreeState, v.BuildDate, v.GoVersion, v.Compiler, v.Platform)
	return err
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:         "version",
		Short:       "Print signet's version, the Go version it was built with and its source revision",
		Args:        cobra.NoArgs,
		Annotations: map[string]string{offline: ""},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return buildVersion().write(cmd.OutOrStdout(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON, as cosign version --json")
	return cmd
}
