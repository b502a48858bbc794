package loader

import (
	"debug/elf"
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by Check and Load for a bad
// executable matches exactly one of ErrNotELF, ErrWrongArch, ErrUnsupported
// and ErrBadELF under errors.Is; a truncated file also matches ErrTruncated.
// Errors of the Memory and of the io.ReaderAt are returned wrapped as they are.
var (
	// ErrNotELF: the file does not start with the ELF magic (an empty file,
	// a script, text...). A shell reports "cannot execute binary file" (126).
	ErrNotELF = errors.New("not an ELF file")
	// ErrWrongArch: an ELF file for another machine, class or byte order
	// (ENOEXEC, "Exec format error", 126).
	ErrWrongArch = errors.New("exec format error")
	// ErrUnsupported: a valid x86 executable that cmaemu cannot run:
	// a dynamically linked one (with PT_INTERP).
	ErrUnsupported = errors.New("unsupported executable")
	// ErrBadELF: a malformed or truncated ELF file (see FormatError).
	ErrBadELF = errors.New("malformed ELF file")
	// ErrTruncated: the file ends before data its headers describe.
	// Errors that match it match ErrBadELF too.
	ErrTruncated = errors.New("truncated ELF file")
	// ErrArgListTooLong: the argument and environment strings do not fit
	// the limits of execve (E2BIG).
	ErrArgListTooLong = errors.New("argument list too long")
)

// FormatError reports a malformed ELF file. It matches ErrBadELF, and also
// ErrTruncated when Truncated is set.
type FormatError struct {
	Off       int64  // file offset of the offending field or data
	Msg       string // what is wrong
	Truncated bool   // the file is too short for what its headers describe
	Err       error  // underlying error (from debug/elf), or nil
}

func (e *FormatError) Error() string {
	kind := ErrBadELF.Error()
	if e.Truncated {
		kind = ErrTruncated.Error()
	}
	s := fmt.Sprintf("%s: %s (at offset %#x)", kind, e.Msg, e.Off)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is reports whether target is ErrBadELF, or ErrTruncated for a truncated file.
func (e *FormatError) Is(target error) bool {
	return target == ErrBadELF || (e.Truncated && target == ErrTruncated)
}

// Unwrap returns the underlying error, if any.
func (e *FormatError) Unwrap() error { return e.Err }

// ArchError reports an ELF file for an architecture cmaemu does not emulate.
// It matches ErrWrongArch.
type ArchError struct {
	Class   elf.Class
	Data    elf.Data
	Machine elf.Machine
}

func (e *ArchError) Error() string {
	return fmt.Sprintf("%s: ELF file for %s, %s, %s; cmaemu runs x86-64 (ELFCLASS64 EM_X86_64) and i386 (ELFCLASS32 EM_386) little-endian executables",
		ErrWrongArch, e.Class, e.Data, e.Machine)
}

// Unwrap returns ErrWrongArch.
func (e *ArchError) Unwrap() error { return ErrWrongArch }

// UnsupportedError reports an executable cmaemu cannot run. It matches
// ErrUnsupported.
type UnsupportedError struct {
	Interp string // the PT_INTERP path of a dynamically linked program, if readable
}

func (e *UnsupportedError) Error() string {
	s := "dynamically linked programs are not supported; build with -static"
	if e.Interp != "" {
		s += fmt.Sprintf(" (program interpreter %q)", e.Interp)
	}
	return s
}

// Unwrap returns ErrUnsupported.
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

func badELF(off int64, format string, args ...any) error {
	return &FormatError{Off: off, Msg: fmt.Sprintf(format, args...)}
}

func truncated(off int64, format string, args ...any) error {
	return &FormatError{Off: off, Msg: fmt.Sprintf(format, args...), Truncated: true}
}
