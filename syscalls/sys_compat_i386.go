package syscalls

import (
	"encoding/binary"
	"syscall"
	"unsafe"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// The i386 (compat) side of the handlers: structure layouts, 32-bit time,
// split 64-bit arguments, set_thread_area and the i386 signal frames. The
// handlers that only take integers and pointers are shared with x86-64.

// --- i386 signal frames -------------------------------------------------

// Layout of the i386 frames (struct sigframe_ia32, rt_sigframe_ia32).
const (
	sc32Size      = 88 // struct sigcontext_32
	rtInfoOff32   = 16
	rtUCOff32     = rtInfoOff32 + 128
	uc32Mcontext  = 20 // uc_flags, uc_link, uc_stack
	uc32Sigmask   = uc32Mcontext + sc32Size
	rtFrameSize32 = rtUCOff32 + uc32Sigmask + 8 + 8 // + retcode
	oldSCOff32    = 8
	// The old frame keeps an unused struct _fpstate_32 after the
	// sigcontext so that extramask stays where it always was.
	fpstate32Size   = 624
	oldExtramaskOff = oldSCOff32 + sc32Size + fpstate32Size
	oldFrameSize    = oldExtramaskOff + 4 + 8 // extramask, retcode
	user32CS        = 0x23
	user32DS        = 0x2b
)

// The FSAVE header of the i386 frame's FPU state (the start of struct
// _fpstate_32, Linux's struct user_i387_ia32_struct plus status and
// magic), which the x87 state is taken from on sigreturn.
const (
	fsaveST     = 28  // st_space: ST(0) to ST(7), 10 bytes each
	fsaveEnv    = 108 // cw, sw, tag, ipoff, cssel, dataoff, datasel, _st
	fsaveStatus = 108
	fsaveMagic  = 110
	fxsrMagic   = 0x0000 // X86_FXSR_MAGIC: FXSR data follows (0xffff: FSAVE only)
)

// putFsaveHeader writes the FSAVE header of fp as a 64-bit kernel does
// for i386 tasks (convert_from_fxsr and save_fsave_header): control and
// status words with the high halves set, the full tag word, the last
// instruction and operand offsets with the task's user selectors (the
// FXSAVE image has no selectors), the registers, then status and the
// FXSR magic.
func putFsaveHeader(b []byte, fp *arch.FPState) {
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(fp.FCW)|0xffff0000)
	le.PutUint32(b[4:], uint32(fp.FSW)|0xffff0000)
	le.PutUint32(b[8:], uint32(fp.TagWord())|0xffff0000)
	le.PutUint32(b[12:], uint32(fp.FIP))
	le.PutUint32(b[16:], user32CS)
	le.PutUint32(b[20:], uint32(fp.FDP))
	le.PutUint32(b[24:], user32DS|0xffff0000)
	for i := range fp.ST {
		copy(b[fsaveST+10*i:], fp.ST[i][:])
	}
	le.PutUint16(b[fsaveStatus:], fp.FSW)
	le.PutUint16(b[fsaveMagic:], fxsrMagic)
}

// getFsaveHeader folds the x87 state of an FSAVE header into fp
// (convert_to_fxsr): the FXSAVE image's x87 part is ignored.
func getFsaveHeader(b []byte, fp *arch.FPState) {
	le := binary.LittleEndian
	fp.FCW = le.Uint16(b[0:])
	fp.FSW = le.Uint16(b[4:])
	fp.FTW = arch.AbridgedTag(le.Uint16(b[8:]))
	fp.FIP = uint64(le.Uint32(b[12:]))
	fp.FOP = le.Uint16(b[18:]) & 0x7ff // the high half of cssel
	fp.FDP = uint64(le.Uint32(b[20:]))
	for i := range fp.ST {
		copy(fp.ST[i][:], b[fsaveST+10*i:])
	}
}

// putFPState32 writes the i386 frame's FPU state below sp: the FSAVE
// header, then the XSAVE area (64-byte aligned) as in 64-bit frames. It
// returns the address of the header, which the sigcontext's fpstate
// points at.
func (t *Task) putFPState32(sp uint64) (uint64, bool) {
	fp, err := t.cpu.FP()
	if err != nil {
		internalError("pid %d: reading the FPU state for a signal: %v", t.tid, err)
		return 0, false
	}
	addr := fpFrameStart(sp) - arch.FSAVEHeaderSize
	var b [arch.FSAVEHeaderSize + arch.XSAVEFrameSize]byte
	putFsaveHeader(b[:], &fp)
	putXstate(b[arch.FSAVEHeaderSize:], &fp, arch.FSAVEHeaderSize+arch.XSAVEFrameSize)
	if addr >= 1<<32 {
		return 0, false
	}
	if _, err := t.MM().CopyOut(mm.Addr(addr), b[:]); err != nil {
		return 0, false
	}
	return addr, true
}

