package storage

import "testing"

func TestCheckpointSize(t *testing.T) {
	for cp, want := range map[string]uint64{"o\n0\nh\n": 0, "o\n18446744073709551615\nh\n\n— s\n": 1<<64 - 1} {
		if got, err := CheckpointSize([]byte(cp)); err != nil || got != want {
			t.Errorf("CheckpointSize(%q) = %d, %v; want %d", cp, got, err, want)
		}
	}
	for _, cp := range []string{"", "o", "o\n12", "o\n-1\nh\n", "o\n1e3\nh\n", "o\n18446744073709551616\nh\n"} {
		if _, err := CheckpointSize([]byte(cp)); err == nil {
			t.Errorf("CheckpointSize(%q) succeeded", cp)
		}
	}
}

// TestAwaiterIdleDoesNotPoll checks that an idle log does not read its
// checkpoint: the awaiter polls only while appends wait.
