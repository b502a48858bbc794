package vfs_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/fs/hostfs"
	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

// tree makes a host directory for a guest root with the given entries:
// "d/" a directory, "f" a file, "l -> target" a symlink.
func tree(t *testing.T, entries ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, e := range entries {
		switch {
		case strings.Contains(e, " -> "):
			name, target, _ := strings.Cut(e, " -> ")
			require.NoError(t, os.Symlink(target, filepath.Join(dir, name)))
		case strings.HasSuffix(e, "/"):
			require.NoError(t, os.MkdirAll(filepath.Join(dir, e), 0o755))
		default:
			require.NoError(t, os.WriteFile(filepath.Join(dir, e), []byte(e), 0o644))
		}
	}
	return dir
}

// guest is a resolver rooted at a host directory.
type guest struct {
	r    *vfs.Resolver
	root vfs.Path
}

func newGuest(t *testing.T, dir string, creds *vfs.Creds) *guest {
	t.Helper()
	fs, err := hostfs.New(dir)
	require.NoError(t, err)
	ns := vfs.NewNamespace(fs.Root(), "hostfs", dir, true)
	root := ns.Root()
	t.Cleanup(root.DecRef)
	if creds == nil {
		creds = &vfs.Creds{FileCaps: true}
	}
	return &guest{r: &vfs.Resolver{NS: ns, Root: root, Creds: creds}, root: root}
}

// name resolves path from the root and returns the guest name reached.
func (g *guest) name(path string, flags int) (string, error) {
	p, err := g.r.Resolve(g.root, path, flags)
	if err != nil {
		return "", err
	}
	defer p.DecRef()
	return p.Name, nil
}

