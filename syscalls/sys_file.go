package syscalls

import (
	"syscall"
	"unsafe"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// atPath resolves a guest (dirfd, path) pair to the host's: the host
// directory descriptor to use and the path string. release drops the
// reference on the directory.
func (t *Task) atPath(dirfd int32, addr mm.Addr, emptyOK bool) (host int, path string, release func(), err error) {
	path, err = t.MM().CopyInString(addr, linux.PATH_MAX-1)
	if err != nil {
		return 0, "", nil, err
	}
	if path == "" && !emptyOK {
		return 0, "", nil, linux.ENOENT
	}
	if dirfd == linux.AT_FDCWD {
		fs := t.proc.fs
		fs.mu.Lock()
		dir := fs.cwd
		dir.IncRef()
		fs.mu.Unlock()
		return dir.host, path, dir.DecRef, nil
	}
	if len(path) > 0 && path[0] == '/' {
		return -1, path, func() {}, nil
	}
	h, release, err := t.hostFile(dirfd, linux.ENOTDIR)
	if err != nil {
		return 0, "", nil, err
	}
	return h, path, release, nil
}

// hostAt runs a host *at system call whose first two arguments are a
// directory descriptor and a path, restarting on EINTR.
func hostAt(nr uintptr, dir int, path string, a2, a3, a4 uintptr) (uintptr, error) {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return 0, linux.EINVAL
	}
	for {
		r, _, e := syscall.Syscall6(nr, uintptr(dir), uintptr(unsafe.Pointer(p)), a2, a3, a4, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, linux.Errno(e)
		}
		return r, nil
	}
}

