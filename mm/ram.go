package mm

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/cmaemu/cmaemu/linux"
)

// PhysAddr is a guest-physical address: an offset into the RAM pool.
type PhysAddr uint64

// Frame is the number of a 4 KiB physical frame (PhysAddr >> PageShift).
type Frame uint32

// Addr returns the physical address of the frame's first byte.
func (f Frame) Addr() PhysAddr { return PhysAddr(f) << PageShift }

// Frame returns the frame that holds p.
func (p PhysAddr) Frame() Frame { return Frame(p >> PageShift) }

// RAM is the guest-physical memory shared by every address space and every
// CPU engine: one host mapping, made with MAP_NORESERVE so untouched frames
// cost no host memory, that engines map at guest-physical 0.
//
// Frames are reference counted. A frame's bytes are zero whenever it is
// handed out by Alloc: fresh frames come zero from the host, reused ones are
// cleared before reuse, so no guest ever sees another's data.
//
// Frame 0 is never allocated (a zero PhysAddr means "none"); ZeroFrame is a
// permanently allocated, never written frame that read faults on untouched
// private anonymous memory map read-only.
type RAM struct {
	mem  []byte
	refs []atomic.Int32 // per frame
	// pins counts, per frame, the references the kernel holds while it
	// copies to or from the frame without the address-space lock (Pin):
	// fork gives the child a copy of a pinned page instead of sharing it.
	pins []atomic.Int32

	mu   sync.Mutex // protects free, next
	free []Frame    // freed frames, to be cleared on reuse
	next Frame      // frames >= next have never been handed out

	used atomic.Int64 // frames with refs > 0 (ZeroFrame included)

	// codeMarks holds, per frame, a word whose codeMarkBit is set while
	// an engine may hold code it translated from the frame. Engines set
	// it (in C, before they translate from a frame; MM.CodeMarked) and
	// a write that fills a TLB entry takes it off (MM.Translate),
	// dropping that code. sharedFrameBit is set while the frame belongs
	// to a SharedObject, so that other address spaces may map it.
	// Host memory outside the Go heap, which the engines read and write
	// atomically.
	codeMarks []uint32

	// spacesMu protects spaces: every address space of the pool that
	// is not released, for the shootdowns of code in frames that
	// several address spaces may map (sharedFrame). It is never held
	// while another lock is taken.
	spacesMu sync.Mutex
	spaces   map[*MM]struct{}

	// ZeroFrame is a frame of zeros that is never written.
	ZeroFrame Frame
}

// NewRAM reserves size bytes (rounded down to whole frames) of guest-physical
// memory.
func NewRAM(size uint64) (*RAM, error) {
	size &^= PageSize - 1
	if size < 4*PageSize || size>>PageShift > 1<<32-1 {
		return nil, fmt.Errorf("mm: RAM size %#x out of range", size)
	}
	mem, err := syscall.Mmap(-1, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("mm: reserving %d MiB of guest RAM: %w", size>>20, err)
	}
	marks, err := syscall.Mmap(-1, 0, int(size>>PageShift)*4, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_NORESERVE)
	if err != nil {
		syscall.Munmap(mem)
		return nil, fmt.Errorf("mm: reserving the code marks of guest RAM: %w", err)
	}
	r := &RAM{mem: mem, refs: make([]atomic.Int32, size>>PageShift), pins: make([]atomic.Int32, size>>PageShift), next: 1,
		codeMarks: unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(marks))), size>>PageShift)}
	zf, err := r.Alloc()
	if err != nil {
		return nil, err
	}
	r.ZeroFrame = zf
	return r, nil
}

// Close returns the memory to the host. No engine may still map it.
func (r *RAM) Close() error {
	if r.mem == nil {
		return nil
	}
	err := syscall.Munmap(r.mem)
	r.mem = nil
	marks := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(r.codeMarks))), len(r.codeMarks)*4)
	if merr := syscall.Munmap(marks); err == nil {
		err = merr
	}
	r.codeMarks = nil
	return err
}

