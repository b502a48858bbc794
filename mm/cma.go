package mm

import "github.com/cmaemu/cmaemu/linux"

// Cross Memory Attach: the single copy that process_vm_readv and
// process_vm_writev make between two address spaces.
//
// The copy walks the remote iovec in order and the local one alongside it,
// and moves bytes frame to frame with Go's copy on the RAM pool: there is
// no bounce buffer. Each side translates and pins a batch of pages while
// holding its own MM's lock, then drops the lock before the bytes move, so
// a concurrent munmap, exit or fork of either process cannot free a frame
// mid-copy, and local and remote may be the same address space.
//
// Remote pages are checked against the VMA flags as mmap and mprotect set
// them (process_vm_readv needs VM_READ, process_vm_writev VM_WRITE); local
// pages against what the CPU would allow (on x86 every mapped page but a
// PROT_NONE one is readable). The copy stops at the first remote page that
// is not accessible and at the first local byte that is not.

// IOVec is one element of an iovec array, as imported from the guest.
type IOVec struct {
	Base Addr
	Len  uint64
}

// CopyDirection says which way CopyBetween moves bytes.
type CopyDirection int

const (
	// ReadRemote is process_vm_readv: remote memory → local buffers.
	ReadRemote CopyDirection = iota
	// WriteRemote is process_vm_writev: local buffers → remote memory.
	WriteRemote
)

func (d CopyDirection) String() string {
	if d == WriteRemote {
		return "writev"
	}
	return "readv"
}

// CopyStep is one piece of a CMA copy, for --trace=mm: a run of bytes
// within one page of one side. A copy emits, for every piece, the remote
// step and then the local step.
type CopyStep struct {
	Remote bool  // the remote side (else the local one)
	VA     Addr  // first virtual address of the piece
	Walk   Walk  // the page walk of VA's page, as it was when the page was pinned
	Frame  Frame // the frame the bytes were copied from or to
	Bytes  int   // bytes of the piece
	// Zero marks a remote page that has nothing mapped (untouched or
	// MADV_DONTNEED'd private anonymous memory): it read as zeros from
	// the zero frame, and nothing was allocated for it.
	Zero bool
}

// CopyOpts are the options of CopyBetween.
type CopyOpts struct {
	Dir CopyDirection
	// Trace, if set, is called for every piece copied, in order, with no
	// lock held.
	Trace func(CopyStep)
}

// Batches: each side translates and pins up to cmaMaxPages pages per lock
// acquisition, in at most cmaMaxRuns runs of physically contiguous frames,
// so a full batch has at least cmaMaxRuns pages (Linux pins 16 remote pages
// per batch, PVM_MAX_PP_ARRAY_COUNT). Each run is moved with one Go copy.
// With a trace, batches are cmaTracePages pages, so that each page's walk
// can be kept. The stopping rules do not depend on any of these numbers.
const (
	cmaMaxPages   = 512
	cmaMaxRuns    = 16
	cmaTracePages = 16
)

// Go's memmove switches to non-temporal stores, which bypass the cache,
// for a copy of 1 MiB or more. That is the fastest way to stream a large
// copy, but the wrong one for a small message whose bytes are still cached
// and about to be read: a CMA copy of less than cmaStreamMin bytes moves
// in pieces below 1 MiB.
const (
	cmaStreamMin   = 4 << 20
	cmaCachedPiece = 1<<20 - PageSize
)

