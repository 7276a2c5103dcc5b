// Package admission is signet's Kubernetes adapter for the policy engine:
// a validating webhook (AdmissionReview v1) that finds the images of Pods
// and the workloads that make Pods, and asks a [policy.Engine] whether
// each may run; an optional mutating webhook that pins image tags to
// digests; a decision cache with singleflight; informers that rebuild the
// engine whenever ClusterImagePolicies, TrustRoots or the Secrets and
// ConfigMaps they reference change; registry credentials from a pod's
// imagePullSecrets and service account; and the installer for the CRDs
// and webhook configurations.
//
// Decisions are the policy package's; this package only translates between
// Kubernetes objects and policy requests. It fails closed: every internal
// error (a namespace that cannot be looked up, a tag that cannot be
// resolved, policies that do not load, a timeout) denies the object and is
// counted in the signet_admission_internal_errors_total metric.
package admission
