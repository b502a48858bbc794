package syscalls

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// POSIX timers (timer_create and friends; the handlers are in
// sys_timer.go). A timer measures one clock: a wall clock (REALTIME,
// MONOTONIC, BOOTTIME, TAI) through a host timer set for the expiry, or
// a CPU-time clock of the process or a thread, which a host timer looks
// at no sooner than the CPU time could be used up.
//
// All timer state is protected by the process's mu. A periodic timer
// keeps its expiry on its period grid. When it expires while its
// previous signal is still pending no new signal is sent: the expiries
// are counted and reported as the overrun of that signal when it is
// taken (si_overrun, timer_getoverrun), as Linux does.

// Clock ids.
const (
	clockRealtime       = 0
	clockMonotonic      = 1
	clockProcessCPUTime = 2
	clockThreadCPUTime  = 3
	clockMonotonicRaw   = 4
	clockRealtimeCoarse = 5
	clockMonotonicCoars = 6
	clockBoottime       = 7
	clockRealtimeAlarm  = 8
	clockBoottimeAlarm  = 9
	clockTAI            = 11
)

// sigevent notifications.
const (
	sigevSignal   = 0
	sigevNone     = 1
	sigevThread   = 2
	sigevThreadID = 4
)

// timerAbstime is TIMER_ABSTIME.
const timerAbstime = 1

// maxTimersPerKernel bounds the POSIX timers of all guests together, on
// top of each process's RLIMIT_SIGPENDING.
const maxTimersPerKernel = 1 << 16

// cpuTimerPoll is the shortest wait between two looks at a CPU-time
// clock, and the period floor of a timer whose signal stays pending.
const cpuTimerPoll = time.Millisecond

// delaytimerMax is DELAYTIMER_MAX, where overrun counts stop.
const delaytimerMax = math.MaxInt32

// posixTimers are a process's POSIX timers by id. Protected by p.mu.
type posixTimers struct {
	byID   map[int32]*posixTimer
	nextID int32
	// itimers are ITIMER_VIRTUAL and ITIMER_PROF (setitimer), when set.
	itimers [3]*posixTimer
}

// posixTimer is one timer. Its fields are protected by proc.mu.
type posixTimer struct {
	id     int32
	proc   *Process
	clock  int32
	thread *Task // the thread whose CPU time a THREAD_CPUTIME_ID timer counts
	notify int32 // sigevSignal, sigevNone or sigevThreadID
	itimer bool  // setitimer's: SI_KERNEL signals, no overrun counts
	signo  linux.Signal
	value  uint64 // sigev_value
	target *Task  // SIGEV_THREAD_ID's thread

	armed    bool
	expiry   time.Duration // on the timer's clock
	interval time.Duration
	gen      uint64      // changes with every timer_settime and delete
	host     *time.Timer // the pending look at the clock, if any
	queued   bool        // its signal was sent and has not been taken
	overrun  int64       // expiries while the signal was pending
	lastOver int32       // the overrun of the last signal taken
}

// clockProcessUser is the user CPU time of the process (ITIMER_VIRTUAL's
// clock), no clock id of Linux's.
const clockProcessUser = -1000

// clockNow reads clock (a timer's) now; p and thread are the process and
// thread of CPU-time clocks, caller the task that asks (nil: none).
func clockNow(clock int32, p *Process, thread, caller *Task) time.Duration {
	switch clock {
	case clockProcessCPUTime:
		u := p.usageOf(caller).cpu
		return u.user + u.sys
	case clockProcessUser:
		return p.usageOf(caller).cpu.user
	case clockThreadCPUTime:
		u := thread.cpuTimes(caller)
		return u.user + u.sys
	case clockRealtimeAlarm:
		clock = clockRealtime
	case clockBoottimeAlarm:
		clock = clockBoottime
	}
	var ts [2]int64
	clockGettime(uintptr(clock), &ts)
	return time.Duration(ts[0])*time.Second + time.Duration(ts[1])
}

func (tm *posixTimer) now() time.Duration { return clockNow(tm.clock, tm.proc, tm.thread, nil) }

func (tm *posixTimer) cpuClock() bool {
	return tm.clock == clockProcessCPUTime || tm.clock == clockThreadCPUTime || tm.clock == clockProcessUser
}