// restoreFPState32 loads the i386 frame's FPU state from the FSAVE
// header at addr and the XSAVE area after it; 0 means none, and the task
// gets the initial state.
func (t *Task) restoreFPState32(addr uint64) error {
	fp := arch.InitialFP()
	if addr != 0 {
		var env [fsaveEnv]byte
		if _, err := t.MM().CopyIn(mm.Addr(addr), env[:]); err != nil {
			return err
		}
		x, fromMem, err := t.readXstate(addr+arch.FSAVEHeaderSize, true)
		if err != nil {
			return err
		}
		fp = x
		if fromMem&xfeatureFP != 0 {
			getFsaveHeader(env[:], &fp)
		}
	}
	return t.cpu.SetFP(&fp)
}

// alignFrame32 places an i386 frame of size bytes below sp so that the
// handler starts with ((esp + 4) & 15) == 0, as the i386 ABI wants.
func alignFrame32(sp, size uint64) uint64 {
	return ((sp-size+4)&^15 - 4) & 0xffffffff
}

// sigcontext32Regs are the registers of struct sigcontext_32 from di on.
func sigcontext32Regs(r *arch.Regs) []*uint64 {
	return []*uint64{&r.RDI, &r.RSI, &r.RBP, &r.RSP, &r.RBX, &r.RDX, &r.RCX, &r.RAX}
}

// putSigcontext32 fills a struct sigcontext_32; fpstate points at the
// FPU state (putFPState32).
func putSigcontext32(b []byte, r *arch.Regs, old linux.SigSet, fpstate uint64) {
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(r.GS))
	le.PutUint32(b[4:], uint32(r.FS))
	le.PutUint32(b[8:], user32DS)  // es
	le.PutUint32(b[12:], user32DS) // ds
	for i, p := range sigcontext32Regs(r) {
		le.PutUint32(b[16+4*i:], uint32(*p))
	}
	le.PutUint32(b[56:], uint32(r.RIP))
	le.PutUint32(b[60:], user32CS)
	le.PutUint32(b[64:], uint32(r.RFLAGS))
	le.PutUint32(b[68:], uint32(r.RSP))   // sp_at_signal
	le.PutUint32(b[72:], user32DS)        // ss
	le.PutUint32(b[76:], uint32(fpstate)) // fpstate
	le.PutUint32(b[80:], uint32(old))     // oldmask
}

// getSigcontext32 restores registers from a struct sigcontext_32.
func getSigcontext32(b []byte, r *arch.Regs) {
	le := binary.LittleEndian
	r.GS, r.FS = uint64(le.Uint16(b[0:])), uint64(le.Uint16(b[4:]))
	for i, p := range sigcontext32Regs(r) {
		*p = uint64(le.Uint32(b[16+4*i:]))
	}
	r.RIP = uint64(le.Uint32(b[56:]))
	flags := uint64(le.Uint32(b[64:]))
	r.RFLAGS = r.RFLAGS&^userFlagsMask | flags&userFlagsMask
}

// sigInfo32 converts a siginfo to struct compat_siginfo: the union starts
// at 12 instead of 16, and pointers are 4 bytes.
func sigInfo32(si sigInfo) sigInfo {
	var out sigInfo
	copy(out[:12], si[:12])
	code := int32(binary.LittleEndian.Uint32(si[8:]))
	sig := linux.Signal(binary.LittleEndian.Uint32(si[0:]))
	switch {
	case code > 0 && (sig == linux.SIGSEGV || sig == linux.SIGILL || sig == linux.SIGFPE || sig == linux.SIGBUS || sig == linux.SIGTRAP):
		binary.LittleEndian.PutUint32(out[12:], uint32(binary.LittleEndian.Uint64(si[16:])))
	default:
		copy(out[12:], si[16:16+12]) // pid, uid, status
	}
	return out
}

