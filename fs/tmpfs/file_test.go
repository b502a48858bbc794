package tmpfs

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// readAll returns f's content.
func readAll(t *testing.T, f *File) string {
	t.Helper()
	size, err := f.Size()
	require.NoError(t, err)
	buf := make([]byte, size)
	n, err := f.ReadAt(buf, 0)
	require.NoError(t, err)
	return string(buf[:n])
}

func open(t *testing.T, f *File, flags uint32) vfs.Handle {
	t.Helper()
	h, err := f.Open(flags)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	return h
}

func TestReadWritePositions(t *testing.T) {
	_, root, _ := newTestFS(t, DefaultOptions())
	f := create(t, root, "f", "")
	h := open(t, f, linux.O_RDWR)

	n, err := h.Write([][]byte{[]byte("hello "), []byte("world")}, -1)
	require.NoError(t, err)
	assert.Equal(t, 11, n)
	pos, err := h.Seek(0, seekCur)
	require.NoError(t, err)
	assert.Equal(t, int64(11), pos, "write advances the position")

	n, err = h.Write([][]byte{[]byte("W")}, 6)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	pos, _ = h.Seek(0, seekCur)
	assert.Equal(t, int64(11), pos, "pwrite leaves the position")

	_, err = h.Seek(0, seekSet)
	require.NoError(t, err)
	a, b := make([]byte, 3), make([]byte, 100)
	n, err = h.Read([][]byte{a, b}, -1)
	require.NoError(t, err)
	assert.Equal(t, 11, n)
	assert.Equal(t, "hel", string(a))
	assert.Equal(t, "lo World", string(b[:8]))
	n, err = h.Read([][]byte{b}, -1)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "end of file")

	n, err = h.Read([][]byte{b}, 6)
	require.NoError(t, err)
	assert.Equal(t, "World", string(b[:n]), "pread")
	n, err = h.Read([][]byte{b}, 100)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "pread past the end")

	_, err = h.Read([][]byte{b}, -2)
	assert.Equal(t, linux.EINVAL, err)
	_, err = h.Write([][]byte{b}, -2)
	assert.Equal(t, linux.EINVAL, err)
	_, err = h.Write([][]byte{b}, MaxFileSize)
	assert.Equal(t, linux.EFBIG, err)
}

func TestAccessModes(t *testing.T) {
	_, root, _ := newTestFS(t, DefaultOptions())
	f := create(t, root, "f", "data")
	buf := [][]byte{make([]byte, 4)}
	tests := []struct {
		flags             uint32
		readErr, writeErr error
	}{
		{linux.O_RDONLY, nil, linux.EBADF},
		{linux.O_WRONLY, linux.EBADF, nil},
		{linux.O_RDWR, nil, nil},
		{linux.O_PATH, linux.EBADF, linux.EBADF},
	}
	for _, tt := range tests {
		h := open(t, f, tt.flags)
		_, err := h.Read(buf, 0)
		assert.Equal(t, tt.readErr, err, "read with flags %#o", tt.flags)
		_, err = h.Write(buf, 0)
		assert.Equal(t, tt.writeErr, err, "write with flags %#o", tt.flags)
	}
}

func TestAppend(t *testing.T) {
	_, root, _ := newTestFS(t, DefaultOptions())
	f := create(t, root, "f", "abc")
	h := open(t, f, linux.O_WRONLY|linux.O_APPEND)
	_, err := h.Write([][]byte{[]byte("de")}, -1)
	require.NoError(t, err)
	_, err = h.Write([][]byte{[]byte("fg")}, 0)
	require.NoError(t, err)
	assert.Equal(t, "abcdefg", readAll(t, f), "O_APPEND writes at the end, pwrite too (as Linux)")
	pos, _ := h.Seek(0, seekCur)
	assert.Equal(t, int64(5), pos, "pwrite leaves the position")

	// F_SETFL clears O_APPEND.
	h.(interface{ SetFlags(uint32) }).SetFlags(0)
	_, err = h.Write([][]byte{[]byte("X")}, 0)
	require.NoError(t, err)
	assert.Equal(t, "Xbcdefg", readAll(t, f))
	_, err = h.Read([][]byte{make([]byte, 1)}, 0)
	assert.Equal(t, linux.EBADF, err, "SetFlags keeps the access mode")

	h2 := open(t, f, linux.O_RDWR|linux.O_TRUNC)
	assert.Equal(t, "", readAll(t, f), "O_TRUNC")
	_, err = h2.Write([][]byte{[]byte("new")}, -1)
	require.NoError(t, err)
	assert.Equal(t, "new", readAll(t, f))
}

