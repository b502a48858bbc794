package syscalls

import (
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// FSContext is a process's root directory, working directory and umask.
type FSContext struct {
	mu    sync.Mutex // protects the fields
	root  vfs.Path
	cwd   vfs.Path
	umask uint32
	users atomic.Int32 // processes sharing it (CLONE_FS)
}

// share adds a process to the context's users.
func (fs *FSContext) share() *FSContext {
	fs.users.Add(1)
	return fs
}

// newFSContext returns the context of a first process: the namespace's
// root, and dir (a host directory, "" for the emulator's own) as the
// working directory where the guest's view has it, else the root.
func (k *Kernel) newFSContext(dir string, c *vfs.Creds) *FSContext {
	root := k.ns.Root()
	fs := &FSContext{root: root, umask: 0o22}
	fs.users.Store(1)
	root.IncRef()
	fs.cwd = root
	if guest, ok := k.guestPath(dir); ok {
		r := &vfs.Resolver{NS: k.ns, Root: root, Creds: c}
		if p, err := r.Resolve(root, guest, vfs.MustDir); err == nil {
			fs.cwd.DecRef()
			fs.cwd = p
		}
	}
	old := syscall.Umask(0o22)
	syscall.Umask(old)
	fs.umask = uint32(old)
	return fs
}

// guestPath is the name of host directory dir ("" for the emulator's
// working directory) in the guest's view, if the guest's root holds it.
func (k *Kernel) guestPath(dir string) (string, bool) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	root := k.hostRoot
	switch {
	case root == "/":
		return abs, true
	case abs == root:
		return "/", true
	case strings.HasPrefix(abs, root+"/"):
		return abs[len(root):], true
	}
	return "", false
}

// fork returns a copy of the context (fork without CLONE_FS).
func (fs *FSContext) fork() *FSContext {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.root.IncRef()
	fs.cwd.IncRef()
	n := &FSContext{root: fs.root, cwd: fs.cwd, umask: fs.umask}
	n.users.Store(1)
	return n
}

// release drops a user; the last one lets go of the directories.
func (fs *FSContext) release() {
	if fs.users.Add(-1) == 0 {
		fs.cwd.DecRef()
		fs.root.DecRef()
	}
}

// dirs returns the root and working directory, each with a reference.
func (fs *FSContext) dirs() (root, cwd vfs.Path) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.root.IncRef()
	fs.cwd.IncRef()
	return fs.root, fs.cwd
}

// getUmask returns the umask.
func (fs *FSContext) getUmask() uint32 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.umask
}

// setCwd makes p (whose reference passes to the context) the working
// directory.
func (fs *FSContext) setCwd(p vfs.Path) {
	fs.mu.Lock()
	old := fs.cwd
	fs.cwd = p
	fs.mu.Unlock()
	old.DecRef()
}

// setRoot makes p (whose reference passes to the context) the root.
func (fs *FSContext) setRoot(p vfs.Path) {
	fs.mu.Lock()
	old := fs.root
	fs.root = p
	fs.mu.Unlock()
	old.DecRef()
}

// fsCreds are the process's credentials for files: fsuid, fsgid, the
// groups, and root's file capabilities when the fsuid is 0.
func (c Creds) fsCreds() *vfs.Creds {
	return &vfs.Creds{UID: c.FSUID, GID: c.FSGID, Groups: c.Groups, FileCaps: c.FSUID == 0, Admin: c.EUID == 0}
}

// realCreds are access(2)'s: the real ids (with root's capabilities when
// the real uid is 0).
func (c Creds) realCreds() *vfs.Creds {
	return &vfs.Creds{UID: c.RUID, GID: c.RGID, Groups: c.Groups, FileCaps: c.RUID == 0, Admin: c.EUID == 0}
}

// pathRef is a resolution context of a task: its resolver and the
// directory relative names start at. release drops the references.
type pathRef struct {
	r     *vfs.Resolver
	start vfs.Path
	cwd   vfs.Path
	umask uint32
}

func (p *pathRef) release() {
	p.r.Root.DecRef()
	p.start.DecRef()
	p.cwd.DecRef()
}

