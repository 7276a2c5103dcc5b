package policy

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
)

// kmsSchemes are the KMS URI schemes sigstore supports, in
// policy-controller's order (it prints the list in an error message).
var kmsSchemes = []string{"awskms://", "azurekms://", "hashivault://", "gcpkms://"}

var errKMSReference = errors.New("kms key should be in the format awskms://[ENDPOINT]/[ID/ALIAS/ARN] (endpoint optional)")

// AWS key references, as policy-controller recognises them, compiled on
// first use.
var awsKMSPatterns = sync.OnceValue(func() []*regexp.Regexp {
	const (
		uuid = `m?r?k?-?[A-Fa-f0-9]{8}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{12}`
		arn  = `arn:(?:aws|aws-us-gov|aws-cn):kms:[a-z0-9-]+:\d{12}:`
		host = `([^/]*)/`
	)
	return []*regexp.Regexp{
		regexp.MustCompile(`^awskms://` + host + `(` + uuid + `)$`),
		regexp.MustCompile(`^awskms://` + host + `(` + arn + `key/` + uuid + `)$`),
		regexp.MustCompile(`^awskms://` + host + `((alias/.*))$`),
		regexp.MustCompile(`^awskms://` + host + `(` + arn + `(alias/.*))$`),
	}
})

// ValidateKMS checks a key.kms URI: one of the supported schemes and, for
// AWS, a key or alias ARN with an optional host:port endpoint — the same
// acceptance and messages as policy-controller.
func ValidateKMS(kms string) error {
	supported := false
	for _, s := range kmsSchemes {
		if strings.HasPrefix(kms, s) {
			supported = true
			break
		}
	}
	if !supported {
		return fmt.Errorf("malformed KMS format, should be prefixed by any of the supported providers: %v", kmsSchemes)
	}
	if strings.HasPrefix(kms, "awskms://") {
		return validateAWSKMS(kms)
	}
	return nil
}

func validateAWSKMS(kms string) error {
	parts := strings.Split(kms, "/")
	if len(parts) < 4 {
		return errors.New("malformed AWS KMS format 'awskms://$ENDPOINT/$KEYID', should be conformant with KMS standard documented here: https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id")
	}
	matched := false
	for _, re := range awsKMSPatterns() {
		if re.MatchString(kms) {
			matched = true
			break
		}
	}
	if !matched {
		return errKMSReference
	}
	endpoint := parts[2]
	// "awskms://arn:..." puts the key where the endpoint goes.
	if strings.HasPrefix(endpoint, "arn") || strings.HasPrefix(endpoint, "alias") {
		return errKMSReference
	}
	if endpoint != "" {
		if _, _, err := net.SplitHostPort(endpoint); err != nil {
			return fmt.Errorf("malformed endpoint: %w", err)
		}
	}
	resource, err := arnResource(parts[3])
	if err != nil {
		return fmt.Errorf("failed to parse either key or alias arn: %w", err)
	}
	// Only key and alias ARNs are supported: bare key ids and alias names
	// are not.
	if resource != "key" && resource != "alias" {
		return fmt.Errorf("unsupported ARN resource %q, want key or alias", resource)
	}
	return nil
}

// arnResource returns the resource section of an AWS ARN
// ("arn:partition:service:region:account:resource"), with the AWS SDK's
// errors.
func arnResource(arn string) (string, error) {
	if !strings.HasPrefix(arn, "arn:") {
		return "", errors.New("arn: invalid prefix")
	}
	sections := strings.SplitN(arn, ":", 6)
	if len(sections) != 6 {
		return "", errors.New("arn: not enough sections")
	}
	return sections[5], nil
}
