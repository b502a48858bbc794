package syscalls

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// Resource limits, scheduling, capabilities, usage and the memory calls
// in the cases the differential guests cannot reach: the i386 structure
// layouts and calls (qemu-i386, the i386 oracle of hosts without i386,
// gets many of them wrong) and kernel states a guest cannot make.

const resBuf mm.Addr = 0x10000

type resEnv struct {
	t *testing.T
	k *Kernel
}

func newResEnv(t *testing.T, ramSize uint64) *resEnv {
	ram, err := mm.NewRAM(ramSize)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	k := NewKernel(Config{RAM: ram})
	k.capBound = capFull // not whatever the host withholds
	return &resEnv{t: t, k: k}
}

// proc makes a process (i386 or x86-64) with uid and gid id and a
// scratch page at resBuf.
func (e *resEnv) proc(id uint32, i386 bool) *Process {
	p, err := e.k.NewProcess(ProcessOptions{Creds: SameIDs(id, id), I386: i386})
	require.NoError(e.t, err)
	require.NoError(e.t, p.Map(resBuf, 4, mm.ProtRead|mm.ProtWrite))
	return p
}

func (e *resEnv) read(p *Process, off mm.Addr, n int) []byte {
	b, err := p.Read(resBuf+off, n)
	require.NoError(e.t, err)
	return b
}

func (e *resEnv) write(p *Process, off mm.Addr, b []byte) uint64 {
	require.NoError(e.t, p.Write(resBuf+off, b))
	return uint64(resBuf + off)
}

func u32s(vs ...uint32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return b
}

func u64s(vs ...uint64) []byte {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return b
}

func le32(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[4*i:]) }
func le64(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[8*i:]) }

func TestRlimitI386Forms(t *testing.T) {
	e := newResEnv(t, 64<<20)
	p := e.proc(0, true)
	// Infinite limits: prlimit64 (64-bit fields) as they are, ugetrlimit
	// clamped to 0xffffffff, the old getrlimit to 0x7fffffff.
	_, errno := e.k.Call(p, linux.Sys386Prlimit64, 0, linux.RLIMIT_FSIZE, e.write(p, 0, u64s(linux.RLIM_INFINITY, linux.RLIM_INFINITY)), 0)
	require.Zero(t, errno)
	for _, c := range []struct {
		name     string
		nr       uintptr
		cur, max uint32
	}{
		{"ugetrlimit", linux.Sys386Ugetrlimit, 0xffffffff, 0xffffffff},
		{"getrlimit (old)", linux.Sys386Getrlimit, 0x7fffffff, 0x7fffffff},
	} {
		_, errno := e.k.Call(p, c.nr, linux.RLIMIT_FSIZE, uint64(resBuf+64))
		require.Zero(t, errno, c.name)
		b := e.read(p, 64, 12)
		assert.Equal(t, []uint32{c.cur, c.max}, []uint32{le32(b, 0), le32(b, 1)}, c.name)
		assert.Equal(t, []byte{0, 0, 0, 0}, b[8:], "%s writes 8 bytes", c.name)
	}
	// setrlimit's compat_rlimit: 0xffffffff is infinity, other values
	// are taken as they are.
	_, errno = e.k.Call(p, linux.Sys386Setrlimit, linux.RLIMIT_CORE, e.write(p, 128, u32s(4096, 0xffffffff)))
	require.Zero(t, errno)
	_, errno = e.k.Call(p, linux.Sys386Prlimit64, 0, linux.RLIMIT_CORE, 0, uint64(resBuf+192))
	require.Zero(t, errno)
	b := e.read(p, 192, 16)
	assert.Equal(t, []uint64{4096, linux.RLIM_INFINITY}, []uint64{le64(b, 0), le64(b, 1)})
	// Values between 2^31 and 2^32-2 are kept by setrlimit and clamped
	// only by the old getrlimit.
	_, errno = e.k.Call(p, linux.Sys386Setrlimit, linux.RLIMIT_CORE, e.write(p, 128, u32s(0x80000000, 0xfffffffe)))
	require.Zero(t, errno)
	_, errno = e.k.Call(p, linux.Sys386Getrlimit, linux.RLIMIT_CORE, uint64(resBuf+64))
	require.Zero(t, errno)
	b = e.read(p, 64, 8)
	assert.Equal(t, []uint32{0x7fffffff, 0x7fffffff}, []uint32{le32(b, 0), le32(b, 1)})
	_, errno = e.k.Call(p, linux.Sys386Ugetrlimit, linux.RLIMIT_CORE, uint64(resBuf+64))
	require.Zero(t, errno)
	b = e.read(p, 64, 8)
	assert.Equal(t, []uint32{0x80000000, 0xfffffffe}, []uint32{le32(b, 0), le32(b, 1)})

	for _, c := range []struct {
		name string
		nr   uintptr
		args []uint64
		want linux.Errno
	}{
		{"getrlimit resource 16", linux.Sys386Getrlimit, []uint64{16, uint64(resBuf)}, linux.EINVAL},
		{"ugetrlimit resource 16", linux.Sys386Ugetrlimit, []uint64{16, uint64(resBuf)}, linux.EINVAL},
		{"ugetrlimit bad pointer", linux.Sys386Ugetrlimit, []uint64{linux.RLIMIT_CORE, 8}, linux.EFAULT},
		{"setrlimit bad pointer", linux.Sys386Setrlimit, []uint64{linux.RLIMIT_CORE, 8}, linux.EFAULT},
		{"setrlimit soft above hard", linux.Sys386Setrlimit, []uint64{linux.RLIMIT_CORE, e.write(p, 256, u32s(10, 5))}, linux.EINVAL},
	} {
		_, errno := e.k.Call(p, c.nr, c.args...)
		assert.Equal(t, c.want, errno, c.name)
	}
}

