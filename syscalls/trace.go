package syscalls

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

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
)

// Argument kinds for tables.
var (
	Int          = ArgKind{k: kindInt}
	Uint         = ArgKind{k: kindUint}
	Long         = ArgKind{k: kindLong}
	Hex          = ArgKind{k: kindHex}
	Ptr          = ArgKind{k: kindPtr}
	FD           = ArgKind{k: kindFD}
	Path         = ArgKind{k: kindPath}
	OpenFlags    = ArgKind{k: kindOpenFlags}
	Octal        = ArgKind{k: kindOctal}
	ProtArg      = ArgKind{k: kindProt}
	MapFlags     = ArgKind{k: kindMapFlags}
	SignalArg    = ArgKind{k: kindSignal}
	ArchPrctlArg = ArgKind{k: kindArchPrctl}
	WhenceArg    = ArgKind{k: kindWhence}
	ClockArg     = ArgKind{k: kindClock}
	MadvArg      = ArgKind{k: kindMadvise}
	CloneFlags   = ArgKind{k: kindCloneFlags}
	WaitOptions  = ArgKind{k: kindWaitOptions}
	WaitStatus   = ArgKind{k: kindWaitStatus} // int *, printed at exit
	PipeFlags    = ArgKind{k: kindPipeFlags}
	FDPair       = ArgKind{k: kindFDPair} // int[2], printed at exit
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

// maxStr is how many bytes of a string or buffer strace shows (-s 32).
const maxStr = 32

// tracer writes strace-format lines.
type tracer struct {
	mu sync.Mutex // serialises lines
	w  io.Writer
	mm bool
}

// traceCall is a call between entry and exit.
type traceCall struct {
	e     *Entry
	name  string
	args  Args
	entry []string // formatted arguments; "" for those printed at exit
}

func (tr *tracer) enter(t *Task, nr uint64, e *Entry, a Args) *traceCall {
	c := &traceCall{e: e, name: t.table.name(nr), args: a}
	if e == nil {
		c.entry = make([]string, 6)
		for i := range c.entry {
			c.entry[i] = fmt.Sprintf("%#x", a[i])
		}
		return c
	}
	c.entry = make([]string, len(e.Args))
	for i, k := range e.Args {
		if !k.atExit() {
			c.entry[i] = formatArg(t, k, a, i, 0)
		}
	}
	return c
}

func (tr *tracer) exit(c *traceCall, t *Task, ret uintptr, err error) {
	parts := c.entry
	if c.e != nil {
		for i, k := range c.e.Args {
			if k.atExit() {
				if err != nil {
					parts[i] = formatPtr(c.args[i])
				} else {
					parts[i] = formatArg(t, k, c.args, i, uint64(ret))
				}
			}
		}
	}
	var b strings.Builder
	if t.k.multiProcess() {
		fmt.Fprintf(&b, "[pid %d] ", t.tid)
	}
	fmt.Fprintf(&b, "%s(%s) = ", c.name, strings.Join(parts, ", "))
	switch {
	case c.e != nil && c.e.NoReturn && err == nil:
		b.WriteString("?")
	case err != nil:
		e := errnoOf(err)
		fmt.Fprintf(&b, "-1 %s (%s)", e.Name(), e.Error())
	case c.e != nil && (c.e.Ret.k == kindHex || c.e.Ret.k == kindPtr):
		fmt.Fprintf(&b, "%#x", uint64(ret))
	default:
		b.WriteString(itoa(int64(ret)))
	}
	b.WriteByte('\n')
	tr.mu.Lock()
	io.WriteString(tr.w, b.String())
	tr.mu.Unlock()
}

func formatPtr(v uint64) string {
	if v == 0 {
		return "NULL"
	}
	return fmt.Sprintf("%#x", v)
}

func formatArg(t *Task, k ArgKind, a Args, i int, ret uint64) string {
	v := a[i]
	switch k.k {
	case kindInt:
		return itoa(int64(int32(v)))
	case kindUint:
		return utoa(v)
	case kindLong:
		return itoa(int64(v))
	case kindHex:
		return fmt.Sprintf("%#x", v)
	case kindPtr:
		return formatPtr(v)
	case kindFD:
		if int32(v) == linux.AT_FDCWD {
			return "AT_FDCWD"
		}
		return itoa(int64(int32(v)))
	case kindPath:
		s, err := t.MM().CopyInString(mm.Addr(v), linux.PATH_MAX)
		if err != nil {
			return formatPtr(v)
		}
		return quote([]byte(s), len(s) > maxStr)
	case kindBufIn:
		return formatBuf(t, v, a[k.ref])
	case kindBufOut:
		return formatBuf(t, v, ret)
	case kindIovIn:
		return formatIovecs(t, v, a[k.ref], ^uint64(0))
	case kindIovOut:
		return formatIovecs(t, v, a[k.ref], ret)
	case kindIovPtr:
		return formatRemoteIovecs(t, v, a[k.ref])
	case kindOpenFlags:
		return formatOpenFlags(v)
	case kindOctal:
		return fmt.Sprintf("%#o", v)
	case kindProt:
		return formatFlags(v, protNames, "PROT_NONE")
	case kindMapFlags:
		return formatMapFlags(v)
	case kindSignal:
		if v == 0 {
			return "0"
		}
		return linux.Signal(v).String()
	case kindArchPrctl:
		return formatEnum(v, archPrctlNames)
	case kindWhence:
		return formatEnum(v, whenceNames)
	case kindClock:
		return formatEnum(v, clockNames)
	case kindMadvise:
		return formatEnum(v, madviseNames)
	case kindCloneFlags:
		sig := v & 0xff
		rest := formatFlags(v&^0xff, cloneFlagNames, "")
		switch {
		case sig == 0:
			if rest == "" {
				return "0"
			}
			return rest
		case rest == "":
			return linux.Signal(sig).String()
		}
		return rest + "|" + linux.Signal(sig).String()
	case kindWaitOptions:
		return formatFlags(v, waitOptionNames, "0")
	case kindPipeFlags:
		return formatFlags(v, openFlagNames, "0")
	case kindWaitStatus:
		return formatWaitStatus(t, v)
	case kindFDPair:
		var b [8]byte
		if v == 0 {
			return "NULL"
		}
		if _, err := t.MM().CopyIn(mm.Addr(v), b[:]); err != nil {
			return formatPtr(v)
		}
		return fmt.Sprintf("[%d, %d]", int32(leUint32(b[:])), int32(leUint32(b[4:])))
	}
	return fmt.Sprintf("%#x", v)
}

// formatBuf reads n bytes at addr and quotes at most maxStr of them.
func formatBuf(t *Task, addr, n uint64) string {
	show := min(n, maxStr)
	buf := make([]byte, show)
	if _, err := t.MM().CopyIn(mm.Addr(addr), buf); err != nil {
		return formatPtr(addr)
	}
	return quote(buf, n > maxStr)
}

// formatIovecs prints an iovec array; the bytes shown are limited in total
// to limit (the result of a call that fills the buffers).
func formatIovecs(t *Task, addr, count, limit uint64) string {
	if count > linux.UIO_MAXIOV {
		return formatPtr(addr)
	}
	iovs, err := t.readIovecs(mm.Addr(addr), int(count))
	if err != nil {
		return formatPtr(addr)
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range iovs {
		if i > 0 {
			b.WriteString(", ")
		}
		n := min(v.Len, limit)
		limit -= n
		fmt.Fprintf(&b, "{iov_base=%s, iov_len=%d}", formatBuf(t, uint64(v.Base), n), v.Len)
	}
	b.WriteByte(']')
	return b.String()
}

// formatWaitStatus prints a wait status the way strace does.
func formatWaitStatus(t *Task, addr uint64) string {
	if addr == 0 {
		return "NULL"
	}
	var b [4]byte
	if _, err := t.MM().CopyIn(mm.Addr(addr), b[:]); err != nil {
		return formatPtr(addr)
	}
	w := leUint32(b[:])
	if sig := w & 0x7f; sig != 0 {
		s := fmt.Sprintf("[{WIFSIGNALED(s) && WTERMSIG(s) == %s", linux.Signal(sig))
		if w&0x80 != 0 {
			s += " && WCOREDUMP(s)"
		}
		return s + "}]"
	}
	return fmt.Sprintf("[{WIFEXITED(s) && WEXITSTATUS(s) == %d}]", w>>8&0xff)
}

func leUint32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// formatRemoteIovecs prints an iovec array whose buffers are elsewhere.
func formatRemoteIovecs(t *Task, addr, count uint64) string {
	if count > linux.UIO_MAXIOV {
		return formatPtr(addr)
	}
	iovs, err := t.readIovecs(mm.Addr(addr), int(count))
	if err != nil {
		return formatPtr(addr)
	}
	parts := make([]string, len(iovs))
	for i, v := range iovs {
		parts[i] = fmt.Sprintf("{iov_base=%s, iov_len=%d}", formatPtr(uint64(v.Base)), v.Len)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// quote renders bytes as a C string literal the way strace does.
func quote(b []byte, more bool) string {
	if len(b) > maxStr {
		b, more = b[:maxStr], true
	}
	var s strings.Builder
	s.WriteByte('"')
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
	s.WriteByte('"')
	if more {
		s.WriteString("...")
	}
	return s.String()
}

type flagName struct {
	v    uint64
	name string
}

func formatFlags(v uint64, names []flagName, zero string) string {
	if v == 0 {
		return zero
	}
	var parts []string
	for _, f := range names {
		if f.v != 0 && v&f.v == f.v {
			parts = append(parts, f.name)
			v &^= f.v
		}
	}
	if v != 0 {
		parts = append(parts, fmt.Sprintf("%#x", v))
	}
	return strings.Join(parts, "|")
}

func formatEnum(v uint64, names []flagName) string {
	for _, f := range names {
		if f.v == v {
			return f.name
		}
	}
	return fmt.Sprintf("%#x", v)
}

func formatOpenFlags(v uint64) string {
	acc := []string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"}[v&3]
	rest := formatFlags(v&^3, openFlagNames, "")
	if rest == "" {
		return acc
	}
	return acc + "|" + rest
}

func formatMapFlags(v uint64) string {
	typ := map[uint64]string{1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE"}[v&3]
	if typ == "" {
		typ = "0"
	}
	rest := formatFlags(v&^3, mapFlagNames, "")
	if rest == "" {
		return typ
	}
	return typ + "|" + rest
}

var (
	protNames = []flagName{{1, "PROT_READ"}, {2, "PROT_WRITE"}, {4, "PROT_EXEC"},
		{0x01000000, "PROT_GROWSDOWN"}, {0x02000000, "PROT_GROWSUP"}}
	openFlagNames = []flagName{{0o100, "O_CREAT"}, {0o200, "O_EXCL"}, {0o400, "O_NOCTTY"},
		{0o1000, "O_TRUNC"}, {0o2000, "O_APPEND"}, {0o4000, "O_NONBLOCK"}, {0o10000, "O_DSYNC"},
		{0o20000, "O_ASYNC"}, {0o40000, "O_DIRECT"}, {0o200000, "O_DIRECTORY"}, {0o400000, "O_NOFOLLOW"},
		{0o1000000, "O_NOATIME"}, {0o2000000, "O_CLOEXEC"}, {0o10000000, "O_PATH"}, {0o20200000, "O_TMPFILE"},
		{0o4010000, "O_SYNC"}, {0o100000, "O_LARGEFILE"}}
	mapFlagNames = []flagName{{0x10, "MAP_FIXED"}, {0x20, "MAP_ANONYMOUS"}, {0x100, "MAP_GROWSDOWN"},
		{0x800, "MAP_DENYWRITE"}, {0x1000, "MAP_EXECUTABLE"}, {0x2000, "MAP_LOCKED"}, {0x4000, "MAP_NORESERVE"},
		{0x8000, "MAP_POPULATE"}, {0x10000, "MAP_NONBLOCK"}, {0x20000, "MAP_STACK"}, {0x40000, "MAP_HUGETLB"},
		{0x80000, "MAP_SYNC"}, {0x100000, "MAP_FIXED_NOREPLACE"}}
	cloneFlagNames = []flagName{{0x100, "CLONE_VM"}, {0x200, "CLONE_FS"}, {0x400, "CLONE_FILES"},
		{0x800, "CLONE_SIGHAND"}, {0x1000, "CLONE_PIDFD"}, {0x2000, "CLONE_PTRACE"}, {0x4000, "CLONE_VFORK"},
		{0x8000, "CLONE_PARENT"}, {0x10000, "CLONE_THREAD"}, {0x20000, "CLONE_NEWNS"}, {0x40000, "CLONE_SYSVSEM"},
		{0x80000, "CLONE_SETTLS"}, {0x100000, "CLONE_PARENT_SETTID"}, {0x200000, "CLONE_CHILD_CLEARTID"},
		{0x400000, "CLONE_DETACHED"}, {0x800000, "CLONE_UNTRACED"}, {0x1000000, "CLONE_CHILD_SETTID"}}
	waitOptionNames = []flagName{{1, "WNOHANG"}, {2, "WSTOPPED"}, {4, "WEXITED"}, {8, "WCONTINUED"},
		{0x01000000, "WNOWAIT"}, {0x20000000, "__WNOTHREAD"}, {0x40000000, "__WALL"}, {0x80000000, "__WCLONE"}}
	archPrctlNames = []flagName{{0x1001, "ARCH_SET_GS"}, {0x1002, "ARCH_SET_FS"}, {0x1003, "ARCH_GET_FS"},
		{0x1004, "ARCH_GET_GS"}, {0x1011, "ARCH_GET_CPUID"}, {0x1012, "ARCH_SET_CPUID"}}
	whenceNames = []flagName{{0, "SEEK_SET"}, {1, "SEEK_CUR"}, {2, "SEEK_END"}, {3, "SEEK_DATA"}, {4, "SEEK_HOLE"}}
	clockNames  = []flagName{{0, "CLOCK_REALTIME"}, {1, "CLOCK_MONOTONIC"}, {2, "CLOCK_PROCESS_CPUTIME_ID"},
		{3, "CLOCK_THREAD_CPUTIME_ID"}, {4, "CLOCK_MONOTONIC_RAW"}, {5, "CLOCK_REALTIME_COARSE"},
		{6, "CLOCK_MONOTONIC_COARSE"}, {7, "CLOCK_BOOTTIME"}}
	madviseNames = []flagName{{0, "MADV_NORMAL"}, {1, "MADV_RANDOM"}, {2, "MADV_SEQUENTIAL"},
		{3, "MADV_WILLNEED"}, {4, "MADV_DONTNEED"}, {8, "MADV_FREE"}, {14, "MADV_HUGEPAGE"}, {15, "MADV_NOHUGEPAGE"}}
)
