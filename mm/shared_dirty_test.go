package mm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
)

// failWriter is a FileWriter whose writes fail while fail is set.
type failWriter struct {
	f    *memFile
	fail bool
}

func (w *failWriter) WriteAt(b []byte, off int64) (int, error) {
	if w.fail {
		return 0, linux.ENOSPC
	}
	return w.f.WriteAt(b, off)
}
func (w *failWriter) Close() error { return nil }

func leafAt(t *testing.T, m *MM, va Addr) PTE {
	t.Helper()
	m.mu.RLock()
	defer m.mu.RUnlock()
	slot := m.pt.lookup(va)
	require.NotNil(t, slot)
	return load(slot)
}

func TestSharedFilePagesAreWrittenBackOnlyWhenDirty(t *testing.T) {
	ram, m := newTestMM(t)
	file := &memFile{data: make([]byte, 2*PageSize)}
	obj := NewFileObject(file, nil)
	_, err := m.Map(MapOpts{Addr: 0x400000, Length: 2 * PageSize, Prot: ProtRead | ProtWrite, Fixed: true, Object: obj})
	require.NoError(t, err)
	obj.Release(ram)

	b := make([]byte, 4)
	_, err = m.CopyIn(0x400000, b)
	require.NoError(t, err)
	e := leafAt(t, m, 0x400000)
	assert.Zero(t, e&PTEWrite, "a clean page of a writable shared file mapping is mapped read-only")
	assert.Zero(t, e&PTEDirty)

	copy(file.data, "pwrite")
	_, err = m.CopyOut(0x401000, []byte("mapped"))
	require.NoError(t, err)
	e = leafAt(t, m, 0x401000)
	assert.Equal(t, PTEWrite|PTEDirty, e&(PTEWrite|PTEDirty), "a write makes the page writable and dirty")

	require.NoError(t, m.Sync(0x400000, 2*PageSize))
	assert.Equal(t, "pwrite", string(file.data[:6]), "a clean page is not written over the file")
	assert.Equal(t, "mapped", string(file.data[PageSize:PageSize+6]), "the dirty page is written back")
	e = leafAt(t, m, 0x401000)
	assert.Zero(t, e&(PTEWrite|PTEDirty), "msync cleans the page and write-protects it again")
	assert.False(t, obj.Dirty(1))

	copy(file.data[PageSize:], "PWRITE")
	require.NoError(t, m.Unmap(0x400000, 2*PageSize))
	assert.Equal(t, "PWRITE", string(file.data[PageSize:PageSize+6]), "a page cleaned by msync is not written again")
}

func TestSharedFileWriteBackErrors(t *testing.T) {
	ram, m := newTestMM(t)
	file := &memFile{data: make([]byte, PageSize)}
	w := &failWriter{f: file, fail: true}
	obj := NewFileObject(file, nil)
	_, err := m.Map(MapOpts{Addr: 0x400000, Length: PageSize, Prot: ProtRead | ProtWrite, Fixed: true, Object: obj,
		OpenWriter: func() (FileWriter, error) { return w, nil }})
	require.NoError(t, err)
	obj.Release(ram)
	_, err = m.CopyOut(0x400000, []byte("data"))
	require.NoError(t, err)
	assert.NoError(t, m.Msync(0x400000, PageSize, SyncOpts{}), "MS_ASYNC reports no write-back error")
	assert.True(t, obj.Dirty(0), "a page that could not be written stays dirty")
	assert.ErrorIs(t, m.Msync(0x400000, PageSize, SyncOpts{Sync: true}), linux.ENOSPC)
	w.fail = false
	require.NoError(t, m.Sync(0x400000, PageSize))
	assert.Equal(t, "data", string(file.data[:4]), "the data is written once the file takes it")
}

func TestSharedFileReadOnlyMappingHasNoMayWrite(t *testing.T) {
	ram, m := newTestMM(t)
	file := &memFile{data: make([]byte, 2*PageSize)}
	obj := NewFileObject(file, nil)
	defer obj.Release(ram)
	_, err := m.Map(MapOpts{Addr: 0x400000, Length: PageSize, Prot: ProtRead | ProtWrite, Fixed: true, Object: obj, ReadOnlyFile: true})
	assert.ErrorIs(t, err, linux.EACCES)
	_, err = m.Map(MapOpts{Addr: 0x400000, Length: PageSize, Prot: ProtRead, Fixed: true, Object: obj, ReadOnlyFile: true})
	require.NoError(t, err)
	mapAt(t, m, 0x3ff000, 1, ProtRead)
	assert.ErrorIs(t, m.Protect(0x3ff000, 2*PageSize, ProtRead|ProtWrite), linux.EACCES)
	v, _ := m.FindVMA(0x3ff000)
	assert.Equal(t, ProtRead|ProtWrite, v.Prot, "the mapping before the read-only one is changed, as in Linux")
	v, _ = m.FindVMA(0x400000)
	assert.Equal(t, ProtRead, v.Prot)
	assert.ErrorIs(t, m.Advise(0x400000, PageSize, linux.MADV_REMOVE), linux.EACCES)
}

func TestRemapWithoutMemoryChangesNothing(t *testing.T) {
	ram, m := newTestMM(t)
	mapAt(t, m, 0x400000, 1, ProtRead|ProtWrite)
	_, err := m.CopyOut(0x400000, []byte("keep"))
	require.NoError(t, err)
	// Use up every frame, so the page table of the destination (far
	// from any table that exists) cannot be built.
	var held []Frame
	for {
		f, err := ram.Alloc()
		if err != nil {
			break
		}
		held = append(held, f)
	}
	_, err = m.Remap(0x400000, PageSize, PageSize, true, true, 0x7f0000000000)
	assert.ErrorIs(t, err, linux.ENOMEM)
	b := make([]byte, 4)
	_, err = m.CopyIn(0x400000, b)
	require.NoError(t, err)
	assert.Equal(t, "keep", string(b), "the old mapping is intact")
	for _, f := range held {
		ram.DecRef(f)
	}
	got, err := m.Remap(0x400000, PageSize, PageSize, true, true, 0x7f0000000000)
	require.NoError(t, err)
	_, err = m.CopyIn(got, b)
	require.NoError(t, err)
	assert.Equal(t, "keep", string(b))
}
