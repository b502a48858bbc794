package emu

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/mm"
)

// exitWith is code that exits with status n.
func exitWith(n byte) []byte { return []byte{0xb8, 60, 0, 0, 0, 0xbf, n, 0, 0, 0, 0x0f, 0x05} }

// codeFile is a file of code for private file mappings, as a loader maps
// a library's text.
type codeFile []byte

func (f codeFile) ReadAt(p []byte, off int64) (int, error) { return copy(p, f[off:]), nil }
func (codeFile) IncRef()                                   {}
func (codeFile) DecRef()                                   {}
func (codeFile) Name() string                              { return "/lib/code.so" }

// A frame the engine translated code from, freed by munmap and handed out
// again for other code at the same address, runs the new code. The
// engine's translations are keyed by the frame, and the engine runs on
// between the munmap and the new mapping, so the unmapped page cannot be
// found by its virtual address when its code is dropped (dlclose of one
// library, dlopen of another at the same place).
func TestRecycledCodeFrameRunsItsNewCode(t *testing.T) {
	as, cpu := newTask(t, exitWith(1))
	k := &recorder{}
	_, err := cpu.Run(k)
	require.NoError(t, err)
	old := as.Walk(codeAt).PA

	const other = codeAt + 0x10000
	require.NoError(t, as.MapAnon(mm.AddrRange{Start: other, End: other + mm.PageSize}, mm.ProtRead|mm.ProtExec, ""))
	require.NoError(t, as.WriteForce(other, exitWith(3)))
	require.NoError(t, as.Unmap(codeAt, mm.PageSize))
	require.NoError(t, cpu.SetRegs(&arch.Regs{RIP: other, RSP: 0x7001000}))
	_, err = cpu.Run(k)
	require.NoError(t, err)

	lib := make(codeFile, mm.PageSize)
	copy(lib, exitWith(2))
	_, err = as.Map(mm.MapOpts{Addr: codeAt, Length: mm.PageSize, Prot: mm.ProtRead | mm.ProtExec, Fixed: true, File: lib})
	require.NoError(t, err)
	require.NoError(t, cpu.SetRegs(&arch.Regs{RIP: codeAt, RSP: 0x7001000}))
	_, err = cpu.Run(k)
	require.NoError(t, err)
	require.Equal(t, old, as.Walk(codeAt).PA, "the test needs the frame to be reused")
	require.Len(t, k.calls, 3)
	assert.Equal(t, uint64(2), k.calls[2].Args[0], "the new code ran")
}
