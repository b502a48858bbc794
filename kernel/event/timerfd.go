package event

import (
	"encoding/binary"
	"math"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/kernel/sleep"
	"github.com/cmaemu/cmaemu/linux"
)

// Clock ids timerfd accepts.
const (
	ClockRealtime      = 0
	ClockMonotonic     = 1
	ClockBoottime      = 7
	ClockRealtimeAlarm = 8
	ClockBoottimeAlarm = 9
)

// timerfd flags.
const (
	TFDNonblock      = linux.O_NONBLOCK
	TFDCloexec       = linux.O_CLOEXEC
	TFDTimerAbstime  = 0x1
	TFDTimerCancelOn = 0x2 // TFD_TIMER_CANCEL_ON_SET
)

// Clock is the clock a timerfd runs on.
type Clock interface {
	// Now is the clock's time in nanoseconds.
	Now() int64
	// AfterFunc calls f on its own goroutine after d (as time.AfterFunc);
	// stop cancels it if it has not started.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// HostClock is a clock of the host (clock_gettime(id)); timers run on
// Go's monotonic timers, and check the host clock when they fire.
type HostClock int32

// Now implements Clock.
func (c HostClock) Now() int64 {
	var ts [2]int64
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, uintptr(c), uintptr(unsafe.Pointer(&ts)), 0)
	return ts[0]*1e9 + ts[1]
}

// AfterFunc implements Clock: f runs on a goroutine of its own that
// sleeps in the host kernel (kernel/sleep) until the expiry, so that the
// expiry is timed by the host's clock as the tasks' own sleeps are, not
// by Go's timers: a timer that expires before a task's sleep ends is seen
// expired by that task.
func (HostClock) AfterFunc(d time.Duration, f func()) func() bool {
	var w sleep.Waker
	var state atomic.Int32 // 0: pending, 1: fired, 2: stopped
	deadline := time.Now().Add(d)
	go func() {
		for {
			token := w.Token()
			if state.Load() != 0 {
				return
			}
			if !w.SleepUntil(token, deadline) {
				if state.CompareAndSwap(0, 1) {
					f()
				}
				return
			}
		}
	}()
	return func() bool {
		if state.CompareAndSwap(0, 2) {
			w.Wake()
			return true
		}
		return false
	}
}

// ValidTimerClock reports whether timerfd_create accepts clock id, and
// whether it is an alarm clock (which needs CAP_WAKE_ALARM).
func ValidTimerClock(id int32) (ok, alarm bool) {
	switch id {
	case ClockRealtime, ClockMonotonic, ClockBoottime:
		return true, false
	case ClockRealtimeAlarm, ClockBoottimeAlarm:
		return true, true
	}
	return false, false
}

// TimerClock returns the host clock behind timer clock id (an alarm
// clock runs as its plain clock).
func TimerClock(id int32) Clock {
	switch id {
	case ClockRealtimeAlarm:
		return HostClock(ClockRealtime)
	case ClockBoottimeAlarm:
		return HostClock(ClockBoottime)
	}
	return HostClock(id)
}

// ItimerSpec is struct itimerspec in nanoseconds.
type ItimerSpec struct {
	Interval int64
	Value    int64 // 0: disarmed
}

// TimerFD is a timerfd: a timer whose expirations are counted and read.
type TimerFD struct {
	anon
	clock Clock

	mu       sync.Mutex // protects the fields below
	armed    bool
	next     int64  // the next expiry on the clock, while armed
	interval int64  // the period (0: one-shot)
	ticks    uint64 // expirations not yet read
	// paused: a periodic timer that expired waits for a read or a
	// gettime before it runs again (Linux restarts its hrtimer there), so
	// no more expirations are announced meanwhile; they are still
	// counted.
	paused bool
	stop   func() bool
	gen    uint64 // counts settime calls; a timer of an older one does nothing
}

// NewTimerFD returns a disarmed timerfd on clock. flags are
// timerfd_create's; others are EINVAL.
func NewTimerFD(clock Clock, flags uint32) (*TimerFD, error) {
	if flags&^(TFDNonblock|TFDCloexec) != 0 {
		return nil, linux.EINVAL
	}
	t := &TimerFD{clock: clock}
	t.init("timerfd", flags&TFDNonblock != 0)
	return t, nil
}

// DecRef implements file.File: the last reference stops the timer.
func (t *TimerFD) DecRef() {
	if t.Drop() {
		t.mu.Lock()
		t.disarmLocked()
		t.mu.Unlock()
	}
}

func (t *TimerFD) disarmLocked() {
	t.armed = false
	t.paused = false
	t.gen++
	if t.stop != nil {
		t.stop()
		t.stop = nil
	}
}

