// Package hostfs is a host directory tree as a filesystem of the guest's
// view: the host's "/" by default, or the directory of --root.
//
// Every inode holds an O_PATH descriptor. A lookup is one openat of one
// component relative to its directory's descriptor with O_NOFOLLOW, so the
// host never follows a symlink or ".." for the guest (the VFS resolves
// them against the guest's root), and a directory renamed during a walk
// cannot lead outside the tree. Files on the host's proc and sys
// filesystems are refused wherever they appear: the guest sees cmaemu's
// own /proc and /sys, never the host's or the emulator's.
//
// Directories looked up stay open in a bounded cache (dircache.go): a
// later lookup of the same name revalidates the cached descriptor with
// one fstatat instead of opening the component again.
package hostfs

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

// Filesystem magic numbers of statfs(2) that the guest may never reach.
const (
	procSuperMagic  = 0x9fa0
	sysfsMagic      = 0x62656572
	cgroupMagic     = 0x27e0eb
	cgroup2Magic    = 0x63677270
	debugfsMagic    = 0x64626720
	tracefsMagic    = 0x74726163
	securityfsMagic = 0x73636673
	bpfMagic        = 0xcafe4a11
)

// FS is a host directory tree.
type FS struct {
	root     *Inode
	chown    bool // the emulator runs as root: new files get the guest's owner
	Sysroot  bool // an -L overlay, not the root
	hostPath string
	dirs     dirCache
}

// New opens the host directory dir as a filesystem.
func New(dir string) (*FS, error) {
	fd, err := syscall.Open(dir, linux.O_PATH|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	fs := &FS{chown: os.Geteuid() == 0, hostPath: dir}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "stat", Path: dir, Err: err}
	}
	fs.root = fs.newInode(fd, &st)
	if err := fs.root.allowed(); err != nil {
		fs.root.DecRef()
		return nil, fmt.Errorf("%s: the host's proc or sys filesystem cannot be a guest root", dir)
	}
	return fs, nil
}

// Root returns the tree's root directory (with a reference).
func (fs *FS) Root() *Inode {
	fs.root.IncRef()
	return fs.root
}

// HostPath is the host directory the tree starts at.
func (fs *FS) HostPath() string { return fs.hostPath }

// ChownsNewFiles reports whether files the guest creates get the guest's
// owner (the emulator runs as root); otherwise they belong to the host
// user the emulator runs as.
func (fs *FS) ChownsNewFiles() bool { return fs.chown }

// Inode is a host file, held by an O_PATH descriptor. dev and ino are
// the file's, fixed for the descriptor's life: while the descriptor is
// open no other file can have them.
type Inode struct {
	fs       *FS
	fd       int
	dev, ino uint64
	fileType uint32 // st_mode's type bits, as fixed as dev and ino
	refs     atomic.Int32
}

// newInode wraps fd, whose host attributes are st.
func (fs *FS) newInode(fd int, st *syscall.Stat_t) *Inode {
	n := &Inode{fs: fs, fd: fd, dev: st.Dev, ino: st.Ino, fileType: st.Mode & syscall.S_IFMT}
	n.refs.Store(1)
	return n
}

// FileType implements vfs.Typed.
func (n *Inode) FileType() uint32 { return n.fileType }

// IncRef takes a reference.
func (n *Inode) IncRef() { n.refs.Add(1) }

// DecRef drops a reference; the last closes the descriptor. Dropping
// more references than were taken would close a descriptor number that
// may since name another file: it panics instead.
func (n *Inode) DecRef() {
	switch r := n.refs.Add(-1); {
	case r == 0:
		syscall.Close(n.fd)
	case r < 0:
		panic("hostfs: inode released more often than referenced")
	}
}

// HostFD is the O_PATH descriptor (for the kernel's own bookkeeping, such
// as the page cache of shared mappings).
func (n *Inode) HostFD() int { return n.fd }

// procPath names the descriptor in the emulator's own /proc, the only way
// to reopen an O_PATH descriptor with other flags.
func (n *Inode) procPath() string { return "/proc/self/fd/" + strconv.Itoa(n.fd) }

