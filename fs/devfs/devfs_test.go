package devfs

import (
	"bytes"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

func lookup(t *testing.T, d vfs.Dir, name string) vfs.Inode {
	t.Helper()
	n, err := d.Lookup(name)
	require.NoError(t, err, name)
	return n
}

func attr(t *testing.T, n vfs.Inode) vfs.Attr {
	t.Helper()
	a, err := n.Attr()
	require.NoError(t, err)
	return a
}

func openDev(t *testing.T, fs *FS, name string, flags uint32) vfs.Handle {
	t.Helper()
	h, err := lookup(t, fs.Root(), name).(vfs.Opener).Open(flags)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	return h
}

func TestNodes(t *testing.T) {
	fs := New(Config{})
	assert.Equal(t, Mkdev(0, 5), fs.Dev())
	tests := []struct {
		name   string
		mode   uint32
		rdev   uint64
		target string
	}{
		{name: "null", mode: vfs.ModeChar | 0o666, rdev: 0x103},
		{name: "zero", mode: vfs.ModeChar | 0o666, rdev: 0x105},
		{name: "full", mode: vfs.ModeChar | 0o666, rdev: 0x107},
		{name: "random", mode: vfs.ModeChar | 0o666, rdev: 0x108},
		{name: "urandom", mode: vfs.ModeChar | 0o666, rdev: 0x109},
		{name: "tty", mode: vfs.ModeChar | 0o666, rdev: 0x500},
		{name: "stdin", mode: vfs.ModeSymlink | 0o777, target: "/proc/self/fd/0"},
		{name: "stdout", mode: vfs.ModeSymlink | 0o777, target: "/proc/self/fd/1"},
		{name: "stderr", mode: vfs.ModeSymlink | 0o777, target: "/proc/self/fd/2"},
		{name: "fd", mode: vfs.ModeSymlink | 0o777, target: "/proc/self/fd"},
		{name: "shm", mode: vfs.ModeDir | 0o1777},
	}
	inos := map[uint64]bool{attr(t, fs.Root()).Ino: true}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := lookup(t, fs.Root(), tt.name)
			a := attr(t, n)
			assert.Equal(t, tt.mode, a.Mode)
			assert.Equal(t, tt.rdev, a.Rdev)
			assert.Equal(t, [2]uint32{0, 0}, [2]uint32{a.UID, a.GID})
			assert.Equal(t, fs.Dev(), a.Dev)
			assert.Equal(t, int64(4096), a.Blksize)
			assert.False(t, inos[a.Ino], "a unique inode number")
			inos[a.Ino] = true
			switch {
			case tt.target != "":
				target, err := n.(vfs.Symlink).Readlink()
				require.NoError(t, err)
				assert.Equal(t, tt.target, target)
				assert.Equal(t, int64(len(tt.target)), a.Size)
				assert.Equal(t, uint64(1), a.Nlink)
			case a.IsDir():
				assert.Equal(t, uint64(2), a.Nlink)
				assert.Equal(t, int64(40), a.Size)
				ents, err := n.(vfs.Dir).Readdir()
				require.NoError(t, err)
				assert.Len(t, ents, 2, "shm is empty")
			default:
				assert.Equal(t, int64(0), a.Size)
				assert.Equal(t, uint64(1), a.Nlink)
			}
		})
	}
	ra := attr(t, fs.Root())
	assert.Equal(t, uint32(vfs.ModeDir|0o755), ra.Mode)
	assert.Equal(t, uint64(3), ra.Nlink, "2 + shm")
	assert.Equal(t, int64(40+20*len(tests)), ra.Size)
	_, err := fs.Root().Lookup("sda")
	assert.Equal(t, linux.ENOENT, err)
	_, writable := any(fs.Root()).(vfs.DirWriter)
	assert.False(t, writable, "the guest cannot add entries")
}

func TestMkdev(t *testing.T) {
	assert.Equal(t, uint64(0x103), Mkdev(1, 3))
	assert.Equal(t, uint64(0x500), Mkdev(5, 0))
	assert.Equal(t, uint64(0x8800), Mkdev(136, 0))
	assert.Equal(t, uint64(0x12300345), Mkdev(3, 0x12345), "the minor's high bits go above the major")
}

// TestHostAgrees compares the nodes with the host's /dev.
func TestHostAgrees(t *testing.T) {
	fs := New(Config{})
	for _, name := range []string{"null", "zero", "full", "random", "urandom", "tty", "stdin", "stdout", "stderr", "fd"} {
		var st syscall.Stat_t
		if err := syscall.Lstat("/dev/"+name, &st); err != nil {
			t.Logf("the host has no /dev/%s", name)
			continue
		}
		a := attr(t, lookup(t, fs.Root(), name))
		assert.Equal(t, st.Mode, a.Mode, name)
		assert.Equal(t, st.Rdev, a.Rdev, name)
		if a.IsSymlink() {
			target, _ := os.Readlink("/dev/" + name)
			assert.Equal(t, st.Size, a.Size, name)
			got, _ := lookup(t, fs.Root(), name).(vfs.Symlink).Readlink()
			assert.Equal(t, target, got, name)
		}
	}
}

