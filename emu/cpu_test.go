package emu

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/mm"
)

const codeAt = 0x400000

// recorder is a kernel that records syscalls and stops on exit (60).
type recorder struct {
	calls []arch.SyscallFrame
}

func (r *recorder) Syscall(c arch.CPU, f *arch.SyscallFrame) {
	r.calls = append(r.calls, *f)
	f.Ret = f.Nr + 1000
	if f.Nr == 60 {
		f.Stop = true
	}
}

// newTask maps code at codeAt (r-x) and a stack page, and returns a CPU
// ready to run it.
func newTask(t testing.TB, code []byte) (*mm.MM, *CPU) {
	t.Helper()
	ram, err := mm.NewRAM(32 << 20)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	as, err := mm.New(ram, mm.Layout64)
	require.NoError(t, err)
	require.NoError(t, as.MapAnon(mm.AddrRange{Start: codeAt, End: codeAt + mm.PageSize}, mm.ProtRead|mm.ProtExec, ""))
	require.NoError(t, as.WriteForce(codeAt, code))
	require.NoError(t, as.MapAnon(mm.AddrRange{Start: 0x7000000, End: 0x7001000}, mm.ProtRead|mm.ProtWrite, ""))
	require.NoError(t, as.MapAnon(mm.AddrRange{Start: 0x8000000, End: 0x8001000}, mm.ProtRead, ""))
	cpu, err := New(as, arch.Mode64)
	require.NoError(t, err)
	t.Cleanup(func() { cpu.Close() })
	require.NoError(t, cpu.SetRegs(&arch.Regs{RIP: codeAt, RSP: 0x7001000}))
	return as, cpu
}

func TestSyscallsReachTheKernel(t *testing.T) {
	code := []byte{
		0xb8, 0x27, 0, 0, 0, // mov eax, 39 (getpid)
		0xbf, 7, 0, 0, 0, // mov edi, 7
		0x0f, 0x05, // syscall
		0x48, 0x89, 0xc7, // mov rdi, rax
		0xb8, 60, 0, 0, 0, // mov eax, 60
		0x0f, 0x05, // syscall
	}
	_, cpu := newTask(t, code)
	k := &recorder{}
	exit, err := cpu.Run(k)
	require.NoError(t, err)
	assert.Equal(t, arch.ExitStop, exit.Reason)
	require.Len(t, k.calls, 2)
	assert.Equal(t, uint64(39), k.calls[0].Nr)
	assert.Equal(t, uint64(7), k.calls[0].Args[0])
	assert.Equal(t, uint64(codeAt+12), k.calls[0].Next)
	assert.Equal(t, uint64(1039), k.calls[1].Args[0], "the result reached RAX")
	regs, err := cpu.Regs()
	require.NoError(t, err)
	assert.Equal(t, uint64(codeAt+len(code)), regs.RIP)
}

func TestFaults(t *testing.T) {
	cases := []struct {
		name   string
		code   []byte
		reason arch.ExitReason
		addr   mm.Addr
		acc    mm.Access
		mapped bool
		vector uint32
	}{
		{"write to read-only page", []byte{0xc6, 0x04, 0x25, 0, 0, 0, 0x08, 1}, arch.ExitPageFault, 0x8000000, mm.Write, true, 0},
		{"read of unmapped page", []byte{0x8a, 0x04, 0x25, 0, 0, 0, 0x09}, arch.ExitPageFault, 0x9000000, mm.Read, false, 0},
		{"the fault address is the byte, not the page", []byte{0x8a, 0x04, 0x25, 0x23, 0x01, 0, 0x09}, arch.ExitPageFault, 0x9000123, mm.Read, false, 0},
		{"register-relative addresses are exact too", []byte{0xb8, 0, 0, 0, 0x09, 0x8a, 0x80, 0x56, 0x04, 0, 0}, arch.ExitPageFault, 0x9000456, mm.Read, false, 0},
		{"jump to unmapped page", []byte{0xb8, 0, 0, 0, 0x0a, 0xff, 0xe0}, arch.ExitPageFault, 0xa000000, mm.Exec, false, 0},
		{"ud2", []byte{0x0f, 0x0b}, arch.ExitIllegal, 0, 0, false, 0},
		{"hlt is privileged at CPL 3", []byte{0xf4}, arch.ExitInterrupt, 0, 0, false, arch.VectorGP},
		{"int3", []byte{0xcc}, arch.ExitInterrupt, 0, 0, false, arch.VectorBreakpoint},
		{"kernel page is out of reach", []byte{0x48, 0xb8, 0, 0xe0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x8a, 0x00}, arch.ExitPageFault, 0xffffffffffffe000, mm.Read, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, cpu := newTask(t, c.code)
			exit, err := cpu.Run(&recorder{})
			require.NoError(t, err)
			assert.Equal(t, c.reason, exit.Reason)
			if c.reason == arch.ExitPageFault {
				assert.Equal(t, c.addr, exit.Addr)
				assert.Equal(t, c.acc, exit.Access)
				assert.Equal(t, c.mapped, exit.Mapped)
			}
			if c.reason == arch.ExitInterrupt {
				assert.Equal(t, c.vector, exit.Vector)
			}
		})
	}
}