// allowed refuses inodes of the host's kernel filesystems.
func (n *Inode) allowed() error {
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(n.fd, &st); err != nil {
		return hostErr(err)
	}
	switch uint32(st.Type) {
	case procSuperMagic, sysfsMagic, cgroupMagic, cgroup2Magic, debugfsMagic, tracefsMagic, securityfsMagic, bpfMagic:
		return linux.EACCES
	}
	return nil
}

// Attr implements vfs.Inode.
func (n *Inode) Attr() (vfs.Attr, error) {
	var st syscall.Stat_t
	if err := fstatFD(n.fd, &st); err != nil {
		return vfs.Attr{}, err
	}
	return attrOf(&st), nil
}

// Lookup implements vfs.Dir.
func (n *Inode) Lookup(name string) (vfs.Inode, error) {
	child, _, err := n.LookupAttr(name)
	return child, err
}

// LookupAttr implements vfs.AttrDir. A directory found in the cache
// costs one fstatat (which gives its attributes); any other lookup opens
// the component with O_PATH|O_NOFOLLOW and stats the descriptor. A file
// on another host filesystem than its directory is checked against the
// host's kernel filesystems (allowed); one on the same filesystem is as
// allowed as its directory.
func (n *Inode) LookupAttr(name string) (vfs.Inode, vfs.Attr, error) {
	if child, st, ok := n.fs.dirs.lookup(n, name); ok {
		return child, attrOf(st), nil
	}
	fd, err := openat(n.fd, name, linux.O_PATH|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, vfs.Attr{}, err
	}
	var st syscall.Stat_t
	if err := fstatFD(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, vfs.Attr{}, err
	}
	child := n.fs.newInode(fd, &st)
	if child.dev != n.dev {
		if err := child.allowed(); err != nil {
			child.DecRef()
			return nil, vfs.Attr{}, err
		}
	}
	a := attrOf(&st)
	if a.IsDir() {
		n.fs.dirs.add(n, name, child)
	}
	return child, a, nil
}

