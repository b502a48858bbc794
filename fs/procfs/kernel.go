package procfs

import (
	"time"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/mm"
)

// Kernel is what procfs reads of the kernel. The kernel implements it
// (and Process and Task) over its own tables; procfs never looks at the
// host. Methods are called without any procfs lock held and may be
// called concurrently.
type Kernel interface {
	// PIDs lists the thread-group ids of the guest's processes, zombies
	// included, in ascending order: the numeric entries of /proc. Never
	// a host process or the emulator itself.
	PIDs() []int32
	// Task returns the thread whose id is tid, of any process (a
	// thread-group leader's tid is its pid), or nil (an interface nil,
	// not a nil pointer in one) if there is none or it has been reaped.
	Task(tid int32) Task
	// MayAccess is __ptrace_may_access(target, mode) with c as current:
	// true if c is in target's thread group; else, with the caller's
	// fsuid and fsgid (PtraceFSCreds) or real uid and gid
	// (PtraceRealCreds) equal to all of the target's uids and gids
	// (real, effective, saved) and the target dumpable, or with
	// CAP_SYS_PTRACE (euid 0) — and then, for PtraceAttach, whatever the
	// Yama scope that System reports demands (1: the target is a
	// descendant of the caller, or the caller has CAP_SYS_PTRACE; 2:
	// CAP_SYS_PTRACE; 3: never).
	MayAccess(c vfs.Caller, target Process, mode AccessMode) bool
	// System describes the emulated machine now.
	System() System
}

// SysVIPC is implemented by a Kernel with System V IPC: the texts of
// /proc/sysvipc/shm, sem and msg, in Linux's formats, header included.
type SysVIPC interface {
	ProcShm() string
	ProcSem() string
	ProcMsg() string
}

// AccessMode is a ptrace access mode (PTRACE_MODE_*): one of PtraceRead
// and PtraceAttach, with one of PtraceFSCreds and PtraceRealCreds.
type AccessMode uint8

// Access modes.
const (
	PtraceRead AccessMode = 1 << iota
	PtraceAttach
	PtraceFSCreds
	PtraceRealCreds
)

// The combinations procfs asks for.
const (
	PtraceReadFSCreds   = PtraceRead | PtraceFSCreds
	PtraceAttachFSCreds = PtraceAttach | PtraceFSCreds
)

// Process is a thread group.
type Process interface {
	// PID is the thread-group id.
	PID() int32
	// Info returns a snapshot of the process's state.
	Info() ProcessInfo
	// Tasks lists the threads, the leader first.
	Tasks() []Task
	// MM returns the address space with a user reference
	// (mm.MM.AddUser) that procfs drops with DropUser, or nil when the
	// process has none (it is exiting or a zombie).
	MM() *mm.MM
	// Auxv returns the auxiliary vector of the last execve as the
	// process's ABI lays it out (Elf64_auxv_t or Elf32_auxv_t pairs), up
	// to and including AT_NULL; nil if there is none.
	Auxv() []byte
	// FDs lists the open file descriptors in ascending order (none for a
	// zombie).
	FDs() []int32
	// File describes descriptor fd; ok is false if it is not open. The
	// File's Path carries a reference that procfs drops.
	File(fd int32) (f File, ok bool)
	// Path returns the executable, working directory or root directory
	// with a reference that procfs drops; ok is false when there is none
	// (the process has exited).
	Path(which PathKind) (p vfs.Path, ok bool)
	// SetOOMScoreAdj stores oom_score_adj and oom_score_adj_min; procfs
	// has applied Linux's rules (range, CAP_SYS_RESOURCE).
	SetOOMScoreAdj(adj, min int16)
}

// Task is a thread. Task and Process values must be comparable, and the
// same thread or process is always the same value (a pointer): procfs
// tells a thread from a later one that got its id by comparing them.
type Task interface {
	// TID is the thread id.
	TID() int32
	// Process is the thread group the task belongs to.
	Process() Process
	// Info returns a snapshot of the thread's state.
	Info() TaskInfo
	// SetComm sets the thread's name; procfs has cut it to at most 15
	// bytes.
	SetComm(comm string)
}

// PathKind names one of a process's paths.
type PathKind int

// Paths of a process.
const (
	PathExe  PathKind = iota // /proc/PID/exe: the executable of the last execve
	PathCwd                  // /proc/PID/cwd: the working directory
	PathRoot                 // /proc/PID/root: the root directory (chroot)
)

// Creds are a process's credentials.
type Creds struct {
	RUID, EUID, SUID, FSUID uint32
	RGID, EGID, SGID, FSGID uint32
	Groups                  []uint32
}

// ProcessInfo is the state of a thread group that /proc/PID shows.
// Signal sets have bit n-1 for signal n.
type ProcessInfo struct {
	PPID, PGID, SID int32
	// TTY is the controlling terminal's device number in stat's
	// encoding (tty_nr), 0 for none; TPGID is its foreground process
	// group, -1 for none.
	TTY   uint32
	TPGID int32
	Creds Creds
	// Dumpable is false after a change of credentials (execve of a
	// set-id program, set*id calls), until prctl(PR_SET_DUMPABLE, 1):
	// then the process's files belong to root and only CAP_SYS_PTRACE
	// may read its memory.
	Dumpable   bool
	Umask      uint32
	NoNewPrivs bool
	// Flags are the leader's PF_* flags (PF_FORKNOEXEC 0x40 for a child
	// that has not called execve, PF_EXITING 0x4 ...); 0 is fine.
	Flags uint32
	// ExitSignal is sent to the parent at exit (SIGCHLD for fork).
	ExitSignal int32
	// ExitCode is a zombie's wait status (0 while it runs).
	ExitCode int32
	// Layout is where execve placed the program and its arguments.
	Layout Layout
	// ChildUTime and ChildSTime are the CPU times of waited-for children.
	ChildUTime, ChildSTime time.Duration
	// SigPending are the process-directed signals pending (ShdPnd);
	// SigIgnored and SigCaught the signals whose disposition is SIG_IGN
	// and a handler.
	SigPending, SigIgnored, SigCaught uint64
	// Limits are the resource limits, indexed by RLIMIT_*.
	Limits [NumLimits]Rlimit
	// OOMScoreAdj and OOMScoreAdjMin are oom_score_adj (-1000..1000) and
	// the lowest value it may be set to without CAP_SYS_RESOURCE.
	OOMScoreAdj, OOMScoreAdjMin int16
	// IO are the counters of /proc/PID/io.
	IO IOCounters
	// Namespace is the mount namespace (for mounts and mountinfo); nil
	// for a zombie.
	Namespace *vfs.Namespace
	// FDSize is the capacity of the descriptor table (status FDSize:).
	FDSize int
}

