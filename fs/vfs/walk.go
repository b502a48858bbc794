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
	if p, ok := r.resolveSysroot(name, flags); ok {
		return p, nil
	}
	w, err := r.newWalk(start, name)
	if err != nil {
		return Path{}, err
	}
	defer w.release()
	if w.trailingSlash {
		flags = flags&^NoFollow | MustDir
	}
	if err := w.run(flags&NoFollow == 0); err != nil {
		return Path{}, err
	}
	p := w.top()
	if flags&MustDir != 0 {
		a, err := p.Inode.Attr()
		if err != nil {
			return Path{}, err
		}
		if !a.IsDir() {
			return Path{}, linux.ENOTDIR
		}
	}
	p.IncRef()
	return p, nil
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
		c := w.rest[0]
		w.rest = w.rest[1:]
		if err := w.step(c); err != nil {
			return err
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

// searchable checks that p is a directory the caller may search.
func (w *walk) searchable(p Path) error {
	a, err := p.Inode.Attr()
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
	if err := w.searchable(cur); err != nil {
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
	if m := w.r.NS.top(name); m != nil {
		child, mnt = m.Root, m
		child.IncRef()
	} else {
		var err error
		if cd, ok := dir.(CallerDir); ok {
			caller := w.r.Caller
			caller.Creds = w.r.Creds
			child, err = cd.LookupFor(caller, c)
		} else {
			child, err = dir.Lookup(c)
		}
		if err != nil {
			return err
		}
	}
	w.stack = append(w.stack, Path{Mount: mnt, Inode: child, Name: name})
	return nil
}

// up goes to the parent of the top directory; the root stays where it is.
func (w *walk) up() error {
	cur := w.top()
	if cur.Name == w.r.Root.Name || cur.Name == "/" {
		return nil
	}
	if len(w.stack) > 1 {
		w.stack = w.stack[:len(w.stack)-1]
		cur.DecRef()
		return nil
	}
	// The parent was not entered in this walk: walk its canonical name
	// from the namespace root (it lies within the root, as every name
	// does).
	parent := parentName(cur.Name)
	nsRoot := w.r.NS.Root()
	sub := &walk{r: w.r, stack: []Path{nsRoot}}
	defer sub.release()
	for _, c := range split(parent) {
		if err := sub.step(c); err != nil {
			return err
		}
	}
	p := sub.top()
	p.IncRef()
	w.stack[0].DecRef()
	w.stack[0] = p
	return nil
}

// followIfLink replaces a symlink on top of the stack by its target.
func (w *walk) followIfLink() error {
	cur := w.top()
	a, err := cur.Inode.Attr()
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
	w.stack = w.stack[:len(w.stack)-1]
	defer cur.DecRef()
	if ml, ok := cur.Inode.(MagicLink); ok {
		p, err := ml.Follow()
		if err != nil {
			return err
		}
		w.stack = append(w.stack, p)
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
		w.stack = append(w.stack, w.r.Root)
	}
	w.rest = append(split(target), w.rest...)
	return nil
}
