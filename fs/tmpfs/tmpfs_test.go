package tmpfs

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

// clock is a test clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now vfs.Timespec
}

func (c *clock) read() vfs.Timespec {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// tick advances the clock by a second and returns the new time.
func (c *clock) tick() vfs.Timespec {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now.Sec++
	return c.now
}

// newTestFS returns a tmpfs with opts and a test clock.
func newTestFS(t *testing.T, opts Options) (*FS, *Dir, *clock) {
	t.Helper()
	clk := &clock{now: vfs.Timespec{Sec: 1000}}
	fs := New(opts)
	fs.now = clk.read
	// The root was stamped by the real clock.
	fs.root.atime, fs.root.mtime, fs.root.ctime = clk.now, clk.now, clk.now
	return fs, fs.Root(), clk
}

var root0 = vfs.Owner{}

func attr(t *testing.T, n vfs.Inode) vfs.Attr {
	t.Helper()
	a, err := n.Attr()
	require.NoError(t, err)
	return a
}

func lookup(t *testing.T, d vfs.Dir, name string) vfs.Inode {
	t.Helper()
	n, err := d.Lookup(name)
	require.NoError(t, err, "lookup %q", name)
	n.DecRef()
	return n
}

func subdir(t *testing.T, d vfs.Dir, name string) *Dir {
	t.Helper()
	return lookup(t, d, name).(*Dir)
}

func create(t *testing.T, d *Dir, name string, data string) *File {
	t.Helper()
	h, err := d.Create(name, linux.O_RDWR, 0o644, root0)
	require.NoError(t, err)
	if data != "" {
		n, err := h.Write([][]byte{[]byte(data)}, -1)
		require.NoError(t, err)
		require.Equal(t, len(data), n)
	}
	require.NoError(t, h.Close())
	return lookup(t, d, name).(*File)
}

func names(t *testing.T, d vfs.Dir) []string {
	t.Helper()
	ents, err := d.Readdir()
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name)
	}
	return out
}

func TestNewFileAttributes(t *testing.T) {
	fs, root, clk := newTestFS(t, Options{Mode: 0o1777, UID: 7, GID: 8, Dev: 0x2a})
	ra := attr(t, root)
	assert.Equal(t, uint32(vfs.ModeDir|0o1777), ra.Mode)
	assert.Equal(t, uint64(2), ra.Nlink)
	assert.Equal(t, int64(40), ra.Size, "an empty directory is 2 * 20 bytes")
	assert.Equal(t, [2]uint32{7, 8}, [2]uint32{ra.UID, ra.GID})
	assert.Equal(t, uint64(0x2a), ra.Dev)

	now := clk.tick()
	h, err := root.Create("f", linux.O_WRONLY, 0o4755, vfs.Owner{UID: 1000, GID: 100})
	require.NoError(t, err)
	defer h.Close()
	f := lookup(t, root, "f")
	a := attr(t, f)
	assert.Equal(t, uint32(vfs.ModeRegular|0o4755), a.Mode)
	assert.Equal(t, uint64(1), a.Nlink)
	assert.Equal(t, [2]uint32{1000, 100}, [2]uint32{a.UID, a.GID})
	assert.Equal(t, uint64(0x2a), a.Dev)
	assert.Equal(t, int64(4096), a.Blksize)
	assert.Equal(t, int64(0), a.Blocks)
	assert.Equal(t, [3]vfs.Timespec{now, now, now}, [3]vfs.Timespec{a.Atime, a.Mtime, a.Ctime})
	assert.NotEqual(t, ra.Ino, a.Ino)
	ha, err := h.Attr()
	require.NoError(t, err)
	assert.Equal(t, a, ha, "the handle's attributes are the inode's")

	ra = attr(t, root)
	assert.Equal(t, int64(60), ra.Size, "each entry adds 20 bytes")
	assert.Equal(t, now, ra.Mtime)
	assert.Equal(t, now, ra.Ctime)

	other := New(DefaultOptions())
	assert.NotEqual(t, fs.Dev(), other.Dev(), "each instance has its own device")
	assert.Equal(t, uint64(0), other.Dev()>>8, "an anonymous device has major 0")
}

func TestInodeNumbersAreUnique(t *testing.T) {
	_, root, _ := newTestFS(t, DefaultOptions())
	seen := map[uint64]string{attr(t, root).Ino: "/"}
	require.NoError(t, root.Mkdir("d", 0o755, root0))
	require.NoError(t, root.Symlink("l", "d", root0))
	require.NoError(t, root.Mknod("p", vfs.ModeFIFO|0o644, 0, root0))
	require.NoError(t, root.Mknod("s", vfs.ModeSocket|0o644, 0, root0))
	require.NoError(t, root.Mknod("r", 0o644, 0, root0))
	create(t, root, "f", "")
	for _, name := range []string{"d", "l", "p", "s", "r", "f"} {
		ino := attr(t, lookup(t, root, name)).Ino
		assert.NotContains(t, seen, ino, name)
		seen[ino] = name
	}
	assert.Equal(t, uint32(vfs.ModeRegular|0o644), attr(t, lookup(t, root, "r")).Mode, "mknod of type 0 is a regular file")
	assert.Equal(t, uint32(vfs.ModeFIFO|0o644), attr(t, lookup(t, root, "p")).Mode)
	assert.Equal(t, uint32(vfs.ModeSocket|0o644), attr(t, lookup(t, root, "s")).Mode)
}

