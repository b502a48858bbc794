package mm

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
)

// The standard CMA scene's remote, plus shared mappings.
const (
	rShRW = 0x24_f000 // 1 page MAP_SHARED rw-, just below rShRO
	rShRO = 0x25_0000 // 1 page MAP_SHARED r--
)

func newProcMemScene(t testing.TB) cmaScene {
	s := newCMAScene(t)
	s.remote.MapSharedPages(rShRO, 1, ProtRead).Fill(rShRO, ps)
	s.remote.MapSharedPages(rShRW, 1, ProtRead|ProtWrite).Fill(rShRW, ps)
	return s
}

// sceneByte is what the remote of the scene holds at a.
func sceneByte(a Addr) byte {
	if a >= rFresh && a < rFresh+4*ps {
		return 0
	}
	return cmaPattern(1, a)
}

// raw reads n bytes at addr from whatever frame the page table holds,
// PROT_NONE pages included, without faulting: pages without a frame read
// as zeros.
func (s cmaSpace) raw(addr Addr, n int) []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]byte, 0, n)
	for len(out) < n {
		at := addr + Addr(len(out))
		chunk := min(n-len(out), int(PageSize-at.PageOffset()))
		var e PTE
		if slot := s.pt.lookup(at); slot != nil {
			e = load(slot)
		}
		if e.HasFrame() {
			b := s.ram.Bytes(e.Frame())[at.PageOffset():]
			out = append(out, b[:chunk]...)
		} else {
			out = append(out, make([]byte, chunk)...)
		}
	}
	return out
}

