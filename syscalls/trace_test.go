package syscalls

import (
	"bytes"
	"encoding/binary"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// The tracer against strace. The expected lines are what strace 6.1
// (Debian bookworm's, x86-64, default options) printed for the same calls
// made by testdata/trace_oracle.c (which says how to run it), with only
// addresses, pids and descriptor numbers replaced by this test's: data at
// 0x10000, an unmapped page at 0x14000 where the oracle passed 0x8 or an
// address next to an unmapped page, pids from 1000. The padding strace
// puts before "=" is collapsed to one space except in
// TestTraceLineLayout, which keeps it. Cases marked "source" could not be
// run here (the host has no i386 support, and a wait status with ptrace
// bits needs a ptracer): they follow strace 6.1's decoders (print_iovec
// with 4-byte words, clone's i386 argument order, print_user_desc,
// printstatus).
//
// The handlers do not run (except in TestTraceProcessVMEndToEnd): each
// case gives the result the call had under strace.

const (
	trData = mm.Addr(0x10000) // 4 pages, read-write
	trHole = mm.Addr(0x14000) // unmapped
)

type traceEnv struct {
	t   *testing.T
	k   *Kernel
	p   *Process
	out bytes.Buffer
}

func newTraceEnv(t *testing.T, i386 bool) *traceEnv {
	ram, err := mm.NewRAM(64 << 20)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	e := &traceEnv{t: t}
	e.k = NewKernel(Config{RAM: ram, Trace: &e.out})
	e.p, err = e.k.NewProcess(ProcessOptions{Creds: SameIDs(1000, 1000), I386: i386})
	require.NoError(t, err)
	require.NoError(t, e.p.Map(trData, 4, mm.ProtRead|mm.ProtWrite))
	return e
}

// put stores data at addr and returns addr.
func (e *traceEnv) put(addr mm.Addr, data []byte) uint64 {
	require.NoError(e.t, e.p.Write(addr, data))
	return uint64(addr)
}

func (e *traceEnv) str(addr mm.Addr, s string) uint64 { return e.put(addr, []byte(s)) }

// iov lays out iovecs {base, len} of the process's ABI at addr.
func (e *traceEnv) iov(addr mm.Addr, pairs ...uint64) uint64 {
	w := 8
	if e.p.Main().is32() {
		w = 4
	}
	b := make([]byte, w*len(pairs))
	for i, v := range pairs {
		if w == 4 {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		} else {
			binary.LittleEndian.PutUint64(b[8*i:], v)
		}
	}
	return e.put(addr, b)
}

var padding = regexp.MustCompile(`\) +=( |$)`)

// traced returns the one line written since the last call, with the
// padding before "=" collapsed.
func (e *traceEnv) traced(layout bool) string {
	s := strings.TrimSuffix(e.out.String(), "\n")
	e.out.Reset()
	require.NotContains(e.t, s, "\n", "one line")
	if !layout {
		s = padding.ReplaceAllString(s, ") =$1")
	}
	return s
}

// line traces call nr of p (the env's process if nil) as if its handler
// had returned ret, or failed with err.
func (e *traceEnv) line(nr uint64, ret uint64, err error, args ...uint64) string {
	e.trace(e.p, nr, ret, err, args...)
	return e.traced(false)
}

func (e *traceEnv) trace(p *Process, nr uint64, ret uint64, err error, args ...uint64) {
	task := p.Main()
	var a Args
	copy(a[:], args)
	c := e.k.tracer.enter(task, nr, task.table.lookup(nr), a)
	e.k.tracer.exit(c, task, uintptr(ret), err)
}

// run makes call nr on p with its real handler, traced.
func (e *traceEnv) run(p *Process, nr uint64, args ...uint64) string {
	task := p.Main()
	var a Args
	copy(a[:], args)
	task.frame = &arch.SyscallFrame{Nr: nr, Args: a}
	defer func() { task.frame = nil }()
	entry := task.table.lookup(nr)
	c := e.k.tracer.enter(task, nr, entry, a)
	ret, err := entry.Fn(task, a)
	e.k.tracer.exit(c, task, ret, err)
	return e.traced(false)
}

type traceCase struct {
	name string
	call func(e *traceEnv) string
	want string
}

func runTraceCases(t *testing.T, i386 bool, cases []traceCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, c.call(newTraceEnv(t, i386)))
		})
	}
}

var (
	ebadf  = linux.EBADF
	efault = linux.EFAULT
	einval = linux.EINVAL
)

const (
	sysWrite = linux.SysAMD64Write
	sysRead  = linux.SysAMD64Read
)

func TestTraceBufIn(t *testing.T) {
	runTraceCases(t, false, []traceCase{
		{"success", func(e *traceEnv) string {
			return e.line(sysWrite, 3, nil, 3, e.str(trData, "hi\n"), 3)
		}, `write(3, "hi\n", 3) = 3`},
		{"failure still shows the bytes", func(e *traceEnv) string {
			return e.line(sysWrite, 0, ebadf, ^uint64(0), e.str(trData, "abc"), 3)
		}, `write(-1, "abc", 3) = -1 EBADF (Bad file descriptor)`},
		{"NULL", func(e *traceEnv) string {
			return e.line(sysWrite, 3, nil, 3, 0, 3)
		}, `write(3, NULL, 3) = 3`},
		{"NULL, length 0", func(e *traceEnv) string {
			return e.line(sysWrite, 0, nil, 3, 0, 0)
		}, `write(3, NULL, 0) = 0`},
		{"empty", func(e *traceEnv) string {
			return e.line(sysWrite, 0, nil, 3, uint64(trData), 0)
		}, `write(3, "", 0) = 0`},
		{"unreadable", func(e *traceEnv) string {
			return e.line(sysWrite, 3, nil, 3, uint64(trHole), 3)
		}, `write(3, 0x14000, 3) = 3`},
		{"longer than 32 bytes", func(e *traceEnv) string {
			return e.line(sysWrite, 35, nil, 3, e.str(trData, "0123456789abcdef0123456789abcdefXYZ"), 35)
		}, `write(3, "0123456789abcdef0123456789abcdef"..., 35) = 35`},
		{"exactly 32 bytes", func(e *traceEnv) string {
			return e.line(sysWrite, 32, nil, 3, e.str(trData, "0123456789abcdef0123456789abcdefXYZ"), 32)
		}, `write(3, "0123456789abcdef0123456789abcdef", 32) = 32`},
		{"the 33rd byte is not shown, nor looked at for escapes", func(e *traceEnv) string {
			return e.line(sysWrite, 33, nil, 3, e.str(trData, "0123456789abcdef0123456789abcde\x017"), 33)
		}, `write(3, "0123456789abcdef0123456789abcde\1"..., 33) = 33`},
		{"escapes", func(e *traceEnv) string {
			return e.line(sysWrite, 8, nil, 3, e.str(trData, "\x01\x027\t\"\\\x7f\xff"), 8)
		}, `write(3, "\1\0027\t\"\\\177\377", 8) = 8`},
		{"zeros", func(e *traceEnv) string {
			return e.line(sysWrite, 4, nil, 5, e.str(trData, "\x00\x00\x00\x00"), 4)
		}, `write(5, "\0\0\0\0", 4) = 4`},
		{"strace fetches 33 bytes: 32 readable of 40 is an address", func(e *traceEnv) string {
			e.str(trHole-32, strings.Repeat("a", 32))
			return e.line(sysWrite, 40, nil, 3, uint64(trHole-32), 40)
		}, `write(3, 0x13fe0, 40) = 40`},
		{"31 readable of 40", func(e *traceEnv) string {
			return e.line(sysWrite, 40, nil, 3, uint64(trHole-31), 40)
		}, `write(3, 0x13fe1, 40) = 40`},
		{"32 readable of 32", func(e *traceEnv) string {
			e.str(trHole-32, strings.Repeat("a", 32))
			return e.line(sysWrite, 32, nil, 3, uint64(trHole-32), 32)
		}, `write(3, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 32) = 32`},
		{"10 readable of 11", func(e *traceEnv) string {
			return e.line(sysWrite, 11, nil, 3, uint64(trHole-10), 11)
		}, `write(3, 0x13ff6, 11) = 11`},
	})
}