func TestDirectoryErrors(t *testing.T) {
	tests := []struct {
		name string
		op   func(fs *FS, root *Dir) error
		want error
	}{
		{"create over a file", func(_ *FS, r *Dir) error { _, err := r.Create("f", linux.O_RDWR, 0o644, root0); return err }, linux.EEXIST},
		{"create over a directory", func(_ *FS, r *Dir) error { _, err := r.Create("d", linux.O_RDWR, 0o644, root0); return err }, linux.EEXIST},
		{"create over a symlink", func(_ *FS, r *Dir) error { _, err := r.Create("l", linux.O_RDWR, 0o644, root0); return err }, linux.EEXIST},
		{"mkdir over a file", func(_ *FS, r *Dir) error { return r.Mkdir("f", 0o755, root0) }, linux.EEXIST},
		{"mknod over a file", func(_ *FS, r *Dir) error { return r.Mknod("f", vfs.ModeFIFO|0o644, 0, root0) }, linux.EEXIST},
		{"symlink over a file", func(_ *FS, r *Dir) error { return r.Symlink("f", "x", root0) }, linux.EEXIST},
		{"link over a file", func(_ *FS, r *Dir) error { return r.Link("f", lookup(t, r, "g")) }, linux.EEXIST},
		{"mknod of a char device", func(_ *FS, r *Dir) error { return r.Mknod("c", vfs.ModeChar|0o644, 0x103, root0) }, linux.EPERM},
		{"mknod of a block device", func(_ *FS, r *Dir) error { return r.Mknod("b", vfs.ModeBlock|0o644, 0x800, root0) }, linux.EPERM},
		{"mknod of a directory", func(_ *FS, r *Dir) error { return r.Mknod("x", vfs.ModeDir|0o755, 0, root0) }, linux.EPERM},
		{"mknod of a bad type", func(_ *FS, r *Dir) error { return r.Mknod("x", 0o170000|0o644, 0, root0) }, linux.EINVAL},
		{"mknod of a device over a file", func(_ *FS, r *Dir) error { return r.Mknod("f", vfs.ModeChar|0o644, 0x103, root0) }, linux.EEXIST},
		{"symlink to a page-long target", func(_ *FS, r *Dir) error { return r.Symlink("x", string(make([]byte, 4096)), root0) }, linux.ENAMETOOLONG},
		{"symlink to nothing", func(_ *FS, r *Dir) error { return r.Symlink("x", "", root0) }, linux.ENOENT},
		{"a name too long", func(_ *FS, r *Dir) error { return r.Mkdir(string(make([]byte, 256)), 0o755, root0) }, linux.ENAMETOOLONG},
		{"lookup of a name too long", func(_ *FS, r *Dir) error { _, err := r.Lookup(string(make([]byte, 256))); return err }, linux.ENAMETOOLONG},
		{"lookup of a missing name", func(_ *FS, r *Dir) error { _, err := r.Lookup("nothing"); return err }, linux.ENOENT},
		{"link of a directory", func(_ *FS, r *Dir) error { return r.Link("x", lookup(t, r, "d")) }, linux.EPERM},
		{"link across filesystems", func(_ *FS, r *Dir) error {
			other := New(DefaultOptions()).Root()
			return r.Link("x", create(t, other, "o", ""))
		}, linux.EXDEV},
		{"link of an unlinked file", func(_ *FS, r *Dir) error {
			f := create(t, r, "gone", "")
			f.IncRef()
			defer f.DecRef()
			require.NoError(t, r.Unlink("gone"))
			return r.Link("x", f)
		}, linux.ENOENT},
		{"unlink of a directory", func(_ *FS, r *Dir) error { return r.Unlink("d") }, linux.EISDIR},
		{"unlink of a missing name", func(_ *FS, r *Dir) error { return r.Unlink("nothing") }, linux.ENOENT},
		{"rmdir of a file", func(_ *FS, r *Dir) error { return r.Rmdir("f") }, linux.ENOTDIR},
		{"rmdir of a symlink to a directory", func(_ *FS, r *Dir) error { return r.Rmdir("l") }, linux.ENOTDIR},
		{"rmdir of a non-empty directory", func(_ *FS, r *Dir) error { return r.Rmdir("full") }, linux.ENOTEMPTY},
		{"rmdir of a missing name", func(_ *FS, r *Dir) error { return r.Rmdir("nothing") }, linux.ENOENT},
		{"create in a removed directory", func(_ *FS, r *Dir) error {
			d := subdir(t, r, "d")
			require.NoError(t, r.Rmdir("d"))
			_, err := d.Create("x", linux.O_RDWR, 0o644, root0)
			return err
		}, linux.ENOENT},
		{"mkdir in a removed directory", func(_ *FS, r *Dir) error {
			d := subdir(t, r, "d")
			require.NoError(t, r.Rmdir("d"))
			return d.Mkdir("x", 0o755, root0)
		}, linux.ENOENT},
		{"open a directory for writing", func(_ *FS, r *Dir) error { _, err := r.Open(linux.O_RDWR); return err }, linux.EISDIR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, root, _ := newTestFS(t, DefaultOptions())
			create(t, root, "f", "")
			create(t, root, "g", "")
			require.NoError(t, root.Mkdir("d", 0o755, root0))
			require.NoError(t, root.Mkdir("full", 0o755, root0))
			require.NoError(t, subdir(t, root, "full").Mkdir("sub", 0o755, root0))
			require.NoError(t, root.Symlink("l", "d", root0))
			before := names(t, root)
			err := tt.op(fs, root)
			assert.Equal(t, tt.want, err)
			if tt.want == linux.EEXIST || tt.want == linux.EPERM || tt.want == linux.EINVAL {
				assert.Equal(t, before, names(t, root), "a failed call changes nothing")
			}
		})
	}
}

func TestLinkCounts(t *testing.T) {
	_, root, _ := newTestFS(t, DefaultOptions())
	require.NoError(t, root.Mkdir("a", 0o755, root0))
	a := subdir(t, root, "a")
	require.NoError(t, a.Mkdir("b", 0o755, root0))
	require.NoError(t, a.Mkdir("c", 0o755, root0))
	create(t, a, "f", "")
	assert.Equal(t, uint64(3), attr(t, root).Nlink, "the root: 2 + a")
	assert.Equal(t, uint64(4), attr(t, a).Nlink, "a: 2 + b + c (files do not count)")

	f := lookup(t, a, "f")
	require.NoError(t, root.Link("g", f))
	assert.Equal(t, uint64(2), attr(t, f).Nlink)
	require.NoError(t, a.Unlink("f"))
	assert.Equal(t, uint64(1), attr(t, f).Nlink)
	assert.Equal(t, f, lookup(t, root, "g"))

	b := subdir(t, a, "b")
	bh, err := b.Open(linux.O_RDONLY)
	require.NoError(t, err)
	defer bh.Close()
	require.NoError(t, a.Rmdir("b"))
	assert.Equal(t, linux.ENOENT, bh.(vfs.DirHandle).Getdents(func(vfs.Dirent, int64) bool { return true }),
		"getdents of a removed directory")
	assert.Equal(t, uint64(3), attr(t, a).Nlink)
	assert.Equal(t, uint64(0), attr(t, b).Nlink, "a removed directory has no links")
	_, err = b.Lookup("x")
	assert.Equal(t, linux.ENOENT, err)
}

