package netlink

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/net/socket"
)

// testCtx is a task of pid 4242; Block answers block.
type testCtx struct {
	uid   uint32
	block error
}

func (c *testCtx) Block(ready <-chan struct{}, timeout time.Duration) error {
	if c.block != nil {
		return c.block
	}
	select {
	case <-ready:
		return nil
	case <-time.After(timeout):
		return linux.ETIMEDOUT
	}
}
func (c *testCtx) WaitHost(fd int, events int16) error { return nil }
func (c *testCtx) SendSIGPIPE()                        {}
func (c *testCtx) Ucred() file.Ucred                   { return file.Ucred{Pid: 4242, UID: c.uid, GID: c.uid} }

// fakeDump answers every dump with n messages of size bytes and DONE.
func fakeDump(n, size int) Dumper {
	return func(typ uint16, family uint8) ([][]byte, error) {
		var msgs [][]byte
		for i := range n {
			m := make([]byte, size)
			Header{Len: uint32(size), Type: typ - 2, Flags: NLM_F_MULTI, Seq: 1, Pid: 99}.put(m)
			m[nlmsgHdrLen] = byte(i)
			msgs = append(msgs, m)
		}
		done := make([]byte, 20)
		Header{Len: 20, Type: NLMSG_DONE, Flags: NLM_F_MULTI, Seq: 1, Pid: 99}.put(done)
		return append(msgs, done), nil
	}
}

func newSock(t *testing.T, p *Ports, ctx file.Context) *Socket {
	s, err := p.New(ctx, sockRaw, NETLINK_ROUTE)
	require.NoError(t, err)
	t.Cleanup(s.DecRef)
	return s
}

// request lays out one request of type typ with flags, seq and body.
func request(typ, flags uint16, seq uint32, body []byte) []byte {
	b := make([]byte, nlmsgHdrLen+len(body))
	Header{Len: uint32(len(b)), Type: typ, Flags: flags, Seq: seq}.put(b)
	copy(b[nlmsgHdrLen:], body)
	return b
}

// recv reads one datagram with a buffer of size bytes.
func recv(t *testing.T, s *Socket, ctx file.Context, size, flags int) ([]byte, *socket.Message, int) {
	buf := make([]byte, size)
	m := &socket.Message{Data: [][]byte{buf}}
	n, err := s.RecvMsg(ctx, m, flags)
	require.NoError(t, err)
	return buf[:min(n, size)], m, n
}

func TestNew(t *testing.T) {
	p := NewPorts(fakeDump(0, 0))
	tests := []struct {
		name          string
		typ, protocol int
		want          error
	}{
		{"raw route", sockRaw, NETLINK_ROUTE, nil},
		{"dgram route nonblock", sockDgram | linux.O_NONBLOCK, NETLINK_ROUTE, nil},
		{"generic", sockRaw, 16, linux.EPROTONOSUPPORT},
		{"audit", sockRaw, 9, linux.EPROTONOSUPPORT},
		{"out of range", sockRaw, 40, linux.EPROTONOSUPPORT},
		{"stream", 1, NETLINK_ROUTE, linux.ESOCKTNOSUPPORT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := p.New(&testCtx{}, tt.typ, tt.protocol)
			assert.Equal(t, tt.want, err)
			if err == nil {
				s.DecRef()
			}
		})
	}
}

func TestBind(t *testing.T) {
	p := NewPorts(fakeDump(0, 0))
	ctx := &testCtx{}
	a := newSock(t, p, ctx)
	name, _ := a.SockName()
	assert.Equal(t, encodeAddr(0, 0), name, "unbound: port id 0")
	require.NoError(t, a.Bind(ctx, encodeAddr(0, 0)))
	name, _ = a.SockName()
	assert.Equal(t, encodeAddr(4242, 0), name, "autobind takes the process id")
	assert.Equal(t, linux.EINVAL, a.Bind(ctx, encodeAddr(7, 0)), "bound to another id")
	require.NoError(t, a.Bind(ctx, encodeAddr(4242, 1)))
	name, _ = a.SockName()
	assert.Equal(t, encodeAddr(4242, 1), name, "groups are recorded")

	b := newSock(t, p, ctx)
	require.NoError(t, b.Bind(ctx, encodeAddr(0, 0)))
	name, _ = b.SockName()
	assert.Equal(t, encodeAddr(uint32(0xfffff000), 0), name, "then -4096, -4097, ...")

	c := newSock(t, p, ctx)
	assert.Equal(t, linux.EADDRINUSE, c.Bind(ctx, encodeAddr(4242, 0)))
	assert.Equal(t, linux.EINVAL, c.Bind(ctx, encodeAddr(0, 0)[:8]))
	bad := encodeAddr(0, 0)
	bad[0] = 2
	assert.Equal(t, linux.EINVAL, c.Bind(ctx, bad))
	a.DecRef()
	require.NoError(t, c.Bind(ctx, encodeAddr(4242, 0)), "a closed socket's id is free again")
	a.IncRef() // for Cleanup

	peer, _ := c.PeerName()
	assert.Equal(t, encodeAddr(0, 0), peer, "the peer is the kernel")
	assert.Equal(t, linux.EPERM, c.Connect(&testCtx{uid: 1000}, encodeAddr(5, 0)))
}

