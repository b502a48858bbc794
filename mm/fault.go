package mm

import (
	"errors"
	"io"
	"sync/atomic"

	"github.com/cmaemu/cmaemu/linux"
)

// vmaAllows reports whether a VMA with protection p admits the access, as
// an x86 CPU without protection keys enforces it: every present page is
// readable.
func vmaAllows(p Prot, acc Access) bool {
	switch acc {
	case Write:
		return p&ProtWrite != 0
	case Exec:
		return p&ProtExec != 0
	default:
		return p != ProtNone
	}
}

// pteAllows reports whether a leaf entry already grants the access.
func pteAllows(e PTE, acc Access) bool {
	if !e.Present() {
		return false
	}
	switch acc {
	case Write:
		return e&PTEWrite != 0
	case Exec:
		return e&PTENoExec == 0
	}
	return true
}

// markUsed sets the Accessed bit, and Dirty for writes, as the CPU does.
func markUsed(slot *uint64, acc Access) {
	bits := uint64(PTEAccessed)
	if acc == Write {
		bits |= uint64(PTEDirty)
	}
	if PTE(atomic.LoadUint64(slot))&PTE(bits) != PTE(bits) {
		atomic.OrUint64(slot, bits)
	}
}

// Translate resolves va for an access by the guest, as a TLB fill does:
// it returns the physical address of va and the permissions the page may
// be cached with. A not-present page inside a VMA that admits the access
// is faulted in (demand zero, file read, shared object, COW break).
// A failure is a *Fault: an address at or above TaskSize (non-canonical
// ones included, which the table's indices would alias to user
// addresses) never translates.
//
// A write to a frame an engine translated code from (RAM.codeMarks)
// first drops that code in every engine of the address space, and of
// every address space if the frame belongs to a SharedObject: another
// thread's or process's store over code this one runs takes effect as
// on a CPU.
func (m *MM) Translate(va Addr, acc Access) (PhysAddr, Prot, error) {
	pa, prot, err := m.translate(va, acc, false)
	if err == nil && acc == Write {
		for f := pa.Frame(); m.ram.takeCodeMark(f); {
			m.shootdownFrames([]Frame{f})
		}
	}
	return pa, prot, err
}

// CodeMarked is told by an engine that it set the code mark of frame f,
// mapped writable or belonging to a SharedObject, before translating
// code from it: every engine of the address space (of every address
// space, for a SharedObject's frame, which they may map writable)
// flushes its TLB, so that no entry lets a write to the frame bypass
// Translate while the mark is set.
func (m *MM) CodeMarked(f Frame) {
	m.shootdown(nil)
	if m.ram.sharedFrame(f) {
		m.ram.shootdownShared(m, nil)
	}
}

// shootdownFrames is shootdown(code) that also reaches the other
// address spaces when a frame of code belongs to a SharedObject.
func (m *MM) shootdownFrames(code []Frame) {
	m.shootdown(code)
	if m.ram.anyShared(code) {
		m.ram.shootdownShared(m, code)
	}
}

// pin is Translate that also pins the frame (RAM.Pin), under the
// address-space lock, so that the frame cannot be freed and reused while
// the caller uses it after the lock is dropped. The caller drops the pin
// with m.ram.Unpin(pa.Frame()). exec reports whether the page is
// executable or an engine translated code from it (in this or, for a
// SharedObject's frame, another address space): a write to it must
// drop translated code (kernelWrote).
func (m *MM) pin(va Addr, acc Access) (pa PhysAddr, exec bool, err error) {
	pa, prot, err := m.translate(va, acc, true)
	return pa, prot&ProtExec != 0 || m.ram.codeMarked(pa.Frame()), err
}

// kernelWrote records that the kernel wrote frame f, mapped executable
// when exec is set, into code: the engines' translated code of those
// frames is dropped by dropCode, once the writes are done.
func kernelWrote(code *[]Frame, f Frame, exec bool) {
	if exec && (len(*code) == 0 || (*code)[len(*code)-1] != f) {
		*code = append(*code, f)
	}
}

// dropCode drops the translated code of the frames in code, which the
// kernel wrote: code read() or process_vm_writev put in an executable
// page runs as written, not as it was translated before.
func (m *MM) dropCode(code []Frame) {
	if len(code) > 0 {
		m.shootdownFrames(code)
	}
}

