package syscalls

import (
	"encoding/binary"
	"time"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/kernel/event"
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// pollWait is one wait of poll or select over fds: the files the
// descriptors named when it began, held for the wait, and a waiter that
// watches them.
type pollWait struct {
	files []File // per fd, nil for negative or bad descriptors
	w     *file.Waiter
	// watched[i]: files[i] signals w by itself (file.Watchable).
	watched []bool
}

// newPollWait takes the files of fds and watches those that can be.
func (t *Task) newPollWait(fds []pollFD) *pollWait {
	pw := &pollWait{files: make([]File, len(fds)), watched: make([]bool, len(fds)), w: file.NewWaiter()}
	for i := range fds {
		if fds[i].fd < 0 {
			continue
		}
		if f, err := t.proc.fds.Get(fds[i].fd); err == nil {
			pw.files[i] = f
			pw.watched[i] = pw.w.Watch(f)
		}
	}
	return pw
}

func (pw *pollWait) close() {
	pw.w.Close()
	for _, f := range pw.files {
		if f != nil {
			f.DecRef()
		}
	}
}

// once fills revents for fds and returns the number ready; it adds the
// change channels of the files not watched to the next wait, and
// reports whether a file must be polled. Descriptors are looked up
// again each time, as Linux does: one closed meanwhile is POLLNVAL.
func (pw *pollWait) once(t *Task, fds []pollFD) (int, bool) {
	ready := 0
	host := false
	for i := range fds {
		fds[i].revents = 0
		if fds[i].fd < 0 {
			continue
		}
		f, err := t.proc.fds.Get(fds[i].fd)
		if err != nil {
			fds[i].revents = pollNval
			ready++
			continue
		}
		ev, ch := f.Readiness()
		if ch == nil {
			host = true
		} else if f != pw.files[i] || !pw.watched[i] {
			pw.w.Add(ch)
		}
		f.DecRef()
		mask := uint32(uint16(fds[i].events)) | pollErr | pollHup | pollNval
		if r := ev & mask; r != 0 {
			fds[i].revents = int16(r)
			ready++
		}
	}
	return ready, host
}

// poll waits until a descriptor is ready or the timeout (< 0: none)
// passes. The files are those of the descriptors when the call began.
func (t *Task) poll(fds []pollFD, timeout time.Duration) (int, error) {
	pw := t.newPollWait(fds)
	defer pw.close()
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		n, host := pw.once(t, fds)
		if n > 0 || timeout == 0 {
			return n, nil
		}
		wait := time.Duration(0)
		if timeout > 0 {
			if wait = time.Until(deadline); wait <= 0 {
				return 0, nil
			}
		}
		if host && (wait == 0 || wait > event.PollInterval) {
			wait = event.PollInterval
		}
		if err := pw.w.Wait(t, wait); err != nil && err != linux.ETIMEDOUT {
			return 0, err
		}
	}
}

func (t *Task) readPollFDs(addr mm.Addr, n uint64) ([]pollFD, error) {
	if n > uint64(t.proc.rlimit(linux.RLIMIT_NOFILE).cur) {
		return nil, linux.EINVAL
	}
	raw := make([]byte, 8*n)
	if _, err := t.MM().CopyIn(addr, raw); err != nil {
		return nil, err
	}
	fds := make([]pollFD, n)
	for i := range fds {
		fds[i].fd = int32(binary.LittleEndian.Uint32(raw[8*i:]))
		fds[i].events = int16(binary.LittleEndian.Uint16(raw[8*i+4:]))
	}
	return fds, nil
}

func (t *Task) writePollFDs(addr mm.Addr, fds []pollFD) error {
	raw := make([]byte, 8*len(fds))
	for i, p := range fds {
		binary.LittleEndian.PutUint32(raw[8*i:], uint32(p.fd))
		binary.LittleEndian.PutUint16(raw[8*i+4:], uint16(p.events))
		binary.LittleEndian.PutUint16(raw[8*i+6:], uint16(p.revents))
	}
	_, err := t.MM().CopyOut(addr, raw)
	return err
}

// Poll implements poll(2).
func Poll(t *Task, a Args) (uintptr, error) {
	fds, err := t.readPollFDs(a.Pointer(0), a.Uint64(1))
	if err != nil {
		return 0, err
	}
	timeout := time.Duration(-1)
	if ms := a.Int(2); ms >= 0 {
		timeout = time.Duration(ms) * time.Millisecond
	}
	n, err := t.poll(fds, timeout)
	if err != nil {
		if err == errRestart {
			return 0, linux.EINTR
		}
		return 0, err
	}
	return uintptr(n), t.writePollFDs(a.Pointer(0), fds)
}

// withMask runs a wait with a temporary signal mask (ppoll, pselect6).
func (t *Task) withMask(addr mm.Addr, size uint64, wait func() (uintptr, error)) (uintptr, error) {
	if addr != 0 {
		if size != sigsetSize {
			return 0, linux.EINVAL
		}
		var b [8]byte
		if _, err := t.MM().CopyIn(addr, b[:]); err != nil {
			return 0, err
		}
		t.proc.mu.Lock()
		old := t.sigmask
		t.proc.mu.Unlock()
		t.setMask(linux.SigSet(leUint64(b[:])))
		r, err := wait()
		if err == linux.EINTR {
			t.savedMask = &old // restored after the handler runs
		} else {
			t.setMask(old)
		}
		return r, err
	}
	return wait()
}

