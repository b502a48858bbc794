package syscalls

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// Cross Memory Attach: process_vm_readv and process_vm_writev. The
// argument checks follow Linux 6.x in their exact order (see DESIGN.md,
// "CMA semantics"); the copy itself is mm.CopyBetween.

// ProcessVMReadv implements process_vm_readv(2).
func ProcessVMReadv(t *Task, a Args) (uintptr, error) {
	return processVM(t, a, mm.ReadRemote)
}

// ProcessVMWritev implements process_vm_writev(2).
func ProcessVMWritev(t *Task, a Args) (uintptr, error) {
	return processVM(t, a, mm.WriteRemote)
}

// iovecLayout is how an ABI lays out struct iovec.
type iovecLayout struct {
	size int // bytes per element
	// negative reports whether a length is negative as ssize_t.
	negative func(len uint64) bool
	decode   func(b []byte) mm.IOVec
}

var iovec64 = iovecLayout{
	size:     16,
	negative: func(l uint64) bool { return int64(l) < 0 },
	decode: func(b []byte) mm.IOVec {
		return mm.IOVec{Base: mm.Addr(binary.LittleEndian.Uint64(b)), Len: binary.LittleEndian.Uint64(b[8:])}
	},
}

// importIovecs reads n iovecs at addr, element by element as Linux does:
// the first element that is unreadable (EFAULT) or has a negative length
// (EINVAL) decides the error.
func (l iovecLayout) importIovecs(as *mm.MM, addr mm.Addr, n int) ([]mm.IOVec, error) {
	out := make([]mm.IOVec, n)
	raw := make([]byte, l.size*n)
	if _, err := as.CopyIn(addr, raw); err != nil {
		// Find the first element that fails, checking lengths in order.
		for i := range out {
			if _, err := as.CopyIn(addr+mm.Addr(l.size*i), raw[l.size*i:l.size*(i+1)]); err != nil {
				return nil, linux.EFAULT
			}
			if v := l.decode(raw[l.size*i:]); l.negative(v.Len) {
				return nil, linux.EINVAL
			}
		}
		return nil, linux.EFAULT
	}
	for i := range out {
		out[i] = l.decode(raw[l.size*i:])
		if l.negative(out[i].Len) {
			return nil, linux.EINVAL
		}
	}
	return out, nil
}

func processVM(t *Task, a Args, dir mm.CopyDirection) (uintptr, error) {
	return processVMCore(t, a.Int(0), a.Pointer(1), uint64(a.Uint(2)), a.Pointer(3), a.Uint64(4), a.Uint64(5), dir, iovec64)
}

