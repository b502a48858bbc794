package mm

// Fork returns a copy of the address space as fork(2) makes it: the same
// VMAs but those marked MADV_DONTFORK, without their memory locks;
// private pages shared copy-on-write (both sides lose write access until
// their first write), except in MADV_WIPEONFORK mappings, which the child
// gets empty; shared pages shared. A private page the kernel has pinned
// (RAM.Pin) is copied for the child instead, and stays writable in the
// parent. mlockall(MCL_FUTURE) is not inherited.
func (m *MM) Fork() (*MM, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	child, err := New(m.ram, m.layout)
	if err != nil {
		return nil, err
	}
	child.brkStart, child.brk, child.dataSegment = m.brkStart, m.brk, m.dataSegment
	child.defFlags = m.defFlags & VMNoHugePage
	var ferr error
	for _, v := range m.vmas.list {
		if v.Flags&VMDontCopy != 0 {
			continue
		}
		cv := v.clone(v.Range)
		cv.Flags &^= VMLocked | VMLockOnFault
		child.vmas.list = append(child.vmas.list, cv)
		if v.Flags&VMWipeOnFork != 0 {
			continue
		}
		m.pt.forEachLeaf(v.Range.Start, v.Range.End, func(va Addr, slot *uint64) {
			if ferr != nil {
				return
			}
			e := load(slot)
			cslot, err := child.pt.slot(va)
			if err != nil {
				ferr = err
				return
			}
			if !v.Shared && e&PTEWrite != 0 && m.ram.Pinned(e.Frame()) {
				// The kernel may still write this page (a read blocked
				// in another thread): the parent keeps it, the child
				// gets a copy.
				ce, err := m.copyForChild(e)
				if err != nil {
					ferr = err
					return
				}
				store(cslot, ce)
				return
			}
			if !v.Shared {
				e = (e | PTECOW) &^ PTEWrite
				store(slot, e)
			}
			m.ram.IncRef(e.Frame())
			store(cslot, e)
		})
	}
	child.vmas.merge()
	m.shootdown(nil)
	if ferr != nil {
		child.Release()
		return nil, ferr
	}
	return child, nil
}

// copyForChild returns the child's entry for a copy of the frame of the
// parent's entry e, with the same permissions.
func (m *MM) copyForChild(e PTE) (PTE, error) {
	f, err := m.ram.Alloc()
	if err != nil {
		return 0, err
	}
	copy(m.ram.Bytes(f), m.ram.Bytes(e.Frame()))
	return e&^pteAddrMask | PTE(f.Addr()), nil
}