func TestSetgidDirectoryIsInherited(t *testing.T) {
	_, root, _ := newTestFS(t, DefaultOptions())
	require.NoError(t, root.Mkdir("g", 0o2775, root0))
	g := subdir(t, root, "g")
	assert.Equal(t, uint32(vfs.ModeDir|0o775), attr(t, g).Mode, "mkdir drops setgid from the requested mode")
	require.NoError(t, g.Setattr(vfs.Setattr{Mask: vfs.SetMode, Mode: 0o2775}))
	require.NoError(t, g.Mkdir("sub", 0o755, root0))
	assert.Equal(t, uint32(vfs.ModeDir|0o2755), attr(t, lookup(t, g, "sub")).Mode)
	require.NoError(t, root.Mkdir("plain", 0o7777, root0))
	assert.Equal(t, uint32(vfs.ModeDir|0o1777), attr(t, lookup(t, root, "plain")).Mode, "mkdir keeps the sticky bit only")
}

func TestRename(t *testing.T) {
	type check func(t *testing.T, fs *FS, root *Dir)
	exists := func(path ...string) check {
		return func(t *testing.T, _ *FS, root *Dir) {
			for _, p := range path {
				_, err := walkPath(root, p)
				assert.NoError(t, err, "%s exists", p)
			}
		}
	}
	missing := func(path ...string) check {
		return func(t *testing.T, _ *FS, root *Dir) {
			for _, p := range path {
				_, err := walkPath(root, p)
				assert.Equal(t, linux.ENOENT, err, "%s is gone", p)
			}
		}
	}
	nlink := func(path string, want uint64) check {
		return func(t *testing.T, _ *FS, root *Dir) {
			n, err := walkPath(root, path)
			require.NoError(t, err)
			assert.Equal(t, want, attr(t, n).Nlink, "nlink of %s", path)
		}
	}
	content := func(path, want string) check {
		return func(t *testing.T, _ *FS, root *Dir) {
			n, err := walkPath(root, path)
			require.NoError(t, err)
			assert.Equal(t, want, readAll(t, n.(*File)), "content of %s", path)
		}
	}
	// The tree: /a/{b/{c/,x},y}, /e/ (empty), /full/z, /f1 ("one"),
	// /f2 ("two"), /h1 and /h2 (one file).
	tests := []struct {
		name        string
		from, to    string
		flags       uint32
		want        error
		checks      []check
		otherFSDest bool
	}{
		{name: "a file to a new name", from: "f1", to: "n", checks: []check{missing("f1"), content("n", "one")}},
		{name: "a file over a file", from: "f1", to: "f2", checks: []check{missing("f1"), content("f2", "one")}},
		{name: "a file into another directory", from: "f1", to: "e/f1", checks: []check{missing("f1"), exists("e/f1"), nlink("e", 2)}},
		{name: "a file over an empty directory", from: "f1", to: "e", want: linux.EISDIR, checks: []check{exists("f1", "e")}},
		{name: "a directory over a file", from: "e", to: "f1", want: linux.ENOTDIR},
		{name: "a directory over a non-empty directory", from: "e", to: "full", want: linux.ENOTEMPTY},
		{name: "a directory over an empty directory", from: "full", to: "e",
			checks: []check{missing("full"), exists("e/z"), nlink("", 4)}},
		{name: "a directory into another directory", from: "e", to: "a/e",
			checks: []check{nlink("", 4), nlink("a", 4), exists("a/e")}},
		{name: "a directory into itself", from: "a", to: "a/n", want: linux.EINVAL},
		{name: "a directory into its subtree", from: "a", to: "a/b/c/n", want: linux.EINVAL},
		{name: "a directory over its own subdirectory", from: "a", to: "a/b", want: linux.EINVAL},
		{name: "a directory onto its ancestor", from: "a/b/c", to: "a", want: linux.ENOTEMPTY},
		{name: "exchange with an ancestor", from: "a/b/c", to: "a", flags: linux.RENAME_EXCHANGE, want: linux.EINVAL},
		{name: "exchange into its subtree", from: "a", to: "a/b/x", flags: linux.RENAME_EXCHANGE, want: linux.EINVAL},
		{name: "a directory onto itself", from: "a", to: "a", checks: []check{exists("a/b/c")}},
		{name: "a file onto itself", from: "f1", to: "f1", checks: []check{content("f1", "one")}},
		{name: "a hard link onto another link of the file", from: "h1", to: "h2",
			checks: []check{exists("h1", "h2"), nlink("h1", 2)}},
		{name: "noreplace onto a file", from: "f1", to: "f2", flags: linux.RENAME_NOREPLACE, want: linux.EEXIST},
		{name: "noreplace onto itself", from: "f1", to: "f1", flags: linux.RENAME_NOREPLACE, want: linux.EEXIST},
		{name: "noreplace to a new name", from: "f1", to: "n", flags: linux.RENAME_NOREPLACE, checks: []check{content("n", "one")}},
		{name: "exchange with nothing", from: "f1", to: "n", flags: linux.RENAME_EXCHANGE, want: linux.ENOENT},
		{name: "exchange of two files", from: "f1", to: "f2", flags: linux.RENAME_EXCHANGE,
			checks: []check{content("f1", "two"), content("f2", "one")}},
		{name: "exchange of a file and a directory across directories", from: "f1", to: "a/b", flags: linux.RENAME_EXCHANGE,
			checks: []check{exists("f1/c", "f1/x"), content("a/b", "one"), nlink("", 6), nlink("a", 2), nlink("f1", 3)}},
		{name: "exchange of two directories", from: "e", to: "full", flags: linux.RENAME_EXCHANGE,
			checks: []check{exists("e/z"), missing("full/z"), nlink("", 5)}},
		{name: "noreplace and exchange", from: "f1", to: "f2", flags: linux.RENAME_NOREPLACE | linux.RENAME_EXCHANGE, want: linux.EINVAL},
		{name: "whiteout", from: "f1", to: "n", flags: linux.RENAME_WHITEOUT, want: linux.EINVAL},
		{name: "an unknown flag", from: "f1", to: "n", flags: 8, want: linux.EINVAL},
		{name: "a missing source", from: "nothing", to: "n", want: linux.ENOENT},
		{name: "a missing source onto a file", from: "nothing", to: "f1", flags: linux.RENAME_NOREPLACE, want: linux.ENOENT},
		{name: "into another filesystem", from: "f1", to: "n", otherFSDest: true, want: linux.EXDEV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, root, _ := newTestFS(t, DefaultOptions())
			mkdirs(t, root, "a", "a/b", "a/b/c", "e", "full")
			create(t, subdir(t, subdir(t, root, "a"), "b"), "x", "")
			create(t, subdir(t, root, "a"), "y", "")
			create(t, subdir(t, root, "full"), "z", "")
			create(t, root, "f1", "one")
			create(t, root, "f2", "two")
			require.NoError(t, root.Link("h2", create(t, root, "h1", "")))
			require.Equal(t, uint64(5), attr(t, root).Nlink, "2 + a, e, full")

			fromDir, fromName := splitPath(t, root, tt.from)
			toDir, toName := splitPath(t, root, tt.to)
			var dest vfs.Dir = toDir
			if tt.otherFSDest {
				dest = New(DefaultOptions()).Root()
			}
			err := fromDir.Rename(fromName, dest, toName, tt.flags)
			assert.Equal(t, tt.want, err)
			if tt.want != nil && tt.from != "nothing" {
				_, err := walkPath(root, tt.from)
				assert.NoError(t, err, "the source stays")
				assert.Equal(t, uint64(5), attr(t, root).Nlink)
			}
			for _, c := range tt.checks {
				c(t, fs, root)
			}
		})
	}
}

