package syscalls

import (
	"encoding/binary"
	"strings"
	"syscall"
	"unsafe"

	"github.com/cmaemu/cmaemu/fs/tmpfs"
	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// The path system calls: every name goes through the VFS (fs/vfs), which
// resolves it against the process's root and working directory and checks
// Linux's permissions with the process's fsuid, fsgid and groups.

// withPath reads the path at addr and runs op with the resolution context
// of (dirfd, path).
func (t *Task) withPath(dirfd int32, addr mm.Addr, op func(ref *pathRef, name string) error) error {
	name, err := t.pathName(addr)
	if err != nil {
		return err
	}
	if name == "" {
		return linux.ENOENT
	}
	ref, err := t.at(dirfd, name, nil)
	if err != nil {
		return err
	}
	defer ref.release()
	return op(ref, name)
}

func (t *Task) openAt(dirfd int32, addr mm.Addr, flags, mode uint32) (uintptr, error) {
	if flags&linux.O_TMPFILE == linux.O_TMPFILE {
		return 0, linux.EOPNOTSUPP
	}
	var fd int32
	err := t.withPath(dirfd, addr, func(ref *pathRef, name string) error {
		p, h, err := ref.r.Open(ref.start, name, flags, mode, ref.umask)
		if err != nil {
			return err
		}
		if pf, ok := h.(vfs.PendingFIFO); ok {
			if h, err = t.openPendingFIFO(pf); err != nil {
				p.DecRef()
				return err
			}
		}
		var f File
		if fh, ok := h.(fifoHandle); ok {
			if f, err = t.openFIFO(p, fh.node, flags); err != nil {
				return err
			}
		} else {
			f = newOpenFile(p, h, flags)
		}
		fd, err = t.proc.fds.Install(f, 0, flags&linux.O_CLOEXEC != 0)
		return err
	})
	return uintptr(fd), err
}

// Openat implements openat(2).
func Openat(t *Task, a Args) (uintptr, error) {
	return t.openAt(a.Int(0), a.Pointer(1), a.Uint(2), a.Uint(3))
}

// Open implements open(2).
func Open(t *Task, a Args) (uintptr, error) {
	return t.openAt(linux.AT_FDCWD, a.Pointer(0), a.Uint(1), a.Uint(2))
}

// Creat implements creat(2).
func Creat(t *Task, a Args) (uintptr, error) {
	return t.openAt(linux.AT_FDCWD, a.Pointer(0), syscall.O_CREAT|syscall.O_WRONLY|syscall.O_TRUNC, a.Uint(1))
}

// statSize is sizeof(struct stat) on x86-64.
const statSize = file.StatSize

// statAt returns the attributes of (dirfd, path) with the *at flags.
func (t *Task) statAt(dirfd int32, addr mm.Addr, flags uint32) (vfs.Attr, error) {
	if flags&^(linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH|linux.AT_NO_AUTOMOUNT) != 0 {
		return vfs.Attr{}, linux.EINVAL
	}
	if flags&linux.AT_EMPTY_PATH != 0 && dirfd != linux.AT_FDCWD {
		// fstatat(fd, "", AT_EMPTY_PATH) is fstat: the descriptor's own
		// file, named or not (stdio, pipes).
		name, err := t.pathName(addr)
		if err != nil {
			return vfs.Attr{}, err
		}
		if name == "" {
			return t.fdAttr(dirfd)
		}
	}
	var a vfs.Attr
	p, err := t.resolveAtAttr(dirfd, addr, flags, nil, &a)
	if err != nil {
		return vfs.Attr{}, err
	}
	p.DecRef()
	return a, nil
}

// fdAttr is fstat of descriptor fd.
func (t *Task) fdAttr(fd int32) (vfs.Attr, error) {
	f, err := t.proc.fds.Get(fd)
	if err != nil {
		return vfs.Attr{}, err
	}
	defer f.DecRef()
	if of, ok := f.(*openFile); ok {
		return of.attr()
	}
	st, err := f.Stat()
	if err != nil {
		return vfs.Attr{}, err
	}
	return file.DecodeStat(st), nil
}

// fstatAt stats (dirfd, path) into the guest's struct stat at buf.
func (t *Task) fstatAt(dirfd int32, addr mm.Addr, buf mm.Addr, flags uint32) (uintptr, error) {
	a, err := t.statAt(dirfd, addr, flags)
	if err != nil {
		return 0, err
	}
	st := file.EncodeStat(a)
	_, err = t.MM().CopyOut(buf, st[:])
	return 0, err
}

// Newfstatat implements newfstatat(2).
func Newfstatat(t *Task, a Args) (uintptr, error) {
	return t.fstatAt(a.Int(0), a.Pointer(1), a.Pointer(2), a.Uint(3))
}

// Stat implements stat(2).
func Stat(t *Task, a Args) (uintptr, error) {
	return t.fstatAt(linux.AT_FDCWD, a.Pointer(0), a.Pointer(1), 0)
}

// Lstat implements lstat(2).
func Lstat(t *Task, a Args) (uintptr, error) {
	return t.fstatAt(linux.AT_FDCWD, a.Pointer(0), a.Pointer(1), linux.AT_SYMLINK_NOFOLLOW)
}

// Statx implements statx(2).
func Statx(t *Task, a Args) (uintptr, error) {
	flags := a.Uint(2)
	if flags&0x6000 == 0x6000 { // AT_STATX_FORCE_SYNC|AT_STATX_DONT_SYNC
		return 0, linux.EINVAL
	}
	if a.Uint(3)&0x80000000 != 0 { // STATX__RESERVED
		return 0, linux.EINVAL
	}
	at, err := t.statAt(a.Int(0), a.Pointer(1), flags&^0x6000)
	if err != nil {
		return 0, err
	}
	st := encodeStatx(at)
	_, err = t.MM().CopyOut(a.Pointer(4), st[:])
	return 0, err
}

// access checks mode on (dirfd, path): with the real ids, or the
// effective ones for AT_EACCESS.
func (t *Task) access(dirfd int32, addr mm.Addr, mode, flags uint32) (uintptr, error) {
	if flags&^(linux.AT_EACCESS|linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH) != 0 || mode&^7 != 0 {
		return 0, linux.EINVAL
	}
	c := t.proc.Creds()
	creds := c.realCreds()
	if flags&linux.AT_EACCESS != 0 {
		creds = c.fsCreds()
	}
	p, err := t.resolveAt(dirfd, addr, flags&^linux.AT_EACCESS, creds)
	if err != nil {
		return 0, err
	}
	defer p.DecRef()
	a, err := p.Attr()
	if err != nil || mode == 0 {
		return 0, err
	}
	if err := creds.Permission(a, int(mode)); err != nil {
		return 0, err
	}
	if mode&vfs.MayWrite != 0 && a.Mode&vfs.ModeType != vfs.ModeChar && a.Mode&vfs.ModeType != vfs.ModeFIFO &&
		a.Mode&vfs.ModeType != vfs.ModeSocket {
		return 0, p.Writable()
	}
	return 0, nil
}

// Faccessat implements faccessat(2) (no flags argument).
func Faccessat(t *Task, a Args) (uintptr, error) {
	return t.access(a.Int(0), a.Pointer(1), a.Uint(2), 0)
}

// Faccessat2 implements faccessat2(2).
func Faccessat2(t *Task, a Args) (uintptr, error) {
	return t.access(a.Int(0), a.Pointer(1), a.Uint(2), a.Uint(3))
}

// Access implements access(2).
func Access(t *Task, a Args) (uintptr, error) {
	return t.access(linux.AT_FDCWD, a.Pointer(0), a.Uint(1), 0)
}

// Getcwd implements getcwd(2): the working directory's name below the
// process's root, or "(unreachable)" before it when it lies outside.
func Getcwd(t *Task, a Args) (uintptr, error) {
	root, cwd := t.proc.fs.dirs()
	path := cwd.Name
	switch {
	case root.Name == "/":
	case path == root.Name:
		path = "/"
	case strings.HasPrefix(path, root.Name+"/"):
		path = path[len(root.Name):]
	default:
		path = "(unreachable)" + path
	}
	root.DecRef()
	cwd.DecRef()
	b := append([]byte(path), 0)
	if uint64(len(b)) > a.Uint64(1) {
		return 0, linux.ERANGE
	}
	if _, err := t.MM().CopyOut(a.Pointer(0), b); err != nil {
		return 0, err
	}
	return uintptr(len(b)), nil
}

// searchableDir resolves name to a directory the caller may search
// (chdir, chroot).
func searchableDir(ref *pathRef, name string) (vfs.Path, error) {
	p, err := ref.r.Resolve(ref.start, name, vfs.MustDir)
	if err != nil {
		return p, err
	}
	a, err := p.Attr()
	if err == nil {
		err = ref.r.Creds.Permission(a, vfs.MayExec)
	}
	if err != nil {
		p.DecRef()
		return vfs.Path{}, err
	}
	return p, nil
}

// Chdir implements chdir(2).
func Chdir(t *Task, a Args) (uintptr, error) {
	return 0, t.withPath(linux.AT_FDCWD, a.Pointer(0), func(ref *pathRef, name string) error {
		p, err := searchableDir(ref, name)
		if err == nil {
			t.proc.fs.setCwd(p)
		}
		return err
	})
}

// Fchdir implements fchdir(2).
func Fchdir(t *Task, a Args) (uintptr, error) {
	p, f, err := t.fdPath(a.Int(0))
	if err != nil {
		return 0, err
	}
	f.DecRef()
	at, err := p.Attr()
	switch {
	case err != nil:
	case !at.IsDir():
		err = linux.ENOTDIR
	default:
		err = t.proc.Creds().fsCreds().Permission(at, vfs.MayExec)
	}
	if err != nil {
		p.DecRef()
		return 0, err
	}
	t.proc.fs.setCwd(p)
	return 0, nil
}

// Chroot implements chroot(2): CAP_SYS_CHROOT (root) only.
func Chroot(t *Task, a Args) (uintptr, error) {
	return 0, t.withPath(linux.AT_FDCWD, a.Pointer(0), func(ref *pathRef, name string) error {
		p, err := searchableDir(ref, name)
		if err != nil {
			return err
		}
		if t.proc.Creds().EUID != 0 {
			p.DecRef()
			return linux.EPERM
		}
		t.proc.fs.setRoot(p)
		return nil
	})
}

// Readlinkat implements readlinkat(2).
func Readlinkat(t *Task, a Args) (uintptr, error) {
	size := a.Int(3)
	if size <= 0 {
		return 0, linux.EINVAL
	}
	var target string
	name, err := t.pathName(a.Pointer(1))
	if err != nil {
		return 0, err
	}
	if name == "" { // readlinkat(fd, "") of an O_PATH symlink
		p, f, err := t.fdPath(a.Int(0))
		if err != nil {
			return 0, linux.ENOENT
		}
		f.DecRef()
		defer p.DecRef()
		l, ok := p.Inode.(vfs.Symlink)
		if at, _ := p.Attr(); !ok || !at.IsSymlink() {
			return 0, linux.ENOENT
		}
		if target, err = l.Readlink(); err != nil {
			return 0, err
		}
	} else {
		err = t.withPath(a.Int(0), a.Pointer(1), func(ref *pathRef, name string) error {
			var err error
			target, err = ref.r.Readlink(ref.start, name)
			return err
		})
		if err != nil {
			return 0, err
		}
	}
	b := []byte(target)
	b = b[:min(len(b), int(size))]
	_, err = t.MM().CopyOut(a.Pointer(2), b)
	return uintptr(len(b)), err
}

// Readlink implements readlink(2).
func Readlink(t *Task, a Args) (uintptr, error) {
	return Readlinkat(t, Args{atCWD, a[0], a[1], a[2]})
}

// atCWD is AT_FDCWD as a syscall argument.
const atCWD = uint64(uint32(linux.AT_FDCWD & 0xffffffff))

// Mkdirat implements mkdirat(2).
func Mkdirat(t *Task, a Args) (uintptr, error) {
	return 0, t.withPath(a.Int(0), a.Pointer(1), func(ref *pathRef, name string) error {
		return ref.r.Mkdir(ref.start, name, a.Uint(2), ref.umask)
	})
}

// Mkdir implements mkdir(2).
func Mkdir(t *Task, a Args) (uintptr, error) { return Mkdirat(t, Args{atCWD, a[0], a[1]}) }

// Mknodat implements mknodat(2): FIFOs, sockets and regular files.
func Mknodat(t *Task, a Args) (uintptr, error) {
	return 0, t.withPath(a.Int(0), a.Pointer(1), func(ref *pathRef, name string) error {
		return ref.r.Mknod(ref.start, name, a.Uint(2), ref.umask, a.Uint64(3))
	})
}

// Mknod implements mknod(2).
func Mknod(t *Task, a Args) (uintptr, error) { return Mknodat(t, Args{atCWD, a[0], a[1], a[2]}) }

// Unlinkat implements unlinkat(2).
func Unlinkat(t *Task, a Args) (uintptr, error) {
	flags := a.Uint(2)
	if flags&^linux.AT_REMOVEDIR != 0 {
		return 0, linux.EINVAL
	}
	return 0, t.withPath(a.Int(0), a.Pointer(1), func(ref *pathRef, name string) error {
		if flags&linux.AT_REMOVEDIR != 0 {
			return ref.r.Rmdir(ref.start, name)
		}
		return ref.r.Unlink(ref.start, name)
	})
}

// Unlink implements unlink(2).
func Unlink(t *Task, a Args) (uintptr, error) { return Unlinkat(t, Args{atCWD, a[0], 0}) }

// Rmdir implements rmdir(2).
func Rmdir(t *Task, a Args) (uintptr, error) {
	return Unlinkat(t, Args{atCWD, a[0], linux.AT_REMOVEDIR})
}

// twoPaths resolves the contexts of two (dirfd, path) pairs and runs op.
func (t *Task) twoPaths(d1 int32, a1 mm.Addr, d2 int32, a2 mm.Addr, op func(r1 *pathRef, n1 string, r2 *pathRef, n2 string) error) error {
	return t.withPath(d1, a1, func(r1 *pathRef, n1 string) error {
		return t.withPath(d2, a2, func(r2 *pathRef, n2 string) error {
			return op(r1, n1, r2, n2)
		})
	})
}

// Renameat2 implements renameat2(2).
func Renameat2(t *Task, a Args) (uintptr, error) {
	return 0, t.twoPaths(a.Int(0), a.Pointer(1), a.Int(2), a.Pointer(3), func(r1 *pathRef, n1 string, r2 *pathRef, n2 string) error {
		return r1.r.Rename(r1.start, n1, r2.start, n2, a.Uint(4))
	})
}

// Renameat implements renameat(2).
func Renameat(t *Task, a Args) (uintptr, error) {
	return Renameat2(t, Args{a[0], a[1], a[2], a[3], 0})
}

// Rename implements rename(2).
func Rename(t *Task, a Args) (uintptr, error) {
	return Renameat2(t, Args{atCWD, a[0], atCWD, a[1], 0})
}

// Linkat implements linkat(2).
func Linkat(t *Task, a Args) (uintptr, error) {
	flags := a.Uint(4)
	if flags&^(linux.AT_SYMLINK_FOLLOW|linux.AT_EMPTY_PATH) != 0 {
		return 0, linux.EINVAL
	}
	if flags&linux.AT_EMPTY_PATH != 0 {
		name, err := t.pathName(a.Pointer(1))
		if err != nil {
			return 0, err
		}
		if name == "" {
			if t.proc.Creds().EUID != 0 { // CAP_DAC_READ_SEARCH
				return 0, linux.ENOENT
			}
			old, f, err := t.fdPath(a.Int(0))
			if err != nil {
				return 0, err
			}
			f.DecRef()
			defer old.DecRef()
			return 0, t.withPath(a.Int(2), a.Pointer(3), func(ref *pathRef, name string) error {
				return ref.r.LinkPath(old, ref.start, name)
			})
		}
	}
	return 0, t.twoPaths(a.Int(0), a.Pointer(1), a.Int(2), a.Pointer(3), func(r1 *pathRef, n1 string, r2 *pathRef, n2 string) error {
		return r1.r.Link(r1.start, n1, r2.start, n2, flags&linux.AT_SYMLINK_FOLLOW != 0)
	})
}

// Link implements link(2).
func Link(t *Task, a Args) (uintptr, error) { return Linkat(t, Args{atCWD, a[0], atCWD, a[1], 0}) }

// Symlinkat implements symlinkat(2).
func Symlinkat(t *Task, a Args) (uintptr, error) {
	target, err := t.pathName(a.Pointer(0))
	if err != nil {
		return 0, err
	}
	return 0, t.withPath(a.Int(1), a.Pointer(2), func(ref *pathRef, name string) error {
		return ref.r.Symlink(target, ref.start, name)
	})
}

// Symlink implements symlink(2).
func Symlink(t *Task, a Args) (uintptr, error) { return Symlinkat(t, Args{a[0], atCWD, a[1]}) }

// onPath resolves (dirfd, path) with *at flags and runs op on the result.
func (t *Task) onPath(dirfd int32, addr mm.Addr, atFlags uint32, op func(r *vfs.Resolver, p vfs.Path) error) error {
	p, err := t.resolveAt(dirfd, addr, atFlags, nil)
	if err != nil {
		return err
	}
	defer p.DecRef()
	return op(&vfs.Resolver{Creds: t.proc.Creds().fsCreds()}, p)
}

// onFD runs op on the file of descriptor fd (O_PATH descriptors: EBADF,
// as for fchmod and fchown).
func (t *Task) onFD(fd int32, op func(r *vfs.Resolver, p vfs.Path, f *openFile) error) error {
	p, f, err := t.fdPath(fd)
	if err != nil {
		return err
	}
	defer f.DecRef()
	defer p.DecRef()
	if f.pathOnly() {
		return linux.EBADF
	}
	return op(&vfs.Resolver{Creds: t.proc.Creds().fsCreds()}, p, f)
}

// Fchmodat implements fchmodat(2) (and fchmodat2's flags).
func Fchmodat(t *Task, a Args) (uintptr, error) {
	return 0, t.onPath(a.Int(0), a.Pointer(1), 0, func(r *vfs.Resolver, p vfs.Path) error {
		return r.Chmod(p, a.Uint(2))
	})
}

// Chmod implements chmod(2).
func Chmod(t *Task, a Args) (uintptr, error) { return Fchmodat(t, Args{atCWD, a[0], a[1]}) }

// Fchmod implements fchmod(2).
func Fchmod(t *Task, a Args) (uintptr, error) {
	return 0, t.onFD(a.Int(0), func(r *vfs.Resolver, p vfs.Path, _ *openFile) error {
		return r.Chmod(p, a.Uint(1))
	})
}

// Fchownat implements fchownat(2).
func Fchownat(t *Task, a Args) (uintptr, error) {
	flags := a.Uint(4)
	if flags&^(linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH) != 0 {
		return 0, linux.EINVAL
	}
	return 0, t.onPath(a.Int(0), a.Pointer(1), flags, func(r *vfs.Resolver, p vfs.Path) error {
		return r.Chown(p, a.Uint(2), a.Uint(3))
	})
}

// Chown implements chown(2).
func Chown(t *Task, a Args) (uintptr, error) { return Fchownat(t, Args{atCWD, a[0], a[1], a[2], 0}) }

// Lchown implements lchown(2).
func Lchown(t *Task, a Args) (uintptr, error) {
	return Fchownat(t, Args{atCWD, a[0], a[1], a[2], linux.AT_SYMLINK_NOFOLLOW})
}

// Fchown implements fchown(2).
func Fchown(t *Task, a Args) (uintptr, error) {
	return 0, t.onFD(a.Int(0), func(r *vfs.Resolver, p vfs.Path, _ *openFile) error {
		return r.Chown(p, a.Uint(1), a.Uint(2))
	})
}

// chown16 adapts the i386 16-bit chown calls: 0xffff is "unchanged".
func chown16(h Handler, uidArg int) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		for _, i := range []int{uidArg, uidArg + 1} {
			if uint16(a[i]) == 0xffff {
				a[i] = uint64(vfs.NoID)
			} else {
				a[i] = uint64(uint16(a[i]))
			}
		}
		return h(t, a)
	}
}

