package admission

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// This file turns a pod's imagePullSecrets, and those of its service
// account, into a go-containerregistry keychain, the way the kubelet reads
// them (k8s.io/kubernetes/pkg/credentialprovider). It is signet's own small
// reader rather than github.com/google/go-containerregistry/pkg/authn/k8schain,
// whose module pulls in the AWS, Azure and Google cloud SDKs for credential
// helpers that an admission webhook reading Secrets does not need.

// SecretReader reads Secrets and ServiceAccounts. Implementations may cache.
type SecretReader interface {
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	ServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error)
}

// PullSecretNames returns the imagePullSecrets of the pod spec followed by
// those of its service account ("default" when unset), without
// duplicates. A missing service account is not an error: the kubelet runs
// such pods without its secrets too.
func PullSecretNames(ctx context.Context, r SecretReader, namespace string, ps *corev1.PodSpec) ([]string, error) {
	var names []string
	seen := map[string]bool{}
	add := func(refs []corev1.LocalObjectReference) {
		for _, ref := range refs {
			if ref.Name != "" && !seen[ref.Name] {
				seen[ref.Name] = true
				names = append(names, ref.Name)
			}
		}
	}
	sa := "default"
	if ps != nil {
		add(ps.ImagePullSecrets)
		if ps.ServiceAccountName != "" {
			sa = ps.ServiceAccountName
		}
	}
	acct, err := r.ServiceAccount(ctx, namespace, sa)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("read service account %s/%s: %w", namespace, sa, err)
	default:
		add(acct.ImagePullSecrets)
	}
	return names, nil
}

// PullSecretKeychain returns a keychain with the registry credentials of
// the pod's imagePullSecrets and service account (see PullSecretNames).
// Secrets that do not exist are skipped, as the kubelet skips them;
// secrets that exist but do not parse are errors. Registries without
// credentials are accessed anonymously.
func PullSecretKeychain(ctx context.Context, r SecretReader, namespace string, ps *corev1.PodSpec) (authn.Keychain, error) {
	names, err := PullSecretNames(ctx, r, namespace, ps)
	if err != nil {
		return nil, err
	}
	return SecretsKeychain(ctx, r, namespace, names)
}

// SecretsKeychain returns a keychain with the registry credentials of the
// named Secrets of namespace (a pod's pull secrets, or those a policy
// source names in signaturePullSecrets), matched with the kubelet's
// rules. Secrets that do not exist are skipped, as the kubelet and
// go-containerregistry's k8schain skip them; secrets that exist but do
// not parse are errors.
func SecretsKeychain(ctx context.Context, r SecretReader, namespace string, names []string) (authn.Keychain, error) {
	var kc dockerKeychain
	for _, n := range names {
		s, err := r.Secret(ctx, namespace, n)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read pull secret %s/%s: %w", namespace, n, err)
		}
		entries, err := ParseDockerConfigSecret(s)
		if err != nil {
			return nil, badPullSecret{err}
		}
		kc = append(kc, entries...)
	}
	return kc, nil
}

// badPullSecret is the error of a pull secret that exists but holds no
// docker config: a mistake in the cluster, not a failure to read it.
type badPullSecret struct{ err error }

func (e badPullSecret) Error() string { return e.err.Error() }
func (e badPullSecret) Unwrap() error { return e.err }

// isBadPullSecret reports whether err is about a pull secret's content.
func isBadPullSecret(err error) bool {
	var b badPullSecret
	return errors.As(err, &b)
}

// lazyKeychain builds a keychain the first time credentials are asked
// for, once: an admission whose images need no registry request (cached
// decisions, static authorities) reads no Secrets.
type lazyKeychain struct {
	build func() (authn.Keychain, error)
	once  sync.Once
	kc    authn.Keychain
	err   error
}

func (l *lazyKeychain) get() (authn.Keychain, error) {
	l.once.Do(func() { l.kc, l.err = l.build() })
	return l.kc, l.err
}

// Resolve implements authn.Keychain; a failure to build the keychain
// fails the registry request.
func (l *lazyKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	kc, err := l.get()
	if err != nil {
		return nil, err
	}
	return kc.Resolve(target)
}

// DockerConfigEntry is one registry's credentials from a docker config:
// Pattern is the key as written ("ghcr.io", "https://index.docker.io/v1/",
// "*.example.com/team").
type DockerConfigEntry struct {
	Pattern string
	Auth    authn.AuthConfig
}

