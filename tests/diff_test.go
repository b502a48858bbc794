package tests

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// i386Supported switches the i386 variants of the guests on. Until cmaemu
// runs i386 guests they are listed but skipped.
const i386Supported = true

// cmaSupported switches the Cross Memory Attach guests (cma_*: fork plus
// process_vm_readv/process_vm_writev) on; threadsSupported those that also
// create threads (cma_thread). Until cmaemu implements them they are listed
// but skipped.
const (
	cmaSupported     = true
	threadsSupported = true
)

// DirArg in a guest's args stands for the (absolute) directory the guest
// runs in.
const DirArg = "{dir}"

// Guest is one entry of the differential table: a run of testdata/bin/PROG.*
// with the given arguments, extra environment and stdin.
type Guest struct {
	Name     string   // subtest name (unique); PROG when Prog is empty
	Prog     string   // testdata/src/PROG.c
	Args     []string // argv[1:]; DirArg is replaced by the run directory
	Env      []string // added to the environment, "KEY=value"
	Stdin    string   // empty: /dev/null
	Variants []string // nil: AllVariants
	Want     Status   // the native result the guest is written to give
	Stderr   bool     // compare stderr too
	CMA      bool     // uses fork and process_vm_readv/writev: needs cmaSupported
	Threads  bool     // creates threads: needs threadsSupported
	// CrossABI: the 64-bit variants exec the i386 build, so their native
	// run needs a host that runs i386 too (see golden_test.go).
	CrossABI bool
	// AsRoot: the guest's output is written for root (a non-root run
	// prints other lines). Where its oracle is a golden file recorded as
	// root and the tests do not run as root, the emulated guest starts
	// as root (--uid 0 --gid 0): its credentials are cmaemu's own.
	AsRoot bool
	// Known, when not empty, is a known difference between cmaemu and
	// Linux that the entry shows: the guest still runs natively (and must
	// give Want), then the subtest is skipped with Known as the reason
	// instead of running under cmaemu. The guest stays exact to Linux.
	Known string
}

func (g Guest) prog() string {
	if g.Prog != "" {
		return g.Prog
	}
	return g.Name
}

func (g Guest) variants() []string {
	if g.Variants != nil {
		return g.Variants
	}
	return AllVariants
}

