package inet

import (
	"encoding/binary"
	"net"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/net/socket"
)

// testCtx is a task for the socket calls: host waits are plain polls,
// interrupted when interrupt is set.
type testCtx struct {
	uid       uint32
	sigpipes  int
	interrupt bool
	waits     int
}

func (c *testCtx) Block(ready <-chan struct{}, timeout time.Duration) error { return nil }
func (c *testCtx) SendSIGPIPE()                                             { c.sigpipes++ }
func (c *testCtx) Ucred() file.Ucred                                        { return file.Ucred{Pid: 7, UID: c.uid, GID: c.uid} }
func (c *testCtx) WaitHost(fd int, events int16) error {
	return c.WaitHostTimeout(fd, events, 0)
}

func (c *testCtx) WaitHostTimeout(fd int, events int16, timeout time.Duration) error {
	c.waits++
	if c.interrupt {
		return file.ErrRestart
	}
	ms := -1
	if timeout > 0 {
		ms = int(timeout / time.Millisecond)
	}
	p := struct {
		fd              int32
		events, revents int16
	}{int32(fd), events, 0}
	n, _, _ := syscall.Syscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&p)), 1, uintptr(ms))
	if n == 0 {
		return linux.ETIMEDOUT
	}
	return nil
}

func sockaddrIn(ip [4]byte, port int) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint16(b, AF_INET)
	binary.BigEndian.PutUint16(b[2:], uint16(port))
	copy(b[4:], ip[:])
	return b
}

var loopback = [4]byte{127, 0, 0, 1}

func portOf(t *testing.T, s *Socket) int {
	a, err := s.SockName()
	require.NoError(t, err)
	return int(binary.BigEndian.Uint16(a[2:]))
}

func newSock(t *testing.T, ctx file.Context, typ int) *Socket {
	s, err := New(ctx, AF_INET, typ, 0)
	require.NoError(t, err)
	t.Cleanup(s.DecRef)
	return s
}

// listener is a TCP socket listening on a loopback port the host chose.
func listener(t *testing.T, ctx file.Context) (*Socket, int) {
	l := newSock(t, ctx, SOCK_STREAM)
	require.NoError(t, l.Bind(ctx, sockaddrIn(loopback, 0)))
	require.NoError(t, l.Listen(ctx, 8))
	return l, portOf(t, l)
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	ctx := &testCtx{}
	s, err := New(ctx, AF_INET, SOCK_STREAM, 0)
	require.NoError(t, err)
	require.NoError(t, s.Bind(ctx, sockaddrIn(loopback, 0)))
	p := portOf(t, s)
	s.DecRef()
	return p
}

func TestNew(t *testing.T) {
	tests := []struct {
		name                  string
		uid                   uint32
		family, typ, protocol int
		want                  error
	}{
		{"tcp", 0, AF_INET, SOCK_STREAM, 0, nil},
		{"udp6", 0, AF_INET6, SOCK_DGRAM, 0, nil},
		{"tcp explicit", 0, AF_INET, SOCK_STREAM, syscall.IPPROTO_TCP, nil},
		{"stream with udp", 0, AF_INET, SOCK_STREAM, syscall.IPPROTO_UDP, linux.EPROTONOSUPPORT},
		{"seqpacket", 0, AF_INET, 5, 0, linux.ESOCKTNOSUPPORT},
		{"type out of range", 0, AF_INET, 12, 0, linux.EINVAL},
		{"raw unprivileged", 1000, AF_INET, SOCK_RAW, syscall.IPPROTO_ICMP, linux.EPERM},
		{"unix is not inet", 0, 1, SOCK_STREAM, 0, linux.EAFNOSUPPORT},
		{"nonblock flag", 0, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0, nil},
		{"bad flag", 0, AF_INET, SOCK_STREAM | 0x100, 0, linux.EINVAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(&testCtx{uid: tt.uid}, tt.family, tt.typ, tt.protocol)
			if tt.want != nil {
				assert.Equal(t, tt.want, err)
				return
			}
			require.NoError(t, err)
			defer s.DecRef()
			assert.Equal(t, tt.typ&SOCK_TYPE_MASK, s.Type())
			assert.NotZero(t, s.Protocol())
			st, _ := s.Status()
			assert.Equal(t, tt.typ&SOCK_NONBLOCK != 0, st&linux.O_NONBLOCK != 0)
			hostFl, _, _ := syscall.Syscall(syscall.SYS_FCNTL, uintptr(s.HostFD()), syscall.F_GETFL, 0)
			assert.NotZero(t, hostFl&syscall.O_NONBLOCK, "the host socket is always non-blocking")
		})
	}
}

