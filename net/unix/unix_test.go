package unix

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/net/socket"
)

// fakeTask is a file.Context: Block waits for real, interrupt ends it
// with ErrRestart.
type fakeTask struct {
	cred      file.Ucred
	interrupt chan struct{}
	sigpipes  atomic.Int32
}

func newTask(pid int32) *fakeTask {
	return &fakeTask{cred: file.Ucred{Pid: pid, UID: 1000, GID: 100}, interrupt: make(chan struct{})}
}

func (t *fakeTask) Block(ready <-chan struct{}, timeout time.Duration) error {
	var after <-chan time.Time
	if timeout > 0 {
		after = time.After(timeout)
	}
	select {
	case <-ready:
		return nil
	case <-after:
		return linux.ETIMEDOUT
	case <-t.interrupt:
		return file.ErrRestart
	}
}

func (t *fakeTask) WaitHost(int, int16) error { return linux.ENOSYS }
func (t *fakeTask) SendSIGPIPE()              { t.sigpipes.Add(1) }
func (t *fakeTask) Ucred() file.Ucred         { return t.cred }

// fakeInode is a node of fakeFS.
type fakeInode struct {
	vfs.NoRefs
	attr vfs.Attr
}

func (i *fakeInode) Attr() (vfs.Attr, error) { return i.attr, nil }

// fakeFS is a flat filesystem of names.
type fakeFS struct {
	mu    sync.Mutex
	nodes map[string]*fakeInode
	ino   uint64
}

func newFS() *fakeFS { return &fakeFS{nodes: map[string]*fakeInode{}} }

func (fs *fakeFS) MakeSocketNode(ctx file.Context, name string) (vfs.Path, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if _, ok := fs.nodes[name]; ok {
		return vfs.Path{}, linux.EEXIST
	}
	fs.ino++
	n := &fakeInode{attr: vfs.Attr{Dev: 1, Ino: fs.ino, Mode: vfs.ModeSocket | 0o755}}
	fs.nodes[name] = n
	return vfs.Path{Inode: n, Name: name}, nil
}

func (fs *fakeFS) LookupSocketNode(ctx file.Context, name string) (vfs.Path, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n, ok := fs.nodes[name]
	if !ok {
		return vfs.Path{}, linux.ENOENT
	}
	return vfs.Path{Inode: n, Name: name}, nil
}

// file adds a regular file.
func (fs *fakeFS) file(name string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.ino++
	fs.nodes[name] = &fakeInode{attr: vfs.Attr{Dev: 1, Ino: fs.ino, Mode: vfs.ModeRegular | 0o644}}
}

// countedFile is a file.File that counts its references.
type countedFile struct {
	file.File
	refs atomic.Int32
}

func (f *countedFile) IncRef() { f.refs.Add(1) }
func (f *countedFile) DecRef() { f.refs.Add(-1) }

func pathAddr(name string) []byte { return address{name: name}.encode() }

func abstractAddr(name string) []byte { return address{abstract: true, name: name}.encode() }

func send(t *testing.T, ctx file.Context, s *Socket, data string, flags int) (int, error) {
	t.Helper()
	return s.SendMsg(ctx, &socket.Message{Data: [][]byte{[]byte(data)}}, flags)
}

func recv(ctx file.Context, s *Socket, n int, flags int) (string, *socket.Message, error) {
	buf := make([]byte, n)
	m := &socket.Message{Data: [][]byte{buf}}
	got, err := s.RecvMsg(ctx, m, flags)
	if err != nil {
		return "", m, err
	}
	return string(buf[:min(got, n)]), m, nil
}

func TestPairBoundaries(t *testing.T) {
	for _, tc := range []struct {
		typ  int
		want []string // what reads of 64 bytes return after "ab", "cde"
	}{
		{SOCK_STREAM, []string{"abcde"}},
		{SOCK_DGRAM, []string{"ab", "cde"}},
		{SOCK_SEQPACKET, []string{"ab", "cde"}},
	} {
		t.Run(fmt.Sprint(tc.typ), func(t *testing.T) {
			n := NewNames(DefaultConfig(), newFS())
			ctx := newTask(1000)
			a, b, err := n.Pair(tc.typ, 0, 0, ctx.Ucred())
			require.NoError(t, err)
			defer a.DecRef()
			defer b.DecRef()
			for _, d := range []string{"ab", "cde"} {
				got, err := send(t, ctx, a, d, 0)
				require.NoError(t, err)
				assert.Equal(t, len(d), got)
			}
			for _, w := range tc.want {
				got, _, err := recv(ctx, b, 64, MSG_DONTWAIT)
				require.NoError(t, err)
				assert.Equal(t, w, got)
			}
			_, _, err = recv(ctx, b, 64, MSG_DONTWAIT)
			assert.Equal(t, linux.EAGAIN, err)
		})
	}
}

