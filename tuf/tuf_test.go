package tuf_test

import (
	"bytes"
	"crypto"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/tuf"
)

// repo is an offline directory, a Repository serving it, and an HTTP
// mirror in front of it whose answers a test may rewrite, as an attacker
// between client and server could.
type repo struct {
	t       *testing.T
	offline string
	online  crypto.Signer
	r       *tuf.Repository
	url     string
	now     time.Time

	mu       sync.Mutex
	tamper   func(name string, body []byte) []byte
	cacheDir string
}

func newRepo(t *testing.T, targets map[string][]byte) *repo {
	t.Helper()
	online, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	p := &repo{t: t, offline: t.TempDir(), online: online, now: time.Now(), cacheDir: t.TempDir()}
	if err := tuf.Init(p.offline, tuf.InitOptions{Online: online.Public(), Targets: targets}); err != nil {
		t.Fatal(err)
	}
	p.r, err = tuf.OpenRepository(tuf.RepoDir(p.offline), t.TempDir(), online, tuf.RepositoryOptions{
		TimestampExpiry: time.Hour, Now: func() time.Time { return p.now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/tuf/")
		body, ok := p.r.File(name)
		if !ok {
			http.NotFound(w, r)
			return
		}
		p.mu.Lock()
		if p.tamper != nil {
			body = p.tamper(name, body)
		}
		p.mu.Unlock()
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL + "/tuf"
	return p
}

func (p *repo) rootV1() []byte {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(tuf.RepoDir(p.offline), "1.root.json"))
	if err != nil {
		p.t.Fatal(err)
	}
	return b
}

func (p *repo) setTamper(f func(name string, body []byte) []byte) {
	p.mu.Lock()
	p.tamper = f
	p.mu.Unlock()
}

func (p *repo) fetch(cache string) (map[string][]byte, error) {
	return tuf.Fetch(tuf.ClientOptions{Mirror: p.url, Root: p.rootV1(), CacheDir: cache}, tuf.TargetTrustedRoot)
}

func targets(trustedRoot string) map[string][]byte {
	return map[string][]byte{tuf.TargetTrustedRoot: []byte(trustedRoot), tuf.TargetSigningConfig: []byte(`{"sc":1}`)}
}

// TestRepositoryLifecycle: a client bootstrapped from 1.root.json follows
// new targets, a root key rotation and a targets key rotation.
func TestRepositoryLifecycle(t *testing.T) {
	p := newRepo(t, targets(`{"v":1}`))
	cache := t.TempDir()
	check := func(want string) {
		t.Helper()
		got, err := p.fetch(cache)
		if err != nil {
			t.Fatal(err)
		}
		if string(got[tuf.TargetTrustedRoot]) != want {
			t.Fatalf("trusted_root.json = %s, want %s", got[tuf.TargetTrustedRoot], want)
		}
	}
	check(`{"v":1}`)

	if err := tuf.SignTargets(p.offline, targets(`{"v":2}`), 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.r.Refresh(); err != nil {
		t.Fatal(err)
	}
	check(`{"v":2}`)

	if err := tuf.SignRoot(p.offline, tuf.SignRootOptions{RotateRoot: true, RotateTargets: true}); err != nil {
		t.Fatal(err)
	}
	if err := tuf.SignTargets(p.offline, targets(`{"v":3}`), 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.r.Refresh(); err != nil {
		t.Fatal(err)
	}
	check(`{"v":3}`)
	// A fresh client from 1.root.json walks the root chain too.
	got, err := p.fetch(t.TempDir())
	if err != nil || string(got[tuf.TargetTrustedRoot]) != `{"v":3}` {
		t.Fatalf("fresh client: %s, %v", got[tuf.TargetTrustedRoot], err)
	}

	// The timestamp is renewed before it expires, with a higher version.
	old, _ := p.r.File("timestamp.json")
	p.now = p.now.Add(40 * time.Minute)
	if err := p.r.Refresh(); err != nil {
		t.Fatal(err)
	}
	renewed, _ := p.r.File("timestamp.json")
	if bytes.Equal(old, renewed) || version[metadata.TimestampType](t, renewed) <= version[metadata.TimestampType](t, old) {
		t.Fatal("timestamp not renewed with a higher version past half its life")
	}
}

func version[T metadata.Roles](t *testing.T, b []byte) int64 {
	t.Helper()
	md, err := new(metadata.Metadata[T]).FromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	switch s := any(md.Signed).(type) {
	case metadata.TimestampType:
		return s.Version
	case metadata.SnapshotType:
		return s.Version
	}
	t.Fatalf("no version in %T", md.Signed)
	return 0
}

// TestClientRejectsAttacks runs TUF's attacks on the client: each must
// make Fetch fail, never return a target.
func TestClientRejectsAttacks(t *testing.T) {
	evil, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	resign := func(t *testing.T, name string, body []byte, key crypto.Signer, edit func(*metadata.Metadata[metadata.TimestampType])) []byte {
		md, err := new(metadata.Metadata[metadata.TimestampType]).FromBytes(body)
		if err != nil {
			t.Fatal(err)
		}
		edit(md)
		md.ClearSignatures()
		sv, err := signature.LoadSignerWithOpts(key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := md.Sign(sv); err != nil {
			t.Fatal(err)
		}
		out, err := md.ToBytes(false)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, tt := range []struct {
		name string
		// attack prepares the mirror after a first good fetch.
		attack func(t *testing.T, p *repo)
		want   string
	}{
		{
			name: "rollback: an older timestamp than the client has seen",
			attack: func(t *testing.T, p *repo) {
				old, _ := p.r.File("timestamp.json")
				p.now = p.now.Add(40 * time.Minute)
				if err := p.r.Refresh(); err != nil {
					t.Fatal(err)
				}
				if _, err := p.fetch(p.cache(t)); err != nil { // the client sees the newer one
					t.Fatal(err)
				}
				p.setTamper(func(name string, body []byte) []byte {
					if name == "timestamp.json" {
						return old
					}
					return body
				})
			},
			want: "version",
		},
		{
			name: "freeze: an expired timestamp",
			attack: func(t *testing.T, p *repo) {
				p.now = p.now.Add(-2 * time.Hour) // the server's clock is held back: what it signs is stale
				if err := tuf.SignTargets(p.offline, targets(`{"v":"frozen"}`), 0, nil); err != nil {
					t.Fatal(err)
				}
				if err := p.r.Refresh(); err != nil {
					t.Fatal(err)
				}
			},
			want: "expired",
		},
		{
			name: "arbitrary key: a timestamp signed by a key the root does not trust",
			attack: func(t *testing.T, p *repo) {
				p.setTamper(func(name string, body []byte) []byte {
					if name == "timestamp.json" {
						return resign(t, name, body, evil, func(md *metadata.Metadata[metadata.TimestampType]) { md.Signed.Version++ })
					}
					return body
				})
			},
			want: "not enough signatures",
		},
		{
			name: "arbitrary target: trusted_root.json replaced on the mirror",
			attack: func(t *testing.T, p *repo) {
				p.cacheDir = t.TempDir() // a client that has not cached the target yet
				p.setTamper(func(name string, body []byte) []byte {
					if strings.HasPrefix(name, "targets/") && strings.HasSuffix(name, tuf.TargetTrustedRoot) {
						return []byte(`{"v":6}`) // same length: only the hash tells
					}
					return body
				})
			},
			want: "hash",
		},
		{
			name: "arbitrary targets metadata: targets.json signed by the online key",
			attack: func(t *testing.T, p *repo) {
				// A compromised server holds the online key, not the targets key.
				path := filepath.Join(tuf.RepoDir(p.offline), "targets.json")
				md, err := new(metadata.Metadata[metadata.TargetsType]).FromFile(path)
				if err != nil {
					t.Fatal(err)
				}
				tf, err := metadata.TargetFile().FromBytes(tuf.TargetTrustedRoot, []byte(`{"v":"evil"}`), "sha256")
				if err != nil {
					t.Fatal(err)
				}
				md.Signed.Targets[tuf.TargetTrustedRoot] = tf
				md.ClearSignatures()
				sv, _ := signature.LoadSignerWithOpts(p.online)
				if _, err := md.Sign(sv); err != nil {
					t.Fatal(err)
				}
				data, _ := md.ToBytes(true)
				good, _ := os.ReadFile(path)
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
				// The server itself refuses it...
				if err := p.r.Refresh(); err == nil || !strings.Contains(err.Error(), "targets key") {
					t.Fatalf("repository accepted targets.json signed by the online key: %v", err)
				}
				if err := os.WriteFile(path, good, 0o644); err != nil {
					t.Fatal(err)
				}
				// ...and a client refuses a mirror that serves it anyway.
				p.cacheDir = t.TempDir()
				p.setTamper(func(n string, body []byte) []byte {
					if n == "1.targets.json" {
						return data
					}
					return body
				})
			},
			want: "not enough signatures",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newRepo(t, targets(`{"v":1}`))
			if _, err := p.fetch(p.cache(t)); err != nil {
				t.Fatal(err)
			}
			tt.attack(t, p)
			got, err := p.fetch(p.cache(t))
			if err == nil {
				t.Fatalf("Fetch accepted the attack, returned %s", got[tuf.TargetTrustedRoot])
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Fetch: %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

// cache is the client's cache directory, the same on every fetch.
func (p *repo) cache(*testing.T) string { return p.cacheDir }

// FuzzClientMetadata serves a fuzzed timestamp.json, snapshot or
// targets.json to signet's TUF client: whatever it parses, it must not
// panic, and if it returns a target, that is the genuine one.
func FuzzClientMetadata(f *testing.F) {
	f.Add("timestamp.json", []byte(`{"signed":{"_type":"timestamp","version":99},"signatures":[]}`))
	f.Add("timestamp.json", []byte(`{}`))
	f.Add("1.snapshot.json", []byte(`{"signed":{"_type":"snapshot","meta":{"targets.json":{"version":1}}},"signatures":[{"keyid":"x","sig":"00"}]}`))
	f.Add("1.targets.json", []byte(`[`))
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		p := newRepo(t, targets(`{"v":1}`))
		genuine, _ := p.r.File(name)
		p.setTamper(func(n string, b []byte) []byte {
			if n == name || strings.HasSuffix(n, ".snapshot.json") && strings.HasSuffix(name, ".snapshot.json") {
				return body
			}
			return b
		})
		got, err := tuf.Fetch(tuf.ClientOptions{Mirror: p.url, Root: p.rootV1()}, tuf.TargetTrustedRoot)
		if err != nil {
			return
		}
		if string(got[tuf.TargetTrustedRoot]) != `{"v":1}` {
			t.Fatalf("tampered %s (%d bytes, genuine %d) yielded target %q", name, len(body), len(genuine), got[tuf.TargetTrustedRoot])
		}
	})
}

// TestRepositoryRefusesBadOfflineMetadata: the server checks what it is
// given to serve, and keeps serving its last good state.
func TestRepositoryRefusesBadOfflineMetadata(t *testing.T) {
	for _, tt := range []struct {
		name   string
		break_ func(t *testing.T, p *repo)
		want   string
	}{
		{"a root not signed by the previous root", func(t *testing.T, p *repo) {
			md, err := new(metadata.Metadata[metadata.RootType]).FromBytes(p.rootV1())
			if err != nil {
				t.Fatal(err)
			}
			evil, _ := keys.Generate(keys.ECDSAP256)
			k, _ := metadata.KeyFromPublicKey(evil.Public())
			md.Signed.Version = 2
			md.Signed.Roles[metadata.ROOT].KeyIDs = nil
			if err := md.Signed.AddKey(k, metadata.ROOT); err != nil {
				t.Fatal(err)
			}
			md.ClearSignatures()
			sv, _ := signature.LoadSignerWithOpts(evil)
			if _, err := md.Sign(sv); err != nil {
				t.Fatal(err)
			}
			if err := md.ToFile(filepath.Join(tuf.RepoDir(p.offline), "2.root.json"), true); err != nil {
				t.Fatal(err)
			}
		}, "not signed by root version 1"},
		{"a target file that does not match targets.json", func(t *testing.T, p *repo) {
			if err := os.WriteFile(filepath.Join(tuf.RepoDir(p.offline), "targets", tuf.TargetTrustedRoot), []byte(`{"v":2}`), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "hash"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newRepo(t, targets(`{"v":1}`))
			before, _ := p.r.File("timestamp.json")
			tt.break_(t, p)
			err := p.r.Refresh()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Refresh = %v, want an error mentioning %q", err, tt.want)
			}
			if after, _ := p.r.File("timestamp.json"); !bytes.Equal(before, after) {
				t.Error("the repository changed what it serves after a refused refresh")
			}
		})
	}

	// A server whose online key the root does not trust serves nothing.
	p := newRepo(t, targets(`{"v":1}`))
	other, _ := keys.Generate(keys.ECDSAP256)
	if _, err := tuf.OpenRepository(tuf.RepoDir(p.offline), t.TempDir(), other, tuf.RepositoryOptions{}); err == nil || !strings.Contains(err.Error(), "online key") {
		t.Fatalf("OpenRepository with an untrusted online key = %v", err)
	}
}
