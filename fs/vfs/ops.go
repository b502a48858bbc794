package vfs

import (
	"strings"

	"github.com/cmaemu/cmaemu/linux"
)

// The operations of the path system calls, with Linux's checks and errors
// (fs/namei.c, fs/open.c, fs/attr.c). Every name is resolved by r; start
// is the directory relative names begin at (the working directory or a
// dirfd's directory).

// isDot reports whether a last component is "." or "..".
func isDot(last string) bool { return last == "." || last == ".." }

// lookupLast looks up the last component of a ResolveParent in dir,
// without following a symlink. ENOENT is returned as (Path{}, false, nil).
func (r *Resolver) lookupLast(dir Path, last string) (Path, bool, error) {
	p, err := r.Lookup(dir, last)
	if err == linux.ENOENT {
		return Path{}, false, nil
	}
	if err != nil {
		return Path{}, false, err
	}
	return p, true, nil
}

// writer returns dir's DirWriter, or the error for a directory whose
// entries cannot change.
func writer(dir Path) (DirWriter, error) {
	if err := dir.Writable(); err != nil {
		return nil, err
	}
	w, ok := dir.Inode.(DirWriter)
	if !ok {
		return nil, linux.EACCES
	}
	return w, nil
}

// isMountPoint reports whether p is the root of a mount.
func (r *Resolver) isMountPoint(p Path) bool {
	return p.Mount != nil && p.Mount.Point == p.Name && p.Name != "/"
}

// Open flags the VFS looks at.
const (
	oAccMode  = linux.O_ACCMODE
	oCreat    = linux.O_CREAT
	oExcl     = linux.O_EXCL
	oTrunc    = linux.O_TRUNC
	oDir      = linux.O_DIRECTORY
	oNoFollow = linux.O_NOFOLLOW
	oPath     = linux.O_PATH
)

// Open resolves and opens name as open(2) does with flags and mode (mode
// before the umask, which r applies). An O_PATH open returns no Handle.
func (r *Resolver) Open(start Path, name string, flags, mode, umask uint32) (Path, Handle, error) {
	return r.open(start, name, flags, mode, umask, 0)
}

func (r *Resolver) open(start Path, name string, flags, mode, umask uint32, depth int) (Path, Handle, error) {
	if flags&(oPath|oCreat) != oCreat { // O_PATH ignores O_CREAT
		rf := 0
		if flags&oNoFollow != 0 {
			rf |= NoFollow
		}
		if flags&oDir != 0 {
			rf |= MustDir
		}
		if flags&oPath != 0 {
			p, err := r.Resolve(start, name, rf)
			return p, nil, err
		}
		p, a, err := r.ResolveAttr(start, name, rf)
		if err != nil {
			return Path{}, nil, err
		}
		h, err := r.openPathAttr(p, a, flags)
		if err != nil {
			p.DecRef()
			return Path{}, nil, err
		}
		return p, h, nil
	}
	dir, last, slash, err := r.ResolveParent(start, name)
	if err != nil {
		return Path{}, nil, err
	}
	defer dir.DecRef()
	if isDot(last) || slash {
		return Path{}, nil, linux.EISDIR
	}
	p, found, err := r.lookupLast(dir, last)
	if err != nil {
		return Path{}, nil, err
	}
	if found {
		if flags&oExcl != 0 {
			p.DecRef()
			return Path{}, nil, linux.EEXIST
		}
		a, err := p.Inode.Attr()
		if err != nil {
			p.DecRef()
			return Path{}, nil, err
		}
		if a.IsSymlink() {
			p.DecRef()
			if flags&oNoFollow != 0 {
				return Path{}, nil, linux.ELOOP
			}
			return r.openThroughLink(dir, last, flags, mode, umask, depth)
		}
		h, err := r.openPath(p, flags)
		if err != nil {
			p.DecRef()
			return Path{}, nil, err
		}
		return p, h, nil
	}
	return r.create(dir, last, flags, mode, umask)
}

