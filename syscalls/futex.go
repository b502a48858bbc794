package syscalls

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// futex operations.
const (
	futexWait          = 0
	futexWake          = 1
	futexRequeue       = 3
	futexCmpRequeue    = 4
	futexWaitBitset    = 9
	futexWakeBitset    = 10
	futexPrivateFlag   = 128
	futexClockRealtime = 256
	futexBitsetAny     = 0xffffffff
)

// futexWaiter is a task blocked in FUTEX_WAIT.
type futexWaiter struct {
	bitset uint32
	woken  chan struct{}
}

// futexKey names a futex word as Linux does: by address space and
// virtual address in private memory (so that copy-on-write does not move
// it), by physical address in shared memory (so that processes meet).
type futexKey struct {
	as   *mm.MM
	addr mm.Addr
	pa   mm.PhysAddr
}

// futexTable holds the waiters of every futex word.
type futexTable struct {
	mu      sync.Mutex
	waiters map[futexKey][]*futexWaiter
}

func (ft *futexTable) wake(key futexKey, n int, bitset uint32) int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	woken := 0
	list := ft.waiters[key]
	rest := list[:0]
	for _, w := range list {
		if woken < n && w.bitset&bitset != 0 {
			close(w.woken)
			woken++
			continue
		}
		rest = append(rest, w)
	}
	if len(rest) == 0 {
		delete(ft.waiters, key)
	} else {
		ft.waiters[key] = rest
	}
	return woken
}

func (ft *futexTable) remove(key futexKey, w *futexWaiter) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	list := ft.waiters[key]
	for i, x := range list {
		if x == w {
			ft.waiters[key] = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(ft.waiters[key]) == 0 {
		delete(ft.waiters, key)
	}
}

// futexKey names the futex word at addr (4-byte aligned, readable).
func (t *Task) futexKey(addr mm.Addr) (futexKey, error) {
	if addr&3 != 0 {
		return futexKey{}, linux.EINVAL
	}
	as := t.MM()
	pa, _, err := as.Translate(addr, mm.Read)
	if err != nil {
		return futexKey{}, linux.EFAULT
	}
	if v, ok := as.FindVMA(addr); ok && v.Shared {
		return futexKey{pa: pa}, nil
	}
	return futexKey{as: as, addr: addr}, nil
}

// Futex implements futex(2): wait, wake, their bitset forms and requeue.
var Futex = futexHandler(false)

// futexHandler makes futex for a timespec layout (i386's futex takes a
// 32-bit one, futex_time64 and x86-64's a 64-bit one).
func futexHandler(time32 bool) Handler {
	return func(t *Task, a Args) (uintptr, error) { return futex(t, a, time32) }
}

func futex(t *Task, a Args, time32 bool) (uintptr, error) {
	addr, op, val := a.Pointer(0), a.Int(1), a.Uint(2)
	cmd := op &^ (futexPrivateFlag | futexClockRealtime)
	ft := &t.k.futexes
	switch cmd {
	case futexWait, futexWaitBitset:
		bitset := uint32(futexBitsetAny)
		if cmd == futexWaitBitset {
			if bitset = a.Uint(5); bitset == 0 {
				return 0, linux.EINVAL
			}
		}
		var timeout time.Duration
		if a.Pointer(3) != 0 {
			d, err := t.timespec(a.Pointer(3), time32)
			if err != nil {
				return 0, err
			}
			if cmd == futexWaitBitset { // absolute
				d = t.untilAbsolute(d, op&futexClockRealtime != 0)
				if d <= 0 {
					return 0, linux.ETIMEDOUT
				}
			}
			timeout = max(d, 1)
		}
		return 0, t.futexWait(ft, addr, val, bitset, timeout)
	case futexWake, futexWakeBitset:
		bitset := uint32(futexBitsetAny)
		if cmd == futexWakeBitset {
			if bitset = a.Uint(5); bitset == 0 {
				return 0, linux.EINVAL
			}
		}
		key, err := t.futexKey(addr)
		if err != nil {
			return 0, err
		}
		return uintptr(ft.wake(key, int(int32(val)), bitset)), nil
	case futexRequeue, futexCmpRequeue:
		key, err := t.futexKey(addr)
		if err != nil {
			return 0, err
		}
		if cmd == futexCmpRequeue {
			var b [4]byte
			if _, err := t.MM().CopyIn(addr, b[:]); err != nil {
				return 0, err
			}
			if binary.LittleEndian.Uint32(b[:]) != a.Uint(5) {
				return 0, linux.EAGAIN
			}
		}
		key2, err := t.futexKey(a.Pointer(4))
		if err != nil {
			return 0, err
		}
		n := ft.wake(key, int(int32(val)), futexBitsetAny)
		n += ft.requeue(key, key2, int(int32(a.Uint64(3))))
		return uintptr(n), nil
	}
	return 0, linux.ENOSYS
}

// requeue moves up to n waiters of from to to.
func (ft *futexTable) requeue(from, to futexKey, n int) int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	list := ft.waiters[from]
	moved := min(n, len(list))
	ft.waiters[to] = append(ft.waiters[to], list[:moved]...)
	if rest := list[moved:]; len(rest) > 0 {
		ft.waiters[from] = rest
	} else {
		delete(ft.waiters, from)
	}
	return moved
}

// untilAbsolute turns an absolute time on CLOCK_MONOTONIC (or REALTIME)
// into a duration from now.
func (t *Task) untilAbsolute(abs time.Duration, realtime bool) time.Duration {
	var ts [2]int64
	clock := uintptr(1) // CLOCK_MONOTONIC
	if realtime {
		clock = 0
	}
	clockGettime(clock, &ts)
	now := time.Duration(ts[0])*time.Second + time.Duration(ts[1])
	return abs - now
}

func (t *Task) futexWait(ft *futexTable, addr mm.Addr, val, bitset uint32, timeout time.Duration) error {
	key, err := t.futexKey(addr)
	if err != nil {
		return err
	}
	w := &futexWaiter{bitset: bitset, woken: make(chan struct{})}
	ft.mu.Lock()
	var b [4]byte
	if _, err := t.MM().CopyIn(addr, b[:]); err != nil {
		ft.mu.Unlock()
		return err
	}
	if binary.LittleEndian.Uint32(b[:]) != val {
		ft.mu.Unlock()
		return linux.EAGAIN
	}
	if ft.waiters == nil {
		ft.waiters = map[futexKey][]*futexWaiter{}
	}
	ft.waiters[key] = append(ft.waiters[key], w)
	ft.mu.Unlock()
	err = t.block(w.woken, timeout)
	if err != nil {
		ft.remove(key, w)
		select {
		case <-w.woken:
			return nil // woken after all
		default:
		}
	}
	return err
}

// exitThread does what a task's exit does for its thread library: clear
// the child tid word and wake its futex (pthread_join).
func (t *Task) exitThread() {
	if t.clearChildTID == 0 {
		return
	}
	var zero [4]byte
	if _, err := t.MM().CopyOut(t.clearChildTID, zero[:]); err == nil {
		if key, err := t.futexKey(t.clearChildTID); err == nil {
			t.k.futexes.wake(key, 1, futexBitsetAny)
		}
	}
	t.clearChildTID = 0
}
