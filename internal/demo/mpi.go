package demo

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cmaemu/cmaemu/mm"
	"github.com/cmaemu/cmaemu/syscalls"
)

// The mpi scenario runs a real Open MPI job (mpirun and two ranks of
// mpisrc/pingpong.c, built with the host's mpicc) as guests of the demo's
// kernel, and shows the process_vm_readv with which each rank pulls the
// other's message. It is the one scenario that needs programs of the
// host: Open MPI's mpirun and mpicc.

//go:embed mpisrc/pingpong.c
var mpiPingPong []byte

// mpiMessage is the message size of mpisrc/pingpong.c.
const mpiMessage = 9000

// mpiAttempts bounds the runs of the job: a run that fails (Open MPI
// under cmaemu still dies now and then) is made again, and the narration
// says so.
const mpiAttempts = 3

// ErrNoOpenMPI is the mpi scenario's error when Open MPI is not installed.
var ErrNoOpenMPI = errors.New("needs Open MPI (mpirun and mpicc; Debian: apt-get install openmpi-bin libopenmpi-dev)")

var scenarioMPI = &Scenario{
	Name:  "mpi",
	Title: "An Open MPI ping-pong: each message is one process_vm_readv",
	Summary: "mpirun and two ranks of a real Open MPI job run as guests; each rank pulls the other's 9000-byte message " +
		"with one process_vm_readv: its page walks (needs Open MPI)",
	Needs:  "Open MPI",
	guests: true,
	ram:    2 << 30,
	run:    runMPI,
}

// mpiRecorder keeps, from the job's events, those of CMA calls (each
// call's pieces, end and strace line, consecutively, whatever other tasks
// do meanwhile) and the looks the scenario takes; it counts the rest.
type mpiRecorder struct {
	k *syscalls.Kernel

	mu      sync.Mutex // protects the fields below
	copies  [][]any    // per CMA call, in the order they returned
	looks   []any      // ProcessEvents and PageEvents of the first call's processes
	pending map[int32][]any
	calls   int
	pids    map[int32]bool
	first   *syscalls.CopyEvent // the first CMA call's copy
}

func newMPIRecorder(k *syscalls.Kernel) *mpiRecorder {
	return &mpiRecorder{k: k, pending: map[int32][]any{}, pids: map[int32]bool{}}
}

// isCMA says whether a system call is process_vm_readv or _writev.
func isCMA(name string) bool { return strings.HasPrefix(name, "process_vm_") }

// event is the kernel's Events function while the job runs.
func (r *mpiRecorder) event(ev syscalls.Event) {
	r.mu.Lock()
	var inspect *syscalls.CopyEvent
	switch ev := ev.(type) {
	case syscalls.SyscallEvent:
		r.calls++
		r.pids[ev.PID] = true
		if isCMA(ev.Name) {
			items := append(r.pending[ev.TID], ev)
			delete(r.pending, ev.TID)
			r.copies = append(r.copies, items)
			if r.first == nil {
				for _, it := range items {
					if c, ok := it.(syscalls.CopyEvent); ok {
						r.first, inspect = &c, &c
					}
				}
			}
		}
	case syscalls.CopyStepEvent:
		r.pending[ev.TID] = append(r.pending[ev.TID], ev)
	case syscalls.CopyEvent:
		r.pending[ev.TID] = append(r.pending[ev.TID], ev)
	case syscalls.ProcessEvent:
		ev.VMAs = r.touchedVMAs(ev.VMAs)
		r.looks = append(r.looks, ev)
	case syscalls.PageEvent:
		r.looks = append(r.looks, ev)
	}
	r.mu.Unlock()
	if inspect != nil {
		r.inspect(inspect)
	}
}

// touchedVMAs keeps the VMAs that hold an address of the first copy: a
// rank has hundreds (its 56 shared objects), the demo shows the buffers'.
func (r *mpiRecorder) touchedVMAs(vmas []mm.VMA) []mm.VMA {
	var out []mm.VMA
	for _, v := range vmas {
		for _, iov := range append(append([]mm.IOVec(nil), r.first.Local...), r.first.Remote...) {
			if v.Range.Start < iov.Base+mm.Addr(iov.Len) && iov.Base < v.Range.End {
				out = append(out, v)
				break
			}
		}
	}
	return out
}

// inspect looks at both ranks of the first CMA call, on the caller's
// goroutine right after the call, while both are alive: the caller
// received the first message (rank 1), the target sent it (rank 0).
func (r *mpiRecorder) inspect(c *syscalls.CopyEvent) {
	sides := []struct {
		pid         int32
		name, label string
		at          mm.Addr
	}{{c.Target, "rank 0", "rank 0's buffer", c.Remote[0].Base}, {c.PID, "rank 1", "rank 1's buffer", c.Local[0].Base}}
	for _, s := range sides {
		if p := r.k.ProcessByID(s.pid); p != nil {
			r.k.InspectProcess(p, s.name)
		}
	}
	for _, s := range sides {
		if p := r.k.ProcessByID(s.pid); p != nil {
			r.k.InspectPage(p, s.at, 18, s.label)
		}
	}
}

// mpiJob is the job's command and files.
type mpiJob struct {
	dir, mpirun, prog string
	argv              []string
}

