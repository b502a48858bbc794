package mm

import "github.com/cmaemu/cmaemu/linux"

// The per-mapping state of madvise(2) and the mlock family, mincore(2),
// and populating mappings ahead of use (MAP_POPULATE, mlock,
// MADV_POPULATE_*). The rules are Linux 6.x's (mm/madvise.c, mm/mlock.c,
// mm/mincore.c); the kernel's handlers only decode arguments.

// VMAFlags are the VM_* flags that madvise and mlock set on a mapping.
// Mappings with different flags are not merged, so setting a flag on part
// of a mapping splits it, as /proc/PID/maps shows.
type VMAFlags uint16

const (
	VMLocked      VMAFlags = 1 << iota // VM_LOCKED: mlock, mlockall
	VMLockOnFault                      // VM_LOCKONFAULT: locked pages are not populated ahead
	VMDontCopy                         // VM_DONTCOPY: MADV_DONTFORK, the child does not get it
	VMWipeOnFork                       // VM_WIPEONFORK: the child gets it empty
	VMDontDump                         // VM_DONTDUMP: MADV_DONTDUMP
	VMHugePage                         // VM_HUGEPAGE: MADV_HUGEPAGE
	VMNoHugePage                       // VM_NOHUGEPAGE: MADV_NOHUGEPAGE
)

// NoLockLimit is a LockOpts.Limit that is not checked (CAP_IPC_LOCK).
const NoLockLimit = ^uint64(0)

// LockOpts are the options of Lock and LockAll.
type LockOpts struct {
	// OnFault locks pages as they are faulted in instead of populating
	// the range (MLOCK_ONFAULT, MCL_ONFAULT).
	OnFault bool
	// Limit is RLIMIT_MEMLOCK in bytes: what the address space may have
	// locked in all, or NoLockLimit.
	Limit uint64
}

// pageAlignLen returns mlock's and munlock's page-aligned start and
// length for start and length: PAGE_ALIGN(len + offset_in_page(start)),
// which wraps around as the kernel's unsigned arithmetic does.
func pageAlignLen(start Addr, length uint64) (Addr, uint64) {
	l := (length + start.PageOffset() + PageSize - 1) &^ (PageSize - 1)
	return start.RoundDown(), l
}

// Lock locks [addr, addr+length) as mlock2 does: the range is widened to
// whole pages; more than o.Limit bytes locked in all is ENOMEM; the
// mappings are marked locked up to the first hole (ENOMEM: an unmapped
// start or a hole); then, unless o.OnFault, their pages are faulted in,
// and a page that cannot be (PROT_NONE) makes it ENOMEM after all.
func (m *MM) Lock(addr Addr, length uint64, o LockOpts) error {
	start, l := pageAlignLen(addr, length)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pt == nil {
		return linux.ENOMEM
	}
	if o.Limit != NoLockLimit {
		locked := l>>PageShift + m.lockedPagesLocked(AddrRange{0, ^Addr(0)})
		limit := o.Limit >> PageShift
		if locked > limit {
			if end, ok := start.AddLength(l); ok {
				locked -= m.lockedPagesLocked(AddrRange{start, end})
			}
		}
		if locked > limit {
			return linux.ENOMEM
		}
	}
	flags := VMLocked
	if o.OnFault {
		flags |= VMLockOnFault
	}
	if err := m.applyLockLocked(start, l, flags); err != nil {
		return err
	}
	if err := m.prefaultLocked(AddrRange{start, start + Addr(l)}, false); err != nil {
		return linux.ENOMEM // __mlock_posix_error_return: EFAULT is ENOMEM
	}
	return nil
}

// Unlock unlocks [addr, addr+length) as munlock does (ENOMEM for an
// unmapped start or a hole, after unlocking what precedes it).
func (m *MM) Unlock(addr Addr, length uint64) error {
	start, l := pageAlignLen(addr, length)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pt == nil {
		return linux.ENOMEM
	}
	return m.applyLockLocked(start, l, 0)
}

