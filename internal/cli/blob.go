package cli

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
	"github.com/signetproject/signet/verify"
)

// signRequest is everything sign-blob and conformance sign-bundle need.
type signRequest struct {
	artifact      string
	bundleOut     string
	sigOut        string // sign-blob --output-signature
	certOut       string // sign-blob --output-certificate
	server        string
	signingConfig string
	tokens        tokenFlags
	keyPath       string
	inToto        bool
	rekorVersion  uint32
	tlogUpload    bool
}

func (r signRequest) run(ctx context.Context, stderr io.Writer) error {
	opts, err := r.options(ctx, stderr)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(r.artifact)
	if err != nil {
		return fmt.Errorf("read artifact: %w", err)
	}
	b, err := signContent(ctx, data, r.inToto, opts)
	if err != nil {
		return err
	}
	if r.bundleOut != "" {
		out, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(b)
		if err != nil {
			return err
		}
		if err := keys.WriteFileAtomic(r.bundleOut, out, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "Wrote bundle to %s\n", r.bundleOut)
	}
	return r.writeParts(b, stderr)
}

// writeParts writes the signature (base64, as cosign does) and the
// certificate (PEM) on their own, for --output-signature and
// --output-certificate.
func (r signRequest) writeParts(b *protobundle.Bundle, stderr io.Writer) error {
	if r.sigOut != "" {
		sig := b.GetMessageSignature().GetSignature()
		if env := b.GetDsseEnvelope(); env != nil && len(env.GetSignatures()) > 0 {
			sig = env.GetSignatures()[0].GetSig()
		}
		if err := keys.WriteFileAtomic(r.sigOut, []byte(base64.StdEncoding.EncodeToString(sig)), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "Wrote signature to %s\n", r.sigOut)
	}
	if r.certOut != "" {
		der := b.GetVerificationMaterial().GetCertificate().GetRawBytes()
		if der == nil {
			return errors.New("--output-certificate: signed with a key, so there is no certificate")
		}
		if err := keys.WriteFileAtomic(r.certOut, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "Wrote certificate to %s\n", r.certOut)
	}
	return nil
}

// options resolves the signing services, key or token into sign.Options.
func (r signRequest) options(ctx context.Context, stderr io.Writer) (sign.Options, error) {
	sc, err := loadSigningConfig(r.signingConfig, r.server)
	if err != nil {
		return sign.Options{}, err
	}
	svc, err := sign.SelectServices(sc, time.Now(), httpClient, r.rekorVersion)
	if err != nil {
		return sign.Options{}, err
	}
	opts := sign.Options{Logs: svc.Logs, TSAs: svc.TSAs}
	if !r.tlogUpload {
		if r.keyPath == "" {
			return sign.Options{}, errors.New("--tlog-upload=false needs --key: a keyless certificate is valid for minutes, " +
				"and verifiers accept it only with a log entry that proves when it was used")
		}
		fmt.Fprintln(stderr, "WARNING: --tlog-upload=false: the signature is not logged; verifiers need --insecure-ignore-tlog to accept it")
		opts.Logs, opts.UnsafeNoTlog = nil, true
	}
	if r.keyPath != "" {
		if opts.Key, err = loadPrivateKey(r.keyPath); err != nil {
			return sign.Options{}, err
		}
		return opts, nil
	}
	if svc.CA == nil {
		return sign.Options{}, errors.New("keyless signing needs a CA, and the signing config lists none (or pass --key)")
	}
	opts.CA = svc.CA
	if opts.IDToken, err = r.tokens.resolve(ctx, svc.OIDCURL, stderr); err != nil {
		return sign.Options{}, err
	}
	return opts, nil
}

func signContent(ctx context.Context, data []byte, inToto bool, opts sign.Options) (*protobundle.Bundle, error) {
	if !inToto {
		return sign.Blob(ctx, bytes.NewReader(data), opts)
	}
	var statement struct {
		Type string `json:"_type"`
	}
	if err := json.Unmarshal(data, &statement); err != nil || !strings.HasPrefix(statement.Type, "https://in-toto.io/Statement/") {
		return nil, errors.New("--in-toto: the file is not an in-toto statement (JSON with _type https://in-toto.io/Statement/v1)")
	}
	return sign.DSSE(ctx, sign.InTotoPayloadType, data, opts)
}

