package syscalls

import (
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// File is an open file description (kernel/file).
type File = file.File

// pollFD is struct pollfd.
type pollFD struct {
	fd      int32
	events  int16
	revents int16
}

type fdEntry struct {
	file    File
	cloexec bool
}

// FDTable maps a process's file descriptors to files.
type FDTable struct {
	mu    sync.Mutex // protects fds
	fds   map[int32]fdEntry
	users atomic.Int32 // processes sharing the table (CLONE_FILES)
	// limit is the RLIMIT_NOFILE soft limit of the process that set it
	// last (processes sharing a table with CLONE_FILES share one limit):
	// no descriptor at or above it is handed out.
	limit atomic.Int64
	// closing, if set, is told of every file a descriptor of the table
	// stops naming by close, dup2 over it or close-on-exec (POSIX
	// record locks go then); it is called with no lock held, before the
	// table's reference is dropped.
	closing func(File)
}

func newFDTable() *FDTable {
	t := &FDTable{fds: map[int32]fdEntry{}}
	t.users.Store(1)
	t.limit.Store(maxFDs)
	return t
}

// setLimit sets the descriptor limit (RLIMIT_NOFILE's soft limit).
func (t *FDTable) setLimit(n uint64) { t.limit.Store(int64(min(n, linux.NR_OPEN))) }

// Limit returns the descriptor limit: descriptors are below it.
func (t *FDTable) Limit() int32 { return int32(t.limit.Load()) }

// share adds a process to the table's users.
func (t *FDTable) share() *FDTable {
	t.users.Add(1)
	return t
}

// Get returns the file behind fd with a reference the caller drops.
func (t *FDTable) Get(fd int32) (File, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.fds[fd]
	if !ok {
		return nil, linux.EBADF
	}
	e.file.IncRef()
	return e.file, nil
}

// Install gives f (whose reference passes to the table) the lowest free
// descriptor >= min.
func (t *FDTable) Install(f File, min int32, cloexec bool) (int32, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for fd, limit := min, t.Limit(); fd < limit; fd++ {
		if _, used := t.fds[fd]; !used {
			t.fds[fd] = fdEntry{file: f, cloexec: cloexec}
			return fd, nil
		}
	}
	f.DecRef()
	return 0, linux.EMFILE
}

// maxFDs is the default RLIMIT_NOFILE soft limit (INR_OPEN_CUR).
const maxFDs = 1024

// Set installs f at fd, closing what was there (dup2): EBADF at or above
// the limit.
func (t *FDTable) Set(fd int32, f File, cloexec bool) error {
	if fd < 0 || fd >= t.Limit() {
		f.DecRef()
		return linux.EBADF
	}
	t.mu.Lock()
	old, had := t.fds[fd]
	t.fds[fd] = fdEntry{file: f, cloexec: cloexec}
	t.mu.Unlock()
	if had {
		t.closed(old.file)
	}
	return nil
}

// closed tells the closing hook about f and drops the table's reference.
func (t *FDTable) closed(f File) {
	if t.closing != nil {
		t.closing(f)
	}
	f.DecRef()
}

// Close removes fd.
func (t *FDTable) Close(fd int32) error {
	t.mu.Lock()
	e, ok := t.fds[fd]
	delete(t.fds, fd)
	t.mu.Unlock()
	if !ok {
		return linux.EBADF
	}
	t.closed(e.file)
	return nil
}

// CloseOnExec reports and sets the close-on-exec flag of fd.
func (t *FDTable) CloseOnExec(fd int32, set *bool) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.fds[fd]
	if !ok {
		return false, linux.EBADF
	}
	if set != nil {
		e.cloexec = *set
		t.fds[fd] = e
	}
	return e.cloexec, nil
}

// release drops a user; the last one closes every descriptor.
func (t *FDTable) release() {
	if t.users.Add(-1) > 0 {
		return
	}
	t.mu.Lock()
	fds := t.fds
	t.fds = map[int32]fdEntry{}
	t.mu.Unlock()
	for _, e := range fds {
		e.file.DecRef()
	}
}

// poll(2) events.
const (
	pollIn   = file.PollIn
	pollPri  = file.PollPri
	pollOut  = file.PollOut
	pollErr  = file.PollErr
	pollHup  = file.PollHup
	pollNval = file.PollNval
)