// at makes the resolution context for dirfd (AT_FDCWD or a directory
// descriptor): ENOTDIR when dirfd is not a directory, EBADF when it is no
// descriptor. The descriptor is not looked at for absolute names, as
// Linux does.
func (t *Task) at(dirfd int32, name string, creds *vfs.Creds) (*pathRef, error) {
	root, cwd := t.proc.fs.dirs()
	if creds == nil {
		creds = t.proc.Creds().fsCreds()
	}
	ref := &pathRef{r: &vfs.Resolver{NS: t.k.ns, Root: root, Creds: creds,
		Caller: vfs.Caller{PID: t.proc.pid, TID: t.tid}, Sysroot: t.k.sysroot}, cwd: cwd, umask: t.proc.fs.getUmask()}
	start := cwd
	if dirfd != linux.AT_FDCWD && !strings.HasPrefix(name, "/") {
		f, err := t.vfsFile(dirfd, linux.ENOTDIR)
		if err != nil {
			root.DecRef()
			cwd.DecRef()
			return nil, err
		}
		p := f.Path()
		if p.Inode == nil {
			f.DecRef()
			root.DecRef()
			cwd.DecRef()
			return nil, linux.ENOTDIR
		}
		p.IncRef()
		f.DecRef()
		if a, err := p.Inode.Attr(); err != nil || !a.IsDir() && name != "" {
			p.DecRef()
			root.DecRef()
			cwd.DecRef()
			return nil, linux.ENOTDIR
		}
		start = p
	} else {
		start.IncRef()
	}
	ref.start = start
	return ref, nil
}

// pathName reads a path argument: ENAMETOOLONG for PATH_MAX or more.
func (t *Task) pathName(addr mm.Addr) (string, error) {
	return t.MM().CopyInString(addr, linux.PATH_MAX-1)
}

// fdPath returns the location of descriptor fd (for AT_EMPTY_PATH and
// the f* calls), with a reference.
func (t *Task) fdPath(fd int32) (vfs.Path, *openFile, error) {
	f, err := t.vfsFile(fd, linux.EBADF)
	if err != nil {
		return vfs.Path{}, nil, err
	}
	p := f.Path()
	if p.Inode == nil {
		f.DecRef()
		return vfs.Path{}, nil, linux.EBADF
	}
	p.IncRef()
	return p, f, nil
}

// resolveAt resolves (dirfd, path) with the *at flags AT_SYMLINK_NOFOLLOW
// and AT_EMPTY_PATH; the result carries a reference.
func (t *Task) resolveAt(dirfd int32, addr mm.Addr, atFlags uint32, creds *vfs.Creds) (vfs.Path, error) {
	return t.resolveAtAttr(dirfd, addr, atFlags, creds, nil)
}

// resolveAtAttr is resolveAt that, if attr is not nil, also stores the
// result's attributes there (vfs.Path.Attr), which the walk often has
// already.
func (t *Task) resolveAtAttr(dirfd int32, addr mm.Addr, atFlags uint32, creds *vfs.Creds, attr *vfs.Attr) (p vfs.Path, err error) {
	name, err := t.pathName(addr)
	if err != nil {
		return vfs.Path{}, err
	}
	if attr != nil && name != "" {
		ref, err := t.at(dirfd, name, creds)
		if err != nil {
			return vfs.Path{}, err
		}
		defer ref.release()
		p, *attr, err = ref.r.ResolveAttr(ref.start, name, resolveFlags(atFlags))
		return p, err
	}
	if attr != nil {
		defer func() {
			if err == nil {
				if *attr, err = p.Attr(); err != nil {
					p.DecRef()
					p = vfs.Path{}
				}
			}
		}()
	}
	if name == "" {
		if atFlags&linux.AT_EMPTY_PATH == 0 {
			return vfs.Path{}, linux.ENOENT
		}
		if dirfd == linux.AT_FDCWD {
			root, cwd := t.proc.fs.dirs()
			root.DecRef()
			return cwd, nil
		}
		p, f, err := t.fdPath(dirfd)
		if err != nil {
			return vfs.Path{}, err
		}
		f.DecRef()
		return p, nil
	}
	ref, err := t.at(dirfd, name, creds)
	if err != nil {
		return vfs.Path{}, err
	}
	defer ref.release()
	return ref.r.Resolve(ref.start, name, resolveFlags(atFlags))
}

// resolveFlags are the vfs.Resolve flags of *at flags.
func resolveFlags(atFlags uint32) int {
	if atFlags&linux.AT_SYMLINK_NOFOLLOW != 0 {
		return vfs.NoFollow
	}
	return 0
}

// mode32 reports an i386 task.
func (t *Task) mode32() bool { return t.mode == arch.Mode32 }