func TestRenameBookkeeping(t *testing.T) {
	_, root, clk := newTestFS(t, DefaultOptions())
	mkdirs(t, root, "a", "b")
	a, b := subdir(t, root, "a"), subdir(t, root, "b")
	f := create(t, a, "f", "")
	old := create(t, b, "old", "")
	old.IncRef() // keep it to look at after it is replaced
	defer old.DecRef()
	now := clk.tick()
	require.NoError(t, a.Rename("f", b, "old", 0))
	assert.Equal(t, uint64(0), attr(t, old).Nlink, "the replaced file lost its link")
	assert.Equal(t, now, attr(t, old).Ctime)
	assert.Equal(t, now, attr(t, f).Ctime, "rename stamps the moved inode's ctime")
	for _, d := range []*Dir{a, b} {
		da := attr(t, d)
		assert.Equal(t, now, da.Mtime)
		assert.Equal(t, now, da.Ctime)
	}
	assert.Equal(t, int64(40), attr(t, a).Size)
	assert.Equal(t, int64(60), attr(t, b).Size)
	assert.Equal(t, "/b/old", f.Name())
	assert.Equal(t, "/b/old (deleted)", old.Name())

	// A directory moved keeps its subtree and its ".." follows it.
	require.NoError(t, a.Mkdir("sub", 0o755, root0))
	sub := subdir(t, a, "sub")
	require.NoError(t, a.Rename("sub", b, "sub", 0))
	ents, err := sub.Readdir()
	require.NoError(t, err)
	assert.Equal(t, attr(t, b).Ino, ents[1].Ino, "\"..\" is the new parent")
}

// mkdirs makes the directories at paths, parents first.
func mkdirs(t *testing.T, root *Dir, paths ...string) {
	t.Helper()
	for _, p := range paths {
		d, name := splitPath(t, root, p)
		require.NoError(t, d.Mkdir(name, 0o755, root0), p)
	}
}

// splitPath returns the directory of path (relative to root) and its last
// component.
func splitPath(t *testing.T, root *Dir, path string) (*Dir, string) {
	t.Helper()
	d := root
	parts := splitSlash(path)
	for _, p := range parts[:len(parts)-1] {
		d = subdir(t, d, p)
	}
	return d, parts[len(parts)-1]
}

func splitSlash(path string) []string {
	var parts []string
	start := 0
	for i := 0; i <= len(path); i++ {
		if i == len(path) || path[i] == '/' {
			parts = append(parts, path[start:i])
			start = i + 1
		}
	}
	return parts
}

// walkPath looks path up from root ("" is the root).
func walkPath(root *Dir, path string) (vfs.Inode, error) {
	var n vfs.Inode = root
	if path == "" {
		return n, nil
	}
	for _, p := range splitSlash(path) {
		d, ok := n.(vfs.Dir)
		if !ok {
			return nil, linux.ENOTDIR
		}
		next, err := d.Lookup(p)
		if err != nil {
			return nil, err
		}
		next.DecRef()
		n = next
	}
	return n, nil
}

// getdents reads up to max entries from h.
func getdents(t *testing.T, h vfs.Handle, max int) []vfs.Dirent {
	t.Helper()
	var out []vfs.Dirent
	err := h.(vfs.DirHandle).Getdents(func(d vfs.Dirent, next int64) bool {
		if len(out) == max {
			return false
		}
		out = append(out, d)
		return true
	})
	require.NoError(t, err)
	return out
}

func direntNames(ents []vfs.Dirent) []string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name)
	}
	return out
}

// entry is a getdents entry with the d_off it reports.
type entry struct {
	name string
	next int64
}

const eod = dirOffsetEOD

// readdir reads up to max entries of h with their next positions.
func readdir(t *testing.T, h vfs.Handle, max int) []entry {
	t.Helper()
	var out []entry
	require.NoError(t, h.(vfs.DirHandle).Getdents(func(d vfs.Dirent, next int64) bool {
		if len(out) == max {
			return false
		}
		out = append(out, entry{d.Name, next})
		return true
	}))
	return out
}

func seek(t *testing.T, h vfs.Handle, pos int64) {
	t.Helper()
	got, err := h.Seek(pos, seekSet)
	require.NoError(t, err)
	require.Equal(t, pos, got)
}

