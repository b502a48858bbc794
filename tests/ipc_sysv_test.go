package tests

// System V IPC and memfd guests. They print for root: each checks
// another user's access after setuid(1000) in a child.
var ipcGuests = []Guest{
	// Shared memory between a parent and its children, IPC_RMID while
	// attached, shm_nattch, SHM_RDONLY/SHM_RND/SHM_REMAP, errors.
	{Name: "ipc_shm", Want: Exited(0), AsRoot: true},
	// A semaphore ping-pong, SEM_UNDO at exit, waiters' counts, EIDRM,
	// timeouts and limits.
	{Name: "ipc_sem", Want: Exited(0), AsRoot: true},
	// Messages by type, blocking both ways, EIDRM, limits.
	{Name: "ipc_msg", Want: Exited(0), AsRoot: true},
	// memfd_create: I/O, shared and forked mappings, seals, names.
	{Name: "ipc_memfd", Want: Exited(0)},
}

func init() {
	guests = append(guests, ipcGuests...)
	// qemu-i386 answers some shmctl and shmat cases itself (EFAULT for
	// a NULL buffer before the lookup, an address for SHM_REMAP without
	// one) and aborts in msgrcv: the x86-64 run is the oracle, the
	// compat calls having the same rules.
	i386Fallbacks["ipc_shm"] = I386Fallback{From: FromAMD64, Edits: Edits{{
		From: "size huge: EINVAL",
		To:   "size huge: created",
		Why:  "(size_t)-1 is 4 GiB - 1 on i386, below SHMMAX: the segment is made (its pages only on use)",
	}}}
	i386Fallbacks["ipc_msg"] = I386Fallback{From: FromAMD64}
}
