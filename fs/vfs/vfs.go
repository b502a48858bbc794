// Package vfs is the guest's filesystem view: inodes of several
// filesystems behind one set of interfaces, a mount table, path
// resolution against a process's root and working directory, and Linux's
// permission checks with the guest's credentials.
//
// The VFS never hands a host path to the host: a host filesystem (package
// hostfs) walks one component at a time from a directory descriptor with
// O_NOFOLLOW, and symbolic links and ".." are resolved here, against the
// guest's root. So no name a guest can write leads outside its root, to
// the host's /proc, or to the emulator itself.
//
// Inodes are reference counted where they hold host resources: a Lookup
// result belongs to the caller, who releases it with DecRef. Filesystems
// whose inodes hold nothing embed NoRefs.
package vfs

import (
	"github.com/cmaemu/cmaemu/linux"
)

// File types of Attr.Mode (S_IFMT bits).
const (
	ModeType    = 0o170000
	ModeSocket  = 0o140000
	ModeSymlink = 0o120000
	ModeRegular = 0o100000
	ModeBlock   = 0o060000
	ModeDir     = 0o040000
	ModeChar    = 0o020000
	ModeFIFO    = 0o010000

	ModeSetUID = 0o4000
	ModeSetGID = 0o2000
	ModeSticky = 0o1000
	ModePerm   = 0o7777
)

// Timespec is a time as struct timespec holds it.
type Timespec struct {
	Sec, Nsec int64
}

// Attr is what stat(2) reports of an inode.
type Attr struct {
	Dev, Ino   uint64
	Mode       uint32 // file type and permission bits
	Nlink      uint64
	UID, GID   uint32
	Rdev       uint64
	Size       int64
	Blksize    int64
	Blocks     int64 // 512-byte blocks
	Atime      Timespec
	Mtime      Timespec
	Ctime      Timespec
	MountID    uint64 // filled in by the VFS
	Attributes uint64 // statx attributes
}

// IsDir reports whether a is a directory's.
func (a Attr) IsDir() bool { return a.Mode&ModeType == ModeDir }

// IsSymlink reports whether a is a symbolic link's.
func (a Attr) IsSymlink() bool { return a.Mode&ModeType == ModeSymlink }

// IsRegular reports whether a is a regular file's.
func (a Attr) IsRegular() bool { return a.Mode&ModeType == ModeRegular }

// Refs is the reference counting of inodes that hold resources.
type Refs interface {
	IncRef()
	DecRef()
}

// NoRefs implements Refs for inodes that hold nothing.
type NoRefs struct{}

// IncRef does nothing.
func (NoRefs) IncRef() {}

// DecRef does nothing.
func (NoRefs) DecRef() {}

// Inode is one file of a filesystem. Which operations it supports is
// told by the optional interfaces below (Dir, Symlink, Opener,
// DirWriter, Setattrer); a missing one is Linux's error for the type.
type Inode interface {
	Refs
	Attr() (Attr, error)
}

// Dirent is one directory entry as getdents reports it.
type Dirent struct {
	Name string
	Ino  uint64
	Type uint8 // DT_* (Attr.Mode>>12)
}

// Dir is a directory.
type Dir interface {
	Inode
	// Lookup returns the child name ("." and ".." never reach it), with a
	// reference the caller drops: ENOENT when there is none.
	Lookup(name string) (Inode, error)
	// Readdir lists the entries, "." and ".." first.
	Readdir() ([]Dirent, error)
}

// AttrDir is a directory whose lookups give the child's attributes as
// well, which the walk then uses for the symlink and search permission
// checks instead of asking the child (hostfs: one host call fewer per
// component).
type AttrDir interface {
	Dir
	LookupAttr(name string) (Inode, Attr, error)
}

// Typed is an inode that knows its file type (Attr.Mode&ModeType)
// without asking its filesystem: an inode's type never changes.
type Typed interface {
	FileType() uint32
}

