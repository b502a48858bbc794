package tests

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The soak: testdata/src/soak.c forks worker processes that do random
// CMA between each other (bad calls and exiting targets included),
// fork/exit, mmap churn, shared file and shared anonymous memory, and
// signals, each checked against a model; its summary is the same on every
// run. The guest table runs a small soak as a differential guest;
// TestSoak runs the big one (256 workers) natively and under cmaemu with
// the frame count reported, so that the frames in use at the end must be
// those at the start. `make soak` runs it long under the race build.
var soakGuests = []Guest{
	{Name: "soak", Args: []string{DirArg}, Variants: []string{Glibc, Musl}, Want: Exited(0), CMA: true},
}

func init() { guests = append(guests, soakGuests...) }

// soakSetting is an integer from the environment, or def.
func soakSetting(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, "%s=%q", name, v)
	return n
}

var framesLine = regexp.MustCompile(`^cmaemu: frames: (\d+) in use at start, (\d+) at end, (\d+) at most \((\d+) MiB\)\n$`)

// TestSoak runs SOAK_WORKERS (256) workers of SOAK_OPS (16) operations
// each from SOAK_SEED (1), natively and under cmaemu (CMAEMU: the race
// build in make test and make soak), with SOAK_TIMEOUT (60 s) for each
// run, for the variants in SOAK_VARIANTS (glibc).
func TestSoak(t *testing.T) {
	cmaemu := CmaemuPath(t)
	workers := soakSetting(t, "SOAK_WORKERS", 256)
	ops := soakSetting(t, "SOAK_OPS", 16)
	seed := soakSetting(t, "SOAK_SEED", 1)
	timeout := time.Duration(soakSetting(t, "SOAK_TIMEOUT", 60)) * time.Second
	variants := strings.Fields(os.Getenv("SOAK_VARIANTS"))
	if len(variants) == 0 {
		variants = []string{Glibc}
	}
	for _, v := range variants {
		t.Run(v, func(t *testing.T) {
			prog := GuestPath(t, "soak", v)
			args := []string{"", strconv.Itoa(workers), strconv.Itoa(ops), strconv.Itoa(seed)}
			run := func(argv []string) (Result, time.Duration) {
				dir := t.TempDir()
				args[0] = dir
				start := time.Now()
				r := Exec(t, Run{Argv: append(argv, args...), Env: GuestEnv(nil), Dir: dir, Timeout: timeout})
				AssertDirEmpty(t, dir, argv[0])
				return r, time.Since(start)
			}
			native, tn := run([]string{prog})
			require.False(t, native.TimedOut, "native run timed out after %v", timeout)
			require.Equal(t, Exited(0).String(), native.Status.String(), "natively: stdout:\n%s\nstderr:\n%s", native.Stdout, native.Stderr)
			emu, te := run([]string{cmaemu, "run", "--watchdog", (timeout / 2).String(), "--check-frames=report", "--", prog})
			require.False(t, emu.TimedOut, "cmaemu timed out after %v; stdout so far:\n%s\nstderr:\n%s", timeout, emu.Stdout, emu.Stderr)
			assert.Equal(t, native.Stdout, emu.Stdout, "stdout differs")
			assert.Equal(t, Exited(0).String(), emu.Status.String(), "cmaemu stderr:\n%s", emu.Stderr)
			AssertNoPanic(t, emu.Stderr)
			m := framesLine.FindStringSubmatch(emu.Stderr)
			if assert.NotNil(t, m, "cmaemu's stderr is one line of frame figures:\n%s", emu.Stderr) {
				assert.Equal(t, m[1], m[2], "frames in use at the end")
				t.Logf("soak %s: %d workers x %d operations, seed %d: native %v, cmaemu %v (%s); frames at start %s, at end %s, at most %s (%s MiB)",
					v, workers, ops, seed, tn.Round(time.Millisecond), te.Round(time.Millisecond), cmaemu, m[1], m[2], m[3], m[4])
			}
		})
	}
}