// openThroughLink opens O_CREAT through the symlink dir/last: the link's
// target is opened (and created if missing) as if named instead.
func (r *Resolver) openThroughLink(dir Path, last string, flags, mode, umask uint32, depth int) (Path, Handle, error) {
	if depth >= MaxSymlinks {
		return Path{}, nil, linux.ELOOP
	}
	p, err := r.Lookup(dir, last)
	if err != nil {
		return Path{}, nil, err
	}
	if ml, ok := p.Inode.(MagicLink); ok {
		defer p.DecRef()
		target, err := ml.Follow()
		if err != nil {
			return Path{}, nil, err
		}
		h, err := r.openPath(target, flags)
		if err != nil {
			target.DecRef()
			return Path{}, nil, err
		}
		return target, h, nil
	}
	link, ok := p.Inode.(Symlink)
	if !ok {
		p.DecRef()
		return Path{}, nil, linux.EINVAL
	}
	target, err := link.Readlink()
	p.DecRef()
	if err != nil {
		return Path{}, nil, err
	}
	if target == "" {
		return Path{}, nil, linux.ENOENT
	}
	return r.open(dir, target, flags, mode, umask, depth+1)
}

// create makes and opens the regular file dir/last.
func (r *Resolver) create(dir Path, last string, flags, mode, umask uint32) (Path, Handle, error) {
	da, err := dir.Inode.Attr()
	if err != nil {
		return Path{}, nil, err
	}
	if err := r.Creds.MayCreate(da); err != nil {
		return Path{}, nil, err
	}
	w, err := writer(dir)
	if err != nil {
		return Path{}, nil, err
	}
	h, err := w.Create(last, flags&^(oCreat|oExcl|oNoFollow|oDir), mode&^umask&ModePerm&^ModeType, r.Creds.NewOwner(da))
	if err != nil {
		return Path{}, nil, err
	}
	p, err := r.Lookup(dir, last)
	if err != nil {
		h.Close()
		return Path{}, nil, err
	}
	return p, h, nil
}

// openPath opens the resolved p with may_open's checks.
func (r *Resolver) openPath(p Path, flags uint32) (Handle, error) {
	a, err := p.Inode.Attr()
	if err != nil {
		return nil, err
	}
	return r.openPathAttr(p, a, flags)
}

// openPathAttr is openPath of p whose attributes are a.
func (r *Resolver) openPathAttr(p Path, a Attr, flags uint32) (Handle, error) {
	acc := flags & oAccMode
	if acc == 3 {
		return nil, linux.EINVAL
	}
	write := acc == linux.O_WRONLY || acc == linux.O_RDWR
	switch a.Mode & ModeType {
	case ModeSymlink:
		return nil, linux.ELOOP
	case ModeDir:
		if write || flags&(oCreat|oTrunc) != 0 {
			return nil, linux.EISDIR
		}
	case ModeSocket:
		return nil, linux.ENXIO
	case ModeChar, ModeBlock:
		if p.Mount != nil && p.Mount.Flags&MountNoDev != 0 {
			return nil, linux.EACCES
		}
	default:
		if flags&oDir != 0 {
			return nil, linux.ENOTDIR
		}
	}
	mask := 0
	if acc == linux.O_RDONLY || acc == linux.O_RDWR {
		mask |= MayRead
	}
	if write || flags&oTrunc != 0 && a.IsRegular() {
		mask |= MayWrite
	}
	if err := r.Creds.Permission(a, mask); err != nil {
		return nil, err
	}
	if mask&MayWrite != 0 && a.Mode&ModeType != ModeChar && a.Mode&ModeType != ModeFIFO {
		if err := p.Writable(); err != nil {
			return nil, err
		}
	}
	if flags&linux.O_APPEND == 0 && write && a.Attributes&attrAppend != 0 {
		return nil, linux.EPERM
	}
	o, ok := p.Inode.(Opener)
	if !ok {
		return nil, linux.ENXIO
	}
	if !a.IsRegular() {
		flags &^= oTrunc
	}
	flags &^= oCreat | oExcl | oNoFollow
	if a.Mode&ModeType == ModeFIFO && flags&linux.O_NONBLOCK == 0 && acc != linux.O_RDWR {
		return PendingFIFO{o, flags}, nil
	}
	return o.Open(flags)
}

