package syscalls

import (
	"strconv"

	"github.com/cmaemu/cmaemu/mm"
)

// Args are the six raw arguments of a system call.
type Args [6]uint64

// Int returns argument i as a C int.
func (a Args) Int(i int) int32 { return int32(a[i]) }

// Uint returns argument i as a C unsigned int.
func (a Args) Uint(i int) uint32 { return uint32(a[i]) }

// Int64 returns argument i as a C long.
func (a Args) Int64(i int) int64 { return int64(a[i]) }

// Uint64 returns argument i as a C unsigned long / size_t.
func (a Args) Uint64(i int) uint64 { return a[i] }

// Pointer returns argument i as a guest address.
func (a Args) Pointer(i int) mm.Addr { return mm.Addr(a[i]) }

// Handler implements one system call. It returns the result, or an error
// that is a linux.Errno (or an mm fault, which becomes EFAULT).
type Handler func(t *Task, a Args) (uintptr, error)

// Entry is one row of a syscall table.
type Entry struct {
	Name string
	Fn   Handler // nil: ENOSYS, deliberately (Note says why)
	// Args says how --trace prints each argument; Ret how it prints the
	// result.
	Args []ArgKind
	Ret  ArgKind
	// NoReturn marks calls that do not return on success (exit, execve):
	// the trace line ends in "= ?".
	NoReturn bool
	Note     string
}

// Table is a per-ABI system call table, indexed by number.
type Table struct {
	Name    string
	abi     *abi
	Entries map[uint64]*Entry
	// Names of every syscall of the ABI, from the kernel headers, for
	// traces of unimplemented calls.
	Names map[uintptr]string
}

func (tb *Table) lookup(nr uint64) *Entry { return tb.Entries[nr] }

// name returns the syscall's name, or "syscall_N".
func (tb *Table) name(nr uint64) string {
	if e := tb.Entries[nr]; e != nil {
		return e.Name
	}
	if n, ok := tb.Names[uintptr(nr)]; ok {
		return n
	}
	return "syscall_" + itoa(int64(nr))
}

// sys builds a table entry.
func sys(name string, fn Handler, args ...ArgKind) *Entry {
	return &Entry{Name: name, Fn: fn, Args: args}
}

// ret sets how the result is traced.
func (e *Entry) ret(k ArgKind) *Entry { e.Ret = k; return e }

// noReturn marks an entry as not returning on success.
func (e *Entry) noReturn() *Entry { e.NoReturn = true; return e }

// enosys is an entry that deliberately answers ENOSYS.
func enosys(name, note string, args ...ArgKind) *Entry {
	return &Entry{Name: name, Args: args, Note: note}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func utoa(v uint64) string { return strconv.FormatUint(v, 10) }
