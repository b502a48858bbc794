package loader

import (
	"debug/elf"
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by Check and Load for a bad
// executable matches exactly one of ErrNotELF, ErrWrongArch, ErrUnsupported,
// ErrBadELF and ErrBadInterp under errors.Is; a truncated file also matches
// ErrTruncated. Errors of the Memory, of the io.ReaderAt and of
// Options.OpenInterp are returned wrapped as they are (the last in an
// InterpError).
var (
	// ErrNotELF: the file does not start with the ELF magic (an empty file,
	// a script, text...). A shell reports "cannot execute binary file" (126).
	ErrNotELF = errors.New("not an ELF file")
	// ErrWrongArch: an ELF file for another machine, class or byte order
	// (ENOEXEC, "Exec format error", 126).
	ErrWrongArch = errors.New("exec format error")
	// ErrUnsupported: a valid x86 executable that cannot be loaded as
	// asked: a dynamically linked one (with PT_INTERP) when Options gives
	// no way to open its interpreter.
	ErrUnsupported = errors.New("unsupported executable")
	// ErrBadELF: a malformed or truncated ELF file (see FormatError).
	ErrBadELF = errors.New("malformed ELF file")
	// ErrTruncated: the file ends before data its headers describe.
	// Errors that match it match ErrBadELF too.
	ErrTruncated = errors.New("truncated ELF file")
	// ErrBadInterp: the program's interpreter is not an ELF file Linux
	// would load for it: not ELF, another machine or class, malformed
	// (ELIBBAD, "Accessing a corrupted shared library", 126).
	ErrBadInterp = errors.New("bad program interpreter")
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
	// Program is the class of the program, for an interpreter of the other
	// class (0 otherwise).
	Program elf.Class
}

func (e *ArchError) Error() string {
	if e.Program != 0 && e.Program != e.Class {
		return fmt.Sprintf("%s: ELF file for %s, %s; the program is %s", ErrWrongArch, e.Class, e.Machine, e.Program)
	}
	return fmt.Sprintf("%s: ELF file for %s, %s, %s; cmaemu runs x86-64 (ELFCLASS64 EM_X86_64) and i386 (ELFCLASS32 EM_386) little-endian executables",
		ErrWrongArch, e.Class, e.Data, e.Machine)
}

// Unwrap returns ErrWrongArch.
func (e *ArchError) Unwrap() error { return ErrWrongArch }

// UnsupportedError reports an executable that cannot be loaded as asked.
// It matches ErrUnsupported.
type UnsupportedError struct {
	Interp string // the PT_INTERP path of a dynamically linked program
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("dynamically linked program (interpreter %q) and no way to open its interpreter", e.Interp)
}

// Unwrap returns ErrUnsupported.
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

// InterpError reports a program interpreter that cannot be loaded. Err is
// the error of Options.OpenInterp, which InterpError wraps (an errno such
// as ENOENT or EACCES passes through), or why the interpreter's file is
// unusable, in which case it matches ErrBadInterp and nothing else.
type InterpError struct {
	Name string // the PT_INTERP path
	Err  error
}

func (e *InterpError) Error() string {
	return fmt.Sprintf("program interpreter %s: %v", e.Name, e.Err)
}

// bad reports whether Err is about the interpreter's contents.
func (e *InterpError) bad() bool {
	for _, s := range []error{ErrNotELF, ErrWrongArch, ErrBadELF, ErrUnsupported} {
		if errors.Is(e.Err, s) {
			return true
		}
	}
	return false
}

// Is reports whether target is ErrBadInterp for an unusable interpreter.
func (e *InterpError) Is(target error) bool { return target == ErrBadInterp && e.bad() }

// Unwrap returns the error of Options.OpenInterp or of reading the
// interpreter; the format errors of an unusable one are not unwrapped, so
// that it matches ErrBadInterp only (they are in Err).
func (e *InterpError) Unwrap() error {
	if e.bad() {
		return nil
	}
	return e.Err
}

func badELF(off int64, format string, args ...any) error {
	return &FormatError{Off: off, Msg: fmt.Sprintf(format, args...)}
}

func truncated(off int64, format string, args ...any) error {
	return &FormatError{Off: off, Msg: fmt.Sprintf(format, args...), Truncated: true}
}
