package main

import "fmt"

// A Workload is one guest program of bench/src run with fixed arguments.
type Workload struct {
	Name  string // unique; the table's first column
	Group string // cpu, syscall, memory, thread, startup, cma, mpi, scale
	Prog  string // bench/bin/PROG, built from bench/src/PROG.c
	// Path, if set, is a program of the host run instead of Prog (the
	// start-up workloads): its wall time is the figure.
	Path  string
	Args  []string // after "-q" in quick mode; DirArg is the run directory
	About string   // one line for -list
	// N is the number of guest processes for the scale workloads (0 for
	// the others).
	N int
	// Launcher, if set, is a host program with its arguments that starts
	// Prog's processes (mpirun): it runs natively or under cmaemu, and
	// under qemu-user it stays native and starts qemu-x86_64 Prog. A
	// launcher missing from PATH skips the workload ("n/a").
	Launcher []string
	// Env is added to the run's environment; DirArg stands for its
	// scratch directory.
	Env []string
}

// mpiWorkload is the Open MPI ping-pong (bench/src/mpi) over the vader
// BTL with the single-copy mechanism mech (cma or none). TMPDIR keeps
// Open MPI's session files in the run's directory: every cmaemu instance
// gives mpirun the same pid, so runs sharing the host's /tmp would meet
// each other's files.
func mpiWorkload(mech, about string) Workload {
	return Workload{Name: "mpi_" + mech, Group: "mpi", Prog: "mpi_pingpong", Args: []string{mech},
		Launcher: []string{"mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2", "--mca", "pml", "ob1",
			"--mca", "btl", "self,vader", "--mca", "btl_vader_single_copy_mechanism", mech},
		Env:   []string{"TMPDIR=" + DirArg},
		About: "Open MPI ping-pong, 2 ranks, 8 B latency, 64 KiB..16 MiB bandwidth, " + about}
}

// DirArg in Workload.Args stands for the scratch directory of the run.
const DirArg = "{dir}"

// Envs are the runners in table order.
var Envs = []string{EnvNative, EnvQemu, EnvCmaemu}

// The runners.
const (
	EnvNative = "native"
	EnvQemu   = "qemu"
	EnvCmaemu = "cmaemu"
)

// envTitle is a runner's column title.
var envTitle = map[string]string{EnvNative: "native", EnvQemu: "qemu-user", EnvCmaemu: "cmaemu"}

// ChurnN are the thread counts of the mm_churn workloads.
var ChurnN = []int{1, 2, 8}

// WakeMechanisms are the ways the wake-up workloads (bench/src/pingpong.c)
// hand a token between two sides, each run between two processes
// (wake_NAME_proc) and two threads (wake_NAME_thread).
var WakeMechanisms = []struct{ Name, About string }{
	{"pipe", "1 byte through a pipe each way, blocking read"},
	{"futex", "a MAP_SHARED turn word, FUTEX_WAIT / FUTEX_WAKE"},
	{"poll", "eventfd write, poll for POLLIN, read"},
	{"epoll", "eventfd write, epoll_wait, read"},
}

// ScaleN are the process counts of the scale workloads; the first is the
// base of the memory-per-process figure.
var ScaleN = []int{16, 64, 256}

