package syscalls

import (
	"encoding/binary"

	"github.com/cmaemu/cmaemu/linux"
)

// Signalfd4 implements signalfd4(2): fd -1 makes a signalfd for the mask,
// an existing signalfd gets the new mask. The i386 mask (compat_sigset_t)
// has the same 8 bytes.
func Signalfd4(t *Task, a Args) (uintptr, error) {
	return signalfd(t, a.Int(0), a, a.Uint(3))
}

// Signalfd implements signalfd(2): signalfd4 without flags.
func Signalfd(t *Task, a Args) (uintptr, error) {
	return signalfd(t, a.Int(0), a, 0)
}

func signalfd(t *Task, fd int32, a Args, flags uint32) (uintptr, error) {
	if flags&^(sfdCloexec|sfdNonblock) != 0 || a.Uint64(2) != sigsetSize {
		return 0, linux.EINVAL
	}
	var b [sigsetSize]byte
	if _, err := t.MM().CopyIn(a.Pointer(1), b[:]); err != nil {
		return 0, err
	}
	mask := linux.SigSet(binary.LittleEndian.Uint64(b[:]))
	if fd != -1 {
		f, err := t.proc.fds.Get(fd)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		sfd, ok := f.(*signalFD)
		if !ok {
			return 0, linux.EINVAL
		}
		sfd.setMask(mask)
		return uintptr(fd), nil
	}
	nfd, err := t.proc.fds.Install(newSignalFD(t.proc, mask, flags), 0, flags&sfdCloexec != 0)
	return uintptr(nfd), err
}