// Truncate implements truncate(2).
func Truncate(t *Task, a Args) (uintptr, error) {
	return 0, t.onPath(linux.AT_FDCWD, a.Pointer(0), 0, func(r *vfs.Resolver, p vfs.Path) error {
		if at, err := p.Attr(); err == nil && at.IsRegular() {
			if err := t.fsizeAllows(at.Size, a.Int64(1)); err != nil {
				return err
			}
		}
		return r.Truncate(p, a.Int64(1), true)
	})
}

// Ftruncate implements ftruncate(2): the descriptor must be open for
// writing.
func Ftruncate(t *Task, a Args) (uintptr, error) {
	f, err := t.proc.fds.Get(a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	of, ok := f.(*openFile)
	if !ok || of.pathOnly() {
		if ok {
			return 0, linux.EBADF
		}
		return 0, linux.EINVAL
	}
	if of.accMode() == linux.O_RDONLY {
		return 0, linux.EINVAL
	}
	if a.Int64(1) < 0 {
		return 0, linux.EINVAL
	}
	if at, err := of.attr(); err == nil && at.IsRegular() {
		if err := t.fsizeAllows(at.Size, a.Int64(1)); err != nil {
			return 0, err
		}
	}
	if fd, isHost := of.host(); isHost {
		if err := syscall.Ftruncate(fd, a.Int64(1)); err != nil {
			return 0, hostErr(err)
		}
		return 0, nil
	}
	r := &vfs.Resolver{Creds: t.proc.Creds().fsCreds()}
	return 0, r.Truncate(of.Path(), a.Int64(1), false)
}

// utimensat handles utimensat(2); time32 selects i386's old_timespec32.
func utimensat(time32 bool) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		flags := a.Uint(3)
		if flags&^(linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH) != 0 {
			return 0, linux.EINVAL
		}
		s, err := t.readUtimes(a.Pointer(2), time32)
		if err != nil {
			return 0, err
		}
		op := func(r *vfs.Resolver, p vfs.Path) error { return r.Utimes(p, s) }
		if a.Pointer(1) == 0 { // futimens: the descriptor itself
			return 0, t.onFD(a.Int(0), func(r *vfs.Resolver, p vfs.Path, _ *openFile) error { return op(r, p) })
		}
		return 0, t.onPath(a.Int(0), a.Pointer(1), flags, op)
	}
}

