package tmpfs_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/fs/devfs"
	"github.com/cmaemu/cmaemu/fs/sysfs"
	"github.com/cmaemu/cmaemu/fs/tmpfs"
	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

// TestThroughTheVFS mounts a tmpfs root with /dev, /dev/shm and /sys as
// the kernel does, and resolves names across them with the VFS's walker.
func TestThroughTheVFS(t *testing.T) {
	root := tmpfs.New(tmpfs.Options{Mode: 0o755})
	rd := root.Root()
	for _, d := range []string{"dev", "sys", "tmp"} {
		require.NoError(t, rd.Mkdir(d, 0o755, vfs.Owner{}))
	}
	ns := vfs.NewNamespace(rd, "tmpfs", "none", false)
	dev := devfs.New(devfs.Config{})
	ns.Mount("/dev", dev.Root(), "devtmpfs", "udev", "mode=755", 0, false)
	shm := tmpfs.New(tmpfs.Options{Mode: 0o1777, MountPoint: "/dev/shm"})
	ns.Mount("/dev/shm", shm.Root(), "tmpfs", "tmpfs", shm.MountOptions(), 0, false)
	sys, err := sysfs.New(sysfs.Config{CPUs: 3, MemTotal: 1 << 30})
	require.NoError(t, err)
	ns.Mount("/sys", sys.Root(), "sysfs", "sysfs", "", 0, false)
	r := &vfs.Resolver{NS: ns, Root: ns.Root(), Creds: &vfs.Creds{FileCaps: true}}
	defer r.Root.DecRef()

	shmRoot := shm.Root()
	h, err := shmRoot.Create("seg", linux.O_RDWR, 0o600, vfs.Owner{UID: 1000, GID: 1000})
	require.NoError(t, err)
	_, err = h.Write([][]byte{[]byte("shared")}, -1)
	require.NoError(t, err)
	require.NoError(t, h.Close())
	tmp, err := rd.Lookup("tmp")
	require.NoError(t, err)
	require.NoError(t, tmp.(*tmpfs.Dir).Symlink("cpus", "/sys/devices/system/cpu/online", vfs.Owner{}))
	require.NoError(t, tmp.(*tmpfs.Dir).Symlink("loop", "loop", vfs.Owner{}))
	tmp.DecRef()

	tests := []struct {
		name  string
		path  string
		flags int
		mode  uint32 // of the result
		err   error
	}{
		{"a device", "/dev/null", 0, vfs.ModeChar | 0o666, nil},
		{"up out of a mount", "/dev/shm/../zero", 0, vfs.ModeChar | 0o666, nil},
		{"a file in /dev/shm", "/dev/shm/seg", 0, vfs.ModeRegular | 0o600, nil},
		{"the tmpfs root", "/dev/shm/", 0, vfs.ModeDir | 0o1777, nil},
		{"a file with a trailing slash", "/dev/shm/seg/", 0, 0, linux.ENOTDIR},
		{"a symlink not followed", "/dev/fd", vfs.NoFollow, vfs.ModeSymlink | 0o777, nil},
		{"a symlink into /proc, which is not mounted", "/dev/stdin", 0, 0, linux.ENOENT},
		{"a symlink into /sys", "/tmp/cpus", 0, vfs.ModeRegular | 0o444, nil},
		{"a symlink loop", "/tmp/loop", 0, 0, linux.ELOOP},
		{"through sysfs and back up", "/sys/devices/system/cpu/cpu2/../../node/node0/cpumap", 0, vfs.ModeRegular | 0o444, nil},
		{"a missing CPU", "/sys/devices/system/cpu/cpu3", 0, 0, linux.ENOENT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := r.Resolve(r.Root, tt.path, tt.flags)
			assert.Equal(t, tt.err, err)
			if err != nil {
				return
			}
			defer p.DecRef()
			a, err := p.Attr()
			require.NoError(t, err)
			assert.Equal(t, tt.mode, a.Mode)
		})
	}

	p, err := r.Resolve(r.Root, "/dev/shm/seg", 0)
	require.NoError(t, err)
	defer p.DecRef()
	assert.Equal(t, "/dev/shm/seg", p.Name)
	assert.Equal(t, "/dev/shm/seg", p.Inode.(interface{ Name() string }).Name())
	a, err := p.Attr()
	require.NoError(t, err)
	assert.Equal(t, shm.Dev(), a.Dev)
	assert.NotEqual(t, dev.Dev(), a.Dev)
	assert.NotEqual(t, root.Dev(), a.Dev)
}