func TestTraceBufOut(t *testing.T) {
	runTraceCases(t, false, []traceCase{
		{"success shows the bytes read", func(e *traceEnv) string {
			return e.line(sysRead, 5, nil, 4, e.str(trData, "hello world"), 5)
		}, `read(4, "hello", 5) = 5`},
		{"failure shows the address", func(e *traceEnv) string {
			return e.line(sysRead, 0, ebadf, ^uint64(0), e.str(trData, "hello"), 5)
		}, `read(-1, 0x10000, 5) = -1 EBADF (Bad file descriptor)`},
		{"failure, NULL", func(e *traceEnv) string {
			return e.line(sysRead, 0, efault, 4, 0, 5)
		}, `read(4, NULL, 5) = -1 EFAULT (Bad address)`},
		{"failure, unmapped", func(e *traceEnv) string {
			return e.line(sysRead, 0, efault, 4, uint64(trHole), 5)
		}, `read(4, 0x14000, 5) = -1 EFAULT (Bad address)`},
		{"end of file", func(e *traceEnv) string {
			return e.line(sysRead, 0, nil, 4, uint64(trData), 5)
		}, `read(4, "", 5) = 0`},
		{"short read", func(e *traceEnv) string {
			return e.line(sysRead, 1, nil, 4, e.str(trData, "d"), 5)
		}, `read(4, "d", 5) = 1`},
		{"more than 32 bytes read", func(e *traceEnv) string {
			return e.line(sysRead, 100, nil, 4, e.str(trData, strings.Repeat("z", 100)), 200)
		}, `read(4, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"..., 200) = 100`},
		{"interrupted: ERESTARTSYS, the address", func(e *traceEnv) string {
			return e.line(sysRead, 0, errRestart, 3, uint64(trData), 4)
		}, `read(3, 0x10000, 4) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)`},
	})
}

func TestTraceIovIn(t *testing.T) {
	two := func(e *traceEnv) uint64 {
		e.str(trData+0x100, "abc")
		e.str(trData+0x200, "defgh")
		return e.iov(trData, uint64(trData+0x100), 3, uint64(trData+0x200), 5)
	}
	runTraceCases(t, false, []traceCase{
		{"success", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Writev, 8, nil, 5, two(e), 2)
		}, `writev(5, [{iov_base="abc", iov_len=3}, {iov_base="defgh", iov_len=5}], 2) = 8`},
		{"failure still shows the bytes", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Writev, 0, ebadf, ^uint64(0), two(e), 2)
		}, `writev(-1, [{iov_base="abc", iov_len=3}, {iov_base="defgh", iov_len=5}], 2) = -1 EBADF (Bad file descriptor)`},
		{"NULL", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Writev, 0, efault, 5, 0, 2)
		}, `writev(5, NULL, 2) = -1 EFAULT (Bad address)`},
		{"no elements", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Writev, 0, nil, 5, two(e), 0)
		}, `writev(5, [], 0) = 0`},
		{"unreadable array", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Writev, 0, efault, 5, uint64(trHole), 1)
		}, `writev(5, 0x14000, 1) = -1 EFAULT (Bad address)`},
		{"more than 32 elements", func(e *traceEnv) string {
			e.str(trData+0x1000, "x")
			var pairs []uint64
			for i := 0; i < 40; i++ {
				pairs = append(pairs, uint64(trData+0x1000), 1)
			}
			return e.line(linux.SysAMD64Writev, 40, nil, 3, e.iov(trData, pairs...), 40)
		}, `writev(3, [` + strings.Repeat(`{iov_base="x", iov_len=1}, `, 32) + `...], 40) = 40`},
		{"more than UIO_MAXIOV elements: still the first 32", func(e *traceEnv) string {
			e.str(trData+0x1000, "x")
			var pairs []uint64
			for i := 0; i < 33; i++ {
				pairs = append(pairs, uint64(trData+0x1000), 1)
			}
			return e.line(linux.SysAMD64Writev, 0, einval, 3, e.iov(trData, pairs...), 1025)
		}, `writev(3, [` + strings.Repeat(`{iov_base="x", iov_len=1}, `, 32) + `...], 1025) = -1 EINVAL (Invalid argument)`},
		{"array running into an unmapped page", func(e *traceEnv) string {
			e.str(trData, "yz")
			return e.line(linux.SysAMD64Writev, 0, efault, 3, e.iov(trHole-16, uint64(trData), 2), 2)
		}, `writev(3, [{iov_base="yz", iov_len=2}, ... /* 0x14000 */], 2) = -1 EFAULT (Bad address)`},
		{"NULL and unreadable buffers", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Writev, 0, efault, 5, e.iov(trData, 0, 0, uint64(trHole), 4), 2)
		}, `writev(5, [{iov_base=NULL, iov_len=0}, {iov_base=0x14000, iov_len=4}], 2) = -1 EFAULT (Bad address)`},
		{"a buffer readable for 31 of 40 bytes", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Writev, 40, nil, 3, e.iov(trData, uint64(trHole-31), 40), 1)
		}, `writev(3, [{iov_base=0x13fe1, iov_len=40}], 1) = 40`},
	})
}

func TestTraceIovOut(t *testing.T) {
	two := func(e *traceEnv) uint64 {
		e.str(trData+0x100, "abcd")
		e.str(trData+0x200, "efgh")
		return e.iov(trData, uint64(trData+0x100), 4, uint64(trData+0x200), 8)
	}
	runTraceCases(t, false, []traceCase{
		{"success shows the bytes read, up to the result", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Readv, 8, nil, 4, two(e), 2)
		}, `readv(4, [{iov_base="abcd", iov_len=4}, {iov_base="efgh", iov_len=8}], 2) = 8`},
		{"failure shows the addresses", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Readv, 0, ebadf, ^uint64(0), two(e), 2)
		}, `readv(-1, [{iov_base=0x10100, iov_len=4}, {iov_base=0x10200, iov_len=8}], 2) = -1 EBADF (Bad file descriptor)`},
		{"NULL", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Readv, 0, efault, 4, 0, 1)
		}, `readv(4, NULL, 1) = -1 EFAULT (Bad address)`},
		{"no elements", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Readv, 0, nil, 4, two(e), 0)
		}, `readv(4, [], 0) = 0`},
		{"preadv", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Preadv, 6, nil, 6, two(e), 2, 0)
		}, `preadv(6, [{iov_base="abcd", iov_len=4}, {iov_base="ef", iov_len=8}], 2, 0) = 6`},
	})
}

