// Package mm is cmaemu's memory manager: guest-physical RAM, real x86-64
// page tables, VMAs, demand and copy-on-write faults, and the copies the
// kernel makes to and from guest memory (CopyIn, CopyOut and the Cross
// Memory Attach core). It is pure Go and knows nothing of the CPU engine:
// engines register a TLB to be told when translations change.
//
// Lock order: MM.mu, then MM.tlbMu, then SharedObject.mu, then RAM.mu
// (RAM.spacesMu is held alone; shootdowns of other address spaces are made
// with no lock held but, for kernel writes, the writer's MM.mu).
package mm

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/cmaemu/cmaemu/linux"
)

// TLB is a CPU's cache of translations of one address space. The MM calls
// it after a translation lost permission or changed frame, and frees the
// old frames only after WaitTLB returned for every TLB of the address
// space (like Linux's TLB gather).
type TLB interface {
	// FlushTLB asks the CPU to drop every translation before it uses
	// one again and returns a ticket for WaitTLB. It does not block.
	FlushTLB() uint64
	// WaitTLB returns once the flush with the ticket is done: the CPU
	// has flushed, or it runs no guest code (and flushes before it
	// does).
	WaitTLB(ticket uint64)
	// InvalidateCode drops the code the CPU translated from the frames:
	// they were written, or they left the address space (and may come
	// back later, at the same address, holding something else). The
	// CPU drops it before it runs guest code again.
	InvalidateCode(frames []Frame)
}

// Layout is where an address space places things.
type Layout struct {
	// Limit is the end of the user address space (TaskSize for 64-bit
	// processes, 4 GiB for i386 ones).
	Limit Addr
	// MmapBase is the top of the area mmap places mappings in, top-down.
	MmapBase Addr
}

// Layout64 is the layout of an x86-64 process without address randomisation.
var Layout64 = Layout{Limit: TaskSize, MmapBase: 0x7ffff7fff000}

// Layout32 is the layout of an i386 process on an x86-64 kernel.
var Layout32 = Layout{Limit: 0xffffe000, MmapBase: 0xf7fff000}

// MM is one address space: its VMAs, its page table and its brk.
//
// mu protects vmas, the page-table structure, brk and defFlags. Leaf PTEs
// are read atomically without mu by Translate's fast path, so every change
// of a present leaf is followed by a TLB flush before frames are freed.
type MM struct {
	ram    *RAM
	layout Layout

	mu       sync.RWMutex
	vmas     vmaSet
	pt       *PageTable
	brkStart Addr
	// dataSegment is end_data - start_data (RLIMIT_DATA).
	dataSegment uint64
	brk         Addr
	// defFlags are the flags every new mapping gets (mm->def_flags:
	// VMLocked after mlockall(MCL_FUTURE)).
	defFlags VMAFlags

	tlbMu sync.Mutex // protects tlbs
	tlbs  []TLB

	users atomic.Int32 // processes using the address space
}

// New returns an empty address space.
func New(ram *RAM, layout Layout) (*MM, error) {
	pt, err := newPageTable(ram)
	if err != nil {
		return nil, err
	}
	m := &MM{ram: ram, layout: layout, pt: pt}
	m.users.Store(1)
	ram.addSpace(m)
	return m, nil
}

// RAM returns the pool the address space's frames come from.
func (m *MM) RAM() *RAM { return m.ram }

// Layout returns the address space's layout.
func (m *MM) Layout() Layout { return m.layout }

// Root returns the physical address of the page table's root (CR3).
func (m *MM) Root() PhysAddr { return m.pt.Root() }

// AddTLB registers an engine's TLB for shootdowns.
func (m *MM) AddTLB(t TLB) {
	m.tlbMu.Lock()
	m.tlbs = append(m.tlbs, t)
	m.tlbMu.Unlock()
}

// RemoveTLB unregisters t.
func (m *MM) RemoveTLB(t TLB) {
	m.tlbMu.Lock()
	defer m.tlbMu.Unlock()
	for i, x := range m.tlbs {
		if x == t {
			m.tlbs = append(m.tlbs[:i], m.tlbs[i+1:]...)
			return
		}
	}
}

