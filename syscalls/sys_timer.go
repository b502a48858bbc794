package syscalls

import (
	"encoding/binary"
	"syscall"
	"time"
	"unsafe"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// sigeventSize is sizeof(struct sigevent) in both ABIs.
const sigeventSize = 64

// timerClockOK checks a clock for timer_create: EINVAL for an unknown
// or per-pid clock, EOPNOTSUPP for one without timers.
func timerClockOK(clock int32) error {
	switch clock {
	case clockRealtime, clockMonotonic, clockProcessCPUTime, clockThreadCPUTime, clockBoottime, clockTAI:
		return nil
	case clockRealtimeAlarm, clockBoottimeAlarm:
		return linux.EPERM // CAP_WAKE_ALARM is not a guest's
	case clockMonotonicRaw, clockRealtimeCoarse, clockMonotonicCoars:
		return linux.EOPNOTSUPP
	}
	return linux.EINVAL
}

// TimerCreate implements timer_create(2): SIGEV_SIGNAL (and SIGEV_THREAD,
// which the kernel sees as SIGEV_SIGNAL), SIGEV_THREAD_ID to a thread of
// the process, SIGEV_NONE. A NULL sigevent is SIGALRM with the timer id
// as value. The timers of a process count against its
// RLIMIT_SIGPENDING, all guests' together against maxTimersPerKernel
// (EAGAIN beyond).
func TimerCreate(t *Task, a Args) (uintptr, error) {
	clock := a.Int(0)
	tm := &posixTimer{proc: t.proc, clock: clock, thread: t, notify: sigevSignal, signo: linux.SIGALRM}
	if src, ok, err := t.cpuClock(clock); ok {
		if err != nil {
			return 0, err
		}
		tm.clock, tm.thread = src.clock, src.thread
	} else if err := timerClockOK(clock); err != nil {
		return 0, err
	}
	haveEvent := a.Pointer(1) != 0
	if haveEvent {
		if err := t.readSigevent(a.Pointer(1), tm); err != nil {
			return 0, err
		}
	}
	p := t.proc
	if t.k.timerCount.Add(1) > maxTimersPerKernel {
		t.k.timerCount.Add(-1)
		return 0, linux.EAGAIN
	}
	limit := p.rlimit(linux.RLIMIT_SIGPENDING).cur
	p.mu.Lock()
	ts := &p.sigTimers.timers
	if ts.byID == nil {
		ts.byID = map[int32]*posixTimer{}
	}
	if uint64(len(ts.byID)) >= limit {
		p.mu.Unlock()
		t.k.timerCount.Add(-1)
		return 0, linux.EAGAIN
	}
	for ts.byID[ts.nextID] != nil {
		ts.nextID = (ts.nextID + 1) & 0x7fffffff
	}
	tm.id = ts.nextID
	ts.nextID = (ts.nextID + 1) & 0x7fffffff
	if !haveEvent {
		tm.value = uint64(tm.id)
	}
	ts.byID[tm.id] = tm
	p.mu.Unlock()
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(tm.id))
	if _, err := t.MM().CopyOut(a.Pointer(2), b[:]); err != nil {
		p.mu.Lock()
		delete(ts.byID, tm.id)
		p.mu.Unlock()
		t.k.timerCount.Add(-1)
		return 0, err
	}
	return 0, nil
}

