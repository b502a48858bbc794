package tmpfs

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

// hostOp is one step of a differential scenario: the same call made on
// the host's tmpfs and on ours.
type hostOp struct {
	kind  string // mkdir, creat, fifo, symlink, link, unlink, rmdir, rename, truncate, write, seek
	a, b  string
	flags uint32
	n     int64
}

// hostTmpDir returns a fresh directory on the host's tmpfs, or skips the
// test when /dev/shm is not one.
func hostTmpDir(t *testing.T) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err != nil || st.Type != Magic {
		t.Skip("the host's /dev/shm is not a tmpfs: no oracle")
	}
	dir, err := os.MkdirTemp("/dev/shm", "cmaemu-tmpfs-test")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func errnoOf(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(syscall.Errno); ok {
		return linux.Errno(e)
	}
	return err
}

// onHost makes op's call in the host directory dir; seek returns the
// offset as the result.
func onHost(dir string, op hostOp) (int64, error) {
	a, b := filepath.Join(dir, op.a), filepath.Join(dir, op.b)
	switch op.kind {
	case "mkdir":
		return 0, errnoOf(syscall.Mkdir(a, 0o755))
	case "creat":
		fd, err := syscall.Open(a, syscall.O_CREAT|syscall.O_EXCL|syscall.O_RDWR, 0o644)
		if err == nil {
			syscall.Close(fd)
		}
		return 0, errnoOf(err)
	case "fifo":
		return 0, errnoOf(syscall.Mknod(a, syscall.S_IFIFO|0o644, 0))
	case "symlink":
		return 0, errnoOf(syscall.Symlink(op.b, a))
	case "link":
		return 0, errnoOf(syscall.Link(a, b))
	case "unlink":
		return 0, errnoOf(syscall.Unlink(a))
	case "rmdir":
		return 0, errnoOf(syscall.Rmdir(a))
	case "rename":
		pa, _ := syscall.BytePtrFromString(a)
		pb, _ := syscall.BytePtrFromString(b)
		_, _, e := syscall.Syscall6(316, uintptr(linux.AT_FDCWD&0xffffffffffffffff), uintptr(unsafe.Pointer(pa)),
			uintptr(linux.AT_FDCWD&0xffffffffffffffff), uintptr(unsafe.Pointer(pb)), uintptr(op.flags), 0)
		if e != 0 {
			return 0, linux.Errno(e)
		}
		return 0, nil
	case "truncate":
		return 0, errnoOf(syscall.Truncate(a, op.n))
	case "write", "seek":
		fd, err := syscall.Open(a, syscall.O_RDWR, 0)
		if err != nil {
			return 0, errnoOf(err)
		}
		defer syscall.Close(fd)
		if op.kind == "seek" {
			off, err := syscall.Seek(fd, op.n, int(op.flags))
			return off, errnoOf(err)
		}
		_, err = syscall.Pwrite(fd, []byte(op.b), op.n)
		return 0, errnoOf(err)
	}
	panic("unknown op " + op.kind)
}

// onTmpfs makes op's call on root, resolving the names one component at
// a time.
func onTmpfs(root *Dir, op hostOp) (int64, error) {
	parent := func(p string) (*Dir, string, error) {
		dir, name := filepath.Split(p)
		if dir == "" {
			return root, name, nil
		}
		n, err := walkPath(root, filepath.Clean(dir))
		if err != nil {
			return nil, "", err
		}
		d, ok := n.(*Dir)
		if !ok {
			return nil, "", linux.ENOTDIR
		}
		return d, name, nil
	}
	da, na, err := parent(op.a)
	if err != nil {
		return 0, err
	}
	switch op.kind {
	case "mkdir":
		return 0, da.Mkdir(na, 0o755, root0)
	case "creat":
		h, err := da.Create(na, linux.O_RDWR, 0o644, root0)
		if err == nil {
			h.Close()
		}
		return 0, err
	case "fifo":
		return 0, da.Mknod(na, vfs.ModeFIFO|0o644, 0, root0)
	case "symlink":
		return 0, da.Symlink(na, op.b, root0)
	case "unlink":
		return 0, da.Unlink(na)
	case "rmdir":
		return 0, da.Rmdir(na)
	}
	if op.kind == "link" || op.kind == "rename" {
		db, nb, err := parent(op.b)
		if err != nil {
			return 0, err
		}
		if op.kind == "rename" {
			return 0, da.Rename(na, db, nb, op.flags)
		}
		n, err := da.Lookup(na)
		if err != nil {
			return 0, err
		}
		defer n.DecRef()
		return 0, db.Link(nb, n)
	}
	n, err := walkPath(root, op.a)
	if err != nil {
		return 0, err
	}
	f, ok := n.(*File)
	if !ok {
		return 0, linux.EISDIR
	}
	switch op.kind {
	case "truncate":
		return 0, f.Setattr(vfs.Setattr{Mask: vfs.SetSize, Size: op.n})
	case "write":
		h, _ := f.Open(linux.O_RDWR)
		defer h.Close()
		_, err := h.Write([][]byte{[]byte(op.b)}, op.n)
		return 0, err
	case "seek":
		h, _ := f.Open(linux.O_RDWR)
		defer h.Close()
		return h.Seek(op.n, int(op.flags))
	}
	panic("unknown op " + op.kind)
}

