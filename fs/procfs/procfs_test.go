package procfs

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// ---- the scene ----

// The test machine: pid 1000 ("cat", uid 1000) with a second thread 1001,
// laid out as a real cat was on the host whose /proc the expected texts
// come from; pid 1002, its child; pid 2000 of uid 1001; pid 900 of root.
type scene struct {
	k                       *fakeKernel
	fs                      *FS
	cat, child, other, root *fakeProc
	exe                     *refFile
}

const (
	catText  = 0x55fefbb47000
	catHeap  = 0x55ff355fc000
	catAnon  = 0x7f78f49e8000
	catStack = 0x7ffdc6fe6000
	argStart = 0x7ffdc7006000
)

var catFile = &mappedFile{name: "/usr/bin/cat", data: bytes.Repeat([]byte{0x90}, 0x7000), ino: 247026}

func newScene(t *testing.T) *scene {
	k := newFakeKernel(t)
	s := &scene{k: k, fs: New(k), exe: &refFile{ino: 247026}}
	k.ns.Mount("/proc", s.fs.Root(), "proc", "proc", "", vfs.MountNoSUID|vfs.MountNoDev|vfs.MountNoExec, false)

	s.cat = k.proc(1000, 1, 1000, "cat")
	as := s.cat.as
	mapAt := func(o mm.MapOpts) {
		o.Fixed = true
		_, err := as.Map(o)
		require.NoError(t, err)
	}
	mapAt(mm.MapOpts{Addr: catText, Length: 0x2000, Prot: mm.ProtRead, File: catFile})
	mapAt(mm.MapOpts{Addr: catText + 0x2000, Length: 0x5000, Prot: mm.ProtRead | mm.ProtExec, File: catFile, Offset: 0x2000})
	mapAt(mm.MapOpts{Addr: catHeap, Length: 0x21000, Prot: mm.ProtRead | mm.ProtWrite, Name: "[heap]"})
	mapAt(mm.MapOpts{Addr: catAnon, Length: 0x22000, Prot: mm.ProtRead | mm.ProtWrite})
	mapAt(mm.MapOpts{Addr: catStack, Length: 0x21000, Prot: mm.ProtRead | mm.ProtWrite, Name: "[stack]"})
	args, env := "cat\x00-n\x00", "A=1\x00HOME=/root\x00"
	require.NoError(t, as.WriteForce(argStart, []byte(args+env)))
	s.cat.auxv = []byte{6, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	s.cat.setInfo(func(i *ProcessInfo) {
		i.Layout = Layout{StartCode: catText + 0x2000, EndCode: catText + 0x6db9, StartData: catText + 0xa000,
			EndData: catText + 0xa680, StartBrk: catHeap, Brk: catHeap + 0x21000, StartStack: 0x7ffdc7005b30,
			ArgStart: argStart, ArgEnd: argStart + mm.Addr(len(args)),
			EnvStart: argStart + mm.Addr(len(args)), EnvEnd: argStart + mm.Addr(len(args)+len(env))}
		i.Creds.Groups = []uint32{1000, 24}
		i.Limits[13] = Rlimit{0, 0}
		i.SigIgnored = 1 << 12
		i.IO = IOCounters{RChar: 6976, SyscR: 10}
	})
	s.exe.IncRef()
	s.cat.paths[PathExe] = vfs.Path{Inode: s.exe, Name: "/usr/bin/cat"}
	pipe := &refFile{ino: 53427}
	pipe.IncRef()
	s.cat.files[0] = File{Path: vfs.Path{Inode: s.exe, Name: "/usr/bin/cat"}, Flags: linux.O_LARGEFILE, Pos: 7520}
	s.exe.IncRef()
	s.cat.files[1] = File{Path: vfs.Path{Inode: pipe}, Name: "pipe:[53427]", Flags: linux.O_WRONLY | linux.O_CLOEXEC, MountID: 15, Ino: 53427}
	s.cat.files[5] = File{Flags: linux.O_RDWR, Name: "anon_inode:[eventfd]"}
	s.cat.thread(1001, "worker")

	s.child = k.proc(1002, 1000, 1000, "child")
	s.other = k.proc(2000, 1, 1001, "other")
	s.root = k.proc(900, 1, 0, "rootd")
	for _, p := range []*fakeProc{s.child, s.other, s.root} {
		_, err := p.as.Map(mm.MapOpts{Addr: 0x400000, Length: 2 * mm.PageSize, Prot: mm.ProtRead, Fixed: true})
		require.NoError(t, err)
		require.NoError(t, p.as.WriteForce(0x400000, []byte("secret of "+strconv.Itoa(int(p.pid)))))
	}
	return s
}

// resolver resolves names for pid's thread tid, with its credentials.
func (s *scene) resolver(pid, tid int32) *vfs.Resolver {
	c := s.k.procs[pid].Info().Creds
	creds := &vfs.Creds{UID: c.FSUID, GID: c.FSGID, Groups: c.Groups, FileCaps: c.FSUID == 0, Admin: c.EUID == 0}
	return &vfs.Resolver{NS: s.k.ns, Root: s.k.ns.Root(), Creds: creds, Caller: vfs.Caller{PID: pid, TID: tid, Creds: creds}}
}

// open opens name for the caller as the VFS does: resolve, check the
// mode, open.
func (s *scene) open(pid int32, name string, flags uint32) (vfs.Handle, error) {
	r := s.resolver(pid, pid)
	p, err := r.Resolve(r.Root, name, 0)
	if err != nil {
		return nil, err
	}
	defer p.DecRef()
	a, err := p.Attr()
	if err != nil {
		return nil, err
	}
	mask := vfs.MayRead
	switch flags & linux.O_ACCMODE {
	case linux.O_WRONLY:
		mask = vfs.MayWrite
	case linux.O_RDWR:
		mask |= vfs.MayWrite
	}
	if err := r.Creds.Permission(a, mask); err != nil {
		return nil, err
	}
	return p.Inode.(vfs.Opener).Open(flags)
}

// read returns the whole file name as pid reads it.
func (s *scene) read(pid int32, name string) (string, error) {
	h, err := s.open(pid, name, linux.O_RDONLY)
	if err != nil {
		return "", err
	}
	defer h.Close()
	var out []byte
	buf := make([]byte, 100) // small reads, as a libc with a small buffer makes
	for {
		n, err := h.Read([][]byte{buf}, -1)
		if err != nil {
			return "", err
		}
		if n == 0 {
			return string(out), nil
		}
		out = append(out, buf[:n]...)
	}
}

func (s *scene) mustRead(t *testing.T, pid int32, name string) string {
	t.Helper()
	out, err := s.read(pid, name)
	require.NoError(t, err, name)
	return out
}

func (s *scene) readlink(pid int32, name string) (string, error) {
	r := s.resolver(pid, pid)
	p, err := r.Resolve(r.Root, name, vfs.NoFollow)
	if err != nil {
		return "", err
	}
	defer p.DecRef()
	l, ok := p.Inode.(vfs.Symlink)
	if !ok {
		return "", linux.EINVAL
	}
	return l.Readlink()
}

func (s *scene) attr(pid int32, name string) vfs.Attr {
	r := s.resolver(pid, pid)
	p, err := r.Resolve(r.Root, name, vfs.NoFollow)
	if err != nil {
		panic(name + ": " + err.Error())
	}
	defer p.DecRef()
	a, err := p.Attr()
	if err != nil {
		panic(err)
	}
	return a
}

// ---- formats ----

func TestStatHas52FieldsInLinuxOrder(t *testing.T) {
	s := newScene(t)
	stat := s.mustRead(t, 1000, "/proc/1000/stat")
	require.True(t, strings.HasSuffix(stat, "\n"))
	f := strings.Fields(stat)
	require.Len(t, f, 52)
	want := map[int]string{
		1: "1000", 2: "(cat)", 3: "S", 4: "1", 5: "1000", 6: "1", 7: "0", 8: "-1",
		10: "15",  // minflt of both threads
		14: "300", // utime: 2 s + 1 s
		15: "3",   // stime
		18: "20",  // priority
		19: "0",   // nice
		20: "2",   // threads
		21: "0",   // itrealvalue
		22: "500", // start time in ticks
		25: "18446744073709551615",
		26: strconv.Itoa(catText + 0x2000), // start_code
		29: "0", 30: "0",                   // kstkesp, kstkeip
		34: "0", 33: "4096", // sigcatch, sigignore (SIGPIPE)
		35: "1",  // wchan: sleeping
		38: "17", // exit_signal
		48: strconv.Itoa(argStart), 52: "0",
	}
	for i, v := range want {
		assert.Equal(t, v, f[i-1], "field %d", i)
	}
	vsize := (0x7000 + 0x21000 + 0x22000 + 0x21000)
	assert.Equal(t, strconv.Itoa(vsize), f[22], "vsize")

	// The thread's own stat: its id, its times.
	f = strings.Fields(s.mustRead(t, 1000, "/proc/1000/task/1001/stat"))
	require.Len(t, f, 52)
	assert.Equal(t, "1001", f[0])
	assert.Equal(t, "(worker)", f[1])
	assert.Equal(t, "100", f[13])

	// Another user's process: the mm fields are hidden.
	f = strings.Fields(s.mustRead(t, 2000, "/proc/1000/stat"))
	assert.Equal(t, "1", f[25], "start_code shows 1 to those who may not read it")
	assert.Equal(t, "0", f[27])
	assert.Equal(t, "0", f[47])
}

func TestStatusFieldsAsLinux618(t *testing.T) {
	s := newScene(t)
	status := s.mustRead(t, 1000, "/proc/1000/status")
	var keys []string
	values := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(status, "\n"), "\n") {
		k, v, ok := strings.Cut(line, ":")
		require.True(t, ok, line)
		keys = append(keys, k)
		values[k] = v
	}
	// The fields of a Linux 6.18 x86-64 kernel's status, in order.
	assert.Equal(t, strings.Fields(`Name Umask State Tgid Ngid Pid PPid TracerPid Uid Gid FDSize Groups NStgid NSpid
		NSpgid NSsid Kthread VmPeak VmSize VmLck VmPin VmHWM VmRSS RssAnon RssFile RssShmem VmData VmStk VmExe VmLib
		VmPTE VmSwap HugetlbPages CoreDumping THP_enabled untag_mask Threads SigQ SigPnd ShdPnd SigBlk SigIgn SigCgt
		CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs Seccomp Seccomp_filters Speculation_Store_Bypass
		SpeculationIndirectBranch Cpus_allowed Cpus_allowed_list Mems_allowed Mems_allowed_list
		voluntary_ctxt_switches nonvoluntary_ctxt_switches`), keys)
	assert.Equal(t, "\tcat", values["Name"])
	assert.Equal(t, "\t0022", values["Umask"])
	assert.Equal(t, "\tS (sleeping)", values["State"])
	assert.Equal(t, "\t1000\t1000\t1000\t1000", values["Uid"])
	assert.Equal(t, "\t1000 24 ", values["Groups"])
	assert.Equal(t, "\t     428 kB", values["VmSize"], "VmSize is the sum of the mappings")
	assert.Equal(t, "\t      20 kB", values["VmExe"])
	assert.Equal(t, "\t     132 kB", values["VmStk"])
	assert.Equal(t, "\t0000000000001000", values["SigIgn"])
	assert.Equal(t, "\t0000000000000000", values["CapEff"])
	assert.Equal(t, "\t000001ffffffffff", values["CapBnd"])
	assert.Equal(t, "\t3", values["Cpus_allowed"])
	assert.Equal(t, "\t0-1", values["Cpus_allowed_list"])
	assert.Equal(t, "\t0/7823", values["SigQ"])
	// As the host printed it for one node.
	assert.Equal(t, "\t"+strings.Repeat("00000000,", 31)+"00000001", values["Mems_allowed"])

	status = s.mustRead(t, 900, "/proc/900/task/900/status")
	assert.Contains(t, status, "\nCapEff:\t000001ffffffffff\n")

	thread := s.mustRead(t, 1000, "/proc/1000/task/1001/status")
	assert.Contains(t, thread, "Name:\tworker\n")
	assert.Contains(t, thread, "\nTgid:\t1000\nNgid:\t0\nPid:\t1001\n")

	s.cat.tasks[1].SetComm("a\nb\\c")
	thread = s.mustRead(t, 1000, "/proc/1000/task/1001/status")
	assert.Contains(t, thread, "Name:\ta\\nb\\\\c\n", "newlines and backslashes are escaped")
}