// CodeMarks returns the host address of the code marks (one 32-bit
// word per frame, see RAM.codeMarks), for the engines.
func (r *RAM) CodeMarks() unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(r.codeMarks)) }

// The bits of a code-mark word (RAM.codeMarks); emu/unicorn/shim.c
// uses the same values.
const (
	codeMarkBit    = 1 // an engine may hold code translated from the frame
	sharedFrameBit = 2 // the frame belongs to a SharedObject
)

// codeMarked reports whether f's code mark is set.
func (r *RAM) codeMarked(f Frame) bool {
	return int(f) < len(r.codeMarks) && atomic.LoadUint32(&r.codeMarks[f])&codeMarkBit != 0
}

// takeCodeMark clears f's code mark and reports whether it was set.
func (r *RAM) takeCodeMark(f Frame) bool {
	if int(f) >= len(r.codeMarks) {
		return false
	}
	return atomic.AndUint32(&r.codeMarks[f], ^uint32(codeMarkBit))&codeMarkBit != 0
}

// markShared records that f belongs to a SharedObject: address spaces
// other than the one that runs or writes code in it may map it.
func (r *RAM) markShared(f Frame) {
	if int(f) < len(r.codeMarks) {
		atomic.OrUint32(&r.codeMarks[f], sharedFrameBit)
	}
}

// sharedFrame reports whether f belongs to a SharedObject (markShared).
func (r *RAM) sharedFrame(f Frame) bool {
	return int(f) < len(r.codeMarks) && atomic.LoadUint32(&r.codeMarks[f])&sharedFrameBit != 0
}

// addSpace and removeSpace keep the set of address spaces that
// shootdownShared reaches.
func (r *RAM) addSpace(m *MM) {
	r.spacesMu.Lock()
	if r.spaces == nil {
		r.spaces = map[*MM]struct{}{}
	}
	r.spaces[m] = struct{}{}
	r.spacesMu.Unlock()
}

func (r *RAM) removeSpace(m *MM) {
	r.spacesMu.Lock()
	delete(r.spaces, m)
	r.spacesMu.Unlock()
}

// shootdownShared makes every address space but except flush its TLBs
// and drop the code translated from the frames in code (none: flush
// only), one address space after the other: frames of a SharedObject
// (sharedFrame) may be mapped by any of them. The caller holds no lock
// of the memory manager.
func (r *RAM) shootdownShared(except *MM, code []Frame) {
	r.spacesMu.Lock()
	others := make([]*MM, 0, len(r.spaces))
	for m := range r.spaces {
		if m != except {
			others = append(others, m)
		}
	}
	r.spacesMu.Unlock()
	for _, m := range others {
		m.shootdown(code)
	}
}

// anyShared reports whether a frame of fs belongs to a SharedObject.
func (r *RAM) anyShared(fs []Frame) bool {
	for _, f := range fs {
		if r.sharedFrame(f) {
			return true
		}
	}
	return false
}

// Base returns the host address of guest-physical 0, for mapping the pool
// into CPU engines.
func (r *RAM) Base() unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(r.mem)) }

// Size returns the size of the pool in bytes.
func (r *RAM) Size() uint64 { return uint64(len(r.mem)) }

// Frames returns the number of frames in the pool.
func (r *RAM) Frames() int { return len(r.refs) }

// UsedFrames returns the number of frames currently allocated.
func (r *RAM) UsedFrames() int { return int(r.used.Load()) }

// HighWater returns the number of frames ever handed out (frame 0
// excluded): the most that were in use at once.
func (r *RAM) HighWater() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return int(r.next) - 1
}

