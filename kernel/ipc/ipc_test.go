package ipc

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// blocker is a Blocker whose waits end when intr is closed.
type blocker struct{ intr chan struct{} }

func newBlocker() blocker { return blocker{intr: make(chan struct{})} }

func (b blocker) Block(ready <-chan struct{}, timeout time.Duration) error {
	var tc <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-ready:
		return nil
	case <-tc:
		return linux.ETIMEDOUT
	case <-b.intr:
		return errors.New("interrupted")
	}
}

var (
	root  = &Caller{PID: 100, Caps: ^uint64(0)}
	alice = &Caller{PID: 200, EUID: 1000, EGID: 1000, FSGID: 1000}
	bob   = &Caller{PID: 300, EUID: 1001, EGID: 1001, FSGID: 1001, Groups: []uint32{1000}}
)

func newNS(t *testing.T) *Namespace {
	ram, err := mm.NewRAM(16 << 20)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	return New(ram)
}

func TestPermAllows(t *testing.T) {
	p := &Perm{UID: 1000, GID: 1000, CUID: 1000, CGID: 1000, Mode: 0o640}
	for _, tc := range []struct {
		name string
		c    *Caller
		flag uint32
		want bool
	}{
		{"owner reads and writes", alice, 0o600, true},
		{"owner executes", alice, 0o100, false},
		{"group member reads", bob, 0o444, true},
		{"group member writes", bob, modeWrite, false},
		{"other reads", &Caller{EUID: 5, FSGID: 5}, modeRead, false},
		{"other asks nothing", &Caller{EUID: 5, FSGID: 5}, 0, true},
		{"CAP_IPC_OWNER", &Caller{EUID: 5, Caps: 1 << CapIPCOwner}, 0o666, true},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, p.allows(tc.c, tc.flag)) })
	}
}

func TestGetRules(t *testing.T) {
	ns := newNS(t)
	id, err := ns.ShmGet(alice, 42, 8192, linux.IPC_CREAT|0o600)
	require.NoError(t, err)
	for _, tc := range []struct {
		name  string
		c     *Caller
		key   int32
		size  uint64
		flags uint32
		err   error
	}{
		{"missing key", alice, 43, 4096, 0o600, linux.ENOENT},
		{"existing", alice, 42, 4096, 0, nil},
		{"bigger than it", alice, 42, 8193, 0, linux.EINVAL},
		{"IPC_EXCL", alice, 42, 4096, linux.IPC_CREAT | linux.IPC_EXCL, linux.EEXIST},
		{"another user asks to read", bob, 42, 0, 0o400, linux.EACCES},
		{"another user asks nothing", bob, 42, 0, 0, nil},
		{"size 0", alice, linux.IPC_PRIVATE, 0, 0o600, linux.EINVAL},
		{"size above SHMMAX", alice, linux.IPC_PRIVATE, ShmMax + 1, 0o600, linux.EINVAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ns.ShmGet(tc.c, tc.key, tc.size, tc.flags)
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			if tc.key != linux.IPC_PRIVATE {
				assert.Equal(t, id, got)
			}
		})
	}
}

func TestIdentifiers(t *testing.T) {
	ns := newNS(t)
	a, err := ns.MsgGet(root, linux.IPC_PRIVATE, 0o600)
	require.NoError(t, err)
	b, err := ns.MsgGet(root, linux.IPC_PRIVATE, 0o600)
	require.NoError(t, err)
	assert.Equal(t, []int32{0, 1}, []int32{a, b})
	require.NoError(t, ns.MsgRemove(root, a))
	c, err := ns.MsgGet(root, linux.IPC_PRIVATE, 0o600)
	require.NoError(t, err)
	assert.Equal(t, int32(1<<ipcmniShift), c, "index 0 again, next sequence")
	_, _, err = ns.MsgStat(root, a, linux.IPC_STAT)
	assert.ErrorIs(t, err, linux.EINVAL, "an old identifier of the index")
}

