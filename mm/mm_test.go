package mm

import (
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
)

const testRAM = 64 << 20

func newTestMM(t testing.TB) (*RAM, *MM) {
	t.Helper()
	ram, err := NewRAM(testRAM)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	m, err := New(ram, Layout64)
	require.NoError(t, err)
	return ram, m
}

// mapAt maps pages anonymous private pages at addr with prot.
func mapAt(t testing.TB, m *MM, addr Addr, pages int, prot Prot) {
	t.Helper()
	got, err := m.Map(MapOpts{Addr: addr, Length: uint64(pages) * PageSize, Prot: prot, Fixed: true})
	require.NoError(t, err)
	require.Equal(t, addr, got)
}

type countingTLB struct{ flushes, code atomic.Int32 }

func (c *countingTLB) FlushTLB() uint64          { return uint64(c.flushes.Add(1)) }
func (c *countingTLB) WaitTLB(uint64)            {}
func (c *countingTLB) InvalidateCode(fs []Frame) { c.code.Add(1) }

func TestAddr(t *testing.T) {
	a := Addr(0x1234)
	assert.Equal(t, Addr(0x1000), a.RoundDown())
	r, ok := a.RoundUp()
	assert.True(t, ok)
	assert.Equal(t, Addr(0x2000), r)
	_, ok = Addr(^uint64(0) - 5).RoundUp()
	assert.False(t, ok)
	_, ok = Addr(^uint64(0)).AddLength(1)
	assert.False(t, ok)
	assert.Equal(t, uint64(0x234), a.PageOffset())
	assert.True(t, AddrRange{0, 10}.Overlaps(AddrRange{9, 20}))
	assert.False(t, AddrRange{0, 10}.Overlaps(AddrRange{10, 20}))
}

func TestFramesZeroedOnReuse(t *testing.T) {
	ram, err := NewRAM(1 << 20)
	require.NoError(t, err)
	defer ram.Close()
	f, err := ram.Alloc()
	require.NoError(t, err)
	copy(ram.Bytes(f), "secret")
	ram.DecRef(f)
	g, err := ram.Alloc()
	require.NoError(t, err)
	assert.Equal(t, f, g, "LIFO reuse")
	assert.Equal(t, make([]byte, PageSize), ram.Bytes(g))
}

func TestRAMExhaustion(t *testing.T) {
	ram, err := NewRAM(8 * PageSize)
	require.NoError(t, err)
	defer ram.Close()
	var n int
	for {
		if _, err := ram.Alloc(); err != nil {
			assert.ErrorIs(t, err, linux.ENOMEM)
			break
		}
		n++
	}
	assert.Equal(t, 8-2, n, "frame 0 and the zero frame are reserved")
}

func TestWalkBuildsFourLevels(t *testing.T) {
	_, m := newTestMM(t)
	va := Addr(0x7fff_1234_5000)
	mapAt(t, m, va, 1, ProtRead|ProtWrite)
	w := m.Walk(va)
	assert.Equal(t, 1, w.Depth, "nothing below the root before the first touch")

	_, err := m.CopyOut(va+8, []byte{1})
	require.NoError(t, err)
	w = m.Walk(va + 8)
	require.Equal(t, Levels, w.Depth)
	assert.Equal(t, [Levels]int{0xff, 0x1fc, 0x91, 0x145}, w.Index)
	assert.True(t, w.Leaf.Present())
	assert.NotZero(t, w.Leaf&PTEWrite)
	assert.NotZero(t, w.Leaf&PTEUser)
	assert.NotZero(t, w.Leaf&PTENoExec)
	assert.NotZero(t, w.Leaf&PTEDirty)
	assert.Equal(t, uint64(8), uint64(w.PA)&0xfff)
}