func (t *Task) openAt(dirfd int32, addr mm.Addr, flags, mode uint32) (uintptr, error) {
	dir, path, release, err := t.atPath(dirfd, addr, false)
	if err != nil {
		return 0, err
	}
	defer release()
	if t.isOwnExe(path) {
		path = t.proc.exe
	}
	host, err := hostAt(syscall.SYS_OPENAT, dir, path, uintptr(flags|linux.O_CLOEXEC), uintptr(mode), 0)
	if err != nil {
		return 0, err
	}
	fd, err := t.proc.fds.Install(newHostFile(int(host), path), 0, flags&linux.O_CLOEXEC != 0)
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

// Close implements close(2).
func Close(t *Task, a Args) (uintptr, error) {
	return 0, t.proc.fds.Close(a.Int(0))
}

// statSize is sizeof(struct stat) on x86-64.
const statSize = 144

// fstatAt stats (dirfd, path) on the host into the guest's buf.
func (t *Task) fstatAt(dirfd int32, addr mm.Addr, buf mm.Addr, flags uint32) (uintptr, error) {
	dir, path, release, err := t.atPath(dirfd, addr, flags&linux.AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	defer release()
	var st [statSize]byte
	if _, err := hostAt(syscall.SYS_NEWFSTATAT, dir, path, uintptr(unsafe.Pointer(&st)), uintptr(flags), 0); err != nil {
		return 0, err
	}
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

// Fstat implements fstat(2).
func Fstat(t *Task, a Args) (uintptr, error) {
	f, err := t.proc.fds.Get(a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	_, err = t.MM().CopyOut(a.Pointer(1), st[:])
	return 0, err
}

// statxSize is sizeof(struct statx).
const statxSize = 256

// Statx implements statx(2).
func Statx(t *Task, a Args) (uintptr, error) {
	flags := a.Uint(2)
	dir, path, release, err := t.atPath(a.Int(0), a.Pointer(1), flags&linux.AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	defer release()
	var st [statxSize]byte
	if _, err := hostAt(sysStatx, dir, path, uintptr(flags), uintptr(a.Uint(3)), uintptr(unsafe.Pointer(&st))); err != nil {
		return 0, err
	}
	_, err = t.MM().CopyOut(a.Pointer(4), st[:])
	return 0, err
}

// Host syscall numbers the syscall package lacks.
const (
	sysStatx      = 332
	sysRenameat2  = 316
	sysFaccessat2 = 439
)

// Faccessat implements faccessat(2) and faccessat2(2).
func Faccessat(t *Task, a Args) (uintptr, error) {
	dir, path, release, err := t.atPath(a.Int(0), a.Pointer(1), false)
	if err != nil {
		return 0, err
	}
	defer release()
	return hostAt(sysFaccessat2, dir, path, uintptr(a.Uint(2)), uintptr(a.Uint(3)), 0)
}

// Access implements access(2).
func Access(t *Task, a Args) (uintptr, error) {
	return Faccessat(t, Args{uint64(uint32(linux.AT_FDCWD & 0xffffffff)), a[0], a[1]})
}

// Getcwd implements getcwd(2).
func Getcwd(t *Task, a Args) (uintptr, error) {
	fs := t.proc.fs
	fs.mu.Lock()
	path := fs.path
	fs.mu.Unlock()
	b := append([]byte(path), 0)
	if uint64(len(b)) > a.Uint64(1) {
		return 0, linux.ERANGE
	}
	if _, err := t.MM().CopyOut(a.Pointer(0), b); err != nil {
		return 0, err
	}
	return uintptr(len(b)), nil
}

// Chdir implements chdir(2).
func Chdir(t *Task, a Args) (uintptr, error) {
	dir, path, release, err := t.atPath(linux.AT_FDCWD, a.Pointer(0), false)
	if err != nil {
		return 0, err
	}
	defer release()
	host, err := hostAt(syscall.SYS_OPENAT, dir, path, linux.O_PATH|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0, 0)
	if err != nil {
		return 0, err
	}
	fs := t.proc.fs
	fs.mu.Lock()
	old := fs.cwd
	fs.cwd = newHostFile(int(host), path)
	fs.path = absPath(fs, path)
	fs.mu.Unlock()
	old.DecRef()
	return 0, nil
}

// Readlinkat implements readlinkat(2); /proc/self/exe names the guest's
// program.
func Readlinkat(t *Task, a Args) (uintptr, error) {
	dir, path, release, err := t.atPath(a.Int(0), a.Pointer(1), false)
	if err != nil {
		return 0, err
	}
	defer release()
	size := a.Int(3)
	if size <= 0 {
		return 0, linux.EINVAL
	}
	var target []byte
	if t.isOwnExe(path) {
		target = []byte(t.proc.exe)
	} else {
		buf := make([]byte, linux.PATH_MAX)
		n, err := hostAt(syscall.SYS_READLINKAT, dir, path, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0)
		if err != nil {
			return 0, err
		}
		target = buf[:n]
	}
	target = target[:min(len(target), int(size))]
	_, err = t.MM().CopyOut(a.Pointer(2), target)
	return uintptr(len(target)), err
}

// Readlink implements readlink(2).
func Readlink(t *Task, a Args) (uintptr, error) {
	return Readlinkat(t, Args{uint64(uint32(linux.AT_FDCWD & 0xffffffff)), a[0], a[1], a[2]})
}

// pathCall makes a handler for a host *at call taking (dirfd, path, arg).
func pathCall(nr uintptr, dirArg bool) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		dirfd, pa, rest := int32(linux.AT_FDCWD), a.Pointer(0), a[1:]
		if dirArg {
			dirfd, pa, rest = a.Int(0), a.Pointer(1), a[2:]
		}
		dir, path, release, err := t.atPath(dirfd, pa, false)
		if err != nil {
			return 0, err
		}
		defer release()
		return hostAt(nr, dir, path, uintptr(rest[0]), 0, 0)
	}
}

// Unlinkat, Mkdirat and friends are passed to the host.
var (
	Unlinkat = pathCall(syscall.SYS_UNLINKAT, true)
	Mkdirat  = pathCall(syscall.SYS_MKDIRAT, true)
	Fchmodat = pathCall(syscall.SYS_FCHMODAT, true)
	Mkdir    = pathCall(syscall.SYS_MKDIRAT, false)
	Chmod    = pathCall(syscall.SYS_FCHMODAT, false)
)

// Unlink implements unlink(2).
func Unlink(t *Task, a Args) (uintptr, error) {
	return Unlinkat(t, Args{uint64(uint32(linux.AT_FDCWD & 0xffffffff)), a[0], 0})
}

// Rmdir implements rmdir(2).
func Rmdir(t *Task, a Args) (uintptr, error) {
	return Unlinkat(t, Args{uint64(uint32(linux.AT_FDCWD & 0xffffffff)), a[0], linux.AT_REMOVEDIR})
}

// Renameat2 implements renameat2(2).
func Renameat2(t *Task, a Args) (uintptr, error) {
	odir, opath, orel, err := t.atPath(a.Int(0), a.Pointer(1), false)
	if err != nil {
		return 0, err
	}
	defer orel()
	ndir, npath, nrel, err := t.atPath(a.Int(2), a.Pointer(3), false)
	if err != nil {
		return 0, err
	}
	defer nrel()
	np, _ := syscall.BytePtrFromString(npath)
	return hostAt(sysRenameat2, odir, opath, uintptr(ndir), uintptr(unsafe.Pointer(np)), uintptr(a.Uint(4)))
}

// Rename implements rename(2).
func Rename(t *Task, a Args) (uintptr, error) {
	cwd := uint64(uint32(linux.AT_FDCWD & 0xffffffff))
	return Renameat2(t, Args{cwd, a[0], cwd, a[1], 0})
}

// fdCall makes a handler for a host call on a descriptor plus plain
// arguments.
func fdCall(nr uintptr) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		h, release, err := t.hostFile(a.Int(0), linux.EINVAL)
		if err != nil {
			return 0, err
		}
		defer release()
		r, _, e := syscall.Syscall(nr, uintptr(h), uintptr(a[1]), uintptr(a[2]))
		if e != 0 {
			return 0, linux.Errno(e)
		}
		return r, nil
	}
}

// Descriptor calls passed to the host.
var (
	Ftruncate = fdCall(syscall.SYS_FTRUNCATE)
	Fsync     = fdCall(syscall.SYS_FSYNC)
	Fdatasync = fdCall(syscall.SYS_FDATASYNC)
	Fchmod    = fdCall(syscall.SYS_FCHMOD)
)

// Getdents64 implements getdents64(2).
func Getdents64(t *Task, a Args) (uintptr, error) {
	h, release, err := t.hostFile(a.Int(0), linux.ENOTDIR)
	if err != nil {
		return 0, err
	}
	defer release()
	buf := make([]byte, min(a.Uint64(2), 1<<20))
	r, _, e := syscall.Syscall(syscall.SYS_GETDENTS64, uintptr(h), uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(len(buf)))
	if e != 0 {
		return 0, linux.Errno(e)
	}
	_, err = t.MM().CopyOut(a.Pointer(1), buf[:r])
	return r, err
}

// Umask implements umask(2).
func Umask(t *Task, a Args) (uintptr, error) {
	fs := t.proc.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	old := fs.umask
	fs.umask = a.Uint(0) & 0o777
	return uintptr(old), nil
}

// Dup implements dup(2).
func Dup(t *Task, a Args) (uintptr, error) {
	f, err := t.proc.fds.Get(a.Int(0))
	if err != nil {
		return 0, err
	}
	fd, err := t.proc.fds.Install(f, 0, false)
	return uintptr(fd), err
}

// Dup3 implements dup3(2).
func Dup3(t *Task, a Args) (uintptr, error) {
	if a.Int(0) == a.Int(1) {
		return 0, linux.EINVAL
	}
	if a.Uint(2)&^linux.O_CLOEXEC != 0 {
		return 0, linux.EINVAL
	}
	return dupTo(t, a.Int(0), a.Int(1), a.Uint(2)&linux.O_CLOEXEC != 0)
}

// Dup2 implements dup2(2).
func Dup2(t *Task, a Args) (uintptr, error) {
	if a.Int(0) == a.Int(1) {
		f, err := t.proc.fds.Get(a.Int(0))
		if err != nil {
			return 0, err
		}
		f.DecRef()
		return uintptr(a.Int(1)), nil
	}
	return dupTo(t, a.Int(0), a.Int(1), false)
}

func dupTo(t *Task, old, new int32, cloexec bool) (uintptr, error) {
	f, err := t.proc.fds.Get(old)
	if err != nil {
		return 0, err
	}
	if err := t.proc.fds.Set(new, f, cloexec); err != nil {
		return 0, err
	}
	return uintptr(new), nil
}

// Fcntl implements fcntl(2) for descriptor flags, status flags and dup.
func Fcntl(t *Task, a Args) (uintptr, error) {
	fd := a.Int(0)
	switch a.Int(1) {
	case linux.F_DUPFD, linux.F_DUPFD_CLOEXEC:
		f, err := t.proc.fds.Get(fd)
		if err != nil {
			return 0, err
		}
		if a.Int(2) < 0 || a.Int(2) >= maxFDs {
			f.DecRef()
			return 0, linux.EINVAL
		}
		nfd, err := t.proc.fds.Install(f, a.Int(2), a.Int(1) == linux.F_DUPFD_CLOEXEC)
		return uintptr(nfd), err
	case linux.F_GETFD:
		ce, err := t.proc.fds.CloseOnExec(fd, nil)
		if ce {
			return linux.FD_CLOEXEC, err
		}
		return 0, err
	case linux.F_SETFD:
		set := a.Uint(2)&linux.FD_CLOEXEC != 0
		_, err := t.proc.fds.CloseOnExec(fd, &set)
		return 0, err
	case fGetPipeSz, fSetPipeSz:
		f, err := t.proc.fds.Get(fd)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		if _, ok := f.(*pipeEnd); !ok {
			return 0, linux.EBADF
		}
		return pipeCapacity, nil // the size is fixed
	case linux.F_GETFL, linux.F_SETFL:
		f, err := t.proc.fds.Get(fd)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		if a.Int(1) == linux.F_SETFL {
			return 0, f.SetStatus(a.Uint(2))
		}
		fl, err := f.Status()
		return uintptr(fl), err
	}
	f, err := t.proc.fds.Get(fd)
	if err != nil {
		return 0, err
	}
	f.DecRef()
	return 0, linux.EINVAL
}

// fcntl commands for pipe sizes.
const (
	fSetPipeSz = 1031
	fGetPipeSz = 1032
)

// Ioctl implements the terminal queries static programs make; others are
// ENOTTY.
func Ioctl(t *Task, a Args) (uintptr, error) {
	h, release, err := t.hostFile(a.Int(0), linux.ENOTTY)
	if err != nil {
		return 0, err
	}
	defer release()
	var size int
	switch a.Uint(1) {
	case linux.TCGETS:
		size = 60
	case linux.TIOCGWINSZ:
		size = 8
	default:
		return 0, linux.ENOTTY
	}
	var buf [64]byte
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(h), uintptr(a.Uint(1)), uintptr(unsafe.Pointer(&buf))); e != 0 {
		return 0, linux.Errno(e)
	}
	_, err = t.MM().CopyOut(a.Pointer(2), buf[:size])
	return 0, err
}

