// Package tmpfs is an in-memory filesystem: the guest's /dev/shm and what
// `mount -t tmpfs` makes. Its files are Go memory only and vanish with the
// filesystem; none of them reaches the host.
//
// It follows Linux's mm/shmem.c and fs/libfs.c: directories count
// 2 + subdirectories links and report a size of 20 bytes per entry (plus
// 40), files hold 4 KiB pages allocated on first write (holes read as
// zeros and take no space), a size limit counts pages and answers ENOSPC,
// and directory positions are stable (an entry keeps its position while
// others come and go) and entries are listed newest first, as since Linux
// 6.14.
//
// Locking. FS.mu (a RWMutex) protects the tree: every directory's entries,
// and every inode's parent and name. Each inode's mu protects its
// attributes (mode bits, owner, times, size) and a regular file's pages.
// An inode's nlink is written with both FS.mu and its mu held, so either
// suffices to read it. A handle's mu protects its position. Lock order:
// handle mu, then FS.mu, then an inode's mu; at most one inode's mu is held
// at a time. The space and inode counters are atomic.
//
// References. An inode counts the references of Lookup results, open
// handles and shared mappings (IncRef, DecRef); the directory entries are
// its nlink. When both reach zero, an unlinked inode gives back its pages
// and its place in the inode limit, as Linux frees an unlinked file at its
// last close.
package tmpfs

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

// Sizes of Linux's tmpfs.
const (
	// PageSize is the unit of allocation and the reported block size.
	PageSize = 4096
	// Magic is TMPFS_MAGIC, statfs's f_type.
	Magic = 0x01021994
	// MaxFileSize is MAX_LFS_FILESIZE on 64-bit kernels.
	MaxFileSize = 1<<63 - 1
	// bogoDirentSize is what each entry adds to a directory's size.
	bogoDirentSize = 20
	// shortSymlinkLen: longer targets take a page (SHORT_SYMLINK_LEN).
	shortSymlinkLen = 128
)

// FS is one tmpfs instance (one mount -t tmpfs, or /dev/shm).
type FS struct {
	// mu protects the tree: the entries of every Dir (entries, head,
	// byCookie, removed, cookie and the dirents), inode.parent and
	// inode.name; and, with the inode's own mu, nlink.
	mu sync.RWMutex

	root       *Dir
	dev        uint64
	mountPoint string
	mode       uint32 // the root's mode at mount time (for MountOptions)
	uid, gid   uint32

	nextIno    atomic.Uint64
	usedPages  atomic.Int64 // pages held by files and long symlinks
	maxPages   atomic.Int64 // 0: no limit
	usedInodes atomic.Int64
	maxInodes  atomic.Int64 // 0: no limit

	// openFIFO opens FIFOs (the kernel's pipes); nil: ENXIO.
	openFIFO atomic.Pointer[func(n vfs.Inode, flags uint32) (vfs.Handle, error)]

	// now is the clock (tests replace it).
	now func() vfs.Timespec
}

// Options are a tmpfs's mount options. Start from DefaultOptions.
type Options struct {
	// Size limits the bytes of file data (Linux's size=, rounded up to
	// pages); 0 is no limit.
	Size int64
	// MaxInodes limits the number of inodes, the root included
	// (nr_inodes=); 0 is no limit.
	MaxInodes int64
	// Mode, UID and GID are the root directory's permission bits and
	// owner (mode=, uid=, gid=).
	Mode     uint32
	UID, GID uint32
	// Dev is st_dev of every file (new_encode_dev form); 0 takes a fresh
	// anonymous device number (major 0).
	Dev uint64
	// MountPoint prefixes the names files give for /proc/PID/maps
	// ("/dev/shm"); names are relative to the filesystem's root.
	MountPoint string
}

// DefaultOptions are Linux's defaults, but with no size limit: the root
// has mode 01777 and belongs to root.
func DefaultOptions() Options { return Options{Mode: 0o1777} }

// nextAnonMinor hands out anonymous device numbers (major 0) to
// filesystems made without one.
var nextAnonMinor atomic.Uint32

func init() { nextAnonMinor.Store(47) }

