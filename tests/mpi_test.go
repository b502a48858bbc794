package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenMPI runs Open MPI jobs (testdata/mpi) natively and under one
// cmaemu instance that runs mpirun, its helpers and every rank: the
// same output and status, and, from cmaemu's trace, one
// process_vm_readv per message of 4 KiB or more with the vader BTL's
// cma single-copy mechanism and none without it. It needs Debian's
// openmpi-bin and libopenmpi-dev. make test runs a short set (a
// ping-pong up to 32 KiB with cma, an allreduce of 64 Ki longs); make
// mpi (CMAEMU_MPI=1) the full one, and fails if Open MPI is missing.
func TestOpenMPI(t *testing.T) {
	full := os.Getenv("CMAEMU_MPI") != ""
	mpicc, err := exec.LookPath("mpicc")
	mpirun, err2 := exec.LookPath("mpirun")
	if (err != nil || err2 != nil) && !full {
		t.Skip("Open MPI (openmpi-bin, libopenmpi-dev) is not installed")
	}
	require.NoError(t, err, "mpicc (Debian's libopenmpi-dev) is missing")
	require.NoError(t, err2, "mpirun (Debian's openmpi-bin) is missing")
	cmaemu := CmaemuPath(t)
	dir := t.TempDir()
	for _, prog := range []string{"pingpong", "allreduce"} {
		out, err := exec.Command(mpicc, "-O2", "-o", filepath.Join(dir, prog),
			filepath.Join(RepoRoot(t), "testdata", "mpi", prog+".c")).CombinedOutput()
		require.NoError(t, err, "mpicc %s: %s", prog, out)
	}
	// pingpong's sizes go from 8 B by factors of 8: up to 16 MiB, 5 of
	// the 8 are 4 KiB or more, up to 32 KiB 2 of the 5; each is sent
	// both ways.
	type mpiCase struct {
		prog      string
		arg       string
		ranks     string
		mechanism string
		readv     int // process_vm_readv calls in cmaemu's trace; -1: not counted
	}
	cases := []mpiCase{
		{"pingpong", "32768", "2", "cma", 2 * 2},
		{"allreduce", "65536", "4", "cma", -1},
	}
	if full {
		cases = []mpiCase{
			{"pingpong", "", "2", "cma", 2 * 5},
			{"pingpong", "", "2", "none", 0},
			{"allreduce", "", "4", "cma", -1},
		}
	}
	for _, c := range cases {
		t.Run(c.prog+"-"+c.mechanism, func(t *testing.T) {
			args := []string{"--allow-run-as-root", "--oversubscribe", "-np", c.ranks, "--mca", "pml", "ob1",
				"--mca", "btl", "self,vader", "--mca", "btl_vader_single_copy_mechanism", c.mechanism, "./" + c.prog}
			if c.arg != "" {
				args = append(args, c.arg)
			}
			// A session directory of its own: every cmaemu instance
			// numbers its processes from the same pid, so two jobs
			// under two instances on one host would share Open MPI's
			// (and PMIx's) files in /tmp and fail.
			env := GuestEnv([]string{"TMPDIR=" + t.TempDir()})
			native := Exec(t, Run{Argv: append([]string{mpirun}, args...), Env: env, Dir: dir, Timeout: 2 * time.Minute})
			require.False(t, native.TimedOut, "native run timed out")
			require.Equal(t, Exited(0).String(), native.Status.String(), "native: %s", native.Stderr)
			trace := filepath.Join(t.TempDir(), "trace")
			argv := append(append([]string{cmaemu, "run"}, CheckFlags...), "--trace", "--trace-file", trace, "--", mpirun)
			emu := Exec(t, Run{Argv: append(argv, args...), Env: env, Dir: dir, Timeout: 5 * time.Minute})
			require.False(t, emu.TimedOut, "cmaemu timed out; stderr:\n%s", emu.Stderr)
			AssertNoPanic(t, emu.Stderr)
			assert.Equal(t, native.Stdout, emu.Stdout)
			assert.Equal(t, native.Status.String(), emu.Status.String(), "stderr:\n%s", emu.Stderr)
			if c.readv >= 0 {
				b, err := os.ReadFile(trace)
				require.NoError(t, err)
				assert.Equal(t, c.readv, strings.Count(string(b), "process_vm_readv("), "process_vm_readv calls")
			}
		})
	}
}
