package linux

// madvise(2) advice beyond the basic five (consts.go).
const (
	MADV_REMOVE          = 9
	MADV_DONTFORK        = 10
	MADV_DOFORK          = 11
	MADV_MERGEABLE       = 12
	MADV_UNMERGEABLE     = 13
	MADV_HUGEPAGE        = 14
	MADV_NOHUGEPAGE      = 15
	MADV_DONTDUMP        = 16
	MADV_DODUMP          = 17
	MADV_WIPEONFORK      = 18
	MADV_KEEPONFORK      = 19
	MADV_COLD            = 20
	MADV_PAGEOUT         = 21
	MADV_POPULATE_READ   = 22
	MADV_POPULATE_WRITE  = 23
	MADV_DONTNEED_LOCKED = 24
	MADV_COLLAPSE        = 25
	MADV_HWPOISON        = 100
	MADV_SOFT_OFFLINE    = 101
	MADV_GUARD_INSTALL   = 102
	MADV_GUARD_REMOVE    = 103
)

// mlock2(2) and mlockall(2) flags.
const (
	MLOCK_ONFAULT = 1

	MCL_CURRENT = 1
	MCL_FUTURE  = 2
	MCL_ONFAULT = 4
)

// Resource limits (getrlimit(2)).
const (
	RLIMIT_CPU        = 0
	RLIMIT_FSIZE      = 1
	RLIMIT_DATA       = 2
	RLIMIT_STACK      = 3
	RLIMIT_CORE       = 4
	RLIMIT_RSS        = 5
	RLIMIT_NPROC      = 6
	RLIMIT_NOFILE     = 7
	RLIMIT_MEMLOCK    = 8
	RLIMIT_AS         = 9
	RLIMIT_LOCKS      = 10
	RLIMIT_SIGPENDING = 11
	RLIMIT_MSGQUEUE   = 12
	RLIMIT_NICE       = 13
	RLIMIT_RTPRIO     = 14
	RLIMIT_RTTIME     = 15
	RLIM_NLIMITS      = 16

	RLIM_INFINITY = ^uint64(0)
	// RLIM_INFINITY of struct compat_rlimit (i386 getrlimit/setrlimit),
	// and the clamp of the old i386 getrlimit (76).
	COMPAT_RLIM_INFINITY     = 0xffffffff
	COMPAT_RLIM_OLD_INFINITY = 0x7fffffff

	// NR_OPEN is fs.nr_open, the highest RLIMIT_NOFILE anyone may set.
	NR_OPEN = 1048576
)

// getrusage(2) targets.
const (
	RUSAGE_SELF     = 0
	RUSAGE_CHILDREN = -1
	RUSAGE_THREAD   = 1
)

// getpriority(2) targets and the nice range.
const (
	PRIO_PROCESS = 0
	PRIO_PGRP    = 1
	PRIO_USER    = 2

	MIN_NICE = -20
	MAX_NICE = 19
)

// Scheduling policies (sched_setscheduler(2)).
const (
	SCHED_OTHER         = 0
	SCHED_FIFO          = 1
	SCHED_RR            = 2
	SCHED_BATCH         = 3
	SCHED_IDLE          = 5
	SCHED_DEADLINE      = 6
	SCHED_EXT           = 7
	SCHED_RESET_ON_FORK = 0x40000000

	MAX_RT_PRIO = 100
)

// arch_prctl(2) codes beyond the FS and GS bases.
const (
	ARCH_GET_CPUID            = 0x1011
	ARCH_SET_CPUID            = 0x1012
	ARCH_GET_XCOMP_SUPP       = 0x1021
	ARCH_GET_XCOMP_PERM       = 0x1022
	ARCH_REQ_XCOMP_PERM       = 0x1023
	ARCH_GET_XCOMP_GUEST_PERM = 0x1024
	ARCH_REQ_XCOMP_GUEST_PERM = 0x1025
	ARCH_MAP_VDSO_X32         = 0x2001
	ARCH_MAP_VDSO_32          = 0x2002
	ARCH_MAP_VDSO_64          = 0x2003
)

// membarrier(2) commands.
const (
	MEMBARRIER_CMD_QUERY                                = 0
	MEMBARRIER_CMD_GLOBAL                               = 1 << 0
	MEMBARRIER_CMD_GLOBAL_EXPEDITED                     = 1 << 1
	MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED            = 1 << 2
	MEMBARRIER_CMD_PRIVATE_EXPEDITED                    = 1 << 3
	MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED           = 1 << 4
	MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE          = 1 << 5
	MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE = 1 << 6
	MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ               = 1 << 7
	MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ      = 1 << 8
	MEMBARRIER_CMD_GET_REGISTRATIONS                    = 1 << 9

	MEMBARRIER_CMD_FLAG_CPU = 1
)

// NUMA memory policies (set_mempolicy(2), mbind(2), get_mempolicy(2)).
const (
	MPOL_DEFAULT             = 0
	MPOL_PREFERRED           = 1
	MPOL_BIND                = 2
	MPOL_INTERLEAVE          = 3
	MPOL_LOCAL               = 4
	MPOL_PREFERRED_MANY      = 5
	MPOL_WEIGHTED_INTERLEAVE = 6

	MPOL_F_STATIC_NODES   = 1 << 15
	MPOL_F_RELATIVE_NODES = 1 << 14
	MPOL_F_NUMA_BALANCING = 1 << 13

	MPOL_F_NODE         = 1 << 0
	MPOL_F_ADDR         = 1 << 1
	MPOL_F_MEMS_ALLOWED = 1 << 2

	MPOL_MF_STRICT   = 1 << 0
	MPOL_MF_MOVE     = 1 << 1
	MPOL_MF_MOVE_ALL = 1 << 2
)

// getrandom(2) flags.
const (
	GRND_NONBLOCK = 1
	GRND_RANDOM   = 2
	GRND_INSECURE = 4
)

// personality(2) values.
const (
	PER_LINUX         = 0
	PER_LINUX32       = 8
	PER_MASK          = 0xff
	ADDR_NO_RANDOMIZE = 0x0040000
	READ_IMPLIES_EXEC = 0x0400000
	ADDR_LIMIT_3GB    = 0x8000000
	PERSONALITY_QUERY = 0xffffffff
)

// Capability header versions (capget(2)).
const (
	LINUX_CAPABILITY_VERSION_1 = 0x19980330
	LINUX_CAPABILITY_VERSION_2 = 0x20071026
	LINUX_CAPABILITY_VERSION_3 = 0x20080522

	// CAP_LAST_CAP is the highest capability number Linux 6.x knows
	// (CAP_CHECKPOINT_RESTORE).
	CAP_LAST_CAP = 40
)
