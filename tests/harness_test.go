// Package tests holds cmaemu's end-to-end tests: the differential harness
// runs each test guest (testdata/src/*.c, built by testdata/Makefile)
// natively and under `bin/cmaemu run --` and requires the same stdout and
// the same exit status; the CLI tests feed cmaemu bad input.
//
// This file has the harness's helpers; diff_test.go has the tables and the
// tests.
package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// RunTimeout bounds every process the harness starts, so that a hang fails
// the test instead of blocking it.
const RunTimeout = 60 * time.Second

// Guest build variants: testdata/bin/NAME.VARIANT.
const (
	Glibc = "glibc" // x86-64, gcc -static
	Musl  = "musl"  // x86-64, musl-gcc -static
	I386  = "i386"  // i386, gcc -m32 -static
	// I386Dyn is the i386 build linked dynamically with the host's
	// multiarch libc (gcc -m32): its oracle is the i386 one, the native
	// run or the .i386 golden file.
	I386Dyn = "i386dyn"
)

// AllVariants lists every variant testdata/Makefile knows, in build order.
var AllVariants = []string{Glibc, Musl, I386, I386Dyn}

// Status is how a process ended: an exit code, or death by a signal.
type Status struct {
	Code   int            // exit code; meaningful when Signal == 0
	Signal syscall.Signal // non-zero: the process was killed by this signal
}

// Exited is the Status of a process that exited with code.
func Exited(code int) Status { return Status{Code: code} }

// Killed is the Status of a process killed by sig.
func Killed(sig syscall.Signal) Status { return Status{Signal: sig} }

func (s Status) String() string {
	if s.Signal != 0 {
		return fmt.Sprintf("killed by signal %d (%v)", int(s.Signal), s.Signal)
	}
	return fmt.Sprintf("exit %d", s.Code)
}

// Emulated is the status cmaemu must end with when its guest ends with s:
// the guest's own exit code, or 128+N when the guest dies by signal N.
func (s Status) Emulated() Status {
	if s.Signal != 0 {
		return Exited(128 + int(s.Signal))
	}
	return s
}

// Result is what one process run produced.
type Result struct {
	Stdout, Stderr string
	Status         Status
	TimedOut       bool // killed after RunTimeout; Status is then meaningless
}

// Run describes one process to start.
type Run struct {
	Argv  []string // Argv[0] is both the program's path and its argv[0]
	Env   []string // the complete environment
	Dir   string   // working directory
	Stdin string   // standard input; empty means /dev/null
	// Timeout, if > 0, replaces RunTimeout (long soak runs).
	Timeout time.Duration
}

// Exec starts r, waits at most RunTimeout (or r.Timeout) for it and
// returns its result. A failure to start the process fails the test.
func Exec(t testing.TB, r Run) Result {
	t.Helper()
	require.NotEmpty(t, r.Argv, "Exec: empty argv")
	timeout := RunTimeout
	if r.Timeout > 0 {
		timeout = r.Timeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.Argv[0], r.Argv[1:]...)
	cmd.Args = r.Argv
	cmd.Env = r.Env
	cmd.Dir = r.Dir
	if r.Stdin != "" {
		cmd.Stdin = strings.NewReader(r.Stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second // pipes held open by stray children
	// If the test binary itself dies (its own timeout), the guest goes
	// too instead of spinning on unobserved.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

	err := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if ctx.Err() != nil {
		res.TimedOut = true
		return res
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		require.NoError(t, err, "cannot run %q", r.Argv)
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ok, "no wait status for %q", r.Argv)
	if ws.Signaled() {
		res.Status = Killed(ws.Signal())
	} else {
		res.Status = Exited(ws.ExitStatus())
	}
	return res
}

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// findRepoRoot is the directory holding the go.mod of module
// github.com/cmaemu/cmaemu, found by walking up from the working
// directory (go test runs in tests/).
func findRepoRoot() (string, error) {
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			rootErr = err
			return
		}
		for {
			mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err == nil && bytes.HasPrefix(bytes.TrimSpace(mod), []byte("module github.com/cmaemu/cmaemu\n")) {
				rootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				rootErr = errors.New("no go.mod of module github.com/cmaemu/cmaemu above the working directory")
				return
			}
			dir = parent
		}
	})
	return rootDir, rootErr
}

// RepoRoot is the repository root (see findRepoRoot).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := findRepoRoot()
	require.NoError(t, err, "locating the repository root")
	return dir
}

