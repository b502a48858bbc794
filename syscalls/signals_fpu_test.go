package syscalls

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// fpCPU is a CPU that only holds registers and an FPU state.
type fpCPU struct {
	arch.CPU
	regs arch.Regs
	fp   arch.FPState
}

func (c *fpCPU) Regs() (arch.Regs, error) { return c.regs, nil }
func (c *fpCPU) SetRegs(r *arch.Regs) error {
	c.regs = *r
	if r.FP != nil {
		c.fp = *r.FP
	}
	c.regs.FP = nil
	return nil
}
func (c *fpCPU) Kick()                       {}
func (c *fpCPU) FP() (arch.FPState, error)   { return c.fp, nil }
func (c *fpCPU) SetFP(s *arch.FPState) error { c.fp = *s; return nil }

const (
	fpStack    = 0x100000 // four pages of stack
	fpStackTop = fpStack + 4*mm.PageSize - 0x100
)

// fpTask is a process whose task has an fpCPU with a busy FPU: two
// values on the x87 stack, a non-default control word and MXCSR, XMM
// registers set.
func fpTask(t *testing.T, i386 bool) (*Task, *fpCPU) {
	t.Helper()
	ram, err := mm.NewRAM(64 << 20)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	k := NewKernel(Config{RAM: ram})
	p, err := k.NewProcess(ProcessOptions{I386: i386})
	require.NoError(t, err)
	require.NoError(t, p.Map(fpStack, 4, mm.ProtRead|mm.ProtWrite))
	fp := arch.InitialFP()
	fp.FCW, fp.MXCSR = 0x27f, 0x5f80
	fp.FSW = 6<<11 | 0x20
	fp.FTW = 0xc0
	fp.ST[0] = [10]byte{0x35, 0xc2, 0x68, 0x21, 0xa2, 0xda, 0x0f, 0xc9, 0x00, 0x40} // pi
	fp.ST[1] = [10]byte{0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f}                      // 1
	fp.FIP, fp.FDP, fp.FOP = 0x8049123, 0x804c000, 0x1eb
	for i := range fp.XMM {
		for j := range fp.XMM[i] {
			fp.XMM[i][j] = byte(16*i + j)
		}
	}
	if i386 {
		fp.XMM = [16][16]byte{} // only 8 XMM registers
		for i := 0; i < 8; i++ {
			fp.XMM[i][0] = byte(i + 1)
		}
	}
	cpu := &fpCPU{regs: arch.Regs{RIP: 0x401000, RSP: fpStackTop, RFLAGS: 0x202}, fp: fp}
	task := p.Main()
	task.cpu = cpu
	t.Cleanup(func() { task.cpu = nil })
	return task, cpu
}

var siginfoAct = linux.SigAction{Handler: 0x402000, Flags: saSiginfo | saRestorer, Restorer: 0x403000}

func readMem(t *testing.T, task *Task, addr uint64, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := task.MM().CopyIn(mm.Addr(addr), b)
	require.NoError(t, err)
	return b
}

func writeMem(t *testing.T, task *Task, addr uint64, b []byte) {
	t.Helper()
	_, err := task.MM().CopyOut(mm.Addr(addr), b)
	require.NoError(t, err)
}

// checkXstate checks an XSAVE area of a frame against the state saved.
func checkXstate(t *testing.T, x []byte, want *arch.FPState, extended uint32) {
	t.Helper()
	le := binary.LittleEndian
	var fx [arch.FXSAVESize]byte
	want.PutFXSAVE(fx[:])
	assert.Equal(t, fx[:arch.FXSWBytes], x[:arch.FXSWBytes], "the FXSAVE image")
	assert.Equal(t, uint32(0x46505853), le.Uint32(x[464:]), "FP_XSTATE_MAGIC1")
	assert.Equal(t, extended, le.Uint32(x[468:]), "extended_size")
	assert.Equal(t, uint64(3), le.Uint64(x[472:]), "xfeatures")
	assert.Equal(t, uint32(576), le.Uint32(x[480:]), "xstate_size")
	assert.Equal(t, uint64(3), le.Uint64(x[512:]), "xstate_bv")
	assert.Equal(t, make([]byte, 56), x[520:576], "xcomp_bv and reserved")
	assert.Equal(t, uint32(0x46505845), le.Uint32(x[576:]), "FP_XSTATE_MAGIC2")
}