// expireLocked counts the expirations up to now; it reports whether
// there were new ones.
func (t *TimerFD) expireLocked(now int64) bool {
	if !t.armed || now < t.next {
		return false
	}
	if t.interval == 0 {
		t.ticks++
		t.armed = false
		return true
	}
	n := (now-t.next)/t.interval + 1
	t.ticks += uint64(n)
	t.next = satAdd(t.next, satMul(n, t.interval))
	return true
}

// scheduleLocked sets a host timer for the next expiry.
func (t *TimerFD) scheduleLocked(now int64) {
	if !t.armed {
		return
	}
	gen := t.gen
	t.stop = t.clock.AfterFunc(time.Duration(t.next-now), func() { t.fire(gen) })
}

// fire is the host timer: it counts the expirations, wakes the waiters
// and sets the timer again, or pauses it. (Calls that count expirations before it, as
// Readiness does, leave the waking to it.)
func (t *TimerFD) fire(gen uint64) {
	t.mu.Lock()
	if gen != t.gen {
		t.mu.Unlock()
		return
	}
	now := t.clock.Now()
	t.expireLocked(now)
	// Expirations another call counted first are announced here too.
	ready := t.ticks > 0
	t.stop = nil
	if ready && t.interval > 0 {
		t.paused = true
	} else {
		t.scheduleLocked(now)
	}
	t.mu.Unlock()
	if ready {
		t.Notify(file.PollIn)
	}
}

// resumeLocked runs a paused timer again.
func (t *TimerFD) resumeLocked(now int64) {
	if t.paused {
		t.paused = false
		t.scheduleLocked(now)
	}
}

// currentLocked is the timer's setting as timerfd_gettime shows it.
func (t *TimerFD) currentLocked(now int64) ItimerSpec {
	t.expireLocked(now)
	t.resumeLocked(now)
	s := ItimerSpec{Interval: t.interval}
	if t.armed {
		s.Value = max(t.next-now, 1)
	}
	return s
}

// Get implements timerfd_gettime: the time to the next expiry and the
// period.
func (t *TimerFD) Get() ItimerSpec {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.currentLocked(t.clock.Now())
}

// Set implements timerfd_settime: it arms the timer at value (relative,
// or absolute on the clock with TFDTimerAbstime; 0 disarms) with period
// interval, clears the expirations not read, and returns the old
// setting. Bad flags are EINVAL.
func (t *TimerFD) Set(flags uint32, spec ItimerSpec) (ItimerSpec, error) {
	if flags&^(TFDTimerAbstime|TFDTimerCancelOn) != 0 || spec.Value < 0 || spec.Interval < 0 {
		return ItimerSpec{}, linux.EINVAL
	}
	t.mu.Lock()
	now := t.clock.Now()
	old := t.currentLocked(now)
	t.disarmLocked()
	t.ticks = 0
	t.interval = spec.Interval
	if spec.Value != 0 {
		t.armed = true
		t.next = spec.Value
		if flags&TFDTimerAbstime == 0 {
			t.next = satAdd(now, spec.Value)
		}
		// A value shorter than this call has passed by now: it expires
		// here, not when a host timer gets to run.
		expired := t.expireLocked(t.clock.Now())
		t.scheduleLocked(now)
		if expired {
			defer t.Notify(file.PollIn)
		}
	}
	t.mu.Unlock()
	return old, nil
}

// Read implements file.File: with at least 8 bytes of room it returns
// the number of expirations since the last read, waiting for one.
func (t *TimerFD) Read(ctx file.Context, bufs [][]byte, off int64) (int, error) {
	if off >= 0 {
		return 0, linux.ESPIPE
	}
	if bufLen(bufs) < 8 {
		return 0, linux.EINVAL
	}
	for {
		w := t.Arm(ctx)
		t.mu.Lock()
		now := t.clock.Now()
		t.expireLocked(now)
		if n := t.ticks; n > 0 {
			t.ticks = 0
			t.resumeLocked(now)
			t.mu.Unlock()
			w.Cancel()
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], n)
			scatter(bufs, b[:])
			return 8, nil
		}
		t.mu.Unlock()
		if err := t.wait(ctx, w); err != nil {
			return 0, err
		}
	}
}

// Write implements file.File: a timerfd cannot be written (EINVAL).
func (t *TimerFD) Write(file.Context, [][]byte, int64) (int, error) { return 0, linux.EINVAL }

// Readiness implements file.File: readable once the timer has expired
// since the last read.
func (t *TimerFD) Readiness() (uint32, <-chan struct{}) {
	ch := t.Changed()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expireLocked(t.clock.Now())
	if t.ticks > 0 {
		return file.PollIn, ch
	}
	return 0, ch
}

func satAdd(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func satMul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}