var guests = []Guest{
	// hello prints its argv[0]: the dynamic i386 build's name differs
	// from the i386 oracle's, so it has no i386dyn variant.
	{Name: "hello", Args: []string{"one", "two words", ""}, Env: []string{"CMAEMU_TEST=differential"},
		Variants: staticVariants, Want: Exited(0), Stderr: true},
	{Name: "hello-noenv", Prog: "hello", Variants: staticVariants, Want: Exited(0), Stderr: true},

	{Name: "exitcode", Want: Exited(42)},
	{Name: "exitcode-0", Prog: "exitcode", Args: []string{"0"}, Want: Exited(0)},
	{Name: "exitcode-7", Prog: "exitcode", Args: []string{"7"}, Want: Exited(7)},
	{Name: "exitcode-255", Prog: "exitcode", Args: []string{"255"}, Want: Exited(255)},
	{Name: "exitcode-256", Prog: "exitcode", Args: []string{"256"}, Want: Exited(0)},

	{Name: "malloc", Want: Exited(0)},

	{Name: "fileio", Want: Exited(0)},
	{Name: "fileio-absdir", Prog: "fileio", Args: []string{DirArg}, Want: Exited(0)},

	{Name: "writev", Stdin: "first line\nsecond line, a little longer than the first\n", Want: Exited(0)},
	{Name: "writev-nostdin", Prog: "writev", Want: Exited(0)},

	{Name: "mprotect", Want: Killed(syscall.SIGSEGV)},
	{Name: "mprotect-exec", Prog: "mprotect", Args: []string{"exec"}, Want: Killed(syscall.SIGSEGV)},
	{Name: "segv_null", Want: Killed(syscall.SIGSEGV)},
	{Name: "segv_null-read", Prog: "segv_null", Args: []string{"read"}, Want: Killed(syscall.SIGSEGV)},
	{Name: "jump_unmapped", Want: Killed(syscall.SIGSEGV)},
	{Name: "garbage", Want: Killed(syscall.SIGILL)},
	{Name: "garbage-ud0", Prog: "garbage", Args: []string{"ud0"}, Want: Killed(syscall.SIGILL)},
	{Name: "garbage-lock", Prog: "garbage", Args: []string{"lock"}, Want: Killed(syscall.SIGILL)},
	{Name: "privileged", Want: Killed(syscall.SIGSEGV)},
	{Name: "privileged-cli", Prog: "privileged", Args: []string{"cli"}, Want: Killed(syscall.SIGSEGV)},
	{Name: "privileged-in", Prog: "privileged", Args: []string{"in"}, Want: Killed(syscall.SIGSEGV)},

	// Cross Memory Attach. The i386 variants (compat syscalls 347/348)
	// come later; cma_perm needs root for its uid changes (it prints
	// "skipped: not root" lines otherwise, in both runs).
	{Name: "cma_args", Variants: cmaVariants, Want: Exited(0), CMA: true},
	{Name: "cma_pid", Variants: cmaVariants, Want: Exited(0), CMA: true},
	{Name: "cma_partial", Variants: cmaVariants, Want: Exited(0), CMA: true},
	{Name: "cma_pages", Variants: cmaVariants, Want: Exited(0), CMA: true},
	{Name: "cma_cap", Variants: cmaVariants, Want: Exited(0), CMA: true},
	{Name: "cma_perm", Variants: cmaVariants, Want: Exited(0), CMA: true, AsRoot: true},
	{Name: "cma_thread", Variants: cmaVariants, Want: Exited(0), CMA: true, Threads: true},
	// Asynchronous signals whose handlers use SSE: the frame keeps the
	// state. Not i386: qemu-i386, the golden files' oracle on hosts
	// without i386, loses the x87 state across signals.
	{Name: "sig_fpstate", Variants: staticVariants, Want: Exited(0)},
	// The x87 stack and control word through handlers that leave the FPU
	// changed, in this process and in a forked child.
	{Name: "sig_x87", Variants: fpuVariants, Want: Exited(0)},
	// The FPU state Linux gives a process: at start, across fork and
	// threads, in handlers and their frames, through sigreturn.
	{Name: "fpu_state", Variants: fpuVariants, Want: Exited(0), Threads: true},
	{Name: "fpu_state-badmxcsr", Prog: "fpu_state", Variants: fpuVariants, Args: []string{"badmxcsr"}, Want: Killed(syscall.SIGSEGV)},
	// The two-process exchange that cmaemu demo runs.
	{Name: "cma_demo", Variants: cmaVariants, Want: Exited(0), CMA: true},
	// The i386 (compat) rules: 32-bit iovecs, flags and counts, the top
	// of a compat task (0xffffe000) and the 64-bit range check of local
	// elements.
	{Name: "cma_compat", Variants: []string{I386}, Want: Exited(0), CMA: true},
	// 64-bit and 32-bit processes reading and writing each other: each
	// build execs the other ABI's build of itself as the remote.
	{Name: "cma_cross", Variants: staticVariants, Want: Exited(0), CMA: true, CrossABI: true},

	// The filesystem view: path resolution and errors, and permissions
	// with the guest's credentials (as root, and as uid 1000 after
	// setuid).
	{Name: "fs_path", Args: []string{DirArg}, Want: Exited(0)},
	{Name: "fs_perm", Args: []string{DirArg}, Want: Exited(0), AsRoot: true},
	{Name: "fs_lock", Args: []string{DirArg}, Want: Exited(0)},
	{Name: "fs_shm", Args: []string{DirArg}, Want: Exited(0), AsRoot: true},
	// fs_fifo: FIFOs in a host directory (the host's, with an
	// interruptible open) and in cmaemu's tmpfs (the kernel's pipes,
	// with fifo_open's waits and pipe_poll's rules).
	{Name: "fs_fifo", Args: []string{DirArg, "/dev/shm"}, Want: Exited(0)},
	{Name: "rel_shfile", Args: []string{DirArg, "pwrite_unmap", "rdonly_first", "append", "mprotect", "msync"},
		Variants: []string{"glibc", "musl"}, Want: Exited(0)},
	{Name: "rel_shfile-coherent", Prog: "rel_shfile", Args: []string{DirArg, "coherent"},
		Variants: []string{"glibc", "musl"}, Want: Exited(0)},
	// /proc as a process sees itself and its child, /proc/PID/mem.
	{Name: "proc_self", Variants: staticVariants, Want: Exited(0), AsRoot: true},

	// The process model (proc_*.c; the helpers are in src/proc.h). Each
	// guest is a table of cases and argv names the cases to run (all of
	// them without arguments). A case whose run under cmaemu differs from
	// Linux has an entry of its own with the difference in Known.
	{Name: "proc_wait", Variants: procVariants, Want: Exited(0),
		Args: []string{"exit_codes", "signaled", "wnohang", "echild", "wait_any", "wait4", "waitid"}},
	{Name: "proc_wait-wnowait", Prog: "proc_wait", Variants: procVariants, Args: []string{"wnowait"}, Want: Exited(0)},
	{Name: "proc_cow", Variants: procVariants, Want: Exited(0),
		Args: []string{"cow_page", "cow_big", "shared_anon"}},
	{Name: "proc_cow-shared_counter", Prog: "proc_cow", Variants: procVariants, Args: []string{"shared_counter"}, Want: Exited(0)},
	{Name: "proc_cow-shared_file", Prog: "proc_cow", Variants: procVariants, Args: []string{"shared_file"}, Want: Exited(0)},
	{Name: "proc_pipe", Variants: procVariants, Want: Exited(0),
		Args: []string{"pipeline", "eof", "cloexec", "dup", "atomic"}},
	{Name: "proc_pipe-nonblock", Prog: "proc_pipe", Variants: procVariants, Args: []string{"nonblock"}, Want: Exited(0)},
	{Name: "proc_pipe-poll", Prog: "proc_pipe", Variants: procVariants, Args: []string{"poll"}, Want: Exited(0)},
	{Name: "proc_pipe-select", Prog: "proc_pipe", Variants: []string{Glibc}, Args: []string{"select"}, Want: Exited(0)},
	{Name: "proc_pipe-select-musl", Prog: "proc_pipe", Variants: []string{Musl}, Args: []string{"select"}, Want: Exited(0)},
	{Name: "proc_fork", Variants: procVariants, Want: Exited(0)},
	{Name: "proc_exec", Variants: procVariants, Want: Exited(0),
		Args: []string{"same_pid", "exec_signals", "script"}},
	{Name: "proc_exec-chain", Prog: "proc_exec", Variants: procVariants, Args: []string{"chain"}, Want: Exited(0)},
	{Name: "proc_exec-errors", Prog: "proc_exec", Variants: procVariants, Args: []string{"errors"}, Want: Exited(0)},
	{Name: "proc_exec-fdexec", Prog: "proc_exec", Variants: procVariants, Args: []string{"fdexec"}, Want: Exited(0)},
	// rel_hostblock: signals and kills end waits on host descriptors
	// (a FIFO in the run directory), and execve does not wait for a
	// thread blocked reading one.
	{Name: "rel_hostblock", Variants: procVariants, Want: Exited(0), Threads: true},
	// rel_forkpin: a read blocked in one thread keeps its buffer when
	// another thread forks and writes the page.
	{Name: "rel_forkpin", Variants: procVariants, Want: Exited(0), Threads: true},
	// rel_code: code the kernel (read, process_vm_writev), the thread
	// itself or another thread writes into an executable page runs as
	// written.
	{Name: "rel_code", Variants: procVariants, Want: Exited(0), CMA: true},
	// sig_altstack: sigaltstack and SA_ONSTACK (a stack overflow caught
	// on the alternate stack, nesting, SS_AUTODISARM, fork and threads).
	{Name: "sig_altstack", Want: Exited(0), Threads: true},
	{Name: "proc_kill", Variants: procVariants, Want: Exited(0),
		Args: []string{"group", "handlers", "probe", "threads"}},
	{Name: "proc_kill-stopcont", Prog: "proc_kill", Variants: procVariants, Args: []string{"stopcont"}, Want: Exited(0)},
	{Name: "proc_sigpipe", Variants: procVariants, Want: Exited(0),
		Args: []string{"killed", "handled", "reader_dies"}},
	{Name: "proc_sigpipe-ignored", Prog: "proc_sigpipe", Variants: procVariants, Args: []string{"ignored"}, Want: Exited(0)},
	{Name: "proc_signal", Variants: procVariants, Want: Exited(0),
		Args: []string{"handler", "restart", "mask", "suspend", "async"}},
	{Name: "proc_signal-sigchld", Prog: "proc_signal", Variants: procVariants, Args: []string{"sigchld"}, Want: Exited(0)},
	{Name: "proc_signal-sigchld_storm", Prog: "proc_signal", Variants: procVariants, Args: []string{"sigchld_storm"}, Want: Exited(0)},
	{Name: "proc_signal-pending", Prog: "proc_signal", Variants: procVariants, Args: []string{"pending"}, Want: Exited(0)},
	{Name: "proc_signal-segv", Prog: "proc_signal", Variants: procVariants, Args: []string{"segv"}, Want: Exited(0)},
	{Name: "proc_signal-alarm", Prog: "proc_signal", Variants: []string{Glibc}, Args: []string{"alarm"}, Want: Exited(0)},
	{Name: "proc_signal-alarm-musl", Prog: "proc_signal", Variants: []string{Musl}, Args: []string{"alarm"}, Want: Exited(0)},
	{Name: "proc_creds", Variants: procVariants, Want: Exited(0),
		Args: []string{"resuid", "reuid", "setuid", "seteuid", "resgid", "groups", "fsuid"}},
	{Name: "proc_creds-exec_keeps", Prog: "proc_creds", Variants: procVariants, Args: []string{"exec_keeps"}, Want: Exited(0)},
	{Name: "proc_vfork", Variants: procVariants, Want: Exited(0)},
	{Name: "proc_session", Variants: procVariants, Want: Exited(0),
		Args: []string{"orphan", "setsid", "setpgid"}},
	{Name: "proc_session-subreaper", Prog: "proc_session", Variants: procVariants, Args: []string{"subreaper"}, Want: Exited(0)},
	{Name: "proc_thread", Variants: procVariants, Want: Exited(0), Threads: true,
		Args: []string{"sum", "ids", "texit", "tsignal", "exit_group"}},
	{Name: "proc_thread-pingpong", Prog: "proc_thread", Variants: procVariants, Args: []string{"pingpong"}, Want: Exited(0), Threads: true},
	{Name: "proc_thread-mutex", Prog: "proc_thread", Variants: procVariants, Args: []string{"mutex"}, Want: Exited(0), Threads: true},
	{Name: "proc_thread-fork_thread", Prog: "proc_thread", Variants: []string{Glibc}, Args: []string{"fork_thread"}, Want: Exited(0), Threads: true},
	{Name: "proc_thread-fork_thread-musl", Prog: "proc_thread", Variants: []string{Musl}, Args: []string{"fork_thread"}, Want: Exited(0), Threads: true},
	{Name: "proc_thread-exec_thread", Prog: "proc_thread", Variants: procVariants, Args: []string{"exec_thread"}, Want: Exited(0), Threads: true},

	// What ld.so and libc ask the kernel at start-up and programs use
	// (sys_*.c, with helpers in src/sys.h): resource limits, nice values
	// and scheduling policies, personality and capabilities; CPU
	// affinity and getcpu, sysinfo, times, getrusage, getrandom; madvise,
	// mlock, mincore, membarrier, NUMA policies and arch_prctl. The i386
	// entries (static and dynamic builds) run the cases qemu-i386 (the
	// i386 oracle where the host runs no i386 programs) answers as Linux
	// does; the others are covered for i386 by the Go tests of package
	// syscalls.
	{Name: "sys_limits", Variants: procVariants, Want: Exited(0), AsRoot: true},
	{Name: "sys_limits-i386", Prog: "sys_limits", Variants: []string{I386, I386Dyn}, Args: []string{"nice", "sched", "pers", "caps"},
		Want: Exited(0), AsRoot: true},
	{Name: "sys_cpu", Variants: procVariants, Want: Exited(0), AsRoot: true},
	{Name: "sys_cpu-i386", Prog: "sys_cpu", Variants: []string{I386, I386Dyn}, Args: []string{"affinity", "sysinfo", "times", "rusage", "random"},
		Want: Exited(0), AsRoot: true},
	{Name: "sys_memory", Variants: procVariants, Want: Exited(0), AsRoot: true},

	// Guest code running in parallel (thr_*.c, mm_unmap_race.c).
	// thr_atomic: lock-prefixed read-modify-writes (inc, xadd, cmpxchg,
	// xchg, cmpxchg8b, add/sub/and/or/xor, bts/btr/btc, byte and word
	// sizes, operands not naturally aligned inside one cache line) by
	// four threads, and by four forked processes on a MAP_SHARED page;
	// the final values are exact. cmpxchg16b does not exist in 32-bit
	// mode, so its cases are x86-64 only.
	{Name: "thr_atomic-threads", Prog: "thr_atomic", Want: Exited(0), Threads: true,
		Args: []string{"inc_threads", "xadd_threads", "cmpxchg_threads", "spinlock_threads",
			"cmpxchg8b_threads", "alu_threads", "bits_threads", "narrow_threads", "unaligned_threads"}},
	{Name: "thr_atomic-procs", Prog: "thr_atomic", Want: Exited(0),
		Args: []string{"inc_procs", "xadd_procs", "cmpxchg_procs", "spinlock_procs",
			"cmpxchg8b_procs", "alu_procs", "bits_procs", "narrow_procs", "unaligned_procs"}},
	{Name: "thr_atomic-cmpxchg16b", Prog: "thr_atomic", Variants: []string{Glibc, Musl}, Want: Exited(0), Threads: true,
		Args: []string{"cmpxchg16b_threads", "cmpxchg16b_procs"}},
	// thr_sync: pthread mutexes, condition variables, barriers, spin
	// locks and rwlocks under contention; a process-shared mutex and
	// condition variable between forked processes; a thread spinning in
	// user code on a flag another thread sets after 100000 syscalls;
	// pthread_exit of a thread and of the main thread while others run.
	{Name: "thr_sync-mutex", Prog: "thr_sync", Args: []string{"mutex"}, Want: Exited(0), Threads: true},
	{Name: "thr_sync-recursive", Prog: "thr_sync", Args: []string{"recursive"}, Want: Exited(0), Threads: true},
	{Name: "thr_sync-cond", Prog: "thr_sync", Args: []string{"cond"}, Want: Exited(0), Threads: true},
	{Name: "thr_sync-barrier", Prog: "thr_sync", Args: []string{"barrier"}, Want: Exited(0), Threads: true},
	{Name: "thr_sync-spin", Prog: "thr_sync", Args: []string{"spin"}, Want: Exited(0), Threads: true},
	{Name: "thr_sync-rwlock", Prog: "thr_sync", Args: []string{"rwlock"}, Want: Exited(0), Threads: true},
	{Name: "thr_sync-pshared", Prog: "thr_sync", Args: []string{"pshared"}, Want: Exited(0)},
	{Name: "thr_sync-spinflag", Prog: "thr_sync", Args: []string{"spinflag"}, Want: Exited(0), Threads: true},
	{Name: "thr_sync-texit", Prog: "thr_sync", Args: []string{"texit"}, Want: Exited(0), Threads: true},
	{Name: "thr_sync-main_exit", Prog: "thr_sync", Args: []string{"main_exit"}, Want: Exited(0), Threads: true},
	// mm_unmap_race: a page unmapped, made PROT_NONE or dropped with
	// MADV_DONTNEED while another thread loads (and stores) it in a
	// tight loop and a forked child recycles memory: no access after the
	// call returns, no stale or foreign data.
	{Name: "mm_unmap_race-munmap_read", Prog: "mm_unmap_race", Args: []string{"munmap_read"}, Want: Exited(0), Threads: true},
	{Name: "mm_unmap_race-munmap_write", Prog: "mm_unmap_race", Args: []string{"munmap_write"}, Want: Exited(0), Threads: true},
	{Name: "mm_unmap_race-mprotect_read", Prog: "mm_unmap_race", Args: []string{"mprotect_read"}, Want: Exited(0), Threads: true},
	{Name: "mm_unmap_race-mprotect_write", Prog: "mm_unmap_race", Args: []string{"mprotect_write"}, Want: Exited(0), Threads: true},
	{Name: "mm_unmap_race-dontneed_read", Prog: "mm_unmap_race", Args: []string{"dontneed_read"}, Want: Exited(0), Threads: true},
	{Name: "mm_unmap_race-dontneed_write", Prog: "mm_unmap_race", Args: []string{"dontneed_write"}, Want: Exited(0), Threads: true},

	// Inputs that must not break the emulator (rel_*.c). rel_badaddr:
	// non-canonical and kernel-half addresses fault as on Linux (#GP:
	// SI_KERNEL, si_addr 0; page fault: SEGV_MAPERR) and are EFAULT for
	// the kernel, never aliasing a user page. rel_futex: requeue counts
	// (0, INT_MAX, negative, the same futex, a value that differs) and
	// the key rules. rel_getrandom: flags, the MAX_RW_COUNT cut, large
	// buffers.
	{Name: "rel_badaddr-access", Prog: "rel_badaddr", Variants: procVariants, Args: []string{"access"}, Want: Exited(0)},
	{Name: "rel_badaddr-copy", Prog: "rel_badaddr", Variants: procVariants, Args: []string{"copy"}, Want: Exited(0)},
	{Name: "rel_futex-args", Prog: "rel_futex", Args: []string{"args"}, Want: Exited(0)},
	{Name: "rel_futex-requeue", Prog: "rel_futex", Args: []string{"requeue"}, Want: Exited(0), Threads: true},
	{Name: "rel_futex-mixed", Prog: "rel_futex", Args: []string{"mixed"}, Want: Exited(0), Threads: true},
	{Name: "rel_getrandom", Args: []string{"flags", "count", "big"}, Want: Exited(0)},
	// rel_sigret32: segment selectors an i386 handler leaves in its frame
	// (bad FS/GS become 0; a bad CS or SS is SIGSEGV at the restored
	// state), never an internal error.
	{Name: "rel_sigret32", Variants: []string{I386, I386Dyn}, Args: []string{"fs", "gs", "cs_ss"}, Want: Exited(0)},
	// rel_sigret: CS and SS an x86-64 handler leaves in its frame (a bad
	// one is SIGSEGV at the restored state; UC_STRICT_RESTORE_SS).
	{Name: "rel_sigret", Variants: procVariants, Args: []string{"cs", "ss", "ss_lax"}, Want: Exited(0)},
	// rel_limits: RLIMIT_AS (mmap, mremap, brk), RLIMIT_FSIZE (short
	// write, then SIGXFSZ and EFBIG), RLIMIT_DATA (private writable
	// mappings and brk), vm.max_map_count and RLIMIT_CPU
	// (SIGXCPU each second, SIGKILL at the hard limit), each in a
	// child that sets the limit.
	{Name: "rel_limits", Variants: procVariants, Args: []string{"as", "fsize", "data", "maps", "cpu"}, Want: Exited(0)},
	// rel_tasks: RLIMIT_NPROC in fork, vfork and pthread_create (its
	// fork bomb runs in tasks_test.go, under --max-tasks).
	{Name: "rel_tasks", Variants: procVariants, Args: []string{"nproc"}, Want: Exited(0), AsRoot: true, Threads: true},
}