// Workloads are all the benchmark workloads in table order.
var Workloads = func() []Workload {
	w := []Workload{
		{Name: "cpu_hash", Group: "cpu", Prog: "cpu_hash", About: "CRC-32 and SHA-256 over 64 MiB"},
		{Name: "cpu_chase", Group: "cpu", Prog: "cpu_chase", About: "pointer chasing, random cycle over 256 MiB"},
		{Name: "cpu_interp", Group: "cpu", Prog: "cpu_interp", About: "bytecode interpreter, 160M instructions"},
		{Name: "cpu_atomic", Group: "cpu", Prog: "cpu_atomic", About: "10M iterations of arithmetic with xadd and cmpxchg, unlocked and lock-prefixed"},
		{Name: "sys_getppid", Group: "syscall", Prog: "sys_getppid", About: "1M getppid"},
		{Name: "sys_pipe", Group: "syscall", Prog: "sys_pipe", About: "1M one-byte writes to a pipe read by a child"},
		{Name: "sys_open", Group: "syscall", Prog: "sys_open", Args: []string{DirArg}, About: "100k open/close"},
		{Name: "sys_hostfd", Group: "syscall", Prog: "sys_hostfd", Args: []string{DirArg},
			About: "100k each of 1-byte and 4 KiB write(/dev/null), read(/dev/zero), pread(regular file)"},
		{Name: "sys_stat", Group: "syscall", Prog: "sys_stat", Args: []string{DirArg}, About: "100k stat of a file by absolute and by relative path"},
		{Name: "sys_exec_static", Group: "syscall", Prog: "sys_exec", Args: []string{"static"},
			About: "200 fork+execve+exit+wait of a static binary (the guest itself)"},
		{Name: "sys_exec_dynamic", Group: "syscall", Prog: "sys_exec", Args: []string{"dynamic"},
			About: "200 fork+execve+exit+wait of the dynamically linked /bin/true"},
		{Name: "mem_touch", Group: "memory", Prog: "mem_touch", About: "touch 1 GiB of fresh anonymous memory"},
		{Name: "mem_mmap", Group: "memory", Prog: "mem_mmap", About: "100k mmap/touch/munmap of 64 KiB"},
		{Name: "mem_fork", Group: "memory", Prog: "mem_fork", About: "2000 fork+exit+wait"},
		{Name: "mem_forkbig", Group: "memory", Prog: "mem_forkbig", About: "fork with 512 MiB touched (COW set-up), COW breaks"},
	}
	for _, n := range ChurnN {
		who := "1 thread"
		if n > 1 {
			who = fmt.Sprintf("split over %d threads", n)
		}
		w = append(w, Workload{Name: fmt.Sprintf("mm_churn_%d", n), Group: "memory", Prog: "mm_churn",
			Args: []string{fmt.Sprint(n)}, About: "16000 × (mmap, write, mprotect, munmap a page), " + who})
	}
	w = append(w, []Workload{
		{Name: "thr_hash_1", Group: "thread", Prog: "thr_hash", Args: []string{"1"},
			About: "SHA-256, 16 buffers of 256 KiB × 16 passes (64 MiB), 1 thread"},
		{Name: "thr_hash_2", Group: "thread", Prog: "thr_hash", Args: []string{"2"},
			About: "SHA-256, 16 buffers of 256 KiB × 16 passes (64 MiB), split over 2 threads"},
		{Name: "thr_mutex", Group: "thread", Prog: "mutex", Args: []string{"thread"},
			About: "contended pthread mutex and mutex+condvar ping-pong, 2 threads"},
		{Name: "proc_mutex", Group: "thread", Prog: "mutex", Args: []string{"process"},
			About: "the same with a PTHREAD_PROCESS_SHARED mutex in a MAP_SHARED page, 2 processes"},
	}...)
	for _, m := range WakeMechanisms {
		for _, side := range []struct{ arg, suffix, plural string }{{"process", "proc", "processes"}, {"thread", "thread", "threads"}} {
			w = append(w, Workload{Name: fmt.Sprintf("wake_%s_%s", m.Name, side.suffix), Group: "wakeup", Prog: "pingpong",
				Args: []string{m.Name, side.arg}, About: fmt.Sprintf("20k round trips between two %s: %s", side.plural, m.About)})
		}
	}
	w = append(w, []Workload{
		{Name: "start_true", Group: "startup", Path: "/bin/true",
			About: "start-up and exit of the distribution's dynamically linked /bin/true (wall_s)"},
		{Name: "start_busybox", Group: "startup", Path: "/bin/busybox", Args: []string{"true"},
			About: "start-up and exit of the static busybox true (wall_s)"},
		{Name: "cma_bw", Group: "cma", Prog: "cma_bw", About: "process_vm_readv/writev throughput 4 KiB..64 MiB, 64-byte latency"},
		{Name: "cma_copy", Group: "cma", Prog: "cma_copy", About: "memcpy ceiling and shared-memory double copy, 4 KiB..64 MiB"},
	}...)
	w = append(w, mpiWorkload("cma", "single copy (process_vm_readv)"),
		mpiWorkload("none", "double copy through shared memory"))
	for _, n := range ScaleN {
		w = append(w, Workload{Name: fmt.Sprintf("cma_scale_%d", n), Group: "scale", Prog: "cma_scale",
			Args: []string{fmt.Sprint(n)}, N: n,
			About: fmt.Sprintf("%d processes, all-to-all 64 KiB process_vm_readv", n)})
	}
	return w
}()

