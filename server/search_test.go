package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"golang.org/x/net/html"

	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/server"
	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/sign"
	"github.com/signetproject/signet/trustroot"
)

// page is a fetched and parsed HTML page.
type page struct {
	status int
	header http.Header
	body   []byte
	doc    *html.Node
}

func fetchPage(t *testing.T, u string) *page {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("parse %s: %v", u, err)
	}
	return &page{status: resp.StatusCode, header: resp.Header, body: buf.Bytes(), doc: doc}
}

// find returns the elements named tag for which match (nil: all) holds.
func (p *page) find(tag string, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for n := range p.doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == tag && (match == nil || match(n)) {
			out = append(out, n)
		}
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// text is the text content of n.
func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	if n.Type == html.TextNode {
		b.WriteString(n.Data)
	}
	return b.String()
}

// resultLinks returns the entry links of a results page, in order.
func (p *page) resultLinks() []string {
	var out []string
	for _, td := range p.find("td", nil) {
		for a := range td.Descendants() {
			if a.Type == html.ElementNode && a.Data == "a" && strings.HasPrefix(attr(a, "href"), "/entries/") {
				out = append(out, attr(a, "href"))
			}
		}
	}
	return out
}

// field returns the text of the <dd> after the <dt> named name, or "".
func (p *page) fields(name string) []string {
	var out []string
	for _, dt := range p.find("dt", func(n *html.Node) bool { return strings.TrimSpace(text(n)) == name }) {
		for dd := dt.NextSibling; dd != nil; dd = dd.NextSibling {
			if dd.Type == html.ElementNode {
				if dd.Data == "dd" {
					out = append(out, strings.TrimSpace(text(dd)))
				}
				break
			}
		}
	}
	return out
}

// loggedEntry is what a test signed: the bundle's log entry and the artifact.
type loggedEntry struct {
	log    string // "v1" or "v2"
	index  int64
	digest string // sha256 hex of the artifact (blob) or statement
}

type signer struct {
	t    *testing.T
	inst *servertest.Instance
	sc   *trustroot.SigningConfig
}

