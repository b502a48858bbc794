package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestForkBomb runs a fork bomb (rel_tasks bomb: every process forks up
// to 8 children, 4 levels deep, thousands in all) under a task limit of
// 64: fork must fail with EAGAIN, never another error, and cmaemu must
// end normally with the guest's status, without an internal error. It
// is never run natively.
func TestForkBomb(t *testing.T) {
	cmaemu := CmaemuPath(t)
	for _, v := range procVariants {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			prog := GuestPath(t, "rel_tasks", v)
			r := RunEmulated(t, cmaemu, []string{"--max-tasks", "64"}, prog, []string{"bomb"}, GuestEnv(nil), t.TempDir(), "")
			require.False(t, r.TimedOut, "cmaemu timed out; stderr:\n%s", r.Stderr)
			assert.Equal(t, "bomb: fork failed with EAGAIN: yes, with another error: no, exited=0\n", r.Stdout)
			assert.Equal(t, Exited(0).String(), r.Status.String(), "stderr:\n%s", r.Stderr)
			assert.Empty(t, r.Stderr)
			AssertNoPanic(t, r.Stderr)
		})
	}
}
