package netlink

import (
	"encoding/binary"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/net/inet"
	"github.com/cmaemu/cmaemu/net/socket"
)

// Buffer sizes: NLMSG_GOODSIZE (SKB_WITH_OVERHEAD(PAGE_SIZE)), the first
// size of a dump's datagrams, and the cap of the receive lengths that
// enlarge later ones (SKB_WITH_OVERHEAD(32768)).
const (
	goodSize   = 4096 - 320
	maxDumpLen = 32768 - 320
	defaultBuf = 212992 // net.core.rmem_default and wmem_default
)

// datagram is a message waiting in a socket's receive queue.
type datagram struct {
	data  []byte
	from  uint32     // the sender's port id (0: the kernel)
	group uint32     // the multicast group it was sent to (0: none)
	creds file.Ucred // the sender's, for SCM_CREDENTIALS
}

// Socket is a NETLINK_ROUTE socket.
type Socket struct {
	ports         *Ports
	typ, protocol int
	owner         file.Ucred
	ino           uint64
	refs          atomic.Int32

	file.StatusFlags // O_RDWR and O_NONBLOCK

	mu         sync.Mutex // protects everything below; taken after Ports.mu
	bound      bool
	portid     uint32
	groups     uint32 // subscribed groups 1..32 as a mask
	dstPortid  uint32
	dstGroup   uint32 // a group number, 0: none
	queue      []datagram
	queued     int      // bytes in queue
	dump       [][]byte // messages of the dump in progress not yet queued
	maxRecvLen int      // the largest receive length so far, capped
	sockErr    linux.Errno
	changed    chan struct{} // closed when the queue or sockErr changes
	rcvbuf     int
	sndbuf     int
	rcvTimeo   timeval
	sndTimeo   timeval
	passcred   bool
	flags      map[int]bool // the boolean SOL_NETLINK options
}

var _ socket.Socket = (*Socket)(nil)

// notifyLocked wakes the waiters of s.changed.
// Preconditions: s.mu held.
func (s *Socket) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Family implements socket.Socket.
func (s *Socket) Family() int { return AF_NETLINK }

// Type implements socket.Socket.
func (s *Socket) Type() int { return s.typ }

// Protocol implements socket.Socket.
func (s *Socket) Protocol() int { return s.protocol }

// IncRef implements file.File.
func (s *Socket) IncRef() { s.refs.Add(1) }

// DecRef implements file.File: the last reference frees the port id.
func (s *Socket) DecRef() {
	if s.refs.Add(-1) == 0 {
		s.ports.release(s)
	}
}

// Name implements file.File.
func (s *Socket) Name() string { return "socket:[" + strconv.FormatUint(s.ino, 10) + "]" }

// Stat implements file.File: a socket inode owned by its creator.
func (s *Socket) Stat() ([file.StatSize]byte, error) {
	return file.EncodeStat(vfs.Attr{Ino: s.ino, Nlink: 1, Mode: vfs.ModeSocket | 0o777, UID: s.owner.UID,
		GID: s.owner.GID, Blksize: 4096}), nil
}

// Readiness implements file.File.
func (s *Socket) Readiness() (uint32, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := uint32(file.PollOut | file.PollWrNorm)
	if len(s.queue) > 0 {
		ev |= file.PollIn | file.PollRdNorm
	}
	if s.sockErr != 0 {
		ev |= file.PollErr
	}
	return ev, s.changed
}

// Read implements file.File.
func (s *Socket) Read(ctx file.Context, bufs [][]byte, off int64) (int, error) {
	return socket.Read(s, ctx, bufs, off)
}

// Write implements file.File.
func (s *Socket) Write(ctx file.Context, bufs [][]byte, off int64) (int, error) {
	return socket.Write(s, ctx, bufs, off)
}

// encodeAddr lays out struct sockaddr_nl.
func encodeAddr(pid, groups uint32) []byte {
	b := make([]byte, sockaddrNLSize)
	binary.LittleEndian.PutUint16(b, AF_NETLINK)
	binary.LittleEndian.PutUint32(b[4:], pid)
	binary.LittleEndian.PutUint32(b[8:], groups)
	return b
}

// groupMask is netlink_group_mask: group n as a bit (0: none).
func groupMask(group uint32) uint32 {
	if group == 0 || group > 32 {
		return 0
	}
	return 1 << (group - 1)
}

// ffs is the number of the lowest set bit (1-based; 0: none).
func ffs(v uint32) uint32 {
	for i := uint32(0); i < 32; i++ {
		if v&(1<<i) != 0 {
			return i + 1
		}
	}
	return 0
}

// decodeAddr checks a guest's sockaddr_nl and returns pid and groups.
func decodeAddr(addr []byte) (pid, groups uint32, err error) {
	if len(addr) < sockaddrNLSize || binary.LittleEndian.Uint16(addr) != AF_NETLINK {
		return 0, 0, linux.EINVAL
	}
	return binary.LittleEndian.Uint32(addr[4:]), binary.LittleEndian.Uint32(addr[8:]), nil
}

