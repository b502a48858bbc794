package hostfs

import (
	"encoding/binary"
	"sync"
	"syscall"
	"unsafe"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

// Handle is an open host file: a host descriptor with the guest's flags.
// Its position and status flags are the host's.
type Handle struct {
	fd int
	// hashed32 says whether positions need converting for 32-bit
	// callers (dirpos32.go); computed once, on first use.
	hashed32 struct {
		once sync.Once
		yes  bool
	}
}

// NewHandle wraps a host descriptor the caller gives up (stdio).
func NewHandle(fd int) *Handle { return &Handle{fd: fd} }

// HostFD implements vfs.HostHandle.
func (h *Handle) HostFD() int { return h.fd }

// Read implements vfs.Handle with readv/preadv.
func (h *Handle) Read(bufs [][]byte, off int64) (int, error) {
	return VectorIO(h.fd, bufs, true, off)
}

// Write implements vfs.Handle with writev/pwritev.
func (h *Handle) Write(bufs [][]byte, off int64) (int, error) {
	return VectorIO(h.fd, bufs, false, off)
}

// Seek implements vfs.Handle.
func (h *Handle) Seek(off int64, whence int) (int64, error) {
	n, err := syscall.Seek(h.fd, off, whence)
	return n, hostErr(err)
}

// Attr implements vfs.Handle.
func (h *Handle) Attr() (vfs.Attr, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(h.fd, &st); err != nil {
		return vfs.Attr{}, hostErr(err)
	}
	return attrOf(&st), nil
}

// Close implements vfs.Handle.
func (h *Handle) Close() error { return hostErr(syscall.Close(h.fd)) }

// Getdents implements vfs.DirHandle with the host's getdents64. An entry
// the caller cannot take is read again next time: the host position goes
// back to the cookie before it.
func (h *Handle) Getdents(emit func(d vfs.Dirent, next int64) bool) error {
	before, err := syscall.Seek(h.fd, 0, 1)
	if err != nil {
		return hostErr(err)
	}
	buf := make([]byte, 8192)
	le := binary.LittleEndian
	for {
		r, _, e := syscall.Syscall(syscall.SYS_GETDENTS64, uintptr(h.fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		if e != 0 {
			return linux.Errno(e)
		}
		if r == 0 {
			return nil
		}
		for b := buf[:r]; len(b) >= 19; {
			reclen := int(le.Uint16(b[16:]))
			if reclen < 19 || reclen > len(b) {
				return linux.EIO
			}
			name := b[19:reclen]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			d := vfs.Dirent{Name: string(name), Ino: le.Uint64(b[0:]), Type: b[18]}
			next := int64(le.Uint64(b[8:]))
			if !emit(d, next) {
				_, err := syscall.Seek(h.fd, before, 0)
				return hostErr(err)
			}
			before = next
			b = b[reclen:]
		}
	}
}

// VectorIO reads or writes bufs on a host descriptor at off (-1: the
// file position), restarting on EINTR.
func VectorIO(fd int, bufs [][]byte, read bool, off int64) (int, error) {
	var small [8]syscall.Iovec
	iov := small[:0]
	if len(bufs) <= len(small) {
		iov = small[:len(bufs)]
	} else {
		iov = make([]syscall.Iovec, len(bufs))
	}
	for i, b := range bufs {
		if len(b) > 0 {
			iov[i].Base = &b[0]
		}
		iov[i].SetLen(len(b))
	}
	nr := uintptr(syscall.SYS_WRITEV)
	switch {
	case read && off < 0:
		nr = syscall.SYS_READV
	case read:
		nr = syscall.SYS_PREADV
	case off >= 0:
		nr = syscall.SYS_PWRITEV
	}
	for {
		n, _, e := syscall.Syscall6(nr, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(iov))), uintptr(len(iov)),
			uintptr(off), uintptr(uint64(off)>>32), 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, linux.Errno(e)
		}
		return int(n), nil
	}
}
