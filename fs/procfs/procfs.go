// Package procfs is cmaemu's /proc: files generated from the kernel's
// state (never the host's) in Linux 6.x's formats.
//
// The kernel hands its state down as the Kernel interface (this package
// does not import the kernel) and mounts the root:
//
//	proc := procfs.New(k)
//	ns.Mount("/proc", proc.Root(), "proc", "proc", "", vfs.MountNoSUID|vfs.MountNoDev|vfs.MountNoExec, false)
//
// What a name means can depend on who looks: "self" and "thread-self",
// and the ptrace checks of mem, environ, maps, the fd links and the
// others. Every directory implements vfs.CallerDir, and every inode a
// lookup returns remembers the caller it was looked up for: opening,
// reading a link or following it are then done as that caller. An inode
// reached through a plain Lookup (no caller) is nobody's: "self" does not
// exist for it and every ptrace check fails.
//
// Regular files are generated when they are opened, and again whenever a
// read starts at offset 0 after the first, as Linux's seq_file does (top
// rereads /proc/stat with pread at 0); reads in between continue the same
// snapshot. The per-process files that Linux checks at open (mem,
// environ, auxv, maps, smaps_rollup, fdinfo/N) are checked at open with
// the caller; /proc/PID/mem reads and writes the address space through
// mm.MM.AccessForce.
package procfs

import (
	"hash/fnv"
	"sort"
	"strconv"
	"time"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

// Dev is st_dev of every file: the anonymous device 0:20 in
// new_encode_dev form, as a Linux host's first proc mount has.
const Dev = 20

// FS is a proc filesystem over one kernel.
type FS struct {
	k    Kernel
	root *dirNode
}

// New returns the proc filesystem of k.
func New(k Kernel) *FS {
	fs := &FS{k: k}
	fs.root = &dirNode{fs: fs, kind: rootDir, ino: 1}
	return fs
}

// Root returns the filesystem's root directory, to be mounted at /proc.
// It belongs to nobody: callers come from vfs.CallerDir lookups.
func (fs *FS) Root() vfs.Dir { return fs.root }

// RootFor returns the root directory as c sees it: inodes reached from
// it with plain Lookups are c's. Tests and callers without a vfs.Resolver
// use it.
func (fs *FS) RootFor(c vfs.Caller) vfs.Dir {
	return &dirNode{fs: fs, caller: c, kind: rootDir, ino: 1}
}

// Inode numbers. The root is 1; the fixed entries of the root and of
// /proc/sys have numbers from fixedIno up, as Linux numbers its
// registered entries; per-process entries have numbers derived from
// what they stand for (pid, thread, descriptor, name), stable for as long
// as the process lives, below fixedIno.
const (
	fixedIno = 0xF000_0000
	firstIno = 0x1000
)

// inoOf returns the inode number of a per-process entry.
func inoOf(kind string, ids ...int64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(kind))
	var b [8]byte
	for _, id := range ids {
		for i := range b {
			b[i] = byte(id >> (8 * i))
		}
		h.Write(b[:])
	}
	return firstIno + h.Sum64()%(fixedIno-firstIno)
}

// attrOf fills in what every procfs inode has in common.
func attrOf(ino uint64, mode uint32, nlink uint64, uid, gid uint32, size int64, t time.Time) vfs.Attr {
	ts := vfs.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
	return vfs.Attr{Dev: Dev, Ino: ino, Mode: mode, Nlink: nlink, UID: uid, GID: gid, Size: size,
		Blksize: 1024, Atime: ts, Mtime: ts, Ctime: ts}
}

// bootTime is the time stamp of the global entries.
func (fs *FS) bootTime() time.Time { return fs.k.System().BootTime }

// dtype is the getdents type of a mode.
func dtype(mode uint32) uint8 { return uint8(mode >> 12) }

// callerRoot returns the name of c's root directory, which link texts are
// relative to.
func (fs *FS) callerRoot(c vfs.Caller) string {
	if c.TID == 0 {
		return "/"
	}
	t := fs.k.Task(c.TID)
	if t == nil {
		return "/"
	}
	p, ok := t.Process().Path(PathRoot)
	if !ok {
		return "/"
	}
	defer p.DecRef()
	return p.Name
}

// relative shows the canonical name as seen from the root directory root,
// as d_path does: names under it lose the prefix, others stay absolute.
func relative(name, root string) string {
	switch {
	case root == "/" || root == "":
		return name
	case name == root:
		return "/"
	case len(name) > len(root) && name[:len(root)] == root && name[len(root)] == '/':
		return name[len(root):]
	}
	return name
}