// TestAccessRemoteRules runs each access_remote_vm rule against the scene
// and checks the count, the error, the bytes read or written, that
// nothing else changed, and that no frame was leaked or left pinned.
func TestAccessRemoteRules(t *testing.T) {
	const (
		force      = FollForce
		forceWrite = FollForce | FollWrite
		write      = FollWrite
		read       = Foll(0)
	)
	cases := []struct {
		rule   string
		foll   Foll
		addr   Addr
		len    int
		n      int
		efault bool
	}{
		// Reads with FOLL_FORCE: VM_MAYREAD is enough.
		{"forced read across pages", force, rRW + 100, 3 * ps, 3 * ps, false},
		{"forced read of a read-only page", force, rRO + 5, 2*ps - 5, 2*ps - 5, false},
		{"forced read of text", force, rText, 2 * ps, 2 * ps, false},
		{"forced read of a PROT_NONE page returns its bytes", force, rNone + 8, 100, 100, false},
		{"forced read of a PROT_WRITE-only page", force, rWO, ps, ps, false},
		{"forced read of a PROT_EXEC-only page", force, rXO + 1, 10, 10, false},
		{"forced read from rw into PROT_NONE crosses the boundary", force, rNone - 30, 100, 100, false},
		{"forced read of untouched memory is zeros", force, rFresh + 7, 2 * ps, 2 * ps, false},
		{"forced read of a read-only shared page", force, rShRO, 64, 64, false},
		{"forced read stops at the hole, mid-page of the buffer", force, rRW + 3*ps + 100, ps, ps - 100, true},
		{"forced read of the hole itself is EFAULT", force, rHole + 5, 10, 0, true},
		{"forced read below the stack is EFAULT (no growth)", force, rStack - 16, 32, 0, true},
		{"forced read of the stack", force, rStack, 32, 32, false},
		{"forced read wrapping the top of the address space", force, ^Addr(0) - 5, 100, 0, true},
		{"forced read at the end of user space", force, TaskSize - 8, 16, 0, true},

		// Reads without FOLL_FORCE: VM_READ, as process_vm_readv.
		{"read of a read-only page", read, rRO, 64, 64, false},
		{"read of a PROT_NONE page is EFAULT", read, rNone, 10, 0, true},
		{"read of a PROT_WRITE-only page is EFAULT", read, rWO, 10, 0, true},
		{"read of a PROT_EXEC-only page is EFAULT", read, rXO, 10, 0, true},
		{"read from rw stops at PROT_NONE", read, rNone - 30, 100, 30, true},

		// Writes with FOLL_FORCE: any private mapping.
		{"forced write across pages", forceWrite, rRW + ps - 3, 2 * ps, 2 * ps, false},
		{"forced write to a read-only private page", forceWrite, rRO + 10, ps, ps, false},
		{"forced write to text", forceWrite, rText + ps - 2, 4, 4, false},
		{"forced write to a PROT_NONE private page", forceWrite, rNone + 1, 20, 20, false},
		{"forced write to a PROT_EXEC-only page", forceWrite, rXO, 16, 16, false},
		{"forced write to untouched memory", forceWrite, rFresh + ps + 1, 30, 30, false},
		{"forced write to a writable shared page", forceWrite, rShRW + 3, 40, 40, false},
		{"forced write to a read-only shared page is EFAULT", forceWrite, rShRO, 8, 0, true},
		{"forced write from shared rw into shared r-- stops there", forceWrite, rShRO - 5, 10, 5, true},
		{"forced write stops at the hole", forceWrite, rRW + 4*ps - 10, 20, 10, true},
		{"forced write below the stack is EFAULT", forceWrite, rStack - 1, 2, 0, true},

		// Writes without FOLL_FORCE: VM_WRITE, as process_vm_writev.
		{"write to a read-only page is EFAULT", write, rRO, 8, 0, true},
		{"write to text is EFAULT", write, rText, 8, 0, true},
		{"write to a PROT_WRITE-only page", write, rWO + 5, 8, 8, false},
		{"write from rw into read-only stops at the boundary", write, rRO - 50, 100, 50, true},

		{"nothing to do", forceWrite, rHole, 0, 0, false},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			s := newProcMemScene(t)
			r := s.remote
			tlb := &countingTLB{}
			r.AddTLB(tlb)
			vmas := r.VMAs()
			before := map[AddrRange][]byte{}
			for _, v := range vmas {
				before[v.Range] = r.raw(v.Range.Start, int(v.Range.Length()))
			}
			used := s.ram.UsedFrames()

			buf := make([]byte, c.len)
			for i := range buf {
				buf[i] = byte(0xa0 + i%7)
			}
			src := append([]byte(nil), buf...)
			n, err := r.AccessRemote(c.addr, buf, c.foll)
			assert.Equal(t, c.n, n)
			if c.efault {
				var f *Fault
				require.ErrorAs(t, err, &f)
				assert.ErrorIs(t, err, linux.EFAULT)
				assert.Equal(t, c.addr+Addr(c.n), f.Addr, "the fault is at the first byte not done")
			} else {
				require.NoError(t, err)
			}

			if c.foll&FollWrite == 0 {
				want := make([]byte, c.n)
				for i := range want {
					want[i] = sceneByte(c.addr + Addr(i))
				}
				assert.True(t, bytes.Equal(want, buf[:c.n]), "the bytes read")
				assert.Equal(t, src[c.n:], buf[c.n:], "the rest of the buffer is untouched")
				assert.Equal(t, used, s.ram.UsedFrames(), "reading allocates nothing")
				assert.Zero(t, tlb.code.Load())
			}
			for _, v := range vmas {
				exp := append([]byte(nil), before[v.Range]...)
				if c.foll&FollWrite != 0 {
					for i := 0; i < c.n; i++ {
						if a := c.addr + Addr(i); v.Range.Contains(a) {
							exp[a-v.Range.Start] = src[i]
						}
					}
				}
				assert.True(t, bytes.Equal(exp, r.raw(v.Range.Start, int(v.Range.Length()))), "bytes of %#x-%#x", v.Range.Start, v.Range.End)
			}
			for _, v := range r.VMAs() {
				if w, ok := r.FindVMA(v.Range.Start); assert.True(t, ok) {
					assert.Equal(t, v.Prot, w.Prot, "protections are unchanged")
				}
			}
			if c.foll&FollWrite != 0 && c.n > 0 {
				v, _ := r.FindVMA(c.addr)
				if v.Prot&ProtExec != 0 {
					assert.Positive(t, tlb.code.Load(), "translated code of the written page is dropped")
				} else {
					assert.Zero(t, tlb.code.Load())
				}
			}
			assertNoExtraRefs(t, r)
		})
	}
}

