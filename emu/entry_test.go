package emu

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/mm"
)

// A Kick, or code dropped by another thread, that stops the engine in
// the entry trampoline (on its way to user mode after a fault, or for a
// new thread) leaves the task's user registers as they were: the kernel
// sees the user RIP and RSP, never the kernel page's, and the next run
// enters user mode again instead of fetching the trampoline with the
// kernel page already unmapped (an exec fault at the kernel page).
func TestStopDuringEntryKeepsUserState(t *testing.T) {
	as, cpu := newTask(t, []byte{0x0f, 0x0b}) // ud2
	code := []mm.Frame{as.Walk(codeAt).PA.Frame()}
	done := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
				if i%2 == 0 {
					cpu.Kick()
				} else {
					cpu.InvalidateCode(code)
				}
				time.Sleep(time.Duration(rand.IntN(20)) * time.Microsecond)
			}
		}
	}()
	defer close(done)
	kicked := 0
	for i := 0; i < 2000; i++ {
		exit, err := cpu.Run(&recorder{})
		require.NoError(t, err)
		regs, err := cpu.Regs()
		require.NoError(t, err)
		switch exit.Reason {
		case arch.ExitKicked:
			kicked++
			require.Equal(t, uint64(codeAt), exit.RIP, "run %d: kicked at %#x", i, exit.RIP)
			require.Equal(t, uint64(codeAt), regs.RIP, "run %d", i)
			require.Equal(t, uint64(0x7001000), regs.RSP, "run %d", i)
		case arch.ExitIllegal:
			require.Equal(t, uint64(codeAt), exit.RIP, "run %d", i)
		default:
			t.Fatalf("run %d: exit %+v", i, exit)
		}
	}
	t.Logf("%d of 2000 runs kicked", kicked)
}

// An i386 task whose EFLAGS has VM set (the engine lets an iret at CPL 3
// set it; a signal frame may carry it back) still enters user mode: the
// entry's segment loads are protected-mode ones, not virtual-8086 ones
// that would base the trampoline's stack at selector * 16 in user memory.
func TestI386EntryWithVMFlag(t *testing.T) {
	_, cpu := newTask32(t, []byte{0xb8, 1, 0, 0, 0, 0xcd, 0x80}) // exit
	const vm = 1 << 17
	require.NoError(t, cpu.SetRegs(&arch.Regs{RIP: code32, RSP: data32 + mm.PageSize, RFLAGS: 0x202 | vm}))
	k := &recorder32{}
	exit, err := cpu.Run(k)
	require.NoError(t, err)
	require.Equal(t, arch.ExitStop, exit.Reason, "%+v", exit)
	require.Len(t, k.calls, 1)
}
