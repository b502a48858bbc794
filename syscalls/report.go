package syscalls

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/arch/x86/x86asm"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/mm"
)

// Internal errors. An emulator bug seen while running a guest — a panic
// in a task's goroutine or in a hook of its CPU, a CPU that cannot run,
// a handler that returns something other than an errno — is never a
// crash with a goroutine dump, nor a guest killed while the rest goes
// on (it may hold a lock and hang everything): the kernel prints one
// report on stderr and ends the emulator with ExitInternalError, which
// ends every guest with it.
//
// The report names the task (pid, tid, ABI), the panic, the registers
// and the instruction at RIP when they can be read, the system call in
// progress and the last few the task made (syscallRing), and the Go
// stack of the failing goroutine only. Reading the task's state may meet
// a lock the failure left held: it is read with a time limit.

// ExitInternalError is the emulator's exit status after an internal
// error (EX_SOFTWARE).
const ExitInternalError = 70

// syscallRingSize is how many system calls a task remembers.
const syscallRingSize = 8

// syscallRing holds a task's last system calls, written by the task's
// goroutine at each call's exit and read only by it (for a report).
type syscallRing struct {
	calls [syscallRingSize]struct{ nr, ret uint64 }
	n     uint64 // calls recorded so far
}

func (r *syscallRing) record(nr, ret uint64) {
	c := &r.calls[r.n%syscallRingSize]
	c.nr, c.ret = nr, ret
	r.n++
}

// internalFailure is the value internalError panics with: an error the
// emulator found in itself rather than a Go runtime panic.
type internalFailure struct{ msg string }

func (f *internalFailure) String() string { return f.msg }

// internalError reports an emulator bug seen while running a guest: it
// panics, and the task's recovery (Task.run, Task.Syscall) makes the
// report and ends the emulator.
func internalError(format string, args ...any) {
	panic(&internalFailure{msg: fmt.Sprintf(format, args...)})
}

// recoverFatal is deferred by every goroutine that runs guest work: a
// panic becomes the internal-error report (never returning).
func (t *Task) recoverFatal() {
	if p := recover(); p != nil {
		t.k.fatal(t, p, debug.Stack())
	}
}

// fatal reports an internal error of task t (nil if none) and ends the
// emulator. Only the first caller reports; the others wait for the end.
func (k *Kernel) fatal(t *Task, what any, stack []byte) {
	if !k.dying.CompareAndSwap(false, true) {
		select {} // another goroutine is reporting and will end the process
	}
	var b strings.Builder
	b.WriteString("cmaemu: internal error: ")
	switch v := what.(type) {
	case error:
		b.WriteString(v.Error())
		if s := panicStack(v); s != nil {
			stack = s
		}
	default:
		fmt.Fprint(&b, v)
	}
	b.WriteString("\n")
	if t != nil {
		state := make(chan string, 1)
		go func() { state <- t.describe() }()
		select {
		case s := <-state:
			b.WriteString(s)
		case <-time.After(time.Second):
			fmt.Fprintf(&b, "  pid %d tid %d: its state could not be read (a lock is held)\n", t.proc.pid, t.tid)
		}
	}
	b.WriteString(goStack(stack))
	b.WriteString("cmaemu: every guest process was killed; exit status 70\n")
	os.Stderr.WriteString(b.String())
	if k.exit != nil {
		k.exit(ExitInternalError)
	}
	os.Exit(ExitInternalError)
}

