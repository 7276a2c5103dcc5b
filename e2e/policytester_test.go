//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/policy/catalog"
	"github.com/signetproject/signet/policy/catalog/catalogtest"
)

// policyTester is policy-controller's own `policy-tester` (cmd/tester),
// built by scripts/policy-tester-build.sh on first use, and the module
// source it was built from.
var policyTester struct {
	once     sync.Once
	bin, src string
	err      error
}

func buildPolicyTester(t *testing.T) (bin, src string) {
	t.Helper()
	policyTester.once.Do(func() {
		script, err := filepath.Abs(filepath.Join("..", "scripts", "policy-tester-build.sh"))
		if err != nil {
			policyTester.err = err
			return
		}
		start := time.Now()
		paths, err := runBuildScript(script, "POLICY_TESTER", "POLICY_CONTROLLER_SRC")
		if err != nil {
			policyTester.err = err
			return
		}
		policyTester.bin, policyTester.src = paths["POLICY_TESTER"], paths["POLICY_CONTROLLER_SRC"]
		t.Logf("policy-tester ready in %s", time.Since(start).Round(time.Millisecond))
	})
	if policyTester.err != nil {
		t.Fatalf("build policy-tester: %v", policyTester.err)
	}
	return policyTester.bin, policyTester.src
}

// testerResult is what policy-tester printed and how it exited.
type testerResult struct {
	failed bool
	// Errors and Warnings are its JSON output, printed only on failure.
	Errors   []string `json:"errors"`
	Warnings []string `json:"warnings"`
}

// runPolicyTester runs policy-tester on one image; it fails the test when
// the tester did not get as far as a verdict (an invalid policy, a crash).
func runPolicyTester(t *testing.T, bin string, args ...string) testerResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, "--log-level", "error")...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var r testerResult
	var exit *exec.ExitError
	switch {
	case err == nil:
		return r
	case errors.As(err, &exit) && exit.ExitCode() == 1 && stdout.Len() > 0:
		r.failed = true
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatalf("policy-tester %q: output is not its JSON: %v\n%s\n%s", args, err, stdout.String(), stderr.String())
		}
		return r
	}
	t.Fatalf("policy-tester %q gave no verdict: %v\nstdout: %s\nstderr: %s", args, err, stdout.String(), stderr.String())
	return r
}

// allowUnmatched admits, in policy-tester, the images the catalog policy
// does not match, as signet's --no-match allow does: policy-tester denies
// them otherwise.
const allowUnmatched = `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: zz-allow-unmatched
spec:
  images: [{glob: "**"}]
  authorities: [{static: {action: pass}}]
`

// signetImage is one image of `signet policy test --output json`.
type signetImage struct {
	Image    string   `json:"image"`
	Errors   []string `json:"errors"`
	Warnings []string `json:"warnings"`
}

