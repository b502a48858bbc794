package mm

import (
	"errors"
	"io"
	"slices"
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

// SharedFile is the backing of a MAP_SHARED file mapping: the file whose
// pages the object caches, read from on first touch.
type SharedFile interface {
	File
	// Size returns the file's current size.
	Size() (int64, error)
}

// FileWriter writes a shared file object's dirty pages back to the file:
// a description of the file open for writing, whose writes land at the
// offset given whatever the guest's descriptors say (no O_APPEND).
type FileWriter interface {
	io.WriterAt
	Close() error
}

// SharedObject holds the frames of shared memory: a MAP_SHARED anonymous
// mapping (shared with forks), or the pages of a file mapped MAP_SHARED
// (shared by every mapping of the file), Linux's page cache of the file.
// A file object reads a page from the file when it is first faulted in.
// It writes back only dirty pages: a page becomes dirty when a PTE that
// maps it is found with the Dirty bit as it is zapped or cleaned (msync),
// as Linux's set_page_dirty. Write-back goes through the object's writer,
// which the first mapping through a descriptor open for writing supplies;
// an object mapped only through read-only descriptors cannot be written
// (no mapping of it can be writable) and has nothing to write back.
type SharedObject struct {
	mu     sync.Mutex // protects frames, refs, writable, dirty, writer, dead
	frames map[uint64]Frame
	refs   int        // VMAs referring to the object, and other holders
	file   SharedFile // nil for anonymous memory
	dead   bool       // the last reference went: the object is empty
	// writable counts the VMAs that may write the object (not
	// ReadOnlyFile): Linux's i_mmap_writable, which F_SEAL_WRITE checks.
	writable int
	// dirty are the page indices whose frames hold data the file has
	// not (a file object only).
	dirty map[uint64]struct{}
	// writer writes dirty pages back; nil until a mapping may write.
	writer FileWriter
	// onRelease runs when the last reference goes.
	onRelease func()
	// onDrop, if set, runs after every dropped reference but the last,
	// with no lock of the object held, and is given the references left
	// (System V shared memory counts its attaches with it).
	onDrop func(refs int)
}

func newSharedObject() *SharedObject {
	return &SharedObject{frames: map[uint64]Frame{}, refs: 1}
}

// NewFileObject returns a shared object for f with one reference, which
// the caller drops with Release once its mappings hold their own.
// onRelease, if not nil, runs when the last reference goes.
func NewFileObject(f SharedFile, onRelease func()) *SharedObject {
	f.IncRef()
	return &SharedObject{frames: map[uint64]Frame{}, refs: 1, file: f, onRelease: onRelease,
		dirty: map[uint64]struct{}{}}
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

// EnsureWriter gives a file object its writer, calling open for it if it
// has none yet: a mapping made through a descriptor open for writing
// (VM_MAYWRITE) calls it before it maps. The object closes the writer
// when its last reference goes.
func (o *SharedObject) EnsureWriter(open func() (FileWriter, error)) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.file == nil || o.writer != nil || o.dead {
		return nil
	}
	w, err := open()
	if err != nil {
		return err
	}
	o.writer = w
	return nil
}

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
		ram.markShared(f)
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

// markDirty records that page pg holds data the file has not.
func (o *SharedObject) markDirty(pg uint64) {
	if o.file == nil {
		return
	}
	o.mu.Lock()
	if _, ok := o.frames[pg]; ok {
		o.dirty[pg] = struct{}{}
	}
	o.mu.Unlock()
}

// Dirty reports whether page pg of the object is marked dirty (for
// tests and /proc).
func (o *SharedObject) Dirty(pg uint64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.dirty[pg]
	return ok
}

// writeBack writes the dirty pages with indices in [first, last] to the
// file at their own offsets, each cut at the file's size (a page wholly
// beyond it is not written, as Linux's writeback skips pages past EOF).
// A page written is clean; a page whose write fails stays dirty, and the
// first error is returned: ENOSPC and EDQUOT as they are, anything else
// as EIO (what fsync reports for a failed writeback).
func (o *SharedObject) writeBack(ram *RAM, first, last uint64) error {
	if o.file == nil {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.writeBackLocked(ram, first, last)
}

// writeBackLocked is writeBack with o.mu held.
func (o *SharedObject) writeBackLocked(ram *RAM, first, last uint64) error {
	if len(o.dirty) == 0 {
		return nil
	}
	if o.writer == nil {
		// No mapping could write: nothing to write back.
		clear(o.dirty)
		return nil
	}
	pages := make([]uint64, 0, len(o.dirty))
	for pg := range o.dirty {
		if pg >= first && pg <= last {
			pages = append(pages, pg)
		}
	}
	if len(pages) == 0 {
		return nil
	}
	slices.Sort(pages)
	size, err := o.file.Size()
	if err != nil {
		return linux.EIO
	}
	var firstErr error
	for _, pg := range pages {
		off := int64(pg) << PageShift
		if off < size {
			n := min(int64(PageSize), size-off)
			if _, err := o.writer.WriteAt(ram.Bytes(o.frames[pg])[:n], off); err != nil {
				if firstErr == nil {
					firstErr = writeBackErr(err)
				}
				continue
			}
		}
		delete(o.dirty, pg)
	}
	return firstErr
}

// writeBackErr is the error msync reports for a failed write-back.
func writeBackErr(err error) error {
	switch {
	case errors.Is(err, linux.ENOSPC):
		return linux.ENOSPC
	case errors.Is(err, linux.EDQUOT):
		return linux.EDQUOT
	}
	return linux.EIO
}

func (o *SharedObject) incRef() {
	o.mu.Lock()
	o.refs++
	o.mu.Unlock()
}

// incMapRef takes the reference of a VMA, which may write the object if
// writable says so.
func (o *SharedObject) incMapRef(writable bool) {
	o.mu.Lock()
	o.refs++
	if writable {
		o.writable++
	}
	o.mu.Unlock()
}

// decMapRef drops the reference of a VMA taken by incMapRef.
func (o *SharedObject) decMapRef(ram *RAM, writable bool) {
	if writable {
		o.mu.Lock()
		o.writable--
		o.mu.Unlock()
	}
	o.decRef(ram)
}

// decRef drops a reference. A file object writes its dirty pages back
// first: with no unified page cache, this is when the file's readers see
// what the mapping wrote. Errors are dropped, as munmap reports none.
func (o *SharedObject) decRef(ram *RAM) {
	o.mu.Lock()
	if o.file != nil {
		o.writeBackLocked(ram, 0, ^uint64(0))
	}
	if o.refs--; o.refs > 0 {
		refs, drop := o.refs, o.onDrop
		o.mu.Unlock()
		if drop != nil {
			drop(refs)
		}
		return
	}
	for _, f := range o.frames {
		ram.DecRef(f)
	}
	o.frames, o.dirty, o.dead = nil, nil, true
	file, writer, release := o.file, o.writer, o.onRelease
	o.writer = nil
	o.mu.Unlock()
	if release != nil {
		release()
	}
	if writer != nil {
		writer.Close()
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
	// ReadOnlyFile: a shared file mapping made through a descriptor not
	// open for writing: Linux's VMA without VM_MAYWRITE.
	ReadOnlyFile bool
	Name         string    // "[heap]", "[stack]" or ""
	Flags        VMAFlags  // mlock and madvise state (VM_LOCKED, VM_DONTCOPY, ...)
	Policy       MemPolicy // mbind's NUMA policy (the zero value: none)
}

// isData reports whether v counts as data for RLIMIT_DATA: writable,
// private and not the stack (is_data_mapping).
func (v *VMA) isData() bool {
	return v.Prot&ProtWrite != 0 && !v.Shared && v.Name != "[stack]"
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
		c.Object.incMapRef(!c.ReadOnlyFile)
	}
	return &c
}

// fileObject reports whether v maps a file MAP_SHARED: its pages are
// written back when dirty.
func (v *VMA) fileObject() bool { return v.Object != nil && v.Object.file != nil }

// fileLeaf is the leaf entry for frame f of a shared file mapping with
// protection prot, keeping the Accessed and Dirty bits of old: writable
// only once Dirty. A clean page is mapped read-only, so the first write
// faults and sets Dirty (Linux's write notification for shared file
// mappings): an engine's TLB that cached a read translation can then
// never write the page without the Dirty bit.
func fileLeaf(f Frame, prot Prot, old PTE) PTE {
	if old&PTEDirty == 0 {
		prot &^= ProtWrite
	}
	return leafPTE(f, prot, false) | old&(PTEAccessed|PTEDirty)
}

// dirtyLocked marks dirty in v's object the pages of v in r whose PTE
// has the Dirty bit (Linux's set_page_dirty as a dirty PTE is zapped or
// cleaned). With clean, those PTEs lose Dirty and write access (Linux's
// page_mkclean), so a later write sets Dirty again; the caller shoots down
// the TLBs before it writes the pages back. It reports whether any PTE
// was cleaned.
// Preconditions: m.mu held for writing.
func (m *MM) dirtyLocked(v *VMA, r AddrRange, clean bool) bool {
	if !v.fileObject() {
		return false
	}
	r = AddrRange{max(r.Start, v.Range.Start), min(r.End, v.Range.End)}
	cleaned := false
	m.pt.forEachLeaf(r.Start, r.End, func(va Addr, slot *uint64) {
		e := load(slot)
		if e&PTEDirty == 0 {
			return
		}
		v.Object.markDirty(v.pageIndex(va))
		if clean {
			store(slot, e&^(PTEDirty|PTEWrite))
			cleaned = true
		}
	})
	return cleaned
}

// dirtyRangeLocked is dirtyLocked (without clean) for every VMA in r.
// Preconditions: m.mu held for writing.
func (m *MM) dirtyRangeLocked(r AddrRange) {
	for i := m.vmas.firstFrom(r.Start); i < len(m.vmas.list) && m.vmas.list[i].Range.Start < r.End; i++ {
		m.dirtyLocked(m.vmas.list[i], r, false)
	}
}

// drop releases the VMA's references on its backing.
func (v *VMA) drop(ram *RAM) {
	if v.File != nil {
		v.File.DecRef()
	}
	if v.Object != nil {
		v.Object.decMapRef(ram, !v.ReadOnlyFile)
	}
}

// MaxMapCount is vm.max_map_count's default (DEFAULT_MAX_MAP_COUNT): an
// operation that would leave an address space with more VMAs than this
// fails with ENOMEM. As in Linux, mmap is refused once the count is
// above it (so the last mmap may reach MaxMapCount+1), a split by
// mprotect or mremap once the count has reached it, and munmap only
// when it would split one VMA in two.
const MaxMapCount = 65530

// vmaSet is the sorted, non-overlapping list of an address space's VMAs.
//
// Lookups are binary searches; an insertion or removal is a binary
// search and one move of the slice's tail; merging after a change looks
// only at the changed entries and their neighbours. The top-down search
// for free space starts where the last one ended (freeCache), as
// Linux's free_area_cache did, unless a gap above it may fit.
type vmaSet struct {
	list []*VMA
	// total is the sum of the VMAs' lengths (Linux's total_vm, in
	// bytes), for RLIMIT_AS; data that of the private writable ones
	// (data_vm), for RLIMIT_DATA. merge recomputes both; whoever
	// changes a VMA's Prot in place updates data (account).
	total, data uint64
	// freeCache, if not zero, is an address below which the top-down
	// search may start: every gap above it (up to the mmap base) is at
	// most holeAbove bytes long. A removal above it moves it up.
	freeCache Addr
	holeAbove uint64
}

// account adds (sign 1) or removes (sign -1) v's length to total and,
// for private writable memory, to data.
func (s *vmaSet) account(v *VMA, sign int) {
	n := uint64(v.Range.Length())
	if sign < 0 {
		n = -n
	}
	s.total += n
	if v.isData() {
		s.data += n
	}
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

// insert adds v, which must not overlap any VMA in s, and returns its
// index.
func (s *vmaSet) insert(v *VMA) int {
	i := s.firstFrom(v.Range.Start)
	s.list = append(s.list, nil)
	copy(s.list[i+1:], s.list[i:])
	s.list[i] = v
	s.account(v, 1)
	return i
}

// overlaps reports whether any VMA intersects r.
func (s *vmaSet) overlaps(r AddrRange) bool {
	i := s.firstFrom(r.Start)
	return i < len(s.list) && s.list[i].Range.Start < r.End
}

// mappedIn returns how many bytes of r are mapped.
func (s *vmaSet) mappedIn(r AddrRange) uint64 {
	var n uint64
	for i := s.firstFrom(r.Start); i < len(s.list) && s.list[i].Range.Start < r.End; i++ {
		v := s.list[i].Range
		n += uint64(min(v.End, r.End) - max(v.Start, r.Start))
	}
	return n
}

// splitsInside reports whether removing r would split one VMA in two
// (r strictly inside it), which needs one more VMA.
func (s *vmaSet) splitsInside(r AddrRange) bool {
	v := s.find(r.Start)
	return v != nil && v.Range.Start < r.Start && r.End < v.Range.End
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
	clear(s.list[len(s.list) : len(s.list)+j-i])
	for _, v := range out {
		s.account(v, -1)
	}
	if len(out) > 0 {
		s.freed(r)
	}
	return out
}

// freed records that r became free. If r lies above where the
// free-space search would start, the search starts instead at the top
// of the gap that now holds r: the gaps above that are unchanged.
// Preconditions: r is no longer in s.
func (s *vmaSet) freed(r AddrRange) {
	if s.freeCache == 0 || r.End <= s.freeCache {
		return
	}
	if i := s.firstFrom(r.End); i < len(s.list) {
		s.freeCache = s.list[i].Range.Start
	} else {
		s.freeCache, s.holeAbove = 0, 0
	}
}

// grow extends the VMA at index i to end (the range up to end is free).
func (s *vmaSet) grow(i int, end Addr) {
	v := s.list[i]
	s.account(v, -1)
	v.Range.End = end
	s.account(v, 1)
}

// merge joins every pair of neighbours that are compatible, and
// recomputes total (after a change that did not go through insert and
// remove, such as fork's copy of the list).
func (s *vmaSet) merge() {
	out := s.list[:0]
	s.total, s.data = 0, 0
	for _, v := range s.list {
		s.account(v, 1)
		if n := len(out); n > 0 && mergeable(out[n-1], v) {
			out[n-1].Range.End = v.Range.End
			continue
		}
		out = append(out, v)
	}
	clear(s.list[len(out):])
	s.list = out
	s.freeCache, s.holeAbove = 0, 0
}

// mergeAround joins the VMAs at indices [i, j) with each other and with
// their neighbours where compatible: after a change to those entries
// only, it does what merge does, looking at j-i+2 entries.
func (s *vmaSet) mergeAround(i, j int) {
	lo, hi := max(i-1, 0), min(j+1, len(s.list))
	if lo >= hi {
		return
	}
	out := lo
	for k := lo + 1; k < hi; k++ {
		if mergeable(s.list[out], s.list[k]) {
			s.list[out].Range.End = s.list[k].Range.End
			continue
		}
		out++
		s.list[out] = s.list[k]
	}
	if out+1 == hi {
		return
	}
	n := copy(s.list[out+1:], s.list[hi:])
	clear(s.list[out+1+n:])
	s.list = s.list[:out+1+n]
}

// mergeable reports whether b directly follows a and both describe the same
// kind of memory, so they can be one VMA.
func mergeable(a, b *VMA) bool {
	return a.Range.End == b.Range.Start && a.Prot == b.Prot && a.Shared == b.Shared &&
		a.File == nil && b.File == nil && a.Object == nil && b.Object == nil && a.Name == b.Name &&
		a.Flags == b.Flags && a.Policy == b.Policy
}