// process_vm_readv/writev: the local iovecs (IovOut/IovIn) and the remote
// ones (IovPtr), which are always addresses.
func TestTraceProcessVM(t *testing.T) {
	local := func(e *traceEnv, n uint64) uint64 {
		e.str(trData+0x100, "remote-data")
		return e.iov(trData, uint64(trData+0x100), n)
	}
	remote := func(e *traceEnv, base, n uint64) uint64 { return e.iov(trData+0x40, base, n) }
	runTraceCases(t, false, []traceCase{
		{"readv success", func(e *traceEnv) string {
			return e.line(linux.SysAMD64ProcessVmReadv, 11, nil, 1000, local(e, 11), 1, remote(e, 0x7ffee24c99c0, 11), 1, 0)
		}, `process_vm_readv(1000, [{iov_base="remote-data", iov_len=11}], 1, [{iov_base=0x7ffee24c99c0, iov_len=11}], 1, 0) = 11`},
		{"readv failure: the local iovecs are addresses", func(e *traceEnv) string {
			return e.line(linux.SysAMD64ProcessVmReadv, 0, efault, 1000, local(e, 64), 1, remote(e, 0x300000000, 64), 1, 0)
		}, `process_vm_readv(1000, [{iov_base=0x10100, iov_len=64}], 1, [{iov_base=0x300000000, iov_len=64}], 1, 0) = -1 EFAULT (Bad address)`},
		{"readv EINVAL for flags", func(e *traceEnv) string {
			return e.line(linux.SysAMD64ProcessVmReadv, 0, einval, 1000, local(e, 64), 1, remote(e, 0x7ffee24c99c0, 11), 1, 5)
		}, `process_vm_readv(1000, [{iov_base=0x10100, iov_len=64}], 1, [{iov_base=0x7ffee24c99c0, iov_len=11}], 1, 5) = -1 EINVAL (Invalid argument)`},
		{"readv ESRCH", func(e *traceEnv) string {
			return e.line(linux.SysAMD64ProcessVmReadv, 0, linux.ESRCH, 99999, local(e, 64), 1, remote(e, 0x7ffee24c99c0, 11), 1, 0)
		}, `process_vm_readv(99999, [{iov_base=0x10100, iov_len=64}], 1, [{iov_base=0x7ffee24c99c0, iov_len=11}], 1, 0) = -1 ESRCH (No such process)`},
		{"readv NULL local", func(e *traceEnv) string {
			return e.line(linux.SysAMD64ProcessVmReadv, 0, efault, 1000, 0, 1, remote(e, 0x7ffee24c99c0, 11), 1, 0)
		}, `process_vm_readv(1000, NULL, 1, [{iov_base=0x7ffee24c99c0, iov_len=11}], 1, 0) = -1 EFAULT (Bad address)`},
		{"readv NULL remote", func(e *traceEnv) string {
			return e.line(linux.SysAMD64ProcessVmReadv, 0, efault, 1000, local(e, 64), 1, 0, 1, 0)
		}, `process_vm_readv(1000, [{iov_base=0x10100, iov_len=64}], 1, NULL, 1, 0) = -1 EFAULT (Bad address)`},
		{"readv partial: the bytes up to the result", func(e *traceEnv) string {
			e.str(trData+0x100, "remo")
			e.str(trData+0x108, "te")
			l := e.iov(trData, uint64(trData+0x100), 4, uint64(trData+0x108), 20)
			return e.line(linux.SysAMD64ProcessVmReadv, 6, nil, 1000, l, 2, remote(e, 0x7ffee24c99c0, 6), 1, 0)
		}, `process_vm_readv(1000, [{iov_base="remo", iov_len=4}, {iov_base="te", iov_len=20}], 2, [{iov_base=0x7ffee24c99c0, iov_len=6}], 1, 0) = 6`},
		{"writev success", func(e *traceEnv) string {
			l := e.iov(trData, e.str(trData+0x100, "written"), 7)
			return e.line(linux.SysAMD64ProcessVmWritev, 7, nil, 1000, l, 1, remote(e, 0x7ffee24c9980, 7), 1, 0)
		}, `process_vm_writev(1000, [{iov_base="written", iov_len=7}], 1, [{iov_base=0x7ffee24c9980, iov_len=7}], 1, 0) = 7`},
		{"writev failure still shows the bytes", func(e *traceEnv) string {
			l := e.iov(trData, e.str(trData+0x100, "written"), 7)
			return e.line(linux.SysAMD64ProcessVmWritev, 0, efault, 1000, l, 1, remote(e, 0x300000000, 64), 1, 0)
		}, `process_vm_writev(1000, [{iov_base="written", iov_len=7}], 1, [{iov_base=0x300000000, iov_len=64}], 1, 0) = -1 EFAULT (Bad address)`},
	})
}

// The same calls through the real handler, between two processes.
func TestTraceProcessVMEndToEnd(t *testing.T) {
	e := newTraceEnv(t, false)
	child, err := e.k.Fork(e.p)
	require.NoError(t, err)
	require.NoError(t, child.Map(0x20000, 1, mm.ProtRead))
	require.NoError(t, child.Write(0x20000, []byte("hello")))
	pid := uint64(child.PID())

	l := e.iov(trData, uint64(trData+0x100), 64)
	r := e.iov(trData+0x40, 0x300000000, 64)
	assert.Equal(t, `[pid 1000] process_vm_readv(1001, [{iov_base=0x10100, iov_len=64}], 1, [{iov_base=0x300000000, iov_len=64}], 1, 0) = -1 EFAULT (Bad address)`,
		e.run(e.p, linux.SysAMD64ProcessVmReadv, pid, l, 1, r, 1, 0))

	r = e.iov(trData+0x40, 0x20000, 5)
	assert.Equal(t, `[pid 1000] process_vm_readv(1001, [{iov_base="hello", iov_len=64}], 1, [{iov_base=0x20000, iov_len=5}], 1, 0) = 5`,
		e.run(e.p, linux.SysAMD64ProcessVmReadv, pid, l, 1, r, 1, 0))
}

// An i386 task: 4-byte iovecs and words (source).
func TestTraceI386(t *testing.T) {
	runTraceCases(t, true, []traceCase{
		{"process_vm_readv success", func(e *traceEnv) string {
			e.str(trData+0x100, "from i386")
			l := e.iov(trData, uint64(trData+0x100), 9)
			r := e.iov(trData+0x40, 0x20000, 9)
			return e.line(linux.Sys386ProcessVmReadv, 9, nil, 1001, l, 1, r, 1, 0)
		}, `process_vm_readv(1001, [{iov_base="from i386", iov_len=9}], 1, [{iov_base=0x20000, iov_len=9}], 1, 0) = 9`},
		{"process_vm_readv failure", func(e *traceEnv) string {
			l := e.iov(trData, uint64(trData+0x100), 64, uint64(trData+0x200), 0x80000000)
			r := e.iov(trData+0x40, 0xffffe000, 16)
			return e.line(linux.Sys386ProcessVmReadv, 0, einval, 1001, l, 2, r, 1, 0)
		}, `process_vm_readv(1001, [{iov_base=0x10100, iov_len=64}, {iov_base=0x10200, iov_len=2147483648}], 2, [{iov_base=0xffffe000, iov_len=16}], 1, 0) = -1 EINVAL (Invalid argument)`},
		{"writev", func(e *traceEnv) string {
			l := e.iov(trData, e.str(trData+0x100, "abc"), 3)
			return e.line(linux.Sys386Writev, 3, nil, 1, l, 1)
		}, `writev(1, [{iov_base="abc", iov_len=3}], 1) = 3`},
		{"mmap2", func(e *traceEnv) string {
			return e.line(linux.Sys386Mmap2, 0xf7f00000, nil, 0, 4096, 3, 0x22, 0xffffffff, 0)
		}, `mmap2(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0xf7f00000`},
	})
}

func TestTracePathAndFD(t *testing.T) {
	openat := func(e *traceEnv, dirfd int32, path uint64, flags uint64, ret uint64, err error) string {
		return e.line(linux.SysAMD64Openat, ret, err, uint64(uint32(dirfd)), path, flags)
	}
	long := "/" + strings.Repeat("p", 398)
	runTraceCases(t, false, []traceCase{
		{"success", func(e *traceEnv) string {
			return openat(e, linux.AT_FDCWD, e.str(trData, "/dev/null\x00"), 0, 3, nil)
		}, `openat(AT_FDCWD, "/dev/null", O_RDONLY) = 3`},
		{"a long path is shown whole", func(e *traceEnv) string {
			return openat(e, linux.AT_FDCWD, e.str(trData, long+"\x00"), 0, 0, linux.ENAMETOOLONG)
		}, `openat(AT_FDCWD, "` + long + `", O_RDONLY) = -1 ENAMETOOLONG (File name too long)`},
		{"NULL", func(e *traceEnv) string {
			return openat(e, linux.AT_FDCWD, 0, 0, 0, efault)
		}, `openat(AT_FDCWD, NULL, O_RDONLY) = -1 EFAULT (Bad address)`},
		{"unmapped", func(e *traceEnv) string {
			return openat(e, linux.AT_FDCWD, uint64(trHole), 0, 0, efault)
		}, `openat(AT_FDCWD, 0x14000, O_RDONLY) = -1 EFAULT (Bad address)`},
		{"unterminated before an unmapped page", func(e *traceEnv) string {
			return openat(e, linux.AT_FDCWD, e.str(trHole-5, "abcde"), 0, 0, efault)
		}, `openat(AT_FDCWD, 0x13ffb, O_RDONLY) = -1 EFAULT (Bad address)`},
		{"escapes, a directory fd", func(e *traceEnv) string {
			return openat(e, 5, e.str(trData, "rel\n\"x\x00"), 0, 0, linux.ENOTDIR)
		}, `openat(5, "rel\n\"x", O_RDONLY) = -1 ENOTDIR (Not a directory)`},
		{"octal escapes", func(e *traceEnv) string {
			return openat(e, linux.AT_FDCWD, e.str(trData, "/x\xff4\x01a\tb\x00"), 0, 0, linux.ENOENT)
		}, `openat(AT_FDCWD, "/x\3774\1a\tb", O_RDONLY) = -1 ENOENT (No such file or directory)`},
		{"empty", func(e *traceEnv) string {
			return openat(e, linux.AT_FDCWD, e.str(trData, "\x00"), 0, 0, linux.ENOENT)
		}, `openat(AT_FDCWD, "", O_RDONLY) = -1 ENOENT (No such file or directory)`},
		{"a bad directory fd", func(e *traceEnv) string {
			return openat(e, -200, e.str(trData, "x\x00"), 0, 0, ebadf)
		}, `openat(-200, "x", O_RDONLY) = -1 EBADF (Bad file descriptor)`},
		{"AT_FDCWD is only a directory fd", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Close, 0, ebadf, uint64(uint32(0xffffff9c)))
		}, `close(-100) = -1 EBADF (Bad file descriptor)`},
		{"open", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Open, 20, nil, e.str(trData, "/tmp/st/created\x00"), 0)
		}, `open("/tmp/st/created", O_RDONLY) = 20`},
	})
}

