//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signetproject/signet/internal/freeport"
	"github.com/signetproject/signet/oci"
)

// These tests prove that signet and real cosign read each other's image
// signatures and attestations, in the layout each cosign version uses:
//
//   - cosign v3.1.3 stores Sigstore bundles as OCI 1.1 referrers (the
//     sha256-<hex> fallback tag on registries without the referrers API);
//     signet signs with --registry-layout referrers for it.
//   - cosign v2.6.5 stores simple-signing layers under sha256-<hex>.sig and
//     DSSE layers under sha256-<hex>.att; signet signs with
//     --registry-layout legacy (and so logs to the Rekor v1 API, the only
//     one v2 verifies).
//
// Each runs on two registries: go-containerregistry's in-process registry
// with the referrers API on (`crane registry serve` serves the same code
// but without the referrers API), and Debian's docker-registry
// (distribution 2.8.2, no referrers API), started by
// $SIGNET_SHARED/e2e/registry-up.sh.
//
// What cosign needs to use signet instead of the public-good instance:
//
//   - v3: --signing-config and --trusted-root from the server; verify takes
//     --trusted-root (which lists signet's CT log: SCTs are checked).
//   - v2: --fulcio-url and --rekor-url (Rekor v1 API) to sign keyless;
//     SIGSTORE_ROOT_FILE (CA chain), SIGSTORE_REKOR_PUBLIC_KEY (Rekor v1
//     key) and SIGSTORE_CT_LOG_PUBLIC_KEY_FILE (CT log key: SCTs are
//     checked) for both signing and verifying; --tlog-upload=false to sign
//     with a key without a log (then signet verifies with
//     --insecure-ignore-tlog).

// imageTrust is the trust material and keys the image tests share.
type imageTrust struct {
	trust
	fullSigningConfig string // signet's /signing_config.json as served: CA, Rekor v2 and v1, TSA
	rekorV1Key        string // PEM public key of signet's Rekor v1 API
	tokenFile         string // dev token for alice@example.com, no trailing newline
	cosignKey         string // cosign generate-key-pair: cosign.key / cosign.pub
	cosignPub         string
	signetKey         string // signet generate-key-pair: signet.key / signet.pub
	signetPub         string
	vuln              string // a vulnerability scan predicate
}

func newImageTrust(t *testing.T, dir string) imageTrust {
	t.Helper()
	m := imageTrust{
		trust:             fetchTrust(t, dir),
		fullSigningConfig: writeFile(t, dir, "signing_config_full.json", httpGet(t, "/signing_config.json")),
		rekorV1Key:        writeFile(t, dir, "rekor-v1.pub", httpGet(t, "/api/v1/log/publicKey")),
		tokenFile:         writeFile(t, dir, "token", []byte(devToken(t, "--email", "alice@example.com"))),
		cosignKey:         filepath.Join(dir, "cosign.key"),
		cosignPub:         filepath.Join(dir, "cosign.pub"),
		signetKey:         filepath.Join(dir, "signet.key"),
		signetPub:         filepath.Join(dir, "signet.pub"),
		vuln: writeFile(t, dir, "vuln.json", []byte(`{"invocation":{"uri":"","event_id":"","builder.id":""},`+
			`"scanner":{"uri":"pkg:github/aquasecurity/trivy@0.50.0","version":"0.50.0","db":{"uri":"","version":""},"result":{"Results":[]}},`+
			`"metadata":{"scanStartedOn":"2026-11-25T00:00:00Z","scanFinishedOn":"2026-11-25T00:01:00Z"}}`)),
	}
	if res := runCosign(t, env.cosignV3, cosignEnv(), "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "cosign")); res.err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", res.err, res.out)
	}
	if res := runSignet(t, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "signet")); res.err != nil {
		t.Fatalf("signet generate-key-pair: %v\n%s", res.err, res.out)
	}
	return m
}

// cosignEnv is what every cosign run gets: an empty key password and no
// prompts.
func cosignEnv(extra ...string) []string {
	return append([]string{"COSIGN_PASSWORD=", "COSIGN_YES=true"}, extra...)
}

