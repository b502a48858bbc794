package procfs

import (
	"strconv"
	"time"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// proc is what a per-process directory stands for, as one caller sees
// it: a thread and its process, either as /proc/PID (whole: the thread
// group) or as /proc/PID/task/TID.
type proc struct {
	fs    *FS
	c     vfs.Caller
	t     Task
	p     Process
	whole bool
}

// pidDirOf returns the directory of thread t: /proc/TID (whole) or
// /proc/PID/task/TID.
func (fs *FS) pidDirOf(c vfs.Caller, t Task, whole bool) *dirNode {
	x := &proc{fs: fs, c: c, t: t, p: t.Process(), whole: whole}
	return &dirNode{fs: fs, caller: c, kind: pidDir, ino: x.dirIno(), x: x}
}

// as returns x as c sees it.
func (x *proc) as(c vfs.Caller) *proc {
	y := *x
	y.c = c
	return &y
}

// alive reports whether the thread still exists (a zombie does; a reaped
// one, or another thread that got its id, does not).
func (x *proc) alive() bool { return x.fs.k.Task(x.t.TID()) == x.t }

// dirIno is the inode number of the directory.
func (x *proc) dirIno() uint64 {
	if x.whole {
		return inoOf("pid", int64(x.p.PID()), int64(x.t.TID()))
	}
	return inoOf("tid", int64(x.p.PID()), int64(x.t.TID()))
}

// ino is the inode number of the entry name of the directory (fd is -1
// but for fd/N and fdinfo/N).
func (x *proc) ino(name string, fd int32) uint64 {
	whole := int64(0)
	if x.whole {
		whole = 1
	}
	return inoOf(name, int64(x.p.PID()), int64(x.t.TID()), whole, int64(fd))
}

func (x *proc) fdIno(kind string, fd int32) uint64 { return x.ino(kind, fd) }

// started is the time stamp of the process's entries.
func (x *proc) started() time.Time {
	return x.fs.bootTime().Add(x.t.Info().StartTime)
}

// zombie reports whether the thread has exited (it has no address space
// any more).
func (x *proc) zombie() bool {
	s := x.t.Info().State
	return s == 'Z' || s == 'X'
}

// owner is task_dump_owner: the effective ids, but root for the entries
// (other than the world-readable directories) of a process that is not
// dumpable or has no address space.
func (x *proc) owner(mode uint32) (uid, gid uint32) {
	info := x.p.Info()
	if mode != vfs.ModeDir|0o555 && (!info.Dumpable || x.zombie()) {
		return 0, 0
	}
	return info.Creds.EUID, info.Creds.EGID
}

// may is the ptrace check of the caller against the process.
func (x *proc) may(mode AccessMode) bool {
	if x.c.PID == 0 {
		return false
	}
	return x.fs.k.MayAccess(x.c, x.p, mode)
}

// mmAccess is mm_access with PTRACE_MODE_FSCREDS: the process's address
// space if the caller may access it in mode (its own is always allowed),
// EACCES if not, nil (and no error) if the process has none.
func (x *proc) mmAccess(mode AccessMode) (*mm.MM, error) {
	as := x.p.MM()
	if as == nil {
		return nil, nil
	}
	defer as.DropUser()
	if x.c.TID != 0 {
		if me := x.fs.k.Task(x.c.TID); me != nil {
			mine := me.Process().MM()
			if mine != nil {
				mine.DropUser()
			}
			if mine == as {
				return as, nil
			}
		}
	}
	if !x.may(mode | PtraceFSCreds) {
		return nil, linux.EACCES
	}
	return as, nil
}

// liveMM returns the process's address space with a user reference if it
// is still want (the one checked at open): nil after exit or execve.
func (x *proc) liveMM(want *mm.MM) *mm.MM {
	if want == nil {
		return nil
	}
	as := x.p.MM()
	if as != want {
		if as != nil {
			as.DropUser()
		}
		return nil
	}
	return as
}

// pidEntry is an entry of a per-process directory.
type pidEntry struct {
	name string
	mode uint32
	// tgid and tid say whether /proc/PID and /proc/PID/task/TID have it.
	tgid, tid bool
	link      PathKind // for symlinks
	// show generates a regular file; as is the address space checked at
	// open for the files with mmOpen (nil otherwise, or if there was
	// none).
	show func(x *proc, as *mm.MM) ([]byte, error)
	// mmOpen: the file is opened as proc_mem_open does, with this mode.
	mmOpen AccessMode
	// write, if set, is the file's write.
	write func(x *proc, b []byte) (int, error)
	mem   bool
}

// pidEntries are the entries of /proc/PID and /proc/PID/task/TID, in
// Linux's order.
var pidEntries = []pidEntry{
	{name: "task", mode: vfs.ModeDir | 0o555, tgid: true},
	{name: "fd", mode: vfs.ModeDir | 0o500, tgid: true, tid: true},
	{name: "fdinfo", mode: vfs.ModeDir | 0o555, tgid: true, tid: true},
	{name: "environ", mode: vfs.ModeRegular | 0o400, tgid: true, tid: true, show: showEnviron, mmOpen: PtraceRead},
	{name: "auxv", mode: vfs.ModeRegular | 0o400, tgid: true, tid: true, show: showAuxv, mmOpen: PtraceRead},
	{name: "status", mode: vfs.ModeRegular | 0o444, tgid: true, tid: true, show: showStatus},
	{name: "limits", mode: vfs.ModeRegular | 0o444, tgid: true, tid: true, show: showLimits},
	{name: "comm", mode: vfs.ModeRegular | 0o644, tgid: true, tid: true, show: showComm, write: writeComm},
	{name: "cmdline", mode: vfs.ModeRegular | 0o444, tgid: true, tid: true, show: showCmdline},
	{name: "stat", mode: vfs.ModeRegular | 0o444, tgid: true, tid: true, show: showPidStat},
	{name: "statm", mode: vfs.ModeRegular | 0o444, tgid: true, tid: true, show: showStatm},
	{name: "maps", mode: vfs.ModeRegular | 0o444, tgid: true, tid: true, show: showMaps, mmOpen: PtraceRead},
	{name: "mem", mode: vfs.ModeRegular | 0o600, tgid: true, tid: true, mem: true},
	{name: "cwd", mode: vfs.ModeSymlink | 0o777, tgid: true, tid: true, link: PathCwd},
	{name: "root", mode: vfs.ModeSymlink | 0o777, tgid: true, tid: true, link: PathRoot},
	{name: "exe", mode: vfs.ModeSymlink | 0o777, tgid: true, tid: true, link: PathExe},
	{name: "mounts", mode: vfs.ModeRegular | 0o444, tgid: true, tid: true, show: showMounts},
	{name: "mountinfo", mode: vfs.ModeRegular | 0o444, tgid: true, tid: true, show: showMountinfo},
	{name: "smaps_rollup", mode: vfs.ModeRegular | 0o444, tgid: true, tid: true, show: showSmapsRollup, mmOpen: PtraceRead},
	{name: "wchan", mode: vfs.ModeRegular | 0o444, tgid: true, tid: true, show: showWchan},
	{name: "oom_score", mode: vfs.ModeRegular | 0o444, tgid: true, tid: true, show: showOOMScore},
	{name: "oom_score_adj", mode: vfs.ModeRegular | 0o644, tgid: true, tid: true, show: showOOMScoreAdj, write: writeOOMScoreAdj},
	{name: "loginuid", mode: vfs.ModeRegular | 0o644, tgid: true, tid: true, show: showLoginuid, write: writeLoginuid},
	{name: "io", mode: vfs.ModeRegular | 0o400, tgid: true, tid: true, show: showIO},
}

// has reports whether x's directory has e.
func (x *proc) has(e *pidEntry) bool { return x.whole && e.tgid || !x.whole && e.tid }

// subdirs counts the directory's subdirectories.
func (x *proc) subdirs() int {
	n := 0
	for i := range pidEntries {
		if e := &pidEntries[i]; x.has(e) && e.mode&vfs.ModeType == vfs.ModeDir {
			n++
		}
	}
	return n
}

// entries lists the directory.
func (x *proc) entries() []child {
	var out []child
	for i := range pidEntries {
		if e := &pidEntries[i]; x.has(e) {
			out = append(out, child{e.name, x.ino(e.name, -1), e.mode})
		}
	}
	return out
}

// lookup returns the entry name of the directory.
func (x *proc) lookup(name string) (vfs.Inode, error) {
	for i := range pidEntries {
		e := &pidEntries[i]
		if e.name != name || !x.has(e) {
			continue
		}
		ino := x.ino(name, -1)
		switch e.mode & vfs.ModeType {
		case vfs.ModeDir:
			kind := map[string]dirKind{"task": taskDir, "fd": fdDir, "fdinfo": fdinfoDir}[name]
			return &dirNode{fs: x.fs, caller: x.c, kind: kind, ino: ino, x: x}, nil
		case vfs.ModeSymlink:
			return &pathLink{proc: x, which: e.link, ino: ino}, nil
		}
		return x.fileOf(e, ino), nil
	}
	return nil, linux.ENOENT
}

// fileOf returns the regular file e of the directory.
func (x *proc) fileOf(e *pidEntry, ino uint64) *file {
	f := &file{fs: x.fs, caller: x.c, ino: ino, mode: e.mode, x: x}
	if e.write != nil {
		write := e.write
		f.write = func(c vfs.Caller, b []byte) (int, error) {
			y := x.as(c)
			if !y.alive() {
				return 0, linux.ESRCH
			}
			return write(y, b)
		}
	}
	switch {
	case e.mem:
		f.open = func(c vfs.Caller, flags uint32) (vfs.Handle, error) { return x.as(c).openMem(f) }
	case e.mmOpen != 0:
		show, mode := e.show, e.mmOpen
		f.open = func(c vfs.Caller, flags uint32) (vfs.Handle, error) {
			y := x.as(c)
			if !y.alive() {
				return nil, linux.ESRCH
			}
			as, err := y.mmAccess(mode)
			if err != nil {
				return nil, err
			}
			return f.newSeq(c, func(c vfs.Caller) ([]byte, error) { return show(x.as(c), as) })
		}
	default:
		show := e.show
		f.gen = func(c vfs.Caller) ([]byte, error) { return show(x.as(c), nil) }
	}
	return f
}

// fdinfoFile returns fdinfo/fd, which the caller must be allowed to
// read (PTRACE_MODE_READ_FSCREDS) when it opens it.
func (x *proc) fdinfoFile(fd int32) *file {
	f := &file{fs: x.fs, caller: x.c, ino: x.fdIno("fdinfo", fd), mode: vfs.ModeRegular | 0o444, x: x}
	f.open = func(c vfs.Caller, flags uint32) (vfs.Handle, error) {
		y := x.as(c)
		if !y.alive() {
			return nil, linux.ESRCH
		}
		if !y.may(PtraceReadFSCreds) {
			return nil, linux.EACCES
		}
		return f.newSeq(c, func(c vfs.Caller) ([]byte, error) { return showFDInfo(x.as(c), fd) })
	}
	return f
}

// ---- links ----

// pathLink is /proc/PID/exe, cwd or root.
type pathLink struct {
	vfs.NoRefs
	*proc
	which PathKind
	ino   uint64
}

// Attr implements vfs.Inode.
func (l *pathLink) Attr() (vfs.Attr, error) {
	if !l.alive() {
		return vfs.Attr{}, linux.ENOENT
	}
	mode := uint32(vfs.ModeSymlink | 0o777)
	uid, gid := l.owner(mode)
	return attrOf(l.ino, mode, 1, uid, gid, 0, l.started()), nil
}

// target is the path behind the link, if the caller may see it
// (proc_fd_access_allowed).
func (l *pathLink) target() (vfs.Path, error) {
	if !l.alive() {
		return vfs.Path{}, linux.ENOENT
	}
	if !l.may(PtraceReadFSCreds) {
		return vfs.Path{}, linux.EACCES
	}
	p, ok := l.p.Path(l.which)
	if !ok {
		return vfs.Path{}, linux.ENOENT
	}
	return p, nil
}

// Readlink implements vfs.Symlink: the path as the caller names it.
func (l *pathLink) Readlink() (string, error) {
	p, err := l.target()
	if err != nil {
		return "", err
	}
	defer p.DecRef()
	return relative(p.Name, l.fs.callerRoot(l.c)), nil
}

// Follow implements vfs.MagicLink: the file itself.
func (l *pathLink) Follow() (vfs.Path, error) { return l.target() }

// fdLink is /proc/PID/fd/N.
type fdLink struct {
	vfs.NoRefs
	*proc
	fd    int32
	flags uint32 // when looked up
}

// fdLinkPerm are the permission bits of an fd link: read and search for
// a descriptor open for reading, write and search for writing.
func fdLinkPerm(flags uint32) uint32 {
	if flags&linux.O_PATH != 0 {
		return 0
	}
	switch flags & linux.O_ACCMODE {
	case linux.O_RDONLY:
		return 0o500
	case linux.O_WRONLY:
		return 0o300
	}
	return 0o700
}

// Attr implements vfs.Inode.
func (l *fdLink) Attr() (vfs.Attr, error) {
	if !l.alive() {
		return vfs.Attr{}, linux.ENOENT
	}
	mode := vfs.ModeSymlink | fdLinkPerm(l.flags)
	uid, gid := l.owner(mode)
	return attrOf(l.fdIno("fd", l.fd), mode, 1, uid, gid, 64, l.started()), nil
}

func (l *fdLink) file() (File, error) {
	if !l.alive() {
		return File{}, linux.ENOENT
	}
	if !l.may(PtraceReadFSCreds) {
		return File{}, linux.EACCES
	}
	f, ok := l.p.File(l.fd)
	if !ok {
		return File{}, linux.ENOENT
	}
	return f, nil
}

// Readlink implements vfs.Symlink: the file's name, or "pipe:[N]" and
// the like for files without one.
func (l *fdLink) Readlink() (string, error) {
	f, err := l.file()
	if err != nil {
		return "", err
	}
	defer f.Path.DecRef()
	if f.Name != "" || f.Path.Inode == nil {
		return f.Name, nil
	}
	return relative(f.Path.Name, l.fs.callerRoot(l.c)), nil
}

// Follow implements vfs.MagicLink: the open file itself.
func (l *fdLink) Follow() (vfs.Path, error) {
	f, err := l.file()
	if err != nil {
		return vfs.Path{}, err
	}
	if f.Path.Inode == nil {
		return vfs.Path{}, linux.ENXIO
	}
	return f.Path, nil
}

// ---- writes ----

// writeComm is comm_write: a thread of the same group renames the thread
// to the first 15 bytes written (up to a NUL); others get EINVAL.
func writeComm(x *proc, b []byte) (int, error) {
	if x.c.PID == 0 || x.c.PID != x.p.PID() {
		return 0, linux.EINVAL
	}
	name := b[:min(len(b), 15)]
	for i, c := range name {
		if c == 0 {
			name = name[:i]
			break
		}
	}
	x.t.SetComm(string(name))
	return len(b), nil
}

// OOM score adjustment bounds.
const (
	oomScoreAdjMin = -1000
	oomScoreAdjMax = 1000
)

// writeOOMScoreAdj is oom_score_adj_write: at most 12 bytes are looked
// at (and counted); the value is an integer in C's notations between
// -1000 and 1000; lowering it below oom_score_adj_min needs
// CAP_SYS_RESOURCE, which also sets the minimum.
func writeOOMScoreAdj(x *proc, b []byte) (int, error) {
	n := min(len(b), 12) // PROC_NUMBUF - 1
	s := string(b[:n])
	if i := indexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	v, err := parseKernelInt(trimSpace(s))
	if err != nil {
		return 0, err
	}
	if v < oomScoreAdjMin || v > oomScoreAdjMax {
		return 0, linux.EINVAL
	}
	if x.zombie() {
		return 0, linux.ESRCH
	}
	info := x.p.Info()
	capable := x.c.Creds != nil && x.c.Creds.Admin // euid 0: CAP_SYS_RESOURCE
	if int16(v) < info.OOMScoreAdjMin && !capable {
		return 0, linux.EACCES
	}
	min := info.OOMScoreAdjMin
	if capable {
		min = int16(v)
	}
	x.p.SetOOMScoreAdj(int16(v), min)
	return n, nil
}

// writeLoginuid: setting the audit login uid is not supported.
func writeLoginuid(x *proc, b []byte) (int, error) { return 0, linux.EPERM }

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// trimSpace is strstrip: C's isspace on both ends.
func trimSpace(s string) string {
	isSpace := func(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// parseKernelInt is kstrtoint with base 0: an optional sign, then
// decimal, 0-prefixed octal or 0x-prefixed hex; EINVAL for anything
// else, ERANGE beyond an int.
func parseKernelInt(s string) (int64, error) {
	neg := false
	switch {
	case len(s) > 0 && s[0] == '-':
		neg, s = true, s[1:]
	case len(s) > 0 && s[0] == '+':
		s = s[1:]
	}
	base := 10
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	if s == "" {
		return 0, linux.EINVAL
	}
	u, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, linux.ERANGE
		}
		return 0, linux.EINVAL
	}
	v := int64(u)
	if neg {
		v = -v
	}
	if u > 1<<31 || !neg && u > 1<<31-1 {
		return 0, linux.ERANGE
	}
	return v, nil
}