// ParseDockerConfigSecret reads the credentials of a Secret of type
// kubernetes.io/dockerconfigjson (.dockerconfigjson) or
// kubernetes.io/dockercfg (.dockercfg), in a stable order.
func ParseDockerConfigSecret(s *corev1.Secret) ([]DockerConfigEntry, error) {
	var auths map[string]dockerAuth
	switch {
	case s.Data[corev1.DockerConfigJsonKey] != nil:
		var cfg struct {
			Auths map[string]dockerAuth `json:"auths"`
		}
		if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
			return nil, fmt.Errorf("pull secret %s/%s: parse %s: %w", s.Namespace, s.Name, corev1.DockerConfigJsonKey, err)
		}
		auths = cfg.Auths
	case s.Data[corev1.DockerConfigKey] != nil:
		if err := json.Unmarshal(s.Data[corev1.DockerConfigKey], &auths); err != nil {
			return nil, fmt.Errorf("pull secret %s/%s: parse %s: %w", s.Namespace, s.Name, corev1.DockerConfigKey, err)
		}
	default:
		return nil, fmt.Errorf("pull secret %s/%s: has neither %s nor %s", s.Namespace, s.Name, corev1.DockerConfigJsonKey, corev1.DockerConfigKey)
	}
	out := make([]DockerConfigEntry, 0, len(auths))
	for pattern, a := range auths {
		cfg := authn.AuthConfig{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
		if a.Auth != "" && cfg.Username == "" && cfg.Password == "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, fmt.Errorf("pull secret %s/%s: registry %q: decode auth: %w", s.Namespace, s.Name, pattern, err)
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return nil, fmt.Errorf("pull secret %s/%s: registry %q: auth is not user:password", s.Namespace, s.Name, pattern)
			}
			cfg.Username, cfg.Password = user, pass
		}
		out = append(out, DockerConfigEntry{Pattern: pattern, Auth: cfg})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pattern < out[j].Pattern })
	return out, nil
}

// dockerAuth is one "auths" entry of a docker config.
type dockerAuth struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// dockerKeychain resolves credentials from docker config entries with the
// kubelet's matching rules: the registry host must match (a "*" label
// matches one host label; Docker Hub's aliases are one registry), the
// port must be equal, and a pattern's path must be a prefix of the
// repository. The most specific (longest) matching pattern wins.
type dockerKeychain []DockerConfigEntry

// Resolve implements authn.Keychain.
func (k dockerKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	host, repo := target.RegistryStr(), ""
	if r, ok := target.(name.Repository); ok {
		repo = r.RepositoryStr()
	}
	best, bestLen := -1, -1
	for i, e := range k {
		if n, ok := matchDockerPattern(e.Pattern, host, repo); ok && n > bestLen {
			best, bestLen = i, n
		}
	}
	if best < 0 {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(k[best].Auth), nil
}

// dockerHubHosts are the names Docker Hub goes by in docker configs.
var dockerHubHosts = map[string]bool{"index.docker.io": true, "docker.io": true, "registry-1.docker.io": true}

// matchDockerPattern reports whether a docker config key matches a
// registry host and repository, and how specific the match is.
func matchDockerPattern(pattern, host, repo string) (int, bool) {
	p := pattern
	if !strings.Contains(p, "://") {
		p = "https://" + p
	}
	u, err := url.Parse(p)
	if err != nil || u.Host == "" {
		return 0, false
	}
	pHost, pPath := u.Host, strings.Trim(u.Path, "/")
	if dockerHubHosts[strings.TrimSuffix(pHost, ":443")] {
		// "https://index.docker.io/v1/" names the registry, not a repository.
		pHost, pPath = "index.docker.io", strings.TrimPrefix(strings.TrimPrefix(pPath, "v1"), "/")
	}
	if dockerHubHosts[host] {
		host = "index.docker.io"
	}
	if !matchHost(pHost, host) {
		return 0, false
	}
	if pPath != "" && repo != pPath && !strings.HasPrefix(repo, pPath+"/") {
		return 0, false
	}
	return len(pattern), true
}

// matchHost matches hosts label by label; "*" in the pattern matches one
// label. Ports must be equal.
func matchHost(pattern, host string) bool {
	pName, pPort := splitPort(pattern)
	hName, hPort := splitPort(host)
	if pPort != hPort {
		return false
	}
	pl, hl := strings.Split(pName, "."), strings.Split(hName, ".")
	if len(pl) != len(hl) {
		return false
	}
	for i := range pl {
		if ok, err := path.Match(pl[i], hl[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

func splitPort(hostport string) (string, string) {
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.Contains(hostport[i:], "]") {
		return hostport[:i], hostport[i+1:]
	}
	return hostport, ""
}
