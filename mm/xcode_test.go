package mm

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spaceTLB is a codeTLB that also counts its flushes.
type spaceTLB struct {
	codeTLB
	flushes atomic.Int32
}

func (s *spaceTLB) FlushTLB() uint64 { return uint64(s.flushes.Add(1)) }

// Code one process runs from a frame another maps too is dropped, and
// the other's TLBs flushed, whatever address space writes or marks the
// frame; a private frame costs no other address space anything.
func TestCodeOfSharedFramesAcrossAddressSpaces(t *testing.T) {
	store := func(t *testing.T, m *MM, _ Frame, va Addr) {
		_, _, err := m.Translate(va, Write)
		require.NoError(t, err)
	}
	kernelWrite := func(t *testing.T, m *MM, _ Frame, va Addr) {
		_, err := m.CopyOut(va+1, []byte{7})
		require.NoError(t, err)
	}
	mark := func(t *testing.T, m *MM, f Frame, _ Addr) { m.CodeMarked(f) }
	cases := []struct {
		name   string
		shared bool
		// act is done by one address space; the other, which maps the
		// frame too when it is shared, must then drop its code
		// (wantCode) and flush its TLB (wantFlush).
		act                 func(t *testing.T, m *MM, f Frame, va Addr)
		wantCode, wantFlush bool
	}{
		{"store to a shared frame", true, store, true, true},
		{"kernel write to a shared frame", true, kernelWrite, true, true},
		{"mark of a shared frame", true, mark, false, true},
		{"store to a private frame", false, store, false, false},
		{"kernel write to a private frame", false, kernelWrite, false, false},
		{"mark of a private frame", false, mark, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ram, m := newTestMM(t)
			const va = 0x500000
			_, err := m.Map(MapOpts{Addr: va, Length: PageSize, Prot: ProtRead | ProtWrite | ProtExec, Fixed: true, Shared: c.shared})
			require.NoError(t, err)
			require.NoError(t, m.WriteForce(va, []byte{0xb8, 1, 0, 0, 0, 0xc3}))
			var other *MM
			if c.shared {
				other, err = m.Fork()
			} else {
				other, err = New(ram, Layout64)
			}
			require.NoError(t, err)
			f := m.Walk(va).PA.Frame()
			require.Equal(t, c.shared, ram.sharedFrame(f))
			tlb := &spaceTLB{}
			other.AddTLB(tlb)
			ram.codeMarks[f] |= codeMarkBit // an engine translated from f
			c.act(t, m, f, va)
			if c.wantCode {
				assert.Equal(t, []Frame{f}, tlb.take())
			} else {
				assert.Empty(t, tlb.take())
			}
			assert.Equal(t, c.wantFlush, tlb.flushes.Load() > 0)
		})
	}
}
