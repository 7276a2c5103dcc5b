package idtoken

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// defaultRedirectURL is cosign's: any free port on localhost.
const defaultRedirectURL = "http://localhost:0/auth/callback"

// loopback receives the authorization response on a loopback redirect
// (RFC 8252 section 7.3). It is the one piece of HTTP server in this
// package: bound to a loopback address, one path, one answer.
type loopback struct {
	redirectURL string
	srv         *http.Server
	served      sync.WaitGroup
	once        sync.Once
	result      chan loopbackResult // buffered: the first answer only
}

type loopbackResult struct {
	code string
	err  error
}

// ErrStateMismatch: the redirect's state is not the one this login sent,
// so it answers some other (possibly forged) authorization request.
var ErrStateMismatch = errors.New("the login redirect carries a state this login did not send (a forged or stale redirect?): refused")

func listenLoopback(redirect, state string) (*loopback, error) {
	if redirect == "" {
		redirect = defaultRedirectURL
	}
	u, err := url.Parse(redirect)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("redirect URL %q: want http://localhost:PORT/PATH (a loopback address)", redirect)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("redirect URL %q: the host must be localhost or a loopback IP, so only this machine receives the code", redirect)
	}
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("listen for the login redirect: %w", err)
	}
	if u.Port() == "0" || u.Port() == "" {
		u.Host = net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	l := &loopback{redirectURL: u.String(), result: make(chan loopbackResult, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { l.handle(w, r, state) })
	l.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	l.served.Add(1)
	go func() {
		defer l.served.Done()
		_ = l.srv.Serve(ln) // returns ErrServerClosed on close
	}()
	return l, nil
}

func (l *loopback) handle(w http.ResponseWriter, r *http.Request, state string) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	var res loopbackResult
	switch {
	case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1:
		res.err = ErrStateMismatch
	case q.Get("error") != "":
		msg := q.Get("error")
		if d := q.Get("error_description"); d != "" {
			msg += ": " + d
		}
		res.err = fmt.Errorf("the provider refused the login: %s", msg)
	case q.Get("code") == "":
		res.err = errors.New("the login redirect carries no authorization code")
	default:
		res.code = q.Get("code")
	}
	select {
	case l.result <- res:
	default:
		http.Error(w, "this login has already finished", http.StatusConflict)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if res.err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "<!doctype html><title>signet login failed</title><p>Login failed: %s</p>", html.EscapeString(res.err.Error()))
		return
	}
	fmt.Fprint(w, "<!doctype html><title>signet login</title><p>Login complete. You can close this tab and return to signet.</p>")
}

// wait returns the code of the first redirect, or its error.
func (l *loopback) wait(ctx context.Context) (string, error) {
	select {
	case res := <-l.result:
		return res.code, res.err
	case <-ctx.Done():
		return "", fmt.Errorf("no login redirect arrived at %s: %w", l.redirectURL, ctx.Err())
	}
}

// close stops the listener and waits for it.
func (l *loopback) close() {
	l.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = l.srv.Shutdown(ctx)
		l.served.Wait()
	})
}