// fork returns a copy of the table sharing the open files (fork without
// CLONE_FILES).
func (t *FDTable) fork() *FDTable {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := newFDTable()
	n.limit.Store(t.limit.Load())
	for fd, e := range t.fds {
		e.file.IncRef()
		n.fds[fd] = e
	}
	return n
}

// closeOnExec closes the descriptors marked close-on-exec.
func (t *FDTable) closeOnExec() {
	t.mu.Lock()
	var gone []File
	for fd, e := range t.fds {
		if e.cloexec {
			gone = append(gone, e.file)
			delete(t.fds, fd)
		}
	}
	t.mu.Unlock()
	for _, f := range gone {
		t.closed(f)
	}
}

// fileID names a host file for the page cache of shared mappings.
type fileID struct{ dev, ino uint64 }

// sharedFileObject returns the shared object of the file behind f,
// with a reference the caller drops with Release: every MAP_SHARED
// mapping of one file, in any process, uses the same frames.
func (k *Kernel) sharedFileObject(f *openFile) (*mm.SharedObject, error) {
	a, err := f.attr()
	if err != nil {
		return nil, err
	}
	id := fileID{a.Dev, a.Ino}
	k.sharedMu.Lock()
	defer k.sharedMu.Unlock()
	if o := k.sharedFiles[id]; o != nil && o.Acquire() {
		return o, nil
	}
	var o *mm.SharedObject
	o = mm.NewFileObject(f, func() {
		k.sharedMu.Lock()
		if k.sharedFiles[id] == o {
			delete(k.sharedFiles, id)
			k.sharedCount.Store(int32(len(k.sharedFiles)))
		}
		k.sharedMu.Unlock()
	})
	k.sharedFiles[id] = o
	k.sharedCount.Store(int32(len(k.sharedFiles)))
	return o, nil
}

// sharedWriter writes the dirty pages of a shared file mapping back: a
// description of the file of its own, open for writing without
// O_APPEND, so a page lands at its offset whatever the guest's
// descriptors are (or become, through F_SETFL) and wherever it closes
// them.
type sharedWriter struct {
	fd  int         // a host descriptor, or -1
	mem io.WriterAt // the file itself (the kernel's own files), if fd < 0
}

// openSharedWriter opens the writer for the file behind f, which is open
// for writing: a host file is opened again through /proc/self/fd (the
// same file even if renamed or unlinked since); a file of the kernel's
// own filesystems is written directly.
func openSharedWriter(f *openFile) (mm.FileWriter, error) {
	if h, ok := f.host(); ok {
		fd, err := syscall.Open("/proc/self/fd/"+strconv.Itoa(h), syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			// The host refuses a new description (the file's mode
			// changed since): share the guest's.
			r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(h), syscall.F_DUPFD_CLOEXEC, 0)
			if e != 0 {
				return nil, linux.Errno(e)
			}
			fd = int(r)
		}
		return &sharedWriter{fd: fd}, nil
	}
	if w, ok := f.path.Inode.(io.WriterAt); ok {
		return &sharedWriter{fd: -1, mem: w}, nil
	}
	return nil, linux.EACCES
}

// WriteAt implements mm.FileWriter.
func (w *sharedWriter) WriteAt(b []byte, off int64) (int, error) {
	if w.fd < 0 {
		return w.mem.WriteAt(b, off)
	}
	n := 0
	for n < len(b) {
		m, err := syscall.Pwrite(w.fd, b[n:], off+int64(n))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, hostErr(err)
		}
		if m == 0 {
			return n, linux.EIO
		}
		n += m
	}
	return n, nil
}

// PunchHole implements mm.HolePuncher for MADV_REMOVE: the host
// deallocates the range (or refuses: EOPNOTSUPP); a kernel file gets
// zeros over the part below its size.
func (w *sharedWriter) PunchHole(off, length int64) error {
	if w.fd >= 0 {
		return hostErr(syscall.Fallocate(w.fd, fallocPunchHole, off, length))
	}
	sz, ok := w.mem.(interface{ Size() (int64, error) })
	if !ok {
		return linux.EOPNOTSUPP
	}
	size, err := sz.Size()
	if err != nil {
		return err
	}
	zeros := make([]byte, min(length, mm.PageSize*16))
	for end := min(off+length, size); off < end; {
		n := min(int64(len(zeros)), end-off)
		if _, err := w.mem.WriteAt(zeros[:n], off); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// Close implements mm.FileWriter.
func (w *sharedWriter) Close() error {
	if w.fd >= 0 {
		return hostErr(syscall.Close(w.fd))
	}
	return nil
}
