package syscalls

import (
	"bytes"
	"crypto/rand"
	"debug/elf"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/loader"
	"github.com/cmaemu/cmaemu/mm"
)

// image is a program loaded into a fresh address space, ready to run.
type image struct {
	mm    *mm.MM
	regs  arch.Regs
	mode  arch.Mode
	table *Table
	// exe is the program file (its reference passes to the process);
	// exeName the name it was run by.
	exe     vfs.Path
	exeName string
	info    *execInfo // for /proc/PID
}

// release drops what an image holds when it is not used.
func (img *image) release() {
	img.mm.Release()
	img.exe.DecRef()
}

// maxShebangDepth bounds interpreter chains, as Linux does.
const maxShebangDepth = 4

// loadProgram loads the program at path (resolved in the guest's view
// from start, the working directory or execveat's directory; or, with an
// empty path, the file of) with argv and envp. Scripts that start with #!
// run their interpreter; a dynamically linked program gets its own
// (PT_INTERP). AT_EXECFN and the process name stay path's, as in Linux,
// whatever runs.
func (t *Task) loadProgram(start vfs.Path, path string, file *openFile, name execName, argv, envv []string) (*image, error) {
	execfn := name.name
	for depth := 0; ; depth++ {
		f, err := t.openExecutable(start, path, file)
		if err != nil {
			return nil, err
		}
		file = nil
		interp, arg, isScript, err := readShebang(f)
		if err != nil {
			f.DecRef()
			return nil, err
		}
		if !isScript {
			defer f.DecRef()
			return t.loadELF(f, execfn, argv, envv)
		}
		f.DecRef()
		if depth == maxShebangDepth {
			return nil, linux.ELOOP
		}
		if name.inaccessible {
			return nil, linux.ENOENT // the script's name would not open after the exec
		}
		next := []string{interp}
		if arg != "" {
			next = append(next, arg)
		}
		next = append(next, name.name)
		if len(argv) > 1 {
			next = append(next, argv[1:]...)
		}
		path, name, argv = interp, execName{name: interp}, next
	}
}

// openExecutable opens path (or takes file, when not nil) for execution
// with execve's checks: a regular file with execute permission for the
// caller, on a mount that allows it. Read permission is not needed.
func (t *Task) openExecutable(start vfs.Path, path string, file *openFile) (*openFile, error) {
	var p vfs.Path
	if file != nil {
		p = file.Path()
		if p.Inode == nil {
			return nil, linux.EACCES
		}
		p.IncRef()
	} else {
		if path == "" {
			return nil, linux.ENOENT
		}
		ref, err := t.at(linux.AT_FDCWD, path, nil)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(path, "/") {
			ref.start.DecRef()
			start.IncRef()
			ref.start = start
		}
		p, err = ref.r.Resolve(ref.start, path, 0)
		ref.release()
		if err != nil {
			return nil, err
		}
	}
	a, err := p.Attr()
	if err == nil {
		switch {
		case !a.IsRegular():
			err = linux.EACCES
		case p.Mount != nil && p.Mount.Flags&vfs.MountNoExec != 0:
			err = linux.EACCES
		default:
			err = t.proc.Creds().fsCreds().Permission(a, vfs.MayExec)
		}
	}
	var h vfs.Handle
	if err == nil {
		o, ok := p.Inode.(vfs.Opener)
		if !ok {
			err = linux.EACCES
		} else {
			h, err = o.Open(linux.O_RDONLY)
		}
	}
	if err != nil {
		p.DecRef()
		return nil, err
	}
	return newOpenFile(p, h, linux.O_RDONLY), nil
}

// readShebang reads a "#!interp [arg]" line.
func readShebang(f io.ReaderAt) (interp, arg string, ok bool, err error) {
	buf := make([]byte, 256)
	n, err := f.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return "", "", false, linux.EIO
	}
	buf = buf[:n]
	if !bytes.HasPrefix(buf, []byte("#!")) {
		return "", "", false, nil
	}
	line := buf[2:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	fields := strings.SplitN(strings.TrimSpace(strings.ReplaceAll(string(line), "\t", " ")), " ", 2)
	if fields[0] == "" {
		return "", "", false, linux.ENOEXEC
	}
	if len(fields) == 2 {
		arg = strings.TrimSpace(fields[1])
	}
	return fields[0], arg, true, nil
}

