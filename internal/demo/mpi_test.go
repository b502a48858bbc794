package demo

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/syscalls"
)

// The mpi scenario runs a real Open MPI job (make setup installs Open
// MPI): each message of the ping-pong is one process_vm_readv, which the
// recording holds with its page walks, next to looks at both ranks.
func TestScenarioMPI(t *testing.T) {
	r := record(t, "mpi")
	calls := r.Calls()
	require.Len(t, calls, 2, "only the CMA calls are kept")
	copies := r.Copies()
	require.Len(t, copies, 2)
	ping, pong := copies[0], copies[1]
	assert.Equal(t, "process_vm_readv", calls[0].Name)
	assert.Contains(t, calls[0].Line, `"ping from rank 0. `)
	assert.Contains(t, calls[1].Line, `"pong from rank 1. `)
	assert.Equal(t, ping.PID, pong.Target, "rank 0 reads rank 1 back")
	assert.Equal(t, pong.PID, ping.Target)
	for _, c := range copies {
		assert.Equal(t, mpiMessage, c.Copied)
		assert.Zero(t, c.Errno)
	}

	byCopy := map[int][]Piece{}
	for _, p := range r.Pieces() {
		byCopy[p.Copy] = append(byCopy[p.Copy], p)
	}
	for i, c := range copies {
		ps := byCopy[i]
		require.NotEmpty(t, ps, "copy %d has its pieces", i)
		total := 0
		for _, p := range ps {
			total += p.Bytes
			assert.Equal(t, c.Target, p.Src.PID, "readv: from the target")
			assert.Equal(t, c.PID, p.Dst.PID)
			assert.NotEqual(t, p.Src.Frame, p.Dst.Frame, "two address spaces, two frames")
			assert.LessOrEqual(t, p.Bytes, 4096)
		}
		assert.Equal(t, mpiMessage, total, "the pieces add up to the message")
		assert.Greater(t, len(ps), mpiMessage/4096, "cut at page boundaries")
	}

	names := map[int32]string{}
	for _, p := range r.Procs() {
		names[p.PID] = p.Label
		assert.NotEmpty(t, p.VMAs, "the buffers' mappings")
		assert.Less(t, len(p.VMAs), 5, "only the mappings the copy touched")
	}
	assert.Equal(t, map[int32]string{ping.Target: "rank 0", ping.PID: "rank 1"}, names)
	looks := r.Looks()
	require.Len(t, looks, 2)
	for _, l := range looks {
		assert.Equal(t, "ping from rank 0. ", string(l.Bytes), l.Label)
	}
	assert.NotEqual(t, looks[0].Walk.Entry[3].Frame(), looks[1].Walk.Entry[3].Frame())

	var last Say
	for _, it := range r.Items {
		if s, ok := it.(Say); ok {
			last = s
		}
	}
	assert.Equal(t, "ok", last.Verdict)
	assert.True(t, strings.HasPrefix(last.Text, "2 messages, 2 process_vm_readv calls"), last.Text)
	var sys []syscalls.SyscallEvent
	for _, it := range r.Items {
		if c, ok := it.(syscalls.SyscallEvent); ok {
			sys = append(sys, c)
		}
	}
	assert.Equal(t, calls, sys)
}

// Without Open MPI the scenario says so, in one line.
func TestScenarioMPIWithoutOpenMPI(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := scenarioMPI.Run()
	require.ErrorIs(t, err, ErrNoOpenMPI)
	assert.Equal(t, "demo mpi: "+ErrNoOpenMPI.Error(), err.Error())
	assert.NotContains(t, err.Error(), "\n")
}
