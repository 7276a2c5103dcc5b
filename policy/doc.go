// Package policy is signet's model of policy-controller's admission
// policies: the ClusterImagePolicy (policy.sigstore.dev v1alpha1 and
// v1beta1) and TrustRoot resources, their defaulting and validation with
// policy-controller's error messages, image glob matching, resource matching,
// and the decision semantics that turn per-authority verification results
// into an admit / warn / deny decision for an image.
//
// The package is pure: it imports no Kubernetes code and does no I/O of
// its own. Signature and attestation verification, and CUE or Rego
// evaluation, are supplied by the caller through the small interfaces
// [AuthorityChecker] and [PolicyEvaluator], so the engine can be tested with
// fakes and reused by the admission webhook and by `signet policy test`.
// [Evaluator] is the PolicyEvaluator for CUE and Rego; it reads ConfigMap
// and remote policies only through the [ConfigMapGetter] and [HTTPDoer]
// it is given.
//
// The behaviour follows github.com/sigstore/policy-controller v0.13.1;
// deliberate differences are documented on the functions that have them.
package policy
