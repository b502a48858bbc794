package syscalls

import (
	"syscall"
	"unsafe"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// Close implements close(2).
func Close(t *Task, a Args) (uintptr, error) {
	return 0, t.proc.fds.Close(a.Int(0))
}

// Fstat implements fstat(2).
func Fstat(t *Task, a Args) (uintptr, error) {
	f, err := t.proc.fds.Get(a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	_, err = t.MM().CopyOut(a.Pointer(1), st[:])
	return 0, err
}

// fdCall makes a handler for a host call on a descriptor plus plain
// arguments; the kernel's own files answer notHost.
func fdCall(nr uintptr, notHost error) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		f, err := t.proc.fds.Get(a.Int(0))
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		h, ok := hostFD(f)
		if !ok {
			if of, isVFS := f.(*openFile); isVFS && of.pathOnly() {
				return 0, linux.EBADF
			}
			return 0, notHost
		}
		r, _, e := syscall.Syscall(nr, uintptr(h), uintptr(a[1]), uintptr(a[2]))
		if e != 0 {
			return 0, linux.Errno(e)
		}
		return r, nil
	}
}

// Fsync and Fdatasync: host files are synced by the host; the kernel's
// own files have nothing to sync (EINVAL for pipes, as Linux).
var (
	Fsync     = syncCall(syscall.SYS_FSYNC)
	Fdatasync = syncCall(syscall.SYS_FDATASYNC)
)

func syncCall(nr uintptr) Handler {
	host := fdCall(nr, nil)
	return func(t *Task, a Args) (uintptr, error) {
		f, err := t.proc.fds.Get(a.Int(0))
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		of, ok := f.(*openFile)
		switch {
		case !ok:
			return 0, linux.EINVAL
		case of.pathOnly():
			return 0, linux.EBADF
		}
		if _, isHost := of.host(); !isHost {
			return 0, nil
		}
		return host(t, a)
	}
}

// Umask implements umask(2).
func Umask(t *Task, a Args) (uintptr, error) {
	fs := t.proc.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	old := fs.umask
	fs.umask = a.Uint(0) & 0o777
	return uintptr(old), nil
}

// Dup implements dup(2).
func Dup(t *Task, a Args) (uintptr, error) {
	f, err := t.proc.fds.Get(a.Int(0))
	if err != nil {
		return 0, err
	}
	fd, err := t.proc.fds.Install(f, 0, false)
	return uintptr(fd), err
}

// Dup3 implements dup3(2).
func Dup3(t *Task, a Args) (uintptr, error) {
	if a.Int(0) == a.Int(1) {
		return 0, linux.EINVAL
	}
	if a.Uint(2)&^linux.O_CLOEXEC != 0 {
		return 0, linux.EINVAL
	}
	return dupTo(t, a.Int(0), a.Int(1), a.Uint(2)&linux.O_CLOEXEC != 0)
}

// Dup2 implements dup2(2).
func Dup2(t *Task, a Args) (uintptr, error) {
	if a.Int(0) == a.Int(1) {
		f, err := t.proc.fds.Get(a.Int(0))
		if err != nil {
			return 0, err
		}
		f.DecRef()
		return uintptr(a.Int(1)), nil
	}
	return dupTo(t, a.Int(0), a.Int(1), false)
}

func dupTo(t *Task, old, new int32, cloexec bool) (uintptr, error) {
	f, err := t.proc.fds.Get(old)
	if err != nil {
		return 0, err
	}
	if err := t.proc.fds.Set(new, f, cloexec); err != nil {
		return 0, err
	}
	return uintptr(new), nil
}

