package lock

import (
	"bufio"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
)

// POSIX locks are a process's: to compare them with the host's, the test
// binary runs copies of itself as helper processes, each of which opens
// the file and makes the fcntl calls it reads from its stdin.

const helperEnv = "FSLOCK_TEST_HELPER_FILE"

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		os.Exit(helper(name))
	}
	os.Exit(m.Run())
}

// closeOther is the helper's command to close its second descriptor of
// the file and open it again.
const closeOther = -1

// helper opens the file twice and serves lines "CMD TYPE START LEN" (CMD
// is F_GETLK, F_SETLK or F_SETLKW on the first descriptor, or closeOther)
// with lines "ERRNO TYPE START LEN PID".
func helper(name string) int {
	var fds [2]int
	for i := range fds {
		fd, err := syscall.Open(name, syscall.O_RDWR, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fds[i] = fd
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var cmd, typ int
		var l Flock
		if _, err := fmt.Sscan(in.Text(), &cmd, &typ, &l.Start, &l.Len); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		l.Type = Type(typ)
		var err error
		if cmd == closeOther {
			if err = syscall.Close(fds[1]); err == nil {
				fds[1], err = syscall.Open(name, syscall.O_RDWR, 0)
			}
		} else {
			err = hostFcntl(fds[0], cmd, &l)
		}
		var errno uintptr
		switch e := err.(type) {
		case linux.Errno:
			errno = uintptr(e)
		case syscall.Errno:
			errno = uintptr(e)
		}
		fmt.Printf("%d %d %d %d %d\n", errno, l.Type, l.Start, l.Len, l.Pid)
	}
	return 0
}

// hostProc is a helper process.
type hostProc struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	replies chan string
	owner   Owner  // Process of its pid
	early   string // an answer blocked read
}

// startHostProc starts a helper process on the file name.
func startHostProc(t *testing.T, name string) *hostProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+name)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	h := &hostProc{cmd: cmd, in: in, replies: make(chan string, 16), owner: Process(int32(cmd.Process.Pid))}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			h.replies <- sc.Text()
		}
		close(h.replies)
	}()
	t.Cleanup(func() {
		h.cmd.Process.Kill()
		h.cmd.Wait()
	})
	return h
}

// send asks h to make the fcntl call cmd with l.
func (h *hostProc) send(t *testing.T, cmd int, l Flock) {
	t.Helper()
	_, err := fmt.Fprintf(h.in, "%d %d %d %d\n", cmd, l.Type, l.Start, l.Len)
	require.NoError(t, err)
}

// reply returns the answer to h's call.
func (h *hostProc) reply(t *testing.T) (Flock, error) {
	t.Helper()
	replies := h.replies
	if h.early != "" {
		early := make(chan string, 1)
		early <- h.early
		h.early, replies = "", early
	}
	select {
	case s, ok := <-replies:
		require.True(t, ok, "the helper died")
		var errno, typ int
		var l Flock
		_, err := fmt.Sscan(s, &errno, &typ, &l.Start, &l.Len, &l.Pid)
		require.NoError(t, err)
		l.Type = Type(typ)
		if errno != 0 {
			return l, linux.Errno(errno)
		}
		return l, nil
	case <-time.After(patience):
		require.FailNow(t, "the helper does not answer")
		return Flock{}, nil
	}
}

// blocked reports whether h's call is still waiting after a while; if
// not, reply returns its answer.
func (h *hostProc) blocked(t *testing.T) bool {
	t.Helper()
	select {
	case s, ok := <-h.replies:
		require.True(t, ok, "the helper died")
		h.early = s
		return false
	case <-time.After(50 * time.Millisecond):
		return true
	}
}

// call makes a call that does not wait.
func (h *hostProc) call(t *testing.T, cmd int, l Flock) (Flock, error) {
	t.Helper()
	h.send(t, cmd, l)
	return h.reply(t)
}