func TestTraceOpenFlagsAndMode(t *testing.T) {
	openat := func(path string, flags, mode uint64, ret uint64, err error) func(e *traceEnv) string {
		return func(e *traceEnv) string {
			return e.line(linux.SysAMD64Openat, ret, err, uint64(uint32(0xffffff9c)), e.str(trData, path+"\x00"), flags, mode)
		}
	}
	const (
		oWronly, oRdwr, oCreat, oExcl, oNoctty, oTrunc = 0o1, 0o2, 0o100, 0o200, 0o400, 0o1000
		oAppend, oNonblock, oDsync, oAsync, oDirect    = 0o2000, 0o4000, 0o10000, 0o20000, 0o40000
		oLargefile, oDirectory, oNofollow, oNoatime    = 0o100000, 0o200000, 0o400000, 0o1000000
		oCloexec, oSync, oPath, oTmpfile               = 0o2000000, 0o4010000, 0o10000000, 0o20200000
		created, dir, none                             = "/tmp/st/created", "/tmp/st", "/nonexistent"
	)
	runTraceCases(t, false, []traceCase{
		{"no O_CREAT: no mode", openat("/dev/null", 0, 0o644, 11, nil), `openat(AT_FDCWD, "/dev/null", O_RDONLY) = 11`},
		{"O_CREAT: the mode", openat(created, oWronly|oCreat|oTrunc|oCloexec, 0o644, 12, nil),
			`openat(AT_FDCWD, "/tmp/st/created", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644) = 12`},
		{"mode 0", openat(created, oWronly|oCreat, 0, 13, nil), `openat(AT_FDCWD, "/tmp/st/created", O_WRONLY|O_CREAT, 000) = 13`},
		{"mode 04755", openat(created, oWronly|oCreat, 0o4755, 14, nil), `openat(AT_FDCWD, "/tmp/st/created", O_WRONLY|O_CREAT, 04755) = 14`},
		{"mode 07", openat(created, oWronly|oCreat, 0o7, 15, nil), `openat(AT_FDCWD, "/tmp/st/created", O_WRONLY|O_CREAT, 007) = 15`},
		{"O_TMPFILE: the mode", openat(dir, oRdwr|oTmpfile, 0o600, 16, nil), `openat(AT_FDCWD, "/tmp/st", O_RDWR|O_TMPFILE, 0600) = 16`},
		{"many flags, in strace's order", openat(dir, oDirectory|oNofollow|oNonblock|oSync|oNoatime|oAppend|oExcl|oNoctty|oAsync|oDsync, 0, 17, nil),
			`openat(AT_FDCWD, "/tmp/st", O_RDONLY|O_EXCL|O_NOCTTY|O_APPEND|O_NONBLOCK|O_SYNC|O_NOFOLLOW|O_NOATIME|O_DIRECTORY|FASYNC) = 17`},
		{"O_PATH|O_DIRECT", openat(dir, oPath|oDirect, 0, 18, nil), `openat(AT_FDCWD, "/tmp/st", O_RDONLY|O_DIRECT|O_PATH) = 18`},
		{"access mode 3", openat(dir, 3, 0, 0, linux.EISDIR), `openat(AT_FDCWD, "/tmp/st", O_ACCMODE) = -1 EISDIR (Is a directory)`},
		{"an unknown bit", openat(dir, 0x40000000, 0, 19, nil), `openat(AT_FDCWD, "/tmp/st", O_RDONLY|0x40000000) = 19`},
		{"__O_SYNC", openat(none, 0o4000000, 0, 0, linux.ENOENT), `openat(AT_FDCWD, "/nonexistent", O_RDONLY|__O_SYNC) = -1 ENOENT (No such file or directory)`},
		{"__O_TMPFILE alone: the mode", openat(none, 0o20000000, 0o644, 0, einval),
			`openat(AT_FDCWD, "/nonexistent", O_RDONLY|__O_TMPFILE, 0644) = -1 EINVAL (Invalid argument)`},
		{"O_CREAT|__O_TMPFILE", openat(none, 0o20000000|oCreat, 0o644, 0, einval),
			`openat(AT_FDCWD, "/nonexistent", O_RDONLY|O_CREAT|__O_TMPFILE, 0644) = -1 EINVAL (Invalid argument)`},
		{"O_TMPFILE without the access mode", openat(none, oTmpfile, 0o644, 0, einval),
			`openat(AT_FDCWD, "/nonexistent", O_RDONLY|O_TMPFILE, 0644) = -1 EINVAL (Invalid argument)`},
		{"O_LARGEFILE", openat("/dev/null", oLargefile, 0, 28, nil), `openat(AT_FDCWD, "/dev/null", O_RDONLY|O_LARGEFILE) = 28`},
		{"O_DSYNC|O_LARGEFILE", openat("/dev/null", oLargefile|oWronly|oDsync, 0, 29, nil),
			`openat(AT_FDCWD, "/dev/null", O_WRONLY|O_DSYNC|O_LARGEFILE) = 29`},
		{"O_ASYNC is FASYNC", openat("/dev/null", oWronly|oAsync, 0, 31, nil), `openat(AT_FDCWD, "/dev/null", O_WRONLY|FASYNC) = 31`},
		{"O_EXCL, mode 0600", openat("/dev/null", oRdwr|oCreat|oExcl|oTrunc, 0o600, 0, linux.EEXIST),
			`openat(AT_FDCWD, "/dev/null", O_RDWR|O_CREAT|O_EXCL|O_TRUNC, 0600) = -1 EEXIST (File exists)`},
		{"open", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Open, 20, nil, e.str(trData, "/tmp/st/created\x00"), 0)
		}, `open("/tmp/st/created", O_RDONLY) = 20`},
		{"open with O_CREAT", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Open, 21, nil, e.str(trData, "/tmp/st/created\x00"), oRdwr|oCreat, 0o666)
		}, `open("/tmp/st/created", O_RDWR|O_CREAT, 0666) = 21`},
		{"mkdir", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Mkdir, 0, nil, e.str(trData, "/tmp/st/d\x00"), 0o755)
		}, `mkdir("/tmp/st/d", 0755) = 0`},
		{"mkdir, mode 0", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Mkdir, 0, linux.EEXIST, e.str(trData, "/tmp/st/d\x00"), 0)
		}, `mkdir("/tmp/st/d", 000) = -1 EEXIST (File exists)`},
		{"chmod", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Chmod, 0, nil, e.str(trData, "/tmp/st/d\x00"), 0o1777)
		}, `chmod("/tmp/st/d", 01777) = 0`},
		{"umask returns octal", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Umask, 0o22, nil, 0o22)
		}, `umask(022) = 022`},
		{"umask 0", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Umask, 0o22, nil, 0)
		}, `umask(000) = 022`},
		{"umask returning 0", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Umask, 0, nil, 0o777)
		}, `umask(0777) = 000`},
	})
}

