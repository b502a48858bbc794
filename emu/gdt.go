package emu

import "encoding/binary"

// The kernel page is one frame, mapped at the top of every task's virtual
// address space while the CPU enters user mode: the GDT, the iret
// trampoline and its stack. Guests cannot reach it afterwards.
const (
	kernelPage64 uint64 = 0xffff_ffff_ffff_e000
	kernelPage32 uint64 = 0xffff_e000

	gdtOffset   = 0x000 // GDT: gdtEntries descriptors
	trampOffset = 0x800 // iretq / iretd
	stackOffset = 0xf00 // the iret frame
)

// GDT selectors, as Linux lays them out for x86-64.
const (
	selKernel32CS = 0x08
	selKernelCS   = 0x10
	selKernelDS   = 0x18
	selUser32CS   = 0x23
	selUserDS     = 0x2b
	selUserCS     = 0x33
)

// Segment descriptors: flat 4 GiB, Accessed bit already set so the CPU
// never writes the table.
const (
	descKernel32CS = 0x00cf9b000000ffff
	descKernelCS   = 0x00af9b000000ffff
	descKernelDS   = 0x00cf93000000ffff
	descUser32CS   = 0x00cffb000000ffff
	descUserDS     = 0x00cff3000000ffff
	descUserCS     = 0x00affb000000ffff

	// gdtEntries covers Linux's x86-64 GDT up to the TLS entries.
	gdtEntries = 16
)

// The TLS entries set_thread_area installs for i386 tasks, as on an
// x86-64 kernel: GDT entries 12 to 14 (selectors 0x63, 0x6b, 0x73).
const (
	TLSFirstEntry = 12
	TLSEntries    = 3
)

// writeKernelPage fills the kernel frame: GDT and the iret instruction.
func writeKernelPage(page []byte, mode64 bool) {
	clear(page)
	descs := [gdtEntries]uint64{0, descKernel32CS, descKernelCS, descKernelDS, descUser32CS, descUserDS, descUserCS}
	// Entries 7 to 15 stay null until set_thread_area fills the TLS ones.
	for i, d := range descs {
		binary.LittleEndian.PutUint64(page[gdtOffset+8*i:], d)
	}
	if mode64 {
		copy(page[trampOffset:], []byte{0x48, 0xcf}) // iretq
	} else {
		page[trampOffset] = 0xcf // iretd
	}
}

// writeIretFrame writes the frame iret pops to enter user mode at rip with
// stack sp, and returns the offset of its first word.
func writeIretFrame(page []byte, mode64 bool, rip, sp, flags uint64) int {
	if mode64 {
		words := []uint64{rip, selUserCS, flags, sp, selUserDS}
		for i, w := range words {
			binary.LittleEndian.PutUint64(page[stackOffset+8*i:], w)
		}
		return stackOffset
	}
	words := []uint32{uint32(rip), selUser32CS, uint32(flags), uint32(sp), selUserDS}
	for i, w := range words {
		binary.LittleEndian.PutUint32(page[stackOffset+4*i:], w)
	}
	return stackOffset
}
