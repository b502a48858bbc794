package mm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
)

// resident returns mincore's vector of n pages at addr as a string of 0s
// and 1s.
func resident(t *testing.T, m *MM, addr Addr, n int) string {
	t.Helper()
	vec := make([]byte, n)
	got, err := m.Mincore(addr, vec)
	require.NoError(t, err)
	require.Equal(t, n, got)
	out := make([]byte, n)
	for i, b := range vec {
		out[i] = '0' + b
	}
	return string(out)
}

func TestAdviseChecks(t *testing.T) {
	_, m := newTestMM(t)
	mapAt(t, m, 0x400000, 4, ProtRead|ProtWrite)
	mapAt(t, m, 0x406000, 2, ProtRead|ProtWrite) // a hole at 0x404000
	for _, c := range []struct {
		name   string
		addr   Addr
		length uint64
		advice int
		want   error
	}{
		{"unknown advice", 0x400000, PageSize, 77, linux.EINVAL},
		{"unknown advice, empty range", 0x400000, 0, 77, linux.EINVAL},
		{"unaligned", 0x400001, PageSize, linux.MADV_NORMAL, linux.EINVAL},
		{"length -1", 0x400000, ^uint64(0), linux.MADV_NORMAL, linux.EINVAL},
		{"length -4096 wraps", 0x400000, ^uint64(PageSize - 1), linux.MADV_NORMAL, linux.EINVAL},
		{"empty range unmapped", 0x404000, 0, linux.MADV_NORMAL, nil},
		{"unmapped", 0x404000, PageSize, linux.MADV_WILLNEED, linux.ENOMEM},
		{"hole", 0x400000, 8 * PageSize, linux.MADV_NORMAL, linux.ENOMEM},
		{"past the last mapping", 0x406000, 4 * PageSize, linux.MADV_NORMAL, linux.ENOMEM},
		{"partial page length", 0x400000, 1, linux.MADV_DONTNEED, nil},
		{"hugepage", 0x400000, PageSize, linux.MADV_HUGEPAGE, nil},
		{"collapse", 0x400000, PageSize, linux.MADV_COLLAPSE, linux.EINVAL},
		{"hwpoison", 0x400000, PageSize, linux.MADV_HWPOISON, linux.EINVAL},
		{"guard install", 0x400000, PageSize, linux.MADV_GUARD_INSTALL, linux.EINVAL},
		{"remove private anon", 0x400000, PageSize, linux.MADV_REMOVE, linux.EINVAL},
		{"populate read", 0x400000, 4 * PageSize, linux.MADV_POPULATE_READ, nil},
		{"populate hole", 0x400000, 8 * PageSize, linux.MADV_POPULATE_WRITE, linux.ENOMEM},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := m.Advise(c.addr, c.length, c.advice)
			if c.want == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, c.want)
			}
		})
	}
}

func TestAdviseDontNeedAcrossAHoleDropsTheMappedParts(t *testing.T) {
	_, m := newTestMM(t)
	mapAt(t, m, 0x400000, 1, ProtRead|ProtWrite)
	mapAt(t, m, 0x402000, 1, ProtRead|ProtWrite)
	for _, a := range []Addr{0x400000, 0x402000} {
		_, err := m.CopyOut(a, []byte{7})
		require.NoError(t, err)
	}
	assert.ErrorIs(t, m.Advise(0x400000, 3*PageSize, linux.MADV_DONTNEED), linux.ENOMEM)
	assert.Equal(t, "0", resident(t, m, 0x400000, 1))
	assert.Equal(t, "0", resident(t, m, 0x402000, 1), "the part after the hole is dropped too")
}

func TestAdviseFreeAndRemoveByMappingKind(t *testing.T) {
	ram, m := newTestMM(t)
	_, err := m.Map(MapOpts{Addr: 0x500000, Length: 2 * PageSize, Prot: ProtRead | ProtWrite, Fixed: true, Shared: true})
	require.NoError(t, err)
	file := &memFile{data: make([]byte, 2*PageSize)}
	_, err = m.Map(MapOpts{Addr: 0x600000, Length: PageSize, Prot: ProtRead, Fixed: true, File: file})
	require.NoError(t, err)
	obj := NewFileObject(file, nil)
	_, err = m.Map(MapOpts{Addr: 0x700000, Length: PageSize, Prot: ProtRead | ProtWrite, Fixed: true, Object: obj})
	require.NoError(t, err)
	obj.Release(ram)

	assert.ErrorIs(t, m.Advise(0x500000, PageSize, linux.MADV_FREE), linux.EINVAL, "shared anonymous")
	assert.ErrorIs(t, m.Advise(0x600000, PageSize, linux.MADV_FREE), linux.EINVAL, "private file")
	assert.ErrorIs(t, m.Advise(0x600000, PageSize, linux.MADV_REMOVE), linux.EACCES, "private file")
	assert.ErrorIs(t, m.Advise(0x700000, PageSize, linux.MADV_REMOVE), linux.EOPNOTSUPP, "shared file without hole punching")
	assert.ErrorIs(t, m.Advise(0x500000, PageSize, linux.MADV_WIPEONFORK), linux.EINVAL, "shared anonymous")

	// MADV_REMOVE on shared anonymous memory: every address space that
	// maps it reads zeros.
	_, err = m.CopyOut(0x500000, []byte("shared"))
	require.NoError(t, err)
	child, err := m.Fork()
	require.NoError(t, err)
	defer child.Release()
	require.NoError(t, m.Advise(0x500000, PageSize, linux.MADV_REMOVE))
	buf := make([]byte, 6)
	_, err = child.CopyIn(0x500000, buf)
	require.NoError(t, err)
	assert.Equal(t, make([]byte, 6), buf)
}

