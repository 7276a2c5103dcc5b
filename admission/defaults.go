package admission

import (
	"net"

	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/policy"
	"github.com/signetproject/signet/trustroot"
)

// Placement says where the webhook runs, which decides the defaults of
// the ServeConfig settings an operator leaves out.
type Placement struct {
	// InCluster: the webhook runs in a pod, with a service account.
	InCluster bool
	// PodNamespace is the pod's namespace ($POD_NAMESPACE from the
	// downward API), if known.
	PodNamespace string
}

// ListenAddr is where the webhook listens by default: every interface in
// a cluster, since the Service sends traffic to the pod's IP; loopback
// beside one.
func (p Placement) ListenAddr() string {
	if p.InCluster {
		return "0.0.0.0:8443"
	}
	return "127.0.0.1:8443"
}

// Namespace is the default system namespace: the pod's, else
// DefaultNamespace.
func (p Placement) Namespace() string {
	if p.PodNamespace != "" {
		return p.PodNamespace
	}
	return DefaultNamespace
}

// CASecret is the default Secret through which replicas share one
// webhook CA: DefaultCASecret in a cluster; none beside one, where the CA
// in the certificate directory is the only one.
func (p Placement) CASecret() string {
	if p.InCluster {
		return DefaultCASecret
	}
	return ""
}

// PatchCABundle says whether the webhook writes its CA into the webhook
// configurations by default: in a cluster, where they come from
// deploy/ YAML without one.
func (p Placement) PatchCABundle() bool { return p.InCluster }

// Hosts are the default SANs of the serving certificate: the DNS names of
// the Service in namespace in a cluster; else the IP the webhook listens
// on (loopback when it listens on every interface).
func (p Placement) Hosts(listen net.Addr, service, namespace string) []string {
	if p.InCluster {
		return []string{service + "." + namespace + ".svc", service + "." + namespace + ".svc.cluster.local"}
	}
	ip := net.IPv4(127, 0, 0, 1)
	if a, ok := listen.(*net.TCPAddr); ok && a.IP != nil && !a.IP.IsUnspecified() {
		ip = a.IP
	}
	return []string{ip.String()}
}

// RegistryCheckers checks key and keyless authorities against the
// signatures and attestations read through registry. Keyless authorities
// chain to the TrustRoots they name, else to tr; with an empty tr only key
// and static authorities can pass.
func RegistryCheckers(registry *oci.Client, tr *trustroot.TrustedRoot) CheckerFactory {
	if tr == nil {
		tr = &trustroot.TrustedRoot{}
	}
	return CheckerFactoryFunc(func(trs []*policy.TrustRoot) (policy.AuthorityChecker, error) {
		return policy.NewRegistryChecker(registry, tr, policy.CheckerOptions{TrustRoots: trs}), nil
	})
}

// EngineOptions are the policy engine's options for a no-match policy,
// with the CUE and Rego evaluator unless evaluator is given.
func EngineOptions(noMatch policy.NoMatchPolicy, evaluator policy.PolicyEvaluator) (policy.Options, error) {
	opts := policy.Options{NoMatch: noMatch, Evaluator: evaluator}
	if err := opts.Validate(); err != nil {
		return opts, err
	}
	if opts.Evaluator == nil {
		eval, err := policy.NewEvaluator(policy.EvaluatorOptions{})
		if err != nil {
			return opts, err
		}
		opts.Evaluator = eval
	}
	return opts, nil
}
