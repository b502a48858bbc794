// Package sysfs is the small /sys that hwloc, nproc and the C library
// read to count CPUs and memory nodes, generated from the emulated
// machine (never the host's):
//
//	devices/system/cpu/{online,possible,present}
//	devices/system/cpu/cpuK/online                      (K > 0, as Linux)
//	devices/system/cpu/cpuK/topology/{core_id,physical_package_id,die_id,
//	    core_cpus_list,core_cpus,thread_siblings_list,thread_siblings,
//	    core_siblings_list,core_siblings,package_cpus_list,package_cpus}
//	devices/system/node/{online,possible,has_cpu,has_normal_memory}
//	devices/system/node/node0/{cpulist,cpumap,meminfo}
//
// The machine has one package and one die with one core per CPU and one
// thread per core, and one memory node. Every other name is ENOENT.
// Files are 0444 and report a size of 4096 as sysfs does; directories
// are 0555; everything belongs to root. A read returns the content from
// the handle's offset; the content is made when the file is opened.
//
// The tree never changes after New, so it needs no lock; a handle's mutex
// protects its position.
package sysfs

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

// Config describes the emulated machine.
type Config struct {
	// CPUs is the number of CPUs (those sched_getaffinity reports),
	// numbered from 0; at least 1.
	CPUs int
	// MemTotal is the machine's memory in bytes.
	MemTotal uint64
	// MemFree returns the bytes of memory free now; nil reports all of
	// MemTotal free.
	MemFree func() uint64
	// Dev is st_dev of every file; 0 is 0:21.
	Dev uint64
}

// fileSize is the size sysfs reports of every attribute file.
const fileSize = 4096

// FS is one /sys.
type FS struct {
	root *Dir
	dev  uint64
	ino  uint64 // the last inode number handed out (only during New)
	time vfs.Timespec
}

// New builds the tree for cfg: EINVAL when cfg.CPUs is below 1.
func New(cfg Config) (*FS, error) {
	if cfg.CPUs < 1 {
		return nil, linux.EINVAL
	}
	t := time.Now()
	fs := &FS{dev: cfg.Dev, time: vfs.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}}
	if fs.dev == 0 {
		fs.dev = 21 // 0:21 in new_encode_dev form
	}
	n := cfg.CPUs
	all := cpuList(0, n-1)
	allMask := cpuMask(n, func(int) bool { return true })
	static := func(s string) func() string { return func() string { return s } }

	cpu := fs.newDir()
	cpu.addFile("online", static(all))
	cpu.addFile("possible", static(all))
	cpu.addFile("present", static(all))
	for k := range n {
		c := cpu.addDir("cpu" + strconv.Itoa(k))
		if k > 0 {
			c.addFile("online", static("1\n"))
		}
		one := cpuList(k, k)
		oneMask := cpuMask(n, func(i int) bool { return i == k })
		top := c.addDir("topology")
		top.addFile("core_id", static(strconv.Itoa(k)+"\n"))
		top.addFile("physical_package_id", static("0\n"))
		top.addFile("die_id", static("0\n"))
		top.addFile("core_cpus_list", static(one))
		top.addFile("core_cpus", static(oneMask))
		top.addFile("thread_siblings_list", static(one))
		top.addFile("thread_siblings", static(oneMask))
		top.addFile("core_siblings_list", static(all))
		top.addFile("core_siblings", static(allMask))
		top.addFile("package_cpus_list", static(all))
		top.addFile("package_cpus", static(allMask))
	}

	node := fs.newDir()
	for _, name := range []string{"online", "possible", "has_cpu", "has_normal_memory"} {
		node.addFile(name, static("0\n"))
	}
	node0 := node.addDir("node0")
	node0.addFile("cpulist", static(all))
	node0.addFile("cpumap", static(allMask))
	node0.addFile("meminfo", func() string {
		free := cfg.MemTotal
		if cfg.MemFree != nil {
			free = min(cfg.MemFree(), cfg.MemTotal)
		}
		return nodeMeminfo(0, cfg.MemTotal, free)
	})

	fs.root = fs.newDir()
	system := fs.root.addDir("devices").addDir("system")
	system.add("cpu", cpu)
	system.add("node", node)
	return fs, nil
}

// Root returns the root directory (with a reference, which it does not
// count).
func (fs *FS) Root() *Dir { return fs.root }

// Dev is st_dev of the files.
func (fs *FS) Dev() uint64 { return fs.dev }

// cpuList is the list format of CPUs first to last: "0-3\n", or "2\n"
// for one.
func cpuList(first, last int) string {
	if first == last {
		return strconv.Itoa(first) + "\n"
	}
	return strconv.Itoa(first) + "-" + strconv.Itoa(last) + "\n"
}

