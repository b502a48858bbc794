package mm

import (
	"fmt"
	"sync/atomic"

	"github.com/cmaemu/cmaemu/linux"
)

// PTE is an x86-64 page-table entry, at any of the four levels.
type PTE uint64

// Hardware bits of a PTE, and the software bit cmaemu uses for COW.
const (
	PTEPresent  PTE = 1 << 0
	PTEWrite    PTE = 1 << 1
	PTEUser     PTE = 1 << 2
	PTEAccessed PTE = 1 << 5
	PTEDirty    PTE = 1 << 6
	PTECOW      PTE = 1 << 9 // software: private page shared copy-on-write
	// PTEProtNone marks a PROT_NONE page that keeps its frame: not present
	// to the CPU (any access faults), restored by mprotect.
	PTEProtNone PTE = 1 << 10
	PTENoExec   PTE = 1 << 63

	pteAddrMask PTE = 0x000f_ffff_ffff_f000
)

// Frame returns the frame the entry points at.
func (e PTE) Frame() Frame { return Frame(uint64(e&pteAddrMask) >> PageShift) }

// Present reports whether the P bit is set.
func (e PTE) Present() bool { return e&PTEPresent != 0 }

// HasFrame reports whether the entry holds a frame: present, or a
// PROT_NONE page.
func (e PTE) HasFrame() bool { return e&(PTEPresent|PTEProtNone) != 0 }

// Prot returns the access a present leaf entry grants (x86: always readable).
func (e PTE) Prot() Prot {
	if !e.Present() {
		return ProtNone
	}
	p := ProtRead
	if e&PTEWrite != 0 {
		p |= ProtWrite
	}
	if e&PTENoExec == 0 {
		p |= ProtExec
	}
	return p
}

func (e PTE) String() string {
	return fmt.Sprintf("%#016x", uint64(e))
}

// leafPTE builds a present user leaf entry for frame f with permissions prot.
// cow marks a private page shared with another owner (or the zero frame):
// it is mapped read-only until the first write breaks the sharing.
func leafPTE(f Frame, prot Prot, cow bool) PTE {
	if prot == ProtNone {
		e := PTE(f.Addr()) | PTEProtNone | PTENoExec
		if cow {
			e |= PTECOW
		}
		return e
	}
	e := PTE(f.Addr()) | PTEPresent | PTEUser
	if prot&ProtWrite != 0 && !cow {
		e |= PTEWrite
	}
	if cow {
		e |= PTECOW
	}
	if prot&ProtExec == 0 {
		e |= PTENoExec
	}
	return e
}

// tableEntry is the entry of a non-leaf level: permissions live in leaves.
func tableEntry(f Frame) PTE { return PTE(f.Addr()) | PTEPresent | PTEWrite | PTEUser }

// Levels of the 4-level x86-64 page table, root first.
const Levels = 4

// levelIndex returns the 9-bit table index of va at level l (0 = PML4).
func levelIndex(va Addr, l int) int { return int(uint64(va)>>(39-9*l)) & 511 }

// LevelNames names the levels, root first.
var LevelNames = [Levels]string{"PML4", "PDPT", "PD", "PT"}

// PageTable is an x86-64 4-level page table stored in RAM frames. Its root
// is what CR3 would hold.
//
// Entries are read and written with atomic operations so that lock-free
// readers (the TLB-fill path) see whole entries; structural changes are
// serialised by the owning MM's lock.
type PageTable struct {
	ram  *RAM
	root Frame
}

func newPageTable(ram *RAM) (*PageTable, error) {
	root, err := ram.Alloc()
	if err != nil {
		return nil, err
	}
	return &PageTable{ram: ram, root: root}, nil
}

// Root returns the physical address of the PML4 (the CR3 value).
func (pt *PageTable) Root() PhysAddr { return pt.root.Addr() }

func (pt *PageTable) entry(table Frame, idx int) *uint64 {
	return pt.ram.word(table.Addr() + PhysAddr(idx*8))
}

// load reads an entry atomically.
func load(p *uint64) PTE { return PTE(atomic.LoadUint64(p)) }

// store writes an entry atomically.
func store(p *uint64, e PTE) { atomic.StoreUint64(p, uint64(e)) }

// Walk describes the translation of one virtual address, level by level,
// as a hardware walker would see it.
type Walk struct {
	VA    Addr
	Index [Levels]int      // table index at each level
	Table [Levels]PhysAddr // physical address of each level's table
	Entry [Levels]PTE      // entry read at each level
	Depth int              // levels read: 4 when a leaf was reached
	Leaf  PTE              // the leaf entry (zero if not reached or not present)
	PA    PhysAddr         // translated address (valid if Leaf is present)
	slot  *uint64
}

