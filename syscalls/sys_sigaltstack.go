package syscalls

import (
	"encoding/binary"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// The alternate signal stack (sigaltstack(2)), per thread, as Linux keeps
// it in task_struct's sas_ss_*: a handler installed with SA_ONSTACK runs
// on it unless the thread is already there. Only the task's own goroutine
// reads or changes it (system calls, signal delivery, clone).

// altStack is a thread's alternate signal stack: [sp, sp+size), size 0
// when disabled; flags are the ss_flags last set (SS_DISABLE at first),
// SS_AUTODISARM among them.
type altStack struct {
	sp, size uint64
	flags    uint32
}

const (
	ssOnStack    = 1
	ssAutoDisarm = 1 << 31
	// minAltStack is MINSIGSTKSZ, the smallest stack sigaltstack takes.
	minAltStack = 2048
)

// disabledAltStack is the state of a new thread and after execve.
var disabledAltStack = altStack{flags: ssDisable}

// on reports whether sp is on the alternate stack (on_sig_stack: never
// with SS_AUTODISARM, whose stack is disarmed while a handler runs).
func (s altStack) on(sp uint64) bool {
	if s.flags&ssAutoDisarm != 0 {
		return false
	}
	return sp > s.sp && sp-s.sp <= s.size
}

// status is sas_ss_flags: SS_DISABLE without a stack, SS_ONSTACK when sp
// is on it, else 0.
func (s altStack) status(sp uint64) uint32 {
	if s.size == 0 {
		return ssDisable
	}
	if s.on(sp) {
		return ssOnStack
	}
	return 0
}

// set is do_sigaltstack's change of the stack, for a thread whose stack
// pointer is sp: EPERM on the alternate stack, EINVAL for a bad mode,
// ENOMEM for a stack smaller than MINSIGSTKSZ.
func (s *altStack) set(n altStack, sp uint64) error {
	if s.on(sp) {
		return linux.EPERM
	}
	switch mode := n.flags &^ ssAutoDisarm; mode {
	case 0, ssOnStack:
		if n.size < minAltStack {
			return linux.ENOMEM
		}
	case ssDisable:
		n.sp, n.size = 0, 0
	default:
		return linux.EINVAL
	}
	*s = n
	return nil
}

// putStackT writes s as a stack_t of the task's ABI (ss_sp, ss_flags,
// ss_size; 24 bytes, or 12 for i386) with the given flags.
func (t *Task) putStackT(b []byte, s altStack, flags uint32) {
	le := binary.LittleEndian
	if t.table.abi.ptrSize == 4 {
		le.PutUint32(b[0:], uint32(s.sp))
		le.PutUint32(b[4:], flags)
		le.PutUint32(b[8:], uint32(s.size))
		return
	}
	le.PutUint64(b[0:], s.sp)
	le.PutUint32(b[8:], flags)
	le.PutUint32(b[12:], 0)
	le.PutUint64(b[16:], s.size)
}

// stackTSize is sizeof(stack_t) for the task's ABI.
func (t *Task) stackTSize() int { return 3 * t.table.abi.ptrSize }

// readStackT reads a stack_t of the task's ABI at addr.
func (t *Task) readStackT(addr mm.Addr) (altStack, error) {
	var b [24]byte
	n := t.stackTSize()
	if _, err := t.MM().CopyIn(addr, b[:n]); err != nil {
		return altStack{}, err
	}
	le := binary.LittleEndian
	if n == 12 {
		return altStack{sp: uint64(le.Uint32(b[0:])), flags: le.Uint32(b[4:]), size: uint64(le.Uint32(b[8:]))}, nil
	}
	return altStack{sp: le.Uint64(b[0:]), flags: le.Uint32(b[8:]), size: le.Uint64(b[16:])}, nil
}

// Sigaltstack implements sigaltstack(2) for both ABIs: the old stack is
// written only if the call succeeds.
func Sigaltstack(t *Task, a Args) (uintptr, error) {
	if t.cpu == nil {
		return 0, linux.ENOSYS // a task that runs no code (kerneltest)
	}
	regs, err := t.cpu.Regs()
	if err != nil {
		return 0, err
	}
	sp := regs.RSP
	if t.table.abi.ptrSize == 4 {
		sp &= 0xffffffff
	}
	old := t.alt
	if addr := a.Pointer(0); addr != 0 {
		n, err := t.readStackT(addr)
		if err != nil {
			return 0, err
		}
		if err := t.alt.set(n, sp); err != nil {
			return 0, err
		}
	}
	if addr := a.Pointer(1); addr != 0 {
		var b [24]byte
		t.putStackT(b[:], old, old.status(sp)|old.flags&ssAutoDisarm)
		if _, err := t.MM().CopyOut(addr, b[:t.stackTSize()]); err != nil {
			t.alt = old
			return 0, err
		}
	}
	return 0, nil
}

// signalStack returns where a signal frame for a handler with flags
// starts (sp: the interrupted stack pointer; below is the 64-bit red zone
// or none), and the lowest address it may reach, 0 for no bound: a
// handler with SA_ONSTACK switches to the alternate stack unless the
// thread is on it already; a frame that would not fit on the alternate
// stack is refused (get_sigframe).
func (t *Task) signalStack(sp, redZone uint64, flags uint64) (top, bottom uint64) {
	nested := t.alt.on(sp)
	top = sp - redZone
	if flags&saOnStack != 0 && t.alt.status(top) == 0 {
		return t.alt.sp + t.alt.size, t.alt.sp
	}
	if nested {
		return top, t.alt.sp
	}
	return top, 0
}

// saveAltStack writes the thread's alternate stack into a frame's
// uc_stack (b, in the task's ABI), then, with SS_AUTODISARM, disarms it
// for the handler (__save_altstack).
func (t *Task) saveAltStack(b []byte) {
	t.putStackT(b, t.alt, t.alt.flags)
	if t.alt.flags&ssAutoDisarm != 0 {
		t.alt = disabledAltStack
	}
}

// restoreAltStack applies a frame's uc_stack at addr on sigreturn, with
// the thread's stack pointer sp, as restore_altstack does: only a bad
// address is an error; a change the rules refuse (on the alternate
// stack, say) is ignored.
func (t *Task) restoreAltStack(addr mm.Addr, sp uint64) error {
	n, err := t.readStackT(addr)
	if err != nil {
		return err
	}
	_ = t.alt.set(n, sp)
	return nil
}