func TestTCPEcho(t *testing.T) {
	ctx := &testCtx{}
	l, port := listener(t, ctx)
	c := newSock(t, ctx, SOCK_STREAM)
	require.NoError(t, c.Connect(ctx, sockaddrIn(loopback, port)))
	assert.Equal(t, linux.EISCONN, c.Connect(ctx, sockaddrIn(loopback, port)))

	a, peer, err := l.Accept(ctx, 0, true)
	require.NoError(t, err)
	defer a.DecRef()
	cname, _ := c.SockName()
	assert.Equal(t, cname, peer)

	msg := []byte("hello over loopback")
	n, err := c.Write(ctx, [][]byte{msg[:5], msg[5:]}, -1)
	require.NoError(t, err)
	assert.Equal(t, len(msg), n)
	got := make([]byte, len(msg))
	m := &socket.Message{Data: [][]byte{got}}
	n, err = a.RecvMsg(ctx, m, MSG_WAITALL)
	require.NoError(t, err)
	assert.Equal(t, msg, got[:n])
	assert.Nil(t, m.Addr, "a stream socket reports no source")

	require.NoError(t, c.Shutdown(ctx, syscall.SHUT_WR))
	n, err = a.Read(ctx, [][]byte{got}, -1)
	assert.NoError(t, err)
	assert.Zero(t, n, "end of file after the peer's shutdown")
}

func TestTCPErrors(t *testing.T) {
	ctx := &testCtx{}
	closed := closedPort(t)

	c := newSock(t, ctx, SOCK_STREAM)
	assert.Equal(t, linux.ECONNREFUSED, c.Connect(ctx, sockaddrIn(loopback, closed)))

	u := newSock(t, ctx, SOCK_STREAM)
	_, err := u.Read(ctx, [][]byte{make([]byte, 4)}, -1)
	assert.Equal(t, linux.ENOTCONN, err)
	_, err = u.PeerName()
	assert.Equal(t, linux.ENOTCONN, err)
	_, err = u.Write(ctx, [][]byte{[]byte("x")}, -1)
	assert.Equal(t, linux.EPIPE, err)
	assert.Equal(t, 1, ctx.sigpipes, "EPIPE raises SIGPIPE")
	_, err = u.SendMsg(ctx, &socket.Message{Data: [][]byte{[]byte("x")}}, MSG_NOSIGNAL)
	assert.Equal(t, linux.EPIPE, err)
	assert.Equal(t, 1, ctx.sigpipes, "not with MSG_NOSIGNAL")
	_, _, err = u.Accept(ctx, 0, false)
	assert.Equal(t, linux.EINVAL, err, "accept on a socket that does not listen")

	_, port := listener(t, ctx)
	b := newSock(t, ctx, SOCK_STREAM)
	assert.Equal(t, linux.EADDRINUSE, b.Bind(ctx, sockaddrIn(loopback, port)))
	assert.Equal(t, linux.EINVAL, b.Bind(ctx, sockaddrIn(loopback, 0)[:8]))
	assert.Equal(t, linux.EACCES, b.Bind(&testCtx{uid: 1000}, sockaddrIn(loopback, 80)))
}

func TestNonblockingConnect(t *testing.T) {
	ctx := &testCtx{}
	for _, tt := range []struct {
		name    string
		port    func() int
		soError linux.Errno
	}{
		{"refused", func() int { return closedPort(t) }, linux.ECONNREFUSED},
		{"accepted", func() int { _, p := listener(t, ctx); return p }, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newSock(t, ctx, SOCK_STREAM|SOCK_NONBLOCK)
			err := c.Connect(ctx, sockaddrIn(loopback, tt.port()))
			if err != nil {
				assert.Equal(t, linux.EINPROGRESS, err)
				require.NoError(t, ctx.WaitHost(c.HostFD(), file.PollOut))
			}
			v, err := c.GetSockOpt(ctx, solSocket, soError, 4)
			require.NoError(t, err)
			assert.Equal(t, uint32(tt.soError), binary.LittleEndian.Uint32(v))
		})
	}
}