// readUtimes reads utimensat's two timespecs (NULL: both now).
func (t *Task) readUtimes(addr mm.Addr, time32 bool) (vfs.Setattr, error) {
	s := vfs.Setattr{Mask: vfs.SetAtimeNow | vfs.SetMtimeNow}
	if addr == 0 {
		return s, nil
	}
	s.Mask = 0
	size := mm.Addr(16)
	if time32 {
		size = 8
	}
	for i := 0; i < 2; i++ {
		var b [16]byte
		if _, err := t.MM().CopyIn(addr+mm.Addr(i)*size, b[:size]); err != nil {
			return s, err
		}
		var ts vfs.Timespec
		if time32 {
			ts = vfs.Timespec{Sec: int64(int32(leUint32(b[:]))), Nsec: int64(int32(leUint32(b[4:])))}
		} else {
			ts = vfs.Timespec{Sec: int64(leUint64(b[:])), Nsec: int64(leUint64(b[8:]))}
		}
		now, set := vfs.SetAtimeNow, vfs.SetAtime
		if i == 1 {
			now, set = vfs.SetMtimeNow, vfs.SetMtime
		}
		switch {
		case ts.Nsec == utimeNow:
			s.Mask |= now
		case ts.Nsec == utimeOmit:
		case ts.Nsec < 0 || ts.Nsec > 999999999:
			return s, linux.EINVAL
		default:
			s.Mask |= set
			if i == 0 {
				s.Atime = ts
			} else {
				s.Mtime = ts
			}
		}
	}
	return s, nil
}

