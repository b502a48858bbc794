package hostfs

import (
	"bytes"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

// The host's openat2(2) and its resolve flags.
const (
	sysOpenat2             = 437
	resolveNoXdev          = 0x01
	resolveNoMagiclinks    = 0x02
	resolveNoSymlinks      = 0x04
	resolveBeneath         = 0x08
	lookupPathResolveFlags = resolveNoXdev | resolveNoMagiclinks | resolveNoSymlinks | resolveBeneath
)

// openHow is struct open_how.
type openHow struct {
	flags, mode, resolve uint64
}

// noOpenat2 is set once the host refused openat2 (a kernel before 5.6, or
// a seccomp filter): LookupPath then declines at once.
var noOpenat2 atomic.Bool

// LookupPath implements vfs.PathDir: one openat2 of the components below
// n that refuses to follow any symlink (a last one is opened itself, as
// O_PATH|O_NOFOLLOW does), to cross any host mount point or to leave n,
// so that the host walks exactly what the component-by-component walk
// would, all on n's filesystem (allowed by n's being so), and one fstat
// of the result. Any failure declines: the walk then goes component by
// component, which gives the exact error.
func (n *Inode) LookupPath(names []string) (vfs.Inode, vfs.Attr, bool) {
	if noOpenat2.Load() {
		return nil, vfs.Attr{}, false
	}
	size := len(names) // the slashes and the NUL
	for _, c := range names {
		size += len(c)
	}
	path := make([]byte, 0, size)
	for i, c := range names {
		if i > 0 {
			path = append(path, '/')
		}
		path = append(path, c...)
	}
	path = append(path, 0)
	if bytes.IndexByte(path, 0) != len(path)-1 {
		return nil, vfs.Attr{}, false
	}
	how := openHow{flags: linux.O_PATH | syscall.O_NOFOLLOW | syscall.O_CLOEXEC, resolve: lookupPathResolveFlags}
	var fd uintptr
	var e syscall.Errno
	for {
		fd, _, e = syscall.Syscall6(sysOpenat2, uintptr(n.fd), uintptr(unsafe.Pointer(&path[0])),
			uintptr(unsafe.Pointer(&how)), unsafe.Sizeof(how), 0, 0)
		if e != syscall.EINTR && e != syscall.EAGAIN {
			break
		}
	}
	if e == syscall.ENOSYS || e == syscall.EPERM {
		noOpenat2.Store(true)
	}
	if e != 0 {
		return nil, vfs.Attr{}, false
	}
	var st syscall.Stat_t
	if err := fstatFD(int(fd), &st); err != nil || st.Dev != n.dev {
		syscall.Close(int(fd))
		return nil, vfs.Attr{}, false
	}
	return n.fs.newInode(int(fd), &st), attrOf(&st), true
}
