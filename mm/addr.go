package mm

// PageSize is the size of a page and of a frame.
const PageSize = 4096

// PageShift is log2(PageSize).
const PageShift = 12

// TaskSize is the end of the x86-64 user address space (TASK_SIZE_MAX with
// 4-level paging): no user mapping reaches it.
const TaskSize Addr = 0x7ffffffff000

// Addr is a guest virtual address. Guests may be 32- or 64-bit, so it is
// always 64 bits wide and never a host uintptr.
type Addr uint64

// RoundDown returns a rounded down to a page boundary.
func (a Addr) RoundDown() Addr { return a &^ (PageSize - 1) }

// RoundUp returns a rounded up to a page boundary; ok is false on overflow.
func (a Addr) RoundUp() (Addr, bool) {
	r := (a + PageSize - 1) &^ (PageSize - 1)
	return r, r >= a
}

// AddLength returns a+n; ok is false if the sum overflows 64 bits.
func (a Addr) AddLength(n uint64) (Addr, bool) {
	e := a + Addr(n)
	return e, e >= a
}

// PageOffset returns the offset of a within its page.
func (a Addr) PageOffset() uint64 { return uint64(a) & (PageSize - 1) }

// IsPageAligned reports whether a is at a page boundary.
func (a Addr) IsPageAligned() bool { return a.PageOffset() == 0 }

// AddrRange is the half-open range [Start, End).
type AddrRange struct {
	Start, End Addr
}

// Length returns End-Start.
func (r AddrRange) Length() uint64 { return uint64(r.End - r.Start) }

// WellFormed reports whether Start <= End.
func (r AddrRange) WellFormed() bool { return r.Start <= r.End }

// Contains reports whether a is in r.
func (r AddrRange) Contains(a Addr) bool { return r.Start <= a && a < r.End }

// Overlaps reports whether r and o share an address.
func (r AddrRange) Overlaps(o AddrRange) bool { return r.Start < o.End && o.Start < r.End }

// Intersect returns the common part of r and o (empty if none).
func (r AddrRange) Intersect(o AddrRange) AddrRange {
	s, e := max(r.Start, o.Start), min(r.End, o.End)
	if e < s {
		e = s
	}
	return AddrRange{s, e}
}

// Prot is a set of mapping permissions, with the values of PROT_*.
type Prot uint8

const (
	ProtNone  Prot = 0
	ProtRead  Prot = 1
	ProtWrite Prot = 2
	ProtExec  Prot = 4
)

// String returns the permissions as /proc/pid/maps shows them, e.g. "r-x".
func (p Prot) String() string {
	b := []byte("---")
	if p&ProtRead != 0 {
		b[0] = 'r'
	}
	if p&ProtWrite != 0 {
		b[1] = 'w'
	}
	if p&ProtExec != 0 {
		b[2] = 'x'
	}
	return string(b)
}

// Access is the kind of memory access that is checked or faulted.
type Access uint8

const (
	Read Access = iota
	Write
	Exec
)

func (a Access) String() string {
	switch a {
	case Read:
		return "read"
	case Write:
		return "write"
	case Exec:
		return "exec"
	}
	return "access?"
}
