package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Without Open MPI, cmaemu demo mpi says what it needs in one line.
func TestDemoMPIWithoutOpenMPI(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var out, errb bytes.Buffer
	assert.Equal(t, 1, run([]string{"demo", "mpi"}, &out, &errb))
	assert.Equal(t, "cmaemu: demo mpi: needs Open MPI (mpirun and mpicc; Debian: apt-get install openmpi-bin libopenmpi-dev)\n", errb.String())
	assert.Empty(t, out.String())
}
