package unicorn

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Loops of locked instructions that each add 1 to the counter at RDI
// (EDI), to run on several engines at once. The loop count is in R8D
// (x86-64) or ESI (i386).
var (
	atomicLockInc    = []byte{0xf0, 0xff, 0x07}                               // lock inc dword [rdi]
	atomicLockIncW   = []byte{0x66, 0xf0, 0xff, 0x07}                         // lock inc word [rdi]
	atomicLockAddQ   = []byte{0xf0, 0x48, 0x83, 0x07, 0x01}                   // lock add qword [rdi], 1
	atomicLockXadd   = []byte{0xb8, 1, 0, 0, 0, 0xf0, 0x0f, 0xc1, 0x07}       // mov eax, 1; lock xadd [rdi], eax
	atomicLockSubNeg = []byte{0xb8, 0xff, 0xff, 0xff, 0xff, 0xf0, 0x29, 0x07} // mov eax, -1; lock sub [rdi], eax
	// retry: mov eax, [rdi]; lea edx, [rax+1]; lock cmpxchg [rdi], edx; jnz retry
	atomicCmpxchg = []byte{0x8b, 0x07, 0x8d, 0x50, 0x01, 0xf0, 0x0f, 0xb1, 0x17, 0x75, 0xf5}
	// retry: mov eax, [rdi]; mov edx, [rdi+4]; lea ebx, [rax+1]; mov ecx, edx;
	// lock cmpxchg8b [rdi]; jnz retry
	atomicCmpxchg8b = []byte{0x8b, 0x07, 0x8b, 0x57, 0x04, 0x8d, 0x58, 0x01, 0x89, 0xd1, 0xf0, 0x0f, 0xc7, 0x0f, 0x75, 0xf0}
	// retry: mov rax, [rdi]; mov rdx, [rdi+8]; lea rbx, [rax+1]; mov rcx, rdx;
	// lock cmpxchg16b [rdi]; jnz retry
	atomicCmpxchg16b = []byte{0x48, 0x8b, 0x07, 0x48, 0x8b, 0x57, 0x08, 0x48, 0x8d, 0x58, 0x01, 0x48, 0x89, 0xd1,
		0xf0, 0x48, 0x0f, 0xc7, 0x0f, 0x75, 0xeb}
	// A spinlock at [rdi] (xchg, released by a plain store) around a plain
	// increment of the counter at [rdi+8].
	// lock: mov eax, 1; xchg [rdi], eax; test eax, eax; jnz lock;
	// inc dword [rdi+8]; mov dword [rdi], 0
	atomicXchgLock = []byte{0xb8, 1, 0, 0, 0, 0x87, 0x07, 0x85, 0xc0, 0x75, 0xf5,
		0xff, 0x47, 0x08, 0xc7, 0x07, 0, 0, 0, 0}
)

// atomicLoop wraps body in a loop of n rounds and a hlt.
func atomicLoop(mode Mode, n uint32, body []byte) []byte {
	var code []byte
	if mode == Mode64 {
		code = binary.LittleEndian.AppendUint32([]byte{0x41, 0xb8}, n) // mov r8d, n
		code = append(code, body...)
		code = append(code, 0x41, 0xff, 0xc8) // dec r8d
	} else {
		code = binary.LittleEndian.AppendUint32([]byte{0xbe}, n) // mov esi, n
		code = append(code, body...)
		code = append(code, 0x4e) // dec esi
	}
	back := len(code) - 5
	if mode == Mode64 {
		back = len(code) - 6
	}
	code = append(code, 0x75, byte(-(back + 2))) // jnz body
	return append(code, codeHlt...)
}

