package tmpfs

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

// Directory positions, as Linux's simple_offset directories (fs/libfs.c,
// 6.14 and later) number them: "." is at 0, ".." at 1, 2 is the first
// entry, entries have positions from dirOffsetMin to dirOffsetMax handed
// out cyclically, and dirOffsetEOD is the end.
const (
	dirOffsetFirst = 2
	dirOffsetMin   = 3
	dirOffsetEOD   = 1<<31 - 1
	dirOffsetMax   = dirOffsetEOD - 1
)

// Dir is a directory. Its entries are listed newest first: an entry made,
// linked, or renamed into the directory (or exchanged) goes to the head of
// the list; a rename over an existing entry takes that entry's position.
// Reading resumes at the entry with the largest position not above the
// directory handle's, or at the head if there is none, and goes on down
// the list, as Linux's offset_iterate_dir does.
type Dir struct {
	inode
	// Protected by FS.mu.
	entries map[string]*dirent
	head    *dirent // the list, newest first
	// byCookie holds the entries by position, with removed ones among
	// them until there are many (see compactLocked).
	byCookie []*dirent
	removed  int   // removed entries in byCookie
	cookie   int64 // where the search for the next position starts
}

// dirent is a directory entry: a name, its inode and its position.
type dirent struct {
	name       string
	node       node
	cookie     int64
	removed    bool
	prev, next *dirent // the directory's list
}

// checkName refuses names no directory entry can have.
func checkName(name string) error {
	switch {
	case name == "":
		return linux.ENOENT
	case len(name) > vfs.NameMax:
		return linux.ENAMETOOLONG
	case name == "." || name == ".." || strings.ContainsAny(name, "/\x00"):
		return linux.EINVAL
	}
	return nil
}

// Lookup implements vfs.Dir.
func (d *Dir) Lookup(name string) (vfs.Inode, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	d.fs.mu.RLock()
	defer d.fs.mu.RUnlock()
	e, ok := d.entries[name]
	if !ok {
		return nil, linux.ENOENT
	}
	e.node.IncRef()
	return e.node, nil
}

// Readdir implements vfs.Dir: ".", "..", then the entries newest first.
func (d *Dir) Readdir() ([]vfs.Dirent, error) {
	d.fs.mu.RLock()
	defer d.fs.mu.RUnlock()
	out := make([]vfs.Dirent, 0, 2+len(d.entries))
	out = append(out, d.dotsLocked()...)
	for e := d.head; e != nil; e = e.next {
		out = append(out, direntOf(e))
	}
	return out, nil
}

// dotsLocked returns the entries "." and ".." (the root's ".." is itself).
//
// Preconditions: FS.mu is held.
func (d *Dir) dotsLocked() []vfs.Dirent {
	up := d
	if d.parent != nil {
		up = d.parent
	}
	return []vfs.Dirent{
		{Name: ".", Ino: d.ino, Type: dtDir},
		{Name: "..", Ino: up.ino, Type: dtDir},
	}
}

const dtDir = vfs.ModeDir >> 12

// direntOf is e as getdents reports it.
//
// Preconditions: FS.mu is held.
func direntOf(e *dirent) vfs.Dirent {
	n := e.node.base()
	return vfs.Dirent{Name: e.name, Ino: n.ino, Type: uint8(n.typ >> 12)}
}

// pushFrontLocked puts e at the head of the list.
//
// Preconditions: FS.mu is held for writing.
func (d *Dir) pushFrontLocked(e *dirent) {
	e.prev, e.next = nil, d.head
	if d.head != nil {
		d.head.prev = e
	}
	d.head = e
}

// unlinkLocked takes e out of the list.
//
// Preconditions: FS.mu is held for writing.
func (d *Dir) unlinkLocked(e *dirent) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		d.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	}
	e.prev, e.next = nil, nil
}

// stampLocked records a change of the directory's entries: its size
// changes by delta, its mtime and ctime become now.
//
// Preconditions: FS.mu is held for writing; no inode's mu is held.
func (d *Dir) stampLocked(delta int64) {
	d.mu.Lock()
	d.size += delta
	d.mtime = d.fs.now()
	d.ctime = d.mtime
	d.mu.Unlock()
}