// LockAll is mlockall: current locks the mappings there are (ENOMEM if
// they exceed o.Limit; populated unless o.OnFault, ignoring failures),
// future makes every later mapping locked (until UnlockAll). The caller
// has checked the flags.
func (m *MM) LockAll(current, future bool, o LockOpts) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pt == nil {
		return linux.ENOMEM
	}
	if current && o.Limit != NoLockLimit {
		var total uint64
		for _, v := range m.vmas.list {
			total += v.Range.Length() >> PageShift
		}
		if total > o.Limit>>PageShift {
			return linux.ENOMEM
		}
	}
	lock := VMLocked
	if o.OnFault {
		lock |= VMLockOnFault
	}
	m.defFlags &^= VMLocked | VMLockOnFault
	if future {
		m.defFlags |= lock
	}
	if !current {
		return nil
	}
	for _, v := range m.vmas.list {
		v.Flags = v.Flags&^(VMLocked|VMLockOnFault) | lock
	}
	m.vmas.merge()
	m.prefaultLocked(AddrRange{0, m.layout.Limit}, true)
	return nil
}

// UnlockAll is munlockall: no mapping is locked, nor will be.
func (m *MM) UnlockAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.defFlags &^= VMLocked | VMLockOnFault
	for _, v := range m.vmas.list {
		v.Flags &^= VMLocked | VMLockOnFault
	}
	m.vmas.merge()
}

// LockedBytes returns the size of the locked mappings (locked_vm).
func (m *MM) LockedBytes() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.lockedPagesLocked(AddrRange{0, ^Addr(0)}) << PageShift
}

// lockedPagesLocked counts the locked pages in r.
// Preconditions: m.mu held.
func (m *MM) lockedPagesLocked(r AddrRange) uint64 {
	var n uint64
	for i := m.vmas.firstFrom(r.Start); i < len(m.vmas.list) && m.vmas.list[i].Range.Start < r.End; i++ {
		if v := m.vmas.list[i]; v.Flags&VMLocked != 0 {
			n += v.Range.Intersect(r).Length() >> PageShift
		}
	}
	return n
}

// applyLockLocked sets the lock flags of the mappings in [start,
// start+l) to flags, as apply_vma_lock_flags does: EINVAL if the range
// wraps; ENOMEM if start is unmapped or, after the mappings before it
// are changed, at a hole.
// Preconditions: m.mu held for writing.
func (m *MM) applyLockLocked(start Addr, l uint64, flags VMAFlags) error {
	end, ok := start.AddLength(l)
	if !ok {
		return linux.EINVAL
	}
	if end == start {
		return nil
	}
	if m.vmas.find(start) == nil {
		return linux.ENOMEM
	}
	pieces, holes := m.piecesLocked(AddrRange{start, end})
	for _, p := range pieces {
		if p.hole {
			break
		}
		m.setFlagsLocked(p.r, flags, VMLocked|VMLockOnFault)
	}
	m.vmas.merge()
	if holes {
		return linux.ENOMEM
	}
	return nil
}

// piece is the part of one VMA inside a range that an operation walks;
// hole marks where the walk met unmapped addresses before it.
type piece struct {
	r    AddrRange
	hole bool
}

// piecesLocked returns the parts of r that VMAs cover, in order, and
// whether r has unmapped parts. A piece after a hole has hole set.
// Preconditions: m.mu held.
func (m *MM) piecesLocked(r AddrRange) ([]piece, bool) {
	var out []piece
	holes := false
	at := r.Start
	for i := m.vmas.firstFrom(r.Start); i < len(m.vmas.list) && at < r.End; i++ {
		v := m.vmas.list[i]
		if v.Range.Start >= r.End {
			break
		}
		if v.Range.Start > at {
			holes = true
		}
		p := piece{r: v.Range.Intersect(r), hole: holes}
		out = append(out, p)
		at = p.r.End
	}
	if at < r.End {
		holes = true
	}
	return out, holes
}

// setFlagsLocked changes the flags of the mappings in r, splitting them at
// r's bounds (the caller merges).
// Preconditions: m.mu held for writing.
func (m *MM) setFlagsLocked(r AddrRange, set, unset VMAFlags) {
	i, j := m.vmas.span(r)
	for _, v := range m.vmas.list[i:j] {
		v.Flags = v.Flags&^unset | set
	}
}