// staticVariants are the statically linked builds.
var staticVariants = []string{Glibc, Musl, I386}

// procVariants are the variants the proc_* guests are built for.
var procVariants = []string{Glibc, Musl}

// fpuVariants are the variants of the guests of the FPU state (x86-64:
// where the i386 oracle is qemu-i386 it cannot be trusted with the x87
// state across signals).
var fpuVariants = []string{Glibc, Musl}

// cmaVariants are the variants the CMA guests are built for (their
// "// variants:" marker).
var cmaVariants = []string{Glibc, Musl, I386, I386Dyn}

func TestMain(m *testing.M) {
	// Native deaths by signal must not drop core files into the guests'
	// directories (nor take the time to write them).
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_CORE, &lim) == nil {
		lim.Cur = 0
		_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &lim)
	}
	tmp, err := os.MkdirTemp("", "cmaemu-tests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		os.Exit(2)
	}
	if err := PrepareBinaries(tmp); err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		os.RemoveAll(tmp)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// TestGuests runs every guest variant natively and under cmaemu, in the same
// fresh directory with the same argv, environment and stdin, and requires
// equal stdout and equal exit status (a native death by signal N must be
// cmaemu's exit status 128+N).
func TestGuests(t *testing.T) {
	cmaemu := CmaemuPath(t)
	for _, g := range guests {
		t.Run(g.Name, func(t *testing.T) {
			for _, v := range g.variants() {
				t.Run(v, func(t *testing.T) {
					if v == I386 && !i386Supported {
						t.Skip("i386 guests: not yet supported by cmaemu")
					}
					if g.CMA && !cmaSupported {
						t.Skip("CMA guests: not yet supported by cmaemu")
					}
					if g.Threads && !threadsSupported {
						t.Skip("threaded guests: not yet supported by cmaemu")
					}
					t.Parallel()
					diffGuest(t, cmaemu, g, v)
				})
			}
		})
	}
}

