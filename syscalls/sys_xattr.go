package syscalls

import (
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// Extended attributes: the guest's files have none. Names are resolved
// (so a missing file is ENOENT and permissions apply), reads find no
// attribute (ENODATA), lists are empty, and setting is EOPNOTSUPP, as on
// a filesystem without xattr support.

// xattrPath resolves the path argument of the *xattr calls (nofollow for
// the l* forms).
func (t *Task) xattrPath(addr mm.Addr, nofollow bool) error {
	var at uint32
	if nofollow {
		at = linux.AT_SYMLINK_NOFOLLOW
	}
	p, err := t.resolveAt(linux.AT_FDCWD, addr, at, nil)
	if err != nil {
		return err
	}
	p.DecRef()
	return nil
}

// xattrFD checks the descriptor argument of the f*xattr calls.
func (t *Task) xattrFD(fd int32) error {
	f, err := t.proc.fds.Get(fd)
	if err != nil {
		return err
	}
	f.DecRef()
	return nil
}

// xattrCall makes the handlers of one *xattr family: result is what a
// call on an existing file returns.
func xattrCall(result func() (uintptr, error)) (path, lpath, fd Handler) {
	path = func(t *Task, a Args) (uintptr, error) {
		if err := t.xattrPath(a.Pointer(0), false); err != nil {
			return 0, err
		}
		return result()
	}
	lpath = func(t *Task, a Args) (uintptr, error) {
		if err := t.xattrPath(a.Pointer(0), true); err != nil {
			return 0, err
		}
		return result()
	}
	fd = func(t *Task, a Args) (uintptr, error) {
		if err := t.xattrFD(a.Int(0)); err != nil {
			return 0, err
		}
		return result()
	}
	return
}

// The handlers of getxattr, listxattr, setxattr and removexattr and
// their l* and f* forms.
var (
	Getxattr, Lgetxattr, Fgetxattr          = xattrCall(func() (uintptr, error) { return 0, linux.ENODATA })
	Listxattr, Llistxattr, Flistxattr       = xattrCall(func() (uintptr, error) { return 0, nil })
	Setxattr, Lsetxattr, Fsetxattr          = xattrCall(func() (uintptr, error) { return 0, linux.EOPNOTSUPP })
	Removexattr, Lremovexattr, Fremovexattr = xattrCall(func() (uintptr, error) { return 0, linux.EOPNOTSUPP })
)
