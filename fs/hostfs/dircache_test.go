package hostfs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

func newTestFS(t *testing.T) (*FS, string) {
	t.Helper()
	dir := t.TempDir()
	fs, err := New(dir)
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, n := range fs.dirs.entries {
			n.DecRef()
		}
		fs.root.DecRef()
	})
	return fs, dir
}

func lookup(t *testing.T, dir *Inode, name string) (*Inode, vfs.Attr, error) {
	t.Helper()
	n, a, err := dir.LookupAttr(name)
	if err != nil {
		return nil, a, err
	}
	t.Cleanup(n.DecRef)
	return n.(*Inode), a, nil
}

func TestDirCacheRevalidates(t *testing.T) {
	fs, host := newTestFS(t)
	require.NoError(t, os.Mkdir(filepath.Join(host, "d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(host, "f"), []byte("x"), 0o644))

	first, a, err := lookup(t, fs.root, "d")
	require.NoError(t, err)
	assert.True(t, a.IsDir())
	again, _, err := lookup(t, fs.root, "d")
	require.NoError(t, err)
	assert.Same(t, first, again, "a directory looked up again comes from the cache")

	f1, _, err := lookup(t, fs.root, "f")
	require.NoError(t, err)
	f2, _, err := lookup(t, fs.root, "f")
	require.NoError(t, err)
	assert.NotSame(t, f1, f2, "regular files are not cached")

	// Replaced behind the cache's back: the new directory is found.
	require.NoError(t, os.Rename(filepath.Join(host, "d"), filepath.Join(host, "old")))
	require.NoError(t, os.Mkdir(filepath.Join(host, "d"), 0o700))
	repl, a, err := lookup(t, fs.root, "d")
	require.NoError(t, err)
	assert.NotSame(t, first, repl)
	assert.NotEqual(t, first.ino, repl.ino)
	assert.Equal(t, uint32(0o700), a.Mode&vfs.ModePerm)

	// Replaced by a symlink: the link itself, not the cached directory.
	require.NoError(t, os.Remove(filepath.Join(host, "d")))
	require.NoError(t, os.Symlink("old", filepath.Join(host, "d")))
	link, a, err := lookup(t, fs.root, "d")
	require.NoError(t, err)
	assert.True(t, a.IsSymlink())
	assert.Equal(t, uint32(vfs.ModeSymlink), link.FileType())

	// Removed: ENOENT, and the entry is gone.
	require.NoError(t, os.Remove(filepath.Join(host, "d")))
	_, _, err = lookup(t, fs.root, "d")
	assert.Equal(t, linux.ENOENT, err)
	assert.NotContains(t, fs.dirs.entries, dirKey{fs.root.dev, fs.root.ino, "d"})
}

func TestDirCacheBounded(t *testing.T) {
	fs, host := newTestFS(t)
	for i := 0; i < dirCacheMax+10; i++ {
		name := filepath.Join(host, "d"+string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676)))
		require.NoError(t, os.Mkdir(name, 0o755))
		n, _, err := fs.root.LookupAttr(filepath.Base(name))
		require.NoError(t, err)
		n.DecRef()
	}
	assert.Len(t, fs.dirs.entries, dirCacheMax)
}

func TestLookupPath(t *testing.T) {
	fs, host := newTestFS(t)
	require.NoError(t, os.MkdirAll(filepath.Join(host, "a/b/c"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(host, "a/b/f"), []byte("x"), 0o644))
	require.NoError(t, os.Symlink("b", filepath.Join(host, "a/lb")))
	require.NoError(t, os.Symlink("/", filepath.Join(host, "a/b/up")))

	cases := []struct {
		names []string
		ok    bool
		typ   uint32
	}{
		{[]string{"a", "b", "c"}, true, vfs.ModeDir},
		{[]string{"a", "b", "f"}, true, vfs.ModeRegular},
		{[]string{"a", "b", "up"}, true, vfs.ModeSymlink}, // a last symlink is the result
		{[]string{"a", "lb", "c"}, false, 0},              // a symlink on the way: declined
		{[]string{"a", "b", "up", "a"}, false, 0},
		{[]string{"a", "missing", "c"}, false, 0},
		{[]string{"a", "b", "f", "x"}, false, 0}, // ENOTDIR: declined
	}
	for _, c := range cases {
		n, a, ok := fs.root.LookupPath(c.names)
		require.Equal(t, c.ok, ok, "%v", c.names)
		if !ok {
			continue
		}
		assert.Equal(t, c.typ, a.Mode&vfs.ModeType, "%v", c.names)
		assert.Equal(t, c.typ, n.(*Inode).FileType())
		n.DecRef()
	}
}
