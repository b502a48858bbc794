package syscalls

// Thread names and the parent-death signal of a thread's children (the
// prctl options themselves are in sys_process.go).
//
// A thread's name (PR_SET_NAME, /proc/PID/task/TID/comm) is its own; the
// group leader's is the process's comm, which /proc/PID/comm shows. A
// new thread or process starts with the name of the thread that made it.

// commLocked returns the thread's name. Preconditions: proc.mu held.
func (t *Task) commLocked() string {
	if t.comm != "" && t.tid != t.proc.pid {
		return t.comm
	}
	return t.proc.comm
}

// setCommLocked names the thread. Preconditions: proc.mu held.
func (t *Task) setCommLocked(name string) {
	if t.tid == t.proc.pid {
		t.proc.comm, t.comm = name, ""
		return
	}
	t.comm = name
}

// forkerExited sends the parent-death signal to the children that
// thread t forked, now that it exits while its process lives on (Linux
// sends it when the parent thread exits); they pass to a thread that is
// still alive, whose exit sends it again.
func (k *Kernel) forkerExited(t *Task) {
	p := t.proc
	k.mu.Lock()
	heir := int32(0)
	if len(p.tasks) > 0 {
		heir = p.tasks[0].tid
	}
	var orphans []*Process
	for _, c := range p.children {
		if c.forker != t.tid || c.state != procRunning {
			continue
		}
		c.forker = heir
		orphans = append(orphans, c)
	}
	k.mu.Unlock()
	for _, c := range orphans {
		c.mu.Lock()
		sig := c.pdeathsig
		c.mu.Unlock()
		if sig != 0 {
			k.signalProcess(c, sig, sigInfoKill(sig, siUser, p))
		}
	}
}