// cpuMask is Linux's cpumask format ("%*pb") of the CPUs in of nbits:
// hexadecimal words of 32 bits, most significant first, separated by
// commas, the first only as wide as its bits need.
func cpuMask(nbits int, in func(cpu int) bool) string {
	var b strings.Builder
	chunk := nbits % 32
	if chunk == 0 {
		chunk = 32
	}
	for lo := (nbits+31)/32*32 - 32; lo >= 0; lo -= 32 {
		var word uint32
		for i := range chunk {
			if in(lo + i) {
				word |= 1 << i
			}
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%0*x", (chunk+3)/4, word)
		chunk = 32
	}
	b.WriteByte('\n')
	return b.String()
}

// nodeMeminfo is node_read_meminfo's text for a node with total and free
// bytes (and nothing else counted), in the layout of a 64-bit kernel with
// transparent huge pages.
func nodeMeminfo(nid int, total, free uint64) string {
	kb := func(b uint64) uint64 { return b / 1024 }
	lines := []struct {
		name string
		kb   uint64
	}{
		{"MemTotal", kb(total)}, {"MemFree", kb(free)}, {"MemUsed", kb(total) - kb(free)},
		{"SwapCached", 0}, {"Active", 0}, {"Inactive", 0},
		{"Active(anon)", 0}, {"Inactive(anon)", 0}, {"Active(file)", 0}, {"Inactive(file)", 0},
		{"Unevictable", 0}, {"Mlocked", 0}, {"Dirty", 0}, {"Writeback", 0}, {"FilePages", 0},
		{"Mapped", 0}, {"AnonPages", 0}, {"Shmem", 0}, {"KernelStack", 0}, {"PageTables", 0},
		{"SecPageTables", 0}, {"NFS_Unstable", 0}, {"Bounce", 0}, {"WritebackTmp", 0},
		{"KReclaimable", 0}, {"Slab", 0}, {"SReclaimable", 0}, {"SUnreclaim", 0},
		{"AnonHugePages", 0}, {"ShmemHugePages", 0}, {"ShmemPmdMapped", 0},
		{"FileHugePages", 0}, {"FilePmdMapped", 0},
	}
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "Node %d %-16s%8d kB\n", nid, l.name+":", l.kb)
	}
	fmt.Fprintf(&b, "Node %d HugePages_Total: %5d\n", nid, 0)
	fmt.Fprintf(&b, "Node %d HugePages_Free:  %5d\n", nid, 0)
	fmt.Fprintf(&b, "Node %d HugePages_Surp:  %5d\n", nid, 0)
	return b.String()
}

// node is what every file of /sys has.
type node struct {
	vfs.NoRefs
	fs  *FS
	ino uint64
}

// entry is the interface of every node type.
type entry interface {
	vfs.Inode
	base() *node
}

func (n *node) base() *node { return n }

func (fs *FS) newNode() node {
	fs.ino++
	return node{fs: fs, ino: fs.ino}
}

// attr returns the attributes common to every node.
func (n *node) attr(mode uint32, nlink uint64, size int64) vfs.Attr {
	t := n.fs.time
	return vfs.Attr{
		Dev: n.fs.dev, Ino: n.ino, Mode: mode, Nlink: nlink, Size: size, Blksize: 4096,
		Atime: t, Mtime: t, Ctime: t,
	}
}

// Dir is a directory of /sys.
type Dir struct {
	node
	parent  *Dir
	names   []string // in listing order
	entries map[string]entry
	subdirs int
}

func (fs *FS) newDir() *Dir {
	return &Dir{node: fs.newNode(), entries: map[string]entry{}}
}

// add enters n as name (only during New).
func (d *Dir) add(name string, n entry) {
	d.names = append(d.names, name)
	d.entries[name] = n
	if sub, ok := n.(*Dir); ok {
		sub.parent = d
		d.subdirs++
	}
}

// addDir adds and returns a new directory.
func (d *Dir) addDir(name string) *Dir {
	sub := d.fs.newDir()
	d.add(name, sub)
	return sub
}

// addFile adds a file whose content show makes.
func (d *Dir) addFile(name string, show func() string) {
	d.add(name, &File{node: d.fs.newNode(), show: show})
}

// Attr implements vfs.Inode.
func (d *Dir) Attr() (vfs.Attr, error) {
	return d.attr(vfs.ModeDir|0o555, 2+uint64(d.subdirs), 0), nil
}

// Lookup implements vfs.Dir.
func (d *Dir) Lookup(name string) (vfs.Inode, error) {
	if len(name) > vfs.NameMax {
		return nil, linux.ENAMETOOLONG
	}
	n, ok := d.entries[name]
	if !ok {
		return nil, linux.ENOENT
	}
	return n, nil
}

// Readdir implements vfs.Dir.
func (d *Dir) Readdir() ([]vfs.Dirent, error) {
	out := d.dots()
	for _, name := range d.names {
		out = append(out, d.dirent(name))
	}
	return out, nil
}