func TestForkHonoursDontForkAndWipeOnFork(t *testing.T) {
	_, m := newTestMM(t)
	mapAt(t, m, 0x400000, 3, ProtRead|ProtWrite)
	for i := Addr(0); i < 3; i++ {
		_, err := m.CopyOut(0x400000+i*PageSize, []byte{byte('a' + i)})
		require.NoError(t, err)
	}
	require.NoError(t, m.Advise(0x400000, PageSize, linux.MADV_DONTFORK))
	require.NoError(t, m.Advise(0x401000, PageSize, linux.MADV_WIPEONFORK))
	assert.Len(t, m.VMAs(), 3, "the flags split the mapping")

	child, err := m.Fork()
	require.NoError(t, err)
	defer child.Release()
	_, ok := child.FindVMA(0x400000)
	assert.False(t, ok, "MADV_DONTFORK: the child has no such mapping")
	b := make([]byte, 1)
	_, err = child.CopyIn(0x401000, b)
	require.NoError(t, err)
	assert.Equal(t, byte(0), b[0], "MADV_WIPEONFORK: the child's copy is empty")
	_, err = child.CopyIn(0x402000, b)
	require.NoError(t, err)
	assert.Equal(t, byte('c'), b[0])

	require.NoError(t, m.Advise(0x400000, 2*PageSize, linux.MADV_DOFORK))
	require.NoError(t, m.Advise(0x400000, 2*PageSize, linux.MADV_KEEPONFORK))
	assert.Len(t, m.VMAs(), 1, "clearing the flags merges the mapping again")
}

func TestLockPopulatesAndAccounts(t *testing.T) {
	_, m := newTestMM(t)
	mapAt(t, m, 0x400000, 4, ProtRead|ProtWrite)
	mapAt(t, m, 0x404000, 1, ProtNone)
	mapAt(t, m, 0x406000, 1, ProtRead)

	require.NoError(t, m.Lock(0x400005, 10, LockOpts{Limit: NoLockLimit}), "widened to the page")
	assert.Equal(t, "1000", resident(t, m, 0x400000, 4))
	assert.Equal(t, uint64(PageSize), m.LockedBytes())
	assert.ErrorIs(t, m.Advise(0x400000, PageSize, linux.MADV_DONTNEED), linux.EINVAL, "locked")
	assert.NoError(t, m.Advise(0x400000, PageSize, linux.MADV_DONTNEED_LOCKED))

	require.NoError(t, m.Lock(0x402000, PageSize, LockOpts{OnFault: true, Limit: NoLockLimit}))
	assert.Equal(t, "0000", resident(t, m, 0x400000, 4), "on fault: not populated")
	assert.Equal(t, uint64(2*PageSize), m.LockedBytes())

	// The limit counts pages locked already once.
	assert.NoError(t, m.Lock(0x400000, PageSize, LockOpts{Limit: 2 * PageSize}))
	assert.ErrorIs(t, m.Lock(0x401000, PageSize, LockOpts{Limit: 2 * PageSize}), linux.ENOMEM)
	assert.NoError(t, m.Lock(0x401000, PageSize, LockOpts{Limit: 3 * PageSize}))

	assert.ErrorIs(t, m.Lock(0x404000, PageSize, LockOpts{Limit: NoLockLimit}), linux.ENOMEM, "PROT_NONE cannot be populated")
	assert.ErrorIs(t, m.Lock(0x405000, PageSize, LockOpts{Limit: NoLockLimit}), linux.ENOMEM, "unmapped")
	assert.NoError(t, m.Lock(0x405000, 0, LockOpts{Limit: NoLockLimit}), "empty")
	assert.NoError(t, m.Lock(0x406000, PageSize, LockOpts{Limit: NoLockLimit}), "read-only")
	assert.Equal(t, "1", resident(t, m, 0x406000, 1))

	assert.ErrorIs(t, m.Unlock(0x400000, 7*PageSize), linux.ENOMEM, "hole at 0x405000")
	assert.Equal(t, uint64(PageSize), m.LockedBytes(), "unlocked up to the hole")
	require.NoError(t, m.Unlock(0x406000, PageSize))
	assert.Zero(t, m.LockedBytes())
}