func TestTraceMmapArgs(t *testing.T) {
	mmap := func(e *traceEnv, addr, length, prot, flags, fd, off uint64, ret uint64, err error) string {
		return e.line(linux.SysAMD64Mmap, ret, err, addr, length, prot, flags, fd, off)
	}
	noFD := uint64(0xffffffff)
	runTraceCases(t, false, []traceCase{
		{"anonymous", func(e *traceEnv) string {
			return mmap(e, 0, 8192, 3, 0x22, noFD, 0, 0x7f2d9fa20000, nil)
		}, `mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f2d9fa20000`},
		{"PROT_NONE, shared", func(e *traceEnv) string {
			return mmap(e, 0, 4096, 0, 0x4021, noFD, 0, 0x7f2d9fa1f000, nil)
		}, `mmap(NULL, 4096, PROT_NONE, MAP_SHARED|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x7f2d9fa1f000`},
		{"an unknown prot bit", func(e *traceEnv) string {
			return mmap(e, 0, 4096, 0x15, 0x28022, noFD, 0, 0x7f2d9fa1e000, nil)
		}, `mmap(NULL, 4096, PROT_READ|PROT_EXEC|0x10, MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE|MAP_STACK, -1, 0) = 0x7f2d9fa1e000`},
		{"MAP_SHARED_VALIDATE", func(e *traceEnv) string {
			return mmap(e, 0, 4096, 1, 0x23, noFD, 0, 0, einval)
		}, `mmap(NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE|MAP_ANONYMOUS, -1, 0) = -1 EINVAL (Invalid argument)`},
		{"type 0 is MAP_FILE", func(e *traceEnv) string {
			return mmap(e, 0, 4096, 1, 0x20, noFD, 0, 0, einval)
		}, `mmap(NULL, 4096, PROT_READ, MAP_FILE|MAP_ANONYMOUS, -1, 0) = -1 EINVAL (Invalid argument)`},
		{"an unknown type", func(e *traceEnv) string {
			return mmap(e, 0, 4096, 1, 0x2a, noFD, 0, 0, einval)
		}, `mmap(NULL, 4096, PROT_READ, 0xa /* MAP_??? */|MAP_ANONYMOUS, -1, 0) = -1 EINVAL (Invalid argument)`},
		{"an unknown type alone", func(e *traceEnv) string {
			return mmap(e, 0, 4096, 1, 0x8, noFD, 0, 0, ebadf)
		}, `mmap(NULL, 4096, PROT_READ, 0x8 /* MAP_??? */, -1, 0) = -1 EBADF (Bad file descriptor)`},
		{"MAP_FILE and an unknown bit", func(e *traceEnv) string {
			return mmap(e, 0, 4096, 1, 0x200000, noFD, 0, 0, ebadf)
		}, `mmap(NULL, 4096, PROT_READ, MAP_FILE|0x200000, -1, 0) = -1 EBADF (Bad file descriptor)`},
		{"huge page bits", func(e *traceEnv) string {
			return mmap(e, 0, 4096, 1, 0x22|0x200000|0x4000000, noFD, 0, 0x7f2d9fa1d000, nil)
		}, `mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|0x200000|1<<MAP_HUGE_SHIFT, -1, 0) = 0x7f2d9fa1d000`},
		{"MAP_HUGETLB with a size", func(e *traceEnv) string {
			return mmap(e, 0, 4096, 1, 0x22|0x40000|21<<26, noFD, 0, 0, linux.ENOMEM)
		}, `mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT, -1, 0) = -1 ENOMEM (Cannot allocate memory)`},
		{"every flag, in strace's order", func(e *traceEnv) string {
			return mmap(e, 0, 4096, 1, 0x1|0x10|0x20|0x40|0x80|0x4000|0x8000|0x10000|0x100|0x800|0x1000|0x2000|0x20000|0x40000|0x80000|0x100000, noFD, 0, 0, linux.EEXIST)
		}, `mmap(NULL, 4096, PROT_READ, MAP_SHARED|MAP_FIXED|MAP_ANONYMOUS|MAP_32BIT|MAP_NORESERVE|MAP_POPULATE|MAP_NONBLOCK|MAP_GROWSDOWN|MAP_DENYWRITE|MAP_EXECUTABLE|MAP_LOCKED|MAP_STACK|MAP_HUGETLB|MAP_SYNC|MAP_FIXED_NOREPLACE|0x80, -1, 0) = -1 EEXIST (File exists)`},
		{"a fixed address, MAP_FIXED_NOREPLACE", func(e *traceEnv) string {
			return mmap(e, 0x10000, 4096, 3, 0x100022, noFD, 0, 0x10000, nil)
		}, `mmap(0x10000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0) = 0x10000`},
		{"a file and an offset", func(e *traceEnv) string {
			return mmap(e, 0, 4096, 1, 0x2, 77, 0x1000, 0, ebadf)
		}, `mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 77, 0x1000) = -1 EBADF (Bad file descriptor)`},
		{"mprotect PROT_NONE", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Mprotect, 0, nil, 0x7f2d9fa20000, 4096, 0)
		}, `mprotect(0x7f2d9fa20000, 4096, PROT_NONE) = 0`},
		{"mprotect PROT_SEM", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Mprotect, 0, nil, 0, 0, 0x8)
		}, `mprotect(NULL, 0, PROT_SEM) = 0`},
		{"mprotect GROWSDOWN|GROWSUP", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Mprotect, 0, einval, 0, 0, 0x1|0x8|0x1000000|0x2000000)
		}, `mprotect(NULL, 0, PROT_READ|PROT_SEM|PROT_GROWSDOWN|PROT_GROWSUP) = -1 EINVAL (Invalid argument)`},
		{"mprotect, nothing known", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Mprotect, 0, einval, 0x7f2d9fa20000, 4096, 0x10)
		}, `mprotect(0x7f2d9fa20000, 4096, 0x10 /* PROT_??? */) = -1 EINVAL (Invalid argument)`},
		{"munmap", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Munmap, 0, nil, 0x7f2d9fa20000, 8192)
		}, `munmap(0x7f2d9fa20000, 8192) = 0`},
		{"brk(NULL)", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Brk, 0x1f425d00, nil, 0)
		}, `brk(NULL) = 0x1f425d00`},
	})
}