// TestGetdentsOrderAndPositions replays sequences run on Linux 6.18's
// tmpfs and checks the names and d_off values it printed: entries newest
// first, a rename over an entry takes its position and moves to the head,
// a removed position resumes at the largest one below it.
func TestGetdentsOrderAndPositions(t *testing.T) {
	rename := func(from, to string, flags uint32) func(t *testing.T, r *Dir) {
		return func(t *testing.T, r *Dir) {
			fd, fn := splitPath(t, r, from)
			td, tn := splitPath(t, r, to)
			require.NoError(t, fd.Rename(fn, td, tn, flags))
		}
	}
	files := func(names ...string) func(t *testing.T, r *Dir) {
		return func(t *testing.T, r *Dir) {
			for _, n := range names {
				create(t, r, n, "")
			}
		}
	}
	unlink := func(names ...string) func(t *testing.T, r *Dir) {
		return func(t *testing.T, r *Dir) {
			for _, n := range names {
				require.NoError(t, r.Unlink(n))
			}
		}
	}
	type step struct {
		do   func(t *testing.T, r *Dir)
		seek int64 // -1: stay
		max  int
		want []entry
	}
	all := 1000
	tests := []struct {
		name  string
		steps []step
	}{
		{"an empty directory", []step{
			{seek: 0, max: all, want: []entry{{".", 1}, {"..", eod}}},
			{seek: -1, max: all, want: nil},
		}},
		{"entries come and go between two reads", []step{
			{do: files("a", "b", "c", "d", "e", "f", "g"), seek: 0, max: 3, want: []entry{{".", 1}, {"..", 9}, {"g", 8}}},
			{do: func(t *testing.T, r *Dir) { unlink("f", "e")(t, r); files("new")(t, r) }, seek: -1, max: all,
				want: []entry{{"d", 5}, {"c", 4}, {"b", 3}, {"a", eod}}},
			{seek: 6, max: all, want: []entry{{"d", 5}, {"c", 4}, {"b", 3}, {"a", eod}}},
			{seek: 2, max: all, want: []entry{{"new", 9}, {"g", 6}, {"d", 5}, {"c", 4}, {"b", 3}, {"a", eod}}},
			{seek: 100, max: all, want: []entry{{"new", 9}, {"g", 6}, {"d", 5}, {"c", 4}, {"b", 3}, {"a", eod}}},
			{seek: eod, max: all, want: nil},
			{seek: 1, max: 2, want: []entry{{"..", 10}, {"new", 9}}},
		}},
		{"no position below: the head", []step{
			{do: func(t *testing.T, r *Dir) { files("a", "b", "c", "d")(t, r); unlink("a", "b")(t, r) }, seek: 3, max: all,
				want: []entry{{"d", 5}, {"c", eod}}},
			{seek: 5, max: all, want: []entry{{"c", eod}}},
			{seek: 1 << 40, max: all, want: []entry{{"d", 5}, {"c", eod}}},
		}},
		{"renames", []step{
			{do: func(t *testing.T, r *Dir) { files("a", "b", "c", "d", "e")(t, r); rename("b", "d", 0)(t, r) }, seek: 0, max: all,
				want: []entry{{".", 1}, {"..", 6}, {"d", 7}, {"e", 5}, {"c", 3}, {"a", eod}}},
			{do: func(t *testing.T, r *Dir) {
				require.NoError(t, r.Mkdir("sub", 0o755, root0))
				rename("a", "sub/a", 0)(t, r)
				rename("sub/a", "a", 0)(t, r)
			}, seek: 0, max: all,
				want: []entry{{".", 1}, {"..", 9}, {"a", 8}, {"sub", 6}, {"d", 7}, {"e", 5}, {"c", eod}}},
			{do: rename("c", "zz", 0), seek: 0, max: all,
				want: []entry{{".", 1}, {"..", 10}, {"zz", 9}, {"a", 8}, {"sub", 6}, {"d", 7}, {"e", eod}}},
			{do: rename("e", "a", linux.RENAME_EXCHANGE), seek: 0, max: all,
				want: []entry{{".", 1}, {"..", 9}, {"a", 7}, {"e", 10}, {"zz", 8}, {"sub", 6}, {"d", eod}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, root, _ := newTestFS(t, DefaultOptions())
			h, err := root.Open(linux.O_RDONLY | linux.O_DIRECTORY)
			require.NoError(t, err)
			defer h.Close()
			for i, st := range tt.steps {
				if st.do != nil {
					st.do(t, root)
				}
				if st.seek >= 0 {
					seek(t, h, st.seek)
				}
				assert.Equal(t, st.want, readdir(t, h, st.max), "step %d", i)
			}
		})
	}
}

func TestGetdentsResumesWhereItStopped(t *testing.T) {
	_, root, _ := newTestFS(t, DefaultOptions())
	for _, name := range []string{"a", "b", "c"} {
		create(t, root, name, "")
	}
	require.NoError(t, root.Mkdir("dir", 0o755, root0))
	h, err := root.Open(linux.O_RDONLY | linux.O_DIRECTORY)
	require.NoError(t, err)
	defer h.Close()

	first := getdents(t, h, 3)
	assert.Equal(t, []string{".", "..", "dir"}, direntNames(first))
	assert.Equal(t, attr(t, root).Ino, first[0].Ino)
	assert.Equal(t, attr(t, root).Ino, first[1].Ino, "the root's \"..\" is itself")
	assert.Equal(t, uint8(vfs.ModeDir>>12), first[2].Type)

	var all []string
	for {
		ents := getdents(t, h, 1)
		if len(ents) == 0 {
			break
		}
		assert.Equal(t, uint8(vfs.ModeRegular>>12), ents[0].Type)
		all = append(all, ents[0].Name)
	}
	assert.Equal(t, []string{"c", "b", "a"}, all, "one entry at a time")
	pos, err := h.Seek(0, seekCur)
	require.NoError(t, err)
	assert.Equal(t, int64(eod), pos)

	for _, tt := range []struct {
		off    int64
		whence int
		want   error
	}{{-1, seekSet, linux.EINVAL}, {0, seekEnd, linux.EINVAL}, {-pos - 1, seekCur, linux.EINVAL}, {0, seekData, linux.EINVAL}} {
		_, err := h.Seek(tt.off, tt.whence)
		assert.Equal(t, tt.want, err, "seek(%d, %d)", tt.off, tt.whence)
	}
	_, err = h.Read([][]byte{make([]byte, 10)}, -1)
	assert.Equal(t, linux.EISDIR, err)
	_, err = h.Write([][]byte{make([]byte, 10)}, -1)
	assert.Equal(t, linux.EBADF, err)
}

func TestGetdentsPositionsWrap(t *testing.T) {
	_, root, _ := newTestFS(t, DefaultOptions())
	files := []string{"a", "b"}
	for _, name := range files {
		create(t, root, name, "")
	}
	root.cookie = dirOffsetMax - 1
	create(t, root, "c", "")
	create(t, root, "d", "")
	create(t, root, "e", "") // wraps: 3 and 4 are taken
	h, err := root.Open(linux.O_RDONLY)
	require.NoError(t, err)
	defer h.Close()
	assert.Equal(t, []entry{{".", 1}, {"..", 5}, {"e", dirOffsetMax}, {"d", dirOffsetMax - 1}, {"c", 4}, {"b", 3}, {"a", eod}},
		readdir(t, h, 100))
	seek(t, h, 5)
	assert.Equal(t, []entry{{"e", dirOffsetMax}, {"d", dirOffsetMax - 1}, {"c", 4}, {"b", 3}, {"a", eod}}, readdir(t, h, 100))
	seek(t, h, dirOffsetMax-1)
	assert.Equal(t, []entry{{"c", 4}, {"b", 3}, {"a", eod}}, readdir(t, h, 100))
}

func TestGetdentsManyRemovals(t *testing.T) {
	_, root, _ := newTestFS(t, DefaultOptions())
	const n = 300
	for i := range n {
		create(t, root, name(i), "")
	}
	h, err := root.Open(linux.O_RDONLY)
	require.NoError(t, err)
	defer h.Close()
	got := direntNames(getdents(t, h, 102))
	// Remove all but every tenth, which compacts the directory, while the
	// handle is in the middle.
	for i := range n {
		if i%10 != 0 {
			require.NoError(t, root.Unlink(name(i)))
		}
	}
	got = append(got, direntNames(getdents(t, h, 1000))...)
	want := []string{".", ".."}
	for i := n - 1; i >= 0; i-- {
		if i >= n-100 || i%10 == 0 {
			want = append(want, name(i))
		}
	}
	assert.Equal(t, want, got)
	assert.Len(t, names(t, root), 2+n/10)
	assert.Equal(t, int64(40+20*n/10), attr(t, root).Size)
}

func name(i int) string {
	return string([]byte{'f', byte('0' + i/100), byte('0' + i/10%10), byte('0' + i%10)})
}

func TestSetattr(t *testing.T) {
	_, root, clk := newTestFS(t, DefaultOptions())
	f := create(t, root, "f", "data")
	require.NoError(t, root.Symlink("l", "f", root0))
	require.NoError(t, root.Mkdir("d", 0o755, root0))
	l, d := lookup(t, root, "l").(*Symlink), subdir(t, root, "d")

	tests := []struct {
		name   string
		target vfs.Setattrer
		s      vfs.Setattr
		want   error
	}{
		{"the size of a directory", d, vfs.Setattr{Mask: vfs.SetSize}, linux.EISDIR},
		{"the size of a symlink", l, vfs.Setattr{Mask: vfs.SetSize}, linux.EINVAL},
		{"the mode of a symlink", l, vfs.Setattr{Mask: vfs.SetMode, Mode: 0o600}, linux.EOPNOTSUPP},
		{"a negative size", f, vfs.Setattr{Mask: vfs.SetSize, Size: -1}, linux.EINVAL},
		{"the owner of a symlink", l, vfs.Setattr{Mask: vfs.SetUID | vfs.SetGID, UID: 5, GID: 6}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.target.Setattr(tt.s))
		})
	}
	la := attr(t, l)
	assert.Equal(t, [2]uint32{5, 6}, [2]uint32{la.UID, la.GID})
	assert.Equal(t, uint32(vfs.ModeSymlink|0o777), la.Mode)
	assert.Equal(t, int64(1), la.Size, "a symlink's size is its target's length")

	// chmod: ctime only.
	before := attr(t, f)
	now := clk.tick()
	require.NoError(t, f.Setattr(vfs.Setattr{Mask: vfs.SetMode, Mode: 0o6755}))
	a := attr(t, f)
	assert.Equal(t, uint32(vfs.ModeRegular|0o6755), a.Mode)
	assert.Equal(t, now, a.Ctime)
	assert.Equal(t, before.Mtime, a.Mtime)
	// chown kills setuid, and setgid with group execute.
	require.NoError(t, f.Setattr(vfs.Setattr{Mask: vfs.SetUID, UID: 1000}))
	assert.Equal(t, uint32(vfs.ModeRegular|0o755), attr(t, f).Mode)
	require.NoError(t, f.Setattr(vfs.Setattr{Mask: vfs.SetMode, Mode: 0o2745}))
	require.NoError(t, f.Setattr(vfs.Setattr{Mask: vfs.SetGID, GID: 1000}))
	assert.Equal(t, uint32(vfs.ModeRegular|0o2745), attr(t, f).Mode, "setgid without group execute is mandatory locking: kept")
	require.NoError(t, d.Setattr(vfs.Setattr{Mask: vfs.SetMode, Mode: 0o6755}))
	require.NoError(t, d.Setattr(vfs.Setattr{Mask: vfs.SetUID, UID: 1000}))
	assert.Equal(t, uint32(vfs.ModeDir|0o6755), attr(t, d).Mode, "a directory keeps its bits")

	// utimensat.
	clk.tick()
	at, mt := vfs.Timespec{Sec: 5, Nsec: 6}, vfs.Timespec{Sec: 7, Nsec: 8}
	require.NoError(t, f.Setattr(vfs.Setattr{Mask: vfs.SetAtime | vfs.SetMtime, Atime: at, Mtime: mt}))
	a = attr(t, f)
	assert.Equal(t, [3]vfs.Timespec{at, mt, clk.read()}, [3]vfs.Timespec{a.Atime, a.Mtime, a.Ctime})
	now = clk.tick()
	require.NoError(t, f.Setattr(vfs.Setattr{Mask: vfs.SetMtimeNow}))
	a = attr(t, f)
	assert.Equal(t, [3]vfs.Timespec{at, now, now}, [3]vfs.Timespec{a.Atime, a.Mtime, a.Ctime})

	// truncate to the same size changes nothing; another size stamps
	// mtime and ctime.
	clk.tick()
	require.NoError(t, f.Setattr(vfs.Setattr{Mask: vfs.SetSize, Size: 4}))
	assert.Equal(t, a, attr(t, f))
	now = clk.tick()
	require.NoError(t, f.Setattr(vfs.Setattr{Mask: vfs.SetSize, Size: 2}))
	a = attr(t, f)
	assert.Equal(t, [2]vfs.Timespec{now, now}, [2]vfs.Timespec{a.Mtime, a.Ctime})
	assert.Equal(t, int64(2), a.Size)
	assert.Equal(t, "da", readAll(t, f))
}