// utimensat's special nanosecond values.
const (
	utimeNow  = (1 << 30) - 1
	utimeOmit = (1 << 30) - 2
)

// Utimensat implements utimensat(2).
var Utimensat = utimensat(false)

// statfsSize is sizeof(struct statfs) on x86-64.
const statfsSize = 120

// Magic numbers of the kernel's own filesystems for statfs.
var fsMagic = map[string]uint64{"proc": 0x9fa0, "tmpfs": 0x01021994, "devtmpfs": 0x01021994, "sysfs": 0x62656572}

// statfs fills struct statfs for p: the host's answer for host files, a
// small fixed one for the kernel's own filesystems.
func statfs(p vfs.Path) ([statfsSize]byte, error) {
	var buf [statfsSize]byte
	if h, ok := p.Inode.(interface{ HostFD() int }); ok {
		if _, _, e := syscall.Syscall(syscall.SYS_FSTATFS, uintptr(h.HostFD()), uintptr(unsafe.Pointer(&buf)), 0); e != 0 {
			return buf, linux.Errno(e)
		}
		return buf, nil
	}
	le := binary.LittleEndian
	le.PutUint64(buf[0:], fsMagic[p.Mount.FSType]) // f_type
	le.PutUint64(buf[8:], 4096)                    // f_bsize
	le.PutUint64(buf[64:], 255)                    // f_namelen
	le.PutUint64(buf[72:], 4096)                   // f_frsize
	if fs, ok := p.Inode.(interface{ Statfs() tmpfs.Statfs }); ok {
		s := fs.Statfs()
		le.PutUint64(buf[16:], uint64(s.Blocks))     // f_blocks
		le.PutUint64(buf[24:], uint64(s.BlocksFree)) // f_bfree
		le.PutUint64(buf[32:], uint64(s.BlocksFree)) // f_bavail
		le.PutUint64(buf[40:], uint64(s.Files))      // f_files
		le.PutUint64(buf[48:], uint64(s.FilesFree))  // f_ffree
	}
	flags := uint64(0x20) // ST_VALID
	if p.Mount.ReadOnly() {
		flags |= 1
	}
	le.PutUint64(buf[80:], flags)
	return buf, nil
}

