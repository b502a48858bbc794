package arch

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFXSAVERoundTrip(t *testing.T) {
	fp := InitialFP()
	fp.FCW, fp.FSW, fp.FTW, fp.FOP = 0x27f, 3<<11|1, 0x18, 0x1eb
	fp.FIP, fp.FDP, fp.MXCSR = 0x123456789a, 0x7fff0000, 0x9fc0
	for i := range fp.ST {
		fp.ST[i][0], fp.ST[i][9] = byte(i+1), 0x3f
	}
	for i := range fp.XMM {
		fp.XMM[i][15] = byte(i + 1)
	}
	b := make([]byte, FXSAVESize)
	for i := range b {
		b[i] = 0xaa // reserved bytes are left alone
	}
	fp.PutFXSAVE(b)
	le := binary.LittleEndian
	assert.Equal(t, uint16(0x27f), le.Uint16(b[0:]))
	assert.Equal(t, []byte{0x18, 0}, b[4:6], "abridged tags, then a reserved zero byte")
	assert.Equal(t, uint32(MXCSRMask), le.Uint32(b[28:]))
	assert.Equal(t, make([]byte, 6), b[32+10:32+16], "an ST slot's last 6 bytes are zero")
	assert.Equal(t, byte(0xaa), b[FXSWBytes], "the software bytes are the caller's")
	var back FPState
	back.GetFXSAVE(b)
	assert.Equal(t, fp, back)
}

func TestTagWord(t *testing.T) {
	fp := InitialFP()
	assert.Equal(t, uint16(0xffff), fp.TagWord(), "empty")
	fp.FSW = 5 << 11
	fp.FTW = 1<<5 | 1<<6 | 1<<7 | 1<<0
	fp.ST[0] = [10]byte{0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f} // phys 5: 1.0, valid
	fp.ST[1] = [10]byte{}                                      // phys 6: zero
	fp.ST[2] = [10]byte{0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0x7f} // phys 7: NaN, special
	fp.ST[3] = [10]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0}          // phys 0: denormal, special
	assert.Equal(t, uint16(0b10_01_00_11_11_11_11_10), fp.TagWord())
	assert.Equal(t, fp.FTW, AbridgedTag(fp.TagWord()))
}

func TestMinSigStkSz(t *testing.T) {
	assert.Equal(t, 1520, MinSigStkSz)
	assert.Equal(t, "i686", Platform(Mode32))
	assert.Equal(t, "x86_64", Platform(Mode64))
}
