package syscalls

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

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

// hostFD returns the host descriptor behind f, if it is a host file.
func hostFD(f File) (int, bool) {
	h, ok := f.(*HostFile)
	if !ok {
		return -1, false
	}
	return h.host, true
}

// hostFile returns the host descriptor behind the guest's fd and the
// function that releases it: EBADF for no such fd, notHost for one that
// is not a host file (a pipe).
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

// HostFile is a file of the host: it owns a host file descriptor, closed
// when the last reference goes.
type HostFile struct {
	host int
	name string
	refs atomic.Int32
}

func newHostFile(host int, name string) *HostFile {
	f := &HostFile{host: host, name: name}
	f.refs.Store(1)
	return f
}

// IncRef takes a reference.
func (f *HostFile) IncRef() { f.refs.Add(1) }

// DecRef drops a reference, closing the host descriptor with the last.
func (f *HostFile) DecRef() {
	if f.refs.Add(-1) == 0 {
		syscall.Close(f.host)
	}
}

// Name is the path the file was opened by.
func (f *HostFile) Name() string { return f.name }

// ReadAt reads at an offset without moving the file position (mm.File).
func (f *HostFile) ReadAt(b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) {
		m, err := syscall.Pread(f.host, b[n:], off+int64(n))
		if err != nil {
			return n, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}

// Read implements File with a host readv/preadv.
func (f *HostFile) Read(t *Task, bufs [][]byte, off int64) (int, error) {
	return hostVectorIO(f.host, bufs, true, off)
}

// Write implements File with a host writev/pwritev.
func (f *HostFile) Write(t *Task, bufs [][]byte, off int64) (int, error) {
	return hostVectorIO(f.host, bufs, false, off)
}

// Status implements File.
func (f *HostFile) Status() (uint32, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(f.host), syscall.F_GETFL, 0)
	if e != 0 {
		return 0, linux.Errno(e)
	}
	return uint32(r) &^ linux.O_CLOEXEC, nil
}

// SetStatus implements File.
func (f *HostFile) SetStatus(flags uint32) error {
	if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(f.host), syscall.F_SETFL, uintptr(flags)); e != 0 {
		return linux.Errno(e)
	}
	return nil
}

// Stat implements File.
func (f *HostFile) Stat() ([statSize]byte, error) {
	var st [statSize]byte
	if _, _, e := syscall.Syscall(syscall.SYS_FSTAT, uintptr(f.host), uintptr(unsafe.Pointer(&st)), 0); e != 0 {
		return st, linux.Errno(e)
	}
	return st, nil
}

// Readiness implements File: host files are polled through the host.
func (f *HostFile) Readiness() (uint32, <-chan struct{}) {
	fds := []pollFD{{fd: int32(f.host), events: pollIn | pollOut}}
	syscall.Syscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&fds[0])), 1, 0)
	return uint32(fds[0].revents), nil
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
}

func newFDTable() *FDTable {
	t := &FDTable{fds: map[int32]fdEntry{}}
	t.users.Store(1)
	return t
}

// share adds a process to the table's users.
func (t *FDTable) share() *FDTable {
	t.users.Add(1)
	return t
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
		t.fds[int32(i)] = fdEntry{file: newHostFile(dup, name)}
	}
	return t, nil
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
	for fd := min; fd < maxFDs; fd++ {
		if _, used := t.fds[fd]; !used {
			t.fds[fd] = fdEntry{file: f, cloexec: cloexec}
			return fd, nil
		}
	}
	f.DecRef()
	return 0, linux.EMFILE
}

// maxFDs is RLIMIT_NOFILE.
const maxFDs = 1024

// Set installs f at fd, closing what was there (dup2).
func (t *FDTable) Set(fd int32, f File, cloexec bool) error {
	if fd < 0 || fd >= maxFDs {
		f.DecRef()
		return linux.EBADF
	}
	t.mu.Lock()
	old, had := t.fds[fd]
	t.fds[fd] = fdEntry{file: f, cloexec: cloexec}
	t.mu.Unlock()
	if had {
		old.file.DecRef()
	}
	return nil
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
	e.file.DecRef()
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

// FSContext is a process's working directory and umask.
type FSContext struct {
	mu    sync.Mutex // protects the fields
	cwd   *HostFile  // an O_PATH descriptor of the directory
	path  string
	umask uint32
	users atomic.Int32 // processes sharing it (CLONE_FS)
}

// share adds a process to the context's users.
func (fs *FSContext) share() *FSContext {
	fs.users.Add(1)
	return fs
}

func newFSContext(dir string) (*FSContext, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	fd, err := syscall.Open(abs, linux.O_PATH|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "chdir", Path: dir, Err: err}
	}
	old := syscall.Umask(0o22)
	syscall.Umask(old)
	fs := &FSContext{cwd: newHostFile(fd, abs), path: abs, umask: uint32(old)}
	fs.users.Store(1)
	return fs, nil
}

// release drops a user; the last one closes the directory.
func (fs *FSContext) release() {
	if fs.users.Add(-1) == 0 {
		fs.cwd.DecRef()
	}
}

// absPath returns path made absolute against the working directory.
func absPath(fs *FSContext, path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(fs.path, path)
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
		f.DecRef()
	}
}

// fork returns a copy of the context (fork without CLONE_FS).
func (fs *FSContext) fork() *FSContext {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.cwd.IncRef()
	n := &FSContext{cwd: fs.cwd, path: fs.path, umask: fs.umask}
	n.users.Store(1)
	return n
}

// WriteAt writes at an offset without moving the file position
// (mm.SharedFile: the write-back of shared mappings).
func (f *HostFile) WriteAt(b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) {
		m, err := syscall.Pwrite(f.host, b[n:], off+int64(n))
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

// Size returns the file's size (mm.SharedFile).
func (f *HostFile) Size() (int64, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(f.host, &st); err != nil {
		return 0, err
	}
	return st.Size, nil
}

// fileID names a host file for the page cache of shared mappings.
type fileID struct{ dev, ino uint64 }

// sharedFileObject returns the shared object of the host file behind f,
// with a reference the caller drops with Release: every MAP_SHARED
// mapping of one file, in any process, uses the same frames.
func (k *Kernel) sharedFileObject(f *HostFile) (*mm.SharedObject, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(f.host, &st); err != nil {
		return nil, hostErr(err)
	}
	id := fileID{uint64(st.Dev), st.Ino}
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
