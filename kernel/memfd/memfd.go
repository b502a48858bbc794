// Package memfd implements the files memfd_create(2) makes: unlinked
// tmpfs-like regular files whose pages are frames of guest RAM, with
// Linux's file seals (mm/memfd.c, mm/shmem.c).
//
// A file's data is a memory object (mm.SharedObject without a file):
// read(2) and write(2) copy from and to its frames, and every MAP_SHARED
// mapping of the file maps those same frames, so all of them see each
// other's stores at once. The object lives as long as the file or a
// mapping of it does.
//
// Locking. File.mu protects the size, the seals and the attributes; it is
// held across reads and writes of the object (whose own lock comes
// after). A handle's mu protects its position.
package memfd

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// NameMax is MFD_NAME_MAX_LEN: NAME_MAX less the "memfd:" prefix.
const NameMax = 255 - len("memfd:")

// maxFileSize is MAX_LFS_FILESIZE.
const maxFileSize = 1<<63 - 1

// writeSeals are the seals that forbid writing.
const writeSeals = linux.F_SEAL_WRITE | linux.F_SEAL_FUTURE_WRITE

// allSeals are the seals F_ADD_SEALS knows.
const allSeals = linux.F_SEAL_SEAL | linux.F_SEAL_SHRINK | linux.F_SEAL_GROW | linux.F_SEAL_WRITE |
	linux.F_SEAL_FUTURE_WRITE | linux.F_SEAL_EXEC

// Dev is the device the files report: the kernel's internal shm mount.
const Dev = 1

// File is a memfd's inode.
type File struct {
	ram  *mm.RAM
	obj  *mm.SharedObject
	name string // "/memfd:NAME (deleted)", as /proc shows it
	ino  uint64
	refs atomic.Int64

	mu       sync.Mutex // protects the fields below
	size     int64
	seals    uint32
	mode     uint32 // permission bits
	uid, gid uint32
	atime    vfs.Timespec
	mtime    vfs.Timespec
	ctime    vfs.Timespec
}

// Options are memfd_create's flags, checked by the caller.
type Options struct {
	Name         string // the name after "memfd:"
	AllowSealing bool   // MFD_ALLOW_SEALING
	NoExecSeal   bool   // MFD_NOEXEC_SEAL
	UID, GID     uint32 // the creator's fsuid and fsgid
	Ino          uint64
}

// New returns a file with one reference, its pages taken from ram.
func New(ram *mm.RAM, o Options) *File {
	now := timespec(time.Now())
	f := &File{ram: ram, obj: mm.NewMemObject(nil, nil), name: "/memfd:" + o.Name + " (deleted)", ino: o.Ino,
		seals: linux.F_SEAL_SEAL, mode: 0o777, uid: o.UID, gid: o.GID, atime: now, mtime: now, ctime: now}
	switch {
	case o.NoExecSeal:
		f.mode &^= 0o111
		f.seals = linux.F_SEAL_EXEC
	case o.AllowSealing:
		f.seals = 0
	}
	f.refs.Store(1)
	return f
}

