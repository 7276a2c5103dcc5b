package cli

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/signetproject/signet/keys"
)

var httpClient = &http.Client{Timeout: 30 * time.Second}

func defaultServer() string {
	if s := os.Getenv("SIGNET_SERVER"); s != "" {
		return s
	}
	return "http://127.0.0.1:8080"
}

func newTrustRootCmd() *cobra.Command {
	var serverURL, outDir string
	cmd := &cobra.Command{
		Use:   "trust-root",
		Short: "Fetch a server's trusted_root.json and signing_config.json for clients",
		Long: `Fetch trusted_root.json and signing_config.json from a signet server and write
them into --out. Point cosign or sigstore-go at them with --trusted-root and
--signing-config.`,
		Example: `  signet trust-root --server http://127.0.0.1:8080 --out .
  cosign verify-blob --trusted-root trusted_root.json ...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base := strings.TrimRight(serverURL, "/")
			docs := []struct {
				name string
				msg  proto.Message
			}{
				{"trusted_root.json", &prototrustroot.TrustedRoot{}},
				{"signing_config.json", &prototrustroot.SigningConfig{}},
			}
			for _, d := range docs {
				data, err := fetch(base + "/" + d.name)
				if err != nil {
					return err
				}
				if err := protojson.Unmarshal(data, d.msg); err != nil {
					return fmt.Errorf("%s from %s is not valid: %w", d.name, base, err)
				}
				path := filepath.Join(outDir, d.name)
				if err := keys.WriteFileAtomic(path, data, 0o644); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", path)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&serverURL, "server", defaultServer(), "signet server URL (env SIGNET_SERVER)")
	cmd.Flags().StringVar(&outDir, "out", ".", "directory to write the files into")
	return cmd
}

func fetch(url string) ([]byte, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: %s", url, errorMessage(resp.Status, data))
	}
	return data, nil
}