func TestUDPRoundTrip(t *testing.T) {
	ctx := &testCtx{}
	srv := newSock(t, ctx, SOCK_DGRAM)
	require.NoError(t, srv.Bind(ctx, sockaddrIn(loopback, 0)))
	cli := newSock(t, ctx, SOCK_DGRAM)
	n, err := cli.SendMsg(ctx, &socket.Message{Data: [][]byte{[]byte("ping!")}, Addr: sockaddrIn(loopback, portOf(t, srv))}, 0)
	require.NoError(t, err)
	assert.Equal(t, 5, n)

	buf := make([]byte, 3)
	m := &socket.Message{Data: [][]byte{buf}}
	n, err = srv.RecvMsg(ctx, m, MSG_TRUNC)
	require.NoError(t, err)
	assert.Equal(t, 5, n, "MSG_TRUNC returns the datagram's length")
	assert.Equal(t, "pin", string(buf))
	assert.NotZero(t, m.Flags&MSG_TRUNC)
	assert.Equal(t, sockaddrIn(loopback, portOf(t, cli)), m.Addr)

	_, err = srv.RecvMsg(ctx, &socket.Message{Data: [][]byte{buf}}, MSG_DONTWAIT)
	assert.Equal(t, linux.EAGAIN, err)
}

func TestBlockingWaits(t *testing.T) {
	ctx := &testCtx{}
	s := newSock(t, ctx, SOCK_DGRAM)
	require.NoError(t, s.Bind(ctx, sockaddrIn(loopback, 0)))

	tv := make([]byte, 16)
	binary.LittleEndian.PutUint64(tv[8:], 50000) // 50 ms
	require.NoError(t, s.SetSockOpt(ctx, solSocket, soRcvTimeoOld, tv))
	start := time.Now()
	_, err := s.Read(ctx, [][]byte{make([]byte, 4)}, -1)
	assert.Equal(t, linux.EAGAIN, err, "SO_RCVTIMEO ends the wait")
	assert.GreaterOrEqual(t, time.Since(start), 45*time.Millisecond)

	ictx := &testCtx{interrupt: true}
	_, err = s.Read(ictx, [][]byte{make([]byte, 4)}, -1)
	assert.Equal(t, linux.EINTR, err, "interrupted with a timeout: EINTR")
	require.NoError(t, s.SetSockOpt(ctx, solSocket, soRcvTimeoOld, make([]byte, 16)))
	_, err = s.Read(ictx, [][]byte{make([]byte, 4)}, -1)
	assert.Equal(t, file.ErrRestart, err, "without one: restart")

	require.NoError(t, s.SetStatus(linux.O_NONBLOCK))
	ictx.waits = 0
	_, err = s.Read(ictx, [][]byte{make([]byte, 4)}, -1)
	assert.Equal(t, linux.EAGAIN, err)
	assert.Zero(t, ictx.waits, "O_NONBLOCK never waits")
}

func TestSockOpts(t *testing.T) {
	ctx := &testCtx{}
	s := newSock(t, ctx, SOCK_STREAM)
	one := []byte{1, 0, 0, 0}
	tests := []struct {
		level, name int
		set         []byte
		setErr      error
		getErr      error
	}{
		{solSocket, soReuseAddr, one, nil, nil},
		{solSocket, soKeepAlive, one, nil, nil},
		{solTCP, 1, one, nil, nil}, // TCP_NODELAY
		{solSocket, soType, one, linux.ENOPROTOOPT, nil},
		{solSocket, 16, one, linux.ENOPROTOOPT, linux.ENOPROTOOPT},              // SO_PASSCRED
		{solSocket, 25, []byte("lo\x00"), linux.ENOPROTOOPT, linux.ENOPROTOOPT}, // SO_BINDTODEVICE
		{solIP, 8, one, linux.ENOPROTOOPT, linux.ENOPROTOOPT},                   // IP_PKTINFO
		{solTCP, 13, []byte("reno"), linux.ENOPROTOOPT, nil},                    // TCP_CONGESTION
	}
	for _, tt := range tests {
		assert.Equal(t, tt.setErr, s.SetSockOpt(ctx, tt.level, tt.name, tt.set), "set %d/%d", tt.level, tt.name)
		_, err := s.GetSockOpt(ctx, tt.level, tt.name, 4)
		assert.Equal(t, tt.getErr, err, "get %d/%d", tt.level, tt.name)
	}
	v, err := s.GetSockOpt(ctx, solSocket, soType, 4)
	require.NoError(t, err)
	assert.Equal(t, uint32(SOCK_STREAM), binary.LittleEndian.Uint32(v))
	v, err = s.GetSockOpt(ctx, solSocket, soType, 2)
	require.NoError(t, err)
	assert.Len(t, v, 2, "truncated to the guest's length")
}

