package syscalls

import (
	"encoding/binary"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/cmaemu/cmaemu/fs/hostfs"
	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

// openFile is an open file description of a file of the VFS: the handle
// its filesystem gave, and the path it was opened by. Descriptors made by
// dup and fork share it, and so its position and status flags.
type openFile struct {
	path vfs.Path   // Inode nil for the stdio descriptors of the host
	name string     // shown when there is no path (stdio)
	h    vfs.Handle // nil for O_PATH descriptors
	file.Refs

	mu     sync.Mutex // protects status
	status uint32     // O_ACCMODE and status flags (host handles: the host's)
	own    fileOwner  // F_SETOWN
	lockID uint64     // the description's id for OFD locks and leases (0: none yet)
	onLast func()     // run when the last reference goes (lock release)

	// hostKind caches whether the host descriptor is of a kind that can
	// block (hostwait.go): 0 unknown, 1 can block, 2 cannot.
	hostKind atomic.Int32
	cache    cacheKey // finds the file's page cache (pagecache.go)
}

func newOpenFile(p vfs.Path, h vfs.Handle, flags uint32) *openFile {
	f := &openFile{path: p, h: h, status: flags &^ (linux.O_CLOEXEC | linux.O_CREAT | linux.O_EXCL | linux.O_NOCTTY | linux.O_TRUNC)}
	return f
}

// DecRef drops a reference; the last closes the handle.
func (f *openFile) DecRef() {
	if f.Drop() {
		if f.onLast != nil {
			f.onLast()
		}
		if f.h != nil {
			f.h.Close()
		}
		f.path.DecRef()
	}
}

// Name is the path the file was opened by.
func (f *openFile) Name() string {
	if f.path.Inode == nil {
		return f.name
	}
	return f.path.Name
}

// Path returns the file's location (Inode nil for stdio).
func (f *openFile) Path() vfs.Path { return f.path }

// pathOnly reports an O_PATH descriptor.
func (f *openFile) pathOnly() bool { return f.h == nil }

// host returns the host descriptor behind the handle, if any.
func (f *openFile) host() (int, bool) {
	if hh, ok := f.h.(vfs.HostHandle); ok {
		return hh.HostFD(), true
	}
	return -1, false
}

// accMode is the descriptor's access mode.
func (f *openFile) accMode() uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status & linux.O_ACCMODE
}

// Read implements File.
func (f *openFile) Read(t file.Context, bufs [][]byte, off int64) (int, error) {
	if f.pathOnly() || f.accMode() == linux.O_WRONLY {
		return 0, linux.EBADF
	}
	if err := f.waitHost(t, pollIn); err != nil {
		return 0, err
	}
	o, k := cacheOf(t, f)
	if o == nil {
		return f.h.Read(bufs, off)
	}
	defer o.Release(k.ram)
	pos, err := f.position(off)
	if err != nil {
		return 0, err
	}
	n, err := f.h.Read(bufs, off)
	throughCache(bufs, pos, n, func(b []byte, at uint64) { o.CopyOutPresent(k.ram, b, at) })
	return n, err
}

// hostChunk is how much writeHostBlocking hands the host at a time: a
// pipe that polls writable has room for PIPE_BUF bytes, so the write does
// not block.
const hostChunk = 4096

// writeHostBlocking writes to a host descriptor that can block, one chunk
// at a time after poll says it is writable, so that a signal or a kill
// ends a write stuck on a full pipe: like Linux, it then returns what was
// written, or, if nothing was, is interrupted.
func (f *openFile) writeHostBlocking(t file.Context, fd int, bufs [][]byte, off int64) (int, error) {
	done := 0
	for _, b := range bufs {
		for len(b) > 0 {
			if err := t.WaitHost(fd, pollOut); err != nil {
				if done > 0 {
					return done, nil
				}
				return 0, err
			}
			chunk := b[:min(len(b), hostChunk)]
			n, err := f.h.Write([][]byte{chunk}, off)
			if n > 0 {
				done += n
				b = b[n:]
				if off >= 0 {
					off += int64(n)
				}
			}
			if err != nil {
				if done > 0 {
					return done, nil
				}
				return 0, err
			}
			if n < len(chunk) {
				return done, nil
			}
		}
	}
	return done, nil
}

// waitHost waits, interruptibly, until a host descriptor that can block
// is ready for events (hostwait.go). Other files return at once.
func (f *openFile) waitHost(t file.Context, events int16) error {
	fd, ok := f.blockingHost(t)
	if !ok {
		return nil
	}
	return t.WaitHost(fd, events)
}

