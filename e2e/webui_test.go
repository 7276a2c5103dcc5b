//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/signetproject/signet/internal/registrytest"
)

// TestWebUIInChromium signs three blobs with three identities (one a
// GitHub workflow) and attests an image, then uses the server's search UI
// in headless Chromium the way a person does: types into the search box,
// presses Enter or clicks Search, follows result links, and reads the
// entry pages. Screenshots go to $SIGNET_E2E_ARTIFACTS (default
// e2e/artifacts/webui).
func TestWebUIInChromium(t *testing.T) {
	chromium := installChromium(t)
	artifacts := os.Getenv("SIGNET_E2E_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join("artifacts")
	}
	artifacts = filepath.Join(artifacts, "webui")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		r := runSignet(t, args...)
		if r.err != nil {
			t.Fatalf("%s\n%v", r.out, r.err)
		}
		return r.out
	}
	// Identities unique to this run: the e2e server is shared.
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	alice, bob := "alice-"+suffix+"@example.com", "bob-"+suffix+"@example.com"
	repo := "octo/webui-" + suffix
	type blob struct {
		index  string
		digest string
	}
	signBlob := func(name string, identity ...string) blob {
		t.Helper()
		file := filepath.Join(work, name)
		if err := os.WriteFile(file, []byte(name+" "+suffix), 0o644); err != nil {
			t.Fatal(err)
		}
		bundlePath := file + ".sigstore.json"
		run(append([]string{"sign-blob", file, "--bundle", bundlePath}, identity...)...)
		var b struct {
			VerificationMaterial struct {
				TlogEntries []struct {
					LogIndex string `json:"logIndex"`
				} `json:"tlogEntries"`
			} `json:"verificationMaterial"`
			MessageSignature struct {
				MessageDigest struct {
					Digest []byte `json:"digest"`
				} `json:"messageDigest"`
			} `json:"messageSignature"`
		}
		data, err := os.ReadFile(bundlePath)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &b); err != nil || len(b.VerificationMaterial.TlogEntries) != 1 {
			t.Fatalf("bundle %s: %v", data, err)
		}
		index := b.VerificationMaterial.TlogEntries[0].LogIndex
		if index == "" {
			index = "0" // protojson leaves out zero
		}
		return blob{index: index, digest: fmt.Sprintf("%x", b.MessageSignature.MessageDigest.Digest)}
	}
	a := signBlob("a.txt", "--dev-identity", alice)
	signBlob("b.txt", "--dev-identity", bob)
	token := strings.TrimSpace(lastLine(run("dev", "token", "--github-workflow", repo+"@main")))
	w := signBlob("w.txt", "--identity-token", token)
	host := registrytest.Start(t)
	_, image := registrytest.PushRandom(t, host, "webui/app")
	vuln := filepath.Join(work, "vuln.json")
	if err := os.WriteFile(vuln, []byte(`{"scanner":{"uri":"pkg:github/aquasecurity/trivy","version":"0.50.0"},"result":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// On the Rekor v1 log: Rekor v2 takes an envelope only as a
	// hashedrekord over its PAE, so the server never sees the statement.
	run("attest", image, "--type", "vuln", "--predicate", vuln, "--dev-identity", bob, "--rekor-version", "1")
	imageDigest := image[strings.LastIndex(image, "@")+1:]

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 1000))
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(artifacts, name+".png"), png, 0o644)
		})
	}
	const linksJS = `[...document.querySelectorAll("td a[href^='/entries/']")].map(a => a.getAttribute("href"))`
	// searchFor types q into the search box on the home page and submits
	// with Enter, then returns the result links.
	searchFor := func(name, q string) []string {
		t.Helper()
		err := chromedp.Do(browser,
			chromedp.Navigate(env.serverURL+"/"),
			chromedp.WaitVisible(chromedp.ID("q")),
			chromedp.SendKeys(chromedp.ID("q"), q+"\r"),
			chromedp.WaitVisible(chromedp.ID("results")),
			shot(name+"-results"),
		)
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		links, err := chromedp.Run(browser, chromedp.Evaluate[[]string](linksJS))
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		return links
	}
	// follow clicks the result link href and returns the entry page's
	// path and its fields (dt → dd texts).
	follow := func(name, href string) (string, map[string][]string) {
		t.Helper()
		err := chromedp.Do(browser,
			chromedp.Click(chromedp.CSS(`td a[href="`+href+`"]`)),
			chromedp.WaitVisible(chromedp.CSS("#proof")),
			shot(name+"-entry"),
		)
		if err != nil {
			t.Fatalf("open %s: %v", href, err)
		}
		path, err := chromedp.Run(browser, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		fields, err := chromedp.Run(browser, chromedp.Evaluate[map[string][]string](`(() => { const m = {}; for (const dt of document.querySelectorAll("dt")) { const dd = dt.nextElementSibling; (m[dt.textContent.trim()] ||= []).push(dd ? dd.textContent.trim() : ""); } return m; })()`))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(path, env.serverURL), fields
	}
	want := func(index string) string { return "/entries/v2/" + index }

	// By email: exactly the one entry.
	links := searchFor("email", alice)
	if len(links) != 1 || links[0] != want(a.index) {
		t.Fatalf("search by %s found %v, want [%s]", alice, links, want(a.index))
	}
	if path, f := follow("email", links[0]); path != want(a.index) || first(f["Artifact digest"]) != "sha256:"+a.digest {
		t.Errorf("entry page %s: digest %v", path, f["Artifact digest"])
	}
	// By artifact hash.
	links = searchFor("hash", "sha256:"+w.digest)
	if len(links) != 1 || links[0] != want(w.index) {
		t.Fatalf("search by hash found %v, want [%s]", links, want(w.index))
	}
	path, f := follow("workflow", links[0])
	if path != want(w.index) {
		t.Errorf("followed to %s, want %s", path, want(w.index))
	}
	if got, wantWF := first(f["Workflow"]), "https://github.com/"+repo+"/.github/workflows/release.yml@refs/heads/main"; got != wantWF {
		t.Errorf("workflow = %q, want %q", got, wantWF)
	}
	if got := first(f["Repository"]); got != "https://github.com/"+repo {
		t.Errorf("repository = %q", got)
	}
	// By log index.
	links = searchFor("index", w.index)
	if !contains(links, want(w.index)) {
		t.Fatalf("search by index %s found %v", w.index, links)
	}
	if path, _ := follow("index", want(w.index)); path != want(w.index) {
		t.Errorf("followed to %s", path)
	}
	// By UUID, read from the entry page.
	uuid := first(f["UUID"])
	links = searchFor("uuid", uuid)
	if len(links) != 1 || links[0] != want(w.index) {
		t.Fatalf("search by UUID %s found %v", uuid, links)
	}
	follow("uuid", links[0])
	// By the repository, choosing the kind in the form and clicking Search.
	err := chromedp.Do(browser,
		chromedp.Navigate(env.serverURL+"/"),
		chromedp.SendKeys(chromedp.ID("q"), repo),
		chromedp.SetValue(chromedp.ID("kind"), "identity"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("results")),
		shot("repository-results"),
	)
	var repoLinks []string
	if err == nil {
		repoLinks, err = chromedp.Run(browser, chromedp.Evaluate[[]string](linksJS))
	}
	if err != nil || len(repoLinks) != 1 || repoLinks[0] != want(w.index) {
		t.Errorf("search by repository: %v, %v", repoLinks, err)
	}
	// The image attestation, found by the image digest.
	links = searchFor("attestation", imageDigest)
	if len(links) == 0 {
		t.Fatalf("search by image digest %s found nothing", imageDigest)
	}
	if !strings.HasPrefix(links[0], "/entries/v1/") {
		t.Errorf("attestation found at %v, want the v1 log", links)
	}
	_, f = follow("attestation", links[0])
	if got := first(f["Predicate type"]); got != "https://cosign.sigstore.dev/attestation/vuln/v1" {
		t.Errorf("attestation predicate type = %q (fields %v)", got, f)
	}
	t.Logf("screenshots in %s", artifacts)
}

func installChromium(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("bash", filepath.Join("..", "scripts", "chromium-install.sh")).Output()
	if err != nil {
		t.Fatalf("chromium-install.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
