// Package syscalls is cmaemu's kernel: processes and tasks, their
// credentials, file descriptors and signal state, and the per-ABI system
// call tables with their handlers, one file per syscall family.
//
// Lock order: Kernel.mu, then Process.mu, then the mm locks.
package syscalls

import (
	"fmt"
	"io"
	"os"
	"sync"

	"cmaemu/arch"
	"cmaemu/mm"
)

// CPUFactory makes the processor of a new task (emu.New in the emulator,
// a fake in kernel tests).
type CPUFactory func(as *mm.MM, mode arch.Mode) (arch.CPU, error)

// Config configures a Kernel.
type Config struct {
	RAM    *mm.RAM
	NewCPU CPUFactory
	// Trace, if not nil, receives one strace-format line per system call.
	Trace io.Writer
	// TraceMM adds the page walks of Cross Memory Attach copies to Trace.
	TraceMM bool
}

// Kernel is the emulated kernel: the process table and what all processes
// share. There is no global state beyond it.
type Kernel struct {
	ram    *mm.RAM
	newCPU CPUFactory
	tracer *tracer

	mu      sync.Mutex // protects tasks, nextPID
	tasks   map[int32]*Task
	nextPID int32
}

// NewKernel returns a kernel with no processes.
func NewKernel(cfg Config) *Kernel {
	k := &Kernel{ram: cfg.RAM, newCPU: cfg.NewCPU, tasks: map[int32]*Task{}, nextPID: firstPID}
	if cfg.Trace != nil {
		k.tracer = &tracer{w: cfg.Trace, mm: cfg.TraceMM}
	}
	return k
}

// firstPID is the pid of the first guest process; lower pids are the
// kernel's own (1 is the reaper that adopts orphans).
const firstPID = 1000

// RAM returns the guest-physical memory.
func (k *Kernel) RAM() *mm.RAM { return k.ram }

// allocPID reserves a new pid (also used as a thread id).
func (k *Kernel) allocPID() int32 {
	k.mu.Lock()
	defer k.mu.Unlock()
	pid := k.nextPID
	k.nextPID++
	return pid
}

func (k *Kernel) addTask(t *Task) {
	k.mu.Lock()
	k.tasks[t.tid] = t
	k.mu.Unlock()
}

func (k *Kernel) removeTask(t *Task) {
	k.mu.Lock()
	delete(k.tasks, t.tid)
	k.mu.Unlock()
}

// TaskByID returns the live task with thread id tid.
func (k *Kernel) TaskByID(tid int32) *Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.tasks[tid]
}

// processCount returns the number of distinct live processes.
func (k *Kernel) processCount() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	seen := map[*Process]bool{}
	for _, t := range k.tasks {
		seen[t.proc] = true
	}
	return len(seen)
}

// internalError reports an emulator bug seen while running a guest.
func internalError(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cmaemu: internal error: "+format+"\n", args...)
}