// TestHostDeadlockChain builds the cycle of TestDeadlockChainLimit out of
// host processes: the host detects it at the same lengths as the table.
func TestHostDeadlockChain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts many processes")
	}
	for _, owners := range []int{2, 3, 12, 13} {
		t.Run(fmt.Sprint(owners), func(t *testing.T) {
			name := openHostName(t)
			tb := newTable()
			var ps []*hostProc
			for i := range owners {
				p := startHostProc(t, name)
				ps = append(ps, p)
				l := Flock{Type: WriteLock, Start: int64(i), Len: 1}
				_, err := p.call(t, syscall.F_SETLK, l)
				require.NoError(t, err)
				require.NoError(t, tb.SetLk(fileA, p.owner, l, rw, nil))
			}
			var ws []*pending
			for i := 1; i < owners; i++ {
				ps[i].send(t, syscall.F_SETLKW, Flock{Type: WriteLock, Start: int64(i - 1), Len: 1})
				require.True(t, ps[i].blocked(t))
				ws = append(ws, setW(tb, fileA, ps[i].owner, WriteLock, Range{int64(i - 1), int64(i - 1)}))
				awaitWaiters(t, tb, fileA, i)
			}
			last := Flock{Type: WriteLock, Start: int64(owners - 1), Len: 1}
			ps[0].send(t, syscall.F_SETLKW, last)
			hostDetected := !ps[0].blocked(t)
			if hostDetected {
				_, err := ps[0].reply(t)
				require.ErrorIs(t, err, linux.EDEADLK)
			}
			err := tb.SetLk(fileA, ps[0].owner, last, rw, Interruptible(closed()))
			assert.Equal(t, hostDetected, err == linux.EDEADLK, "table: %v", err)
			for _, w := range ws {
				w.interrupt()
				require.ErrorIs(t, w.result(t), linux.EINTR)
			}
		})
	}
}

// closed returns a closed channel.
func closed() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// openHostName returns the name of a new empty file.
func openHostName(t *testing.T) string {
	t.Helper()
	name := t.TempDir() + "/f"
	require.NoError(t, os.WriteFile(name, nil, 0o600))
	return name
}

// TestHostPosixAndOFD makes random requests of two helper processes (POSIX
// locks) and two descriptions of the test process (OFD locks), of the
// host and of a table, and compares all answers, F_GETLK's pids included.
func TestHostPosixAndOFD(t *testing.T) {
	name := openHostName(t)
	procs := []*hostProc{startHostProc(t, name), startHostProc(t, name)}
	var fds []int
	for range 2 {
		fd, err := syscall.Open(name, syscall.O_RDWR, 0)
		require.NoError(t, err)
		t.Cleanup(func() { syscall.Close(fd) })
		fds = append(fds, fd)
	}
	tb := newTable()
	rng := rand.New(rand.NewSource(2))
	randFlock := func(types ...Type) Flock {
		l := Flock{Type: types[rng.Intn(len(types))], Start: rng.Int63n(16)}
		if rng.Intn(5) > 0 {
			l.Len = 1 + rng.Int63n(6)
		}
		return l
	}
	const steps = 300
	for step := range steps {
		req := randFlock(ReadLock, WriteLock, WriteLock, Unlock)
		who := rng.Intn(4)
		var herr, err error
		if who < 2 {
			p := procs[who]
			_, herr = p.call(t, syscall.F_SETLK, req)
			err = tb.SetLk(fileA, p.owner, req, rw, nil)
		} else {
			hl := req
			herr = hostFcntl(fds[who-2], fOFDSetlk, &hl)
			err = tb.SetLk(fileA, Description(uint64(who-2)), req, rw, nil)
		}
		require.Equal(t, herr, err, "step %d: %d sets %+v", step, who, req)

		for _, probe := range []Flock{{Type: WriteLock}, {Type: ReadLock}, randFlock(ReadLock, WriteLock)} {
			for j := range 4 {
				got := probe
				var want Flock
				if j < 2 {
					want, herr = procs[j].call(t, syscall.F_GETLK, probe)
					require.NoError(t, herr)
					require.NoError(t, tb.GetLk(fileA, procs[j].owner, &got, rw))
				} else {
					want = probe
					require.NoError(t, hostFcntl(fds[j-2], fOFDGetlk, &want))
					require.NoError(t, tb.GetLk(fileA, Description(uint64(j-2)), &got, rw))
				}
				require.Equal(t, want, got, "step %d: %d tests %+v; locks %v", step, j, probe, tb.Locks(fileA))
			}
		}
		if step%50 == 49 {
			// A helper closes a descriptor of the file other than the
			// one it locked through: its locks go.
			p := procs[rng.Intn(2)]
			_, err := p.call(t, closeOther, Flock{})
			require.NoError(t, err)
			tb.Release(fileA, p.owner)
		}
	}
}
