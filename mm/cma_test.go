package mm

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
)

// ---- scenario helpers ----

// cmaSpace is an address space under test with scenario-style helpers.
type cmaSpace struct {
	*MM
	t    testing.TB
	seed byte
}

func newCMASpace(t testing.TB, ram *RAM, seed byte) cmaSpace {
	t.Helper()
	m, err := New(ram, Layout64)
	require.NoError(t, err)
	return cmaSpace{MM: m, t: t, seed: seed}
}

// cmaPattern is the byte a space's pattern holds at a.
func cmaPattern(seed byte, a Addr) byte {
	return byte(uint64(a)^uint64(a)>>8^uint64(a)>>16) ^ seed*0x5b
}

// MapPages maps pages of private anonymous memory at addr with prot.
func (s cmaSpace) MapPages(addr Addr, pages int, prot Prot) cmaSpace {
	s.t.Helper()
	return s.mapOpts(MapOpts{Addr: addr, Length: uint64(pages) * PageSize, Prot: prot, Fixed: true})
}

// MapStack maps a "[stack]" VMA.
func (s cmaSpace) MapStack(addr Addr, pages int) cmaSpace {
	s.t.Helper()
	return s.mapOpts(MapOpts{Addr: addr, Length: uint64(pages) * PageSize, Prot: ProtRead | ProtWrite, Fixed: true, Name: "[stack]"})
}

// MapSharedPages maps pages of MAP_SHARED anonymous memory.
func (s cmaSpace) MapSharedPages(addr Addr, pages int, prot Prot) cmaSpace {
	s.t.Helper()
	return s.mapOpts(MapOpts{Addr: addr, Length: uint64(pages) * PageSize, Prot: prot, Fixed: true, Shared: true})
}

// MapFilePages maps pages of f privately.
func (s cmaSpace) MapFilePages(addr Addr, pages int, prot Prot, f File) cmaSpace {
	s.t.Helper()
	return s.mapOpts(MapOpts{Addr: addr, Length: uint64(pages) * PageSize, Prot: prot, Fixed: true, File: f})
}

func (s cmaSpace) mapOpts(o MapOpts) cmaSpace {
	s.t.Helper()
	got, err := s.Map(o)
	require.NoError(s.t, err)
	require.Equal(s.t, o.Addr, got)
	return s
}

// Fill writes the space's pattern over [addr, addr+n), whatever the
// protection (pages get frames of their own).
func (s cmaSpace) Fill(addr Addr, n int) cmaSpace {
	s.t.Helper()
	b := make([]byte, n)
	for i := range b {
		b[i] = cmaPattern(s.seed, addr+Addr(i))
	}
	require.NoError(s.t, s.WriteForce(addr, b))
	return s
}

// Poke writes data at addr whatever the protection.
func (s cmaSpace) Poke(addr Addr, data []byte) {
	s.t.Helper()
	require.NoError(s.t, s.WriteForce(addr, data))
}

// Peek reads n bytes at addr through the page table, whatever the
// protection and without faulting anything in: not-present pages read as
// zeros.
func (s cmaSpace) Peek(addr Addr, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		at := addr + Addr(len(out))
		chunk := min(n-len(out), int(PageSize-at.PageOffset()))
		w := s.Walk(at)
		if w.Leaf.Present() {
			out = append(out, s.ram.mem[w.PA:w.PA+PhysAddr(chunk)]...)
		} else {
			out = append(out, make([]byte, chunk)...)
		}
	}
	return out
}

// snapshot returns the bytes of every VMA, as Peek sees them.
func (s cmaSpace) snapshot() map[AddrRange][]byte {
	out := map[AddrRange][]byte{}
	for _, v := range s.VMAs() {
		out[v.Range] = s.Peek(v.Range.Start, int(v.Range.Length()))
	}
	return out
}

// cmaAddrs returns the first n addresses an iovec covers, in copy order.
func cmaAddrs(iov []IOVec, n int) []Addr {
	out := make([]Addr, 0, n)
	for _, v := range iov {
		for i := uint64(0); i < v.Len && len(out) < n; i++ {
			out = append(out, v.Base+Addr(i))
		}
	}
	return out
}

// cmaFile is an in-memory File.
type cmaFile struct {
	data []byte
	refs atomic.Int32
}