func TestTranslatePermissions(t *testing.T) {
	_, m := newTestMM(t)
	mapAt(t, m, 0x10000, 1, ProtRead)
	mapAt(t, m, 0x11000, 1, ProtRead|ProtWrite)
	mapAt(t, m, 0x12000, 1, ProtNone)
	mapAt(t, m, 0x13000, 1, ProtRead|ProtExec)
	mapAt(t, m, 0x14000, 1, ProtWrite)
	cases := []struct {
		name   string
		va     Addr
		acc    Access
		ok     bool
		mapped bool
	}{
		{"read of read-only page", 0x10000, Read, true, true},
		{"write of read-only page is ACCERR", 0x10010, Write, false, true},
		{"exec of non-exec page is ACCERR", 0x11000, Exec, false, true},
		{"write of rw page", 0x11000, Write, true, true},
		{"read of PROT_NONE page is ACCERR", 0x12000, Read, false, true},
		{"exec of r-x page", 0x13000, Exec, true, true},
		{"read of write-only page (x86: readable)", 0x14000, Read, true, true},
		{"read of unmapped page is MAPERR", 0x15000, Read, false, false},
		{"read below all mappings is MAPERR", 0x0, Read, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := m.Translate(c.va, c.acc)
			if c.ok {
				assert.NoError(t, err)
				return
			}
			var f *Fault
			require.ErrorAs(t, err, &f)
			assert.Equal(t, c.va, f.Addr)
			assert.Equal(t, c.mapped, f.Mapped)
			assert.ErrorIs(t, err, linux.EFAULT)
		})
	}
}

func TestDemandZeroSharesZeroFrameUntilWrite(t *testing.T) {
	ram, m := newTestMM(t)
	mapAt(t, m, 0x100000, 16, ProtRead|ProtWrite)
	before := ram.UsedFrames()
	buf := make([]byte, 16*PageSize)
	n, err := m.CopyIn(0x100000, buf)
	require.NoError(t, err)
	assert.Equal(t, len(buf), n)
	assert.Equal(t, make([]byte, len(buf)), buf)
	tables := ram.UsedFrames() - before
	assert.LessOrEqual(t, tables, 3, "reading zeros allocates page tables only")
	_, err = m.CopyOut(0x100000+5*PageSize+7, []byte("x"))
	require.NoError(t, err)
	assert.Equal(t, before+tables+1, ram.UsedFrames())
	_, err = m.CopyIn(0x100000+5*PageSize, buf[:8])
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0, 0, 0, 0, 0, 0, 'x'}, buf[:8])
}

func TestCopyStopsAtFirstBadByte(t *testing.T) {
	_, m := newTestMM(t)
	mapAt(t, m, 0x20000, 2, ProtRead|ProtWrite)
	mapAt(t, m, 0x23000, 1, ProtRead) // hole at 0x22000
	src := make([]byte, 3*PageSize)
	n, err := m.CopyOut(0x20010, src)
	assert.Equal(t, 2*PageSize-0x10, n)
	assert.ErrorIs(t, err, linux.EFAULT)
	var f *Fault
	require.ErrorAs(t, err, &f)
	assert.Equal(t, Addr(0x22000), f.Addr)

	n, err = m.CopyOut(0x23000, []byte("abc"))
	assert.Equal(t, 0, n, "read-only page is not writable by the kernel")
	assert.ErrorIs(t, err, linux.EFAULT)

	n, err = m.CopyIn(0x21ffe, make([]byte, 4))
	assert.Equal(t, 2, n)
	assert.ErrorIs(t, err, linux.EFAULT)
}

func TestCopyInString(t *testing.T) {
	_, m := newTestMM(t)
	mapAt(t, m, 0x30000, 2, ProtRead|ProtWrite)
	_, err := m.CopyOut(0x30ffd, []byte("hello\x00"))
	require.NoError(t, err)
	s, err := m.CopyInString(0x30ffd, 100)
	require.NoError(t, err)
	assert.Equal(t, "hello", s)
	_, err = m.CopyInString(0x30ffd, 3)
	assert.ErrorIs(t, err, linux.ENAMETOOLONG)
	_, err = m.CopyOut(0x31ff0, []byte("0123456789abcdef"))
	require.NoError(t, err)
	_, err = m.CopyInString(0x31ff0, 100)
	assert.ErrorIs(t, err, linux.EFAULT, "string runs off the mapping")
}

