package arch

import "encoding/binary"

// FPState is a task's x87 and SSE state: what FXSAVE stores, in its
// 64-bit layout, with the x87 registers in stack order as FXSAVE keeps
// them. i386 tasks use XMM0 to XMM7.
type FPState struct {
	FCW   uint16 // x87 control word
	FSW   uint16 // x87 status word; TOP in bits 11 to 13
	FTW   uint8  // abridged tag word: bit i set = physical register i in use
	FOP   uint16 // opcode of the last x87 instruction (11 bits)
	FIP   uint64 // address of the last x87 instruction
	FDP   uint64 // address of its memory operand
	MXCSR uint32
	// ST holds ST(0) to ST(7), 10 bytes each: the 64-bit significand,
	// then sign and exponent.
	ST  [8][10]byte
	XMM [16][16]byte
}

// Linux's FPU state of a new program (fpstate_init, the state after
// FNINIT): x87 exceptions masked, 64-bit precision, round to nearest, an
// empty register stack; SSE exceptions masked; every register zero.
const (
	InitialFCW   = 0x37f
	InitialMXCSR = 0x1f80
)

// MXCSRMask is the MXCSR_MASK the emulated CPU reports in an FXSAVE
// image: every bit of the low half may be set (DAZ included), none of
// the high half. Loading a reserved bit is #GP.
const MXCSRMask = 0xffff

// InitialFP returns the state a program starts with after execve, and a
// signal handler on entry.
func InitialFP() FPState {
	return FPState{FCW: InitialFCW, MXCSR: InitialMXCSR}
}

// Layout of the FXSAVE image (Intel SDM vol. 1, 10.5.1, 64-bit format).
const (
	FXSAVESize  = 512
	fxFCW       = 0
	fxFSW       = 2
	fxFTW       = 4
	fxFOP       = 6
	fxFIP       = 8
	fxFDP       = 16
	fxMXCSR     = 24
	fxMXCSRMask = 28
	fxST        = 32  // 8 slots of 16 bytes
	fxXMM       = 160 // 16 slots of 16 bytes
	// FXSWBytes is where the software-available bytes start: Linux keeps
	// struct _fpx_sw_bytes there in signal frames.
	FXSWBytes = 464
)

// PutFXSAVE writes s as an FXSAVE image into b[:FXSAVESize]. Bytes the
// image reserves are left as they are.
func (s *FPState) PutFXSAVE(b []byte) {
	le := binary.LittleEndian
	_ = b[FXSAVESize-1]
	le.PutUint16(b[fxFCW:], s.FCW)
	le.PutUint16(b[fxFSW:], s.FSW)
	b[fxFTW] = s.FTW
	b[fxFTW+1] = 0
	le.PutUint16(b[fxFOP:], s.FOP)
	le.PutUint64(b[fxFIP:], s.FIP)
	le.PutUint64(b[fxFDP:], s.FDP)
	le.PutUint32(b[fxMXCSR:], s.MXCSR)
	le.PutUint32(b[fxMXCSRMask:], MXCSRMask)
	for i := range s.ST {
		slot := b[fxST+16*i : fxST+16*i+16]
		copy(slot, s.ST[i][:])
		clear(slot[10:])
	}
	for i := range s.XMM {
		copy(b[fxXMM+16*i:], s.XMM[i][:])
	}
}

// GetFXSAVE reads s from an FXSAVE image, as FXRSTOR does. MXCSR is
// taken as it is: checking its reserved bits is the caller's job.
func (s *FPState) GetFXSAVE(b []byte) {
	le := binary.LittleEndian
	_ = b[FXSAVESize-1]
	s.FCW = le.Uint16(b[fxFCW:])
	s.FSW = le.Uint16(b[fxFSW:])
	s.FTW = b[fxFTW]
	s.FOP = le.Uint16(b[fxFOP:]) & 0x7ff
	s.FIP = le.Uint64(b[fxFIP:])
	s.FDP = le.Uint64(b[fxFDP:])
	s.MXCSR = le.Uint32(b[fxMXCSR:])
	for i := range s.ST {
		copy(s.ST[i][:], b[fxST+16*i:])
	}
	for i := range s.XMM {
		copy(s.XMM[i][:], b[fxXMM+16*i:])
	}
}

