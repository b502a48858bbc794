package syscalls

import (
	"encoding/binary"
	"math"

	"github.com/cmaemu/cmaemu/kernel/event"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// capWakeAlarm is CAP_WAKE_ALARM, which the alarm clocks need.
const capWakeAlarm = 35

// TimerfdCreate implements timerfd_create(2).
func TimerfdCreate(t *Task, a Args) (uintptr, error) {
	clock, flags := a.Int(0), a.Uint(1)
	ok, alarm := event.ValidTimerClock(clock)
	if !ok || flags&^(event.TFDCloexec|event.TFDNonblock) != 0 {
		return 0, linux.EINVAL
	}
	if alarm && !t.proc.capable(capWakeAlarm) {
		return 0, linux.EPERM
	}
	tf, err := event.NewTimerFD(event.TimerClock(clock), flags)
	if err != nil {
		return 0, err
	}
	fd, err := t.proc.fds.Install(tf, 0, flags&event.TFDCloexec != 0)
	return uintptr(fd), err
}

// TimerfdSettime implements timerfd_settime(2) (64-bit timespecs).
var TimerfdSettime = timerfdSettime(false)

// TimerfdGettime implements timerfd_gettime(2) (64-bit timespecs).
var TimerfdGettime = timerfdGettime(false)

// timerfdSettime makes timerfd_settime for a timespec layout: i386's
// timerfd_settime has 32-bit fields, timerfd_settime64 64-bit ones.
func timerfdSettime(time32 bool) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		spec, err := t.readItimerspec(a.Pointer(2), time32)
		if err != nil {
			return 0, err
		}
		flags := a.Uint(1)
		if spec.Value < 0 || spec.Interval < 0 || flags&^(event.TFDTimerAbstime|event.TFDTimerCancelOn) != 0 {
			return 0, linux.EINVAL
		}
		tf, err := t.timerFD(a.Int(0))
		if err != nil {
			return 0, err
		}
		defer tf.DecRef()
		old, err := tf.Set(flags, spec)
		if err != nil {
			return 0, err
		}
		if a.Pointer(3) != 0 {
			return 0, t.writeItimerspec(a.Pointer(3), old, time32)
		}
		return 0, nil
	}
}

// timerfdGettime makes timerfd_gettime for a timespec layout.
func timerfdGettime(time32 bool) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		tf, err := t.timerFD(a.Int(0))
		if err != nil {
			return 0, err
		}
		defer tf.DecRef()
		return 0, t.writeItimerspec(a.Pointer(1), tf.Get(), time32)
	}
}

// timerFD returns the timerfd behind fd (EBADF; EINVAL for another
// kind of file) with a reference the caller drops.
func (t *Task) timerFD(fd int32) (*event.TimerFD, error) {
	f, err := t.proc.fds.Get(fd)
	if err != nil {
		return nil, err
	}
	tf, ok := f.(*event.TimerFD)
	if !ok {
		f.DecRef()
		return nil, linux.EINVAL
	}
	return tf, nil
}

// readItimerspec reads struct itimerspec; a field out of range (negative
// seconds, nanoseconds outside [0, 1e9)) is -1.
func (t *Task) readItimerspec(addr mm.Addr, time32 bool) (event.ItimerSpec, error) {
	var b [32]byte
	n := 32
	if time32 {
		n = 16
	}
	if _, err := t.MM().CopyIn(addr, b[:n]); err != nil {
		return event.ItimerSpec{}, err
	}
	var v [4]int64
	for i := range v {
		if time32 {
			v[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		} else {
			v[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	}
	return event.ItimerSpec{Interval: timespecNanos(v[0], v[1]), Value: timespecNanos(v[2], v[3])}, nil
}

// timespecNanos is a timespec in nanoseconds (saturated), or -1 if it is
// not valid.
func timespecNanos(sec, nsec int64) int64 {
	if sec < 0 || nsec < 0 || nsec >= 1e9 {
		return -1
	}
	if sec > (math.MaxInt64-nsec)/1e9 {
		return math.MaxInt64
	}
	return sec*1e9 + nsec
}

// writeItimerspec writes struct itimerspec.
func (t *Task) writeItimerspec(addr mm.Addr, s event.ItimerSpec, time32 bool) error {
	v := [4]int64{s.Interval / 1e9, s.Interval % 1e9, s.Value / 1e9, s.Value % 1e9}
	var b [32]byte
	n := 32
	if time32 {
		n = 16
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(min(x, math.MaxInt32)))
		}
	} else {
		for i, x := range v {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
		}
	}
	_, err := t.MM().CopyOut(addr, b[:n])
	return err
}
