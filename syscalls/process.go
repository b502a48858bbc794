package syscalls

import (
	"crypto/rand"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"sync"

	"cmaemu/arch"
	"cmaemu/linux"
	"cmaemu/loader"
	"cmaemu/mm"
)

// Creds are a process's credentials. uid 0 holds every capability.
type Creds struct {
	RUID, EUID, SUID, FSUID uint32
	RGID, EGID, SGID, FSGID uint32
	Groups                  []uint32
}

// SameIDs returns credentials with every uid set to uid and every gid to gid.
func SameIDs(uid, gid uint32) Creds {
	return Creds{RUID: uid, EUID: uid, SUID: uid, FSUID: uid, RGID: gid, EGID: gid, SGID: gid, FSGID: gid}
}

// ExitStatus is how a process ended.
type ExitStatus struct {
	Code   int          // exit code, if Signal == 0
	Signal linux.Signal // terminating signal, or 0
	Core   bool
	// Fault describes the fault that raised Signal, if one did.
	Fault *FaultInfo
}

// WaitStatus encodes the status as wait(2) reports it.
func (s ExitStatus) WaitStatus() uint32 {
	if s.Signal != 0 {
		w := uint32(s.Signal)
		if s.Core {
			w |= 0x80
		}
		return w
	}
	return uint32(s.Code&0xff) << 8
}

// ShellStatus is the status a shell shows: the code, or 128+signal.
func (s ExitStatus) ShellStatus() int {
	if s.Signal != 0 {
		return 128 + int(s.Signal)
	}
	return s.Code & 0xff
}

// FaultInfo describes a guest fault that killed it: the faulting address
// and the instruction bytes at RIP, for reports.
type FaultInfo struct {
	Mode    arch.Mode
	RIP     uint64
	Addr    mm.Addr
	Access  mm.Access
	HasAddr bool
	Code    []byte // up to 16 instruction bytes at RIP (fewer if unreadable)
}

// Process is a thread group: an address space, a file table, credentials
// and signal dispositions shared by its tasks.
type Process struct {
	k   *Kernel
	pid int32

	mu       sync.Mutex // protects the fields below
	mm       *mm.MM
	fds      *FDTable
	fs       *FSContext
	creds    Creds
	dumpable bool
	sigacts  [linux.NSig]linux.SigAction
	exe      string
	tasks    []*Task
	exiting  bool
	status   ExitStatus
	done     chan struct{}
}

// PID returns the process id.
func (p *Process) PID() int32 { return p.pid }

// MM returns the process's address space.
func (p *Process) MM() *mm.MM {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mm
}

// Creds returns a copy of the credentials.
func (p *Process) Creds() Creds {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.creds
	c.Groups = append([]uint32(nil), c.Groups...)
	return c
}

// Wait blocks until the process has exited and returns its status.
func (p *Process) Wait() ExitStatus {
	<-p.done
	return p.status
}

// SpawnOptions configure the first process of a program.
type SpawnOptions struct {
	Args, Env []string
	Creds     Creds
	// Cwd is the guest's working directory on the host ("" = the host's).
	Cwd string
	// Stdio are the host files behind guest fds 0, 1 and 2.
	Stdio [3]*os.File
}

// Spawn creates a process running the static ELF program at path (a host
// path) and starts it. Errors are those of loading: the loader's error
// types, or *os.PathError.
func (k *Kernel) Spawn(path string, opts SpawnOptions) (*Process, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return nil, &os.PathError{Op: "exec", Path: path, Err: linux.EACCES}
	}
	fs, err := newFSContext(opts.Cwd)
	if err != nil {
		return nil, err
	}
	fds, err := newStdioTable(opts.Stdio)
	if err != nil {
		fs.release()
		return nil, err
	}
	p := &Process{k: k, pid: k.allocPID(), fds: fds, fs: fs, creds: opts.Creds, dumpable: true,
		exe: absPath(fs, path), done: make(chan struct{})}
	t := &Task{k: k, proc: p, tid: p.pid}
	if err := t.execImage(f, path, opts.Args, opts.Env); err != nil {
		fds.release()
		fs.release()
		return nil, err
	}
	p.tasks = []*Task{t}
	k.addTask(t)
	go t.run()
	return p, nil
}

// ErrI386 is returned for i386 programs until the i386 ABI is supported.
var ErrI386 = errors.New("i386 programs are not supported yet")

// execImage loads the program in f into a fresh address space and gives
// the task a CPU for it; the old address space and CPU are released.
func (t *Task) execImage(f *os.File, path string, args, env []string) error {
	ef, err := loader.Check(f)
	if err != nil {
		return err
	}
	if ef.Class != elf.ELFCLASS64 {
		return ErrI386
	}
	as, err := mm.New(t.k.ram, mm.Layout64)
	if err != nil {
		return err
	}
	creds := t.proc.Creds()
	opts := loader.Options{Args: args, Env: env, ExecFn: path,
		UID: creds.RUID, EUID: creds.EUID, GID: creds.RGID, EGID: creds.EGID, HWCap: hwcap}
	rand.Read(opts.Random[:])
	img, err := loader.Load(f, as, opts)
	if err != nil {
		as.Release()
		return err
	}
	as.SetBrk(img.BrkStart)
	cpu, err := t.k.newCPU(as, arch.Mode64)
	if err != nil {
		as.Release()
		return err
	}
	if err := cpu.SetRegs(&arch.Regs{RIP: uint64(img.Entry), RSP: uint64(img.SP)}); err != nil {
		cpu.Close()
		as.Release()
		return err
	}
	old, oldCPU := t.proc.swapMM(as), t.cpu
	t.cpu, t.table = cpu, &AMD64
	if oldCPU != nil {
		oldCPU.Close()
	}
	if old != nil {
		old.Release()
	}
	return nil
}

// hwcap is AT_HWCAP: CPUID.1:EDX of the emulated CPU model.
const hwcap = 0x178bfbff

func (p *Process) swapMM(as *mm.MM) *mm.MM {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.mm
	p.mm = as
	return old
}

// exit ends the process with status (the first caller wins) and releases
// its resources.
func (p *Process) exit(status ExitStatus) {
	p.mu.Lock()
	if p.exiting {
		p.mu.Unlock()
		return
	}
	p.exiting = true
	p.status = status
	as, fds, fs := p.mm, p.fds, p.fs
	p.mm, p.fds, p.fs = nil, nil, nil
	tasks := p.tasks
	p.mu.Unlock()
	for _, t := range tasks {
		if t.cpu != nil {
			t.cpu.Close()
			t.cpu = nil
		}
		p.k.removeTask(t)
	}
	if as != nil {
		as.Release()
	}
	if fds != nil {
		fds.release()
	}
	if fs != nil {
		fs.release()
	}
	close(p.done)
}

var errExited = errors.New("task exited")

func (p *Process) String() string { return fmt.Sprintf("pid %d", p.pid) }
