package policy

import "fmt"

// DefaultFulcioURL is the keyless url policy-controller defaults to.
const DefaultFulcioURL = "https://fulcio.sigstore.dev"

// SetDefaults fills in what policy-controller's defaulting webhook does
// before validation: mode "enforce", authority names "authority-<index>",
// and the public Fulcio url for keyless authorities that name neither a url
// nor a ca-cert.
func (c *ClusterImagePolicy) SetDefaults() {
	s := &c.Spec
	if s.Mode == "" {
		s.Mode = ModeEnforce
	}
	for i := range s.Authorities {
		a := &s.Authorities[i]
		if a.Name == "" {
			a.Name = fmt.Sprintf("authority-%d", i)
		}
		if a.Key == nil && a.Static == nil && a.Keyless != nil && a.Keyless.CACert == nil && a.Keyless.URL == "" {
			a.Keyless.URL = DefaultFulcioURL
		}
	}
}

// SetDefaults fills in the TUF targets directory, "targets", as
// policy-controller does.
func (t *TrustRoot) SetDefaults() {
	if r := t.Spec.Repository; r != nil && r.Targets == "" {
		r.Targets = "targets"
	}
	if r := t.Spec.Remote; r != nil && r.Targets == "" {
		r.Targets = "targets"
	}
}