// Top is the physical register that is ST(0).
func (s *FPState) Top() int { return int(s.FSW>>11) & 7 }

// x87 register tags (the full tag word, two bits a register).
const (
	TagValid   = 0
	TagZero    = 1
	TagSpecial = 2
	TagEmpty   = 3
)

// TagWord returns the full x87 tag word that FSTENV would store: the
// abridged tags, with each register in use classified by its contents
// (Linux's twd_fxsr_to_i387).
func (s *FPState) TagWord() uint16 {
	top := s.Top()
	var twd uint16
	for phys := 0; phys < 8; phys++ {
		tag := uint16(TagEmpty)
		if s.FTW&(1<<phys) != 0 {
			tag = uint16(classify(&s.ST[(phys-top)&7]))
		}
		twd |= tag << (2 * phys)
	}
	return twd
}

// classify returns the tag of a register in use.
func classify(r *[10]byte) int {
	sig := binary.LittleEndian.Uint64(r[:8])
	exp := binary.LittleEndian.Uint16(r[8:]) & 0x7fff
	switch {
	case exp == 0x7fff:
		return TagSpecial
	case exp == 0 && sig == 0:
		return TagZero
	case exp == 0, sig>>63 == 0:
		return TagSpecial // denormal, or unnormal
	}
	return TagValid
}

// AbridgedTag returns the FXSAVE tag byte of a full tag word: a register
// is in use unless its tag is empty (Linux's twd_i387_to_fxsr).
func AbridgedTag(twd uint16) uint8 {
	var ftw uint8
	for phys := 0; phys < 8; phys++ {
		if (twd>>(2*phys))&3 != TagEmpty {
			ftw |= 1 << phys
		}
	}
	return ftw
}

// The emulated CPU as Linux describes it to programs in the auxiliary
// vector. emu's tests check these against the engine's CPUID.
const (
	// HWCAP is AT_HWCAP: CPUID leaf 1's EDX (ELF_HWCAP), the same for
	// x86-64 and i386 programs.
	HWCAP = 0x078bfbfd
	// HWCAP2 is AT_HWCAP2: HWCAP2_FSGSBASE (bit 1), as Linux sets it when
	// it enables RDFSBASE and friends (for i386 programs too: the word is
	// global).
	HWCAP2 = 1 << 1
	// MinSigStkSz is AT_MINSIGSTKSZ, Linux's worst-case signal frame for
	// this CPU (init_sigframe_size): the largest frame header, the i386
	// struct sigframe_ia32 (736 bytes, as a 6.18 kernel's 3376 for a
	// 2432-byte XSAVE area implies), 15 bytes of alignment, the XSAVE
	// state of x87 and SSE (576 bytes) with its closing magic (4) and the
	// i386 FSAVE header (112), 63 bytes for the XSAVE area's alignment,
	// rounded up to 16: 1520.
	MinSigStkSz = (736 + 15 + XSAVEFrameSize + FSAVEHeaderSize + 63 + 15) &^ 15
)

// Sizes of the signal frame's FPU state on this CPU (XSAVE with XCR0 =
// x87|SSE, Linux's layout; see syscalls/signals.go).
const (
	// XSAVESize is the XSAVE area of the enabled features: the FXSAVE
	// image and the 64-byte XSAVE header.
	XSAVESize = FXSAVESize + 64
	// XSAVEFrameSize adds FP_XSTATE_MAGIC2 after the area.
	XSAVEFrameSize = XSAVESize + 4
	// FSAVEHeaderSize is the i386 frame's struct fregs_state before it.
	FSAVEHeaderSize = 112
	// XCR0 is the emulated CPU's enabled XSAVE features: x87 and SSE.
	XCR0 = 0x3
)

// Platform is AT_PLATFORM for programs of mode m.
func Platform(m Mode) string {
	if m == Mode32 {
		return "i686"
	}
	return "x86_64"
}
