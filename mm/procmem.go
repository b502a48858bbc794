package mm

// Access to another process's memory on behalf of the kernel, as
// access_remote_vm does for /proc/PID/mem, cmdline and environ, and the
// page counts that /proc/PID/statm, status and smaps_rollup report.

// Foll are the FOLL_* flags of an AccessRemote.
type Foll uint8

const (
	// FollWrite writes buf into the address space (else it is read).
	FollWrite Foll = 1 << iota
	// FollForce is FOLL_FORCE, as /proc/PID/mem uses it: a read needs
	// only VM_MAYREAD (every mapping has it, PROT_NONE ones included); a
	// write to a mapping without PROT_WRITE is allowed when the mapping
	// is private (a COW mapping): the page gets a private copy, and the
	// file or the sibling that shared the frame keeps the old bytes. A
	// forced write to a read-only MAP_SHARED mapping is refused.
	FollForce
)

// AccessRemote reads len(buf) bytes at addr into buf, or writes buf at
// addr with FollWrite, through the page table as access_remote_vm does
// (check_vma_flags decides each page). Without FollForce a page needs
// PROT_READ to be read and PROT_WRITE to be written, as for
// process_vm_readv and process_vm_writev.
//
// It returns the number of bytes done; fewer than len(buf) means the
// access stopped at the first page that no VMA covers or that the flags
// refuse, and the error is then a *Fault (EFAULT). /proc/PID/mem turns a
// fault on its very first byte into EIO, as mem_rw does.
//
// Untouched private anonymous pages read as zeros without allocating
// anything. A write to a page shared copy-on-write (after fork, or the
// zero frame) breaks the sharing first. Writing a page of an executable
// mapping drops the engines' translated code of it before AccessRemote
// returns. The stack does not grow.
func (m *MM) AccessRemote(addr Addr, buf []byte, foll Foll) (int, error) {
	acc := Read
	if foll&FollWrite != 0 {
		acc = Write
	}
	done := 0
	var code []Frame
	defer func() { m.dropCode(code) }()
	for done < len(buf) {
		at := addr + Addr(done)
		if at < addr { // wrapped around the address space
			return done, &Fault{Addr: at, Access: acc}
		}
		chunk := min(len(buf)-done, int(PageSize-at.PageOffset()))
		f, exec, err := m.accessPage(at, buf[done:done+chunk], foll)
		if err != nil {
			return done, err
		}
		kernelWrote(&code, f, exec && acc == Write)
		done += chunk
	}
	return done, nil
}

// AccessForce is AccessRemote with FollForce: /proc/PID/mem's access.
func (m *MM) AccessForce(addr Addr, buf []byte, write bool) (int, error) {
	foll := FollForce
	if write {
		foll |= FollWrite
	}
	return m.AccessRemote(addr, buf, foll)
}

// follows is check_vma_flags: may an access with foll use a VMA with
// protection prot, shared or not?
func follows(prot Prot, shared bool, foll Foll) bool {
	force := foll&FollForce != 0
	if foll&FollWrite != 0 {
		if prot&ProtWrite != 0 {
			return true
		}
		// FOLL_FORCE writes only where a private copy can be made
		// (is_cow_mapping): never into a shared mapping's frames.
		return force && !shared
	}
	return prot&ProtRead != 0 || force // VM_MAYREAD is always set
}

// accessPage copies between mem and the bytes at va (all in one page).
// It returns the frame and whether the page belongs to an executable
// mapping.
//
// A page that is present with the permission already is copied under the
// read lock; anything else (demand fault, file read, COW break) under the
// write lock. The frame cannot be freed while the lock is held, so the
// bytes move before it is dropped.
func (m *MM) accessPage(va Addr, mem []byte, foll Foll) (f Frame, exec bool, err error) {
	write := foll&FollWrite != 0
	acc := Read
	if write {
		acc = Write
	}
	po := PhysAddr(va.PageOffset())
	move := func(f Frame) {
		b := m.ram.Bytes(f)[po : po+PhysAddr(len(mem))]
		if write {
			copy(b, mem)
		} else {
			copy(mem, b)
		}
	}

	m.mu.RLock()
	if m.pt == nil {
		m.mu.RUnlock()
		return 0, false, &Fault{Addr: va, Access: acc}
	}
	v := m.vmas.find(va)
	if v == nil {
		m.mu.RUnlock()
		return 0, false, &Fault{Addr: va, Access: acc}
	}
	if !follows(v.Prot, v.Shared, foll) {
		m.mu.RUnlock()
		return 0, false, &Fault{Addr: va, Access: acc, Mapped: true}
	}
	exec = v.Prot&ProtExec != 0
	var e PTE
	slot := m.pt.lookup(va)
	if slot != nil {
		e = load(slot)
	}
	switch {
	case pteAllows(e, acc):
		markUsed(slot, acc)
		move(e.Frame())
		m.mu.RUnlock()
		return e.Frame(), exec, nil
	case !write && e&PTEProtNone != 0:
		// A forced read of a PROT_NONE page that keeps its frame.
		move(e.Frame())
		m.mu.RUnlock()
		return e.Frame(), exec, nil
	case !write && !e.HasFrame() && v.File == nil && v.Object == nil && !v.Shared:
		// Nothing mapped in private anonymous memory: zeros, and
		// nothing is allocated for them.
		clear(mem)
		m.mu.RUnlock()
		return 0, exec, nil
	}
	m.mu.RUnlock()

	m.mu.Lock()
	defer m.mu.Unlock()
	f, exec, err = m.followPageLocked(va, foll)
	if err != nil {
		return 0, false, err
	}
	move(f)
	return f, exec, nil
}