// TestForcedWriteKeepsGuestProtection: after a forced write the guest
// still may not write (or, for PROT_NONE, touch) the page.
func TestForcedWriteKeepsGuestProtection(t *testing.T) {
	s := newProcMemScene(t)
	r := s.remote
	_, err := r.AccessForce(rRO, []byte("forced"), true)
	require.NoError(t, err)
	_, err = r.CopyOut(rRO, []byte("x"))
	assert.ErrorIs(t, err, linux.EFAULT, "read-only for the guest")
	_, _, err = r.Translate(rRO, Write)
	assert.Error(t, err)

	_, err = r.AccessForce(rNone, []byte("hidden"), true)
	require.NoError(t, err)
	_, _, err = r.Translate(rNone, Read)
	assert.Error(t, err, "PROT_NONE stays inaccessible")
	require.NoError(t, r.Protect(rNone, ps, ProtRead))
	got := make([]byte, 6)
	_, err = r.CopyIn(rNone, got)
	require.NoError(t, err)
	assert.Equal(t, "hidden", string(got), "the bytes are there once the guest may read them")
}

// TestForcedWriteBreaksCOW: a forced write to a read-only private page
// shared with a fork gives the target a copy; the sibling keeps its bytes
// and frame; the same for a PROT_NONE page and for the zero frame.
func TestForcedWriteBreaksCOW(t *testing.T) {
	for _, prot := range []Prot{ProtRead, ProtNone, ProtRead | ProtExec} {
		t.Run("prot "+prot.String(), func(t *testing.T) {
			ram := newCMARAM(t)
			parent := newCMASpace(t, ram, 1).MapPages(rRO, 2, prot).Fill(rRO, 2*ps)
			cm, err := parent.Fork()
			require.NoError(t, err)
			child := cmaSpace{MM: cm, t: t, seed: 1}
			defer child.Release()
			tlb, siblingTLB := &countingTLB{}, &countingTLB{}
			child.AddTLB(tlb)
			parent.AddTLB(siblingTLB)
			old := parent.raw(rRO, 2*ps)
			shared := parent.Walk(rRO).Entry[Levels-1].Frame()
			require.Equal(t, shared, child.Walk(rRO).Entry[Levels-1].Frame())

			n, err := child.AccessForce(rRO+ps-4, []byte("breakpoint"), true)
			require.NoError(t, err)
			assert.Equal(t, 10, n)

			assert.Equal(t, old, parent.raw(rRO, 2*ps), "the sibling keeps its bytes")
			assert.Equal(t, shared, parent.Walk(rRO).Entry[Levels-1].Frame(), "and its frame")
			assert.Equal(t, "breakpoint", string(child.raw(rRO+ps-4, 10)))
			assert.Equal(t, old[:ps-4], child.raw(rRO, ps-4))
			assert.NotEqual(t, shared, child.Walk(rRO).Entry[Levels-1].Frame(), "the target has its own frame")
			assert.Positive(t, tlb.flushes.Load(), "the target's TLBs were shot down")
			assert.Zero(t, siblingTLB.flushes.Load())
			if prot&ProtExec != 0 {
				assert.Positive(t, tlb.code.Load())
			}
			assertNoExtraRefs(t, parent, child)
		})
	}
	t.Run("zero frame", func(t *testing.T) {
		ram := newCMARAM(t)
		m := newCMASpace(t, ram, 1).MapPages(rRO, 1, ProtRead)
		_, _, err := m.Translate(rRO, Read)
		require.NoError(t, err)
		require.Equal(t, ram.ZeroFrame, m.Walk(rRO).Leaf.Frame())
		_, err = m.AccessForce(rRO+8, []byte("data"), true)
		require.NoError(t, err)
		assert.NotEqual(t, ram.ZeroFrame, m.Walk(rRO).Leaf.Frame())
		assert.Equal(t, make([]byte, ps), ram.Bytes(ram.ZeroFrame), "the zero frame stays zero")
		assertNoExtraRefs(t, m)
	})
}

