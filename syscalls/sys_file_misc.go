package syscalls

import (
	"syscall"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

// Sync implements sync(2): host files are the host's to write back; the
// kernel's own filesystems live in memory.
func Sync(t *Task, a Args) (uintptr, error) { return 0, nil }

// Syncfs implements syncfs(2).
func Syncfs(t *Task, a Args) (uintptr, error) {
	f, err := t.proc.fds.Get(a.Int(0))
	if err != nil {
		return 0, err
	}
	f.DecRef()
	return 0, nil
}

// Fadvise64 implements fadvise64(2): advice is checked and has no effect.
func Fadvise64(t *Task, a Args) (uintptr, error) {
	return fadvise(t, a.Int(0), a.Int64(2), a.Int(3))
}

func fadvise(t *Task, fd int32, length int64, advice int32) (uintptr, error) {
	f, err := t.proc.fds.Get(fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if _, isPipe := f.(*pipeEnd); isPipe {
		return 0, linux.ESPIPE
	}
	if of, ok := f.(*openFile); ok && of.pathOnly() {
		return 0, linux.EBADF
	}
	if advice < 0 || advice > 5 || length < 0 {
		return 0, linux.EINVAL
	}
	return 0, nil
}

// Fallocate implements fallocate(2) on host files (by the host) and, for
// mode 0, on the kernel's own files by growing them.
func Fallocate(t *Task, a Args) (uintptr, error) {
	return fallocate(t, a.Int(0), a.Int(1), a.Int64(2), a.Int64(3))
}

func fallocate(t *Task, fd, mode int32, off, length int64) (uintptr, error) {
	f, err := t.proc.fds.Get(fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	of, ok := f.(*openFile)
	switch {
	case !ok:
		return 0, linux.ESPIPE
	case of.pathOnly():
		return 0, linux.EBADF
	case off < 0 || length <= 0:
		return 0, linux.EINVAL
	case of.accMode() == linux.O_RDONLY:
		return 0, linux.EBADF
	}
	const fallocKeepSize = 1
	if at, err := of.attr(); err == nil && at.IsRegular() && mode&fallocKeepSize == 0 && off+length > 0 {
		if err := t.fsizeAllows(at.Size, off+length); err != nil {
			return 0, err
		}
	}
	if h, isHost := of.host(); isHost {
		if err := syscall.Fallocate(h, uint32(mode), off, length); err != nil {
			return 0, hostErr(err)
		}
		return 0, nil
	}
	if mode != 0 {
		return 0, linux.EOPNOTSUPP
	}
	a, err := of.attr()
	if err != nil {
		return 0, err
	}
	if !a.IsRegular() {
		return 0, linux.ENODEV
	}
	if end := off + length; end > a.Size {
		sa, ok := of.Path().Inode.(vfs.Setattrer)
		if !ok {
			return 0, linux.EOPNOTSUPP
		}
		return 0, sa.Setattr(vfs.Setattr{Mask: vfs.SetSize, Size: end})
	}
	return 0, nil
}

// Flock implements flock(2): host files are locked by the host (each
// guest open file description has its own host one, so the locks work
// between guests as Linux's do); the kernel's own files answer ENOLCK.
func Flock(t *Task, a Args) (uintptr, error) {
	f, err := t.proc.fds.Get(a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	op := a.Int(1)
	switch op &^ syscall.LOCK_NB {
	case syscall.LOCK_SH, syscall.LOCK_EX, syscall.LOCK_UN:
	default:
		return 0, linux.EINVAL
	}
	of, ok := f.(*openFile)
	if !ok {
		return 0, linux.EINVAL
	}
	if of.pathOnly() {
		return 0, linux.EBADF
	}
	h, isHost := of.host()
	if !isHost {
		return 0, linux.ENOLCK
	}
	for {
		err := syscall.Flock(h, int(op))
		if err == syscall.EINTR {
			continue
		}
		return 0, hostErr(err)
	}
}

// CopyFileRange implements copy_file_range(2) between host files; other
// files answer EXDEV, after which callers copy by read and write.
func CopyFileRange(t *Task, a Args) (uintptr, error) {
	if a.Uint(5) != 0 {
		return 0, linux.EINVAL
	}
	hi, ho, release, err := t.hostPair(a.Int(0), a.Int(2), linux.EXDEV)
	if err != nil {
		return 0, err
	}
	defer release()
	var offIn, offOut int64
	pin, pout := (*int64)(nil), (*int64)(nil)
	if a.Pointer(1) != 0 {
		var b [8]byte
		if _, err := t.MM().CopyIn(a.Pointer(1), b[:]); err != nil {
			return 0, err
		}
		offIn, pin = int64(leUint64(b[:])), &offIn
	}
	if a.Pointer(3) != 0 {
		var b [8]byte
		if _, err := t.MM().CopyIn(a.Pointer(3), b[:]); err != nil {
			return 0, err
		}
		offOut, pout = int64(leUint64(b[:])), &offOut
	}
	n, err := hostCopyFileRange(hi, pin, ho, pout, int(min(a.Uint64(4), linux.MAX_RW_COUNT)))
	if err != nil {
		return 0, err
	}
	for _, x := range []struct {
		p   *int64
		arg int
	}{{pin, 1}, {pout, 3}} {
		if x.p != nil {
			var b [8]byte
			putU64(b[:], uint64(*x.p))
			if _, err := t.MM().CopyOut(a.Pointer(x.arg), b[:]); err != nil {
				return 0, err
			}
		}
	}
	return uintptr(n), nil
}

// NameToHandleAt implements name_to_handle_at(2): file handles are not
// offered (EOPNOTSUPP, as on filesystems without export support).
func NameToHandleAt(t *Task, a Args) (uintptr, error) {
	if a.Uint(4)&^(linux.AT_SYMLINK_FOLLOW|linux.AT_EMPTY_PATH) != 0 {
		return 0, linux.EINVAL
	}
	at := a.Uint(4) & linux.AT_EMPTY_PATH
	if a.Uint(4)&linux.AT_SYMLINK_FOLLOW == 0 {
		at |= linux.AT_SYMLINK_NOFOLLOW
	}
	p, err := t.resolveAt(a.Int(0), a.Pointer(1), at, nil)
	if err != nil {
		return 0, err
	}
	p.DecRef()
	return 0, linux.EOPNOTSUPP
}