// statfsPath is struct statfs of the file at path.
func (t *Task) statfsPath(addr mm.Addr) ([statfsSize]byte, error) {
	var buf [statfsSize]byte
	err := t.onPath(linux.AT_FDCWD, addr, 0, func(_ *vfs.Resolver, p vfs.Path) error {
		var err error
		buf, err = statfs(p)
		return err
	})
	return buf, err
}

// statfsFD is struct statfs of the file of descriptor fd.
func (t *Task) statfsFD(fd int32) ([statfsSize]byte, error) {
	var buf [statfsSize]byte
	f, err := t.proc.fds.Get(fd)
	if err != nil {
		return buf, err
	}
	defer f.DecRef()
	of, ok := f.(*openFile)
	if !ok { // pipefs
		le := binary.LittleEndian
		le.PutUint64(buf[0:], 0x50495045)
		le.PutUint64(buf[8:], 4096)
		le.PutUint64(buf[64:], 255)
		le.PutUint64(buf[72:], 4096)
		le.PutUint64(buf[80:], 0x20)
		return buf, nil
	}
	if h, isHost := of.host(); isHost {
		if _, _, e := syscall.Syscall(syscall.SYS_FSTATFS, uintptr(h), uintptr(unsafe.Pointer(&buf)), 0); e != 0 {
			return buf, linux.Errno(e)
		}
		return buf, nil
	}
	return statfs(of.Path())
}

