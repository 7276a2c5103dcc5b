package ctlog

// RememberedLinks returns how many verified issuing-chain links l keeps.
func RememberedLinks(l *Log) int {
	l.linksMu.Lock()
	defer l.linksMu.Unlock()
	return len(l.links)
}