// CopyBetween copies between the local buffers liov of local and the remote
// ranges riov of remote (which may be the same MM) and returns the number of
// bytes copied, as process_vm_readv (o.Dir == ReadRemote) and
// process_vm_writev (WriteRemote) do after their argument checks.
//
// Remote elements are taken in order, zero-length ones skipped, while room
// remains in the local elements (also taken in order, zero-length ones
// skipped; the caller has validated and capped them). The copy stops at the
// first remote page that is not accessible, splitting an element at that
// page boundary, or at the first local byte that is not. If it stopped
// before copying anything it returns (0, linux.EFAULT); if there was nothing
// to copy, (0, nil).
//
// Reading an untouched private anonymous remote page yields zeros without
// allocating anything. Writing a remote page shared copy-on-write gives the
// remote its own copy (the sibling keeps the old one) and shoots down the
// remote's TLBs before CopyBetween returns.
//
// Either address space may change or be released meanwhile: the copy then
// uses the frames it had pinned and stops at the next translation that
// fails. No MM lock is held while bytes move, nor two at once.
func CopyBetween(local *MM, liov []IOVec, remote *MM, riov []IOVec, o CopyOpts) (int, error) {
	room := iovTotal(liov)
	if room == 0 {
		return 0, nil
	}
	piece := ^uint64(0)
	if total := min(room, iovTotal(riov)); total < cmaStreamMin {
		piece = cmaCachedPiece
	}

	var r, l cmaSide
	r.init(remote, riov, true, o.Dir == WriteRemote)
	l.init(local, liov, false, o.Dir == ReadRemote)
	if o.Trace != nil {
		walks := make([]Walk, 2*cmaTracePages)
		r.walks, l.walks = walks[:cmaTracePages], walks[cmaTracePages:]
	}

	done, fault := uint64(0), false
	for room > 0 && r.next() && l.next() {
		rmem, ok := r.chunk(min(room, piece), room)
		if !ok {
			fault = true
			break
		}
		lmem, ok := l.chunk(uint64(len(rmem)), r.avail(room))
		if !ok {
			fault = true
			break
		}
		var n int
		if o.Dir == WriteRemote {
			n = copy(rmem, lmem)
		} else {
			n = copy(lmem, rmem)
		}
		if o.Trace != nil {
			o.Trace(r.step(n))
			o.Trace(l.step(n))
		}
		r.advance(n)
		l.advance(n)
		room -= uint64(n)
		done += uint64(n)
	}
	r.unpin()
	l.unpin()
	r.m.dropCode(r.code)
	l.m.dropCode(l.code)

	switch {
	case done > 0:
		return int(done), nil
	case fault:
		return 0, linux.EFAULT
	}
	return 0, nil
}

// iovTotal returns the sum of the lengths, saturated at the largest uint64.
func iovTotal(iov []IOVec) uint64 {
	var t uint64
	for _, v := range iov {
		if t += v.Len; t < v.Len {
			return ^uint64(0)
		}
	}
	return t
}

// cmaSide is one side of a CMA copy: a cursor over its iovec and a window
// of pinned pages that the cursor's address is translated through.
type cmaSide struct {
	m      *MM
	ram    *RAM
	iov    []IOVec
	i      int    // current element
	off    uint64 // bytes of iov[i] consumed
	remote bool
	acc    Access // Read or Write

	// The window: the pages from winPage on, backed by runs[:nr], which
	// translate the addresses [winStart, winEnd). Their frames are pinned,
	// except the zero frame, which is never freed.
	winPage, winStart, winEnd Addr
	runs                      [cmaMaxRuns]cmaRun
	nr                        int
	ri                        int    // the run the cursor was last in
	rp                        uint64 // index of runs[ri]'s first page in the window

	// With a trace: each page's walk, and which pages had nothing mapped.
	walks      []Walk
	notPresent uint64

	// code spans the executable pages a writing side pinned: their
	// translated code is dropped when the copy ends (dropCode).
	code []Frame
}

// cmaRun is a run of pages of a window: consecutive frames from frame on,
// or the zero frame repeated.
type cmaRun struct {
	frame Frame
	pages uint32
	zero  bool
}

func (s *cmaSide) init(m *MM, iov []IOVec, remote, write bool) {
	s.m, s.ram, s.iov, s.remote = m, m.ram, iov, remote
	if write {
		s.acc = Write
	}
}