// Goal inputs: which workloads count as CPU-bound and syscall-heavy, and the
// metrics the CMA goals compare.
const (
	metricCMA64   = "cma_readv_GBps size=67108864"
	metricMemcpy  = "memcpy_GBps size=67108864"
	metricLat64   = "cma_lat64_ns size=64"
	metricWall    = "wall_s"
	metricMaxRSS  = "maxrss_MiB"
	workloadCMA   = "cma_bw"
	workloadCopy  = "cma_copy"
	goalCMAvsHost = 1.5
	goalCMAvsCopy = 0.75
	goalLatency   = 0.5
	goalCPU       = 1.1
	goalSyscall   = 1.0
	goalWakeup    = 1.0
	goalScaleN    = 256
	goalRSSPerMiB = 4.0
	goalSpeedup   = 1.8 // thr_hash, 2 threads over 1
	ratioSpeedup  = "thr_hash speed-up 2/1"
)

// A Figure is one metric of one workload.
type Figure struct {
	Workload string `json:"workload"`
	Metric   string `json:"metric"`
}

// A Ratio is a figure derived from two workloads run under the same
// runner: the median of Num divided by the median of Den. Ratios are
// speed-ups (Num a time of the base case, Den the same time of the case
// compared; or Num a rate of the case compared, Den the base case's), so
// higher is better.
type Ratio struct {
	Name     string
	About    string
	Num, Den Figure
}

// Ratios are the derived figures, printed below the table.
var Ratios = []Ratio{
	{Name: ratioSpeedup, About: "1-thread time / 2-thread time of the same hashing work (2 free cores: ideally 2)",
		Num: Figure{"thr_hash_1", "thr_hash_s threads=1"}, Den: Figure{"thr_hash_2", "thr_hash_s threads=2"}},
	{Name: "mm_churn speed-up 2/1", About: "time per round with 1 thread / with 2 threads",
		Num: Figure{"mm_churn_1", "churn_ns threads=1"}, Den: Figure{"mm_churn_2", "churn_ns threads=2"}},
	{Name: "mm_churn speed-up 8/1", About: "time per round with 1 thread / with 8 threads",
		Num: Figure{"mm_churn_1", "churn_ns threads=1"}, Den: Figure{"mm_churn_8", "churn_ns threads=8"}},
	{Name: "mpi single/double copy 1MiB", About: "ping-pong bandwidth with cma / with none, 1 MiB messages (above 1: the single copy wins)",
		Num: Figure{"mpi_cma", "mpi_bw_MBps size=1048576"}, Den: Figure{"mpi_none", "mpi_bw_MBps size=1048576"}},
	{Name: "mpi single/double copy 16MiB", About: "the same with 16 MiB messages",
		Num: Figure{"mpi_cma", "mpi_bw_MBps size=16777216"}, Den: Figure{"mpi_none", "mpi_bw_MBps size=16777216"}},
}

// syscallGoalWorkloads are the workloads of the syscall-heavy goal: the
// syscall group and the memory workloads that are mostly system calls.
func syscallGoalWorkloads() []string {
	return append(groupWorkloads("syscall"), "mem_mmap", "mem_fork")
}

// groupWorkloads returns the names of the workloads of a group.
func groupWorkloads(group string) []string {
	var names []string
	for _, w := range Workloads {
		if w.Group == group {
			names = append(names, w.Name)
		}
	}
	return names
}
