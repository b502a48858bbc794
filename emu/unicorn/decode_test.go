package unicorn

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/arch/x86/x86asm"
)

// The decoder's lengths agree with x86asm's on random instructions (with
// prefixes, REX and the 0F, 0F38 and 0F3A maps), in both modes. x86asm
// does not know VEX: those are checked below.
func TestDecoderLengthsMatchX86asm(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	prefixes := []byte{0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x64, 0x65}
	for _, mode64 := range []bool{true, false} {
		bits := 32
		if mode64 {
			bits = 64
		}
		checked, unknown := 0, 0
		for i := 0; i < 300000; i++ {
			var b []byte
			for rng.Intn(4) == 0 {
				b = append(b, prefixes[rng.Intn(len(prefixes))])
			}
			if mode64 && rng.Intn(3) == 0 {
				b = append(b, 0x40|byte(rng.Intn(16)))
			}
			switch rng.Intn(4) {
			case 0:
				b = append(b, 0x0f)
			case 1:
				b = append(b, 0x0f, []byte{0x38, 0x3a}[rng.Intn(2)])
			}
			for len(b) < 16 {
				b = append(b, byte(rng.Intn(256)))
			}
			inst, err := x86asm.Decode(b, bits)
			n, ud := InsnLen(b, mode64)
			// x86asm decodes a prefix alone (Op 0) before what it
			// cannot decode.
			if err != nil || ud || inst.Op == 0 {
				continue
			}
			if n < 0 {
				unknown++
				continue
			}
			checked++
			if !assert.Equal(t, inst.Len, n, "%d-bit % x (%v)", bits, b[:inst.Len], inst) {
				return
			}
		}
		t.Logf("%d-bit: %d lengths checked, %d not understood", bits, checked, unknown)
		assert.Greater(t, checked, 150000)
		assert.Zero(t, unknown)
	}
}

func TestDecoderRefuses(t *testing.T) {
	cases := []struct {
		name   string
		code   []byte
		mode64 bool
		len    int
		ud     bool
	}{
		{"vaddps xmm", []byte{0xc5, 0xf8, 0x58, 0xc1}, true, -1, true},
		{"vmovups load", []byte{0xc5, 0xf8, 0x10, 0x02}, true, -1, true},
		{"vzeroupper", []byte{0xc5, 0xf8, 0x77}, true, -1, true},
		{"EVEX", []byte{0x62, 0xf1, 0x7c, 0x48, 0x58, 0xc1}, true, -1, true},
		{"XOP", []byte{0x8f, 0xe9, 0x78, 0xc2, 0xc1}, true, -1, true},
		{"andn", []byte{0xc4, 0xe2, 0xe0, 0xf2, 0xc1}, true, 5, false},
		{"andn 32-bit", []byte{0xc4, 0xe2, 0x60, 0xf2, 0xc1}, false, 5, false},
		{"rorx", []byte{0xc4, 0xe3, 0xfb, 0xf0, 0xc3, 0x08}, true, 6, false},
		{"shlx [mem]", []byte{0xc4, 0xe2, 0xf1, 0xf7, 0x44, 0x24, 0x08}, true, 7, false},
		{"blsi", []byte{0xc4, 0xe2, 0xf8, 0xf3, 0xdb}, true, 5, false},
		{"blsi with reg 0 (undefined)", []byte{0xc4, 0xe2, 0xf8, 0xf3, 0xc3}, true, -1, true},
		{"andn with VEX.L", []byte{0xc4, 0xe2, 0xe4, 0xf2, 0xc1}, true, -1, true},
		{"andn after 66", []byte{0x66, 0xc4, 0xe2, 0xe0, 0xf2, 0xc1}, true, -1, true},
		{"andn after REX", []byte{0x48, 0xc4, 0xe2, 0xe0, 0xf2, 0xc1}, true, -1, true},
		{"LES outside 64-bit mode", []byte{0xc4, 0x06}, false, 2, false},
		{"LDS outside 64-bit mode", []byte{0xc5, 0x46, 0x08}, false, 3, false},
		{"BOUND outside 64-bit mode", []byte{0x62, 0x06}, false, 2, false},
		{"VEX outside 64-bit mode", []byte{0xc5, 0xf8, 0x58, 0xc1}, false, -1, true},
		{"pop [mem]", []byte{0x8f, 0x00}, true, 2, false},
		{"lock add [mem], eax", []byte{0xf0, 0x01, 0x00}, true, 3, false},
		{"lock cmpxchg16b", []byte{0xf0, 0x48, 0x0f, 0xc7, 0x0e}, true, 5, false},
		{"lock bts [mem], imm", []byte{0xf0, 0x0f, 0xba, 0x28, 0x03}, true, 5, false},
		{"lock mov", []byte{0xf0, 0x89, 0x00}, true, -1, true},
		{"lock add reg", []byte{0xf0, 0x01, 0xd8}, true, -1, true},
		{"lock cmp", []byte{0xf0, 0x39, 0x00}, true, -1, true},
		{"lock bt imm", []byte{0xf0, 0x0f, 0xba, 0x20, 0x03}, true, -1, true},
		{"lock test [mem], imm", []byte{0xf0, 0xf6, 0x00, 0x01}, true, -1, true},
		{"lock movaps", []byte{0xf0, 0x0f, 0x28, 0x00}, true, -1, true},
		{"mov rax, imm64", []byte{0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8}, true, 10, false},
		{"mov al, moffs32 (67)", []byte{0x67, 0xa0, 1, 2, 3, 4}, true, 6, false},
		{"mov al, moffs64", []byte{0xa0, 1, 2, 3, 4, 5, 6, 7, 8}, true, 9, false},
		{"call rel32 with 66 in 64-bit mode", []byte{0x66, 0xe8, 1, 2, 3, 4}, true, 6, false},
		{"push imm16", []byte{0x66, 0x68, 1, 2}, true, 4, false},
		{"test [mem], imm32", []byte{0xf7, 0x00, 1, 2, 3, 4}, true, 6, false},
		{"enter", []byte{0xc8, 1, 2, 3}, true, 4, false},
		{"16-bit addressing", []byte{0x67, 0x8b, 0x86, 0x34, 0x12}, false, 5, false},
	}
	for _, c := range cases {
		code := append(append([]byte{}, c.code...), make([]byte, 16)...)
		n, ud := InsnLen(code, c.mode64)
		assert.Equal(t, c.ud, ud, c.name)
		if !c.ud {
			assert.Equal(t, c.len, n, c.name)
		}
	}
	// A block: the offset of the first refused instruction.
	block := []byte{0x48, 0x89, 0xd8, 0xc4, 0xe2, 0xe0, 0xf2, 0xc1, 0xc5, 0xf8, 0x58, 0xc1, 0xc3}
	assert.Equal(t, 8, ScanCode(block, true))
	assert.Equal(t, -1, ScanCode(block[:8], true))
}