// PendingFIFO is what Open returns for a FIFO whose open waits for the
// other side (a reader for a writer, a writer for a reader): the caller
// opens it where the wait can be interrupted, and Unblock ends a wait
// that must stop. Its Handle methods are never meant to be used.
type PendingFIFO struct {
	opener Opener
	flags  uint32
}

// Open opens the FIFO; it may wait for the other side.
func (f PendingFIFO) Open() (Handle, error) { return f.opener.Open(f.flags) }

// Unblock opens the other side without waiting and closes it again, so
// that a waiting Open returns (other waiters of that FIFO see a peer
// come and go). It reports whether the other side could be opened (a
// writer cannot be until a reader waits).
func (f PendingFIFO) Unblock() bool {
	other := uint32(linux.O_RDONLY)
	if f.flags&oAccMode == linux.O_RDONLY {
		other = linux.O_WRONLY
	}
	h, err := f.opener.Open(other | linux.O_NONBLOCK)
	if err != nil {
		return false
	}
	h.Close()
	return true
}

func (PendingFIFO) Read([][]byte, int64) (int, error)  { return 0, linux.EBADF }
func (PendingFIFO) Write([][]byte, int64) (int, error) { return 0, linux.EBADF }
func (PendingFIFO) Seek(int64, int) (int64, error)     { return 0, linux.ESPIPE }
func (PendingFIFO) Attr() (Attr, error)                { return Attr{}, linux.EBADF }
func (PendingFIFO) Close() error                       { return nil }

// attrAppend is STATX_ATTR_APPEND (chattr +a).
const attrAppend = 0x20

// Stat resolves name (following a last symlink unless nofollow) and
// returns its attributes.
func (r *Resolver) Stat(start Path, name string, nofollow bool) (Attr, error) {
	flags := 0
	if nofollow {
		flags = NoFollow
	}
	p, a, err := r.ResolveAttr(start, name, flags)
	if err != nil {
		return Attr{}, err
	}
	p.DecRef()
	return a, nil
}

// Access is faccessat's check of mode (R_OK 4, W_OK 2, X_OK 1; 0 is
// existence) on name, with r's credentials (the caller picks real or
// effective ids).
func (r *Resolver) Access(start Path, name string, mode uint32, nofollow bool) error {
	if mode&^7 != 0 {
		return linux.EINVAL
	}
	flags := 0
	if nofollow {
		flags = NoFollow
	}
	p, err := r.Resolve(start, name, flags)
	if err != nil {
		return err
	}
	defer p.DecRef()
	a, err := p.Attr()
	if err != nil {
		return err
	}
	if mode == 0 {
		return nil
	}
	if err := r.Creds.Permission(a, int(mode)); err != nil {
		return err
	}
	if mode&MayWrite != 0 && a.Mode&ModeType != ModeChar && a.Mode&ModeType != ModeFIFO && a.Mode&ModeType != ModeSocket {
		return p.Writable()
	}
	return nil
}

// Readlink returns the target of the symlink name (EINVAL for another
// file type).
func (r *Resolver) Readlink(start Path, name string) (string, error) {
	p, err := r.Resolve(start, name, NoFollow)
	if err != nil {
		return "", err
	}
	defer p.DecRef()
	l, ok := p.Inode.(Symlink)
	if !ok {
		return "", linux.EINVAL
	}
	a, err := p.Inode.Attr()
	if err != nil {
		return "", err
	}
	if !a.IsSymlink() {
		return "", linux.EINVAL
	}
	return l.Readlink()
}

// Mkdir makes the directory name with mode (before the umask).
func (r *Resolver) Mkdir(start Path, name string, mode, umask uint32) error {
	dir, last, _, err := r.ResolveParent(start, name)
	if err != nil {
		return err
	}
	defer dir.DecRef()
	if isDot(last) {
		return linux.EEXIST
	}
	return r.makeEntry(dir, last, func(w DirWriter, o Owner) error {
		return w.Mkdir(last, mode&(ModePerm&^ModeSetUID&^ModeSetGID)&^umask, o)
	})
}