// readSigevent reads a struct sigevent (compat_sigevent for i386) into
// tm, with good_sigevent's checks.
func (t *Task) readSigevent(addr mm.Addr, tm *posixTimer) error {
	var b [sigeventSize]byte
	if _, err := t.MM().CopyIn(addr, b[:]); err != nil {
		return err
	}
	le := binary.LittleEndian
	var signo, notify, tid int32
	if t.mode == arch.Mode32 {
		tm.value = uint64(le.Uint32(b[0:]))
		signo, notify, tid = int32(le.Uint32(b[4:])), int32(le.Uint32(b[8:])), int32(le.Uint32(b[12:]))
	} else {
		tm.value = le.Uint64(b[0:])
		signo, notify, tid = int32(le.Uint32(b[8:])), int32(le.Uint32(b[12:])), int32(le.Uint32(b[16:]))
	}
	switch notify {
	case sigevThreadID:
		target := t.k.TaskByID(tid)
		if target == nil || target.proc != t.proc {
			return linux.EINVAL
		}
		tm.target = target
		fallthrough
	case sigevSignal, sigevThread:
		if signo <= 0 || signo > linux.NSig {
			return linux.EINVAL
		}
		fallthrough
	case sigevNone:
	default:
		return linux.EINVAL
	}
	tm.notify, tm.signo = notify, linux.Signal(signo)
	if notify == sigevThread {
		tm.notify = sigevSignal
	}
	return nil
}

// timer returns the caller's timer id (EINVAL if there is none).
// Preconditions: p.mu held.
func (p *Process) timerLocked(id int32) (*posixTimer, error) {
	if tm := p.sigTimers.timers.byID[id]; tm != nil {
		return tm, nil
	}
	return nil, linux.EINVAL
}

// TimerSettime implements timer_settime(2) (x86-64, i386's
// timer_settime64).
var TimerSettime = timerSettimeHandler(false)

// TimerGettime implements timer_gettime(2) (x86-64, i386's
// timer_gettime64).
var TimerGettime = timerGettimeHandler(false)

// itimerspec reads struct itimerspec (interval, value) in the layout
// asked.
func (t *Task) itimerspec(addr mm.Addr, time32 bool) (interval, value time.Duration, err error) {
	half := mm.Addr(16)
	if time32 {
		half = 8
	}
	if interval, err = t.timespec(addr, time32); err != nil {
		return 0, 0, err
	}
	value, err = t.timespec(addr+half, time32)
	return interval, value, err
}

// putItimerspec writes struct itimerspec.
func (t *Task) putItimerspec(addr mm.Addr, interval, value time.Duration, time32 bool) error {
	half := mm.Addr(16)
	if time32 {
		half = 8
	}
	if err := t.putTimePair(addr, int64(interval/time.Second), int64(interval%time.Second), time32); err != nil {
		return err
	}
	return t.putTimePair(addr+half, int64(value/time.Second), int64(value%time.Second), time32)
}

func timerSettimeHandler(time32 bool) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		id, flags, newAddr, oldAddr := a.Int(0), a.Int(1), a.Pointer(2), a.Pointer(3)
		if newAddr == 0 {
			return 0, linux.EINVAL
		}
		interval, value, err := t.itimerspec(newAddr, time32)
		if err != nil {
			return 0, err
		}
		p := t.proc
		p.mu.Lock()
		tm, err := p.timerLocked(id)
		p.mu.Unlock()
		if err != nil {
			return 0, err
		}
		now := tm.now() // outside the locks: CPU clocks take them
		t.k.mu.Lock()
		p.mu.Lock()
		if p.sigTimers.timers.byID[id] != tm {
			p.mu.Unlock()
			t.k.mu.Unlock()
			return 0, linux.EINVAL // deleted meanwhile
		}
		oldLeft, oldInterval := tm.remainingLocked(now)
		tm.stopLocked()
		tm.interval, tm.lastOver, tm.overrun = interval, 0, 0
		if value > 0 {
			tm.armed = true
			tm.expiry = now + value
			if flags&timerAbstime != 0 {
				tm.expiry = value
			}
			tm.scheduleLocked(now)
		}
		p.mu.Unlock()
		t.k.mu.Unlock()
		if oldAddr != 0 {
			return 0, t.putItimerspec(oldAddr, oldInterval, oldLeft, time32)
		}
		return 0, nil
	}
}