// setupFrame32 writes an i386 signal frame: rt_sigframe_ia32 for
// SA_SIGINFO handlers, the old sigframe_ia32 otherwise (as Linux does).
func setupFrame32(t *Task, regs *arch.Regs, sig linux.Signal, info sigInfo, act linux.SigAction, old linux.SigSet) bool {
	le := binary.LittleEndian
	var b []byte
	var sp uint64
	top, bottom := t.signalStack(regs.RSP&0xffffffff, 0, act.Flags)
	fpAddr, ok := t.putFPState32(top)
	if !ok {
		return false
	}
	if act.Flags&saSiginfo != 0 {
		sp = alignFrame32(fpAddr, rtFrameSize32)
		b = make([]byte, rtFrameSize32)
		le.PutUint32(b[0:], uint32(act.Restorer))
		le.PutUint32(b[4:], uint32(sig))
		le.PutUint32(b[8:], uint32(sp+rtInfoOff32))
		le.PutUint32(b[12:], uint32(sp+rtUCOff32))
		si := sigInfo32(info)
		copy(b[rtInfoOff32:], si[:])
		uc := b[rtUCOff32:]
		le.PutUint32(uc[0:], ucFPXstate)
		t.saveAltStack(uc[8:])
		putSigcontext32(uc[uc32Mcontext:], regs, old, fpAddr)
		le.PutUint64(uc[uc32Sigmask:], uint64(old))
		regs.RDX, regs.RCX = sp+rtInfoOff32, sp+rtUCOff32
	} else {
		sp = alignFrame32(fpAddr, oldFrameSize)
		b = make([]byte, oldFrameSize)
		le.PutUint32(b[0:], uint32(act.Restorer))
		le.PutUint32(b[4:], uint32(sig))
		putSigcontext32(b[oldSCOff32:], regs, old, fpAddr)
		le.PutUint32(b[oldExtramaskOff:], uint32(old>>32))
		regs.RDX, regs.RCX = 0, 0
	}
	if bottom != 0 && sp <= bottom {
		return false // would overflow the alternate stack
	}
	if _, err := t.MM().CopyOut(mm.Addr(sp), b); err != nil {
		return false
	}
	regs.RSP, regs.RIP, regs.RAX = sp, act.Handler, uint64(sig)
	regs.RFLAGS &^= flagsClearOnIn
	return true
}

// restoreFrame32 restores the registers and FPU state from a sigcontext
// at sc and the mask at maskAt (an old-style frame: the sigcontext's
// oldmask and the extramask word there), then resumes there.
func (t *Task) restoreFrame32(sc mm.Addr, maskAt mm.Addr, oldStyle bool) (uintptr, error) {
	regs, err := t.cpu.Regs()
	if err != nil {
		return 0, err
	}
	b := make([]byte, sc32Size)
	if _, err := t.MM().CopyIn(sc, b); err != nil {
		t.proc.killGroup(ExitStatus{Signal: linux.SIGSEGV, Core: true})
		return 0, nil
	}
	getSigcontext32(b, &regs)
	// FS and GS are loaded (ORed with RPL 3) as ia32's reload_segments
	// does; one the CPU refuses becomes 0 (loadsegment's fixup), so a
	// bad selector never reaches the engine.
	le := binary.LittleEndian
	regs.FS = uint64(t.loadDataSel(le.Uint16(b[4:])))
	regs.GS = uint64(t.loadDataSel(le.Uint16(b[0:])))
	cs, ss := le.Uint16(b[60:])|3, le.Uint16(b[72:])|3
	if err := t.restoreFPState32(uint64(binary.LittleEndian.Uint32(b[76:]))); err != nil {
		t.proc.killGroup(ExitStatus{Signal: linux.SIGSEGV, Core: true})
		return 0, nil
	}
	var mask linux.SigSet
	if oldStyle {
		var extra [4]byte
		if _, err := t.MM().CopyIn(maskAt, extra[:]); err != nil {
			t.proc.killGroup(ExitStatus{Signal: linux.SIGSEGV, Core: true})
			return 0, nil
		}
		mask = linux.SigSet(binary.LittleEndian.Uint32(b[80:])) | linux.SigSet(binary.LittleEndian.Uint32(extra[:]))<<32
	} else {
		var m [8]byte
		if _, err := t.MM().CopyIn(maskAt, m[:]); err != nil {
			t.proc.killGroup(ExitStatus{Signal: linux.SIGSEGV, Core: true})
			return 0, nil
		}
		mask = linux.SigSet(binary.LittleEndian.Uint64(m[:]))
	}
	t.setMask(mask)
	if err := t.cpu.SetRegs(&regs); err != nil {
		return 0, err
	}
	f := t.frame
	f.KeepRegs, f.Redirect, f.NewRIP = true, true, regs.RIP
	if cs != user32CS || ss != user32DS {
		// Linux loads CS and SS from the frame too; the iret to user
		// mode then refuses a bad one: a #GP at the restored state.
		t.iretFault(regs.RIP)
	}
	return 0, nil
}

