package mm

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
)

// Addresses whose bits 47..12 equal a user page's: a walker that used
// only the table indices would reach the user page through each.
func aliases(va Addr) []Addr {
	return []Addr{
		va | 1<<48, va | 1<<47, va | 1<<63,
		va | 0xffff_8000_0000_0000, // canonical, the kernel half
		va | 0xffff_0000_0000_0000,
	}
}

func TestHighAddressesNeverTranslate(t *testing.T) {
	_, m := newTestMM(t)
	const va = Addr(0x400000)
	mapAt(t, m, va, 1, ProtRead|ProtWrite)
	_, err := m.CopyOut(va, []byte("secret"))
	require.NoError(t, err)
	for _, a := range append(aliases(va), TaskSize, TaskSize+0x1000) {
		for _, acc := range []Access{Read, Write, Exec} {
			_, _, err := m.Translate(a, acc)
			var f *Fault
			require.ErrorAs(t, err, &f, "%#x %v", a, acc)
			assert.Equal(t, a, f.Addr)
			assert.False(t, f.Mapped)
		}
		buf := make([]byte, 6)
		n, err := m.CopyIn(a, buf)
		assert.Zero(t, n)
		assert.ErrorIs(t, err, linux.EFAULT)
		n, err = m.CopyOut(a, []byte("XXXXXX"))
		assert.Zero(t, n)
		assert.ErrorIs(t, err, linux.EFAULT)
		_, err = m.CopyInString(a, 100)
		assert.ErrorIs(t, err, linux.EFAULT)
		_, ok := m.PeekUint32(a)
		assert.False(t, ok)
		assert.Zero(t, m.Walk(a).Leaf)
		assert.ErrorIs(t, m.WriteForce(a, []byte("x")), linux.EFAULT)
	}
	got := make([]byte, 6)
	_, err = m.CopyIn(va, got)
	require.NoError(t, err)
	assert.Equal(t, "secret", string(got))
	// A copy that runs from the last user page up to TASK_SIZE stops there.
	top := TaskSize - PageSize
	mapAt(t, m, top, 1, ProtRead|ProtWrite)
	n, err := m.CopyOut(top+PageSize-2, []byte("abcd"))
	assert.Equal(t, 2, n)
	assert.ErrorIs(t, err, linux.EFAULT)
}

// forge overwrites the entry at level l of va's walk.
func forge(m *MM, va Addr, l int, e PTE) PTE {
	w := m.pt.Walk(va)
	p := m.ram.word(w.Table[l] + PhysAddr(w.Index[l]*8))
	old := load(p)
	store(p, e)
	return old
}

func TestForgedEntriesFault(t *testing.T) {
	ram, m := newTestMM(t)
	const va = Addr(0x400000)
	bad := []PTE{
		PTE(uint64(ram.Frames())<<PageShift) | PTEPresent | PTEWrite | PTEUser,
		PTE(uint64(ram.Frames()+12345)<<PageShift) | PTEPresent | PTEWrite | PTEUser,
		// Frame bits above 32: a narrowing conversion would alias frame 1.
		PTE(1<<44|1<<PageShift) | PTEPresent | PTEWrite | PTEUser,
		pteAddrMask | PTEPresent | PTEWrite | PTEUser,
	}
	for l := 0; l < Levels; l++ {
		for _, e := range bad {
			mapAt(t, m, va, 1, ProtRead|ProtWrite)
			_, err := m.CopyOut(va, []byte("data"))
			require.NoError(t, err)
			old := forge(m, va, l, e)
			for _, acc := range []Access{Read, Write, Exec} {
				_, _, err := m.Translate(va, acc)
				var f *Fault
				assert.ErrorAs(t, err, &f, "level %d entry %v %v", l, e, acc)
			}
			_, err = m.CopyIn(va, make([]byte, 4))
			assert.ErrorIs(t, err, linux.EFAULT)
			_, err = m.CopyOut(va, []byte("x"))
			assert.ErrorIs(t, err, linux.EFAULT)
			_, err = m.CopyInString(va, 10)
			assert.ErrorIs(t, err, linux.EFAULT)
			_, _, err = m.Buffers(nil, va, 8, Read)
			assert.ErrorIs(t, err, linux.EFAULT)
			_, ok := m.PeekUint32(va)
			assert.False(t, ok)
			w := m.Walk(va)
			assert.Zero(t, w.Leaf)
			assert.Equal(t, l+1, w.Depth)
			// Walks over the range skip the entry without touching it.
			n := 0
			m.pt.forEachLeaf(0, TaskSize, func(Addr, *uint64) { n++ })
			assert.Zero(t, n)
			forge(m, va, l, old)
			require.NoError(t, m.Unmap(va, PageSize))
		}
	}
}

func TestRAMOutOfRangeFrames(t *testing.T) {
	ram, err := NewRAM(1 << 20)
	require.NoError(t, err)
	defer ram.Close()
	for _, f := range []Frame{Frame(ram.Frames()), Frame(ram.Frames() + 1), ^Frame(0)} {
		assert.False(t, ram.Valid(f))
		assert.NotPanics(t, func() {
			ram.IncRef(f)
			ram.DecRef(f)
			assert.Zero(t, ram.Refs(f))
			b := ram.Bytes(f)
			assert.Len(t, b, PageSize)
			b[0] = 1
			assert.Zero(t, ram.Bytes(f)[0], "a frame outside the pool keeps nothing")
			assert.Zero(t, *ram.word(f.Addr()))
		})
	}
	used := ram.UsedFrames()
	assert.Equal(t, used, ram.UsedFrames())
	_, ok := ram.EntryFrame(PTE(uint64(ram.Frames()-1) << PageShift))
	assert.True(t, ok)
	_, ok = ram.EntryFrame(PTE(uint64(ram.Frames()) << PageShift))
	assert.False(t, ok)
}

// A copy holds a reference on each frame while it uses it: a concurrent
// munmap cannot free the frame (and a new mapping reuse it) under it.
func TestCopyPinsFrames(t *testing.T) {
	ram, m := newTestMM(t)
	const va = Addr(0x400000)
	mapAt(t, m, va, 1, ProtRead|ProtWrite)
	_, err := m.CopyOut(va, []byte{1})
	require.NoError(t, err)
	f := m.Walk(va).Leaf.Frame()
	var during int
	_, err = m.copyPages(va, 1, Read, func([]byte, int) { during = ram.Refs(f) })
	require.NoError(t, err)
	assert.Equal(t, 2, during)
	assert.Equal(t, 1, ram.Refs(f))

	bufs, unpin, err := m.Buffers(nil, va, 16, Write)
	require.NoError(t, err)
	require.Len(t, bufs, 1)
	assert.Equal(t, 2, ram.Refs(f))
	require.NoError(t, m.Unmap(va, PageSize))
	assert.Equal(t, 1, ram.Refs(f), "the pin keeps the frame")
	unpin()
	assert.Equal(t, 0, ram.Refs(f))

	// Copies racing with unmap and remap never fail other than EFAULT.
	mapAt(t, m, va, 1, ProtRead|ProtWrite)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			m.Unmap(va, PageSize)
			m.Map(MapOpts{Addr: va, Length: PageSize, Prot: ProtRead | ProtWrite, Fixed: true})
		}
	}()
	for i := 0; i < 2000; i++ {
		_, err := m.CopyOut(va, []byte("abcdefgh"))
		if err != nil && !errors.Is(err, linux.EFAULT) {
			t.Fatal(err)
		}
		if _, err := m.CopyInString(va, 64); err != nil && !errors.Is(err, linux.EFAULT) && !errors.Is(err, linux.ENAMETOOLONG) {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}