// describe renders the task's part of a report: who, where, and its last
// system calls.
func (t *Task) describe() string {
	var b strings.Builder
	p := t.proc
	comm := ""
	var as *mm.MM
	if p.mu.TryLock() { // the failing code may hold it
		comm, as = p.comm, p.mm
		p.mu.Unlock()
	}
	fmt.Fprintf(&b, "  pid %d tid %d (%s) %s\n", p.pid, t.tid, comm, t.mode)
	var regs arch.Regs
	haveRegs := false
	if t.cpu != nil {
		if r, err := t.cpu.Regs(); err == nil {
			regs, haveRegs = r, true
		}
	}
	if haveRegs {
		writeRegs(&b, &regs, t.mode)
		if as != nil {
			b.WriteString(describeCode(as, regs.RIP, t.mode))
		}
	}
	if f := t.frame; f != nil {
		fmt.Fprintf(&b, "  in %s(%#x, %#x, %#x, %#x, %#x, %#x)\n", t.table.name(f.Nr),
			f.Args[0], f.Args[1], f.Args[2], f.Args[3], f.Args[4], f.Args[5])
	}
	r := &t.recent
	if r.n > 0 {
		b.WriteString("  last system calls:")
		for i := r.n - min(r.n, syscallRingSize); i < r.n; i++ {
			c := r.calls[i%syscallRingSize]
			fmt.Fprintf(&b, " %s=%d", t.table.name(c.nr), int64(c.ret))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func writeRegs(b *strings.Builder, r *arch.Regs, mode arch.Mode) {
	if mode == arch.Mode32 {
		fmt.Fprintf(b, "  eax %08x ebx %08x ecx %08x edx %08x esi %08x edi %08x\n",
			uint32(r.RAX), uint32(r.RBX), uint32(r.RCX), uint32(r.RDX), uint32(r.RSI), uint32(r.RDI))
		fmt.Fprintf(b, "  ebp %08x esp %08x eip %08x eflags %08x\n",
			uint32(r.RBP), uint32(r.RSP), uint32(r.RIP), uint32(r.RFLAGS))
		return
	}
	fmt.Fprintf(b, "  rax %016x rbx %016x rcx %016x rdx %016x\n", r.RAX, r.RBX, r.RCX, r.RDX)
	fmt.Fprintf(b, "  rsi %016x rdi %016x rbp %016x rsp %016x\n", r.RSI, r.RDI, r.RBP, r.RSP)
	fmt.Fprintf(b, "  r8  %016x r9  %016x r10 %016x r11 %016x\n", r.R8, r.R9, r.R10, r.R11)
	fmt.Fprintf(b, "  r12 %016x r13 %016x r14 %016x r15 %016x\n", r.R12, r.R13, r.R14, r.R15)
	fmt.Fprintf(b, "  rip %016x rflags %016x fs.base %016x\n", r.RIP, r.RFLAGS, r.FSBase)
}

// describeCode renders the instruction bytes at rip, disassembled.
func describeCode(as *mm.MM, rip uint64, mode arch.Mode) string {
	code := make([]byte, 16)
	for n := len(code); n > 0; n-- {
		got, err := as.CopyIn(mm.Addr(rip), code[:n])
		if err == nil {
			code = code[:got]
			break
		}
		code = code[:0]
	}
	if len(code) == 0 {
		return fmt.Sprintf("  code at %#x: unreadable\n", rip)
	}
	bits := 64
	if mode == arch.Mode32 {
		bits = 32
	}
	s := fmt.Sprintf("  code at %#x: % x", rip, code)
	if inst, err := x86asm.Decode(code, bits); err == nil {
		s += " (" + x86asm.IntelSyntax(inst, rip, nil) + ")"
	}
	return s + "\n"
}

// panicStack finds the Go stack a CPU recorded with a panic it caught in
// one of its hooks (emu/unicorn's PanicError, which this package cannot
// name: it is a cgo package): a Stack []byte field of an error in err's
// chain.
func panicStack(err error) []byte {
	for e := err; e != nil; e = errors.Unwrap(e) {
		v := reflect.ValueOf(e)
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				break
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			continue
		}
		if f := v.FieldByName("Stack"); f.IsValid() && f.Type() == reflect.TypeOf([]byte(nil)) {
			return f.Bytes()
		}
	}
	return nil
}

// goStack renders the failing goroutine's stack without the header and
// "created by" lines of a goroutine dump: it is the place of the bug,
// not a dump of every goroutine.
func goStack(stack []byte) string {
	if len(stack) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("  Go stack:\n")
	skip := false
	for _, line := range strings.Split(strings.TrimRight(string(stack), "\n"), "\n") {
		switch {
		case skip: // the file and line of a "created by"
			skip = false
		case strings.HasPrefix(line, "created by "):
			skip = true
		case strings.HasPrefix(line, "goroutine "):
		default:
			b.WriteString("    " + line + "\n")
		}
	}
	return b.String()
}
