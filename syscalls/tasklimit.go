package syscalls

import (
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/cmaemu/cmaemu/linux"
)

// Limits on the number of tasks. Every guest task is a goroutine on a
// host thread of its own with a CPU engine (a few MiB of host memory),
// so a fork bomb would otherwise take the host's threads and memory. Two
// limits refuse a new task with EAGAIN, as Linux's copy_process does:
//
//   - the kernel's own, Config.MaxTasks (cmaemu run --max-tasks): the
//     tasks alive at once, threads and processes together (Linux's
//     threads-max);
//   - RLIMIT_NPROC of the calling process: the tasks (threads included,
//     and zombies not yet reaped) whose real user is the caller's, when
//     their count is at or above the soft limit; not applied to real
//     uid 0 nor to a caller with CAP_SYS_RESOURCE or CAP_SYS_ADMIN.

// Bounds of DefaultMaxTasks.
const (
	maxDefaultTasks = 4096
	minDefaultTasks = 64
	// taskHostMemory is the host memory a task is budgeted at when the
	// default is sized to the machine's memory.
	taskHostMemory = 8 << 20
)

// DefaultMaxTasks is the task limit sized to the host: at most 4096,
// half the host threads this user may still make (RLIMIT_NPROC, the
// kernel's threads-max) and one task per 8 MiB of host memory, and at
// least 64.
func DefaultMaxTasks() int {
	n := maxDefaultTasks
	var lim syscall.Rlimit
	if syscall.Getrlimit(linux.RLIMIT_NPROC, &lim) == nil && lim.Cur != linux.RLIM_INFINITY {
		n = min(n, int(min(lim.Cur, 1<<30))/2)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/threads-max"); err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && v > 0 {
			n = min(n, v/2)
		}
	}
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) == nil && si.Totalram > 0 {
		unit := max(uint64(si.Unit), 1)
		n = int(min(uint64(n), si.Totalram*unit/taskHostMemory))
	}
	return max(n, minDefaultTasks)
}

// MaxTasks returns the kernel's limit on live guest tasks.
func (k *Kernel) MaxTasks() int { return k.maxTasks }

// LiveTasks returns the number of guest tasks alive now.
func (k *Kernel) LiveTasks() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.tasks)
}

// reserveTask counts a task that t's clone is about to create against
// both limits, or returns EAGAIN. A reservation ends with
// newReservedTask or unreserveTask.
func (k *Kernel) reserveTask(t *Task) error {
	p := t.proc
	p.mu.Lock()
	ruid, limit := p.creds.RUID, p.rlimits[linux.RLIMIT_NPROC].cur
	p.mu.Unlock()
	checkUser := ruid != 0 && limit != linux.RLIM_INFINITY &&
		!p.capable(capSysResource) && !p.capable(capSysAdmin)
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.tasks)+k.reserved >= k.maxTasks {
		return linux.EAGAIN
	}
	if checkUser && uint64(k.userTasksLocked(ruid)) >= limit {
		return linux.EAGAIN
	}
	k.reserved++
	return nil
}

// unreserveTask gives back a reservation whose task was not made.
func (k *Kernel) unreserveTask() {
	k.mu.Lock()
	k.reserved--
	k.mu.Unlock()
}

// userTasksLocked counts what RLIMIT_NPROC counts for real uid ruid:
// live tasks and unreaped zombies.
// Preconditions: k.mu held.
func (k *Kernel) userTasksLocked(ruid uint32) int {
	n := 0
	for _, p := range k.procs {
		if p == k.reaper || p.state == procReaped {
			continue
		}
		p.mu.Lock()
		mine := p.creds.RUID == ruid
		p.mu.Unlock()
		if !mine {
			continue
		}
		if p.state == procZombie {
			n++
		} else {
			n += len(p.tasks)
		}
	}
	return n
}