// next skips consumed and zero-length elements and reports whether an
// element with bytes left remains.
func (s *cmaSide) next() bool {
	for s.i < len(s.iov) && s.off == s.iov[s.i].Len {
		s.i++
		s.off = 0
	}
	return s.i < len(s.iov)
}

func (s *cmaSide) cur() Addr { return s.iov[s.i].Base + Addr(s.off) }

func (s *cmaSide) advance(n int) { s.off += uint64(n) }

// avail returns how many bytes from the cursor the window can supply
// without another translation, at most limit.
func (s *cmaSide) avail(limit uint64) uint64 {
	return min(uint64(s.winEnd-s.cur()), s.iov[s.i].Len-s.off, limit)
}

// locate returns the run holding the window's page k and k's index in it.
func (s *cmaSide) locate(k uint64) (*cmaRun, uint64) {
	if k < s.rp {
		s.ri, s.rp = 0, 0
	}
	for k-s.rp >= uint64(s.runs[s.ri].pages) {
		s.rp += uint64(s.runs[s.ri].pages)
		s.ri++
	}
	return &s.runs[s.ri], k - s.rp
}

// chunk returns the host memory at the cursor: at most limit bytes, within
// the current element, up to the end of the cursor's run of contiguous
// frames (its page when tracing). If the cursor is outside the window it
// translates a new one covering at most want bytes (want ≥ limit); ok is
// false if the cursor's page is not accessible.
func (s *cmaSide) chunk(limit, want uint64) (mem []byte, ok bool) {
	va := s.cur()
	left := s.iov[s.i].Len - s.off
	if s.nr == 0 || va < s.winStart || va >= s.winEnd {
		s.unpin()
		if !s.pin(va, min(left, want)) {
			return nil, false
		}
	}
	run, j := s.locate(uint64(va-s.winPage) >> PageShift)
	po := va.PageOffset()
	var pa PhysAddr
	n := PageSize - po
	if run.zero {
		pa = run.frame.Addr() + PhysAddr(po)
	} else {
		pa = (run.frame + Frame(j)).Addr() + PhysAddr(po)
		if s.walks == nil {
			n = (uint64(run.pages)-j)<<PageShift - po
		}
	}
	n = min(n, uint64(s.winEnd-va), left, limit)
	return s.ram.mem[pa : pa+PhysAddr(n) : pa+PhysAddr(n)], true
}

// step describes the n bytes at the cursor for the trace.
func (s *cmaSide) step(n int) CopyStep {
	va := s.cur()
	k := uint64(va-s.winPage) >> PageShift
	run, j := s.locate(k)
	f := run.frame
	if !run.zero {
		f += Frame(j)
	}
	return CopyStep{Remote: s.remote, VA: va, Walk: s.walks[k], Frame: f, Bytes: n, Zero: s.notPresent&(1<<k) != 0}
}

// add appends frame f to the window's runs, reporting false if that needs
// a run beyond the last.
func (s *cmaSide) add(f Frame) bool {
	zero := f == s.ram.ZeroFrame
	if s.nr > 0 {
		last := &s.runs[s.nr-1]
		if zero && last.zero || !zero && !last.zero && f == last.frame+Frame(last.pages) {
			last.pages++
			return true
		}
	}
	if s.nr == cmaMaxRuns {
		return false
	}
	s.runs[s.nr] = cmaRun{frame: f, pages: 1, zero: zero}
	s.nr++
	return true
}

// unpin drops the window.
func (s *cmaSide) unpin() {
	for _, r := range s.runs[:s.nr] {
		if !r.zero {
			for f := r.frame; f < r.frame+Frame(r.pages); f++ {
				s.ram.Unpin(f)
			}
		}
	}
	s.nr, s.ri, s.rp, s.notPresent = 0, 0, 0, 0
}

// allows reports whether a VMA with protection p admits this side's access:
// the VMA flags for the remote side, the CPU's view for the local one.
func (s *cmaSide) allows(p Prot) bool {
	if s.remote {
		if s.acc == Write {
			return p&ProtWrite != 0
		}
		return p&ProtRead != 0
	}
	return vmaAllows(p, s.acc)
}

