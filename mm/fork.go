package mm

// Fork returns a copy of the address space as fork(2) makes it: the same
// VMAs but those marked MADV_DONTFORK, without their memory locks;
// private pages shared copy-on-write (both sides lose write access until
// their first write), except in MADV_WIPEONFORK mappings, which the child
// gets empty; shared pages shared. mlockall(MCL_FUTURE) is not inherited.
func (m *MM) Fork() (*MM, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	child, err := New(m.ram, m.layout)
	if err != nil {
		return nil, err
	}
	child.brkStart, child.brk = m.brkStart, m.brk
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
			if !v.Shared {
				e = (e | PTECOW) &^ PTEWrite
				store(slot, e)
			}
			cslot, err := child.pt.slot(va)
			if err != nil {
				ferr = err
				return
			}
			m.ram.IncRef(e.Frame())
			store(cslot, e)
		})
	}
	child.vmas.merge()
	m.shootdown(AddrRange{})
	if ferr != nil {
		child.Release()
		return nil, ferr
	}
	return child, nil
}
