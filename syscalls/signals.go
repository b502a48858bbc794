package syscalls

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// sigaction flags.
const (
	saNoCldStop = 0x1
	saNoCldWait = 0x2
	saSiginfo   = 0x4
	saRestorer  = 0x04000000
	saOnStack   = 0x08000000
	saRestart   = 0x10000000
	saNoDefer   = 0x40000000
	saResetHand = 0x80000000
)

// siginfo codes.
const (
	siUser       = 0
	siKernel     = 0x80
	siTkill      = -6
	cldExited    = 1
	cldKilled    = 2
	cldDumped    = 3
	cldStopped   = 5
	cldContinued = 6
	segvMapErr   = 1
	segvAccErr   = 2
	illIllOpn    = 2 // #UD: Linux's do_invalid_op
	fpeIntDiv    = 1
	fpeFltDiv    = 3
	fpeFltOvf    = 4
	fpeFltUnd    = 5
	fpeFltRes    = 6
	fpeFltInv    = 7
	trapBrkpt    = 1
)

// fpExceptionCode is the si_code of the SIGFPE for an x87 (#MF) or SIMD
// (#XM) floating-point exception, as Linux's fpu__exception_code derives
// it: from the flags FSW shows that FCW leaves unmasked, or those MXCSR
// shows unmasked; the first of invalid, divide by zero, overflow,
// denormal or underflow, precision. 0 is a spurious exception (Linux
// sends no signal).
func fpExceptionCode(vector uint32, fp *arch.FPState) int32 {
	var err uint32
	if vector == arch.VectorFPU {
		err = uint32(fp.FSW &^ fp.FCW)
	} else {
		err = ^(fp.MXCSR >> 7) & fp.MXCSR
	}
	switch {
	case err&0x01 != 0:
		return fpeFltInv
	case err&0x04 != 0:
		return fpeFltDiv
	case err&0x08 != 0:
		return fpeFltOvf
	case err&0x12 != 0:
		return fpeFltUnd
	case err&0x20 != 0:
		return fpeFltRes
	}
	return 0
}

// sigInfo is a raw struct siginfo (128 bytes).
type sigInfo [128]byte

func newSigInfo(sig linux.Signal, code int32) sigInfo {
	var si sigInfo
	binary.LittleEndian.PutUint32(si[0:], uint32(sig))
	binary.LittleEndian.PutUint32(si[8:], uint32(code))
	return si
}

// sigInfoKill is the siginfo of kill/tkill from sender.
func sigInfoKill(sig linux.Signal, code int32, sender *Process) sigInfo {
	si := newSigInfo(sig, code)
	if sender != nil {
		binary.LittleEndian.PutUint32(si[16:], uint32(sender.pid))
		binary.LittleEndian.PutUint32(si[20:], sender.Creds().RUID)
	}
	return si
}

// sigInfoChild is the SIGCHLD siginfo for a child's exit.
func sigInfoChild(c *Process, st ExitStatus) sigInfo {
	code, status := int32(cldExited), int32(st.Code)
	if st.Signal != 0 {
		code, status = cldKilled, int32(st.Signal)
		if st.Core {
			code = cldDumped
		}
	}
	si := newSigInfo(linux.SIGCHLD, code)
	binary.LittleEndian.PutUint32(si[16:], uint32(c.pid))
	binary.LittleEndian.PutUint32(si[20:], c.Creds().RUID)
	binary.LittleEndian.PutUint32(si[24:], uint32(status))
	return si
}

// sigInfoJob is the SIGCHLD siginfo of a child that stopped or continued.
func sigInfoJob(c *Process, code int32, sig linux.Signal) sigInfo {
	si := newSigInfo(linux.SIGCHLD, code)
	binary.LittleEndian.PutUint32(si[16:], uint32(c.pid))
	binary.LittleEndian.PutUint32(si[20:], c.Creds().RUID)
	binary.LittleEndian.PutUint32(si[24:], uint32(sig))
	return si
}

// canonical reports whether a is a canonical x86-64 address (bits 63..47
// all equal, 4-level paging).
func canonical(a uint64) bool {
	top := int64(a) >> 47
	return top == 0 || top == -1
}