func TestPeerCloseAndSigpipe(t *testing.T) {
	for _, tc := range []struct {
		typ      int
		sendErr  error
		sigpipes int32
		readEOF  bool
	}{
		{SOCK_STREAM, linux.EPIPE, 1, true},
		{SOCK_SEQPACKET, linux.EPIPE, 0, true},
		{SOCK_DGRAM, linux.ECONNREFUSED, 0, false},
	} {
		t.Run(fmt.Sprint(tc.typ), func(t *testing.T) {
			n := NewNames(DefaultConfig(), newFS())
			ctx := newTask(1000)
			a, b, err := n.Pair(tc.typ, 0, 0, ctx.Ucred())
			require.NoError(t, err)
			b.DecRef()
			ev, _ := a.Readiness()
			assert.Equal(t, tc.readEOF, ev&file.PollHup != 0, "POLLHUP")
			_, err = send(t, ctx, a, "x", 0)
			assert.Equal(t, tc.sendErr, err)
			assert.Equal(t, tc.sigpipes, ctx.sigpipes.Load())
			_, err = send(t, ctx, a, "x", MSG_NOSIGNAL)
			assert.Error(t, err)
			assert.Equal(t, tc.sigpipes, ctx.sigpipes.Load(), "MSG_NOSIGNAL sends no SIGPIPE")
			if tc.readEOF {
				got, _, err := recv(ctx, a, 8, 0)
				assert.NoError(t, err)
				assert.Equal(t, "", got)
			}
			a.DecRef()
		})
	}
}

func TestNames(t *testing.T) {
	fs := newFS()
	fs.file("regular")
	n := NewNames(DefaultConfig(), fs)
	ctx := newTask(1000)
	listener, err := n.New(SOCK_STREAM, 0, 0)
	require.NoError(t, err)
	defer listener.DecRef()
	require.NoError(t, listener.Bind(ctx, pathAddr("srv")))
	dgram, _ := n.New(SOCK_DGRAM, 0, 0)
	defer dgram.DecRef()
	require.NoError(t, dgram.Bind(ctx, abstractAddr("dg")))
	for _, tc := range []struct {
		name string
		op   func(s *Socket) error
		want error
	}{
		{"missing path", func(s *Socket) error { return s.Connect(ctx, pathAddr("nope")) }, linux.ENOENT},
		{"regular file", func(s *Socket) error { return s.Connect(ctx, pathAddr("regular")) }, linux.ECONNREFUSED},
		{"not listening", func(s *Socket) error { return s.Connect(ctx, pathAddr("srv")) }, linux.ECONNREFUSED},
		{"unbound abstract", func(s *Socket) error { return s.Connect(ctx, abstractAddr("none")) }, linux.ECONNREFUSED},
		{"other type", func(s *Socket) error { return s.Connect(ctx, abstractAddr("dg")) }, linux.EPROTOTYPE},
		{"family only", func(s *Socket) error { return s.Connect(ctx, []byte{AF_UNIX, 0}) }, linux.EINVAL},
		{"short", func(s *Socket) error { return s.Connect(ctx, []byte{AF_UNIX}) }, linux.EINVAL},
		{"bind existing", func(s *Socket) error { return s.Bind(ctx, pathAddr("srv")) }, linux.EADDRINUSE},
		{"bind taken abstract", func(s *Socket) error { return s.Bind(ctx, abstractAddr("dg")) }, linux.EADDRINUSE},
		{"listen unbound", func(s *Socket) error { return s.Listen(ctx, 1) }, linux.EINVAL},
		{"bad family", func(s *Socket) error { return s.Bind(ctx, []byte{2, 0, 1, 2}) }, linux.EINVAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := n.New(SOCK_STREAM, 0, 0)
			require.NoError(t, err)
			defer s.DecRef()
			assert.Equal(t, tc.want, tc.op(s))
		})
	}
	require.NoError(t, listener.Listen(ctx, 1))
	c, _ := n.New(SOCK_STREAM, 0, 0)
	defer c.DecRef()
	require.NoError(t, c.Connect(ctx, pathAddr("srv")))
	peer, err := c.PeerName()
	require.NoError(t, err)
	assert.Equal(t, pathAddr("srv"), peer)
	acc, addr, err := listener.Accept(ctx, 0, true)
	require.NoError(t, err)
	defer acc.DecRef()
	assert.Equal(t, []byte{AF_UNIX, 0}, addr)
}