// Layout is where the program, its data, stack, arguments and
// environment lie (the mm's start_code ... env_end).
type Layout struct {
	StartCode, EndCode, StartData, EndData mm.Addr
	StartBrk, Brk, StartStack              mm.Addr
	ArgStart, ArgEnd, EnvStart, EnvEnd     mm.Addr
}

// IOCounters are the I/O accounting of a process (task_io_accounting).
type IOCounters struct {
	RChar, WChar, SyscR, SyscW             uint64
	ReadBytes, WriteBytes, CancelledWrites uint64
}

// NumLimits is the number of resource limits (RLIM_NLIMITS).
const NumLimits = 16

// Infinity is RLIM_INFINITY.
const Infinity = ^uint64(0)

// Rlimit is one resource limit.
type Rlimit struct {
	Cur, Max uint64 // Infinity for unlimited
}

// TaskInfo is the state of one thread.
type TaskInfo struct {
	// State is the letter of stat: R (running), S (sleeping), D (disk
	// sleep), T (stopped), t (tracing stop), Z (zombie), X (dead).
	State byte
	// Comm is the thread's name (at most 15 bytes).
	Comm string
	// StartTime is when the thread started, since boot.
	StartTime time.Duration
	// UTime and STime are the CPU time spent in guest code and in the
	// kernel.
	UTime, STime time.Duration
	// MinFlt and MajFlt count page faults served without and with I/O.
	MinFlt, MajFlt uint64
	// SigPending are the thread-directed signals pending; SigBlocked the
	// signal mask.
	SigPending, SigBlocked uint64
	// CPU is the processor it last ran on.
	CPU int
	// Voluntary and Involuntary count context switches.
	Voluntary, Involuntary uint64
}

// File is an open file descriptor.
type File struct {
	// Path is where the file lies, with a reference: what
	// /proc/PID/fd/N leads to. Its Inode is nil for files the kernel
	// keeps no inode of; following the link then fails with ENXIO.
	Path vfs.Path
	// Name, if not empty, is the link's text instead of the path:
	// "pipe:[7]", "socket:[9]", "anon_inode:[eventfd]", or a path with
	// " (deleted)".
	Name string
	// Flags are the description's access mode and status flags
	// (O_RDONLY ... O_APPEND, O_NONBLOCK), with O_CLOEXEC if the
	// descriptor has it.
	Flags uint32
	// Pos is the description's position.
	Pos int64
	// MountID and Ino are fdinfo's mnt_id and ino; when zero they are
	// taken from Path.
	MountID, Ino uint64
}

// System describes the emulated machine.
type System struct {
	// CPU is the processor the guest sees (CPUID), NumCPU how many.
	CPU    CPU
	NumCPU int
	// CPUTimes are the times of each CPU (len NumCPU, or nil: zeros).
	CPUTimes []CPUTimes
	// MemTotal and MemFree are the guest RAM's size and its free part,
	// in bytes.
	MemTotal, MemFree uint64
	// BootTime is the wall-clock time of boot (the emulator's start);
	// Uptime the time since.
	BootTime time.Time
	Uptime   time.Duration
	// Load are the 1, 5 and 15 minute load averages.
	Load [3]float64
	// Running and Threads are the runnable and all threads; LastPID the
	// last pid handed out; Forks the processes and threads made since
	// boot; ContextSwitches all switches since boot.
	Running, Threads int
	LastPID          int32
	Forks            uint64
	ContextSwitches  uint64
	// PIDMax is the pid allocator's limit (pids are below it).
	PIDMax int32
	// Hostname, OSRelease and Version are uname's nodename, release and
	// version ("#1 SMP PREEMPT_DYNAMIC ...").
	Hostname, OSRelease, Version string
	// PtraceScope is Yama's ptrace_scope (0 to 3), as MayAccess applies it.
	PtraceScope int
	// OvercommitMemory is vm.overcommit_memory (0, 1 or 2).
	OvercommitMemory int
}

// CPU is what /proc/cpuinfo tells of each processor: the CPUID the guest
// sees.
type CPU struct {
	VendorID                string // "GenuineIntel", "AuthenticAMD"
	Family, Model, Stepping int
	ModelName               string
	MHz                     float64
	CacheKB                 int // 0: no "cache size" line
	CPUIDLevel              int
	// Flags and Bugs are the space-separated names of the flags and
	// bugs lines ("fpu vme de pse tsc ...").
	Flags, Bugs     string
	Bogomips        float64
	TLBSize         int // AMD's "TLB size" line, 0 for none
	ClflushSize     int
	CacheAlignment  int
	PhysBits        int
	VirtBits        int
	PowerManagement string
}

// CPUTimes are the times one CPU spent in each state.
type CPUTimes struct {
	User, Nice, System, Idle, IOWait time.Duration
}