// builtCmaemu is the emulator PrepareBinaries built for this test run.
var builtCmaemu string

// PrepareBinaries makes the tests runnable by a plain `go test ./...`
// after `make setup`: unless $CMAEMU names an emulator, it builds
// cmd/cmaemu from the source under test into tmp, and it brings the
// guests of testdata/ up to date (make -C testdata, incremental).
func PrepareBinaries(tmp string) error {
	root, err := findRepoRoot()
	if err != nil {
		return err
	}
	if os.Getenv("CMAEMU") == "" {
		out := filepath.Join(tmp, "cmaemu")
		cmd := exec.Command("go", "build", "-o", out, "./cmd/cmaemu")
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building cmd/cmaemu (has `make setup` run?): %v\n%s", err, msg)
		}
		builtCmaemu = out
	}
	cmd := exec.Command("make", "--no-print-directory", "-s", "-C", "testdata")
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the guests (make -C testdata; has `make setup` run?): %v\n%s", err, msg)
	}
	return nil
}

// CmaemuPath is the absolute path of the emulator under test: $CMAEMU if
// set (e.g. a build with the race detector), else the one PrepareBinaries
// built. When it is missing the test fails (it does not skip).
func CmaemuPath(t testing.TB) string {
	t.Helper()
	p := builtCmaemu
	if env := os.Getenv("CMAEMU"); env != "" {
		p = env
	}
	if p == "" {
		t.Fatal("no emulator: TestMain did not build one and $CMAEMU is unset")
	}
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		t.Fatalf("%s not found: run `make build` first", p)
	}
	return p
}

// GuestPath is the absolute path of testdata/bin/PROG.VARIANT. When it is
// missing the test fails.
func GuestPath(t testing.TB, prog, variant string) string {
	t.Helper()
	p := filepath.Join(RepoRoot(t), "testdata", "bin", prog+"."+variant)
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		t.Fatalf("%s not found: run `make build` (or `make -C testdata`) first", p)
	}
	return p
}

// GuestEnv is the environment both runs of a guest get: the test's own,
// without a stray CMAEMU_TEST, plus extra ("KEY=value" entries).
func GuestEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CMAEMU_TEST=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// RunNative runs the guest binary at prog directly: argv is prog, args...
func RunNative(t testing.TB, prog string, args, env []string, dir, stdin string) Result {
	t.Helper()
	return Exec(t, Run{Argv: append([]string{prog}, args...), Env: env, Dir: dir, Stdin: stdin})
}

// CheckFlags are the hidden checks of cmaemu that every emulated run of
// the tests turns on (cmd/cmaemu/checks.go): a task stuck inside one
// system call handler for half of RunTimeout is an internal error
// (exit 70, with a report), and so is a guest-physical frame still
// allocated once every guest has ended.
var CheckFlags = []string{"--watchdog", (RunTimeout / 2).String(), "--check-frames"}

// RunEmulated runs `cmaemu run CheckFlags... FLAGS... -- prog args...`,
// with the same environment, directory and stdin as RunNative would use.
func RunEmulated(t testing.TB, cmaemu string, flags []string, prog string, args, env []string, dir, stdin string) Result {
	t.Helper()
	argv := append(append([]string{cmaemu, "run"}, CheckFlags...), flags...)
	argv = append(append(argv, "--", prog), args...)
	return Exec(t, Run{Argv: argv, Env: env, Dir: dir, Stdin: stdin})
}

// AssertNoPanic checks that cmaemu's stderr shows no Go panic or goroutine
// dump.
func AssertNoPanic(t testing.TB, stderr string) bool {
	t.Helper()
	return assert.NotContains(t, stderr, "panic", "cmaemu panicked:\n%s", stderr) &&
		assert.NotContains(t, stderr, "goroutine", "cmaemu dumped goroutines:\n%s", stderr)
}

// AssertOneLine checks that s is exactly one non-empty line (its final
// newline optional).
func AssertOneLine(t testing.TB, s, what string) bool {
	t.Helper()
	line := strings.TrimSuffix(s, "\n")
	return assert.NotEmpty(t, strings.TrimSpace(line), "%s: want one line, got nothing", what) &&
		assert.NotContains(t, line, "\n", "%s: want exactly one line, got:\n%s", what, s)
}

// AssertDirEmpty checks that the guests left no file behind in dir.
func AssertDirEmpty(t testing.TB, dir, after string) bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if !assert.NoError(t, err) {
		return false
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return assert.Empty(t, names, "files left in the guest's directory after the %s run", after)
}
