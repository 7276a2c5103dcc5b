package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Resource is the Kubernetes object an image was found in, for
// spec.match.
type Resource struct {
	Group    string // "" for the core group, "apps", "batch"…
	Version  string // "v1"
	Resource string // plural, lower case: "pods", "deployments"
	Labels   map[string]string
}

// ResourceForKind guesses a resource from an apiVersion ("apps/v1", "v1")
// and kind ("Deployment") the way policy-controller does (Kubernetes'
// UnsafeGuessKindToResource): lower-case the kind and pluralise it.
func ResourceForKind(apiVersion, kind string, labels map[string]string) (Resource, error) {
	group, version, ok := strings.Cut(apiVersion, "/")
	if !ok {
		group, version = "", apiVersion
	}
	if strings.Contains(version, "/") {
		return Resource{}, fmt.Errorf("unexpected GroupVersion string: %s", apiVersion)
	}
	return Resource{Group: group, Version: version, Resource: pluralise(kind), Labels: labels}, nil
}

func pluralise(kind string) string {
	if kind == "" {
		return ""
	}
	s := strings.ToLower(kind)
	switch {
	case strings.HasSuffix(s, "endpoints"):
		return s
	case strings.HasSuffix(s, "s"):
		return s + "es"
	case strings.HasSuffix(s, "y"):
		return strings.TrimSuffix(s, "y") + "ies"
	default:
		return s + "s"
	}
}

// MatchesResource reports whether the policy applies to objects of this
// resource: true when spec.match is empty, otherwise when some entry has
// the same resource and group, the same version or "*", and a selector (if
// any) that the labels satisfy. A malformed selector is an error, which
// callers should treat as a failure to evaluate, not as "no match".
func (c *ClusterImagePolicy) MatchesResource(r Resource) (bool, error) {
	if len(c.Spec.Match) == 0 {
		return true, nil
	}
	for _, m := range c.Spec.Match {
		if m.Resource != r.Resource || m.Group != r.Group || (m.Version != r.Version && m.Version != "*") {
			continue
		}
		if m.Selector != nil {
			ok, err := m.Selector.Matches(r.Labels)
			if err != nil {
				return false, fmt.Errorf("policy %q: policy with wrong match label selector: %w", c.Metadata.Name, err)
			}
			if !ok {
				continue
			}
		}
		return true, nil
	}
	return false, nil
}

// Label selector operators.
const (
	OpIn           = "In"
	OpNotIn        = "NotIn"
	OpExists       = "Exists"
	OpDoesNotExist = "DoesNotExist"
)

// Matches reports whether labels satisfy the selector, with Kubernetes'
// semantics: every matchLabels pair and every matchExpressions requirement
// must hold; an empty selector matches everything.
func (s *LabelSelector) Matches(labels map[string]string) (bool, error) {
	if err := s.validate(); err != nil {
		return false, err
	}
	for k, v := range s.MatchLabels {
		if got, ok := labels[k]; !ok || got != v {
			return false, nil
		}
	}
	for _, req := range s.MatchExpressions {
		got, has := labels[req.Key]
		var ok bool
		switch req.Operator {
		case OpIn:
			ok = has && slices.Contains(req.Values, got)
		case OpNotIn:
			ok = !has || !slices.Contains(req.Values, got)
		case OpExists:
			ok = has
		case OpDoesNotExist:
			ok = !has
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

func (s *LabelSelector) validate() error {
	var errs []error
	for i, req := range s.MatchExpressions {
		if req.Key == "" {
			errs = append(errs, fmt.Errorf("matchExpressions[%d].key: must not be empty", i))
		}
		switch req.Operator {
		case OpIn, OpNotIn:
			if len(req.Values) == 0 {
				errs = append(errs, fmt.Errorf("matchExpressions[%d].values: for 'in', 'notin' operators, values set can't be empty", i))
			}
		case OpExists, OpDoesNotExist:
			if len(req.Values) > 0 {
				errs = append(errs, fmt.Errorf("matchExpressions[%d].values: values set must be empty for exists and does not exist", i))
			}
		default:
			errs = append(errs, fmt.Errorf("matchExpressions[%d].operator: %q is not a valid label selector operator", i, req.Operator))
		}
	}
	return errors.Join(errs...)
}

// MatchesImage reports whether any of the policy's globs matches the
// image. Like policy-controller, a glob error does not hide a match by
// another glob; it is returned only when no glob matched.
func (c *ClusterImagePolicy) MatchesImage(image string) (bool, error) {
	var lastErr error
	for _, p := range c.Spec.Images {
		if p.Glob == "" {
			continue
		}
		ok, err := MatchGlob(p.Glob, image)
		if err != nil {
			lastErr = err
			continue
		}
		if ok {
			return true, nil
		}
	}
	return false, lastErr
}