// frame64 delivers SIGUSR1 to an x86-64 task and returns the saved state
// and the address of the FPU state in the frame.
func frame64(t *testing.T) (*Task, *fpCPU, arch.FPState, uint64) {
	task, cpu := fpTask(t, false)
	saved := cpu.fp
	regs := cpu.regs
	require.True(t, task.setupFrame(&regs, linux.SIGUSR1, newSigInfo(linux.SIGUSR1, siUser), siginfoAct))
	require.NoError(t, cpu.SetRegs(&regs))
	le := binary.LittleEndian
	uc := readMem(t, task, regs.RDX, ucSize)
	assert.Equal(t, uint64(7), le.Uint64(uc[0:]), "uc_flags: UC_FP_XSTATE|UC_SIGCONTEXT_SS|UC_STRICT_RESTORE_SS")
	fpstate := le.Uint64(uc[ucMcontext+184:])
	assert.Zero(t, fpstate%64, "the XSAVE area is 64-byte aligned")
	assert.LessOrEqual(t, fpstate+580, uint64(fpStackTop-redZone), "below the red zone")
	assert.Greater(t, fpstate, regs.RSP, "above the frame")
	return task, cpu, saved, fpstate
}

// sigreturn64 returns from the handler of frame64.
func sigreturn64(t *testing.T, task *Task, cpu *fpCPU) {
	t.Helper()
	cpu.regs.RSP += 8 // the handler's ret popped the restorer
	task.frame = &arch.SyscallFrame{}
	defer func() { task.frame = nil }()
	_, err := RtSigreturn(task, Args{})
	require.NoError(t, err)
}

func TestSignalFrameFPU64(t *testing.T) {
	task, cpu, saved, fpstate := frame64(t)
	assert.Equal(t, arch.InitialFP(), cpu.fp, "the handler starts with a fresh FPU")
	checkXstate(t, readMem(t, task, fpstate, 580), &saved, 580)
	sigreturn64(t, task, cpu)
	assert.Equal(t, saved, cpu.fp, "sigreturn restores everything")
	assert.Nil(t, task.proc.groupExit())
}