func diffGuest(t *testing.T, cmaemu string, g Guest, variant string) {
	prog := GuestPath(t, g.prog(), variant)
	dir := t.TempDir()
	args := make([]string, len(g.Args))
	for i, a := range g.Args {
		args[i] = strings.ReplaceAll(a, DirArg, dir)
	}
	env := GuestEnv(g.Env)

	native := Oracle(t, g, variant, prog, args, env, dir)
	AssertDirEmpty(t, dir, "native")
	if g.Known != "" && os.Getenv("CMAEMU_KNOWN") == "" { // the native run above still checks the guest; CMAEMU_KNOWN=1 runs them anyway
		t.Skip("known cmaemu difference: " + g.Known)
	}

	emu := RunEmulated(t, cmaemu, EmulatorFlags(t, g, variant), prog, args, env, dir, g.Stdin)
	require.False(t, emu.TimedOut, "cmaemu timed out after %v; stdout so far:\n%s\nstderr:\n%s",
		RunTimeout, emu.Stdout, emu.Stderr)
	assert.Equal(t, native.Stdout, emu.Stdout, "stdout differs (native %v)", native.Status)
	assert.Equal(t, native.Status.Emulated().String(), emu.Status.String(),
		"exit status differs: natively the guest ended with %v; cmaemu stderr:\n%s", native.Status, emu.Stderr)
	AssertNoPanic(t, emu.Stderr)
	if g.Stderr {
		assert.Equal(t, native.Stderr, emu.Stderr, "stderr differs")
	}
	if native.Status.Signal != 0 && native.Stderr == "" {
		AssertOneLine(t, emu.Stderr, "cmaemu's stderr for a guest killed by a signal")
	}
	AssertDirEmpty(t, dir, "cmaemu")
}