func TestLockAllCurrentAndFuture(t *testing.T) {
	_, m := newTestMM(t)
	mapAt(t, m, 0x400000, 2, ProtRead|ProtWrite)
	assert.ErrorIs(t, m.LockAll(true, false, LockOpts{Limit: PageSize}), linux.ENOMEM, "2 pages mapped, limit 1")
	require.NoError(t, m.LockAll(true, true, LockOpts{Limit: NoLockLimit}))
	assert.Equal(t, "11", resident(t, m, 0x400000, 2))
	got, err := m.Map(MapOpts{Length: PageSize, Prot: ProtRead | ProtWrite})
	require.NoError(t, err)
	assert.Equal(t, "1", resident(t, m, got, 1), "MCL_FUTURE: new mappings are locked and populated")
	assert.Equal(t, uint64(3*PageSize), m.LockedBytes())

	child, err := m.Fork()
	require.NoError(t, err)
	defer child.Release()
	assert.Zero(t, child.LockedBytes(), "locks are not inherited")
	got, err = child.Map(MapOpts{Length: PageSize, Prot: ProtRead | ProtWrite})
	require.NoError(t, err)
	assert.Equal(t, "0", resident(t, child, got, 1), "nor is MCL_FUTURE")

	m.UnlockAll()
	assert.Zero(t, m.LockedBytes())
	got, err = m.Map(MapOpts{Length: PageSize, Prot: ProtRead | ProtWrite})
	require.NoError(t, err)
	assert.Equal(t, "0", resident(t, m, got, 1))
}

func TestMincore(t *testing.T) {
	_, m := newTestMM(t)
	mapAt(t, m, 0x400000, 4, ProtRead|ProtWrite)
	assert.Equal(t, "0000", resident(t, m, 0x400000, 4))
	_, err := m.CopyOut(0x400000, []byte{1})
	require.NoError(t, err)
	_, err = m.CopyIn(0x401000, []byte{0})
	require.NoError(t, err)
	assert.Equal(t, "1100", resident(t, m, 0x400000, 4), "written, and read (the zero frame)")
	require.NoError(t, m.Protect(0x400000, PageSize, ProtNone))
	assert.Equal(t, "1100", resident(t, m, 0x400000, 4), "PROT_NONE keeps its frame")

	vec := make([]byte, 6)
	n, err := m.Mincore(0x402000, vec)
	assert.ErrorIs(t, err, linux.ENOMEM)
	assert.Equal(t, 2, n, "the pages before the end of the mapping are reported")

	// Shared memory another address space touched is resident here.
	_, err = m.Map(MapOpts{Addr: 0x500000, Length: PageSize, Prot: ProtRead | ProtWrite, Fixed: true, Shared: true})
	require.NoError(t, err)
	child, err := m.Fork()
	require.NoError(t, err)
	defer child.Release()
	_, err = child.CopyOut(0x500000, []byte{1})
	require.NoError(t, err)
	assert.Equal(t, "1", resident(t, m, 0x500000, 1))
}

// punchFile is a memFile that can punch holes.
type punchFile struct {
	memFile
	holes [][2]int64
}

func (f *punchFile) PunchHole(off, length int64) error {
	f.holes = append(f.holes, [2]int64{off, length})
	clear(f.data[off:min(off+length, int64(len(f.data)))])
	return nil
}

func TestAdviseRemovePunchesTheFile(t *testing.T) {
	ram, m := newTestMM(t)
	file := &punchFile{memFile: memFile{data: bytes3(3 * PageSize)}}
	obj := NewFileObject(file, nil)
	_, err := m.Map(MapOpts{Addr: 0x700000, Length: 2 * PageSize, Prot: ProtRead | ProtWrite, Fixed: true, Object: obj, Offset: PageSize})
	require.NoError(t, err)
	obj.Release(ram)
	b := make([]byte, 1)
	_, err = m.CopyIn(0x701000, b)
	require.NoError(t, err)
	require.Equal(t, byte(3), b[0])
	require.NoError(t, m.Advise(0x701000, PageSize, linux.MADV_REMOVE))
	assert.Equal(t, [][2]int64{{2 * PageSize, PageSize}}, file.holes, "the file range of the mapping's second page")
	_, err = m.CopyIn(0x701000, b)
	require.NoError(t, err)
	assert.Equal(t, byte(0), b[0], "the page already in memory reads zeros too")
	_, err = m.CopyIn(0x700000, b)
	require.NoError(t, err)
	assert.Equal(t, byte(3), b[0], "the page before is untouched")
}

func bytes3(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 3
	}
	return b
}
