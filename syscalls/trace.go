package syscalls

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// The tracer prints what strace 6.x prints with its default options
// (-s 32, no -v, no -y, no -X): the decoders below follow strace's own
// (print_array, printstr_ex, printpath, tprint_iov_upto, printflags,
// printxval, printstatus, the clone and arch_prctl decoders), and
// trace_test.go holds the lines strace 6.1 printed for the same calls.

// ArgKind says how the tracer prints one argument, as strace does.
type ArgKind struct {
	k   argKind
	ref int // index of the length/count argument, for buffers and iovecs
}

type argKind uint8

const (
	kindInt argKind = iota
	kindUint
	kindLong
	kindHex
	kindPtr
	kindFD
	kindPath
	kindBufIn
	kindBufOut
	kindIovIn
	kindIovOut
	kindIovPtr
	kindOpenFlags
	kindOctal
	kindProt
	kindMapFlags
	kindSignal
	kindArchPrctl
	kindWhence
	kindClock
	kindMadvise
	kindCloneFlags
	kindWaitOptions
	kindWaitStatus
	kindPipeFlags
	kindFDPair
	kindSockFamily
	kindSockType
	kindMsgFlags
	kindShutHow
)

// Argument kinds for tables.
var (
	Int  = ArgKind{k: kindInt}  // C int
	Uint = ArgKind{k: kindUint} // unsigned long / size_t
	Long = ArgKind{k: kindLong} // long (32 bits in an i386 task)
	Hex  = ArgKind{k: kindHex}
	Ptr  = ArgKind{k: kindPtr} // NULL or an address
	// FD is a file descriptor; one followed by a Path is a directory fd
	// and may be AT_FDCWD.
	FD   = ArgKind{k: kindFD}
	Path = ArgKind{k: kindPath}
	// OpenFlags are open(2) flags; an Octal mode right after them is
	// printed only if they include O_CREAT or O_TMPFILE.
	OpenFlags = ArgKind{k: kindOpenFlags}
	Octal     = ArgKind{k: kindOctal} // a mode_t, as 0644
	ProtArg   = ArgKind{k: kindProt}
	MapFlags  = ArgKind{k: kindMapFlags}
	SignalArg = ArgKind{k: kindSignal}
	// ArchPrctlArg is arch_prctl's code; it decides how the address
	// after it is printed (ARCH_GET_FS: the value stored there).
	ArchPrctlArg = ArgKind{k: kindArchPrctl}
	WhenceArg    = ArgKind{k: kindWhence}
	ClockArg     = ArgKind{k: kindClock}
	MadvArg      = ArgKind{k: kindMadvise}
	// CloneFlags are clone's flags and exit signal; a call whose first
	// argument they are is printed as strace prints clone (child_stack=,
	// flags=, parent_tid=, tls=, child_tidptr=).
	CloneFlags  = ArgKind{k: kindCloneFlags}
	WaitOptions = ArgKind{k: kindWaitOptions}
	WaitStatus  = ArgKind{k: kindWaitStatus} // int *, printed at exit
	PipeFlags   = ArgKind{k: kindPipeFlags}
	FDPair      = ArgKind{k: kindFDPair} // int[2], printed at exit
)

// BufIn is a buffer the call reads, of length argument n: printed at entry.
func BufIn(n int) ArgKind { return ArgKind{k: kindBufIn, ref: n} }

// BufOut is a buffer the call fills: printed at exit, up to the result.
func BufOut(n int) ArgKind { return ArgKind{k: kindBufOut, ref: n} }

// IovIn is an iovec array the call reads, count argument n.
func IovIn(n int) ArgKind { return ArgKind{k: kindIovIn, ref: n} }

// IovOut is an iovec array the call fills, count argument n.
func IovOut(n int) ArgKind { return ArgKind{k: kindIovOut, ref: n} }

// IovPtr is an iovec array of another address space (the remote side of
// CMA): its elements are shown as addresses.
func IovPtr(n int) ArgKind { return ArgKind{k: kindIovPtr, ref: n} }

// atExit reports whether the argument is printed when the call returns.
func (k ArgKind) atExit() bool {
	switch k.k {
	case kindBufOut, kindIovOut, kindWaitStatus, kindFDPair:
		return true
	}
	return false
}

// maxStr is how many bytes of a string or buffer strace shows (-s 32),
// and how many elements of an array.
const maxStr = 32

// resultColumn is where strace starts "= result" (-a 40).
const resultColumn = 40

// omitted stands for an argument strace does not print.
const omitted = "\x00"

