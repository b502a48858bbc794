package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mpiCma(t *testing.T) Workload {
	for _, w := range Workloads {
		if w.Name == "mpi_cma" {
			return w
		}
	}
	require.FailNow(t, "no mpi_cma workload")
	return Workload{}
}

// TestMPICommand: mpirun runs natively or under cmaemu; under qemu-user it
// stays native and starts the ranks under qemu-x86_64.
func TestMPICommand(t *testing.T) {
	w := mpiCma(t)
	r := &Runner{BinDir: "/b", Cmaemu: "/c/cmaemu", Qemu: "/q/qemu-x86_64", Quick: true}
	mpirun := w.Launcher
	require.Equal(t, "mpirun", mpirun[0])
	assert.Equal(t, "cma", mpirun[len(mpirun)-1])
	prog := []string{"/b/mpi_pingpong", "-q", "cma"}
	assert.Equal(t, append(append([]string{}, mpirun...), prog...), r.Command(w, EnvNative, "/d"))
	assert.Equal(t, append(append([]string{"/c/cmaemu", "run", "--"}, mpirun...), prog...), r.Command(w, EnvCmaemu, "/d"))
	assert.Equal(t, append(append(append([]string{}, mpirun...), "/q/qemu-x86_64"), prog...), r.Command(w, EnvQemu, "/d"))
	assert.Equal(t, mpirun, w.Launcher, "Command must not change the workload's launcher")
	assert.Contains(t, r.Environ(w, "/d"), "TMPDIR=/d")
}

// TestMPIMissing: without mpirun the MPI workloads are skipped, n/a.
func TestMPIMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	w := mpiCma(t)
	r := &Runner{BinDir: "/nonexistent", Cmaemu: "/nonexistent/cmaemu", Qemu: "/q/qemu-x86_64"}
	for _, env := range Envs {
		run := r.Run(w, env, 1)
		assert.Equal(t, StatusSkipped, run.Status, env)
		assert.Equal(t, "no mpirun", run.Detail, env)
	}
	results := Summarize([]Workload{w}, []Run{r.Run(w, EnvCmaemu, 1)})
	assert.Equal(t, "n/a (no mpirun)", statusCell(results[0].Envs[EnvCmaemu]))
}