// loadELF loads an ELF program, and the interpreter it names if it is
// dynamically linked, into a new address space. execfn is the name exec
// was given (AT_EXECFN, the process name).
func (t *Task) loadELF(f *openFile, execfn string, argv, envv []string) (*image, error) {
	ef, err := loader.Check(f)
	if err != nil {
		return nil, loadError(err)
	}
	layout, mode, table := mm.Layout64, arch.Mode64, &AMD64
	if ef.Class == elf.ELFCLASS32 {
		layout, mode, table = mm.Layout32, arch.Mode32, &I386
	}
	as, err := mm.New(t.k.ram, layout)
	if err != nil {
		return nil, err
	}
	creds := t.proc.Creds()
	var interp *openFile
	defer func() {
		if interp != nil {
			interp.DecRef()
		}
	}()
	opts := loader.Options{Args: argv, Env: envv, ExecFn: execfn,
		UID: creds.RUID, EUID: creds.EUID, GID: creds.RGID, EGID: creds.EGID,
		HWCap: hwcap, HWCap2: hwcap2, MinSigStkSz: minSigStkSz,
		MmapBase: layout.MmapBase,
		OpenInterp: func(name string) (io.ReaderAt, error) {
			var err error
			interp, err = t.openInterp(name)
			return interp, err
		}}
	rand.Read(opts.Random[:])
	img, err := loader.Load(f, execMemory{as}, opts)
	if err != nil {
		as.Release()
		return nil, loadError(err)
	}
	as.SetBrk(img.BrkStart)
	as.SetDataSegment(img.StartData, img.EndData)
	exe := f.Path()
	exe.IncRef()
	return &image{mm: as, regs: arch.Regs{RIP: uint64(img.Entry), RSP: uint64(img.SP), RFLAGS: 0x202},
		mode: mode, table: table, exe: exe, exeName: execfn, info: newExecInfo(img, as, mode)}, nil
}

// openInterp opens a program's interpreter as execve does (open_exec):
// the name resolved in the guest's view, relative to the working
// directory, with execve's checks (a regular file, execute permission, a
// mount that allows it).
func (t *Task) openInterp(name string) (*openFile, error) {
	root, cwd := t.proc.fs.dirs()
	root.DecRef()
	defer cwd.DecRef()
	return t.openExecutable(cwd, name, nil)
}

// loadError is the error execve returns for an error of the loader: the
// interpreter's open errors as they are (ENOENT, EACCES...), E2BIG,
// ELIBBAD for an unusable interpreter, ENOEXEC for a bad program.
func loadError(err error) error {
	var ie *loader.InterpError
	switch {
	case errors.Is(err, loader.ErrArgListTooLong):
		return linux.E2BIG
	case errors.Is(err, loader.ErrBadInterp):
		return &execError{err, linux.ELIBBAD}
	case errors.As(err, &ie):
		return err // the open's errno, with the interpreter's name for the command line
	}
	return &execError{err, linux.ENOEXEC}
}

// execMemory is a new address space as the loader fills it: it maps the
// program's and the interpreter's pages from their files (MAP_PRIVATE), so
// that /proc/PID/maps names them and pages are read when first touched.
type execMemory struct{ *mm.MM }

// MapFile implements loader.FileMapper.
func (m execMemory) MapFile(ar mm.AddrRange, prot mm.Prot, f mm.File, off uint64) error {
	_, err := m.Map(mm.MapOpts{Addr: ar.Start, Length: ar.Length(), Prot: prot, Fixed: true, File: f, Offset: off})
	return err
}

// execError is a program that cannot be run: the guest sees errno
// (ENOEXEC, or ELIBBAD for a bad interpreter), the command line the reason.
type execError struct {
	err   error
	errno linux.Errno
}

func (e *execError) Error() string { return e.err.Error() }
func (e *execError) Unwrap() error { return e.err }
func (e *execError) Is(target error) bool {
	return target == e.errno
}

// As gives the errno to errors.As (errnoOf).
func (e *execError) As(target any) bool {
	if p, ok := target.(*linux.Errno); ok {
		*p = e.errno
		return true
	}
	return false
}