func TestRlimitNofileBoundsTheDescriptorTable(t *testing.T) {
	e := newResEnv(t, 64<<20)
	p := e.proc(1000, false)
	_, errno := e.k.Call(p, linux.SysAMD64Prlimit64, 0, linux.RLIMIT_NOFILE, 0, uint64(resBuf))
	require.Zero(t, errno)
	b := e.read(p, 0, 16)
	assert.Equal(t, uint64(maxFDs), le64(b, 0), "the default soft limit is the table's size")
	_, errno = e.k.Call(p, linux.SysAMD64Setrlimit, linux.RLIMIT_NOFILE, e.write(p, 64, u64s(4, le64(b, 1))))
	require.Zero(t, errno)
	assert.Equal(t, int32(4), p.fds.Limit())
	child, err := e.k.Fork(p)
	require.NoError(t, err)
	assert.Equal(t, int32(4), child.fds.Limit(), "fork copies the limit with the table")
	_, errno = e.k.Call(p, linux.SysAMD64Setrlimit, linux.RLIMIT_NOFILE, e.write(p, 64, u64s(4, linux.NR_OPEN+1)))
	assert.Equal(t, linux.EPERM, errno, "above fs.nr_open, whoever asks")
}

func TestPrlimitPermission(t *testing.T) {
	e := newResEnv(t, 64<<20)
	alice, bob, root := e.proc(1000, false), e.proc(1001, false), e.proc(0, false)
	zombie := e.proc(1000, false)
	zpid := zombie.PID()
	e.k.Exit(zombie, 0) // reaped at once by the reaper: gone
	for _, c := range []struct {
		name   string
		caller *Process
		pid    int32
		want   linux.Errno
	}{
		{"own pid", alice, alice.PID(), 0},
		{"another user", alice, bob.PID(), linux.EPERM},
		{"root's process", alice, root.PID(), linux.EPERM},
		{"root reads anyone", root, bob.PID(), 0},
		{"reaped", alice, zpid, linux.ESRCH},
		{"pid 1 (the reaper)", alice, 1, linux.ESRCH},
		{"negative", alice, -5, linux.ESRCH},
	} {
		_, errno := e.k.Call(c.caller, linux.SysAMD64Prlimit64, uint64(uint32(c.pid)), linux.RLIMIT_NOFILE, 0, uint64(resBuf))
		assert.Equal(t, c.want, errno, c.name)
	}
	// A different saved uid is enough to refuse another process.
	bob.SetCreds(Creds{RUID: 1000, EUID: 1000, SUID: 0, FSUID: 1000, RGID: 1000, EGID: 1000, SGID: 1000, FSGID: 1000})
	_, errno := e.k.Call(alice, linux.SysAMD64Prlimit64, uint64(bob.PID()), linux.RLIMIT_NOFILE, 0, uint64(resBuf))
	assert.Equal(t, linux.EPERM, errno)
}