func TestSignalFrameFPU64HandlerEdits(t *testing.T) {
	le := binary.LittleEndian
	cases := []struct {
		name string
		edit func(x []byte)
		want func(fp *arch.FPState) // nil: sigreturn fails with SIGSEGV
	}{
		{"cwd, mxcsr, ST0 and XMM5", func(x []byte) {
			le.PutUint16(x[0:], 0xc7f)
			le.PutUint32(x[24:], 0x7f80)
			copy(x[32:], []byte{0, 0, 0, 0, 0, 0, 0, 0xa0, 0x00, 0x40}) // 2.5
			copy(x[160+5*16:], "handler's value!")
		}, func(fp *arch.FPState) {
			fp.FCW, fp.MXCSR = 0xc7f, 0x7f80
			fp.ST[0] = [10]byte{0, 0, 0, 0, 0, 0, 0, 0xa0, 0x00, 0x40}
			copy(fp.XMM[5][:], "handler's value!")
		}},
		{"tags and TOP", func(x []byte) {
			le.PutUint16(x[2:], 7<<11)
			x[4] = 0x80
		}, func(fp *arch.FPState) { fp.FSW, fp.FTW = 7<<11, 0x80 }},
		{"no magic: the FXSAVE image alone", func(x []byte) {
			le.PutUint32(x[464:], 0)
			le.PutUint16(x[0:], 0x7f)
			le.PutUint64(x[512:], 0) // the header no longer counts
		}, func(fp *arch.FPState) { fp.FCW = 0x7f }},
		{"magic2 missing: the FXSAVE image alone", func(x []byte) {
			le.PutUint32(x[576:], 0)
			le.PutUint64(x[512:], 0)
		}, func(fp *arch.FPState) {}},
		{"xstate_bv without SSE: XMM initial, MXCSR kept", func(x []byte) {
			le.PutUint64(x[512:], 1)
		}, func(fp *arch.FPState) { fp.XMM = [16][16]byte{} }},
		{"xstate_bv without x87: x87 initial", func(x []byte) {
			le.PutUint64(x[512:], 2)
		}, func(fp *arch.FPState) {
			xmm, mxcsr := fp.XMM, fp.MXCSR
			*fp = arch.InitialFP()
			fp.XMM, fp.MXCSR = xmm, mxcsr
		}},
		{"xfeatures without SSE: XMM and MXCSR initial", func(x []byte) {
			le.PutUint64(x[472:], 1)
		}, func(fp *arch.FPState) { fp.XMM, fp.MXCSR = [16][16]byte{}, arch.InitialMXCSR }},
		{"reserved MXCSR bit", func(x []byte) { le.PutUint32(x[24:], 0x5f80|1<<16) }, nil},
		{"reserved MXCSR bit, FXSAVE image alone", func(x []byte) {
			le.PutUint32(x[464:], 0)
			le.PutUint32(x[24:], 0x5f80|1<<31)
		}, nil},
		{"xstate_bv beyond XCR0", func(x []byte) { le.PutUint64(x[512:], 7) }, nil},
		{"compacted format", func(x []byte) { le.PutUint64(x[520:], 1<<63|3) }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			task, cpu, saved, fpstate := frame64(t)
			x := readMem(t, task, fpstate, 580)
			c.edit(x)
			writeMem(t, task, fpstate, x)
			sigreturn64(t, task, cpu)
			if c.want == nil {
				st := task.proc.groupExit()
				require.NotNil(t, st, "sigreturn must fail")
				assert.Equal(t, linux.SIGSEGV, st.Signal)
				return
			}
			want := saved
			c.want(&want)
			assert.Equal(t, want, cpu.fp)
			assert.Nil(t, task.proc.groupExit())
		})
	}
}

func TestSignalFrameFPU64NoFPState(t *testing.T) {
	task, cpu, _, _ := frame64(t)
	uc := cpu.regs.RDX
	writeMem(t, task, uc+ucMcontext+184, make([]byte, 8))
	cpu.fp.FCW = 0x7f // the handler's own state
	sigreturn64(t, task, cpu)
	assert.Equal(t, arch.InitialFP(), cpu.fp, "no fpstate: the initial state")
}

// frame32 delivers SIGUSR1 to an i386 task (an rt frame with SA_SIGINFO,
// else the old frame).
func frame32(t *testing.T, act linux.SigAction) (*Task, *fpCPU, arch.FPState, uint64, uint64) {
	task, cpu := fpTask(t, true)
	saved := cpu.fp
	regs := cpu.regs
	require.True(t, task.setupFrame(&regs, linux.SIGUSR1, newSigInfo(linux.SIGUSR1, siUser), act))
	require.NoError(t, cpu.SetRegs(&regs))
	assert.Zero(t, (regs.RSP+4)%16, "i386 ABI: (esp + 4) %% 16 == 0 on entry")
	le := binary.LittleEndian
	sc := regs.RSP + oldSCOff32
	if act.Flags&saSiginfo != 0 {
		uc := regs.RCX
		assert.Equal(t, uint32(1), le.Uint32(readMem(t, task, uc, 4)), "uc_flags: UC_FP_XSTATE")
		sc = uc + uc32Mcontext
	}
	fpstate := uint64(le.Uint32(readMem(t, task, sc+76, 4)))
	assert.Zero(t, (fpstate+112)%64, "the XSAVE area after the header is 64-byte aligned")
	assert.LessOrEqual(t, fpstate+112+580, uint64(fpStackTop))
	return task, cpu, saved, fpstate, regs.RSP
}