func (f *cmaFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(f.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
func (f *cmaFile) IncRef()      { f.refs.Add(1) }
func (f *cmaFile) DecRef()      { f.refs.Add(-1) }
func (f *cmaFile) Name() string { return "/cma-test-file" }

func iov(pairs ...uint64) []IOVec {
	out := make([]IOVec, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, IOVec{Base: Addr(pairs[i]), Len: pairs[i+1]})
	}
	return out
}

func readv(local cmaSpace, liov []IOVec, remote cmaSpace, riov []IOVec) (int, error) {
	return CopyBetween(local.MM, liov, remote.MM, riov, CopyOpts{Dir: ReadRemote})
}

func writev(local cmaSpace, liov []IOVec, remote cmaSpace, riov []IOVec) (int, error) {
	return CopyBetween(local.MM, liov, remote.MM, riov, CopyOpts{Dir: WriteRemote})
}

func newCMARAM(t testing.TB) *RAM {
	t.Helper()
	ram, err := NewRAM(testRAM)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	return ram
}

// ---- the standard scene ----

const (
	ps = PageSize

	rRW      = 0x10_0000        // 4 pages rw, then a hole
	rHole    = 0x10_4000        // unmapped
	rRW2     = 0x10_5000        // 1 page rw
	rRWBelow = 0x1f_f000        // 1 page rw, just below rRO
	rRO      = 0x20_0000        // 2 pages r--
	rText    = 0x21_0000        // 2 pages r-x
	rRWNone  = 0x21_f000        // 1 page rw, just below rNone
	rNone    = 0x22_0000        // 1 page ---, with a frame
	rWO      = 0x23_0000        // 1 page -w-
	rXO      = 0x24_0000        // 1 page --x
	rFresh   = 0x30_0000        // 4 pages rw, never touched
	rStack   = 0x7fff_fffd_e000 // 4 pages [stack]; nothing below

	lRW   = 0x50_0000 // 8 pages rw
	lRO   = 0x50_8000 // 1 page r--, just after lRW; unmapped after it
	lWO   = 0x51_0000 // 1 page -w-
	lXO   = 0x52_0000 // 1 page --x
	lNone = 0x53_0000 // 1 page ---
)

type cmaScene struct {
	ram           *RAM
	local, remote cmaSpace
}

func newCMAScene(t testing.TB) cmaScene {
	ram := newCMARAM(t)
	r := newCMASpace(t, ram, 1)
	r.MapPages(rRW, 4, ProtRead|ProtWrite).Fill(rRW, 4*ps)
	r.MapPages(rRW2, 1, ProtRead|ProtWrite).Fill(rRW2, ps)
	r.MapPages(rRWBelow, 1, ProtRead|ProtWrite).Fill(rRWBelow, ps)
	r.MapPages(rRO, 2, ProtRead).Fill(rRO, 2*ps)
	r.MapPages(rText, 2, ProtRead|ProtExec).Fill(rText, 2*ps)
	r.MapPages(rRWNone, 1, ProtRead|ProtWrite).Fill(rRWNone, ps)
	r.MapPages(rNone, 1, ProtNone).Fill(rNone, ps)
	r.MapPages(rWO, 1, ProtWrite).Fill(rWO, ps)
	r.MapPages(rXO, 1, ProtExec).Fill(rXO, ps)
	r.MapPages(rFresh, 4, ProtRead|ProtWrite)
	r.MapStack(rStack, 4).Fill(rStack, 4*ps)

	l := newCMASpace(t, ram, 2)
	l.MapPages(lRW, 8, ProtRead|ProtWrite).Fill(lRW, 8*ps)
	l.MapPages(lRO, 1, ProtRead).Fill(lRO, ps)
	l.MapPages(lWO, 1, ProtWrite).Fill(lWO, ps)
	l.MapPages(lXO, 1, ProtExec).Fill(lXO, ps)
	l.MapPages(lNone, 1, ProtNone).Fill(lNone, ps)
	return cmaScene{ram: ram, local: l, remote: r}
}

// TestCopyBetweenRules runs each copy rule against the standard scene and
// checks the count, the error, the exact bytes at the destination, that
// every other byte of both address spaces is unchanged, and that no pin
// is left behind.
func TestCopyBetweenRules(t *testing.T) {
	cases := []struct {
		rule          string
		dir           CopyDirection
		local, remote []IOVec
		n             int
		efault        bool
	}{
		// Basics.
		{"readv copies one element", ReadRemote, iov(lRW+10, 100), iov(rRW+20, 100), 100, false},
		{"readv copies across pages on both sides", ReadRemote, iov(lRW+7, 3*ps), iov(rRW+100, 3*ps), 3 * ps, false},
		{"writev copies one element across a remote page boundary", WriteRemote, iov(lRW+5, 200), iov(rRW+4000, 200), 200, false},
		{"writev copies across pages on both sides", WriteRemote, iov(lRW+ps-3, 3*ps), iov(rRW+1, 3*ps), 3 * ps, false},
		{"readv: remote longer than local room stops when local is full", ReadRemote, iov(lRW, 100), iov(rRW, 1000), 100, false},
		{"readv: remote shorter than local room ends with the remote", ReadRemote, iov(lRW, 1000), iov(rRW, 10), 10, false},

		// Several elements, zero-length ones skipped (even with bad bases).
		{"readv: several elements on both sides, zero-length ones skipped", ReadRemote,
			iov(lRW, 0, lRW+100, 5, 0, 0, lRW+300, 0, lRW+400, 50, lRW+ps-1, 3000),
			iov(rRW, 0, rRW+1000, 7, rHole, 0, rRW2+10, 48, 0, 0, rRO+ps-2, 2000, rText, 3000),
			5 + 50 + 3000, false},
		{"writev: several elements on both sides, zero-length ones skipped", WriteRemote,
			iov(lRW+ps, 0, lRO+10, 30, lNone, 0, lRW+8000, 70, lWO, 100),
			iov(rNone, 0, rRW+2*ps+4090, 20, rRW2, 0, rRW2+100, 180),
			200, false},

		// The remote side stops at the first inaccessible page.
		{"readv: element split at an unmapped remote page, mid-element and mid-local-buffer", ReadRemote,
			iov(lRW+1, 3*ps), iov(rRW+3*ps+100, ps), ps - 100, true},
		{"readv: the stop is final, later remote elements are not copied", ReadRemote,
			iov(lRW+1, 3*ps), iov(rRW+3*ps+100, ps, rRW2, 10), ps - 100, true},
		{"readv: split at the hole across local elements", ReadRemote,
			iov(lRW, 1000, lRW+2*ps, 8000), iov(rRW+2*ps, 3*ps), 2 * ps, true},
		{"writev: element split at an unmapped remote page", WriteRemote,
			iov(lRW, 2*ps), iov(rRW+3*ps+1, 2*ps), ps - 1, true},
		{"readv: first remote page unmapped is EFAULT", ReadRemote, iov(lRW, 100), iov(rHole+5, 10), 0, true},
		{"readv: first remote element unmapped, later good one not reached", ReadRemote, iov(lRW, 100), iov(rHole, 10, rRW, 10), 0, true},
		{"readv: PROT_NONE remote is EFAULT though a frame is mapped", ReadRemote, iov(lRW, 100), iov(rNone+8, 10), 0, true},
		{"readv: rw page then PROT_NONE page splits at the boundary", ReadRemote, iov(lRW, 100), iov(rNone-30, 100), 30, true},
		{"readv: PROT_WRITE-only remote is EFAULT (VM_READ, not x86 readability)", ReadRemote, iov(lRW, 100), iov(rWO, 10), 0, true},
		{"readv: PROT_EXEC-only remote is EFAULT", ReadRemote, iov(lRW, 100), iov(rXO, 10), 0, true},
		{"readv: read-only remote is readable", ReadRemote, iov(lRW+3, 2*ps), iov(rRO, 2*ps), 2 * ps, false},
		{"readv: text (r-x) remote is readable", ReadRemote, iov(lRW, 300), iov(rText+ps-150, 300), 300, false},
		{"writev: read-only remote is EFAULT", WriteRemote, iov(lRW, 100), iov(rRO+8, 10), 0, true},
		{"writev: text (r-x) remote is EFAULT", WriteRemote, iov(lRW, 100), iov(rText, 10), 0, true},
		{"writev: PROT_NONE remote is EFAULT", WriteRemote, iov(lRW, 100), iov(rNone, 10), 0, true},
		{"writev: PROT_WRITE-only remote is writable", WriteRemote, iov(lRW, 100), iov(rWO+ps-100, 100), 100, false},
		{"writev: rw page then read-only page splits at the boundary", WriteRemote, iov(lRW, 100), iov(rRO-50, 100), 50, true},

		// The local side behaves as the CPU does, stopping at byte granularity.
		{"readv into a read-only local page stops at that byte", ReadRemote, iov(lRO-40, 100), iov(rRW, 100), 40, true},
		{"readv: read-only local element after a good one stops there", ReadRemote, iov(lRW+ps, 10, lRO, 10), iov(rRW, 100), 10, true},
		{"readv into a read-only local page first is EFAULT", ReadRemote, iov(lRO, 10), iov(rRW, 100), 0, true},
		{"readv into a PROT_NONE local page is EFAULT", ReadRemote, iov(lNone, 10), iov(rRW, 100), 0, true},
		{"readv into a PROT_WRITE-only local page works", ReadRemote, iov(lWO+10, 100), iov(rRW, 100), 100, false},
		{"writev from a PROT_WRITE-only local page works (x86 reads it)", WriteRemote, iov(lWO+ps-60, 60), iov(rRW, 100), 60, false},
		{"writev from a PROT_EXEC-only local page works (x86 without PKU reads it)", WriteRemote, iov(lXO, 64), iov(rRW, 100), 64, false},
		{"writev from a read-only local page works", WriteRemote, iov(lRO+5, 64), iov(rRW, 100), 64, false},
		{"writev from a PROT_NONE local page is EFAULT", WriteRemote, iov(lNone, 64), iov(rRW, 100), 0, true},
		{"writev: local buffer running off its mapping stops at that byte", WriteRemote, iov(lRO+ps-7, 20), iov(rRW, 100), 7, true},

		// Addresses nothing can map.
		{"readv: no stack growth, below the stack VMA is EFAULT", ReadRemote, iov(lRW, 100), iov(rStack-16, 32), 0, true},
		{"readv: the stack itself is readable", ReadRemote, iov(lRW, 100), iov(rStack, 32), 32, false},
		{"readv: element wrapping the top of the address space is EFAULT", ReadRemote, iov(lRW, 100), iov(^uint64(0)-5, 100), 0, true},
		{"readv: element at the end of user space is EFAULT", ReadRemote, iov(lRW, 100), iov(uint64(TaskSize)-8, 16), 0, true},
		{"readv: i386-style high address mapped nowhere is EFAULT", ReadRemote, iov(lRW, 100), iov(0xfffff000, 16), 0, true},
		{"readv: huge remote length stops at the first unmapped page", ReadRemote, iov(lRW, 5*ps), iov(rRW, ^uint64(0)>>1), 4 * ps, true},
		{"writev: huge remote length is bounded by the local room", WriteRemote, iov(lRW, 1000), iov(rRW, ^uint64(0)), 1000, false},

		// Nothing to copy.
		{"all lengths zero is 0 without error", ReadRemote, iov(lRW, 0), iov(rRW, 0), 0, false},
		{"no elements at all is 0 without error", WriteRemote, nil, nil, 0, false},
		{"local room zero is 0 even with a bad remote", ReadRemote, iov(lRW, 0, lNone, 0), iov(rHole, 10), 0, false},
		{"remote all zero-length is 0 even with a bad local", ReadRemote, iov(lNone, 10), iov(rHole, 0, rRW, 0), 0, false},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			s := newCMAScene(t)
			used := s.ram.UsedFrames()
			// Frame counts are compared after both sides are fully
			// populated for writes, so COW breaks do not count.
			lBefore, rBefore := s.local.snapshot(), s.remote.snapshot()

			var n int
			var err error
			if c.dir == ReadRemote {
				n, err = readv(s.local, c.local, s.remote, c.remote)
			} else {
				n, err = writev(s.local, c.local, s.remote, c.remote)
			}
			if c.n == 0 && c.efault {
				assert.Equal(t, 0, n)
				assert.ErrorIs(t, err, linux.EFAULT)
			} else {
				require.NoError(t, err, "a partial copy reports its count, not an error")
				assert.Equal(t, c.n, n)
			}

			// Model: the first n source bytes land, in order, at the
			// first n destination addresses; nothing else changes.
			src, dst := s.remote, s.local
			srcIOV, dstIOV := c.remote, c.local
			srcBefore, dstBefore := rBefore, lBefore
			if c.dir == WriteRemote {
				src, dst, srcIOV, dstIOV, srcBefore, dstBefore = dst, src, dstIOV, srcIOV, dstBefore, srcBefore
			}
			want := map[Addr]byte{}
			from, to := cmaAddrs(srcIOV, c.n), cmaAddrs(dstIOV, c.n)
			for i := range min(len(from), len(to)) {
				want[to[i]] = src.Peek(from[i], 1)[0]
			}
			assert.Equal(t, srcBefore, src.snapshot(), "the source is unchanged")
			for r, before := range dstBefore {
				after := dst.Peek(r.Start, int(r.Length()))
				exp := append([]byte(nil), before...)
				for a, b := range want {
					if r.Contains(a) {
						exp[a-r.Start] = b
					}
				}
				if !assert.True(t, bytes.Equal(exp, after), "destination bytes of %#x-%#x", r.Start, r.End) {
					for i := range exp {
						if exp[i] != after[i] {
							t.Logf("first difference at %#x: want %#x, got %#x", r.Start+Addr(i), exp[i], after[i])
							break
						}
					}
				}
			}
			assert.Equal(t, used, s.ram.UsedFrames(), "no frame allocated or leaked")
			assertNoExtraRefs(t, s.local, s.remote)
		})
	}
}