// Ppoll implements ppoll(2).
var Ppoll = ppollHandler(false)

// ppollHandler makes ppoll for a timespec layout.
func ppollHandler(time32 bool) Handler {
	return func(t *Task, a Args) (uintptr, error) { return ppoll(t, a, time32) }
}

func ppoll(t *Task, a Args, time32 bool) (uintptr, error) {
	fds, err := t.readPollFDs(a.Pointer(0), a.Uint64(1))
	if err != nil {
		return 0, err
	}
	timeout := time.Duration(-1)
	if a.Pointer(2) != 0 {
		if timeout, err = t.timespec(a.Pointer(2), time32); err != nil {
			return 0, err
		}
	}
	return t.withMask(a.Pointer(3), a.Uint64(4), func() (uintptr, error) {
		n, err := t.poll(fds, timeout)
		if err != nil {
			if err == errRestart {
				return 0, linux.EINTR
			}
			return 0, err
		}
		return uintptr(n), t.writePollFDs(a.Pointer(0), fds)
	})
}

// Pselect6 implements pselect6(2) on top of poll.
var Pselect6 = pselect6Handler(false)

// pselect6Handler makes pselect6 for a timespec layout; fd sets are
// arrays of longs, which for i386 are read as pairs: the bit order is the
// same in little-endian memory.
func pselect6Handler(time32 bool) Handler {
	return func(t *Task, a Args) (uintptr, error) { return pselect6(t, a, time32) }
}

func pselect6(t *Task, a Args, time32 bool) (uintptr, error) {
	timeout := time.Duration(-1)
	if a.Pointer(4) != 0 {
		var err error
		if timeout, err = t.timespec(a.Pointer(4), time32); err != nil {
			return 0, err
		}
	}
	var maskAddr mm.Addr
	var maskSize uint64
	if a.Pointer(5) != 0 {
		// struct { const sigset_t *ss; size_t ss_len; } of the ABI.
		p, err := t.readPointer(a.Pointer(5))
		if err != nil {
			return 0, err
		}
		l, err := t.readPointer(a.Pointer(5) + mm.Addr(t.table.abi.ptrSize))
		if err != nil {
			return 0, err
		}
		maskAddr, maskSize = p, uint64(l)
	}
	return t.withMask(maskAddr, maskSize, func() (uintptr, error) {
		return t.selectFDs(a.Int(0), [3]mm.Addr{a.Pointer(1), a.Pointer(2), a.Pointer(3)}, timeout)
	})
}

// Select implements select(2) (struct timeval timeout).
func Select(t *Task, a Args) (uintptr, error) {
	timeout := time.Duration(-1)
	if a.Pointer(4) != 0 {
		d, err := t.timespec(a.Pointer(4), t.mode == arch.Mode32)
		if err != nil {
			return 0, err
		}
		// timespec read; a timeval's second field is microseconds.
		timeout = d/time.Second*time.Second + d%time.Second*1000
		if d%time.Second >= time.Second/1000 {
			return 0, linux.EINVAL
		}
	}
	return t.selectFDs(a.Int(0), [3]mm.Addr{a.Pointer(1), a.Pointer(2), a.Pointer(3)}, timeout)
}

// selectFDs is select on poll: the three fd sets (arrays of longs of the
// ABI, nfds bits used) are read, waited on and written back.
func (t *Task) selectFDs(nfds int32, sets [3]mm.Addr, timeout time.Duration) (uintptr, error) {
	if nfds < 0 || nfds > maxFDs {
		return 0, linux.EINVAL
	}
	long := t.table.abi.ptrSize * 8
	nbytes := (int(nfds) + long - 1) / long * long / 8
	var bits [3][]byte
	for i, addr := range sets {
		bits[i] = make([]byte, nbytes)
		if addr != 0 && nbytes > 0 {
			if _, err := t.MM().CopyIn(addr, bits[i]); err != nil {
				return 0, err
			}
		}
	}
	isSet := func(b []byte, fd int32) bool { return b[fd/8]&(1<<(fd%8)) != 0 }
	var fds []pollFD
	for fd := int32(0); fd < nfds; fd++ {
		var ev int16
		if isSet(bits[0], fd) {
			ev |= pollIn
		}
		if isSet(bits[1], fd) {
			ev |= pollOut
		}
		if isSet(bits[2], fd) {
			ev |= pollPri
		}
		if ev == 0 {
			continue
		}
		if f, err := t.proc.fds.Get(fd); err != nil {
			return 0, linux.EBADF
		} else {
			f.DecRef()
		}
		fds = append(fds, pollFD{fd: fd, events: ev})
	}
	if _, err := t.poll(fds, timeout); err != nil {
		if err == errRestart {
			return 0, linux.EINTR
		}
		return 0, err
	}
	for i := range bits {
		clear(bits[i])
	}
	count := 0
	for _, f := range fds {
		r := f.revents
		for i, want := range [3]struct {
			ev, got int16
		}{{pollIn, pollIn | pollHup | pollErr}, {pollOut, pollOut | pollErr}, {pollPri, pollPri}} {
			if f.events&want.ev != 0 && r&want.got != 0 {
				bits[i][f.fd/8] |= 1 << (f.fd % 8)
				count++
			}
		}
	}
	for i, addr := range sets {
		if addr != 0 && nbytes > 0 {
			if _, err := t.MM().CopyOut(addr, bits[i]); err != nil {
				return 0, err
			}
		}
	}
	return uintptr(count), nil
}