// allocCookieLocked returns a free position for a new entry: the one
// after the last handed out, or once they have run out, the first free
// one from there on, cyclically (mtree_alloc_cyclic). ENOSPC when every
// position is taken.
//
// Preconditions: FS.mu is held for writing.
func (d *Dir) allocCookieLocked() (int64, error) {
	c := max(d.cookie, dirOffsetMin)
	if n := len(d.byCookie); c <= dirOffsetMax && (n == 0 || d.byCookie[n-1].cookie < c) {
		return c, nil
	}
	d.compactLocked()
	if c > dirOffsetMax {
		c = dirOffsetMin
	}
	if free, ok := d.freeFromLocked(c, dirOffsetMax); ok {
		return free, nil
	}
	if free, ok := d.freeFromLocked(dirOffsetMin, c-1); ok {
		return free, nil
	}
	return 0, linux.ENOSPC
}

// freeFromLocked returns the first position in [lo, hi] no entry has.
//
// Preconditions: FS.mu is held; byCookie holds no removed entries.
func (d *Dir) freeFromLocked(lo, hi int64) (int64, bool) {
	i := sort.Search(len(d.byCookie), func(i int) bool { return d.byCookie[i].cookie >= lo })
	c := lo
	for ; i < len(d.byCookie) && d.byCookie[i].cookie == c; i++ {
		c++
	}
	return c, c <= hi
}

// compactLocked drops the removed entries from byCookie.
//
// Preconditions: FS.mu is held for writing.
func (d *Dir) compactLocked() {
	live := d.byCookie[:0]
	for _, e := range d.byCookie {
		if !e.removed {
			live = append(live, e)
		}
	}
	clear(d.byCookie[len(live):])
	d.byCookie, d.removed = live, 0
}

// addLocked enters n as name (which does not exist) at position cookie
// (from allocCookieLocked), at the head of the list, and stamps the
// directory.
//
// Preconditions: FS.mu is held for writing; no inode's mu is held.
func (d *Dir) addLocked(name string, n node, cookie int64) {
	e := &dirent{name: name, node: n, cookie: cookie}
	d.cookie = cookie + 1
	d.entries[name] = e
	if k := len(d.byCookie); k == 0 || d.byCookie[k-1].cookie < cookie {
		d.byCookie = append(d.byCookie, e)
	} else { // the positions wrapped: byCookie has no removed entries
		i := sort.Search(k, func(i int) bool { return d.byCookie[i].cookie > cookie })
		d.byCookie = append(d.byCookie, nil)
		copy(d.byCookie[i+1:], d.byCookie[i:])
		d.byCookie[i] = e
	}
	d.pushFrontLocked(e)
	b := n.base()
	b.parent, b.name = d, name
	d.stampLocked(bogoDirentSize)
}

// removeLocked removes the entry name and stamps the directory.
//
// Preconditions: FS.mu is held for writing; no inode's mu is held.
func (d *Dir) removeLocked(name string) {
	e := d.entries[name]
	delete(d.entries, name)
	d.unlinkLocked(e)
	e.removed = true
	d.removed++
	if d.removed > 32 && d.removed > len(d.byCookie)/2 {
		d.compactLocked()
	}
	d.stampLocked(-bogoDirentSize)
}

// replaceLocked makes the existing entry e name n instead (a rename over
// it): e keeps its position and goes to the head of the list.
//
// Preconditions: FS.mu is held for writing; no inode's mu is held.
func (d *Dir) replaceLocked(e *dirent, n node) {
	e.node = n
	d.unlinkLocked(e)
	d.pushFrontLocked(e)
	b := n.base()
	b.parent, b.name = d, e.name
	d.stampLocked(0)
}

// listed is an entry as a directory handle reads it.
type listed struct {
	d            vfs.Dirent
	cookie, next int64 // its position, the next one's
}