// fileState is what the differential tests compare of each file.
type fileState struct {
	Mode          uint32
	Nlink         uint64
	Size, Blocks  int64
	Content, Link string
}

// hostTree returns the state of every file under dir.
func hostTree(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	require.NoError(t, filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		require.NoError(t, err)
		var st syscall.Stat_t
		require.NoError(t, syscall.Lstat(p, &st))
		rel, _ := filepath.Rel(dir, p)
		s := fileState{Mode: st.Mode, Nlink: st.Nlink, Size: st.Size, Blocks: st.Blocks}
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFREG:
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			s.Content = string(b)
		case syscall.S_IFLNK:
			s.Link, _ = os.Readlink(p)
		}
		out[rel] = s
		return nil
	}))
	return out
}

// tmpfsTree returns the state of every file under root.
func tmpfsTree(t *testing.T, root *Dir) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	var walk func(path string, n vfs.Inode)
	walk = func(path string, n vfs.Inode) {
		a := attr(t, n)
		s := fileState{Mode: a.Mode, Nlink: a.Nlink, Size: a.Size, Blocks: a.Blocks}
		switch n := n.(type) {
		case *File:
			s.Content = readAll(t, n)
		case *Symlink:
			s.Link, _ = n.Readlink()
		case *Dir:
			for _, name := range names(t, n)[2:] {
				walk(filepath.Join(path, name), lookup(t, n, name))
			}
		}
		out[path] = s
	}
	walk(".", root)
	return out
}

// hostNames lists dir as getdents does (order included).
func hostNames(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(dir)
	require.NoError(t, err)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	require.NoError(t, err)
	return names
}

