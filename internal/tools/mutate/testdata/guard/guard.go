// Package guard is a target for mutate's self-test: one guard its test
// covers, one it does not.
package guard

import "errors"

// Check rejects negative and large numbers.
func Check(n int) error {
	if n < 0 {
		return errors.New("negative")
	}
	if n > 100 {
		return errors.New("too big")
	}
	return nil
}

// Even reports whether n is even.
func Even(n int) bool {
	return n%2 == 0
}