func TestMapPlacementAndErrors(t *testing.T) {
	_, m := newTestMM(t)
	a, err := m.Map(MapOpts{Length: 3 * PageSize, Prot: ProtRead})
	require.NoError(t, err)
	assert.Equal(t, Layout64.MmapBase-3*PageSize, a, "top-down below the mmap base")
	b, err := m.Map(MapOpts{Length: 1, Prot: ProtRead})
	require.NoError(t, err)
	assert.Equal(t, a-PageSize, b)

	_, err = m.Map(MapOpts{Length: 0, Prot: ProtRead})
	assert.ErrorIs(t, err, linux.EINVAL)
	_, err = m.Map(MapOpts{Addr: 0x1001, Length: 1, Fixed: true})
	assert.ErrorIs(t, err, linux.EINVAL)
	_, err = m.Map(MapOpts{Addr: a, Length: 1, NoReplace: true})
	assert.ErrorIs(t, err, linux.EEXIST)
	_, err = m.Map(MapOpts{Addr: TaskSize - PageSize, Length: 2 * PageSize, Fixed: true})
	assert.ErrorIs(t, err, linux.ENOMEM)
	assert.ErrorIs(t, m.Unmap(0x1001, 1), linux.EINVAL)
	assert.ErrorIs(t, m.Unmap(0x1000, 0), linux.EINVAL)
}

func TestUnmapSplitsAndFreesFrames(t *testing.T) {
	ram, m := newTestMM(t)
	tlb := &countingTLB{}
	m.AddTLB(tlb)
	mapAt(t, m, 0x400000, 4, ProtRead|ProtWrite|ProtExec)
	_, err := m.CopyOut(0x400000, make([]byte, 4*PageSize))
	require.NoError(t, err)
	assert.Equal(t, int32(1), tlb.code.Load(), "the kernel's write to executable pages drops their code")
	tlb.flushes.Store(0)
	tlb.code.Store(0)
	used := ram.UsedFrames()
	require.NoError(t, m.Unmap(0x401000, 2*PageSize))
	assert.Equal(t, used-2, ram.UsedFrames())
	assert.Equal(t, int32(1), tlb.flushes.Load())
	assert.Equal(t, int32(1), tlb.code.Load(), "executable pages drop their translated code")
	vmas := m.VMAs()
	require.Len(t, vmas, 2)
	assert.Equal(t, AddrRange{0x400000, 0x401000}, vmas[0].Range)
	assert.Equal(t, AddrRange{0x403000, 0x404000}, vmas[1].Range)
	_, _, err = m.Translate(0x401000, Read)
	assert.Error(t, err)
}

func TestProtectUpdatesPTEsAndMerges(t *testing.T) {
	_, m := newTestMM(t)
	tlb := &countingTLB{}
	m.AddTLB(tlb)
	mapAt(t, m, 0x500000, 3, ProtRead|ProtWrite)
	_, err := m.CopyOut(0x500000, make([]byte, 3*PageSize))
	require.NoError(t, err)
	require.NoError(t, m.Protect(0x501000, PageSize, ProtRead))
	assert.Len(t, m.VMAs(), 3)
	assert.Zero(t, m.Walk(0x501000).Leaf&PTEWrite)
	_, err = m.CopyOut(0x501000, []byte{1})
	assert.ErrorIs(t, err, linux.EFAULT)
	assert.Positive(t, tlb.flushes.Load())
	require.NoError(t, m.Protect(0x501000, PageSize, ProtRead|ProtWrite))
	assert.Len(t, m.VMAs(), 1, "equal neighbours merge again")
	assert.ErrorIs(t, m.Protect(0x502000, 2*PageSize, ProtRead), linux.ENOMEM, "hole after the mapping")
}

func TestBrk(t *testing.T) {
	_, m := newTestMM(t)
	m.SetBrk(0x600000)
	assert.Equal(t, Addr(0x600000), m.Brk(0))
	assert.Equal(t, Addr(0x600000), m.Brk(0x5ff000), "below the start fails")
	assert.Equal(t, Addr(0x602345), m.Brk(0x602345))
	_, err := m.CopyOut(0x602fff, []byte{1})
	require.NoError(t, err, "the page holding the break is mapped")
	assert.Equal(t, Addr(0x601000), m.Brk(0x601000))
	_, err = m.CopyOut(0x601000, []byte{1})
	assert.ErrorIs(t, err, linux.EFAULT)
	mapAt(t, m, 0x700000, 1, ProtRead)
	assert.Equal(t, Addr(0x601000), m.Brk(0x700001), "collision with a mapping fails")
}