func TestUnmapDropsTranslatedCode(t *testing.T) {
	// Run code, replace it with other code at the same address, run again.
	as, cpu := newTask(t, []byte{0xb8, 60, 0, 0, 0, 0xbf, 1, 0, 0, 0, 0x0f, 0x05})
	k := &recorder{}
	_, err := cpu.Run(k)
	require.NoError(t, err)
	require.NoError(t, as.Unmap(codeAt, mm.PageSize))
	require.NoError(t, as.MapAnon(mm.AddrRange{Start: codeAt, End: codeAt + mm.PageSize}, mm.ProtRead|mm.ProtExec, ""))
	require.NoError(t, as.WriteForce(codeAt, []byte{0xb8, 60, 0, 0, 0, 0xbf, 2, 0, 0, 0, 0x0f, 0x05}))
	require.NoError(t, cpu.SetRegs(&arch.Regs{RIP: codeAt, RSP: 0x7001000}))
	_, err = cpu.Run(k)
	require.NoError(t, err)
	require.Len(t, k.calls, 2)
	assert.Equal(t, uint64(2), k.calls[1].Args[0])
}

// recorder32 is an i386 kernel: exit is syscall 1.
type recorder32 struct{ recorder }

func (r *recorder32) Syscall(c arch.CPU, f *arch.SyscallFrame) {
	r.calls = append(r.calls, *f)
	f.Ret = f.Nr + 1000
	if f.Nr == 1 {
		f.Stop = true
	}
}

// Where newTask32 maps an i386 task's code (r-x) and data (rw-) page.
const code32, data32 = 0x8048000, 0x9000000

// newTask32 maps prog at code32 and a data page at data32 in an i386
// address space, and returns a CPU for it.
func newTask32(t testing.TB, prog []byte) (*mm.MM, *CPU) {
	t.Helper()
	ram, err := mm.NewRAM(32 << 20)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	as, err := mm.New(ram, mm.Layout32)
	require.NoError(t, err)
	require.NoError(t, as.MapAnon(mm.AddrRange{Start: code32, End: code32 + mm.PageSize}, mm.ProtRead|mm.ProtExec, ""))
	require.NoError(t, as.WriteForce(code32, prog))
	require.NoError(t, as.MapAnon(mm.AddrRange{Start: data32, End: data32 + mm.PageSize}, mm.ProtRead|mm.ProtWrite, ""))
	cpu, err := New(as, arch.Mode32)
	require.NoError(t, err)
	t.Cleanup(func() { cpu.Close() })
	return as, cpu
}