// fpFaultCode puts the si_code of a floating-point exception (#MF, #XM)
// into info, from the FPU state at the fault, and reports false for a
// spurious one, which gets no signal. Other faults keep their code.
func (t *Task) fpFaultCode(exit *arch.Exit, info *sigInfo) bool {
	if exit.Reason != arch.ExitInterrupt || (exit.Vector != arch.VectorFPU && exit.Vector != arch.VectorSIMD) {
		return true
	}
	fp, err := t.cpu.FP()
	if err != nil {
		t.k.fatal(t, fmt.Errorf("the FPU state at a floating-point exception: %w", err), debug.Stack())
	}
	code := fpExceptionCode(exit.Vector, &fp)
	binary.LittleEndian.PutUint32(info[8:], uint32(code))
	return code != 0
}

// icebpIsDebug turns the breakpoint trap of an ICEBP (F1), which the CPU
// runs as INT3 (emu/unicorn/decode.c), into the #DB trap it is.
func (t *Task) icebpIsDebug(exit *arch.Exit) {
	if exit.Reason != arch.ExitInterrupt || exit.Vector != arch.VectorBreakpoint || exit.RIP == 0 {
		return
	}
	var b [1]byte
	if _, err := t.MM().CopyIn(mm.Addr(exit.RIP-1), b[:]); err == nil && b[0] == 0xf1 {
		exit.Vector = arch.VectorDebug
	}
}

// sigInfoFault is the siginfo of a synchronous fault. An access to a
// non-canonical address is no page fault on x86-64 but a general
// protection fault (#GP, or #SS through the stack): Linux reports it as
// SIGSEGV with SI_KERNEL and si_addr 0 (do_general_protection), while a
// canonical address above the user range is an ordinary SEGV_MAPERR.
func sigInfoFault(sig linux.Signal, exit *arch.Exit) sigInfo {
	var code int32 = siKernel
	addr := uint64(0)
	switch {
	case exit.Reason == arch.ExitPageFault && !canonical(uint64(exit.Addr)):
		// SI_KERNEL, si_addr 0
	case exit.Reason == arch.ExitPageFault:
		code, addr = segvMapErr, uint64(exit.Addr)
		if exit.Mapped {
			code = segvAccErr
		}
	case sig == linux.SIGILL:
		code, addr = illIllOpn, exit.RIP
	case sig == linux.SIGFPE:
		code, addr = fpeIntDiv, exit.RIP
	case sig == linux.SIGTRAP && exit.Vector == arch.VectorBreakpoint:
		// INT3 and INT 3: do_int3_user's plain SIGTRAP, SI_KERNEL
	case sig == linux.SIGTRAP:
		// #DB: send_sigtrap, with the address of the next instruction
		code, addr = trapBrkpt, exit.RIP
	}
	si := newSigInfo(sig, code)
	binary.LittleEndian.PutUint64(si[16:], addr)
	return si
}

// defaultAction is what SIG_DFL does with a signal.
type defaultAction int

const (
	actTerm defaultAction = iota
	actCore
	actIgnore
	actStop // not emulated: treated as ignore
)

func defaultActionOf(sig linux.Signal) defaultAction {
	switch sig {
	case linux.SIGCHLD, linux.SIGURG, linux.SIGWINCH, linux.SIGCONT:
		return actIgnore
	case linux.SIGSTOP, linux.SIGTSTP, linux.SIGTTIN, linux.SIGTTOU:
		return actStop
	case linux.SIGQUIT, linux.SIGILL, linux.SIGTRAP, linux.SIGABRT, linux.SIGBUS, linux.SIGFPE,
		linux.SIGSEGV, linux.SIGXCPU, linux.SIGXFSZ, linux.SIGSYS:
		return actCore
	}
	return actTerm
}

// ignoredLocked reports whether sig would be discarded by p.
// Preconditions: p.mu held.
func (p *Process) ignoredLocked(sig linux.Signal) bool {
	h := p.sigacts[sig-1].Handler
	if h == linux.SIG_IGN {
		return true
	}
	a := defaultActionOf(sig)
	return h == linux.SIG_DFL && (a == actIgnore || a == actStop)
}

