package syscalls

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cmaemu/cmaemu/arch"
)

// The si_code of SIGFPE for #MF and #XM, as Linux's fpu__exception_code:
// the first unmasked flag in the order IE, ZE, OE, DE/UE, PE.
func TestFPExceptionCode(t *testing.T) {
	cases := []struct {
		name   string
		vector uint32
		fp     arch.FPState
		want   int32
	}{
		{"x87 1/0, ZM clear", arch.VectorFPU, arch.FPState{FCW: 0x37b, FSW: 0x80 | 0x04}, fpeFltDiv},
		{"x87 0/0 and PE, IM PM clear", arch.VectorFPU, arch.FPState{FCW: 0x35e, FSW: 0x80 | 0x21}, fpeFltInv},
		{"x87 overflow and PE, OM clear", arch.VectorFPU, arch.FPState{FCW: 0x377, FSW: 0x80 | 0x28}, fpeFltOvf},
		{"x87 denormal, DM clear", arch.VectorFPU, arch.FPState{FCW: 0x37d, FSW: 0x80 | 0x02}, fpeFltUnd},
		{"x87 PE only, PM clear", arch.VectorFPU, arch.FPState{FCW: 0x35f, FSW: 0x80 | 0x20}, fpeFltRes},
		{"x87 flags all masked: spurious", arch.VectorFPU, arch.FPState{FCW: 0x37f, FSW: 0x3f}, 0},
		{"SSE 1/0, ZM clear", arch.VectorSIMD, arch.FPState{MXCSR: 0x1d80 | 0x04}, fpeFltDiv},
		{"SSE underflow, UM clear", arch.VectorSIMD, arch.FPState{MXCSR: 0x1780 | 0x30}, fpeFltUnd},
		{"SSE PE masked", arch.VectorSIMD, arch.FPState{MXCSR: 0x1f80 | 0x20}, 0},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, fpExceptionCode(c.vector, &c.fp), c.name)
	}
}