func TestTimes(t *testing.T) {
	_, root, clk := newTestFS(t, DefaultOptions())
	h, err := root.Create("f", linux.O_RDWR, 0o644, root0)
	require.NoError(t, err)
	defer h.Close()
	f := lookup(t, root, "f")
	created := attr(t, f)

	now := clk.tick()
	_, err = h.Write([][]byte{[]byte("x")}, -1)
	require.NoError(t, err)
	a := attr(t, f)
	assert.Equal(t, [3]vfs.Timespec{created.Atime, now, now}, [3]vfs.Timespec{a.Atime, a.Mtime, a.Ctime}, "a write stamps mtime and ctime")

	clk.tick()
	_, err = h.Write(nil, -1)
	require.NoError(t, err)
	assert.Equal(t, a, attr(t, f), "an empty write changes nothing")

	now = clk.tick()
	_, err = h.Read([][]byte{make([]byte, 1)}, 0)
	require.NoError(t, err)
	assert.Equal(t, now, attr(t, f).Atime, "reading a file modified since it was read stamps atime")
	clk.tick()
	_, err = h.Read([][]byte{make([]byte, 1)}, 0)
	require.NoError(t, err)
	assert.Equal(t, now, attr(t, f).Atime, "relatime: not again until it is modified")

	now = clk.tick()
	require.NoError(t, root.Link("g", f))
	a = attr(t, f)
	assert.Equal(t, now, a.Ctime, "link stamps ctime")
	ra := attr(t, root)
	assert.Equal(t, [2]vfs.Timespec{now, now}, [2]vfs.Timespec{ra.Mtime, ra.Ctime}, "and the directory's mtime and ctime")

	now = clk.tick()
	require.NoError(t, root.Unlink("g"))
	assert.Equal(t, now, attr(t, f).Ctime, "unlink stamps ctime")
	assert.Equal(t, now, attr(t, root).Mtime)

	now = clk.tick()
	h2, err := f.(*File).Open(linux.O_WRONLY | linux.O_TRUNC)
	require.NoError(t, err)
	require.NoError(t, h2.Close())
	a = attr(t, f)
	assert.Equal(t, int64(0), a.Size)
	assert.Equal(t, [2]vfs.Timespec{now, now}, [2]vfs.Timespec{a.Mtime, a.Ctime}, "O_TRUNC stamps mtime and ctime")
	now = clk.tick()
	h2, err = f.(*File).Open(linux.O_WRONLY | linux.O_TRUNC)
	require.NoError(t, err)
	require.NoError(t, h2.Close())
	assert.Equal(t, now, attr(t, f).Mtime, "even of an empty file")

	now = clk.tick()
	dh, err := root.Open(linux.O_RDONLY)
	require.NoError(t, err)
	getdents(t, dh, 100)
	require.NoError(t, dh.Close())
	assert.Equal(t, now, attr(t, root).Atime, "getdents stamps a directory's atime")
}