// listLocked returns up to limit entries from position pos on (pos >=
// dirOffsetFirst, below dirOffsetEOD): from the entry with the largest
// position not above pos (the head for dirOffsetFirst or if there is
// none) down the list.
//
// Preconditions: FS.mu is held.
func (d *Dir) listLocked(pos int64, limit int) []listed {
	e := d.head
	if pos != dirOffsetFirst {
		i := sort.Search(len(d.byCookie), func(i int) bool { return d.byCookie[i].cookie > pos })
		for i--; i >= 0; i-- {
			if !d.byCookie[i].removed {
				e = d.byCookie[i]
				break
			}
		}
	}
	var out []listed
	for ; e != nil && len(out) < limit; e = e.next {
		next := int64(dirOffsetEOD)
		if e.next != nil {
			next = e.next.cookie
		}
		out = append(out, listed{d: direntOf(e), cookie: e.cookie, next: next})
	}
	return out
}

// prepareLocked checks that name can be made in d: a valid name, a
// directory not removed (ENOENT), no entry of that name (EEXIST), a free
// position (ENOSPC); it returns the position.
//
// Preconditions: FS.mu is held for writing.
func (d *Dir) prepareLocked(name string) (int64, error) {
	if err := checkName(name); err != nil {
		return 0, err
	}
	if d.nlink == 0 {
		return 0, linux.ENOENT
	}
	if _, ok := d.entries[name]; ok {
		return 0, linux.EEXIST
	}
	return d.allocCookieLocked()
}

// newFile makes a regular file (not yet entered).
func (fs *FS) newFile(mode uint32, o vfs.Owner) *File {
	f := &File{pages: map[int64]*page{}}
	fs.initInode(&f.inode, vfs.ModeRegular, mode, o)
	f.release = f.freePagesLocked
	f.nlink = 1
	return f
}

// Create implements vfs.DirWriter: a new regular file (EEXIST if name
// exists), opened with flags.
func (d *Dir) Create(name string, flags, mode uint32, o vfs.Owner) (vfs.Handle, error) {
	d.fs.mu.Lock()
	cookie, err := d.prepareLocked(name)
	if err != nil {
		d.fs.mu.Unlock()
		return nil, err
	}
	if err := d.fs.reserveInode(); err != nil {
		d.fs.mu.Unlock()
		return nil, err
	}
	f := d.fs.newFile(mode, o)
	f.IncRef() // the handle's
	d.addLocked(name, f, cookie)
	d.fs.mu.Unlock()
	return newFileHandle(f, flags&^linux.O_TRUNC), nil
}

// Mkdir implements vfs.DirWriter. A directory made in a setgid directory
// is setgid too.
func (d *Dir) Mkdir(name string, mode uint32, o vfs.Owner) error {
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	cookie, err := d.prepareLocked(name)
	if err != nil {
		return err
	}
	if err := d.fs.reserveInode(); err != nil {
		return err
	}
	mode &= vfs.ModePerm &^ (vfs.ModeSetUID | vfs.ModeSetGID)
	d.mu.Lock()
	if d.mode&vfs.ModeSetGID != 0 {
		mode |= vfs.ModeSetGID
	}
	d.nlink++
	d.mu.Unlock()
	sub := &Dir{entries: map[string]*dirent{}}
	d.fs.initInode(&sub.inode, vfs.ModeDir, mode, o)
	sub.nlink = 2
	sub.size = 2 * bogoDirentSize
	d.addLocked(name, sub, cookie)
	return nil
}