// Readdir implements vfs.Dir.
func (n *Inode) Readdir() ([]vfs.Dirent, error) {
	h, err := n.Open(syscall.O_RDONLY | syscall.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	var out []vfs.Dirent
	err = h.(*Handle).Getdents(func(d vfs.Dirent, _ int64) bool {
		out = append(out, d)
		return true
	})
	return out, err
}

// Readlink implements vfs.Symlink.
func (n *Inode) Readlink() (string, error) {
	buf := make([]byte, vfs.PathMax)
	r, err := hostCall(syscall.SYS_READLINKAT, uintptr(n.fd), "", unsafe.Pointer(&buf[0]), uintptr(len(buf)))
	if err != nil {
		return "", err
	}
	return string(buf[:r]), nil
}

// Open implements vfs.Opener: the file reopened through the emulator's
// /proc/self/fd with the guest's flags.
func (n *Inode) Open(flags uint32) (vfs.Handle, error) {
	flags &^= syscall.O_CREAT | syscall.O_EXCL | syscall.O_NOCTTY
	fd, err := openat(linux.AT_FDCWD, n.procPath(), int(flags)|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	return &Handle{fd: fd}, nil
}

// Create implements vfs.DirWriter.
func (n *Inode) Create(name string, flags, mode uint32, o vfs.Owner) (vfs.Handle, error) {
	flags = flags&^syscall.O_NOCTTY | syscall.O_CREAT | syscall.O_EXCL | syscall.O_NOFOLLOW | syscall.O_CLOEXEC
	fd, err := openat(n.fd, name, int(flags), mode)
	if err != nil {
		return nil, err
	}
	if n.fs.chown {
		syscall.Fchown(fd, int(o.UID), int(o.GID))
		if mode&(vfs.ModeSetUID|vfs.ModeSetGID) != 0 { // chown cleared them
			syscall.Fchmod(fd, mode&vfs.ModePerm)
		}
	}
	return &Handle{fd: fd}, nil
}

// owner gives the new entry name the guest's owner (when the emulator
// runs as root).
func (n *Inode) owner(name string, o vfs.Owner) {
	if n.fs.chown {
		hostCall(syscall.SYS_FCHOWNAT, uintptr(n.fd), name, uintptr(o.UID), uintptr(o.GID), linux.AT_SYMLINK_NOFOLLOW)
	}
}

// Mkdir implements vfs.DirWriter.
func (n *Inode) Mkdir(name string, mode uint32, o vfs.Owner) error {
	if _, err := hostCall(syscall.SYS_MKDIRAT, uintptr(n.fd), name, uintptr(mode)); err != nil {
		return err
	}
	n.owner(name, o)
	return nil
}

// Mknod implements vfs.DirWriter.
func (n *Inode) Mknod(name string, mode uint32, dev uint64, o vfs.Owner) error {
	if _, err := hostCall(syscall.SYS_MKNODAT, uintptr(n.fd), name, uintptr(mode), uintptr(dev)); err != nil {
		return err
	}
	n.owner(name, o)
	return nil
}

// Symlink implements vfs.DirWriter.
func (n *Inode) Symlink(name, target string, o vfs.Owner) error {
	if _, err := hostCall(syscall.SYS_SYMLINKAT, target, uintptr(n.fd), name); err != nil {
		return err
	}
	n.owner(name, o)
	return nil
}

// Link implements vfs.DirWriter.
func (n *Inode) Link(name string, target vfs.Inode) error {
	t, ok := target.(*Inode)
	if !ok || t.fs != n.fs {
		return linux.EXDEV
	}
	_, err := hostCall(syscall.SYS_LINKAT, atFDCWD, t.procPath(),
		uintptr(n.fd), name, linux.AT_SYMLINK_FOLLOW)
	return err
}

// Unlink implements vfs.DirWriter.
func (n *Inode) Unlink(name string) error {
	_, err := hostCall(syscall.SYS_UNLINKAT, uintptr(n.fd), name, 0)
	return err
}

// Rmdir implements vfs.DirWriter.
func (n *Inode) Rmdir(name string) error {
	_, err := hostCall(syscall.SYS_UNLINKAT, uintptr(n.fd), name, linux.AT_REMOVEDIR)
	return err
}

// Rename implements vfs.DirWriter.
func (n *Inode) Rename(name string, newDir vfs.Dir, newName string, flags uint32) error {
	d, ok := newDir.(*Inode)
	if !ok || d.fs != n.fs {
		return linux.EXDEV
	}
	_, err := hostCall(sysRenameat2, uintptr(n.fd), name, uintptr(d.fd), newName, uintptr(flags))
	return err
}

// Setattr implements vfs.Setattrer.
func (n *Inode) Setattr(s vfs.Setattr) error {
	if s.Mask&(vfs.SetUID|vfs.SetGID) != 0 {
		uid, gid := ^uintptr(0), ^uintptr(0)
		if s.Mask&vfs.SetUID != 0 {
			uid = uintptr(s.UID)
		}
		if s.Mask&vfs.SetGID != 0 {
			gid = uintptr(s.GID)
		}
		if _, err := hostCall(syscall.SYS_FCHOWNAT, uintptr(n.fd), "", uid&0xffffffff, gid&0xffffffff, linux.AT_EMPTY_PATH); err != nil {
			return err
		}
	}
	if s.Mask&vfs.SetMode != 0 {
		if _, err := hostCall(syscall.SYS_FCHMODAT, atFDCWD, n.procPath(), uintptr(s.Mode)); err != nil {
			return err
		}
	}
	if s.Mask&vfs.SetSize != 0 {
		if _, err := hostCall(syscall.SYS_TRUNCATE, n.procPath(), uintptr(s.Size)); err != nil {
			return err
		}
	}
	if s.Mask&(vfs.SetAtime|vfs.SetMtime|vfs.SetAtimeNow|vfs.SetMtimeNow) != 0 {
		ts := [2]syscall.Timespec{{Nsec: utimeOmit}, {Nsec: utimeOmit}}
		switch {
		case s.Mask&vfs.SetAtimeNow != 0:
			ts[0].Nsec = utimeNow
		case s.Mask&vfs.SetAtime != 0:
			ts[0] = syscall.Timespec{Sec: s.Atime.Sec, Nsec: s.Atime.Nsec}
		}
		switch {
		case s.Mask&vfs.SetMtimeNow != 0:
			ts[1].Nsec = utimeNow
		case s.Mask&vfs.SetMtime != 0:
			ts[1] = syscall.Timespec{Sec: s.Mtime.Sec, Nsec: s.Mtime.Nsec}
		}
		if _, err := hostCall(syscall.SYS_UTIMENSAT, atFDCWD, n.procPath(),
			unsafe.Pointer(&ts[0]), 0); err != nil {
			return err
		}
	}
	return nil
}

// utimensat's special nanosecond values.
const (
	utimeNow  = (1 << 30) - 1
	utimeOmit = (1 << 30) - 2
)

const sysRenameat2 = 316

// attrOf converts a host stat.
func attrOf(st *syscall.Stat_t) vfs.Attr {
	return vfs.Attr{
		Dev: st.Dev, Ino: st.Ino, Mode: st.Mode, Nlink: st.Nlink, UID: st.Uid, GID: st.Gid,
		Rdev: st.Rdev, Size: st.Size, Blksize: st.Blksize, Blocks: st.Blocks,
		Atime: vfs.Timespec{Sec: st.Atim.Sec, Nsec: st.Atim.Nsec},
		Mtime: vfs.Timespec{Sec: st.Mtim.Sec, Nsec: st.Mtim.Nsec},
		Ctime: vfs.Timespec{Sec: st.Ctim.Sec, Nsec: st.Ctim.Nsec},
	}
}

// hostErr converts a host error to the guest's errno.
func hostErr(err error) error {
	if e, ok := err.(syscall.Errno); ok {
		return linux.Errno(e)
	}
	return err
}

// hostCall makes a host system call, restarting on EINTR. Arguments are
// uintptr, int, uint32, unsafe.Pointer or string (passed NUL-terminated);
// pointers stay alive until the call returns.
func hostCall(nr uintptr, args ...any) (uintptr, error) {
	var a [6]uintptr
	keep := make([]unsafe.Pointer, 0, 2)
	for i, v := range args {
		switch v := v.(type) {
		case uintptr:
			a[i] = v
		case int:
			a[i] = uintptr(v)
		case uint32:
			a[i] = uintptr(v)
		case unsafe.Pointer:
			a[i] = uintptr(v)
			keep = append(keep, v)
		case string:
			p, err := syscall.BytePtrFromString(v)
			if err != nil {
				return 0, linux.EINVAL
			}
			a[i] = uintptr(unsafe.Pointer(p))
			keep = append(keep, unsafe.Pointer(p))
		default:
			panic("hostfs: hostCall argument of unknown type")
		}
	}
	for {
		r, _, e := syscall.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
		if e == syscall.EINTR {
			continue
		}
		runtime.KeepAlive(keep)
		if e != 0 {
			return 0, linux.Errno(e)
		}
		return r, nil
	}
}

// atFDCWD is AT_FDCWD as a syscall argument.
const atFDCWD = uintptr(0xffffffffffffff9c)

func openat(dir int, name string, flags int, mode uint32) (int, error) {
	fd, err := syscall.Openat(dir, name, flags, mode)
	for err == syscall.EINTR {
		fd, err = syscall.Openat(dir, name, flags, mode)
	}
	if err != nil {
		return -1, hostErr(err)
	}
	return fd, nil
}

// emptyPath is "" for system calls, NUL-terminated.
var emptyPath = [1]byte{}

// fstatFD is fstat of fd, which may be an O_PATH descriptor of a symlink
// (fstatat with AT_EMPTY_PATH, without allocating).
func fstatFD(fd int, st *syscall.Stat_t) error {
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_NEWFSTATAT, uintptr(fd), uintptr(unsafe.Pointer(&emptyPath[0])),
			uintptr(unsafe.Pointer(st)), linux.AT_EMPTY_PATH|linux.AT_SYMLINK_NOFOLLOW, 0, 0)
		switch e {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		}
		return linux.Errno(e)
	}
}

func fstatat(dir int, name string, st *syscall.Stat_t, flags int) error {
	_, err := hostCall(syscall.SYS_NEWFSTATAT, uintptr(dir), name, unsafe.Pointer(st), uintptr(flags))
	return err
}