func TestSizeLimitAndRelease(t *testing.T) {
	fs, root, _ := newTestFS(t, Options{Mode: 0o1777, Size: 2*PageSize - 100})
	h, err := root.Create("f", linux.O_RDWR, 0o644, root0)
	require.NoError(t, err)
	n, err := h.Write([][]byte{make([]byte, 3*PageSize)}, -1)
	require.NoError(t, err)
	assert.Equal(t, 2*PageSize, n, "a write that fills the filesystem is short")
	_, err = h.Write([][]byte{[]byte("x")}, -1)
	assert.Equal(t, linux.ENOSPC, err)
	n, err = h.Write([][]byte{[]byte("in place")}, 10)
	require.NoError(t, err, "writing over pages the file has needs no space")
	assert.Equal(t, 8, n)
	require.NoError(t, root.Symlink("short", string(make([]byte, 127)), root0), "a short symlink takes no page")
	assert.Equal(t, linux.ENOSPC, root.Symlink("long", string(make([]byte, 128)), root0))
	used, limit := fs.Usage()
	assert.Equal(t, [2]int64{2 * PageSize, 2 * PageSize}, [2]int64{used, limit})
	assert.Equal(t, Statfs{Blocks: 2, BlocksFree: 0}, fs.Statfs())
	assert.Equal(t, int64(16), attr(t, lookup(t, root, "f")).Blocks)

	// Truncation past the limit is fine (sparse); shrinking frees pages.
	f := lookup(t, root, "f").(*File)
	require.NoError(t, f.Setattr(vfs.Setattr{Mask: vfs.SetSize, Size: 1 << 40}))
	require.NoError(t, f.Setattr(vfs.Setattr{Mask: vfs.SetSize, Size: PageSize + 1}))
	used, _ = fs.Usage()
	assert.Equal(t, int64(2*PageSize), used)
	require.NoError(t, f.Setattr(vfs.Setattr{Mask: vfs.SetSize, Size: 1}))
	used, _ = fs.Usage()
	assert.Equal(t, int64(PageSize), used)
	assert.Equal(t, int64(8), attr(t, f).Blocks)

	// An unlinked file keeps its pages until its last reference goes.
	require.NoError(t, root.Unlink("f"))
	used, _ = fs.Usage()
	assert.Equal(t, int64(PageSize), used, "still open")
	buf := make([]byte, 1)
	n, err = h.Read([][]byte{buf}, 0)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	require.NoError(t, h.Close())
	used, _ = fs.Usage()
	assert.Equal(t, int64(0), used, "freed at the last close")
	assert.Equal(t, linux.EBADF, h.Close(), "a second close")

	assert.Equal(t, linux.EINVAL, fs.Remount(Options{Size: 0, MaxInodes: 1}), "more inodes are in use")
	require.NoError(t, fs.Remount(Options{Size: 10 * PageSize, MaxInodes: 3}))
	assert.Equal(t, "size=40k,nr_inodes=3", fs.MountOptions())
	require.NoError(t, root.Mkdir("d", 0o755, root0), "the root and the symlink are 2 of 3 inodes; a third is fine")
	assert.Equal(t, linux.ENOSPC, root.Mkdir("e", 0o755, root0))
}