// signalProcess sends a process-directed signal.
func (k *Kernel) signalProcess(p *Process, sig linux.Signal, info sigInfo) {
	k.signal(p, nil, sig, info)
}

// signal sends sig to process p, or to its task t if not nil.
func (k *Kernel) signal(p *Process, t *Task, sig linux.Signal, info sigInfo) {
	switch sig {
	case linux.SIGKILL:
		p.killGroup(ExitStatus{Signal: linux.SIGKILL})
		return
	case linux.SIGCONT:
		k.continueProcess(p) // whatever its disposition, SIGCONT resumes
	case linux.SIGSTOP:
		k.stopProcess(p, sig)
		return
	case linux.SIGTSTP, linux.SIGTTIN, linux.SIGTTOU:
		p.mu.Lock()
		dfl := p.sigacts[sig-1].Handler == linux.SIG_DFL
		p.mu.Unlock()
		if dfl {
			k.stopProcess(p, sig)
			return
		}
	}
	k.mu.Lock()
	tasks := append([]*Task(nil), p.tasks...)
	k.mu.Unlock()
	p.mu.Lock()
	if p.exiting != nil || len(tasks) == 0 {
		p.mu.Unlock()
		return
	}
	blockedByAll := true
	for _, x := range tasks {
		if (t == nil || x == t) && x.sigmask&linux.Bit(sig) == 0 {
			blockedByAll = false
		}
	}
	if p.ignoredLocked(sig) && !blockedByAll {
		p.mu.Unlock()
		return
	}
	fatal := p.sigacts[sig-1].Handler == linux.SIG_DFL && !blockedByAll
	if fatal {
		p.mu.Unlock()
		p.killGroup(ExitStatus{Signal: sig, Core: defaultActionOf(sig) == actCore})
		return
	}
	if t != nil {
		t.pending |= linux.Bit(sig)
		t.signalInfo[sig-1] = info
	} else {
		p.pending |= linux.Bit(sig)
		for _, x := range tasks {
			x.signalInfo[sig-1] = info
		}
	}
	p.signalPendingLocked()
	p.mu.Unlock()
	for _, x := range tasks {
		if t == nil || x == t {
			x.poke()
		}
	}
}

// stopProcess stops every task of p (job control) and tells the parent.
func (k *Kernel) stopProcess(p *Process, sig linux.Signal) {
	k.mu.Lock()
	if p.state != procRunning || p.stopped {
		k.mu.Unlock()
		return
	}
	p.stopped, p.stopSig, p.stopReport, p.contReport = true, sig, true, false
	p.stoppedHint.Store(true)
	p.resume = make(chan struct{})
	parent := p.parent
	tasks := append([]*Task(nil), p.tasks...)
	k.mu.Unlock()
	parent.childEvents.Notify(0)
	for _, t := range tasks {
		t.poke()
	}
	k.tellParentJob(parent, p, cldStopped, sig)
}

// continueProcess resumes a stopped process and tells the parent.
func (k *Kernel) continueProcess(p *Process) {
	k.mu.Lock()
	if !p.stopped {
		k.mu.Unlock()
		return
	}
	p.stopped, p.stopReport, p.contReport = false, false, true
	p.stoppedHint.Store(false)
	close(p.resume)
	parent := p.parent
	k.mu.Unlock()
	parent.childEvents.Notify(0)
	p.mu.Lock()
	p.pending &^= linux.Bit(linux.SIGSTOP) | linux.Bit(linux.SIGTSTP) | linux.Bit(linux.SIGTTIN) | linux.Bit(linux.SIGTTOU)
	p.mu.Unlock()
	k.tellParentJob(parent, p, cldContinued, linux.SIGCONT)
}

// tellParentJob sends SIGCHLD for a stop or continue, unless the parent
// asked not to hear of them (SA_NOCLDSTOP).
func (k *Kernel) tellParentJob(parent, c *Process, code int32, sig linux.Signal) {
	if parent == k.reaper {
		return
	}
	parent.mu.Lock()
	quiet := parent.sigacts[linux.SIGCHLD-1].Flags&saNoCldStop != 0
	parent.mu.Unlock()
	if !quiet {
		k.signalProcess(parent, linux.SIGCHLD, sigInfoJob(c, code, sig))
	}
}