func TestAutobind(t *testing.T) {
	n := NewNames(DefaultConfig(), newFS())
	ctx := newTask(1000)
	seen := map[string]bool{}
	for range 3 {
		s, _ := n.New(SOCK_DGRAM, 0, 0)
		defer s.DecRef()
		require.NoError(t, s.Bind(ctx, []byte{AF_UNIX, 0}))
		name, _ := s.SockName()
		require.Len(t, name, 8)
		assert.Equal(t, byte(0), name[2])
		assert.False(t, seen[string(name)])
		seen[string(name)] = true
		assert.Equal(t, linux.EINVAL, s.Bind(ctx, []byte{AF_UNIX, 0}), "bound already")
	}
}

func TestRights(t *testing.T) {
	n := NewNames(DefaultConfig(), newFS())
	ctx := newTask(1000)
	a, b, _ := n.Pair(SOCK_DGRAM, 0, 0, ctx.Ucred())
	f := &countedFile{}
	f.refs.Store(1)
	_, err := a.SendMsg(ctx, &socket.Message{Data: [][]byte{[]byte("x")}, Rights: []file.File{f}}, 0)
	require.NoError(t, err)
	_, m, err := recv(ctx, b, 8, MSG_PEEK)
	require.NoError(t, err)
	require.Len(t, m.Rights, 1)
	assert.Equal(t, int32(2), f.refs.Load(), "a peek hands out a new reference")
	m.Rights[0].DecRef()
	// Unread, the message's reference goes with the socket.
	a.DecRef()
	b.DecRef()
	assert.Equal(t, int32(0), f.refs.Load())

	a, b, _ = n.Pair(SOCK_STREAM, 0, 0, ctx.Ucred())
	defer a.DecRef()
	defer b.DecRef()
	many := make([]file.File, ScmMaxFD+1)
	for i := range many {
		g := &countedFile{}
		g.refs.Store(1)
		many[i] = g
	}
	_, err = a.SendMsg(ctx, &socket.Message{Data: [][]byte{[]byte("x")}, Rights: many}, 0)
	assert.Equal(t, linux.EINVAL, err)
	for _, g := range many {
		assert.Equal(t, int32(0), g.(*countedFile).refs.Load(), "a failed send releases the files")
	}
}

// setuidTask is a task whose real ids differ from its effective ones.
type setuidTask struct{ *fakeTask }

func (t setuidTask) RealUcred() file.Ucred { return file.Ucred{Pid: t.cred.Pid, UID: 2000, GID: 200} }

func TestCredentials(t *testing.T) {
	n := NewNames(DefaultConfig(), newFS())
	ctx := setuidTask{newTask(1000)}
	a, b, _ := n.Pair(SOCK_DGRAM, 0, 0, ctx.Ucred())
	defer a.DecRef()
	defer b.DecRef()
	require.NoError(t, b.SetSockOpt(ctx, SOL_SOCKET, SO_PASSCRED, intBytes(1)))
	for _, tc := range []struct {
		name  string
		claim *file.Ucred
		err   error
		want  file.Ucred
	}{
		{"attached by the kernel: real ids", nil, nil, file.Ucred{Pid: 1000, UID: 2000, GID: 200}},
		{"effective ids claimed", &file.Ucred{Pid: 1000, UID: 1000, GID: 100}, nil, file.Ucred{Pid: 1000, UID: 1000, GID: 100}},
		{"real ids claimed", &file.Ucred{Pid: 1000, UID: 2000, GID: 200}, nil, file.Ucred{Pid: 1000, UID: 2000, GID: 200}},
		{"another pid", &file.Ucred{Pid: 1, UID: 1000, GID: 100}, linux.EPERM, file.Ucred{}},
		{"another uid", &file.Ucred{Pid: 1000, UID: 0, GID: 100}, linux.EPERM, file.Ucred{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.SendMsg(ctx, &socket.Message{Data: [][]byte{[]byte("c")}, Creds: tc.claim}, 0)
			require.Equal(t, tc.err, err)
			if err != nil {
				return
			}
			_, m, err := recv(ctx, b, 4, 0)
			require.NoError(t, err)
			require.NotNil(t, m.Creds)
			assert.Equal(t, tc.want, *m.Creds)
		})
	}
}