// TestGuestTable checks that the table covers every guest source, names
// sources that exist, and lists the variants each source's
// "// variants:" marker builds.
func TestGuestTable(t *testing.T) {
	srcDir := filepath.Join(RepoRoot(t), "testdata", "src")
	sources, err := filepath.Glob(filepath.Join(srcDir, "*.c"))
	require.NoError(t, err)
	require.NotEmpty(t, sources, "no guest sources in %s", srcDir)

	built := map[string][]string{} // prog -> variants the Makefile builds
	for _, src := range sources {
		text, err := os.ReadFile(src)
		require.NoError(t, err)
		first, _, _ := strings.Cut(string(text), "\n")
		variants := AllVariants
		if rest, ok := strings.CutPrefix(strings.TrimSpace(first), "//"); ok {
			if list, ok := strings.CutPrefix(strings.TrimSpace(rest), "variants:"); ok {
				variants = strings.Fields(list)
			}
		}
		built[strings.TrimSuffix(filepath.Base(src), ".c")] = variants
	}

	names := map[string]bool{}
	covered := map[string]bool{}
	for _, g := range guests {
		assert.False(t, names[g.Name], "duplicate guest name %q", g.Name)
		names[g.Name] = true
		variants, ok := built[g.prog()]
		if !assert.True(t, ok, "guest %q: no testdata/src/%s.c", g.Name, g.prog()) {
			continue
		}
		covered[g.prog()] = true
		for _, v := range g.variants() {
			assert.True(t, slices.Contains(variants, v),
				"guest %q: variant %q is not built (source marker lists %v)", g.Name, v, variants)
		}
	}
	for prog := range built {
		if reason, ok := notDifferential[prog]; ok {
			assert.NotEmpty(t, reason)
			continue
		}
		assert.True(t, covered[prog], "testdata/src/%s.c has no entry in the guest table", prog)
	}
}