func TestNiceI386(t *testing.T) {
	e := newResEnv(t, 64<<20)
	for _, c := range []struct {
		name string
		uid  uint32
		incs []int32
		want []linux.Errno
		raw  uintptr // getpriority's 20-nice at the end
	}{
		{"up and clamped", 1000, []int32{5, 100}, []linux.Errno{0, 0}, 1},
		{"down needs RLIMIT_NICE", 1000, []int32{3, -1}, []linux.Errno{0, linux.EPERM}, 17},
		{"root goes down, clamped", 0, []int32{-5, -100}, []linux.Errno{0, 0}, 40},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := e.proc(c.uid, true)
			if c.uid != 0 {
				p.rlimits[linux.RLIMIT_NICE] = rlimit{0, 0}
			}
			for i, inc := range c.incs {
				ret, errno := e.k.Call(p, linux.Sys386Nice, uint64(uint32(inc)))
				assert.Equal(t, c.want[i], errno, "nice(%d)", inc)
				assert.Zero(t, ret, "nice(2) returns 0, not the new value")
			}
			raw, errno := e.k.Call(p, linux.Sys386Getpriority, linux.PRIO_PROCESS, 0)
			require.Zero(t, errno)
			assert.Equal(t, c.raw, raw)
		})
	}
}

func TestSchedI386Layouts(t *testing.T) {
	e := newResEnv(t, 64<<20)
	p := e.proc(0, true)
	_, errno := e.k.Call(p, linux.Sys386SchedSetscheduler, 0, linux.SCHED_RR, e.write(p, 0, u32s(5)))
	require.Zero(t, errno)
	e.write(p, 64, u32s(9, 9, 9, 9))
	_, errno = e.k.Call(p, linux.Sys386SchedRrGetInterval, 0, uint64(resBuf+64))
	require.Zero(t, errno)
	b := e.read(p, 64, 16)
	assert.Equal(t, []uint32{0, 100_000_000, 9, 9}, []uint32{le32(b, 0), le32(b, 1), le32(b, 2), le32(b, 3)},
		"old_timespec32: two 32-bit fields")
	_, errno = e.k.Call(p, linux.Sys386SchedRrGetIntervalTime64, 0, uint64(resBuf+64))
	require.Zero(t, errno)
	b = e.read(p, 64, 16)
	assert.Equal(t, []uint64{0, 100_000_000}, []uint64{le64(b, 0), le64(b, 1)})
	_, errno = e.k.Call(p, linux.Sys386SchedSetscheduler, 0, linux.SCHED_FIFO, e.write(p, 0, u32s(1)))
	require.Zero(t, errno)
	_, errno = e.k.Call(p, linux.Sys386SchedRrGetInterval, 0, uint64(resBuf+64))
	require.Zero(t, errno)
	assert.Equal(t, make([]byte, 8), e.read(p, 64, 8), "SCHED_FIFO has no time slice")
	policy, errno := e.k.Call(p, linux.Sys386SchedGetscheduler, 0)
	require.Zero(t, errno)
	assert.Equal(t, uintptr(linux.SCHED_FIFO), policy)
}

func TestSchedResetOnForkAndInheritance(t *testing.T) {
	e := newResEnv(t, 64<<20)
	p := e.proc(0, false)
	main := p.Main()
	main.sched = schedState{nice: -5, policy: linux.SCHED_FIFO, rtPriority: 7, resetOnFork: true,
		affinity: e.k.cpus.allCPUs()}
	c := main.sched.forked()
	assert.Equal(t, schedState{nice: 0, policy: linux.SCHED_OTHER, affinity: main.sched.affinity}, c)
	main.sched.resetOnFork = false
	c = main.sched.forked()
	assert.Equal(t, main.sched, c, "without the flag the child is a copy")
	c.affinity[0] = 0
	assert.NotEqual(t, main.sched.affinity, c.affinity, "the copy has a mask of its own")
}

func TestAffinityOfATaskThatRunsNoCode(t *testing.T) {
	e := newResEnv(t, 64<<20)
	p := e.proc(0, false)
	size := uint64(e.k.cpus.maskSize)
	n, errno := e.k.Call(p, linux.SysAMD64SchedGetaffinity, 0, size, uint64(resBuf))
	require.Zero(t, errno)
	assert.Equal(t, uintptr(size), n)
	last := e.k.cpus.ncpu() - 1
	mask := make([]byte, size)
	mask[last/8] = 1 << (last % 8)
	_, errno = e.k.Call(p, linux.SysAMD64SchedSetaffinity, 0, size, e.write(p, 0, mask))
	require.Zero(t, errno)
	_, errno = e.k.Call(p, linux.SysAMD64Getcpu, uint64(resBuf+64), uint64(resBuf+68), 0)
	require.Zero(t, errno)
	b := e.read(p, 64, 8)
	assert.Equal(t, []uint32{uint32(last), 0}, []uint32{le32(b, 0), le32(b, 1)},
		"getcpu of a task with no host thread: the first CPU of its mask, node 0")
	// i386: a mask length that is a multiple of 4 is enough.
	q := e.proc(0, true)
	if e.k.cpus.ncpu() <= 32 {
		n, errno = e.k.Call(q, linux.Sys386SchedGetaffinity, 0, 4, uint64(resBuf))
		require.Zero(t, errno)
		assert.Equal(t, uintptr(4), n)
	}
	_, errno = e.k.Call(q, linux.Sys386SchedGetaffinity, 0, 6, uint64(resBuf))
	assert.Equal(t, linux.EINVAL, errno)
}