func TestHostTmpfsAgrees(t *testing.T) {
	long := string(bytes.Repeat([]byte{'x'}, 200))
	tooLong := string(bytes.Repeat([]byte{'x'}, 4096))
	setup := []hostOp{
		{kind: "mkdir", a: "a"}, {kind: "mkdir", a: "a/b"}, {kind: "mkdir", a: "a/b/c"},
		{kind: "mkdir", a: "e"}, {kind: "mkdir", a: "full"}, {kind: "creat", a: "full/z"},
		{kind: "creat", a: "f1"}, {kind: "write", a: "f1", b: "one"},
		{kind: "creat", a: "f2"}, {kind: "write", a: "f2", b: "two"},
		{kind: "creat", a: "h1"}, {kind: "link", a: "h1", b: "h2"},
		{kind: "fifo", a: "p"}, {kind: "symlink", a: "l", b: "a/b"}, {kind: "symlink", a: "ll", b: long},
	}
	tests := []struct {
		name string
		ops  []hostOp
	}{
		{"directory errors", []hostOp{
			{kind: "mkdir", a: "f1"}, {kind: "mkdir", a: "a"}, {kind: "creat", a: "a"}, {kind: "creat", a: "l"},
			{kind: "fifo", a: "p"}, {kind: "symlink", a: "f1", b: "x"}, {kind: "symlink", a: "x", b: tooLong},
			{kind: "link", a: "h1", b: "f1"}, {kind: "link", a: "a", b: "x"}, {kind: "link", a: "nothing", b: "x"},
			{kind: "unlink", a: "a"}, {kind: "unlink", a: "nothing"}, {kind: "rmdir", a: "f1"}, {kind: "rmdir", a: "p"},
			{kind: "rmdir", a: "a"}, {kind: "rmdir", a: "nothing"}, {kind: "mkdir", a: "nothing/x"},
			{kind: "rmdir", a: "e"}, {kind: "unlink", a: "h1"}, {kind: "unlink", a: "ll"}, {kind: "mkdir", a: "a/b/d"},
		}},
		{"renames", []hostOp{
			{kind: "rename", a: "f1", b: "e"}, {kind: "rename", a: "e", b: "f1"}, {kind: "rename", a: "e", b: "full"},
			{kind: "rename", a: "a", b: "a/n"}, {kind: "rename", a: "a", b: "a/b/c/n"}, {kind: "rename", a: "a", b: "a/b"},
			{kind: "rename", a: "a/b/c", b: "a"}, {kind: "rename", a: "a/b/c", b: "a", flags: linux.RENAME_EXCHANGE},
			{kind: "rename", a: "a", b: "a/b/c", flags: linux.RENAME_EXCHANGE},
			{kind: "rename", a: "h1", b: "h2"}, {kind: "rename", a: "f1", b: "f2", flags: linux.RENAME_NOREPLACE},
			{kind: "rename", a: "f1", b: "f1", flags: linux.RENAME_NOREPLACE},
			{kind: "rename", a: "f1", b: "n", flags: linux.RENAME_EXCHANGE}, {kind: "rename", a: "nothing", b: "n"},
			{kind: "rename", a: "f1", b: "n", flags: linux.RENAME_NOREPLACE | linux.RENAME_EXCHANGE},
			{kind: "rename", a: "f1", b: "n", flags: 8}, {kind: "rename", a: "a", b: "a"}, {kind: "rename", a: "p", b: "p"},
			{kind: "rename", a: "f1", b: "a/b", flags: linux.RENAME_EXCHANGE},
			{kind: "rename", a: "e", b: "full", flags: linux.RENAME_EXCHANGE},
			{kind: "rename", a: "full", b: "a/b/c"}, {kind: "rename", a: "f2", b: "a/b/f2"},
			{kind: "rename", a: "l", b: "h2"}, {kind: "rename", a: "a/b", b: "p"}, {kind: "rename", a: "a/f1", b: "a/y"},
		}},
		{"file data", []hostOp{
			{kind: "creat", a: "s"}, {kind: "write", a: "s", b: "x", n: 5000}, {kind: "truncate", a: "s", n: 20000},
			{kind: "write", a: "s", b: "yy", n: 4095}, {kind: "write", a: "s", b: "z", n: 12288},
			{kind: "seek", a: "s", n: 0, flags: seekData}, {kind: "seek", a: "s", n: 0, flags: seekHole},
			{kind: "seek", a: "s", n: 4096, flags: seekHole}, {kind: "seek", a: "s", n: 8192, flags: seekData},
			{kind: "seek", a: "s", n: 12289, flags: seekHole}, {kind: "seek", a: "s", n: 16384, flags: seekData},
			{kind: "seek", a: "s", n: 19999, flags: seekHole}, {kind: "seek", a: "s", n: 20000, flags: seekHole},
			{kind: "seek", a: "s", n: -1, flags: seekData}, {kind: "seek", a: "s", n: -1, flags: seekSet},
			{kind: "seek", a: "s", n: 5, flags: seekEnd},
			{kind: "truncate", a: "s", n: 4097}, {kind: "truncate", a: "s", n: 9000}, {kind: "truncate", a: "s", n: -1},
			{kind: "seek", a: "s", n: 4097, flags: seekData}, {kind: "seek", a: "s", n: 4096, flags: seekHole},
			{kind: "truncate", a: "a", n: 0}, {kind: "write", a: "f1", b: "ONE", n: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := hostTmpDir(t)
			_, root, _ := newTestFS(t, DefaultOptions())
			for _, op := range append(setup, tt.ops...) {
				hr, herr := onHost(host, op)
				tr, terr := onTmpfs(root, op)
				if op.kind == "truncate" && op.a == "a" {
					// truncate(2) of a directory is EISDIR on both.
					assert.Equal(t, linux.EISDIR, herr)
					continue
				}
				assert.Equal(t, herr, terr, "%+v", op)
				if herr == nil {
					assert.Equal(t, hr, tr, "%+v", op)
				}
			}
			want := hostTree(t, host)
			got := tmpfsTree(t, root)
			// The host's top directory belongs to the test (mode 0700).
			delete(want, ".")
			delete(got, ".")
			assert.Equal(t, want, got)
			for path, s := range want {
				if s.Mode&syscall.S_IFMT != syscall.S_IFDIR {
					continue
				}
				d, err := walkPath(root, path)
				require.NoError(t, err)
				hn := hostNames(t, filepath.Join(host, path))
				tn := names(t, d.(*Dir))[2:]
				sort.Strings(hn)
				sort.Strings(tn)
				assert.Equal(t, hn, tn, "entries of %s", path)
			}
		})
	}
}
