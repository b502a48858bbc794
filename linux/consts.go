package linux

// Limits.
const (
	PATH_MAX     = 4096
	UIO_MAXIOV   = 1024
	MAX_RW_COUNT = 0x7ffff000 // INT_MAX rounded down to a page
)

// File-system constants.
const (
	AT_FDCWD            = -100
	AT_SYMLINK_NOFOLLOW = 0x100
	AT_REMOVEDIR        = 0x200
	AT_EMPTY_PATH       = 0x1000
	AT_SYMLINK_FOLLOW   = 0x400
	AT_EACCESS          = 0x200 // faccessat: with the effective ids
	AT_NO_AUTOMOUNT     = 0x800

	O_EXCL      = 0o200
	O_NOCTTY    = 0o400
	O_TRUNC     = 0o1000
	O_APPEND    = 0o2000
	O_NOFOLLOW  = 0o400000
	O_TMPFILE   = 0o20000000 | O_DIRECTORY
	O_LARGEFILE = 0o100000

	RENAME_NOREPLACE = 1
	RENAME_EXCHANGE  = 2
	RENAME_WHITEOUT  = 4

	O_ACCMODE   = 0o3
	O_RDONLY    = 0o0
	O_WRONLY    = 0o1
	O_RDWR      = 0o2
	O_CREAT     = 0o100
	O_NONBLOCK  = 0o4000
	O_DIRECTORY = 0o200000
	O_CLOEXEC   = 0o2000000
	O_PATH      = 0o10000000

	FD_CLOEXEC = 1

	F_DUPFD         = 0
	F_GETFD         = 1
	F_SETFD         = 2
	F_GETFL         = 3
	F_SETFL         = 4
	F_DUPFD_CLOEXEC = 1030
)

// Memory-management constants.
const (
	PROT_READ      = 0x1
	PROT_WRITE     = 0x2
	PROT_EXEC      = 0x4
	PROT_GROWSDOWN = 0x01000000
	PROT_GROWSUP   = 0x02000000

	MAP_SHARED          = 0x01
	MAP_PRIVATE         = 0x02
	MAP_SHARED_VALIDATE = 0x03
	MAP_TYPE            = 0x0f
	MAP_FIXED           = 0x10
	MAP_ANONYMOUS       = 0x20
	MAP_32BIT           = 0x40
	MAP_GROWSDOWN       = 0x100
	MAP_DENYWRITE       = 0x800
	MAP_EXECUTABLE      = 0x1000
	MAP_LOCKED          = 0x2000
	MAP_NORESERVE       = 0x4000
	MAP_POPULATE        = 0x8000
	MAP_NONBLOCK        = 0x10000
	MAP_STACK           = 0x20000
	MAP_HUGETLB         = 0x40000
	MAP_SYNC            = 0x80000
	MAP_FIXED_NOREPLACE = 0x100000

	MREMAP_MAYMOVE   = 1
	MREMAP_FIXED     = 2
	MREMAP_DONTUNMAP = 4

	MADV_NORMAL     = 0
	MADV_RANDOM     = 1
	MADV_SEQUENTIAL = 2
	MADV_WILLNEED   = 3
	MADV_DONTNEED   = 4
	MADV_FREE       = 8
)

// arch_prctl codes.
const (
	ARCH_SET_GS = 0x1001
	ARCH_SET_FS = 0x1002
	ARCH_GET_FS = 0x1003
	ARCH_GET_GS = 0x1004
)

// Signal-mask operations.
const (
	SIG_BLOCK   = 0
	SIG_UNBLOCK = 1
	SIG_SETMASK = 2
)

// Terminal ioctls.
const (
	TCGETS     = 0x5401
	TIOCGWINSZ = 0x5413
	TIOCGPGRP  = 0x540f
)