// cosignVersion says how one cosign version signs and verifies against
// signet, and which signet layout it reads.
type cosignVersion struct {
	name   string
	bin    func() string
	layout string // signet --registry-layout this version reads
	// Flags and environment to sign with a key, to sign keyless, and to
	// verify (key or keyless) what signet signed.
	signKey, signKeyless, verifyKey, verifyKeyless func(m imageTrust) (args, env []string)
	// signetVerifyKey are the signet verify flags for what this version
	// signed with a key.
	signetVerifyKey []string
}

func cosignVersions() []cosignVersion {
	return []cosignVersion{
		{
			name: "cosign-v3", bin: func() string { return env.cosignV3 }, layout: "referrers",
			signKey: func(m imageTrust) ([]string, []string) {
				// The key replaces the CA; Rekor v2 and the TSA are still used.
				return []string{"--key", m.cosignKey, "--signing-config", m.fullSigningConfig, "--trusted-root", m.trustedRoot}, nil
			},
			signKeyless: func(m imageTrust) ([]string, []string) {
				return []string{"--signing-config", m.fullSigningConfig, "--trusted-root", m.trustedRoot, "--identity-token", m.tokenFile}, nil
			},
			verifyKey: func(m imageTrust) ([]string, []string) {
				return []string{"--trusted-root", m.trustedRoot}, nil
			},
			verifyKeyless: func(m imageTrust) ([]string, []string) {
				return []string{"--trusted-root", m.trustedRoot}, nil
			},
		},
		{
			name: "cosign-v2", bin: func() string { return env.cosignV2 }, layout: "legacy",
			signKey: func(m imageTrust) ([]string, []string) {
				return []string{"--key", m.cosignKey, "--tlog-upload=false"}, nil
			},
			signKeyless: func(m imageTrust) ([]string, []string) {
				return []string{"--fulcio-url", env.serverURL, "--rekor-url", env.serverURL, "--identity-token", m.tokenFile},
					[]string{"SIGSTORE_ROOT_FILE=" + m.chainPEM, "SIGSTORE_REKOR_PUBLIC_KEY=" + m.rekorV1Key, "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=" + m.ctKey}
			},
			verifyKey: func(m imageTrust) ([]string, []string) {
				return nil, []string{"SIGSTORE_REKOR_PUBLIC_KEY=" + m.rekorV1Key}
			},
			verifyKeyless: func(m imageTrust) ([]string, []string) {
				return nil, []string{"SIGSTORE_ROOT_FILE=" + m.chainPEM, "SIGSTORE_REKOR_PUBLIC_KEY=" + m.rekorV1Key, "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=" + m.ctKey}
			},
			signetVerifyKey: []string{"--insecure-ignore-tlog"},
		},
	}
}

// What the tools print when they reject an image for the reason a case
// means (signet: one "rejected" line per signature, then a summary).
const (
	signetWrongKey = `rejected .*signature does not verify`
	signetCopied   = `rejected .*(artifact digest is not a subject of the statement|payload signs sha256:[0-9a-f]{64}, not the image)`
	signetEdited   = `rejected .*signature does not verify`
	signetWrongID  = `rejected .*SAN "alice@example.com", want "bob@example.com"`
	// cosign v3 checks a Rekor v2 entry (whose leaf names the key) before
	// the signature, so a wrong key or changed payload may fail there.
	cosignWrongKey = `invalid signature when validating ASN.1 encoded signature|accepted signatures do not match threshold|` +
		`verifying inclusion: calculated root|comparing public key PEMs`
	cosignCopied = `provided artifact digest does not match any digest in statement|invalid or missing digest in claim`
	cosignEdited = `invalid signature when validating ASN.1 encoded signature|accepted signatures do not match threshold|` +
		`verifying inclusion: calculated root|matching bundle to payload`
)

