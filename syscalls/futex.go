package syscalls

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmaemu/cmaemu/kernel/sleep"
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
	waker  *sleep.Waker // the task's wake-up word
	woken  atomic.Bool  // set (under ft.mu) before waker is woken
	key    futexKey     // the futex it waits on now (requeue moves it); ft.mu
}

// wakeLocked wakes w, which the caller has taken off its list.
// Preconditions: ft.mu held.
func (w *futexWaiter) wakeLocked() {
	w.woken.Store(true)
	w.waker.Wake()
}

// futexKey names a futex word as Linux does: by address space and
// virtual address in private memory (so that copy-on-write does not move
// it), by physical address in shared memory (so that processes meet).
// The shared (non-FUTEX_PRIVATE_FLAG) futex of a word in private memory
// is not its private futex: Linux marks the key (FUT_OFF_MMSHARED), so a
// private waiter is not woken through the shared futex, nor the reverse.
type futexKey struct {
	as     *mm.MM
	addr   mm.Addr
	pa     mm.PhysAddr
	shared bool
}

// futexTable holds the waiters of every futex word. Its lock is never
// held across a guest page fault: words are read under it with
// mm.PeekUint32, and faulted in with the lock dropped (loadLocked).
type futexTable struct {
	mu      sync.Mutex
	waiters map[futexKey][]*futexWaiter
}

// wake wakes waiters of key whose bitset shares a bit with bitset, as
// futex_wake does: n of them, and one when n is 0 or negative (Linux
// counts the wake before it compares). It returns how many it woke.
func (ft *futexTable) wake(key futexKey, n int, bitset uint32) int {
	ft.mu.Lock()
	var woken []*sleep.Waker
	list := ft.waiters[key]
	rest := list[:0]
	for _, w := range list {
		if (len(woken) == 0 || len(woken) < n) && w.bitset&bitset != 0 {
			w.woken.Store(true)
			woken = append(woken, w.waker)
			continue
		}
		rest = append(rest, w)
	}
	clear(list[len(rest):])
	if len(rest) == 0 {
		delete(ft.waiters, key)
	} else {
		ft.waiters[key] = rest
	}
	ft.mu.Unlock()
	// Woken without the lock: the waiter may make its next futex call
	// at once on another CPU.
	for _, w := range woken {
		w.Wake()
	}
	return len(woken)
}

// remove takes w out of the list of the futex it waits on now.
func (ft *futexTable) remove(w *futexWaiter) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	key := w.key
	list := ft.waiters[key]
	for i, x := range list {
		if x == w {
			ft.waiters[key] = append(list[:i], list[i+1:]...)
			list[len(list)-1] = nil
			break
		}
	}
	if len(ft.waiters[key]) == 0 {
		delete(ft.waiters, key)
	}
}

// loadLocked reads the futex word at addr with ft.mu held, as Linux's
// futex_get_value_locked: it never faults a page in under the lock. When
// the page is not there it drops the lock, faults the page in with a
// normal copy (EFAULT if it cannot), takes the lock again and retries.
// Preconditions: ft.mu held (and held again on return).
func (ft *futexTable) loadLocked(as *mm.MM, addr mm.Addr) (uint32, error) {
	for {
		if v, ok := as.PeekUint32(addr); ok {
			return v, nil
		}
		ft.mu.Unlock()
		var b [4]byte
		_, err := as.CopyIn(addr, b[:])
		ft.mu.Lock()
		if err != nil {
			return 0, linux.EFAULT
		}
	}
}