// Fcntl implements fcntl(2) for descriptor flags, status flags and dup.
func Fcntl(t *Task, a Args) (uintptr, error) {
	fd := a.Int(0)
	switch a.Int(1) {
	case linux.F_DUPFD, linux.F_DUPFD_CLOEXEC:
		f, err := t.proc.fds.Get(fd)
		if err != nil {
			return 0, err
		}
		if a.Int(2) < 0 || a.Int(2) >= t.proc.fds.Limit() {
			f.DecRef()
			return 0, linux.EINVAL
		}
		nfd, err := t.proc.fds.Install(f, a.Int(2), a.Int(1) == linux.F_DUPFD_CLOEXEC)
		return uintptr(nfd), err
	case linux.F_GETFD:
		ce, err := t.proc.fds.CloseOnExec(fd, nil)
		if ce {
			return linux.FD_CLOEXEC, err
		}
		return 0, err
	case linux.F_SETFD:
		set := a.Uint(2)&linux.FD_CLOEXEC != 0
		_, err := t.proc.fds.CloseOnExec(fd, &set)
		return 0, err
	case linux.F_ADD_SEALS, linux.F_GET_SEALS:
		return t.fcntlSeals(fd, a.Int(1), a.Uint(2))
	case fGetPipeSz, fSetPipeSz:
		f, err := t.proc.fds.Get(fd)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		if _, ok := f.(*pipeEnd); !ok {
			return 0, linux.EBADF
		}
		return pipeCapacity, nil // the size is fixed
	case fGetLk, fSetLk, fSetLkW, fOFDGetLk, fOFDSetLk, fOFDSetLkW, fSetLease, fGetLease:
		return t.fcntlLock(fd, a.Int(1), a.Pointer(2))
	case fSetOwn, fGetOwn, fSetSig, fGetSig, fSetOwnEx, fGetOwnEx:
		f, err := t.proc.fds.Get(fd)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		return t.fcntlOwner(f, a.Int(1), a.Uint64(2))
	case linux.F_GETFL, linux.F_SETFL:
		f, err := t.proc.fds.Get(fd)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		if a.Int(1) == linux.F_SETFL {
			return 0, f.SetStatus(a.Uint(2))
		}
		fl, err := f.Status()
		return uintptr(fl), err
	}
	f, err := t.proc.fds.Get(fd)
	if err != nil {
		return 0, err
	}
	f.DecRef()
	return 0, linux.EINVAL
}

// fcntl commands for pipe sizes.
const (
	fSetPipeSz = 1031
	fGetPipeSz = 1032
)

// ioctl requests the kernel answers (everything else is ENOTTY: the
// allow-list keeps a guest from reaching the host through a descriptor,
// e.g. TIOCSTI pushing input into the host's terminal).
const (
	ioctlTCGETS     = 0x5401
	ioctlTCSETS     = 0x5402
	ioctlTCSETSW    = 0x5403
	ioctlTCSETSF    = 0x5404
	ioctlTIOCGPGRP  = 0x540f
	ioctlTIOCSPGRP  = 0x5410
	ioctlTIOCGWINSZ = 0x5413
	ioctlFIONREAD   = 0x541b
	ioctlFIONBIO    = 0x5421
	ioctlFIONCLEX   = 0x5450
	ioctlFIOCLEX    = 0x5451

	termiosSize = 36 // struct termios of the kernel (not libc's)
)