// TestShmAttachLifetime maps a segment in an address space, removes it
// while attached and checks it goes with the last detach.
func TestShmAttachLifetime(t *testing.T) {
	ns := newNS(t)
	as, err := mm.New(ns.ram, mm.Layout64)
	require.NoError(t, err)
	t.Cleanup(as.Release)
	id, err := ns.ShmGet(root, linux.IPC_PRIVATE, 3*mm.PageSize, 0o600)
	require.NoError(t, err)
	attach := func() mm.Addr {
		att, err := ns.ShmAttach(root, id, 0)
		require.NoError(t, err)
		defer att.Object.Release(ns.ram)
		addr, err := as.Map(mm.MapOpts{Length: att.Size, Prot: mm.ProtRead | mm.ProtWrite, Shared: true, Object: att.Object})
		require.NoError(t, err)
		return addr
	}
	nattch := func() uint64 {
		ds, _, err := ns.ShmStat(root, id, linux.IPC_STAT)
		require.NoError(t, err)
		return ds.Nattch
	}
	a, b := attach(), attach()
	assert.Equal(t, uint64(2), nattch())
	_, err = as.CopyOut(a+10, []byte("shared"))
	require.NoError(t, err)
	got := make([]byte, 6)
	_, err = as.CopyIn(b+10, got)
	require.NoError(t, err)
	assert.Equal(t, "shared", string(got))

	require.NoError(t, ns.ShmRemove(root, id))
	ds, _, err := ns.ShmStat(root, id, linux.IPC_STAT)
	require.NoError(t, err)
	assert.NotZero(t, ds.Perm.Mode&linux.SHM_DEST)
	assert.Zero(t, ds.Perm.Key)
	assert.Contains(t, ns.ProcShm(), " 1600 ")

	require.NoError(t, as.Unmap(a, 3*mm.PageSize))
	assert.Equal(t, uint64(1), nattch())
	require.NoError(t, as.Unmap(b, 3*mm.PageSize))
	_, _, err = ns.ShmStat(root, id, linux.IPC_STAT)
	assert.ErrorIs(t, err, linux.EINVAL, "gone with the last detach")
	assert.Equal(t, uint64(0), ns.ShmInfo().Tot)
}

func TestSemopRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		init int
		sops []Sembuf
		err  error
		want int
	}{
		{"decrement", 2, []Sembuf{{0, -1, 0}}, nil, 1},
		{"would block, IPC_NOWAIT", 0, []Sembuf{{0, -1, linux.IPC_NOWAIT}}, linux.EAGAIN, 0},
		{"wait for zero, IPC_NOWAIT", 1, []Sembuf{{0, 0, linux.IPC_NOWAIT}}, linux.EAGAIN, 1},
		{"above SEMVMX", SemVmx, []Sembuf{{0, 1, 0}}, linux.ERANGE, SemVmx},
		{"all or nothing", 1, []Sembuf{{0, -1, 0}, {0, -1, linux.IPC_NOWAIT}}, linux.EAGAIN, 1},
		{"past the set", 1, []Sembuf{{2, 1, 0}}, linux.EFBIG, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := newNS(t)
			id, err := ns.SemGet(root, linux.IPC_PRIVATE, 2, 0o600)
			require.NoError(t, err)
			require.NoError(t, ns.SemSetVal(root, id, 0, int32(tc.init), nil))
			err = ns.Semop(root, newBlocker(), id, tc.sops, -1)
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
			} else {
				assert.NoError(t, err)
			}
			v, err := ns.SemGet1(root, id, 0, linux.GETVAL)
			require.NoError(t, err)
			assert.Equal(t, int32(tc.want), v)
		})
	}
}

// TestSemBlocking runs waiters in goroutines: a post wakes them, a
// removal is EIDRM, an interrupt EINTR, a timeout EAGAIN.
func TestSemBlocking(t *testing.T) {
	ns := newNS(t)
	id, err := ns.SemGet(root, linux.IPC_PRIVATE, 1, 0o600)
	require.NoError(t, err)
	wait := func(b Blocker, timeout time.Duration) chan error {
		done := make(chan error, 1)
		go func() { done <- ns.Semop(root, b, id, []Sembuf{{0, -1, 0}}, timeout) }()
		return done
	}
	ncnt := func(want int32) {
		assert.Eventually(t, func() bool {
			n, _ := ns.SemGet1(root, id, 0, linux.GETNCNT)
			return n == want
		}, 5*time.Second, time.Millisecond)
	}

	var wg sync.WaitGroup
	results := make([]chan error, 4)
	for i := range results {
		results[i] = wait(newBlocker(), -1)
	}
	ncnt(4)
	wg.Add(1)
	go func() {
		defer wg.Done()
		assert.NoError(t, ns.Semop(root, newBlocker(), id, []Sembuf{{0, 4, 0}}, -1))
	}()
	for _, r := range results {
		assert.NoError(t, <-r)
	}
	wg.Wait()
	ncnt(0)

	b := newBlocker()
	r := wait(b, -1)
	ncnt(1)
	close(b.intr)
	assert.ErrorIs(t, <-r, linux.EINTR)
	ncnt(0)

	assert.ErrorIs(t, <-wait(newBlocker(), 10*time.Millisecond), linux.EAGAIN)

	r = wait(newBlocker(), -1)
	ncnt(1)
	require.NoError(t, ns.SemRemove(root, id))
	assert.ErrorIs(t, <-r, linux.EIDRM)
}

