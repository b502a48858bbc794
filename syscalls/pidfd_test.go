package syscalls

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
)

func TestPidfdOpen(t *testing.T) {
	e := newResEnv(t, 64<<20)
	p := e.proc(1000, false)
	other := e.proc(1000, false)
	cases := []struct {
		name  string
		pid   int32
		flags uint64
		want  linux.Errno
	}{
		{"self", p.pid, 0, 0},
		{"other nonblock", other.pid, linux.O_NONBLOCK, 0},
		{"bad flags", p.pid, 1, linux.EINVAL},
		{"pid 0", 0, 0, linux.EINVAL},
		{"no such pid", 99999, 0, linux.ESRCH},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fd, errno := e.k.Call(p, linux.SysAMD64PidfdOpen, uint64(c.pid), c.flags)
			require.Equal(t, c.want, errno)
			if errno != 0 {
				return
			}
			f, err := p.fds.Get(int32(fd))
			require.NoError(t, err)
			defer f.DecRef()
			ev, changed := f.Readiness()
			assert.Zero(t, ev, "a running process")
			assert.NotNil(t, changed)
			st, _ := f.Status()
			assert.Equal(t, uint32(c.flags), st&linux.O_NONBLOCK)
		})
	}
}

func TestClockChecks(t *testing.T) {
	cases := []struct {
		clock        int32
		timer, sleep linux.Errno
	}{
		{clockRealtime, 0, 0},
		{clockMonotonic, 0, 0},
		{clockBoottime, 0, 0},
		{clockTAI, 0, 0},
		{clockProcessCPUTime, 0, 0},
		{clockThreadCPUTime, 0, linux.EINVAL},
		{clockMonotonicRaw, linux.EOPNOTSUPP, linux.EOPNOTSUPP},
		{10, linux.EINVAL, linux.EINVAL},
		{-6, 0, 0},            // the caller's process, CPUCLOCK_SCHED
		{-2, 0, linux.EINVAL}, // the caller's thread
	}
	e := newResEnv(t, 64<<20)
	p := e.proc(1000, false)
	task := p.Main()
	for _, c := range cases {
		var got linux.Errno
		if _, ok, err := task.cpuClock(c.clock); ok {
			if err != nil {
				got = errnoOf(err)
			}
		} else if err := timerClockOK(c.clock); err != nil {
			got = errnoOf(err)
		}
		assert.Equal(t, c.timer, got, "timer clock %d", c.clock)
		got = 0
		if err := sleepClockOK(c.clock); err != nil {
			got = errnoOf(err)
		}
		assert.Equal(t, c.sleep, got, "sleep clock %d", c.clock)
	}
}

func TestThreadComm(t *testing.T) {
	e := newResEnv(t, 64<<20)
	p := e.proc(1000, false)
	leader := p.Main()
	thread := &Task{proc: p, tid: p.pid + 1}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.comm = "prog"
	thread.setCommLocked(leader.commLocked())
	thread.setCommLocked("worker")
	assert.Equal(t, "worker", thread.commLocked())
	assert.Equal(t, "prog", leader.commLocked(), "a thread's name is its own")
	leader.setCommLocked("main")
	assert.Equal(t, "main", p.comm, "the leader's name is the process's")
	assert.Equal(t, "worker", thread.commLocked())
}