// tracer writes strace-format lines to w, if not nil, and delivers them
// as SyscallEvents to events, if not nil.
type tracer struct {
	mu       sync.Mutex // serialises lines
	w        io.Writer
	mm       bool // print the pieces of CMA copies to w
	events   func(Event)
	eventsMM bool // deliver the pieces of CMA copies to events
}

// traceCall is a call between entry and exit.
type traceCall struct {
	e      *Entry
	name   string
	args   Args
	entry  []string // formatted arguments; "" for those printed at exit
	prefix bool     // the line starts with [pid N]
	nr     uint64
	start  time.Duration // since the kernel started
}

func (tr *tracer) enter(t *Task, nr uint64, e *Entry, a Args) *traceCall {
	c := &traceCall{e: e, name: traceName(t.table, nr), args: a, prefix: manyTasks(t.k), nr: nr, start: t.k.since()}
	if e == nil {
		// strace shows a call it cannot decode with six raw arguments.
		c.entry = make([]string, 6)
		for i := range c.entry {
			c.entry[i] = hexC(t.word(a[i]))
		}
		return c
	}
	c.entry = make([]string, len(e.Args))
	for i, k := range e.Args {
		if !k.atExit() {
			c.entry[i] = formatArg(t, e.Args, a, i)
		}
	}
	return c
}

// manyTasks reports whether more than one task is alive: strace -f starts
// a line with [pid N] when it traces more than one (threads included;
// one that exited no longer counts, reaped or not), as it stands when the
// call starts.
func manyTasks(k *Kernel) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.tasks) > 1
}

// traceName is the syscall's name, or strace's syscall_0x... for numbers
// the ABI does not have.
func traceName(tb *Table, nr uint64) string {
	if _, ok := tb.Entries[nr]; !ok {
		if _, ok := tb.Names[uintptr(nr)]; !ok {
			return "syscall_" + hexC(nr)
		}
	}
	return tb.name(nr)
}