// Alloc returns a zeroed frame with one reference, or ENOMEM.
func (r *RAM) Alloc() (Frame, error) {
	r.mu.Lock()
	var f Frame
	reuse := false
	switch {
	case len(r.free) > 0:
		f = r.free[len(r.free)-1]
		r.free = r.free[:len(r.free)-1]
		reuse = true
	case int(r.next) < len(r.refs):
		f = r.next
		r.next++
	default:
		r.mu.Unlock()
		return 0, linux.ENOMEM
	}
	r.mu.Unlock()
	if reuse {
		clear(r.Bytes(f))
		atomic.AndUint32(&r.codeMarks[f], ^uint32(sharedFrameBit))
	}
	r.refs[f].Store(1)
	r.used.Add(1)
	return f, nil
}

// Valid reports whether f is a frame of the pool. Every frame number that
// comes from a page-table entry is checked with it (or EntryFrame) before
// use: a corrupted or forged entry must fault the guest, never reach
// memory outside the pool.
func (r *RAM) Valid(f Frame) bool { return uint64(f) < uint64(len(r.refs)) }

// EntryFrame returns the frame a page-table entry points at, and false if
// that frame lies outside the pool (the address bits are checked in full,
// before they are narrowed to a Frame).
func (r *RAM) EntryFrame(e PTE) (Frame, bool) {
	n := uint64(e&pteAddrMask) >> PageShift
	if n >= uint64(len(r.refs)) {
		return 0, false
	}
	return Frame(n), true
}

// IncRef adds a reference to an allocated frame. A frame outside the pool
// is ignored.
func (r *RAM) IncRef(f Frame) {
	if !r.Valid(f) {
		return
	}
	if r.refs[f].Add(1) <= 1 {
		panic(fmt.Sprintf("mm: IncRef of free frame %#x", f))
	}
}

// DecRef drops a reference; the frame is freed when none remain. A frame
// outside the pool is ignored.
func (r *RAM) DecRef(f Frame) {
	if !r.Valid(f) {
		return
	}
	n := r.refs[f].Add(-1)
	if n > 0 {
		return
	}
	if n < 0 {
		panic(fmt.Sprintf("mm: DecRef of free frame %#x", f))
	}
	r.used.Add(-1)
	r.mu.Lock()
	r.free = append(r.free, f)
	r.mu.Unlock()
}

// Pin adds a reference that the kernel holds while it reads or writes the
// frame on the guest's behalf (a blocked read into it, a copy). Unlike a
// page table's reference it marks the frame pinned until Unpin, as Linux's
// FOLL_PIN does: fork copies a pinned private page for the child at once,
// so the data the kernel writes later lands in the parent's page.
func (r *RAM) Pin(f Frame) {
	if !r.Valid(f) {
		return
	}
	r.IncRef(f)
	r.pins[f].Add(1)
}

// Unpin drops a Pin.
func (r *RAM) Unpin(f Frame) {
	if !r.Valid(f) {
		return
	}
	r.pins[f].Add(-1)
	r.DecRef(f)
}

// Pinned reports whether the kernel holds a Pin on the frame.
func (r *RAM) Pinned(f Frame) bool {
	return r.Valid(f) && r.pins[f].Load() > 0
}

// Refs returns the frame's reference count (0 for a frame outside the
// pool).
func (r *RAM) Refs(f Frame) int {
	if !r.Valid(f) {
		return 0
	}
	return int(r.refs[f].Load())
}

// Bytes returns the frame's 4 KiB of host memory. A frame outside the
// pool gets a page of its own that reads as zeros and keeps nothing: a
// path that did not check its frame cannot reach other memory.
func (r *RAM) Bytes(f Frame) []byte {
	if !r.Valid(f) {
		return make([]byte, PageSize)
	}
	off := uint64(f) << PageShift
	return r.mem[off : off+PageSize : off+PageSize]
}

// word returns the 8-byte word at physical address p (8-byte aligned).
// Outside the pool it returns a word of its own that reads as zero (a
// not-present entry).
func (r *RAM) word(p PhysAddr) *uint64 {
	if uint64(p)&7 != 0 || uint64(p) >= uint64(len(r.mem)) {
		return new(uint64)
	}
	return (*uint64)(unsafe.Pointer(&r.mem[p]))
}