func TestResolve(t *testing.T) {
	dir := tree(t, "a/b/c/", "f", "a/g",
		"rel -> a/b", "abs -> /a/b", "up -> ../../..", "dotdot -> ..", "dangling -> nowhere",
		"a/b/toroot -> /", "a/b/escape -> ../../../../etc", "loop1 -> loop2", "loop2 -> loop1",
		"file-link -> f", "a/b/deep -> c", "a/b/c/deepfile -> ../../g")
	g := newGuest(t, dir, nil)
	cases := []struct {
		path  string
		flags int
		want  string
		err   error
	}{
		{path: "/", want: "/"},
		{path: "a/b/c", want: "/a/b/c"},
		{path: "/a//b/./c/", want: "/a/b/c"},
		{path: "a/b/../b/c", want: "/a/b/c"},
		{path: "..", want: "/"},
		{path: "../../..", want: "/"},
		{path: "/../a", want: "/a"},
		{path: "rel/c", want: "/a/b/c"},
		{path: "abs/c", want: "/a/b/c"},
		{path: "up", want: "/"},
		{path: "up/a", want: "/a"},
		{path: "dotdot/dotdot/f", want: "/f"},
		{path: "a/b/toroot/f", want: "/f"},
		{path: "a/b/escape", err: linux.ENOENT}, // /etc inside the root: none
		{path: "dangling", err: linux.ENOENT},
		{path: "dangling", flags: vfs.NoFollow, want: "/dangling"},
		{path: "loop1", err: linux.ELOOP},
		{path: "loop1", flags: vfs.NoFollow, want: "/loop1"},
		{path: "f/", err: linux.ENOTDIR},
		{path: "f/x", err: linux.ENOTDIR},
		{path: "file-link/", err: linux.ENOTDIR},
		{path: "f", flags: vfs.MustDir, err: linux.ENOTDIR},
		{path: "rel/", flags: vfs.NoFollow, want: "/a/b"}, // a trailing slash follows
		// relative links reached through several components at once
		{path: "/a/b/deep", want: "/a/b/c"},
		{path: "a/b/deep/deepfile", want: "/a/g"},
		{path: "/a/b/c/deepfile", want: "/a/g"},
		{path: "missing/x", err: linux.ENOENT},
		{path: "", err: linux.ENOENT},
		{path: strings.Repeat("x", 256), err: linux.ENAMETOOLONG},
		{path: strings.Repeat("a/", 2048), err: linux.ENAMETOOLONG},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			got, err := g.name(c.path, c.flags)
			if c.err != nil {
				assert.ErrorIs(t, err, c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

// A chain of 40 symlinks resolves; 41 is ELOOP, as Linux counts.
func TestSymlinkLimit(t *testing.T) {
	dir := tree(t, "f")
	for i := 1; i <= 41; i++ {
		target := "f"
		if i > 1 {
			target = "l" + itoa(i-1)
		}
		require.NoError(t, os.Symlink(target, filepath.Join(dir, "l"+itoa(i))))
	}
	g := newGuest(t, dir, nil)
	got, err := g.name("l40", 0)
	require.NoError(t, err)
	assert.Equal(t, "/f", got)
	_, err = g.name("l41", 0)
	assert.ErrorIs(t, err, linux.ELOOP)
}

func itoa(i int) string { return strconv.Itoa(i) }

// A directory moved out of the root while a process's working directory
// lies in it: ".." from there still ends inside the root.
func TestDotDotAfterRenameOut(t *testing.T) {
	dir := tree(t, "a/b/c/")
	outside := t.TempDir()
	g := newGuest(t, dir, nil)
	cwd, err := g.r.Resolve(g.root, "/a/b/c", 0)
	require.NoError(t, err)
	defer cwd.DecRef()
	require.NoError(t, os.Rename(filepath.Join(dir, "a", "b"), filepath.Join(outside, "b")))
	p, err := g.r.Resolve(cwd, "../../../../..", 0)
	if err == nil {
		assert.Equal(t, "/", p.Name)
		p.DecRef()
	} else {
		assert.ErrorIs(t, err, linux.ENOENT)
	}
	// The host directory outside the root is never reached by name.
	_, err = g.name("/b", 0)
	assert.ErrorIs(t, err, linux.ENOENT)
}

// The host's /proc is refused wherever a walk meets it.
func TestHostProcRefused(t *testing.T) {
	g := newGuest(t, "/", nil)
	for _, path := range []string{"/proc/self/mem", "/proc/self/maps", "/proc", "/sys/kernel"} {
		_, err := g.name(path, 0)
		assert.ErrorIs(t, err, linux.EACCES, path)
	}
}

func TestPermissions(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make files of other owners") // the vfs rules are checked in TestPermission too
	}
	dir := tree(t, "private/", "private/f", "sticky/", "sticky/theirs", "sticky/mine", "open/")
	require.NoError(t, os.Chmod(filepath.Join(dir, "private"), 0o700))
	require.NoError(t, syscall.Chmod(filepath.Join(dir, "sticky"), 0o1777)) // os.Chmod has its own sticky flag
	require.NoError(t, os.Chown(filepath.Join(dir, "sticky", "theirs"), 2000, 2000))
	require.NoError(t, os.Chown(filepath.Join(dir, "sticky", "mine"), 1000, 1000))
	user := &vfs.Creds{UID: 1000, GID: 1000}
	g := newGuest(t, dir, user)
	_, err := g.name("private/f", 0)
	assert.ErrorIs(t, err, linux.EACCES, "search permission on a 0700 root directory")
	assert.ErrorIs(t, g.r.Unlink(g.root, "sticky/theirs"), linux.EPERM, "sticky: another's file")
	assert.NoError(t, g.r.Unlink(g.root, "sticky/mine"))
	assert.ErrorIs(t, g.r.Mkdir(g.root, "open/x", 0o755, 0o22), linux.EACCES, "no write permission")
	assert.ErrorIs(t, g.r.Mkdir(g.root, "sticky", 0o755, 0o22), linux.EEXIST)
}

func TestPermission(t *testing.T) {
	file := func(mode, uid, gid uint32) vfs.Attr {
		return vfs.Attr{Mode: vfs.ModeRegular | mode, UID: uid, GID: gid}
	}
	dir := vfs.Attr{Mode: vfs.ModeDir | 0o700, UID: 0}
	user := &vfs.Creds{UID: 1000, GID: 1000, Groups: []uint32{50}}
	root := &vfs.Creds{FileCaps: true}
	cases := []struct {
		name  string
		c     *vfs.Creds
		a     vfs.Attr
		mask  int
		allow bool
	}{
		{"owner read", user, file(0o400, 1000, 0), vfs.MayRead, true},
		{"owner bits decide, not other", user, file(0o044, 1000, 0), vfs.MayRead, false},
		{"group via supplementary", user, file(0o040, 0, 50), vfs.MayRead, true},
		{"other", user, file(0o004, 0, 0), vfs.MayRead, true},
		{"other write denied", user, file(0o004, 0, 0), vfs.MayWrite, false},
		{"root reads anything", root, file(0, 1, 1), vfs.MayRead | vfs.MayWrite, true},
		{"root exec needs an x bit", root, file(0o600, 1, 1), vfs.MayExec, false},
		{"root exec with any x bit", root, file(0o001, 1, 1), vfs.MayExec, true},
		{"root searches any directory", root, dir, vfs.MayExec, true},
		{"user cannot search", user, dir, vfs.MayExec, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.c.Permission(c.a, c.mask)
			if c.allow {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, linux.EACCES)
			}
		})
	}
}

func TestCheckChown(t *testing.T) {
	a := vfs.Attr{Mode: vfs.ModeRegular | 0o644, UID: 1000, GID: 1000}
	owner := &vfs.Creds{UID: 1000, GID: 1000, Groups: []uint32{50}}
	other := &vfs.Creds{UID: 1001, GID: 1001}
	assert.NoError(t, owner.CheckChown(a, vfs.NoID, 50), "owner to a group of its own")
	assert.ErrorIs(t, owner.CheckChown(a, vfs.NoID, 60), linux.EPERM, "owner to a foreign group")
	assert.ErrorIs(t, owner.CheckChown(a, 1001, vfs.NoID), linux.EPERM, "giving the file away")
	assert.NoError(t, owner.CheckChown(a, 1000, vfs.NoID), "to itself")
	assert.NoError(t, other.CheckChown(a, vfs.NoID, vfs.NoID), "no change")
	assert.ErrorIs(t, other.CheckChown(a, 1000, vfs.NoID), linux.EPERM, "same uid, not the owner")
	assert.NoError(t, (&vfs.Creds{FileCaps: true}).CheckChown(a, 5, 5))
}

// Mounts stack over directories and cross in both directions.
func TestMounts(t *testing.T) {
	dir := tree(t, "mnt/", "mnt/hidden", "other/", "other/x")
	g := newGuest(t, dir, nil)
	fs2, err := hostfs.New(filepath.Join(dir, "other"))
	require.NoError(t, err)
	m := g.r.NS.Mount("/mnt", fs2.Root(), "hostfs", "other", "", vfs.MountReadOnly, true)
	p, err := g.r.Resolve(g.root, "/mnt/x", 0)
	require.NoError(t, err)
	assert.Equal(t, m, p.Mount)
	assert.ErrorIs(t, p.Writable(), linux.EROFS)
	p.DecRef()
	_, err = g.name("/mnt/hidden", 0)
	assert.ErrorIs(t, err, linux.ENOENT)
	got, err := g.name("/mnt/../other/x", 0)
	require.NoError(t, err)
	assert.Equal(t, "/other/x", got)
	assert.ErrorIs(t, g.r.Rmdir(g.root, "/mnt"), linux.EBUSY)
	assert.ErrorIs(t, g.r.NS.Unmount("/"), linux.EINVAL)
	require.NoError(t, g.r.NS.Unmount("/mnt"))
	_, err = g.name("/mnt/hidden", 0)
	assert.NoError(t, err)
}

// Under -L a name is the overlay's only if it exists there: a directory
// or file to create goes to the host even when its parent (/) exists in
// the overlay, and an existing overlay name is the overlay's.
func TestSysrootParent(t *testing.T) {
	host := tree(t, "tmp/", "tmp/x", "usr/")
	over := tree(t, "usr/", "usr/lib/", "usr/lib/libfoo.so")
	g := newGuest(t, host, nil)
	ofs, err := hostfs.New(over)
	require.NoError(t, err)
	g.r.Sysroot = vfs.NewNamespace(ofs.Root(), "hostfs", over, true)

	for _, c := range []struct {
		name, dir, last string
		overlay         bool
	}{
		{"/tmp", "/", "tmp", false},
		{"/tmp/new", "/tmp", "new", false},
		{"/usr/new", "/usr", "new", false},
		{"/newdir", "/", "newdir", false},
		{"/usr/lib/libfoo.so", "/usr/lib", "libfoo.so", true},
		{"/usr/lib", "/usr", "lib", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, last, _, err := g.r.ResolveParent(g.root, c.name)
			require.NoError(t, err)
			defer dir.DecRef()
			assert.Equal(t, c.last, last)
			assert.Equal(t, c.dir, dir.Name)
			// The parent is the overlay's exactly when the name is.
			a, err := dir.Inode.Attr()
			require.NoError(t, err)
			var st syscall.Stat_t
			want := host
			if c.overlay {
				want = over
			}
			require.NoError(t, syscall.Stat(filepath.Join(want, c.dir), &st))
			assert.Equal(t, st.Ino, a.Ino, "%s: the parent is the %s's", c.name, map[bool]string{true: "overlay", false: "host"}[c.overlay])
		})
	}
}