func TestInterruptedRecv(t *testing.T) {
	n := NewNames(DefaultConfig(), newFS())
	ctx := newTask(1000)
	a, b, _ := n.Pair(SOCK_STREAM, 0, 0, ctx.Ucred())
	defer a.DecRef()
	defer b.DecRef()
	done := make(chan error)
	go func() {
		_, _, err := recv(ctx, b, 8, 0)
		done <- err
	}()
	close(ctx.interrupt)
	assert.Equal(t, file.ErrRestart, <-done)
	ctx2 := newTask(1000)
	require.NoError(t, b.SetSockOpt(ctx2, SOL_SOCKET, SO_RCVTIMEO_NEW, timeval(20*time.Millisecond)))
	_, _, err := recv(ctx2, b, 8, 0)
	assert.Equal(t, linux.EAGAIN, err, "SO_RCVTIMEO expires")
}

// TestConcurrentStreams moves data through many connections at once with
// small buffers, so that writers block and wake; run with -race.
func TestConcurrentStreams(t *testing.T) {
	n := NewNames(DefaultConfig(), newFS())
	ctx := newTask(1000)
	l, _ := n.New(SOCK_STREAM, 0, 0)
	defer l.DecRef()
	require.NoError(t, l.Bind(ctx, abstractAddr("race")))
	require.NoError(t, l.Listen(ctx, 64))
	const conns, size = 8, 200000
	payload := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(2)
		go func() {
			defer wg.Done()
			c, _ := n.New(SOCK_STREAM, 0, 0)
			defer c.DecRef()
			assert.NoError(t, c.SetSockOpt(ctx, SOL_SOCKET, SO_SNDBUF, intBytes(4096)))
			assert.NoError(t, c.Connect(ctx, abstractAddr("race")))
			for off := 0; off < len(payload); {
				k, err := c.SendMsg(ctx, &socket.Message{Data: [][]byte{payload[off:min(off+7000+i, len(payload))]}}, 0)
				if !assert.NoError(t, err) {
					return
				}
				off += k
			}
		}()
		go func() {
			defer wg.Done()
			s, _, err := l.Accept(ctx, 0, false)
			if !assert.NoError(t, err) {
				return
			}
			defer s.DecRef()
			var got []byte
			buf := make([]byte, 3000)
			for {
				k, err := s.RecvMsg(ctx, &socket.Message{Data: [][]byte{buf}}, 0)
				if !assert.NoError(t, err) || k == 0 {
					break
				}
				got = append(got, buf[:k]...)
				_, _ = s.Readiness()
			}
			assert.True(t, bytes.Equal(payload, got), "connection data intact")
		}()
	}
	wg.Wait()
}

// TestConcurrentCloseAndSend closes sockets while others send to them
// and poll them.
func TestConcurrentCloseAndSend(t *testing.T) {
	n := NewNames(DefaultConfig(), newFS())
	ctx := newTask(1000)
	for range 50 {
		srv, _ := n.New(SOCK_DGRAM, 0, 0)
		require.NoError(t, srv.Bind(ctx, abstractAddr("dg")))
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, _ := n.New(SOCK_DGRAM, 0, SOCK_NONBLOCK)
				defer c.DecRef()
				for range 20 {
					_, err := c.SendMsg(ctx, &socket.Message{Data: [][]byte{[]byte("m")}, Addr: abstractAddr("dg")}, 0)
					if err != nil {
						assert.Contains(t, []error{linux.ECONNREFUSED, linux.EAGAIN}, err)
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = srv.Readiness()
			srv.DecRef()
		}()
		wg.Wait()
	}
}
