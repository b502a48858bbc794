package tests

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The i386 oracle. Where the host runs i386 programs, an i386 guest (and a
// 64-bit guest that execs its i386 sibling) is run natively, as every other
// guest is, and its result must also equal the golden file committed for
// it, so that the golden files cannot rot. Where the host refuses i386
// programs (a kernel without IA32 emulation, ia32_emulation=false, a
// sandbox), the golden file stands in for the native run. A golden file is
// never cmaemu's own output: `make golden` records it natively where the
// host can, and elsewhere from the fallback oracles of golden_i386_test.go.
//
// CMAEMU_I386_ORACLE selects the oracle: "golden" forces the golden files
// on any host (make test runs the i386 guests once that way), "native"
// forces native runs (and fails where the host cannot run them); unset or
// "auto" decides by running one i386 guest.
const oracleEnv = "CMAEMU_I386_ORACLE"

// GoldenDir holds the golden files, relative to the repository root:
// NAME.VARIANT.out (stdout), NAME.VARIANT.err (stderr, for guests whose
// stderr is compared) and NAME.VARIANT.status (how the guest ended and
// where the file came from).
const GoldenDir = "testdata/golden"

// Golden is the recorded result of one guest variant.
type Golden struct {
	Stdout, Stderr string
	Status         Status
	Source         string // where the result came from, one line
}

// Result is the golden file as a native run's result.
func (g Golden) Result() Result {
	return Result{Stdout: g.Stdout, Stderr: g.Stderr, Status: g.Status}
}

func goldenBase(t testing.TB, name, variant string) string {
	return filepath.Join(RepoRoot(t), GoldenDir, name+"."+variant)
}

// LoadGolden reads the golden file of guest entry name, variant. ok is
// false when there is none.
func LoadGolden(t testing.TB, name, variant string, withStderr bool) (g Golden, ok bool) {
	t.Helper()
	base := goldenBase(t, name, variant)
	meta, err := os.ReadFile(base + ".status")
	if errors.Is(err, os.ErrNotExist) {
		return g, false
	}
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(meta)), "\n") {
		key, val, _ := strings.Cut(line, ": ")
		switch key {
		case "status":
			g.Status, err = ParseStatus(val)
			require.NoError(t, err, "%s.status", base)
		case "source":
			g.Source = val
		default:
			t.Fatalf("%s.status: unknown line %q", base, line)
		}
	}
	out, err := os.ReadFile(base + ".out")
	require.NoError(t, err)
	g.Stdout = string(out)
	if withStderr {
		errOut, err := os.ReadFile(base + ".err")
		require.NoError(t, err)
		g.Stderr = string(errOut)
	}
	return g, true
}

// WriteGolden records g as the golden file of name, variant.
func WriteGolden(t testing.TB, name, variant string, g Golden, withStderr bool) {
	t.Helper()
	base := goldenBase(t, name, variant)
	require.NoError(t, os.MkdirAll(filepath.Dir(base), 0o755))
	meta := fmt.Sprintf("status: %s\nsource: %s\n", g.Status.Golden(), g.Source)
	require.NoError(t, os.WriteFile(base+".status", []byte(meta), 0o644))
	require.NoError(t, os.WriteFile(base+".out", []byte(g.Stdout), 0o644))
	if withStderr {
		require.NoError(t, os.WriteFile(base+".err", []byte(g.Stderr), 0o644))
	}
}

// Golden is s as a golden .status file spells it: "exit N" or "signal N".
func (s Status) Golden() string {
	if s.Signal != 0 {
		return fmt.Sprintf("signal %d", int(s.Signal))
	}
	return fmt.Sprintf("exit %d", s.Code)
}

// ParseStatus reads a Status spelled by Status.Golden.
func ParseStatus(s string) (Status, error) {
	kind, num, ok := strings.Cut(s, " ")
	n, err := strconv.Atoi(num)
	switch {
	case !ok || err != nil || n < 0 || n > 255:
		return Status{}, fmt.Errorf("bad status %q", s)
	case kind == "exit":
		return Exited(n), nil
	case kind == "signal" && n > 0 && n < 65:
		return Killed(syscall.Signal(n)), nil
	}
	return Status{}, fmt.Errorf("bad status %q", s)
}

// NeedsI386 reports whether running variant of g natively needs the host
// to run i386 programs.
func (g Guest) NeedsI386(variant string) bool {
	return variant == I386 || variant == I386Dyn || g.CrossABI
}

// goldenVariant is the variant whose golden file is variant's oracle: the
// dynamic i386 build shares the static one's.
func goldenVariant(variant string) string {
	if variant == I386Dyn {
		return I386
	}
	return variant
}

var (
	i386Once   sync.Once
	i386Native bool
	i386Err    error
)