func TestDeviceIO(t *testing.T) {
	fs := New(Config{})
	tests := []struct {
		name      string
		read      int // bytes a 100-byte read returns
		zeros     bool
		writeErr  error
		emptyErr  error // of a zero-length write
		random    bool
		readWrite int // bytes a 10-byte write returns
	}{
		{name: "null", read: 0, readWrite: 10},
		{name: "zero", read: 100, zeros: true, readWrite: 10},
		{name: "full", read: 100, zeros: true, writeErr: linux.ENOSPC, emptyErr: linux.ENOSPC},
		{name: "random", read: 100, random: true, readWrite: 10},
		{name: "urandom", read: 100, random: true, readWrite: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := openDev(t, fs, tt.name, linux.O_RDWR)
			a, b := bytes.Repeat([]byte{0xee}, 60), bytes.Repeat([]byte{0xee}, 40)
			n, err := h.Read([][]byte{a, b}, -1)
			require.NoError(t, err)
			assert.Equal(t, tt.read, n)
			got := append(a, b...)
			switch {
			case tt.zeros:
				assert.Equal(t, make([]byte, 100), got)
			case tt.random:
				assert.NotEqual(t, bytes.Repeat([]byte{0xee}, 100), got)
				again := make([]byte, 100)
				_, err := h.Read([][]byte{again}, 5)
				require.NoError(t, err)
				assert.NotEqual(t, got, again)
			}
			n, err = h.Write([][]byte{make([]byte, 4), make([]byte, 6)}, -1)
			assert.Equal(t, tt.writeErr, err)
			assert.Equal(t, tt.readWrite, n)
			_, err = h.Write(nil, -1)
			assert.Equal(t, tt.emptyErr, err)
			for _, whence := range []int{0, 1, 2, 3, 4, 9} {
				pos, err := h.Seek(100, whence)
				require.NoError(t, err)
				assert.Equal(t, int64(0), pos, "seek always answers 0")
			}
			ha, err := h.Attr()
			require.NoError(t, err)
			assert.Equal(t, attr(t, lookup(t, fs.Root(), tt.name)), ha)

			ro := openDev(t, fs, tt.name, linux.O_RDONLY)
			_, err = ro.Write([][]byte{a}, -1)
			assert.Equal(t, linux.EBADF, err)
			wo := openDev(t, fs, tt.name, linux.O_WRONLY)
			_, err = wo.Read([][]byte{a}, -1)
			assert.Equal(t, linux.EBADF, err)
		})
	}
}

func TestHugeReadIsCapped(t *testing.T) {
	fs := New(Config{})
	h := openDev(t, fs, "zero", linux.O_RDONLY)
	// 2 GiB of buffers over one 1 MiB array: nothing of the request's
	// size is allocated.
	buf := make([]byte, 1<<20)
	buf[0] = 1
	bufs := make([][]byte, 2048+1)
	for i := range bufs {
		bufs[i] = buf
	}
	n, err := h.Read(bufs, -1)
	require.NoError(t, err)
	assert.Equal(t, MaxRead, n)
	assert.Equal(t, byte(0), buf[0])

	r := openDev(t, fs, "urandom", linux.O_RDONLY)
	n, err = r.Read(capped(bufs)[:3], -1)
	require.NoError(t, err)
	assert.Equal(t, 3<<20, n)
	assert.Len(t, capped(bufs), 2048, "the cap cuts the last buffer")
	assert.Equal(t, MaxRead-2047<<20, len(capped(bufs)[2047]))
}

func TestTTY(t *testing.T) {
	none := New(Config{})
	_, err := lookup(t, none.Root(), "tty").(vfs.Opener).Open(linux.O_RDWR)
	assert.Equal(t, linux.ENXIO, err, "no controlling terminal")

	var gotFlags uint32
	fs := New(Config{OpenTTY: func(flags uint32) (vfs.Handle, error) {
		gotFlags = flags
		return nil, linux.EACCES
	}})
	_, err = lookup(t, fs.Root(), "tty").(vfs.Opener).Open(linux.O_RDWR | linux.O_NONBLOCK)
	assert.Equal(t, linux.EACCES, err, "the kernel's open decides")
	assert.Equal(t, uint32(linux.O_RDWR|linux.O_NONBLOCK), gotFlags)
}