// assertNoExtraRefs checks that every frame mapped by the spaces has as many
// references as mappings: the copy left no pin behind.
func assertNoExtraRefs(t *testing.T, spaces ...cmaSpace) {
	t.Helper()
	maps := map[Frame]int{}
	objects := map[*SharedObject]bool{}
	for _, s := range spaces {
		s.mu.RLock()
		if s.pt != nil {
			s.pt.forEachLeaf(0, TaskSize, func(_ Addr, slot *uint64) { maps[load(slot).Frame()]++ })
		}
		for _, v := range s.vmas.list {
			if v.Object != nil {
				objects[v.Object] = true
			}
		}
		s.mu.RUnlock()
	}
	for o := range objects { // a shared object holds a reference of its own
		o.mu.Lock()
		for _, f := range o.frames {
			maps[f]++
		}
		o.mu.Unlock()
	}
	ram := spaces[0].ram
	for f, n := range maps {
		if f == ram.ZeroFrame {
			continue
		}
		assert.Equal(t, n, ram.Refs(f), "references of frame %#x", f)
	}
}

func TestCMAUntouchedRemoteReadsZerosWithoutAllocating(t *testing.T) {
	ram := newCMARAM(t)
	remote := newCMASpace(t, ram, 1).MapPages(rFresh, 64, ProtRead|ProtWrite)
	local := newCMASpace(t, ram, 2).MapPages(lRW, 64, ProtRead|ProtWrite).Fill(lRW, 64*ps)
	before := ram.UsedFrames()
	var zeroSteps, remoteSteps int
	n, err := CopyBetween(local.MM, iov(lRW+3, 64*ps-3), remote.MM, iov(rFresh+3, 64*ps), CopyOpts{
		Dir: ReadRemote,
		Trace: func(s CopyStep) {
			if s.Remote {
				remoteSteps++
				if s.Zero {
					zeroSteps++
					assert.Equal(t, ram.ZeroFrame, s.Frame)
					assert.False(t, s.Walk.Leaf.Present())
				}
			}
		},
	})
	require.NoError(t, err)
	assert.Equal(t, 64*ps-3, n)
	assert.Equal(t, make([]byte, 64*ps-3), local.Peek(lRW+3, 64*ps-3), "untouched anonymous memory reads as zeros")
	assert.Equal(t, before, ram.UsedFrames(), "reading allocated no frame and no page table")
	assert.Equal(t, 1, remote.Walk(rFresh).Depth, "the remote page table was not extended")
	assert.Equal(t, remoteSteps, zeroSteps)
	assert.Positive(t, zeroSteps)
}