func TestMapsLinesAsTheHostPrintsThem(t *testing.T) {
	s := newScene(t)
	// Lines copied from the host's /proc/PID/maps of cat.
	want := "" +
		"55fefbb47000-55fefbb49000 r--p 00000000 fe:00 247026                     /usr/bin/cat\n" +
		"55fefbb49000-55fefbb4e000 r-xp 00002000 fe:00 247026                     /usr/bin/cat\n" +
		"55ff355fc000-55ff3561d000 rw-p 00000000 00:00 0                          [heap]\n" +
		"7f78f49e8000-7f78f4a0a000 rw-p 00000000 00:00 0 \n" +
		"7ffdc6fe6000-7ffdc7007000 rw-p 00000000 00:00 0                          [stack]\n"
	assert.Equal(t, want, s.mustRead(t, 1000, "/proc/1000/maps"))
	assert.Equal(t, want, s.mustRead(t, 1000, "/proc/self/maps"))
	assert.Equal(t, want, s.mustRead(t, 1000, "/proc/1000/task/1001/maps"))

	_, err := s.k.procs[1000].as.Map(mm.MapOpts{Addr: 0x10000, Length: mm.PageSize, Prot: mm.ProtRead | mm.ProtWrite, Shared: true, Fixed: true})
	require.NoError(t, err)
	first := strings.SplitN(s.mustRead(t, 1000, "/proc/1000/maps"), "\n", 2)[0]
	assert.Regexp(t, `^00010000-00011000 rw-s 00000000 00:01 [0-9]+ +/dev/zero \(deleted\)$`, first)
	assert.Equal(t, 73, strings.Index(first, "/dev/zero"))
}