// gdtDesc returns GDT entry idx as an i386 task on x86-64 Linux sees it
// (cmaemu's GDT has Linux's layout, except that entry 15, Linux's
// per-CPU segment, is empty); the TLS entries are the task's.
func (t *Task) gdtDesc(idx int) uint64 {
	switch {
	case idx >= tlsFirst && idx < tlsFirst+len(t.tls):
		return t.tls[idx-tlsFirst]
	case idx < len(gdtFixed):
		return gdtFixed[idx]
	}
	return 0
}

// gdtFixed are the GDT entries before the TLS ones that hold segments:
// kernel 32-bit code, kernel code, kernel data, user 32-bit code, user
// data, user 64-bit code.
var gdtFixed = [...]uint64{0, 0x00cf9b000000ffff, 0x00af9b000000ffff, 0x00cf93000000ffff,
	0x00cffb000000ffff, 0x00cff3000000ffff, 0x00affb000000ffff}

// gdtEntries is the size of the GDT (Linux's GDT_ENTRIES on x86-64).
const gdtEntries = 16

// loadDataSel returns what DS, ES, FS or GS holds after the kernel loads
// sel|3 into it at CPL 3: the selector if the CPU accepts it (null, or a
// present data or readable code segment of DPL 3, or a conforming code
// segment), else 0.
func (t *Task) loadDataSel(sel uint16) uint16 {
	sel |= 3
	idx := int(sel >> 3)
	if sel&4 == 0 && idx == 0 {
		return sel // null: loads
	}
	if sel&4 != 0 || idx >= gdtEntries { // no LDT; beyond the limit
		return 0
	}
	d := t.gdtDesc(idx)
	const (
		present   = 1 << 47
		system    = 1 << 44 // S: code or data when set
		code      = 1 << 43
		conform   = 1 << 42
		readable  = 1 << 41
		dplShift  = 45
		dplMask   = 3
		userLevel = 3
	)
	switch {
	case d&system == 0, d&present == 0:
		return 0
	case d&code != 0 && d&readable == 0:
		return 0
	case d&code != 0 && d&conform != 0:
		return sel
	case (d>>dplShift)&dplMask != userLevel:
		return 0
	}
	return sel
}

// Sigreturn32 implements i386 sigreturn(2) (old-style frames).
func Sigreturn32(t *Task, a Args) (uintptr, error) {
	if t.cpu == nil {
		return 0, linux.ENOSYS
	}
	regs, err := t.cpu.Regs()
	if err != nil {
		return 0, err
	}
	frame := mm.Addr(regs.RSP - 8) // the handler returned, __restore popped sig
	return t.restoreFrame32(frame+oldSCOff32, frame+oldExtramaskOff, true)
}

// RtSigreturn32 implements i386 rt_sigreturn(2).
func RtSigreturn32(t *Task, a Args) (uintptr, error) {
	if t.cpu == nil {
		return 0, linux.ENOSYS
	}
	regs, err := t.cpu.Regs()
	if err != nil {
		return 0, err
	}
	frame := mm.Addr(regs.RSP - 4) // the handler returned through pretcode
	uc := frame + rtUCOff32
	if err := t.restoreAltStack(uc+8, regs.RSP&0xffffffff); err != nil {
		t.proc.killGroup(ExitStatus{Signal: linux.SIGSEGV, Core: true})
		return 0, nil
	}
	return t.restoreFrame32(uc+uc32Mcontext, uc+uc32Sigmask, false)
}

// RtSigaction32 implements i386 rt_sigaction(2): struct sigaction with
// 4-byte handler, flags and restorer.
func RtSigaction32(t *Task, a Args) (uintptr, error) {
	return rtSigaction(t, a, 20, func(b []byte) linux.SigAction {
		return linux.SigAction{Handler: uint64(binary.LittleEndian.Uint32(b)), Flags: uint64(binary.LittleEndian.Uint32(b[4:])),
			Restorer: uint64(binary.LittleEndian.Uint32(b[8:])), Mask: linux.SigSet(binary.LittleEndian.Uint64(b[12:]))}
	}, func(b []byte, s linux.SigAction) {
		binary.LittleEndian.PutUint32(b, uint32(s.Handler))
		binary.LittleEndian.PutUint32(b[4:], uint32(s.Flags))
		binary.LittleEndian.PutUint32(b[8:], uint32(s.Restorer))
		binary.LittleEndian.PutUint64(b[12:], uint64(s.Mask))
	})
}