// TestCosignImages signs and attests random images with cosign (key and
// keyless) and verifies them with signet, and the other way round, for
// each cosign version and registry; then checks both tools reject a wrong
// key, a wrong identity, a signature copied from another image and a
// signed payload changed to name another image.
func TestCosignImages(t *testing.T) {
	m := newImageTrust(t, t.TempDir())
	for _, reg := range []struct {
		name  string
		start func(*testing.T) string
	}{
		{"referrers API", func(t *testing.T) string { return startInProcessRegistry(t) }},
		{"docker-registry", startDockerRegistry},
	} {
		t.Run(reg.name, func(t *testing.T) {
			host := reg.start(t)
			for _, cv := range cosignVersions() {
				t.Run(cv.name, func(t *testing.T) {
					testImageInterop(t, m, host+"/"+cv.name, cv)
					testRecursive(t, m, host+"/"+cv.name, cv)
				})
			}
		})
	}
}

// imageStep is one command and what it must do.
type imageStep struct {
	name string
	run  func() cosignResult
	want string // "" to pass, else a regexp the failure output must match
	out  string // when passing, a string the output must contain
}

func checkSteps(t *testing.T, steps []imageStep) {
	t.Helper()
	for _, s := range steps {
		res := s.run()
		switch {
		case s.want == "" && res.err != nil:
			t.Errorf("%s: failed, want success: %v\n%s", s.name, res.err, res.out)
		case s.want == "" && !strings.Contains(res.printed(), s.out):
			t.Errorf("%s: output lacks %q:\n%s", s.name, s.out, res.out)
		case s.want != "" && res.err == nil:
			t.Errorf("%s: succeeded, want failure matching %q:\n%s", s.name, s.want, res.out)
		case s.want != "" && !regexp.MustCompile(s.want).MatchString(res.printed()):
			t.Errorf("%s: failed for another reason than expected (want output matching %q): %v\n%s", s.name, s.want, res.err, res.out)
		}
	}
}