// Mknod implements vfs.DirWriter: FIFOs, sockets and regular files;
// devices are EPERM.
func (d *Dir) Mknod(name string, mode uint32, dev uint64, o vfs.Owner) error {
	typ := mode & vfs.ModeType
	switch typ {
	case 0, vfs.ModeRegular, vfs.ModeFIFO, vfs.ModeSocket, vfs.ModeChar, vfs.ModeBlock:
	case vfs.ModeDir:
		return linux.EPERM
	default:
		return linux.EINVAL
	}
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	cookie, err := d.prepareLocked(name)
	if err != nil {
		return err
	}
	var n node
	switch typ {
	case vfs.ModeChar, vfs.ModeBlock:
		return linux.EPERM
	case 0, vfs.ModeRegular:
		if err := d.fs.reserveInode(); err != nil {
			return err
		}
		n = d.fs.newFile(mode, o)
	default:
		if err := d.fs.reserveInode(); err != nil {
			return err
		}
		s := &Special{}
		d.fs.initInode(&s.inode, typ, mode, o)
		s.nlink = 1
		n = s
	}
	d.addLocked(name, n, cookie)
	return nil
}

// Symlink implements vfs.DirWriter. A target of 128 bytes or more takes a
// page, as Linux keeps only short ones in the inode.
func (d *Dir) Symlink(name, target string, o vfs.Owner) error {
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	cookie, err := d.prepareLocked(name)
	if err != nil {
		return err
	}
	switch {
	case target == "":
		return linux.ENOENT
	case len(target) >= PageSize:
		return linux.ENAMETOOLONG
	}
	if err := d.fs.reserveInode(); err != nil {
		return err
	}
	l := &Symlink{target: target}
	d.fs.initInode(&l.inode, vfs.ModeSymlink, 0o777, o)
	l.nlink = 1
	l.size = int64(len(target))
	if len(target) >= shortSymlinkLen {
		if !d.fs.reservePages(1) {
			d.fs.usedInodes.Add(-1)
			return linux.ENOSPC
		}
		l.npages = 1
		l.release = func() { d.fs.usedPages.Add(-1); l.npages = 0 }
	}
	d.addLocked(name, l, cookie)
	return nil
}

// Link implements vfs.DirWriter: EXDEV for another filesystem's file,
// EPERM for a directory, ENOENT for a file with no links left.
func (d *Dir) Link(name string, target vfs.Inode) error {
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	cookie, err := d.prepareLocked(name)
	if err != nil {
		return err
	}
	t, ok := target.(node)
	if !ok || t.base().fs != d.fs {
		return linux.EXDEV
	}
	n := t.base()
	if n.typ == vfs.ModeDir {
		return linux.EPERM
	}
	n.mu.Lock()
	if n.nlink == 0 {
		n.mu.Unlock()
		return linux.ENOENT
	}
	n.nlink++
	n.ctime = d.fs.now()
	n.mu.Unlock()
	d.addLocked(name, t, cookie)
	return nil
}

// Unlink implements vfs.DirWriter: EISDIR for a directory.
func (d *Dir) Unlink(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	e, ok := d.entries[name]
	if !ok {
		return linux.ENOENT
	}
	n := e.node.base()
	if n.typ == vfs.ModeDir {
		return linux.EISDIR
	}
	d.removeLocked(name)
	n.dropLinkLocked(1)
	return nil
}

// dropLinkLocked takes k links from n, stamps its ctime and frees it if
// that was its last link and it has no references.
//
// Preconditions: FS.mu is held for writing; no inode's mu is held.
func (n *inode) dropLinkLocked(k uint64) {
	n.mu.Lock()
	n.nlink -= k
	n.ctime = n.fs.now()
	n.maybeReleaseLocked()
	n.mu.Unlock()
}

// Rmdir implements vfs.DirWriter: ENOTDIR for a file, ENOTEMPTY for a
// directory with entries.
func (d *Dir) Rmdir(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	e, ok := d.entries[name]
	if !ok {
		return linux.ENOENT
	}
	sub, ok := e.node.(*Dir)
	if !ok {
		return linux.ENOTDIR
	}
	if len(sub.entries) != 0 {
		return linux.ENOTEMPTY
	}
	d.removeLocked(name)
	sub.dropLinkLocked(2)
	d.mu.Lock()
	d.nlink--
	d.mu.Unlock()
	return nil
}

// isAncestorLocked reports whether a is d or one of d's ancestors.
//
// Preconditions: FS.mu is held.
func isAncestorLocked(a, d *Dir) bool {
	for p := d; p != nil; p = p.parent {
		if p == a {
			return true
		}
	}
	return false
}