func (tr *tracer) exit(c *traceCall, t *Task, ret uintptr, err error) {
	parts := c.entry
	failed := err != nil
	if c.e != nil {
		for i, k := range c.e.Args {
			if k.atExit() {
				parts[i] = formatExitArg(t, k, c.args, i, uint64(ret), failed)
			}
		}
		if whole := wholeCall(c.e); whole != nil {
			parts = whole(t, c.args, failed)
		}
	}
	var b strings.Builder
	b.WriteString(c.name)
	b.WriteByte('(')
	first := true
	for _, p := range parts {
		if p == omitted {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		b.WriteString(p)
		first = false
	}
	b.WriteByte(')')
	call := b.String()
	var result string
	switch {
	case c.e != nil && c.e.NoReturn && err == nil:
		result = noReturnResult(t)
	case errors.Is(err, errRestart):
		// The kernel's code for a call restarted after a handler (or
		// turned into EINTR without SA_RESTART); strace shows it as is.
		result = "? ERESTARTSYS (To be restarted if SA_RESTART is set)"
	case err != nil:
		e := errnoOf(err)
		result = fmt.Sprintf("-1 %s (%s)", e.Name(), strerror(e))
	case c.e != nil && (c.e.Ret.k == kindHex || c.e.Ret.k == kindPtr):
		result = hexC(t.word(uint64(ret)))
	case c.e != nil && c.e.Ret.k == kindOctal:
		result = octalC(uint64(ret))
	default:
		result = itoa(int64(ret))
	}
	if tr.events != nil {
		ev := SyscallEvent{PID: t.proc.pid, TID: t.tid, Nr: c.nr, Name: c.name, Args: c.args, Ret: ret,
			Line: call + " = " + result, Start: c.start, End: t.k.since()}
		if err != nil {
			ev.Errno, ev.Ret = errnoOf(err), 0
		}
		tr.events(ev)
	}
	if tr.w == nil {
		return
	}
	b.Reset()
	if c.prefix {
		fmt.Fprintf(&b, "[pid %d] ", t.tid)
	}
	b.WriteString(call)
	b.WriteByte(' ')
	for b.Len() < resultColumn {
		b.WriteByte(' ')
	}
	b.WriteString("= ")
	b.WriteString(result)
	b.WriteByte('\n')
	tr.mu.Lock()
	io.WriteString(tr.w, b.String())
	tr.mu.Unlock()
}

// noReturnResult is what strace shows for a call that does not return to
// its caller: 0 for an execve that worked (the new program sees it), the
// restored RAX for rt_sigreturn (the interrupted call's result, or the
// number of a call about to restart), "?" for exit.
func noReturnResult(t *Task) string {
	switch {
	case t.execMM != nil:
		return "0"
	case t.frame != nil && t.frame.KeepRegs && t.cpu != nil:
		regs, err := t.cpu.Regs()
		if err != nil {
			return "?"
		}
		v := int64(regs.RAX)
		if t.is32() {
			v = int64(int32(regs.RAX))
		}
		if v < 0 && v >= -4095 {
			e := linux.Errno(-v)
			return "-1 " + e.Name() + " (" + strerror(e) + ")"
		}
		return itoa(v)
	}
	return "?"
}

// strerror is the C library's text for e, which strace prints:
// linux.Errno's texts are the kernel headers' comments, and glibc's differ
// for these.
func strerror(e linux.Errno) string {
	if s, ok := libcErrorText[e]; ok {
		return s
	}
	return e.Error()
}

var libcErrorText = map[linux.Errno]string{
	linux.EIO:        "Input/output error",
	linux.EBADF:      "Bad file descriptor",
	linux.EAGAIN:     "Resource temporarily unavailable",
	linux.ENOMEM:     "Cannot allocate memory",
	linux.EXDEV:      "Invalid cross-device link",
	linux.ENFILE:     "Too many open files in system",
	linux.ENOTTY:     "Inappropriate ioctl for device",
	linux.EDOM:       "Numerical argument out of domain",
	linux.ERANGE:     "Numerical result out of range",
	linux.EDEADLK:    "Resource deadlock avoided",
	linux.ENOLCK:     "No locks available",
	linux.ENOSYS:     "Function not implemented",
	linux.ELOOP:      "Too many levels of symbolic links",
	linux.EBADMSG:    "Bad message",
	linux.EILSEQ:     "Invalid or incomplete multibyte or wide character",
	linux.EOPNOTSUPP: "Operation not supported",
	linux.ENETRESET:  "Network dropped connection on reset",
	linux.EDQUOT:     "Disk quota exceeded",
	linux.ECANCELED:  "Operation canceled",
}

// is32 reports whether the task runs the i386 ABI (4-byte longs and
// pointers).
func (t *Task) is32() bool { return t.table.abi.mode == arch.Mode32 }

// word truncates a register value to the ABI's unsigned long.
func (t *Task) word(v uint64) uint64 {
	if t.is32() {
		return uint64(uint32(v))
	}
	return v
}

// hexC formats v as C's "%#x" does: 0 is "0", not "0x0".
func hexC(v uint64) string {
	if v == 0 {
		return "0"
	}
	return "0x" + strconv.FormatUint(v, 16)
}

// octalC formats v as C's "%#03o" does: 000, 007, 022, 0644.
func octalC(v uint64) string {
	s := "0"
	if v != 0 {
		s += strconv.FormatUint(v, 8)
	}
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

// formatPtr is strace's printaddr: NULL or the address in hex.
func formatPtr(v uint64) string {
	if v == 0 {
		return "NULL"
	}
	return hexC(v)
}

// formatArg formats argument i, of kinds[i], at entry.
func formatArg(t *Task, kinds []ArgKind, a Args, i int) string {
	k, v := kinds[i], a[i]
	switch k.k {
	case kindInt:
		return itoa(int64(int32(v)))
	case kindUint:
		return utoa(t.word(v))
	case kindLong:
		if t.is32() {
			return itoa(int64(int32(v)))
		}
		return itoa(int64(v))
	case kindHex:
		return hexC(t.word(v))
	case kindPtr:
		return formatPtr(t.word(v))
	case kindFD:
		if int32(v) == linux.AT_FDCWD && i+1 < len(kinds) && kinds[i+1].k == kindPath {
			return "AT_FDCWD"
		}
		return itoa(int64(int32(v)))
	case kindPath:
		return formatPath(t, t.word(v))
	case kindBufIn:
		return formatBuf(t, t.word(v), t.word(a[k.ref]))
	case kindIovIn:
		return formatIovecs(t, t.word(v), t.word(a[k.ref]), true, ^uint64(0))
	case kindIovPtr:
		return formatIovecs(t, t.word(v), t.word(a[k.ref]), false, 0)
	case kindOpenFlags:
		return formatOpenFlags(uint64(uint32(v)))
	case kindOctal:
		if i > 0 && kinds[i-1].k == kindOpenFlags && a[i-1]&(oCreat|oTmpfileBit) == 0 {
			return omitted
		}
		return octalC(uint64(uint16(v))) // umode_t
	case kindProt:
		return formatFlags(t.word(v), protNames, "PROT_NONE")
	case kindMapFlags:
		return formatMapFlags(t.word(v))
	case kindSignal:
		return signalName(int32(v))
	case kindArchPrctl:
		return formatEnum(uint64(uint32(v)), archPrctlNames, "ARCH_???")
	case kindWhence:
		return formatEnum(uint64(uint32(v)), whenceNames, "SEEK_???")
	case kindClock:
		return formatEnum(uint64(uint32(v)), clockNames, "CLOCK_???")
	case kindMadvise:
		return formatEnum(uint64(uint32(v)), madviseNames, "MADV_???")
	case kindCloneFlags:
		return formatCloneFlags(t.word(v))
	case kindWaitOptions:
		return formatFlags(uint64(uint32(v)), waitOptionNames, "0")
	case kindPipeFlags:
		return formatFlags(uint64(uint32(v)), pipeFlagNames, "0")
	}
	if s, ok := formatSocketArg(k.k, v); ok {
		return s
	}
	return hexC(t.word(v))
}

// formatExitArg formats argument i, of kind k, when the call returns ret
// (failed: with an error). strace does not read what a failed call was to
// fill: it shows the address.
func formatExitArg(t *Task, k ArgKind, a Args, i int, ret uint64, failed bool) string {
	v := t.word(a[i])
	switch k.k {
	case kindBufOut:
		if failed {
			return formatPtr(v)
		}
		return formatBuf(t, v, ret)
	case kindIovOut:
		if failed {
			return formatIovecs(t, v, t.word(a[k.ref]), false, 0)
		}
		return formatIovecs(t, v, t.word(a[k.ref]), true, ret)
	case kindWaitStatus:
		if failed || ret == 0 { // nothing was stored (WNOHANG)
			return formatPtr(v)
		}
		var b [4]byte
		if v == 0 || t.copyIn(v, b[:]) != nil {
			return formatPtr(v)
		}
		return "[" + formatWaitStatus(binary.LittleEndian.Uint32(b[:])) + "]"
	case kindFDPair:
		var b [8]byte
		if failed || v == 0 || t.copyIn(v, b[:]) != nil {
			return formatPtr(v)
		}
		return fmt.Sprintf("[%d, %d]", int32(binary.LittleEndian.Uint32(b[:])), int32(binary.LittleEndian.Uint32(b[4:])))
	}
	return hexC(v)
}

func leUint32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }

// copyIn reads len(b) bytes of the task's memory at addr, all or nothing.
func (t *Task) copyIn(addr uint64, b []byte) error {
	_, err := t.MM().CopyIn(mm.Addr(addr), b)
	return err
}

// formatPath prints a NUL-terminated path in full (strace's printpath:
// up to PATH_MAX-1 bytes, not limited by -s).
func formatPath(t *Task, addr uint64) string {
	if addr == 0 {
		return "NULL"
	}
	s, err := t.MM().CopyInString(mm.Addr(addr), linux.PATH_MAX-1)
	if errors.Is(err, linux.ENAMETOOLONG) {
		b := make([]byte, linux.PATH_MAX-1)
		if t.copyIn(addr, b) == nil {
			return `"` + escape(b) + `"...`
		}
	}
	if err != nil {
		return formatPtr(addr)
	}
	return `"` + escape([]byte(s)) + `"`
}

// formatBuf prints n bytes at addr as strace's printstr_ex: at most maxStr
// of them, then "..." if there were more. strace fetches one byte more
// than it shows, so a buffer that is not readable that far is shown as
// its address.
func formatBuf(t *Task, addr, n uint64) string {
	if addr == 0 {
		return "NULL"
	}
	buf := make([]byte, min(n, maxStr+1))
	if t.copyIn(addr, buf) != nil {
		return formatPtr(addr)
	}
	return quote(buf, n > maxStr)
}

// formatIovecs prints an iovec array of count elements at addr as strace's
// print_array with print_iovec: NULL, [] when empty, the address if the
// first element cannot be read, "... /* addr */" after the last readable
// one, "..." after maxStr elements. strs shows the buffers as strings,
// limited in total to limit bytes (the result of a call that fills them);
// otherwise they are shown as addresses.
func formatIovecs(t *Task, addr, count uint64, strs bool, limit uint64) string {
	if addr == 0 {
		return "NULL"
	}
	if count == 0 {
		return "[]"
	}
	size := uint64(t.table.abi.iovec.size)
	if count > ^uint64(0)/size || addr+count*size < addr {
		return formatPtr(addr)
	}
	var b strings.Builder
	b.WriteByte('[')
	for i := uint64(0); i < count; i++ {
		at := addr + i*size
		iov, err := t.readIovecs(mm.Addr(at), 1)
		if err != nil {
			if i == 0 {
				return formatPtr(addr)
			}
			fmt.Fprintf(&b, ", ... /* %s */", hexC(at))
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		if i == maxStr {
			b.WriteString("...")
			break
		}
		v := iov[0]
		base := formatPtr(uint64(v.Base))
		if strs {
			n := min(v.Len, limit)
			if limit != ^uint64(0) {
				limit -= n
			}
			base = formatBuf(t, uint64(v.Base), n)
		}
		fmt.Fprintf(&b, "{iov_base=%s, iov_len=%d}", base, v.Len)
	}
	b.WriteByte(']')
	return b.String()
}

// formatWaitStatus prints a wait status as strace's printstatus does,
// without the brackets.
func formatWaitStatus(w uint32) string {
	var s string
	switch low := w & 0x7f; {
	case w&0xff == 0x7f: // WIFSTOPPED
		sig := w >> 8 & 0xff
		s = "{WIFSTOPPED(s) && WSTOPSIG(s) == " + signalName(int32(sig&0x7f))
		if sig&0x80 != 0 {
			s += " | 0x80"
		}
		s += "}"
		w &^= sig<<8 | 0x7f
	case low != 0 && low != 0x7f: // WIFSIGNALED
		s = "{WIFSIGNALED(s) && WTERMSIG(s) == " + signalName(int32(low))
		if w&0x80 != 0 {
			s += " && WCOREDUMP(s)"
		}
		s += "}"
		w &^= 0xff
	case low == 0: // WIFEXITED
		s = fmt.Sprintf("{WIFEXITED(s) && WEXITSTATUS(s) == %d}", w>>8&0xff)
		w &^= 0xff00
	case w == 0xffff: // WIFCONTINUED
		return "{WIFCONTINUED(s)}"
	default:
		return hexC(uint64(w))
	}
	if ev := w >> 16; ev != 0 {
		s += " | " + formatEnum(uint64(ev), ptraceEventNames, "PTRACE_EVENT_???") + " << 16"
		w &= 0xffff
	}
	if w != 0 {
		s += " | " + hexC(uint64(w))
	}
	return s
}

// signalName is strace's signame: SIGRTMIN is 32, SIGRT_n is 32+n, other
// numbers are printed as they are.
func signalName(sig int32) string {
	switch {
	case sig > 0 && sig < int32(linux.SIGRTMIN):
		return linux.Signal(sig).String()
	case sig == int32(linux.SIGRTMIN):
		return "SIGRTMIN"
	case sig > int32(linux.SIGRTMIN) && sig <= linux.NSig:
		return "SIGRT_" + itoa(int64(sig-int32(linux.SIGRTMIN)))
	}
	return itoa(int64(sig))
}

// quote renders bytes as a C string literal the way strace does, showing
// at most maxStr of them and "..." after if there were more.
func quote(b []byte, more bool) string {
	if len(b) > maxStr {
		b, more = b[:maxStr], true
	}
	s := `"` + escape(b) + `"`
	if more {
		s += "..."
	}
	return s
}

// escape is strace's string_quote without the quotes: printable ASCII as
// is, C escapes for \t \n \v \f \r " \, octal for the rest (three digits
// if a digit follows).
func escape(b []byte) string {
	var s strings.Builder
	for i, c := range b {
		switch c {
		case '"', '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case '\t':
			s.WriteString(`\t`)
		case '\n':
			s.WriteString(`\n`)
		case '\v':
			s.WriteString(`\v`)
		case '\f':
			s.WriteString(`\f`)
		case '\r':
			s.WriteString(`\r`)
		default:
			if c >= ' ' && c < 0x7f {
				s.WriteByte(c)
				continue
			}
			if i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7' {
				fmt.Fprintf(&s, `\%03o`, c)
			} else {
				fmt.Fprintf(&s, `\%o`, c)
			}
		}
	}
	return s.String()
}

// flagName names a flag or an enum value. A flag table may end with
// {0, "X_???"}: the comment strace adds to bits none of its names cover.
type flagName struct {
	v    uint64
	name string
}

// formatFlags is strace's printflags: the names of the table that v
// contains, in table order, joined by "|"; leftover bits in hex; zero as
// zero; nothing known as "0x.. /* X_??? */".
func formatFlags(v uint64, names []flagName, zero string) string {
	if v == 0 {
		return zero
	}
	var parts []string
	unknown := ""
	for _, f := range names {
		if f.v == 0 {
			unknown = f.name
			continue
		}
		if v&f.v == f.v {
			parts = append(parts, f.name)
			v &^= f.v
		}
	}
	if v != 0 {
		if len(parts) == 0 && unknown != "" {
			return hexC(v) + " /* " + unknown + " */"
		}
		parts = append(parts, hexC(v))
	}
	return strings.Join(parts, "|")
}

// formatEnum is strace's printxval: the value's name or
// "0x.. /* X_??? */".
func formatEnum(v uint64, names []flagName, unknown string) string {
	for _, f := range names {
		if f.v == v {
			return f.name
		}
	}
	return hexC(v) + " /* " + unknown + " */"
}

const (
	oCreat      = 0o100
	oTmpfileBit = 0o20000000 // __O_TMPFILE
)

// formatOpenFlags is strace's tprint_open_modes: the access mode, then
// the other flags.
func formatOpenFlags(v uint64) string {
	acc := []string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"}[v&3]
	if v&^3 == 0 {
		return acc
	}
	return acc + "|" + formatFlags(v&^3, openFlagNames, "")
}

// formatMapFlags is strace's print_mmap_flags: the mapping type (MAP_FILE
// for 0), the other flags, then the huge page size as N<<MAP_HUGE_SHIFT.
func formatMapFlags(v uint64) string {
	const typeMask, hugeShift, hugeMask = 0xf, 26, 0x3f
	s := formatEnum(v&typeMask, mapTypeNames, "MAP_???")
	huge := v >> hugeShift & hugeMask
	if rest := v &^ typeMask &^ (hugeMask << hugeShift); rest != 0 {
		s += "|" + formatFlags(rest, mapFlagNames, "")
	}
	if huge != 0 {
		s += fmt.Sprintf("|%d<<MAP_HUGE_SHIFT", huge)
	}
	return s
}

// formatCloneFlags prints clone's flags and exit signal (the low byte).
func formatCloneFlags(v uint64) string {
	sig, flags := int32(v&0xff), v&^0xff
	if flags == 0 {
		return signalName(sig)
	}
	s := formatFlags(flags, cloneFlagNames, "")
	if sig != 0 {
		s += "|" + signalName(sig)
	}
	return s
}

// wholeCall returns the decoder of a call whose arguments strace prints
// as one, each depending on another, or nil.
func wholeCall(e *Entry) func(t *Task, a Args, failed bool) []string {
	if len(e.Args) == 0 {
		return nil
	}
	switch e.Args[0].k {
	case kindCloneFlags:
		return cloneArgs
	case kindArchPrctl:
		return archPrctlArgs
	}
	return nil
}

const (
	cloneFlagSettls        = 0x00080000
	cloneFlagParentSettid  = 0x00100000
	cloneFlagChildCleartid = 0x00200000
	cloneFlagChildSettid   = 0x01000000
	cloneFlagPidfd         = 0x00001000
)

// cloneArgs prints clone as strace does: x86-64 passes flags, stack,
// parent_tid, child_tid, tls; i386 flags, stack, parent_tid, tls,
// child_tid. The pointers are shown only when a flag uses them.
func cloneArgs(t *Task, a Args, failed bool) []string {
	flags := t.word(a[0])
	ptid, ctid, tls := t.word(a[2]), t.word(a[3]), t.word(a[4])
	if t.is32() {
		ctid, tls = tls, ctid
	}
	parts := []string{"child_stack=" + formatPtr(t.word(a[1])), "flags=" + formatCloneFlags(flags)}
	if flags&(cloneFlagParentSettid|cloneFlagPidfd) != 0 {
		parts = append(parts, "parent_tid="+formatIntAt(t, ptid, failed))
	}
	if flags&cloneFlagSettls != 0 {
		s := formatPtr(tls)
		if t.is32() {
			s = formatUserDesc(t, tls)
		}
		parts = append(parts, "tls="+s)
	}
	if flags&(cloneFlagChildSettid|cloneFlagChildCleartid) != 0 {
		parts = append(parts, "child_tidptr="+formatPtr(ctid))
	}
	return parts
}

// formatIntAt prints the int a call stored at addr, as [n], or the
// address if the call failed or it cannot be read.
func formatIntAt(t *Task, addr uint64, failed bool) string {
	var b [4]byte
	if failed || addr == 0 || t.copyIn(addr, b[:]) != nil {
		return formatPtr(addr)
	}
	return "[" + itoa(int64(int32(binary.LittleEndian.Uint32(b[:])))) + "]"
}

// formatUserDesc prints an i386 struct user_desc as strace's
// print_user_desc does for a 32-bit process.
func formatUserDesc(t *Task, addr uint64) string {
	var b [16]byte
	if addr == 0 || t.copyIn(addr, b[:]) != nil {
		return formatPtr(addr)
	}
	entry := binary.LittleEndian.Uint32(b[0:])
	bits := binary.LittleEndian.Uint32(b[12:])
	e := utoa(uint64(entry))
	if int32(entry) == -1 {
		e = "-1"
	}
	return fmt.Sprintf("{entry_number=%s, base_addr=%s, limit=%s, seg_32bit=%d, contents=%d, read_exec_only=%d, limit_in_pages=%d, seg_not_present=%d, useable=%d}",
		e, hex0(binary.LittleEndian.Uint32(b[4:])), hex0(binary.LittleEndian.Uint32(b[8:])),
		bits&1, bits>>1&3, bits>>3&1, bits>>4&1, bits>>5&1, bits>>6&1)
}

// hex0 formats a u32 as C's "%#08x": zero-padded to 8 characters, 0x
// prefix included, and no prefix for 0.
func hex0(v uint32) string {
	if v == 0 {
		return "00000000"
	}
	h := strconv.FormatUint(uint64(v), 16)
	for len(h) < 6 {
		h = "0" + h
	}
	return "0x" + h
}

// archPrctlArgs prints arch_prctl as strace does: ARCH_GET_FS and
// ARCH_GET_GS show the value stored, ARCH_GET_CPUID has no second
// argument, the others show it in hex.
func archPrctlArgs(t *Task, a Args, failed bool) []string {
	code := uint32(a[0])
	addr := t.word(a[1])
	parts := []string{formatEnum(uint64(code), archPrctlNames, "ARCH_???")}
	switch code {
	case linux.ARCH_GET_FS, linux.ARCH_GET_GS:
		var b [8]byte
		if failed || addr == 0 || t.copyIn(addr, b[:]) != nil {
			return append(parts, formatPtr(addr))
		}
		return append(parts, "["+formatPtr(binary.LittleEndian.Uint64(b[:]))+"]")
	case archGetCPUID:
		return parts
	}
	return append(parts, hexC(addr))
}

const archGetCPUID = 0x1011

// The tables follow strace 6.1's xlat files (names and order).
var (
	protNames = []flagName{{1, "PROT_READ"}, {2, "PROT_WRITE"}, {4, "PROT_EXEC"}, {8, "PROT_SEM"},
		{0x01000000, "PROT_GROWSDOWN"}, {0x02000000, "PROT_GROWSUP"}, {0, "PROT_???"}}
	// openFlagNames has no "O_???": open's flags always start with the
	// access mode.
	openFlagNames = []flagName{{0o100, "O_CREAT"}, {0o200, "O_EXCL"}, {0o400, "O_NOCTTY"},
		{0o1000, "O_TRUNC"}, {0o2000, "O_APPEND"}, {0o4000, "O_NONBLOCK"}, {0o4010000, "O_SYNC"},
		{0o4000000, "__O_SYNC"}, {0o10000, "O_DSYNC"}, {0o40000, "O_DIRECT"}, {0o100000, "O_LARGEFILE"},
		{0o400000, "O_NOFOLLOW"}, {0o1000000, "O_NOATIME"}, {0o2000000, "O_CLOEXEC"}, {0o10000000, "O_PATH"},
		{0o20200000, "O_TMPFILE"}, {0o20000000, "__O_TMPFILE"}, {0o200000, "O_DIRECTORY"}, {0o20000, "FASYNC"}}
	pipeFlagNames = append(openFlagNames[:len(openFlagNames):len(openFlagNames)], flagName{0, "O_???"})
	mapTypeNames  = []flagName{{0, "MAP_FILE"}, {1, "MAP_SHARED"}, {2, "MAP_PRIVATE"}, {3, "MAP_SHARED_VALIDATE"}}
	mapFlagNames  = []flagName{{0x10, "MAP_FIXED"}, {0x20, "MAP_ANONYMOUS"}, {0x40, "MAP_32BIT"},
		{0x4000, "MAP_NORESERVE"}, {0x8000, "MAP_POPULATE"}, {0x10000, "MAP_NONBLOCK"}, {0x100, "MAP_GROWSDOWN"},
		{0x800, "MAP_DENYWRITE"}, {0x1000, "MAP_EXECUTABLE"}, {0x2000, "MAP_LOCKED"}, {0x20000, "MAP_STACK"},
		{0x40000, "MAP_HUGETLB"}, {0x80000, "MAP_SYNC"}, {0x100000, "MAP_FIXED_NOREPLACE"}}
	cloneFlagNames = []flagName{{0x100, "CLONE_VM"}, {0x200, "CLONE_FS"}, {0x400, "CLONE_FILES"},
		{0x800, "CLONE_SIGHAND"}, {0x1000, "CLONE_PIDFD"}, {0x2000, "CLONE_PTRACE"}, {0x4000, "CLONE_VFORK"},
		{0x8000, "CLONE_PARENT"}, {0x10000, "CLONE_THREAD"}, {0x20000, "CLONE_NEWNS"}, {0x40000, "CLONE_SYSVSEM"},
		{0x80000, "CLONE_SETTLS"}, {0x100000, "CLONE_PARENT_SETTID"}, {0x200000, "CLONE_CHILD_CLEARTID"},
		{0x800000, "CLONE_UNTRACED"}, {0x1000000, "CLONE_CHILD_SETTID"}, {0x2000000, "CLONE_NEWCGROUP"},
		{0x4000000, "CLONE_NEWUTS"}, {0x8000000, "CLONE_NEWIPC"}, {0x10000000, "CLONE_NEWUSER"},
		{0x20000000, "CLONE_NEWPID"}, {0x40000000, "CLONE_NEWNET"}, {0x80000000, "CLONE_IO"}, {0, "CLONE_???"}}
	waitOptionNames = []flagName{{1, "WNOHANG"}, {4, "WEXITED"}, {2, "WSTOPPED"}, {8, "WCONTINUED"},
		{0x01000000, "WNOWAIT"}, {0x80000000, "__WCLONE"}, {0x40000000, "__WALL"}, {0x20000000, "__WNOTHREAD"},
		{0, "W???"}}
	archPrctlNames = []flagName{{0x1001, "ARCH_SET_GS"}, {0x1002, "ARCH_SET_FS"}, {0x1003, "ARCH_GET_FS"},
		{0x1004, "ARCH_GET_GS"}, {0x1011, "ARCH_GET_CPUID"}, {0x1012, "ARCH_SET_CPUID"},
		{0x1021, "ARCH_GET_XCOMP_SUPP"}, {0x1022, "ARCH_GET_XCOMP_PERM"}, {0x1023, "ARCH_REQ_XCOMP_PERM"},
		{0x1024, "ARCH_GET_XCOMP_GUEST_PERM"}, {0x1025, "ARCH_REQ_XCOMP_GUEST_PERM"},
		{0x2001, "ARCH_MAP_VDSO_X32"}, {0x2002, "ARCH_MAP_VDSO_32"}, {0x2003, "ARCH_MAP_VDSO_64"}}
	whenceNames = []flagName{{0, "SEEK_SET"}, {1, "SEEK_CUR"}, {2, "SEEK_END"}, {3, "SEEK_DATA"}, {4, "SEEK_HOLE"}}
	clockNames  = []flagName{{0, "CLOCK_REALTIME"}, {1, "CLOCK_MONOTONIC"}, {2, "CLOCK_PROCESS_CPUTIME_ID"},
		{3, "CLOCK_THREAD_CPUTIME_ID"}, {4, "CLOCK_MONOTONIC_RAW"}, {5, "CLOCK_REALTIME_COARSE"},
		{6, "CLOCK_MONOTONIC_COARSE"}, {7, "CLOCK_BOOTTIME"}, {8, "CLOCK_REALTIME_ALARM"},
		{9, "CLOCK_BOOTTIME_ALARM"}, {10, "CLOCK_SGI_CYCLE"}, {11, "CLOCK_TAI"}}
	madviseNames = []flagName{{0, "MADV_NORMAL"}, {1, "MADV_RANDOM"}, {2, "MADV_SEQUENTIAL"},
		{3, "MADV_WILLNEED"}, {4, "MADV_DONTNEED"}, {8, "MADV_FREE"}, {9, "MADV_REMOVE"}, {10, "MADV_DONTFORK"},
		{11, "MADV_DOFORK"}, {12, "MADV_MERGEABLE"}, {13, "MADV_UNMERGEABLE"}, {14, "MADV_HUGEPAGE"},
		{15, "MADV_NOHUGEPAGE"}, {16, "MADV_DONTDUMP"}, {17, "MADV_DODUMP"}, {18, "MADV_WIPEONFORK"},
		{19, "MADV_KEEPONFORK"}, {20, "MADV_COLD"}, {21, "MADV_PAGEOUT"}, {22, "MADV_POPULATE_READ"},
		{23, "MADV_POPULATE_WRITE"}, {24, "MADV_DONTNEED_LOCKED"}, {25, "MADV_COLLAPSE"},
		{100, "MADV_HWPOISON"}, {101, "MADV_SOFT_OFFLINE"}}
	ptraceEventNames = []flagName{{1, "PTRACE_EVENT_FORK"}, {2, "PTRACE_EVENT_VFORK"}, {3, "PTRACE_EVENT_CLONE"},
		{4, "PTRACE_EVENT_EXEC"}, {5, "PTRACE_EVENT_VFORK_DONE"}, {6, "PTRACE_EVENT_EXIT"},
		{7, "PTRACE_EVENT_SECCOMP"}, {0x80, "PTRACE_EVENT_STOP"}}
)