// makeEntry is the common part of mkdir, mknod and symlink: EEXIST when
// dir/last exists, may_create, then make.
func (r *Resolver) makeEntry(dir Path, last string, make func(w DirWriter, o Owner) error) error {
	p, found, err := r.lookupLast(dir, last)
	if err != nil {
		return err
	}
	if found {
		p.DecRef()
		return linux.EEXIST
	}
	da, err := dir.Inode.Attr()
	if err != nil {
		return err
	}
	if err := r.Creds.MayCreate(da); err != nil {
		return err
	}
	w, err := writer(dir)
	if err != nil {
		return err
	}
	return make(w, r.Creds.NewOwner(da))
}

// Mknod makes a FIFO, socket or empty regular file. Device nodes are
// refused (EPERM): they could name the host's devices.
func (r *Resolver) Mknod(start Path, name string, mode, umask uint32, dev uint64) error {
	switch mode & ModeType {
	case 0, ModeRegular, ModeFIFO, ModeSocket:
	case ModeChar, ModeBlock, ModeDir:
		return linux.EPERM
	default:
		return linux.EINVAL
	}
	if mode&ModeType == 0 {
		mode |= ModeRegular
	}
	return r.makeNonDir(start, name, func(w DirWriter, last string, o Owner) error {
		return w.Mknod(last, mode&ModeType|mode&ModePerm&^umask, 0, o)
	})
}

// makeNonDir makes the entry name that is not a directory (mknod,
// symlink): "." or ".." is EEXIST, a trailing slash ENOENT.
func (r *Resolver) makeNonDir(start Path, name string, make func(w DirWriter, last string, o Owner) error) error {
	dir, last, slash, err := r.ResolveParent(start, name)
	if err != nil {
		return err
	}
	defer dir.DecRef()
	if isDot(last) {
		return linux.EEXIST
	}
	if slash {
		return linux.ENOENT
	}
	return r.makeEntry(dir, last, func(w DirWriter, o Owner) error { return make(w, last, o) })
}

// Symlink makes name a symlink to target.
func (r *Resolver) Symlink(target string, start Path, name string) error {
	if target == "" {
		return linux.ENOENT
	}
	if len(target) >= PathMax {
		return linux.ENAMETOOLONG
	}
	return r.makeNonDir(start, name, func(w DirWriter, last string, o Owner) error {
		return w.Symlink(last, target, o)
	})
}

// victim looks up the entry an unlink, rmdir or rename removes, and
// checks may_delete.
func (r *Resolver) victim(dir Path, last string) (Path, Attr, error) {
	p, err := r.Lookup(dir, last)
	if err != nil {
		return Path{}, Attr{}, err
	}
	va, err := p.Inode.Attr()
	if err == nil {
		var da Attr
		if da, err = dir.Inode.Attr(); err == nil {
			err = r.Creds.MayDelete(da, va)
		}
	}
	if err != nil {
		p.DecRef()
		return Path{}, Attr{}, err
	}
	return p, va, nil
}

// Unlink removes the non-directory name.
func (r *Resolver) Unlink(start Path, name string) error {
	dir, last, slash, err := r.ResolveParent(start, name)
	if err != nil {
		return err
	}
	defer dir.DecRef()
	if isDot(last) {
		return linux.EISDIR
	}
	p, va, err := r.victim(dir, last)
	if err != nil {
		return err
	}
	defer p.DecRef()
	switch {
	case va.IsDir():
		return linux.EISDIR
	case slash:
		return linux.ENOTDIR
	case r.isMountPoint(p):
		return linux.EBUSY
	}
	w, err := writer(dir)
	if err != nil {
		return err
	}
	return w.Unlink(last)
}

// Rmdir removes the empty directory name.
func (r *Resolver) Rmdir(start Path, name string) error {
	dir, last, _, err := r.ResolveParent(start, name)
	if err != nil {
		return err
	}
	defer dir.DecRef()
	switch last {
	case ".":
		return linux.EINVAL
	case "..":
		return linux.ENOTEMPTY
	}
	p, va, err := r.victim(dir, last)
	if err != nil {
		return err
	}
	defer p.DecRef()
	if !va.IsDir() {
		return linux.ENOTDIR
	}
	if r.isMountPoint(p) || p.Name == r.Root.Name {
		return linux.EBUSY
	}
	w, err := writer(dir)
	if err != nil {
		return err
	}
	return w.Rmdir(last)
}