// prefaultLocked faults in the pages of the mappings in r, as
// __mm_populate does: writable private mappings for writing (each page
// gets its own frame), others for reading; mappings locked on fault are
// skipped. A PROT_NONE page stops it with a fault unless ignoreErrors,
// which goes on with the next mapping.
// Preconditions: m.mu held for writing.
func (m *MM) prefaultLocked(r AddrRange, ignoreErrors bool) error {
	pieces, _ := m.piecesLocked(r)
	for _, p := range pieces {
		v := m.vmas.find(p.r.Start)
		if v == nil || v.Flags&VMLockOnFault != 0 {
			continue
		}
		acc := Read
		if v.Prot&ProtWrite != 0 && !v.Shared {
			acc = Write
		}
		for va := p.r.Start; va < p.r.End; va += PageSize {
			if _, err := m.faultLocked(va, acc, false); err != nil {
				if ignoreErrors {
					break
				}
				return err
			}
		}
	}
	return nil
}

// Advise applies madvise advice to [addr, addr+length) with Linux's
// checks: an unknown advice, an unaligned addr or a length that wraps is
// EINVAL; an empty range succeeds. The advice is applied to every mapping
// in the range in order, and the first mapping that refuses it ends the
// call with its error; unmapped parts make the result ENOMEM after the
// mapped ones are done.
//
//   - MADV_DONTNEED drops the pages: private anonymous memory reads as
//     zeros again, private file memory as the file, shared memory keeps
//     its contents. Locked mappings refuse it (EINVAL) but for
//     MADV_DONTNEED_LOCKED. MADV_FREE is MADV_DONTNEED for private
//     anonymous memory only (EINVAL elsewhere): freeing lazily or now
//     looks the same until the pages are reclaimed.
//   - MADV_REMOVE punches a hole in shared memory: shared anonymous
//     memory reads as zeros in every process that maps it; a shared file
//     mapping is EOPNOTSUPP unless its file can punch holes (HolePuncher);
//     private mappings refuse it (anonymous: EINVAL, file: EACCES).
//   - MADV_DONTFORK/DOFORK, MADV_WIPEONFORK/KEEPONFORK (private anonymous
//     only, else EINVAL), MADV_HUGEPAGE/NOHUGEPAGE and MADV_DONTDUMP/
//     DODUMP set the mapping's flags, which fork and /proc honour.
//   - MADV_POPULATE_READ/WRITE fault the pages in: EINVAL for a mapping
//     without PROT_READ or PROT_WRITE, ENOMEM at the first unmapped page.
//   - MADV_COLD and MADV_PAGEOUT are refused by locked mappings (EINVAL)
//     and otherwise, like the access-pattern hints (NORMAL, RANDOM,
//     SEQUENTIAL, WILLNEED) and KSM's (UN)MERGEABLE, change nothing.
//   - MADV_COLLAPSE (no transparent huge pages here), the guard-page
//     advice of Linux 6.13 and the memory-failure injections
//     (MADV_HWPOISON, MADV_SOFT_OFFLINE) are EINVAL, as on a kernel
//     without them.
func (m *MM) Advise(addr Addr, length uint64, advice int) error {
	if !adviceKnown(advice) || !addr.IsPageAligned() {
		return linux.EINVAL
	}
	l := (length + PageSize - 1) &^ (PageSize - 1)
	if length != 0 && l == 0 {
		return linux.EINVAL // rounded up from a small negative length
	}
	end, ok := addr.AddLength(l)
	if !ok {
		return linux.EINVAL
	}
	if end == addr {
		return nil
	}
	r := AddrRange{addr, end}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pt == nil {
		return linux.ENOMEM
	}
	if advice == linux.MADV_POPULATE_READ || advice == linux.MADV_POPULATE_WRITE {
		return m.populateAdviceLocked(r, advice == linux.MADV_POPULATE_WRITE)
	}
	pieces, holes := m.piecesLocked(r)
	err := m.adviseLocked(pieces, advice)
	m.vmas.merge()
	switch {
	case err != nil:
		return err
	case holes:
		return linux.ENOMEM
	}
	return nil
}