// Rename implements vfs.DirWriter: renameat2 with RENAME_NOREPLACE and
// RENAME_EXCHANGE (RENAME_WHITEOUT is EINVAL: the VFS refuses it), with
// do_renameat2's checks in its order.
func (d *Dir) Rename(name string, newDir vfs.Dir, newName string, flags uint32) error {
	const noReplace, exchange = linux.RENAME_NOREPLACE, linux.RENAME_EXCHANGE
	if flags&^(noReplace|exchange) != 0 || flags == noReplace|exchange {
		return linux.EINVAL
	}
	nd, ok := newDir.(*Dir)
	if !ok || nd.fs != d.fs {
		return linux.EXDEV
	}
	if err := checkName(name); err != nil {
		return err
	}
	if err := checkName(newName); err != nil {
		return err
	}
	fs := d.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	src, ok := d.entries[name]
	if !ok {
		return linux.ENOENT
	}
	if nd.nlink == 0 {
		return linux.ENOENT
	}
	dst := nd.entries[newName]
	switch {
	case dst != nil && flags&noReplace != 0:
		return linux.EEXIST
	case dst == nil && flags&exchange != 0:
		return linux.ENOENT
	}
	srcDir, _ := src.node.(*Dir)
	var dstDir *Dir
	if dst != nil {
		dstDir, _ = dst.node.(*Dir)
	}
	// The source may not be an ancestor of the new directory; the target
	// may not be one of the old directory.
	if srcDir != nil && isAncestorLocked(srcDir, nd) {
		return linux.EINVAL
	}
	if dstDir != nil && isAncestorLocked(dstDir, d) {
		if flags&exchange != 0 {
			return linux.EINVAL
		}
		return linux.ENOTEMPTY
	}
	if dst != nil && src.node == dst.node {
		return nil
	}
	if flags&exchange != 0 {
		d.exchangeLocked(src, nd, dst)
		return nil
	}
	if dst != nil {
		switch {
		case srcDir != nil && dstDir == nil:
			return linux.ENOTDIR
		case srcDir == nil && dstDir != nil:
			return linux.EISDIR
		case dstDir != nil && len(dstDir.entries) != 0:
			return linux.ENOTEMPTY
		}
	}
	var cookie int64
	if dst == nil {
		var err error
		if cookie, err = nd.allocCookieLocked(); err != nil {
			return err
		}
	}
	d.removeLocked(name)
	if dst != nil {
		// The moved entry takes the target's position.
		replaced := dst.node
		nd.replaceLocked(dst, src.node)
		if dstDir != nil {
			dstDir.dropLinkLocked(2)
		} else {
			replaced.base().dropLinkLocked(1)
		}
	} else {
		nd.addLocked(newName, src.node, cookie)
	}
	s := src.node.base()
	s.mu.Lock()
	s.ctime = fs.now()
	s.mu.Unlock()
	if srcDir != nil {
		// The moved directory's ".." leaves d for nd; a replaced
		// directory's ".." left nd.
		d.addNlink(-1)
		if dstDir == nil {
			nd.addNlink(1)
		}
	}
	return nil
}

// addNlink changes d's link count by k.
//
// Preconditions: FS.mu is held for writing; no inode's mu is held.
func (d *Dir) addNlink(k int) {
	d.mu.Lock()
	d.nlink = uint64(int64(d.nlink) + int64(k))
	d.mu.Unlock()
}

