package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/signetproject/signet/trustroot"
)

// loadTrustedRoot reads --trusted-root, or fetches the server's.
func loadTrustedRoot(path, server string) (*trustroot.TrustedRoot, error) {
	if path != "" {
		return trustroot.LoadTrustedRootFile(path)
	}
	if server == "" {
		return nil, fmt.Errorf("no trust root: pass --trusted-root FILE or --server URL")
	}
	data, err := fetch(strings.TrimRight(server, "/") + "/trusted_root.json")
	if err != nil {
		return nil, err
	}
	return trustroot.LoadTrustedRoot(data)
}

// loadSigningConfig reads --signing-config, or fetches the server's.
func loadSigningConfig(path, server string) (*trustroot.SigningConfig, error) {
	if path != "" {
		return trustroot.LoadSigningConfigFile(path)
	}
	if server == "" {
		return nil, fmt.Errorf("no signing config: pass --signing-config FILE or --server URL")
	}
	data, err := fetch(strings.TrimRight(server, "/") + "/signing_config.json")
	if err != nil {
		return nil, err
	}
	return trustroot.LoadSigningConfig(data)
}

// readPassword returns the key password from COSIGN_PASSWORD or
// SIGNET_PASSWORD (which may be set to the empty string), or asks on the
// terminal.
func readPassword(prompt string, confirm bool) ([]byte, error) {
	for _, env := range []string{"SIGNET_PASSWORD", "COSIGN_PASSWORD"} {
		if pw, ok := os.LookupEnv(env); ok {
			return []byte(pw), nil
		}
	}
	return promptPassword(prompt, confirm)
}
