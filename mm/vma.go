package mm

import (
	"io"
	"sort"
	"sync"

	"github.com/cmaemu/cmaemu/linux"
)

// File is the backing of a file mapping. The MM holds a reference for each
// VMA that maps it.
type File interface {
	io.ReaderAt
	IncRef()
	DecRef()
	// Name is the path shown in /proc/pid/maps.
	Name() string
}

// SharedFile is the backing of a MAP_SHARED file mapping: a file that
// can also be written back.
type SharedFile interface {
	File
	io.WriterAt
	// Size returns the file's current size.
	Size() (int64, error)
}

// SharedObject holds the frames of shared memory: a MAP_SHARED anonymous
// mapping (shared with forks), or the pages of a file mapped MAP_SHARED
// (shared by every mapping of the file). A file object reads a page from
// the file when it is first faulted in, and writes its pages back (up to
// the file's size) when a mapping of it goes away and on msync.
type SharedObject struct {
	mu     sync.Mutex // protects frames, refs
	frames map[uint64]Frame
	refs   int        // VMAs referring to the object
	file   SharedFile // nil for anonymous memory
	dead   bool       // the last reference went: the object is empty
	// onRelease runs when the last reference goes.
	onRelease func()
}

func newSharedObject() *SharedObject {
	return &SharedObject{frames: map[uint64]Frame{}, refs: 1}
}

// NewFileObject returns a shared object for f with one reference, which
// the caller drops with Release once its mappings hold their own.
// onRelease, if not nil, runs when the last reference goes.
func NewFileObject(f SharedFile, onRelease func()) *SharedObject {
	f.IncRef()
	return &SharedObject{frames: map[uint64]Frame{}, refs: 1, file: f, onRelease: onRelease}
}

// Acquire takes a reference unless the object has already been released.
func (o *SharedObject) Acquire() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dead {
		return false
	}
	o.refs++
	return true
}

// Release drops a reference taken by NewFileObject or Acquire.
func (o *SharedObject) Release(ram *RAM) { o.decRef(ram) }

// frame returns the frame for page index pg, allocating it on first use.
// The returned frame carries an extra reference for the caller's PTE.
func (o *SharedObject) frame(ram *RAM, pg uint64) (Frame, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f, ok := o.frames[pg]
	if !ok {
		var err error
		if f, err = ram.Alloc(); err != nil {
			return 0, err
		}
		if o.file != nil {
			if _, err := o.file.ReadAt(ram.Bytes(f), int64(pg)<<PageShift); err != nil && !isEOF(err) {
				ram.DecRef(f)
				return 0, linux.EIO
			}
		}
		o.frames[pg] = f
	}
	ram.IncRef(f)
	return f, nil
}

// writeBack writes a file object's pages to the file, each cut at the
// file's size (pages wholly beyond it are not written).
func (o *SharedObject) writeBack(ram *RAM) {
	if o.file == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	size, err := o.file.Size()
	if err != nil {
		return
	}
	for pg, f := range o.frames {
		off := int64(pg) << PageShift
		if off >= size {
			continue
		}
		n := min(int64(PageSize), size-off)
		o.file.WriteAt(ram.Bytes(f)[:n], off)
	}
}

func (o *SharedObject) incRef() {
	o.mu.Lock()
	o.refs++
	o.mu.Unlock()
}

func (o *SharedObject) decRef(ram *RAM) {
	o.writeBack(ram)
	o.mu.Lock()
	if o.refs--; o.refs > 0 {
		o.mu.Unlock()
		return
	}
	for _, f := range o.frames {
		ram.DecRef(f)
	}
	o.frames, o.dead = nil, true
	file, release := o.file, o.onRelease
	o.mu.Unlock()
	if release != nil {
		release()
	}
	if file != nil {
		file.DecRef()
	}
}

// VMA is a virtual memory area: a page-aligned range with one protection and
// one backing, as mmap creates and /proc/pid/maps lists.
//
// Invariants: Range is page-aligned and non-empty. For a file mapping,
// Offset is the file offset of Range.Start.
type VMA struct {
	Range  AddrRange
	Prot   Prot
	Shared bool          // MAP_SHARED
	File   File          // nil for anonymous memory
	Offset uint64        // file offset of Range.Start, or page offset into Object
	Object *SharedObject // backing of shared anonymous memory
	Name   string        // "[heap]", "[stack]" or ""
	Flags  VMAFlags      // mlock and madvise state (VM_LOCKED, VM_DONTCOPY, ...)
	Policy MemPolicy     // mbind's NUMA policy (the zero value: none)
}