func TestDumpDatagrams(t *testing.T) {
	p := NewPorts(fakeDump(5, 1000))
	ctx := &testCtx{}
	s := newSock(t, p, ctx)
	req := request(RTM_GETLINK, NLM_F_REQUEST|NLM_F_DUMP|NLM_F_ACK, 77, []byte{17, 0, 0, 0})
	n, err := s.SendMsg(ctx, &socket.Message{Data: [][]byte{req}}, 0)
	require.NoError(t, err)
	assert.Equal(t, len(req), n)

	// The first datagram is cut at NLMSG_GOODSIZE: three of the messages.
	d, m, n := recv(t, s, ctx, 8192, 0)
	assert.Equal(t, 3000, n)
	assert.Equal(t, encodeAddr(0, 0), m.Addr, "from the kernel")
	msgs := splitMessages(d)
	require.Len(t, msgs, 3)
	for i, msg := range msgs {
		h := parseHeader(msg)
		assert.Equal(t, uint32(77), h.Seq, "the guest's sequence number")
		assert.Equal(t, uint32(4242), h.Pid, "the guest's port id")
		assert.Equal(t, byte(i), msg[nlmsgHdrLen])
	}
	// The larger receive buffer lets the next take the rest; then DONE
	// alone, and no acknowledgement of a dump.
	_, _, n = recv(t, s, ctx, 8192, 0)
	assert.Equal(t, 2000, n)
	d, _, _ = recv(t, s, ctx, 8192, 0)
	require.Len(t, splitMessages(d), 1)
	assert.Equal(t, uint16(NLMSG_DONE), parseHeader(d).Type)
	_, err = s.RecvMsg(ctx, &socket.Message{Data: [][]byte{make([]byte, 10)}}, inetMsgDontwait)
	assert.Equal(t, linux.EAGAIN, err)
}

const inetMsgDontwait = 0x40

func TestTruncationAndPeek(t *testing.T) {
	p := NewPorts(fakeDump(1, 100))
	ctx := &testCtx{}
	s := newSock(t, p, ctx)
	_, err := s.Write(ctx, [][]byte{request(RTM_GETADDR, NLM_F_REQUEST|NLM_F_DUMP, 1, []byte{0})}, -1)
	require.NoError(t, err)
	_, _, n := recv(t, s, ctx, 10, 0x2|0x20) // MSG_PEEK|MSG_TRUNC
	assert.Equal(t, 100, n, "MSG_TRUNC: the datagram's length")
	d, m, n := recv(t, s, ctx, 10, 0)
	assert.Equal(t, 10, n)
	assert.Len(t, d, 10)
	assert.Equal(t, 0x20, m.Flags, "MSG_TRUNC reported")
	d, _, _ = recv(t, s, ctx, 100, 0)
	assert.Equal(t, uint16(NLMSG_DONE), parseHeader(d).Type, "the rest of the cut datagram is gone")
}

func TestErrorsAndAcks(t *testing.T) {
	p := NewPorts(fakeDump(1, 100))
	ctx := &testCtx{}
	s := newSock(t, p, ctx)
	tests := []struct {
		name  string
		req   []byte
		errno linux.Errno
		none  bool // no answer
	}{
		{"neighbour dump", request(30, NLM_F_REQUEST|NLM_F_DUMP, 5, []byte{0}), linux.EOPNOTSUPP, false},
		{"new link", request(16, NLM_F_REQUEST|NLM_F_ACK, 6, make([]byte, 16)), linux.EPERM, false},
		{"beyond RTM_MAX", request(200, NLM_F_REQUEST, 7, []byte{0}), linux.EOPNOTSUPP, false},
		{"not a request, ack", request(RTM_GETLINK, NLM_F_ACK, 8, []byte{0}), 0, false},
		{"not a request", request(RTM_GETLINK, 0, 9, []byte{0}), 0, true},
		{"no family", request(RTM_GETLINK, NLM_F_REQUEST|NLM_F_DUMP, 10, nil), 0, true},
		{"short ifinfomsg", request(RTM_GETLINK, NLM_F_REQUEST, 11, []byte{0}), linux.EINVAL, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SendMsg(ctx, &socket.Message{Data: [][]byte{tt.req}}, 0)
			require.NoError(t, err)
			if tt.none {
				_, err := s.RecvMsg(ctx, &socket.Message{Data: [][]byte{make([]byte, 10)}}, inetMsgDontwait)
				assert.Equal(t, linux.EAGAIN, err)
				return
			}
			d, _, _ := recv(t, s, ctx, 4096, 0)
			h := parseHeader(d)
			assert.Equal(t, uint16(NLMSG_ERROR), h.Type)
			assert.Equal(t, parseHeader(tt.req).Seq, h.Seq)
			assert.Equal(t, -int32(tt.errno), int32(binary.LittleEndian.Uint32(d[nlmsgHdrLen:])))
			echo := d[nlmsgHdrLen+4 : h.Len]
			if tt.errno != 0 {
				assert.Equal(t, tt.req, echo, "an error carries the request")
				assert.Zero(t, h.Flags)
			} else {
				assert.Equal(t, tt.req[:nlmsgHdrLen], echo, "an ack only its header")
				assert.Equal(t, uint16(NLM_F_CAPPED), h.Flags)
			}
		})
	}
}

