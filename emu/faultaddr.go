package emu

import (
	"golang.org/x/arch/x86/x86asm"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/mm"
)

// refineFaultAddr makes a fault's address exact. Unicorn's TLB fill
// reports only the page of a refused access; the byte is found from the
// faulting instruction: RIP for a fetch, else the effective address of
// its memory operand, when that lies in the refused page (an access that
// crosses into the page keeps the page's first byte, as CR2 would).
func (c *CPU) refineFaultAddr(f *arch.Exit) {
	page := f.Addr.RoundDown()
	if f.Access == mm.Exec {
		if mm.Addr(f.RIP).RoundDown() == page {
			f.Addr = mm.Addr(f.RIP)
		}
		return
	}
	code := make([]byte, 15)
	n, _ := c.as.CopyIn(mm.Addr(f.RIP), code)
	bits := 64
	if c.mode == arch.Mode32 {
		bits = 32
	}
	inst, err := x86asm.Decode(code[:n], bits)
	if err != nil {
		return
	}
	regs, err := c.Regs()
	if err != nil {
		return
	}
	for _, a := range inst.Args {
		m, ok := a.(x86asm.Mem)
		if !ok {
			continue
		}
		ea := uint64(m.Disp)
		switch m.Base {
		case x86asm.RIP:
			ea += f.RIP + uint64(inst.Len)
		case 0:
		default:
			ea += regValue(&regs, m.Base)
		}
		if m.Index != 0 {
			ea += regValue(&regs, m.Index) * uint64(m.Scale)
		}
		switch m.Segment {
		case x86asm.FS:
			ea += regs.FSBase
		case x86asm.GS:
			ea += regs.GSBase
		}
		if bits == 32 {
			ea &= 0xffffffff
		}
		if mm.Addr(ea).RoundDown() == page {
			f.Addr = mm.Addr(ea)
		}
		return
	}
}

// regValue returns the value of an address register (64- or 32-bit name).
func regValue(r *arch.Regs, reg x86asm.Reg) uint64 {
	full := []*uint64{&r.RAX, &r.RCX, &r.RDX, &r.RBX, &r.RSP, &r.RBP, &r.RSI, &r.RDI,
		&r.R8, &r.R9, &r.R10, &r.R11, &r.R12, &r.R13, &r.R14, &r.R15}
	switch {
	case reg >= x86asm.RAX && reg <= x86asm.R15:
		return *full[reg-x86asm.RAX]
	case reg >= x86asm.EAX && reg <= x86asm.R15L:
		return *full[reg-x86asm.EAX] & 0xffffffff
	}
	return 0
}