func TestCMADontNeedPageReadsZeros(t *testing.T) {
	ram := newCMARAM(t)
	remote := newCMASpace(t, ram, 1).MapPages(rRW, 2, ProtRead|ProtWrite).Fill(rRW, 2*ps)
	local := newCMASpace(t, ram, 2).MapPages(lRW, 2, ProtRead|ProtWrite).Fill(lRW, 2*ps)
	require.NoError(t, remote.DontNeed(rRW, ps))
	before := ram.UsedFrames()
	n, err := readv(local, iov(lRW, 2*ps), remote, iov(rRW, 2*ps))
	require.NoError(t, err)
	assert.Equal(t, 2*ps, n)
	assert.Equal(t, make([]byte, ps), local.Peek(lRW, ps), "MADV_DONTNEED'd private anonymous page reads as zeros")
	assert.Equal(t, remote.Peek(rRW+ps, ps), local.Peek(lRW+ps, ps))
	assert.Equal(t, before, ram.UsedFrames())
}

func TestCMAReadFaultsInFileAndSharedPages(t *testing.T) {
	ram := newCMARAM(t)
	data := make([]byte, 2*ps)
	for i := range data {
		data[i] = byte(i*3 + 1)
	}
	f := &cmaFile{data: data}
	remote := newCMASpace(t, ram, 1)
	remote.MapFilePages(0x40_0000, 2, ProtRead, f)
	remote.MapSharedPages(0x60_0000, 1, ProtRead|ProtWrite)
	sibling, err := remote.Fork()
	require.NoError(t, err)
	defer sibling.Release()
	_, err = sibling.CopyOut(0x60_0010, []byte("shared by the sibling"))
	require.NoError(t, err)
	require.False(t, remote.Walk(0x60_0000).Leaf.Present(), "the remote has not touched the shared page")

	local := newCMASpace(t, ram, 2).MapPages(lRW, 4, ProtRead|ProtWrite)
	n, err := readv(local, iov(lRW, 2*ps), remote, iov(0x40_0000+100, 2*ps-100))
	require.NoError(t, err)
	assert.Equal(t, 2*ps-100, n)
	assert.Equal(t, data[100:], local.Peek(lRW, 2*ps-100), "file-backed page faulted in from the file")

	n, err = readv(local, iov(lRW, 21), remote, iov(0x60_0010, 21))
	require.NoError(t, err)
	assert.Equal(t, 21, n)
	assert.Equal(t, "shared by the sibling", string(local.Peek(lRW, 21)), "shared object page faulted in")
	assertNoExtraRefs(t, remote, cmaSpace{MM: sibling, t: t}, local)
}