func testImageInterop(t *testing.T, m imageTrust, repo string, cv cosignVersion) {
	cosign := func(args []string, extraEnv []string) cosignResult {
		return runCosign(t, cv.bin(), cosignEnv(extraEnv...), args...)
	}
	// cosignDo runs `cosign CMD` with the flags of one mode plus more.
	cosignDo := func(cmd string, mode func(imageTrust) ([]string, []string), more ...string) func() cosignResult {
		return func() cosignResult {
			args, extraEnv := mode(m)
			return cosign(append(append([]string{cmd}, args...), more...), extraEnv)
		}
	}
	signet := func(args ...string) func() cosignResult {
		return func() cosignResult { return runSignet(t, args...) }
	}
	alice := []string{"--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", env.oidcIssuer}
	bob := []string{"--certificate-identity", "bob@example.com", "--certificate-oidc-issuer", env.oidcIssuer}
	join := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	keyOf := func(pub string) []string { return []string{"--key", pub} }

	t.Run("cosign signs with a key, signet verifies", func(t *testing.T) {
		img := pushRandomImage(t, repo+"/cosign-key")
		hex := img.DigestStr()[len("sha256:"):]
		checkSteps(t, []imageStep{
			{name: "cosign sign", run: cosignDo("sign", cv.signKey, "-a", "env=prod", img.String())},
			{name: "cosign attest", run: cosignDo("attest", cv.signKey, "--type", "vuln", "--predicate", m.vuln, img.String())},
			{name: "signet verify", run: signet(join([]string{"verify", img.String(), "-a", "env=prod"}, keyOf(m.cosignPub), cv.signetVerifyKey)...), out: hex},
			{name: "signet verify, wrong annotation", run: signet(join([]string{"verify", img.String(), "-a", "env=dev"}, keyOf(m.cosignPub), cv.signetVerifyKey)...), want: `missing or incorrect annotation`},
			{name: "signet verify-attestation", run: signet(join([]string{"verify-attestation", "--type", "vuln", img.String()}, keyOf(m.cosignPub), cv.signetVerifyKey)...), out: "trivy"},
			{name: "signet verify, wrong key", run: signet(join([]string{"verify", img.String()}, keyOf(m.signetPub), cv.signetVerifyKey)...), want: signetWrongKey},
			{name: "signet verify-attestation, wrong key", run: signet(join([]string{"verify-attestation", "--type", "vuln", img.String()}, keyOf(m.signetPub), cv.signetVerifyKey)...), want: signetWrongKey},
			{name: "cosign verify, wrong key", run: cosignDo("verify", cv.verifyKey, "--key", m.signetPub, "--insecure-ignore-tlog", img.String()), want: cosignWrongKey},
		})

		// Tampering by someone who can push to the repository.
		checkTampering(t, img, repo+"/cosign-key", func(d name.Digest) (func() cosignResult, func() cosignResult) {
			return signet(join([]string{"verify", d.String()}, keyOf(m.cosignPub), cv.signetVerifyKey)...),
				cosignDo("verify", cv.verifyKey, "--key", m.cosignPub, "--insecure-ignore-tlog", d.String())
		})
	})

	t.Run("signet signs with a key, cosign verifies", func(t *testing.T) {
		img := pushRandomImage(t, repo+"/signet-key")
		hex := img.DigestStr()[len("sha256:"):]
		layout := []string{"--registry-layout", cv.layout}
		checkSteps(t, []imageStep{
			{name: "signet sign", run: signet(join([]string{"sign", "--key", m.signetKey, "-a", "env=prod", img.String()}, layout)...), out: "Signed"},
			{name: "signet attest", run: signet(join([]string{"attest", "--key", m.signetKey, "--type", "vuln", "--predicate", m.vuln, img.String()}, layout)...), out: "Attested"},
			{name: "cosign verify", run: cosignDo("verify", cv.verifyKey, "--key", m.signetPub, "-a", "env=prod", img.String()), out: hex},
			{name: "cosign verify-attestation", run: cosignDo("verify-attestation", cv.verifyKey, "--key", m.signetPub, "--type", "vuln", img.String()), out: "payload"},
			{name: "cosign verify, wrong annotation", run: cosignDo("verify", cv.verifyKey, "--key", m.signetPub, "-a", "env=dev", img.String()), want: `missing or incorrect annotation`},
			{name: "cosign verify, wrong key", run: cosignDo("verify", cv.verifyKey, "--key", m.cosignPub, img.String()), want: cosignWrongKey},
			{name: "cosign verify-attestation, wrong key", run: cosignDo("verify-attestation", cv.verifyKey, "--key", m.cosignPub, "--type", "vuln", img.String()), want: cosignWrongKey},
			{name: "signet verify, wrong key", run: signet("verify", "--key", m.cosignPub, img.String()), want: signetWrongKey},
		})

		checkTampering(t, img, repo+"/signet-key", func(d name.Digest) (func() cosignResult, func() cosignResult) {
			return signet("verify", "--key", m.signetPub, d.String()),
				cosignDo("verify", cv.verifyKey, "--key", m.signetPub, d.String())
		})
	})

	t.Run("cosign signs keyless, signet verifies", func(t *testing.T) {
		img := pushRandomImage(t, repo+"/cosign-keyless")
		checkSteps(t, []imageStep{
			{name: "cosign sign", run: cosignDo("sign", cv.signKeyless, img.String())},
			{name: "cosign attest", run: cosignDo("attest", cv.signKeyless, "--type", "vuln", "--predicate", m.vuln, img.String())},
			{name: "signet verify", run: signet(join([]string{"verify", img.String()}, alice)...), out: `"identity":"alice@example.com"`},
			{name: "signet verify-attestation", run: signet(join([]string{"verify-attestation", "--type", "vuln", img.String()}, alice)...), out: "trivy"},
			{name: "signet verify, wrong identity", run: signet(join([]string{"verify", img.String()}, bob)...), want: signetWrongID},
			{name: "signet verify-attestation, wrong identity", run: signet(join([]string{"verify-attestation", "--type", "vuln", img.String()}, bob)...), want: signetWrongID},
			{name: "cosign verify, wrong identity", run: cosignDo("verify", cv.verifyKeyless, join(bob, []string{img.String()})...), want: wrongSAN},
		})
		if cv.layout == "legacy" {
			checkDefaultPayload(t, img)
		}
	})

	t.Run("signet signs keyless, cosign verifies", func(t *testing.T) {
		img := pushRandomImage(t, repo+"/signet-keyless")
		layout := []string{"--registry-layout", cv.layout}
		checkSteps(t, []imageStep{
			{name: "signet sign", run: signet(join([]string{"sign", "--identity-token", m.tokenFile, img.String()}, layout)...), out: "Signed"},
			{name: "signet attest", run: signet(join([]string{"attest", "--identity-token", m.tokenFile, "--type", "vuln", "--predicate", m.vuln, img.String()}, layout)...), out: "Attested"},
			{name: "cosign verify", run: cosignDo("verify", cv.verifyKeyless, join(alice, []string{img.String()})...), out: img.DigestStr()},
			{name: "cosign verify-attestation", run: cosignDo("verify-attestation", cv.verifyKeyless, join(alice, []string{"--type", "vuln", img.String()})...), out: "payload"},
			{name: "cosign verify, wrong identity", run: cosignDo("verify", cv.verifyKeyless, join(bob, []string{img.String()})...), want: wrongSAN},
			{name: "cosign verify-attestation, wrong identity", run: cosignDo("verify-attestation", cv.verifyKeyless, join(bob, []string{"--type", "vuln", img.String()})...), want: wrongSAN},
			{name: "signet verify, wrong identity", run: signet(join([]string{"verify", img.String()}, bob)...), want: signetWrongID},
		})
	})
}

