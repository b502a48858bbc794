package procfs

import (
	"sync"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// file is a regular file of procfs.
type file struct {
	vfs.NoRefs
	fs     *FS
	caller vfs.Caller
	ino    uint64
	mode   uint32
	x      *proc // the process of a per-process file, nil for global ones
	// gen generates the contents (for the caller); open replaces the
	// plain open when the file needs checks or a handle of its own.
	gen   func(c vfs.Caller) ([]byte, error)
	open  func(c vfs.Caller, flags uint32) (vfs.Handle, error)
	write func(c vfs.Caller, b []byte) (int, error)
}

// Attr implements vfs.Inode.
func (f *file) Attr() (vfs.Attr, error) {
	if f.x == nil {
		return attrOf(f.ino, f.mode, 1, 0, 0, 0, f.fs.bootTime()), nil
	}
	if !f.x.alive() {
		return vfs.Attr{}, linux.ENOENT
	}
	uid, gid := f.x.owner(f.mode)
	return attrOf(f.ino, f.mode, 1, uid, gid, 0, f.x.started()), nil
}

// Open implements vfs.Opener, as the caller the file was looked up for.
func (f *file) Open(flags uint32) (vfs.Handle, error) {
	if f.open != nil {
		return f.open(f.caller, flags)
	}
	if f.x != nil && !f.x.alive() {
		return nil, linux.ESRCH
	}
	return f.newSeq(f.caller, f.gen)
}

// newSeq opens a generated file: its contents now, again on reads that
// start over at 0.
func (f *file) newSeq(c vfs.Caller, gen func(c vfs.Caller) ([]byte, error)) (*seqHandle, error) {
	h := &seqHandle{f: f, c: c, gen: gen}
	if err := h.generate(); err != nil {
		return nil, err
	}
	h.fresh = true
	return h, nil
}

// seqHandle is an open generated file: a snapshot read from the handle's
// position, made again when a read starts at offset 0 (but the first,
// which reads the snapshot of the open), as seq_file does.
type seqHandle struct {
	f   *file
	c   vfs.Caller
	gen func(c vfs.Caller) ([]byte, error)

	mu    sync.Mutex // protects the fields below
	data  []byte
	fresh bool // data was made by the open and not read yet
	pos   int64
}

// generate makes the contents. Preconditions: h.mu held, or h unshared.
func (h *seqHandle) generate() error {
	if h.f.x != nil && !h.f.x.alive() {
		return linux.ESRCH
	}
	b, err := h.gen(h.c)
	if err != nil {
		return err
	}
	h.data = b
	return nil
}

// Read implements vfs.Handle.
func (h *seqHandle) Read(bufs [][]byte, off int64) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	at := off
	if off < 0 {
		at = h.pos
	}
	if at == 0 && !h.fresh {
		if err := h.generate(); err != nil {
			return 0, err
		}
	}
	h.fresh = false
	n := 0
	for _, b := range bufs {
		if at >= int64(len(h.data)) {
			break
		}
		k := copy(b, h.data[at:])
		at += int64(k)
		n += k
	}
	if off < 0 {
		h.pos = at
	}
	return n, nil
}

// Write implements vfs.Handle: the file's own write, or EINVAL for files
// that have none (a write to a read-only proc file opened for writing by
// root).
func (h *seqHandle) Write(bufs [][]byte, off int64) (int, error) {
	if h.f.write == nil {
		return 0, linux.EINVAL
	}
	var b []byte
	if len(bufs) == 1 {
		b = bufs[0]
	} else {
		for _, x := range bufs {
			b = append(b, x...)
		}
	}
	return h.f.write(h.c, b)
}

// Seek implements vfs.Handle as seq_lseek: SEEK_SET and SEEK_CUR to a
// non-negative position; anything else is EINVAL.
func (h *seqHandle) Seek(off int64, whence int) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch whence {
	case 1:
		off += h.pos
		fallthrough
	case 0:
		if off < 0 {
			return 0, linux.EINVAL
		}
		h.pos = off
		return off, nil
	}
	return 0, linux.EINVAL
}

// Attr implements vfs.Handle.
func (h *seqHandle) Attr() (vfs.Attr, error) { return h.f.Attr() }

// Close implements vfs.Handle.
func (h *seqHandle) Close() error { return nil }

