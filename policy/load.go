package policy

import (
	"errors"
	"fmt"
)

// Load decodes a YAML or JSON stream, defaults and validates every
// ClusterImagePolicy and TrustRoot in it, as applying it to a cluster
// would. It returns the resources, the validation warnings (prefixed with
// the resource's kind and name), and an error naming every invalid
// resource. Documents of other kinds are returned in Skipped.
func Load(data []byte, opts ValidateOptions) (*Documents, []string, error) {
	docs, err := DecodeAll(data)
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	var errs []error
	report := func(kind, name string, fe FieldErrors) {
		for _, w := range fe.Warnings() {
			warnings = append(warnings, fmt.Sprintf("%s %q: %s", kind, name, w))
		}
		if err := fe.Err(); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: validation failed: %w", kind, name, err))
		}
	}
	for _, c := range docs.Policies {
		if err := checkVersion(c.APIVersion, V1alpha1, V1beta1); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", KindClusterImagePolicy, c.Metadata.Name, err))
			continue
		}
		c.SetDefaults()
		report(KindClusterImagePolicy, c.Metadata.Name, c.Validate(opts))
	}
	for _, t := range docs.TrustRoots {
		if err := checkVersion(t.APIVersion, V1alpha1); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", KindTrustRoot, t.Metadata.Name, err))
			continue
		}
		t.SetDefaults()
		report(KindTrustRoot, t.Metadata.Name, t.Validate())
	}
	return docs, warnings, errors.Join(errs...)
}
