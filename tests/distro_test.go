package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The distribution's own dynamically linked programs, natively and under
// cmaemu, in the same scratch directory prepared the same way: same
// stdout, stderr and exit status. A program that cannot pass yet has its
// reason in Known (it still runs natively, so the case stays honest).

// distroCase is one command line of the conformance suite.
type distroCase struct {
	name string
	argv []string
	// uid1000 also runs the case as uid and gid 1000 (natively through
	// setpriv, under cmaemu with --uid/--gid).
	uid1000 bool
	known   string
}

// sh is bash -c script.
func sh(script string) []string { return []string{"/bin/bash", "-c", script} }

var distroCases = []distroCase{
	{name: "ls -la", argv: []string{"/bin/ls", "-la", "--time-style=long-iso", "d"}},
	{name: "cat", argv: []string{"/bin/cat", "d/a.txt", "d/b.txt"}},
	{name: "sort", argv: []string{"/usr/bin/sort", "-r", "d/words"}},
	{name: "uniq -c", argv: sh("/usr/bin/sort d/words | /usr/bin/uniq -c")},
	{name: "wc", argv: []string{"/usr/bin/wc", "d/a.txt", "d/words"}},
	{name: "sha256sum", argv: []string{"/usr/bin/sha256sum", "d/a.txt", "d/b.txt"}},
	{name: "cp -a", argv: sh("/bin/cp -a d e && /bin/ls -la --time-style=long-iso e && /bin/rm -r e")},
	{name: "mv", argv: sh("/bin/cp d/a.txt m1 && /bin/mv m1 m2 && /bin/cat m2 && /bin/rm m2 && /bin/ls")},
	{name: "rm -r", argv: sh("/bin/mkdir -p r/s/t && /bin/touch r/s/t/f && /bin/rm -r r && /bin/ls")},
	{name: "mkdir -p", argv: sh("/bin/mkdir -p x/y/z && /usr/bin/find x && /bin/rm -r x")},
	{name: "ln -s", argv: sh("/bin/ln -s d/a.txt link && /bin/readlink link && /bin/cat link && /bin/rm link")},
	{name: "stat -c", argv: []string{"/usr/bin/stat", "-c", "%n %s %a %F %h %U %G", "d", "d/a.txt", "d/sub"}},
	{name: "du -s", argv: []string{"/usr/bin/du", "-s", "--apparent-size", "d"}},
	{name: "df", argv: []string{"/bin/df", "--output=fstype,target", "/"}},
	{name: "date", argv: []string{"/bin/date", "-d", "@0", "-u"}},
	{name: "env", argv: []string{"/usr/bin/env", "-i", "A=1", "B=two words", "/usr/bin/env"}},
	{name: "id", argv: []string{"/usr/bin/id"}, uid1000: true},
	{name: "seq", argv: []string{"/usr/bin/seq", "-s", ",", "1", "3", "20"}},
	{name: "tr", argv: sh("/bin/echo hello world | /usr/bin/tr a-z A-Z")},
	{name: "head and tail", argv: sh("/usr/bin/head -n 2 d/words; /usr/bin/tail -n 2 d/words")},
	{name: "tail -f with a timeout", argv: sh("/usr/bin/timeout 1 /usr/bin/tail -f d/a.txt; echo status=$?"),
		known: "inotify is not offered (ENOSYS): tail -f polls instead and says so on stderr"},
	{name: "find -newer", argv: []string{"/usr/bin/find", "d", "-newer", "d/a.txt", "-type", "f"}},
	{name: "xargs -P2", argv: sh("/usr/bin/seq 1 6 | /usr/bin/xargs -P2 -n1 /bin/echo | /usr/bin/sort -n")},
	{name: "tar czf and xzf", argv: sh("/bin/tar czf t.tgz d && /bin/mkdir u && /bin/tar xzf t.tgz -C u && /usr/bin/diff -r d u/d && echo same; /bin/rm -r t.tgz u")},
	{name: "gzip -9", argv: sh("/bin/gzip -9 -c -n d/words | /bin/gzip -d | /usr/bin/sha256sum")},
	{name: "sed", argv: []string{"/bin/sed", "-n", "s/o/0/gp", "d/words"}},
	{name: "grep -r", argv: []string{"/bin/grep", "-rn", "two", "d"}},
	{name: "awk", argv: []string{"/usr/bin/awk", "{n[$1]++} END {for (w in n) s += n[w]; print s, NR}", "d/words"}},
	{name: "bash pipelines and redirections", argv: sh(`set -e; x=$(echo one; echo two); echo "$x" | /usr/bin/wc -l; { echo a; echo b >&2; } 2>err >out; /bin/cat out err; /bin/rm out err; (exit 3); echo never`)},
	{name: "bash subshells and traps", argv: sh(`trap 'echo trapped $?' EXIT; ( cd d && pwd >/dev/null && echo in-subshell ); v=$( (echo nested) ); echo $v; false || echo recovered; exit 4`)},
	{name: "bash job control basics", argv: sh(`/bin/sleep 0.1 & p=$!; wait $p; echo waited=$?; /bin/sleep 5 & kill %1; wait; echo killed=$?`)},
	{name: "python3 subprocess", argv: []string{"/usr/bin/python3", "-c", `import subprocess; r = subprocess.run(["/bin/echo", "from a child"], capture_output=True, text=True); print(r.returncode, r.stdout.strip())`}},
	{name: "python3 multiprocessing", argv: []string{"/usr/bin/python3", "-c", "import multiprocessing as m\nif __name__ == '__main__':\n  with m.Pool(2) as p: print(sorted(p.map(abs, [-3, -1, 2])))"}},
	{name: "python3 os.fork", argv: []string{"/usr/bin/python3", "-c", "import os\npid = os.fork()\nif pid == 0: os._exit(7)\nprint(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))"}},
	{name: "python3 mmap", argv: []string{"/usr/bin/python3", "-c", "import mmap\nm = mmap.mmap(-1, 4096)\nm.write(b'shared'); m.seek(0); print(m.read(6))"}},
	{name: "python3 ctypes process_vm_readv", argv: []string{"/usr/bin/python3", "-c", pythonCMA}},
	{name: "python3 socketpair and selectors", argv: []string{"/usr/bin/python3", "-c", pythonSelectors}},
	{name: "python3 SO_PEERCRED", argv: []string{"/usr/bin/python3", "-c", pythonPeercred}, uid1000: true},
	{name: "perl", argv: []string{"/usr/bin/perl", "-e", `my %h = (a => 1, b => 2); print join(",", map { "$_=$h{$_}" } sort keys %h), "\n"; printf "%.3f\n", atan2(1, 1) * 4;`}},
	{name: "permission errors", argv: sh(`/bin/cat /etc/shadow >/dev/null; /usr/bin/touch /root/cmaemu-x; /bin/ls /root >/dev/null; echo done`), uid1000: true},
}