// adviceKnown reports whether madvise knows advice (madvise_behavior_valid).
func adviceKnown(advice int) bool {
	switch advice {
	case linux.MADV_NORMAL, linux.MADV_RANDOM, linux.MADV_SEQUENTIAL, linux.MADV_WILLNEED,
		linux.MADV_DONTNEED, linux.MADV_FREE, linux.MADV_REMOVE, linux.MADV_DONTFORK,
		linux.MADV_DOFORK, linux.MADV_MERGEABLE, linux.MADV_UNMERGEABLE, linux.MADV_HUGEPAGE,
		linux.MADV_NOHUGEPAGE, linux.MADV_DONTDUMP, linux.MADV_DODUMP, linux.MADV_WIPEONFORK,
		linux.MADV_KEEPONFORK, linux.MADV_COLD, linux.MADV_PAGEOUT, linux.MADV_POPULATE_READ,
		linux.MADV_POPULATE_WRITE, linux.MADV_DONTNEED_LOCKED, linux.MADV_COLLAPSE:
		return true
	}
	return false
}

// adviseLocked applies advice to each piece in turn.
// Preconditions: m.mu held for writing.
func (m *MM) adviseLocked(pieces []piece, advice int) error {
	for _, p := range pieces {
		v := m.vmas.find(p.r.Start)
		var set, unset VMAFlags
		switch advice {
		case linux.MADV_DONTNEED, linux.MADV_FREE, linux.MADV_DONTNEED_LOCKED:
			if v.Flags&VMLocked != 0 && advice != linux.MADV_DONTNEED_LOCKED {
				return linux.EINVAL
			}
			if advice == linux.MADV_FREE && (v.File != nil || v.Object != nil) {
				return linux.EINVAL
			}
			m.dirtyLocked(v, p.r, false)
			freed, code := m.zapLocked(p.r, nil)
			m.shootdown(code)
			m.putFrames(freed)
			continue
		case linux.MADV_REMOVE:
			if err := m.removeLocked(v, p.r); err != nil {
				return err
			}
			continue
		case linux.MADV_COLD, linux.MADV_PAGEOUT:
			if v.Flags&VMLocked != 0 {
				return linux.EINVAL
			}
			continue
		case linux.MADV_COLLAPSE:
			return linux.EINVAL
		case linux.MADV_DONTFORK:
			set = VMDontCopy
		case linux.MADV_DOFORK:
			unset = VMDontCopy
		case linux.MADV_WIPEONFORK:
			if v.File != nil || v.Shared {
				return linux.EINVAL
			}
			set = VMWipeOnFork
		case linux.MADV_KEEPONFORK:
			unset = VMWipeOnFork
		case linux.MADV_HUGEPAGE:
			set, unset = VMHugePage, VMNoHugePage
		case linux.MADV_NOHUGEPAGE:
			set, unset = VMNoHugePage, VMHugePage
		case linux.MADV_DONTDUMP:
			set = VMDontDump
		case linux.MADV_DODUMP:
			unset = VMDontDump
		default: // access-pattern hints, WILLNEED, KSM
			continue
		}
		m.setFlagsLocked(p.r, set, unset)
	}
	return nil
}

// HolePuncher is a SharedFile that can deallocate a byte range
// (fallocate's FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE), for MADV_REMOVE.
type HolePuncher interface {
	PunchHole(off, length int64) error
}

// removeLocked is MADV_REMOVE on the part r of v.
// Preconditions: m.mu held for writing.
func (m *MM) removeLocked(v *VMA, r AddrRange) error {
	switch {
	case v.Flags&VMLocked != 0:
		return linux.EINVAL
	case v.Object == nil && v.File == nil:
		return linux.EINVAL
	case v.Object == nil, v.ReadOnlyFile:
		// A private file mapping, or a shared one through a descriptor
		// not open for writing, may not write the file
		// (vma_is_shared_maywrite).
		return linux.EACCES
	}
	o := v.Object
	first, last := v.pageIndex(r.Start), v.pageIndex(r.End-1)
	if o.file != nil {
		o.mu.Lock()
		hp, ok := o.writer.(HolePuncher)
		o.mu.Unlock()
		if !ok {
			hp, ok = o.file.(HolePuncher)
		}
		if !ok {
			return linux.EOPNOTSUPP
		}
		if err := hp.PunchHole(int64(first)<<PageShift, int64(last-first+1)<<PageShift); err != nil {
			return err
		}
	}
	// Every process mapping the object sees the hole: its frames read
	// as zeros from now on.
	o.mu.Lock()
	for pg, f := range o.frames {
		if pg >= first && pg <= last {
			clear(m.ram.Bytes(f))
			delete(o.dirty, pg)
		}
	}
	o.mu.Unlock()
	return nil
}