// parseID parses a pid, tid or fd as proc's name_to_int does: decimal,
// no sign, no leading zero.
func parseID(name string) (int32, bool) {
	if name == "" || len(name) > 1 && name[0] == '0' {
		return 0, false
	}
	for _, c := range name {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(v), true
}

// ---- directories ----

type dirKind int

const (
	rootDir   dirKind = iota
	sysDir            // /proc/sys and below: path names which
	pidDir            // /proc/PID and /proc/PID/task/TID
	taskDir           // /proc/PID/task
	fdDir             // /proc/PID/fd
	fdinfoDir         // /proc/PID/fdinfo
)

// dirNode is a directory of procfs.
type dirNode struct {
	vfs.NoRefs
	fs     *FS
	caller vfs.Caller // who looked it up
	kind   dirKind
	ino    uint64
	path   string // sysDir: "sys", "sys/kernel", ...
	x      *proc  // per-process directories
}

// child is an entry of a directory listing.
type child struct {
	name string
	ino  uint64
	mode uint32
}

// Attr implements vfs.Inode.
func (d *dirNode) Attr() (vfs.Attr, error) {
	switch d.kind {
	case rootDir:
		pids := d.fs.k.PIDs()
		return attrOf(1, vfs.ModeDir|0o555, uint64(2+len(pids)+1), 0, 0, 0, d.fs.bootTime()), nil
	case sysDir:
		n := 0
		for _, e := range sysEntries[d.path] {
			if e.mode&vfs.ModeType == vfs.ModeDir {
				n++
			}
		}
		return attrOf(d.ino, vfs.ModeDir|0o555, uint64(2+n), 0, 0, 0, d.fs.bootTime()), nil
	}
	x := d.x
	if !x.alive() {
		return vfs.Attr{}, linux.ENOENT
	}
	mode := uint32(vfs.ModeDir | 0o555)
	nlink, size := uint64(2), int64(0)
	switch d.kind {
	case pidDir:
		nlink = 2 + uint64(x.subdirs())
	case taskDir:
		nlink = 2 + uint64(len(x.p.Tasks()))
	case fdDir:
		mode = vfs.ModeDir | 0o500
		size = int64(len(x.p.FDs()))
	}
	uid, gid := x.owner(mode)
	return attrOf(d.ino, mode, nlink, uid, gid, size, x.started()), nil
}

// Lookup implements vfs.Dir, as the directory's own caller.
func (d *dirNode) Lookup(name string) (vfs.Inode, error) { return d.LookupFor(d.caller, name) }

// LookupFor implements vfs.CallerDir: the child is c's.
func (d *dirNode) LookupFor(c vfs.Caller, name string) (vfs.Inode, error) {
	switch d.kind {
	case rootDir:
		return d.fs.lookupRoot(c, name)
	case sysDir:
		return d.fs.lookupSys(c, d.path, name)
	}
	if !d.x.alive() {
		return nil, linux.ENOENT
	}
	x := d.x.as(c)
	switch d.kind {
	case pidDir:
		return x.lookup(name)
	case taskDir:
		tid, ok := parseID(name)
		if !ok {
			return nil, linux.ENOENT
		}
		t := d.fs.k.Task(tid)
		if t == nil || t.Process().PID() != x.p.PID() {
			return nil, linux.ENOENT
		}
		return x.fs.pidDirOf(c, t, false), nil
	case fdDir, fdinfoDir:
		fd, ok := parseID(name)
		if !ok {
			return nil, linux.ENOENT
		}
		f, ok := x.p.File(fd)
		if !ok {
			return nil, linux.ENOENT
		}
		f.Path.DecRef()
		if d.kind == fdDir {
			return &fdLink{proc: x, fd: fd, flags: f.Flags}, nil
		}
		return x.fdinfoFile(fd), nil
	}
	return nil, linux.ENOENT
}

// Readdir implements vfs.Dir.
func (d *dirNode) Readdir() ([]vfs.Dirent, error) {
	cs, err := d.children()
	if err != nil {
		return nil, err
	}
	parent := d.parentIno()
	out := make([]vfs.Dirent, 0, len(cs)+2)
	out = append(out, vfs.Dirent{Name: ".", Ino: d.ino, Type: dtype(vfs.ModeDir)},
		vfs.Dirent{Name: "..", Ino: parent, Type: dtype(vfs.ModeDir)})
	for _, c := range cs {
		out = append(out, vfs.Dirent{Name: c.name, Ino: c.ino, Type: dtype(c.mode)})
	}
	return out, nil
}

// parentIno is the inode number of "..".
func (d *dirNode) parentIno() uint64 {
	switch d.kind {
	case rootDir:
		return 1
	case sysDir:
		if i := lastSlash(d.path); i >= 0 {
			return sysIno(d.path[:i])
		}
		return 1
	case pidDir:
		if d.x.whole {
			return 1
		}
		// /proc/PID/task, as /proc/PID (the leader's directory) numbers it.
		pid := int64(d.x.p.PID())
		return inoOf("task", pid, pid, 1, -1)
	}
	return d.x.dirIno()
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

// children lists the entries but "." and "..".
func (d *dirNode) children() ([]child, error) {
	switch d.kind {
	case rootDir:
		var out []child
		for _, e := range rootEntries {
			out = append(out, child{e.name, e.ino, e.mode})
		}
		for _, pid := range d.fs.k.PIDs() {
			out = append(out, child{strconv.Itoa(int(pid)), inoOf("pid", int64(pid), int64(pid)), vfs.ModeDir | 0o555})
		}
		return out, nil
	case sysDir:
		var out []child
		for _, e := range sysEntries[d.path] {
			out = append(out, child{e.name, sysIno(d.path + "/" + e.name), e.mode})
		}
		return out, nil
	}
	x := d.x
	if !x.alive() {
		return nil, linux.ENOENT
	}
	switch d.kind {
	case pidDir:
		return x.entries(), nil
	case taskDir:
		var out []child
		for _, t := range x.p.Tasks() {
			tid := int64(t.TID())
			out = append(out, child{strconv.Itoa(int(tid)), inoOf("tid", int64(x.p.PID()), tid), vfs.ModeDir | 0o555})
		}
		return out, nil
	case fdDir, fdinfoDir:
		var out []child
		for _, fd := range x.p.FDs() {
			if d.kind == fdDir {
				f, ok := x.p.File(fd)
				if !ok {
					continue
				}
				f.Path.DecRef()
				out = append(out, child{strconv.Itoa(int(fd)), x.fdIno("fd", fd), vfs.ModeSymlink | fdLinkPerm(f.Flags)})
			} else {
				out = append(out, child{strconv.Itoa(int(fd)), x.fdIno("fdinfo", fd), vfs.ModeRegular | 0o444})
			}
		}
		return out, nil
	}
	return nil, nil
}

// Open implements vfs.Opener: a directory handle over a listing made at
// open and again whenever reading starts over.
func (d *dirNode) Open(flags uint32) (vfs.Handle, error) {
	if _, err := d.Attr(); err != nil {
		return nil, err
	}
	return &dirHandle{d: d}, nil
}

// ---- the root ----

// rootEntry is a fixed entry of /proc.
type rootEntry struct {
	name string
	mode uint32
	show func(fs *FS, c vfs.Caller) ([]byte, error)
	ino  uint64
}

// rootEntries are the fixed entries of /proc. Their inode numbers follow
// fixedIno in the order they are written here (self first, as Linux
// registers it); they are listed in Linux's order (by length, then name).
var rootEntries = []rootEntry{
	{name: "self", mode: vfs.ModeSymlink | 0o777},
	{name: "thread-self", mode: vfs.ModeSymlink | 0o777},
	{name: "mounts", mode: vfs.ModeSymlink | 0o777},
	{name: "sys", mode: vfs.ModeDir | 0o555},
	{name: "stat", mode: vfs.ModeRegular | 0o444, show: showStat},
	{name: "uptime", mode: vfs.ModeRegular | 0o444, show: showUptime},
	{name: "cpuinfo", mode: vfs.ModeRegular | 0o444, show: showCPUInfo},
	{name: "loadavg", mode: vfs.ModeRegular | 0o444, show: showLoadavg},
	{name: "meminfo", mode: vfs.ModeRegular | 0o444, show: showMeminfo},
	{name: "version", mode: vfs.ModeRegular | 0o444, show: showVersion},
	{name: "filesystems", mode: vfs.ModeRegular | 0o444, show: showFilesystems},
	{name: "sysvipc", mode: vfs.ModeDir | 0o555},
}

func init() {
	for i := range rootEntries {
		rootEntries[i].ino = fixedIno + uint64(i)
	}
	sort.SliceStable(rootEntries, func(i, j int) bool {
		a, b := rootEntries[i].name, rootEntries[j].name
		if len(a) != len(b) {
			return len(a) < len(b)
		}
		return a < b
	})
}

func (fs *FS) lookupRoot(c vfs.Caller, name string) (vfs.Inode, error) {
	for _, e := range rootEntries {
		if e.name != name {
			continue
		}
		ino := e.ino
		switch name {
		case "self", "thread-self":
			if c.PID == 0 || fs.k.Task(c.TID) == nil {
				return nil, linux.ENOENT
			}
			return &symlink{fs: fs, caller: c, ino: ino, name: name}, nil
		case "mounts":
			return &symlink{fs: fs, caller: c, ino: ino, name: name}, nil
		case "sys", "sysvipc":
			return &dirNode{fs: fs, caller: c, kind: sysDir, ino: sysIno(name), path: name}, nil
		}
		show := e.show
		return &file{fs: fs, caller: c, ino: ino, mode: e.mode,
			gen: func(c vfs.Caller) ([]byte, error) { return show(fs, c) }}, nil
	}
	id, ok := parseID(name)
	if !ok {
		return nil, linux.ENOENT
	}
	t := fs.k.Task(id)
	if t == nil {
		return nil, linux.ENOENT
	}
	return fs.pidDirOf(c, t, true), nil
}

// symlink is one of the plain symbolic links of the root: "self",
// "thread-self" (whose targets depend on the caller) and "mounts".
type symlink struct {
	vfs.NoRefs
	fs     *FS
	caller vfs.Caller
	ino    uint64
	name   string
}

// Attr implements vfs.Inode.
func (l *symlink) Attr() (vfs.Attr, error) {
	size := int64(0)
	if l.name == "mounts" {
		size = int64(len("self/mounts"))
	}
	return attrOf(l.ino, vfs.ModeSymlink|0o777, 1, 0, 0, size, l.fs.bootTime()), nil
}

// Readlink implements vfs.Symlink: "PID", "PID/task/TID" of the caller,
// or "self/mounts".
func (l *symlink) Readlink() (string, error) {
	c := l.caller
	switch l.name {
	case "mounts":
		return "self/mounts", nil
	case "self":
		if c.PID == 0 {
			return "", linux.ENOENT
		}
		return strconv.Itoa(int(c.PID)), nil
	}
	if c.PID == 0 || c.TID == 0 {
		return "", linux.ENOENT
	}
	return strconv.Itoa(int(c.PID)) + "/task/" + strconv.Itoa(int(c.TID)), nil
}

// ---- /proc/sys ----

// sysEntry is an entry of a /proc/sys directory.
type sysEntry struct {
	name string
	mode uint32
	show func(s System) string
	// ipc, if set, is the file's whole text (/proc/sysvipc), from the
	// kernel's SysVIPC.
	ipc func(k SysVIPC) string
}

// sysEntries are the entries of each directory under /proc/sys.
var sysEntries = map[string][]sysEntry{
	"sys":             {{name: "kernel", mode: vfs.ModeDir | 0o555}, {"vm", vfs.ModeDir | 0o555, nil, nil}},
	"sys/kernel/yama": {{"ptrace_scope", vfs.ModeRegular | 0o644, func(s System) string { return strconv.Itoa(s.PtraceScope) }, nil}},
	"sys/vm":          {{"overcommit_memory", vfs.ModeRegular | 0o644, func(s System) string { return strconv.Itoa(s.OvercommitMemory) }, nil}},
	"sysvipc": {
		{name: "msg", mode: vfs.ModeRegular | 0o444, ipc: SysVIPC.ProcMsg},
		{name: "sem", mode: vfs.ModeRegular | 0o444, ipc: SysVIPC.ProcSem},
		{name: "shm", mode: vfs.ModeRegular | 0o444, ipc: SysVIPC.ProcShm},
	},
	"sys/kernel": {
		{"hostname", vfs.ModeRegular | 0o644, func(s System) string { return s.Hostname }, nil},
		{"osrelease", vfs.ModeRegular | 0o444, func(s System) string { return s.OSRelease }, nil},
		{"ostype", vfs.ModeRegular | 0o444, func(System) string { return "Linux" }, nil},
		{"pid_max", vfs.ModeRegular | 0o644, func(s System) string { return strconv.Itoa(int(s.PIDMax)) }, nil},
		{name: "yama", mode: vfs.ModeDir | 0o555},
	},
}

// sysPaths fixes the inode numbers of /proc/sys.
var sysPaths = func() map[string]uint64 {
	var names []string
	for dir, es := range sysEntries {
		for _, e := range es {
			names = append(names, dir+"/"+e.name)
		}
	}
	names = append(names, "sys", "sysvipc")
	sort.Strings(names)
	out := map[string]uint64{}
	for i, n := range names {
		out[n] = fixedIno + 0x100 + uint64(i)
	}
	return out
}()

func sysIno(path string) uint64 { return sysPaths[path] }

func (fs *FS) lookupSys(c vfs.Caller, dir, name string) (vfs.Inode, error) {
	for _, e := range sysEntries[dir] {
		if e.name != name {
			continue
		}
		path := dir + "/" + name
		if e.mode&vfs.ModeType == vfs.ModeDir {
			return &dirNode{fs: fs, caller: c, kind: sysDir, ino: sysIno(path), path: path}, nil
		}
		show, ipc := e.show, e.ipc
		gen := func(vfs.Caller) ([]byte, error) { return []byte(show(fs.k.System()) + "\n"), nil }
		if ipc != nil {
			gen = func(vfs.Caller) ([]byte, error) {
				k, ok := fs.k.(SysVIPC)
				if !ok {
					return nil, nil
				}
				return []byte(ipc(k)), nil
			}
		}
		return &file{fs: fs, caller: c, ino: sysIno(path), mode: e.mode, gen: gen,
			// Writing a sysctl is root's (the mode says so) but not
			// supported: the value stays.
			write: func(vfs.Caller, []byte) (int, error) { return 0, linux.EPERM },
		}, nil
	}
	return nil, linux.ENOENT
}

// ---- the caller-aware operations ----

// The VFS knows the caller of a lookup (vfs.CallerDir) but not yet of an
// open or of reading and following a link: those are done as the caller
// the inode was looked up for. The methods below take the caller
// explicitly, for a VFS that passes it (an inode held across callers,
// such as a directory descriptor inherited over fork, is then checked
// against whoever uses it), as vfs.CallerDir does for lookups.

// OpenFor opens the directory for c.
func (d *dirNode) OpenFor(c vfs.Caller, flags uint32) (vfs.Handle, error) { return d.Open(flags) }

// CheckPermission is the permission check of the directory for c
// (proc_fd_permission): the mode, but a process may always search and
// list its own fd directory.
func (d *dirNode) CheckPermission(c vfs.Caller, mask int) error {
	a, err := d.Attr()
	if err != nil {
		return err
	}
	creds := c.Creds
	if creds == nil {
		creds = &vfs.Creds{UID: vfs.NoID, GID: vfs.NoID}
	}
	err = creds.Permission(a, mask)
	if err != nil && d.kind == fdDir && c.PID != 0 && c.PID == d.x.p.PID() {
		return nil
	}
	return err
}

// OpenFor opens the file for c.
func (f *file) OpenFor(c vfs.Caller, flags uint32) (vfs.Handle, error) {
	g := *f
	g.caller = c
	return g.Open(flags)
}

// ReadlinkFor reads the link for c.
func (l *symlink) ReadlinkFor(c vfs.Caller) (string, error) {
	m := *l
	m.caller = c
	return m.Readlink()
}

// ReadlinkFor reads the link for c.
func (l *pathLink) ReadlinkFor(c vfs.Caller) (string, error) {
	m := *l
	m.proc = l.as(c)
	return m.Readlink()
}

// FollowFor follows the link for c.
func (l *pathLink) FollowFor(c vfs.Caller) (vfs.Path, error) {
	m := *l
	m.proc = l.as(c)
	return m.Follow()
}

// ReadlinkFor reads the link for c.
func (l *fdLink) ReadlinkFor(c vfs.Caller) (string, error) {
	m := *l
	m.proc = l.as(c)
	return m.Readlink()
}

// FollowFor follows the link for c.
func (l *fdLink) FollowFor(c vfs.Caller) (vfs.Path, error) {
	m := *l
	m.proc = l.as(c)
	return m.Follow()
}

// The interfaces of the VFS that procfs's inodes implement.
var (
	_ vfs.CallerDir = (*dirNode)(nil)
	_ vfs.Opener    = (*dirNode)(nil)
	_ vfs.Opener    = (*file)(nil)
	_ vfs.Symlink   = (*symlink)(nil)
	_ vfs.MagicLink = (*pathLink)(nil)
	_ vfs.MagicLink = (*fdLink)(nil)
	_ vfs.DirHandle = (*dirHandle)(nil)
	_ vfs.Handle    = (*seqHandle)(nil)
	_ vfs.Handle    = (*memHandle)(nil)
)
