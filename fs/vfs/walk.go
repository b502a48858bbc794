package vfs

import (
	"strings"

	"github.com/cmaemu/cmaemu/linux"
)

// Path is a resolved location: an inode, the mount it was reached in, and
// its absolute, canonical name in the namespace (no symlinks, "." or
// ".."). A Path holds a reference on its inode.
type Path struct {
	Mount *Mount
	Inode Inode
	Name  string
}

// IncRef takes another reference on the inode (if any).
func (p Path) IncRef() {
	if p.Inode != nil {
		p.Inode.IncRef()
	}
}

// DecRef drops the reference.
func (p Path) DecRef() {
	if p.Inode != nil {
		p.Inode.DecRef()
	}
}

// Attr returns the inode's attributes with the mount's id.
func (p Path) Attr() (Attr, error) {
	a, err := p.Inode.Attr()
	if p.Mount != nil {
		a.MountID = p.Mount.ID
	}
	return a, err
}

// Writable returns EROFS when p is on a read-only mount.
func (p Path) Writable() error {
	if p.Mount != nil && p.Mount.ReadOnly() {
		return linux.EROFS
	}
	return nil
}

// MagicLink is a symlink that names a file rather than a path
// (/proc/PID/fd/N, /proc/PID/exe, cwd, root): following it leads to the
// file itself, even when it has no name left.
type MagicLink interface {
	Symlink
	// Follow returns the file the link stands for, with a reference.
	Follow() (Path, error)
}

// Limits of names.
const (
	MaxSymlinks = 40  // symlinks followed in one resolution (ELOOP beyond)
	NameMax     = 255 // a single component (ENAMETOOLONG beyond)
	PathMax     = 4096
)

// Resolve flags.
const (
	// NoFollow: a symlink as the last component is the result itself.
	NoFollow = 1 << iota
	// MustDir: the result must be a directory (O_DIRECTORY).
	MustDir
)

// Resolver resolves names for one process: its mount namespace, root
// directory and credentials.
type Resolver struct {
	NS     *Namespace
	Root   Path // the process's root directory (chroot)
	Creds  *Creds
	Caller Caller // for CallerDir lookups (Caller.Creds is Creds)
	// Sysroot, if not nil, is qemu-user's -L overlay: an absolute name
	// that exists under it (outside /proc, /dev and /sys) resolves there
	// first.
	Sysroot *Namespace
}

// Resolve walks name from start (relative names) or the root, following
// symlinks except a last one with NoFollow. The result carries a reference.
func (r *Resolver) Resolve(start Path, name string, flags int) (Path, error) {
	p, _, err := r.resolve(start, name, flags, false)
	return p, err
}

// ResolveAttr is Resolve that also returns the result's attributes (as
// Path.Attr does), which the walk often has already.
func (r *Resolver) ResolveAttr(start Path, name string, flags int) (Path, Attr, error) {
	return r.resolve(start, name, flags, true)
}

func (r *Resolver) resolve(start Path, name string, flags int, wantAttr bool) (Path, Attr, error) {
	if p, ok := r.resolveSysroot(name, flags); ok {
		if !wantAttr {
			return p, Attr{}, nil
		}
		a, err := p.Attr()
		if err != nil {
			p.DecRef()
			return Path{}, Attr{}, err
		}
		return p, a, nil
	}
	w, err := r.newWalk(start, name)
	if err != nil {
		return Path{}, Attr{}, err
	}
	defer w.release()
	if w.trailingSlash {
		flags = flags&^NoFollow | MustDir
	}
	if err := w.run(flags&NoFollow == 0); err != nil {
		return Path{}, Attr{}, err
	}
	p := w.top()
	var a Attr
	if flags&MustDir != 0 || wantAttr {
		a, err = w.topAttr()
		if err != nil {
			return Path{}, Attr{}, err
		}
		if flags&MustDir != 0 && !a.IsDir() {
			return Path{}, Attr{}, linux.ENOTDIR
		}
		if p.Mount != nil {
			a.MountID = p.Mount.ID
		}
	}
	p.IncRef()
	return p, a, nil
}

// resolveSysroot resolves an absolute name under the -L overlay, if there
// is one and the name exists there.
func (r *Resolver) resolveSysroot(name string, flags int) (Path, bool) {
	if r.Sysroot == nil || !strings.HasPrefix(name, "/") {
		return Path{}, false
	}
	for _, own := range []string{"/proc", "/dev", "/sys"} {
		if name == own || strings.HasPrefix(name, own+"/") {
			return Path{}, false
		}
	}
	root := r.Sysroot.Root()
	defer root.DecRef()
	sub := &Resolver{NS: r.Sysroot, Root: root, Creds: r.Creds, Caller: r.Caller}
	p, err := sub.Resolve(root, name, flags)
	if err != nil {
		return Path{}, false
	}
	return p, true
}