func TestRemapKeepsContents(t *testing.T) {
	_, m := newTestMM(t)
	mapAt(t, m, 0x800000, 2, ProtRead|ProtWrite)
	mapAt(t, m, 0x802000, 1, ProtRead) // blocks growing in place
	_, err := m.CopyOut(0x800000, []byte("moved"))
	require.NoError(t, err)
	_, err = m.Remap(0x800000, 2*PageSize, 8*PageSize, false, false, 0)
	assert.ErrorIs(t, err, linux.ENOMEM)
	na, err := m.Remap(0x800000, 2*PageSize, 8*PageSize, true, false, 0)
	require.NoError(t, err)
	assert.NotEqual(t, Addr(0x800000), na)
	buf := make([]byte, 5)
	_, err = m.CopyIn(na, buf)
	require.NoError(t, err)
	assert.Equal(t, "moved", string(buf))
	_, _, err = m.Translate(0x800000, Read)
	assert.Error(t, err)
	_, err = m.Remap(0x900000, PageSize, 2*PageSize, true, false, 0)
	assert.ErrorIs(t, err, linux.EFAULT)
}

func TestDontNeedZeroesPrivateAnon(t *testing.T) {
	ram, m := newTestMM(t)
	mapAt(t, m, 0xa00000, 1, ProtRead|ProtWrite)
	_, err := m.CopyOut(0xa00000, []byte("data"))
	require.NoError(t, err)
	used := ram.UsedFrames()
	require.NoError(t, m.DontNeed(0xa00000, PageSize))
	assert.Equal(t, used-1, ram.UsedFrames())
	buf := []byte("xxxx")
	_, err = m.CopyIn(0xa00000, buf)
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0, 0, 0}, buf)
}

func TestForkCOW(t *testing.T) {
	ram, parent := newTestMM(t)
	mapAt(t, parent, 0xb00000, 1, ProtRead|ProtWrite)
	_, err := parent.Map(MapOpts{Addr: 0xc00000, Length: PageSize, Prot: ProtRead | ProtWrite, Fixed: true, Shared: true})
	require.NoError(t, err)
	_, err = parent.CopyOut(0xb00000, []byte("parent"))
	require.NoError(t, err)
	_, err = parent.CopyOut(0xc00000, []byte("shared"))
	require.NoError(t, err)

	child, err := parent.Fork()
	require.NoError(t, err)
	pw, cw := parent.Walk(0xb00000), child.Walk(0xb00000)
	assert.Equal(t, pw.Leaf.Frame(), cw.Leaf.Frame(), "frames shared after fork")
	assert.Zero(t, pw.Leaf&PTEWrite)
	assert.NotZero(t, cw.Leaf&PTECOW)

	_, err = child.CopyOut(0xb00000, []byte("child!"))
	require.NoError(t, err)
	buf := make([]byte, 6)
	_, err = parent.CopyIn(0xb00000, buf)
	require.NoError(t, err)
	assert.Equal(t, "parent", string(buf), "the writer's copy is private")
	_, err = child.CopyIn(0xb00000, buf)
	require.NoError(t, err)
	assert.Equal(t, "child!", string(buf))

	_, err = child.CopyOut(0xc00000, []byte("SHARED"))
	require.NoError(t, err)
	_, err = parent.CopyIn(0xc00000, buf)
	require.NoError(t, err)
	assert.Equal(t, "SHARED", string(buf), "MAP_SHARED stays shared")

	// The parent is now the only owner of its frame: writing needs no copy.
	used := ram.UsedFrames()
	_, err = parent.CopyOut(0xb00000, []byte("P"))
	require.NoError(t, err)
	assert.Equal(t, used, ram.UsedFrames())
	child.Release()
}

