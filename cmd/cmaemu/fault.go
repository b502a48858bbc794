package main

import (
	"fmt"

	"golang.org/x/arch/x86/x86asm"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/syscalls"
)

// describeFault renders where a fatal fault happened: the address, and the
// instruction disassembled.
func describeFault(f *syscalls.FaultInfo) string {
	if f == nil {
		return ""
	}
	s := ""
	if f.HasAddr {
		s = fmt.Sprintf(": %s fault at %#x", f.Access, uint64(f.Addr))
	}
	bits := 64
	if f.Mode == arch.Mode32 {
		bits = 32
	}
	inst, err := x86asm.Decode(f.Code, bits)
	switch {
	case len(f.Code) == 0:
		return s + fmt.Sprintf(", rip %#x (unreadable)", f.RIP)
	case err != nil:
		return s + fmt.Sprintf(", rip %#x: undecodable bytes % x", f.RIP, f.Code[:min(len(f.Code), 4)])
	}
	return s + fmt.Sprintf(", rip %#x: %s", f.RIP, x86asm.IntelSyntax(inst, f.RIP, nil))
}