// --- TLS ----------------------------------------------------------------

// userDesc is struct user_desc of set_thread_area.
type userDesc struct {
	entry uint32
	base  uint32
	limit uint32
	flags uint32 // seg_32bit:1 contents:2 read_exec_only:1 limit_in_pages:1 seg_not_present:1 useable:1
}

func (d userDesc) empty() bool {
	// LDT_empty: base, limit, contents 0, read_exec_only 1, 32bit 0,
	// limit_in_pages 0, seg_not_present 1, useable 0.
	return d.base == 0 && d.limit == 0 && d.flags&^0x40 == 0x28
}

// descriptor builds the GDT descriptor set_thread_area installs.
func (d userDesc) descriptor() uint64 {
	if d.empty() {
		return 0
	}
	seg32 := d.flags & 1
	contents := d.flags >> 1 & 3
	readExecOnly := d.flags >> 3 & 1
	pages := d.flags >> 4 & 1
	notPresent := d.flags >> 5 & 1
	useable := d.flags >> 6 & 1
	typ := uint64(contents<<2|(readExecOnly^1)<<1) | 1 // accessed
	access := typ | 1<<4 | 3<<5                        // S, DPL 3
	if notPresent == 0 {
		access |= 1 << 7
	}
	e := uint64(d.limit&0xffff) | uint64(d.base&0xffffff)<<16 | access<<40 |
		uint64(d.limit>>16&0xf)<<48 | uint64(useable)<<52 | uint64(seg32)<<54 | uint64(pages)<<55 | uint64(d.base>>24)<<56
	return e
}

// fromDescriptor decodes a GDT descriptor back (get_thread_area).
func fromDescriptor(entry uint32, e uint64) userDesc {
	d := userDesc{entry: entry}
	if e == 0 {
		d.flags = 0x28
		return d
	}
	d.base = uint32(e>>16&0xffffff) | uint32(e>>56)<<24
	d.limit = uint32(e&0xffff) | uint32(e>>48&0xf)<<16
	access := e >> 40
	d.flags = uint32(e>>54&1) | uint32(access>>2&3)<<1 | uint32(access>>1&1^1)<<3 |
		uint32(e>>55&1)<<4 | uint32(access>>7&1^1)<<5 | uint32(e>>52&1)<<6
	return d
}

const tlsFirst = 12 // GDT_ENTRY_TLS_MIN of an x86-64 kernel

func (t *Task) readUserDesc(addr mm.Addr) (userDesc, error) {
	var b [16]byte
	if _, err := t.MM().CopyIn(addr, b[:]); err != nil {
		return userDesc{}, err
	}
	le := binary.LittleEndian
	return userDesc{le.Uint32(b[0:]), le.Uint32(b[4:]), le.Uint32(b[8:]), le.Uint32(b[12:])}, nil
}

// setTLS installs d in the task's TLS entries; entry -1 picks a free one
// and the chosen number is written back.
func (t *Task) setTLS(addr mm.Addr, d userDesc, writeBack bool) error {
	idx := int(d.entry) - tlsFirst
	if d.entry == 0xffffffff {
		idx = -1
		for i, e := range t.tls {
			if e == 0 {
				idx = i
				break
			}
		}
		if idx < 0 {
			return linux.ESRCH
		}
		d.entry = uint32(tlsFirst + idx)
		if writeBack {
			var b [4]byte
			binary.LittleEndian.PutUint32(b[:], d.entry)
			if _, err := t.MM().CopyOut(addr, b[:]); err != nil {
				return err
			}
		}
	}
	if idx < 0 || idx >= len(t.tls) {
		return linux.EINVAL
	}
	t.tls[idx] = d.descriptor()
	if t.cpu != nil {
		t.cpu.SetTLS(t.tls)
	}
	return nil
}

// SetThreadArea implements set_thread_area(2).
func SetThreadArea(t *Task, a Args) (uintptr, error) {
	d, err := t.readUserDesc(a.Pointer(0))
	if err != nil {
		return 0, err
	}
	return 0, t.setTLS(a.Pointer(0), d, true)
}

