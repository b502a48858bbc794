package mm

import "github.com/cmaemu/cmaemu/linux"

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
	Offset uint64
	Name   string
	// Flags are added to the mapping's flags (VMLocked for MAP_LOCKED),
	// with the address space's default flags (mlockall(MCL_FUTURE)).
	Flags VMAFlags
	// Populate faults the pages in (MAP_POPULATE), as a locked mapping
	// (VMLocked without VMLockOnFault) is; failures are ignored.
	Populate bool
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
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pt == nil {
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
			m.unmapLocked(r)
		}
	default:
		var ok bool
		if r, ok = m.findFreeLocked(o.Addr.RoundDown(), uint64(length)); !ok {
			return 0, linux.ENOMEM
		}
	}
	v := &VMA{Range: r, Prot: o.Prot, Shared: o.Shared, File: o.File, Offset: o.Offset, Name: o.Name,
		Flags: o.Flags | m.defFlags}
	switch {
	case o.Object != nil:
		o.Object.incRef()
		v.Object, v.Shared = o.Object, true
		if o.Object.file != nil {
			v.Name = o.Object.file.Name()
		}
	case o.File != nil:
		o.File.IncRef()
	case o.Shared:
		v.Object = newSharedObject()
	}
	m.vmas.insert(v)
	m.vmas.merge()
	if o.Populate || v.Flags&(VMLocked|VMLockOnFault) == VMLocked {
		m.prefaultLocked(r, true /* ignore errors */)
	}
	return r.Start, nil
}

// MapAnon maps the page-aligned range r as private anonymous memory,
// replacing what was there. It serves the loader.
func (m *MM) MapAnon(r AddrRange, prot Prot, name string) error {
	_, err := m.Map(MapOpts{Addr: r.Start, Length: r.Length(), Prot: prot, Fixed: true, Name: name})
	return err
}

// findFreeLocked returns a free range of length bytes: at hint if that is
// free, else the highest one below the mmap base.
func (m *MM) findFreeLocked(hint Addr, length uint64) (AddrRange, bool) {
	if hint >= mmapMinAddr {
		if end, ok := hint.AddLength(length); ok && end <= m.layout.Limit && !m.vmas.overlaps(AddrRange{hint, end}) {
			return AddrRange{hint, end}, true
		}
	}
	top := m.layout.MmapBase
	list := m.vmas.list
	for i := m.vmas.firstFrom(top); ; i-- {
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
			return AddrRange{hi - Addr(length), hi}, true
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
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pt != nil {
		m.unmapLocked(AddrRange{addr, end})
	}
	return nil
}

// unmapLocked removes VMAs and pages in r, shoots down TLBs, frees frames.
// Preconditions: m.mu held for writing.
func (m *MM) unmapLocked(r AddrRange) {
	gone := m.vmas.remove(r)
	if len(gone) == 0 {
		return
	}
	code := AddrRange{}
	for _, v := range gone {
		if v.Prot&ProtExec != 0 {
			code = span(code, v.Range)
		}
	}
	freed := m.zapLocked(r)
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
	i, j := m.vmas.span(r)
	code := AddrRange{}
	for _, v := range m.vmas.list[i:j] {
		if v.Prot&ProtExec != 0 && prot&ProtExec == 0 {
			code = span(code, v.Range)
		}
		v.Prot = prot
	}
	m.pt.forEachLeaf(r.Start, r.End, func(_ Addr, slot *uint64) {
		e := load(slot)
		store(slot, leafPTE(e.Frame(), prot, e&PTECOW != 0)|e&(PTEAccessed|PTEDirty))
	})
	m.vmas.merge()
	m.shootdown(code)
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
	freed := m.zapLocked(r)
	m.shootdown(AddrRange{})
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

// Brk moves the program break as brk(2) does and returns the new break;
// on failure (below the start, or colliding with a mapping) the old one.
func (m *MM) Brk(want Addr) Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	if want < m.brkStart || m.pt == nil {
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
		if m.vmas.overlaps(r) {
			return m.brk
		}
		m.vmas.insert(&VMA{Range: r, Prot: ProtRead | ProtWrite, Name: "[heap]", Flags: m.defFlags})
		m.vmas.merge()
		if m.defFlags&(VMLocked|VMLockOnFault) == VMLocked {
			m.prefaultLocked(r, true /* ignore errors */)
		}
	}
	m.brk = want
	return m.brk
}

// Remap resizes or moves the mapping at old as mremap does.
func (m *MM) Remap(old Addr, oldLen, newLen uint64, mayMove, fixed bool, newAddr Addr) (Addr, error) {
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
		m.unmapLocked(nr)
		v = m.vmas.find(old)
		return m.moveLocked(v, AddrRange{old, oldEnd}, nr), nil
	}
	if nl <= ol {
		m.unmapLocked(AddrRange{old + nl, oldEnd})
		return old, nil
	}
	grow := AddrRange{oldEnd, old + nl}
	if oldEnd == v.Range.End && grow.End > grow.Start && grow.End <= m.layout.Limit && !m.vmas.overlaps(grow) {
		v.Range.End = grow.End
		return old, nil
	}
	if !mayMove {
		return 0, linux.ENOMEM
	}
	nr, ok := m.findFreeLocked(0, uint64(nl))
	if !ok {
		return 0, linux.ENOMEM
	}
	return m.moveLocked(v, AddrRange{old, oldEnd}, nr), nil
}

// moveLocked moves the part from of VMA v to the free range to (which may
// be longer), carrying its pages along, and returns to.Start.
func (m *MM) moveLocked(v *VMA, from, to AddrRange) Addr {
	nv := v.clone(from)
	nv.Range = to
	type moved struct {
		off Addr
		e   PTE
	}
	var pages []moved
	m.pt.forEachLeaf(from.Start, from.End, func(va Addr, slot *uint64) {
		pages = append(pages, moved{va - from.Start, load(slot)})
		store(slot, 0)
	})
	for _, p := range pages {
		slot, err := m.pt.slot(to.Start + p.off)
		if err != nil { // out of frames for page tables: drop the page
			m.ram.DecRef(p.e.Frame())
			continue
		}
		store(slot, p.e)
	}
	code := AddrRange{}
	if v.Prot&ProtExec != 0 {
		code = from
	}
	for _, g := range m.vmas.remove(from) {
		g.drop(m.ram)
	}
	m.vmas.insert(nv)
	m.vmas.merge()
	m.shootdown(code)
	return to.Start
}

// Sync writes back the shared file pages mapped in [addr, addr+length)
// (msync).
func (m *MM) Sync(addr Addr, length uint64) error {
	if !addr.IsPageAligned() {
		return linux.EINVAL
	}
	end, ok := addr.AddLength(length)
	if end, ok = end.RoundUp(); !ok {
		return linux.ENOMEM
	}
	r := AddrRange{addr, end}
	m.mu.RLock()
	if m.pt == nil || !m.vmas.covered(r) {
		m.mu.RUnlock()
		return linux.ENOMEM
	}
	var objs []*SharedObject
	for i := m.vmas.firstFrom(r.Start); i < len(m.vmas.list) && m.vmas.list[i].Range.Start < r.End; i++ {
		if o := m.vmas.list[i].Object; o != nil {
			objs = append(objs, o)
		}
	}
	m.mu.RUnlock()
	for _, o := range objs {
		o.writeBack(m.ram)
	}
	return nil
}