// waitIfStopped blocks a task of a stopped process until it is continued
// or killed.
func (t *Task) waitIfStopped() {
	if !t.proc.stoppedHint.Load() {
		return // the common case, without the kernel lock
	}
	defer t.legitWait()()
	for {
		t.k.mu.Lock()
		stopped, resume := t.proc.stopped, t.proc.resume
		t.k.mu.Unlock()
		if !stopped || t.proc.groupExit() != nil {
			return
		}
		select {
		case <-resume:
		case <-t.wake:
		}
	}
}

// killGroup ends every task of p with status (the first caller wins).
func (p *Process) killGroup(status ExitStatus) {
	p.mu.Lock()
	if p.exiting == nil {
		p.exiting = &status
	}
	p.mu.Unlock()
	p.k.mu.Lock()
	tasks := append([]*Task(nil), p.tasks...)
	p.k.mu.Unlock()
	for _, t := range tasks {
		t.poke()
	}
}

// groupExit returns the status the process is exiting with, if it is.
func (p *Process) groupExit() *ExitStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exiting
}

// interrupted reports whether a blocked call of t must return: the group
// is exiting or a signal can be delivered.
func (t *Task) interrupted() bool {
	p := t.proc
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exiting != nil || t.exitRequested || (p.pending|t.pending)&^t.sigmask != 0
}

// dequeue takes the lowest deliverable signal. Default actions happen
// here: ignored signals are dropped, fatal ones kill the group (ok is
// then false).
func (t *Task) dequeue() (sig linux.Signal, info sigInfo, act linux.SigAction, ok bool) {
	p := t.proc
	p.mu.Lock()
	for p.exiting == nil {
		ready := (p.pending | t.pending) &^ t.sigmask
		if ready == 0 {
			break
		}
		sig = lowestSignal(ready)
		if t.pending&linux.Bit(sig) != 0 {
			t.pending &^= linux.Bit(sig)
		} else {
			p.pending &^= linux.Bit(sig)
		}
		info, act = p.timerSignalTakenLocked(t.signalInfo[sig-1]), p.sigacts[sig-1]
		switch {
		case act.Handler == linux.SIG_IGN:
			continue
		case act.Handler == linux.SIG_DFL:
			a := defaultActionOf(sig)
			if a == actIgnore || a == actStop {
				continue
			}
			p.mu.Unlock()
			p.killGroup(ExitStatus{Signal: sig, Core: a == actCore})
			return 0, info, act, false
		}
		if act.Flags&saResetHand != 0 {
			p.sigacts[sig-1].Handler = linux.SIG_DFL
		}
		p.mu.Unlock()
		return sig, info, act, true
	}
	p.mu.Unlock()
	return 0, info, act, false
}

func lowestSignal(s linux.SigSet) linux.Signal {
	for sig := linux.Signal(1); sig <= linux.NSig; sig++ {
		if s&linux.Bit(sig) != 0 {
			return sig
		}
	}
	return 0
}

// deliverAtSyscallExit sets up a handler for a pending signal as the
// current system call returns. restart says the call was interrupted and
// may be restarted if the handler has SA_RESTART.
func (t *Task) deliverAtSyscallExit(restart bool) {
	f := t.frame
	sig, info, act, ok := t.dequeue()
	if !ok {
		if t.savedMask != nil && t.proc.groupExit() == nil {
			t.setMask(*t.savedMask)
			t.savedMask = nil
		}
		return
	}
	regs, err := t.cpu.Regs()
	if err != nil {
		internalError("pid %d: reading registers for a signal: %v", t.tid, err)
		return
	}
	if !f.KeepRegs {
		regs.RAX, regs.RIP = f.Ret, f.Next
		if t.mode == arch.Mode64 {
			regs.RCX, regs.R11 = f.Next, regs.RFLAGS
		}
		if restart && act.Flags&saRestart != 0 {
			regs.RAX, regs.RIP = f.Nr, f.Next-2
		}
	}
	if !t.setupFrame(&regs, sig, info, act) {
		return
	}
	if err := t.cpu.SetRegs(&regs); err != nil {
		internalError("pid %d: setting registers for a signal: %v", t.tid, err)
		return
	}
	f.KeepRegs, f.Redirect, f.NewRIP = true, true, regs.RIP
}

