package syscalls

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// The compat CMA rules (347/348) of DESIGN.md, and copies across ABIs.

type compatEnv struct {
	t      *testing.T
	k      *Kernel
	caller *Process // i386
	remote *Process // i386, forked from caller
	wide   *Process // x86-64, same uid
}

func newCompatEnv(t *testing.T) *compatEnv {
	ram, err := mm.NewRAM(64 << 20)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	k := NewKernel(Config{RAM: ram})
	caller, err := k.NewProcess(ProcessOptions{Creds: SameIDs(1000, 1000), I386: true})
	require.NoError(t, err)
	require.NoError(t, caller.Map(localBuf, 4, mm.ProtRead|mm.ProtWrite))
	require.NoError(t, caller.Map(localIov, 1, mm.ProtRead|mm.ProtWrite))
	remote, err := k.Fork(caller)
	require.NoError(t, err)
	require.NoError(t, remote.Map(remoteBuf, 2, mm.ProtRead|mm.ProtWrite))
	require.NoError(t, remote.Write(remoteBuf, pattern(2*mm.PageSize)))
	require.NoError(t, remote.Map(0xffffc000, 1, mm.ProtRead|mm.ProtWrite))
	require.NoError(t, remote.Write(0xffffc000, pattern(mm.PageSize)))
	wide, err := k.NewProcess(ProcessOptions{Creds: SameIDs(1000, 1000)})
	require.NoError(t, err)
	require.NoError(t, wide.Map(remoteBuf, 1, mm.ProtRead|mm.ProtWrite))
	require.NoError(t, wide.Write(remoteBuf, []byte("wide process")))
	require.NoError(t, wide.Map(0x7f0000000000, 1, mm.ProtRead|mm.ProtWrite))
	require.NoError(t, wide.Map(localIov, 1, mm.ProtRead|mm.ProtWrite))
	require.NoError(t, wide.Map(localBuf, 1, mm.ProtRead|mm.ProtWrite))
	return &compatEnv{t: t, k: k, caller: caller, remote: remote, wide: wide}
}

// iov32 writes compat iovecs {u32 base, u32 len} at addr in p.
func (e *compatEnv) iov32(p *Process, addr mm.Addr, pairs ...uint32) uint64 {
	b := make([]byte, 4*len(pairs))
	for i, v := range pairs {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	require.NoError(e.t, p.Write(addr, b))
	return uint64(addr)
}

func (e *compatEnv) readv(pid int32, lvec, liovcnt, rvec, riovcnt, flags uint64) (uintptr, linux.Errno) {
	return e.k.Call(e.caller, linux.Sys386ProcessVmReadv, uint64(uint32(pid)), lvec, liovcnt, rvec, riovcnt, flags)
}

func TestProcessVMCompatContract(t *testing.T) {
	cases := []struct {
		rule  string
		run   func(e *compatEnv) (uintptr, linux.Errno)
		want  uintptr
		errno linux.Errno
	}{
		{rule: "compat: a plain copy", want: 16, run: func(e *compatEnv) (uintptr, linux.Errno) {
			return e.readv(e.remote.PID(), e.iov32(e.caller, localIov, uint32(localBuf), 16), 1,
				e.iov32(e.caller, localIov+0x100, uint32(remoteBuf), 16), 1, 0)
		}},
		{rule: "compat: a local length of 0x80000000 is negative (EINVAL)", errno: linux.EINVAL,
			run: func(e *compatEnv) (uintptr, linux.Errno) {
				return e.readv(e.remote.PID(), e.iov32(e.caller, localIov, uint32(localBuf), 0x80000000), 1, 0, 1, 0)
			}},
		{rule: "compat: a remote length of 0x80000000 is negative (EINVAL)", errno: linux.EINVAL,
			run: func(e *compatEnv) (uintptr, linux.Errno) {
				return e.readv(e.remote.PID(), e.iov32(e.caller, localIov, uint32(localBuf), 16), 1,
					e.iov32(e.caller, localIov+0x100, uint32(remoteBuf), 0x80000000), 1, 0)
			}},
		{rule: "compat: flags 0xffffffff is EINVAL", errno: linux.EINVAL,
			run: func(e *compatEnv) (uintptr, linux.Errno) { return e.readv(e.remote.PID(), 0, 1, 0, 1, 0xffffffff) }},
		{rule: "compat: liovcnt 0xffffffff is EINVAL", errno: linux.EINVAL,
			run: func(e *compatEnv) (uintptr, linux.Errno) { return e.readv(e.remote.PID(), 0, 0xffffffff, 0, 1, 0) }},
		{rule: "compat: every 32-bit local address passes the import, failing in the copy", errno: linux.EFAULT,
			run: func(e *compatEnv) (uintptr, linux.Errno) {
				return e.readv(e.remote.PID(), e.iov32(e.caller, localIov, 0xfffff000, 0x2000), 1,
					e.iov32(e.caller, localIov+0x100, uint32(remoteBuf), 16), 1, 0)
			}},
		{rule: "compat: an unmapped high remote page (0xffffe000) is EFAULT", errno: linux.EFAULT,
			run: func(e *compatEnv) (uintptr, linux.Errno) {
				return e.readv(e.remote.PID(), e.iov32(e.caller, localIov, uint32(localBuf), 16), 1,
					e.iov32(e.caller, localIov+0x100, 0xffffe000, 16), 1, 0)
			}},
		{rule: "compat: a copy running off the top mapping is partial", want: 0x100,
			run: func(e *compatEnv) (uintptr, linux.Errno) {
				return e.readv(e.remote.PID(), e.iov32(e.caller, localIov, uint32(localBuf), 0x1000), 1,
					e.iov32(e.caller, localIov+0x100, 0xffffcf00, 0x1000), 1, 0)
			}},
		{rule: "cross-ABI: an i386 caller reads an x86-64 process below 4 GiB", want: 12,
			run: func(e *compatEnv) (uintptr, linux.Errno) {
				return e.readv(e.wide.PID(), e.iov32(e.caller, localIov, uint32(localBuf), 12), 1,
					e.iov32(e.caller, localIov+0x100, uint32(remoteBuf), 12), 1, 0)
			}},
		{rule: "cross-ABI: an x86-64 caller reads an i386 process", want: 16,
			run: func(e *compatEnv) (uintptr, linux.Errno) {
				b := make([]byte, 32)
				binary.LittleEndian.PutUint64(b[0:], uint64(localBuf))
				binary.LittleEndian.PutUint64(b[8:], 16)
				binary.LittleEndian.PutUint64(b[16:], uint64(remoteBuf))
				binary.LittleEndian.PutUint64(b[24:], 16)
				require.NoError(e.t, e.wide.Write(localIov, b))
				return e.k.Call(e.wide, linux.SysAMD64ProcessVmReadv, uint64(e.remote.PID()), uint64(localIov), 1, uint64(localIov)+16, 1, 0)
			}},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			e := newCompatEnv(t)
			n, errno := c.run(e)
			assert.Equal(t, c.errno.Name(), errno.Name(), "errno")
			assert.Equal(t, c.want, n, "result")
		})
	}
}