// utimensat handles utimensat(2); time32 selects i386's old_timespec32.
func utimensat(time32 bool) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		var times [4]int64
		tp := uintptr(0)
		if a.Pointer(2) != 0 {
			size := mm.Addr(16)
			if time32 {
				size = 8
			}
			for i := 0; i < 2; i++ {
				var b [16]byte
				if _, err := t.MM().CopyIn(a.Pointer(2)+mm.Addr(i)*size, b[:size]); err != nil {
					return 0, err
				}
				if time32 {
					times[2*i], times[2*i+1] = int64(int32(leUint32(b[:]))), int64(int32(leUint32(b[4:])))
				} else {
					times[2*i], times[2*i+1] = int64(leUint64(b[:])), int64(leUint64(b[8:]))
				}
			}
			tp = uintptr(unsafe.Pointer(&times))
		}
		if a.Pointer(1) == 0 { // futimens: the descriptor itself
			h, release, err := t.hostFile(a.Int(0), linux.EINVAL)
			if err != nil {
				return 0, err
			}
			defer release()
			_, _, e := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(h), 0, tp, uintptr(a.Uint(3)), 0, 0)
			if e != 0 {
				return 0, linux.Errno(e)
			}
			return 0, nil
		}
		dir, path, release, err := t.atPath(a.Int(0), a.Pointer(1), a.Uint(3)&linux.AT_EMPTY_PATH != 0)
		if err != nil {
			return 0, err
		}
		defer release()
		return hostAt(syscall.SYS_UTIMENSAT, dir, path, tp, uintptr(a.Uint(3)), 0)
	}
}