// Anonymous reports whether the VMA has no file behind it.
func (v *VMA) Anonymous() bool { return v.File == nil }

// pageIndex returns the backing page index (file page or object page) of va.
func (v *VMA) pageIndex(va Addr) uint64 {
	return (v.Offset + uint64(va-v.Range.Start)) >> PageShift
}

// clone returns a copy of v covering r (a sub-range), taking references on
// the backing.
func (v *VMA) clone(r AddrRange) *VMA {
	c := *v
	c.Offset = v.Offset + uint64(r.Start-v.Range.Start)
	c.Range = r
	if c.File != nil {
		c.File.IncRef()
	}
	if c.Object != nil {
		c.Object.incRef()
	}
	return &c
}

// drop releases the VMA's references on its backing.
func (v *VMA) drop(ram *RAM) {
	if v.File != nil {
		v.File.DecRef()
	}
	if v.Object != nil {
		v.Object.decRef(ram)
	}
}

// vmaSet is the sorted, non-overlapping list of an address space's VMAs.
type vmaSet struct {
	list []*VMA
}

// find returns the VMA containing va, or nil.
func (s *vmaSet) find(va Addr) *VMA {
	i := sort.Search(len(s.list), func(i int) bool { return s.list[i].Range.End > va })
	if i < len(s.list) && s.list[i].Range.Start <= va {
		return s.list[i]
	}
	return nil
}

// firstFrom returns the index of the first VMA ending after va.
func (s *vmaSet) firstFrom(va Addr) int {
	return sort.Search(len(s.list), func(i int) bool { return s.list[i].Range.End > va })
}

// insert adds v, which must not overlap any VMA in s.
func (s *vmaSet) insert(v *VMA) {
	i := s.firstFrom(v.Range.Start)
	s.list = append(s.list, nil)
	copy(s.list[i+1:], s.list[i:])
	s.list[i] = v
}

// overlaps reports whether any VMA intersects r.
func (s *vmaSet) overlaps(r AddrRange) bool {
	i := s.firstFrom(r.Start)
	return i < len(s.list) && s.list[i].Range.Start < r.End
}

// covered reports whether r is entirely mapped, without holes.
func (s *vmaSet) covered(r AddrRange) bool {
	at := r.Start
	for i := s.firstFrom(r.Start); i < len(s.list) && at < r.End; i++ {
		if s.list[i].Range.Start > at {
			return false
		}
		at = s.list[i].Range.End
	}
	return at >= r.End
}

// split makes a VMA boundary at va if va falls strictly inside a VMA.
func (s *vmaSet) split(va Addr) {
	i := s.firstFrom(va)
	if i >= len(s.list) {
		return
	}
	v := s.list[i]
	if v.Range.Start >= va {
		return
	}
	hi := v.clone(AddrRange{va, v.Range.End})
	v.Range.End = va
	s.list = append(s.list, nil)
	copy(s.list[i+2:], s.list[i+1:])
	s.list[i+1] = hi
}

// span returns the indices [i, j) of the VMAs inside r, after splitting at
// r's bounds.
func (s *vmaSet) span(r AddrRange) (int, int) {
	s.split(r.Start)
	s.split(r.End)
	i := s.firstFrom(r.Start)
	j := i
	for j < len(s.list) && s.list[j].Range.End <= r.End {
		j++
	}
	return i, j
}

// remove deletes the VMAs inside r (splitting at its bounds) and returns them.
func (s *vmaSet) remove(r AddrRange) []*VMA {
	i, j := s.span(r)
	out := append([]*VMA(nil), s.list[i:j]...)
	s.list = append(s.list[:i], s.list[j:]...)
	return out
}

// mergeAround joins neighbours around index range that are compatible.
func (s *vmaSet) merge() {
	out := s.list[:0]
	for _, v := range s.list {
		if n := len(out); n > 0 && mergeable(out[n-1], v) {
			out[n-1].Range.End = v.Range.End
			continue
		}
		out = append(out, v)
	}
	for i := len(out); i < len(s.list); i++ {
		s.list[i] = nil
	}
	s.list = out
}

// mergeable reports whether b directly follows a and both describe the same
// kind of memory, so they can be one VMA.
func mergeable(a, b *VMA) bool {
	return a.Range.End == b.Range.Start && a.Prot == b.Prot && a.Shared == b.Shared &&
		a.File == nil && b.File == nil && a.Object == nil && b.Object == nil && a.Name == b.Name &&
		a.Flags == b.Flags && a.Policy == b.Policy
}
