package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/syscalls"
)

// internalErrorEnv makes the test binary a cmaemu whose kernel has a
// broken system call (injectFault names which): TestInternalErrorHelper
// runs it.
const internalErrorEnv = "CMAEMU_TEST_INTERNAL_ERROR"

// injectFault breaks one x86-64 system call of the kernel the way an
// emulator bug would.
var injectFault = map[string]func(){
	// A handler that panics (as a slice index out of range would).
	"panic-write": func() {
		syscalls.AMD64.Entries[1].Fn = func(*syscalls.Task, syscalls.Args) (uintptr, error) {
			var s []int
			return uintptr(s[len(s)-1]), nil
		}
	},
	// A handler that returns an error no errno stands for.
	"nonerrno-write": func() {
		for _, nr := range []uint64{1, 20} { // write, writev
			syscalls.AMD64.Entries[nr].Fn = func(*syscalls.Task, syscalls.Args) (uintptr, error) {
				return 0, errors.New("not an errno")
			}
		}
	},
	// The exit of whichever process ends first panics while others run
	// and wait: the whole emulator must end, not hang.
	"panic-exit": func() {
		syscalls.AMD64.Entries[231].Fn = func(*syscalls.Task, syscalls.Args) (uintptr, error) {
			panic("injected fault in exit_group")
		}
	},
}

// TestInternalErrorHelper is the broken cmaemu of TestInternalError; it
// does nothing in a normal test run.
func TestInternalErrorHelper(t *testing.T) {
	which := os.Getenv(internalErrorEnv)
	if which == "" {
		t.Skip("run by TestInternalError")
	}
	injectFault[which]()
	os.Exit(run(append([]string{"run", "--"}, strings.Fields(os.Getenv(internalErrorEnv+"_ARGS"))...), os.Stdout, os.Stderr))
}

// TestInternalError runs guests in a kernel with a broken system call:
// cmaemu must print one report (pid, tid, registers, the instruction,
// the last system calls, the failing Go stack only), end every guest and
// exit with 70 — no goroutine dump, no hang.
func TestInternalError(t *testing.T) {
	bin := filepath.Join("..", "..", "testdata", "bin")
	cases := []struct {
		fault, guest string
		want         []string
	}{
		{"panic-write", "hello.glibc", []string{"index out of range", "pid 1000 tid 1000", "in write(0x1,", "last system calls:",
			"rip ", "code at 0x", "report_test.go"}},
		{"nonerrno-write", "hello.musl", []string{"syscall returned a non-errno error: not an errno",
			"pid 1000 tid 1000", "rax "}},
		{"panic-exit", "proc_fork.glibc", []string{"injected fault in exit_group", "in exit_group(0x", "set_robust_list=0"}},
	}
	for _, c := range cases {
		t.Run(c.fault, func(t *testing.T) {
			guest := filepath.Join(bin, c.guest)
			_, err := os.Stat(guest)
			require.NoError(t, err, "the test guests are built by `make build` (testdata/Makefile)")
			cmd := exec.Command(os.Args[0], "-test.run=^TestInternalErrorHelper$")
			cmd.Env = append(os.Environ(), internalErrorEnv+"="+c.fault, internalErrorEnv+"_ARGS="+guest)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			require.NoError(t, cmd.Start())
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("cmaemu hangs after an internal error; stderr:\n%s", stderr.String())
			}
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "stderr:\n%s", stderr.String())
			assert.Equal(t, 70, ee.ExitCode(), "stderr:\n%s", stderr.String())
			out := stderr.String()
			assert.Equal(t, 1, strings.Count(out, "cmaemu: internal error: "), "one report:\n%s", out)
			for _, w := range c.want {
				assert.Contains(t, out, w)
			}
			assert.NotContains(t, out, "goroutine", "no goroutine dump:\n%s", out)
			assert.True(t, strings.HasSuffix(out, "exit status 70\n"), "the report ends the output:\n%s", out)
		})
	}
}
