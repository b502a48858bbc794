package procfs

import (
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// fakeKernel is a kernel of processes laid out by tests: real address
// spaces, made-up everything else.
type fakeKernel struct {
	t   testing.TB
	ram *mm.RAM
	ns  *vfs.Namespace

	mu    sync.Mutex
	procs map[int32]*fakeProc
	tasks map[int32]*fakeTask
	sys   System
}

type fakeProc struct {
	k      *fakeKernel
	pid    int32
	parent int32

	mu    sync.Mutex
	info  ProcessInfo
	tasks []*fakeTask
	as    *mm.MM
	auxv  []byte
	files map[int32]File
	paths map[PathKind]vfs.Path
}

type fakeTask struct {
	tid  int32
	p    *fakeProc
	mu   sync.Mutex
	info TaskInfo
}

var boot = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func newFakeKernel(t testing.TB) *fakeKernel {
	ram, err := mm.NewRAM(64 << 20)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	k := &fakeKernel{t: t, ram: ram, procs: map[int32]*fakeProc{}, tasks: map[int32]*fakeTask{}}
	k.sys = System{
		CPU: CPU{VendorID: "GenuineIntel", Family: 6, Model: 85, Stepping: 4, ModelName: "cmaemu virtual CPU",
			MHz: 2000, CacheKB: 1024, CPUIDLevel: 13, Flags: "fpu vme de pse tsc", Bogomips: 4000,
			ClflushSize: 64, CacheAlignment: 64, PhysBits: 48, VirtBits: 48},
		NumCPU: 2, MemTotal: 64 << 20, MemFree: 60 << 20, BootTime: boot, Uptime: 1234560 * time.Millisecond,
		CPUTimes: []CPUTimes{{User: 3 * time.Second, Idle: 100 * time.Second}, {System: time.Second, Idle: 90 * time.Second}},
		Load:     [3]float64{0.5, 0.25, 0.125}, Running: 1, Threads: 3, LastPID: 1002, Forks: 3, ContextSwitches: 77,
		PIDMax: 4194304, Hostname: "guest", OSRelease: "6.1.0-cmaemu", Version: "#1 SMP PREEMPT_DYNAMIC cmaemu",
		PtraceScope: 1,
	}
	k.ns = vfs.NewNamespace(&emptyDir{}, "ext4", "/dev/root", true)
	return k
}

// proc makes a running process pid (with one thread) of user uid, child
// of parent, with an empty address space.
func (k *fakeKernel) proc(pid, parent int32, uid uint32, comm string) *fakeProc {
	as, err := mm.New(k.ram, mm.Layout64)
	require.NoError(k.t, err)
	p := &fakeProc{k: k, pid: pid, parent: parent, as: as, files: map[int32]File{}, paths: map[PathKind]vfs.Path{}}
	p.info = ProcessInfo{PPID: parent, PGID: pid, SID: parent, TPGID: -1,
		Creds:    Creds{RUID: uid, EUID: uid, SUID: uid, FSUID: uid, RGID: uid, EGID: uid, SGID: uid, FSGID: uid},
		Dumpable: true, Umask: 0o022, ExitSignal: 17, Namespace: k.ns, FDSize: 64}
	for i := range p.info.Limits {
		p.info.Limits[i] = Rlimit{Infinity, Infinity}
	}
	p.info.Limits[3] = Rlimit{8 << 20, Infinity}
	p.info.Limits[7] = Rlimit{1024, 4096}
	p.info.Limits[rlimitSigPending] = Rlimit{7823, 7823}
	root := k.ns.Root()
	p.paths[PathRoot] = root
	root.IncRef()
	p.paths[PathCwd] = root
	t := &fakeTask{tid: pid, p: p, info: TaskInfo{State: 'S', Comm: comm, StartTime: 5 * time.Second, UTime: 2 * time.Second, STime: 30 * time.Millisecond, MinFlt: 10}}
	p.tasks = []*fakeTask{t}
	k.mu.Lock()
	k.procs[pid] = p
	k.tasks[pid] = t
	k.mu.Unlock()
	return p
}

// thread adds thread tid to p.
func (p *fakeProc) thread(tid int32, comm string) *fakeTask {
	t := &fakeTask{tid: tid, p: p, info: TaskInfo{State: 'S', Comm: comm, StartTime: 6 * time.Second, UTime: time.Second, MinFlt: 5}}
	p.mu.Lock()
	p.tasks = append(p.tasks, t)
	p.mu.Unlock()
	p.k.mu.Lock()
	p.k.tasks[tid] = t
	p.k.mu.Unlock()
	return t
}

// exit turns p into a zombie.
func (p *fakeProc) exit() {
	p.mu.Lock()
	as := p.as
	p.as = nil
	for _, f := range p.files {
		f.Path.DecRef()
	}
	p.files = map[int32]File{}
	for k, path := range p.paths {
		path.DecRef()
		delete(p.paths, k)
	}
	p.info.Namespace = nil
	tasks := p.tasks
	p.mu.Unlock()
	for _, t := range tasks {
		t.mu.Lock()
		t.info.State = 'Z'
		t.mu.Unlock()
	}
	as.DropUser()
}

// reap removes p.
func (p *fakeProc) reap() {
	p.k.mu.Lock()
	defer p.k.mu.Unlock()
	delete(p.k.procs, p.pid)
	for _, t := range p.tasks {
		delete(p.k.tasks, t.tid)
	}
}

func (p *fakeProc) setInfo(change func(i *ProcessInfo)) {
	p.mu.Lock()
	change(&p.info)
	p.mu.Unlock()
}

// ---- Kernel ----

func (k *fakeKernel) PIDs() []int32 {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []int32
	for pid := range k.procs {
		out = append(out, pid)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (k *fakeKernel) Task(tid int32) Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	if t := k.tasks[tid]; t != nil {
		return t
	}
	return nil
}

func (k *fakeKernel) System() System {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.sys
}

// MayAccess is Linux's rule, with Yama scope 1 for attaching.
func (k *fakeKernel) MayAccess(c vfs.Caller, target Process, mode AccessMode) bool {
	ct := k.Task(c.TID)
	if ct == nil {
		return false
	}
	me := ct.(*fakeTask).p
	tp := target.(*fakeProc)
	if me == tp {
		return true
	}
	mc, ti := me.Info().Creds, tp.Info()
	uid, gid := mc.RUID, mc.RGID
	if mode&PtraceFSCreds != 0 {
		uid, gid = mc.FSUID, mc.FSGID
	}
	tc := ti.Creds
	capable := mc.EUID == 0
	same := uid == tc.RUID && uid == tc.EUID && uid == tc.SUID && gid == tc.RGID && gid == tc.EGID && gid == tc.SGID
	if !same && !capable || !ti.Dumpable && !capable {
		return false
	}
	if mode&PtraceAttach != 0 && !capable {
		// Yama scope 1: only descendants.
		for q := tp; q != nil; q = k.procs[q.parent] {
			if q == me {
				return true
			}
			if q.parent == q.pid {
				break
			}
		}
		return false
	}
	return true
}

// ---- Process ----

func (p *fakeProc) PID() int32 { return p.pid }

func (p *fakeProc) Info() ProcessInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := p.info
	i.Creds.Groups = append([]uint32(nil), i.Creds.Groups...)
	return i
}

func (p *fakeProc) Tasks() []Task {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Task, len(p.tasks))
	for i, t := range p.tasks {
		out[i] = t
	}
	return out
}