// pin makes the window the pages covering [va, va+want), as many as one
// batch holds, stopping before the first page this side may not access. It
// reports whether va's page was pinned.
//
// Pages already mapped with the needed permission are pinned under the read
// lock. A not-present private anonymous page read by the remote side is the
// zero frame, with nothing allocated. Anything else goes through the fault
// path (demand paging, file read, shared object, COW break) under the write
// lock, which the rest of the batch then keeps.
func (s *cmaSide) pin(va Addr, want uint64) bool {
	m, ram := s.m, s.ram
	maxPages := uint64(cmaMaxPages)
	if s.walks != nil {
		maxPages = uint64(len(s.walks))
	}
	po := va.PageOffset()
	want = min(want, maxPages<<PageShift-po)
	npages := int((po + want + PageSize - 1) >> PageShift)
	page0 := va.RoundDown()

	m.mu.RLock()
	write := false
	var (
		v        *VMA
		table    Frame // last-level table of region, 0 if absent
		region   Addr  // 2 MiB region table belongs to
		haveLeaf bool  // table, region are valid
	)
	k := 0
pages:
	for k < npages {
		pva := page0 + Addr(k)<<PageShift
		if pva < page0 || m.pt == nil { // wrapped around, or released
			break pages
		}
		if v == nil || pva < v.Range.Start || pva >= v.Range.End {
			if v = m.vmas.find(pva); v == nil || !s.allows(v.Prot) {
				break pages
			}
		}
		if r := pva >> 21; !haveLeaf || r != region {
			table, region, haveLeaf = m.pt.leafTable(pva), r, true
		}
		var slot *uint64
		var e PTE
		if table != 0 {
			slot = m.pt.entry(table, levelIndex(pva, Levels-1))
			e = load(slot)
		}
		var f Frame
		switch {
		case pteAllows(e, s.acc):
			f = e.Frame()
		case s.remote && s.acc == Read && !e.Present() && v.File == nil && v.Object == nil && !v.Shared:
			f, slot = ram.ZeroFrame, nil // nothing mapped: reads as zeros, allocates nothing
		case !write:
			m.mu.RUnlock()
			m.mu.Lock()
			write, v, haveLeaf = true, nil, false
			continue // look again: anything may have changed meanwhile
		default:
			var err error
			if e, err = m.faultLocked(pva, s.acc, false); err != nil {
				break pages // out of memory or a failed file read: EFAULT too
			}
			haveLeaf = false         // the fault may have added tables
			f, slot = e.Frame(), nil // faultLocked marked it used
		}
		if !s.add(f) {
			break pages // the batch is full
		}
		if f != ram.ZeroFrame {
			ram.Pin(f) // a fork meanwhile copies the page for the child, as Linux's FOLL_PIN makes it
		}
		if slot != nil {
			markUsed(slot, s.acc)
		}
		kernelWrote(&s.code, f, s.acc == Write && (e&PTENoExec == 0 || ram.codeMarked(f)) && f != ram.ZeroFrame)
		if s.walks != nil {
			s.walks[k] = m.pt.Walk(pva)
			if !e.Present() {
				s.notPresent |= 1 << k
			}
		}
		k++
	}
	if write {
		m.mu.Unlock()
	} else {
		m.mu.RUnlock()
	}

	if k == 0 {
		return false
	}
	s.winPage, s.winStart = page0, va
	s.winEnd = va + Addr(min(want, uint64(k)<<PageShift-po))
	return true
}

// leafTable returns the last-level table (PT) that maps va, or 0 if a
// level above it is not present.
func (pt *PageTable) leafTable(va Addr) Frame {
	table := pt.root
	for l := 0; l < Levels-1; l++ {
		e := load(pt.entry(table, levelIndex(va, l)))
		if !e.Present() {
			return 0
		}
		table = e.Frame()
	}
	return table
}