func TestForkExitCyclesLeakNoFrames(t *testing.T) {
	ram, parent := newTestMM(t)
	mapAt(t, parent, 0xd00000, 8, ProtRead|ProtWrite)
	_, err := parent.Map(MapOpts{Addr: 0xe00000, Length: 4 * PageSize, Prot: ProtRead | ProtWrite, Fixed: true, Shared: true})
	require.NoError(t, err)
	_, err = parent.CopyOut(0xd00000, make([]byte, 4*PageSize))
	require.NoError(t, err)
	_, err = parent.CopyOut(0xe00000, make([]byte, PageSize))
	require.NoError(t, err)
	base := ram.UsedFrames()
	for i := 0; i < 1000; i++ {
		child, err := parent.Fork()
		require.NoError(t, err)
		_, err = child.CopyOut(0xd00000+Addr(i%8)*PageSize, []byte{byte(i)})
		require.NoError(t, err)
		_, err = child.CopyOut(0xe01000, []byte{byte(i)})
		require.NoError(t, err)
		child.Release()
	}
	// The shared object gained one page; the parent's private pages may
	// have become its own again, but nothing else remains.
	assert.Equal(t, base+1, ram.UsedFrames())
	parent.Release()
	assert.Equal(t, 1, ram.UsedFrames(), "only the zero frame is left")
}

func TestWriteForceIgnoresProtection(t *testing.T) {
	_, m := newTestMM(t)
	tlb := &countingTLB{}
	m.AddTLB(tlb)
	mapAt(t, m, 0x400000, 1, ProtRead|ProtExec)
	require.NoError(t, m.WriteForce(0x400ff0, []byte("text")))
	buf := make([]byte, 4)
	_, err := m.CopyIn(0x400ff0, buf)
	require.NoError(t, err)
	assert.Equal(t, "text", string(buf))
	_, err = m.CopyOut(0x400ff0, buf)
	assert.ErrorIs(t, err, linux.EFAULT, "still read-only for the guest")
	assert.Equal(t, int32(1), tlb.code.Load())
	err = m.WriteForce(0x500000, buf)
	assert.True(t, errors.Is(err, linux.EFAULT))
}

func BenchmarkTranslateHit(b *testing.B) {
	_, m := newTestMM(b)
	mapAt(b, m, 0x400000, 1, ProtRead|ProtWrite)
	_, _, _ = m.Translate(0x400000, Write)
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = m.Translate(0x400000, Read)
	}
}

func BenchmarkDemandFault(b *testing.B) {
	_, m := newTestMM(b)
	const pages = 4096
	mapAt(b, m, 0x10000000, pages, ProtRead|ProtWrite)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == pages {
			b.StopTimer()
			require.NoError(b, m.DontNeed(0x10000000, pages*PageSize))
			i = 0
			b.StartTimer()
		}
		_, _, _ = m.Translate(0x10000000+Addr(i)*PageSize, Write)
		i++
	}
}

func TestProtNoneHidesAFrameUntilMprotect(t *testing.T) {
	ram, m := newTestMM(t)
	mapAt(t, m, 0x900000, 1, ProtRead|ProtWrite)
	_, err := m.CopyOut(0x900000, []byte("kept"))
	require.NoError(t, err)
	used := ram.UsedFrames()
	require.NoError(t, m.Protect(0x900000, PageSize, ProtNone))
	_, _, err = m.Translate(0x900000, Read)
	var f *Fault
	require.ErrorAs(t, err, &f, "a PROT_NONE page is not readable, even with a frame")
	assert.True(t, f.Mapped)
	assert.Equal(t, used, ram.UsedFrames(), "the frame is kept")
	require.NoError(t, m.Protect(0x900000, PageSize, ProtRead))
	buf := make([]byte, 4)
	_, err = m.CopyIn(0x900000, buf)
	require.NoError(t, err)
	assert.Equal(t, "kept", string(buf))
	require.NoError(t, m.Protect(0x900000, PageSize, ProtNone))
	require.NoError(t, m.Unmap(0x900000, PageSize))
	assert.Equal(t, used-1, ram.UsedFrames(), "unmapping a PROT_NONE page frees its frame")
}