// checkDefaultPayload checks that the signature layer cosign wrote for img
// holds the simple-signing payload signet predicts without reading the
// blob (oci's admission fast path): the same bytes as
// oci.SimpleSigning{repository, digest}.Marshal.
func checkDefaultPayload(t *testing.T, img name.Digest) {
	t.Helper()
	tag := img.Context().Tag(strings.Replace(img.DigestStr(), ":", "-", 1) + ".sig")
	sig, err := remote.Image(tag)
	if err != nil {
		t.Fatalf("read %s: %v", tag, err)
	}
	m, err := sig.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	want, err := (&oci.SimpleSigning{DockerReference: img.Context().Name(), ManifestDigest: img.DigestStr()}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	h, _, _ := v1.SHA256(bytes.NewReader(want))
	var got []string
	for _, l := range m.Layers {
		got = append(got, fmt.Sprintf("%s (%d bytes)", l.Digest, l.Size))
	}
	if len(m.Layers) != 1 || m.Layers[0].Digest != h || m.Layers[0].Size != int64(len(want)) {
		t.Errorf("cosign's signature layers %v; want one, %s (%d bytes): %s", got, h, len(want), want)
	}
}

// testRecursive signs a multi-platform index and its images with one
// tool's --recursive and verifies each with the other.
func testRecursive(t *testing.T, m imageTrust, repo string, cv cosignVersion) {
	t.Run("signet sign --recursive, cosign verifies each platform", func(t *testing.T) {
		idx, children := pushRandomIndex(t, repo+"/signet-recursive")
		if res := runSignet(t, "sign", idx.String(), "--recursive", "--key", m.signetKey, "--registry-layout", cv.layout); res.err != nil {
			t.Fatalf("%v\n%s", res.err, res.out)
		}
		args, extraEnv := cv.verifyKey(m)
		for _, img := range append([]name.Digest{idx}, children...) {
			res := runCosign(t, cv.bin(), cosignEnv(extraEnv...), append(append([]string{"verify"}, args...), "--key", m.signetPub, img.String())...)
			if res.err != nil || !strings.Contains(res.printed(), img.DigestStr()) {
				t.Errorf("cosign verify %s: %v\n%s", img, res.err, res.out)
			}
		}
	})
	t.Run("cosign sign --recursive, signet verifies each platform", func(t *testing.T) {
		idx, children := pushRandomIndex(t, repo+"/cosign-recursive")
		args, extraEnv := cv.signKey(m)
		if res := runCosign(t, cv.bin(), cosignEnv(extraEnv...), append(append([]string{"sign", "--recursive"}, args...), idx.String())...); res.err != nil {
			t.Fatalf("%v\n%s", res.err, res.out)
		}
		for _, img := range append([]name.Digest{idx}, children...) {
			res := runSignet(t, append([]string{"verify", img.String(), "--key", m.cosignPub}, cv.signetVerifyKey...)...)
			if res.err != nil || !strings.Contains(res.printed(), img.DigestStr()[len("sha256:"):]) {
				t.Errorf("signet verify %s: %v\n%s", img, res.err, res.out)
			}
		}
	})
}

// pushRandomIndex pushes a random three-platform image index and returns
// its digest reference and its images'.
func pushRandomIndex(t *testing.T, repo string) (name.Digest, []name.Digest) {
	t.Helper()
	idx, err := random.Index(256, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(repo + ":" + d.Hex[:12])
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("push %s: %v", tag, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var children []name.Digest
	for _, c := range im.Manifests {
		children = append(children, tag.Context().Digest(c.Digest.String()))
	}
	return tag.Context().Digest(d.String()), children
}

// runSignet runs the signet binary against the e2e server.
func runSignet(t testing.TB, args ...string) cosignResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, env.signetBin, args...)
	cmd.Env = append(os.Environ(), "SIGNET_SERVER="+env.serverURL, "COSIGN_PASSWORD=", "SIGNET_PASSWORD=", "SIGSTORE_ID_TOKEN=")
	out, err := cmd.CombinedOutput()
	return cosignResult{out: fmt.Sprintf("$ signet %s\n%s", strings.Join(args, " "), out), err: err, cpu: cpuTime(cmd)}
}

// startInProcessRegistry serves go-containerregistry's registry with the
// referrers API on 127.0.0.1 for the test's lifetime.
func startInProcessRegistry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// startDockerRegistry runs Debian's docker-registry with
// $SIGNET_SHARED/e2e/registry-up.sh and stops it when the test ends.
func startDockerRegistry(t *testing.T) string {
	t.Helper()
	scripts := env.scripts
	dir := t.TempDir()
	port := strconv.Itoa(freeport.Get(t))
	if out, err := exec.Command("bash", filepath.Join(scripts, "registry-up.sh"), dir, port).CombinedOutput(); err != nil {
		t.Fatalf("registry-up.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("bash", filepath.Join(scripts, "registry-down.sh"), dir).CombinedOutput(); err != nil {
			t.Errorf("registry-down.sh: %v\n%s", err, out)
		}
	})
	return "127.0.0.1:" + port
}