// anonDev encodes 0:minor as new_encode_dev does.
func anonDev(minor uint32) uint64 {
	return uint64(minor&0xff) | uint64(minor&^0xff)<<12
}

// New makes an empty tmpfs with opts.
func New(opts Options) *FS {
	fs := &FS{dev: opts.Dev, mountPoint: opts.MountPoint, mode: opts.Mode & vfs.ModePerm,
		uid: opts.UID, gid: opts.GID, now: realtime}
	if fs.dev == 0 {
		fs.dev = anonDev(nextAnonMinor.Add(1))
	}
	fs.maxPages.Store(pagesFor(opts.Size))
	fs.maxInodes.Store(opts.MaxInodes)
	fs.usedInodes.Store(1)
	fs.root = &Dir{entries: map[string]*dirent{}}
	fs.initInode(&fs.root.inode, vfs.ModeDir, opts.Mode&vfs.ModePerm, vfs.Owner{UID: opts.UID, GID: opts.GID})
	fs.root.nlink = 2
	fs.root.size = 2 * bogoDirentSize
	return fs
}

// pagesFor is the number of pages that hold size bytes.
func pagesFor(size int64) int64 {
	if size <= 0 {
		return 0
	}
	return (size-1)/PageSize + 1
}

func realtime() vfs.Timespec {
	t := time.Now()
	return vfs.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// Root returns the root directory, with a reference.
func (fs *FS) Root() *Dir {
	fs.root.IncRef()
	return fs.root
}

// Dev is st_dev of the filesystem's files.
func (fs *FS) Dev() uint64 { return fs.dev }

// SetOpenFIFO gives the filesystem the kernel's way to open a FIFO (n is
// the FIFO's inode, the same pointer every time); without one, opening a
// FIFO is ENXIO.
func (fs *FS) SetOpenFIFO(open func(n vfs.Inode, flags uint32) (vfs.Handle, error)) {
	fs.openFIFO.Store(&open)
}

// Statfs returns the counts of the filesystem the inode belongs to
// (statfs of any of its files).
func (n *inode) Statfs() Statfs { return n.fs.Statfs() }

// Statfs is what statfs(2) reports of a tmpfs.
type Statfs struct {
	Blocks, BlocksFree int64 // in PageSize units; 0 and 0 without a limit
	Files, FilesFree   int64 // 0 and 0 without an inode limit
}

// Statfs returns the space and inode counts (f_type is Magic, f_bsize
// PageSize, f_namelen 255).
func (fs *FS) Statfs() Statfs {
	var s Statfs
	if limit := fs.maxPages.Load(); limit > 0 {
		s.Blocks, s.BlocksFree = limit, max(limit-fs.usedPages.Load(), 0)
	}
	if limit := fs.maxInodes.Load(); limit > 0 {
		s.Files, s.FilesFree = limit, max(limit-fs.usedInodes.Load(), 0)
	}
	return s
}

// Usage returns the bytes held by file data and the limit (0: none).
func (fs *FS) Usage() (used, limit int64) {
	return fs.usedPages.Load() * PageSize, fs.maxPages.Load() * PageSize
}

// Remount changes the size and inode limits (mount -o remount): EINVAL
// when more is already in use than the new limits allow. Other fields of
// opts are ignored, as Linux ignores them on remount.
func (fs *FS) Remount(opts Options) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	pages := pagesFor(opts.Size)
	if pages > 0 && fs.usedPages.Load() > pages || opts.MaxInodes > 0 && fs.usedInodes.Load() > opts.MaxInodes {
		return linux.EINVAL
	}
	fs.maxPages.Store(pages)
	fs.maxInodes.Store(opts.MaxInodes)
	return nil
}