// processVMCore is the syscall after ABI decoding: liovcnt already
// truncated as the entry point does, riovcnt as passed.
func processVMCore(t *Task, pid int32, lvec mm.Addr, liovcnt uint64, rvec mm.Addr, riovcnt, flags uint64,
	dir mm.CopyDirection, layout iovecLayout) (uintptr, error) {
	// 1. Flags first.
	if flags != 0 {
		return 0, linux.EINVAL
	}
	as := t.MM()
	// 2. The local iovec: count, array, negative lengths, the cap and
	// the range check of each element.
	if liovcnt > linux.UIO_MAXIOV {
		return 0, linux.EINVAL
	}
	liov, err := layout.importIovecs(as, lvec, int(liovcnt))
	if err != nil {
		return 0, err
	}
	// A single element is capped before its range check (import_ubuf);
	// with several, each is checked at its full length and the running
	// total is capped after (__import_iovec).
	single := len(liov) == 1
	var total uint64
	for i := range liov {
		room := uint64(linux.MAX_RW_COUNT) - total
		if single && liov[i].Len > room {
			liov[i].Len = room
		}
		if end, ok := liov[i].Base.AddLength(liov[i].Len); !ok || end > mm.TaskSize {
			return 0, linux.EFAULT
		}
		if liov[i].Len > room {
			liov[i].Len = room
		}
		total += liov[i].Len
	}
	// 3. Nothing to copy into or from locally: done, whatever the rest.
	if total == 0 {
		return 0, nil
	}
	// 4. The remote iovec: count (not truncated), array, negative lengths.
	if riovcnt > linux.UIO_MAXIOV {
		return 0, linux.EINVAL
	}
	riov, err := layout.importIovecs(as, rvec, int(riovcnt))
	if err != nil {
		return 0, err
	}
	// 5. No remote pages: done, before the pid is looked up.
	pages := false
	for _, v := range riov {
		if v.Len != 0 {
			pages = true
			break
		}
	}
	if !pages {
		return 0, nil
	}
	// 6. The target task (thread ids are accepted).
	if pid <= 0 {
		return 0, linux.ESRCH
	}
	target := t.k.TaskByID(pid)
	if target == nil {
		return 0, linux.ESRCH
	}
	// 7. Its address space, if the caller may attach to it.
	remote, err := t.attachMM(target)
	if err != nil {
		return 0, err
	}
	defer remote.DropUser()
	// 8. The copy.
	opts := mm.CopyOpts{Dir: dir, Trace: t.k.copySteps(t, target, dir)}
	n, err := mm.CopyBetween(as, liov, remote, riov, opts)
	t.k.copyDone(t, target, dir, layout, lvec, rvec, as, remote, liov, riov, n, err)
	return uintptr(n), err
}

// attachMM returns target's address space (with a user reference the
// caller drops) if the caller passes PTRACE_MODE_ATTACH_REALCREDS: same
// address space; or the caller's real uid and gid equal all of the
// target's uids and gids and the target is dumpable; or the caller holds
// CAP_SYS_PTRACE (euid 0). A target without an address space (exiting,
// zombie) is ESRCH.
func (t *Task) attachMM(target *Task) (*mm.MM, error) {
	tp := target.proc
	t.k.mu.Lock() // protects tp.tasks, and comes before tp.mu
	noTasks := len(tp.tasks) == 0
	t.k.mu.Unlock()
	tp.mu.Lock()
	remote := tp.mm
	if remote == nil || tp.exiting != nil && noTasks {
		tp.mu.Unlock()
		return nil, linux.ESRCH
	}
	remote.AddUser()
	tc, dumpable := tp.creds.clone(), tp.dumpable
	tp.mu.Unlock()
	if remote == t.MM() {
		return remote, nil
	}
	me := t.proc.Creds()
	capable := me.EUID == 0
	sameIDs := me.RUID == tc.EUID && me.RUID == tc.SUID && me.RUID == tc.RUID &&
		me.RGID == tc.EGID && me.RGID == tc.SGID && me.RGID == tc.RGID
	if (!sameIDs && !capable) || (!dumpable && !capable) {
		remote.DropUser()
		return nil, linux.EPERM
	}
	return remote, nil
}

// copyStep prints one piece of a CMA copy for --trace=mm.
func (tr *tracer) copyStep(t, target *Task, s mm.CopyStep) {
	var b strings.Builder
	side, pid := "local ", t.tid
	if s.Remote {
		side, pid = "remote", target.tid
	}
	if t.k.multiProcess() {
		fmt.Fprintf(&b, "[pid %d] ", t.tid)
	}
	fmt.Fprintf(&b, "  cma %s pid %d va %#x:", side, pid, uint64(s.VA))
	for l := 0; l < s.Walk.Depth; l++ {
		fmt.Fprintf(&b, " %s[%d]=%#x", mm.LevelNames[l], s.Walk.Index[l], uint64(s.Walk.Entry[l]))
	}
	if s.Zero {
		fmt.Fprintf(&b, " -> not present, zero frame, %d bytes\n", s.Bytes)
	} else {
		fmt.Fprintf(&b, " -> frame %#x, %d bytes\n", uint64(s.Frame), s.Bytes)
	}
	tr.mu.Lock()
	tr.w.Write([]byte(b.String()))
	tr.mu.Unlock()
}