func TestTraceEnums(t *testing.T) {
	madvise := func(addr, length, advice uint64, err error) func(e *traceEnv) string {
		return func(e *traceEnv) string { return e.line(linux.SysAMD64Madvise, 0, err, addr, length, advice) }
	}
	const m = 0x7f2d9fa20000
	runTraceCases(t, false, []traceCase{
		{"MADV_DONTNEED", madvise(m, 4096, 4, nil), `madvise(0x7f2d9fa20000, 4096, MADV_DONTNEED) = 0`},
		{"MADV_FREE", madvise(m, 4096, 8, nil), `madvise(0x7f2d9fa20000, 4096, MADV_FREE) = 0`},
		{"MADV_DONTFORK", madvise(m, 4096, 10, nil), `madvise(0x7f2d9fa20000, 4096, MADV_DONTFORK) = 0`},
		{"unknown advice", madvise(m, 4096, 99, einval), `madvise(0x7f2d9fa20000, 4096, 0x63 /* MADV_??? */) = -1 EINVAL (Invalid argument)`},
		{"MADV_KEEPONFORK", madvise(0, 0, 19, nil), `madvise(NULL, 0, MADV_KEEPONFORK) = 0`},
		{"MADV_COLLAPSE", madvise(0, 0, 25, nil), `madvise(NULL, 0, MADV_COLLAPSE) = 0`},
		{"MADV_HWPOISON", madvise(0, 0, 100, einval), `madvise(NULL, 0, MADV_HWPOISON) = -1 EINVAL (Invalid argument)`},
		{"MADV_SOFT_OFFLINE", madvise(0, 0, 101, einval), `madvise(NULL, 0, MADV_SOFT_OFFLINE) = -1 EINVAL (Invalid argument)`},
		{"a gap in the values", madvise(0, 0, 5, einval), `madvise(NULL, 0, 0x5 /* MADV_??? */) = -1 EINVAL (Invalid argument)`},
		{"unknown to strace 6.1", madvise(0, 0, 102, nil), `madvise(NULL, 0, 0x66 /* MADV_??? */) = 0`},
		{"advice -1", madvise(0, 0, 0xffffffff, einval), `madvise(NULL, 0, 0xffffffff /* MADV_??? */) = -1 EINVAL (Invalid argument)`},
		{"SEEK_CUR, a 64-bit offset", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Lseek, 0, nil, 0, 0xffffffff, 1)
		}, `lseek(0, 4294967295, SEEK_CUR) = 0`},
		{"SEEK_END", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Lseek, 0, ebadf, 0xffffffff, 10, 2)
		}, `lseek(-1, 10, SEEK_END) = -1 EBADF (Bad file descriptor)`},
		{"SEEK_DATA", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Lseek, 0, ebadf, 0xffffffff, 0, 3)
		}, `lseek(-1, 0, SEEK_DATA) = -1 EBADF (Bad file descriptor)`},
		{"SEEK_HOLE", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Lseek, 0, ebadf, 0xffffffff, 0, 4)
		}, `lseek(-1, 0, SEEK_HOLE) = -1 EBADF (Bad file descriptor)`},
		{"unknown whence", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Lseek, 0, ebadf, 0xffffffff, 10, 7)
		}, `lseek(-1, 10, 0x7 /* SEEK_??? */) = -1 EBADF (Bad file descriptor)`},
		{"CLOCK_MONOTONIC", func(e *traceEnv) string {
			return e.line(linux.SysAMD64ClockGetres, 0, nil, 1, 0)
		}, `clock_getres(CLOCK_MONOTONIC, NULL) = 0`},
		{"unknown clock", func(e *traceEnv) string {
			return e.line(linux.SysAMD64ClockGettime, 0, einval, 100, 0x7ffe4bdf62e0)
		}, `clock_gettime(0x64 /* CLOCK_??? */, 0x7ffe4bdf62e0) = -1 EINVAL (Invalid argument)`},
		{"a negative clock", func(e *traceEnv) string {
			return e.line(linux.SysAMD64ClockGettime, 0, efault, 0xfffffffa, 0)
		}, `clock_gettime(0xfffffffa /* CLOCK_??? */, NULL) = -1 EFAULT (Bad address)`},
		{"CLOCK_BOOTTIME, NULL", func(e *traceEnv) string {
			return e.line(linux.SysAMD64ClockGettime, 0, efault, 7, 0)
		}, `clock_gettime(CLOCK_BOOTTIME, NULL) = -1 EFAULT (Bad address)`},
		{"CLOCK_TAI", func(e *traceEnv) string {
			return e.line(linux.SysAMD64ClockGetres, 0, nil, 11, 0)
		}, `clock_getres(CLOCK_TAI, NULL) = 0`},
		{"CLOCK_REALTIME_ALARM", func(e *traceEnv) string {
			return e.line(linux.SysAMD64ClockGetres, 0, einval, 8, 0x7ffe4bdf62e0)
		}, `clock_getres(CLOCK_REALTIME_ALARM, 0x7ffe4bdf62e0) = -1 EINVAL (Invalid argument)`},
		{"CLOCK_SGI_CYCLE", func(e *traceEnv) string {
			return e.line(linux.SysAMD64ClockGetres, 0, einval, 10, 0)
		}, `clock_getres(CLOCK_SGI_CYCLE, NULL) = -1 EINVAL (Invalid argument)`},
	})
}

func TestTraceSignals(t *testing.T) {
	kill := func(sig uint64, err error) func(e *traceEnv) string {
		return func(e *traceEnv) string { return e.line(linux.SysAMD64Kill, 0, err, 999999, sig) }
	}
	esrch := linux.ESRCH
	runTraceCases(t, false, []traceCase{
		{"0", kill(0, nil), `kill(999999, 0) = 0`},
		{"SIGWINCH", kill(28, nil), `kill(999999, SIGWINCH) = 0`},
		{"SIGTERM", kill(15, esrch), `kill(999999, SIGTERM) = -1 ESRCH (No such process)`},
		{"32 is SIGRTMIN", kill(32, esrch), `kill(999999, SIGRTMIN) = -1 ESRCH (No such process)`},
		{"33", kill(33, esrch), `kill(999999, SIGRT_1) = -1 ESRCH (No such process)`},
		{"34", kill(34, esrch), `kill(999999, SIGRT_2) = -1 ESRCH (No such process)`},
		{"64", kill(64, esrch), `kill(999999, SIGRT_32) = -1 ESRCH (No such process)`},
		{"65", kill(65, esrch), `kill(999999, 65) = -1 ESRCH (No such process)`},
		{"128", kill(128, esrch), `kill(999999, 128) = -1 ESRCH (No such process)`},
		{"-1", kill(0xffffffff, esrch), `kill(999999, -1) = -1 ESRCH (No such process)`},
		{"0x80000001", kill(0x80000001, esrch), `kill(999999, -2147483647) = -1 ESRCH (No such process)`},
		{"tgkill 0", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Tgkill, 0, nil, 22478, 22478, 0)
		}, `tgkill(22478, 22478, 0) = 0`},
		{"rt_sigaction", func(e *traceEnv) string {
			return e.line(linux.SysAMD64RtSigaction, 0, nil, 10, 0, 0, 8)
		}, `rt_sigaction(SIGUSR1, NULL, NULL, 8) = 0`},
		{"rt_sigaction 0", func(e *traceEnv) string {
			return e.line(linux.SysAMD64RtSigaction, 0, einval, 0, 0, 0, 8)
		}, `rt_sigaction(0, NULL, NULL, 8) = -1 EINVAL (Invalid argument)`},
	})
}

func TestTraceArchPrctl(t *testing.T) {
	ap := func(code, addr uint64, err error) func(e *traceEnv) string {
		return func(e *traceEnv) string { return e.line(linux.SysAMD64ArchPrctl, 0, err, code, addr) }
	}
	runTraceCases(t, false, []traceCase{
		{"ARCH_SET_FS", ap(0x1002, 0x1f425380, nil), `arch_prctl(ARCH_SET_FS, 0x1f425380) = 0`},
		{"ARCH_GET_FS shows the value", func(e *traceEnv) string {
			e.put(trData, []byte{0x80, 0x13, 0xa0, 0x17, 0, 0, 0, 0})
			return e.line(linux.SysAMD64ArchPrctl, 0, nil, 0x1003, uint64(trData))
		}, `arch_prctl(ARCH_GET_FS, [0x17a01380]) = 0`},
		{"ARCH_GET_FS failing shows the address", ap(0x1003, uint64(trHole), efault),
			`arch_prctl(ARCH_GET_FS, 0x14000) = -1 EFAULT (Bad address)`},
		{"ARCH_GET_GS of 0", ap(0x1004, uint64(trData), nil), `arch_prctl(ARCH_GET_GS, [NULL]) = 0`},
		{"ARCH_GET_GS, NULL", ap(0x1004, 0, efault), `arch_prctl(ARCH_GET_GS, NULL) = -1 EFAULT (Bad address)`},
		{"ARCH_SET_GS 0", ap(0x1001, 0, nil), `arch_prctl(ARCH_SET_GS, 0) = 0`},
		{"ARCH_GET_CPUID has one argument", func(e *traceEnv) string {
			return e.line(linux.SysAMD64ArchPrctl, 1, nil, 0x1011, 0)
		}, `arch_prctl(ARCH_GET_CPUID) = 1`},
		{"ARCH_SET_CPUID", ap(0x1012, 1, linux.ENODEV), `arch_prctl(ARCH_SET_CPUID, 0x1) = -1 ENODEV (No such device)`},
		{"ARCH_MAP_VDSO_64", ap(0x2003, 0, linux.EEXIST), `arch_prctl(ARCH_MAP_VDSO_64, 0) = -1 EEXIST (File exists)`},
		{"unknown", ap(0x9999, 0, einval), `arch_prctl(0x9999 /* ARCH_??? */, 0) = -1 EINVAL (Invalid argument)`},
		{"unknown to strace 6.1", ap(0x5001, 0, einval), `arch_prctl(0x5001 /* ARCH_??? */, 0) = -1 EINVAL (Invalid argument)`},
	})
}