// deliverAsync delivers a pending signal to a task whose CPU was stopped
// between two instructions.
func (t *Task) deliverAsync() {
	sig, info, act, ok := t.dequeue()
	if !ok {
		return
	}
	regs, err := t.cpu.Regs()
	if err != nil {
		internalError("pid %d: reading registers for a signal: %v", t.tid, err)
		return
	}
	if t.setupFrame(&regs, sig, info, act) {
		if err := t.cpu.SetRegs(&regs); err != nil {
			internalError("pid %d: setting registers for a signal: %v", t.tid, err)
		}
	}
}

// deliverFault delivers a synchronous fault signal to its handler, if the
// program has one and does not block the signal.
func (t *Task) deliverFault(sig linux.Signal, info sigInfo, exit *arch.Exit) bool {
	p := t.proc
	p.mu.Lock()
	act := p.sigacts[sig-1]
	usable := act.Handler != linux.SIG_DFL && act.Handler != linux.SIG_IGN && t.sigmask&linux.Bit(sig) == 0
	if usable && act.Flags&saResetHand != 0 {
		p.sigacts[sig-1].Handler = linux.SIG_DFL
	}
	p.mu.Unlock()
	if !usable {
		return false
	}
	regs, err := t.cpu.Regs()
	if err != nil {
		return false
	}
	regs.RIP = exit.RIP
	if !t.setupFrame(&regs, sig, info, act) {
		return true // the group is being killed
	}
	return t.cpu.SetRegs(&regs) == nil
}

// Layout of the x86-64 signal frame.
const (
	ucOffset       = 8                // after the return address
	ucMcontext     = 40               // uc_flags, uc_link, uc_stack
	ucSigmask      = ucMcontext + 256 // after struct sigcontext
	ucSize         = ucSigmask + 8
	infoOffset     = ucOffset + ucSize
	frameSize      = infoOffset + 128
	redZone        = 128
	ssDisable      = 2
	userCS         = 0x33
	userSS         = 0x2b
	userFlagsMask  = 0x254dd5 // flags a user may set: CF PF AF ZF SF TF DF OF NT AC ID
	flagsClearOnIn = 0x40700  // TF, DF, NT cleared for the handler (and RF)
)

// mcontextRegs are the registers of struct sigcontext, in order.
func mcontextRegs(r *arch.Regs) []*uint64 {
	return []*uint64{&r.R8, &r.R9, &r.R10, &r.R11, &r.R12, &r.R13, &r.R14, &r.R15,
		&r.RDI, &r.RSI, &r.RBP, &r.RBX, &r.RDX, &r.RAX, &r.RCX, &r.RSP, &r.RIP, &r.RFLAGS}
}

// setupFrame writes a signal frame for regs on the guest stack (in the
// layout of the task's ABI), points regs at the handler and blocks what
// the handler blocks. It returns false (and kills the group) if the frame
// cannot be written.
func (t *Task) setupFrame(regs *arch.Regs, sig linux.Signal, info sigInfo, act linux.SigAction) bool {
	old := t.sigmask
	if t.savedMask != nil {
		old, t.savedMask = *t.savedMask, nil
	}
	if !t.table.abi.sigframe(t, regs, sig, info, act, old) {
		t.proc.killGroup(ExitStatus{Signal: linux.SIGSEGV, Core: true})
		return false
	}
	// The handler starts with a fresh FPU (fpu__clear_user_states); the
	// interrupted code's state is in the frame.
	fresh := arch.InitialFP()
	if err := t.cpu.SetFP(&fresh); err != nil {
		internalError("pid %d: resetting the FPU for a handler: %v", t.tid, err)
	}
	mask := old | act.Mask
	if act.Flags&saNoDefer == 0 {
		mask |= linux.Bit(sig)
	}
	t.setMask(mask)
	return true
}