func TestSysinfoLayouts(t *testing.T) {
	for _, c := range []struct {
		name  string
		ram   uint64
		i386  bool
		unit  uint32
		total uint64
	}{
		{"x86-64", 64 << 20, false, 1, 64 << 20},
		{"i386", 64 << 20, true, 1, 64 << 20},
		{"i386, more RAM than 32 bits count", 5 << 30, true, mm.PageSize, (5 << 30) >> mm.PageShift},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newResEnv(t, c.ram)
			p := e.proc(0, c.i386)
			nr := uintptr(linux.SysAMD64Sysinfo)
			if c.i386 {
				nr = linux.Sys386Sysinfo
			}
			e.write(p, 0, fill(0xee, 128))
			_, errno := e.k.Call(p, nr, uint64(resBuf))
			require.Zero(t, errno)
			b := e.read(p, 0, 128)
			if c.i386 {
				assert.Equal(t, c.total, uint64(le32(b, 4)), "totalram")
				assert.LessOrEqual(t, le32(b, 5), le32(b, 4), "freeram")
				assert.Equal(t, uint16(1), binary.LittleEndian.Uint16(b[40:]), "procs")
				assert.Equal(t, c.unit, le32(b, 13), "mem_unit")
				assert.Equal(t, fill(0, 8), b[56:64], "padding")
				assert.Equal(t, fill(0xee, 64), b[64:], "64 bytes written")
				return
			}
			assert.Equal(t, c.total, le64(b, 4), "totalram")
			assert.LessOrEqual(t, le64(b, 5), le64(b, 4), "freeram")
			assert.Equal(t, uint16(1), binary.LittleEndian.Uint16(b[80:]), "procs")
			assert.Equal(t, c.unit, le32(b, 26), "mem_unit")
			assert.Equal(t, fill(0xee, 16), b[112:], "112 bytes written")
		})
	}
}

func fill(v byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = v
	}
	return b
}

func TestUsageLayouts(t *testing.T) {
	e := newResEnv(t, 64<<20)
	p := e.proc(0, true)
	e.write(p, 0, fill(0xee, 160))
	_, errno := e.k.Call(p, linux.Sys386Getrusage, 0xffffffff, uint64(resBuf))
	require.Zero(t, errno)
	b := e.read(p, 0, 160)
	assert.Equal(t, fill(0, 72), b[:72], "compat_rusage: 72 bytes, zero without children")
	assert.Equal(t, fill(0xee, 8), b[72:80])
	ticks, errno := e.k.Call(p, linux.Sys386Times, uint64(resBuf+100))
	require.Zero(t, errno)
	assert.Less(t, ticks, uintptr(1<<31), "clock ticks since the kernel started")
	b = e.read(p, 100, 20)
	assert.Equal(t, fill(0, 16), b[:16], "compat tms: four 32-bit clock_t")
	assert.Equal(t, fill(0xee, 4), b[16:])
	_, errno = e.k.Call(p, linux.Sys386Getrusage, 2, uint64(resBuf))
	assert.Equal(t, linux.EINVAL, errno)
}

