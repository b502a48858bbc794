package mm

// Fork returns a copy of the address space as fork(2) makes it: the same
// VMAs; private pages shared copy-on-write (both sides lose write access
// until their first write); shared pages shared.
func (m *MM) Fork() (*MM, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	child, err := New(m.ram, m.layout)
	if err != nil {
		return nil, err
	}
	child.brkStart, child.brk = m.brkStart, m.brk
	var ferr error
	for _, v := range m.vmas.list {
		child.vmas.list = append(child.vmas.list, v.clone(v.Range))
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
	m.shootdown(AddrRange{})
	if ferr != nil {
		child.Release()
		return nil, ferr
	}
	return child, nil
}