func TestStatmSmapsRollupLimitsIO(t *testing.T) {
	s := newScene(t)
	_, err := s.cat.as.CopyOut(catHeap, make([]byte, 3*mm.PageSize)) // 3 dirty anonymous pages
	require.NoError(t, err)
	_, _, err = s.cat.as.Translate(catText, mm.Read) // one file page
	require.NoError(t, err)

	// size resident shared text lib data dt; text: start_code..end_code.
	assert.Equal(t, "107 5 1 5 0 100 0\n", s.mustRead(t, 1000, "/proc/1000/statm"))

	rollup := s.mustRead(t, 1000, "/proc/1000/smaps_rollup")
	lines := strings.Split(rollup, "\n")
	// The host's line, with this address space's range.
	host := "5611bf8d1000-7ffd73887000 ---p 00000000 00:00 0                          [rollup]"
	assert.Equal(t, strings.Replace(host, "5611bf8d1000-7ffd73887000", "55fefbb47000-7ffdc7007000", 1), lines[0])
	assert.Equal(t, "Rss:                  20 kB", lines[1])
	assert.Equal(t, "Private_Hugetlb:       0 kB", lines[19])
	assert.Equal(t, "Locked:                0 kB", lines[22])
	var labels []string
	for _, l := range lines[1:] {
		if l != "" {
			labels = append(labels, strings.Fields(l)[0])
		}
	}
	assert.Equal(t, strings.Fields(`Rss: Pss: Pss_Dirty: Pss_Anon: Pss_File: Pss_Shmem: Shared_Clean: Shared_Dirty:
		Private_Clean: Private_Dirty: Referenced: Anonymous: KSM: LazyFree: AnonHugePages: ShmemPmdMapped:
		FilePmdMapped: Shared_Hugetlb: Private_Hugetlb: Swap: SwapPss: Locked:`), labels)

	limits := strings.Split(s.mustRead(t, 1000, "/proc/1000/limits"), "\n")
	require.Len(t, limits, 18)
	// Lines copied from the host.
	assert.Equal(t, "Limit                     Soft Limit           Hard Limit           Units     ", limits[0])
	assert.Equal(t, "Max cpu time              unlimited            unlimited            seconds   ", limits[1])
	assert.Equal(t, "Max stack size            8388608              unlimited            bytes     ", limits[4])
	assert.Equal(t, "Max nice priority         0                    0                    ", limits[14])

	assert.Equal(t, "rchar: 6976\nwchar: 0\nsyscr: 10\nsyscw: 0\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n",
		s.mustRead(t, 1000, "/proc/1000/io"))
	_, err = s.read(2000, "/proc/1000/io")
	assert.ErrorIs(t, err, linux.EACCES, "io is the owner's (0400)")
	assert.Equal(t, "0", s.mustRead(t, 1000, "/proc/1000/wchan"))
	assert.Equal(t, "4294967295", s.mustRead(t, 1000, "/proc/1000/loginuid"))
	assert.Equal(t, "cat\n", s.mustRead(t, 1000, "/proc/1000/comm"))
}

func TestCmdlineEnvironAuxv(t *testing.T) {
	s := newScene(t)
	assert.Equal(t, "cat\x00-n\x00", s.mustRead(t, 1000, "/proc/1000/cmdline"))
	assert.Equal(t, "cat\x00-n\x00", s.mustRead(t, 2000, "/proc/1000/cmdline"), "anyone may read cmdline")
	assert.Equal(t, "A=1\x00HOME=/root\x00", s.mustRead(t, 1000, "/proc/1000/environ"))
	assert.Equal(t, string(s.cat.auxv), s.mustRead(t, 1000, "/proc/1000/auxv"))
	_, err := s.read(2000, "/proc/1000/environ")
	assert.ErrorIs(t, err, linux.EACCES)
	assert.Equal(t, "A=1\x00HOME=/root\x00", s.mustRead(t, 900, "/proc/1000/environ"), "root may")

	// setproctitle: the argument area's last NUL overwritten, the title
	// runs into the environment.
	require.NoError(t, s.cat.as.WriteForce(argStart, []byte("cat: busy title\x00")))
	assert.Equal(t, "cat: busy title\x00", s.mustRead(t, 1000, "/proc/1000/cmdline"))

	s.cat.exit()
	assert.Equal(t, "", s.mustRead(t, 1000, "/proc/1000/cmdline"), "a zombie has no arguments")
}

func TestMountsAndMountinfo(t *testing.T) {
	s := newScene(t)
	s.k.ns.Mount("/dev/shm", &emptyDir{}, "tmpfs", "tmpfs", "mode=1777", vfs.MountNoSUID|vfs.MountNoDev, false)
	assert.Equal(t, "/dev/root / ext4 rw,relatime 0 0\n"+
		"proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"+
		"tmpfs /dev/shm tmpfs rw,nosuid,nodev,relatime,mode=1777 0 0\n",
		s.mustRead(t, 1000, "/proc/1000/mounts"))
	assert.Equal(t, s.mustRead(t, 1000, "/proc/1000/mounts"), s.mustRead(t, 1000, "/proc/mounts"), "/proc/mounts is self/mounts")
	assert.Equal(t, "21 20 8:1 / / rw,relatime - ext4 /dev/root rw\n"+
		"22 21 0:20 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"+
		"23 21 8:1 / /dev/shm rw,nosuid,nodev,relatime - tmpfs tmpfs rw,mode=1777\n",
		s.mustRead(t, 1000, "/proc/self/mountinfo"))
}

// ---- names ----

