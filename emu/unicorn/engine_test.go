package unicorn

import (
	"errors"
	"os"
	"runtime/cgo"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	vbase   = 0x400000 // guest virtual address of physical 0
	memSize = 16 << 20 // host buffer mapped at physical 0
	stackVA = vbase + memSize - 0x1000
)

// vm is an engine configured the way cmaemu uses it: 32 MiB TCG buffer,
// Haswell, virtual TLB, a 16 MiB host buffer at physical 0 and a fill hook
// mapping virtual vbase.. onto it.
type vm struct {
	e     *Engine
	mem   []byte
	fills []fill // every TLB fill call, in order
}

type fill struct {
	va uint64
	t  MemType
}

func newVM(t testing.TB, mode Mode) *vm {
	t.Helper()
	return newVMOn(t, mode, newMem(t))
}

// newMem returns a host buffer of memSize bytes, unmapped at the end of
// the test.
func newMem(t testing.TB) []byte {
	t.Helper()
	mem, err := syscall.Mmap(-1, 0, memSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, syscall.Munmap(mem)) })
	return mem
}

// newVMOn is newVM on the given buffer: engines made on one buffer share
// their guest memory, as threads of a process do.
func newVMOn(t testing.TB, mode Mode, mem []byte) *vm {
	t.Helper()
	e, err := Open(ArchX86, mode)
	require.NoError(t, err)
	require.NoError(t, e.SetTCGBufferSize(32<<20))
	require.NoError(t, e.SetCPUModel(CPUModelHaswell))
	require.NoError(t, e.SetTLBMode(true))
	t.Cleanup(func() { assert.NoError(t, e.Close()) })
	require.NoError(t, e.MemMapPtr(0, memSize, ProtAll, unsafe.Pointer(&mem[0])))
	v := &vm{e: e, mem: mem}
	require.NoError(t, e.HookTLBFill(func(va uint64, mt MemType) (uint64, Prot, bool) {
		v.fills = append(v.fills, fill{va, mt})
		if va >= vbase && va < vbase+memSize {
			return (va &^ 0xfff) - vbase, ProtAll, true
		}
		return 0, 0, false
	}))
	if mode == Mode64 {
		require.NoError(t, e.RegWrite(RSP, stackVA))
	} else {
		require.NoError(t, e.RegWrite(ESP, stackVA))
	}
	return v
}

// load copies code to guest virtual address va and returns va.
func (v *vm) load(va uint64, code ...[]byte) uint64 {
	off := va - vbase
	for _, c := range code {
		off += uint64(copy(v.mem[off:], c))
	}
	return va
}

func (v *vm) reg(t testing.TB, r Reg) uint64 {
	t.Helper()
	x, err := v.e.RegRead(r)
	require.NoError(t, err)
	return x
}

// Hand-assembled x86-64 snippets (checked with GNU as/objdump).
var (
	// mov rdi,11; mov rsi,22; mov rdx,33; mov r10,44; mov r8,55; mov r9,66;
	// mov eax,39; add rdi,rdi; syscall (at +0x32); hlt (+0x34)
	codeSyscallArgs = []byte{
		0x48, 0xc7, 0xc7, 0x0b, 0, 0, 0,
		0x48, 0xc7, 0xc6, 0x16, 0, 0, 0,
		0x48, 0xc7, 0xc2, 0x21, 0, 0, 0,
		0x49, 0xc7, 0xc2, 0x2c, 0, 0, 0,
		0x49, 0xc7, 0xc0, 0x37, 0, 0, 0,
		0x49, 0xc7, 0xc1, 0x42, 0, 0, 0,
		0xb8, 0x27, 0, 0, 0,
		0x48, 0x01, 0xff,
		0x0f, 0x05,
		0xf4,
	}
	// loop: mov eax,39; syscall; dec rbx; jnz loop; hlt
	codeSyscallLoop = []byte{0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0x48, 0xff, 0xcb, 0x75, 0xf4, 0xf4}
	// loop: mov eax,[rsi]; add rsi,4096; dec rbx; jnz loop; hlt
	codeTouchLoop = []byte{0x8b, 0x06, 0x48, 0x81, 0xc6, 0x00, 0x10, 0, 0, 0x48, 0xff, 0xcb, 0x75, 0xf2, 0xf4}
	codeSyscall   = []byte{0x0f, 0x05}
	codeHlt       = []byte{0xf4}
	codeUD2       = []byte{0x0f, 0x0b}
	codeJmpSelf   = []byte{0xeb, 0xfe}
	codeInt3      = []byte{0xcc}
)