// notDifferential are the guest sources that other suites run, with the
// suite: they have no entry in the differential table.
var notDifferential = map[string]string{
	"cpu_runner": "the runner of the randomized CPU suite, tests/cpu",
}

// TestCLIBadInput feeds cmaemu programs it must refuse. Each refusal is a
// documented exit status with exactly one line on stderr, nothing on
// stdout, and no Go panic.
func TestCLIBadInput(t *testing.T) {
	cmaemu := CmaemuPath(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o755))
		return p
	}

	hello, err := os.ReadFile(GuestPath(t, "hello", Glibc))
	require.NoError(t, err)
	require.Greater(t, len(hello), 64)

	text := write("not-elf", []byte("this is a text file with its exec bit set, not an ELF program\n"))
	truncated := write("truncated-elf", hello[:64])
	arm := write("aarch64-elf", aarch64ELF())
	missing := filepath.Join(dir, "no-such-program")

	cases := []struct {
		name string
		args []string
		want int
	}{
		{"not-elf", []string{"run", "--", text}, 126},
		{"truncated-elf", []string{"run", "--", truncated}, 126},
		{"aarch64-elf", []string{"run", "--", arm}, 126},
		{"missing-file", []string{"run", "--", missing}, 127},
		{"unknown-flag", []string{"run", "--bogus", "x"}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := Exec(t, Run{Argv: append([]string{cmaemu}, c.args...), Env: GuestEnv(nil), Dir: dir})
			require.False(t, res.TimedOut, "cmaemu timed out after %v", RunTimeout)
			assert.Equal(t, Exited(c.want).String(), res.Status.String(), "stderr:\n%s", res.Stderr)
			AssertOneLine(t, res.Stderr, "stderr")
			AssertNoPanic(t, res.Stderr)
			assert.Empty(t, res.Stdout, "stdout")
		})
	}
}

