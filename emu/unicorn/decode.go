package unicorn

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// InsnLen decodes the instruction at the start of code with the block
// check's decoder (decode.c): its length, -1 when the decoder does not
// understand it, and whether the emulated CPU refuses it with #UD
// although Unicorn would run it. For tests and tools.
func InsnLen(code []byte, mode64 bool) (n int, ud bool) {
	n, r := insnDecode(code, mode64)
	return n, r == C.CMUC_REFUSE_UD
}

// InsnGP says whether the decoder finds the instruction at the start of
// code to be #GP at CPL 3 where Unicorn would run it (port I/O, INT n).
func InsnGP(code []byte, mode64 bool) bool {
	_, r := insnDecode(code, mode64)
	return r == C.CMUC_REFUSE_GP
}

func insnDecode(code []byte, mode64 bool) (int, C.int) {
	if len(code) == 0 {
		return -1, 0
	}
	var u C.int
	n := int(C.cmuc_insn_decode((*C.uint8_t)(unsafe.Pointer(&code[0])), C.int(len(code)), cbool(mode64), &u))
	return n, u
}

// ScanCode walks code, whole instructions as a translation block holds
// them, and returns the offset of the first instruction the CPU refuses,
// or -1 if there is none (or the decoder loses its way).
func ScanCode(code []byte, mode64 bool) int {
	if len(code) == 0 {
		return -1
	}
	return int(C.cmuc_scan_code((*C.uint8_t)(unsafe.Pointer(&code[0])), C.int(len(code)), cbool(mode64)))
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
