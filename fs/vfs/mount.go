package vfs

import (
	"sort"
	"strings"
	"sync"

	"github.com/cmaemu/cmaemu/linux"
)

// Mount flags (MS_*).
const (
	MountReadOnly = 0x1    // MS_RDONLY
	MountNoSUID   = 0x2    // MS_NOSUID
	MountNoDev    = 0x4    // MS_NODEV
	MountNoExec   = 0x8    // MS_NOEXEC
	MountRemount  = 0x20   // MS_REMOUNT
	MountBind     = 0x1000 // MS_BIND
	MountRec      = 0x4000 // MS_REC
)

// Mount is a filesystem mounted at a path of a namespace.
type Mount struct {
	ID       uint64
	ParentID uint64
	Point    string // absolute, canonical path in the namespace
	Root     Dir    // the mounted tree's root
	FSType   string // as /proc/mounts names it: "proc", "tmpfs", ...
	Source   string // the device column of /proc/mounts
	Flags    uint32 // MountReadOnly, MountNoSUID, ...
	// Options are the filesystem's own options for /proc/mounts
	// ("mode=1777"); empty for none.
	Options string
	// Host is set for mounts of the host's own filesystems.
	Host bool
}

// ReadOnly reports whether writes under m are EROFS.
func (m *Mount) ReadOnly() bool { return m.Flags&MountReadOnly != 0 }

// Namespace is a mount table: the root mount and the mounts stacked at
// each mount point, newest last.
type Namespace struct {
	mu     sync.RWMutex // protects the fields below
	byPath map[string][]*Mount
	nextID uint64
}

// NewNamespace returns a namespace whose root is root, a filesystem of
// type fstype.
func NewNamespace(root Dir, fstype, source string, host bool) *Namespace {
	ns := &Namespace{byPath: map[string][]*Mount{}, nextID: 21}
	m := &Mount{ID: ns.nextID, ParentID: ns.nextID - 1, Point: "/", Root: root, FSType: fstype, Source: source, Host: host}
	ns.nextID++
	ns.byPath["/"] = []*Mount{m}
	return ns
}

// Root returns the location of the namespace's root.
func (ns *Namespace) Root() Path {
	m := ns.top("/")
	m.Root.IncRef()
	return Path{Mount: m, Inode: m.Root, Name: "/"}
}

// top returns the newest mount at point, or nil.
func (ns *Namespace) top(point string) *Mount {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	ms := ns.byPath[point]
	if len(ms) == 0 {
		return nil
	}
	return ms[len(ms)-1]
}

// Mount mounts root at the directory point (absolute, canonical), on top
// of what is there, and returns the new mount.
func (ns *Namespace) Mount(point string, root Dir, fstype, source, options string, flags uint32, host bool) *Mount {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	parent := ns.mountOfLocked(point)
	m := &Mount{ID: ns.nextID, ParentID: parent.ID, Point: point, Root: root, FSType: fstype,
		Source: source, Flags: flags, Options: options, Host: host}
	ns.nextID++
	ns.byPath[point] = append(ns.byPath[point], m)
	return m
}

// mountOfLocked returns the mount that holds path: the newest mount at
// the longest mount point that is path or one of its ancestors.
func (ns *Namespace) mountOfLocked(path string) *Mount {
	for p := path; ; p = parentName(p) {
		if ms := ns.byPath[p]; len(ms) > 0 {
			return ms[len(ms)-1]
		}
		if p == "/" {
			return nil
		}
	}
}

// Remount changes the flags of the newest mount at point (MS_REMOUNT):
// EINVAL when point is no mount point. Mounts are immutable once made (a
// Path's Mount is read without locks): the mount is replaced by a copy
// with the new flags, which names resolved from now on reach.
func (ns *Namespace) Remount(point string, flags uint32) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ms := ns.byPath[point]
	if len(ms) == 0 {
		return linux.EINVAL
	}
	m := *ms[len(ms)-1]
	m.Flags = flags & (MountReadOnly | MountNoSUID | MountNoDev | MountNoExec)
	ms[len(ms)-1] = &m
	return nil
}

// Unmount removes the newest mount at point: EINVAL if there is none (or
// it is the root), EBUSY while another mount lies beneath it.
func (ns *Namespace) Unmount(point string) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ms := ns.byPath[point]
	if len(ms) == 0 || point == "/" {
		return linux.EINVAL
	}
	prefix := strings.TrimSuffix(point, "/") + "/"
	for p := range ns.byPath {
		if strings.HasPrefix(p, prefix) {
			return linux.EBUSY
		}
	}
	ms = ms[:len(ms)-1]
	if len(ms) == 0 {
		delete(ns.byPath, point)
	} else {
		ns.byPath[point] = ms
	}
	return nil
}

// Mounts lists every visible mount, parents before children (the order
// of /proc/self/mounts).
func (ns *Namespace) Mounts() []*Mount {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	var all []*Mount
	for _, ms := range ns.byPath {
		all = append(all, ms...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	return all
}

// parentName is the path of name's parent directory ("/" for "/").
func parentName(name string) string {
	i := strings.LastIndexByte(name, '/')
	if i <= 0 {
		return "/"
	}
	return name[:i]
}

// childName is dir/name.
func childName(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}