// Bind implements socket.Socket: nl_pid 0 picks a port id (the process
// id if free); a bound socket can only be bound to its own id again.
// Groups are recorded; no events are ever sent to them.
func (s *Socket) Bind(ctx file.Context, addr []byte) error {
	pid, groups, err := decodeAddr(addr)
	if err != nil {
		return err
	}
	s.mu.Lock()
	bound, portid := s.bound, s.portid
	s.mu.Unlock()
	if bound && pid != portid {
		return linux.EINVAL
	}
	if !bound {
		if pid == 0 {
			s.ports.autobind(s, ctx.Ucred().Pid)
		} else {
			s.ports.mu.Lock()
			s.mu.Lock()
			if !s.bound {
				err = s.ports.insertLocked(s, pid)
			}
			s.mu.Unlock()
			s.ports.mu.Unlock()
			if err != nil {
				return err
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = groups
	return nil
}

// Listen implements socket.Socket: netlink sockets do not listen.
func (s *Socket) Listen(ctx file.Context, backlog int) error { return linux.EOPNOTSUPP }

// Accept implements socket.Socket.
func (s *Socket) Accept(ctx file.Context, flags int, peer bool) (socket.Socket, []byte, error) {
	return nil, nil, linux.EOPNOTSUPP
}

// Shutdown implements socket.Socket.
func (s *Socket) Shutdown(ctx file.Context, how int) error { return linux.EOPNOTSUPP }

// Connect implements socket.Socket: it sets the default destination
// (AF_UNSPEC clears it); a destination other than the kernel needs
// CAP_NET_ADMIN.
func (s *Socket) Connect(ctx file.Context, addr []byte) error {
	if len(addr) < 2 {
		return linux.EINVAL
	}
	if binary.LittleEndian.Uint16(addr) == 0 {
		s.mu.Lock()
		s.dstPortid, s.dstGroup = 0, 0
		s.mu.Unlock()
		return nil
	}
	pid, groups, err := decodeAddr(addr)
	if err != nil {
		return err
	}
	if (pid != 0 || groups != 0) && !capableAdmin(ctx) {
		return linux.EPERM
	}
	s.ports.autobind(s, ctx.Ucred().Pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dstPortid, s.dstGroup = pid, ffs(groups)
	return nil
}

// capableAdmin reports CAP_NET_ADMIN.
func capableAdmin(ctx file.Context) bool {
	if c, ok := ctx.(inet.Capable); ok {
		return c.Capable(inet.CAP_NET_ADMIN)
	}
	return ctx.Ucred().UID == 0
}

// SockName implements socket.Socket: the port id (0 before binding) and
// the first 32 groups.
func (s *Socket) SockName() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return encodeAddr(s.portid, s.groups), nil
}

// PeerName implements socket.Socket: the default destination (the kernel
// unless connected elsewhere); never ENOTCONN.
func (s *Socket) PeerName() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return encodeAddr(s.dstPortid, groupMask(s.dstGroup)), nil
}

// Ioctl implements socket.Socket: netlink has no ioctls of its own (the
// interface ioctls are every socket's).
func (s *Socket) Ioctl(ctx file.Context, cmd uint32, arg []byte) ([]byte, error) {
	return nil, linux.ENOTTY
}

// SendMsg implements socket.Socket: a message to the kernel is a
// request (requests.go); one to another socket's port id (which needs
// CAP_NET_ADMIN) is queued there; one to a group reaches nobody.
func (s *Socket) SendMsg(ctx file.Context, m *socket.Message, flags int) (int, error) {
	for _, f := range m.Rights {
		f.DecRef()
	}
	if flags&inet.MSG_OOB != 0 {
		return 0, linux.EOPNOTSUPP
	}
	var dstPid, dstGroup uint32
	if len(m.Addr) > 0 {
		pid, groups, err := decodeAddr(m.Addr)
		if err != nil {
			return 0, err
		}
		dstPid, dstGroup = pid, ffs(groups)
		if (dstPid != 0 || dstGroup != 0) && !capableAdmin(ctx) {
			return 0, linux.EPERM
		}
	} else {
		s.mu.Lock()
		dstPid, dstGroup = s.dstPortid, s.dstGroup
		s.mu.Unlock()
	}
	s.ports.autobind(s, ctx.Ucred().Pid)
	n := socket.Len(m.Data)
	s.mu.Lock()
	sndbuf := s.sndbuf
	s.mu.Unlock()
	if n > sndbuf-32 {
		return 0, linux.EMSGSIZE
	}
	data := make([]byte, 0, n)
	for _, b := range m.Data {
		data = append(data, b...)
	}
	switch {
	case dstPid == 0 && dstGroup != 0:
		return n, nil
	case dstPid == 0:
		s.request(ctx, data)
		return n, nil
	}
	peer := s.ports.lookup(dstPid)
	if peer == nil {
		return 0, linux.ECONNREFUSED
	}
	s.mu.Lock()
	from := s.portid
	s.mu.Unlock()
	peer.deliver(datagram{data: data, from: from, group: dstGroup, creds: ctx.Ucred()})
	return n, nil
}

// deliver queues d, or, past the receive buffer, drops it and reports
// ENOBUFS at the next receive (unless NETLINK_NO_ENOBUFS).
func (s *Socket) deliver(d datagram) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliverLocked(d)
}

// deliverLocked is deliver with s.mu held.
func (s *Socket) deliverLocked(d datagram) {
	if s.queued+len(d.data) > s.rcvbuf && len(s.queue) > 0 {
		if !s.flags[optNoENOBUFS] {
			s.sockErr = linux.ENOBUFS
		}
		s.notifyLocked()
		return
	}
	s.queue = append(s.queue, d)
	s.queued += len(d.data)
	s.notifyLocked()
}

// RecvMsg implements socket.Socket: one datagram, cut to the buffer
// (MSG_TRUNC in the flags, and the whole length returned with MSG_TRUNC
// given). A waiting dump adds its next datagram when one is taken.
func (s *Socket) RecvMsg(ctx file.Context, m *socket.Message, flags int) (int, error) {
	if flags&inet.MSG_OOB != 0 {
		return 0, linux.EOPNOTSUPP
	}
	d, err := s.take(ctx, flags, socket.Len(m.Data))
	if err != nil {
		return 0, err
	}
	copied := 0
	for _, b := range m.Data {
		copied += copy(b, d.data[copied:])
	}
	m.Flags = 0
	if copied < len(d.data) {
		m.Flags |= inet.MSG_TRUNC
	}
	m.Addr = encodeAddr(d.from, groupMask(d.group))
	s.mu.Lock()
	if s.passcred {
		c := d.creds
		m.Creds = &c
	}
	s.mu.Unlock()
	if flags&inet.MSG_TRUNC != 0 {
		return len(d.data), nil
	}
	return copied, nil
}

// take returns the first datagram, dequeued unless MSG_PEEK, waiting for
// one unless the call does not block.
func (s *Socket) take(ctx file.Context, flags, size int) (datagram, error) {
	s.mu.Lock()
	nonblock := s.Nonblocking() || flags&inet.MSG_DONTWAIT != 0
	timeout := s.rcvTimeo.duration()
	s.mu.Unlock()
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		s.mu.Lock()
		if s.sockErr != 0 {
			err := s.sockErr
			s.sockErr = 0
			s.mu.Unlock()
			return datagram{}, err
		}
		if len(s.queue) > 0 {
			d := s.queue[0]
			if flags&inet.MSG_PEEK == 0 {
				s.queue = s.queue[1:]
				s.queued -= len(d.data)
				s.maxRecvLen = min(max(s.maxRecvLen, size), maxDumpLen)
				if len(s.dump) > 0 && s.queued <= s.rcvbuf/2 {
					s.queueDumpLocked()
				}
			}
			s.mu.Unlock()
			return d, nil
		}
		ch := s.changed
		s.mu.Unlock()
		if nonblock || s.rcvTimeo.immediate() {
			return datagram{}, linux.EAGAIN
		}
		wait := time.Duration(0)
		if timeout > 0 {
			if wait = time.Until(deadline); wait <= 0 {
				return datagram{}, linux.EAGAIN
			}
		}
		switch err := ctx.Block(ch, wait); {
		case err == linux.ETIMEDOUT:
			return datagram{}, linux.EAGAIN
		case err == file.ErrRestart && timeout > 0:
			return datagram{}, linux.EINTR
		case err != nil:
			return datagram{}, err
		}
	}
}

// queueDumpLocked moves the dump's next datagram to the queue: as many
// whole messages as fit the size Linux allocates (NLMSG_GOODSIZE, or the
// largest receive so far, or one message that is larger); NLMSG_DONE
// comes in a datagram of its own, as Linux sends it after these dumps.
// Preconditions: s.mu held.
func (s *Socket) queueDumpLocked() {
	limit := max(goodSize, s.maxRecvLen)
	var data []byte
	for len(s.dump) > 0 {
		msg := s.dump[0]
		done := parseHeader(msg).Type == NLMSG_DONE
		if len(data) > 0 && (done || len(data)+align(len(msg)) > limit) {
			break
		}
		data = append(data, msg...)
		data = append(data, make([]byte, align(len(msg))-len(msg))...)
		s.dump = s.dump[1:]
		if done {
			break
		}
	}
	if len(s.dump) == 0 {
		s.dump = nil
	}
	s.queue = append(s.queue, datagram{data: data})
	s.queued += len(data)
	s.notifyLocked()
}
