package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Level is the severity of a validation finding.
type Level int

const (
	// LevelError findings reject the resource.
	LevelError Level = iota
	// LevelWarning findings are reported but admit the resource.
	LevelWarning
)

// String returns "Error" or "Warning", as knative does.
func (l Level) String() string {
	switch l {
	case LevelError:
		return "Error"
	case LevelWarning:
		return "Warning"
	default:
		return fmt.Sprintf("<UNKNOWN: %d>", int(l))
	}
}

// FieldError is one validation finding about one or more fields, in the
// shape of knative's apis.FieldError that policy-controller reports:
// Message ("missing field(s)", "invalid value: X"…), the full field Paths
// ("spec.authorities[0].key.data") and optional Details.
type FieldError struct {
	Level   Level
	Message string
	Paths   []string
	Details string
}

// FieldErrors is every finding of a validation. Its Error text is the one
// policy-controller's webhook returns: findings with the same level,
// message and details are merged, paths sorted, then findings sorted by
// message and details, one per line.
type FieldErrors []FieldError

// Error formats the findings as knative's FieldError.Error does.
func (fe FieldErrors) Error() string {
	merged := fe.merged()
	lines := make([]string, 0, len(merged))
	for _, e := range merged {
		line := e.Message + ": " + strings.Join(e.Paths, ", ")
		if e.Details != "" {
			line += "\n" + e.Details
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// Filter returns the findings at level l, or nil.
func (fe FieldErrors) Filter(l Level) FieldErrors {
	var out FieldErrors
	for _, e := range fe {
		if e.Level == l {
			out = append(out, e)
		}
	}
	return out
}

// Err returns the error-level findings as an error, or nil when there are
// none (warnings alone do not reject).
func (fe FieldErrors) Err() error {
	if errs := fe.Filter(LevelError); len(errs) > 0 {
		return errs
	}
	return nil
}

// Warnings returns the warning-level findings, one formatted string each.
func (fe FieldErrors) Warnings() []string {
	var out []string
	for _, e := range fe.Filter(LevelWarning).merged() {
		out = append(out, FieldErrors{e}.Error())
	}
	return out
}

// merged is knative's merge: combine findings that differ only in paths.
func (fe FieldErrors) merged() []FieldError {
	type key struct {
		level            Level
		message, details string
	}
	index := map[key]int{}
	var out []FieldError
	for _, e := range fe {
		k := key{e.Level, e.Message, e.Details}
		i, ok := index[k]
		if !ok {
			index[k] = len(out)
			out = append(out, FieldError{Level: e.Level, Message: e.Message, Details: e.Details})
			i = len(out) - 1
		}
		for _, p := range e.Paths {
			if !slices.Contains(out[i].Paths, p) {
				out[i].Paths = append(out[i].Paths, p)
			}
		}
	}
	for i := range out {
		slices.Sort(out[i].Paths)
	}
	slices.SortStableFunc(out, func(a, b FieldError) int {
		if c := strings.Compare(a.Message, b.Message); c != 0 {
			return c
		}
		if c := strings.Compare(a.Details, b.Details); c != 0 {
			return c
		}
		return int(a.Level) - int(b.Level)
	})
	return out
}

// path is a field path under construction, e.g. "spec.authorities[0]".
type path string

func (p path) child(name string) path {
	if p == "" {
		return path(name)
	}
	return p + "." + path(name)
}

func (p path) index(name string, i int) path {
	return p.child(fmt.Sprintf("%s[%d]", name, i))
}

// findings collects FieldErrors while validating.
type findings struct{ list FieldErrors }

func (f *findings) add(level Level, message, details string, paths ...path) {
	ps := make([]string, len(paths))
	for i, p := range paths {
		ps[i] = string(p)
	}
	f.list = append(f.list, FieldError{Level: level, Message: message, Paths: ps, Details: details})
}

// The constructors below mirror knative's apis.Err* helpers.

func (f *findings) missing(paths ...path) { f.add(LevelError, "missing field(s)", "", paths...) }

func (f *findings) missingOneOf(paths ...path) {
	f.add(LevelError, "expected exactly one, got neither", "", paths...)
}

func (f *findings) multipleOneOf(paths ...path) {
	f.add(LevelError, "expected exactly one, got both", "", paths...)
}

func (f *findings) disallowed(paths ...path) {
	f.add(LevelError, "must not set the field(s)", "", paths...)
}

func (f *findings) invalid(value any, p path, details ...string) {
	f.add(LevelError, fmt.Sprint("invalid value: ", value), strings.Join(details, ", "), p)
}

func (f *findings) invalidWarning(value any, p path, details ...string) {
	f.add(LevelWarning, fmt.Sprint("invalid value: ", value), strings.Join(details, ", "), p)
}