// hwcap is AT_HWCAP: CPUID.1:EDX of the emulated CPU model, as a guest
// reads it under cmaemu (Unicorn's Haswell model has neither VME nor HTT).
const hwcap = 0x078bfbfd

// hwcap2 is AT_HWCAP2: HWCAP2_FSGSBASE, as Linux reports it once it has
// enabled CR4.FSGSBASE (the emulated CPU has it: emu sets the bit). Like
// Linux's, the value is the same for i386 processes.
const hwcap2 = 1 << 1

// minSigStkSz is AT_MINSIGSTKSZ for the emulated CPU, whose signal
// frames hold XSAVE-format state (emu sets CR4.OSXSAVE; XCR0 is x87|SSE).
var minSigStkSz = sigframeSize(xsaveSSESize, true)

// xsaveSSESize is the XSAVE area of x87 and SSE state (legacy area and
// header): what the emulated CPU, with CR4.OSXSAVE set, saves.
const xsaveSSESize = 576

// sigframeSize is Linux's get_sigframe_size() on x86-64 with IA32
// emulation (init_sigframe_size): the largest frame header,
// sizeof(struct sigframe_ia32) = 736, plus 15 bytes of frame alignment,
// plus the FPU state (the user xstate size, the 4-byte FP_XSTATE_MAGIC2
// with XSAVE, and the 112-byte fregs_state of ia32 frames), plus 63 bytes
// of XSAVE alignment, rounded up to 16. FXSAVE only (512 bytes): 1440.
// A 6.18 kernel with a 2432-byte XSAVE area reports 3376.
func sigframeSize(fpState uint64, xsave bool) uint64 {
	const sigframeIA32, framePad, fregsState, xsavePad, magic2 = 736, 15, 112, 63, 4
	n := sigframeIA32 + framePad + fpState + fregsState + xsavePad
	if xsave {
		n += magic2
	}
	return (n + 15) &^ 15
}

// maxArgs bounds argv and envp (MAX_ARG_STRINGS).
const maxArgs = 0x7fffffff

// readStringArray reads a NULL-terminated array of string pointers.
func (t *Task) readStringArray(addr mm.Addr) ([]string, error) {
	var out []string
	if addr == 0 {
		return nil, nil
	}
	total := 0
	for i := 0; ; i++ {
		p, err := t.readPointer(addr + mm.Addr(t.table.abi.ptrSize*i))
		if err != nil {
			return nil, err
		}
		if p == 0 {
			return out, nil
		}
		s, err := t.MM().CopyInString(p, 128<<10)
		if err != nil {
			if errors.Is(err, linux.ENAMETOOLONG) {
				return nil, linux.E2BIG
			}
			return nil, err
		}
		if total += len(s) + 1 + 8; total > 2<<20 {
			return nil, linux.E2BIG
		}
		out = append(out, s)
	}
}

func leUint64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// Execve implements execve(2).
func Execve(t *Task, a Args) (uintptr, error) {
	return t.execve(linux.AT_FDCWD, a.Pointer(0), a.Pointer(1), a.Pointer(2), 0)
}

// Execveat implements execveat(2).
func Execveat(t *Task, a Args) (uintptr, error) {
	return t.execve(a.Int(0), a.Pointer(1), a.Pointer(2), a.Pointer(3), a.Uint(4))
}

func (t *Task) execve(dirfd int32, pathAddr, argvAddr, envAddr mm.Addr, flags uint32) (uintptr, error) {
	if t.cpu == nil {
		return 0, linux.ENOSYS // a task that runs no code (kerneltest)
	}
	path, err := t.pathName(pathAddr)
	if err != nil {
		return 0, err
	}
	if flags&^(linux.AT_EMPTY_PATH|linux.AT_SYMLINK_NOFOLLOW) != 0 {
		return 0, linux.EINVAL
	}
	name, err := t.execFilename(dirfd, path)
	if err != nil {
		return 0, err
	}
	// The directory relative names start at, or, for an empty name with
	// AT_EMPTY_PATH, the descriptor's own file (fexecve).
	root, start := t.proc.fs.dirs()
	root.DecRef()
	defer func() { start.DecRef() }()
	var file *openFile
	if dirfd != linux.AT_FDCWD && !strings.HasPrefix(path, "/") {
		f, err := t.vfsFile(dirfd, linux.ENOTDIR)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		if path == "" {
			if flags&linux.AT_EMPTY_PATH == 0 {
				return 0, linux.ENOENT
			}
			file = f
			path = f.Name()
		} else {
			p := f.Path()
			if a, err := p.Attr(); p.Inode == nil || err != nil || !a.IsDir() {
				return 0, linux.ENOTDIR
			}
			p.IncRef()
			start.DecRef()
			start = p
		}
	}
	argv, err := t.readStringArray(argvAddr)
	if err != nil {
		return 0, err
	}
	envv, err := t.readStringArray(envAddr)
	if err != nil {
		return 0, err
	}
	img, err := t.loadProgram(start, path, file, name, argv, envv)
	if err != nil {
		return 0, err
	}
	t.commitExec(img)
	return 0, nil
}

