package unicorn

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCarried checks which instructions go through intfix.c's carrier:
// exactly the ones the engine computes wrongly, never their neighbours.
func TestCarried(t *testing.T) {
	cases := []struct {
		name    string
		code    []byte
		mode64  bool
		carried bool
	}{
		{"pdep r32", []byte{0xc4, 0xe2, 0x63, 0xf5, 0xc1}, true, true},   // pdep eax, ebx, ecx
		{"pdep r64", []byte{0xc4, 0xe2, 0xe3, 0xf5, 0xc1}, true, false},  // pdep rax, rbx, rcx
		{"pext r32", []byte{0xc4, 0xe2, 0x62, 0xf5, 0xc1}, true, false},  // pext eax, ebx, ecx
		{"bzhi r64", []byte{0xc4, 0xe2, 0xf0, 0xf5, 0xc3}, true, true},   // bzhi rax, rbx, rcx
		{"bextr m32", []byte{0xc4, 0xe2, 0x70, 0xf7, 0x03}, true, true},  // bextr eax, [rbx], ecx
		{"blsi r64", []byte{0xc4, 0xe2, 0xf8, 0xf3, 0xdb}, true, true},   // blsi rax, rbx
		{"blsr r64", []byte{0xc4, 0xe2, 0xf8, 0xf3, 0xcb}, true, false},  // blsr rax, rbx
		{"cmpxchg r32,r32", []byte{0x0f, 0xb1, 0xca}, true, true},        // cmpxchg edx, ecx
		{"cmpxchg r64,r64", []byte{0x48, 0x0f, 0xb1, 0xca}, true, false}, // cmpxchg rdx, rcx
		{"cmpxchg m32", []byte{0xf0, 0x0f, 0xb1, 0x0a}, true, false},     // lock cmpxchg [rdx], ecx
		{"cmpxchg r32 i386", []byte{0x0f, 0xb1, 0xca}, false, false},     // no upper half in 32-bit mode
		{"lock neg m32", []byte{0xf0, 0xf7, 0x1f}, true, true},           // lock neg dword [rdi]
		{"neg m32", []byte{0xf7, 0x1f}, true, false},                     // neg dword [rdi]
		{"lock neg fs:", []byte{0x64, 0xf0, 0xf7, 0x1f}, true, false},    // segment base unknown here
		{"cmpxchg16b", []byte{0xf0, 0x48, 0x0f, 0xc7, 0x0f}, true, true}, // lock cmpxchg16b [rdi]
		{"cmpxchg8b i386", []byte{0xf0, 0x0f, 0xc7, 0x0f}, false, true},  // lock cmpxchg8b [edi]
		{"rip-relative", []byte{0xc4, 0xe2, 0x70, 0xf7, 0x05, 1, 2, 3, 4}, true, true},
		{"stmxcsr m32", []byte{0x0f, 0xae, 0x1f}, true, true},               // stmxcsr [rdi]
		{"stmxcsr i386", []byte{0x0f, 0xae, 0x5c, 0x24, 0x04}, false, true}, // stmxcsr [esp+4]
		{"ldmxcsr m32", []byte{0x0f, 0xae, 0x17}, true, false},              // ldmxcsr [rdi]
		{"sfence", []byte{0x0f, 0xae, 0xf8}, true, false},
		{"pause", []byte{0xf3, 0x90}, true, false},
		{"add", []byte{0x01, 0xc8}, true, false},
	}
	for _, c := range cases {
		n, ud := InsnLen(c.code, c.mode64)
		assert.False(t, ud, c.name)
		assert.Equal(t, len(c.code), n, "%s: length", c.name)
		assert.Equal(t, c.carried, Carried(c.code, n, c.mode64), c.name)
	}
}