func TestSelfAndThreadSelf(t *testing.T) {
	s := newScene(t)
	link, err := s.readlink(1000, "/proc/self")
	require.NoError(t, err)
	assert.Equal(t, "1000", link)

	r := s.resolver(1000, 1001)
	p, err := r.Resolve(r.Root, "/proc/thread-self", vfs.NoFollow)
	require.NoError(t, err)
	text, err := p.Inode.(vfs.Symlink).Readlink()
	p.DecRef()
	require.NoError(t, err)
	assert.Equal(t, "1000/task/1001", text)
	p, err = r.Resolve(r.Root, "/proc/thread-self/stat", 0)
	require.NoError(t, err)
	h, err := p.Inode.(vfs.Opener).Open(0)
	p.DecRef()
	require.NoError(t, err)
	buf := make([]byte, 64)
	n, err := h.Read([][]byte{buf}, 0)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(buf[:n]), "1001 (worker) "))

	assert.True(t, strings.HasPrefix(s.mustRead(t, 2000, "/proc/self/stat"), "2000 (other) "), "self is whoever looks")
	assert.Equal(t, "cat\n", s.mustRead(t, 1000, "/proc/self/task/1000/../../../self/comm"), "\"..\" within /proc")

	// The root without a caller has no self.
	_, err = s.fs.Root().Lookup("self")
	assert.ErrorIs(t, err, linux.ENOENT)
	self, err := s.fs.RootFor(vfs.Caller{PID: 2000, TID: 2000}).Lookup("self")
	require.NoError(t, err)
	text, err = self.(vfs.Symlink).Readlink()
	require.NoError(t, err)
	assert.Equal(t, "2000", text)
}

func TestOnlyGuestProcessesAndKnownNames(t *testing.T) {
	s := newScene(t)
	root := s.fs.RootFor(vfs.Caller{PID: 1000, TID: 1000})
	ents, err := root.Readdir()
	require.NoError(t, err)
	var names, pids []string
	for _, e := range ents {
		names = append(names, e.Name)
		if _, err := strconv.Atoi(e.Name); err == nil {
			pids = append(pids, e.Name)
		}
	}
	assert.Equal(t, []string{"900", "1000", "1002", "2000"}, pids, "the guest's processes, threads not listed")
	assert.Equal(t, []string{".", "..", "sys", "self", "stat", "mounts", "uptime", "cpuinfo", "loadavg", "meminfo",
		"sysvipc", "version", "filesystems", "thread-self"}, names[:14])

	for _, name := range []string{"1", "999", "01000", "+1000", "1000x", "kcore", "kallsyms", "net", "sysrq-trigger", "123456789012"} {
		_, err := root.Lookup(name)
		assert.ErrorIs(t, err, linux.ENOENT, name)
	}
	_, err = root.Lookup("1001")
	assert.NoError(t, err, "a thread id names its thread, as in Linux")
	for _, name := range []string{"/proc/1000/pagemap", "/proc/1000/task/1002", "/proc/1000/fd/3", "/proc/1000/task/1001/task",
		"/proc/sys/kernel/core_pattern", "/proc/sys/fs", "/proc/1000/fdinfo/9"} {
		_, err := s.read(1000, name)
		assert.ErrorIs(t, err, linux.ENOENT, name)
	}
	s.other.exit()
	s.other.reap()
	_, err = root.Lookup("2000")
	assert.ErrorIs(t, err, linux.ENOENT, "a reaped process is gone")
}

func TestDirectoryListings(t *testing.T) {
	s := newScene(t)
	list := func(pid int32, name string) []string {
		r := s.resolver(pid, pid)
		p, err := r.Resolve(r.Root, name, 0)
		require.NoError(t, err)
		defer p.DecRef()
		h, err := p.Inode.(vfs.Opener).Open(linux.O_DIRECTORY)
		require.NoError(t, err)
		var out []string
		require.NoError(t, h.(vfs.DirHandle).Getdents(func(d vfs.Dirent, next int64) bool {
			out = append(out, d.Name)
			return true
		}))
		return out
	}
	assert.Equal(t, []string{".", "..", "task", "fd", "fdinfo", "environ", "auxv", "status", "limits", "comm", "cmdline",
		"stat", "statm", "maps", "mem", "cwd", "root", "exe", "mounts", "mountinfo", "smaps_rollup", "wchan",
		"oom_score", "oom_score_adj", "loginuid", "io"}, list(1000, "/proc/1000"))
	assert.NotContains(t, list(1000, "/proc/1000/task/1001"), "task")
	assert.Equal(t, []string{".", "..", "1000", "1001"}, list(1000, "/proc/1000/task"))
	dots := func(name string) (uint64, uint64) {
		d, err := s.fs.RootFor(vfs.Caller{PID: 1000, TID: 1000}).Lookup("1000")
		require.NoError(t, err)
		for _, c := range strings.Split(name, "/") {
			if c != "" {
				d, err = d.(vfs.Dir).Lookup(c)
				require.NoError(t, err)
			}
		}
		ents, err := d.(vfs.Dir).Readdir()
		require.NoError(t, err)
		a, _ := d.Attr()
		assert.Equal(t, a.Ino, ents[0].Ino, "\".\" of %s", name)
		return ents[0].Ino, ents[1].Ino
	}
	pidDir, _ := dots("")
	taskDir, up := dots("task")
	assert.Equal(t, pidDir, up)
	_, up = dots("task/1001")
	assert.Equal(t, taskDir, up, "\"..\" of a thread's directory is the task directory")
	_, up = dots("fd")
	assert.Equal(t, pidDir, up)
	assert.Equal(t, []string{".", "..", "0", "1", "5"}, list(1000, "/proc/1000/fd"))
	assert.Equal(t, []string{".", "..", "0", "1", "5"}, list(1000, "/proc/1000/fdinfo"))
	assert.Equal(t, []string{".", "..", "kernel", "vm"}, list(1000, "/proc/sys"))
	assert.Equal(t, []string{".", "..", "hostname", "osrelease", "ostype", "pid_max", "yama"}, list(1000, "/proc/sys/kernel"))
}