func (s *signer) sign(req oidc.TokenRequest, rekorVersion uint32, artifact []byte, statement bool) loggedEntry {
	t := s.t
	t.Helper()
	svc, err := sign.SelectServices(s.sc, time.Now(), nil, rekorVersion)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.inst.Server.DevIssuer().Mint(req, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	opts := sign.Options{CA: svc.CA, IDToken: tok, Logs: svc.Logs, TSAs: svc.TSAs}
	ctx := context.Background()
	sign := func() (*protobundle.Bundle, error) { return sign.Blob(ctx, bytes.NewReader(artifact), opts) }
	if statement {
		sign = func() (*protobundle.Bundle, error) { return signDSSE(ctx, artifact, opts) }
	}
	pb, err := sign()
	if err != nil {
		t.Fatal(err)
	}
	e := pb.GetVerificationMaterial().GetTlogEntries()[0]
	sum := sha256.Sum256(artifact)
	return loggedEntry{log: "v" + string(rune('0'+rekorVersion)), index: e.GetLogIndex(), digest: hex.EncodeToString(sum[:])}
}

func signDSSE(ctx context.Context, statement []byte, opts sign.Options) (*protobundle.Bundle, error) {
	return sign.DSSE(ctx, sign.InTotoPayloadType, statement, opts)
}

func (s loggedEntry) url() string { return "/entries/" + s.log + "/" + itoa(s.index) }

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// TestSearchUI signs blobs and an attestation with several identities on
// both logs, then finds each through the web UI and its JSON API and reads
// the entry pages.
func TestSearchUI(t *testing.T) {
	dataDir := t.TempDir()
	inst := servertest.StartInDir(t, dataDir)
	sc, err := trustroot.LoadSigningConfig(get(t, inst.URL+"/signing_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := &signer{t: t, inst: inst, sc: sc}
	alice := s.sign(oidc.TokenRequest{Email: "alice@example.com"}, 2, []byte("alice's release"), false)
	bob := s.sign(oidc.TokenRequest{Email: "bob@example.com"}, 1, []byte("bob's release"), false)
	ci := s.sign(oidc.TokenRequest{GitHubWorkflow: "octo/app@main"}, 2, []byte("octo app v1"), false)
	subject := sha256.Sum256([]byte("the image"))
	statement := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"registry.example/app","digest":{"sha256":"` +
		hex.EncodeToString(subject[:]) + `"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{}}}`
	att := s.sign(oidc.TokenRequest{GitHubWorkflow: "octo/app@main"}, 2, []byte(statement), true)
	attV1 := s.sign(oidc.TokenRequest{Email: "carol@example.com"}, 1, []byte(statement), true)
	if err := inst.Server.Search().Follow(context.Background()); err != nil {
		t.Fatal(err)
	}

	search := func(q, kind string) *page {
		t.Helper()
		v := url.Values{"q": {q}}
		if kind != "" {
			v.Set("kind", kind)
		}
		p := fetchPage(t, inst.URL+"/?"+v.Encode())
		if p.status != http.StatusOK {
			t.Fatalf("search %q: status %d: %s", q, p.status, p.body)
		}
		return p
	}
	for _, tt := range []struct {
		name, q, kind string
		want          []loggedEntry // newest first
		anyOrder      bool          // entries of both logs, signed within a second
	}{
		{"email", "alice@example.com", "", []loggedEntry{alice}, false},
		{"email, other case", "Alice@Example.COM", "identity", []loggedEntry{alice}, false},
		{"email on the v1 log", "bob@example.com", "", []loggedEntry{bob}, false},
		{"artifact digest", "sha256:" + alice.digest, "", []loggedEntry{alice}, false},
		{"bare digest on v1", bob.digest, "digest", []loggedEntry{bob}, false},
		{"repository", "octo/app", "", []loggedEntry{att, ci}, false},
		{"repository URL", "https://github.com/octo/app", "identity", []loggedEntry{att, ci}, false},
		{"workflow without ref", "https://github.com/octo/app/.github/workflows/release.yml", "", []loggedEntry{att, ci}, false},
		// Rekor v2 takes DSSE envelopes only as a hashedrekord over their
		// PAE (as sigstore-go sends them), so only the v1 entry has the
		// statement.
		{"statement subject", "sha256:" + hex.EncodeToString(subject[:]), "", []loggedEntry{attV1}, false},
		{"log index", itoa(ci.index), "", []loggedEntry{ci}, false},
		{"unknown email", "mallory@example.com", "", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := search(tt.q, tt.kind)
			got := p.resultLinks()
			var want []string
			for _, w := range tt.want {
				want = append(want, w.url())
			}
			if tt.kind == "" && tt.name == "log index" {
				// A log index names an entry in each log that has one.
				got = filter(got, "/entries/v2/")
			}
			if tt.anyOrder {
				slices.Sort(got)
				slices.Sort(want)
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("results = %v, want %v", got, want)
			}
			if len(p.find("input", func(n *html.Node) bool { return attr(n, "name") == "q" && attr(n, "value") == tt.q })) != 1 {
				t.Error("the search box does not hold the query")
			}
		})
	}

	// The workflow identity's entry page decodes the certificate.
	p := fetchPage(t, inst.URL+ci.url())
	if p.status != http.StatusOK {
		t.Fatalf("entry page: %d %s", p.status, p.body)
	}
	for name, want := range map[string]string{
		"Identity (SAN)":  "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
		"Workflow":        "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
		"Repository":      "https://github.com/octo/app",
		"Ref":             "refs/heads/main",
		"Trigger":         "push",
		"Runner":          "github-hosted",
		"OIDC issuer":     inst.URL + "/oidc",
		"Artifact digest": "sha256:" + ci.digest,
		"Log index":       itoa(ci.index),
	} {
		if got := p.fields(name); len(got) != 1 || got[0] != want {
			t.Errorf("entry page %s = %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(text(p.doc), "Verified: this server checked the entry's inclusion proof") {
		t.Error("entry page does not say the inclusion proof verified")
	}
	exts := map[string]string{}
	for _, tr := range p.find("tr", nil) {
		if th := firstChild(tr, "th"); th != nil && attr(th, "scope") == "row" {
			tds := children(tr, "td")
			exts[text(th)] = text(tds[len(tds)-1])
		}
	}
	for name, want := range map[string]string{
		"GitHub Workflow Repository (deprecated)": "octo/app",
		"Source Repository URI":                   "https://github.com/octo/app",
		"Build Trigger":                           "push",
		"Runner Environment":                      "github-hosted",
		"Issuer":                                  inst.URL + "/oidc",
	} {
		if exts[name] != want {
			t.Errorf("extension %s = %q, want %q (all: %v)", name, exts[name], want, exts)
		}
	}
	cmds := text(p.find("main", nil)[0])
	if !strings.Contains(cmds, "signet verify-blob sha256:"+ci.digest) ||
		!strings.Contains(cmds, "--certificate-identity https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main") {
		t.Errorf("verify commands missing: %s", cmds)
	}

	// The attestation's entry page shows the statement.
	for _, e := range []loggedEntry{attV1} {
		p := fetchPage(t, inst.URL+e.url())
		if got := p.fields("Predicate type"); len(got) != 1 || got[0] != "https://slsa.dev/provenance/v1" {
			t.Errorf("%s: predicate type = %q", e.url(), got)
		}
		if got := p.fields("Payload type"); len(got) != 1 || got[0] != "application/vnd.in-toto+json" {
			t.Errorf("%s: payload type = %q", e.url(), got)
		}
		if !strings.Contains(text(p.doc), "sha256:"+hex.EncodeToString(subject[:])) {
			t.Errorf("%s: subject digest not shown", e.url())
		}
	}

	// A stored v1 envelope swapped for another is not shown.
	var attView struct {
		UUID string `json:"uuid"`
	}
	if err := json.Unmarshal(get(t, inst.URL+"/api/search"+attV1.url()), &attView); err != nil {
		t.Fatal(err)
	}
	envPath := filepath.Join(dataDir, "search", "envelopes", attView.UUID[:2], attView.UUID+".json")
	env, err := os.ReadFile(envPath)
	if err != nil {
		t.Fatalf("no envelope kept for the v1 attestation: %v", err)
	}
	forged := bytes.Replace(env, []byte(`"payloadType":"`), []byte(`"payloadType":"x`), 1)
	if bytes.Equal(forged, env) {
		t.Fatalf("cannot forge %s", env)
	}
	if err := os.WriteFile(envPath, forged, 0o644); err != nil {
		t.Fatal(err)
	}
	if p := fetchPage(t, inst.URL+attV1.url()); len(p.fields("Payload type")) != 0 || !strings.Contains(text(p.doc), "the stored envelope was rejected") {
		t.Errorf("a forged v1 envelope is shown: %v", p.fields("Payload type"))
	}

	// The v1 entry is found by its UUID and entry ID.
	var v1 struct {
		UUID    string `json:"uuid"`
		EntryID string `json:"entryID"`
	}
	if err := json.Unmarshal(get(t, inst.URL+"/api/search"+bob.url()), &v1); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{v1.UUID, v1.EntryID} {
		if got := search(id, "").resultLinks(); len(got) != 1 || got[0] != bob.url() {
			t.Errorf("search %s = %v, want %s", id, got, bob.url())
		}
	}

	// The JSON API answers the same.
	var res struct {
		Total int `json:"total"`
		Hits  []struct {
			Log     string `json:"log"`
			Index   int64  `json:"logIndex"`
			URL     string `json:"url"`
			Summary struct {
				Identity string `json:"identity"`
			} `json:"summary"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(get(t, inst.URL+"/api/search?q=alice%40example.com"), &res); err != nil {
		t.Fatal(err)
	}
	if res.Total != 1 || len(res.Hits) != 1 || res.Hits[0].URL != alice.url() || res.Hits[0].Summary.Identity != "alice@example.com" {
		t.Errorf("JSON search = %+v", res)
	}
}

func filter(links []string, prefix string) []string {
	var out []string
	for _, l := range links {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func firstChild(n *html.Node, tag string) *html.Node {
	if c := children(n, tag); len(c) > 0 {
		return c[0]
	}
	return nil
}

func children(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.Data == tag {
			out = append(out, c)
		}
	}
	return out
}

// TestSearchUIMySQL runs the search over logs and an index in MySQL
// (SIGNET_TEST_MYSQL_URL), two servers sharing them: what one logs, the
// other finds.
func TestSearchUIMySQL(t *testing.T) {
	dbURL := freshMySQLDatabase(t)
	useMySQL := func(o *server.Options) { o.LogStorage = dbURL }
	dirA, dirB := t.TempDir(), t.TempDir()
	a := servertest.StartInDir(t, dirA, useMySQL)
	if out, err := exec.Command("cp", "-a", dirA+"/.", dirB).CombinedOutput(); err != nil {
		t.Fatalf("copy data dir: %v %s", err, out)
	}
	b := servertest.StartInDir(t, dirB, useMySQL)
	sc, err := trustroot.LoadSigningConfig(get(t, a.URL+"/signing_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := &signer{t: t, inst: a, sc: sc}
	alice := s.sign(oidc.TokenRequest{Email: "alice@example.com"}, 2, []byte("alice's release"), false)
	bob := s.sign(oidc.TokenRequest{Email: "bob@example.com"}, 1, []byte("bob's release"), false)
	if err := b.Server.Search().Follow(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		q    string
		want loggedEntry
	}{{"alice@example.com", alice}, {"sha256:" + bob.digest, bob}} {
		var res struct {
			Hits []struct {
				URL string `json:"url"`
			} `json:"hits"`
		}
		if err := json.Unmarshal(get(t, b.URL+"/api/search?q="+url.QueryEscape(e.q)), &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != 1 || res.Hits[0].URL != e.want.url() {
			t.Errorf("search %s on the other server = %+v, want %s", e.q, res.Hits, e.want.url())
		}
	}
}
