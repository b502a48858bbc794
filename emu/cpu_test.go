package emu

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"cmaemu/arch"
	"cmaemu/mm"
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
func newTask(t *testing.T, code []byte) (*mm.MM, *CPU) {
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
