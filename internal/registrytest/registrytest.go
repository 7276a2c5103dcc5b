// Package registrytest runs in-process OCI registries for tests: plain,
// or behind HTTP basic authentication like a private registry.
package registrytest

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Start serves an in-process registry on 127.0.0.1 until the test ends and
// returns its host.
func Start(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// BasicAuth serves one in-process registry twice: openly, to set up
// images and signatures, and behind HTTP basic authentication as
// user:password, like a private registry. It returns the two hosts; both
// stop when the test ends.
func BasicAuth(t testing.TB, user, password string) (open, authed string) {
	t.Helper()
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	o := httptest.NewServer(h)
	t.Cleanup(o.Close)
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"credentials needed"}]}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(a.Close)
	return strings.TrimPrefix(o.URL, "http://"), strings.TrimPrefix(a.URL, "http://")
}

// HostKeychain gives one registry's credentials, and none elsewhere.
type HostKeychain struct {
	Host, User, Password string
}

// Resolve implements authn.Keychain.
func (k HostKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() != k.Host {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{Username: k.User, Password: k.Password}), nil
}

// PushRandom pushes a random image to host as repo:v1 and returns its tag
// reference and its digest reference.
func PushRandom(t testing.TB, host, repo string) (tag, digest string) {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(host + "/" + repo + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.String(), ref.Context().Digest(d.String()).String()
}