func TestCapsI386AndSetuidRules(t *testing.T) {
	e := newResEnv(t, 64<<20)
	p := e.proc(0, true)
	bset := e.k.capBound
	_, errno := e.k.Call(p, linux.Sys386Capget, e.write(p, 0, u32s(linux.LINUX_CAPABILITY_VERSION_3, 0)), uint64(resBuf+64))
	require.Zero(t, errno)
	b := e.read(p, 64, 24)
	assert.Equal(t, []uint32{uint32(bset), uint32(bset), 0, uint32(bset >> 32), uint32(bset >> 32), 0},
		[]uint32{le32(b, 0), le32(b, 1), le32(b, 2), le32(b, 3), le32(b, 4), le32(b, 5)})

	// The sets follow uid changes as cap_emulate_setxuid says.
	root := Creds{}
	for _, c := range []struct {
		name      string
		from, to  Creds
		eff, perm uint64
	}{
		{"seteuid(1000)", root, Creds{EUID: 1000, FSUID: 1000}, 0, capFull},
		{"setresuid(1000,1000,1000)", root, SameIDs(1000, 0), 0, 0},
		{"setfsuid(1000)", root, Creds{FSUID: 1000}, capFull &^ capFSSet, capFull},
		{"seteuid(0) again", Creds{EUID: 1000, FSUID: 1000}, Creds{}, capFull, capFull},
	} {
		s := execCaps(&c.from, capFull)
		s.fixSetuid(&c.from, &c.to, false)
		assert.Equal(t, capSets{effective: c.eff, permitted: c.perm}, s, c.name)
	}
	// Without a root uid after execve: nothing.
	assert.Equal(t, capSets{}, execCaps(&Creds{RUID: 1000, EUID: 1000, SUID: 0}, capFull))
	assert.Equal(t, capSets{permitted: capFull}, execCaps(&Creds{RUID: 0, EUID: 1000}, capFull))
}

func TestArchPrctlI386(t *testing.T) {
	e := newResEnv(t, 64<<20)
	p := e.proc(0, true)
	for _, c := range []struct {
		name string
		code uint64
		arg  uint64
		ret  uintptr
		want linux.Errno
	}{
		{"ARCH_SET_FS is 64-bit only", linux.ARCH_SET_FS, 0x1000, 0, linux.EINVAL},
		{"ARCH_GET_FS is 64-bit only", linux.ARCH_GET_FS, uint64(resBuf), 0, linux.EINVAL},
		{"ARCH_GET_CPUID", linux.ARCH_GET_CPUID, 0, 1, 0},
		{"ARCH_SET_CPUID", linux.ARCH_SET_CPUID, 0, 0, linux.ENODEV},
		{"ARCH_REQ_XCOMP_PERM of a static feature", linux.ARCH_REQ_XCOMP_PERM, 1, 0, linux.EOPNOTSUPP},
		{"ARCH_REQ_XCOMP_PERM past the last", linux.ARCH_REQ_XCOMP_PERM, 64, 0, linux.EINVAL},
		{"ARCH_MAP_VDSO_32", linux.ARCH_MAP_VDSO_32, 0x1000, 0, linux.EINVAL},
	} {
		ret, errno := e.k.Call(p, linux.Sys386ArchPrctl, c.code, c.arg)
		assert.Equal(t, c.want, errno, c.name)
		assert.Equal(t, c.ret, ret, c.name)
	}
	e.write(p, 0, fill(0xee, 16))
	_, errno := e.k.Call(p, linux.Sys386ArchPrctl, linux.ARCH_GET_XCOMP_SUPP, uint64(resBuf))
	require.Zero(t, errno)
	assert.Equal(t, u64s(xfeatures, 0xeeeeeeeeeeeeeeee), e.read(p, 0, 16), "a 64-bit mask for compat tasks too")
}

func TestMempolicyI386NodeMasks(t *testing.T) {
	e := newResEnv(t, 64<<20)
	p := e.proc(0, true)
	// set_mempolicy reads 32-bit words: maxnode 33 reads two.
	_, errno := e.k.Call(p, linux.Sys386SetMempolicy, linux.MPOL_BIND, e.write(p, 0, u32s(1, 0)), 34)
	require.Zero(t, errno)
	_, errno = e.k.Call(p, linux.Sys386SetMempolicy, linux.MPOL_BIND, e.write(p, 0, u32s(2, 0)), 34)
	assert.Equal(t, linux.EINVAL, errno, "node 1 only")
	// get_mempolicy writes at least one 32-bit word, and zeroes the rest
	// of what maxnode asks for past the first long.
	for _, c := range []struct {
		maxnode uint64
		want    []uint32
	}{
		{1, []uint32{1, 0xeeeeeeee, 0xeeeeeeee}},
		{33, []uint32{1, 0, 0xeeeeeeee}},
		{66, []uint32{1, 0, 0, 0, 0xeeeeeeee}},
	} {
		e.write(p, 64, fill(0xee, 32))
		_, errno := e.k.Call(p, linux.Sys386GetMempolicy, uint64(resBuf+128), uint64(resBuf+64), c.maxnode, 0, 0)
		require.Zero(t, errno)
		b := e.read(p, 64, 4*len(c.want))
		got := make([]uint32, len(c.want))
		for i := range got {
			got[i] = le32(b, i)
		}
		assert.Equal(t, c.want, got, "maxnode %d", c.maxnode)
	}
	// x86-64: maxnode 1 writes nothing, 65 the first long.
	q := e.proc(0, false)
	_, errno = e.k.Call(q, linux.SysAMD64SetMempolicy, linux.MPOL_BIND, e.write(q, 0, u64s(1)), 64)
	require.Zero(t, errno)
	e.write(q, 64, fill(0xee, 16))
	_, errno = e.k.Call(q, linux.SysAMD64GetMempolicy, 0, uint64(resBuf+64), 1, 0, 0)
	require.Zero(t, errno)
	assert.Equal(t, fill(0xee, 16), e.read(q, 64, 16))
	_, errno = e.k.Call(q, linux.SysAMD64GetMempolicy, 0, uint64(resBuf+64), 65, 0, 0)
	require.Zero(t, errno)
	assert.Equal(t, append(u64s(1), fill(0xee, 8)...), e.read(q, 64, 16))
}

