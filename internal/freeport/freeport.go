// Package freeport picks TCP ports for servers that tests start as
// separate processes. It is for tests only.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
)

// Ports handed out by Get in this process.
var (
	mu    sync.Mutex
	given = map[int]bool{}
)

// Get returns a TCP port on 127.0.0.1 that nothing listens on, for a server
// the test starts next, and never the same port twice in a process. It
// picks below the kernel's ephemeral range (32768 and up on Linux): a port
// from that range, as Listen("127.0.0.1:0") gives, can be taken as the
// local port of an outgoing connection before the server binds it, which
// failed server starts now and then ("bind: address already in use").
func Get(t testing.TB) int {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	for range 1000 {
		p := 20000 + rand.IntN(12000)
		if given[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		_ = ln.Close()
		given[p] = true
		return p
	}
	t.Fatal("no free port on 127.0.0.1 in 20000-31999")
	return 0
}
