package main

import (
	"fmt"
	"io"
	"time"

	"github.com/cmaemu/cmaemu/mm"
	"github.com/cmaemu/cmaemu/syscalls"
)

// Checks of test runs, behind hidden flags of `cmaemu run`:
//
//	--watchdog DUR        a task inside one system call handler for longer
//	                      than DUR, outside the waits a guest may ask for,
//	                      is an internal error (syscalls/watchdog.go)
//	--check-frames        once the guest has ended, every guest-physical
//	                      frame allocated since the kernel started must be
//	                      free again: a leak is one line on stderr and exit
//	                      status 70 (a System V shared memory segment the
//	                      guests left without IPC_RMID still holds frames:
//	                      a guest run with the check removes its segments)
//	--check-frames=report the same, and one line with the figures

// framesFlag is --check-frames[=report].
type framesFlag struct{ mode string }

func (f *framesFlag) String() string   { return f.mode }
func (f *framesFlag) IsBoolFlag() bool { return true }
func (f *framesFlag) Set(v string) error {
	switch v {
	case "true", "check":
		f.mode = "check"
	case "report":
		f.mode = v
	case "false":
		f.mode = ""
	default:
		return fmt.Errorf("unknown frame check %q: want check or report", v)
	}
	return nil
}

// framesSettle bounds how long checkFrames waits for the last guest
// tasks to end after the first process ended.
const framesSettle = 10 * time.Second

// checkFrames compares the frames in use once every guest task has ended
// with atStart, the count before the first guest. It returns 0, or the
// exit status of a leak (or of tasks that do not end).
func checkFrames(k *syscalls.Kernel, atStart int, report bool, stderr io.Writer) int {
	ram := k.RAM()
	deadline := time.Now().Add(framesSettle)
	for k.LiveTasks() > 0 || ram.UsedFrames() != atStart {
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	end, tasks := ram.UsedFrames(), k.LiveTasks()
	if report {
		fmt.Fprintf(stderr, "cmaemu: frames: %d in use at start, %d at end, %d at most (%d MiB)\n",
			atStart, end, ram.HighWater(), uint64(ram.HighWater())*mm.PageSize>>20)
	}
	switch {
	case tasks > 0:
		fmt.Fprintf(stderr, "cmaemu: frame check: %d guest tasks still running %v after the first process ended\n", tasks, framesSettle)
		return syscalls.ExitInternalError
	case end != atStart:
		fmt.Fprintf(stderr, "cmaemu: frame leak: %d frames in use after every guest ended, %d before the first started\n", end, atStart)
		return syscalls.ExitInternalError
	}
	return 0
}
