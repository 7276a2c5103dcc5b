package guard

import "testing"

func TestCheck(t *testing.T) {
	if Check(-1) == nil {
		t.Error("Check(-1) accepted")
	}
	if err := Check(5); err != nil {
		t.Error(err)
	}
	if !Even(2) {
		t.Error("Even(2) false")
	}
}
