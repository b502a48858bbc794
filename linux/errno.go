// Package linux holds the plain facts of the Linux ABI that cmaemu emulates:
// errno values, syscall numbers for x86-64 and i386, and the constants and
// structure layouts handlers need. It has no behaviour and no dependencies.
package linux

import "strconv"

//go:generate go run ./internal/gen

// Errno is a Linux error number. A handler returns it as its error; only the
// syscall dispatcher turns it into the negative value a guest sees.
type Errno uintptr

// Error returns the C library's description, e.g. "Bad address".
func (e Errno) Error() string {
	if e == 0 {
		return "Success"
	}
	if int(e) < len(errnoText) && errnoText[e] != "" {
		return errnoText[e]
	}
	return "Unknown error " + itoa(uint64(e))
}

// Name returns the symbolic name, e.g. "EFAULT"; "0" for no error.
func (e Errno) Name() string {
	if e == 0 {
		return "0"
	}
	if int(e) < len(errnoNames) && errnoNames[e] != "" {
		return errnoNames[e]
	}
	return "E?" + itoa(uint64(e))
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }
