package unicorn

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// Carried says whether the instruction at the start of code (n bytes
// long, as the instruction check's decoder measured it) is one that
// intfix.c computes itself through the PAUSE carrier. For tests and
// tools.
func Carried(code []byte, n int, mode64 bool) bool {
	if len(code) == 0 {
		return false
	}
	return C.cmuc_intfix_match((*C.uint8_t)(unsafe.Pointer(&code[0])), C.int(len(code)), C.int(n), cbool(mode64)) != 0
}
