package linux

// System V IPC (linux/ipc.h, linux/shm.h, linux/sem.h, linux/msg.h).
const (
	IPC_PRIVATE = 0
	IPC_CREAT   = 0o1000
	IPC_EXCL    = 0o2000
	IPC_NOWAIT  = 0o4000

	IPC_RMID = 0
	IPC_SET  = 1
	IPC_STAT = 2
	IPC_INFO = 3
	IPC_64   = 0x100 // the new layouts, in the cmd of compat callers

	SHM_RDONLY = 0o10000
	SHM_RND    = 0o20000
	SHM_REMAP  = 0o40000
	SHM_EXEC   = 0o100000
	SHM_LOCK   = 11
	SHM_UNLOCK = 12
	SHM_STAT   = 13
	SHM_INFO   = 14

	SHM_STAT_ANY = 15
	SHM_DEST     = 0o1000 // in shm_perm.mode: removed, alive while attached
	SHM_LOCKED   = 0o2000 // in shm_perm.mode: SHM_LOCK
	SHMLBA       = 4096

	GETPID       = 11
	GETVAL       = 12
	GETALL       = 13
	GETNCNT      = 14
	GETZCNT      = 15
	SETVAL       = 16
	SETALL       = 17
	SEM_STAT     = 18
	SEM_INFO     = 19
	SEM_STAT_ANY = 20
	SEM_UNDO     = 0x1000

	MSG_STAT     = 11
	MSG_INFO     = 12
	MSG_STAT_ANY = 13
	MSG_NOERROR  = 0o10000
	MSG_EXCEPT   = 0o20000
	MSG_COPY     = 0o40000
)

// The ipc(2) multiplexer's calls (linux/ipc.h).
const (
	IPCOP_SEMOP      = 1
	IPCOP_SEMGET     = 2
	IPCOP_SEMCTL     = 3
	IPCOP_SEMTIMEDOP = 4
	IPCOP_MSGSND     = 11
	IPCOP_MSGRCV     = 12
	IPCOP_MSGGET     = 13
	IPCOP_MSGCTL     = 14
	IPCOP_SHMAT      = 21
	IPCOP_SHMDT      = 22
	IPCOP_SHMGET     = 23
	IPCOP_SHMCTL     = 24
)

// memfd_create(2) and file sealing (linux/memfd.h, linux/fcntl.h).
const (
	MFD_CLOEXEC       = 0x1
	MFD_ALLOW_SEALING = 0x2
	MFD_HUGETLB       = 0x4
	MFD_NOEXEC_SEAL   = 0x8
	MFD_EXEC          = 0x10

	F_ADD_SEALS = 1033
	F_GET_SEALS = 1034

	F_SEAL_SEAL         = 0x1
	F_SEAL_SHRINK       = 0x2
	F_SEAL_GROW         = 0x4
	F_SEAL_WRITE        = 0x8
	F_SEAL_FUTURE_WRITE = 0x10
	F_SEAL_EXEC         = 0x20
)