// The FPU state of a signal frame, as Linux lays it out on a CPU with
// XSAVE (arch.XCR0 = x87|SSE enabled): an XSAVE area, 64-byte aligned,
// whose first 512 bytes are the FXSAVE image (the 64-bit layout, also
// in i386 frames), whose software bytes (struct _fpx_sw_bytes at 464)
// announce the extended area with FP_XSTATE_MAGIC1, then the XSAVE
// header, then FP_XSTATE_MAGIC2 after the area. i386 frames have the
// FSAVE header (struct _fpstate_32's first 112 bytes) before it, and
// fpstate points at that header (sys_compat_i386.go).
const (
	fxsaveSize     = arch.FXSAVESize // the FXSAVE image that starts the area
	fpXstateMagic1 = 0x46505853
	fpXstateMagic2 = 0x46505845
	xsaveHeader    = arch.FXSAVESize // xstate_bv, xcomp_bv, reserved[6]
	fpxSWBytesSize = 48
	xfeatureFP     = 1 << 0
	xfeatureSSE    = 1 << 1
	ucFPXstate     = 0x1 // uc_flags: the frame has an XSAVE area
	ucSigcontextSS = 0x2
	ucStrictSS     = 0x4
)

// putXstate writes the task's FPU state into b[:arch.XSAVEFrameSize] in
// the frame's layout; extended is the size the software bytes announce
// (the i386 frame counts its FSAVE header in).
func putXstate(b []byte, fp *arch.FPState, extended uint32) {
	le := binary.LittleEndian
	clear(b[:arch.XSAVEFrameSize])
	fp.PutFXSAVE(b)
	sw := b[arch.FXSWBytes:]
	le.PutUint32(sw[0:], fpXstateMagic1)
	le.PutUint32(sw[4:], extended)
	le.PutUint64(sw[8:], arch.XCR0)          // xfeatures
	le.PutUint32(sw[16:], arch.XSAVESize)    // xstate_size
	le.PutUint64(b[xsaveHeader:], arch.XCR0) // xstate_bv: Linux always sets FP and SSE
	le.PutUint32(b[arch.XSAVESize:], fpXstateMagic2)
}

// fpFrameStart returns where the XSAVE area of a frame whose stack
// pointer is sp goes (fpu__alloc_mathframe).
func fpFrameStart(sp uint64) uint64 {
	return (sp - arch.XSAVEFrameSize) &^ 63
}

// putFPState writes the x86-64 frame's FPU state below sp and returns its
// address; false if it cannot be written.
func (t *Task) putFPState(sp uint64) (uint64, bool) {
	fp, err := t.cpu.FP()
	if err != nil {
		internalError("pid %d: reading the FPU state for a signal: %v", t.tid, err)
		return 0, false
	}
	addr := fpFrameStart(sp)
	var b [arch.XSAVEFrameSize]byte
	putXstate(b[:], &fp, arch.XSAVEFrameSize)
	if _, err := t.MM().CopyOut(mm.Addr(addr), b[:]); err != nil {
		return 0, false
	}
	return addr, true
}

// errBadFPState is a frame's FPU state that sigreturn refuses (Linux's
// __fpu_restore_sig failing): the task gets SIGSEGV.
var errBadFPState = errors.New("bad FPU state in a signal frame")