// Link makes newName a new name of oldName (followed when follow is set:
// AT_SYMLINK_FOLLOW).
func (r *Resolver) Link(oldStart Path, oldName string, newStart Path, newName string, follow bool) error {
	flags := NoFollow
	if follow {
		flags = 0
	}
	old, err := r.Resolve(oldStart, oldName, flags)
	if err != nil {
		return err
	}
	defer old.DecRef()
	return r.LinkPath(old, newStart, newName)
}

// LinkPath makes newName a new name of the resolved old (linkat with
// AT_EMPTY_PATH).
func (r *Resolver) LinkPath(old Path, newStart Path, newName string) error {
	oa, err := old.Inode.Attr()
	if err != nil {
		return err
	}
	if oa.IsDir() {
		return linux.EPERM
	}
	dir, last, slash, err := r.ResolveParent(newStart, newName)
	if err != nil {
		return err
	}
	defer dir.DecRef()
	switch {
	case isDot(last):
		return linux.EEXIST
	case slash:
		return linux.ENOENT
	case old.Mount != dir.Mount:
		return linux.EXDEV
	}
	if err := r.mayLinkProtected(oa); err != nil {
		return err
	}
	return r.makeEntry(dir, last, func(w DirWriter, _ Owner) error {
		return w.Link(last, old.Inode)
	})
}

// mayLinkProtected is fs.protected_hardlinks=1 (the default): without
// CAP_FOWNER, linking a file one does not own needs a regular file that is
// not setuid, not setgid-executable, and readable and writable.
func (r *Resolver) mayLinkProtected(a Attr) error {
	if r.Creds.Owns(a) {
		return nil
	}
	if !a.IsRegular() || a.Mode&ModeSetUID != 0 || a.Mode&(ModeSetGID|0o010) == ModeSetGID|0o010 {
		return linux.EPERM
	}
	if r.Creds.Permission(a, MayRead|MayWrite) != nil {
		return linux.EPERM
	}
	return nil
}

// Rename is renameat2.
func (r *Resolver) Rename(oldStart Path, oldName string, newStart Path, newName string, flags uint32) error {
	if flags&^(linux.RENAME_NOREPLACE|linux.RENAME_EXCHANGE|linux.RENAME_WHITEOUT) != 0 ||
		flags&linux.RENAME_NOREPLACE != 0 && flags&linux.RENAME_EXCHANGE != 0 {
		return linux.EINVAL
	}
	if flags&linux.RENAME_WHITEOUT != 0 {
		return linux.EINVAL
	}
	odir, olast, oslash, err := r.ResolveParent(oldStart, oldName)
	if err != nil {
		return err
	}
	defer odir.DecRef()
	ndir, nlast, nslash, err := r.ResolveParent(newStart, newName)
	if err != nil {
		return err
	}
	defer ndir.DecRef()
	if odir.Mount != ndir.Mount {
		return linux.EXDEV
	}
	if isDot(olast) {
		return linux.EBUSY
	}
	if isDot(nlast) {
		if flags&linux.RENAME_NOREPLACE != 0 {
			return linux.EEXIST
		}
		return linux.EBUSY
	}
	src, sa, err := r.victim(odir, olast)
	if err != nil {
		return err
	}
	defer src.DecRef()
	dst, found, err := r.lookupLast(ndir, nlast)
	if err != nil {
		return err
	}
	if found {
		defer dst.DecRef()
	}
	if (oslash || nslash) && !sa.IsDir() {
		return linux.ENOTDIR
	}
	if found && flags&linux.RENAME_NOREPLACE != 0 {
		return linux.EEXIST
	}
	if !found && flags&linux.RENAME_EXCHANGE != 0 {
		return linux.ENOENT
	}
	if r.isMountPoint(src) || found && r.isMountPoint(dst) {
		return linux.EBUSY
	}
	if found && dst.Name == src.Name {
		return nil
	}
	if err := r.checkRenameTarget(ndir, dst, found, sa, flags); err != nil {
		return err
	}
	// A directory may not move into its own subtree.
	if sa.IsDir() && strings.HasPrefix(ndir.Name+"/", src.Name+"/") {
		return linux.EINVAL
	}
	if found && flags&linux.RENAME_EXCHANGE != 0 {
		if da, _ := dst.Inode.Attr(); da.IsDir() && strings.HasPrefix(odir.Name+"/", dst.Name+"/") {
			return linux.EINVAL
		}
	}
	// Moving a directory to another parent rewrites its "..".
	if sa.IsDir() && odir.Name != ndir.Name {
		if err := r.Creds.Permission(sa, MayWrite); err != nil {
			return err
		}
	}
	w, err := writer(odir)
	if err != nil {
		return err
	}
	nd, ok := ndir.Inode.(Dir)
	if !ok {
		return linux.ENOTDIR
	}
	return w.Rename(olast, nd, nlast, flags)
}