func TestSignalFrameFPU32(t *testing.T) {
	task, cpu, saved, fpstate, sp := frame32(t, siginfoAct)
	assert.Equal(t, arch.InitialFP(), cpu.fp, "the handler starts with a fresh FPU")
	le := binary.LittleEndian
	h := readMem(t, task, fpstate, 112)
	assert.Equal(t, uint32(0xffff027f), le.Uint32(h[0:]), "cw")
	assert.Equal(t, uint32(0xffff3020), le.Uint32(h[4:]), "sw")
	assert.Equal(t, uint32(0xffff0fff), le.Uint32(h[8:]), "tag: ST0 (phys 6) and ST1 (phys 7) valid, the rest empty")
	assert.Equal(t, uint32(0x8049123), le.Uint32(h[12:]), "ipoff")
	assert.Equal(t, uint32(0x23), le.Uint32(h[16:]), "cssel: the user code selector")
	assert.Equal(t, uint32(0x804c000), le.Uint32(h[20:]), "dataoff")
	assert.Equal(t, uint32(0xffff002b), le.Uint32(h[24:]), "datasel")
	assert.Equal(t, saved.ST[0][:], h[28:38], "_st[0]")
	assert.Equal(t, saved.ST[1][:], h[38:48], "_st[1]")
	assert.Equal(t, uint16(0x3020), le.Uint16(h[108:]), "status")
	assert.Equal(t, uint16(0), le.Uint16(h[110:]), "magic: X86_FXSR_MAGIC")
	checkXstate(t, readMem(t, task, fpstate+112, 580), &saved, 580+112)

	// The handler edits the header's control word and XMM2 in the FXSAVE
	// image; the image's own control word is ignored (the x87 state comes
	// from the header).
	le.PutUint32(h[0:], 0xc7f)
	writeMem(t, task, fpstate, h[:4])
	writeMem(t, task, fpstate+112, []byte{0x7f, 0x00})
	writeMem(t, task, fpstate+112+160+2*16, []byte("edited xmm2 here"))
	cpu.regs.RSP = sp + 4 // the handler returned through pretcode
	task.frame = &arch.SyscallFrame{}
	_, err := RtSigreturn32(task, Args{})
	task.frame = nil
	require.NoError(t, err)
	want := saved
	want.FCW = 0xc7f
	copy(want.XMM[2][:], "edited xmm2 here")
	want.FOP = 0 // cssel's high half (Linux's fcs has no FOP on a 64-bit kernel)
	assert.Equal(t, want, cpu.fp)
}

func TestSignalFrameFPU32OldFrame(t *testing.T) {
	act := linux.SigAction{Handler: 0x402000, Flags: saRestorer, Restorer: 0x403000}
	task, cpu, saved, fpstate, sp := frame32(t, act)
	// struct sigframe_ia32: pretcode, sig, sigcontext, the unused
	// _fpstate_32, extramask.
	assert.Equal(t, 8+88+624, oldExtramaskOff)
	assert.Less(t, sp+oldFrameSize, fpstate+1, "the frame is below the FPU state")
	mask := linux.Bit(linux.SIGUSR2) | linux.SigSet(1)<<40
	task.setMask(linux.Bit(linux.SIGUSR1))
	le := binary.LittleEndian
	writeMem(t, task, sp+oldSCOff32+80, le.AppendUint32(nil, uint32(mask)))
	writeMem(t, task, sp+oldExtramaskOff, le.AppendUint32(nil, uint32(mask>>32)))
	cpu.regs.RSP = sp + 8 // pretcode and sig popped
	task.frame = &arch.SyscallFrame{}
	_, err := Sigreturn32(task, Args{})
	task.frame = nil
	require.NoError(t, err)
	saved.FOP = 0
	assert.Equal(t, saved, cpu.fp)
	assert.Equal(t, mask, task.sigmask)
}

func TestSignalFrameFPU32BadMXCSR(t *testing.T) {
	task, cpu, _, fpstate, sp := frame32(t, siginfoAct)
	writeMem(t, task, fpstate+112+24, binary.LittleEndian.AppendUint32(nil, 0x1f80|1<<20))
	cpu.regs.RSP = sp + 4
	task.frame = &arch.SyscallFrame{}
	_, err := RtSigreturn32(task, Args{})
	task.frame = nil
	require.NoError(t, err)
	st := task.proc.groupExit()
	require.NotNil(t, st)
	assert.Equal(t, linux.SIGSEGV, st.Signal)
}