// ResolveParent walks every component of name but the last, and returns
// the directory it lies in and the last component. last is "." or ".."
// when name ends so (callers refuse those), and slash reports a trailing
// slash. The directory carries a reference.
func (r *Resolver) ResolveParent(start Path, name string) (dir Path, last string, slash bool, err error) {
	if name == "" {
		return Path{}, "", false, linux.ENOENT
	}
	if len(name) >= PathMax {
		return Path{}, "", false, linux.ENAMETOOLONG
	}
	slash = strings.HasSuffix(name, "/")
	trimmed := strings.TrimRight(name, "/")
	if trimmed == "" { // "/" or "///": the root itself
		p := r.Root
		p.IncRef()
		return p, ".", true, nil
	}
	i := strings.LastIndexByte(trimmed, '/')
	dirName, last := trimmed[:i+1], trimmed[i+1:]
	if len(last) > NameMax {
		return Path{}, "", false, linux.ENAMETOOLONG
	}
	if dirName == "" {
		dirName = "."
	}
	if r.Sysroot != nil && strings.HasPrefix(name, "/") {
		// Under -L a name is the overlay's only if it exists there, as
		// qemu-user maps it: a name to create (mkdir /tmp) is the host's
		// even when its directory (/) exists in the overlay too.
		if p, ok := r.resolveSysroot(name, NoFollow); ok {
			p.DecRef()
		} else {
			host := *r
			host.Sysroot = nil
			r = &host
		}
	}
	dir, err = r.Resolve(start, dirName, MustDir)
	if err != nil {
		return Path{}, "", false, err
	}
	return dir, last, slash, nil
}

// Lookup resolves one component name in dir (a Path the caller keeps):
// search permission on dir, mount crossing, no symlink following. The
// result carries a reference.
func (r *Resolver) Lookup(dir Path, name string) (Path, error) {
	w := &walk{r: r, stack: []Path{dir}}
	dir.IncRef()
	defer w.release()
	if err := w.step(name); err != nil {
		return Path{}, err
	}
	p := w.top()
	p.IncRef()
	return p, nil
}

// walk is one resolution in progress: the directories entered (each with
// a reference; ".." pops) and the components still to walk.
type walk struct {
	r             *Resolver
	stack         []Path
	rest          []string
	links         int
	trailingSlash bool
	// topAttrs is the attributes of the top of the stack, once asked (or
	// given by its lookup) in this walk, when haveTopAttrs is set. Every
	// change of the stack clears haveTopAttrs.
	topAttrs     Attr
	haveTopAttrs bool
}

func (r *Resolver) newWalk(start Path, name string) (*walk, error) {
	if name == "" {
		return nil, linux.ENOENT
	}
	if len(name) >= PathMax {
		return nil, linux.ENAMETOOLONG
	}
	w := &walk{r: r, trailingSlash: strings.HasSuffix(name, "/")}
	if name[0] == '/' {
		start = r.Root
	}
	start.IncRef()
	w.stack = []Path{start}
	w.rest = split(name)
	return w, nil
}

