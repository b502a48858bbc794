// Package devfs is cmaemu's /dev: the character devices null, zero, full,
// random, urandom and tty, the symlinks stdin, stdout, stderr and fd into
// /proc/self/fd, and the directory shm (the mount point of a tmpfs). No
// node reaches a host device: tty opens through a function the kernel
// provides.
//
// The guest cannot create or remove entries (the directories are not
// vfs.DirWriters); the kernel adds them with AddDevice, AddSymlink and
// AddDir. Attributes can be changed (chmod, chown, utimensat) as on
// Linux's devtmpfs.
//
// Locking: FS.mu protects every directory's entries and every node's
// attributes. Device handles hold no state.
package devfs

import (
	"crypto/rand"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

// Mkdev encodes a device number as the kernel's new_encode_dev does (the
// form of st_dev and st_rdev).
func Mkdev(major, minor uint32) uint64 {
	return uint64(minor&0xff) | uint64(major&0xfff)<<8 | uint64(minor&^0xff)<<12
}

// Linux's device numbers of the devices served.
var (
	DevNull    = Mkdev(1, 3)
	DevZero    = Mkdev(1, 5)
	DevFull    = Mkdev(1, 7)
	DevRandom  = Mkdev(1, 8)
	DevURandom = Mkdev(1, 9)
	DevTTY     = Mkdev(5, 0)
)

// Sizes.
const (
	blockSize = 4096
	// bogoDirentSize is what each entry adds to a directory's size (as
	// devtmpfs, a tmpfs, counts).
	bogoDirentSize = 20
	// MaxRead caps the bytes one read of zero, full, random or urandom
	// returns (MAX_RW_COUNT, as the kernel's read path caps every read).
	// The bytes go straight into the caller's buffers: nothing of the
	// request's size is allocated.
	MaxRead = linux.MAX_RW_COUNT
)

// Config says what the kernel provides.
type Config struct {
	// Dev is st_dev of every node; 0 is 0:5 (devtmpfs's usual number).
	Dev uint64
	// OpenTTY opens /dev/tty, the calling process's controlling terminal
	// (e.g. the host's /dev/tty); nil, or ENXIO from it, when there is
	// none.
	OpenTTY func(flags uint32) (vfs.Handle, error)
}

// FS is one /dev.
type FS struct {
	// mu protects the entries of every Dir and the attributes of every
	// node.
	mu      sync.RWMutex
	root    *Dir
	dev     uint64
	nextIno atomic.Uint64
	now     func() vfs.Timespec
}

// New returns a /dev with Linux's standard nodes (owned by root, devices
// 0666, the directory 0755, shm 01777).
func New(cfg Config) *FS {
	fs := &FS{dev: cfg.Dev, now: realtime}
	if fs.dev == 0 {
		fs.dev = Mkdev(0, 5)
	}
	fs.root = fs.newDir(0o755)
	devices := []struct {
		name string
		rdev uint64
		open func(flags uint32) (vfs.Handle, error)
	}{
		{"null", DevNull, simple(nullRead, nullWrite)},
		{"zero", DevZero, simple(zeroRead, nullWrite)},
		{"full", DevFull, simple(zeroRead, fullWrite)},
		{"random", DevRandom, simple(randomRead, nullWrite)},
		{"urandom", DevURandom, simple(randomRead, nullWrite)},
		{"tty", DevTTY, openTTY(cfg.OpenTTY)},
	}
	for _, d := range devices {
		mustAdd(fs.AddDevice(d.name, 0o666, d.rdev, d.open))
	}
	for i, name := range []string{"stdin", "stdout", "stderr"} {
		mustAdd(fs.AddSymlink(name, "/proc/self/fd/"+string(rune('0'+i))))
	}
	mustAdd(fs.AddSymlink("fd", "/proc/self/fd"))
	mustAdd(fs.AddDir("shm", 0o1777))
	return fs
}

func mustAdd(err error) {
	if err != nil {
		panic("devfs: " + err.Error())
	}
}

func realtime() vfs.Timespec {
	t := time.Now()
	return vfs.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// Root returns the root directory (with a reference, which it does not
// count).
func (fs *FS) Root() *Dir { return fs.root }

// Dev is st_dev of the nodes.
func (fs *FS) Dev() uint64 { return fs.dev }

// parentOfLocked returns the directory that holds path (slash-separated,
// relative to the root) and the last component.
//
// Preconditions: fs.mu is held.
func (fs *FS) parentOfLocked(path string) (*Dir, string, error) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	d := fs.root
	for _, p := range parts[:len(parts)-1] {
		e, ok := d.entries[p]
		if !ok {
			return nil, "", linux.ENOENT
		}
		sub, ok := e.node.(*Dir)
		if !ok {
			return nil, "", linux.ENOTDIR
		}
		d = sub
	}
	last := parts[len(parts)-1]
	if last == "" || last == "." || last == ".." || len(last) > vfs.NameMax {
		return nil, "", linux.EINVAL
	}
	return d, last, nil
}

// add enters n at path: EEXIST if something is there.
func (fs *FS) add(path string, n entry) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, name, err := fs.parentOfLocked(path)
	if err != nil {
		return err
	}
	if _, ok := d.entries[name]; ok {
		return linux.EEXIST
	}
	d.addLocked(name, n)
	return nil
}