// readXstate reads the XSAVE area at addr as Linux's sigreturn does
// (check_xstate_in_sigframe): fxOnly when the software bytes or the
// closing magic do not announce an XSAVE area, then only the FXSAVE image
// counts; otherwise the XSAVE header says which components are loaded
// (an unset bit loads the initial state). It returns the state before
// the x87 part of an i386 frame is folded in, and which components come
// from memory.
func (t *Task) readXstate(addr uint64, strictHeader bool) (fp arch.FPState, fromMem uint64, err error) {
	le := binary.LittleEndian
	var b [arch.XSAVESize]byte
	if _, err := t.MM().CopyIn(mm.Addr(addr), b[:arch.FXSAVESize]); err != nil {
		return fp, 0, err
	}
	sw := b[arch.FXSWBytes:]
	magic1, extended, xfeatures, size := le.Uint32(sw[0:]), le.Uint32(sw[4:]), le.Uint64(sw[8:]), le.Uint32(sw[16:])
	// Linux wants size between the FXSAVE image plus header and the task's
	// XSAVE size: both are arch.XSAVESize here.
	fxOnly := magic1 != fpXstateMagic1 || size != arch.XSAVESize || size > extended
	if !fxOnly {
		var m [4]byte
		if _, err := t.MM().CopyIn(mm.Addr(addr+uint64(size)), m[:]); err != nil {
			return fp, 0, err
		}
		fxOnly = le.Uint32(m[:]) != fpXstateMagic2
	}
	fp.GetFXSAVE(b[:])
	if fxOnly {
		if fp.MXCSR&^arch.MXCSRMask != 0 {
			return fp, 0, errBadFPState // fxrstor: #GP
		}
		return fp, xfeatureFP | xfeatureSSE, nil
	}
	if _, err := t.MM().CopyIn(mm.Addr(addr+xsaveHeader), b[xsaveHeader:]); err != nil {
		return fp, 0, err
	}
	hdr := b[xsaveHeader:]
	bv := le.Uint64(hdr[0:])
	switch {
	case bv&^arch.XCR0 != 0, le.Uint64(hdr[8:]) != 0, le.Uint64(hdr[16:]) != 0:
		return fp, 0, errBadFPState // xrstor: #GP
	case strictHeader && !allZero(hdr[24:64]):
		return fp, 0, errBadFPState // validate_user_xstate_header
	}
	rfbm := xfeatures & arch.XCR0
	if rfbm&xfeatureSSE != 0 && fp.MXCSR&^arch.MXCSRMask != 0 {
		return fp, 0, errBadFPState
	}
	init := arch.InitialFP()
	if rfbm&xfeatureSSE == 0 {
		fp.MXCSR = init.MXCSR
	}
	fromMem = bv & rfbm
	if fromMem&xfeatureFP == 0 {
		fp.FCW, fp.FSW, fp.FTW, fp.FOP, fp.FIP, fp.FDP, fp.ST = init.FCW, init.FSW, init.FTW, init.FOP, init.FIP, init.FDP, init.ST
	}
	if fromMem&xfeatureSSE == 0 {
		fp.XMM = init.XMM
	}
	return fp, fromMem, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// restoreFPState loads the x86-64 frame's FPU state from addr; 0 means
// none, and the task gets the initial state (fpu__restore_sig).
func (t *Task) restoreFPState(addr uint64) error {
	fp := arch.InitialFP()
	if addr != 0 {
		if addr&63 != 0 {
			return errBadFPState // xrstor of a misaligned area: #GP
		}
		var err error
		if fp, _, err = t.readXstate(addr, false); err != nil {
			return err
		}
	}
	return t.cpu.SetFP(&fp)
}

// setupFrame64 writes an x86-64 struct rt_sigframe, with the FPU state
// below it (pointed at by the sigcontext's fpstate).
func setupFrame64(t *Task, regs *arch.Regs, sig linux.Signal, info sigInfo, act linux.SigAction, old linux.SigSet) bool {
	top, bottom := t.signalStack(regs.RSP, redZone, act.Flags)
	if sp := (fpFrameStart(top)-frameSize)&^15 - 8; bottom != 0 && sp <= bottom {
		return false // would overflow the alternate stack
	}
	fpAddr, ok := t.putFPState(top)
	if !ok {
		return false
	}
	sp := (fpAddr-frameSize)&^15 - 8
	var b [frameSize]byte
	le := binary.LittleEndian
	le.PutUint64(b[0:], act.Restorer)
	le.PutUint64(b[ucOffset:], ucFPXstate|ucSigcontextSS|ucStrictSS)
	t.saveAltStack(b[ucOffset+16:])
	mc := b[ucOffset+ucMcontext:]
	for i, p := range mcontextRegs(regs) {
		le.PutUint64(mc[8*i:], *p)
	}
	le.PutUint16(mc[144:], userCS)
	le.PutUint16(mc[150:], userSS)
	le.PutUint64(mc[168:], uint64(old)) // oldmask
	le.PutUint64(mc[184:], fpAddr)      // fpstate
	le.PutUint64(b[ucOffset+ucSigmask:], uint64(old))
	copy(b[infoOffset:], info[:])
	if _, err := t.MM().CopyOut(mm.Addr(sp), b[:]); err != nil {
		return false
	}
	regs.RSP = sp
	regs.RIP = act.Handler
	regs.RDI = uint64(sig)
	regs.RSI = sp + infoOffset
	regs.RDX = sp + ucOffset
	regs.RAX = 0
	regs.RFLAGS &^= flagsClearOnIn
	return true
}

// iretFault delivers the fault a return to user mode raises when
// sigreturn restored segment selectors the CPU refuses (Linux's
// fixup_bad_iret turns the iret's #GP into one of the task's): SIGSEGV
// with SI_KERNEL and si_addr 0 at the restored registers, to the
// handler if there is one (the frame then resumes there), else the
// group dies.
// Preconditions: inside a system call (t.frame), the restored registers
// set.
func (t *Task) iretFault(rip uint64) {
	exit := arch.Exit{Reason: arch.ExitInterrupt, Vector: arch.VectorGP, RIP: rip}
	t.fault(linux.SIGSEGV, &exit, false)
	if regs, err := t.cpu.Regs(); err == nil {
		f := t.frame
		f.KeepRegs, f.Redirect, f.NewRIP = true, true, regs.RIP
	}
}

// setMask sets the blocked set (SIGKILL and SIGSTOP cannot be blocked).
func (t *Task) setMask(m linux.SigSet) {
	t.proc.mu.Lock()
	t.sigmask = m &^ unblockable
	t.proc.mu.Unlock()
}

// RtSigreturn implements rt_sigreturn(2): it restores the registers and
// mask saved in the frame the handler returns through.
func RtSigreturn(t *Task, a Args) (uintptr, error) {
	if t.cpu == nil {
		return 0, linux.ENOSYS // a task that runs no code (kerneltest)
	}
	regs, err := t.cpu.Regs()
	if err != nil {
		return 0, err
	}
	var uc [ucSize]byte
	if _, err := t.MM().CopyIn(mm.Addr(regs.RSP), uc[:]); err != nil {
		t.proc.killGroup(ExitStatus{Signal: linux.SIGSEGV, Core: true})
		return 0, nil
	}
	le := binary.LittleEndian
	saved := regs
	mc := uc[ucMcontext:]
	for i, p := range mcontextRegs(&saved) {
		*p = le.Uint64(mc[8*i:])
	}
	saved.RFLAGS = regs.RFLAGS&^userFlagsMask | saved.RFLAGS&userFlagsMask
	if err := t.restoreFPState(le.Uint64(mc[184:])); err != nil {
		t.proc.killGroup(ExitStatus{Signal: linux.SIGSEGV, Core: true})
		return 0, nil
	}
	t.setMask(linux.SigSet(le.Uint64(uc[ucSigmask:])))
	if err := t.restoreAltStack(mm.Addr(regs.RSP)+16, regs.RSP); err != nil {
		t.proc.killGroup(ExitStatus{Signal: linux.SIGSEGV, Core: true})
		return 0, nil
	}
	if err := t.cpu.SetRegs(&saved); err != nil {
		return 0, err
	}
	f := t.frame
	f.KeepRegs, f.Redirect, f.NewRIP = true, true, saved.RIP
	// Linux restores CS and SS (ORed with RPL 3) too; without
	// UC_STRICT_RESTORE_SS in the frame's uc_flags an SS that is not a
	// writable user data segment becomes __USER_DS (force_valid_ss).
	// The iret to user mode refuses any other CS than a user code
	// segment and a bad strict SS: a #GP at the restored state. (CS
	// 0x23, a switch to compat mode, is refused here too: cmaemu does
	// not switch an engine's mode.)
	cs, ss := le.Uint16(mc[144:])|3, le.Uint16(mc[150:])|3
	if le.Uint64(uc[0:])&ucStrictSS == 0 {
		ss = userSS
	}
	if cs != userCS || ss != userSS {
		t.iretFault(saved.RIP)
	}
	return 0, nil
}