// split returns the components of name without empty ones. "." stays: it
// costs a search permission check on its directory, as in Linux.
func split(name string) []string {
	var out []string
	for _, c := range strings.Split(name, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

func (w *walk) top() Path { return w.stack[len(w.stack)-1] }

// topAttr returns the attributes of the top of the stack, asking its
// inode only once per walk.
func (w *walk) topAttr() (Attr, error) {
	if w.haveTopAttrs {
		return w.topAttrs, nil
	}
	a, err := w.top().Inode.Attr()
	if err != nil {
		return Attr{}, err
	}
	w.topAttrs, w.haveTopAttrs = a, true
	return a, nil
}

// push enters p; a, if not nil, is its attributes.
func (w *walk) push(p Path, a *Attr) {
	w.stack = append(w.stack, p)
	w.haveTopAttrs = a != nil
	if a != nil {
		w.topAttrs = *a
	}
}

// pop leaves the top of the stack and returns it (the caller drops its
// reference).
func (w *walk) pop() Path {
	p := w.top()
	w.stack = w.stack[:len(w.stack)-1]
	w.haveTopAttrs = false
	return p
}

func (w *walk) release() {
	for _, p := range w.stack {
		p.DecRef()
	}
	w.stack = nil
}

// run walks the remaining components; follow says whether a symlink as the
// very last component is followed.
func (w *walk) run(follow bool) error {
	for len(w.rest) > 0 {
		if n := w.plainPrefix(); n > 1 && w.stepMany(n) {
			w.rest = w.rest[n:]
		} else {
			c := w.rest[0]
			w.rest = w.rest[1:]
			if err := w.step(c); err != nil {
				return err
			}
		}
		last := len(w.rest) == 0
		if last && !follow {
			return nil
		}
		if err := w.followIfLink(); err != nil {
			return err
		}
	}
	return nil
}

// plainPrefix counts the components at the start of rest that stepMany
// may take at once: plain names that are no mount points (and none
// below the first that is), for a caller who may search every directory.
func (w *walk) plainPrefix() int {
	if !w.r.Creds.FileCaps {
		return 0
	}
	name := w.top().Name
	for i, c := range w.rest {
		if c == "." || c == ".." || len(c) > NameMax {
			return i
		}
		name = childName(name, c)
		if w.r.NS.top(name) != nil {
			return i
		}
	}
	return len(w.rest)
}

// stepMany enters the first n components of rest at once, if the
// directory on top is a PathDir that manages it. Search permission is
// not in question (plainPrefix), but the top must be a directory.
func (w *walk) stepMany(n int) bool {
	cur := w.top()
	d, ok := cur.Inode.(PathDir)
	if !ok {
		return false
	}
	if t, ok := cur.Inode.(Typed); ok {
		if t.FileType() != ModeDir {
			return false
		}
	} else if a, err := w.topAttr(); err != nil || !a.IsDir() {
		return false
	}
	child, a, ok := d.LookupPath(w.rest[:n])
	if !ok {
		return false
	}
	name := cur.Name
	for _, c := range w.rest[:n] {
		name = childName(name, c)
	}
	w.push(Path{Mount: cur.Mount, Inode: child, Name: name}, &a)
	return true
}

// searchable checks that the top of the stack is a directory the caller
// may search.
func (w *walk) searchable() error {
	a, err := w.topAttr()
	if err != nil {
		return err
	}
	if !a.IsDir() {
		return linux.ENOTDIR
	}
	return w.r.Creds.Permission(a, MayExec)
}

// step enters component c of the directory on top of the stack.
func (w *walk) step(c string) error {
	if len(c) > NameMax {
		return linux.ENAMETOOLONG
	}
	cur := w.top()
	if err := w.searchable(); err != nil {
		return err
	}
	switch c {
	case ".":
		return nil
	case "..":
		return w.up()
	}
	dir, ok := cur.Inode.(Dir)
	if !ok {
		return linux.ENOTDIR
	}
	name := childName(cur.Name, c)
	mnt := cur.Mount
	var child Inode
	var attr *Attr
	if m := w.r.NS.top(name); m != nil {
		child, mnt = m.Root, m
		child.IncRef()
	} else {
		var err error
		switch d := dir.(type) {
		case CallerDir:
			caller := w.r.Caller
			caller.Creds = w.r.Creds
			child, err = d.LookupFor(caller, c)
		case AttrDir:
			var a Attr
			child, a, err = d.LookupAttr(c)
			attr = &a
		default:
			child, err = dir.Lookup(c)
		}
		if err != nil {
			return err
		}
	}
	w.push(Path{Mount: mnt, Inode: child, Name: name}, attr)
	return nil
}

// up goes to the parent of the top directory; the root stays where it is.
func (w *walk) up() error {
	cur := w.top()
	if cur.Name == w.r.Root.Name || cur.Name == "/" {
		return nil
	}
	parent := parentName(cur.Name)
	if len(w.stack) > 1 && w.stack[len(w.stack)-2].Name == parent {
		w.pop().DecRef()
		return nil
	}
	// The parent was not entered in this walk (the walk started below
	// it, took several components at once, or followed a magic link).
	p, err := w.canonical(parent)
	if err != nil {
		return err
	}
	w.pop().DecRef()
	w.push(p, nil)
	return nil
}

// canonical walks the canonical name of a directory from the namespace
// root (it lies within the root, as every name does) and returns it with
// a reference.
func (w *walk) canonical(name string) (Path, error) {
	nsRoot := w.r.NS.Root()
	sub := &walk{r: w.r, stack: []Path{nsRoot}}
	defer sub.release()
	for _, c := range split(name) {
		if err := sub.step(c); err != nil {
			return Path{}, err
		}
	}
	p := sub.top()
	p.IncRef()
	return p, nil
}

// followIfLink replaces a symlink on top of the stack by its target.
func (w *walk) followIfLink() error {
	a, err := w.topAttr()
	if err != nil {
		return err
	}
	if !a.IsSymlink() {
		return nil
	}
	w.links++
	if w.links > MaxSymlinks {
		return linux.ELOOP
	}
	cur := w.pop()
	defer cur.DecRef()
	if ml, ok := cur.Inode.(MagicLink); ok {
		p, err := ml.Follow()
		if err != nil {
			return err
		}
		w.push(p, nil)
		return nil
	}
	link, ok := cur.Inode.(Symlink)
	if !ok {
		return linux.EINVAL
	}
	target, err := link.Readlink()
	if err != nil {
		return err
	}
	if target == "" {
		return linux.ENOENT
	}
	if target[0] == '/' {
		w.r.Root.IncRef()
		w.push(w.r.Root, nil)
	} else if dir := parentName(cur.Name); len(w.stack) == 0 || w.top().Name != dir {
		// The link's directory was not entered in this walk (it took
		// several components at once): a relative target starts there.
		p, err := w.canonical(dir)
		if err != nil {
			return err
		}
		w.push(p, nil)
	}
	w.rest = append(split(target), w.rest...)
	return nil
}