func TestLinks(t *testing.T) {
	s := newScene(t)
	before := s.exe.refs.Load()
	for name, want := range map[string]string{
		"/proc/1000/exe": "/usr/bin/cat", "/proc/1000/cwd": "/", "/proc/1000/root": "/",
		"/proc/1000/fd/0": "/usr/bin/cat", "/proc/1000/fd/1": "pipe:[53427]", "/proc/1000/fd/5": "anon_inode:[eventfd]",
		"/proc/self/task/1001/exe": "/usr/bin/cat",
	} {
		got, err := s.readlink(1000, name)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
	_, err := s.readlink(2000, "/proc/1000/exe")
	assert.ErrorIs(t, err, linux.EACCES, "another user may not read the links")
	got, err := s.readlink(900, "/proc/1000/exe")
	require.NoError(t, err)
	assert.Equal(t, "/usr/bin/cat", got)

	// Following a magic link leads to the file itself.
	r := s.resolver(1000, 1000)
	p, err := r.Resolve(r.Root, "/proc/self/fd/1", 0)
	require.NoError(t, err)
	assert.Equal(t, uint64(53427), p.Inode.(*refFile).ino)
	p.DecRef()
	p, err = r.Resolve(r.Root, "/proc/1000/exe", 0)
	require.NoError(t, err)
	assert.Same(t, s.exe, p.Inode)
	p.DecRef()
	_, err = r.Resolve(r.Root, "/proc/1000/fd/5", 0)
	assert.ErrorIs(t, err, linux.ENXIO, "a file the kernel keeps no inode of")
	r2 := s.resolver(2000, 2000)
	_, err = r2.Resolve(r2.Root, "/proc/1000/cwd", 0)
	assert.ErrorIs(t, err, linux.EACCES)
	assert.Equal(t, before, s.exe.refs.Load(), "every reference procfs took is dropped")

	// fdinfo.
	assert.Equal(t, "pos:\t7520\nflags:\t0100000\nmnt_id:\t0\nino:\t247026\n", s.mustRead(t, 1000, "/proc/1000/fdinfo/0"))
	assert.Equal(t, "pos:\t0\nflags:\t02000001\nmnt_id:\t15\nino:\t53427\n", s.mustRead(t, 1000, "/proc/1000/fdinfo/1"))
	_, err = s.read(2000, "/proc/1000/fdinfo/0")
	assert.ErrorIs(t, err, linux.EACCES)

	// Links of a process whose root is a subdirectory are shown from the
	// reader's root.
	assert.Equal(t, "/usr/bin/cat", relative("/usr/bin/cat", "/"))
	assert.Equal(t, "/bin/cat", relative("/srv/jail/bin/cat", "/srv/jail"))
	assert.Equal(t, "/", relative("/srv/jail", "/srv/jail"))
	assert.Equal(t, "/srv/jailbreak", relative("/srv/jailbreak", "/srv/jail"))
}

func TestModesAndOwners(t *testing.T) {
	s := newScene(t)
	for name, mode := range map[string]uint32{
		"/proc/1000":               vfs.ModeDir | 0o555,
		"/proc/1000/task":          vfs.ModeDir | 0o555,
		"/proc/1000/task/1001":     vfs.ModeDir | 0o555,
		"/proc/1000/fd":            vfs.ModeDir | 0o500,
		"/proc/1000/fdinfo":        vfs.ModeDir | 0o555,
		"/proc/1000/mem":           vfs.ModeRegular | 0o600,
		"/proc/1000/maps":          vfs.ModeRegular | 0o444,
		"/proc/1000/environ":       vfs.ModeRegular | 0o400,
		"/proc/1000/oom_score_adj": vfs.ModeRegular | 0o644,
		"/proc/1000/exe":           vfs.ModeSymlink | 0o777,
		"/proc/1000/fd/0":          vfs.ModeSymlink | 0o500,
		"/proc/1000/fd/1":          vfs.ModeSymlink | 0o300,
		"/proc/1000/fd/5":          vfs.ModeSymlink | 0o700,
		"/proc/1000/fdinfo/0":      vfs.ModeRegular | 0o444,
		"/proc":                    vfs.ModeDir | 0o555,
		"/proc/self":               vfs.ModeSymlink | 0o777,
		"/proc/meminfo":            vfs.ModeRegular | 0o444,
		"/proc/sys/kernel/pid_max": vfs.ModeRegular | 0o644,
		"/proc/sys/kernel/ostype":  vfs.ModeRegular | 0o444,
	} {
		a := s.attr(900, name)
		assert.Equal(t, mode, a.Mode, name)
		assert.Equal(t, uint64(Dev), a.Dev, name)
		wantUID := uint32(0)
		if strings.HasPrefix(name, "/proc/1000") {
			wantUID = 1000
		}
		assert.Equal(t, wantUID, a.UID, name)
		assert.Equal(t, wantUID, a.GID, name)
		assert.Equal(t, a.Ino, s.attr(900, name).Ino, "stable inode number of %s", name)
	}
	assert.Equal(t, uint64(1), s.attr(900, "/proc").Ino)
	assert.Equal(t, uint64(0xF0000000), s.attr(900, "/proc/self").Ino, "as Linux numbers self")
	assert.Equal(t, int64(3), s.attr(900, "/proc/1000/fd").Size, "the fd directory's size is the number of descriptors")
	assert.Equal(t, int64(64), s.attr(900, "/proc/1000/fd/0").Size)
	assert.Equal(t, uint64(5), s.attr(900, "/proc/1000").Nlink)
	assert.Equal(t, uint64(4), s.attr(900, "/proc/1000/task").Nlink)
	assert.Equal(t, boot.Add(5*time.Second).Unix(), s.attr(900, "/proc/1000/stat").Mtime.Sec)
	assert.NotEqual(t, s.attr(900, "/proc/1000/stat").Ino, s.attr(900, "/proc/1000/task/1000/stat").Ino)
	assert.NotEqual(t, s.attr(900, "/proc/1000/stat").Ino, s.attr(900, "/proc/1002/stat").Ino)

	// A process that is not dumpable: its files belong to root, but the
	// world-readable directories still show its ids.
	s.cat.setInfo(func(i *ProcessInfo) { i.Dumpable = false })
	assert.Equal(t, uint32(0), s.attr(900, "/proc/1000/mem").UID)
	assert.Equal(t, uint32(0), s.attr(900, "/proc/1000/fd").UID)
	assert.Equal(t, uint32(1000), s.attr(900, "/proc/1000").UID)
	assert.Equal(t, uint32(1000), s.attr(900, "/proc/1000/task").UID)
	_, err := s.read(1000, "/proc/1000/environ")
	assert.ErrorIs(t, err, linux.EACCES, "its own user may no longer read it (0400 root)")
}

// ---- /proc/PID/mem ----

func TestMem(t *testing.T) {
	s := newScene(t)
	// A read-only private page of the child, shared with a sibling.
	sibling, err := s.child.as.Fork()
	require.NoError(t, err)
	defer sibling.Release()

	h, err := s.open(1000, "/proc/1002/mem", linux.O_RDWR)
	require.NoError(t, err, "the parent may attach to its child")
	defer h.Close()
	buf := make([]byte, 13)
	n, err := h.Read([][]byte{buf}, 0x400000)
	require.NoError(t, err)
	assert.Equal(t, "secret of 100", string(buf[:n]))

	n, err = h.Write([][]byte{[]byte("FORCED")}, 0x400000)
	require.NoError(t, err, "FOLL_FORCE writes a read-only private page")
	assert.Equal(t, 6, n)
	n, err = h.Read([][]byte{buf}, 0x400000)
	require.NoError(t, err)
	assert.Equal(t, "FORCED of 100", string(buf[:n]))
	sib := make([]byte, 13)
	_, err = sibling.CopyIn(0x400000, sib)
	require.NoError(t, err)
	assert.Equal(t, "secret of 100", string(sib), "the sibling keeps its copy")
	_, err = s.child.as.CopyOut(0x400000, []byte("x"))
	assert.ErrorIs(t, err, linux.EFAULT, "still read-only for the guest")

	// The position is the address.
	off, err := h.Seek(0x400000+2*mm.PageSize-4, 0)
	require.NoError(t, err)
	assert.Equal(t, int64(0x400000+2*mm.PageSize-4), off)
	n, err = h.Read([][]byte{make([]byte, 100)}, -1)
	require.NoError(t, err)
	assert.Equal(t, 4, n, "a read stops at the end of the mapping")
	n, err = h.Read([][]byte{make([]byte, 100)}, -1)
	assert.ErrorIs(t, err, linux.EIO, "an unmapped address first is EIO")
	assert.Equal(t, 0, n)
	_, err = h.Read([][]byte{buf}, 0x1000)
	assert.ErrorIs(t, err, linux.EIO)
	_, err = h.Write([][]byte{buf}, 0x1000)
	assert.ErrorIs(t, err, linux.EIO)
	_, err = h.Seek(0, 2)
	assert.ErrorIs(t, err, linux.EINVAL)

	// Permission at open: PTRACE_MODE_ATTACH_FSCREDS.
	_, err = s.open(2000, "/proc/1000/mem", linux.O_RDONLY)
	assert.ErrorIs(t, err, linux.EACCES, "another user: the mode (0600) refuses")
	_, err = s.open(1002, "/proc/1000/mem", linux.O_RDONLY)
	assert.ErrorIs(t, err, linux.EACCES, "same user, but Yama scope 1 lets only ancestors attach")
	hs, err := s.open(1000, "/proc/self/mem", linux.O_RDONLY)
	require.NoError(t, err, "a process may always open its own")
	n, err = hs.Read([][]byte{buf[:3]}, argStart)
	require.NoError(t, err)
	assert.Equal(t, "cat", string(buf[:n]))
	hr, err := s.open(900, "/proc/2000/mem", linux.O_RDONLY)
	require.NoError(t, err, "root may")
	n, err = hr.Read([][]byte{buf}, 0x400000)
	require.NoError(t, err)
	assert.Equal(t, "secret of 200", string(buf[:n]))

	// The check is at open: a later setuid does not close the file.
	s.k.procs[1000].setInfo(func(i *ProcessInfo) { i.Dumpable = false })
	_, err = s.open(1000, "/proc/1002/mem", linux.O_RDONLY)
	assert.NoError(t, err, "the caller's dumpability does not matter")
	s.child.setInfo(func(i *ProcessInfo) { i.Dumpable = false })
	_, err = s.open(1000, "/proc/1002/mem", linux.O_RDONLY)
	assert.ErrorIs(t, err, linux.EACCES, "a non-dumpable target's mem belongs to root")
	_, err = h.Read([][]byte{buf}, 0x400000)
	assert.NoError(t, err, "the open file keeps working")

	// After execve (a new address space) or exit, reads return 0.
	old := s.child.as
	s.child.mu.Lock()
	s.child.as, _ = mm.New(s.k.ram, mm.Layout64)
	s.child.mu.Unlock()
	n, err = h.Read([][]byte{buf}, 0x400000)
	assert.NoError(t, err)
	assert.Equal(t, 0, n)
	old.DropUser()
	s.child.exit()
	n, err = h.Read([][]byte{buf}, 0x400000)
	assert.NoError(t, err)
	assert.Equal(t, 0, n)
	_, err = s.open(1000, "/proc/1002/mem", linux.O_RDONLY)
	assert.ErrorIs(t, err, linux.EACCES, "a zombie's mem belongs to root")
	hz, err := s.open(900, "/proc/1002/mem", linux.O_RDONLY)
	require.NoError(t, err, "a zombie's mem opens (for root)")
	n, err = hz.Read([][]byte{buf}, 0x400000)
	assert.NoError(t, err)
	assert.Equal(t, 0, n)
}

// ---- writes ----

func TestOOMScoreAdj(t *testing.T) {
	s := newScene(t)
	assert.Equal(t, "0\n", s.mustRead(t, 1000, "/proc/1000/oom_score_adj"))
	score, err := strconv.Atoi(strings.TrimSpace(s.mustRead(t, 1000, "/proc/1000/oom_score")))
	require.NoError(t, err)
	assert.Equal(t, 666, score, "a small process with adj 0, as on Linux")

	write := func(pid int32, target, data string) (int, error) {
		h, err := s.open(pid, "/proc/"+target+"/oom_score_adj", linux.O_WRONLY)
		if err != nil {
			return 0, err
		}
		defer h.Close()
		return h.Write([][]byte{[]byte(data)}, -1)
	}
	n, err := write(1000, "1000", "500\n")
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	assert.Equal(t, "500\n", s.mustRead(t, 1000, "/proc/1000/oom_score_adj"))
	assert.Equal(t, "500\n", s.mustRead(t, 1000, "/proc/1000/task/1001/oom_score_adj"))
	score, _ = strconv.Atoi(strings.TrimSpace(s.mustRead(t, 1000, "/proc/1000/oom_score")))
	assert.Greater(t, score, 900)

	n, err = write(1000, "self", "  0x10  ")
	require.NoError(t, err, "C's notations and blanks")
	assert.Equal(t, 8, n)
	assert.Equal(t, "16\n", s.mustRead(t, 1000, "/proc/1000/oom_score_adj"))
	n, err = write(1000, "self", "0000000000000000000000001")
	require.NoError(t, err)
	assert.Equal(t, 12, n, "12 bytes are looked at (and counted): octal 0")
	assert.Equal(t, "0\n", s.mustRead(t, 1000, "/proc/1000/oom_score_adj"))
	_, err = write(1000, "self", "-1")
	assert.ErrorIs(t, err, linux.EACCES, "below oom_score_adj_min (0) without CAP_SYS_RESOURCE")
	for _, bad := range []string{"1001", "-1001", "abc", "", "5x", "99999999999"} {
		_, err := write(1000, "self", bad)
		assert.Error(t, err, bad)
	}
	_, err = write(2000, "1000", "1")
	assert.ErrorIs(t, err, linux.EACCES, "another user's file (0644)")

	// Lowering below the minimum needs CAP_SYS_RESOURCE, which root has
	// and which sets the minimum.
	_, err = write(900, "1000", "-500")
	require.NoError(t, err)
	assert.Equal(t, int16(-500), s.cat.Info().OOMScoreAdjMin)
	_, err = write(1000, "self", "-600")
	assert.ErrorIs(t, err, linux.EACCES)
	_, err = write(1000, "self", "-400")
	assert.NoError(t, err)
	_, err = write(1000, "self", "-1000")
	assert.ErrorIs(t, err, linux.EACCES)
	_, err = write(900, "self", "-1000")
	require.NoError(t, err)
	assert.Equal(t, "0\n", s.mustRead(t, 900, "/proc/900/oom_score"), "OOM_SCORE_ADJ_MIN: never chosen")
}

func TestCommWrite(t *testing.T) {
	s := newScene(t)
	write := func(pid int32, target, data string) (int, error) {
		h, err := s.open(pid, target, linux.O_WRONLY)
		if err != nil {
			return 0, err
		}
		defer h.Close()
		return h.Write([][]byte{[]byte(data)}, -1)
	}
	n, err := write(1000, "/proc/self/task/1001/comm", "abcdefghijklmnopqrstu")
	require.NoError(t, err)
	assert.Equal(t, 21, n)
	assert.Equal(t, "abcdefghijklmno\n", s.mustRead(t, 1000, "/proc/1000/task/1001/comm"))
	_, err = write(1000, "/proc/self/comm", "foo\n")
	require.NoError(t, err)
	assert.Equal(t, "foo\n\n", s.mustRead(t, 1000, "/proc/1000/comm"), "the newline is kept, as Linux does")
	_, err = write(1002, "/proc/1000/comm", "x")
	assert.ErrorIs(t, err, linux.EINVAL, "only the thread group itself")

	_, err = write(900, "/proc/1000/stat", "x")
	assert.ErrorIs(t, err, linux.EINVAL, "root opens a read-only file for writing; the write is EINVAL")
	_, err = write(1000, "/proc/1000/status", "x")
	assert.ErrorIs(t, err, linux.EACCES)
}

// ---- snapshots ----

func TestReadsFromOffsetZeroRegenerate(t *testing.T) {
	s := newScene(t)
	h, err := s.open(1000, "/proc/1000/comm", linux.O_RDONLY)
	require.NoError(t, err)
	defer h.Close()
	s.cat.tasks[0].SetComm("renamed")
	buf := make([]byte, 2)
	n, _ := h.Read([][]byte{buf}, -1)
	assert.Equal(t, "ca", string(buf[:n]), "the first read returns the snapshot of the open")
	s.cat.tasks[0].SetComm("other")
	n, _ = h.Read([][]byte{buf}, -1)
	assert.Equal(t, "t\n", string(buf[:n]), "reads continue the snapshot")
	n, _ = h.Read([][]byte{make([]byte, 10)}, 0)
	assert.Equal(t, 6, n, "a read from 0 regenerates: \"other\\n\"")
	_, err = h.Seek(0, 0)
	require.NoError(t, err)
	s.cat.tasks[0].SetComm("third")
	big := make([]byte, 10)
	n, _ = h.Read([][]byte{big}, -1)
	assert.Equal(t, "third\n", string(big[:n]))
	_, err = h.Seek(-1, 1)
	require.NoError(t, err)
	_, err = h.Seek(0, 2)
	assert.ErrorIs(t, err, linux.EINVAL)

	s.cat.exit()
	s.cat.reap()
	_, err = h.Read([][]byte{big}, 0)
	assert.ErrorIs(t, err, linux.ESRCH, "the process is gone")
}

// ---- the global files ----

func TestGlobalFiles(t *testing.T) {
	s := newScene(t)
	assert.Equal(t, "1234.56 190.00\n", s.mustRead(t, 1000, "/proc/uptime"))
	assert.Equal(t, "0.50 0.25 0.13 1/3 1002\n", s.mustRead(t, 1000, "/proc/loadavg"))
	assert.Equal(t, "Linux version 6.1.0-cmaemu (cmaemu@cmaemu) (cmaemu) #1 SMP PREEMPT_DYNAMIC cmaemu\n", s.mustRead(t, 1000, "/proc/version"))
	assert.Equal(t, "4194304\n", s.mustRead(t, 1000, "/proc/sys/kernel/pid_max"))
	assert.Equal(t, "Linux\n", s.mustRead(t, 1000, "/proc/sys/kernel/ostype"))
	assert.Equal(t, "6.1.0-cmaemu\n", s.mustRead(t, 1000, "/proc/sys/kernel/osrelease"))
	assert.Equal(t, "guest\n", s.mustRead(t, 1000, "/proc/sys/kernel/hostname"))
	assert.Equal(t, "1\n", s.mustRead(t, 1000, "/proc/sys/kernel/yama/ptrace_scope"))
	assert.Equal(t, "0\n", s.mustRead(t, 1000, "/proc/sys/vm/overcommit_memory"))
	assert.Equal(t, "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\n\text4\n", s.mustRead(t, 1000, "/proc/filesystems"))

	meminfo := strings.Split(s.mustRead(t, 1000, "/proc/meminfo"), "\n")
	assert.Equal(t, "MemTotal:          65536 kB", meminfo[0])
	assert.Equal(t, "MemFree:           61440 kB", meminfo[1])
	assert.Contains(t, meminfo, "VmallocTotal:   34359738367 kB", "as the host prints it")
	assert.Contains(t, meminfo, "HugePages_Total:       0")
	assert.Contains(t, meminfo, "Hugepagesize:       2048 kB")

	stat := strings.Split(s.mustRead(t, 1000, "/proc/stat"), "\n")
	assert.Equal(t, "cpu  300 0 100 19000 0 0 0 0 0 0", stat[0])
	assert.Equal(t, "cpu0 300 0 0 10000 0 0 0 0 0 0", stat[1])
	assert.Equal(t, "cpu1 0 0 100 9000 0 0 0 0 0 0", stat[2])
	assert.Contains(t, stat, "btime "+strconv.FormatInt(boot.Unix(), 10))
	assert.Contains(t, stat, "processes 3")

	cpuinfo := s.mustRead(t, 1000, "/proc/cpuinfo")
	blocks := strings.Split(strings.TrimSuffix(cpuinfo, "\n\n"), "\n\n")
	require.Len(t, blocks, 2)
	assert.Equal(t, "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n"+
		"model name\t: cmaemu virtual CPU\nstepping\t: 4\ncpu MHz\t\t: 2000.000\ncache size\t: 1024 KB\n"+
		"physical id\t: 0\nsiblings\t: 2\ncore id\t\t: 0\ncpu cores\t: 2\napicid\t\t: 0\ninitial apicid\t: 0\n"+
		"fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: 13\nwp\t\t: yes\nflags\t\t: fpu vme de pse tsc\n"+
		"bugs\t\t:\nbogomips\t: 4000.00\nclflush size\t: 64\ncache_alignment\t: 64\n"+
		"address sizes\t: 48 bits physical, 48 bits virtual\npower management:", blocks[0])
	assert.Contains(t, blocks[1], "processor\t: 1\n")
	assert.Contains(t, blocks[1], "core id\t\t: 1\n")

	link, err := s.readlink(1000, "/proc/mounts")
	require.NoError(t, err)
	assert.Equal(t, "self/mounts", link)

	h, err := s.open(900, "/proc/sys/kernel/hostname", linux.O_WRONLY)
	require.NoError(t, err)
	_, err = h.Write([][]byte{[]byte("x")}, -1)
	assert.ErrorIs(t, err, linux.EPERM, "sysctls are read-only here")
	_, err = s.open(1000, "/proc/sys/kernel/hostname", linux.O_WRONLY)
	assert.ErrorIs(t, err, linux.EACCES)
}

func TestZombie(t *testing.T) {
	s := newScene(t)
	s.child.exit()
	status := s.mustRead(t, 1000, "/proc/1002/status")
	assert.Contains(t, status, "State:\tZ (zombie)\n")
	assert.NotContains(t, status, "Umask")
	assert.NotContains(t, status, "VmSize")
	assert.Equal(t, "0 0 0 0 0 0 0\n", s.mustRead(t, 1000, "/proc/1002/statm"))
	assert.Equal(t, "", s.mustRead(t, 1000, "/proc/1002/maps"))
	f := strings.Fields(s.mustRead(t, 1000, "/proc/1002/stat"))
	require.Len(t, f, 52)
	assert.Equal(t, "Z", f[2])
	assert.Equal(t, "0", f[25], "no mm: start_code 0")
	_, err := s.readlink(1000, "/proc/1002/exe")
	assert.ErrorIs(t, err, linux.ENOENT)
	_, err = s.read(1000, "/proc/1002/mounts")
	assert.ErrorIs(t, err, linux.EINVAL)
	assert.Equal(t, uint32(0), s.attr(1000, "/proc/1002/stat").UID, "a zombie's files belong to root")
}

func TestParseKernelInt(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "12": 12, "-12": -12, "+7": 7, "010": 8, "0x1f": 31, "-0x10": -16,
		"2147483647": 2147483647, "-2147483648": -2147483648} {
		v, err := parseKernelInt(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, v, in)
	}
	for in, want := range map[string]error{"": linux.EINVAL, "-": linux.EINVAL, "08": linux.EINVAL, "0x": linux.EINVAL,
		"1 2": linux.EINVAL, "2147483648": linux.ERANGE, "-2147483649": linux.ERANGE, "99999999999999999999": linux.ERANGE} {
		_, err := parseKernelInt(in)
		assert.ErrorIs(t, err, want, in)
	}
}

