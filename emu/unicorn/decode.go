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
	if len(code) == 0 {
		return -1, false
	}
	var u C.int
	n = int(C.cmuc_insn_decode((*C.uint8_t)(unsafe.Pointer(&code[0])), C.int(len(code)), cbool(mode64), &u))
	return n, u != 0
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