// exchangeLocked swaps the inodes of the entries src (of d) and dst (of
// nd) (RENAME_EXCHANGE). The names keep their positions and go to the
// head of their lists, src's first, as __d_move moves the dentries.
//
// Preconditions: FS.mu is held for writing; no inode's mu is held.
func (d *Dir) exchangeLocked(src *dirent, nd *Dir, dst *dirent) {
	src.node, dst.node = dst.node, src.node
	d.unlinkLocked(src)
	d.pushFrontLocked(src)
	nd.unlinkLocked(dst)
	nd.pushFrontLocked(dst)
	a, b := src.node.base(), dst.node.base()
	a.parent, a.name = d, src.name
	b.parent, b.name = nd, dst.name
	_, aDir := src.node.(*Dir)
	_, bDir := dst.node.(*Dir)
	if d != nd && aDir != bDir {
		// A directory changed parents: its ".." moves with it.
		if aDir {
			d.addNlink(1)
			nd.addNlink(-1)
		} else {
			d.addNlink(-1)
			nd.addNlink(1)
		}
	}
	now := d.fs.now()
	for _, n := range []*inode{&d.inode, &nd.inode} {
		n.mu.Lock()
		n.mtime, n.ctime = now, now
		n.mu.Unlock()
	}
	for _, n := range []*inode{a, b} {
		n.mu.Lock()
		n.ctime = now
		n.mu.Unlock()
	}
}

// Open implements vfs.Opener: a directory handle (EISDIR for writing).
func (d *Dir) Open(flags uint32) (vfs.Handle, error) {
	if acc := flags & linux.O_ACCMODE; acc != linux.O_RDONLY {
		return nil, linux.EISDIR
	}
	d.IncRef()
	return &dirHandle{d: d}, nil
}

// Setattr implements vfs.Setattrer (a size is EISDIR).
func (d *Dir) Setattr(s vfs.Setattr) error { return d.setattr(s) }

// dirHandle is an open directory.
type dirHandle struct {
	d      *Dir
	closed atomic.Bool
	mu     sync.Mutex // protects pos
	pos    int64
}

// Inode returns the directory.
func (h *dirHandle) Inode() vfs.Inode { return h.d }

// Read implements vfs.Handle: EISDIR.
func (h *dirHandle) Read(bufs [][]byte, off int64) (int, error) { return 0, linux.EISDIR }

// Write implements vfs.Handle: EBADF (a directory is never open for
// writing).
func (h *dirHandle) Write(bufs [][]byte, off int64) (int, error) { return 0, linux.EBADF }

// Seek implements vfs.Handle: SEEK_SET and SEEK_CUR to a position not
// below 0 (offset_dir_llseek).
func (h *dirHandle) Seek(off int64, whence int) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch whence {
	case seekCur:
		off += h.pos
	case seekSet:
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
func (h *dirHandle) Close() error {
	if h.closed.Swap(true) {
		return linux.EBADF
	}
	h.d.DecRef()
	return nil
}

// Getdents implements vfs.DirHandle: "." and ".." first, then the
// entries newest first; next is the position of the entry after each (of
// the first entry for "..", dirOffsetEOD after the last), as Linux
// reports d_off. A removed directory is ENOENT (iterate_dir).
func (h *dirHandle) Getdents(emit func(d vfs.Dirent, next int64) bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.d
	d.fs.mu.RLock()
	dead := d.nlink == 0
	d.fs.mu.RUnlock()
	if dead {
		return linux.ENOENT
	}
	defer d.touchAtime()
	if h.pos < dirOffsetFirst {
		d.fs.mu.RLock()
		dots := d.dotsLocked()
		first := int64(dirOffsetEOD)
		if d.head != nil {
			first = d.head.cookie
		}
		d.fs.mu.RUnlock()
		if h.pos == 0 {
			if !emit(dots[0], 1) {
				return nil
			}
			h.pos = 1
		}
		if !emit(dots[1], first) {
			return nil
		}
		h.pos = dirOffsetFirst
	}
	for h.pos != dirOffsetEOD {
		d.fs.mu.RLock()
		batch := d.listLocked(h.pos, 128)
		d.fs.mu.RUnlock()
		if len(batch) == 0 {
			h.pos = dirOffsetEOD
			break
		}
		for _, e := range batch {
			h.pos = e.cookie
			if !emit(e.d, e.next) {
				return nil
			}
			h.pos = e.next
		}
	}
	return nil
}

// Whence values of lseek.
const (
	seekSet  = 0
	seekCur  = 1
	seekEnd  = 2
	seekData = 3
	seekHole = 4
)
