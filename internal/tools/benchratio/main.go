// Command benchratio reads the output of `go test -bench` (the Go
// benchmark format) and prints, for each of signet's benchmarks that has a
// peer measured in the same run, every metric both report and how many
// times better signet is: its value over the peer's where higher is better
// (appends/s), the peer's over signet's where lower is better (ns/op, p99,
// CPU per operation). Below 1, signet is worse.
//
// A benchmark is signet's when a part of its name, between slashes, is
// "signet" or starts with "signet-". Its peers are the benchmarks whose
// names differ only in that part ("Append/posix/signet/clients=16" and
// "Append/posix/tessera/clients=16"), or that end at that part
// ("Report/signet/cold" and "Report/cosign-v3"). Runs repeated with -count
// are reduced to their median; the table gives the number of runs and,
// for more than one, the spread of the ratio between the runs' lows and
// highs.
//
// `make bench` writes a "loadavg: 1m 5m 15m" line (/proc/loadavg) before
// each command; the table shows the one in effect for each pair.
//
// Usage: benchratio [FILE...] (standard input without files)
package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"golang.org/x/perf/benchfmt"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: benchratio [FILE...]\n\n"+
			"Reads `go test -bench` output (standard input without files) and prints, for each\n"+
			"benchmark of signet's with a peer in the same run, every shared metric and how\n"+
			"many times better signet is (below 1: worse).")
	}
	flag.Parse()
	results, err := read(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
	if err := write(os.Stdout, compare(results)); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}

// bench is one benchmark's runs.
type bench struct {
	pkg   string
	parts []string // the name, without "Benchmark" and the GOMAXPROCS suffix, split at its slashes
	load  string   // the loadavg line in effect at its first run
	units []string // in the order of its first run
	runs  map[string][]float64
	unit  map[string]benchfmt.Value // a value per unit, for the unit's original spelling
}

// read parses the Go benchmark format from files, or standard input.
func read(files []string) ([]*bench, error) {
	var byName = map[string]*bench{}
	var order []*bench
	scan := func(r io.Reader, name string) error {
		br := benchfmt.NewReader(r, name)
		for br.Scan() {
			switch rec := br.Result().(type) {
			case *benchfmt.SyntaxError:
				return rec
			case *benchfmt.Result:
				base, parts := rec.Name.Parts()
				full := string(base)
				for _, p := range parts {
					if p[0] == '/' {
						full += string(p)
					}
				}
				key := rec.GetConfig("pkg") + " " + full
				b := byName[key]
				if b == nil {
					b = &bench{pkg: rec.GetConfig("pkg"), parts: strings.Split(full, "/"),
						load: rec.GetConfig("loadavg"), runs: map[string][]float64{}, unit: map[string]benchfmt.Value{}}
					byName[key] = b
					order = append(order, b)
				}
				for _, v := range rec.Values {
					if _, ok := b.unit[v.Unit]; !ok {
						b.units = append(b.units, v.Unit)
						b.unit[v.Unit] = v
					}
					b.runs[v.Unit] = append(b.runs[v.Unit], v.Value)
				}
			}
		}
		return br.Err()
	}
	if len(files) == 0 {
		return order, scan(os.Stdin, "stdin")
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		err = scan(f, name)
		_ = f.Close()
		if err != nil {
			return nil, err
		}
	}
	return order, nil
}

// row is one metric of one pair.
type row struct {
	pair         string // the name with the differing part as {signet,peer}
	unit         string
	signet, peer float64 // medians, in the unit as written
	better       float64 // how many times better signet is
	low, high    float64 // the ratio from the runs' extremes, with runs > 1
	runs         int
	load         string
}

// compare pairs each signet benchmark with its peers.
func compare(benches []*bench) []row {
	var rows []row
	for _, s := range benches {
		for i, part := range s.parts {
			if !isSignet(part) {
				continue
			}
			for _, p := range benches {
				if !isPeer(s, p, i) {
					continue
				}
				rows = append(rows, pairRows(s, p, i)...)
			}
		}
	}
	return rows
}

// isPeer reports whether p is a peer of signet's benchmark s, whose i-th
// name part is signet's.
func isPeer(s, p *bench, i int) bool {
	if p.pkg != s.pkg || len(p.parts) <= i || !slices.Equal(p.parts[:i], s.parts[:i]) {
		return false
	}
	if isSignet(p.parts[i]) {
		return false
	}
	return len(p.parts) == i+1 || slices.Equal(p.parts[i+1:], s.parts[i+1:])
}

// isSignet reports whether a benchmark name part names signet's side.
func isSignet(part string) bool {
	return part == "signet" || strings.HasPrefix(part, "signet-")
}

func pairRows(s, p *bench, i int) []row {
	pair := slices.Clone(s.parts)
	pair[i] = "{" + s.parts[i] + "," + p.parts[i] + "}"
	var rows []row
	for _, unit := range s.units {
		sv, pv := s.runs[unit], p.runs[unit]
		if len(pv) == 0 {
			continue
		}
		dir, ms, mp := better(unit), median(sv), median(pv)
		if dir == 0 || ms == 0 || mp == 0 {
			continue // not a measurement, or none (ReportMetric(0, "ns/op"))
		}
		r := row{pair: strings.Join(pair, "/"), unit: display(s.unit[unit]), runs: min(len(sv), len(pv)), load: s.load}
		scale := scaleOf(s.unit[unit])
		r.signet, r.peer = ms*scale, mp*scale
		r.better = ratio(dir, ms, mp)
		if r.runs > 1 {
			// The worst and best case for signet between the runs.
			if dir > 0 {
				r.low, r.high = ratio(dir, slices.Min(sv), slices.Max(pv)), ratio(dir, slices.Max(sv), slices.Min(pv))
			} else {
				r.low, r.high = ratio(dir, slices.Max(sv), slices.Min(pv)), ratio(dir, slices.Min(sv), slices.Max(pv))
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// better is +1 when higher values of unit are better, -1 when lower ones
// are, 0 for a unit that is not a measurement to compare.
func better(unit string) int {
	switch {
	case unit == "sec/op" || unit == "B/op" || unit == "allocs/op":
		return -1
	case strings.HasSuffix(unit, "/s"):
		return 1 // throughput: appends/s, certs/s, B/s
	case strings.Contains(unit, "/signet"):
		return 0 // a ratio the benchmark computed itself
	default:
		return -1 // latency, CPU, requests per operation
	}
}

// ratio is how many times better signet's value s is than the peer's p.
func ratio(dir int, s, p float64) float64 {
	if dir > 0 {
		return s / p
	}
	return p / s
}

// display is v's unit as the benchmark wrote it (benchfmt turns ns/op
// into sec/op).
func display(v benchfmt.Value) string {
	return cmp.Or(v.OrigUnit, v.Unit)
}

// scaleOf converts v's unit back to the one the benchmark wrote.
func scaleOf(v benchfmt.Value) float64 {
	if v.OrigUnit == "" || v.Value == 0 {
		return 1
	}
	return v.OrigValue / v.Value
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func write(w io.Writer, rows []row) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark {signet,peer}\tmetric\tsignet\tpeer\tsignet better ×\truns\tspread\tloadavg\t")
	for _, r := range rows {
		spread := ""
		if r.runs > 1 {
			spread = fmt.Sprintf("%.2f–%.2f", r.low, r.high)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%d\t%s\t%s\t\n", r.pair, r.unit, num(r.signet), num(r.peer), r.better, r.runs, spread, r.load)
	}
	return tw.Flush()
}

// num prints x with three significant digits or as an integer.
func num(x float64) string {
	if x >= 1000 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.3g", x)
}