func timespec(t time.Time) vfs.Timespec {
	return vfs.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// Name is the link text of /proc/PID/fd: "/memfd:NAME (deleted)".
func (f *File) Name() string { return f.name }

// IncRef implements vfs.Inode.
func (f *File) IncRef() { f.refs.Add(1) }

// DecRef implements vfs.Inode: the last reference gives the pages back
// (those that mappings still hold stay theirs).
func (f *File) DecRef() {
	if f.refs.Add(-1) == 0 {
		f.obj.Release(f.ram)
	}
}

// Object returns the memory object that MAP_SHARED mappings map.
func (f *File) Object() *mm.SharedObject { return f.obj }

// Attr implements vfs.Inode.
func (f *File) Attr() (vfs.Attr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return vfs.Attr{Dev: Dev, Ino: f.ino, Mode: vfs.ModeRegular | f.mode, Nlink: 0, UID: f.uid, GID: f.gid,
		Size: f.size, Blksize: mm.PageSize, Blocks: int64(f.obj.Resident()) * (mm.PageSize / 512),
		Atime: f.atime, Mtime: f.mtime, Ctime: f.ctime}, nil
}

// Setattr implements vfs.Setattrer: a size change respects F_SEAL_SHRINK
// and F_SEAL_GROW; with F_SEAL_EXEC the execute bits stay as they are.
func (f *File) Setattr(s vfs.Setattr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := timespec(time.Now())
	if s.Mask&vfs.SetMode != 0 && f.seals&linux.F_SEAL_EXEC != 0 && (s.Mode^f.mode)&0o111 != 0 {
		return linux.EPERM
	}
	if s.Mask&vfs.SetSize != 0 {
		switch {
		case s.Size < 0:
			return linux.EINVAL
		case s.Size < f.size && f.seals&linux.F_SEAL_SHRINK != 0,
			s.Size > f.size && f.seals&linux.F_SEAL_GROW != 0:
			return linux.EPERM
		}
		if s.Size < f.size {
			f.obj.Truncate(f.ram, uint64(s.Size))
		}
		if s.Size != f.size {
			f.mtime = now
		}
		f.size = s.Size
		f.ctime = now
	}
	if s.Mask&vfs.SetMode != 0 {
		f.mode = s.Mode & 0o7777
		f.ctime = now
	}
	if s.Mask&vfs.SetUID != 0 {
		f.uid, f.ctime = s.UID, now
	}
	if s.Mask&vfs.SetGID != 0 {
		f.gid, f.ctime = s.GID, now
	}
	if s.Mask&vfs.SetAtime != 0 {
		f.atime = s.Atime
	}
	if s.Mask&vfs.SetAtimeNow != 0 {
		f.atime = now
	}
	if s.Mask&vfs.SetMtime != 0 {
		f.mtime = s.Mtime
	}
	if s.Mask&vfs.SetMtimeNow != 0 {
		f.mtime = now
	}
	return nil
}

// Seals returns the seals (F_GET_SEALS).
func (f *File) Seals() uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seals
}