// Utimensat implements utimensat(2).
var Utimensat = utimensat(false)

// statfsSize is sizeof(struct statfs) on x86-64.
const statfsSize = 120

// Statfs implements statfs(2) with the host's answer.
func Statfs(t *Task, a Args) (uintptr, error) {
	dir, path, release, err := t.atPath(linux.AT_FDCWD, a.Pointer(0), false)
	if err != nil {
		return 0, err
	}
	defer release()
	if dir >= 0 && path[0] != '/' {
		path = "/proc/self/fd/" + itoa(int64(dir)) + "/" + path
	}
	var buf [statfsSize]byte
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return 0, linux.EINVAL
	}
	if _, _, e := syscall.Syscall(syscall.SYS_STATFS, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&buf)), 0); e != 0 {
		return 0, linux.Errno(e)
	}
	_, err = t.MM().CopyOut(a.Pointer(1), buf[:])
	return 0, err
}

// Fstatfs implements fstatfs(2).
func Fstatfs(t *Task, a Args) (uintptr, error) {
	// Pipes have no file system to describe.
	h, release, err := t.hostFile(a.Int(0), linux.ENOSYS)
	if err != nil {
		return 0, err
	}
	defer release()
	var buf [statfsSize]byte
	if _, _, e := syscall.Syscall(syscall.SYS_FSTATFS, uintptr(h), uintptr(unsafe.Pointer(&buf)), 0); e != 0 {
		return 0, linux.Errno(e)
	}
	_, err = t.MM().CopyOut(a.Pointer(1), buf[:])
	return 0, err
}

