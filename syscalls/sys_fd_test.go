package syscalls_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
	"github.com/cmaemu/cmaemu/syscalls"
)

// scratch is a process with one read-write page at scratchPage for
// arguments.
const scratchPage = mm.Addr(0x10000)

func newScratch(t *testing.T, creds syscalls.Creds) (*syscalls.Kernel, *syscalls.Process) {
	t.Helper()
	ram, err := mm.NewRAM(64 << 20)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	k := syscalls.NewKernel(syscalls.Config{RAM: ram})
	p, err := k.NewProcess(syscalls.ProcessOptions{Creds: creds})
	require.NoError(t, err)
	require.NoError(t, p.Map(scratchPage, 1, mm.ProtRead|mm.ProtWrite))
	return k, p
}

// open opens path (written into the scratch page) and returns the fd.
func open(t *testing.T, k *syscalls.Kernel, p *syscalls.Process, path string, flags uint64) int {
	t.Helper()
	require.NoError(t, p.Write(scratchPage, append([]byte(path), 0)))
	fd, errno := k.Call(p, linux.SysAMD64Openat, uint64(uint32(0xffffff9c)), uint64(scratchPage), flags, 0)
	require.Zero(t, errno, "open %s", path)
	return int(fd)
}

// The ioctl allow-list: a host file descriptor passes terminal queries to
// the host, and nothing else (TIOCSTI, which would push input into the
// host's terminal, is ENOTTY whatever the file).
func TestIoctlAllowList(t *testing.T) {
	dir := t.TempDir()
	host := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(host, []byte("x"), 0o644))
	k, p := newScratch(t, syscalls.SameIDs(0, 0))
	hostFD := open(t, k, p, host, linux.O_RDWR)
	nullFD := open(t, k, p, "/dev/null", linux.O_RDWR)
	arg := uint64(scratchPage + 0x800)
	cases := []struct {
		name string
		fd   int
		req  uint64
		want linux.Errno
	}{
		{"TIOCSTI on a host file", hostFD, 0x5412, linux.ENOTTY},
		{"TIOCSTI on /dev/null", nullFD, 0x5412, linux.ENOTTY},
		{"TIOCSCTTY", hostFD, 0x540e, linux.ENOTTY},
		{"TIOCLINUX", hostFD, 0x541c, linux.ENOTTY},
		{"TCGETS on a regular file (the host answers)", hostFD, 0x5401, linux.ENOTTY},
		{"FIONREAD on a regular file", hostFD, 0x541b, 0},
		{"FIOCLEX", hostFD, 0x5451, 0},
		{"FIONCLEX", nullFD, 0x5450, 0},
		{"FIONBIO", hostFD, 0x5421, 0},
		{"bad fd", 99, 0x5401, linux.EBADF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errno := k.Call(p, linux.SysAMD64Ioctl, uint64(c.fd), c.req, arg)
			assert.Equal(t, c.want.Name(), errno.Name())
		})
	}
	// FIONBIO set the status flag.
	var one [4]byte
	binary.LittleEndian.PutUint32(one[:], 1)
	require.NoError(t, p.Write(scratchPage+0x800, one[:]))
	_, errno := k.Call(p, linux.SysAMD64Ioctl, uint64(nullFD), 0x5421, arg)
	require.Zero(t, errno)
	fl, errno := k.Call(p, linux.SysAMD64Fcntl, uint64(nullFD), linux.F_GETFL, 0)
	require.Zero(t, errno)
	assert.NotZero(t, fl&linux.O_NONBLOCK)
}
