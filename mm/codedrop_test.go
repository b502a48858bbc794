package mm

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// codeTLB records the frames whose code it is told to drop.
type codeTLB struct {
	mu     sync.Mutex
	frames []Frame
}

func (c *codeTLB) FlushTLB() uint64 { return 0 }
func (c *codeTLB) WaitTLB(uint64)   {}
func (c *codeTLB) InvalidateCode(fs []Frame) {
	c.mu.Lock()
	c.frames = append(c.frames, fs...)
	c.mu.Unlock()
}

func (c *codeTLB) take() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	fs := c.frames
	c.frames = nil
	return fs
}

// A frame that leaves the address space has its translated code dropped,
// by frame, when an engine may hold some: it was mapped executable, or
// it carries a code mark. Engines find code by frame, and the virtual
// page no longer leads to it once it is unmapped.
func TestFramesLeavingDropTheirCode(t *testing.T) {
	cases := []struct {
		name   string
		prot   Prot
		marked bool
		leave  func(m *MM, va Addr) error
		want   bool
	}{
		{"munmap of executable memory", ProtRead | ProtExec, false, func(m *MM, va Addr) error { return m.Unmap(va, PageSize) }, true},
		{"munmap of a marked data page", ProtRead | ProtWrite, true, func(m *MM, va Addr) error { return m.Unmap(va, PageSize) }, true},
		{"munmap of data", ProtRead | ProtWrite, false, func(m *MM, va Addr) error { return m.Unmap(va, PageSize) }, false},
		{"MADV_DONTNEED of a marked page", ProtRead | ProtWrite, true, func(m *MM, va Addr) error { return m.DontNeed(va, PageSize) }, true},
		{"mprotect away from exec of a marked page", ProtRead | ProtExec, true, func(m *MM, va Addr) error { return m.Protect(va, PageSize, ProtRead) }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ram, m := newTestMM(t)
			const va = 0x400000
			mapAt(t, m, va, 1, c.prot)
			require.NoError(t, m.WriteForce(va, []byte{0x90}))
			f := m.Walk(va).PA.Frame()
			if c.marked {
				ram.codeMarks[f] = 1
			}
			tlb := &codeTLB{}
			m.AddTLB(tlb)
			require.NoError(t, c.leave(m, va))
			if c.want {
				assert.Equal(t, []Frame{f}, tlb.take())
			} else {
				assert.Empty(t, tlb.take())
			}
		})
	}
}
