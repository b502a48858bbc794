package devfs

import (
	"sort"
	"sync"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

// Directory positions: "." is at 0, ".." at 1, entries from firstCookie
// on, in the order they were added.
const firstCookie = 2

// Dir is a directory of /dev.
type Dir struct {
	node
	// Protected by FS.mu.
	entries map[string]*dirent
	order   []*dirent // by position
	cookie  int64     // the next entry's position
}

type dirent struct {
	name   string
	node   entry
	cookie int64
}

func (fs *FS) newDir(mode uint32) *Dir {
	d := &Dir{entries: map[string]*dirent{}, cookie: firstCookie}
	fs.initNode(&d.node, vfs.ModeDir, mode)
	d.nlink = 2
	d.size = 2 * bogoDirentSize
	return d
}

// addLocked enters n as name (which does not exist).
//
// Preconditions: FS.mu is held for writing.
func (d *Dir) addLocked(name string, n entry) {
	e := &dirent{name: name, node: n, cookie: d.cookie}
	d.cookie++
	d.entries[name] = e
	d.order = append(d.order, e)
	n.base().parent = d
	if _, ok := n.(*Dir); ok {
		d.nlink++
	}
	d.size += bogoDirentSize
	d.mtime = d.fs.now()
	d.ctime = d.mtime
}

// removeLocked removes the entry name.
//
// Preconditions: FS.mu is held for writing.
func (d *Dir) removeLocked(name string) {
	e := d.entries[name]
	delete(d.entries, name)
	i := sort.Search(len(d.order), func(i int) bool { return d.order[i].cookie >= e.cookie })
	d.order = append(d.order[:i], d.order[i+1:]...)
	n := e.node.base()
	n.nlink = 0
	n.ctime = d.fs.now()
	if _, ok := e.node.(*Dir); ok {
		d.nlink--
	}
	d.size -= bogoDirentSize
	d.mtime = n.ctime
	d.ctime = n.ctime
}

// Lookup implements vfs.Dir.
func (d *Dir) Lookup(name string) (vfs.Inode, error) {
	if len(name) > vfs.NameMax {
		return nil, linux.ENAMETOOLONG
	}
	d.fs.mu.RLock()
	defer d.fs.mu.RUnlock()
	e, ok := d.entries[name]
	if !ok {
		return nil, linux.ENOENT
	}
	return e.node, nil
}

// Readdir implements vfs.Dir.
func (d *Dir) Readdir() ([]vfs.Dirent, error) {
	d.fs.mu.RLock()
	defer d.fs.mu.RUnlock()
	out := d.dotsLocked()
	for _, e := range d.order {
		out = append(out, direntOf(e))
	}
	return out, nil
}

// dotsLocked returns "." and ".." (the root's ".." is itself).
//
// Preconditions: FS.mu is held.
func (d *Dir) dotsLocked() []vfs.Dirent {
	up := d
	if d.parent != nil {
		up = d.parent
	}
	return []vfs.Dirent{
		{Name: ".", Ino: d.ino, Type: vfs.ModeDir >> 12},
		{Name: "..", Ino: up.ino, Type: vfs.ModeDir >> 12},
	}
}

func direntOf(e *dirent) vfs.Dirent {
	n := e.node.base()
	return vfs.Dirent{Name: e.name, Ino: n.ino, Type: uint8(n.typ >> 12)}
}

// Open implements vfs.Opener: a directory handle (EISDIR for writing).
func (d *Dir) Open(flags uint32) (vfs.Handle, error) {
	if flags&linux.O_ACCMODE != linux.O_RDONLY {
		return nil, linux.EISDIR
	}
	return &dirHandle{d: d}, nil
}

// dirHandle is an open directory.
type dirHandle struct {
	d   *Dir
	mu  sync.Mutex // protects pos
	pos int64
}

// Read implements vfs.Handle: EISDIR.
func (h *dirHandle) Read(bufs [][]byte, off int64) (int, error) { return 0, linux.EISDIR }

// Write implements vfs.Handle: EBADF.
func (h *dirHandle) Write(bufs [][]byte, off int64) (int, error) { return 0, linux.EBADF }

// Seek implements vfs.Handle: SEEK_SET and SEEK_CUR to a position not
// below 0.
func (h *dirHandle) Seek(off int64, whence int) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch whence {
	case 1: // SEEK_CUR
		off += h.pos
	case 0: // SEEK_SET
	default:
		return 0, linux.EINVAL
	}
	if off < 0 {
		return 0, linux.EINVAL
	}
	h.pos = off
	return off, nil
}

// Attr implements vfs.Handle.
func (h *dirHandle) Attr() (vfs.Attr, error) { return h.d.Attr() }

// Close implements vfs.Handle.
func (h *dirHandle) Close() error { return nil }

// Getdents implements vfs.DirHandle: "." and "..", then the entries in
// the order they were added; next is the position after each.
func (h *dirHandle) Getdents(emit func(d vfs.Dirent, next int64) bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.d
	d.fs.mu.RLock()
	dots := d.dotsLocked()
	i := sort.Search(len(d.order), func(i int) bool { return d.order[i].cookie >= h.pos })
	var ents []vfs.Dirent
	var cookies []int64
	for _, e := range d.order[i:] {
		ents = append(ents, direntOf(e))
		cookies = append(cookies, e.cookie)
	}
	d.fs.mu.RUnlock()
	for ; h.pos < firstCookie; h.pos++ {
		if !emit(dots[h.pos], h.pos+1) {
			return nil
		}
	}
	for i, e := range ents {
		if !emit(e, cookies[i]+1) {
			return nil
		}
		h.pos = cookies[i] + 1
	}
	return nil
}