func TestSparseFiles(t *testing.T) {
	fs, root, _ := newTestFS(t, DefaultOptions())
	f := create(t, root, "f", "")
	h := open(t, f, linux.O_RDWR)
	// Data in pages 1 and 2, and 5; a hole at 0, 3-4, and after 5 up to
	// the end.
	_, err := h.Write([][]byte{bytes.Repeat([]byte{'a'}, 2*PageSize)}, PageSize)
	require.NoError(t, err)
	_, err = h.Write([][]byte{[]byte("z")}, 5*PageSize+10)
	require.NoError(t, err)
	require.NoError(t, f.Setattr(vfs.Setattr{Mask: vfs.SetSize, Size: 8 * PageSize}))
	a := attr(t, f)
	assert.Equal(t, int64(8*PageSize), a.Size)
	assert.Equal(t, int64(3*8), a.Blocks, "three pages")
	used, _ := fs.Usage()
	assert.Equal(t, int64(3*PageSize), used)

	buf := bytes.Repeat([]byte{0xff}, 8*PageSize)
	n, err := h.Read([][]byte{buf}, 0)
	require.NoError(t, err)
	assert.Equal(t, 8*PageSize, n)
	want := make([]byte, 8*PageSize)
	copy(want[PageSize:], bytes.Repeat([]byte{'a'}, 2*PageSize))
	want[5*PageSize+10] = 'z'
	assert.True(t, bytes.Equal(want, buf), "holes read as zeros")

	tests := []struct {
		off    int64
		whence int
		want   int64
		err    error
	}{
		{10, seekSet, 10, nil},
		{-1, seekSet, 0, linux.EINVAL},
		{5, seekCur, 15, nil}, // from 10
		{-100, seekCur, 0, linux.EINVAL},
		{0, seekEnd, 8 * PageSize, nil},
		{-1, seekEnd, 8*PageSize - 1, nil},
		{-8*PageSize - 1, seekEnd, 0, linux.EINVAL},
		{MaxFileSize, seekEnd, 0, linux.EINVAL},
		{1 << 50, seekEnd, 8*PageSize + 1<<50, nil},
		{0, seekData, PageSize, nil},
		{PageSize + 5, seekData, PageSize + 5, nil},
		{3 * PageSize, seekData, 5 * PageSize, nil},
		{6 * PageSize, seekData, 0, linux.ENXIO},
		{8 * PageSize, seekData, 0, linux.ENXIO},
		{-1, seekData, 0, linux.ENXIO},
		{0, seekHole, 0, nil},
		{PageSize, seekHole, 3 * PageSize, nil},
		{5*PageSize + 1, seekHole, 6 * PageSize, nil},
		{7 * PageSize, seekHole, 7 * PageSize, nil},
		{8 * PageSize, seekHole, 0, linux.ENXIO},
		{0, 5, 0, linux.EINVAL},
	}
	for _, tt := range tests {
		_, err := h.Seek(10, seekSet)
		require.NoError(t, err)
		got, err := h.Seek(tt.off, tt.whence)
		assert.Equal(t, tt.err, err, "seek(%d, %d)", tt.off, tt.whence)
		if tt.err == nil {
			assert.Equal(t, tt.want, got, "seek(%d, %d)", tt.off, tt.whence)
		} else {
			pos, _ := h.Seek(0, seekCur)
			assert.Equal(t, int64(10), pos, "a failed seek leaves the position")
		}
	}

	// A hole at the end of a page-aligned file of data pages is the end.
	require.NoError(t, f.Setattr(vfs.Setattr{Mask: vfs.SetSize, Size: 2*PageSize + 100}))
	got, err := h.Seek(PageSize, seekHole)
	require.NoError(t, err)
	assert.Equal(t, int64(2*PageSize+100), got)

	// Shrinking zeroes the tail of the last page: growing reads zeros.
	require.NoError(t, f.Setattr(vfs.Setattr{Mask: vfs.SetSize, Size: PageSize + 1}))
	require.NoError(t, f.Setattr(vfs.Setattr{Mask: vfs.SetSize, Size: 2 * PageSize}))
	n, err = h.Read([][]byte{buf[:PageSize]}, PageSize)
	require.NoError(t, err)
	assert.Equal(t, PageSize, n)
	assert.Equal(t, byte('a'), buf[0])
	assert.True(t, bytes.Equal(make([]byte, PageSize-1), buf[1:PageSize]))
}

func TestSharedFile(t *testing.T) {
	fs := New(Options{Mode: 0o1777, MountPoint: "/dev/shm"})
	root := fs.Root()
	require.NoError(t, root.Mkdir("d", 0o755, root0))
	f := create(t, subdir(t, root, "d"), "seg", "0123456789")
	var sf mm.SharedFile = f
	assert.Equal(t, "/dev/shm/d/seg", sf.Name())

	buf := make([]byte, 4)
	n, err := sf.ReadAt(buf, 8)
	assert.Equal(t, io.EOF, err, "fewer bytes than asked: io.EOF")
	assert.Equal(t, "89", string(buf[:n]))
	n, err = sf.ReadAt(buf, 2)
	require.NoError(t, err)
	assert.Equal(t, "2345", string(buf[:n]))

	before := attr(t, f)
	n, err = f.WriteAt([]byte("AB"), 9)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	size, err := sf.Size()
	require.NoError(t, err)
	assert.Equal(t, int64(11), size)
	assert.Equal(t, "012345678AB", readAll(t, f))
	after := attr(t, f)
	assert.Equal(t, before.Mtime, after.Mtime, "stores through a mapping change no times")

	sf.IncRef()
	require.NoError(t, subdir(t, root, "d").Unlink("seg"))
	assert.Equal(t, "/dev/shm/d/seg (deleted)", sf.Name())
	assert.Equal(t, "012345678AB", readAll(t, f), "a mapped file outlives its name")
	used, _ := fs.Usage()
	assert.Equal(t, int64(PageSize), used)
	sf.DecRef()
	used, _ = fs.Usage()
	assert.Equal(t, int64(0), used)

	assert.Equal(t, "/dev/shm", fs.root.Name())
	assert.Equal(t, "/f", create(t, New(DefaultOptions()).Root(), "f", "").Name())
}
