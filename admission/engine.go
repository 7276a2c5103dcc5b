package admission

import (
	"context"
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

// BuildEngine decodes, inlines and validates the policies and trust roots
// and returns an engine for them, and whether its decisions may be cached
// per image (see Snapshot.Cacheable). Like policy-controller's reconciler,
// it replaces key secretRefs with the Secret's single data value and
// policy configMapRefs with the ConfigMap's value at the key, so the
// engine and its checker see inline data only.
func BuildEngine(ctx context.Context, refs RefReader, spec EngineSpec) (*policy.Engine, bool, error) {
	if spec.Checkers == nil {
		return nil, false, errors.New("build policy engine: no checker factory")
	}
	var errs []error
	cips := make([]*policy.ClusterImagePolicy, 0, len(spec.Policies))
	for _, raw := range spec.Policies {
		c, err := policy.DecodeClusterImagePolicy(raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.Status = nil
		if err := inlineRefs(ctx, refs, spec.SystemNamespace, c); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", policy.KindClusterImagePolicy, c.Metadata.Name, err))
			continue
		}
		cips = append(cips, c)
	}
	trs := make([]*policy.TrustRoot, 0, len(spec.TrustRoots))
	for _, raw := range spec.TrustRoots {
		t, err := policy.DecodeTrustRoot(raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t.Status = nil
		t.SetDefaults()
		if err := t.Validate().Err(); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", policy.KindTrustRoot, t.Metadata.Name, err))
			continue
		}
		trs = append(trs, t)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, false, fmt.Errorf("build policy engine: %w", err)
	}
	checker, err := spec.Checkers.NewChecker(trs)
	if err != nil {
		return nil, false, fmt.Errorf("build policy engine: authority checker: %w", err)
	}
	eng, err := policy.NewEngine(cips, checker, spec.Options)
	if err != nil {
		return nil, false, fmt.Errorf("build policy engine: %w", err)
	}
	cacheable := !slices.ContainsFunc(cips, func(c *policy.ClusterImagePolicy) bool {
		p := c.Spec.Policy
		return p != nil && (isTrue(p.IncludeSpec) || isTrue(p.IncludeObjectMeta) || isTrue(p.IncludeTypeMeta))
	})
	return eng, cacheable, nil
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