// dirHandle is an open directory: its listing from the position on.
type dirHandle struct {
	d *dirNode

	mu      sync.Mutex // protects the fields below
	entries []vfs.Dirent
	pos     int64
}

// Read implements vfs.Handle: EISDIR.
func (h *dirHandle) Read([][]byte, int64) (int, error) { return 0, linux.EISDIR }

// Write implements vfs.Handle: EISDIR.
func (h *dirHandle) Write([][]byte, int64) (int, error) { return 0, linux.EISDIR }

// Seek implements vfs.Handle: SEEK_SET and SEEK_CUR within the listing.
func (h *dirHandle) Seek(off int64, whence int) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch whence {
	case 1:
		off += h.pos
		fallthrough
	case 0:
		if off < 0 {
			return 0, linux.EINVAL
		}
		h.pos = off
		return off, nil
	}
	return 0, linux.EINVAL
}

// Attr implements vfs.Handle.
func (h *dirHandle) Attr() (vfs.Attr, error) { return h.d.Attr() }

// Close implements vfs.Handle.
func (h *dirHandle) Close() error { return nil }

// Getdents implements vfs.DirHandle. The listing is made when reading
// starts at position 0.
func (h *dirHandle) Getdents(emit func(d vfs.Dirent, next int64) bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pos == 0 || h.entries == nil {
		es, err := h.d.Readdir()
		if err != nil {
			return err
		}
		h.entries = es
	}
	for h.pos < int64(len(h.entries)) {
		if !emit(h.entries[h.pos], h.pos+1) {
			return nil
		}
		h.pos++
	}
	return nil
}

// ---- /proc/PID/mem ----

// openMem is mem_open: the address space if the caller passes
// PTRACE_MODE_ATTACH_FSCREDS (its own always does), EACCES if not; a
// process without one (a zombie) opens, and reads nothing.
func (x *proc) openMem(f *file) (vfs.Handle, error) {
	if !x.alive() {
		return nil, linux.ESRCH
	}
	as, err := x.mmAccess(PtraceAttach)
	if err != nil {
		return nil, err
	}
	return &memHandle{f: f, x: x, as: as}, nil
}

// memHandle is an open /proc/PID/mem: the address space it was opened
// for, which it does not keep alive. Its position is an address (any
// 64-bit value, as FMODE_UNSIGNED_OFFSET allows).
type memHandle struct {
	f  *file
	x  *proc
	as *mm.MM // nil: nothing to read

	mu  sync.Mutex // protects pos
	pos uint64
}

// Read implements vfs.Handle as mem_rw: through AccessForce, stopping at
// the first address that cannot be read; EIO if that is the first.
// After the process exits or execs, reads return 0.
func (h *memHandle) Read(bufs [][]byte, off int64) (int, error) { return h.rw(bufs, off, false) }

// Write implements vfs.Handle as mem_rw (FOLL_FORCE: read-only private
// pages are written, with COW broken).
func (h *memHandle) Write(bufs [][]byte, off int64) (int, error) { return h.rw(bufs, off, true) }

func (h *memHandle) rw(bufs [][]byte, off int64, write bool) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	addr := uint64(off)
	if off < 0 {
		addr = h.pos
	}
	as := h.x.liveMM(h.as)
	if as == nil {
		return 0, nil
	}
	defer as.DropUser()
	done := 0
	for _, b := range bufs {
		n, err := as.AccessForce(mm.Addr(addr), b, write)
		done += n
		addr += uint64(n)
		if err != nil {
			if done == 0 {
				return 0, linux.EIO
			}
			break
		}
	}
	if off < 0 {
		h.pos = addr
	}
	return done, nil
}

// Seek implements vfs.Handle as mem_lseek: SEEK_SET and SEEK_CUR, any
// resulting position.
func (h *memHandle) Seek(off int64, whence int) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch whence {
	case 0:
		h.pos = uint64(off)
	case 1:
		h.pos += uint64(off)
	default:
		return 0, linux.EINVAL
	}
	return int64(h.pos), nil
}

// Attr implements vfs.Handle.
func (h *memHandle) Attr() (vfs.Attr, error) { return h.f.Attr() }

// Close implements vfs.Handle.
func (h *memHandle) Close() error { return nil }