// populateAdviceLocked is MADV_POPULATE_READ/WRITE on r.
// Preconditions: m.mu held for writing.
func (m *MM) populateAdviceLocked(r AddrRange, write bool) error {
	acc, need := Read, ProtRead
	if write {
		acc, need = Write, ProtWrite
	}
	for va := r.Start; va < r.End; va += PageSize {
		v := m.vmas.find(va)
		if v == nil {
			return linux.ENOMEM
		}
		if v.Prot&need == 0 {
			return linux.EINVAL
		}
		if _, err := m.faultLocked(va, acc, false); err != nil {
			return linux.EFAULT
		}
	}
	return nil
}

// Mincore reports which pages of [addr, addr+pages pages) are resident,
// as mincore(2) does: vec gets one byte per page, 1 for a page that has a
// frame in this address space (the zero frame of untouched memory that was
// read, PROT_NONE pages that keep theirs, pages of shared memory that
// another process touched), 0 otherwise. Pages of private file mappings
// that are not mapped here are reported 0: the host's page cache is not
// asked. It returns how many pages it reported, and ENOMEM if it stopped
// at an unmapped page (the bytes before it are valid).
// Preconditions: addr is page-aligned and len(vec) >= pages.
func (m *MM) Mincore(addr Addr, vec []byte) (int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.pt == nil {
		return 0, linux.ENOMEM
	}
	for i := range vec {
		va := addr + Addr(i)<<PageShift
		if va < addr {
			return i, linux.ENOMEM
		}
		v := m.vmas.find(va)
		if v == nil {
			return i, linux.ENOMEM
		}
		vec[i] = 0
		if slot := m.pt.lookup(va); slot != nil && load(slot).HasFrame() {
			vec[i] = 1
		} else if v.Object != nil && v.Object.has(v.pageIndex(va)) {
			vec[i] = 1
		}
	}
	return len(vec), nil
}

// has reports whether the object has a frame for page index pg.
func (o *SharedObject) has(pg uint64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.frames[pg]
	return ok
}

// MemPolicy is a mapping's NUMA memory policy, as mbind sets it and
// get_mempolicy(MPOL_F_ADDR) reports it. The memory manager only keeps
// it with the mapping (split, merged, copied by fork); the kernel
// interprets it.
type MemPolicy struct {
	Set   bool   // mbind gave the mapping a policy (else the task's applies)
	Mode  uint16 // MPOL_*, with the mode flags
	Nodes uint64 // the node mask reported (nodes 0 to 63)
}

// SetPolicy gives the mappings in [addr, addr+length) policy p, as
// mbind does: the range is whole pages (addr page-aligned, EINVAL
// otherwise or if it wraps); it must be mapped without holes (EFAULT)
// unless p is the default policy, for which only a range with no mapping
// at all is EFAULT.
func (m *MM) SetPolicy(addr Addr, length uint64, p MemPolicy) error {
	if !addr.IsPageAligned() {
		return linux.EINVAL
	}
	l := (length + PageSize - 1) &^ (PageSize - 1)
	end, ok := addr.AddLength(l)
	if !ok {
		return linux.EINVAL
	}
	if end == addr {
		return nil
	}
	r := AddrRange{addr, end}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pt == nil {
		return linux.EFAULT
	}
	pieces, holes := m.piecesLocked(r)
	if len(pieces) == 0 || (holes && p.Set) {
		return linux.EFAULT
	}
	for _, pc := range pieces {
		i, j := m.vmas.span(pc.r)
		for _, v := range m.vmas.list[i:j] {
			v.Policy = p
		}
	}
	m.vmas.merge()
	return nil
}

// PolicyAt returns the policy of the mapping containing addr; ok is false
// if none does.
func (m *MM) PolicyAt(addr Addr) (p MemPolicy, ok bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if v := m.vmas.find(addr); v != nil {
		return v.Policy, true
	}
	return MemPolicy{}, false
}