func TestInodeLimit(t *testing.T) {
	fs, root, _ := newTestFS(t, Options{Mode: 0o1777, MaxInodes: 3})
	require.NoError(t, root.Mkdir("a", 0o755, root0))
	create(t, root, "f", "")
	assert.Equal(t, linux.ENOSPC, root.Mkdir("b", 0o755, root0), "the root counts")
	assert.Equal(t, Statfs{Files: 3, FilesFree: 0}, fs.Statfs())
	assert.Equal(t, linux.EEXIST, root.Mkdir("a", 0o755, root0), "EEXIST before ENOSPC")
	require.NoError(t, root.Unlink("f"))
	require.NoError(t, root.Mkdir("b", 0o755, root0), "an unlinked file gives back its inode")
}

func TestConcurrentUse(t *testing.T) {
	fs, root, _ := newTestFS(t, Options{Mode: 0o1777, Size: 64 * PageSize})
	mkdirs(t, root, "a", "b")
	a, b := subdir(t, root, "a"), subdir(t, root, "b")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nm := name(g)
			for i := range 200 {
				if h, err := a.Create(nm, linux.O_RDWR|linux.O_APPEND, 0o644, root0); err == nil {
					h.Write([][]byte{make([]byte, 100+i)}, -1)
					h.Read([][]byte{make([]byte, 10)}, 0)
					h.Close()
				}
				a.Rename(nm, b, nm, 0)
				b.Rename(nm, a, "x", linux.RENAME_EXCHANGE)
				if n, err := b.Lookup(nm); err == nil {
					n.Attr()
					n.(vfs.Inode).(interface{ Name() string }).Name()
					n.DecRef()
				}
				b.Unlink(nm)
				a.Unlink("x")
				a.Mkdir(nm, 0o755, root0)
				a.Rename(nm, b, "d", 0)
				b.Rmdir("d")
				root.Readdir()
				if h, err := b.Open(linux.O_RDONLY); err == nil {
					getdents(t, h, 3)
					h.Close()
				}
			}
		}()
	}
	wg.Wait()
	for _, d := range []*Dir{a, b} {
		for _, n := range names(t, d)[2:] {
			if d.Unlink(n) != nil {
				require.NoError(t, d.Rmdir(n))
			}
		}
	}
	used, _ := fs.Usage()
	assert.Equal(t, int64(0), used, "every page is given back")
	assert.Equal(t, uint64(4), attr(t, root).Nlink)
	assert.Equal(t, uint64(2), attr(t, a).Nlink)
	assert.Equal(t, uint64(2), attr(t, b).Nlink)
	assert.Equal(t, int64(3), fs.usedInodes.Load())
}

func TestParseOptions(t *testing.T) {
	const ram = 1 << 30
	// Without size= and nr_inodes=: half of RAM and its pages.
	const size, inodes, sizeShow = ram / 2, ram / PageSize / 2, "size=524288k,nr_inodes=131072"
	tests := []struct {
		data string
		want Options
		err  error
		show string
	}{
		{data: "", want: Options{Size: size, MaxInodes: inodes, Mode: 0o1777}, show: sizeShow},
		{data: "size=1m,mode=755,uid=1000,gid=100", want: Options{Size: 1 << 20, MaxInodes: inodes, Mode: 0o755, UID: 1000, GID: 100},
			show: "size=1024k,nr_inodes=131072,mode=755,uid=1000,gid=100"},
		{data: "size=10%", want: Options{Size: ram / 10, MaxInodes: inodes, Mode: 0o1777}, show: "size=104860k,nr_inodes=131072"},
		{data: "size=4097", want: Options{Size: 4097, MaxInodes: inodes, Mode: 0o1777}, show: "size=8k,nr_inodes=131072"},
		{data: "size=0,nr_inodes=0", want: Options{Mode: 0o1777}},
		{data: "nr_blocks=3,nr_inodes=1k", want: Options{Size: 3 * PageSize, MaxInodes: 1024, Mode: 0o1777}, show: "size=12k,nr_inodes=1024"},
		{data: "mode=0", want: Options{Size: size, MaxInodes: inodes}, show: sizeShow + ",mode=000"},
		{data: "mode=17777", want: Options{Size: size, MaxInodes: inodes, Mode: 0o7777}, show: sizeShow + ",mode=7777"},
		{data: "inode64,huge=never,mpol=default,noswap", want: Options{Size: size, MaxInodes: inodes, Mode: 0o1777}, show: sizeShow},
		{data: "size=x", err: linux.EINVAL},
		{data: "size=1q", err: linux.EINVAL},
		{data: "size", err: linux.EINVAL},
		{data: "mode=9", err: linux.EINVAL},
		{data: "uid=-1", err: linux.EINVAL},
		{data: "uid=4294967295", err: linux.EINVAL},
		{data: "inode64=1", err: linux.EINVAL},
		{data: "bogus", err: linux.EINVAL},
	}
	for _, tt := range tests {
		t.Run(tt.data, func(t *testing.T) {
			o, err := ParseOptions(tt.data, ram)
			assert.Equal(t, tt.err, err)
			if tt.err != nil {
				return
			}
			assert.Equal(t, tt.want, o)
			assert.Equal(t, tt.show, New(o).MountOptions())
		})
	}
}

func TestSpecialFiles(t *testing.T) {
	fs, root, _ := newTestFS(t, DefaultOptions())
	require.NoError(t, root.Mknod("p", vfs.ModeFIFO|0o600, 0, root0))
	require.NoError(t, root.Mknod("s", vfs.ModeSocket|0o600, 0, root0))
	p, s := lookup(t, root, "p").(vfs.Opener), lookup(t, root, "s").(vfs.Opener)
	_, err := p.Open(linux.O_RDONLY)
	assert.Equal(t, linux.ENXIO, err, "no FIFO opener")
	var opened vfs.Inode
	fs.SetOpenFIFO(func(n vfs.Inode, flags uint32) (vfs.Handle, error) {
		opened = n
		return nil, linux.EAGAIN
	})
	_, err = p.Open(linux.O_RDONLY)
	assert.Equal(t, linux.EAGAIN, err)
	assert.Equal(t, p, opened, "the kernel is given the FIFO's inode")
	_, err = s.Open(linux.O_RDONLY)
	assert.Equal(t, linux.ENXIO, err, "a socket cannot be opened")
}
