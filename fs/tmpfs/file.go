package tmpfs

import (
	"io"
	"sync"
	"sync/atomic"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// page is a page of file data.
type page [PageSize]byte

// File is a regular file. It is also an mm.SharedFile, so the kernel can
// map it MAP_SHARED: the pages of the mapping are read from the file and
// written back to it (through ReadAt and WriteAt, which change no times,
// as stores through a shared mapping of a tmpfs file do not).
type File struct {
	inode
	// pages holds the file's data by page index; a missing page is a
	// hole. Protected by mu.
	pages map[int64]*page
}

var _ mm.SharedFile = (*File)(nil)

// freePagesLocked gives back the file's pages.
//
// Preconditions: f.mu is held.
func (f *File) freePagesLocked() {
	f.fs.usedPages.Add(-int64(len(f.pages)))
	clear(f.pages)
	f.npages = 0
}

// readLocked copies the file's bytes at off into b, up to the size, and
// returns the count.
//
// Preconditions: f.mu is held; off >= 0.
func (f *File) readLocked(b []byte, off int64) int {
	if off >= f.size {
		return 0
	}
	if rest := f.size - off; int64(len(b)) > rest {
		b = b[:rest]
	}
	n := 0
	for n < len(b) {
		idx, po := (off+int64(n))/PageSize, (off+int64(n))%PageSize
		chunk := b[n:min(len(b), n+int(PageSize-po))]
		if p := f.pages[idx]; p != nil {
			copy(chunk, p[po:])
		} else {
			clear(chunk)
		}
		n += len(chunk)
	}
	return n
}

// writeLocked copies b into the file at off, allocating pages and growing
// the size. A full filesystem stops it: fewer bytes and ENOSPC.
//
// Preconditions: f.mu is held; 0 <= off and off+len(b) <= MaxFileSize.
func (f *File) writeLocked(b []byte, off int64) (int, error) {
	n := 0
	var err error
	for n < len(b) {
		idx, po := (off+int64(n))/PageSize, (off+int64(n))%PageSize
		p := f.pages[idx]
		if p == nil {
			if !f.fs.reservePages(1) {
				err = linux.ENOSPC
				break
			}
			p = new(page)
			f.pages[idx] = p
			f.npages++
		}
		n += copy(p[po:], b[n:])
	}
	if end := off + int64(n); end > f.size {
		f.size = end
	}
	return n, err
}

// truncateLocked sets the size, dropping the pages wholly beyond it and
// zeroing the tail of the last one, so that growing again reads zeros.
// It reports whether the size changed.
//
// Preconditions: f.mu is held.
func (f *File) truncateLocked(size int64) bool {
	if size == f.size {
		return false
	}
	if size < f.size {
		keep := (size + PageSize - 1) / PageSize
		for idx := range f.pages {
			if idx >= keep {
				delete(f.pages, idx)
				f.npages--
				f.fs.usedPages.Add(-1)
			}
		}
		if po := size % PageSize; po != 0 {
			if p := f.pages[size/PageSize]; p != nil {
				clear(p[po:])
			}
		}
	}
	f.size = size
	return true
}

// Setattr implements vfs.Setattrer. Changing the size stamps the
// modification and change times; setting the same size changes nothing.
func (f *File) Setattr(s vfs.Setattr) error {
	if s.Mask&vfs.SetSize != 0 {
		switch {
		case s.Size < 0:
			return linux.EINVAL
		case s.Size > MaxFileSize:
			return linux.EFBIG
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	changed := s.Mask&vfs.SetSize != 0 && f.truncateLocked(s.Size)
	f.setattrLocked(s, changed)
	return nil
}

// ReadAt implements io.ReaderAt (mm.SharedFile): io.EOF when fewer bytes
// than asked lie before the end. It changes no times.
func (f *File) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, linux.EINVAL
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.readLocked(b, off)
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// WriteAt implements io.WriterAt (mm.SharedFile): the write-back of a
// shared mapping. It may grow the file, answers ENOSPC when the
// filesystem is full, and changes no times.
func (f *File) WriteAt(b []byte, off int64) (int, error) {
	if off < 0 || off > MaxFileSize-int64(len(b)) {
		return 0, linux.EINVAL
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writeLocked(b, off)
}

// Size implements mm.SharedFile.
func (f *File) Size() (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.size, nil
}

// Open implements vfs.Opener. O_TRUNC empties the file and stamps its
// modification and change times (even when it was empty, as
// handle_truncate does).
func (f *File) Open(flags uint32) (vfs.Handle, error) {
	if flags&linux.O_TRUNC != 0 {
		f.mu.Lock()
		changed := f.truncateLocked(0)
		f.setattrLocked(vfs.Setattr{Mask: vfs.SetSize | vfs.SetMtimeNow}, changed)
		f.mu.Unlock()
	}
	f.IncRef()
	return newFileHandle(f, flags&^linux.O_TRUNC), nil
}

// fileHandle is an open regular file.
type fileHandle struct {
	f      *File
	closed atomic.Bool
	// mu protects pos and flags, and is held across a read or write at
	// the position (so concurrent ones do not interleave, as f_pos_lock).
	mu    sync.Mutex
	pos   int64
	flags uint32
}

// newFileHandle returns a handle that owns a reference on f.
func newFileHandle(f *File, flags uint32) *fileHandle {
	return &fileHandle{f: f, flags: flags}
}

// Inode returns the file (for the kernel's shared mappings).
func (h *fileHandle) Inode() vfs.Inode { return h.f }

// SetFlags changes the status flags (fcntl F_SETFL: O_APPEND matters);
// the access mode stays.
func (h *fileHandle) SetFlags(flags uint32) {
	h.mu.Lock()
	h.flags = h.flags&(linux.O_ACCMODE|linux.O_PATH) | flags&^(linux.O_ACCMODE|linux.O_PATH)
	h.mu.Unlock()
}

// canAccess reports whether flags open a file for reading (or writing).
func canAccess(flags uint32, write bool) bool {
	if flags&linux.O_PATH != 0 {
		return false
	}
	acc := flags & linux.O_ACCMODE
	if write {
		return acc == linux.O_WRONLY || acc == linux.O_RDWR
	}
	return acc == linux.O_RDONLY || acc == linux.O_RDWR
}

// Read implements vfs.Handle: at off, or at and advancing the position
// for -1. Holes read as zeros; reading stamps the access time (relatime).
func (h *fileHandle) Read(bufs [][]byte, off int64) (int, error) {
	if off < -1 {
		return 0, linux.EINVAL
	}
	h.mu.Lock()
	flags := h.flags
	if off != -1 {
		h.mu.Unlock()
	} else {
		defer h.mu.Unlock()
	}
	if !canAccess(flags, false) {
		return 0, linux.EBADF
	}
	pos := off
	if off == -1 {
		pos = h.pos
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
	if iovLen(bufs) > 0 {
		f.touchAtimeLocked()
	}
	f.mu.Unlock()
	if off == -1 {
		h.pos += int64(total)
	}
	return total, nil
}

// iovLen is the bytes bufs can hold.
func iovLen(bufs [][]byte) int64 {
	var n int64
	for _, b := range bufs {
		n += int64(len(b))
	}
	return n
}

// Write implements vfs.Handle: at off, or at and advancing the position
// for -1; with O_APPEND at the end whatever off says (as Linux's pwrite
// does). It stamps the modification and change times (not for an empty
// write). A full filesystem makes it short, or ENOSPC if nothing fit.
func (h *fileHandle) Write(bufs [][]byte, off int64) (int, error) {
	if off < -1 {
		return 0, linux.EINVAL
	}
	h.mu.Lock()
	flags := h.flags
	if off != -1 {
		h.mu.Unlock()
	} else {
		defer h.mu.Unlock()
	}
	if !canAccess(flags, true) {
		return 0, linux.EBADF
	}
	count := iovLen(bufs)
	if count == 0 {
		return 0, nil
	}
	f := h.f
	f.mu.Lock()
	defer f.mu.Unlock()
	pos := off
	switch {
	case flags&linux.O_APPEND != 0:
		pos = f.size
	case off == -1:
		pos = h.pos
	}
	if pos >= MaxFileSize {
		return 0, linux.EFBIG
	}
	count = min(count, MaxFileSize-pos)
	now := f.fs.now()
	f.mtime, f.ctime = now, now
	total := 0
	var err error
	for _, b := range bufs {
		if rest := count - int64(total); int64(len(b)) > rest {
			b = b[:rest]
		}
		var n int
		n, err = f.writeLocked(b, pos+int64(total))
		total += n
		if err != nil || int64(total) == count {
			break
		}
	}
	if off == -1 {
		h.pos = pos + int64(total)
	}
	if total > 0 {
		return total, nil
	}
	return 0, err
}

// Seek implements vfs.Handle: SEEK_SET, SEEK_CUR, SEEK_END, and
// SEEK_DATA and SEEK_HOLE by pages (ENXIO at or past the end); EINVAL for
// a negative result.
func (h *fileHandle) Seek(off int64, whence int) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.f
	var pos int64
	switch whence {
	case seekSet:
		pos = off
	case seekCur:
		if off > 0 && h.pos > MaxFileSize-off {
			return 0, linux.EINVAL
		}
		pos = h.pos + off
	case seekEnd:
		size, _ := f.Size()
		if off > 0 && size > MaxFileSize-off {
			return 0, linux.EINVAL
		}
		pos = size + off
	case seekData, seekHole:
		var err error
		if pos, err = f.seekHoleData(off, whence == seekData); err != nil {
			return 0, err
		}
	default:
		return 0, linux.EINVAL
	}
	if pos < 0 {
		return 0, linux.EINVAL
	}
	h.pos = pos
	return pos, nil
}

// seekHoleData is SEEK_DATA (data) or SEEK_HOLE from off: a page present
// is data, a missing one a hole, and the end is a hole.
func (f *File) seekHoleData(off int64, data bool) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if off < 0 || off >= f.size {
		return 0, linux.ENXIO
	}
	idx := off / PageSize
	if data {
		if f.pages[idx] != nil {
			return off, nil
		}
		next := int64(-1)
		for i := range f.pages {
			if i > idx && (next < 0 || i < next) {
				next = i
			}
		}
		if next < 0 || next*PageSize >= f.size {
			return 0, linux.ENXIO
		}
		return next * PageSize, nil
	}
	if f.pages[idx] == nil {
		return off, nil
	}
	for idx++; f.pages[idx] != nil; idx++ {
	}
	return min(idx*PageSize, f.size), nil
}

// Attr implements vfs.Handle.
func (h *fileHandle) Attr() (vfs.Attr, error) { return h.f.Attr() }

// Close implements vfs.Handle: the handle's reference goes.
func (h *fileHandle) Close() error {
	if h.closed.Swap(true) {
		return linux.EBADF
	}
	h.f.DecRef()
	return nil
}