func (m *MM) translate(va Addr, acc Access, pin bool) (PhysAddr, Prot, error) {
	if va >= TaskSize {
		return 0, ProtNone, &Fault{Addr: va, Access: acc}
	}
	m.mu.RLock()
	if m.pt != nil {
		if slot := m.pt.lookup(va); slot != nil {
			e := load(slot)
			if f, ok := m.ram.EntryFrame(e); ok && pteAllows(e, acc) {
				markUsed(slot, acc)
				if pin {
					m.ram.Pin(f)
				}
				m.mu.RUnlock()
				return f.Addr() + PhysAddr(va.PageOffset()), e.Prot(), nil
			}
		}
	}
	m.mu.RUnlock()

	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.faultLocked(va, acc, false)
	if err != nil {
		return 0, ProtNone, err
	}
	f := e.Frame() // checked by faultLocked
	if pin {
		m.ram.Pin(f)
	}
	return f.Addr() + PhysAddr(va.PageOffset()), e.Prot(), nil
}

// faultLocked makes va's page satisfy acc and returns its leaf entry. With
// force, the VMA's protection is ignored (the kernel writing on the
// guest's behalf while loading or through /proc/pid/mem): the page gets a
// private frame but keeps its permissions. The entry's frame is always
// inside the RAM pool: an entry on the way that points outside it is a
// fault.
// Preconditions: m.mu held for writing.
func (m *MM) faultLocked(va Addr, acc Access, force bool) (PTE, error) {
	if m.pt == nil || va >= TaskSize {
		return 0, &Fault{Addr: va, Access: acc}
	}
	v := m.vmas.find(va)
	if v == nil {
		return 0, &Fault{Addr: va, Access: acc}
	}
	if !force && !vmaAllows(v.Prot, acc) {
		return 0, &Fault{Addr: va, Access: acc, Mapped: true}
	}
	slot, err := m.pt.slot(va.RoundDown())
	if err == errBadTable {
		return 0, &Fault{Addr: va, Access: acc, Mapped: true}
	}
	if err != nil {
		return 0, err
	}
	e := load(slot)
	if _, ok := m.ram.EntryFrame(e); !ok && e.HasFrame() {
		return 0, &Fault{Addr: va, Access: acc, Mapped: true}
	}
	switch {
	case e&PTEProtNone != 0:
		// Only a forced access reaches a PROT_NONE page: use its frame
		// without making it accessible.
		return e, nil
	case !e.Present():
		if e, err = m.populateLocked(v, va, acc == Write); err != nil {
			return 0, err
		}
		store(slot, e)
	case acc == Write && e&PTECOW != 0:
		if e, err = m.breakCOWLocked(v, slot, e); err != nil {
			return 0, err
		}
	case acc == Write && e&PTEWrite == 0 && vmaAllows(v.Prot, Write):
		e |= PTEWrite
		store(slot, e)
	}
	markUsed(slot, acc)
	return load(slot), nil
}

// populateLocked returns a new leaf entry for the not-present page of va.
func (m *MM) populateLocked(v *VMA, va Addr, write bool) (PTE, error) {
	switch {
	case v.Object != nil:
		f, err := v.Object.frame(m.ram, v.pageIndex(va))
		if err != nil {
			return 0, err
		}
		if v.fileObject() && !write {
			return fileLeaf(f, v.Prot, 0), nil // writable once dirty
		}
		return leafPTE(f, v.Prot, false), nil
	case v.File == nil && !write:
		// Untouched private anonymous memory reads as zeros: share the
		// zero frame until the first write.
		m.ram.IncRef(m.ram.ZeroFrame)
		return leafPTE(m.ram.ZeroFrame, v.Prot, true), nil
	}
	f, err := m.ram.Alloc()
	if err != nil {
		return 0, err
	}
	if v.File != nil {
		off := int64(v.pageIndex(va)) << PageShift
		if _, err := v.File.ReadAt(m.ram.Bytes(f), off); err != nil && !isEOF(err) {
			m.ram.DecRef(f)
			return 0, linux.EIO
		}
	}
	return leafPTE(f, v.Prot, false), nil
}

// breakCOWLocked gives the page at slot a frame of its own and returns the
// new entry. Other engines of this address space may cache the shared
// frame, so they are shot down.
func (m *MM) breakCOWLocked(v *VMA, slot *uint64, e PTE) (PTE, error) {
	old := e.Frame()
	keep := e & (PTEAccessed | PTEDirty)
	if old != m.ram.ZeroFrame && m.ram.Refs(old) == 1 {
		ne := leafPTE(old, v.Prot, false) | keep
		store(slot, ne)
		return ne, nil
	}
	f, err := m.ram.Alloc()
	if err != nil {
		return 0, err
	}
	if old != m.ram.ZeroFrame {
		copy(m.ram.Bytes(f), m.ram.Bytes(old))
	}
	ne := leafPTE(f, v.Prot, false) | keep
	store(slot, ne)
	var code []Frame
	if m.codeFrame(old, v.Prot&ProtExec != 0) {
		code = []Frame{old}
	}
	m.shootdown(code)
	m.ram.DecRef(old)
	return ne, nil
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