// blockingHost returns the host descriptor if it can block now: of a kind
// that can (cached) and without O_NONBLOCK (which another host process
// sharing the description may change, so asked each time).
func (f *openFile) blockingHost(t file.Context) (int, bool) {
	fd, ok := f.host()
	if !ok || t == nil {
		return -1, false
	}
	kind := f.hostKind.Load()
	if kind == 0 {
		kind = 2
		if hostKindMayBlock(fd) {
			kind = 1
		}
		f.hostKind.Store(kind)
	}
	return fd, kind == 1 && !hostNonblocking(fd)
}

// Write implements File.
func (f *openFile) Write(t file.Context, bufs [][]byte, off int64) (int, error) {
	if f.pathOnly() || f.accMode() == linux.O_RDONLY {
		return 0, linux.EBADF
	}
	if _, isHost := f.host(); !isHost && off < 0 {
		f.mu.Lock()
		appendMode := f.status&linux.O_APPEND != 0
		f.mu.Unlock()
		if appendMode {
			if _, err := f.h.Seek(0, 2); err != nil {
				return 0, err
			}
		}
	}
	if fd, ok := f.blockingHost(t); ok {
		return f.writeHostBlocking(t, fd, bufs, off)
	}
	n, err := f.h.Write(bufs, off)
	if n > 0 {
		if o, k := cacheOf(t, f); o != nil {
			if end, perr := f.position(off); perr == nil {
				pos := end - int64(n) // where the write landed (O_APPEND too)
				if off >= 0 {
					pos = off
				}
				throughCache(bufs, pos, n, func(b []byte, at uint64) { o.CopyInPresent(k.ram, b, at) })
			}
			o.Release(k.ram)
		}
	}
	return n, err
}

// ReadAt reads at an offset without moving the position (io.ReaderAt:
// io.EOF when the file ends first; mm.File).
func (f *openFile) ReadAt(b []byte, off int64) (int, error) {
	if f.pathOnly() {
		return 0, linux.EBADF
	}
	n := 0
	for n < len(b) {
		m, err := f.h.Read([][]byte{b[n:]}, off+int64(n))
		if err != nil {
			return n, err
		}
		if m == 0 {
			return n, io.EOF
		}
		n += m
	}
	return n, nil
}

// WriteAt writes at an offset without moving the position (mm.SharedFile:
// the write-back of shared mappings).
func (f *openFile) WriteAt(b []byte, off int64) (int, error) {
	if f.pathOnly() {
		return 0, linux.EBADF
	}
	n := 0
	for n < len(b) {
		m, err := f.h.Write([][]byte{b[n:]}, off+int64(n))
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

// Size returns the file's size (mm.SharedFile).
func (f *openFile) Size() (int64, error) {
	a, err := f.attr()
	return a.Size, err
}

func (f *openFile) attr() (vfs.Attr, error) {
	if f.h != nil {
		return f.h.Attr()
	}
	return f.path.Attr()
}

// Seek moves the position (lseek).
func (f *openFile) Seek(off int64, whence int) (int64, error) {
	if f.pathOnly() {
		return 0, linux.EBADF
	}
	return f.h.Seek(off, whence)
}

// Status implements File.
func (f *openFile) Status() (uint32, error) {
	if fd, ok := f.host(); ok {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFL, 0)
		if e != 0 {
			return 0, linux.Errno(e)
		}
		return uint32(r) &^ linux.O_CLOEXEC, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status | linux.O_LARGEFILE, nil
}

// statusChangeable are the flags F_SETFL changes.
const statusChangeable = linux.O_APPEND | linux.O_NONBLOCK | 0o20000 /* O_ASYNC */ | 0o40000 /* O_DIRECT */ | 0o1000000 /* O_NOATIME */

// SetStatus implements File.
func (f *openFile) SetStatus(flags uint32) error {
	if f.pathOnly() {
		return linux.EBADF
	}
	if fd, ok := f.host(); ok {
		if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFL, uintptr(flags)); e != 0 {
			return linux.Errno(e)
		}
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = f.status&^statusChangeable | flags&statusChangeable
	return nil
}

// Stat implements File.
func (f *openFile) Stat() ([statSize]byte, error) {
	a, err := f.attr()
	if err != nil {
		return [statSize]byte{}, err
	}
	return file.EncodeStat(a), nil
}

// Readiness implements File: host files are polled through the host; the
// VFS's own files are always ready.
func (f *openFile) Readiness() (uint32, <-chan struct{}) {
	fd, ok := f.host()
	if !ok {
		return pollIn | pollOut, nil
	}
	fds := []pollFD{{fd: int32(fd), events: pollIn | pollOut}}
	syscall.Syscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&fds[0])), 1, 0)
	return uint32(fds[0].revents), nil
}

// hostFD returns the host descriptor behind f, if it is a host file.
func hostFD(f File) (int, bool) {
	of, ok := f.(*openFile)
	if !ok {
		return -1, false
	}
	return of.host()
}