func timerGettimeHandler(time32 bool) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		p := t.proc
		p.mu.Lock()
		tm, err := p.timerLocked(a.Int(0))
		p.mu.Unlock()
		if err != nil {
			return 0, err
		}
		now := tm.now()
		p.mu.Lock()
		left, interval := tm.remainingLocked(now)
		p.mu.Unlock()
		return 0, t.putItimerspec(a.Pointer(1), interval, left, time32)
	}
}

// TimerGetoverrun implements timer_getoverrun(2): the overrun of the
// timer's last signal taken.
func TimerGetoverrun(t *Task, a Args) (uintptr, error) {
	p := t.proc
	p.mu.Lock()
	defer p.mu.Unlock()
	tm, err := p.timerLocked(a.Int(0))
	if err != nil {
		return 0, err
	}
	return uintptr(tm.lastOver), nil
}

// TimerDelete implements timer_delete(2). A signal it sent and that is
// still pending stays pending.
func TimerDelete(t *Task, a Args) (uintptr, error) {
	p := t.proc
	p.mu.Lock()
	defer p.mu.Unlock()
	tm, err := p.timerLocked(a.Int(0))
	if err != nil {
		return 0, err
	}
	tm.stopLocked()
	delete(p.sigTimers.timers.byID, tm.id)
	t.k.timerCount.Add(-1)
	return 0, nil
}

// ClockSettime implements clock_settime(2): a guest never sets the
// host's clocks. After Linux's checks of the clock and the time, the
// settable clocks answer EPERM, as to a caller without CAP_SYS_TIME.
var ClockSettime = clockSettimeHandler(false)

func clockSettimeHandler(time32 bool) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		clock := a.Int(0)
		if err := clockValid(clock); err != nil {
			return 0, err
		}
		if _, err := t.timespec(a.Pointer(1), time32); err != nil {
			return 0, err
		}
		switch clock {
		case clockRealtime, clockProcessCPUTime, clockThreadCPUTime:
			return 0, linux.EPERM
		}
		return 0, linux.EINVAL
	}
}

// clockValid is EINVAL for a clock id Linux does not know (per-pid and
// per-thread CPU clocks, negative ids, are not offered).
func clockValid(clock int32) error {
	if clock < 0 || clock > clockTAI || clock == 10 {
		return linux.EINVAL
	}
	return nil
}

// Settimeofday implements settimeofday(2): EPERM after the arguments'
// checks (as for clock_settime).
func Settimeofday(t *Task, a Args) (uintptr, error) {
	time32 := t.mode == arch.Mode32
	if a.Pointer(0) != 0 {
		if _, err := t.timeval(a.Pointer(0), time32); err != nil {
			return 0, err
		}
	}
	if a.Pointer(1) != 0 {
		var tz [8]byte
		if _, err := t.MM().CopyIn(a.Pointer(1), tz[:]); err != nil {
			return 0, err
		}
	}
	return 0, linux.EPERM
}

// Stime implements i386's stime(2): EPERM.
func Stime(t *Task, a Args) (uintptr, error) {
	var b [4]byte
	if _, err := t.MM().CopyIn(a.Pointer(0), b[:]); err != nil {
		return 0, err
	}
	return 0, linux.EPERM
}

// adjtimex modes that only read (0, ADJ_OFFSET_SS_READ).
const adjOffsetSSRead = 0xa001

// timexSize is sizeof(struct timex) on x86-64; timex32Size that of
// i386's struct old_timex32.
const (
	timexSize   = 208
	timex32Size = 128
)

// timexFields are the offsets of struct timex's fields after modes, each
// one 32-bit word in struct old_timex32 (from offset 4 on).
var timexFields = [...]int{8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 136, 144, 152, 160}

// intTimexFields are the int (not long) fields of struct timex: status,
// shift, tai.
var intTimexFields = map[int]bool{40: true, 112: true, 160: true}

// Adjtimex implements adjtimex(2): reading the host clock's state (modes
// 0 or ADJ_OFFSET_SS_READ); any change is EPERM.
func Adjtimex(t *Task, a Args) (uintptr, error) {
	return t.adjtimex(a.Pointer(0))
}

