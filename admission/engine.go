package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/signetproject/signet/policy"
)

// CheckerFactory makes the AuthorityChecker for a set of TrustRoots, the
// trusted material that keyless, ctlog and rfc3161timestamp authorities
// name by trustRootRef. It is called on every policy rebuild.
type CheckerFactory interface {
	NewChecker(trustRoots []*policy.TrustRoot) (policy.AuthorityChecker, error)
}

// CheckerFactoryFunc adapts a function to CheckerFactory.
type CheckerFactoryFunc func(trustRoots []*policy.TrustRoot) (policy.AuthorityChecker, error)

// NewChecker implements CheckerFactory.
func (f CheckerFactoryFunc) NewChecker(trustRoots []*policy.TrustRoot) (policy.AuthorityChecker, error) {
	return f(trustRoots)
}

// RefReader reads the Secrets and ConfigMaps that policies reference.
type RefReader interface {
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
}

// EngineSpec is everything an engine is built from.
type EngineSpec struct {
	// Policies and TrustRoots are the resources as JSON (any served
	// version; v1alpha1 and v1beta1 ClusterImagePolicies decode alike).
	Policies, TrustRoots [][]byte
	// SystemNamespace is the only namespace key secretRefs and policy
	// configMapRefs may name; refs without a namespace mean it.
	SystemNamespace string
	// Checkers makes the engine's AuthorityChecker.
	Checkers CheckerFactory
	// Options are the engine's options.
	Options policy.Options
}

// Built is a policy engine built from a cluster's resources.
type Built struct {
	Engine *policy.Engine
	// Cacheable is false when a policy sees the admitted object (see
	// Snapshot.Cacheable).
	Cacheable bool
	// Problems say which resources cannot be used, and why: each such
	// ClusterImagePolicy fails the images it matches, each such TrustRoot
	// the authorities that name it. Everything else works.
	Problems []error
}

