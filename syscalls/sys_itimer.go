package syscalls

import (
	"time"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// Interval timers: alarm(2), setitimer(2), getitimer(2). ITIMER_REAL is
// the process's alarm timer (p.alarm); ITIMER_VIRTUAL and ITIMER_PROF
// are CPU-time timers (posix_timer.go). All survive execve and are not
// inherited by fork.

// itimer kinds.
const (
	itimerReal    = 0
	itimerVirtual = 1
	itimerProf    = 2
)

// minRealInterval is the shortest period the host timer of ITIMER_REAL
// is re-armed with: a shorter one only coalesces more SIGALRMs.
const minRealInterval = 100 * time.Microsecond

// Alarm implements alarm(2) with the ITIMER_REAL timer.
func Alarm(t *Task, a Args) (uintptr, error) {
	left, _ := t.proc.setRealTimer(time.Duration(a.Uint(0))*time.Second, 0)
	return uintptr((left + time.Second - 1) / time.Second), nil
}

// Setitimer implements setitimer(2) (struct itimerval of the task's
// ABI).
func Setitimer(t *Task, a Args) (uintptr, error) {
	which := a.Int(0)
	time32 := t.mode == arch.Mode32
	var interval, value time.Duration
	if a.Pointer(1) != 0 {
		var err error
		if interval, value, err = t.itimerval(a.Pointer(1), time32); err != nil {
			return 0, err
		}
	}
	var left, oldInterval time.Duration
	switch which {
	case itimerReal:
		left, oldInterval = t.proc.setRealTimer(value, interval)
	case itimerVirtual, itimerProf:
		left, oldInterval = t.proc.setCPUItimer(which, value, interval)
	default:
		return 0, linux.EINVAL
	}
	if a.Pointer(2) != 0 {
		return 0, t.putItimer(a.Pointer(2), oldInterval, left, time32)
	}
	return 0, nil
}

// Getitimer implements getitimer(2).
func Getitimer(t *Task, a Args) (uintptr, error) {
	p := t.proc
	var left, interval time.Duration
	switch which := a.Int(0); which {
	case itimerReal:
		p.mu.Lock()
		if p.alarm != nil && time.Until(p.alarmAt) > 0 {
			left = time.Until(p.alarmAt)
		}
		interval = p.sigTimers.realInterval
		p.mu.Unlock()
	case itimerVirtual, itimerProf:
		p.mu.Lock()
		tm := p.sigTimers.timers.itimers[which]
		p.mu.Unlock()
		if tm != nil {
			now := tm.now()
			p.mu.Lock()
			left, interval = tm.remainingLocked(now)
			p.mu.Unlock()
		}
	default:
		return 0, linux.EINVAL
	}
	return 0, t.putItimer(a.Pointer(1), interval, left, t.mode == arch.Mode32)
}

// itimerval reads struct itimerval: interval then value, timevals.
func (t *Task) itimerval(addr mm.Addr, time32 bool) (interval, value time.Duration, err error) {
	half := mm.Addr(16)
	if time32 {
		half = 8
	}
	if interval, err = t.timeval(addr, time32); err != nil {
		return 0, 0, err
	}
	value, err = t.timeval(addr+half, time32)
	return interval, value, err
}

// putItimer writes struct itimerval. A timer that runs reports at least
// 1us left, as Linux does.
func (t *Task) putItimer(addr mm.Addr, interval, left time.Duration, time32 bool) error {
	half := mm.Addr(16)
	if time32 {
		half = 8
	}
	if left > 0 && left < time.Microsecond {
		left = time.Microsecond
	}
	if err := t.putTimePair(addr, int64(interval/time.Second), int64(interval%time.Second/time.Microsecond), time32); err != nil {
		return err
	}
	return t.putTimePair(addr+half, int64(left/time.Second), int64(left%time.Second/time.Microsecond), time32)
}

// timeval reads a struct timeval.
func (t *Task) timeval(addr mm.Addr, time32 bool) (time.Duration, error) {
	d, err := t.timespec(addr, time32) // same layout, microseconds
	if err != nil {
		return 0, err
	}
	usec := d % time.Second
	if usec >= time.Second/1000 {
		return 0, linux.EINVAL
	}
	return d - usec + usec*1000, nil
}

// setRealTimer arms (or, with value 0, disarms) ITIMER_REAL, which sends
// SIGALRM at value and then every interval (on the period grid: periods
// missed are skipped, as Linux's it_real_fn does). It returns the time
// that was left and the old interval.
func (p *Process) setRealTimer(value, interval time.Duration) (left, oldInterval time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &p.sigTimers
	oldInterval = s.realInterval
	if p.alarm != nil {
		if p.alarm.Stop() || oldInterval > 0 {
			left = max(time.Until(p.alarmAt), 0)
		}
		p.alarm = nil
	}
	s.realGen++
	s.realInterval = 0
	if value > 0 {
		s.realInterval = interval
		p.alarmAt = time.Now().Add(value)
		gen := s.realGen
		p.alarm = time.AfterFunc(value, func() { p.realTimerFired(gen) })
	}
	return left, oldInterval
}

// realTimerFired sends SIGALRM and re-arms a periodic ITIMER_REAL.
func (p *Process) realTimerFired(gen uint64) {
	p.mu.Lock()
	s := &p.sigTimers
	if s.realGen != gen {
		p.mu.Unlock()
		return
	}
	if iv := s.realInterval; iv > 0 {
		now := time.Now()
		next := p.alarmAt.Add(iv)
		if behind := now.Sub(next); behind >= 0 {
			next = next.Add((behind/iv + 1) * iv)
		}
		p.alarmAt = next
		p.alarm = time.AfterFunc(max(time.Until(next), minRealInterval), func() { p.realTimerFired(gen) })
	}
	p.mu.Unlock()
	p.k.signalProcess(p, linux.SIGALRM, newSigInfo(linux.SIGALRM, siKernel))
}

// setCPUItimer arms (or disarms) ITIMER_VIRTUAL (user CPU time,
// SIGVTALRM) or ITIMER_PROF (user and system CPU time, SIGPROF).
func (p *Process) setCPUItimer(which int32, value, interval time.Duration) (left, oldInterval time.Duration) {
	clock, sig := int32(clockProcessCPUTime), linux.SIGPROF
	if which == itimerVirtual {
		clock, sig = clockProcessUser, linux.SIGVTALRM
	}
	now := clockNow(clock, p, nil, nil) // before the locks: it takes them
	p.k.mu.Lock()
	defer p.k.mu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	ts := &p.sigTimers.timers
	tm := ts.itimers[which]
	if tm == nil {
		tm = &posixTimer{id: -1, proc: p, clock: clock, notify: sigevSignal, signo: sig, itimer: true}
		ts.itimers[which] = tm
	}
	left, oldInterval = tm.remainingLocked(now)
	tm.stopLocked()
	tm.interval = interval
	if value > 0 {
		tm.armed, tm.expiry = true, now+value
		tm.scheduleLocked(now)
	}
	return left, oldInterval
}