// followPageLocked makes va's page usable for an access with foll and
// returns its frame, checking the VMA again (anything may have changed
// since the read lock was dropped).
// Preconditions: m.mu held for writing.
func (m *MM) followPageLocked(va Addr, foll Foll) (Frame, bool, error) {
	write := foll&FollWrite != 0
	acc := Read
	if write {
		acc = Write
	}
	if m.pt == nil {
		return 0, false, &Fault{Addr: va, Access: acc}
	}
	v := m.vmas.find(va)
	if v == nil {
		return 0, false, &Fault{Addr: va, Access: acc}
	}
	if !follows(v.Prot, v.Shared, foll) {
		return 0, false, &Fault{Addr: va, Access: acc, Mapped: true}
	}
	exec := v.Prot&ProtExec != 0
	if write {
		// faultLocked hands out a PROT_NONE page's frame as it is; a
		// forced write must not reach a frame shared copy-on-write.
		slot, err := m.pt.slot(va.RoundDown())
		if err != nil {
			return 0, false, err
		}
		if e := load(slot); e&PTEProtNone != 0 && e&PTECOW != 0 {
			if _, err := m.breakCOWLocked(v, slot, e); err != nil {
				return 0, false, err
			}
			markUsed(slot, Write)
		}
	}
	e, err := m.faultLocked(va, acc, foll&FollForce != 0)
	if err != nil {
		return 0, false, err
	}
	return e.Frame(), exec, nil
}

// File returns the file a shared file object holds the pages of, or nil
// for shared anonymous memory.
func (o *SharedObject) File() SharedFile { return o.file }

// MemStats are the page counts of an address space that /proc/PID/statm,
// status and smaps_rollup report, in bytes. The zero frame (untouched
// private memory that was only read) is not counted, as Linux does not
// count its zero page.
type MemStats struct {
	// Resident is every page that has a frame (VmRSS), PROT_NONE pages
	// that keep theirs included; Anon, File and Shmem split it
	// (RssAnon, RssFile, RssShmem): private pages are anonymous unless
	// they are file pages never written, shared anonymous memory is
	// shmem, shared file pages are file pages.
	Resident, Anon, File, Shmem uint64
	// Shared* and Private* split the resident pages by whether another
	// mapping (another address space) maps the frame too, and by the
	// PTE's Dirty bit.
	SharedClean, SharedDirty, PrivateClean, PrivateDirty uint64
	// Referenced is the resident pages with the Accessed bit.
	Referenced uint64
	// Pss is the proportional set size: each page divided by the number
	// of mappings of its frame; PssDirty, PssAnon, PssFile and PssShmem
	// are its parts.
	Pss, PssDirty, PssAnon, PssFile, PssShmem uint64
	// PageTables is the memory of the page table itself (VmPTE).
	PageTables uint64
}

// Stats counts the address space's pages.
func (m *MM) Stats() MemStats {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var s MemStats
	if m.pt == nil {
		return s
	}
	const pssShift = 12 // Linux's PSS_SHIFT: fixed point for the shares
	var pss, pssDirty, pssAnon, pssFile, pssShmem uint64
	for _, v := range m.vmas.list {
		m.pt.forEachLeaf(v.Range.Start, v.Range.End, func(_ Addr, slot *uint64) {
			e := load(slot)
			f := e.Frame()
			if f == m.ram.ZeroFrame {
				return
			}
			maps := m.ram.Refs(f)
			if v.Object != nil {
				maps-- // the object's own reference
			}
			maps = max(maps, 1)
			dirty := e&PTEDirty != 0
			share := uint64(PageSize<<pssShift) / uint64(maps)
			s.Resident += PageSize
			pss += share
			if dirty {
				pssDirty += share
			}
			switch {
			case v.Object != nil && v.Object.file == nil:
				s.Shmem += PageSize
				pssShmem += share
			case v.Object != nil, v.File != nil && !dirty:
				s.File += PageSize
				pssFile += share
			default:
				s.Anon += PageSize
				pssAnon += share
			}
			switch {
			case maps > 1 && dirty:
				s.SharedDirty += PageSize
			case maps > 1:
				s.SharedClean += PageSize
			case dirty:
				s.PrivateDirty += PageSize
			default:
				s.PrivateClean += PageSize
			}
			if e&PTEAccessed != 0 {
				s.Referenced += PageSize
			}
		})
	}
	s.Pss, s.PssDirty = pss>>pssShift, pssDirty>>pssShift
	s.PssAnon, s.PssFile, s.PssShmem = pssAnon>>pssShift, pssFile>>pssShift, pssShmem>>pssShift
	s.PageTables = m.pt.tables(m.pt.root, 0) * PageSize
	return s
}

// tables counts the table frames of the subtree at table (level l).
func (pt *PageTable) tables(table Frame, l int) uint64 {
	n := uint64(1)
	if l == Levels-1 {
		return n
	}
	for idx := 0; idx < 512; idx++ {
		if e := load(pt.entry(table, idx)); e.Present() {
			n += pt.tables(e.Frame(), l+1)
		}
	}
	return n
}