// PathDir is a directory that can look up several components below it in
// one go. The walk asks it only for plain names ("." and ".." excluded)
// none of which is a mount point of the namespace, and only for a caller
// whose search permission on directories is not in question (FileCaps).
// LookupPath returns the last component, with a reference, and its
// attributes; it declines (ok false) when a component is a symlink (a
// last one is the result itself, not followed), lies on another
// filesystem, is missing, or on any other failure: the walk then goes
// component by component, which reports the exact error.
type PathDir interface {
	Dir
	LookupPath(names []string) (child Inode, a Attr, ok bool)
}

// Caller is the process a resolution is done for.
type Caller struct {
	PID, TID int32
	Creds    *Creds
}

// CallerDir is a directory whose entries depend on who looks (procfs's
// root: "self" and "thread-self" name the caller). The VFS calls
// LookupFor instead of Lookup when the directory implements it.
type CallerDir interface {
	Dir
	LookupFor(c Caller, name string) (Inode, error)
}

// Owner is whom a new inode belongs to.
type Owner struct {
	UID, GID uint32
}

// DirWriter is a directory whose entries can be changed. The VFS has
// checked the caller's permissions; names are single components.
type DirWriter interface {
	Dir
	// Create makes a regular file (O_CREAT|O_EXCL: EEXIST if name exists)
	// and opens it with flags.
	Create(name string, flags, mode uint32, o Owner) (Handle, error)
	Mkdir(name string, mode uint32, o Owner) error
	// Mknod makes a FIFO, socket or regular file (mode's type).
	Mknod(name string, mode uint32, dev uint64, o Owner) error
	Symlink(name, target string, o Owner) error
	// Link makes name a new name of target (a file of this filesystem).
	Link(name string, target Inode) error
	Unlink(name string) error
	Rmdir(name string) error
	// Rename moves name to newName in newDir (a directory of this
	// filesystem); flags are renameat2's.
	Rename(name string, newDir Dir, newName string, flags uint32) error
}

// Symlink is a symbolic link.
type Symlink interface {
	Inode
	Readlink() (string, error)
}

// Opener is an inode that can be opened (files, devices, directories).
type Opener interface {
	Inode
	// Open returns a new open file description; the VFS has checked
	// permissions and the flags' sense for the type.
	Open(flags uint32) (Handle, error)
}

// SetattrMask says which fields of Setattr to change.
type SetattrMask uint32

// Fields of a Setattr.
const (
	SetMode SetattrMask = 1 << iota
	SetUID
	SetGID
	SetSize
	SetAtime
	SetMtime
	SetAtimeNow
	SetMtimeNow
)

// Setattr is a change of attributes.
type Setattr struct {
	Mask         SetattrMask
	Mode         uint32 // permission bits
	UID, GID     uint32
	Size         int64
	Atime, Mtime Timespec
}

// Setattrer is an inode whose attributes can be changed.
type Setattrer interface {
	Inode
	Setattr(s Setattr) error
}

// Handle is an open file description's filesystem side. Offsets of -1
// mean the description's own position.
type Handle interface {
	Read(bufs [][]byte, off int64) (int, error)
	Write(bufs [][]byte, off int64) (int, error)
	Seek(off int64, whence int) (int64, error)
	Attr() (Attr, error)
	Close() error
}

// HostHandle is a Handle backed by a host file descriptor, which the
// kernel may use directly (mmap, poll, sendfile, the ioctl allow-list).
type HostHandle interface {
	Handle
	HostFD() int
}

// DirPositions32 is a Handle whose directory positions a 32-bit caller
// may see differently from a 64-bit one (an ext4 directory of the host:
// fs/hostfs/dirpos32.go). When Hashed32 says so, the kernel converts the
// positions an i386 task reads (getdents's d_off, lseek's result) with
// DirPos32 and the ones it gives lseek with DirSeek32.
type DirPositions32 interface {
	Handle
	Hashed32() bool
	DirPos32(pos int64) int64
	DirSeek32(pos int64) int64
}

// DirHandle is a Handle of a directory: getdents reads it.
type DirHandle interface {
	Handle
	// Getdents returns entries from the handle's position on, advancing
	// it; emit returns false when the caller's buffer is full.
	Getdents(emit func(d Dirent, next int64) bool) error
}

// errno returns e as an error, for brevity.
func errno(e linux.Errno) error { return e }