// GetThreadArea implements get_thread_area(2).
func GetThreadArea(t *Task, a Args) (uintptr, error) {
	d, err := t.readUserDesc(a.Pointer(0))
	if err != nil {
		return 0, err
	}
	idx := int(d.entry) - tlsFirst
	if idx < 0 || idx >= len(t.tls) {
		return 0, linux.EINVAL
	}
	d = fromDescriptor(d.entry, t.tls[idx])
	var b [16]byte
	le := binary.LittleEndian
	le.PutUint32(b[0:], d.entry)
	le.PutUint32(b[4:], d.base)
	le.PutUint32(b[8:], d.limit)
	le.PutUint32(b[12:], d.flags)
	_, err = t.MM().CopyOut(a.Pointer(0), b[:])
	return 0, err
}

// Clone32 implements i386 clone(2): flags, stack, parent_tid, tls
// (a struct user_desc), child_tid.
func Clone32(t *Task, a Args) (uintptr, error) {
	flags := uint64(a.Uint(0))
	var desc *userDesc
	if flags&cloneSetTLS != 0 {
		d, err := t.readUserDesc(a.Pointer(3))
		if err != nil {
			return 0, err
		}
		desc = &d
	}
	return t.cloneWith(flags, uint64(a.Uint(1)), a.Pointer(2), a.Pointer(4), 0, desc)
}

// --- memory -------------------------------------------------------------

// Mmap2 implements mmap2(2): the offset is in pages.
func Mmap2(t *Task, a Args) (uintptr, error) {
	b := a
	b[5] = uint64(a.Uint(5)) << mm.PageShift
	b[4] = uint64(uint32(a.Int(4)))
	return mmap32(t, b)
}