// checkRenameTarget checks the new side of a rename: may_delete of an
// existing target (of matching type) or may_create.
func (r *Resolver) checkRenameTarget(ndir, dst Path, found bool, sa Attr, flags uint32) error {
	na, err := ndir.Inode.Attr()
	if err != nil {
		return err
	}
	if !found {
		return r.Creds.MayCreate(na)
	}
	da, err := dst.Inode.Attr()
	if err != nil {
		return err
	}
	if err := r.Creds.MayDelete(na, da); err != nil {
		return err
	}
	if flags&linux.RENAME_EXCHANGE != 0 {
		return nil
	}
	switch {
	case sa.IsDir() && !da.IsDir():
		return linux.ENOTDIR
	case !sa.IsDir() && da.IsDir():
		return linux.EISDIR
	}
	return nil
}

// Chmod changes p's permission bits (chmod, fchmod, fchmodat).
func (r *Resolver) Chmod(p Path, mode uint32) error {
	a, err := p.Inode.Attr()
	if err != nil {
		return err
	}
	m, err := r.Creds.ChmodMode(a, mode)
	if err != nil {
		return err
	}
	return setattr(p, Setattr{Mask: SetMode, Mode: m})
}

// Chown changes p's owner and group (NoID: unchanged).
func (r *Resolver) Chown(p Path, uid, gid uint32) error {
	a, err := p.Inode.Attr()
	if err != nil {
		return err
	}
	if err := r.Creds.CheckChown(a, uid, gid); err != nil {
		return err
	}
	s := Setattr{UID: uid, GID: gid}
	if uid != NoID {
		s.Mask |= SetUID
	}
	if gid != NoID {
		s.Mask |= SetGID
	}
	if s.Mask == 0 {
		return p.Writable()
	}
	return setattr(p, s)
}

// Truncate sets the size of the regular file p (truncate(2); ftruncate
// checks the open mode instead of permission: checkPerm false).
func (r *Resolver) Truncate(p Path, size int64, checkPerm bool) error {
	if size < 0 {
		return linux.EINVAL
	}
	a, err := p.Inode.Attr()
	if err != nil {
		return err
	}
	switch {
	case a.IsDir():
		return linux.EISDIR
	case !a.IsRegular():
		return linux.EINVAL
	}
	if checkPerm {
		if err := r.Creds.Permission(a, MayWrite); err != nil {
			return err
		}
	}
	if a.Attributes&attrAppend != 0 {
		return linux.EPERM
	}
	return setattr(p, Setattr{Mask: SetSize, Size: size})
}

// Utimes sets p's access and modification times (utimensat): s's mask has
// the explicit times and the "now" ones. Setting both to now needs
// ownership or write permission; explicit times need ownership.
func (r *Resolver) Utimes(p Path, s Setattr) error {
	a, err := p.Inode.Attr()
	if err != nil {
		return err
	}
	explicit := s.Mask&(SetAtime|SetMtime) != 0
	if !r.Creds.Owns(a) {
		if explicit {
			return linux.EPERM
		}
		if r.Creds.Permission(a, MayWrite) != nil {
			return linux.EACCES
		}
	}
	if s.Mask == 0 {
		return p.Writable()
	}
	return setattr(p, s)
}

func setattr(p Path, s Setattr) error {
	if err := p.Writable(); err != nil {
		return err
	}
	sa, ok := p.Inode.(Setattrer)
	if !ok {
		return linux.EPERM
	}
	return sa.Setattr(s)
}
