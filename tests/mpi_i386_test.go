package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenMPII386 runs the Open MPI jobs of testdata/mpi as i386
// programs: Debian's i386 Open MPI (scripts/setup-mpi-i386.sh unpacks it
// into .deps/i386-mpi), the ranks built with gcc -m32 against it, and the
// whole job (the i386 mpirun and every rank) under one cmaemu with -L.
// This host cannot run i386, so the oracle is the same job built for
// x86-64 and run natively: the same output, and per message size the same
// process_vm_readv calls as strace counts natively. It runs in make mpi
// (CMAEMU_MPI=1), which fetches the sysroot first.
func TestOpenMPII386(t *testing.T) {
	if os.Getenv("CMAEMU_MPI") == "" {
		t.Skip("Open MPI jobs run in make mpi (CMAEMU_MPI=1)")
	}
	root := os.Getenv("CMAEMU_MPI_I386")
	if root == "" {
		root = filepath.Join(RepoRoot(t), ".deps", "i386-mpi")
	}
	orterun := filepath.Join(root, "usr", "bin", "orterun")
	_, err := os.Stat(orterun)
	require.NoError(t, err, "the i386 Open MPI sysroot is missing: make mpi fetches it (scripts/setup-mpi-i386.sh)")
	mpicc, err := exec.LookPath("mpicc")
	require.NoError(t, err, "mpicc (Debian's libopenmpi-dev) is missing")
	mpirun, err := exec.LookPath("mpirun")
	require.NoError(t, err, "mpirun (Debian's openmpi-bin) is missing")
	strace, err := exec.LookPath("strace")
	require.NoError(t, err, "strace counts the native process_vm_readv calls")
	cmaemu := CmaemuPath(t)

	dir := t.TempDir()
	lib := filepath.Join(root, "usr", "lib", "i386-linux-gnu")
	for _, prog := range []string{"pingpong", "allreduce"} {
		src := filepath.Join(RepoRoot(t), "testdata", "mpi", prog+".c")
		out, err := exec.Command(mpicc, "-O2", "-o", filepath.Join(dir, prog), src).CombinedOutput()
		require.NoError(t, err, "mpicc %s: %s", prog, out)
		out, err = exec.Command("gcc", "-m32", "-O2", "-I", filepath.Join(lib, "openmpi", "include"),
			"-o", filepath.Join(dir, prog+".i386"), src, "-L", filepath.Join(lib, "openmpi", "lib"), "-lmpi",
			"-Wl,-rpath-link,"+lib+":"+filepath.Join(root, "lib", "i386-linux-gnu")).CombinedOutput()
		require.NoError(t, err, "gcc -m32 %s: %s", prog, out)
	}
	// allreduce reduces longs: 4 bytes on i386, 8 on x86-64, so its
	// messages are half as long (word: the native size / the i386 size).
	cases := []struct {
		prog, ranks, mechanism string
		word                   int
	}{
		{"pingpong", "2", "cma", 1},
		{"pingpong", "2", "none", 1},
		{"allreduce", "4", "cma", 2},
	}
	for _, c := range cases {
		t.Run(c.prog+"-"+c.mechanism, func(t *testing.T) {
			args := []string{"--allow-run-as-root", "--oversubscribe", "-np", c.ranks, "--mca", "pml", "ob1",
				"--mca", "btl", "self,vader", "--mca", "btl_vader_single_copy_mechanism", c.mechanism}
			// Open MPI's session files in a directory of this run: every
			// cmaemu gives mpirun the same pid.
			tmp := t.TempDir()
			env := GuestEnv([]string{"TMPDIR=" + tmp})

			nativeTrace := filepath.Join(t.TempDir(), "strace")
			argv := append([]string{strace, "-f", "-qq", "-e", "trace=process_vm_readv", "-o", nativeTrace, mpirun}, args...)
			native := Exec(t, Run{Argv: append(argv, "./"+c.prog), Env: env, Dir: dir, Timeout: 2 * time.Minute})
			require.False(t, native.TimedOut, "native run timed out")
			require.Equal(t, Exited(0).String(), native.Status.String(), "native: %s", native.Stderr)

			trace := filepath.Join(t.TempDir(), "trace")
			argv = append(append([]string{cmaemu, "run"}, CheckFlags...), "--trace", "--trace-file", trace, "-L", root, "--", orterun)
			emu := Exec(t, Run{Argv: append(append(argv, args...), "./"+c.prog+".i386"), Env: env, Dir: dir, Timeout: 5 * time.Minute})
			require.False(t, emu.TimedOut, "cmaemu timed out; stderr:\n%s", emu.Stderr)
			AssertNoPanic(t, emu.Stderr)
			assert.Equal(t, native.Stdout, emu.Stdout)
			assert.Equal(t, native.Status.String(), emu.Status.String(), "stderr:\n%s", emu.Stderr)

			want, got := readvSizes(t, nativeTrace, c.word), readvSizes(t, trace, 1)
			assert.Equal(t, want, got, "process_vm_readv calls by size: native x86-64 (strace), i386 under cmaemu")
			if c.mechanism == "none" {
				assert.Empty(t, got)
			} else {
				assert.NotEmpty(t, got)
			}
			t.Logf("%d process_vm_readv calls natively and under cmaemu", len(got))
		})
	}
}

// readvLine is a process_vm_readv call in strace's format (strace's own
// and cmaemu's --trace), with the length of its first local iovec: a whole
// line, or strace's "<... process_vm_readv resumed>" of a call another
// process interrupted (its "<unfinished ...>" half has no iovec).
var readvLine = regexp.MustCompile(`(?:process_vm_readv\(\d+, |<\.\.\. process_vm_readv resumed>)\[\{iov_base=.*?, iov_len=(\d+)\}`)

// readvSizes returns the local lengths of the process_vm_readv calls of a
// trace, each divided by div, sorted.
func readvSizes(t *testing.T, path string, div int) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var sizes []int
	for _, m := range readvLine.FindAllStringSubmatch(string(b), -1) {
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		sizes = append(sizes, n/div)
	}
	slices.Sort(sizes)
	return sizes
}
