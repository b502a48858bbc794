package sysfs

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

// walk looks path (relative to the root) up.
func walk(fs *FS, path string) (vfs.Inode, error) {
	var n vfs.Inode = fs.Root()
	for _, c := range strings.Split(path, "/") {
		if c == "" {
			continue
		}
		d, ok := n.(vfs.Dir)
		if !ok {
			return nil, linux.ENOTDIR
		}
		var err error
		if n, err = d.Lookup(c); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// read returns the content of the file at path.
func read(t *testing.T, fs *FS, path string) string {
	t.Helper()
	n, err := walk(fs, path)
	require.NoError(t, err, path)
	h, err := n.(vfs.Opener).Open(linux.O_RDONLY)
	require.NoError(t, err, path)
	defer h.Close()
	var out []byte
	buf := make([]byte, 7) // several reads for the longer files
	for {
		k, err := h.Read([][]byte{buf}, -1)
		require.NoError(t, err)
		if k == 0 {
			return string(out)
		}
		out = append(out, buf[:k]...)
	}
}

func newFS(t *testing.T, cpus int) *FS {
	t.Helper()
	fs, err := New(Config{CPUs: cpus, MemTotal: 1 << 30})
	require.NoError(t, err)
	return fs
}

func TestCPUFiles(t *testing.T) {
	const cpu = "devices/system/cpu/"
	tests := []struct {
		cpus  int
		files map[string]string
	}{
		{1, map[string]string{
			cpu + "online": "0\n", cpu + "possible": "0\n", cpu + "present": "0\n",
			cpu + "cpu0/topology/core_id": "0\n", cpu + "cpu0/topology/core_cpus": "1\n",
			cpu + "cpu0/topology/core_cpus_list": "0\n", cpu + "cpu0/topology/package_cpus_list": "0\n",
			"devices/system/node/node0/cpulist": "0\n", "devices/system/node/node0/cpumap": "1\n",
		}},
		{2, map[string]string{ // what a two-CPU Linux machine shows
			cpu + "online": "0-1\n", cpu + "cpu1/online": "1\n",
			cpu + "cpu1/topology/core_id": "1\n", cpu + "cpu1/topology/physical_package_id": "0\n",
			cpu + "cpu1/topology/die_id":    "0\n",
			cpu + "cpu1/topology/core_cpus": "2\n", cpu + "cpu1/topology/core_cpus_list": "1\n",
			cpu + "cpu1/topology/thread_siblings": "2\n", cpu + "cpu1/topology/thread_siblings_list": "1\n",
			cpu + "cpu1/topology/core_siblings": "3\n", cpu + "cpu1/topology/core_siblings_list": "0-1\n",
			cpu + "cpu1/topology/package_cpus": "3\n", cpu + "cpu1/topology/package_cpus_list": "0-1\n",
		}},
		{12, map[string]string{
			cpu + "present": "0-11\n", cpu + "cpu0/topology/core_cpus": "001\n",
			cpu + "cpu11/topology/thread_siblings": "800\n", cpu + "cpu5/topology/package_cpus": "fff\n",
			"devices/system/node/node0/cpumap": "fff\n", "devices/system/node/node0/cpulist": "0-11\n",
		}},
		{32, map[string]string{
			cpu + "cpu31/topology/core_cpus": "80000000\n", cpu + "cpu0/topology/core_siblings": "ffffffff\n",
		}},
		{33, map[string]string{
			cpu + "possible": "0-32\n", cpu + "cpu32/topology/core_cpus": "1,00000000\n",
			cpu + "cpu0/topology/core_cpus": "0,00000001\n", cpu + "cpu0/topology/core_siblings": "1,ffffffff\n",
		}},
		{65, map[string]string{
			cpu + "cpu64/topology/core_cpus":   "1,00000000,00000000\n",
			cpu + "cpu33/topology/core_cpus":   "0,00000002,00000000\n",
			"devices/system/node/node0/cpumap": "1,ffffffff,ffffffff\n",
		}},
	}
	for _, tt := range tests {
		fs := newFS(t, tt.cpus)
		for path, want := range tt.files {
			assert.Equal(t, want, read(t, fs, path), "%d CPUs: %s", tt.cpus, path)
		}
		for _, f := range []string{"online", "possible", "has_cpu", "has_normal_memory"} {
			assert.Equal(t, "0\n", read(t, fs, "devices/system/node/"+f))
		}
		d, err := walk(fs, "devices/system/cpu")
		require.NoError(t, err)
		list, err := d.(vfs.Dir).Readdir()
		require.NoError(t, err)
		assert.Len(t, list, 2+3+tt.cpus, "., .., online, possible, present and a directory per CPU")
		assert.Equal(t, uint64(2+tt.cpus), attr(t, d).Nlink)
	}
}

func TestNothingElse(t *testing.T) {
	fs := newFS(t, 4)
	for _, path := range []string{
		"class", "kernel", "bus/cpu", "devices/virtual", "devices/system/memory",
		"devices/system/cpu/cpu4", "devices/system/cpu/cpu0/online", "devices/system/cpu/kernel_max",
		"devices/system/cpu/cpu1/topology/cluster_id", "devices/system/cpu/cpu1/cpufreq",
		"devices/system/node/node1", "devices/system/node/node0/distance",
	} {
		_, err := walk(fs, path)
		assert.Equal(t, linux.ENOENT, err, path)
	}
	_, err := walk(fs, "devices/system/cpu/online/x")
	assert.Equal(t, linux.ENOTDIR, err)
	_, err = New(Config{CPUs: 0})
	assert.Equal(t, linux.EINVAL, err)
}

func attr(t *testing.T, n vfs.Inode) vfs.Attr {
	t.Helper()
	a, err := n.Attr()
	require.NoError(t, err)
	return a
}

func TestAttributes(t *testing.T) {
	fs, err := New(Config{CPUs: 2, Dev: 0x33})
	require.NoError(t, err)
	inos := map[uint64]string{}
	var visit func(path string, n vfs.Inode)
	visit = func(path string, n vfs.Inode) {
		a := attr(t, n)
		assert.Equal(t, uint64(0x33), a.Dev)
		assert.Equal(t, [2]uint32{0, 0}, [2]uint32{a.UID, a.GID}, path)
		assert.NotContains(t, inos, a.Ino, path)
		inos[a.Ino] = path
		if d, ok := n.(vfs.Dir); ok {
			assert.Equal(t, uint32(vfs.ModeDir|0o555), a.Mode, path)
			ents, err := d.Readdir()
			require.NoError(t, err)
			assert.Equal(t, a.Ino, ents[0].Ino)
			subdirs := 0
			for _, e := range ents[2:] {
				child, err := d.Lookup(e.Name)
				require.NoError(t, err)
				assert.Equal(t, attr(t, child).Ino, e.Ino)
				assert.Equal(t, uint8(attr(t, child).Mode>>12), e.Type)
				if e.Type == vfs.ModeDir>>12 {
					subdirs++
					sub, _ := child.(vfs.Dir).Readdir()
					assert.Equal(t, a.Ino, sub[1].Ino, "the child's .. is %s", path)
				}
				visit(path+"/"+e.Name, child)
			}
			assert.Equal(t, uint64(2+subdirs), a.Nlink, path)
			return
		}
		assert.Equal(t, uint32(vfs.ModeRegular|0o444), a.Mode, path)
		assert.Equal(t, int64(4096), a.Size, path)
		assert.Equal(t, uint64(1), a.Nlink, path)
	}
	visit("", fs.Root())
	// The root, devices and system; cpu and its three files; two CPUs of
	// a directory, topology and its 11 files, and cpu1/online; node and
	// its four files; node0 and its three.
	assert.Len(t, inos, 3+4+2*13+1+5+4, "every file listed once")
}

func TestReadsAndSeeks(t *testing.T) {
	fs := newFS(t, 4)
	n, err := walk(fs, "devices/system/cpu/online")
	require.NoError(t, err)
	h, err := n.(vfs.Opener).Open(linux.O_RDONLY)
	require.NoError(t, err)
	defer h.Close()
	buf := make([]byte, 10)
	k, err := h.Read([][]byte{buf}, 1)
	require.NoError(t, err)
	assert.Equal(t, "-3\n", string(buf[:k]), "pread from an offset")
	k, err = h.Read([][]byte{buf}, 100)
	require.NoError(t, err)
	assert.Equal(t, 0, k)
	a, b := make([]byte, 2), make([]byte, 10)
	k, err = h.Read([][]byte{a, b}, -1)
	require.NoError(t, err)
	assert.Equal(t, 4, k)
	assert.Equal(t, "0-3\n", string(a)+string(b[:2]))
	_, err = h.Write([][]byte{buf}, -1)
	assert.Equal(t, linux.EBADF, err)

	// The results of Linux's generic_file_llseek on a sysfs file.
	tests := []struct {
		off    int64
		whence int
		want   int64
		err    error
	}{
		{0, 2, 4096, nil}, {-1, 2, 4095, nil}, {5, 0, 5, nil}, {-1, 0, 0, linux.EINVAL},
		{0, 3, 0, nil}, {4095, 3, 4095, nil}, {4096, 3, 0, linux.ENXIO}, {0, 4, 4096, nil},
		{5000, 4, 0, linux.ENXIO}, {-1, 3, 0, linux.ENXIO}, {0, 7, 0, linux.EINVAL},
	}
	for _, tt := range tests {
		got, err := h.Seek(tt.off, tt.whence)
		assert.Equal(t, tt.err, err, "seek(%d, %d)", tt.off, tt.whence)
		assert.Equal(t, tt.want, got, "seek(%d, %d)", tt.off, tt.whence)
	}
	_, err = h.Seek(2, 0)
	require.NoError(t, err)
	pos, err := h.Seek(1, 1)
	require.NoError(t, err)
	assert.Equal(t, int64(3), pos)
	k, err = h.Read([][]byte{buf}, -1)
	require.NoError(t, err)
	assert.Equal(t, "\n", string(buf[:k]), "a read from the position")

	for _, flags := range []uint32{linux.O_WRONLY, linux.O_RDWR, linux.O_RDONLY | linux.O_TRUNC} {
		_, err := n.(vfs.Opener).Open(flags)
		assert.Equal(t, linux.EACCES, err, "open with %#o", flags)
	}
	_, err = fs.Root().Open(linux.O_RDWR)
	assert.Equal(t, linux.EISDIR, err)
}

func TestGetdents(t *testing.T) {
	fs := newFS(t, 2)
	n, err := walk(fs, "devices/system/cpu/cpu1")
	require.NoError(t, err)
	h, err := n.(vfs.Opener).Open(linux.O_RDONLY)
	require.NoError(t, err)
	defer h.Close()
	var got []string
	for {
		var batch []string
		require.NoError(t, h.(vfs.DirHandle).Getdents(func(d vfs.Dirent, next int64) bool {
			if len(batch) == 1 {
				return false
			}
			batch = append(batch, d.Name)
			return true
		}))
		if len(batch) == 0 {
			break
		}
		got = append(got, batch...)
	}
	assert.Equal(t, []string{".", "..", "online", "topology"}, got)
	_, err = h.Seek(0, 0)
	require.NoError(t, err)
	_, err = h.Seek(0, 2)
	assert.Equal(t, linux.EINVAL, err)
	_, err = h.Read([][]byte{make([]byte, 1)}, -1)
	assert.Equal(t, linux.EISDIR, err)
}

func TestMeminfo(t *testing.T) {
	free := uint64(300 << 20)
	fs, err := New(Config{CPUs: 1, MemTotal: 1 << 30, MemFree: func() uint64 { return free }})
	require.NoError(t, err)
	got := read(t, fs, "devices/system/node/node0/meminfo")
	lines := strings.Split(got, "\n")
	assert.Equal(t, "Node 0 MemTotal:        1048576 kB", lines[0])
	assert.Equal(t, "Node 0 MemFree:          307200 kB", lines[1])
	assert.Equal(t, "Node 0 MemUsed:          741376 kB", lines[2])
	assert.Equal(t, "Node 0 Inactive(anon):        0 kB", lines[7])
	assert.Equal(t, "Node 0 HugePages_Free:      0", lines[len(lines)-3])
	free = 1 << 20
	assert.Contains(t, read(t, fs, "devices/system/node/node0/meminfo"), "Node 0 MemFree:            1024 kB\n", "made at each open")
}

// TestMeminfoLayoutMatchesHost compares the lines of node0/meminfo with
// the host's, numbers aside.
func TestMeminfoLayoutMatchesHost(t *testing.T) {
	host, err := os.ReadFile("/sys/devices/system/node/node0/meminfo")
	if err != nil {
		t.Skip("the host has no /sys/devices/system/node/node0/meminfo")
	}
	fs := newFS(t, 1)
	ours := read(t, fs, "devices/system/node/node0/meminfo")
	number := regexp.MustCompile(` +[0-9]+`)
	shape := func(s string) string { return number.ReplaceAllString(s, " N") }
	hostShape := shape(string(host))
	// Kernels without CONFIG_UNACCEPTED_MEMORY (most) do not show it;
	// with it, the line comes before the huge pages.
	hostShape = strings.Replace(hostShape, "Node N Unaccepted: N kB\n", "", 1)
	assert.Equal(t, hostShape, shape(ours))
	hostLines := strings.Split(string(host), "\n")
	for i, l := range strings.Split(ours, "\n") {
		if i < len(hostLines) && len(hostLines[i]) < 7+16+9 { // numbers of at most 8 digits
			assert.Len(t, l, len(hostLines[i]), "the width of %q", l)
		}
	}
}