// reservePages takes n pages of the size limit: false when it would be
// exceeded.
func (fs *FS) reservePages(n int64) bool {
	for {
		used, limit := fs.usedPages.Load(), fs.maxPages.Load()
		if limit > 0 && used+n > limit {
			return false
		}
		if fs.usedPages.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// reserveInode takes a place in the inode limit: ENOSPC when there is none.
func (fs *FS) reserveInode() error {
	for {
		used, limit := fs.usedInodes.Load(), fs.maxInodes.Load()
		if limit > 0 && used >= limit {
			return linux.ENOSPC
		}
		if fs.usedInodes.CompareAndSwap(used, used+1) {
			return nil
		}
	}
}

// node is an inode of any type.
type node interface {
	vfs.Inode
	base() *inode
}

// inode is what every file has.
type inode struct {
	fs  *FS
	ino uint64
	typ uint32 // the file type (Mode&ModeType); never changes
	// refs counts references (Lookup results, handles, mappings).
	refs atomic.Int64
	// release frees what the inode holds once it has neither links nor
	// references; called with mu held. Nil for nothing to free.
	release func()

	// parent and name are the entry most recently made for the inode
	// (nil parent for the root). Protected by FS.mu.
	parent *Dir
	name   string

	mu    sync.Mutex
	nlink uint64 // written with FS.mu and mu held
	// Protected by mu.
	mode                uint32 // permission bits (ModePerm)
	uid, gid            uint32
	atime, mtime, ctime vfs.Timespec
	size                int64 // bytes of a file, the target's length, 20 per entry of a directory
	npages              int64 // pages held (for Blocks)
	released            bool  // release has run
}

func (n *inode) base() *inode { return n }

// initInode sets up a new inode (not yet in a directory).
func (fs *FS) initInode(n *inode, typ, mode uint32, o vfs.Owner) {
	now := fs.now()
	n.fs, n.ino, n.typ = fs, fs.nextIno.Add(1), typ
	n.mode, n.uid, n.gid = mode&vfs.ModePerm, o.UID, o.GID
	n.atime, n.mtime, n.ctime = now, now, now
}

// IncRef takes a reference.
func (n *inode) IncRef() { n.refs.Add(1) }

// DecRef drops a reference; an unlinked inode is freed with its last.
func (n *inode) DecRef() {
	if n.refs.Add(-1) != 0 {
		return
	}
	n.mu.Lock()
	n.maybeReleaseLocked()
	n.mu.Unlock()
}

// maybeReleaseLocked frees the inode when it has neither links nor
// references.
//
// Preconditions: n.mu is held.
func (n *inode) maybeReleaseLocked() {
	if n.nlink != 0 || n.refs.Load() != 0 || n.released {
		return
	}
	n.released = true
	if n.release != nil {
		n.release()
	}
	n.fs.usedInodes.Add(-1)
}

// Attr implements vfs.Inode.
func (n *inode) Attr() (vfs.Attr, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.attrLocked(), nil
}

// attrLocked returns n's attributes.
//
// Preconditions: n.mu is held.
func (n *inode) attrLocked() vfs.Attr {
	return vfs.Attr{
		Dev: n.fs.dev, Ino: n.ino, Mode: n.typ | n.mode, Nlink: n.nlink, UID: n.uid, GID: n.gid,
		Size: n.size, Blksize: PageSize, Blocks: n.npages * (PageSize / 512),
		Atime: n.atime, Mtime: n.mtime, Ctime: n.ctime,
	}
}

// setattrLocked applies the mode, owner and time changes of s (the size
// is the caller's); sizeChanged says whether the caller changed the size.
// ctime is set unless nothing changed, as notify_change and shmem_setattr
// do.
//
// Preconditions: n.mu is held.
func (n *inode) setattrLocked(s vfs.Setattr, sizeChanged bool) {
	now := n.fs.now()
	if s.Mask&vfs.SetMode != 0 {
		n.mode = s.Mode & vfs.ModePerm
	}
	if s.Mask&vfs.SetUID != 0 {
		n.uid = s.UID
	}
	if s.Mask&vfs.SetGID != 0 {
		n.gid = s.GID
	}
	// chown kills the setuid bit, and the setgid bit of a group-executable
	// file (ATTR_KILL_SUID, ATTR_KILL_SGID).
	if s.Mask&(vfs.SetUID|vfs.SetGID) != 0 && s.Mask&vfs.SetMode == 0 && n.typ != vfs.ModeDir {
		n.mode &^= vfs.ModeSetUID
		if n.mode&0o010 != 0 {
			n.mode &^= vfs.ModeSetGID
		}
	}
	switch {
	case s.Mask&vfs.SetAtimeNow != 0:
		n.atime = now
	case s.Mask&vfs.SetAtime != 0:
		n.atime = s.Atime
	}
	switch {
	case s.Mask&vfs.SetMtimeNow != 0:
		n.mtime = now
	case s.Mask&vfs.SetMtime != 0:
		n.mtime = s.Mtime
	case sizeChanged:
		n.mtime = now
	}
	if sizeChanged || s.Mask&^vfs.SetSize != 0 {
		n.ctime = now
	}
}

// checkSetattr refuses what a non-regular file cannot change.
func (n *inode) checkSetattr(s vfs.Setattr) error {
	if s.Mask&vfs.SetSize != 0 {
		if n.typ == vfs.ModeDir {
			return linux.EISDIR
		}
		return linux.EINVAL
	}
	if s.Mask&vfs.SetMode != 0 && n.typ == vfs.ModeSymlink {
		return linux.EOPNOTSUPP
	}
	return nil
}

// setattr is Setattr for every type but regular files.
func (n *inode) setattr(s vfs.Setattr) error {
	if err := n.checkSetattr(s); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.setattrLocked(s, false)
	return nil
}

// touchAtime updates the access time as relatime does: when it is not
// after the modification or change time, or is a day old.
func (n *inode) touchAtime() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.touchAtimeLocked()
}

// touchAtimeLocked is touchAtime.
//
// Preconditions: n.mu is held.
func (n *inode) touchAtimeLocked() {
	if !before(n.mtime, n.atime) || !before(n.ctime, n.atime) || n.fs.now().Sec-n.atime.Sec >= 24*60*60 {
		n.atime = n.fs.now()
	}
}

// before reports whether a is earlier than b.
func before(a, b vfs.Timespec) bool {
	return a.Sec < b.Sec || a.Sec == b.Sec && a.Nsec < b.Nsec
}

// Name is the file's name for /proc/PID/maps: the mount point and the
// path of its most recent link, with " (deleted)" once it has none.
func (n *inode) Name() string {
	n.fs.mu.RLock()
	var parts []string
	for p := n; p.parent != nil; p = &p.parent.inode {
		parts = append(parts, p.name)
	}
	nlink := n.nlink
	n.fs.mu.RUnlock()
	name := n.fs.mountPoint
	for i := len(parts) - 1; i >= 0; i-- {
		name += "/" + parts[i]
	}
	if name == "" {
		name = "/"
	}
	if nlink == 0 && n != &n.fs.root.inode {
		name += " (deleted)"
	}
	return name
}

// Symlink is a symbolic link.
type Symlink struct {
	inode
	target string // never changes
}

// Readlink implements vfs.Symlink.
func (l *Symlink) Readlink() (string, error) { return l.target, nil }

// Setattr implements vfs.Setattrer (chmod of a symlink is EOPNOTSUPP).
func (l *Symlink) Setattr(s vfs.Setattr) error { return l.setattr(s) }

// Special is a FIFO or a socket.
type Special struct {
	inode
}

// Setattr implements vfs.Setattrer.
func (s *Special) Setattr(a vfs.Setattr) error { return s.setattr(a) }

// Open implements vfs.Opener for FIFOs with the kernel's function (see
// FS.SetOpenFIFO); ENXIO for sockets and without one.
func (s *Special) Open(flags uint32) (vfs.Handle, error) {
	open := s.fs.openFIFO.Load()
	if s.typ != vfs.ModeFIFO || open == nil || *open == nil {
		return nil, linux.ENXIO
	}
	return (*open)(s, flags)
}

// Interface checks.
var (
	_ vfs.DirWriter = (*Dir)(nil)
	_ vfs.Opener    = (*Dir)(nil)
	_ vfs.Setattrer = (*Dir)(nil)
	_ vfs.Opener    = (*File)(nil)
	_ vfs.Setattrer = (*File)(nil)
	_ vfs.Symlink   = (*Symlink)(nil)
	_ vfs.Setattrer = (*Symlink)(nil)
	_ vfs.Opener    = (*Special)(nil)
	_ vfs.Setattrer = (*Special)(nil)
	_ vfs.DirHandle = (*dirHandle)(nil)
)