func movEAX(v uint32) []byte {
	return []byte{0xb8, byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
}
func movEBX(v uint32) []byte {
	return []byte{0xbb, byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
}

func movabsRAX(v uint64) []byte {
	b := []byte{0x48, 0xb8}
	for i := 0; i < 8; i++ {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

func TestOpenCloseMany(t *testing.T) {
	mem, err := syscall.Mmap(-1, 0, 1<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	require.NoError(t, err)
	defer syscall.Munmap(mem)
	copy(mem[0x1000:], append(movEAX(1), codeSyscall...))
	cycle := func() {
		e, err := Open(ArchX86, Mode64)
		require.NoError(t, err)
		require.NoError(t, e.SetTCGBufferSize(32<<20))
		require.NoError(t, e.SetCPUModel(CPUModelSkylakeServer))
		require.NoError(t, e.SetTLBMode(true))
		require.NoError(t, e.MemMapPtr(0, 1<<20, ProtAll, unsafe.Pointer(&mem[0])))
		require.NoError(t, e.HookTLBFill(func(va uint64, _ MemType) (uint64, Prot, bool) { return va &^ 0xfff, ProtAll, va < 1<<20 }))
		require.NoError(t, e.HookSyscall(func(r *SyscallRegs) { r.Stop = 1 }))
		_, err = e.ContextSave() // left for Close to free
		require.NoError(t, err)
		require.NoError(t, e.Start(0x1000, 0, 0, 0))
		h := e.handle
		require.Same(t, e, h.Value())
		require.NoError(t, e.Close())
		require.NoError(t, e.Close(), "Close is idempotent")
		require.Panics(t, func() { _ = cgo.Handle(h).Value() }, "handle freed")
		require.ErrorIs(t, e.Stop(), ErrHandle)
		_, err = e.RegRead(RAX)
		require.ErrorIs(t, err, ErrHandle)
		require.ErrorIs(t, e.HookSyscall(nil), ErrHandle)
	}
	cycle() // first-use costs of the process (TCG globals, malloc arenas)
	rss0 := rssKiB(t)
	for i := 0; i < 50; i++ {
		cycle()
	}
	// ≈3 MiB per engine: 50 leaked engines would show as 150 MiB.
	grow := rssKiB(t) - rss0
	t.Logf("RSS growth over 50 open/run/close cycles: %d KiB", grow)
	if grow > 32<<10 {
		t.Errorf("RSS grew by %d KiB over 50 open/close cycles", grow)
	}
}

func rssKiB(t testing.TB) int {
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, err := strconv.Atoi(f[1])
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func TestErrors(t *testing.T) {
	var err error = ErrException
	assert.True(t, errors.Is(err, ErrException))
	assert.False(t, errors.Is(err, ErrInsnInvalid))
	assert.Contains(t, ErrFetchUnmapped.Error(), "UC_ERR_FETCH_UNMAPPED")
	assert.Equal(t, 21, ErrException.Code())
	assert.Equal(t, "fetch", MemFetch.String())
	assert.Equal(t, "r-x", (ProtRead | ProtExec).String())
	_, err = Open(Arch(99), Mode64)
	assert.ErrorIs(t, err, ErrArch)
}

func TestSyscall(t *testing.T) {
	v := newVM(t, Mode64)
	var seen SyscallRegs
	calls := 0
	require.NoError(t, v.e.HookSyscall(func(r *SyscallRegs) {
		calls++
		seen = *r
		r.Ret = 0x1234
	}))
	start := v.load(vbase+0x1000, codeSyscallArgs)
	sysAddr := start + 0x32
	require.NoError(t, v.e.Start(start, 0, 0, 0))

	require.Equal(t, 1, calls)
	assert.Equal(t, uint64(39), seen.Nr)
	assert.Equal(t, [6]uint64{22, 22, 33, 44, 55, 66}, seen.Args)
	assert.Equal(t, sysAddr, seen.RIP, "RIP at the syscall instruction")
	assert.Equal(t, uint64(0x1234), v.reg(t, RAX))
	assert.Equal(t, sysAddr+2, v.reg(t, RCX), "RCX = return address")
	assert.Equal(t, seen.RFLAGS, v.reg(t, R11), "R11 = RFLAGS")
	assert.NotZero(t, seen.RFLAGS&2, "reserved bit 1 of RFLAGS")
	assert.Equal(t, sysAddr+3, v.reg(t, RIP), "stopped after the hlt")
	assert.Contains(t, v.fills, fill{start, MemFetch})
}

func TestSyscallRedirect(t *testing.T) {
	v := newVM(t, Mode64)
	// +0: syscall; +2: mov eax,1; +7: hlt; +8: mov ebx,2; +13: hlt
	start := v.load(vbase+0x2000, codeSyscall, movEAX(1), codeHlt, movEBX(2), codeHlt)
	require.NoError(t, v.e.HookSyscall(func(r *SyscallRegs) {
		r.Ret = 7
		r.Redirect(start + 8)
	}))
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	assert.Equal(t, uint64(7), v.reg(t, RAX), "mov eax,1 skipped")
	assert.Equal(t, uint64(2), v.reg(t, RBX))
	assert.Equal(t, start+14, v.reg(t, RIP))
	assert.Equal(t, start+2, v.reg(t, RCX), "RCX is still the natural return address")
}

func TestSyscallStop(t *testing.T) {
	v := newVM(t, Mode64)
	start := v.load(vbase+0x2000, codeSyscall, movEAX(1), codeHlt, movEBX(2), codeHlt)
	redirect := false
	require.NoError(t, v.e.HookSyscall(func(r *SyscallRegs) {
		r.Ret = 9
		r.Stop = 1
		if redirect {
			r.Redirect(start + 8)
		}
	}))
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	assert.Equal(t, uint64(9), v.reg(t, RAX))
	assert.Equal(t, start+2, v.reg(t, RIP), "stopped right after the syscall")

	redirect = true
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	assert.Equal(t, start+8, v.reg(t, RIP), "stop + redirect: RIP = NewRIP")
	require.NoError(t, v.e.Start(start+8, 0, 0, 0))
	assert.Equal(t, uint64(2), v.reg(t, RBX))
}

func TestSyscallKeepRegsAndReplace(t *testing.T) {
	v := newVM(t, Mode64)
	start := v.load(vbase+0x2000, codeSyscall, codeHlt)
	first, second := 0, 0
	require.NoError(t, v.e.HookSyscall(func(r *SyscallRegs) { first++ }))
	require.NoError(t, v.e.HookSyscall(func(r *SyscallRegs) {
		second++
		r.KeepRegs = 1
		// A hook may set registers itself (rt_sigreturn-style).
		if err := v.e.RegWriteBatch([]Reg{RAX, RCX, R11}, []uint64{1, 2, 3}); err != nil {
			panic(err)
		}
	}))
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	assert.Equal(t, 0, first)
	assert.Equal(t, 1, second, "replaced, not added")
	vals := make([]uint64, 3)
	require.NoError(t, v.e.RegReadBatch([]Reg{RAX, RCX, R11}, vals))
	assert.Equal(t, []uint64{1, 2, 3}, vals)
}

func TestSyscallLoop(t *testing.T) {
	v := newVM(t, Mode64)
	start := v.load(vbase+0x3000, codeSyscallLoop)
	n := 0
	require.NoError(t, v.e.HookSyscall(func(r *SyscallRegs) { n++; r.Ret = r.Nr }))
	require.NoError(t, v.e.RegWrite(RBX, 1000))
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	assert.Equal(t, 1000, n)
	assert.Equal(t, uint64(0), v.reg(t, RBX))
}

func TestHlt(t *testing.T) {
	v := newVM(t, Mode64)
	start := v.load(vbase+0x1000, movEAX(5), codeHlt, movEAX(6), codeHlt)
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	assert.Equal(t, uint64(5), v.reg(t, RAX))
	assert.Equal(t, start+6, v.reg(t, RIP), "RIP after the hlt")

	// until: stops before executing the instruction at until.
	start = v.load(vbase+0x2000, movEAX(7), movEAX(8), codeHlt)
	require.NoError(t, v.e.Start(start, start+5, 0, 0))
	assert.Equal(t, start+5, v.reg(t, RIP))
	assert.Equal(t, uint64(7), v.reg(t, RAX))
}

func TestFetchUnmapped(t *testing.T) {
	v := newVM(t, Mode64)
	const target = 0x7000000000
	start := v.load(vbase+0x1000, movabsRAX(target), []byte{0xff, 0xe0}) // jmp rax
	err := v.e.Start(start, 0, 0, 0)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrException)
	assert.Contains(t, v.fills, fill{target, MemFetch})
	assert.Equal(t, uint64(target), v.reg(t, RIP), "RIP = jump target")
}

func TestReadRefusedAndRetry(t *testing.T) {
	v := newVM(t, Mode64)
	const bad = 0x10000000
	// mov rax,bad; mov eax,[rax]; hlt
	start := v.load(vbase+0x1000, movabsRAX(bad), []byte{0x8b, 0x00}, codeHlt)
	err := v.e.Start(start, 0, 0, 0)
	require.ErrorIs(t, err, ErrException)
	assert.Contains(t, v.fills, fill{bad, MemRead})
	assert.Equal(t, start+10, v.reg(t, RIP), "RIP at the faulting load")

	// Map it (to physical 0x5000) and resume at the same RIP.
	binaryPut32(v.mem[0x5000:], 0xfeedf00d)
	require.NoError(t, v.e.HookTLBFill(func(va uint64, _ MemType) (uint64, Prot, bool) {
		switch {
		case va&^0xfff == bad:
			return 0x5000, ProtRead, true
		case va >= vbase && va < vbase+memSize:
			return (va &^ 0xfff) - vbase, ProtAll, true
		}
		return 0, 0, false
	}))
	require.NoError(t, v.e.Start(start+10, 0, 0, 0))
	assert.Equal(t, uint64(0xfeedf00d), v.reg(t, RAX))
}

func binaryPut32(b []byte, x uint32) {
	b[0], b[1], b[2], b[3] = byte(x), byte(x>>8), byte(x>>16), byte(x>>24)
}

func TestInt80(t *testing.T) {
	v := newVM(t, Mode32)
	// mov eax,4; mov ebx,1; mov ecx,2; mov edx,3; mov esi,4; mov edi,5;
	// mov ebp,6; int 0x80 (+35); mov ebx,eax; hlt
	start := v.load(vbase+0x1000, []byte{
		0xb8, 4, 0, 0, 0, 0xbb, 1, 0, 0, 0, 0xb9, 2, 0, 0, 0, 0xba, 3, 0, 0, 0,
		0xbe, 4, 0, 0, 0, 0xbf, 5, 0, 0, 0, 0xbd, 6, 0, 0, 0,
		0xcd, 0x80, 0x89, 0xc3, 0xf4,
	})
	var seen SyscallRegs
	intrs := []uint32{}
	require.NoError(t, v.e.HookInterrupt(func(n uint32) { intrs = append(intrs, n) }))
	require.NoError(t, v.e.HookInt80(func(r *SyscallRegs) {
		seen = *r
		r.Ret = 0xfffffff2 // -EBADF
	}))
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	assert.Equal(t, uint64(4), seen.Nr)
	assert.Equal(t, [6]uint64{1, 2, 3, 4, 5, 6}, seen.Args)
	assert.Equal(t, start+37, seen.RIP, "EIP already after int 0x80")
	assert.Equal(t, uint64(0xfffffff2), v.reg(t, EBX), "EAX = Ret, copied to EBX")
	assert.Equal(t, start+40, v.reg(t, EIP))
	assert.Empty(t, intrs, "int 0x80 not seen by the generic hook")

	// Redirect: skip the mov ebx,eax (EIP = start+39, the hlt).
	require.NoError(t, v.e.RegWrite(EBX, 0))
	require.NoError(t, v.e.HookInt80(func(r *SyscallRegs) { r.Ret = 3; r.Redirect(r.RIP + 2) }))
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	assert.Equal(t, uint64(3), v.reg(t, EAX))
	assert.Equal(t, uint64(1), v.reg(t, EBX), "mov ebx,eax skipped")

	// Without an int80 function the generic hook sees 0x80.
	require.NoError(t, v.e.HookInt80(nil))
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	assert.Equal(t, []uint32{0x80}, intrs)
}

func TestInterrupt(t *testing.T) {
	v := newVM(t, Mode64)
	start := v.load(vbase+0x1000, codeInt3, movEAX(8), codeHlt)
	var got []uint32
	require.NoError(t, v.e.HookInterrupt(func(n uint32) {
		got = append(got, n)
		if err := v.e.Stop(); err != nil {
			panic(err)
		}
	}))
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	assert.Equal(t, []uint32{3}, got)
	assert.Equal(t, start+1, v.reg(t, RIP), "int3: RIP after")
}

func TestInsnInvalid(t *testing.T) {
	v := newVM(t, Mode64)
	start := v.load(vbase+0x1000, movEAX(1), codeUD2, codeHlt)
	err := v.e.Start(start, 0, 0, 0)
	require.ErrorIs(t, err, ErrInsnInvalid)
	assert.Equal(t, start+5, v.reg(t, RIP), "RIP at the ud2")

	hooked := 0
	require.NoError(t, v.e.HookInsnInvalid(func() bool { hooked++; return false }))
	require.ErrorIs(t, v.e.Start(start, 0, 0, 0), ErrInsnInvalid)
	assert.Equal(t, 1, hooked)
}

func TestMemInvalid(t *testing.T) {
	// Without the virtual TLB the physical map is the address space.
	e, err := Open(ArchX86, Mode64)
	require.NoError(t, err)
	defer e.Close()
	mem, err := syscall.Mmap(-1, 0, 1<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	require.NoError(t, err)
	defer syscall.Munmap(mem)
	require.NoError(t, e.MemMapPtr(0x100000, 1<<20, ProtAll, unsafe.Pointer(&mem[0])))
	code := append(movabsRAX(0x900000), 0x48, 0x89, 0x18, 0xf4) // mov [rax],rbx; hlt
	require.NoError(t, e.MemWrite(0x100000, code))
	got := make([]byte, len(code))
	require.NoError(t, e.MemRead(0x100000, got))
	require.Equal(t, code, got)
	var seen []string
	require.NoError(t, e.HookMemInvalid(func(mt MemType, addr uint64, size int, value int64) bool {
		seen = append(seen, mt.String()+"@"+strconv.FormatUint(addr, 16)+"/"+strconv.Itoa(size)+"="+strconv.FormatInt(value, 10))
		return false
	}))
	require.NoError(t, e.RegWrite(RBX, 42))
	require.ErrorIs(t, e.Start(0x100000, 0, 0, 0), ErrWriteUnmapped)
	assert.Equal(t, []string{"write-unmapped@900000/8=42"}, seen)
}

func TestRegBatch(t *testing.T) {
	v := newVM(t, Mode64)
	regs := []Reg{RAX, RBX, RCX, RDX, RSI, RDI, RBP, RSP, R8, R9, R10, R11, R12, R13, R14, R15, RIP, FSBase, GSBase}
	in := make([]uint64, len(regs))
	for i := range in {
		in[i] = 0x1111111111111111 * uint64(i+1)
	}
	in[16] = vbase + 0x123 // RIP
	in[17] = 0x7f0000001000
	in[18] = 0x7f0000002000
	require.NoError(t, v.e.RegWriteBatch(regs, in))
	out := make([]uint64, len(regs))
	require.NoError(t, v.e.RegReadBatch(regs, out))
	assert.Equal(t, in, out)

	x, err := v.e.RegRead(EAX)
	require.NoError(t, err)
	assert.Equal(t, in[0]&0xffffffff, x, "32-bit view zero-extended")

	fsb, err := v.e.ReadMSR(MSRFSBase)
	require.NoError(t, err)
	assert.Equal(t, in[17], fsb)
	efer, err := v.e.ReadMSR(MSREFER)
	require.NoError(t, err)
	assert.Equal(t, uint64(0x500), efer&0x500, "LME|LMA in 64-bit mode")

	// 40 registers: more than one C chunk.
	many := make([]Reg, 40)
	for i := range many {
		many[i] = regs[i%16]
	}
	vals := make([]uint64, 40)
	require.NoError(t, v.e.RegReadBatch(many, vals))
	assert.Equal(t, in[:16], vals[16:32])

	assert.ErrorIs(t, v.e.RegReadBatch([]Reg{RAX, GDTR}, out), ErrArg, "128-bit-ish register refused")
	assert.ErrorIs(t, v.e.RegWriteBatch(regs, out[:3]), ErrArg)
	_, err = v.e.RegRead(regXMM0)
	assert.ErrorIs(t, err, ErrArg)

	require.NoError(t, v.e.WriteMMR(GDTR, 0xffffe000, 0xfff, 0, 0))
	base, limit, _, _, err := v.e.ReadMMR(GDTR)
	require.NoError(t, err)
	assert.Equal(t, uint64(0xffffe000), base)
	assert.Equal(t, uint32(0xfff), limit)
	assert.ErrorIs(t, v.e.WriteMMR(RAX, 0, 0, 0, 0), ErrArg)
}

func TestContext(t *testing.T) {
	v := newVM(t, Mode64)
	require.NoError(t, v.e.RegWrite(RAX, 1))
	c, err := v.e.ContextSave()
	require.NoError(t, err)
	require.NoError(t, v.e.RegWrite(RAX, 2))
	require.NoError(t, v.e.ContextRestore(c))
	assert.Equal(t, uint64(1), v.reg(t, RAX))
	require.NoError(t, v.e.RegWrite(RAX, 3))
	require.NoError(t, v.e.ContextUpdate(c))
	require.NoError(t, v.e.RegWrite(RAX, 4))
	require.NoError(t, v.e.ContextRestore(c))
	assert.Equal(t, uint64(3), v.reg(t, RAX))
	c.Free()
	c.Free()
	assert.ErrorIs(t, v.e.ContextRestore(c), ErrArg)
}

func TestStopFromAnotherGoroutine(t *testing.T) {
	v := newVM(t, Mode64)
	start := v.load(vbase+0x1000, codeJmpSelf)
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(20 * time.Millisecond)
		for !done.Load() { // a Stop before Start is running is lost
			_ = v.e.Stop()
			time.Sleep(time.Millisecond)
		}
	}()
	t0 := time.Now()
	err := v.e.Start(start, 0, 0, 0)
	done.Store(true)
	wg.Wait()
	require.NoError(t, err)
	assert.Equal(t, start, v.reg(t, RIP))
	assert.Less(t, time.Since(t0), 5*time.Second)
}

func TestTimeout(t *testing.T) {
	v := newVM(t, Mode64)
	start := v.load(vbase+0x1000, codeJmpSelf)
	t0 := time.Now()
	require.NoError(t, v.e.Start(start, 0, 20_000, 0)) // 20 ms
	assert.GreaterOrEqual(t, time.Since(t0), 15*time.Millisecond)
}

func TestHookPanic(t *testing.T) {
	v := newVM(t, Mode64)
	start := v.load(vbase+0x3000, codeSyscallLoop)
	n := 0
	require.NoError(t, v.e.HookSyscall(func(r *SyscallRegs) {
		n++
		if n == 3 {
			panic("boom")
		}
	}))
	require.NoError(t, v.e.RegWrite(RBX, 10))
	err := v.e.Start(start, 0, 0, 0)
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "syscall", pe.Hook)
	assert.Equal(t, "boom", pe.Value)
	assert.Contains(t, string(pe.Stack), "TestHookPanic")
	assert.Equal(t, 3, n, "engine stopped at the panicking syscall")

	// A panic in the fill hook refuses the access and is reported too.
	require.NoError(t, v.e.HookTLBFill(func(uint64, MemType) (uint64, Prot, bool) { panic("fill") }))
	require.NoError(t, v.e.FlushTLB())
	err = v.e.Start(start, 0, 0, 0)
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "tlb fill", pe.Hook)
	assert.ErrorIs(t, err, ErrException)

	// The engine is still usable.
	require.NoError(t, v.e.HookTLBFill(func(va uint64, _ MemType) (uint64, Prot, bool) { return (va &^ 0xfff) - vbase, ProtAll, true }))
	require.NoError(t, v.e.HookSyscall(func(*SyscallRegs) {}))
	require.NoError(t, v.e.RegWrite(RBX, 10))
	require.NoError(t, v.e.Start(start, 0, 0, 0))
}

func TestRemoveCache(t *testing.T) {
	v := newVM(t, Mode64)
	start := v.load(vbase+0x1000, movEAX(1), codeHlt)
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	require.Equal(t, uint64(1), v.reg(t, RAX))
	v.load(start, movEAX(2))
	require.NoError(t, v.e.RemoveCache(start, start+0x1000))
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	assert.Equal(t, uint64(2), v.reg(t, RAX), "new code seen after RemoveCache")
	v.load(start, movEAX(3))
	require.NoError(t, v.e.FlushTB())
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	assert.Equal(t, uint64(3), v.reg(t, RAX), "new code seen after FlushTB")
}

// Code is dropped by the frame it came from, whether or not a virtual
// page maps the frame any more.
func TestRemovePhysCache(t *testing.T) {
	v := newVM(t, Mode64)
	start := v.load(vbase+0x1000, movEAX(1), codeHlt)
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	require.Equal(t, uint64(1), v.reg(t, RAX))
	v.load(start, movEAX(2))
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	require.Equal(t, uint64(1), v.reg(t, RAX), "the old code still runs (the test needs it)")
	require.NoError(t, v.e.RemovePhysCache(0x1000, 0x2000))
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	assert.Equal(t, uint64(2), v.reg(t, RAX), "new code seen after RemovePhysCache")
}

func TestParallelEngines(t *testing.T) {
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := newVM(t, Mode64)
			start := v.load(vbase+0x3000, codeSyscallLoop)
			n := 0
			if err := v.e.HookSyscall(func(r *SyscallRegs) { n++ }); err != nil {
				t.Error(err)
				return
			}
			for round := 0; round < 5; round++ {
				if err := v.e.RegWrite(RBX, 2000); err != nil {
					t.Error(err)
					return
				}
				if err := v.e.Start(start, 0, 0, 0); err != nil {
					t.Error(err)
					return
				}
			}
			if n != 10000 {
				t.Errorf("got %d syscalls", n)
			}
		}()
	}
	wg.Wait()
}

func BenchmarkSyscallHook(b *testing.B) {
	v := newVM(b, Mode64)
	start := v.load(vbase+0x3000, codeSyscallLoop)
	n := 0
	require.NoError(b, v.e.HookSyscall(func(r *SyscallRegs) { n++; r.Ret = r.Nr }))
	require.NoError(b, v.e.RegWrite(RBX, 1)) // warm up: translate, fill
	require.NoError(b, v.e.Start(start, 0, 0, 0))
	n = 0
	require.NoError(b, v.e.RegWrite(RBX, uint64(b.N)))
	b.ReportAllocs()
	b.ResetTimer()
	require.NoError(b, v.e.Start(start, 0, 0, 0))
	b.StopTimer()
	require.Equal(b, b.N, n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/syscall")
}

func BenchmarkTLBFill(b *testing.B) {
	v := newVM(b, Mode64)
	start := v.load(vbase+0x3000, codeTouchLoop)
	const dataVA = 0x100000000 // every page maps onto the host buffer
	fills := 0
	require.NoError(b, v.e.HookTLBFill(func(va uint64, _ MemType) (uint64, Prot, bool) {
		fills++
		if va >= vbase && va < vbase+memSize {
			return (va &^ 0xfff) - vbase, ProtAll, true
		}
		return (va >> 12 % (memSize >> 12)) << 12, ProtRead, true
	}))
	require.NoError(b, v.e.RegWriteBatch([]Reg{RBX, RSI}, []uint64{1, dataVA}))
	require.NoError(b, v.e.Start(start, 0, 0, 0))
	fills = 0
	require.NoError(b, v.e.RegWriteBatch([]Reg{RBX, RSI}, []uint64{uint64(b.N), dataVA + 0x1000}))
	b.ReportAllocs()
	b.ResetTimer()
	require.NoError(b, v.e.Start(start, 0, 0, 0))
	b.StopTimer()
	require.GreaterOrEqual(b, fills, b.N)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(fills), "ns/fill")
}

func BenchmarkRegReadBatch(b *testing.B) {
	v := newVM(b, Mode64)
	regs := []Reg{RAX, RBX, RCX, RDX, RSI, RDI, RBP, RSP, R8, R9, R10, R11, R12, R13, R14, R15, RIP, RFLAGS}
	vals := make([]uint64, len(regs))
	b.ReportAllocs()
	for b.Loop() {
		if err := v.e.RegReadBatch(regs, vals); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRegRead(b *testing.B) {
	v := newVM(b, Mode64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.e.RegRead(RAX); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCPUModel(t *testing.T) {
	// popcnt rax,rbx; hlt: needs a model newer than the default QEMU64.
	code := []byte{0xf3, 0x48, 0x0f, 0xb8, 0xc3, 0xf4}
	v := newVM(t, Mode64) // Haswell
	start := v.load(vbase+0x1000, code)
	require.NoError(t, v.e.RegWrite(RBX, 0xf0f0))
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	assert.Equal(t, uint64(8), v.reg(t, RAX))

	e, err := Open(ArchX86, Mode64)
	require.NoError(t, err)
	defer e.Close()
	mem, err := syscall.Mmap(-1, 0, 1<<16, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	require.NoError(t, err)
	defer syscall.Munmap(mem)
	copy(mem, code)
	require.NoError(t, e.MemMapPtr(0x10000, 1<<16, ProtAll, unsafe.Pointer(&mem[0])))
	assert.ErrorIs(t, e.Start(0x10000, 0, 0, 0), ErrInsnInvalid, "QEMU64 has no POPCNT")
}

func TestTLBWriteUpgrade(t *testing.T) {
	v := newVM(t, Mode64)
	const data = 0x20000000
	var kinds []MemType
	require.NoError(t, v.e.HookTLBFill(func(va uint64, mt MemType) (uint64, Prot, bool) {
		if va >= vbase && va < vbase+memSize {
			return (va &^ 0xfff) - vbase, ProtAll, true
		}
		if va&^0xfff == data {
			kinds = append(kinds, mt)
			if mt == MemWrite { // COW-style upgrade on the first store
				return 0x8000, ProtRead | ProtWrite, true
			}
			return 0x8000, ProtRead, true
		}
		return 0, 0, false
	}))
	// mov eax,[rsi]; mov [rsi+4],ebx; hlt
	start := v.load(vbase+0x1000, []byte{0x8b, 0x06, 0x89, 0x5e, 0x04}, codeHlt)
	binaryPut32(v.mem[0x8000:], 0x11223344)
	require.NoError(t, v.e.RegWriteBatch([]Reg{RSI, RBX}, []uint64{data, 0x55667788}))
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	assert.Equal(t, []MemType{MemRead, MemWrite}, kinds)
	assert.Equal(t, uint64(0x11223344), v.reg(t, RAX))
	assert.Equal(t, []byte{0x88, 0x77, 0x66, 0x55}, v.mem[0x8004:0x8008])
}

// TestRequestFlush checks the shootdown handshake: an engine running guest
// code acknowledges a flush request at its next block start, without
// stopping, and really drops its TLB (the page is filled again); an
// engine that runs no guest code counts as flushed at once.
func TestRequestFlush(t *testing.T) {
	v := newVM(t, Mode64)
	const data = vbase + 0x8000
	var fills atomic.Int32
	require.NoError(t, v.e.HookTLBFill(func(va uint64, mt MemType) (uint64, Prot, bool) {
		if va == data {
			fills.Add(1)
		}
		if va >= vbase && va < vbase+memSize {
			return (va &^ 0xfff) - vbase, ProtAll, true
		}
		return 0, 0, false
	}))
	assert.True(t, v.e.Flushed(v.e.RequestFlush()), "an engine not running needs no wait")

	// loop: mov eax, [rdi]; jmp loop
	code := v.load(vbase+0x1000, []byte{0x8b, 0x07, 0xeb, 0xfc})
	require.NoError(t, v.e.RegWrite(RDI, data))
	done := make(chan error, 1)
	go func() { done <- v.e.Start(code, 0, 0, 0) }()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			require.True(t, time.Now().Before(deadline), what)
			time.Sleep(10 * time.Microsecond)
		}
	}
	waitFor("first fill", func() bool { return fills.Load() >= 1 })
	for round := int32(1); round <= 3; round++ {
		ticket := v.e.RequestFlush()
		waitFor("acknowledged", func() bool { return v.e.Flushed(ticket) })
		waitFor("filled again", func() bool { return fills.Load() > round })
	}
	select {
	case err := <-done:
		t.Fatalf("the engine stopped: %v", err)
	default:
	}
	v.e.Interrupt()
	require.NoError(t, <-done)
}