// pushRandomImage pushes a random one-layer image to repo, tagged with its
// digest's first characters, and returns its digest reference.
func pushRandomImage(t testing.TB, repo string) name.Digest {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(repo + ":" + d.Hex[:12])
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("push %s: %v", tag, err)
	}
	return tag.Context().Digest(d.String())
}

// checkTampering copies img's signatures to another image of repo, and
// to one more with the signed payload edited to name that image, and
// checks that both verifiers (from verify, for signet and cosign) reject
// each with the expected reason.
func checkTampering(t *testing.T, img name.Digest, repo string, verify func(name.Digest) (signet, cosign func() cosignResult)) {
	t.Helper()
	hex := img.DigestStr()[len("sha256:"):]
	other := pushRandomImage(t, repo)
	copySignatures(t, img, other, nil)
	edited := pushRandomImage(t, repo)
	copySignatures(t, img, edited, func(p []byte) []byte {
		return bytes.ReplaceAll(p, []byte(hex), []byte(edited.DigestStr()[len("sha256:"):]))
	})
	for _, c := range []struct {
		name                   string
		img                    name.Digest
		signetWant, cosignWant string
	}{
		{"signature copied from another image", other, signetCopied, cosignCopied},
		{"signed payload changed to name the image", edited, signetEdited, cosignEdited},
	} {
		signet, cosign := verify(c.img)
		checkSteps(t, []imageStep{
			{name: "signet verify, " + c.name, run: signet, want: c.signetWant},
			{name: "cosign verify, " + c.name, run: cosign, want: c.cosignWant},
		})
	}
}