// AddSeals is F_ADD_SEALS through a descriptor open for writing (the
// caller checks that: EPERM otherwise). F_SEAL_SEAL forbids more seals
// (EPERM); F_SEAL_WRITE needs no writable shared mapping (EBUSY);
// F_SEAL_EXEC on a file with execute bits implies the write, grow and
// shrink seals (W^X from then on).
func (f *File) AddSeals(seals uint32) error {
	if seals&^allSeals != 0 {
		return linux.EINVAL
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seals&linux.F_SEAL_SEAL != 0 {
		return linux.EPERM
	}
	if seals&linux.F_SEAL_WRITE != 0 && f.seals&linux.F_SEAL_WRITE == 0 && f.obj.WritableMappings() > 0 {
		return linux.EBUSY
	}
	if seals&linux.F_SEAL_EXEC != 0 && f.mode&0o111 != 0 {
		seals |= linux.F_SEAL_SHRINK | linux.F_SEAL_GROW | linux.F_SEAL_WRITE | linux.F_SEAL_FUTURE_WRITE
	}
	f.seals |= seals
	return nil
}

// CheckMap is memfd_check_seals_mmap for a MAP_SHARED mapping: a
// writable one is EPERM under a write seal; a read-only one may then
// never become writable (readOnly).
func (f *File) CheckMap(write bool) (readOnly bool, err error) {
	if f.Seals()&writeSeals == 0 {
		return false, nil
	}
	if write {
		return false, linux.EPERM
	}
	return true, nil
}

// Open implements vfs.Opener (reopening through /proc/PID/fd/N).
func (f *File) Open(flags uint32) (vfs.Handle, error) {
	f.IncRef()
	return &Handle{f: f, flags: flags}, nil
}

// ReadAt implements io.ReaderAt (private mappings read through it).
func (f *File) ReadAt(b []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.readLocked(b, off)
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// readLocked copies the bytes at off, up to the size, into b.
// Preconditions: f.mu held; off >= 0.
func (f *File) readLocked(b []byte, off int64) int {
	if off >= f.size {
		return 0
	}
	n := int(min(int64(len(b)), f.size-off))
	f.obj.ReadAt(f.ram, b[:n], uint64(off))
	return n
}

// writeLocked copies b to off, growing the size. A write seal is EPERM;
// F_SEAL_GROW stops it at the page piece that would grow the file. Guest
// RAM running out is ENOSPC, as a full tmpfs.
// Preconditions: f.mu held; off >= 0.
func (f *File) writeLocked(b []byte, off int64) (int, error) {
	if f.seals&writeSeals != 0 {
		return 0, linux.EPERM
	}
	if int64(len(b)) > maxFileSize-off {
		return 0, linux.EFBIG
	}
	n := 0
	var err error
	for n < len(b) {
		pos := off + int64(n)
		chunk := min(len(b)-n, int(mm.PageSize-pos%mm.PageSize))
		if f.seals&linux.F_SEAL_GROW != 0 && pos+int64(chunk) > f.size {
			err = linux.EPERM
			break
		}
		w, werr := f.obj.WriteAt(f.ram, b[n:n+chunk], uint64(pos))
		n += w
		if werr != nil {
			err = linux.ENOSPC
			break
		}
	}
	if n > 0 {
		f.size = max(f.size, off+int64(n))
		f.mtime = timespec(time.Now())
		f.ctime = f.mtime
		return n, nil
	}
	return 0, err
}

// Handle is an open memfd.
type Handle struct {
	f     *File
	mu    sync.Mutex // protects pos and flags
	pos   int64
	flags uint32
}

// File returns the handle's file.
func (h *Handle) File() *File { return h.f }

// startLocked returns the offset a read or write at off (-1: the
// position) starts at: EBADF for a handle opened with the access mode
// refused.
// Preconditions: h.mu held.
func (h *Handle) startLocked(off int64, refused uint32) (int64, error) {
	switch {
	case h.flags&linux.O_ACCMODE == refused:
		return 0, linux.EBADF
	case off == -1:
		return h.pos, nil
	case off < 0:
		return 0, linux.EINVAL
	}
	return off, nil
}

// Read implements vfs.Handle.
func (h *Handle) Read(bufs [][]byte, off int64) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	pos, err := h.startLocked(off, linux.O_WRONLY)
	if err != nil {
		return 0, err
	}
	f := h.f
	f.mu.Lock()
	total := 0
	for _, b := range bufs {
		n := f.readLocked(b, pos+int64(total))
		total += n
		if n < len(b) {
			break
		}
	}
	f.mu.Unlock()
	if off == -1 {
		h.pos += int64(total)
	}
	return total, nil
}

// Write implements vfs.Handle (O_APPEND is the caller's: it seeks to the
// end first).
func (h *Handle) Write(bufs [][]byte, off int64) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	pos, err := h.startLocked(off, linux.O_RDONLY)
	if err != nil {
		return 0, err
	}
	f := h.f
	f.mu.Lock()
	total := 0
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		n, werr := f.writeLocked(b, pos+int64(total))
		total += n
		if werr != nil || n < len(b) {
			err = werr
			break
		}
	}
	f.mu.Unlock()
	if off == -1 {
		h.pos += int64(total)
	}
	if total > 0 {
		return total, nil
	}
	return 0, err
}

// Seek implements vfs.Handle (SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA,
// SEEK_HOLE; the file is data up to its size).
func (h *Handle) Seek(off int64, whence int) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	size, _ := h.f.Size()
	var base int64
	switch whence {
	case 0:
	case 1:
		base = h.pos
	case 2:
		base = size
	case 3, 4: // SEEK_DATA, SEEK_HOLE
		if off < 0 || off >= size {
			return 0, linux.ENXIO
		}
		if whence == 4 {
			off = size
		}
	default:
		return 0, linux.EINVAL
	}
	n := base + off
	if (off > 0 && n < base) || n < 0 {
		return 0, linux.EINVAL
	}
	h.pos = n
	return n, nil
}

// Attr implements vfs.Handle.
func (h *Handle) Attr() (vfs.Attr, error) { return h.f.Attr() }

// Close implements vfs.Handle.
func (h *Handle) Close() error {
	h.f.DecRef()
	return nil
}

// Size returns the file's size.
func (f *File) Size() (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.size, nil
}

// Writable reports whether the handle was opened for writing.
func (h *Handle) Writable() bool {
	acc := h.flags & linux.O_ACCMODE
	return acc == linux.O_WRONLY || acc == linux.O_RDWR
}

var (
	_ vfs.Opener    = (*File)(nil)
	_ vfs.Setattrer = (*File)(nil)
	_ vfs.Handle    = (*Handle)(nil)
)