// pythonSelectors is an event loop over a socketpair and a pipe with a
// forked writer: selectors (epoll underneath), AF_UNIX and EOF.
const pythonSelectors = `import os, selectors, socket
a, b = socket.socketpair()
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    b.close(); os.close(r)
    for i in range(3):
        a.sendall(b"msg %d;" % i)
    os.write(w, b"pipe done")
    os._exit(0)
a.close(); os.close(w)
sel = selectors.DefaultSelector()
print(type(sel).__name__)
sel.register(b, selectors.EVENT_READ, "socket")
sel.register(r, selectors.EVENT_READ, "pipe")
got = {"socket": b"", "pipe": b""}
open_ = 2
while open_:
    for key, _ in sel.select(timeout=10):
        data = key.fileobj.recv(64) if key.data == "socket" else os.read(r, 64)
        if data:
            got[key.data] += data
        else:
            sel.unregister(key.fileobj); open_ -= 1
print(got["socket"].decode(), got["pipe"].decode())
print("child", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))`

// pythonPeercred prints the credentials SO_PEERCRED gives of the peer
// of a socketpair: the caller's own uid and gid.
const pythonPeercred = `import socket, struct
a, b = socket.socketpair()
pid, uid, gid = struct.unpack("3i", a.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
print("uid", uid, "gid", gid)`