// memFile is a SharedFile in memory.
type memFile struct {
	data []byte
	refs int
}

func (f *memFile) ReadAt(b []byte, off int64) (int, error) {
	if off >= int64(len(f.data)) {
		return 0, io.EOF
	}
	return copy(b, f.data[off:]), nil
}

func (f *memFile) WriteAt(b []byte, off int64) (int, error) {
	return copy(f.data[off:], b), nil
}
func (f *memFile) Size() (int64, error) { return int64(len(f.data)), nil }
func (f *memFile) IncRef()              { f.refs++ }
func (f *memFile) DecRef()              { f.refs-- }
func (f *memFile) Name() string         { return "/dev/shm/test" }

func TestSharedFileMappingsShareFramesAndWriteBack(t *testing.T) {
	ram, a := newTestMM(t)
	b, err := New(ram, Layout64)
	require.NoError(t, err)
	file := &memFile{data: append([]byte("file contents"), make([]byte, PageSize+100)...)}
	released := false
	obj := NewFileObject(file, func() { released = true })
	for _, m := range []*MM{a, b} {
		_, err := m.Map(MapOpts{Addr: 0x300000, Length: 2 * PageSize, Prot: ProtRead | ProtWrite, Fixed: true, Object: obj})
		require.NoError(t, err)
	}
	obj.Release(ram)

	buf := make([]byte, 13)
	_, err = b.CopyIn(0x300000, buf)
	require.NoError(t, err)
	assert.Equal(t, "file contents", string(buf), "pages come from the file")
	_, err = a.CopyOut(0x300000, []byte("FILE"))
	require.NoError(t, err)
	_, err = b.CopyIn(0x300000, buf[:4])
	require.NoError(t, err)
	assert.Equal(t, "FILE", string(buf[:4]), "another address space sees the write at once")
	assert.Equal(t, "file", string(file.data[:4]), "not written back yet")

	require.NoError(t, a.Sync(0x300000, PageSize))
	assert.Equal(t, "FILE", string(file.data[:4]), "msync writes back")
	_, err = b.CopyOut(0x300000+PageSize+50, []byte("tail"))
	require.NoError(t, err)
	_, err = b.CopyOut(0x300000+PageSize+200, []byte("past the end"))
	require.NoError(t, err)
	require.NoError(t, b.Unmap(0x300000, 2*PageSize))
	assert.Equal(t, "tail", string(file.data[PageSize+50:PageSize+54]), "unmapping writes back")
	assert.Len(t, file.data, PageSize+113, "the file does not grow")
	assert.False(t, released)
	a.Release()
	b.Release()
	assert.True(t, released, "the last mapping releases the object")
	assert.Equal(t, 0, file.refs)
}

// TestKernelWritesDropCode: code the kernel writes into an executable page
// (read() into it, CopyOut, process_vm_writev) must not run as translated
// before: the engines' code of the page is dropped once the write is done.
// Writes to pages that are not executable, and reads, drop nothing.
func TestKernelWritesDropCode(t *testing.T) {
	_, m := newTestMM(t)
	tlb := &countingTLB{}
	m.AddTLB(tlb)
	mapAt(t, m, 0x400000, 2, ProtRead|ProtWrite|ProtExec)
	mapAt(t, m, 0x600000, 1, ProtRead|ProtWrite)

	_, err := m.CopyOut(0x600000, []byte{1})
	require.NoError(t, err)
	assert.Zero(t, tlb.code.Load(), "data page")

	bufs, unpin, err := m.Buffers(nil, 0x400ff0, 32, Write)
	require.NoError(t, err)
	assert.Zero(t, tlb.code.Load(), "nothing dropped before the write is done")
	copy(bufs[0], []byte{0xc3})
	unpin()
	assert.Equal(t, int32(1), tlb.code.Load(), "dropped once, for both pages")

	_, err = m.CopyIn(0x400000, make([]byte, 8))
	require.NoError(t, err)
	assert.Equal(t, int32(1), tlb.code.Load(), "reads drop nothing")
}