// Statfs implements statfs(2).
func Statfs(t *Task, a Args) (uintptr, error) {
	buf, err := t.statfsPath(a.Pointer(0))
	if err != nil {
		return 0, err
	}
	_, err = t.MM().CopyOut(a.Pointer(1), buf[:])
	return 0, err
}

// Fstatfs implements fstatfs(2).
func Fstatfs(t *Task, a Args) (uintptr, error) {
	buf, err := t.statfsFD(a.Int(0))
	if err != nil {
		return 0, err
	}
	_, err = t.MM().CopyOut(a.Pointer(1), buf[:])
	return 0, err
}

// getdents writes the entries of directory fd into the guest's buffer in
// linux_dirent64 (d64) or the old linux_dirent layout (with 32-bit fields
// for i386: compat).
func (t *Task) getdents(fd int32, addr mm.Addr, size uint64, d64, compat bool) (uintptr, error) {
	f, err := t.vfsFile(fd, linux.ENOTDIR)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if f.pathOnly() {
		return 0, linux.EBADF
	}
	dh, ok := f.h.(vfs.DirHandle)
	if !ok {
		return 0, linux.ENOTDIR
	}
	size = min(size, 1<<20)
	buf := make([]byte, 0, size)
	tooSmall := false
	pos := dirPos32(t, f)
	err = dh.Getdents(func(d vfs.Dirent, next int64) bool {
		rec := direntRecord(d, pos(next), d64, compat)
		if uint64(len(buf)+len(rec)) > size {
			tooSmall = len(buf) == 0
			return false
		}
		buf = append(buf, rec...)
		return true
	})
	if err != nil {
		return 0, err
	}
	if tooSmall {
		return 0, linux.EINVAL
	}
	_, err = t.MM().CopyOut(addr, buf)
	return uintptr(len(buf)), err
}