// isDevIssuer reports whether url is a signet dev issuer (its discovery
// document says so).
func isDevIssuer(url string) bool {
	resp, err := httpClient.Get(strings.TrimRight(url, "/") + "/.well-known/openid-configuration")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var doc struct {
		Dev bool `json:"signet_insecure_dev_issuer"`
	}
	return resp.StatusCode == http.StatusOK && json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc) == nil && doc.Dev
}

func loadPrivateKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(data, []byte("ENCRYPTED")) {
		pw, err := readPassword("Enter password for private key: ", false)
		if err != nil {
			return nil, err
		}
		return keys.DecryptCosignKey(data, pw)
	}
	return keys.ParsePrivateKeyPEM(data)
}

func newSignBlobCmd() *cobra.Command {
	var r signRequest
	cmd := &cobra.Command{
		Use:   "sign-blob FILE (--bundle OUT | --output-signature SIG)",
		Short: "Sign a file into a Sigstore bundle (keyless or with a key)",
		Long: `Sign a file and write a Sigstore bundle (v0.3).

Keyless (default): an ephemeral key, a certificate from the CA for your OIDC
identity, a transparency log entry and a timestamp, all from the services in the
signing config (--server URL fetches it from a signet server; cosign's --fulcio-url,
--rekor-url and --timestamp-server-url are what a signing config lists).

` + tokenSourcesHelp + `

With --key: sign with a private key (cosign's encrypted format or PKCS#8 PEM; the
password comes from COSIGN_PASSWORD / SIGNET_PASSWORD or a prompt);
--tlog-upload=false then skips the transparency log.

--output-signature and --output-certificate write the signature and certificate on
their own, as cosign does; signet verifies bundles only (verify-blob --bundle), so keep
the bundle where you can.`,
		Example: `  signet sign-blob release.tar.gz --bundle release.sigstore.json --server http://127.0.0.1:8080
  signet sign-blob statement.json --in-toto --bundle att.sigstore.json --key cosign.key --server $SIGNET_SERVER`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r.artifact = args[0]
			return r.run(cmd.Context(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&r.bundleOut, "bundle", "", "write the Sigstore bundle to this file")
	f.StringVar(&r.sigOut, "output-signature", "", "also write the signature (base64) to this file, as cosign does")
	f.StringVar(&r.certOut, "output-certificate", "", "also write the signing certificate (PEM) to this file (keyless only)")
	f.StringVar(&r.server, "server", defaultServer(), "signet server URL whose signing config to use (env SIGNET_SERVER)")
	f.StringVar(&r.signingConfig, "signing-config", "", "signing_config.json to use instead of the server's")
	f.StringVar(&r.keyPath, "key", "", "sign with this private key instead of keyless")
	f.BoolVar(&r.inToto, "in-toto", false, "FILE is an in-toto statement: sign it as a DSSE envelope")
	r.tokens.add(cmd)
	f.Uint32Var(&r.rekorVersion, "rekor-version", 2, "transparency log API: 2 (Rekor v2) or 1 (Rekor v1, for older verifiers)")
	addUploadFlags(cmd, &r)
	cmd.MarkFlagsOneRequired("bundle", "output-signature")
	return cmd
}

// addUploadFlags adds cosign's --tlog-upload and --yes to a signing command.
func addUploadFlags(cmd *cobra.Command, r *signRequest) {
	f := cmd.Flags()
	f.BoolVar(&r.tlogUpload, "tlog-upload", true, "record the signature in the transparency log; false only with --key (verifiers then need --insecure-ignore-tlog)")
	f.BoolP("yes", "y", false, "accepted for cosign's scripts; signet never asks before it logs (the log is public: what you sign is published)")
}

// verifyRequest is everything verify-blob and conformance verify-bundle need.
type verifyRequest struct {
	artifact    string
	bundlePath  string
	trustedRoot string
	server      string
	keyPath     string
	identity    verify.Identity
	// requireSCT makes keyless certificates need a verified SCT from a CT
	// log of the trusted root, as cosign does (verify-blob, verify,
	// verify-attestation); ignoreSCT (--insecure-ignore-sct) turns that off.
	// Without either, SCTs are checked when the trusted root lists CT logs,
	// as sigstore-go does (conformance verify-bundle).
	requireSCT, ignoreSCT bool
	// ignoreTlog (--insecure-ignore-tlog) accepts bundles without log
	// entries, as cosign verify-blob does for --tlog-upload=false.
	ignoreTlog bool
	tuf        tufFlags
}

// trust returns the trusted root: through TUF (--tuf-mirror/--tuf-root),
// from --trusted-root, or the server's.
func (r verifyRequest) trust() (*trustroot.TrustedRoot, error) {
	tr, err := r.tuf.trustedRoot()
	if tr != nil || err != nil {
		return tr, err
	}
	return loadTrustedRoot(r.trustedRoot, r.server)
}

// options returns the verification options: the defaults with the SCT
// requirement applied.
func (r verifyRequest) options(o verify.Options) verify.Options {
	switch {
	case r.ignoreSCT:
		o.UnsafeSkipSCT = true
	case r.requireSCT:
		o.SCTThreshold = 1
	}
	return o
}

// addSCTFlag adds --insecure-ignore-sct and makes SCTs required otherwise.
func (r *verifyRequest) addSCTFlag(cmd *cobra.Command) {
	r.requireSCT = true
	cmd.Flags().BoolVar(&r.ignoreSCT, "insecure-ignore-sct", false, "accept keyless certificates without a verified SCT from a CT log in the trusted root")
}

func (r verifyRequest) run(stdout io.Writer) error {
	// A key without log entries needs no trust material (as cosign
	// verify-blob --key --insecure-ignore-tlog): no server to ask.
	tr := &trustroot.TrustedRoot{}
	if !r.ignoreTlog || r.keyPath == "" || r.trustedRoot != "" || r.tuf.mirror != "" {
		var err error
		if tr, err = r.trust(); err != nil {
			return err
		}
	}
	b, err := bundle.ReadFile(r.bundlePath)
	if err != nil {
		return err
	}
	art, err := artifactArg(r.artifact)
	if err != nil {
		return err
	}
	if c, ok := art.Reader.(io.Closer); ok {
		defer c.Close()
	}
	policy, err := r.policy()
	if err != nil {
		return err
	}
	opts := verify.DefaultOptions()
	if r.ignoreTlog {
		opts = ignoreTlogOptions(policy.Key != nil)
	}
	v, err := verify.New(tr, r.options(opts))
	if err != nil {
		return err
	}
	res, err := v.Verify(b, art, policy)
	if err != nil {
		return fmt.Errorf("verification failed: %w", err)
	}
	printResult(stdout, res)
	return nil
}

// ignoreTlogOptions are the verification options of --insecure-ignore-tlog.
func ignoreTlogOptions(key bool) verify.Options {
	if key {
		// As cosign: a key has no validity window, so without log entries
		// the signature is checked at the current time.
		return verify.Options{UseCurrentTime: true}
	}
	// A certificate still needs a verified time inside its validity.
	return verify.Options{ObserverTimestampThreshold: 1}
}

// policy builds the verification policy from --key or the identity flags.
func (r verifyRequest) policy() (verify.Policy, error) {
	if r.keyPath != "" {
		data, err := os.ReadFile(r.keyPath)
		if err != nil {
			return verify.Policy{}, err
		}
		pub, err := keys.LoadPublicKey(data)
		if err != nil {
			return verify.Policy{}, fmt.Errorf("--key %s: %w", r.keyPath, err)
		}
		return verify.Policy{Key: &verify.TrustedKey{PublicKey: pub}}, nil
	}
	id := r.identity
	if id.SAN == "" && id.SANRegexp == "" {
		return verify.Policy{}, errors.New("say whose signature to accept: --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp], or --key")
	}
	if id.Issuer == "" && id.IssuerRegexp == "" {
		return verify.Policy{}, errors.New("--certificate-oidc-issuer or --certificate-oidc-issuer-regexp is required with a certificate identity")
	}
	return verify.Policy{Identities: []verify.Identity{id}}, nil
}

// artifactArg opens FILE, or takes "sha256:<hex>" as the artifact digest.
func artifactArg(arg string) (verify.Artifact, error) {
	if hexDigest, ok := strings.CutPrefix(arg, "sha256:"); ok {
		d, err := hex.DecodeString(hexDigest)
		if err != nil || len(d) != 32 {
			return verify.Artifact{}, fmt.Errorf("%q is not sha256:<64 hex digits>", arg)
		}
		return verify.Artifact{Digest: d, DigestAlgorithm: crypto.SHA256}, nil
	}
	f, err := os.Open(arg)
	if err != nil {
		return verify.Artifact{}, fmt.Errorf("open artifact: %w", err)
	}
	return verify.Artifact{Reader: f}, nil
}

func printResult(w io.Writer, res *verify.Result) {
	fmt.Fprintln(w, "Verified OK")
	if c := res.Certificate; c != nil {
		fmt.Fprintf(w, "  identity: %s\n  issuer:   %s\n", c.SAN, c.Issuer)
	} else if res.KeyHint != "" {
		fmt.Fprintf(w, "  key:      %s\n", res.KeyHint)
	}
	for _, ts := range res.Timestamps {
		fmt.Fprintf(w, "  time:     %s (%v %s)\n", ts.Time.UTC().Format(time.RFC3339), ts.Kind, ts.URI)
	}
	for _, e := range res.TlogEntries {
		fmt.Fprintf(w, "  tlog:     index %d in log %x\n", e.LogIndex, e.LogID)
	}
}

func addIdentityFlags(cmd *cobra.Command, id *verify.Identity) {
	f := cmd.Flags()
	f.StringVar(&id.SAN, "certificate-identity", "", "exact identity (email, URI) of the signing certificate")
	f.StringVar(&id.SANRegexp, "certificate-identity-regexp", "", "regular expression (unanchored) for the identity")
	f.StringVar(&id.Issuer, "certificate-oidc-issuer", "", "exact OIDC issuer of the signing certificate")
	f.StringVar(&id.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "regular expression (unanchored) for the OIDC issuer")
	f.StringVar(&id.GitHubWorkflowRepository, "certificate-github-workflow-repository", "", "required GitHub repository (owner/repo)")
	f.StringVar(&id.GitHubWorkflowRef, "certificate-github-workflow-ref", "", "required git ref (refs/heads/main)")
	f.StringVar(&id.GitHubWorkflowTrigger, "certificate-github-workflow-trigger", "", "required workflow trigger (push, …)")
	f.StringVar(&id.GitHubWorkflowSHA, "certificate-github-workflow-sha", "", "required commit SHA")
	f.StringVar(&id.GitHubWorkflowName, "certificate-github-workflow-name", "", "required workflow name")
}

func newVerifyBlobCmd() *cobra.Command {
	var r verifyRequest
	cmd := &cobra.Command{
		Use:   "verify-blob FILE|sha256:DIGEST --bundle B",
		Short: "Verify a file against a Sigstore bundle",
		Long: `Verify that a Sigstore bundle signs FILE (or the given SHA-256 digest) and was made by
the expected identity (or key), against a trusted root: signature, certificate chain at
the signing time, RFC 3161 timestamps and transparency log entries, then identity.

Exit status 0 only when everything verifies; otherwise one line says which check
failed and why.

Unlike cosign, signet verifies bundles only: there is no --signature/--certificate
pair (cosign sign-blob --bundle, and signet sign-blob, write bundles), and the trust
material is a trusted root (--trusted-root, --server or TUF), not --certificate-chain
or --rekor-url.`,
		Example: `  signet verify-blob release.tar.gz --bundle release.sigstore.json --server http://127.0.0.1:8080 \
    --certificate-identity alice@example.com --certificate-oidc-issuer http://127.0.0.1:8080/oidc
  signet verify-blob sha256:6ae8a7… --bundle b.json --trusted-root trusted_root.json --key cosign.pub`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r.artifact = args[0]
			if r.trustedRoot != "" && cmd.Flags().Changed("server") {
				return errors.New("give --trusted-root or --server, not both")
			}
			if r.trustedRoot != "" {
				r.server = ""
			}
			return r.run(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&r.bundlePath, "bundle", "", "the Sigstore bundle (required)")
	f.StringVar(&r.trustedRoot, "trusted-root", "", "trusted_root.json to verify against")
	f.StringVar(&r.server, "server", defaultServer(), "signet server whose trusted root to fetch when --trusted-root is not given")
	f.StringVar(&r.keyPath, "key", "", "public key (PEM) for key-signed bundles")
	f.BoolVar(&r.ignoreTlog, "insecure-ignore-tlog", false, "accept bundles without transparency log entries (signed with --tlog-upload=false); with --key checked at the current time")
	addIdentityFlags(cmd, &r.identity)
	r.addSCTFlag(cmd)
	r.tuf.add(cmd)
	_ = cmd.MarkFlagRequired("bundle")
	return cmd
}