func TestKernelAddsEntries(t *testing.T) {
	fs := New(Config{})
	opened := false
	open := func(flags uint32) (vfs.Handle, error) { opened = true; return nil, linux.EIO }
	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"a directory", func() error { return fs.AddDir("pts", 0o755) }, nil},
		{"a device in it", func() error { return fs.AddDevice("pts/ptmx", 0o666, Mkdev(5, 2), open) }, nil},
		{"a symlink to it", func() error { return fs.AddSymlink("ptmx", "pts/ptmx") }, nil},
		{"an existing name", func() error { return fs.AddDir("null", 0o755) }, linux.EEXIST},
		{"under a missing directory", func() error { return fs.AddDir("nothing/x", 0o755) }, linux.ENOENT},
		{"under a file", func() error { return fs.AddDir("null/x", 0o755) }, linux.ENOTDIR},
		{"an empty name", func() error { return fs.AddDir("", 0o755) }, linux.EINVAL},
		{"a dot name", func() error { return fs.AddDir("pts/..", 0o755) }, linux.EINVAL},
		{"removing a non-empty directory", func() error { return fs.Remove("pts") }, linux.ENOTEMPTY},
		{"removing a missing name", func() error { return fs.Remove("nothing") }, linux.ENOENT},
		{"removing a device", func() error { return fs.Remove("full") }, nil},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.op(), tt.name)
	}
	pts := lookup(t, fs.Root(), "pts").(*Dir)
	_, err := lookup(t, pts, "ptmx").(vfs.Opener).Open(linux.O_RDWR)
	assert.Equal(t, linux.EIO, err)
	assert.True(t, opened)
	assert.Equal(t, uint64(4), attr(t, fs.Root()).Nlink, "2 + shm + pts")
	ents, err := pts.Readdir()
	require.NoError(t, err)
	assert.Equal(t, attr(t, fs.Root()).Ino, ents[1].Ino, "pts/.. is the root")
	names := direntNames(mustReaddir(t, fs.Root()))
	assert.Equal(t, []string{".", "..", "null", "zero", "random", "urandom", "tty", "stdin", "stdout", "stderr", "fd", "shm", "pts", "ptmx"}, names)
}

func mustReaddir(t *testing.T, d vfs.Dir) []vfs.Dirent {
	t.Helper()
	ents, err := d.Readdir()
	require.NoError(t, err)
	return ents
}

func direntNames(ents []vfs.Dirent) []string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name)
	}
	return out
}

func TestGetdents(t *testing.T) {
	fs := New(Config{})
	h, err := fs.Root().Open(linux.O_RDONLY | linux.O_DIRECTORY)
	require.NoError(t, err)
	defer h.Close()
	var got []string
	var nexts []int64
	for {
		var batch []string
		require.NoError(t, h.(vfs.DirHandle).Getdents(func(d vfs.Dirent, next int64) bool {
			if len(batch) == 3 {
				return false
			}
			batch = append(batch, d.Name)
			nexts = append(nexts, next)
			return true
		}))
		if len(batch) == 0 {
			break
		}
		got = append(got, batch...)
	}
	assert.Equal(t, direntNames(mustReaddir(t, fs.Root())), got, "three at a time, nothing lost or repeated")
	for i := 1; i < len(nexts); i++ {
		assert.Less(t, nexts[i-1], nexts[i])
	}
	// The kernel removes an entry the handle has passed and one it has
	// not: the rest comes once.
	_, err = h.Seek(nexts[3], 0)
	require.NoError(t, err)
	require.NoError(t, fs.Remove("null"))
	require.NoError(t, fs.Remove("random"))
	var rest []string
	require.NoError(t, h.(vfs.DirHandle).Getdents(func(d vfs.Dirent, next int64) bool {
		rest = append(rest, d.Name)
		return true
	}))
	assert.Equal(t, []string{"full", "urandom", "tty", "stdin", "stdout", "stderr", "fd", "shm"}, rest)

	for _, tt := range []struct {
		off    int64
		whence int
		want   error
	}{{-1, 0, linux.EINVAL}, {0, 2, linux.EINVAL}} {
		_, err := h.Seek(tt.off, tt.whence)
		assert.Equal(t, tt.want, err)
	}
	_, err = h.Read([][]byte{make([]byte, 1)}, -1)
	assert.Equal(t, linux.EISDIR, err)
	_, err = fs.Root().Open(linux.O_RDWR)
	assert.Equal(t, linux.EISDIR, err)
}

func TestSetattr(t *testing.T) {
	fs := New(Config{})
	null := lookup(t, fs.Root(), "null").(*Device)
	stdin := lookup(t, fs.Root(), "stdin").(*Symlink)
	tests := []struct {
		name   string
		target vfs.Setattrer
		s      vfs.Setattr
		want   error
	}{
		{"chmod a device", null, vfs.Setattr{Mask: vfs.SetMode, Mode: 0o600}, nil},
		{"chown a device", null, vfs.Setattr{Mask: vfs.SetUID | vfs.SetGID, UID: 5, GID: 6}, nil},
		{"truncate a device", null, vfs.Setattr{Mask: vfs.SetSize}, linux.EINVAL},
		{"truncate a directory", fs.Root(), vfs.Setattr{Mask: vfs.SetSize}, linux.EISDIR},
		{"chmod a symlink", stdin, vfs.Setattr{Mask: vfs.SetMode, Mode: 0o600}, linux.EOPNOTSUPP},
		{"utimes a symlink", stdin, vfs.Setattr{Mask: vfs.SetMtime, Mtime: vfs.Timespec{Sec: 9}}, nil},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.target.Setattr(tt.s), tt.name)
	}
	a := attr(t, null)
	assert.Equal(t, uint32(vfs.ModeChar|0o600), a.Mode)
	assert.Equal(t, [2]uint32{5, 6}, [2]uint32{a.UID, a.GID})
	assert.Equal(t, vfs.Timespec{Sec: 9}, attr(t, stdin).Mtime)
}
