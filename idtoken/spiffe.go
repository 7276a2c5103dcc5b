package idtoken

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// SPIFFE fetches a JWT-SVID for the audience from the SPIFFE Workload API
// (a SPIRE agent's socket).
type SPIFFE struct {
	// Endpoint is SPIFFE_ENDPOINT_SOCKET: a unix:// or tcp:// address as
	// the SPIFFE Workload API spec writes it, or a bare socket path as
	// cosign accepts it. Empty means DefaultSPIFFESocket.
	Endpoint string
	// Timeout bounds the fetch (default 30 s).
	Timeout time.Duration
}

// Name implements Source.
func (*SPIFFE) Name() string { return "spiffe" }

// addr returns the Workload API address and, for unix sockets, its path.
func (s *SPIFFE) addr() (addr, path string) {
	e := s.Endpoint
	if e == "" {
		e = DefaultSPIFFESocket
	}
	if p, ok := strings.CutPrefix(e, "unix://"); ok {
		return e, p
	}
	if strings.Contains(e, "://") {
		return e, ""
	}
	return "unix://" + e, e
}

// Available implements Source: the socket must exist.
func (s *SPIFFE) Available() error {
	addr, path := s.addr()
	if path == "" {
		return nil
	}
	st, err := os.Stat(path)
	if err != nil {
		if s.Endpoint == "" {
			return fmt.Errorf("%s is not set and there is no Workload API socket at %s", EnvSPIFFEEndpointSocket, DefaultSPIFFESocket)
		}
		return fmt.Errorf("workload API socket %s: %w", addr, err)
	}
	if st.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("workload API endpoint %s is not a socket", path)
	}
	return nil
}

// Token implements Source.
func (s *SPIFFE) Token(ctx context.Context, audience string) (string, error) {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr, _ := s.addr()
	client, err := workloadapi.New(ctx, workloadapi.WithAddr(addr))
	if err != nil {
		return "", fmt.Errorf("workload API %s: %w", addr, err)
	}
	defer client.Close()
	svid, err := client.FetchJWTSVID(ctx, jwtsvid.Params{Audience: audience})
	if err != nil {
		return "", fmt.Errorf("fetch JWT-SVID from %s: %w", addr, err)
	}
	tok := svid.Marshal()
	if tok == "" {
		return "", errors.New("the workload API returned an empty JWT-SVID")
	}
	return tok, nil
}