// execName is the name execve gives the new program (AT_EXECFN, and a
// script's path on its interpreter's command line), as Linux forms it: the
// path itself when it is absolute or relative to the working directory,
// else a name through the descriptor, /dev/fd/N or /dev/fd/N/PATH, so that
// an interpreter opens the same file whatever the working directory.
type execName struct {
	name string
	// inaccessible: the descriptor is close-on-exec, so the name will not
	// open after the exec; Linux then refuses scripts (ENOENT).
	inaccessible bool
}

func (t *Task) execFilename(dirfd int32, path string) (execName, error) {
	if dirfd == linux.AT_FDCWD || strings.HasPrefix(path, "/") {
		return execName{name: path}, nil
	}
	cloexec, err := t.proc.fds.CloseOnExec(dirfd, nil)
	if err != nil {
		return execName{}, err
	}
	name := "/dev/fd/" + strconv.Itoa(int(dirfd))
	if path != "" {
		name += "/" + path
	}
	return execName{name: name, inaccessible: cloexec}, nil
}

// commitExec makes img the task's program: the point of no return of
// execve. The address space and CPU are switched by the task loop once
// the old engine has stopped.
func (t *Task) commitExec(img *image) {
	p := t.proc
	t.alt = disabledAltStack
	t.killOtherThreads()
	t.becomeLeader()
	t.k.mu.Lock()
	p.execed = true
	t.k.mu.Unlock()
	p.mu.Lock()
	p.sigTimers.timers.deleteAllLocked(t.k)
	for i := range p.sigacts {
		if p.sigacts[i].Handler != linux.SIG_IGN {
			p.sigacts[i] = linux.SigAction{}
		}
	}
	old := p.exe
	p.exe, p.exeName, p.exec, p.comm = img.exe, img.exeName, img.info, commOf(img.exeName)
	t.comm = ""
	c := &p.creds
	c.SUID, c.SGID = c.EUID, c.EGID
	// begin_new_exec: dumpable unless the ids differ (suid_dumpable 0).
	p.dumpable = c.EUID == c.RUID && c.EGID == c.RGID
	p.mu.Unlock()
	old.DecRef()
	// Last: a parent that sees these descriptors close finds the new
	// process state (setpgid refused, ids and dumpable updated).
	p.fds.closeOnExec()
	t.execMM, t.startRegs, t.mode, t.table = img.mm, &img.regs, img.mode, img.table
	t.clearChildTID, t.robustList, t.tls = 0, 0, [3]uint64{}
	t.frame.KeepRegs = true
}

// deThreadWait bounds how long execve waits for the other threads to go
// (one blocked in a host call cannot be interrupted).
const deThreadWait = 2 * time.Second

// becomeLeader waits for the process's other threads to exit and, if the
// caller is not the thread-group leader, gives it the process id as its
// thread id, as Linux's de_thread does.
func (t *Task) becomeLeader() {
	k, p := t.k, t.proc
	deadline := time.Now().Add(deThreadWait)
	for {
		k.mu.Lock()
		alone := len(p.tasks) == 1
		if alone && t.tid != p.pid && k.tasks[p.pid] == nil {
			delete(k.tasks, t.tid)
			t.tid = p.pid
			k.tasks[t.tid] = t
		}
		k.mu.Unlock()
		if alone || time.Now().After(deadline) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
