package syscalls

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

func newLimitKernel(t *testing.T, maxTasks int) *Kernel {
	ram, err := mm.NewRAM(64 << 20)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	return NewKernel(Config{RAM: ram, MaxTasks: maxTasks})
}

// reserve is what clone does first: a reservation, turned into a task.
func reserve(k *Kernel, p *Process) error {
	if err := k.reserveTask(p.Main()); err != nil {
		return err
	}
	k.newReservedTask(p)
	return nil
}

func TestMaxTasks(t *testing.T) {
	k := newLimitKernel(t, 3)
	assert.Equal(t, 3, k.MaxTasks())
	p, err := k.NewProcess(ProcessOptions{Creds: SameIDs(0, 0)})
	require.NoError(t, err)
	require.NoError(t, reserve(k, p))
	require.NoError(t, k.reserveTask(p.Main()), "a third task")
	assert.ErrorIs(t, k.reserveTask(p.Main()), linux.EAGAIN, "the reservation counts")
	k.unreserveTask()
	require.NoError(t, reserve(k, p))
	assert.ErrorIs(t, k.reserveTask(p.Main()), linux.EAGAIN, "root too is bound by --max-tasks")
	k.Exit(p, 0)
	q, err := k.NewProcess(ProcessOptions{Creds: SameIDs(0, 0)})
	require.NoError(t, err)
	assert.NoError(t, k.reserveTask(q.Main()), "exited tasks no longer count")
	k.unreserveTask()

	assert.GreaterOrEqual(t, DefaultMaxTasks(), minDefaultTasks)
	assert.LessOrEqual(t, DefaultMaxTasks(), maxDefaultTasks)
}

func TestRlimitNproc(t *testing.T) {
	k := newLimitKernel(t, 100)
	setNproc := func(p *Process, n uint64) {
		p.mu.Lock()
		p.rlimits[linux.RLIMIT_NPROC] = rlimit{n, n}
		p.mu.Unlock()
	}
	a, err := k.NewProcess(ProcessOptions{Creds: SameIDs(1000, 1000)})
	require.NoError(t, err)
	b, err := k.NewProcess(ProcessOptions{Creds: SameIDs(1000, 1000)})
	require.NoError(t, err)
	other, err := k.NewProcess(ProcessOptions{Creds: SameIDs(1001, 1001)})
	require.NoError(t, err)
	k.NewThread(other)

	// Every task of the real user counts, threads and other processes.
	setNproc(a, 3)
	k.NewThread(b)
	assert.ErrorIs(t, k.reserveTask(a.Main()), linux.EAGAIN, "3 tasks of uid 1000, limit 3")
	setNproc(a, 4)
	require.NoError(t, reserve(k, a))
	assert.ErrorIs(t, k.reserveTask(a.Main()), linux.EAGAIN, "4 tasks, limit 4")

	// The real uid decides, not the effective one.
	c := a.Creds()
	c.EUID, c.FSUID = 1001, 1001
	a.SetCreds(c)
	assert.ErrorIs(t, k.reserveTask(a.Main()), linux.EAGAIN)
	c.RUID = 1001
	a.SetCreds(c)
	assert.ErrorIs(t, k.reserveTask(a.Main()), linux.EAGAIN, "uid 1001: other's 2 tasks and a's 2")
	setNproc(a, 5)
	require.NoError(t, k.reserveTask(a.Main()))
	k.unreserveTask()
	c.RUID, c.EUID, c.FSUID = 1000, 1000, 1000
	a.SetCreds(c)

	// An unreaped zombie counts; reaped, it does not.
	setNproc(b, 5) // a and b have 2 tasks each
	z, err := k.Fork(b)
	require.NoError(t, err)
	assert.ErrorIs(t, k.reserveTask(b.Main()), linux.EAGAIN, "5 tasks")
	k.Exit(z, 0)
	assert.ErrorIs(t, k.reserveTask(b.Main()), linux.EAGAIN, "4 tasks and a zombie")
	k.mu.Lock()
	k.reapLocked(z)
	k.mu.Unlock()
	require.NoError(t, k.reserveTask(b.Main()), "reaped")
	k.unreserveTask()

	// Real uid 0, CAP_SYS_RESOURCE and CAP_SYS_ADMIN are exempt.
	setNproc(a, 0)
	assert.ErrorIs(t, k.reserveTask(a.Main()), linux.EAGAIN)
	for _, cp := range []int{capSysResource, capSysAdmin} {
		a.mu.Lock()
		a.setCapsLocked(capSets{effective: 1 << cp, permitted: 1 << cp})
		a.mu.Unlock()
		assert.NoError(t, k.reserveTask(a.Main()), "capability %d", cp)
		k.unreserveTask()
	}
	r, err := k.NewProcess(ProcessOptions{Creds: SameIDs(0, 0)})
	require.NoError(t, err)
	setNproc(r, 0)
	assert.NoError(t, k.reserveTask(r.Main()), "root")
	k.unreserveTask()
	setNproc(r, linux.RLIM_INFINITY)
}