func TestTraceClone(t *testing.T) {
	clone := func(ret uint64, err error, flags, stack, ptid, ctid, tls uint64) func(e *traceEnv) string {
		return func(e *traceEnv) string {
			return e.line(linux.SysAMD64Clone, ret, err, flags, stack, ptid, ctid, tls)
		}
	}
	const sigchld = 17
	runTraceCases(t, false, []traceCase{
		{"fork", clone(23200, nil, 0x200000|0x1000000|sigchld, 0, 0, 0x31eb2650, 0),
			`clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x31eb2650) = 23200`},
		{"a signal only", clone(23202, nil, sigchld, 0, 0, 0, 0), `clone(child_stack=NULL, flags=SIGCHLD) = 23202`},
		{"no flags", clone(23207, nil, 0, 0, 0, 0, 0), `clone(child_stack=NULL, flags=0) = 23207`},
		{"parent_tid shows the tid stored", func(e *traceEnv) string {
			e.put(trData, []byte{0x93, 0x5a, 0, 0}) // 23187
			return e.line(linux.SysAMD64Clone, 23187, nil, 0x100000|0x1000000|sigchld, 0, uint64(trData), 0x7ffc663c7dc0, 0)
		}, `clone(child_stack=NULL, flags=CLONE_PARENT_SETTID|CLONE_CHILD_SETTID|SIGCHLD, parent_tid=[23187], child_tidptr=0x7ffc663c7dc0) = 23187`},
		{"a stack and an unknown bit", clone(23204, nil, 0x100|0x4000|0x200000000, 0x4b9300, 0, 0, 0),
			`clone(child_stack=0x4b9300, flags=CLONE_VM|CLONE_VFORK|0x200000000) = 23204`},
		{"namespaces; CLONE_DETACHED has no name", clone(23205, nil, 0x20000|0x10000000|0x80000000|0x400000, 0, 0, 0, 0),
			`clone(child_stack=NULL, flags=CLONE_NEWNS|CLONE_NEWUSER|CLONE_IO|0x400000) = 23205`},
		{"tls", clone(23206, nil, 0x80000|sigchld, 0, 0, 0, 0x1234),
			`clone(child_stack=NULL, flags=CLONE_SETTLS|SIGCHLD, tls=0x1234) = 23206`},
		{"nothing known", clone(4505, nil, 0x200400000, 0, 0, 0, 0),
			`clone(child_stack=NULL, flags=0x200400000 /* CLONE_??? */) = 4505`},
		{"failure", clone(0, einval, 0x10000|0x200000000|sigchld, 0, 0, 0, 0),
			`clone(child_stack=NULL, flags=CLONE_THREAD|0x200000000|SIGCHLD) = -1 EINVAL (Invalid argument)`},
		{"failure: parent_tid is an address", clone(0, einval, 0x10000|0x100000|sigchld, 0, 8, 0, 0),
			`clone(child_stack=NULL, flags=CLONE_THREAD|CLONE_PARENT_SETTID|SIGCHLD, parent_tid=0x8) = -1 EINVAL (Invalid argument)`},
		{"failure: every pointer", clone(0, einval, 0x1000|0x10000|0x80000|0x200000|sigchld, 0x1000, 8, 0x20, 0x30),
			`clone(child_stack=0x1000, flags=CLONE_PIDFD|CLONE_THREAD|CLONE_SETTLS|CLONE_CHILD_CLEARTID|SIGCHLD, parent_tid=0x8, tls=0x30, child_tidptr=0x20) = -1 EINVAL (Invalid argument)`},
		{"failure: parent_tid NULL", clone(0, einval, 0x10000|0x100000|sigchld, 0, 0, 0, 0),
			`clone(child_stack=NULL, flags=CLONE_THREAD|CLONE_PARENT_SETTID|SIGCHLD, parent_tid=NULL) = -1 EINVAL (Invalid argument)`},
	})
	// i386 passes tls before child_tid, and tls is a struct user_desc
	// (source).
	runTraceCases(t, true, []traceCase{
		{"i386 thread", func(e *traceEnv) string {
			desc := make([]byte, 16)
			binary.LittleEndian.PutUint32(desc[0:], 0xffffffff)
			binary.LittleEndian.PutUint32(desc[4:], 0x804c000)
			binary.LittleEndian.PutUint32(desc[8:], 0xfffff)
			binary.LittleEndian.PutUint32(desc[12:], 0x51) // seg_32bit, limit_in_pages, useable
			tls := e.put(trData, desc)
			flags := uint64(0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000 | 0x80000 | 0x100000 | 0x200000)
			return e.line(linux.Sys386Clone, 0, einval, flags, 0xf7d00000, 0xf7dffb68, tls, 0xf7dffb68)
		}, `clone(child_stack=0xf7d00000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, parent_tid=0xf7dffb68, tls={entry_number=-1, base_addr=0x804c000, limit=0x0fffff, seg_32bit=1, contents=0, read_exec_only=0, limit_in_pages=1, seg_not_present=0, useable=1}, child_tidptr=0xf7dffb68) = -1 EINVAL (Invalid argument)`},
		{"i386 fork", func(e *traceEnv) string {
			return e.line(linux.Sys386Clone, 1234, nil, 0x1200000|17, 0, 0, 0, 0xf7dffb68)
		}, `clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0xf7dffb68) = 1234`},
	})
}

func TestTraceWait(t *testing.T) {
	wait4 := func(status uint32, ret uint64, err error, options uint64) func(e *traceEnv) string {
		return func(e *traceEnv) string {
			e.put(trData, binary.LittleEndian.AppendUint32(nil, status))
			return e.line(linux.SysAMD64Wait4, ret, err, 23199, uint64(trData), options, 0)
		}
	}
	anyChild := func(status, options uint64, err error) func(e *traceEnv) string {
		return func(e *traceEnv) string {
			return e.line(linux.SysAMD64Wait4, 0, err, 0xffffffff, status, options, 0)
		}
	}
	runTraceCases(t, false, []traceCase{
		{"exited", wait4(7<<8, 23199, nil, 0), `wait4(23199, [{WIFEXITED(s) && WEXITSTATUS(s) == 7}], 0, NULL) = 23199`},
		{"stopped; WUNTRACED is WSTOPPED", wait4(19<<8|0x7f, 23199, nil, 2),
			`wait4(23199, [{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}], WSTOPPED, NULL) = 23199`},
		{"continued", wait4(0xffff, 23199, nil, 8), `wait4(23199, [{WIFCONTINUED(s)}], WCONTINUED, NULL) = 23199`},
		{"killed", wait4(9, 23199, nil, 2|8|0x40000000),
			`wait4(23199, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], WSTOPPED|WCONTINUED|__WALL, NULL) = 23199`},
		{"core dumped", wait4(6|0x80, 23199, nil, 0),
			`wait4(23199, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGABRT && WCOREDUMP(s)}], 0, NULL) = 23199`},
		{"WNOHANG, nothing to report: the address", wait4(0, 0, nil, 1), `wait4(23199, 0x10000, WNOHANG, NULL) = 0`},
		{"failure: the address", anyChild(uint64(trData), 0, linux.ECHILD), `wait4(-1, 0x10000, 0, NULL) = -1 ECHILD (No child processes)`},
		{"failure, NULL", anyChild(0, 1, linux.ECHILD), `wait4(-1, NULL, WNOHANG, NULL) = -1 ECHILD (No child processes)`},
		{"unknown options", wait4(0, 0, einval, 0x80000000|0x20000000|0x10),
			`wait4(23199, 0x10000, __WCLONE|__WNOTHREAD|0x10, NULL) = -1 EINVAL (Invalid argument)`},
		{"nothing known", wait4(0, 0, einval, 0x10), `wait4(23199, 0x10000, 0x10 /* W??? */, NULL) = -1 EINVAL (Invalid argument)`},
		{"every option, in strace's order", anyChild(0, 1|2|4|8|0x01000000|0x80000000|0x40000000|0x20000000, einval),
			`wait4(-1, NULL, WNOHANG|WEXITED|WSTOPPED|WCONTINUED|WNOWAIT|__WCLONE|__WALL|__WNOTHREAD, NULL) = -1 EINVAL (Invalid argument)`},
		{"NULL status", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Wait4, 23202, nil, 23202, 0, 0, 0)
		}, `wait4(23202, NULL, 0, NULL) = 23202`},
		{"failure, unmapped status", anyChild(uint64(trHole), 0, linux.ECHILD), `wait4(-1, 0x14000, 0, NULL) = -1 ECHILD (No child processes)`},
		// From strace's printstatus (source): statuses a ptrace stop or
		// a corrupt value give.
		{"stopped with 0x80", wait4(0x857f, 1, nil, 0x40000000),
			`wait4(23199, [{WIFSTOPPED(s) && WSTOPSIG(s) == SIGTRAP | 0x80}], __WALL, NULL) = 1`},
		{"a ptrace event", wait4(4<<16|5<<8|0x7f, 1, nil, 0x40000000),
			`wait4(23199, [{WIFSTOPPED(s) && WSTOPSIG(s) == SIGTRAP} | PTRACE_EVENT_EXEC << 16], __WALL, NULL) = 1`},
		{"none of the cases", wait4(0x12ff, 1, nil, 0), `wait4(23199, [0x12ff], 0, NULL) = 1`},
	})
}