// ClockAdjtime implements clock_adjtime(2) for CLOCK_REALTIME (i386's
// clock_adjtime64 too, whose struct timex is x86-64's).
var ClockAdjtime = clockAdjtimeHandler((*Task).adjtimex64)

// ClockAdjtime32 implements i386's clock_adjtime (struct old_timex32).
var ClockAdjtime32 = clockAdjtimeHandler((*Task).adjtimex)

func clockAdjtimeHandler(adjtimex func(*Task, mm.Addr) (uintptr, error)) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		clock := a.Int(0)
		if err := clockValid(clock); err != nil {
			return 0, err
		}
		if clock != clockRealtime {
			return 0, linux.EOPNOTSUPP
		}
		return adjtimex(t, a.Pointer(1))
	}
}

func (t *Task) adjtimex(addr mm.Addr) (uintptr, error) {
	if t.mode != arch.Mode32 {
		return t.adjtimex64(addr)
	}
	le := binary.LittleEndian
	var c [timex32Size]byte
	if _, err := t.MM().CopyIn(addr, c[:]); err != nil {
		return 0, err
	}
	var x [timexSize]byte
	copy(x[:4], c[:4])
	for i, off := range timexFields {
		v := int64(int32(le.Uint32(c[4+4*i:])))
		if intTimexFields[off] {
			le.PutUint32(x[off:], uint32(v))
		} else {
			le.PutUint64(x[off:], uint64(v))
		}
	}
	ret, err := hostAdjtimex(&x)
	if err != nil {
		return 0, err
	}
	for i, off := range timexFields {
		if intTimexFields[off] {
			copy(c[4+4*i:], x[off:off+4])
		} else {
			le.PutUint32(c[4+4*i:], uint32(le.Uint64(x[off:])))
		}
	}
	if _, err := t.MM().CopyOut(addr, c[:]); err != nil {
		return 0, err
	}
	return ret, nil
}

func (t *Task) adjtimex64(addr mm.Addr) (uintptr, error) {
	var x [timexSize]byte
	if _, err := t.MM().CopyIn(addr, x[:]); err != nil {
		return 0, err
	}
	ret, err := hostAdjtimex(&x)
	if err != nil {
		return 0, err
	}
	if _, err := t.MM().CopyOut(addr, x[:]); err != nil {
		return 0, err
	}
	return ret, nil
}

// hostAdjtimex reads the host clock's state into x (struct timex) when
// x's modes only read; any other mode is EPERM (EINVAL for ADJ_ADJTIME
// without ADJ_OFFSET_SINGLESHOT, as Linux checks first).
func hostAdjtimex(x *[timexSize]byte) (uintptr, error) {
	const adjAdjtime, adjOffsetSingleshot = 0x8000, 0x0001
	modes := binary.LittleEndian.Uint32(x[0:])
	switch {
	case modes&adjAdjtime != 0 && modes&adjOffsetSingleshot == 0:
		return 0, linux.EINVAL
	case modes != 0 && modes != adjOffsetSSRead:
		return 0, linux.EPERM
	}
	r, _, e := syscall.Syscall(syscall.SYS_ADJTIMEX, uintptr(unsafe.Pointer(x)), 0, 0)
	if e != 0 {
		return 0, linux.Errno(e)
	}
	return r, nil
}

// sleepClockOK checks clock_nanosleep's clock: the wall clocks sleep
// (the process CPU clock too, by the wall clock); a thread's CPU clock
// and unknown ids are EINVAL, clocks without timers EOPNOTSUPP.
func sleepClockOK(clock int32) error {
	if clock == clockThreadCPUTime || clock < 0 && clock&cpuclockPerThread != 0 {
		return linux.EINVAL
	}
	if clock < 0 {
		return nil
	}
	return timerClockOK(clock)
}