// buildMPI finds Open MPI and builds the ping-pong in a new directory.
func buildMPI() (*mpiJob, error) {
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		return nil, ErrNoOpenMPI
	}
	mpicc, err := exec.LookPath("mpicc")
	if err != nil {
		return nil, ErrNoOpenMPI
	}
	dir, err := os.MkdirTemp("", "cmaemu-demo-mpi-")
	if err != nil {
		return nil, err
	}
	src, prog := filepath.Join(dir, "pingpong.c"), filepath.Join(dir, "pingpong")
	if err := os.WriteFile(src, mpiPingPong, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if out, err := exec.Command(mpicc, "-O2", "-o", prog, src).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return nil, fmt.Errorf("mpicc: %v: %s", err, first)
	}
	argv := []string{"mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2", "--mca", "pml", "ob1",
		"--mca", "btl", "self,vader", "--mca", "btl_vader_single_copy_mechanism", "cma", "./pingpong"}
	return &mpiJob{dir: dir, mpirun: mpirun, prog: prog, argv: argv}, nil
}

// run runs the job once in k, its output in files of the job's
// directory, and returns the exit status and what it printed.
func (j *mpiJob) run(k *syscalls.Kernel) (syscalls.ExitStatus, string, string, error) {
	tmp := filepath.Join(j.dir, "tmp")
	os.RemoveAll(tmp)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return syscalls.ExitStatus{}, "", "", err
	}
	var files [3]*os.File
	for i, name := range []string{os.DevNull, "stdout", "stderr"} {
		if i > 0 {
			name = filepath.Join(j.dir, name)
		}
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return syscalls.ExitStatus{}, "", "", err
		}
		defer f.Close()
		files[i] = f
	}
	// TMPDIR: Open MPI's session files, away from other jobs' (every
	// kernel gives mpirun the same pid).
	p, err := k.Spawn(j.mpirun, syscalls.SpawnOptions{Args: j.argv, Env: append(os.Environ(), "TMPDIR="+tmp),
		Cwd: j.dir, Stdio: files, Creds: syscalls.SameIDs(uint32(os.Getuid()), uint32(os.Getgid()))})
	if err != nil {
		return syscalls.ExitStatus{}, "", "", err
	}
	st := p.Wait()
	out, _ := os.ReadFile(filepath.Join(j.dir, "stdout"))
	errOut, _ := os.ReadFile(filepath.Join(j.dir, "stderr"))
	return st, string(out), string(errOut), nil
}

func runMPI(e *Env) {
	job, err := buildMPI()
	e.check(err)
	defer os.RemoveAll(job.dir)

	e.Step("An Open MPI job in one emulated kernel",
		"mpirun and both ranks of a ping-pong are guests of this demo's kernel, as under cmaemu run: "+
			"dynamic programs loading Open MPI's shared objects, talking PMIx over TCP, sharing the vader BTL's segments in /dev/shm. "+
			fmt.Sprintf("Rank 0 sends %d bytes to rank 1, which sends them back with its first line changed. ", mpiMessage)+
			"With btl_vader_single_copy_mechanism cma, vader passes only the message's address through shared memory; "+
			"the receiver pulls the bytes with one process_vm_readv.")
	e.Say("Built with mpicc from the demo's own pingpong.c, run as: %s", strings.Join(job.argv, " "))

	var rec *mpiRecorder
	var st syscalls.ExitStatus
	var out, errOut string
	for attempt := 1; ; attempt++ {
		rec = newMPIRecorder(e.K)
		e.filter = rec.event
		st, out, errOut, err = job.run(e.K)
		e.filter = nil
		e.check(err)
		if st.ShellStatus() == 0 || attempt == mpiAttempts {
			break
		}
		e.Say("Run %d of the job failed (exit status %d: %s); running it again.", attempt, st.ShellStatus(), lastLine(errOut))
	}
	if st.ShellStatus() != 0 {
		e.fail("the job failed %d times; the last exit status %d: %s", mpiAttempts, st.ShellStatus(), lastLine(errOut))
	}
	if len(rec.copies) == 0 {
		e.fail("the job made no process_vm_readv")
	}
	e.Say("The job ran: %d processes (their threads included) made %d system calls, %d of them process_vm_readv. Its output:",
		len(rec.pids), rec.calls, len(rec.copies))
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		e.Say("%s", line)
	}

	e.Step("Rank 1 pulls rank 0's message: process_vm_readv",
		"Rank 0's MPI_Send put a small header in rank 1's shared-memory queue: where its buffer is and how long. "+
			"Rank 1's MPI_Recv reads the bytes straight out of rank 0's address space into its own buffer: one copy, "+
			"no bounce buffer, nothing done by rank 0.")
	e.rec.Items = append(e.rec.Items, rec.copies[0]...)
	e.rec.Items = append(e.rec.Items, rec.looks...)
	c := rec.first
	pieces := 0
	for _, it := range rec.copies[0] {
		if s, ok := it.(syscalls.CopyStepEvent); ok && s.Step.Remote {
			pieces++
		}
	}
	e.Say("%d bytes in %s: the message starts 24 bytes before a page boundary of rank 0's buffer, and a piece ends wherever either side's page does.",
		c.Copied, plural(pieces, "piece", "pieces"))
	if c.Local[0].Base == c.Remote[0].Base {
		e.Say("Both ranks hold their buffer at the same virtual address, %s: each is reached through its own page table, and the frames differ.",
			hexAddr(c.Local[0].Base))
	}

	if len(rec.copies) > 1 {
		e.Step("Rank 0 pulls the reply the same way",
			"The pong is the same call the other way round: rank 0 reads rank 1's buffer.")
		e.rec.Items = append(e.rec.Items, rec.copies[1]...)
	}
	e.Verdict(len(rec.copies) == 2, "2 messages, %s between the two address spaces: the single copy Cross Memory Attach was made for.",
		plural(len(rec.copies), "process_vm_readv", "process_vm_readv calls"))
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