// Sendfile implements sendfile(2) between host files; with a pipe on
// either side it is EINVAL, and callers fall back to read and write.
func Sendfile(t *Task, a Args) (uintptr, error) {
	out, err := t.proc.fds.Get(a.Int(0))
	if err != nil {
		return 0, err
	}
	defer out.DecRef()
	in, err := t.proc.fds.Get(a.Int(1))
	if err != nil {
		return 0, err
	}
	defer in.DecRef()
	ho, ok1 := hostFD(out)
	hi, ok2 := hostFD(in)
	if !ok1 || !ok2 {
		return 0, linux.EINVAL
	}
	var off int64
	offp := uintptr(0)
	if a.Pointer(2) != 0 {
		var b [8]byte
		if _, err := t.MM().CopyIn(a.Pointer(2), b[:]); err != nil {
			return 0, err
		}
		off = int64(leUint64(b[:]))
		offp = uintptr(unsafe.Pointer(&off))
	}
	n, _, e := syscall.Syscall6(syscall.SYS_SENDFILE, uintptr(ho), uintptr(hi), offp, uintptr(min(a.Uint64(3), linux.MAX_RW_COUNT)), 0, 0)
	if e != 0 {
		return 0, linux.Errno(e)
	}
	if offp != 0 {
		var b [8]byte
		putU64(b[:], uint64(off))
		if _, err := t.MM().CopyOut(a.Pointer(2), b[:]); err != nil {
			return 0, err
		}
	}
	return n, nil
}