func TestCMAWritevBreaksCOWInRemoteOnly(t *testing.T) {
	for _, remoteIsChild := range []bool{false, true} {
		name := "remote is the parent"
		if remoteIsChild {
			name = "remote is the child"
		}
		t.Run(name, func(t *testing.T) {
			ram := newCMARAM(t)
			parent := newCMASpace(t, ram, 1).MapPages(rRW, 4, ProtRead|ProtWrite).Fill(rRW, 4*ps)
			cm, err := parent.Fork()
			require.NoError(t, err)
			child := cmaSpace{MM: cm, t: t, seed: 1}
			defer child.Release()
			remote, sibling := parent, child
			if remoteIsChild {
				remote, sibling = child, parent
			}
			tlb := &countingTLB{}
			remote.AddTLB(tlb)
			siblingTLB := &countingTLB{}
			sibling.AddTLB(siblingTLB)
			local := newCMASpace(t, ram, 2).MapPages(lRW, 2, ProtRead|ProtWrite)
			local.Poke(lRW, []byte("written by process_vm_writev"))

			old := sibling.Peek(rRW, 4*ps)
			shared := remote.Walk(rRW + ps).Leaf.Frame()
			require.Equal(t, shared, sibling.Walk(rRW+ps).Leaf.Frame())

			n, err := writev(local, iov(lRW, 28), remote, iov(rRW+ps+10, 28))
			require.NoError(t, err)
			assert.Equal(t, 28, n)

			assert.Equal(t, "written by process_vm_writev", string(remote.Peek(rRW+ps+10, 28)))
			assert.Equal(t, old, sibling.Peek(rRW, 4*ps), "the sibling keeps its bytes")
			assert.Equal(t, old[:ps+10], remote.Peek(rRW, ps+10), "the rest of the remote is intact")
			w := remote.Walk(rRW + ps)
			assert.NotEqual(t, shared, w.Leaf.Frame(), "the remote got a frame of its own")
			assert.Equal(t, shared, sibling.Walk(rRW+ps).Leaf.Frame(), "the sibling keeps the old frame")
			assert.NotZero(t, w.Leaf&PTEWrite)
			assert.Zero(t, w.Leaf&PTECOW)
			assert.NotZero(t, w.Leaf&PTEDirty)
			assert.Positive(t, tlb.flushes.Load(), "the remote's TLBs were shot down")
			assert.Zero(t, siblingTLB.flushes.Load(), "the sibling's were not touched")
			assert.Equal(t, w.Leaf.Frame(), remote.Walk(rRW+ps).Leaf.Frame())
			assertNoExtraRefs(t, remote, sibling, local)
		})
	}
}

func TestCMAWritevIntoZeroFramePage(t *testing.T) {
	ram := newCMARAM(t)
	remote := newCMASpace(t, ram, 1).MapPages(rFresh, 2, ProtRead|ProtWrite)
	tlb := &countingTLB{}
	remote.AddTLB(tlb)
	_, _, err := remote.Translate(rFresh, Read) // the CPU read it: zero frame mapped COW
	require.NoError(t, err)
	require.Equal(t, ram.ZeroFrame, remote.Walk(rFresh).Leaf.Frame())
	local := newCMASpace(t, ram, 2).MapPages(lRW, 2, ProtRead|ProtWrite).Fill(lRW, 2*ps)

	n, err := writev(local, iov(lRW, 2*ps), remote, iov(rFresh, 2*ps))
	require.NoError(t, err)
	assert.Equal(t, 2*ps, n)
	assert.Equal(t, local.Peek(lRW, 2*ps), remote.Peek(rFresh, 2*ps))
	assert.NotEqual(t, ram.ZeroFrame, remote.Walk(rFresh).Leaf.Frame())
	assert.Equal(t, make([]byte, ps), ram.Bytes(ram.ZeroFrame), "the zero frame stays zero")
	assert.Positive(t, tlb.flushes.Load())
	assertNoExtraRefs(t, remote, local)
}

func TestCMAReleasedRemoteIsEFAULT(t *testing.T) {
	s := newCMAScene(t)
	s.remote.Release()
	n, err := readv(s.local, iov(lRW, 100), s.remote, iov(rRW, 100))
	assert.Equal(t, 0, n)
	assert.ErrorIs(t, err, linux.EFAULT)
	n, err = writev(s.local, iov(lRW, 100), s.remote, iov(rRW, 100))
	assert.Equal(t, 0, n)
	assert.ErrorIs(t, err, linux.EFAULT)
}

