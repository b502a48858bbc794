package syscalls

import (
	"sync"
	"sync/atomic"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// File is an open file description: a host file or one of the kernel's
// own objects (pipes). Guest buffers reach it as host memory (bufs) that
// stays pinned for the call.
type File interface {
	IncRef()
	DecRef()
	// Name is the path the file was opened by, or a label like "pipe:[7]".
	Name() string
	// Read fills bufs in order at offset off (-1: the file position). It
	// may block, interruptibly, through t.
	Read(t *Task, bufs [][]byte, off int64) (int, error)
	// Write writes bufs in order at off (-1: the file position).
	Write(t *Task, bufs [][]byte, off int64) (int, error)
	// Status returns the file status flags (O_APPEND, O_NONBLOCK, ...).
	Status() (uint32, error)
	// SetStatus changes the flags F_SETFL may change.
	SetStatus(flags uint32) error
	// Stat returns struct stat.
	Stat() ([statSize]byte, error)
	// Readiness returns the poll events the file is ready for now, and a
	// channel closed at its next change (nil: it never changes).
	Readiness() (events uint32, changed <-chan struct{})
}

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
	pollIn   = 0x1
	pollPri  = 0x2
	pollOut  = 0x4
	pollErr  = 0x8
	pollHup  = 0x10
	pollNval = 0x20
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
		}
		k.sharedMu.Unlock()
	})
	k.sharedFiles[id] = o
	return o, nil
}
