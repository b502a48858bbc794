package syscalls

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"

	"cmaemu/linux"
)

// File is an open file description. Files are the host's: a File owns a
// host file descriptor, closed when the last reference goes.
type File struct {
	host int
	name string
	refs atomic.Int32
}

func newFile(host int, name string) *File {
	f := &File{host: host, name: name}
	f.refs.Store(1)
	return f
}

// IncRef takes a reference (mm.File).
func (f *File) IncRef() { f.refs.Add(1) }

// DecRef drops a reference, closing the host descriptor with the last.
func (f *File) DecRef() {
	if f.refs.Add(-1) == 0 {
		syscall.Close(f.host)
	}
}

// Name is the path the file was opened by (mm.File).
func (f *File) Name() string { return f.name }

// ReadAt reads at an offset without moving the file position (mm.File).
func (f *File) ReadAt(b []byte, off int64) (int, error) {
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

type fdEntry struct {
	file    *File
	cloexec bool
}

// FDTable maps a process's file descriptors to files.
type FDTable struct {
	mu  sync.Mutex // protects fds
	fds map[int32]fdEntry
}

// newStdioTable returns a table whose fds 0, 1 and 2 are duplicates of the
// given host files (nil: the host's own 0, 1, 2).
func newStdioTable(stdio [3]*os.File) (*FDTable, error) {
	t := &FDTable{fds: map[int32]fdEntry{}}
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
		t.fds[int32(i)] = fdEntry{file: newFile(dup, name)}
	}
	return t, nil
}

// Get returns the file behind fd with a reference the caller drops.
func (t *FDTable) Get(fd int32) (*File, error) {
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
func (t *FDTable) Install(f *File, min int32, cloexec bool) (int32, error) {
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
func (t *FDTable) Set(fd int32, f *File, cloexec bool) error {
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

func (t *FDTable) release() {
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
	cwd   *File      // an O_PATH descriptor of the directory
	path  string
	umask uint32
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
	return &FSContext{cwd: newFile(fd, abs), path: abs, umask: uint32(old)}, nil
}

func (fs *FSContext) release() { fs.cwd.DecRef() }

// absPath returns path made absolute against the working directory.
func absPath(fs *FSContext, path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(fs.path, path)
}