// TestPolicyTesterCatalog is the catalog's differential test: for every
// catalog policy and every one of its table tests (policy/catalog/testdata),
// the real signet binary (`signet policy test --output json`) and
// policy-controller's own policy-tester decide each image, of the object or
// alone, and must agree on allowed, warned or denied — and both on the
// verdict the table expects. policy-tester only prints warnings next to
// errors, so an image it admits is run again with the policy in enforce
// mode: if that fails, the image was warned about, with that text. Where
// the failure is a CUE or Rego policy's or a static authority's, signet's
// message must contain policy-tester's.
func TestPolicyTesterCatalog(t *testing.T) {
	tester, _ := buildPolicyTester(t)
	fx := catalogtest.Start(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const trustRootName = "signet-e2e"
	trJSON, err := fx.TrustRoot(trustRootName)
	if err != nil {
		t.Fatal(err)
	}
	trustRoot := write("trustroot.json", trJSON)
	trustedRootFile := write("trusted_root.json", fx.TrustedRootJSON)

	all, err := catalog.All()
	if err != nil {
		t.Fatal(err)
	}
	var cases, images, agree int
	for _, e := range all {
		t.Run(e.Name, func(t *testing.T) {
			cf, err := catalogtest.LoadCases(filepath.Join("..", "policy", "catalog"), e.Name, fx)
			if err != nil {
				t.Fatal(err)
			}
			params := map[string]string{}
			for k, v := range cf.Params {
				params[k] = v
			}
			// Keyless authorities: the fixtures' TrustRoot, and no SCTs
			// (signet's CA has no CT log).
			for _, p := range e.Params {
				switch p.Name {
				case "trustRootRef":
					params[p.Name] = trustRootName
				case "insecureIgnoreSCT":
					params[p.Name] = "true"
				}
			}
			render := func(mode string) []byte {
				t.Helper()
				vals := map[string]string{"mode": mode}
				for k, v := range params {
					vals[k] = v
				}
				out, err := e.Render(vals)
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			rendered := render(e.Mode)
			signetPolicy := write(e.Name+"-signet.yaml", append(append(rendered, "---\n"...), trJSON...))
			testerPolicy := write(e.Name+"-tester.yaml", []byte(string(rendered)+"\n---\n"+allowUnmatched))
			testerEnforce := write(e.Name+"-tester-enforce.yaml", []byte(string(render(policy.ModeEnforce))+"\n---\n"+allowUnmatched))

			for i, c := range cf.Cases {
				t.Run(c.Name, func(t *testing.T) {
					cases++
					args := []string{"policy", "test", "--policy", signetPolicy, "--no-match", "allow", "--output", "json", "--trusted-root", trustedRootFile}
					var testerArgs []string
					imgs := c.Images
					if c.Resource != "" {
						res := write(fmt.Sprintf("%s-%d.yaml", e.Name, i), []byte(c.Resource))
						obj, err := policy.ParseObject([]byte(c.Resource))
						if err != nil {
							t.Fatal(err)
						}
						imgs = nil
						for _, img := range obj.Images {
							imgs = append(imgs, img.Image)
						}
						args = append(args, "--resource", res)
						testerArgs = append(testerArgs, "--resource", res)
					} else {
						args = append(args, imgs...)
					}
					cmd := exec.Command(env.signetBin, args...)
					var stdout, stderr bytes.Buffer
					cmd.Stdout, cmd.Stderr = &stdout, &stderr
					runErr := cmd.Run()
					var rep struct {
						Images []signetImage `json:"images"`
					}
					if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || len(rep.Images) != len(imgs) {
						t.Fatalf("signet policy test: %v %v\n%s\n%s", runErr, err, stdout.String(), stderr.String())
					}

					var signetErrs, signetWarns []string
					for j, img := range imgs {
						images++
						s := rep.Images[j]
						signetErrs, signetWarns = append(signetErrs, s.Errors...), append(signetWarns, s.Warnings...)
						sv := catalogtest.VerdictOf(s.Errors, s.Warnings)

						base := append([]string{"--image", img, "--trustroot", trustRoot}, testerArgs...)
						r := runPolicyTester(t, tester, append([]string{"--policy", testerPolicy}, base...)...)
						tv, texts := catalogtest.Denied, r.Errors
						if !r.failed {
							tv, texts = catalogtest.Allowed, nil
							if e.Mode == policy.ModeWarn {
								if w := runPolicyTester(t, tester, append([]string{"--policy", testerEnforce}, base...)...); w.failed {
									tv, texts = catalogtest.Warned, w.Errors
								}
							}
						}
						if sv != tv {
							t.Errorf("%s: signet %s (errors %q, warnings %q), policy-tester %s (%q)", img, sv, s.Errors, s.Warnings, tv, texts)
							continue
						}
						agree++
						// CUE, Rego and static failures: policy-controller's
						// text in signet's.
						mine := strings.Join(append(s.Errors, s.Warnings...), "\n")
						for _, text := range texts {
							text = strings.TrimSuffix(strings.TrimSpace(text), ":")
							pcText := strings.Contains(text, "failed evaluating ") || strings.Contains(text, "disallowed by static policy: ")
							if pcText && !strings.Contains(mine, text) {
								t.Errorf("%s: policy-tester says %q, signet does not:\n%s", img, text, mine)
							}
						}
						if len(texts) > 0 {
							t.Logf("%s %s\n  policy-tester: %q\n  signet: %q", img, tv, texts, mine)
						}
					}
					if got := catalogtest.VerdictOf(signetErrs, signetWarns); got != c.Want {
						t.Errorf("signet's verdict %s, the table's %s", got, c.Want)
					}
					if (runErr != nil) != (c.Want == catalogtest.Denied) {
						t.Errorf("signet policy test exit: %v, want failure only for denials", runErr)
					}
				})
			}
		})
	}
	t.Logf("catalog differential: %d policies, %d cases, %d images, signet and policy-tester agree on %d", len(all), cases, images, agree)
	if cases < 60 {
		t.Errorf("only %d cases ran", cases)
	}
}

// noSuchImage is an image no registry serves: deciding on it fails fast.
const noSuchImage = "127.0.0.1:1/signet-e2e/no-such-image@sha256:0000000000000000000000000000000000000000000000000000000000000000"

// TestPolicyControllerExamplesLoad walks every YAML file with a
// ClusterImagePolicy in policy-controller's module source (examples/ and
// test/, as `go mod download` fetched it for the tester) and checks that
// `signet policy test` loads it exactly when policy-controller's
// policy-tester validates it, and, when both refuse it, says what the
// tester says (knative's field errors: message and field paths).
func TestPolicyControllerExamplesLoad(t *testing.T) {
	tester, src := buildPolicyTester(t)
	dir := t.TempDir()
	var files, valid, invalid int
	for _, top := range []string{"examples", "test"} {
		err := filepath.WalkDir(filepath.Join(src, top), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			// policy-tester refuses files with other kinds (ConfigMaps,
			// TrustRoots) as "unknown type": it gets the policies alone,
			// split as it splits them.
			var cips []string
			for _, doc := range strings.Split(string(data), "\n---\n") {
				var head struct {
					APIVersion string `yaml:"apiVersion"`
					Kind       string `yaml:"kind"`
				}
				if err := yaml.Unmarshal([]byte(doc), &head); err == nil && head.Kind == policy.KindClusterImagePolicy && strings.HasPrefix(head.APIVersion, policy.Group+"/") {
					cips = append(cips, doc)
				}
			}
			if len(cips) == 0 {
				return nil
			}
			files++
			rel, _ := filepath.Rel(src, path)
			t.Run(rel, func(t *testing.T) {
				only := filepath.Join(dir, strings.ReplaceAll(rel, "/", "_"))
				if err := os.WriteFile(only, []byte(strings.Join(cips, "\n---\n")), 0o644); err != nil {
					t.Fatal(err)
				}
				pcErr, pcValid := policyTesterValidates(t, tester, only)
				out, err := exec.Command(env.signetBin, "policy", "test", "--policy", path, "--no-match", "allow",
					"--server", "http://127.0.0.1:1", noSuchImage).CombinedOutput()
				loadErr := strings.Contains(string(out), "signet: "+path+":")
				if err != nil && !loadErr && !strings.Contains(string(out), "images denied") {
					t.Fatalf("signet policy test failed otherwise: %v\n%s", err, out)
				}
				switch {
				case pcValid && loadErr:
					t.Errorf("policy-tester validates it, signet does not load it:\n%s", out)
				case !pcValid && !loadErr:
					t.Errorf("policy-tester refuses it (%s), signet loads it:\n%s", pcErr, out)
				case !pcValid:
					invalid++
					// The tester wraps the validation error as the invalid
					// value of policies[0].path.
					pcErr = strings.TrimPrefix(pcErr, "invalid value: ")
					pcErr = strings.TrimSuffix(pcErr, ": policies[0].path")
					for _, line := range strings.Split(pcErr, "\n") {
						if line = strings.TrimSpace(line); line != "" && !strings.Contains(string(out), line) {
							t.Errorf("policy-tester says %q, signet does not:\n%s", line, out)
						}
					}
				default:
					valid++
				}
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("policy-controller's ClusterImagePolicy files: %d, valid %d and invalid %d for both policy-tester and signet", files, valid, invalid)
	if files < 90 {
		t.Errorf("found %d files with ClusterImagePolicies, want at least 90", files)
	}
}

// policyTesterValidates runs policy-tester on a policy file until it has
// validated it (then it is stopped: what it does with the image does not
// matter) or refused it, and returns its "CIP is invalid" message.
func policyTesterValidates(t *testing.T, tester, file string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tester, "--policy", file, "--image", noSuchImage, "--log-level", "info")
	// Key secretRefs must name the system namespace; policy-controller's
	// e2e cluster runs in cosign-system.
	cmd.Env = append(os.Environ(), "SYSTEM_NAMESPACE=cosign-system")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	validated := false
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "Policy was successfully validated") {
			validated = true
			_ = cmd.Process.Kill()
			break
		}
	}
	_, _ = io.Copy(io.Discard, stderr)
	_ = cmd.Wait()
	if validated {
		return "", true
	}
	_, msg, ok := strings.Cut(log.String(), "CIP is invalid: ")
	if !ok {
		t.Fatalf("policy-tester neither validated nor refused %s:\n%s", file, log.String())
	}
	return strings.TrimSpace(msg), false
}