// copySignatures attaches the image signatures of from to to, as anyone
// who can push to the repository could: the legacy sha256-<hex>.sig image
// under to's tag, and each signature referrer (predicate type
// https://sigstore.dev/cosign/sign/v1) rewritten with to as its subject.
// edit, when not nil, changes the signed payload on the way (the
// simple-signing JSON, or the DSSE payload inside a bundle) and keeps the
// signature.
func copySignatures(t *testing.T, from, to name.Digest, edit func([]byte) []byte) {
	t.Helper()
	ctx := remote.WithContext(t.Context())
	copied := 0

	sigTag := func(d name.Digest) name.Tag {
		return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
	}
	sigs, err := remote.Image(sigTag(from), ctx)
	var terr *transport.Error
	switch {
	case errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound:
	case err != nil:
		t.Fatal(err)
	default:
		if edit != nil {
			sigs = editLegacySignatures(t, sigs, edit)
		}
		if err := remote.Write(sigTag(to), sigs, ctx); err != nil {
			t.Fatal(err)
		}
		copied++
	}

	idx, err := remote.Referrers(from, ctx)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	subject, err := remote.Head(to, ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		desc, err := remote.Get(from.Context().Digest(d.Digest.String()), ctx)
		if err != nil {
			t.Fatal(err)
		}
		var mf v1.Manifest
		if err := json.Unmarshal(desc.Manifest, &mf); err != nil {
			t.Fatal(err)
		}
		if mf.Annotations["dev.sigstore.bundle.predicateType"] != "https://sigstore.dev/cosign/sign/v1" || len(mf.Layers) != 1 {
			continue
		}
		if edit != nil {
			data := readBlob(t, from.Context(), mf.Layers[0].Digest)
			l := static.NewLayer(editBundlePayload(t, data, edit), mf.Layers[0].MediaType)
			if err := remote.WriteLayer(to.Context(), l, ctx); err != nil {
				t.Fatal(err)
			}
			mf.Layers[0].Digest, _ = l.Digest()
			mf.Layers[0].Size, _ = l.Size()
		}
		mf.Subject = &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
		raw, err := json.Marshal(mf)
		if err != nil {
			t.Fatal(err)
		}
		h, _, _ := v1.SHA256(bytes.NewReader(raw))
		// go-containerregistry adds it to the fallback tag when the registry
		// has no referrers API.
		if err := remote.Put(to.Context().Digest(h.String()), rawImageManifest(raw), ctx); err != nil {
			t.Fatal(err)
		}
		copied++
	}
	if copied == 0 {
		t.Fatalf("%s has no signatures to copy", from)
	}
}

// rawImageManifest is an OCI image manifest to put as is.
type rawImageManifest []byte

func (r rawImageManifest) RawManifest() ([]byte, error) { return r, nil }
func (r rawImageManifest) MediaType() (types.MediaType, error) {
	return types.OCIManifestSchema1, nil
}

// editLegacySignatures rebuilds a .sig image with every layer's payload
// edited and the annotations (signature, certificate, …) kept.
func editLegacySignatures(t *testing.T, sigs v1.Image, edit func([]byte) []byte) v1.Image {
	t.Helper()
	mf, err := sigs.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := sigs.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for i, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out, err = mutate.Append(out, mutate.Addendum{
			Layer:       static.NewLayer(edit(data), mf.Layers[i].MediaType),
			Annotations: mf.Layers[i].Annotations,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// editBundlePayload edits the DSSE payload of a Sigstore bundle (JSON).
func editBundlePayload(t *testing.T, bundleJSON []byte, edit func([]byte) []byte) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(bundleJSON, &b); err != nil {
		t.Fatal(err)
	}
	env, ok := b["dsseEnvelope"].(map[string]any)
	if !ok {
		t.Fatalf("bundle has no DSSE envelope:\n%s", bundleJSON)
	}
	payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	env["payload"] = base64.StdEncoding.EncodeToString(edit(payload))
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readBlob(t *testing.T, repo name.Repository, h v1.Hash) []byte {
	t.Helper()
	l, err := remote.Layer(repo.Digest(h.String()), remote.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