// hostFile returns the host descriptor behind the guest's fd and the
// function that releases it: EBADF for no such fd, notHost for one that
// is not a host file (a pipe, a file of the kernel's own filesystems).
func (t *Task) hostFile(fd int32, notHost error) (int, func(), error) {
	f, err := t.proc.fds.Get(fd)
	if err != nil {
		return 0, nil, err
	}
	h, ok := hostFD(f)
	if !ok {
		f.DecRef()
		return 0, nil, notHost
	}
	return h, f.DecRef, nil
}

// hostPair returns the host descriptors behind two guest fds (sendfile,
// copy_file_range) and the function that releases them: EBADF for a
// missing fd, notHost when either is not a host file.
func (t *Task) hostPair(fd1, fd2 int32, notHost error) (h1, h2 int, release func(), err error) {
	f1, err := t.proc.fds.Get(fd1)
	if err != nil {
		return 0, 0, nil, err
	}
	f2, err := t.proc.fds.Get(fd2)
	if err != nil {
		f1.DecRef()
		return 0, 0, nil, err
	}
	release = func() { f1.DecRef(); f2.DecRef() }
	h1, ok1 := hostFD(f1)
	h2, ok2 := hostFD(f2)
	if !ok1 || !ok2 {
		release()
		return 0, 0, nil, notHost
	}
	return h1, h2, release, nil
}

// vfsFile returns the VFS file behind fd (EBADF, or notVFS for a pipe),
// with a reference the caller drops.
func (t *Task) vfsFile(fd int32, notVFS error) (*openFile, error) {
	f, err := t.proc.fds.Get(fd)
	if err != nil {
		return nil, err
	}
	of, ok := f.(*openFile)
	if !ok {
		f.DecRef()
		return nil, notVFS
	}
	return of, nil
}

// newStdioTable returns a table whose fds 0, 1 and 2 are duplicates of the
// given host files (nil: the host's own 0, 1, 2).
func newStdioTable(stdio [3]*os.File) (*FDTable, error) {
	t := newFDTable()
	for i, f := range stdio {
		host := i
		name := [3]string{"<stdin>", "<stdout>", "<stderr>"}[i]
		if f != nil {
			host, name = int(f.Fd()), f.Name()
		}
		dup, err := syscall.Dup(host)
		if err != nil {
			if err == syscall.EBADF {
				continue // the host has no such descriptor: neither has the guest
			}
			t.release()
			return nil, err
		}
		syscall.CloseOnExec(dup)
		fl, _, _ := syscall.Syscall(syscall.SYS_FCNTL, uintptr(dup), syscall.F_GETFL, 0)
		of := newOpenFile(vfs.Path{}, hostfs.NewHandle(dup), uint32(fl))
		of.name = name
		// What the descriptor is ("/dev/pts/0", "pipe:[123]"), as the
		// guest's /proc/PID/fd shows it.
		if target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(dup)); err == nil {
			of.name = target
		}
		t.fds[int32(i)] = fdEntry{file: of}
	}
	return t, nil
}

// statx mask bits and the size of struct statx.
const (
	statxBasicStats = 0x7ff
	statxMntID      = 0x1000
	statxSize       = 256
)

// encodeStatx lays out a as struct statx (the basic fields and the mount
// id; no birth time).
func encodeStatx(a vfs.Attr) [statxSize]byte {
	var b [statxSize]byte
	le := binary.LittleEndian
	le.PutUint32(b[0:], statxBasicStats|statxMntID)
	le.PutUint32(b[4:], uint32(a.Blksize))
	le.PutUint64(b[8:], a.Attributes)
	le.PutUint32(b[16:], uint32(a.Nlink))
	le.PutUint32(b[20:], a.UID)
	le.PutUint32(b[24:], a.GID)
	le.PutUint16(b[28:], uint16(a.Mode))
	le.PutUint64(b[32:], a.Ino)
	le.PutUint64(b[40:], uint64(a.Size))
	le.PutUint64(b[48:], uint64(a.Blocks))
	le.PutUint64(b[56:], 0x20|0x40) // attributes_mask: append, immutable known
	for i, ts := range [4]vfs.Timespec{a.Atime, {}, a.Ctime, a.Mtime} {
		le.PutUint64(b[64+16*i:], uint64(ts.Sec))
		le.PutUint32(b[72+16*i:], uint32(ts.Nsec))
	}
	le.PutUint32(b[128:], uint32(a.Rdev>>8&0xfff|a.Rdev>>32&^0xfff)) // rdev major
	le.PutUint32(b[132:], uint32(a.Rdev&0xff|a.Rdev>>12&^0xff))      // rdev minor
	le.PutUint32(b[136:], uint32(a.Dev>>8&0xfff|a.Dev>>32&^0xfff))   // dev major
	le.PutUint32(b[140:], uint32(a.Dev&0xff|a.Dev>>12&^0xff))        // dev minor
	le.PutUint64(b[144:], a.MountID)
	return b
}
