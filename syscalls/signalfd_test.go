package syscalls

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
)

func sigInfoWith(sig linux.Signal, code int32, words map[int]uint64) sigInfo {
	si := newSigInfo(sig, code)
	for off, v := range words {
		binary.LittleEndian.PutUint64(si[off:], v)
	}
	return si
}

func TestSignalfdSiginfo(t *testing.T) {
	le := binary.LittleEndian
	cases := []struct {
		name string
		sig  linux.Signal
		info sigInfo
		want map[int]uint32 // offset in signalfd_siginfo -> 32-bit value
	}{
		{"kill", linux.SIGUSR1, sigInfoWith(linux.SIGUSR1, siUser, map[int]uint64{16: 7 | 1000<<32}),
			map[int]uint32{0: 10, 8: 0, 12: 7, 16: 1000, 44: 0}},
		{"sigqueue", linux.SIGRTMIN, sigInfoWith(linux.SIGRTMIN, siQueue, map[int]uint64{16: 7 | 5<<32, 24: 4242}),
			map[int]uint32{0: 32, 8: uint32(0xffffffff), 12: 7, 16: 5, 44: 4242, 48: 4242}},
		{"timer", linux.SIGALRM, sigInfoWith(linux.SIGALRM, siTimer, map[int]uint64{16: 3 | 2<<32, 24: 99}),
			map[int]uint32{24: 3, 32: 2, 44: 99, 12: 0}},
		{"child", linux.SIGCHLD, sigInfoWith(linux.SIGCHLD, cldExited, map[int]uint64{16: 9 | 0<<32, 24: 3}),
			map[int]uint32{12: 9, 40: 3}},
		{"fault", linux.SIGSEGV, sigInfoWith(linux.SIGSEGV, segvMapErr, map[int]uint64{16: 0x1234}),
			map[int]uint32{72: 0x1234, 12: 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := signalfdSiginfo(c.sig, c.info)
			for off, v := range c.want {
				assert.Equal(t, v, le.Uint32(out[off:]), "offset %d", off)
			}
		})
	}
}

func TestSigInfoCompatRoundTrip(t *testing.T) {
	for _, si := range []sigInfo{
		sigInfoWith(linux.SIGRTMIN, siQueue, map[int]uint64{16: 7 | 5<<32, 24: 4242}),
		sigInfoWith(linux.SIGALRM, siTimer, map[int]uint64{16: 3 | 2<<32, 24: 99}),
		sigInfoWith(linux.SIGSEGV, segvAccErr, map[int]uint64{16: 0xdead000}),
		sigInfoWith(linux.SIGCHLD, cldExited, map[int]uint64{16: 9 | 1<<32, 24: 3}),
	} {
		assert.Equal(t, si, sigInfoFrom32(sigInfo32(si)))
	}
}

// TestSignalfdCalls drives signalfd4, the mask update, reads and the
// readiness channel through the system calls.
func TestSignalfdCalls(t *testing.T) {
	e := newResEnv(t, 64<<20)
	p := e.proc(0, false)
	task := p.Main()
	task.setMask(linux.Bit(linux.SIGUSR1) | linux.Bit(linux.SIGUSR2))
	mask := func(sigs ...linux.Signal) uint64 {
		var s linux.SigSet
		for _, sig := range sigs {
			s |= linux.Bit(sig)
		}
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, uint64(s))
		return e.write(p, 0, b)
	}
	_, errno := e.k.Call(p, linux.SysAMD64Signalfd4, ^uint64(0), mask(linux.SIGUSR1), 8, 1)
	require.Equal(t, linux.EINVAL, errno, "an unknown flag")
	fd, errno := e.k.Call(p, linux.SysAMD64Signalfd4, ^uint64(0), mask(linux.SIGUSR1), 8, sfdNonblock)
	require.Zero(t, errno)
	f, err := p.fds.Get(int32(fd))
	require.NoError(t, err)
	defer f.DecRef()
	ev, changed := f.Readiness()
	assert.Zero(t, ev)
	buf := uint64(resBuf + 0x1000)
	_, errno = e.k.Call(p, linux.SysAMD64Read, uint64(fd), buf, 128)
	assert.Equal(t, linux.EAGAIN, errno)

	e.k.signalProcess(p, linux.SIGUSR2, newSigInfo(linux.SIGUSR2, siUser))
	select {
	case <-changed:
	case <-time.After(time.Second):
		t.Fatal("readiness did not change when a signal became pending")
	}
	ev, _ = f.Readiness()
	assert.Zero(t, ev, "SIGUSR2 is not in the mask")
	_, errno = e.k.Call(p, linux.SysAMD64Signalfd4, uint64(fd), mask(linux.SIGUSR2), 8, 0)
	require.Zero(t, errno)
	ev, _ = f.Readiness()
	assert.Equal(t, uint32(pollIn), ev)
	n, errno := e.k.Call(p, linux.SysAMD64Read, uint64(fd), buf, 256)
	require.Zero(t, errno)
	assert.Equal(t, uintptr(128), n)
	assert.Equal(t, uint32(linux.SIGUSR2), binary.LittleEndian.Uint32(e.read(p, 0x1000, 4)))
	ev, _ = f.Readiness()
	assert.Zero(t, ev)

	_, errno = e.k.Call(p, linux.SysAMD64Signalfd4, 1, mask(linux.SIGUSR2), 8, 0)
	assert.Equal(t, linux.EBADF, errno)
}