func TestMembarrierRegistrationsFollowTheAddressSpace(t *testing.T) {
	e := newResEnv(t, 64<<20)
	p := e.proc(0, true)
	call := func(p *Process, cmd uint64) (uintptr, linux.Errno) {
		return e.k.Call(p, linux.Sys386Membarrier, cmd, 0, 0)
	}
	q, errno := call(p, linux.MEMBARRIER_CMD_QUERY)
	require.Zero(t, errno)
	assert.Equal(t, uintptr(membarrierCommands), q)
	_, errno = call(p, linux.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ)
	assert.Equal(t, linux.EINVAL, errno, "no rseq")
	_, errno = call(p, linux.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE)
	require.Zero(t, errno)
	_, errno = call(p, linux.MEMBARRIER_CMD_PRIVATE_EXPEDITED)
	assert.Equal(t, linux.EPERM, errno, "registering sync-core does not register the plain command")
	child, err := e.k.Fork(p)
	require.NoError(t, err)
	r, errno := call(child, linux.MEMBARRIER_CMD_GET_REGISTRATIONS)
	require.Zero(t, errno)
	assert.Equal(t, uintptr(linux.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED|linux.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE), r)
	// execve makes a new address space: a new exec generation.
	p.mu.Lock()
	p.exec = &execInfo{}
	p.mu.Unlock()
	r, errno = call(p, linux.MEMBARRIER_CMD_GET_REGISTRATIONS)
	require.Zero(t, errno)
	assert.Zero(t, r)
}

func TestRseqIsENOSYS(t *testing.T) {
	e := newResEnv(t, 64<<20)
	for _, i386 := range []bool{false, true} {
		p := e.proc(0, i386)
		nr := uintptr(linux.SysAMD64Rseq)
		if i386 {
			nr = linux.Sys386Rseq
		}
		_, errno := e.k.Call(p, nr, uint64(resBuf), 32, 0, 0x53053053)
		assert.Equal(t, linux.ENOSYS, errno)
	}
}

func TestMlockLimitI386(t *testing.T) {
	e := newResEnv(t, 64<<20)
	p := e.proc(1000, true)
	p.rlimits[linux.RLIMIT_MEMLOCK] = rlimit{2 * mm.PageSize, 2 * mm.PageSize}
	_, errno := e.k.Call(p, linux.Sys386Mlock, uint64(resBuf), 2*mm.PageSize)
	require.Zero(t, errno)
	_, errno = e.k.Call(p, linux.Sys386Mlock2, uint64(resBuf+2*mm.PageSize), mm.PageSize, linux.MLOCK_ONFAULT)
	assert.Equal(t, linux.ENOMEM, errno)
	_, errno = e.k.Call(p, linux.Sys386Mincore, uint64(resBuf), 4*mm.PageSize, uint64(resBuf+3*mm.PageSize))
	require.Zero(t, errno)
	assert.Equal(t, []byte{1, 1, 0, 0}, e.read(p, 3*mm.PageSize, 4), "the locked pages are resident")
	p.rlimits[linux.RLIMIT_MEMLOCK] = rlimit{0, 0}
	_, errno = e.k.Call(p, linux.Sys386Mlockall, linux.MCL_CURRENT)
	assert.Equal(t, linux.EPERM, errno)
	_, errno = e.k.Call(p, linux.Sys386Munlockall)
	assert.Zero(t, errno)
}