func TestI386IntEightyAndTLS(t *testing.T) {
	const code, data = code32, data32
	prog := []byte{
		0xb8, 20, 0, 0, 0, // mov eax, 20 (getpid)
		0xcd, 0x80, // int 0x80
		0x89, 0xc3, // mov ebx, eax
		0x66, 0xb8, 0x63, 0x00, // mov ax, 0x63 (TLS entry 12)
		0x8e, 0xe8, // mov gs, eax
		0x65, 0x8b, 0x0d, 0, 0, 0, 0, // mov ecx, gs:[0]
		0x8c, 0xda, // mov edx, ds
		0xb8, 1, 0, 0, 0, // mov eax, 1 (exit)
		0xcd, 0x80, // int 0x80
	}
	as, cpu := newTask32(t, prog)
	require.NoError(t, as.WriteForce(data, []byte{0x78, 0x56, 0x34, 0x12}))
	// A flat data descriptor based at data, as set_thread_area writes it.
	cpu.SetTLS([3]uint64{0x00cff3000000ffff | uint64(data&0xffffff)<<16 | uint64(data>>24)<<56})
	require.NoError(t, cpu.SetRegs(&arch.Regs{RIP: code, RSP: data + mm.PageSize}))
	k := &recorder32{}
	exit, err := cpu.Run(k)
	require.NoError(t, err)
	require.Equal(t, arch.ExitStop, exit.Reason, "%+v", exit)
	require.Len(t, k.calls, 2)
	assert.Equal(t, uint64(20), k.calls[0].Nr)
	assert.Equal(t, uint64(code+7), k.calls[0].Next, "EIP after int 0x80")
	assert.Equal(t, uint64(1020), k.calls[1].Args[0], "EBX = result of getpid")
	assert.Equal(t, uint64(0x12345678), k.calls[1].Args[1], "ECX read through GS-based TLS")
	assert.Equal(t, uint64(0x2b), k.calls[1].Args[2], "DS is the user data selector")
	regs, err := cpu.Regs()
	require.NoError(t, err)
	assert.Equal(t, uint64(0x63), regs.GS)
}

// protector is a kernel whose first syscall makes the data page
// read-only, as mprotect does; the second exits.
type protector struct {
	as    *mm.MM
	calls int
}

func (p *protector) Syscall(c arch.CPU, f *arch.SyscallFrame) {
	p.calls++
	if p.calls == 1 {
		if err := p.as.Protect(0x7000000, mm.PageSize, mm.ProtRead); err != nil {
			panic(err)
		}
		return
	}
	f.Stop = true
}

func TestShootdownInsideASyscallTakesEffect(t *testing.T) {
	code := []byte{
		0xc6, 0x04, 0x25, 0, 0, 0, 0x07, 1, // mov byte [0x7000000], 1
		0x0f, 0x05, // syscall: the page becomes read-only
		0xc6, 0x04, 0x25, 0, 0, 0, 0x07, 2, // mov byte [0x7000000], 2: must fault
		0x0f, 0x05,
	}
	as, cpu := newTask(t, code)
	k := &protector{as: as}
	exit, err := cpu.Run(k)
	require.NoError(t, err)
	assert.Equal(t, arch.ExitPageFault, exit.Reason, "%+v", exit)
	assert.Equal(t, mm.Addr(0x7000000), exit.Addr)
	assert.Equal(t, 1, k.calls)
}

func TestFaultsAfterFaultsAreReportedAsThemselves(t *testing.T) {
	// div by zero three times (each skipped by the "handler"), then a
	// read of an unmapped page, then exit.
	code := []byte{
		0x31, 0xc9, // xor ecx, ecx
		0xf7, 0xf1, // div ecx
		0xf7, 0xf1, // div ecx
		0xf7, 0xf1, // div ecx
		0x8a, 0x04, 0x25, 0, 0, 0, 0x09, // mov al, [0x9000000]
		0xb8, 60, 0, 0, 0, 0x0f, 0x05, // exit
	}
	_, cpu := newTask(t, code)
	k := &recorder{}
	for i, want := range []arch.ExitReason{arch.ExitInterrupt, arch.ExitInterrupt, arch.ExitInterrupt, arch.ExitPageFault, arch.ExitStop} {
		exit, err := cpu.Run(k)
		require.NoError(t, err)
		require.Equal(t, want, exit.Reason, "run %d: %+v", i, exit)
		regs, err := cpu.Regs()
		require.NoError(t, err)
		switch want {
		case arch.ExitInterrupt:
			assert.Equal(t, uint32(arch.VectorDivide), exit.Vector, "run %d", i)
			regs.RIP += 2
		case arch.ExitPageFault:
			assert.Equal(t, mm.Addr(0x9000000), exit.Addr)
			regs.RIP += 7
		}
		require.NoError(t, cpu.SetRegs(&regs))
	}
}
