package emu

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/mm"
)

// A Kick from another goroutine while chained blocks run must stop the
// engine with RIP and the registers in agreement (a plain uc_emu_stop
// leaves RIP stale there), so that a signal frame saves the right state.
func TestKickLeavesConsistentRegisters(t *testing.T) {
	// loop: add rsp, 0x18; mov [rsp], rax (write, can fill); sub rsp, 0x18; inc rcx; jmp loop
	code := []byte{
		0x48, 0x83, 0xc4, 0x18, // add rsp, 0x18
		0x48, 0x89, 0x04, 0x24, // mov [rsp], rax
		0x48, 0x8b, 0x1c, 0x25, 0, 0, 0, 0x08, // mov rbx, [0x8000000]
		0x48, 0x83, 0xec, 0x18, // sub rsp, 0x18
		0x48, 0xff, 0xc1, // inc rcx
		0xeb, 0xe7, // jmp back to the start
	}
	as, cpu := newTask(t, code)
	_ = as
	require.NoError(t, cpu.SetRegs(&arch.Regs{RIP: codeAt, RSP: 0x7000800}))
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				cpu.Kick()
				time.Sleep(20 * time.Microsecond)
			}
		}
	}()
	defer close(done)
	bad := 0
	for i := 0; i < 1000; i++ {
		exit, err := cpu.Run(&recorder{})
		require.NoError(t, err)
		require.Equal(t, arch.ExitKicked, exit.Reason)
		regs, err := cpu.Regs()
		require.NoError(t, err)
		if regs.RIP < codeAt || regs.RIP >= codeAt+uint64(len(code)) {
			continue // not yet in user mode
		}
		inLoop := regs.RIP - codeAt
		want := uint64(0x7000800)
		if inLoop >= 4 && inLoop < 20 {
			want += 0x18
		}
		if regs.RSP != want {
			bad++
			if bad < 5 {
				t.Logf("stop %d: rip +%d rsp %#x want %#x", i, inLoop, regs.RSP, want)
			}
		}
		if i%100 == 0 {
			as.DontNeed(0x7000000, mm.PageSize) // force TLB fills
			cpu.FlushTLB()
		}
	}
	require.Zero(t, bad, "inconsistent stops")
}