func TestCMASelfCopy(t *testing.T) {
	const base = 0x100_0000
	cases := []struct {
		rule     string
		dir      CopyDirection
		dst, src Addr
		n        int
		memmove  bool // the result must be memmove's
	}{
		{"readv, non-overlapping", ReadRemote, base + 8*ps + 5, base + 1, 3 * ps, true},
		{"writev, non-overlapping", WriteRemote, base + 1, base + 8*ps + 5, 3 * ps, true},
		{"readv, overlapping, destination below the source", ReadRemote, base + 100, base + 300, 5 * ps, true},
		{"writev, overlapping, destination below the source", WriteRemote, base + 7, base + ps + 3, 5 * ps, true},
		{"readv, overlapping, destination above the source", ReadRemote, base + 300, base + 100, 5 * ps, false},
		{"writev, identical ranges", WriteRemote, base + 10, base + 10, 5 * ps, true},
		{"readv into untouched pages of the same space (write fault while the source is pinned)", ReadRemote, base + 32*ps, base, 6 * ps, true},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			ram := newCMARAM(t)
			m := newCMASpace(t, ram, 3).MapPages(base, 40, ProtRead|ProtWrite).Fill(base, 16*ps)
			want := m.Peek(base, 40*ps)
			copy(want[c.dst-base:], want[c.src-base:c.src-base+Addr(c.n)])

			var n int
			var err error
			done := make(chan struct{})
			go func() {
				defer close(done)
				if c.dir == ReadRemote { // remote = source
					n, err = readv(m, iov(uint64(c.dst), uint64(c.n)), m, iov(uint64(c.src), uint64(c.n)))
				} else { // remote = destination
					n, err = writev(m, iov(uint64(c.src), uint64(c.n)), m, iov(uint64(c.dst), uint64(c.n)))
				}
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("self-copy deadlocked")
			}
			require.NoError(t, err)
			assert.Equal(t, c.n, n)
			if c.memmove {
				assert.True(t, bytes.Equal(want, m.Peek(base, 40*ps)), "bytes as memmove leaves them")
			}
			assertNoExtraRefs(t, m)
		})
	}
}

func TestCMATraceDescribesEveryPiece(t *testing.T) {
	s := newCMAScene(t)
	var steps []CopyStep
	n, err := CopyBetween(s.local.MM, iov(lRW+ps-10, 2*ps), s.remote.MM, iov(rRW+100, ps, rFresh, ps), CopyOpts{
		Dir:   ReadRemote,
		Trace: func(st CopyStep) { steps = append(steps, st) },
	})
	require.NoError(t, err)
	require.Equal(t, 2*ps, n)
	require.Zero(t, len(steps)%2)
	var total int
	for i := 0; i < len(steps); i += 2 {
		r, l := steps[i], steps[i+1]
		assert.True(t, r.Remote)
		assert.False(t, l.Remote)
		assert.Equal(t, r.Bytes, l.Bytes)
		assert.LessOrEqual(t, uint64(r.Bytes), PageSize-r.VA.PageOffset(), "a piece stays within its remote page")
		assert.LessOrEqual(t, uint64(l.Bytes), PageSize-l.VA.PageOffset(), "a piece stays within its local page")
		assert.Equal(t, r.VA.RoundDown(), r.Walk.VA.RoundDown())
		assert.Equal(t, l.VA.RoundDown(), l.Walk.VA.RoundDown())
		if r.Zero {
			assert.GreaterOrEqual(t, r.VA, Addr(rFresh))
			assert.Equal(t, s.ram.ZeroFrame, r.Frame)
		} else {
			require.Equal(t, Levels, r.Walk.Depth)
			assert.Equal(t, r.Walk.Leaf.Frame(), r.Frame)
		}
		require.Equal(t, Levels, l.Walk.Depth)
		assert.Equal(t, l.Walk.Leaf.Frame(), l.Frame)
		assert.NotZero(t, l.Walk.Leaf&PTEDirty, "the local page was written")
		total += r.Bytes
	}
	assert.Equal(t, n, total)
	assert.Equal(t, Addr(rRW+100), steps[0].VA)
	assert.Equal(t, Addr(lRW+ps-10), steps[1].VA)
	assert.Equal(t, 10, steps[0].Bytes, "the first piece ends at the local page boundary")
	assert.True(t, steps[len(steps)-2].Zero)
}

