package syscalls

import (
	"time"

	"github.com/cmaemu/cmaemu/linux"
)

// RLIMIT_CPU, as Linux's posix-cpu-timers enforce it: when a process's CPU
// time (user and system, all its threads) reaches the soft limit it gets
// SIGXCPU, and the soft limit goes up by a second, so the signal comes
// again each second; at the hard limit it gets SIGKILL. A guest spinning
// in user code never enters the kernel, so a kernel goroutine compares
// the times every cpuLimitTick, from the first time a process has a soft
// limit (watchCPULimits).

// cpuLimitTick is how often the limits are checked; Linux checks on the
// timer tick, so a signal may come up to a tick late there too.
const cpuLimitTick = 50 * time.Millisecond

// watchCPULimits starts the checking goroutine, once per kernel.
func (k *Kernel) watchCPULimits() {
	k.cpuLimitOnce.Do(func() {
		go func() {
			defer func() {
				if p := recover(); p != nil {
					k.fatal(nil, p, nil)
				}
			}()
			for range time.Tick(cpuLimitTick) {
				k.checkCPULimits()
			}
		}()
	})
}

// watchInheritedCPULimit starts the checks if the first process inherits a
// soft RLIMIT_CPU from the host.
func (k *Kernel) watchInheritedCPULimit() {
	if k.initRlimits[linux.RLIMIT_CPU].cur != linux.RLIM_INFINITY {
		k.watchCPULimits()
	}
}

// checkCPULimits signals every process that has reached its RLIMIT_CPU.
func (k *Kernel) checkCPULimits() {
	k.mu.Lock()
	procs := make([]*Process, 0, len(k.procs))
	for _, p := range k.procs {
		if len(p.tasks) > 0 {
			procs = append(procs, p)
		}
	}
	k.mu.Unlock()
	for _, p := range procs {
		p.mu.Lock()
		lim := p.rlimits[linux.RLIMIT_CPU]
		p.mu.Unlock()
		if lim.cur == linux.RLIM_INFINITY {
			continue
		}
		used := p.cpuTime()
		if lim.max != linux.RLIM_INFINITY && used >= limitSeconds(lim.max) {
			k.signalProcess(p, linux.SIGKILL, newSigInfo(linux.SIGKILL, siKernel))
			continue
		}
		if used < limitSeconds(lim.cur) {
			continue
		}
		p.mu.Lock()
		if l := &p.rlimits[linux.RLIMIT_CPU]; l.cur == lim.cur && l.cur < l.max {
			l.cur++
		}
		p.mu.Unlock()
		k.signalProcess(p, linux.SIGXCPU, newSigInfo(linux.SIGXCPU, siKernel))
	}
}

// limitSeconds converts an RLIMIT_CPU value (seconds) to a duration,
// saturating.
func limitSeconds(s uint64) time.Duration {
	if s >= uint64(1<<63-1)/uint64(time.Second) {
		return 1<<63 - 1
	}
	return time.Duration(s) * time.Second
}

// cpuTime returns the CPU time the process has used: its live threads'
// and those that have exited.
func (p *Process) cpuTime() time.Duration {
	u := p.usageOf(nil).cpu
	return u.user + u.sys
}