func (p *fakeProc) MM() *mm.MM {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.as != nil {
		p.as.AddUser()
	}
	return p.as
}

func (p *fakeProc) Auxv() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]byte(nil), p.auxv...)
}

func (p *fakeProc) FDs() []int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int32
	for fd := range p.files {
		out = append(out, fd)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (p *fakeProc) File(fd int32) (File, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, ok := p.files[fd]
	if ok {
		f.Path.IncRef()
	}
	return f, ok
}

func (p *fakeProc) Path(which PathKind) (vfs.Path, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	path, ok := p.paths[which]
	if ok {
		path.IncRef()
	}
	return path, ok
}

func (p *fakeProc) SetOOMScoreAdj(adj, min int16) {
	p.mu.Lock()
	p.info.OOMScoreAdj, p.info.OOMScoreAdjMin = adj, min
	p.mu.Unlock()
}

// ---- Task ----

func (t *fakeTask) TID() int32       { return t.tid }
func (t *fakeTask) Process() Process { return t.p }

func (t *fakeTask) Info() TaskInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.info
}

func (t *fakeTask) SetComm(comm string) {
	t.mu.Lock()
	t.info.Comm = comm
	t.mu.Unlock()
}

// ---- inodes for paths ----

// emptyDir is a directory with nothing in it: the root of the test
// namespace.
type emptyDir struct{ vfs.NoRefs }

func (*emptyDir) Attr() (vfs.Attr, error) {
	return vfs.Attr{Dev: 0x801, Ino: 2, Mode: vfs.ModeDir | 0o755, Nlink: 2}, nil
}
func (*emptyDir) Lookup(string) (vfs.Inode, error) { return nil, linux.ENOENT }
func (*emptyDir) Readdir() ([]vfs.Dirent, error)   { return nil, nil }

// refFile is a file whose references are counted, to check that procfs
// drops every reference it is given.
type refFile struct {
	ino  uint64
	refs atomic.Int32
}

func (f *refFile) IncRef() { f.refs.Add(1) }
func (f *refFile) DecRef() { f.refs.Add(-1) }
func (f *refFile) Attr() (vfs.Attr, error) {
	return vfs.Attr{Dev: 0x801, Ino: f.ino, Mode: vfs.ModeRegular | 0o755, Nlink: 1}, nil
}

// mappedFile is an mm.File with an inode, as the kernel's files are.
type mappedFile struct {
	name string
	data []byte
	ino  uint64
}

func (f *mappedFile) ReadAt(b []byte, off int64) (int, error) {
	if off >= int64(len(f.data)) {
		return 0, nil
	}
	return copy(b, f.data[off:]), nil
}
func (f *mappedFile) IncRef()      {}
func (f *mappedFile) DecRef()      {}
func (f *mappedFile) Name() string { return f.name }
func (f *mappedFile) Attr() (vfs.Attr, error) {
	return vfs.Attr{Dev: 0xfe00, Ino: f.ino, Mode: vfs.ModeRegular | 0o755}, nil
}