func TestTracePipe(t *testing.T) {
	fds := func(e *traceEnv) uint64 { return e.put(trData, []byte{16, 0, 0, 0, 17, 0, 0, 0}) }
	runTraceCases(t, false, []traceCase{
		{"pipe", func(e *traceEnv) string { return e.line(linux.SysAMD64Pipe, 0, nil, fds(e)) }, `pipe([16, 17]) = 0`},
		{"pipe failure", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Pipe, 0, efault, uint64(trHole))
		}, `pipe(0x14000) = -1 EFAULT (Bad address)`},
		{"pipe2 flags in strace's order", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Pipe2, 0, nil, fds(e), 0o2000000|0o4000)
		}, `pipe2([16, 17], O_NONBLOCK|O_CLOEXEC) = 0`},
		{"pipe2 0", func(e *traceEnv) string { return e.line(linux.SysAMD64Pipe2, 0, nil, fds(e), 0) }, `pipe2([16, 17], 0) = 0`},
		{"pipe2 failure: the address", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Pipe2, 0, einval, fds(e), 0x8)
		}, `pipe2(0x10000, 0x8 /* O_??? */) = -1 EINVAL (Invalid argument)`},
		{"pipe2 an unknown bit", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Pipe2, 0, einval, fds(e), 0o2000000|0x8)
		}, `pipe2(0x10000, O_CLOEXEC|0x8) = -1 EINVAL (Invalid argument)`},
		{"pipe2 O_EXCL|O_DIRECT", func(e *traceEnv) string {
			return e.line(linux.SysAMD64Pipe2, 0, linux.ENOPKG, fds(e), 0o200|0o40000)
		}, `pipe2(0x10000, O_EXCL|O_DIRECT) = -1 ENOPKG (Package not installed)`},
		{"pipe2 NULL", func(e *traceEnv) string { return e.line(linux.SysAMD64Pipe2, 0, efault, 0, 0) },
			`pipe2(NULL, 0) = -1 EFAULT (Bad address)`},
	})
}

// strace puts "= " at column 40 (or one space after a longer call); the
// lines are verbatim from strace where no address or pid is in them.
func TestTraceLineLayout(t *testing.T) {
	layout := func(nr uint64, ret uint64, err error, args ...uint64) func(e *traceEnv) string {
		return func(e *traceEnv) string {
			e.str(trData, "/tmp/st\x00abc")
			e.trace(e.p, nr, ret, err, args...)
			return e.traced(true)
		}
	}
	path := uint64(trData)
	cases := []traceCase{
		{"short", layout(sysWrite, 0, ebadf, ^uint64(0), path+8, 3),
			`write(-1, "abc", 3)                     = -1 EBADF (Bad file descriptor)`},
		{"no return", layout(linux.SysAMD64ExitGroup, 0, nil, 0),
			`exit_group(0)                           = ?`},
		{"38 characters", layout(linux.SysAMD64Openat, 0, linux.EISDIR, uint64(uint32(0xffffff9c)), path, 3),
			`openat(AT_FDCWD, "/tmp/st", O_ACCMODE)  = -1 EISDIR (Is a directory)`},
		{"39 characters", layout(linux.SysAMD64ClockGetres, 0, nil, 4, 0),
			`clock_getres(CLOCK_MONOTONIC_RAW, NULL) = 0`},
		{"40 characters", layout(linux.SysAMD64ClockGetres, 0, einval, 8, 0),
			`clock_getres(CLOCK_REALTIME_ALARM, NULL) = -1 EINVAL (Invalid argument)`},
		{"longer", layout(linux.SysAMD64Openat, 7, nil, uint64(uint32(0xffffff9c)), path, 0o200000),
			`openat(AT_FDCWD, "/tmp/st", O_RDONLY|O_DIRECTORY) = 7`},
		{"an unknown number", layout(3333, 0, linux.ENOSYS, 1, 2, 3, 4, 5, 6),
			`syscall_0xd05(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = -1 ENOSYS (Function not implemented)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { assert.Equal(t, c.want, c.call(newTraceEnv(t, false))) })
	}
	t.Run("several processes: [pid N]", func(t *testing.T) {
		e := newTraceEnv(t, false)
		_, err := e.k.Fork(e.p)
		require.NoError(t, err)
		e.trace(e.p, linux.SysAMD64Umask, 0o22, nil, 0o22)
		// strace: "[pid 23198] umask(022)                  = 022"
		assert.Equal(t, `[pid 1000] umask(022)                   = 022`, e.traced(true))
	})
}

// regsCPU is a CPU whose registers are given (the rest is unused).
type regsCPU struct {
	arch.CPU
	regs arch.Regs
}

func (c *regsCPU) Regs() (arch.Regs, error) { return c.regs, nil }

// Calls that do not return to their caller: strace shows 0 for an execve
// that worked and the restored RAX for rt_sigreturn ("rt_sigreturn({mask=[]})
// = -1 EINTR (Interrupted system call)", "= 0" before a restart; the
// mask is not decoded here), "?" for exit.
func TestTraceNoReturn(t *testing.T) {
	sigreturn := func(rax uint64) func(e *traceEnv) string {
		return func(e *traceEnv) string {
			task := e.p.Main()
			task.cpu = &regsCPU{regs: arch.Regs{RAX: rax}}
			task.frame = &arch.SyscallFrame{KeepRegs: true}
			defer func() { task.cpu, task.frame = nil, nil }()
			return e.line(linux.SysAMD64RtSigreturn, 0, nil)
		}
	}
	neg := func(e linux.Errno) uint64 { return uint64(-int64(e)) }
	runTraceCases(t, false, []traceCase{
		{"rt_sigreturn to an interrupted call", sigreturn(neg(linux.EINTR)),
			`rt_sigreturn() = -1 EINTR (Interrupted system call)`},
		{"rt_sigreturn before a restart of read", sigreturn(0), `rt_sigreturn() = 0`},
		{"execve", func(e *traceEnv) string {
			task := e.p.Main()
			task.execMM = e.p.MM() // what a successful execve leaves
			defer func() { task.execMM = nil }()
			return e.line(linux.SysAMD64Execve, 0, nil, e.str(trData, "./x\x00"), 0x7fffffffe590, 0x7fffffffe580)
		}, `execve("./x", 0x7fffffffe590, 0x7fffffffe580) = 0`},
		{"exit", func(e *traceEnv) string { return e.line(linux.SysAMD64Exit, 0, nil, 0) }, `exit(0) = ?`},
	})
}
