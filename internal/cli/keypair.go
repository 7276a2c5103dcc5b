package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/signetproject/signet/keys"
)

func newGenerateKeyPairCmd() *cobra.Command {
	var prefix string
	var force bool
	cmd := &cobra.Command{
		Use:   "generate-key-pair",
		Short: "Write an ECDSA P-256 key pair in cosign's format (PREFIX.key, PREFIX.pub)",
		Long: `Generate an ECDSA P-256 key pair. The private key is written encrypted in cosign's
format ("ENCRYPTED SIGSTORE PRIVATE KEY", scrypt + NaCl secretbox), so cosign and
signet can use each other's keys. The password comes from COSIGN_PASSWORD or
SIGNET_PASSWORD (an empty value means no password), or a prompt.`,
		Example: `  COSIGN_PASSWORD= signet generate-key-pair
  signet generate-key-pair --output-key-prefix release`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			privPath, pubPath := prefix+".key", prefix+".pub"
			if !force {
				for _, p := range []string{privPath, pubPath} {
					if _, err := os.Stat(p); err == nil {
						return fmt.Errorf("%s already exists (use --force to overwrite)", p)
					} else if !errors.Is(err, fs.ErrNotExist) {
						return err
					}
				}
			}
			pw, err := readPassword("Enter password for private key: ", true)
			if err != nil {
				return err
			}
			priv, pub, err := keys.GenerateCosignKeyPair(pw)
			if err != nil {
				return err
			}
			if err := keys.WriteFileAtomic(privPath, priv, 0o600); err != nil {
				return err
			}
			if err := keys.WriteFileAtomic(pubPath, pub, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Private key written to %s\nPublic key written to %s\n", filepath.Clean(privPath), filepath.Clean(pubPath))
			return nil
		},
	}
	cmd.Flags().StringVar(&prefix, "output-key-prefix", "cosign", "write PREFIX.key and PREFIX.pub")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite existing key files")
	return cmd
}
