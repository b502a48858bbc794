package mm

import (
	"io"

	"github.com/cmaemu/cmaemu/linux"
)

// mmapMinAddr is the lowest address mmap hands out (vm.mmap_min_addr).
const mmapMinAddr Addr = 0x10000

// MapOpts are the arguments of Map, as mmap takes them.
type MapOpts struct {
	Addr      Addr // hint, or the exact address with Fixed/NoReplace
	Length    uint64
	Prot      Prot
	Fixed     bool // MAP_FIXED: replace whatever is mapped there
	NoReplace bool // MAP_FIXED_NOREPLACE: EEXIST if anything is there
	Shared    bool // MAP_SHARED
	File      File // nil for anonymous memory (private file mappings)
	// Object, if set, backs the mapping (shared file mappings): the
	// mapping takes a reference on it.
	Object *SharedObject
	// ReadOnlyFile: a shared file mapping made through a descriptor not
	// open for writing (no VM_MAYWRITE): it may never be made writable.
	ReadOnlyFile bool
	// OpenWriter, for a shared file mapping that may write, opens the
	// writer the object writes its dirty pages back with, if it has
	// none yet (SharedObject.EnsureWriter). Nil: the object's file, if
	// it is an io.WriterAt.
	OpenWriter func() (FileWriter, error)
	Offset     uint64
	Name       string
	// Flags are added to the mapping's flags (VMLocked for MAP_LOCKED),
	// with the address space's default flags (mlockall(MCL_FUTURE)).
	Flags VMAFlags
	// Populate faults the pages in (MAP_POPULATE), as a locked mapping
	// (VMLocked without VMLockOnFault) is; failures are ignored.
	Populate bool
	// Limits are the caller's RLIMIT_AS and RLIMIT_DATA.
	Limits Limits
}

// Limits are the resource limits a mapping is made under, in bytes: the
// mapping may not make the address space's total size exceed AS, nor
// its private writable memory exceed Data (ENOMEM). Zero means no
// limit; a limit below one page allows no page (pass 1 for that).
type Limits struct {
	AS, Data uint64
	// Break is RLIMIT_DATA as brk checks the break against it
	// (check_data_rlimit): Data differs when the soft limit is 0, which
	// mappings read as the hard limit (may_expand_vm's exemption).
	Break uint64
}

// mayExpandLocked reports whether the address space may grow by grow
// bytes of a mapping that is private writable memory if data, under l,
// as Linux's may_expand_vm counts: in pages, the limits rounded down.
// Preconditions: m.mu held.
func (m *MM) mayExpandLocked(grow uint64, data bool, l Limits) bool {
	return within(m.vmas.total, grow, l.AS) && (!data || within(m.vmas.data, grow, l.Data))
}

// within reports whether used+grow bytes stay within limit (0: none),
// counted in pages with the limit rounded down.
func within(used, grow, limit uint64) bool {
	return limit == 0 || (used+grow)>>PageShift <= limit>>PageShift
}

// data reports whether the mapping o asks for is private writable
// memory (VMA.isData).
func (o *MapOpts) data() bool {
	return o.Prot&ProtWrite != 0 && !o.Shared && o.Object == nil && o.Name != "[stack]"
}