// scheduleLocked sets the host timer for the next look at the clock,
// now being the clock's time. Preconditions: p.mu held, tm armed.
func (tm *posixTimer) scheduleLocked(now time.Duration) {
	if tm.host != nil {
		tm.host.Stop()
		tm.host = nil
	}
	if tm.notify == sigevNone {
		return // nothing to send: timer_gettime computes from the clock
	}
	wait := max(tm.expiry-now, 0)
	if tm.cpuClock() {
		// n threads use CPU time at most n times as fast as the wall
		// clock runs.
		n := max(len(tm.proc.tasks), 1)
		wait = max(wait/time.Duration(n), cpuTimerPoll)
	}
	gen := tm.gen
	tm.host = time.AfterFunc(wait, func() { tm.fire(gen) })
}

// fire runs when the host timer goes off: it sends the signal if the
// clock has reached the expiry (or counts an overrun), and schedules the
// next look.
func (tm *posixTimer) fire(gen uint64) {
	now := tm.now() // before p.mu: CPU clocks take the kernel's locks
	if tm.cpuClock() {
		// Another thread's CPU time is known to a clock tick (its
		// /proc stat): count a tick less, so as never to fire early.
		now -= time.Second / userHZ
	}
	p := tm.proc
	p.k.mu.Lock() // the target's liveness and p.tasks for scheduleLocked
	p.mu.Lock()
	if tm.gen != gen || !tm.armed {
		p.mu.Unlock()
		p.k.mu.Unlock()
		return
	}
	if now < tm.expiry {
		tm.scheduleLocked(now)
		p.mu.Unlock()
		p.k.mu.Unlock()
		return
	}
	expired := int64(1)
	if tm.interval > 0 {
		expired += int64((now - tm.expiry) / tm.interval)
		tm.expiry += time.Duration(expired) * tm.interval
	} else {
		tm.armed = false
	}
	target := tm.target
	if target != nil && p.k.tasks[target.tid] != target {
		target = nil // the thread is gone: the process gets the signal
	}
	pending := p.pending
	if target != nil {
		pending |= target.pending
	}
	send := !tm.queued || pending&linux.Bit(tm.signo) == 0
	var info sigInfo
	if send {
		tm.queued, tm.overrun = true, expired-1
		info = tm.sigInfo()
	} else {
		tm.overrun = min(tm.overrun+expired, delaytimerMax)
	}
	if tm.armed {
		next := now
		if !send {
			next = max(now, tm.expiry-tm.interval+cpuTimerPoll) // a floor while it stays pending
		}
		tm.scheduleLocked(next)
	}
	p.mu.Unlock()
	p.k.mu.Unlock()
	if send {
		p.k.signal(p, target, tm.signo, info)
	}
}

// sigInfo is the siginfo of the timer's signal: SI_TIMER, si_tid the
// timer id, si_overrun (filled in when taken), si_value.
func (tm *posixTimer) sigInfo() sigInfo {
	if tm.itimer {
		return newSigInfo(tm.signo, siKernel)
	}
	si := newSigInfo(tm.signo, siTimer)
	le := binary.LittleEndian
	le.PutUint32(si[16:], uint32(tm.id))
	le.PutUint64(si[24:], tm.value)
	return si
}

// timerSignalTakenLocked is called as a signal is taken from the pending
// sets: a timer's signal gets its overrun, which timer_getoverrun then
// reports. Preconditions: p.mu held.
func (p *Process) timerSignalTakenLocked(info sigInfo) sigInfo {
	le := binary.LittleEndian
	if int32(le.Uint32(info[8:])) != siTimer {
		return info
	}
	tm := p.sigTimers.timers.byID[int32(le.Uint32(info[16:]))]
	if tm == nil || !tm.queued {
		return info
	}
	tm.queued = false
	if tm.armed && tm.interval > 0 && !tm.cpuClock() {
		// Count the periods up to now, not only those a look at the
		// clock has seen (a wall clock is read without locks).
		if now := tm.now(); now >= tm.expiry {
			n := 1 + int64((now-tm.expiry)/tm.interval)
			tm.overrun = min(tm.overrun+n, delaytimerMax)
			tm.expiry += time.Duration(n) * tm.interval
			tm.scheduleLocked(now)
		}
	}
	tm.lastOver = int32(min(tm.overrun, delaytimerMax))
	tm.overrun = 0
	le.PutUint32(info[20:], uint32(tm.lastOver))
	return info
}

// stopLocked disarms tm. Preconditions: p.mu held.
func (tm *posixTimer) stopLocked() {
	tm.gen++
	tm.armed = false
	if tm.host != nil {
		tm.host.Stop()
		tm.host = nil
	}
}