func TestSemUndo(t *testing.T) {
	ns := newNS(t)
	id, err := ns.SemGet(root, linux.IPC_PRIVATE, 2, 0o600)
	require.NoError(t, err)
	require.NoError(t, ns.SemSetVal(root, id, 0, 0, []uint16{5, 1}))
	child := &Caller{PID: 555}
	require.NoError(t, ns.Semop(child, newBlocker(), id, []Sembuf{{0, 3, linux.SEM_UNDO}, {1, -1, linux.SEM_UNDO}}, -1))
	require.NoError(t, ns.SemSetVal(root, id, 1, 7, nil)) // clears sem 1's adjustment
	ns.ExitSem(child.PID)
	vals, err := ns.SemGetAll(root, id, 2)
	require.NoError(t, err)
	assert.Equal(t, []uint16{5, 7}, vals)
	pid, err := ns.SemGet1(root, id, 0, linux.GETPID)
	require.NoError(t, err)
	assert.Equal(t, int32(555), pid)
}

func TestMsgTypes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		typ   int64
		flags uint32
		want  int64 // type received, 0: ENOMSG
	}{
		{"first", 0, 0, 5},
		{"positive", 2, 0, 2},
		{"negative: lowest up to", -6, 0, 1},
		{"MSG_EXCEPT", 5, linux.MSG_EXCEPT, 2},
		{"none of the type", 9, 0, 0},
		{"MSG_COPY index 2", 2, linux.MSG_COPY, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := newNS(t)
			id, err := ns.MsgGet(root, linux.IPC_PRIVATE, 0o600)
			require.NoError(t, err)
			for _, typ := range []int64{5, 2, 7, 1} {
				require.NoError(t, ns.MsgSnd(root, newBlocker(), id, Message{Type: typ, Text: []byte("x")}, 0))
			}
			m, err := ns.MsgRcv(root, newBlocker(), id, 10, tc.typ, tc.flags|linux.IPC_NOWAIT)
			if tc.want == 0 {
				assert.ErrorIs(t, err, linux.ENOMSG)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, m.Type)
		})
	}
}

func TestMsgBlocking(t *testing.T) {
	ns := newNS(t)
	id, err := ns.MsgGet(root, linux.IPC_PRIVATE, 0o600)
	require.NoError(t, err)
	require.NoError(t, ns.MsgSet(root, id, 0, 0, 0o600, 8))
	big := Message{Type: 1, Text: []byte("12345678")}
	require.NoError(t, ns.MsgSnd(root, newBlocker(), id, big, 0))
	assert.ErrorIs(t, ns.MsgSnd(root, newBlocker(), id, big, linux.IPC_NOWAIT), linux.EAGAIN)
	sent := make(chan error, 1)
	go func() { sent <- ns.MsgSnd(root, newBlocker(), id, big, 0) }()
	m, err := ns.MsgRcv(root, newBlocker(), id, 4, 0, linux.MSG_NOERROR)
	require.NoError(t, err)
	assert.Equal(t, "1234", string(m.Text))
	assert.NoError(t, <-sent)
	_, err = ns.MsgRcv(root, newBlocker(), id, 4, 0, 0)
	assert.ErrorIs(t, err, linux.E2BIG, "the message stays")

	got := make(chan error, 1)
	go func() {
		_, err := ns.MsgRcv(root, newBlocker(), id, 100, 99, 0)
		got <- err
	}()
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, ns.MsgRemove(root, id))
	assert.ErrorIs(t, <-got, linux.EIDRM)
}

func TestLayoutSizes(t *testing.T) {
	for _, tc := range []struct {
		l                   Layout
		shm, sem, msg, lims int
	}{
		{Layout64, 112, 104, 120, 72},
		{LayoutCompat64, 84, 64, 88, 36},
		{LayoutCompatOld, 48, 44, 56, 20},
	} {
		assert.Len(t, EncodeShmDS(tc.l, ShmDS{}), tc.shm)
		assert.Len(t, EncodeSemDS(tc.l, SemDS{}), tc.sem)
		assert.Len(t, EncodeMsgDS(tc.l, MsgDS{}), tc.msg)
		assert.Len(t, EncodeShmLimits(tc.l), tc.lims)
	}
	assert.Len(t, EncodeSemInfo(SemInfo{}), 40)
	assert.Len(t, EncodeMsgInfo(MsgInfo{}), 32)
	d := EncodeShmDS(LayoutCompat64, ShmDS{Perm: Perm{Key: 7, UID: 70000, Mode: 0o1600, Seq: 3}, Segsz: 4096, Nattch: 2})
	assert.Equal(t, uint32(70000), le.Uint32(d[4:]))
	assert.Equal(t, uint16(0o1600), le.Uint16(d[20:]))
	assert.Equal(t, uint16(3), le.Uint16(d[24:]))
	assert.Equal(t, uint32(4096), le.Uint32(d[36:]))
	assert.Equal(t, uint32(2), le.Uint32(d[72:]))
	old := EncodeShmDS(LayoutCompatOld, ShmDS{Perm: Perm{UID: 70000}})
	assert.Equal(t, uint16(65534), le.Uint16(old[4:]), "high2lowuid")
}