// Map creates a mapping with mmap's rules and returns its address.
func (m *MM) Map(o MapOpts) (Addr, error) {
	if o.Length == 0 || o.Offset&(PageSize-1) != 0 {
		return 0, linux.EINVAL
	}
	length := Addr(o.Length)
	if l, ok := length.RoundUp(); ok && l != 0 {
		length = l
	} else {
		return 0, linux.ENOMEM
	}
	if ob := o.Object; ob != nil && ob.file != nil {
		if o.ReadOnlyFile && o.Prot&ProtWrite != 0 {
			return 0, linux.EACCES
		}
		if !o.ReadOnlyFile {
			if err := ob.EnsureWriter(o.writerOpener()); err != nil {
				return 0, err
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pt == nil || len(m.vmas.list) > MaxMapCount {
		return 0, linux.ENOMEM
	}
	var r AddrRange
	switch {
	case o.Fixed || o.NoReplace:
		if !o.Addr.IsPageAligned() {
			return 0, linux.EINVAL
		}
		end, ok := o.Addr.AddLength(uint64(length))
		if !ok || end > m.layout.Limit {
			return 0, linux.ENOMEM
		}
		r = AddrRange{o.Addr, end}
		if m.vmas.overlaps(r) {
			if !o.Fixed {
				return 0, linux.EEXIST
			}
			if len(m.vmas.list) >= MaxMapCount && m.vmas.splitsInside(r) {
				return 0, linux.ENOMEM
			}
			if !m.mayExpandLocked(uint64(length)-m.vmas.mappedIn(r), o.data(), o.Limits) {
				return 0, linux.ENOMEM
			}
			m.unmapLocked(r)
		}
	default:
		var ok bool
		if r, ok = m.findFreeLocked(o.Addr.RoundDown(), uint64(length)); !ok {
			return 0, linux.ENOMEM
		}
	}
	if !m.mayExpandLocked(uint64(length), o.data(), o.Limits) {
		return 0, linux.ENOMEM
	}
	v := &VMA{Range: r, Prot: o.Prot, Shared: o.Shared, File: o.File, Offset: o.Offset, Name: o.Name,
		Flags: o.Flags | m.defFlags}
	switch {
	case o.Object != nil:
		o.Object.incMapRef(!o.ReadOnlyFile)
		v.Object, v.Shared, v.ReadOnlyFile = o.Object, true, o.ReadOnlyFile
		if o.Object.file != nil {
			v.Name = o.Object.file.Name()
		}
	case o.File != nil:
		o.File.IncRef()
	case o.Shared:
		v.Object = newSharedObject()
	}
	i := m.vmas.insert(v)
	m.vmas.mergeAround(i, i+1)
	if o.Populate || v.Flags&(VMLocked|VMLockOnFault) == VMLocked {
		m.prefaultLocked(r, true /* ignore errors */)
	}
	return r.Start, nil
}

// writerOpener returns the function that opens the writer of a shared
// file mapping's object.
func (o *MapOpts) writerOpener() func() (FileWriter, error) {
	if o.OpenWriter != nil {
		return o.OpenWriter
	}
	return func() (FileWriter, error) {
		if w, ok := o.Object.file.(io.WriterAt); ok {
			return nopCloser{w}, nil
		}
		return nil, linux.EACCES
	}
}

// nopCloser is a FileWriter whose Close does nothing.
type nopCloser struct{ io.WriterAt }

func (nopCloser) Close() error { return nil }

// MapAnon maps the page-aligned range r as private anonymous memory,
// replacing what was there. It serves the loader.
func (m *MM) MapAnon(r AddrRange, prot Prot, name string) error {
	_, err := m.Map(MapOpts{Addr: r.Start, Length: r.Length(), Prot: prot, Fixed: true, Name: name})
	return err
}

// findFreeLocked returns a free range of length bytes: at hint if that is
// free, else the highest one below the mmap base. The search starts
// below the last range it returned when no gap above that can fit
// (vmaSet.freeCache), so placing many mappings one below the other
// costs a binary search each, not a walk over all of them.
// Preconditions: m.mu held for writing.
func (m *MM) findFreeLocked(hint Addr, length uint64) (AddrRange, bool) {
	if hint >= mmapMinAddr {
		if end, ok := hint.AddLength(length); ok && end <= m.layout.Limit && !m.vmas.overlaps(AddrRange{hint, end}) {
			return AddrRange{hint, end}, true
		}
	}
	s := &m.vmas
	top := m.layout.MmapBase
	if s.freeCache != 0 && s.freeCache < top && length > s.holeAbove {
		top = s.freeCache
	} else {
		s.freeCache, s.holeAbove = 0, 0
	}
	list := s.list
	for i := s.firstFrom(top); ; i-- {
		// The gap is [end of VMA i-1, min(top, start of VMA i)).
		hi := top
		if i < len(list) && list[i].Range.Start < hi {
			hi = list[i].Range.Start
		}
		lo := mmapMinAddr
		if i > 0 {
			lo = max(lo, list[i-1].Range.End)
		}
		if hi >= lo && uint64(hi-lo) >= length {
			r := AddrRange{hi - Addr(length), hi}
			s.freeCache = r.Start
			return r, true
		}
		if hi > lo {
			s.holeAbove = max(s.holeAbove, uint64(hi-lo))
		}
		if i == 0 {
			return AddrRange{}, false
		}
	}
}

// Unmap removes the mappings in [addr, addr+length) with munmap's rules.
func (m *MM) Unmap(addr Addr, length uint64) error {
	if !addr.IsPageAligned() || length == 0 {
		return linux.EINVAL
	}
	end, ok := addr.AddLength(length)
	if end, ok = end.RoundUp(); !ok || end > m.layout.Limit {
		return linux.EINVAL
	}
	r := AddrRange{addr, end}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pt == nil {
		return nil
	}
	// Splitting one VMA in two needs room for one more (Linux lets the
	// count rise only when the unmap frees a whole VMA).
	if len(m.vmas.list) >= MaxMapCount && m.vmas.splitsInside(r) {
		return linux.ENOMEM
	}
	m.unmapLocked(r)
	return nil
}

// unmapLocked removes VMAs and pages in r, shoots down TLBs, frees frames.
// Preconditions: m.mu held for writing.
func (m *MM) unmapLocked(r AddrRange) {
	gone := m.vmas.remove(r)
	if len(gone) == 0 {
		return
	}
	var exec []AddrRange
	for _, v := range gone {
		if v.Prot&ProtExec != 0 {
			exec = append(exec, v.Range)
		}
		m.dirtyLocked(v, r, false)
	}
	freed, code := m.zapLocked(r, exec)
	m.shootdown(code)
	m.putFrames(freed)
	for _, v := range gone {
		v.drop(m.ram)
	}
}

// span returns the smallest range covering a and b (a may be empty).
func span(a, b AddrRange) AddrRange {
	if a.Start == a.End {
		return b
	}
	return AddrRange{min(a.Start, b.Start), max(a.End, b.End)}
}

// Protect changes the protection of [addr, addr+length) with mprotect's
// rules: ENOMEM if any part is unmapped.
func (m *MM) Protect(addr Addr, length uint64, prot Prot) error {
	return m.ProtectLimit(addr, length, prot, Limits{})
}

// ProtectLimit is Protect under l: a private mapping that becomes
// writable counts against l.Data, and the first one that would exceed
// it ends the change there with ENOMEM (mprotect_fixup).
func (m *MM) ProtectLimit(addr Addr, length uint64, prot Prot, l Limits) error {
	if !addr.IsPageAligned() {
		return linux.EINVAL
	}
	end, ok := addr.AddLength(length)
	if end, ok = end.RoundUp(); !ok {
		return linux.ENOMEM
	}
	if end == addr {
		return nil
	}
	r := AddrRange{addr, end}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pt == nil || !m.vmas.covered(r) {
		return linux.ENOMEM
	}
	// A mapping without VM_MAYWRITE cannot get PROT_WRITE: EACCES, with
	// the mappings before it changed already (as Linux goes through them
	// in order).
	var err error
	becomesData := uint64(0)
	for i := m.vmas.firstFrom(r.Start); i < len(m.vmas.list) && m.vmas.list[i].Range.Start < r.End; i++ {
		v := m.vmas.list[i]
		if v.ReadOnlyFile && prot&ProtWrite != 0 {
			r.End, err = max(r.Start, v.Range.Start), linux.EACCES
			break
		}
		if prot&ProtWrite != 0 && !v.isData() && !v.Shared && v.Name != "[stack]" {
			n := uint64(min(r.End, v.Range.End) - max(r.Start, v.Range.Start))
			if within(m.vmas.total, n, l.AS) && !within(m.vmas.data, becomesData+n, l.Data) {
				r.End, err = max(r.Start, v.Range.Start), linux.ENOMEM
				break
			}
			becomesData += n
		}
	}
	if lerr := m.protectSplitsLocked(&r, prot); lerr != nil {
		err = lerr
	}
	if r.Start == r.End {
		return err
	}
	i, j := m.vmas.span(r)
	var code []Frame
	for _, v := range m.vmas.list[i:j] {
		noLongerExec := v.Prot&ProtExec != 0 && prot&ProtExec == 0
		m.vmas.account(v, -1)
		v.Prot = prot
		m.vmas.account(v, 1)
		file := v.fileObject()
		m.pt.forEachLeaf(v.Range.Start, v.Range.End, func(_ Addr, slot *uint64) {
			e := load(slot)
			if noLongerExec && m.codeFrame(e.Frame(), false) {
				code = append(code, e.Frame())
			}
			if file {
				store(slot, fileLeaf(e.Frame(), prot, e))
				return
			}
			store(slot, leafPTE(e.Frame(), prot, e&PTECOW != 0)|e&(PTEAccessed|PTEDirty))
		})
	}
	m.vmas.mergeAround(i, j)
	m.shootdown(code)
	return err
}

// protectSplitsLocked applies vm.max_map_count to mprotect of *r to
// prot, as Linux's mprotect_fixup goes through the VMAs in order: a VMA
// whose protection changes is split where r cuts it, unless the part
// cut off joins the neighbour on that side; each split needs fewer than
// MaxMapCount VMAs (split_vma). At the first VMA that cannot be split,
// r is cut short before it and ENOMEM returned (the VMAs before it
// change).
// Preconditions: m.mu held for writing; r is covered.
func (m *MM) protectSplitsLocked(r *AddrRange, prot Prot) error {
	list := m.vmas.list
	if len(list) < MaxMapCount-1 {
		return nil
	}
	count := len(list)
	for i := m.vmas.firstFrom(r.Start); i < len(list) && list[i].Range.Start < r.End; i++ {
		v := list[i]
		if v.Prot == prot {
			continue
		}
		piece := *v
		piece.Range = AddrRange{max(r.Start, v.Range.Start), min(r.End, v.Range.End)}
		piece.Prot = prot
		left, right := v.Range.Start < r.Start, r.End < v.Range.End
		need := 0
		switch {
		case left && right:
			need = 2
		case left:
			if i+1 >= len(list) || !mergeable(&piece, list[i+1]) {
				need = 1
			}
		case right:
			if i == 0 {
				need = 1
				break
			}
			prev := *list[i-1]
			if prev.Range.End > r.Start {
				prev.Prot = prot // changed already
			}
			if !mergeable(&prev, &piece) {
				need = 1
			}
		}
		if need > 0 && count+need > MaxMapCount {
			r.End = max(r.Start, v.Range.Start)
			return linux.ENOMEM
		}
		count += need
	}
	return nil
}

// DontNeed drops the pages of [addr, addr+length) as MADV_DONTNEED does:
// private anonymous memory reads as zeros again, private file memory as
// the file, shared memory keeps its contents.
func (m *MM) DontNeed(addr Addr, length uint64) error {
	if !addr.IsPageAligned() {
		return linux.EINVAL
	}
	end, ok := addr.AddLength(length)
	if end, ok = end.RoundUp(); !ok {
		return linux.EINVAL
	}
	r := AddrRange{addr, end}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pt == nil || !m.vmas.covered(r) {
		return linux.ENOMEM
	}
	m.dirtyRangeLocked(r)
	freed, code := m.zapLocked(r, nil)
	m.shootdown(code)
	m.putFrames(freed)
	return nil
}

// SetBrk places the program break at start (the page-aligned end of the
// loaded image).
func (m *MM) SetBrk(start Addr) {
	m.mu.Lock()
	m.brkStart, m.brk = start, start
	m.mu.Unlock()
}

// SetDataSegment records the program's start_data and end_data, which
// count against RLIMIT_DATA with the heap.
func (m *MM) SetDataSegment(start, end Addr) {
	m.mu.Lock()
	m.dataSegment = uint64(end - min(start, end))
	m.mu.Unlock()
}

// brkWithinLocked reports whether a break at want keeps the heap and
// the data segment within limit bytes (0: none), as check_data_rlimit.
// Preconditions: m.mu held; want >= m.brkStart.
func (m *MM) brkWithinLocked(want Addr, limit uint64) bool {
	return limit == 0 || uint64(want-m.brkStart)+m.dataSegment <= limit
}

// Brk moves the program break as brk(2) does and returns the new break;
// on failure (below the start, or colliding with a mapping) the old one.
func (m *MM) Brk(want Addr) Addr { return m.BrkLimit(want, Limits{}) }

// BrkLimit is Brk under l: growing the heap beyond l.AS or l.Data, or
// with more than MaxMapCount VMAs, fails (do_brk_flags) and the old
// break is returned. l.Data also bounds the break itself, with the
// program's data segment (check_data_rlimit).
func (m *MM) BrkLimit(want Addr, l Limits) Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	if want < m.brkStart || m.pt == nil || !m.brkWithinLocked(want, l.Break) {
		return m.brk
	}
	oldEnd, _ := m.brk.RoundUp()
	newEnd, ok := want.RoundUp()
	if !ok || newEnd > m.layout.Limit {
		return m.brk
	}
	switch {
	case newEnd < oldEnd:
		m.unmapLocked(AddrRange{newEnd, oldEnd})
	case newEnd > oldEnd:
		r := AddrRange{oldEnd, newEnd}
		if m.vmas.overlaps(r) || !m.mayExpandLocked(uint64(r.Length()), true, l) ||
			len(m.vmas.list) > MaxMapCount {
			return m.brk
		}
		i := m.vmas.insert(&VMA{Range: r, Prot: ProtRead | ProtWrite, Name: "[heap]", Flags: m.defFlags})
		m.vmas.mergeAround(i, i+1)
		if m.defFlags&(VMLocked|VMLockOnFault) == VMLocked {
			m.prefaultLocked(r, true /* ignore errors */)
		}
	}
	m.brk = want
	return m.brk
}

// Remap resizes or moves the mapping at old as mremap does.
func (m *MM) Remap(old Addr, oldLen, newLen uint64, mayMove, fixed bool, newAddr Addr) (Addr, error) {
	return m.RemapLimit(old, oldLen, newLen, mayMove, fixed, newAddr, Limits{})
}

// RemapLimit is Remap under l: growing beyond a limit is ENOMEM with nothing changed
// (after MREMAP_FIXED's destination is unmapped, as in Linux). A move
// needs fewer than MaxMapCount-3 VMAs (MREMAP_FIXED: MaxMapCount-5),
// and shrinking the middle of a VMA one fewer than MaxMapCount.
func (m *MM) RemapLimit(old Addr, oldLen, newLen uint64, mayMove, fixed bool, newAddr Addr, l Limits) (Addr, error) {
	if !old.IsPageAligned() || (fixed && !mayMove) || (fixed && !newAddr.IsPageAligned()) {
		return 0, linux.EINVAL
	}
	ol, ok1 := Addr(oldLen).RoundUp()
	nl, ok2 := Addr(newLen).RoundUp()
	if !ok1 || !ok2 || nl == 0 || ol == 0 {
		return 0, linux.EINVAL
	}
	oldEnd, ok := old.AddLength(uint64(ol))
	if !ok {
		return 0, linux.EINVAL
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pt == nil {
		return 0, linux.EFAULT
	}
	v := m.vmas.find(old)
	if v == nil || oldEnd > v.Range.End {
		return 0, linux.EFAULT
	}
	if fixed {
		nr := AddrRange{newAddr, newAddr + nl}
		if nr.End < nr.Start || nr.End > m.layout.Limit || nr.Overlaps(AddrRange{old, oldEnd}) {
			return 0, linux.EINVAL
		}
		if len(m.vmas.list)+2 >= MaxMapCount-3 {
			return 0, linux.ENOMEM
		}
		// As Linux's mremap_to: the destination is unmapped first, then
		// the tail of a shrinking mapping, then the rest moves (or, on
		// failure, stays where it is).
		m.unmapLocked(nr)
		if nl < ol {
			m.unmapLocked(AddrRange{old + nl, oldEnd})
			oldEnd = old + nl
		}
		if nl > ol && !m.mayExpandLocked(uint64(nl-ol), v.isData(), l) {
			return 0, linux.ENOMEM
		}
		v = m.vmas.find(old)
		return m.moveLocked(v, AddrRange{old, oldEnd}, nr)
	}
	if nl <= ol {
		tail := AddrRange{old + nl, oldEnd}
		if tail.Start < tail.End && len(m.vmas.list) >= MaxMapCount && m.vmas.splitsInside(tail) {
			return 0, linux.ENOMEM
		}
		m.unmapLocked(tail)
		return old, nil
	}
	if !m.mayExpandLocked(uint64(nl-ol), v.isData(), l) {
		return 0, linux.ENOMEM
	}
	grow := AddrRange{oldEnd, old + nl}
	if oldEnd == v.Range.End && grow.End > grow.Start && grow.End <= m.layout.Limit && !m.vmas.overlaps(grow) {
		m.vmas.grow(m.vmas.firstFrom(old), grow.End)
		return old, nil
	}
	if !mayMove || len(m.vmas.list) >= MaxMapCount-3 {
		return 0, linux.ENOMEM
	}
	nr, ok := m.findFreeLocked(0, uint64(nl))
	if !ok {
		return 0, linux.ENOMEM
	}
	return m.moveLocked(v, AddrRange{old, oldEnd}, nr)
}

// moveLocked moves the part from of VMA v to the free range to (which may
// be longer), carrying its pages along, and returns to.Start. It is all or
// nothing: the page-table entries the pages need at to are made first,
// and if memory for them runs out (ENOMEM) nothing has moved.
// Preconditions: m.mu held for writing; to does not overlap from.
func (m *MM) moveLocked(v *VMA, from, to AddrRange) (Addr, error) {
	type moved struct {
		off      Addr
		src, dst *uint64
		e        PTE
	}
	var pages []moved
	m.pt.forEachLeaf(from.Start, from.End, func(va Addr, slot *uint64) {
		pages = append(pages, moved{off: va - from.Start, src: slot})
	})
	for i, p := range pages {
		dst, err := m.pt.slot(to.Start + p.off)
		if err != nil {
			return 0, linux.ENOMEM
		}
		pages[i].dst = dst
	}
	for i := range pages {
		pages[i].e = load(pages[i].src)
		store(pages[i].src, 0)
	}
	for _, p := range pages {
		store(p.dst, p.e)
	}
	nv := v.clone(from)
	nv.Range = to
	var code []Frame
	for _, p := range pages {
		if m.codeFrame(p.e.Frame(), false) {
			code = append(code, p.e.Frame())
		}
	}
	for _, g := range m.vmas.remove(from) {
		g.drop(m.ram)
	}
	i := m.vmas.insert(nv)
	m.vmas.mergeAround(i, i+1)
	m.shootdown(code)
	return to.Start, nil
}

// SyncOpts are msync's flags: MS_SYNC and MS_INVALIDATE (MS_ASYNC is
// neither).
type SyncOpts struct {
	Sync, Invalidate bool
}

// Sync is Msync with MS_SYNC.
func (m *MM) Sync(addr Addr, length uint64) error {
	return m.Msync(addr, length, SyncOpts{Sync: true})
}

// Msync writes back the dirty shared file pages mapped in [addr,
// addr+length) as msync(2) does. The range must start page-aligned
// (EINVAL); unmapped parts are ENOMEM (at once for MS_ASYNC, else after
// the mappings that exist were written); MS_INVALIDATE of a locked
// mapping is EBUSY. With MS_SYNC a failed write-back is reported (EIO,
// ENOSPC, EDQUOT). MS_ASYNC writes back too, without reporting errors:
// with no unified page cache this is when read() sees the data, where
// Linux's read() sees it at once.
func (m *MM) Msync(addr Addr, length uint64, o SyncOpts) error {
	if !addr.IsPageAligned() {
		return linux.EINVAL
	}
	end, ok := addr.AddLength(length)
	if end, ok = end.RoundUp(); !ok {
		return linux.ENOMEM
	}
	if end == addr {
		return nil
	}
	type job struct {
		o           *SharedObject
		first, last uint64
	}
	var jobs []job
	var err, unmapped error
	m.mu.Lock()
	if m.pt == nil {
		m.mu.Unlock()
		return linux.ENOMEM
	}
	cleaned := false
	at := addr
	for i := m.vmas.firstFrom(at); ; i++ {
		if i >= len(m.vmas.list) {
			err = linux.ENOMEM
			break
		}
		v := m.vmas.list[i]
		if at < v.Range.Start {
			if !o.Sync && !o.Invalidate {
				err = linux.ENOMEM
				break
			}
			if at = v.Range.Start; at >= end {
				err = linux.ENOMEM
				break
			}
			unmapped = linux.ENOMEM
		}
		if o.Invalidate && v.Flags&VMLocked != 0 {
			err = linux.EBUSY
			break
		}
		stop := min(end, v.Range.End)
		if v.fileObject() {
			if m.dirtyLocked(v, AddrRange{at, stop}, true /* clean */) {
				cleaned = true
			}
			v.Object.incRef()
			jobs = append(jobs, job{v.Object, v.pageIndex(at), v.pageIndex(stop - 1)})
		}
		if at = v.Range.End; at >= end {
			break
		}
	}
	if cleaned {
		m.shootdown(nil)
	}
	m.mu.Unlock()
	for _, j := range jobs {
		werr := j.o.writeBack(m.ram, j.first, j.last)
		j.o.decRef(m.ram)
		if werr != nil && o.Sync && err == nil {
			err = werr
		}
	}
	if err != nil {
		return err
	}
	return unmapped
}
