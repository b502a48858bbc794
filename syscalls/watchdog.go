package syscalls

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
)

// The watchdog (Config.Watchdog, off by default; the tests turn it on)
// finds a task stuck inside one system call handler: a task that entered
// the kernel, or came back from its last legitimate wait, longer ago than
// the limit. Legitimate waits — Task.Block (pipes, futexes, sleeps,
// wait4, poll, locks, sockets), Task.WaitHost (host descriptors), a
// stopped process, a vfork parent waiting for its child — pause the
// clock: they are interruptible, and a guest may ask for them to last
// for ever. Anything else that holds a task in the kernel that long is an
// emulator bug (a lost wake-up, a lock never released, a loop): the
// kernel reports it as an internal error (report.go) with the task, the
// system call and the stuck goroutine's Go stack, and the emulator exits
// with ExitInternalError.

// kernelClock is the watchdog's view of one task. The task's goroutine
// writes it; the watchdog reads it. Its atomics also order the task's
// earlier writes (frame, cpu, recent) before the watchdog's reads of them
// in a report.
type kernelClock struct {
	// since is when the task entered the kernel or left its last wait,
	// in nanoseconds after the kernel's boot plus one; 0 while the task
	// is not in a handler or waits legitimately.
	since atomic.Int64
	// inCall is set while a handler runs (enter to leave), so that the
	// end of a wait restarts the clock only inside a call.
	inCall atomic.Bool
	// goid is the id of the task's goroutine, for its stack in a report.
	goid atomic.Int64
}

// clockNow is the time for kernelClock.since.
func (k *Kernel) clockNow() int64 { return int64(time.Since(k.boot)) + 1 }

// enterKernel starts the clock for a system call.
func (t *Task) enterKernel() {
	if t.k.watchdog == 0 {
		return
	}
	t.watch.inCall.Store(true)
	t.watch.since.Store(t.k.clockNow())
}

// leaveKernel stops the clock at the end of a system call.
func (t *Task) leaveKernel() {
	if t.k.watchdog == 0 {
		return
	}
	t.watch.since.Store(0)
	t.watch.inCall.Store(false)
}

// legitWait pauses the clock for a wait that may last as long as the
// guest wants; the function it returns restarts it. Usage:
//
//	defer t.legitWait()()
func (t *Task) legitWait() func() {
	if t.k.watchdog == 0 {
		return func() {}
	}
	t.watch.since.Store(0)
	return func() {
		if t.watch.inCall.Load() {
			t.watch.since.Store(t.k.clockNow())
		}
	}
}

// recordGoroutine notes the id of the task's goroutine (Task.run); the
// CPU's hooks, system calls included, run on it.
func (t *Task) recordGoroutine() {
	if t.k.watchdog == 0 {
		return
	}
	var buf [64]byte
	line := buf[:runtime.Stack(buf[:], false)]
	line = bytes.TrimPrefix(line, []byte("goroutine "))
	if i := bytes.IndexByte(line, ' '); i > 0 {
		if id, err := strconv.ParseInt(string(line[:i]), 10, 64); err == nil {
			t.watch.goid.Store(id)
		}
	}
}

// startWatchdog runs the watchdog for the kernel's lifetime.
func (k *Kernel) startWatchdog() {
	if k.watchdog <= 0 {
		return
	}
	period := max(k.watchdog/4, 10*time.Millisecond)
	go func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		for range tick.C {
			if t, stuck := k.stuckTask(); t != nil {
				k.reportStuck(t, stuck)
				return
			}
		}
	}()
}

// stuckTask returns a task that has been in the kernel without a wait
// for longer than the limit, and for how long.
func (k *Kernel) stuckTask() (*Task, time.Duration) {
	now := k.clockNow()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, t := range k.tasks {
		if since := t.watch.since.Load(); since != 0 && time.Duration(now-since) > k.watchdog {
			return t, time.Duration(now - since)
		}
	}
	return nil, 0
}

// reportStuck ends the emulator with the report of a stuck task.
func (k *Kernel) reportStuck(t *Task, stuck time.Duration) {
	call := "a system call"
	if f := t.frame; f != nil {
		call = t.table.name(f.Nr)
	}
	k.fatal(t, &watchdogReport{pid: t.proc.pid, tid: t.tid, call: call, stuck: stuck, limit: k.watchdog},
		goroutineStack(t.watch.goid.Load()))
}

// watchdogReport is what the watchdog reports: it is not a panic, so the
// report has the stuck goroutine's stack instead of the watchdog's.
type watchdogReport struct {
	pid, tid     int32
	call         string
	stuck, limit time.Duration
}

func (w *watchdogReport) String() string {
	return fmt.Sprintf("watchdog: pid %d tid %d has been in %s for %v without waiting (limit %v)",
		w.pid, w.tid, w.call, w.stuck.Round(time.Millisecond), w.limit)
}

// goroutineStack returns the stack of goroutine id (nil if not found),
// in the format of runtime.Stack.
func goroutineStack(id int64) []byte {
	if id == 0 {
		return nil
	}
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) || len(buf) >= 64<<20 {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	head := []byte("goroutine " + strconv.FormatInt(id, 10) + " [")
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.HasPrefix(g, head) {
			return g
		}
	}
	return nil
}

// waitVforkChild waits until a vfork child execs or exits (done closed):
// as long as the child runs, which the guest decides.
func (t *Task) waitVforkChild(done <-chan struct{}) {
	defer t.legitWait()()
	<-done
}