// deleteAllLocked deletes every timer (execve, exit).
// Preconditions: p.mu held.
func (ts *posixTimers) deleteAllLocked(k *Kernel) {
	for id, tm := range ts.byID {
		tm.stopLocked()
		delete(ts.byID, id)
		k.timerCount.Add(-1)
	}
}

// exitLocked stops every timer of an exiting process, setitimer's too.
// Preconditions: p.mu held.
func (ts *posixTimers) exitLocked(k *Kernel) {
	ts.deleteAllLocked(k)
	for _, tm := range ts.itimers {
		if tm != nil {
			tm.stopLocked()
		}
	}
}

// remainingLocked returns the time to the next expiry (0: disarmed) and
// the interval, now being the clock's time. Preconditions: p.mu held.
func (tm *posixTimer) remainingLocked(now time.Duration) (time.Duration, time.Duration) {
	if !tm.armed {
		return 0, tm.interval
	}
	left := tm.expiry - now
	if left <= 0 {
		if tm.interval == 0 {
			if tm.notify == sigevNone {
				return 0, 0
			}
			return 1, 0 // expiring now (Linux reports 1ns)
		}
		// SIGEV_NONE, or a signal about to be sent: the next period.
		left = tm.interval - (-left)%tm.interval
	}
	return left, tm.interval
}

// CPU-time clock ids a pid or tid is encoded in (MAKE_PROCESS_CPUCLOCK):
// ~pid << 3 | type, with cpuclockPerThread for a thread.
const (
	cpuclockProf      = 0
	cpuclockVirt      = 1
	cpuclockSched     = 2
	cpuclockPerThread = 4
)

// cpuClockSource is a CPU-time clock as a timer or clock_gettime reads
// it: the process, the thread for a per-thread clock, and the clock id
// timers use (clockProcessCPUTime, clockThreadCPUTime or
// clockProcessUser).
type cpuClockSource struct {
	proc   *Process
	thread *Task
	clock  int32
}

// cpuClock decodes a CPU-time clock id for the caller: the two constant
// ids, and encoded ones naming the caller's process or one of its
// threads (pid 0: the caller's). ok is false for a clock that is no CPU
// clock; a CPU clock of another process, or a bad encoding, is EINVAL.
// Host pids never enter: the clock is read from cmaemu's accounting.
func (t *Task) cpuClock(clock int32) (src cpuClockSource, ok bool, err error) {
	switch {
	case clock == clockProcessCPUTime:
		return cpuClockSource{proc: t.proc, clock: clockProcessCPUTime}, true, nil
	case clock == clockThreadCPUTime:
		return cpuClockSource{proc: t.proc, thread: t, clock: clockThreadCPUTime}, true, nil
	case clock >= 0:
		return src, false, nil
	}
	kind, id := clock&7, ^(clock >> 3)
	if kind&3 == 3 {
		return src, true, linux.EINVAL
	}
	if kind&cpuclockPerThread != 0 {
		th := t
		if id != 0 {
			if th = t.k.TaskByID(id); th == nil || th.proc != t.proc {
				return src, true, linux.EINVAL
			}
		}
		return cpuClockSource{proc: t.proc, thread: th, clock: clockThreadCPUTime}, true, nil
	}
	if id != 0 && id != t.proc.pid {
		return src, true, linux.EINVAL
	}
	c := int32(clockProcessCPUTime)
	if kind == cpuclockVirt {
		c = clockProcessUser
	}
	return cpuClockSource{proc: t.proc, clock: c}, true, nil
}

// cpuClockGettime answers clock_gettime and clock_getres for CPU-time
// clocks (handled false for others): the value, or the resolution (1ns).
func (t *Task) cpuClockGettime(clock int32, res bool) (d time.Duration, handled bool, err error) {
	src, ok, err := t.cpuClock(clock)
	if !ok || err != nil {
		return 0, ok, err
	}
	if res {
		return 1, true, nil
	}
	return clockNow(src.clock, src.proc, src.thread, t), true, nil
}

// putTimespec writes d as a timespec at addr, unless
// err is set, which it returns.
func (t *Task) putTimespec(addr mm.Addr, d time.Duration, err error, time32 bool) error {
	if err != nil {
		return err
	}
	return t.putTimePair(addr, int64(d/time.Second), int64(d%time.Second), time32)
}