// OldMmap implements i386 mmap(2), whose arguments are a struct in memory.
func OldMmap(t *Task, a Args) (uintptr, error) {
	var raw [24]byte
	if _, err := t.MM().CopyIn(a.Pointer(0), raw[:]); err != nil {
		return 0, err
	}
	var b Args
	for i := range 6 {
		b[i] = uint64(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	if b[5]&(mm.PageSize-1) != 0 {
		return 0, linux.EINVAL
	}
	return mmap32(t, b)
}

// mmap32 runs mmap with the fd sign-extended from 32 bits.
func mmap32(t *Task, a Args) (uintptr, error) {
	a[4] = uint64(int64(int32(a[4])))
	return Mmap(t, a)
}

// --- files --------------------------------------------------------------

// stat64Size is sizeof(struct stat64) on i386.
const stat64Size = 96

// toStat64 converts an x86-64 struct stat into i386's struct stat64.
func toStat64(st [statSize]byte) [stat64Size]byte {
	le := binary.LittleEndian
	var o [stat64Size]byte
	le.PutUint64(o[0:], le.Uint64(st[0:]))           // st_dev
	le.PutUint32(o[12:], uint32(le.Uint64(st[8:])))  // __st_ino
	le.PutUint32(o[16:], le.Uint32(st[24:]))         // st_mode
	le.PutUint32(o[20:], uint32(le.Uint64(st[16:]))) // st_nlink
	le.PutUint32(o[24:], le.Uint32(st[28:]))         // st_uid
	le.PutUint32(o[28:], le.Uint32(st[32:]))         // st_gid
	le.PutUint64(o[32:], le.Uint64(st[40:]))         // st_rdev
	le.PutUint64(o[44:], le.Uint64(st[48:]))         // st_size
	le.PutUint32(o[52:], uint32(le.Uint64(st[56:]))) // st_blksize
	le.PutUint64(o[56:], le.Uint64(st[64:]))         // st_blocks
	for i := 0; i < 6; i++ {                         // times
		le.PutUint32(o[64+4*i:], uint32(le.Uint64(st[72+8*i:])))
	}
	le.PutUint64(o[88:], le.Uint64(st[8:])) // st_ino
	return o
}

func (t *Task) putStat64(addr mm.Addr, st [statSize]byte) error {
	o := toStat64(st)
	_, err := t.MM().CopyOut(addr, o[:])
	return err
}

// hostStatAt stats (dirfd, path) as struct stat.
func (t *Task) hostStatAt(dirfd int32, addr mm.Addr, flags uint32) ([statSize]byte, error) {
	a, err := t.statAt(dirfd, addr, flags)
	if err != nil {
		return [statSize]byte{}, err
	}
	return file.EncodeStat(a), nil
}

// Fstatat64 implements fstatat64(2).
func Fstatat64(t *Task, a Args) (uintptr, error) {
	st, err := t.hostStatAt(a.Int(0), a.Pointer(1), a.Uint(3))
	if err != nil {
		return 0, err
	}
	return 0, t.putStat64(a.Pointer(2), st)
}

// Stat64 implements stat64(2).
func Stat64(t *Task, a Args) (uintptr, error) {
	st, err := t.hostStatAt(linux.AT_FDCWD, a.Pointer(0), 0)
	if err != nil {
		return 0, err
	}
	return 0, t.putStat64(a.Pointer(1), st)
}

// Lstat64 implements lstat64(2).
func Lstat64(t *Task, a Args) (uintptr, error) {
	st, err := t.hostStatAt(linux.AT_FDCWD, a.Pointer(0), linux.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return 0, err
	}
	return 0, t.putStat64(a.Pointer(1), st)
}

// Fstat64 implements fstat64(2).
func Fstat64(t *Task, a Args) (uintptr, error) {
	f, err := t.proc.fds.Get(a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return 0, t.putStat64(a.Pointer(1), st)
}

// Llseek implements _llseek(2): the offset comes in two halves and the
// result is stored through a pointer.
func Llseek(t *Task, a Args) (uintptr, error) {
	off := int64(uint64(a.Uint(1))<<32 | uint64(a.Uint(2)))
	r, err := Lseek(t, Args{a[0], uint64(off), uint64(a.Uint(4))})
	if err != nil {
		return 0, err
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(r))
	_, err = t.MM().CopyOut(a.Pointer(3), b[:])
	return 0, err
}

// split64 joins the (lo, hi) halves of a 64-bit argument.
func split64(lo, hi uint64) uint64 { return uint64(uint32(lo)) | uint64(uint32(hi))<<32 }

// Pread64_32 implements i386 pread64(2) (offset in two registers).
func Pread64_32(t *Task, a Args) (uintptr, error) {
	return Pread64(t, Args{uint64(uint32(a[0])), a[1], a[2], split64(a[3], a[4])})
}

// Pwrite64_32 implements i386 pwrite64(2).
func Pwrite64_32(t *Task, a Args) (uintptr, error) {
	return Pwrite64(t, Args{uint64(uint32(a[0])), a[1], a[2], split64(a[3], a[4])})
}

// Ftruncate64_32 implements i386 ftruncate64(2).
func Ftruncate64_32(t *Task, a Args) (uintptr, error) {
	return Ftruncate(t, Args{uint64(uint32(a[0])), split64(a[1], a[2])})
}

// Fcntl64 implements fcntl64(2) for the commands fcntl supports.
func Fcntl64(t *Task, a Args) (uintptr, error) {
	a[2] = uint64(uint32(a[2]))
	switch a.Int(1) {
	case fGetLk64, fSetLk64, fSetLkW64:
		return t.fcntlLock(a.Int(0), a.Int(1), a.Pointer(2))
	}
	return Fcntl(t, a)
}

// --- time ---------------------------------------------------------------

// clockGettime32 implements clock_gettime(2) with a 32-bit timespec.
func clockGettime32(t *Task, a Args) (uintptr, error) {
	if d, ok, err := t.cpuClockGettime(a.Int(0), false); ok {
		return 0, t.putTimespec(a.Pointer(1), d, err, true)
	}
	var ts [2]int64
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, uintptr(a.Int(0)), uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0, linux.Errno(e)
	}
	return 0, t.putTimePair(a.Pointer(1), ts[0], ts[1], true)
}

// clockGetres32 implements clock_getres(2) with a 32-bit timespec.
func clockGetres32(t *Task, a Args) (uintptr, error) {
	if d, ok, err := t.cpuClockGettime(a.Int(0), true); ok {
		if a.Pointer(1) == 0 {
			return 0, err
		}
		return 0, t.putTimespec(a.Pointer(1), d, err, true)
	}
	var ts [2]int64
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETRES, uintptr(a.Int(0)), uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0, linux.Errno(e)
	}
	if a.Pointer(1) == 0 {
		return 0, nil
	}
	return 0, t.putTimePair(a.Pointer(1), ts[0], ts[1], true)
}

// gettimeofday32 implements gettimeofday(2) with a 32-bit timeval.
func gettimeofday32(t *Task, a Args) (uintptr, error) {
	var tv syscall.Timeval
	syscall.Gettimeofday(&tv)
	if a.Pointer(0) != 0 {
		if err := t.putTimePair(a.Pointer(0), tv.Sec, tv.Usec, true); err != nil {
			return 0, err
		}
	}
	if a.Pointer(1) != 0 {
		if _, err := t.MM().ZeroOut(a.Pointer(1), 8); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// --- credentials, limits, waits -----------------------------------------

// Waitpid implements waitpid(2).
func Waitpid(t *Task, a Args) (uintptr, error) {
	return Wait4(t, Args{a[0], a[1], a[2], 0})
}

// uid16 narrows an id for the 16-bit calls (overflowuid).
func uid16(v uintptr, err error) (uintptr, error) {
	if v > 0xffff {
		v = 65534
	}
	return v, err
}

// --- process_vm_readv/writev (347/348) ----------------------------------

// ProcessVMReadv32 implements the compat process_vm_readv: iovecs of two
// 32-bit words; counts and flags come from 32-bit registers.
func ProcessVMReadv32(t *Task, a Args) (uintptr, error) { return processVM32(t, a, mm.ReadRemote) }

// ProcessVMWritev32 implements the compat process_vm_writev.
func ProcessVMWritev32(t *Task, a Args) (uintptr, error) { return processVM32(t, a, mm.WriteRemote) }

func processVM32(t *Task, a Args, dir mm.CopyDirection) (uintptr, error) {
	return processVMCore(t, a.Int(0), a.Pointer(1), uint64(a.Uint(2)), a.Pointer(3), uint64(a.Uint(4)),
		uint64(a.Uint(5)), dir, iovec32)
}

// Truncate32 implements i386 truncate(2): a signed 32-bit length.
func Truncate32(t *Task, a Args) (uintptr, error) {
	return Truncate(t, Args{a[0], uint64(int64(a.Int(1)))})
}

// Truncate64_32 implements i386 truncate64(2) (length in two registers).
func Truncate64_32(t *Task, a Args) (uintptr, error) {
	return Truncate(t, Args{a[0], split64(a[1], a[2])})
}

// Fallocate32 implements i386 fallocate(2): offset and length in two
// registers each.
func Fallocate32(t *Task, a Args) (uintptr, error) {
	return fallocate(t, a.Int(0), a.Int(1), int64(split64(a[2], a[3])), int64(split64(a[4], a[5])))
}

// Fadvise64_32 implements i386 fadvise64(2): a 64-bit offset and a 32-bit
// length.
func Fadvise64_32(t *Task, a Args) (uintptr, error) {
	return fadvise(t, a.Int(0), int64(uint32(a[3])), a.Int(4))
}

// Fadvise6464_32 implements i386 fadvise64_64(2).
func Fadvise6464_32(t *Task, a Args) (uintptr, error) {
	return fadvise(t, a.Int(0), int64(split64(a[3], a[4])), a.Int(5))
}

// statfs64Size is sizeof(struct statfs64) on i386 (4-byte aligned).
const statfs64Size = 84

// toStatfs64 converts an x86-64 struct statfs into i386's struct
// statfs64.
func toStatfs64(b [statfsSize]byte) [statfs64Size]byte {
	le := binary.LittleEndian
	var o [statfs64Size]byte
	le.PutUint32(o[0:], uint32(le.Uint64(b[0:])))   // f_type
	le.PutUint32(o[4:], uint32(le.Uint64(b[8:])))   // f_bsize
	copy(o[8:48], b[16:56])                         // f_blocks .. f_ffree
	copy(o[48:56], b[56:64])                        // f_fsid
	le.PutUint32(o[56:], uint32(le.Uint64(b[64:]))) // f_namelen
	le.PutUint32(o[60:], uint32(le.Uint64(b[72:]))) // f_frsize
	le.PutUint32(o[64:], uint32(le.Uint64(b[80:]))) // f_flags
	return o
}

// putStatfs64 writes b as struct statfs64 at out; size must be its size.
func (t *Task) putStatfs64(size uint64, out mm.Addr, b [statfsSize]byte, err error) (uintptr, error) {
	if err != nil {
		return 0, err
	}
	if size != statfs64Size {
		return 0, linux.EINVAL
	}
	o := toStatfs64(b)
	_, err = t.MM().CopyOut(out, o[:])
	return 0, err
}

// Statfs64 implements i386 statfs64(2).
func Statfs64(t *Task, a Args) (uintptr, error) {
	b, err := t.statfsPath(a.Pointer(0))
	return t.putStatfs64(a.Uint64(1), a.Pointer(2), b, err)
}

// Fstatfs64 implements i386 fstatfs64(2).
func Fstatfs64(t *Task, a Args) (uintptr, error) {
	b, err := t.statfsFD(a.Int(0))
	return t.putStatfs64(a.Uint64(1), a.Pointer(2), b, err)
}