// Walk translates va without changing anything. An entry that points
// outside the RAM pool ends the walk as a not-present one would (Entry
// shows it, Leaf stays zero). So does an address at or above TaskSize:
// the table's indices would alias it to a user address.
func (pt *PageTable) Walk(va Addr) Walk {
	w := Walk{VA: va}
	if va >= TaskSize {
		return w
	}
	table := pt.root
	for l := 0; l < Levels; l++ {
		idx := levelIndex(va, l)
		p := pt.entry(table, idx)
		e := load(p)
		w.Index[l], w.Table[l], w.Entry[l], w.Depth = idx, table.Addr(), e, l+1
		if !e.Present() {
			return w
		}
		f, ok := pt.ram.EntryFrame(e)
		if !ok {
			return w
		}
		if l == Levels-1 {
			w.Leaf, w.slot = e, p
			w.PA = f.Addr() + PhysAddr(va.PageOffset())
			return w
		}
		table = f
	}
	return w
}

// errBadTable is an upper-level entry that points outside the RAM pool.
var errBadTable = linux.EFAULT

// lookup returns the leaf slot of va, or nil if an upper level is missing
// or points outside the RAM pool, or va is at or above TaskSize. The
// caller checks the leaf's own frame.
func (pt *PageTable) lookup(va Addr) *uint64 {
	if va >= TaskSize {
		return nil
	}
	table := pt.root
	for l := 0; l < Levels-1; l++ {
		e := load(pt.entry(table, levelIndex(va, l)))
		if !e.Present() {
			return nil
		}
		f, ok := pt.ram.EntryFrame(e)
		if !ok {
			return nil
		}
		table = f
	}
	return pt.entry(table, levelIndex(va, Levels-1))
}

// slot returns the leaf slot of va, allocating intermediate tables. An
// upper-level entry that points outside the RAM pool is errBadTable (it
// is left as it is).
// Preconditions: the owning MM's lock is held for writing; va < TaskSize.
func (pt *PageTable) slot(va Addr) (*uint64, error) {
	if va >= TaskSize {
		return nil, errBadTable
	}
	table := pt.root
	for l := 0; l < Levels-1; l++ {
		p := pt.entry(table, levelIndex(va, l))
		e := load(p)
		if !e.Present() {
			f, err := pt.ram.Alloc()
			if err != nil {
				return nil, err
			}
			e = tableEntry(f)
			store(p, e)
		}
		f, ok := pt.ram.EntryFrame(e)
		if !ok {
			return nil, errBadTable
		}
		table = f
	}
	return pt.entry(table, levelIndex(va, Levels-1)), nil
}

// forEachLeaf calls fn for every leaf slot that holds a frame (present or
// PROT_NONE) in [start, end), in address order, skipping absent subtrees
// and entries that point outside the RAM pool.
func (pt *PageTable) forEachLeaf(start, end Addr, fn func(va Addr, slot *uint64)) {
	pt.visit(pt.root, 0, 0, start, end, fn)
}

func (pt *PageTable) visit(table Frame, l int, base, start, end Addr, fn func(Addr, *uint64)) {
	span := Addr(1) << (39 - 9*l) // bytes covered by one entry at level l
	for idx := 0; idx < 512; idx++ {
		lo := base + Addr(idx)*span
		hi := lo + span
		if hi <= start || lo >= end {
			continue
		}
		p := pt.entry(table, idx)
		e := load(p)
		if l == Levels-1 {
			if _, ok := pt.ram.EntryFrame(e); ok && e.HasFrame() {
				fn(lo, p)
			}
			continue
		}
		if !e.Present() {
			continue
		}
		if f, ok := pt.ram.EntryFrame(e); ok {
			pt.visit(f, l+1, lo, start, end, fn)
		}
	}
}

// release frees every table frame (not the leaves' frames: the caller drops
// those first).
func (pt *PageTable) release() {
	pt.releaseTable(pt.root, 0)
	pt.root = 0
}

func (pt *PageTable) releaseTable(table Frame, l int) {
	if l < Levels-1 {
		for idx := 0; idx < 512; idx++ {
			e := load(pt.entry(table, idx))
			if f, ok := pt.ram.EntryFrame(e); ok && e.Present() {
				pt.releaseTable(f, l+1)
			}
		}
	}
	pt.ram.DecRef(table)
}