// TestCMAConcurrentUnmapAndRelease races readv of a large remote against
// munmaps of it and its final release: every result is a prefix of the data
// or EFAULT, and every pin is dropped.
func TestCMAConcurrentUnmapAndRelease(t *testing.T) {
	const pages = 512
	for round := 0; round < 4; round++ {
		ram := newCMARAM(t)
		local := newCMASpace(t, ram, 2).MapPages(lRW, pages, ProtRead|ProtWrite)
		local.Fill(lRW, pages*ps) // populate every local page
		baseline := ram.UsedFrames()

		remote := newCMASpace(t, ram, 1).MapPages(0x4000_0000, pages, ProtRead|ProtWrite).Fill(0x4000_0000, pages*ps)
		want := remote.Peek(0x4000_0000, pages*ps)

		var wg sync.WaitGroup
		var stop atomic.Bool
		var copies, faults atomic.Int32
		for g := 0; g < max(1, runtime.GOMAXPROCS(0)-1); g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, pages*ps)
				for !stop.Load() {
					n, err := readv(local, iov(lRW, pages*ps), remote, iov(0x4000_0000, pages*ps))
					switch {
					case err != nil:
						if !errors.Is(err, linux.EFAULT) || n != 0 {
							t.Errorf("result (%d, %v): want a count or EFAULT", n, err)
							return
						}
						faults.Add(1)
					default:
						if n <= 0 || n > pages*ps || (n != pages*ps && n%ps != 0) {
							t.Errorf("count %d is not a page-granular prefix", n)
							return
						}
						// Other readers write the same bytes; compare
						// through a private copy of the prefix.
						_, _ = local.CopyIn(lRW, buf[:n])
						if !bytes.Equal(buf[:n], want[:n]) {
							t.Errorf("the %d bytes copied are not the remote's prefix", n)
							return
						}
						copies.Add(1)
					}
				}
			}()
		}
		// Let a few copies complete between changes of the remote.
		settle := func() {
			for at := copies.Load() + faults.Load(); copies.Load()+faults.Load() < at+3 && !t.Failed(); {
				runtime.Gosched()
			}
		}
		rng := rand.New(rand.NewPCG(uint64(round), 7))
		for i := 0; i < 40; i++ {
			settle()
			p := rng.IntN(pages)
			if i < 30 { // mostly the tail first, so that long prefixes are seen
				p = pages/2 + rng.IntN(pages/2)
			}
			_ = remote.Unmap(0x4000_0000+Addr(p)*ps, uint64(1+rng.IntN(8))*ps)
		}
		settle()
		remote.Release()
		settle()
		stop.Store(true)
		wg.Wait()
		assert.Positive(t, copies.Load()+faults.Load())
		t.Logf("round %d: %d copies, %d EFAULTs", round, copies.Load(), faults.Load())
		assert.Equal(t, baseline, ram.UsedFrames(), "every pinned frame was released")
		assertNoExtraRefs(t, local)
	}
}

// TestCMAConcurrentWritevAndForks has writev and fork (with the children's
// COW breaks) work on the same pages of the remote at once.
func TestCMAConcurrentWritevAndForks(t *testing.T) {
	ram := newCMARAM(t)
	remote := newCMASpace(t, ram, 1).MapPages(rRW, 16, ProtRead|ProtWrite).Fill(rRW, 16*ps)
	local := newCMASpace(t, ram, 2).MapPages(lRW, 16, ProtRead|ProtWrite).Fill(lRW, 16*ps)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			n, err := writev(local, iov(lRW, 16*ps), remote, iov(rRW, 16*ps))
			if err != nil || n != 16*ps {
				t.Errorf("writev = (%d, %v)", n, err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 50; i++ {
			c, err := remote.Fork()
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = c.CopyOut(rRW+Addr(i%16)*ps, []byte{byte(i)})
			c.Release()
		}
	}()
	wg.Wait()
	assert.Equal(t, local.Peek(lRW, 16*ps), remote.Peek(rRW, 16*ps))
	assertNoExtraRefs(t, remote, local)
}

// TestCMAPinsSurviveUnmapMidCopy unmaps (or releases) the remote from the
// trace hook, between two pieces of one copy: the pinned window still holds
// the old frames, so the copy finishes the window with the old bytes and
// stops at the next translation; the frames are freed when it unpins.
func TestCMAPinsSurviveUnmapMidCopy(t *testing.T) {
	for _, release := range []bool{false, true} {
		name := "munmap"
		if release {
			name = "exit (Release)"
		}
		t.Run(name, func(t *testing.T) {
			const pages = 2 * cmaTracePages
			ram := newCMARAM(t)
			local := newCMASpace(t, ram, 2).MapPages(lRW, pages, ProtRead|ProtWrite).Fill(lRW, pages*ps)
			baseline := ram.UsedFrames()
			remote := newCMASpace(t, ram, 1).MapPages(rRW, pages, ProtRead|ProtWrite).Fill(rRW, pages*ps)
			want := remote.Peek(rRW, pages*ps)
			frame := remote.Walk(rRW).Leaf.Frame()
			if !release { // munmap leaves the remote's page-table frames
				baseline = ram.UsedFrames() - pages
			}
			once := false
			n, err := CopyBetween(local.MM, iov(lRW, pages*ps), remote.MM, iov(rRW, pages*ps), CopyOpts{
				Dir: ReadRemote,
				Trace: func(s CopyStep) {
					if once {
						return
					}
					once = true
					if release {
						remote.Release()
					} else {
						require.NoError(t, remote.Unmap(rRW, pages*ps))
					}
					assert.Equal(t, 1, ram.Refs(frame), "only the copy's pin holds the frame")
				},
			})
			require.NoError(t, err)
			assert.Equal(t, cmaTracePages*ps, n, "the copy ends with the pinned window")
			assert.Equal(t, want[:n], local.Peek(lRW, n))
			assert.Equal(t, baseline, ram.UsedFrames(), "the unpinned frames were freed")
		})
	}
}

// TestCMAScatteredFramesAndLargeCopies copies through frames that are not
// physically contiguous (so windows end after cmaMaxRuns runs), zero-frame
// pages mixed in, elements that go back into the current window, and copies
// bigger than one window and than cmaStreamMin.
func TestCMAScatteredFramesAndLargeCopies(t *testing.T) {
	const (
		pages = 1536 // 6 MiB: several windows, above cmaStreamMin
		rBase = 0x4000_0000
		lBase = 0x6000_0000
	)
	ram, err := NewRAM(256 << 20)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	remote := newCMASpace(t, ram, 1).MapPages(rBase, pages, ProtRead|ProtWrite)
	local := newCMASpace(t, ram, 2).MapPages(lBase, pages, ProtRead|ProtWrite)
	// Populate both sides interleaved and out of order: page p of each
	// side gets a frame far from page p+1's. Every 7th remote page stays
	// untouched, every 11th is read by the CPU (zero frame mapped).
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range rng.Perm(pages) {
		switch {
		case p%7 == 3:
		case p%11 == 5:
			_, _, err := remote.Translate(rBase+Addr(p)*ps, Read)
			require.NoError(t, err)
		default:
			remote.Fill(rBase+Addr(p)*ps, ps)
		}
		local.Fill(lBase+Addr(p)*ps, ps)
	}

	cases := []struct {
		rule          string
		dir           CopyDirection
		local, remote []IOVec
		n             int
	}{
		{"readv of scattered frames, one element each side", ReadRemote,
			iov(lBase+3, 40*ps), iov(rBase+ps-9, 40*ps), 40 * ps},
		{"writev of scattered frames, one element each side", WriteRemote,
			iov(lBase+ps+1, 40*ps), iov(rBase+2, 40*ps), 40 * ps},
		{"readv: remote elements going back into the current window", ReadRemote,
			iov(lBase, 10*ps), iov(rBase, 3*ps, rBase+ps+5, 100, rBase+2*ps-7, 3*ps, rBase, 1), 6*ps + 101},
		{"writev: local elements going back into the current window", WriteRemote,
			iov(lBase+5*ps, 2*ps, lBase+5*ps+10, 50, lBase+ps, 3*ps), iov(rBase+100*ps, 10*ps), 5*ps + 50},
		{"readv larger than a window and than cmaStreamMin", ReadRemote,
			iov(lBase, pages*ps), iov(rBase, pages*ps), pages * ps},
		{"writev larger than a window, offset on both sides", WriteRemote,
			iov(lBase+100, pages*ps-200), iov(rBase+3000, pages*ps-3000), pages*ps - 3000},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			src, dst, srcIOV, dstIOV := remote, local, c.remote, c.local
			if c.dir == WriteRemote {
				src, dst, srcIOV, dstIOV = local, remote, c.local, c.remote
			}
			dstBase := Addr(lBase)
			if c.dir == WriteRemote {
				dstBase = rBase
			}
			srcImg, dstImg := src.Peek(Addr(src.VMAs()[0].Range.Start), pages*ps), dst.Peek(dstBase, pages*ps)
			srcBase := src.VMAs()[0].Range.Start
			from, to := cmaAddrs(srcIOV, c.n), cmaAddrs(dstIOV, c.n)
			for i := range min(len(from), len(to)) {
				dstImg[to[i]-dstBase] = srcImg[from[i]-srcBase]
			}
			used := ram.UsedFrames()

			n, err := CopyBetween(local.MM, c.local, remote.MM, c.remote, CopyOpts{Dir: c.dir})
			require.NoError(t, err)
			assert.Equal(t, c.n, n)
			assert.True(t, bytes.Equal(dstImg, dst.Peek(dstBase, pages*ps)), "destination bytes")
			if c.dir == ReadRemote {
				assert.Equal(t, used, ram.UsedFrames(), "readv allocates nothing")
			}
			assertNoExtraRefs(t, local, remote)
		})
	}
}

