package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/syscalls"
)

// watchdogEnv makes the test binary a cmaemu with a watchdog of 300 ms
// whose write(2) is changed as watchdogFaults names: TestWatchdog runs it.
const watchdogEnv = "CMAEMU_TEST_WATCHDOG"

// watchdogFaults change the x86-64 write(2) of the kernel.
var watchdogFaults = map[string]func(){
	// A handler that never returns and never waits as a guest may ask:
	// a lock taken twice, as a lost unlock would leave it.
	"hang-write": func() {
		syscalls.AMD64.Entries[1].Fn = func(*syscalls.Task, syscalls.Args) (uintptr, error) {
			var mu sync.Mutex
			mu.Lock()
			mu.Lock()
			return 0, nil
		}
	},
	// A handler that waits a second, interruptibly, before writing:
	// legitimate blocking, three times the watchdog's limit.
	"slow-write": func() {
		write := syscalls.AMD64.Entries[1].Fn
		syscalls.AMD64.Entries[1].Fn = func(t *syscalls.Task, a syscalls.Args) (uintptr, error) {
			t.Block(nil, time.Second)
			return write(t, a)
		}
	},
}

// TestWatchdogHelper is the cmaemu of TestWatchdog; it does nothing in a
// normal test run.
func TestWatchdogHelper(t *testing.T) {
	which := os.Getenv(watchdogEnv)
	if which == "" {
		t.Skip("run by TestWatchdog")
	}
	watchdogFaults[which]()
	args := append([]string{"run", "--watchdog", "300ms", "--"}, strings.Fields(os.Getenv(watchdogEnv+"_ARGS"))...)
	os.Exit(run(args, os.Stdout, os.Stderr))
}

// TestWatchdog: a task stuck in a handler is one internal-error report
// naming it and its call, with the stuck goroutine's stack, and exit
// status 70; a task blocked in Task.Block longer than the limit is not
// reported.
func TestWatchdog(t *testing.T) {
	guest := filepath.Join("..", "..", "testdata", "bin", "hello.glibc")
	_, err := os.Stat(guest)
	require.NoError(t, err, "the test guests are built by `make build` (testdata/Makefile)")
	helper := func(fault string) (code int, stdout, stderr string) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWatchdogHelper$")
		cmd.Env = append(os.Environ(), watchdogEnv+"="+fault, watchdogEnv+"_ARGS="+guest+" one")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		require.NoError(t, cmd.Start())
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("cmaemu hangs (the watchdog did not fire); stderr:\n%s", errOut.String())
		}
		return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
	}

	t.Run("stuck", func(t *testing.T) {
		code, _, out := helper("hang-write")
		assert.Equal(t, 70, code, "stderr:\n%s", out)
		assert.Equal(t, 1, strings.Count(out, "cmaemu: internal error: "), "one report:\n%s", out)
		for _, w := range []string{"watchdog: pid 1000 tid 1000 has been in write for ", "(limit 300ms)",
			"in write(0x1,", "watchdog_test.go", "sync.(*Mutex).Lock"} {
			assert.Contains(t, out, w)
		}
		assert.NotContains(t, out, "goroutine", "no goroutine dump:\n%s", out)
	})
	t.Run("blocked", func(t *testing.T) {
		code, stdout, stderr := helper("slow-write")
		assert.Equal(t, 0, code, "stderr:\n%s", stderr)
		assert.Contains(t, stdout, "one")
		assert.NotContains(t, stderr, "internal error")
	})
}