func TestBitmapFormats(t *testing.T) {
	assert.Equal(t, "3", bitmapHex(2, 2))
	assert.Equal(t, "ff", bitmapHex(8, 8))
	assert.Equal(t, "f,ffffffff", bitmapHex(36, 36))
	assert.Equal(t, "ffffffff,ffffffff", bitmapHex(64, 64))
	assert.Equal(t, "0-3", bitmapList(4))
}

// TestCallerAwareOperations: an inode looked up by one caller and used by
// another (a directory descriptor kept over fork and setuid) is checked
// against the one that uses it, through the *For methods.
func TestCallerAwareOperations(t *testing.T) {
	s := newScene(t)
	r := s.resolver(1000, 1000)
	lookup := func(name string) vfs.Inode {
		p, err := r.Resolve(r.Root, name, vfs.NoFollow)
		require.NoError(t, err)
		defer p.DecRef()
		return p.Inode
	}
	other := vfs.Caller{PID: 2000, TID: 2000}
	type openFor interface {
		OpenFor(vfs.Caller, uint32) (vfs.Handle, error)
	}
	type linkFor interface {
		ReadlinkFor(vfs.Caller) (string, error)
		FollowFor(vfs.Caller) (vfs.Path, error)
	}
	environ := lookup("/proc/1000/environ")
	_, err := environ.(vfs.Opener).Open(0)
	assert.NoError(t, err, "as the caller that looked it up")
	_, err = environ.(openFor).OpenFor(other, 0)
	assert.ErrorIs(t, err, linux.EACCES)

	exe := lookup("/proc/1000/exe")
	_, err = exe.(linkFor).ReadlinkFor(other)
	assert.ErrorIs(t, err, linux.EACCES)
	_, err = exe.(linkFor).FollowFor(other)
	assert.ErrorIs(t, err, linux.EACCES)
	text, err := exe.(linkFor).ReadlinkFor(vfs.Caller{PID: 900, TID: 900})
	require.NoError(t, err)
	assert.Equal(t, "/usr/bin/cat", text)

	self := lookup("/proc/self")
	text, err = self.(interface {
		ReadlinkFor(vfs.Caller) (string, error)
	}).ReadlinkFor(other)
	require.NoError(t, err)
	assert.Equal(t, "2000", text)

	// proc_fd_permission: a process that is not dumpable may still list
	// its own descriptors (the directory belongs to root, mode 0500).
	s.cat.setInfo(func(i *ProcessInfo) { i.Dumpable = false })
	fd := lookup("/proc/1000/fd").(interface {
		CheckPermission(vfs.Caller, int) error
	})
	own := vfs.Caller{PID: 1000, TID: 1001, Creds: &vfs.Creds{UID: 1000, GID: 1000}}
	assert.NoError(t, fd.CheckPermission(own, vfs.MayRead|vfs.MayExec))
	child := vfs.Caller{PID: 1002, TID: 1002, Creds: &vfs.Creds{UID: 1000, GID: 1000}}
	assert.ErrorIs(t, fd.CheckPermission(child, vfs.MayRead), linux.EACCES)
	assert.NoError(t, fd.CheckPermission(vfs.Caller{PID: 900, TID: 900, Creds: &vfs.Creds{FileCaps: true}}, vfs.MayRead))
}