// AddDevice adds a character device at path (relative to the root, its
// directory existing) with permission bits mode and device number rdev
// (Mkdev); open opens it.
func (fs *FS) AddDevice(path string, mode uint32, rdev uint64, open func(flags uint32) (vfs.Handle, error)) error {
	d := &Device{open: open}
	fs.initNode(&d.node, vfs.ModeChar, mode)
	d.rdev = rdev
	return fs.add(path, d)
}

// AddSymlink adds a symbolic link at path.
func (fs *FS) AddSymlink(path, target string) error {
	l := &Symlink{target: target}
	fs.initNode(&l.node, vfs.ModeSymlink, 0o777)
	l.size = int64(len(target))
	return fs.add(path, l)
}

// AddDir adds an empty directory at path.
func (fs *FS) AddDir(path string, mode uint32) error {
	return fs.add(path, fs.newDir(mode))
}

// Remove removes the entry at path (a directory only when empty:
// ENOTEMPTY).
func (fs *FS) Remove(path string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, name, err := fs.parentOfLocked(path)
	if err != nil {
		return err
	}
	e, ok := d.entries[name]
	if !ok {
		return linux.ENOENT
	}
	if sub, ok := e.node.(*Dir); ok && len(sub.entries) != 0 {
		return linux.ENOTEMPTY
	}
	d.removeLocked(name)
	return nil
}

// node is what every file of /dev has.
type node struct {
	vfs.NoRefs
	fs  *FS
	ino uint64
	typ uint32 // file type, never changes
	// Protected by FS.mu.
	mode                uint32
	uid, gid            uint32
	nlink               uint64
	rdev                uint64
	size                int64
	atime, mtime, ctime vfs.Timespec
	parent              *Dir
}

func (n *node) base() *node { return n }

// entry is the interface of every node type.
type entry interface {
	vfs.Inode
	base() *node
}

func (fs *FS) initNode(n *node, typ, mode uint32) {
	now := fs.now()
	n.fs, n.ino, n.typ, n.mode, n.nlink = fs, fs.nextIno.Add(1), typ, mode&vfs.ModePerm, 1
	n.atime, n.mtime, n.ctime = now, now, now
}

// Attr implements vfs.Inode.
func (n *node) Attr() (vfs.Attr, error) {
	n.fs.mu.RLock()
	defer n.fs.mu.RUnlock()
	return vfs.Attr{
		Dev: n.fs.dev, Ino: n.ino, Mode: n.typ | n.mode, Nlink: n.nlink, UID: n.uid, GID: n.gid,
		Rdev: n.rdev, Size: n.size, Blksize: blockSize,
		Atime: n.atime, Mtime: n.mtime, Ctime: n.ctime,
	}, nil
}

// Setattr implements vfs.Setattrer: mode, owner and times; a size is
// EISDIR for a directory, EINVAL for the others; the mode of a symlink is
// EOPNOTSUPP.
func (n *node) Setattr(s vfs.Setattr) error {
	if s.Mask&vfs.SetSize != 0 {
		if n.typ == vfs.ModeDir {
			return linux.EISDIR
		}
		return linux.EINVAL
	}
	if s.Mask&vfs.SetMode != 0 && n.typ == vfs.ModeSymlink {
		return linux.EOPNOTSUPP
	}
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
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
	}
	if s.Mask != 0 {
		n.ctime = now
	}
	return nil
}

// Symlink is a symbolic link.
type Symlink struct {
	node
	target string // never changes
}