// TestForcedWriteToPrivateFileMapping: the file keeps its bytes; another
// mapping of the file still sees them.
func TestForcedWriteToPrivateFileMapping(t *testing.T) {
	ram := newCMARAM(t)
	data := bytes.Repeat([]byte("file"), ps/2)
	f := &cmaFile{data: append([]byte(nil), data...)}
	a := newCMASpace(t, ram, 1).MapFilePages(0x40_0000, 2, ProtRead|ProtExec, f)
	b := newCMASpace(t, ram, 2).MapFilePages(0x40_0000, 2, ProtRead|ProtExec, f)
	got := make([]byte, 8)
	_, err := b.AccessForce(0x40_0000+ps, got, false)
	require.NoError(t, err)

	n, err := a.AccessForce(0x40_0000+ps, []byte("\xcc\xcc"), true)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, data, f.data, "the file is unchanged")
	_, err = a.AccessForce(0x40_0000+ps, got, false)
	require.NoError(t, err)
	assert.Equal(t, "\xcc\xccle", string(got[:4]))
	_, err = b.AccessForce(0x40_0000+ps, got, false)
	require.NoError(t, err)
	assert.Equal(t, "file", string(got[:4]), "another mapping of the file sees the file")
	assertNoExtraRefs(t, a, b)
}

func TestAccessRemoteOfReleasedSpace(t *testing.T) {
	s := newProcMemScene(t)
	s.remote.Release()
	n, err := s.remote.AccessForce(rRW, make([]byte, 10), false)
	assert.Equal(t, 0, n)
	assert.ErrorIs(t, err, linux.EFAULT)
}

func TestStats(t *testing.T) {
	ram, m := newTestMM(t)
	mapAt(t, m, 0x100000, 4, ProtRead|ProtWrite)
	_, err := m.CopyOut(0x100000, make([]byte, 2*PageSize)) // 2 dirty anonymous pages
	require.NoError(t, err)
	_, _, err = m.Translate(0x102000, Read) // the zero frame: not counted
	require.NoError(t, err)
	f := &cmaFile{data: make([]byte, 2*PageSize)}
	_, err = m.Map(MapOpts{Addr: 0x200000, Length: 2 * PageSize, Prot: ProtRead, Fixed: true, File: f})
	require.NoError(t, err)
	_, _, err = m.Translate(0x200000, Read) // a clean file page
	require.NoError(t, err)
	_, err = m.Map(MapOpts{Addr: 0x300000, Length: PageSize, Prot: ProtRead | ProtWrite, Fixed: true, Shared: true})
	require.NoError(t, err)
	_, err = m.CopyOut(0x300000, []byte("shm")) // a shmem page
	require.NoError(t, err)

	s := m.Stats()
	assert.Equal(t, uint64(4*PageSize), s.Resident)
	assert.Equal(t, uint64(2*PageSize), s.Anon)
	assert.Equal(t, uint64(PageSize), s.File)
	assert.Equal(t, uint64(PageSize), s.Shmem)
	assert.Equal(t, uint64(3*PageSize), s.PrivateDirty)
	assert.Equal(t, uint64(PageSize), s.PrivateClean)
	assert.Equal(t, uint64(0), s.SharedClean+s.SharedDirty)
	assert.Equal(t, s.Resident, s.Pss, "nothing is shared")
	assert.Equal(t, s.Resident, s.Referenced)
	assert.Equal(t, uint64(5*PageSize), s.PageTables, "PML4, PDPT, PD and two PTs")

	child, err := m.Fork()
	require.NoError(t, err)
	defer child.Release()
	s = m.Stats()
	assert.Equal(t, uint64(4*PageSize), s.SharedClean+s.SharedDirty, "after fork every page is shared")
	assert.Equal(t, uint64(2*PageSize), s.Pss, "and half of each is the parent's")
	_ = ram
}