// BuildEngine decodes, inlines and validates the policies and trust roots
// and returns an engine for them. Like policy-controller's reconciler,
// it replaces key secretRefs with the Secret's single data value and
// policy configMapRefs with the ConfigMap's value at the key, so the
// engine and its checker see inline data only.
//
// One broken resource does not stop the others: a policy that does not
// decode or validate, or whose Secret or ConfigMap is missing or unusable,
// is built as unusable (policy.Options.Unusable) and fails, in its mode,
// the images its globs match; an invalid TrustRoot fails the authorities
// that name it (the checker factory gets it and its checker reports it).
// Only a policy whose globs or match clauses cannot be read, so that what
// it applies to is unknown, fails the build (and so every checked image).
func BuildEngine(ctx context.Context, refs RefReader, spec EngineSpec) (*Built, error) {
	if spec.Checkers == nil {
		return nil, errors.New("build policy engine: no checker factory")
	}
	var errs, problems []error
	unusable := map[string]error{}
	cips := make([]*policy.ClusterImagePolicy, 0, len(spec.Policies))
	for _, raw := range spec.Policies {
		c, err := policy.DecodeClusterImagePolicy(raw)
		if err != nil {
			scope, ok := policyScope(raw)
			if !ok {
				errs = append(errs, err)
				continue
			}
			c, unusable[scope.Metadata.Name] = scope, err
			problems = append(problems, err)
			cips = append(cips, c)
			continue
		}
		c.Status = nil
		c.SetDefaults()
		// Validated with the referenced data inlined, as the engine sees it.
		if err := inlineRefs(ctx, refs, spec.SystemNamespace, c); err != nil {
			err = fmt.Errorf("%s %q: %w", policy.KindClusterImagePolicy, c.Metadata.Name, err)
			unusable[c.Metadata.Name] = err
			problems = append(problems, err)
		} else if err := c.Validate(policy.ValidateOptions{AllowEmptyAuthorities: true}).Err(); err != nil {
			err = fmt.Errorf("%s %q is invalid: %w", policy.KindClusterImagePolicy, c.Metadata.Name, err)
			unusable[c.Metadata.Name] = err
			problems = append(problems, err)
		}
		cips = append(cips, c)
	}
	trs := make([]*policy.TrustRoot, 0, len(spec.TrustRoots))
	invalid := map[string]error{} // TrustRoots by name
	for _, raw := range spec.TrustRoots {
		t, err := policy.DecodeTrustRoot(raw)
		if err != nil {
			// Authorities naming it find no such TrustRoot.
			problems = append(problems, err)
			continue
		}
		t.Status = nil
		t.SetDefaults()
		if err := t.Validate().Err(); err != nil {
			err = fmt.Errorf("%s %q is invalid: %w", policy.KindTrustRoot, t.Metadata.Name, err)
			invalid[t.Metadata.Name] = err
			problems = append(problems, err)
			continue
		}
		trs = append(trs, t)
	}
	for _, c := range cips {
		if _, ok := unusable[c.Metadata.Name]; ok {
			continue
		}
		if err := trustRootsUsable(c, invalid); err != nil {
			unusable[c.Metadata.Name] = fmt.Errorf("%s %q: %w", policy.KindClusterImagePolicy, c.Metadata.Name, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("build policy engine: %w", err)
	}
	checker, err := spec.Checkers.NewChecker(trs)
	if err != nil {
		return nil, fmt.Errorf("build policy engine: authority checker: %w", err)
	}
	opts := spec.Options
	opts.Unusable = unusable
	eng, err := policy.NewEngine(cips, checker, opts)
	if err != nil {
		return nil, fmt.Errorf("build policy engine: %w", err)
	}
	cacheable := !slices.ContainsFunc(cips, func(c *policy.ClusterImagePolicy) bool {
		p := c.Spec.Policy
		return p != nil && (isTrue(p.IncludeSpec) || isTrue(p.IncludeObjectMeta) || isTrue(p.IncludeTypeMeta))
	})
	return &Built{Engine: eng, Cacheable: cacheable, Problems: problems}, nil
}

// trustRootsUsable fails a policy with an authority that names an invalid
// TrustRoot.
func trustRootsUsable(c *policy.ClusterImagePolicy, invalid map[string]error) error {
	for i, a := range c.Spec.Authorities {
		var refs []string
		if a.Keyless != nil {
			refs = append(refs, a.Keyless.TrustRootRef)
		}
		if a.CTLog != nil {
			refs = append(refs, a.CTLog.TrustRootRef)
		}
		if a.RFC3161Timestamp != nil {
			refs = append(refs, a.RFC3161Timestamp.TrustRootRef)
		}
		for _, r := range refs {
			if err, ok := invalid[r]; ok {
				return fmt.Errorf("spec.authorities[%d]: %w", i, err)
			}
		}
	}
	return nil
}

// policyScope reads what a ClusterImagePolicy that does not decode
// applies to: its name, globs, match clauses and mode.
func policyScope(raw []byte) (*policy.ClusterImagePolicy, bool) {
	var c struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Images []policy.ImagePattern  `json:"images"`
			Match  []policy.MatchResource `json:"match"`
			Mode   string                 `json:"mode"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.Metadata.Name == "" || len(c.Spec.Images) == 0 {
		return nil, false
	}
	return &policy.ClusterImagePolicy{
		TypeMeta: policy.TypeMeta{APIVersion: policy.V1beta1, Kind: policy.KindClusterImagePolicy},
		Metadata: policy.ObjectMeta{Name: c.Metadata.Name},
		Spec:     policy.ClusterImagePolicySpec{Images: c.Spec.Images, Match: c.Spec.Match, Mode: c.Spec.Mode},
	}, true
}

func isTrue(b *bool) bool { return b != nil && *b }

// inlineRefs replaces the policy's Secret and ConfigMap references by
// their data.
func inlineRefs(ctx context.Context, refs RefReader, systemNS string, c *policy.ClusterImagePolicy) error {
	for i := range c.Spec.Authorities {
		a := &c.Spec.Authorities[i]
		if err := inlineKey(ctx, refs, systemNS, a.Key); err != nil {
			return fmt.Errorf("spec.authorities[%d].key: %w", i, err)
		}
		if a.Keyless != nil {
			if err := inlineKey(ctx, refs, systemNS, a.Keyless.CACert); err != nil {
				return fmt.Errorf("spec.authorities[%d].keyless.ca-cert: %w", i, err)
			}
		}
		for j := range a.Attestations {
			if err := inlinePolicy(ctx, refs, systemNS, a.Attestations[j].Policy); err != nil {
				return fmt.Errorf("spec.authorities[%d].attestations[%d].policy: %w", i, j, err)
			}
		}
	}
	if err := inlinePolicy(ctx, refs, systemNS, c.Spec.Policy); err != nil {
		return fmt.Errorf("spec.policy: %w", err)
	}
	return nil
}

func refNamespace(ns, systemNS string) (string, error) {
	if ns == "" || ns == systemNS {
		return systemNS, nil
	}
	return "", fmt.Errorf("namespace %q: references must name the system namespace %q", ns, systemNS)
}

func inlineKey(ctx context.Context, refs RefReader, systemNS string, k *policy.KeyRef) error {
	if k == nil || k.SecretRef == nil {
		return nil
	}
	ns, err := refNamespace(k.SecretRef.Namespace, systemNS)
	if err != nil {
		return fmt.Errorf("secretRef %s: %w", k.SecretRef.Name, err)
	}
	s, err := refs.Secret(ctx, ns, k.SecretRef.Name)
	if err != nil {
		return fmt.Errorf("secretRef: read secret %s/%s: %w", ns, k.SecretRef.Name, err)
	}
	if len(s.Data) != 1 {
		return fmt.Errorf("secretRef: secret %s/%s has %d data entries, want exactly one (the public key)", ns, s.Name, len(s.Data))
	}
	for _, v := range s.Data {
		k.Data = strings.TrimSpace(string(v)) + "\n"
	}
	k.SecretRef = nil
	return nil
}

func inlinePolicy(ctx context.Context, refs RefReader, systemNS string, p *policy.Policy) error {
	if p == nil || p.ConfigMapRef == nil {
		return nil
	}
	ref := p.ConfigMapRef
	ns, err := refNamespace(ref.Namespace, systemNS)
	if err != nil {
		return fmt.Errorf("configMapRef %s: %w", ref.Name, err)
	}
	cm, err := refs.ConfigMap(ctx, ns, ref.Name)
	if err != nil {
		return fmt.Errorf("configMapRef: read config map %s/%s: %w", ns, ref.Name, err)
	}
	data, ok := cm.Data[ref.Key]
	if !ok {
		return fmt.Errorf("configMapRef: config map %s/%s has no key %q", ns, ref.Name, ref.Key)
	}
	p.Data, p.ConfigMapRef = data, nil
	return nil
}