// Port I/O and INT n other than 3, 4 and 0x80 are #GP at CPL 3; their
// neighbours are not.
func TestDecoderPrivileged(t *testing.T) {
	for _, mode64 := range []bool{true, false} {
		for _, b := range [][]byte{{0xe4, 0x80}, {0xe7, 0x80}, {0xec}, {0x66, 0xef}, {0x6c}, {0xf3, 0x6f}, {0xcd, 0x21}, {0xcd, 0x01}, {0x0f, 0x33}} {
			assert.True(t, InsnGP(b, mode64), "% x", b)
			n, ud := InsnLen(b, mode64)
			assert.Equal(t, len(b), n, "% x", b)
			assert.False(t, ud, "% x", b)
		}
		for _, b := range [][]byte{{0xcd, 0x80}, {0xcd, 0x03}, {0xcc}, {0xe3, 0x00}, {0xe8, 0, 0, 0, 0}, {0x6b, 0xc0, 1}, {0xf0, 0xee}} {
			assert.False(t, InsnGP(b, mode64), "% x", b)
		}
	}
}

// The decoder's lengths agree with objdump's over the text of the test
// guests (glibc's static library has AVX, AVX2 and AVX-512 variants of its
// string functions: those are the refused ones). Needs the guests built
// (make guests).
func TestDecoderOnGuestCode(t *testing.T) {
	bin := filepath.Join("..", "..", "testdata", "bin")
	if _, err := exec.LookPath("objdump"); err != nil {
		t.Skip("no objdump")
	}
	for _, g := range []struct {
		file   string
		mode64 bool
	}{{"hello.glibc", true}, {"hello.musl", true}, {"hello.i386", false}} {
		path := filepath.Join(bin, g.file)
		if _, err := os.Stat(path); err != nil {
			t.Skipf("%s: not built (make guests)", path)
		}
		out, err := exec.Command("objdump", "-d", "-w", path).Output()
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		insns, refused := 0, map[string]int{}
		for sc.Scan() {
			f := strings.SplitN(sc.Text(), "\t", 3)
			if len(f) < 3 || !strings.HasSuffix(f[0], ":") || strings.Contains(f[2], "(bad)") {
				continue
			}
			code, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(f[1]), " ", ""))
			if err != nil || len(code) == 0 {
				continue
			}
			insns++
			n, ud := InsnLen(append(code, make([]byte, 16)...), g.mode64)
			mnemonic := strings.Fields(f[2])[0]
			if ud {
				refused[mnemonic]++
				assert.True(t, strings.HasPrefix(mnemonic, "v") || strings.HasPrefix(mnemonic, "k"),
					"%s: %s refused: % x %s", g.file, f[0], code, f[2])
				continue
			}
			if !assert.Equal(t, len(code), n, "%s: %s % x %s", g.file, f[0], code, f[2]) {
				return
			}
		}
		t.Logf("%s: %d instructions, refused: %v", g.file, insns, refused)
	}
}

func BenchmarkScanCode(b *testing.B) {
	insns := [][]byte{
		{0x48, 0x89, 0xd8}, {0x48, 0x8b, 0x44, 0x24, 0x08}, {0x0f, 0x28, 0x04, 0x25, 0, 0, 0, 7},
		{0x48, 0x83, 0xc4, 0x18}, {0xf3, 0x0f, 0x6f, 0x0c, 0x25, 0, 0, 0, 7}, {0xe8, 1, 2, 3, 4},
		{0x66, 0x0f, 0x3a, 0x61, 0xca, 0x0c}, {0xc4, 0xe2, 0xe0, 0xf2, 0xc1}, {0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8},
	}
	var code []byte
	n := 0
	for len(code) < 4000 {
		code = append(code, insns[n%len(insns)]...)
		n++
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ScanCode(code, true) != -1 {
			b.Fatal("refused")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/insn")
}