func TestReadinessAndIoctl(t *testing.T) {
	ctx := &testCtx{}
	l, port := listener(t, ctx)
	ev, ch := l.Readiness()
	assert.Nil(t, ch)
	assert.Zero(t, ev&file.PollIn)
	c := newSock(t, ctx, SOCK_STREAM)
	require.NoError(t, c.Connect(ctx, sockaddrIn(loopback, port)))
	require.NoError(t, ctx.WaitHost(l.HostFD(), file.PollIn))
	ev, _ = l.Readiness()
	assert.NotZero(t, ev&file.PollIn, "a pending connection makes a listener readable")

	a, _, err := l.Accept(ctx, SOCK_NONBLOCK, false)
	require.NoError(t, err)
	defer a.DecRef()
	_, err = c.Write(ctx, [][]byte{[]byte("12345")}, -1)
	require.NoError(t, err)
	require.NoError(t, ctx.WaitHost(a.(*Socket).HostFD(), file.PollIn))
	out, err := a.Ioctl(ctx, FIONREAD, make([]byte, 4))
	require.NoError(t, err)
	assert.Equal(t, uint32(5), binary.LittleEndian.Uint32(out))
	_, err = a.Ioctl(ctx, 0x5401, nil) // TCGETS
	assert.Equal(t, linux.ENOTTY, err)
}

func ifreq(name string) []byte {
	b := make([]byte, IfReqCore)
	copy(b, name)
	return b
}

func TestDeviceIoctl(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	require.NoError(t, err)

	out, err := DeviceIoctl(SIOCGIFINDEX, ifreq("lo"))
	require.NoError(t, err)
	assert.Equal(t, uint32(lo.Index), binary.LittleEndian.Uint32(out[16:]))

	out, err = DeviceIoctl(SIOCGIFFLAGS, ifreq("lo"))
	require.NoError(t, err)
	flags := binary.LittleEndian.Uint16(out[16:])
	assert.Equal(t, uint16(syscall.IFF_UP|syscall.IFF_LOOPBACK), flags&(syscall.IFF_UP|syscall.IFF_LOOPBACK))

	out, err = DeviceIoctl(SIOCGIFADDR, ifreq("lo"))
	require.NoError(t, err)
	assert.Equal(t, sockaddrIn(loopback, 0), out[16:32])

	req := make([]byte, IfReqCore)
	binary.LittleEndian.PutUint32(req[16:], uint32(lo.Index))
	out, err = DeviceIoctl(SIOCGIFNAME, req)
	require.NoError(t, err)
	assert.Equal(t, "lo\x00", string(out[:3]))

	_, err = DeviceIoctl(SIOCGIFFLAGS, ifreq("nosuchif0"))
	assert.Equal(t, linux.ENODEV, err)
	long := ifreq("lo")
	for i := range IfNameSize {
		long[i] = 'x'
	}
	_, err = DeviceIoctl(SIOCGIFFLAGS, long)
	assert.Equal(t, linux.ENODEV, err, "an unterminated name is cut at 15 bytes")
	_, err = DeviceIoctl(0x8914, ifreq("lo")) // SIOCSIFFLAGS
	assert.Equal(t, linux.ENOTTY, err, "nothing is set on the host")

	all, err := InterfaceConf(-1)
	require.NoError(t, err)
	found := false
	for _, e := range all {
		if string(e[:3]) == "lo\x00" {
			found = true
			assert.Equal(t, sockaddrIn(loopback, 0), e[16:])
		}
	}
	assert.True(t, found, "SIOCGIFCONF lists lo")
	one, err := InterfaceConf(1)
	require.NoError(t, err)
	assert.Len(t, one, 1)
}
