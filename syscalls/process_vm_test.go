package syscalls

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// The CMA contract of DESIGN.md, one case per rule, through the Go API.

const (
	localBuf  mm.Addr = 0x100000 // caller: 16 pages rw
	localIov  mm.Addr = 0x200000 // caller: iovec arrays (1 page rw)
	badAddr   mm.Addr = 0x300000 // unmapped in both
	remoteBuf mm.Addr = 0x400000 // remote: 16 pages rw, filled with a pattern
	roPage    mm.Addr = 0x500000 // remote: read-only page
	noneGap   mm.Addr = 0x600000 // remote: rw page, PROT_NONE page, rw page
)

type cmaEnv struct {
	t      *testing.T
	k      *Kernel
	caller *Process
	remote *Process
}

func newCMAEnv(t *testing.T) *cmaEnv {
	ram, err := mm.NewRAM(128 << 20)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	k := NewKernel(Config{RAM: ram})
	caller, err := k.NewProcess(ProcessOptions{Creds: SameIDs(1000, 1000)})
	require.NoError(t, err)
	require.NoError(t, caller.Map(localBuf, 16, mm.ProtRead|mm.ProtWrite))
	require.NoError(t, caller.Map(localIov, 1, mm.ProtRead|mm.ProtWrite))
	remote, err := k.Fork(caller)
	require.NoError(t, err)
	require.NoError(t, remote.Map(remoteBuf, 16, mm.ProtRead|mm.ProtWrite))
	require.NoError(t, remote.Write(remoteBuf, pattern(16*mm.PageSize)))
	require.NoError(t, remote.Map(roPage, 1, mm.ProtRead))
	require.NoError(t, remote.Write(roPage, []byte("read-only")))
	require.NoError(t, remote.Map(noneGap, 1, mm.ProtRead|mm.ProtWrite))
	require.NoError(t, remote.Map(noneGap+mm.PageSize, 1, mm.ProtNone))
	require.NoError(t, remote.Map(noneGap+2*mm.PageSize, 1, mm.ProtRead|mm.ProtWrite))
	return &cmaEnv{t: t, k: k, caller: caller, remote: remote}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/4096)
	}
	return b
}

