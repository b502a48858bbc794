package tests

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The guest's filesystem view has no way out: under --root DIR no name
// leads outside DIR, and nothing a guest can name reaches the host's
// /proc, the emulator's own memory or a host process.

// escapeRoot makes a guest root holding busybox (at /bin/busybox) and a
// marker file, next to a host file outside it whose content must never
// appear.
func escapeRoot(t *testing.T) (root, secret string) {
	t.Helper()
	outer := t.TempDir()
	secret = "host-secret-" + strconv.Itoa(os.Getpid())
	require.NoError(t, os.WriteFile(filepath.Join(outer, "secret"), []byte(secret+"\n"), 0o644))
	root = filepath.Join(outer, "root")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "bin"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "tmp"), 0o1777))
	data, err := os.ReadFile(BusyboxPath(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "marker"), []byte("inside\n"), 0o644))
	return root, secret
}

// rootSh runs busybox sh -c script under cmaemu with --root root.
func rootSh(t *testing.T, root, script string, flags ...string) Result {
	t.Helper()
	args := append(append([]string{"--root", root}, flags...), "--", "/bin/busybox", "sh", "-c", script)
	argv := append([]string{CmaemuPath(t), "run"}, args...)
	return Exec(t, Run{Argv: argv, Env: busyboxEnv, Dir: root})
}

func TestRootEscapes(t *testing.T) {
	root, secret := escapeRoot(t)
	cases := []struct {
		name, script string
	}{
		{"dotdot", "cat ../secret ../../secret ../../../../../../secret /../secret 2>&1"},
		{"absolute symlink", "cd /tmp && ln -s / up && cat up/../secret up/../../secret 2>&1; rm up"},
		{"symlink to dotdot", "cd /tmp && ln -s ../../../../.. up && cat up/secret up/../secret 2>&1; rm up"},
		{"symlink chain", "cd /tmp && ln -s .. a && ln -s a/a b && cat b/b/secret b/../../secret 2>&1; rm a b"},
		{"host path spelled out", "cat " + filepath.Dir(root) + "/secret 2>&1"},
		{"rename during walk", `cd /tmp && mkdir -p d1/x/y && i=0
			(while [ $i -lt 300 ]; do mv d1 d2 2>/dev/null; mv d2 d1 2>/dev/null; i=$((i+1)); done) &
			j=0; while [ $j -lt 300 ]; do cat d1/x/y/../../../../secret d2/x/y/../../../../secret 2>/dev/null; j=$((j+1)); done
			wait; rm -rf d1 d2`},
		{"dotdot from a moved cwd", `mkdir -p /tmp/m/n && cd /tmp/m/n && mv /tmp/m /tmp/moved && cat ../../../secret ../../../../../secret 2>&1; cd / && rm -rf /tmp/moved`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The marker proves the commands ran (a missing cat would
			// also print no secret).
			res := rootSh(t, root, c.script+"\ncat /marker")
			require.False(t, res.TimedOut)
			assert.NotContains(t, res.Stdout+res.Stderr, secret, "a name led outside the root")
			assert.True(t, strings.HasSuffix(res.Stdout, "inside\n"), "the script did not run to its end: %q %q", res.Stdout, res.Stderr)
			AssertNoPanic(t, res.Stderr)
		})
	}
	// Inside, names work as usual.
	res := rootSh(t, root, "cat /marker ../marker /tmp/../marker; ls /")
	assert.Equal(t, "inside\ninside\ninside\nbin\nmarker\ntmp\n", res.Stdout, "stderr: %s", res.Stderr)
}

// The host's /proc never shows through: not at /proc (cmaemu's own), not
// through a path into the host's procfs, and the host process table is
// not enumerable.
func TestHostProcHidden(t *testing.T) {
	dir := t.TempDir()
	hostPID := strconv.Itoa(os.Getpid())
	res := runBusyboxSh(t, CmaemuPath(t), dir, "cat /proc/"+hostPID+"/status 2>&1; ls /proc/"+hostPID+" 2>&1; echo done")
	assert.NotContains(t, res.Stdout, "Name:", "a host process's status was readable")
	assert.Contains(t, res.Stdout, "done")
	AssertNoPanic(t, res.Stderr)
}

// The emulator's own memory is out of reach: /proc/self/mem is the
// guest's, and the emulator's machine code is not in it.
func TestProcSelfMemIsTheGuests(t *testing.T) {
	dir := t.TempDir()
	self, err := os.ReadFile(CmaemuPath(t))
	require.NoError(t, err)
	require.Greater(t, len(self), 0x4000)
	res := runBusyboxSh(t, CmaemuPath(t), dir, "head -c 64 /proc/self/maps >/dev/null && echo maps-ok; readlink /proc/self/exe")
	assert.Contains(t, res.Stdout, "maps-ok")
	assert.NotContains(t, res.Stdout, "cmaemu", "/proc/self/exe names the emulator")
	assert.True(t, strings.HasSuffix(strings.TrimSpace(res.Stdout), "busybox"), "exe: %q", res.Stdout)
}

// /dev/shm is cmaemu's own tmpfs: a file a guest leaves there is not on
// the host and is gone with the emulator.
func TestDevShmIsTheEmulators(t *testing.T) {
	dir := t.TempDir()
	name := "cmaemu-test-" + strconv.Itoa(os.Getpid())
	res := runBusyboxSh(t, CmaemuPath(t), dir, "echo kept > /dev/shm/"+name+" && cat /dev/shm/"+name)
	require.Equal(t, "kept\n", res.Stdout, "stderr: %s", res.Stderr)
	_, err := os.Stat("/dev/shm/" + name)
	assert.True(t, os.IsNotExist(err), "the guest's /dev/shm file is on the host")
	res = runBusyboxSh(t, CmaemuPath(t), dir, "cat /dev/shm/"+name+" 2>/dev/null || echo gone")
	assert.Equal(t, "gone\n", res.Stdout, "a /dev/shm file outlived its emulator")
}