// dots returns "." and ".." (the root's ".." is itself).
func (d *Dir) dots() []vfs.Dirent {
	up := d
	if d.parent != nil {
		up = d.parent
	}
	return []vfs.Dirent{
		{Name: ".", Ino: d.ino, Type: vfs.ModeDir >> 12},
		{Name: "..", Ino: up.ino, Type: vfs.ModeDir >> 12},
	}
}

func (d *Dir) dirent(name string) vfs.Dirent {
	n := d.entries[name]
	typ := uint8(vfs.ModeRegular >> 12)
	if _, ok := n.(*Dir); ok {
		typ = vfs.ModeDir >> 12
	}
	return vfs.Dirent{Name: name, Ino: n.base().ino, Type: typ}
}

// Open implements vfs.Opener: a directory handle (EISDIR for writing).
func (d *Dir) Open(flags uint32) (vfs.Handle, error) {
	if flags&linux.O_ACCMODE != linux.O_RDONLY {
		return nil, linux.EISDIR
	}
	return &dirHandle{d: d}, nil
}

// File is an attribute file.
type File struct {
	node
	show func() string
}

// Attr implements vfs.Inode.
func (f *File) Attr() (vfs.Attr, error) {
	return f.attr(vfs.ModeRegular|0o444, 1, fileSize), nil
}

// Open implements vfs.Opener: EACCES for writing, as kernfs refuses a
// file without a store method.
func (f *File) Open(flags uint32) (vfs.Handle, error) {
	if flags&linux.O_ACCMODE != linux.O_RDONLY || flags&linux.O_TRUNC != 0 {
		return nil, linux.EACCES
	}
	return &fileHandle{f: f, data: f.show()}, nil
}

// Interface checks.
var (
	_ vfs.Dir       = (*Dir)(nil)
	_ vfs.Opener    = (*Dir)(nil)
	_ vfs.Opener    = (*File)(nil)
	_ vfs.DirHandle = (*dirHandle)(nil)
)

// fileHandle is an open attribute file.
type fileHandle struct {
	f    *File
	data string     // the content, made at open
	mu   sync.Mutex // protects pos
	pos  int64
}

// Read implements vfs.Handle.
func (h *fileHandle) Read(bufs [][]byte, off int64) (int, error) {
	if off < -1 {
		return 0, linux.EINVAL
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	pos := off
	if off == -1 {
		pos = h.pos
	}
	n := 0
	for _, b := range bufs {
		if pos+int64(n) >= int64(len(h.data)) {
			break
		}
		n += copy(b, h.data[pos+int64(n):])
	}
	if off == -1 {
		h.pos += int64(n)
	}
	return n, nil
}

// Write implements vfs.Handle: EBADF (never open for writing).
func (h *fileHandle) Write(bufs [][]byte, off int64) (int, error) { return 0, linux.EBADF }

// Seek implements vfs.Handle as generic_file_llseek does with the size
// 4096.
func (h *fileHandle) Seek(off int64, whence int) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	pos, err := seek(h.pos, off, whence, fileSize)
	if err == nil {
		h.pos = pos
	}
	return pos, err
}

// seek is generic_file_llseek's arithmetic for a file of size.
func seek(cur, off int64, whence int, size int64) (int64, error) {
	const maxSize = 1<<63 - 1
	switch whence {
	case 0: // SEEK_SET
	case 1: // SEEK_CUR
		if off == 0 {
			return cur, nil
		}
		if off > 0 && cur > maxSize-off {
			return 0, linux.EINVAL
		}
		off += cur
	case 2: // SEEK_END
		if off > maxSize-size {
			return 0, linux.EINVAL
		}
		off += size
	case 3: // SEEK_DATA
		if off < 0 || off >= size {
			return 0, linux.ENXIO
		}
	case 4: // SEEK_HOLE
		if off < 0 || off >= size {
			return 0, linux.ENXIO
		}
		off = size
	default:
		return 0, linux.EINVAL
	}
	if off < 0 {
		return 0, linux.EINVAL
	}
	return off, nil
}

// Attr implements vfs.Handle.
func (h *fileHandle) Attr() (vfs.Attr, error) { return h.f.Attr() }

// Close implements vfs.Handle.
func (h *fileHandle) Close() error { return nil }

// dirHandle is an open directory: positions are 0 for ".", 1 for "..",
// and 2 + the index of each entry.
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
	if whence != 0 && whence != 1 {
		return 0, linux.EINVAL
	}
	pos, err := seek(h.pos, off, whence, 0)
	if err == nil {
		h.pos = pos
	}
	return pos, err
}

// Attr implements vfs.Handle.
func (h *dirHandle) Attr() (vfs.Attr, error) { return h.d.Attr() }

// Close implements vfs.Handle.
func (h *dirHandle) Close() error { return nil }

// Getdents implements vfs.DirHandle.
func (h *dirHandle) Getdents(emit func(d vfs.Dirent, next int64) bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	ents, _ := h.d.Readdir()
	for ; h.pos < int64(len(ents)); h.pos++ {
		if !emit(ents[h.pos], h.pos+1) {
			return nil
		}
	}
	return nil
}
