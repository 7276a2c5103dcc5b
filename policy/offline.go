package policy

// NeedsRegistry reports whether deciding on req may read a registry: a
// policy that matches it has an authority other than a static one, or
// fetches the image's config files. When it returns false, Evaluate
// decides from the request alone (static authorities, CUE and Rego over
// the object), so callers need neither resolve tags nor reach a registry
// or trust root. A matching error needs no registry to deny.
func (e *Engine) NeedsRegistry(req Request) bool {
	for _, p := range e.policies {
		ok, err := e.matches(p, req)
		if err != nil || !ok {
			continue
		}
		if p.Spec.Policy != nil && isTrue(p.Spec.Policy.FetchConfigFile) {
			return true
		}
		for _, a := range p.Spec.Authorities {
			if a.Static == nil {
				return true
			}
		}
	}
	return false
}