// aarch64ELF is a complete, valid static AArch64 Linux program (exit(0)):
// an ELF64 header, one PT_LOAD program header and three instructions. cmaemu
// must refuse it for its machine, not for its shape.
func aarch64ELF() []byte {
	const (
		base      = 0x400000
		ehsize    = 64
		phsize    = 56
		emAArch64 = 183
	)
	code := []uint32{
		0xd2800000, // mov x0, #0
		0xd2800ba8, // mov x8, #93 (exit)
		0xd4000001, // svc #0
	}
	size := ehsize + phsize + 4*len(code)
	var b bytes.Buffer
	le := binary.LittleEndian
	put := func(v any) { _ = binary.Write(&b, le, v) }

	b.Write([]byte{0x7f, 'E', 'L', 'F', 2 /* ELFCLASS64 */, 1 /* LSB */, 1 /* EV_CURRENT */, 0 /* SYSV */})
	b.Write(make([]byte, 8))            // EI_ABIVERSION, padding
	put(uint16(2))                      // e_type: ET_EXEC
	put(uint16(emAArch64))              // e_machine
	put(uint32(1))                      // e_version
	put(uint64(base + ehsize + phsize)) // e_entry
	put(uint64(ehsize))                 // e_phoff
	put(uint64(0))                      // e_shoff
	put(uint32(0))                      // e_flags
	put(uint16(ehsize))                 // e_ehsize
	put(uint16(phsize))                 // e_phentsize
	put(uint16(1))                      // e_phnum
	put(uint16(64))                     // e_shentsize
	put(uint16(0))                      // e_shnum
	put(uint16(0))                      // e_shstrndx

	put(uint32(1))      // p_type: PT_LOAD
	put(uint32(5))      // p_flags: R|X
	put(uint64(0))      // p_offset
	put(uint64(base))   // p_vaddr
	put(uint64(base))   // p_paddr
	put(uint64(size))   // p_filesz
	put(uint64(size))   // p_memsz
	put(uint64(0x1000)) // p_align
	put(code)
	return b.Bytes()
}