func TestBusyAndBlocking(t *testing.T) {
	p := NewPorts(fakeDump(1, 100))
	s := newSock(t, p, &testCtx{})
	_, err := s.RecvMsg(&testCtx{block: file.ErrRestart}, &socket.Message{Data: [][]byte{make([]byte, 10)}}, 0)
	assert.Equal(t, file.ErrRestart, err, "an empty queue blocks, interruptibly")

	tv := make([]byte, 16)
	binary.LittleEndian.PutUint64(tv[8:], 20000)
	require.NoError(t, s.SetSockOpt(&testCtx{}, solSocket, soRcvTimeoOld, tv))
	_, err = s.RecvMsg(&testCtx{}, &socket.Message{Data: [][]byte{make([]byte, 10)}}, 0)
	assert.Equal(t, linux.EAGAIN, err, "SO_RCVTIMEO")

	dump := request(RTM_GETLINK, NLM_F_REQUEST|NLM_F_DUMP, 1, []byte{0})
	_, err = s.Write(&testCtx{}, [][]byte{dump}, -1)
	require.NoError(t, err)
	_, err = s.Write(&testCtx{}, [][]byte{dump}, -1)
	require.NoError(t, err)
	recv(t, s, &testCtx{}, 4096, 0) // the link
	d, _, _ := recv(t, s, &testCtx{}, 4096, 0)
	assert.Equal(t, uint16(NLMSG_ERROR), parseHeader(d).Type, "the second dump, while the first runs")
	assert.Equal(t, -int32(linux.EBUSY), int32(binary.LittleEndian.Uint32(d[nlmsgHdrLen:])))
	d, _, _ = recv(t, s, &testCtx{}, 4096, 0)
	assert.Equal(t, uint16(NLMSG_DONE), parseHeader(d).Type, "the first's end, made after the error was queued")
}

func TestHostLinks(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	require.NoError(t, err)
	p := NewPorts(nil)
	ctx := &testCtx{}
	s := newSock(t, p, ctx)

	body := make([]byte, ifinfomsgSize)
	binary.LittleEndian.PutUint32(body[4:], uint32(lo.Index))
	_, err = s.Write(ctx, [][]byte{request(RTM_GETLINK, NLM_F_REQUEST, 3, body)}, -1)
	require.NoError(t, err)
	d, _, _ := recv(t, s, ctx, 32768, 0)
	h := parseHeader(d)
	require.Equal(t, uint16(RTM_GETLINK-2), h.Type)
	name, ok := attr(d[nlmsgHdrLen+ifinfomsgSize:h.Len], iflaIfname)
	require.True(t, ok)
	assert.Equal(t, "lo", cstring(name))

	named := append(append([]byte(nil), make([]byte, ifinfomsgSize)...), 8, 0, iflaIfname, 0, 'l', 'o', 0, 0)
	_, err = s.Write(ctx, [][]byte{request(RTM_GETLINK, NLM_F_REQUEST, 4, named)}, -1)
	require.NoError(t, err)
	d, _, _ = recv(t, s, ctx, 32768, 0)
	assert.Equal(t, uint32(lo.Index), binary.LittleEndian.Uint32(d[ifinfoIndexOff:]))

	binary.LittleEndian.PutUint32(body[4:], 1<<30)
	_, err = s.Write(ctx, [][]byte{request(RTM_GETLINK, NLM_F_REQUEST, 5, body)}, -1)
	require.NoError(t, err)
	d, _, _ = recv(t, s, ctx, 32768, 0)
	assert.Equal(t, -int32(linux.ENODEV), int32(binary.LittleEndian.Uint32(d[nlmsgHdrLen:])))

	// The dump lists every interface of the host, then DONE.
	_, err = s.Write(ctx, [][]byte{request(RTM_GETLINK, NLM_F_REQUEST|NLM_F_DUMP, 6, []byte{17})}, -1)
	require.NoError(t, err)
	ifs, _ := net.Interfaces()
	links := 0
	for {
		d, _, _ := recv(t, s, ctx, 32768, 0)
		msgs := splitMessages(d)
		if parseHeader(msgs[0]).Type == NLMSG_DONE {
			break
		}
		links += len(msgs)
	}
	assert.Equal(t, len(ifs), links)
}