// futexKey names the futex word at addr: EINVAL if it is not 4-byte
// aligned, EFAULT if it is not a user address (access_ok of 4 bytes,
// which on x86-64 checks the first byte against TASK_SIZE_MAX). A private
// futex (FUTEX_PRIVATE_FLAG) is named by address space and address
// without looking at the page, as get_futex_key does; a shared one
// needs a readable page, whose frame names it in shared memory.
func (t *Task) futexKey(addr mm.Addr, private bool) (futexKey, error) {
	if addr&3 != 0 {
		return futexKey{}, linux.EINVAL
	}
	if addr > mm.TaskSize {
		return futexKey{}, linux.EFAULT
	}
	as := t.MM()
	if private {
		return futexKey{as: as, addr: addr}, nil
	}
	pa, _, err := as.Translate(addr, mm.Read)
	if err != nil {
		return futexKey{}, linux.EFAULT
	}
	if v, ok := as.FindVMA(addr); ok && v.Shared {
		return futexKey{pa: pa, shared: true}, nil
	}
	return futexKey{as: as, addr: addr, shared: true}, nil
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
	private := op&futexPrivateFlag != 0
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
		return 0, t.futexWait(ft, addr, private, val, bitset, timeout)
	case futexWake, futexWakeBitset:
		bitset := uint32(futexBitsetAny)
		if cmd == futexWakeBitset {
			if bitset = a.Uint(5); bitset == 0 {
				return 0, linux.EINVAL
			}
		}
		key, err := t.futexKey(addr, private)
		if err != nil {
			return 0, err
		}
		return uintptr(ft.wake(key, int(int32(val)), bitset)), nil
	case futexRequeue, futexCmpRequeue:
		// futex_requeue: the counts are ints (the timeout argument
		// carries nr_requeue, truncated to 32 bits); negative ones are
		// EINVAL before anything else, then both keys, then the value.
		nrWake, nrRequeue := int(int32(val)), int(int32(a.Uint64(3)))
		if nrWake < 0 || nrRequeue < 0 {
			return 0, linux.EINVAL
		}
		key, err := t.futexKey(addr, private)
		if err != nil {
			return 0, err
		}
		key2, err := t.futexKey(a.Pointer(4), private)
		if err != nil {
			return 0, err
		}
		ft.mu.Lock()
		defer ft.mu.Unlock()
		if cmd == futexCmpRequeue {
			v, err := ft.loadLocked(t.MM(), addr)
			if err != nil {
				return 0, err
			}
			if v != a.Uint(5) {
				return 0, linux.EAGAIN
			}
		}
		return uintptr(ft.requeueLocked(key, key2, nrWake, nrRequeue)), nil
	}
	return 0, linux.ENOSYS
}

// requeueLocked wakes up to nrWake waiters of from (whatever their
// bitsets) and moves up to nrRequeue of the others to to, in queue
// order; it returns how many it woke and moved. A requeue onto the same
// futex moves nothing but counts the waiters it would move, as Linux
// does. Preconditions: ft.mu held; counts not negative.
func (ft *futexTable) requeueLocked(from, to futexKey, nrWake, nrRequeue int) int {
	list := ft.waiters[from]
	woken := min(nrWake, len(list))
	for _, w := range list[:woken] {
		w.wakeLocked()
	}
	rest := list[woken:]
	moved := min(nrRequeue, len(rest))
	if from != to && moved > 0 {
		if ft.waiters == nil {
			ft.waiters = map[futexKey][]*futexWaiter{}
		}
		for _, w := range rest[:moved] {
			w.key = to
		}
		ft.waiters[to] = append(ft.waiters[to], rest[:moved]...)
		rest = rest[moved:]
	}
	if len(rest) > 0 {
		ft.waiters[from] = append([]*futexWaiter(nil), rest...)
	} else {
		delete(ft.waiters, from)
	}
	return woken + moved
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

func (t *Task) futexWait(ft *futexTable, addr mm.Addr, private bool, val, bitset uint32, timeout time.Duration) error {
	key, err := t.futexKey(addr, private)
	if err != nil {
		return err
	}
	w := &futexWaiter{bitset: bitset, waker: &t.waker, key: key}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	token := t.waker.Token()
	ft.mu.Lock()
	v, err := ft.loadLocked(t.MM(), addr)
	if err != nil {
		ft.mu.Unlock()
		return err
	}
	if v != val {
		ft.mu.Unlock()
		return linux.EAGAIN
	}
	if ft.waiters == nil {
		ft.waiters = map[futexKey][]*futexWaiter{}
	}
	ft.waiters[key] = append(ft.waiters[key], w)
	ft.mu.Unlock()
	for !w.woken.Load() {
		if err = t.Sleep(token, deadline); err != nil {
			break
		}
		token = t.waker.Token()
	}
	if err != nil {
		ft.remove(w)
		if w.woken.Load() {
			return nil // woken after all
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
	as := t.MM() // nil if the address space is gone: no word to clear
	if as != nil {
		if _, err := as.CopyOut(t.clearChildTID, zero[:]); err == nil {
			if key, err := t.futexKey(t.clearChildTID, false); err == nil {
				t.k.futexes.wake(key, 1, futexBitsetAny)
			}
		}
	}
	t.clearChildTID = 0
}