// I386Native reports whether the i386 oracle is the native run (true) or
// the golden files (false), as CMAEMU_I386_ORACLE and the host decide.
func I386Native(t testing.TB) bool {
	t.Helper()
	i386Once.Do(func() {
		switch mode := os.Getenv(oracleEnv); mode {
		case "golden":
			i386Native = false
		case "native":
			i386Native = true
		case "", "auto":
			i386Native, i386Err = hostRunsI386(GuestPath(t, "exitcode", I386))
		default:
			i386Err = fmt.Errorf("%s=%q: want golden, native or auto", oracleEnv, mode)
		}
	})
	require.NoError(t, i386Err)
	return i386Native
}

// hostRunsI386 runs an i386 program that exits 0. ENOEXEC means the host
// refuses i386 programs; anything else unexpected is an error.
func hostRunsI386(prog string) (bool, error) {
	err := exec.Command(prog, "0").Run()
	if errors.Is(err, syscall.ENOEXEC) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("probing native i386 with %s: %w", prog, err)
	}
	return true, nil
}

// Oracle is the reference result of a guest variant: its native run, or,
// for a run that needs i386 on a host that cannot give it, the golden
// file. Where both exist they must agree; where neither does the test
// fails.
func Oracle(t *testing.T, g Guest, variant, prog string, args, env []string, dir string) Result {
	t.Helper()
	if !g.NeedsI386(variant) {
		return checkNative(t, g, RunNative(t, prog, args, env, dir, g.Stdin))
	}
	golden, ok := LoadGolden(t, g.Name, goldenVariant(variant), g.Stderr)
	if !I386Native(t) {
		require.True(t, ok, "this host does not run i386 programs and %s.%s.* has no golden file: "+
			"record it with `make golden` (see %s/README.md)", filepath.Join(GoldenDir, g.Name), variant, GoldenDir)
		return checkNative(t, g, golden.Result())
	}
	native := checkNative(t, g, RunNative(t, prog, args, env, dir, g.Stdin))
	require.True(t, ok, "%s.%s.* has no golden file: record it with `make golden`", filepath.Join(GoldenDir, g.Name), variant)
	msg := "the native run differs from the golden file (source: %s); if the guest changed, re-record with `make golden`"
	assert.Equal(t, golden.Stdout, native.Stdout, msg, golden.Source)
	assert.Equal(t, golden.Status.String(), native.Status.String(), msg, golden.Source)
	if g.Stderr {
		assert.Equal(t, golden.Stderr, native.Stderr, msg, golden.Source)
	}
	return native
}

// EmulatorFlags are the flags of cmaemu run for g's variant: --uid 0
// --gid 0 for an AsRoot guest whose oracle is a golden file (recorded as
// root) when the tests do not run as root.
func EmulatorFlags(t *testing.T, g Guest, variant string) []string {
	t.Helper()
	if g.AsRoot && os.Geteuid() != 0 && g.NeedsI386(variant) && !I386Native(t) {
		return []string{"--uid", "0", "--gid", "0"}
	}
	return nil
}

// checkNative requires the oracle's result to be the one the guest is
// written to give.
func checkNative(t *testing.T, g Guest, r Result) Result {
	t.Helper()
	require.False(t, r.TimedOut, "native run timed out after %v", RunTimeout)
	require.Equal(t, g.Want.String(), r.Status.String(),
		"the guest misbehaves natively (fix the guest, not cmaemu); stdout:\n%s\nstderr:\n%s",
		r.Stdout, r.Stderr)
	return r
}

func TestParseStatus(t *testing.T) {
	for _, s := range []Status{Exited(0), Exited(42), Exited(255), Killed(syscall.SIGSEGV), Killed(syscall.SIGILL)} {
		got, err := ParseStatus(s.Golden())
		require.NoError(t, err)
		assert.Equal(t, s, got)
	}
	for _, bad := range []string{"", "exit", "exit -1", "exit 256", "signal 0", "signal x", "killed 9", "exit 1 2"} {
		_, err := ParseStatus(bad)
		assert.Error(t, err, "%q", bad)
	}
}

// TestGoldenComplete checks that every guest variant that needs i386 has
// a golden file, and that no golden file is left without a guest.
func TestGoldenComplete(t *testing.T) {
	want := map[string]bool{}
	for _, g := range guests {
		for _, v := range g.variants() {
			if !g.NeedsI386(v) || v == I386Dyn {
				continue
			}
			want[g.Name+"."+v] = true
			_, ok := LoadGolden(t, g.Name, v, g.Stderr)
			assert.True(t, ok, "no golden file for %s.%s: run `make golden`", g.Name, v)
		}
	}
	files, err := filepath.Glob(filepath.Join(RepoRoot(t), GoldenDir, "*.status"))
	require.NoError(t, err)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".status")
		assert.True(t, want[name], "%s: no guest variant of the table needs it", f)
	}
}