// shootdown flushes every registered TLB and, if code is non-empty, drops
// the code translated from those frames. It returns when no CPU of the address space can
// use a translation made before the call: the caller may then free the
// frames it unmapped. The flushes are asked for all at once and waited for
// after, so the CPUs flush in parallel.
func (m *MM) shootdown(code []Frame) {
	m.tlbMu.Lock()
	defer m.tlbMu.Unlock()
	var buf [8]uint64
	tickets := buf[:0]
	for _, t := range m.tlbs {
		if len(code) > 0 {
			t.InvalidateCode(code)
		}
		tickets = append(tickets, t.FlushTLB())
	}
	for i, t := range m.tlbs {
		t.WaitTLB(tickets[i])
	}
}

// VMAs returns a snapshot of the address space's VMAs in address order.
func (m *MM) VMAs() []VMA {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]VMA, len(m.vmas.list))
	for i, v := range m.vmas.list {
		out[i] = *v
	}
	return out
}

// FindVMA returns a copy of the VMA containing va.
func (m *MM) FindVMA(va Addr) (VMA, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if v := m.vmas.find(va); v != nil {
		return *v, true
	}
	return VMA{}, false
}

// Walk returns the page-table walk of va, for traces and tests.
func (m *MM) Walk(va Addr) Walk {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.pt.Walk(va)
}

// Release drops every mapping and the page table; the MM is unusable after.
func (m *MM) Release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pt == nil {
		return
	}
	m.ram.removeSpace(m)
	all := AddrRange{0, ^Addr(0)}
	for _, v := range m.vmas.list {
		m.dirtyLocked(v, all, false)
	}
	freed, code := m.zapLocked(all, nil)
	for _, v := range m.vmas.list {
		v.drop(m.ram)
	}
	m.vmas.list = nil
	m.shootdown(code)
	m.putFrames(freed)
	m.pt.release()
	m.pt = nil
}

// zapLocked clears the leaf PTEs in r and returns their frames, which the
// caller releases with putFrames after the TLB shootdown, and those of
// them engines may hold translated code from (codeFrame; exec lists
// ranges that were executable), for the shootdown to drop: a frame that
// leaves the address space may come back at the same address with
// other contents, and an engine finds its translations by frame.
// Preconditions: m.mu held for writing.
func (m *MM) zapLocked(r AddrRange, exec []AddrRange) (freed, code []Frame) {
	m.pt.forEachLeaf(r.Start, r.End, func(va Addr, slot *uint64) {
		e := load(slot)
		store(slot, 0)
		freed = append(freed, e.Frame())
		if m.codeFrame(e.Frame(), inRanges(exec, va)) {
			code = append(code, e.Frame())
		}
	})
	return freed, code
}

// codeFrame reports whether an engine may hold code translated from f,
// mapped executable when exec is set: engines mark a frame before they
// translate from it (RAM.codeMarks), and the mark stays until a write
// drops the code. The zero frame never changes.
func (m *MM) codeFrame(f Frame, exec bool) bool {
	return f != m.ram.ZeroFrame && (exec || m.ram.codeMarked(f))
}

func inRanges(rs []AddrRange, va Addr) bool {
	for _, r := range rs {
		if r.Contains(va) {
			return true
		}
	}
	return false
}

func (m *MM) putFrames(fs []Frame) {
	for _, f := range fs {
		m.ram.DecRef(f)
	}
}

// Fault describes a guest access that cannot be satisfied: the guest gets
// SIGSEGV with si_addr = Addr (or the kernel copy gets EFAULT).
type Fault struct {
	Addr   Addr
	Access Access
	// Mapped is false when no VMA covers Addr (SEGV_MAPERR), true when
	// the VMA's protection forbids the access (SEGV_ACCERR).
	Mapped bool
}

func (f *Fault) Error() string {
	kind := "unmapped"
	if f.Mapped {
		kind = "protection"
	}
	return "mm: " + f.Access.String() + " fault at " + hex(uint64(f.Addr)) + " (" + kind + ")"
}

// Is makes a Fault match linux.EFAULT.
func (f *Fault) Is(target error) bool { return target == linux.EFAULT }

func hex(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }

// AddUser records one more process using the address space (vfork,
// CLONE_VM): it stays alive until every user has dropped it.
func (m *MM) AddUser() { m.users.Add(1) }

// DropUser drops one user and releases the address space with the last.
// A new MM has one user.
func (m *MM) DropUser() {
	if m.users.Add(-1) == 0 {
		m.Release()
	}
}

// Covered reports whether [addr, addr+length) is mapped without holes.
func (m *MM) Covered(addr Addr, length uint64) bool {
	end, ok := addr.AddLength(length)
	if end, ok = end.RoundUp(); !ok {
		return false
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.vmas.covered(AddrRange{addr, end})
}