// pythonCMA reads the interpreter's own buffer with process_vm_readv
// through ctypes: a CMA call from Python.
const pythonCMA = `import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
src = ctypes.create_string_buffer(b"cross memory attach", 19)
dst = ctypes.create_string_buffer(19)
l = iovec(ctypes.cast(dst, ctypes.c_void_p), 19)
r = iovec(ctypes.cast(src, ctypes.c_void_p), 19)
n = libc.process_vm_readv(os.getpid(), ctypes.byref(l), 1, ctypes.byref(r), 1, 0)
print(n, dst.raw)`

// distroEnv is the environment of both runs.
var distroEnv = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=/nonexistent", "TZ=UTC"}

// prepareScratch lays out the files the cases read, with fixed times.
func prepareScratch(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"d/a.txt":     "alpha\nbeta\n",
		"d/b.txt":     "gamma\n",
		"d/words":     "one\ntwo\nthree\ntwo\none\ntwo\n",
		"d/sub/inner": "inner two\n",
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	old, newer := time.Unix(1000000000, 0), time.Unix(1000000100, 0)
	stamps := []struct {
		name string
		at   time.Time
	}{{"d/a.txt", old}, {"d/b.txt", newer}, {"d/words", newer}, {"d/sub/inner", old}, {"d/sub", old}, {"d", old}}
	for _, s := range stamps {
		require.NoError(t, os.Chtimes(filepath.Join(dir, s.name), s.at, s.at))
	}
	require.NoError(t, os.Chmod(dir, 0o755))
}

func TestDistro(t *testing.T) {
	cmaemu := CmaemuPath(t)
	for _, c := range distroCases {
		for _, uid := range []int{-1, 1000} {
			if uid == 1000 && !c.uid1000 {
				continue
			}
			name := c.name
			if uid == 1000 {
				name += " as uid 1000"
			}
			t.Run(name, func(t *testing.T) {
				if _, err := os.Stat(c.argv[0]); err != nil {
					t.Fatalf("%s is missing: `make setup` installs it", c.argv[0])
				}
				if uid == 1000 && os.Geteuid() != 0 {
					t.Skip("running natively as uid 1000 needs root")
				}
				t.Parallel()
				nativeDir, emuDir := t.TempDir(), t.TempDir()
				prepareScratch(t, nativeDir)
				prepareScratch(t, emuDir)
				nativeArgv, emuArgv := c.argv, append([]string{cmaemu, "run"}, c.argv...)
				if uid == 1000 {
					nativeArgv = append([]string{"/usr/bin/setpriv", "--reuid=1000", "--regid=1000", "--clear-groups"}, c.argv...)
					emuArgv = append([]string{cmaemu, "run", "--uid", "1000", "--gid", "1000", "--"}, c.argv...)
				}
				native := Exec(t, Run{Argv: nativeArgv, Env: distroEnv, Dir: nativeDir})
				require.False(t, native.TimedOut)
				if c.known != "" {
					t.Skip("known cmaemu difference: " + c.known)
				}
				emu := Exec(t, Run{Argv: emuArgv, Env: distroEnv, Dir: emuDir})
				require.False(t, emu.TimedOut, "cmaemu timed out; stderr:\n%s", emu.Stderr)
				norm := func(s, dir string) string { return strings.ReplaceAll(s, dir, "$DIR") }
				assert.Equal(t, norm(native.Stdout, nativeDir), norm(emu.Stdout, emuDir), "stdout")
				assert.Equal(t, norm(native.Stderr, nativeDir), norm(emu.Stderr, emuDir), "stderr")
				assert.Equal(t, native.Status.Emulated().String(), emu.Status.String(), "status")
			})
		}
	}
}