// Ioctl implements ioctl(2) for an allow-list of requests: descriptor
// flags, non-blocking mode, bytes readable, and terminal attributes,
// window size and foreground group of host terminals.
func Ioctl(t *Task, a Args) (uintptr, error) {
	fd, req := a.Int(0), a.Uint(1)
	f, err := t.proc.fds.Get(fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if of, ok := f.(*openFile); ok && of.pathOnly() {
		return 0, linux.EBADF
	}
	switch req {
	case ioctlFIOCLEX, ioctlFIONCLEX:
		set := req == ioctlFIOCLEX
		_, err := t.proc.fds.CloseOnExec(fd, &set)
		return 0, err
	case ioctlFIONBIO:
		var b [4]byte
		if _, err := t.MM().CopyIn(a.Pointer(2), b[:]); err != nil {
			return 0, err
		}
		fl, err := f.Status()
		if err != nil {
			return 0, err
		}
		fl &^= linux.O_NONBLOCK
		if leUint32(b[:]) != 0 {
			fl |= linux.O_NONBLOCK
		}
		return 0, f.SetStatus(fl)
	}
	h, ok := hostFD(f)
	if !ok {
		if r, err, handled := t.socketIoctl(f, req, a.Pointer(2)); handled {
			return r, err
		}
		if pe, isPipe := f.(*pipeEnd); isPipe && req == ioctlFIONREAD {
			pe.p.mu.Lock()
			n := pe.p.n
			pe.p.mu.Unlock()
			var b [4]byte
			putU32(b[:], uint32(n))
			_, err := t.MM().CopyOut(a.Pointer(2), b[:])
			return 0, err
		}
		return 0, linux.ENOTTY
	}
	return t.hostIoctl(h, req, a.Pointer(2))
}

// hostIoctl passes an allowed request on a host descriptor to the host,
// with the argument's size known.
func (t *Task) hostIoctl(h int, req uint32, arg mm.Addr) (uintptr, error) {
	var buf [termiosSize]byte
	in, out := 0, 0
	switch req {
	case ioctlTCGETS:
		out = termiosSize
	case ioctlTCSETS, ioctlTCSETSW, ioctlTCSETSF:
		in = termiosSize
	case ioctlTIOCGWINSZ:
		out = 8
	case ioctlFIONREAD:
		out = 4
	case ioctlTIOCGPGRP, ioctlTIOCSPGRP:
		return t.foregroundGroup(h, req, arg)
	default:
		return 0, linux.ENOTTY
	}
	if in > 0 {
		if _, err := t.MM().CopyIn(arg, buf[:in]); err != nil {
			return 0, err
		}
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(h), uintptr(req), uintptr(unsafe.Pointer(&buf))); e != 0 {
		return 0, linux.Errno(e)
	}
	if out > 0 {
		if _, err := t.MM().CopyOut(arg, buf[:out]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// foregroundGroup answers TIOCGPGRP and TIOCSPGRP on a host terminal in
// guest terms: the kernel keeps the terminal's foreground process group
// among its own groups (initially the first process's).
func (t *Task) foregroundGroup(h int, req uint32, arg mm.Addr) (uintptr, error) {
	var tio [termiosSize]byte
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(h), ioctlTCGETS, uintptr(unsafe.Pointer(&tio))); e != 0 {
		return 0, linux.ENOTTY
	}
	var b [4]byte
	k := t.k
	if req == ioctlTIOCGPGRP {
		k.mu.Lock()
		pg := k.fgPgrp
		if pg == 0 {
			pg = t.proc.pgid
		}
		k.mu.Unlock()
		putU32(b[:], uint32(pg))
		_, err := t.MM().CopyOut(arg, b[:])
		return 0, err
	}
	if _, err := t.MM().CopyIn(arg, b[:]); err != nil {
		return 0, err
	}
	pg := int32(leUint32(b[:]))
	if pg < 0 {
		return 0, linux.EINVAL
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	found := false
	for _, p := range k.procs {
		if p.pgid == pg && p.sid == t.proc.sid && p.state != procZombie {
			found = true
			break
		}
	}
	if !found {
		return 0, linux.EPERM
	}
	k.fgPgrp = pg
	return 0, nil
}

// Sendfile implements sendfile(2) between host files; with a pipe on
// either side it is EINVAL, and callers fall back to read and write.
func Sendfile(t *Task, a Args) (uintptr, error) {
	ho, hi, release, err := t.hostPair(a.Int(0), a.Int(1), linux.EINVAL)
	if err != nil {
		return 0, err
	}
	defer release()
	var off int64
	offp := uintptr(0)
	if a.Pointer(2) != 0 {
		var b [8]byte
		if _, err := t.MM().CopyIn(a.Pointer(2), b[:]); err != nil {
			return 0, err
		}
		off = int64(leUint64(b[:]))
		offp = uintptr(unsafe.Pointer(&off))
	}
	n, _, e := syscall.Syscall6(syscall.SYS_SENDFILE, uintptr(ho), uintptr(hi), offp, uintptr(min(a.Uint64(3), linux.MAX_RW_COUNT)), 0, 0)
	if e != 0 {
		return 0, linux.Errno(e)
	}
	if offp != 0 {
		var b [8]byte
		putU64(b[:], uint64(off))
		if _, err := t.MM().CopyOut(a.Pointer(2), b[:]); err != nil {
			return 0, err
		}
	}
	return n, nil
}