// TestAtomicAcrossEngines runs the same locked read-modify-write loop on
// engines sharing memory, at the same time: no increment may be lost, for
// aligned operands, operands misaligned inside a page, and operands that
// cross a page boundary.
func TestAtomicAcrossEngines(t *testing.T) {
	const engines, rounds = 3, 100000
	cases := []struct {
		name    string
		mode    Mode
		body    []byte
		offset  uint64 // of the counter, from the start of a page
		width   int    // of the counter, in bytes
		counter uint64 // of the counter from RDI
	}{
		{"lock inc", Mode64, atomicLockInc, 0x100, 4, 0},
		{"lock inc misaligned", Mode64, atomicLockInc, 0x101, 4, 0},
		{"lock inc across pages", Mode64, atomicLockInc, 0xffe, 4, 0},
		{"lock inc word", Mode64, atomicLockIncW, 0x100, 2, 0},
		{"lock inc word across pages", Mode64, atomicLockIncW, 0xfff, 2, 0},
		{"lock add qword", Mode64, atomicLockAddQ, 0x100, 8, 0},
		{"lock add qword misaligned", Mode64, atomicLockAddQ, 0x10c, 8, 0},
		{"lock xadd", Mode64, atomicLockXadd, 0x100, 4, 0},
		{"lock xadd across pages", Mode64, atomicLockXadd, 0xffd, 4, 0},
		{"lock sub", Mode64, atomicLockSubNeg, 0x100, 4, 0},
		{"lock cmpxchg", Mode64, atomicCmpxchg, 0x100, 4, 0},
		{"lock cmpxchg misaligned", Mode64, atomicCmpxchg, 0x103, 4, 0},
		{"lock cmpxchg8b", Mode64, atomicCmpxchg8b, 0x100, 8, 0},
		{"lock cmpxchg8b misaligned", Mode64, atomicCmpxchg8b, 0x104, 8, 0},
		{"lock cmpxchg8b across pages", Mode64, atomicCmpxchg8b, 0xffc, 8, 0},
		{"lock cmpxchg16b", Mode64, atomicCmpxchg16b, 0x100, 8, 0},
		{"xchg spinlock", Mode64, atomicXchgLock, 0x100, 4, 8},
		{"i386 lock inc", Mode32, atomicLockInc, 0x100, 4, 0},
		{"i386 lock cmpxchg8b", Mode32, atomicCmpxchg8b, 0x100, 8, 0},
		{"i386 lock cmpxchg8b misaligned", Mode32, atomicCmpxchg8b, 0x101, 8, 0},
		{"i386 xchg spinlock", Mode32, atomicXchgLock, 0x100, 4, 8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := newMem(t)
			const code, data = vbase + 0x1000, vbase + 0x8000
			vms := make([]*vm, engines)
			for i := range vms {
				vms[i] = newVMOn(t, c.mode, mem)
				vms[i].load(code, atomicLoop(c.mode, rounds, c.body))
				reg := RDI
				if c.mode == Mode32 {
					reg = EDI
				}
				require.NoError(t, vms[i].e.RegWrite(reg, data+c.offset))
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for _, v := range vms {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					// A lost spinlock release would spin for ever: stop
					// after 20 s and let the count tell.
					assert.NoError(t, v.e.Start(code, 0, 20_000_000, 0))
				}()
			}
			close(start)
			wg.Wait()
			at := mem[data-vbase+c.offset+c.counter:]
			var got uint64
			switch c.width {
			case 2:
				got = uint64(binary.LittleEndian.Uint16(at))
			case 4:
				got = uint64(binary.LittleEndian.Uint32(at))
			default:
				got = binary.LittleEndian.Uint64(at)
			}
			want := uint64(engines*rounds) & (1<<(8*c.width) - 1)
			if c.width == 8 {
				want = engines * rounds
			}
			assert.Equal(t, want, got)
		})
	}
}

// TestAtomicFaults checks that a locked operation on a page the TLB fill
// refuses faults at the instruction: aligned, misaligned, and across the
// boundary from a mapped page into a refused one.
func TestAtomicFaults(t *testing.T) {
	for _, addr := range []uint64{vbase + memSize + 0x100, vbase + memSize + 0x101, vbase + memSize - 2} {
		for _, body := range [][]byte{atomicLockInc, atomicXchgLock[5:7]} {
			v := newVM(t, Mode64)
			code := v.load(vbase+0x1000, body, codeHlt)
			require.NoError(t, v.e.RegWrite(RDI, addr))
			err := v.e.Start(code, 0, 0, 0)
			require.Error(t, err, "% x at %#x", body, addr)
			assert.Equal(t, code, v.reg(t, RIP), "RIP at % x, operand at %#x", body, addr)
		}
	}
}