// cmaBadFile is a file whose pages from bad on cannot be read.
type cmaBadFile struct {
	cmaFile
	bad int64
}

func (f *cmaBadFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= f.bad {
		return 0, errors.New("I/O error")
	}
	return f.cmaFile.ReadAt(p, off)
}

func TestCMAFaultFailuresStopTheCopy(t *testing.T) {
	t.Run("readv stops at a remote file page that cannot be read", func(t *testing.T) {
		ram := newCMARAM(t)
		f := &cmaBadFile{cmaFile: cmaFile{data: bytes.Repeat([]byte("f"), 2*ps)}, bad: ps}
		remote := newCMASpace(t, ram, 1).MapFilePages(0x40_0000, 2, ProtRead, f)
		local := newCMASpace(t, ram, 2).MapPages(lRW, 2, ProtRead|ProtWrite)
		n, err := readv(local, iov(lRW, 2*ps), remote, iov(0x40_0000+10, 2*ps-10))
		require.NoError(t, err)
		assert.Equal(t, ps-10, n)
		assert.Equal(t, bytes.Repeat([]byte("f"), ps-10), local.Peek(lRW, ps-10))
		n, err = readv(local, iov(lRW, 2*ps), remote, iov(0x40_0000+ps, 10))
		assert.Equal(t, 0, n)
		assert.ErrorIs(t, err, linux.EFAULT)
	})
	t.Run("writev into an untouched remote page without free frames is EFAULT", func(t *testing.T) {
		ram, err := NewRAM(64 * ps)
		require.NoError(t, err)
		defer ram.Close()
		remote := newCMASpace(t, ram, 1).MapPages(rRW, 2, ProtRead|ProtWrite).Fill(rRW, ps)
		local := newCMASpace(t, ram, 2).MapPages(lRW, 1, ProtRead|ProtWrite).Fill(lRW, ps)
		var hoard []Frame
		for {
			f, err := ram.Alloc()
			if err != nil {
				break
			}
			hoard = append(hoard, f)
		}
		n, err := writev(local, iov(lRW, 100), remote, iov(rRW+ps-40, 100))
		require.NoError(t, err)
		assert.Equal(t, 40, n, "the populated page is written, the next needs a frame")
		n, err = writev(local, iov(lRW, 100), remote, iov(rRW+ps, 100))
		assert.Equal(t, 0, n)
		assert.ErrorIs(t, err, linux.EFAULT)
		for _, f := range hoard {
			ram.DecRef(f)
		}
		assertNoExtraRefs(t, remote, local)
	})
}
