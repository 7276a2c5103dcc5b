package policy

import (
	"encoding/json"
	"fmt"
)

// ConvertTo returns a copy of the policy at apiVersion version (V1alpha1 or
// V1beta1).
//
// The two versions have the same schema — policy-controller v0.13.1's
// v1alpha1 and v1beta1 Go types and CRD schemas differ only in the version
// name — so conversion copies every field. (policy-controller's own
// conversion drops a ctlog without a url and an rfc3161timestamp without a
// trustRootRef; signet's keeps them, so a round trip is lossless.)
func (c *ClusterImagePolicy) ConvertTo(version string) (*ClusterImagePolicy, error) {
	if err := checkVersion(version, V1alpha1, V1beta1); err != nil {
		return nil, fmt.Errorf("convert %s: %w", c.Metadata.Name, err)
	}
	out, err := c.DeepCopy()
	if err != nil {
		return nil, fmt.Errorf("convert %s: %w", c.Metadata.Name, err)
	}
	out.APIVersion = version
	out.Kind = KindClusterImagePolicy
	return out, nil
}

// DeepCopy returns a copy of the policy that shares no memory with it.
func (c *ClusterImagePolicy) DeepCopy() (*ClusterImagePolicy, error) {
	// Every field is plain data with a JSON tag, so a JSON round trip is an
	// exact copy.
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("copy policy: %w", err)
	}
	var out ClusterImagePolicy
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("copy policy: %w", err)
	}
	return &out, nil
}