// dirPos32 returns how the positions of f's entries are given to t: as
// they are, or, for an i386 task reading a host directory whose
// positions are 64-bit hashes, as Linux gives them to a 32-bit caller.
func dirPos32(t *Task, f *openFile) func(int64) int64 {
	if c, ok := f.h.(vfs.DirPositions32); ok && t.mode32() && c.Hashed32() {
		return c.DirPos32
	}
	return func(pos int64) int64 { return pos }
}

// direntRecord lays out one directory entry.
func direntRecord(d vfs.Dirent, next int64, d64, compat bool) []byte {
	le := binary.LittleEndian
	if d64 { // ino u64, off s64, reclen u16, type u8, name
		n := (19 + len(d.Name) + 1 + 7) &^ 7
		b := make([]byte, n)
		le.PutUint64(b[0:], d.Ino)
		le.PutUint64(b[8:], uint64(next))
		le.PutUint16(b[16:], uint16(n))
		b[18] = d.Type
		copy(b[19:], d.Name)
		return b
	}
	word := 8
	if compat {
		word = 4
	}
	// ino ulong, off ulong, reclen u16, name, NUL, type (last byte)
	n := (2*word + 2 + len(d.Name) + 2 + word - 1) &^ (word - 1)
	b := make([]byte, n)
	if compat {
		le.PutUint32(b[0:], uint32(d.Ino))
		le.PutUint32(b[4:], uint32(next))
	} else {
		le.PutUint64(b[0:], d.Ino)
		le.PutUint64(b[8:], uint64(next))
	}
	le.PutUint16(b[2*word:], uint16(n))
	copy(b[2*word+2:], d.Name)
	b[n-1] = d.Type
	return b
}

// Getdents64 implements getdents64(2).
func Getdents64(t *Task, a Args) (uintptr, error) {
	return t.getdents(a.Int(0), a.Pointer(1), a.Uint64(2), true, false)
}

// Getdents implements the old getdents(2).
func Getdents(t *Task, a Args) (uintptr, error) {
	return t.getdents(a.Int(0), a.Pointer(1), a.Uint64(2), false, t.mode32())
}