// iov writes iovec elements (base, len pairs) at addr in p.
func (e *cmaEnv) iov(p *Process, addr mm.Addr, pairs ...uint64) mm.Addr {
	b := make([]byte, 8*len(pairs))
	for i, v := range pairs {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	require.NoError(e.t, p.Write(addr, b))
	return addr
}

// local puts one local element {localBuf, n} at localIov.
func (e *cmaEnv) local(n uint64) mm.Addr { return e.iov(e.caller, localIov, uint64(localBuf), n) }

// remoteIov puts remote elements at localIov+0x800.
func (e *cmaEnv) remoteIov(pairs ...uint64) mm.Addr { return e.iov(e.caller, localIov+0x800, pairs...) }

func (e *cmaEnv) readv(pid uint64, lvec mm.Addr, liovcnt uint64, rvec mm.Addr, riovcnt, flags uint64) (uintptr, linux.Errno) {
	return e.k.Call(e.caller, linux.SysAMD64ProcessVmReadv, pid, uint64(lvec), liovcnt, uint64(rvec), riovcnt, flags)
}

func (e *cmaEnv) writev(pid uint64, lvec mm.Addr, liovcnt uint64, rvec mm.Addr, riovcnt, flags uint64) (uintptr, linux.Errno) {
	return e.k.Call(e.caller, linux.SysAMD64ProcessVmWritev, pid, uint64(lvec), liovcnt, uint64(rvec), riovcnt, flags)
}

func (e *cmaEnv) pid() uint64 { return uint64(e.remote.PID()) }

type cmaCase struct {
	rule  string
	run   func(e *cmaEnv) (uintptr, linux.Errno)
	want  uintptr
	errno linux.Errno
	check func(e *cmaEnv)
}

func TestProcessVMContract(t *testing.T) {
	const nopid = 0x7ffffff0
	cases := []cmaCase{
		// 1. flags
		{rule: "flags != 0 is EINVAL before anything else", errno: linux.EINVAL,
			run: func(e *cmaEnv) (uintptr, linux.Errno) { return e.readv(nopid, 0, 1, 0, 1, 1) }},
		{rule: "flags is a full unsigned long (bit 32 alone is EINVAL)", errno: linux.EINVAL,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(e.pid(), e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 1<<32)
			}},
		// 2. local iovec
		{rule: "liovcnt > UIO_MAXIOV is EINVAL", errno: linux.EINVAL,
			run: func(e *cmaEnv) (uintptr, linux.Errno) { return e.readv(nopid, 0, 1025, 0, 1, 0) }},
		{rule: "liovcnt = UIO_MAXIOV is accepted", want: 8,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				pairs := make([]uint64, 2*1024)
				pairs[0], pairs[1] = uint64(localBuf), 8
				for i := 1; i < 1024; i++ {
					pairs[2*i] = uint64(localBuf)
				}
				lv := e.iov(e.caller, localBuf+0x8000, pairs...)
				return e.readv(e.pid(), lv, 1024, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		{rule: "liovcnt is truncated to 32 bits (2^32+1 acts as 1)", want: 8,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(e.pid(), e.local(8), 1<<32+1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		{rule: "liovcnt 0xffffffff is EINVAL", errno: linux.EINVAL,
			run: func(e *cmaEnv) (uintptr, linux.Errno) { return e.readv(e.pid(), e.local(8), 0xffffffff, 0, 1, 0) }},
		{rule: "unreadable local array is EFAULT", errno: linux.EFAULT,
			run: func(e *cmaEnv) (uintptr, linux.Errno) { return e.readv(nopid, badAddr, 1, 0, 1, 0) }},
		{rule: "local element with negative length is EINVAL", errno: linux.EINVAL,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(nopid, e.iov(e.caller, localIov, uint64(localBuf), 1<<63), 1, 0, 1, 0)
			}},
		{rule: "local negative length in element 0 wins over an unreadable element 1", errno: linux.EINVAL,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				lv := e.iov(e.caller, localIov+mm.PageSize-16, uint64(localBuf), 1<<63)
				return e.readv(nopid, lv, 2, 0, 1, 0)
			}},
		{rule: "local element beyond TASK_SIZE is EFAULT", errno: linux.EFAULT,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(nopid, e.iov(e.caller, localIov, uint64(mm.TaskSize-4), 8), 1, 0, 1, 0)
			}},
		{rule: "zero-length local element beyond TASK_SIZE is EFAULT too", errno: linux.EFAULT,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(nopid, e.iov(e.caller, localIov, uint64(localBuf), 8, uint64(mm.TaskSize)+0x1000, 0), 2, 0, 1, 0)
			}},
		{rule: "a huge local element is capped at MAX_RW_COUNT before its range check", want: 100,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				require.NoError(e.t, e.caller.Map(0x7fff00000000, 1, mm.ProtRead|mm.ProtWrite))
				lv := e.iov(e.caller, localIov, 0x7fff00000000, 0xffffffffff)
				return e.readv(e.pid(), lv, 1, e.remoteIov(uint64(remoteBuf), 100), 1, 0)
			}},
		{rule: "with several local elements each is range-checked at its full length", errno: linux.EFAULT,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				lv := e.iov(e.caller, localIov, uint64(localBuf), 1<<62, uint64(localBuf), 0)
				return e.readv(e.pid(), lv, 2, e.remoteIov(uint64(remoteBuf), 100), 1, 0)
			}},
		{rule: "the local total is capped at MAX_RW_COUNT, not EINVAL", want: 100,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				pairs := []uint64{uint64(localBuf), 100}
				for i := 0; i < 5; i++ {
					pairs = append(pairs, 0, uint64(mm.TaskSize))
				}
				lv := e.iov(e.caller, localBuf+0x8000, pairs...)
				return e.readv(e.pid(), lv, 6, e.remoteIov(uint64(remoteBuf), 100), 1, 0)
			}},
		// 3. local total 0
		{rule: "local total 0 returns 0 despite a bad remote array", want: 0,
			run: func(e *cmaEnv) (uintptr, linux.Errno) { return e.readv(e.pid(), e.local(0), 1, badAddr, 1, 0) }},
		{rule: "local total 0 returns 0 despite a bad pid", want: 0,
			run: func(e *cmaEnv) (uintptr, linux.Errno) { return e.readv(nopid, e.local(0), 1, 0, 5000, 0) }},
		{rule: "liovcnt 0 returns 0", want: 0,
			run: func(e *cmaEnv) (uintptr, linux.Errno) { return e.readv(nopid, 0, 0, 0, 1, 0) }},
		// 4. remote iovec
		{rule: "riovcnt > UIO_MAXIOV is EINVAL", errno: linux.EINVAL,
			run: func(e *cmaEnv) (uintptr, linux.Errno) { return e.readv(e.pid(), e.local(8), 1, 0, 1025, 0) }},
		{rule: "riovcnt is not truncated (2^32+1 is EINVAL)", errno: linux.EINVAL,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(e.pid(), e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1<<32+1, 0)
			}},
		{rule: "unreadable remote array is EFAULT", errno: linux.EFAULT,
			run: func(e *cmaEnv) (uintptr, linux.Errno) { return e.readv(nopid, e.local(8), 1, badAddr, 1, 0) }},
		{rule: "remote element with negative length is EINVAL", errno: linux.EINVAL,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(nopid, e.local(8), 1, e.remoteIov(uint64(remoteBuf), 1<<63), 1, 0)
			}},
		{rule: "remote: an unreadable element 1 after a good element 0 is EFAULT", errno: linux.EFAULT,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				rv := e.iov(e.caller, localIov+mm.PageSize-16, uint64(remoteBuf), 8)
				return e.readv(nopid, e.local(8), 1, rv, 2, 0)
			}},
		{rule: "remote elements have no range check", errno: linux.EFAULT,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(e.pid(), e.local(8), 1, e.remoteIov(0xffff800000000000, 8), 1, 0)
			}},
		// 5. remote total 0
		{rule: "remote total 0 returns 0 before the pid lookup", want: 0,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(nopid, e.local(8), 1, e.remoteIov(uint64(remoteBuf), 0, 0, 0), 2, 0)
			}},
		// 6. pid
		{rule: "pid 0 is ESRCH", errno: linux.ESRCH,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(0, e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		{rule: "negative pid is ESRCH", errno: linux.ESRCH,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(0xffffffff, e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		{rule: "nonexistent pid is ESRCH", errno: linux.ESRCH,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(nopid, e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		{rule: "pid bit 32 is ignored", want: 8,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(e.pid()|1<<32, e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		{rule: "a thread id names its process", want: 8,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				th := e.k.NewThread(e.remote)
				return e.readv(uint64(th.TID()), e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		{rule: "an exited (zombie) target is ESRCH", errno: linux.ESRCH,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				e.k.Exit(e.remote, 0)
				return e.readv(e.pid(), e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		// 7. permission
		{rule: "same uid and gid, dumpable: allowed", want: 8,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(e.pid(), e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		{rule: "different uid is EPERM", errno: linux.EPERM,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				e.remote.SetCreds(SameIDs(1001, 1000))
				return e.readv(e.pid(), e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		{rule: "target saved uid differing from the caller's real uid is EPERM", errno: linux.EPERM,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				c := SameIDs(1000, 1000)
				c.SUID = 0
				e.remote.SetCreds(c)
				return e.readv(e.pid(), e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		{rule: "different gid is EPERM", errno: linux.EPERM,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				e.remote.SetCreds(SameIDs(1000, 1001))
				return e.readv(e.pid(), e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		{rule: "the caller's real uid counts, not its effective uid", errno: linux.EPERM,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				c := SameIDs(1001, 1000)
				c.EUID, c.FSUID = 1000, 1000
				e.caller.SetCreds(c)
				return e.readv(e.pid(), e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		{rule: "a non-dumpable target is EPERM", errno: linux.EPERM,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				e.remote.SetDumpable(false)
				return e.readv(e.pid(), e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		{rule: "root (CAP_SYS_PTRACE) reads another uid's non-dumpable process", want: 8,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				e.caller.SetCreds(SameIDs(0, 0))
				e.remote.SetDumpable(false)
				return e.readv(e.pid(), e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		{rule: "the same address space is always allowed", want: 8,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				e.caller.SetDumpable(false)
				require.NoError(e.t, e.caller.Map(remoteBuf, 1, mm.ProtRead))
				return e.readv(uint64(e.caller.PID()), e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		{rule: "setresuid clears dumpable", errno: linux.EPERM,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				e.remote.SetCreds(SameIDs(0, 1000))
				_, errno := e.k.Call(e.remote, linux.SysAMD64Setresuid, 1000, 1000, 1000)
				require.Zero(e.t, errno)
				return e.readv(e.pid(), e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		{rule: "prctl(PR_SET_DUMPABLE, 1) after setresuid allows it again", want: 8,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				e.remote.SetCreds(SameIDs(0, 1000))
				_, errno := e.k.Call(e.remote, linux.SysAMD64Setresuid, 1000, 1000, 1000)
				require.Zero(e.t, errno)
				_, errno = e.k.Call(e.remote, linux.SysAMD64Prctl, prSetDumpable, 1)
				require.Zero(e.t, errno)
				return e.readv(e.pid(), e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		// 8. the copy
		{rule: "readv copies remote bytes into the local buffer", want: 4096 + 100,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(e.pid(), e.local(8192), 1, e.remoteIov(uint64(remoteBuf)+10, 4096, uint64(remoteBuf)+9000, 100), 2, 0)
			},
			check: func(e *cmaEnv) {
				got, _ := e.caller.Read(localBuf, 4196)
				p := pattern(16 * mm.PageSize)
				assert.Equal(e.t, append(p[10:4106:4106], p[9000:9100]...), got)
			}},
		{rule: "zero-length remote elements are skipped; copying stops when local room ends", want: 50,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(e.pid(), e.local(50), 1, e.remoteIov(uint64(remoteBuf), 0, uint64(badAddr), 0, uint64(remoteBuf)+1, 100), 3, 0)
			},
			check: func(e *cmaEnv) {
				got, _ := e.caller.Read(localBuf, 50)
				assert.Equal(e.t, pattern(16 * mm.PageSize)[1:51], got)
			}},
		{rule: "the copy stops at an unmapped remote page, splitting the element", want: mm.PageSize - 16,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(e.pid(), e.local(8192), 1, e.remoteIov(uint64(remoteBuf)+15*mm.PageSize+16, 8192), 1, 0)
			}},
		{rule: "the copy stops at a PROT_NONE remote page", want: 100,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(e.pid(), e.local(8192), 1, e.remoteIov(uint64(noneGap)+mm.PageSize-100, 300), 1, 0)
			}},
		{rule: "a bad first remote page is EFAULT", errno: linux.EFAULT,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(e.pid(), e.local(8), 1, e.remoteIov(uint64(badAddr), 8), 1, 0)
			}},
		{rule: "read-only remote pages can be read", want: 9,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.readv(e.pid(), e.local(9), 1, e.remoteIov(uint64(roPage), 9), 1, 0)
			}},
		{rule: "read-only remote pages cannot be written", errno: linux.EFAULT,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				return e.writev(e.pid(), e.local(9), 1, e.remoteIov(uint64(roPage), 9), 1, 0)
			}},
		{rule: "writev stops at a read-only remote page mid-element", want: 64,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				require.NoError(e.t, e.remote.Map(roPage-mm.PageSize, 1, mm.ProtRead|mm.ProtWrite))
				return e.writev(e.pid(), e.local(128), 1, e.remoteIov(uint64(roPage)-64, 128), 1, 0)
			}},
		{rule: "a PROT_WRITE-only remote page is EFAULT for readv", errno: linux.EFAULT,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				require.NoError(e.t, e.remote.Map(0x700000, 1, mm.ProtWrite))
				return e.readv(e.pid(), e.local(8), 1, e.remoteIov(0x700000, 8), 1, 0)
			}},
		{rule: "a PROT_EXEC-only remote page is EFAULT for readv", errno: linux.EFAULT,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				require.NoError(e.t, e.remote.Map(0x700000, 1, mm.ProtExec))
				return e.readv(e.pid(), e.local(8), 1, e.remoteIov(0x700000, 8), 1, 0)
			}},
		{rule: "readv into a read-only local page stops at that byte", want: 100,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				require.NoError(e.t, e.caller.Map(localBuf+mm.PageSize, 1, mm.ProtRead))
				lv := e.iov(e.caller, localIov, uint64(localBuf)+mm.PageSize-100, 200)
				return e.readv(e.pid(), lv, 1, e.remoteIov(uint64(remoteBuf), 200), 1, 0)
			}},
		{rule: "writev reads a PROT_WRITE-only local page (x86: readable)", want: 8,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				require.NoError(e.t, e.caller.Map(localBuf, 1, mm.ProtWrite))
				return e.writev(e.pid(), e.local(8), 1, e.remoteIov(uint64(remoteBuf), 8), 1, 0)
			}},
		{rule: "untouched anonymous remote pages read as zeros without allocating", want: 3 * mm.PageSize,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				require.NoError(e.t, e.remote.Map(0x800000, 3, mm.ProtRead|mm.ProtWrite))
				require.NoError(e.t, e.caller.Write(localBuf, make([]byte, 3*mm.PageSize)))
				lv, rv := e.local(3*mm.PageSize), e.remoteIov(0x800000, 3*mm.PageSize)
				used := e.k.RAM().UsedFrames()
				n, errno := e.readv(e.pid(), lv, 1, rv, 1, 0)
				assert.Equal(e.t, used, e.k.RAM().UsedFrames(), "no frame allocated")
				return n, errno
			},
			check: func(e *cmaEnv) {
				got, _ := e.caller.Read(localBuf, 3*mm.PageSize)
				assert.Equal(e.t, make([]byte, 3*mm.PageSize), got)
			}},
		{rule: "MADV_DONTNEED'd private anonymous pages read as zeros again", want: 16,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				_, errno := e.k.Call(e.remote, linux.SysAMD64Madvise, uint64(remoteBuf), mm.PageSize, linux.MADV_DONTNEED)
				require.Zero(e.t, errno)
				return e.readv(e.pid(), e.local(16), 1, e.remoteIov(uint64(remoteBuf), 16), 1, 0)
			},
			check: func(e *cmaEnv) {
				got, _ := e.caller.Read(localBuf, 16)
				assert.Equal(e.t, make([]byte, 16), got)
			}},
		{rule: "writev into a COW page breaks COW in the remote only", want: 5,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				sibling, err := e.k.Fork(e.remote)
				require.NoError(e.t, err)
				require.NoError(e.t, e.caller.Write(localBuf, []byte("new!!")))
				n, errno := e.writev(e.pid(), e.local(5), 1, e.remoteIov(uint64(remoteBuf), 5), 1, 0)
				got, _ := sibling.Read(remoteBuf, 5)
				assert.Equal(e.t, pattern(5), got, "the sibling keeps the old bytes")
				return n, errno
			},
			check: func(e *cmaEnv) {
				got, _ := e.remote.Read(remoteBuf, 5)
				assert.Equal(e.t, "new!!", string(got))
			}},
		{rule: "an address below the stack VMA is EFAULT (no stack growth)", errno: linux.EFAULT,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				require.NoError(e.t, e.remote.MM().MapAnon(mm.AddrRange{Start: 0x7ffffff00000, End: 0x7ffffffff000}, mm.ProtRead|mm.ProtWrite, "[stack]"))
				return e.readv(e.pid(), e.local(8), 1, e.remoteIov(0x7ffffff00000-8, 8), 1, 0)
			}},
		{rule: "a local fault mid-copy stops at byte granularity", want: mm.PageSize*2 - 8,
			run: func(e *cmaEnv) (uintptr, linux.Errno) {
				lv := e.iov(e.caller, localIov, uint64(localBuf)+14*mm.PageSize+8, 3*mm.PageSize)
				return e.readv(e.pid(), lv, 1, e.remoteIov(uint64(remoteBuf), 3*mm.PageSize), 1, 0)
			}},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			e := newCMAEnv(t)
			n, errno := c.run(e)
			assert.Equal(t, c.errno.Name(), errno.Name(), "errno")
			assert.Equal(t, c.want, n, "result")
			if c.check != nil {
				c.check(e)
			}
		})
	}
}