// Readlink implements vfs.Symlink.
func (l *Symlink) Readlink() (string, error) { return l.target, nil }

// Device is a character device.
type Device struct {
	node
	open func(flags uint32) (vfs.Handle, error) // never changes
}

// Open implements vfs.Opener.
func (d *Device) Open(flags uint32) (vfs.Handle, error) {
	h, err := d.open(flags)
	if dh, ok := h.(*devHandle); ok {
		dh.node = d
	}
	return h, err
}

// Interface checks.
var (
	_ vfs.Dir       = (*Dir)(nil)
	_ vfs.Opener    = (*Dir)(nil)
	_ vfs.Setattrer = (*Dir)(nil)
	_ vfs.Symlink   = (*Symlink)(nil)
	_ vfs.Setattrer = (*Symlink)(nil)
	_ vfs.Opener    = (*Device)(nil)
	_ vfs.Setattrer = (*Device)(nil)
	_ vfs.DirHandle = (*dirHandle)(nil)
)

// openTTY is tty's open: the kernel's function, or ENXIO.
func openTTY(open func(flags uint32) (vfs.Handle, error)) func(flags uint32) (vfs.Handle, error) {
	return func(flags uint32) (vfs.Handle, error) {
		if open == nil {
			return nil, linux.ENXIO
		}
		return open(flags)
	}
}

// simple returns the open of a device whose handles read with read and
// write with write, at any offset.
func simple(read, write func(bufs [][]byte) (int, error)) func(flags uint32) (vfs.Handle, error) {
	return func(flags uint32) (vfs.Handle, error) {
		return &devHandle{flags: flags, read: read, write: write}, nil
	}
}

// devHandle is an open null, zero, full, random or urandom: no position
// (every seek answers 0, as Linux's null_lseek and noop_llseek do).
type devHandle struct {
	node  *Device // set by the Device's Open
	flags uint32
	read  func(bufs [][]byte) (int, error)
	write func(bufs [][]byte) (int, error)
}

// canAccess reports whether flags open a file for reading (or writing).
func canAccess(flags uint32, write bool) bool {
	if flags&linux.O_PATH != 0 {
		return false
	}
	acc := flags & linux.O_ACCMODE
	if write {
		return acc == linux.O_WRONLY || acc == linux.O_RDWR
	}
	return acc == linux.O_RDONLY || acc == linux.O_RDWR
}

// Read implements vfs.Handle (the offset does not matter).
func (h *devHandle) Read(bufs [][]byte, off int64) (int, error) {
	if !canAccess(h.flags, false) {
		return 0, linux.EBADF
	}
	return h.read(bufs)
}

// Write implements vfs.Handle (the offset does not matter).
func (h *devHandle) Write(bufs [][]byte, off int64) (int, error) {
	if !canAccess(h.flags, true) {
		return 0, linux.EBADF
	}
	return h.write(bufs)
}

// Seek implements vfs.Handle: always 0.
func (h *devHandle) Seek(off int64, whence int) (int64, error) { return 0, nil }

// Attr implements vfs.Handle.
func (h *devHandle) Attr() (vfs.Attr, error) {
	if h.node == nil {
		return vfs.Attr{}, linux.EBADF
	}
	return h.node.Attr()
}

// Close implements vfs.Handle.
func (h *devHandle) Close() error { return nil }

// total is the bytes bufs hold.
func total(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

// capped returns bufs cut to MaxRead bytes.
func capped(bufs [][]byte) [][]byte {
	if total(bufs) <= MaxRead {
		return bufs
	}
	out := make([][]byte, 0, len(bufs))
	left := MaxRead
	for _, b := range bufs {
		if left == 0 {
			break
		}
		b = b[:min(len(b), left)]
		out = append(out, b)
		left -= len(b)
	}
	return out
}

func nullRead(bufs [][]byte) (int, error)  { return 0, nil }
func nullWrite(bufs [][]byte) (int, error) { return total(bufs), nil }
func fullWrite(bufs [][]byte) (int, error) { return 0, linux.ENOSPC }

func zeroRead(bufs [][]byte) (int, error) {
	n := 0
	for _, b := range capped(bufs) {
		clear(b)
		n += len(b)
	}
	return n, nil
}

func randomRead(bufs [][]byte) (int, error) {
	n := 0
	for _, b := range capped(bufs) {
		if _, err := rand.Read(b); err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, linux.EIO
		}
		n += len(b)
	}
	return n, nil
}
