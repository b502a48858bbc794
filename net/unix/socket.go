package unix

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/net/socket"
)

// Socket types.
const (
	SOCK_STREAM    = 1
	SOCK_DGRAM     = 2
	SOCK_RAW       = 3
	SOCK_SEQPACKET = 5

	SOCK_NONBLOCK = linux.O_NONBLOCK
	SOCK_CLOEXEC  = linux.O_CLOEXEC
)

// Shutdown bits (sk_shutdown).
const (
	rcvShutdown  = 1
	sendShutdown = 2
	shutdownMask = rcvShutdown | sendShutdown
)

type state uint8

const (
	stateUnconnected state = iota
	stateListening
	stateConnected
)

// message is one skb of a receive queue: a datagram, a seqpacket
// record, or a piece of a stream.
type message struct {
	data   []byte
	from   *Socket     // the sender: its address is the source, its wmem is charged
	rights []file.File // SCM_RIGHTS references the message owns
	cred   file.Ucred
	charge int // bytes charged to from.wmem until the message is consumed
}

// Socket is an AF_UNIX socket: an open file description and its sock.
// Invariant: a connected stream or seqpacket socket and its peer point
// at each other until one is released.
type Socket struct {
	n         *Names
	typ       int
	ino       uint64
	file.Refs // the release hooks let epoll drop a closed socket
	// status holds O_NONBLOCK (file status flags); O_RDWR is implied.
	status atomic.Uint32

	// The fields below are protected by n.mu.
	state      state
	peer       *Socket // the connected peer (dgram: the default destination)
	addr       *address
	node       vfs.Path // the bound filesystem node, with a reference
	nodeKey    nodeKey
	queue      []*message
	shut       int         // rcvShutdown, sendShutdown
	err        linux.Errno // the pending SO_ERROR
	backlog    []*Socket   // connections waiting for accept (listening)
	maxBacklog int         // sk_max_ack_backlog: listen's backlog, or max_dgram_qlen
	released   bool        // the last file reference is gone
	connecting bool        // a connect is in progress
	passcred   bool
	sndbuf     int
	rcvbuf     int
	rcvTimeout time.Duration
	sndTimeout time.Duration
	peerCred   *file.Ucred // SO_PEERCRED
	ownCred    *file.Ucred // taken at listen: the peer credentials of clients
	wmem       int         // charges of this socket's messages not yet consumed
	waiters    map[*Socket]struct{}
	intOpts    map[int]int32 // plain SOL_SOCKET flags a guest sets and reads back
	linger     [8]byte

	// q wakes whoever waits on the socket (its own lock; Notify is
	// called with Names.mu held).
	q file.Queue
}

var _ socket.Socket = (*Socket)(nil)

// New returns a socket of type typ (SOCK_STREAM, SOCK_DGRAM — SOCK_RAW
// is taken as SOCK_DGRAM as Linux does — or SOCK_SEQPACKET) with flags
// SOCK_NONBLOCK; protocol must be 0 or AF_UNIX.
func (n *Names) New(typ, protocol int, flags int) (*Socket, error) {
	if protocol != 0 && protocol != AF_UNIX {
		return nil, linux.EPROTONOSUPPORT
	}
	switch typ {
	case SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET:
	case SOCK_RAW:
		typ = SOCK_DGRAM
	default:
		return nil, linux.ESOCKTNOSUPPORT
	}
	n.mu.Lock()
	defer n.unlock()
	return n.newLocked(typ, flags), nil
}

func (n *Names) newLocked(typ, flags int) *Socket {
	n.nextIno++
	s := &Socket{n: n, typ: typ, ino: n.nextIno,
		sndbuf: n.cfg.WmemDefault, rcvbuf: n.cfg.RmemDefault, maxBacklog: n.cfg.MaxDgramQlen}
	s.status.Store(uint32(flags & SOCK_NONBLOCK))
	return s
}

// Pair returns two sockets connected to each other (socketpair), each
// with cred, the caller's, as its peer's credentials.
func (n *Names) Pair(typ, protocol, flags int, cred file.Ucred) (*Socket, *Socket, error) {
	a, err := n.New(typ, protocol, flags)
	if err != nil {
		return nil, nil, err
	}
	b, _ := n.New(typ, protocol, flags)
	n.mu.Lock()
	defer n.unlock()
	a.peer, b.peer = b, a
	a.state, b.state = stateConnected, stateConnected
	a.peerCred, b.peerCred = &cred, &cred
	return a, b, nil
}

// notifyLocked wakes whoever waits on s.
// Precondition: Names.mu held (Names.unlock notifies).
func (s *Socket) notifyLocked() {
	for _, x := range s.n.notify {
		if x == s {
			return
		}
	}
	s.n.notify = append(s.n.notify, s)
}

// Watch implements file.Watchable.
func (s *Socket) Watch(fn func(events uint32)) (stop func()) { return s.q.Watch(fn) }

// DecRef implements file.File: the last reference releases the socket.
func (s *Socket) DecRef() {
	if !s.Drop() {
		return
	}
	var drop []file.File
	s.n.mu.Lock()
	node := s.releaseLocked(false, &drop)
	s.n.unlock()
	node.DecRef()
	for _, f := range drop {
		f.DecRef()
	}
}

// releaseLocked is unix_release_sock: it unbinds s, tells its peer, and
// empties its queues; embryo says s was never accepted. Files the queues
// held are appended to drop, to be released without the lock; the bound
// node is returned for the same reason.
func (s *Socket) releaseLocked(embryo bool, drop *[]file.File) vfs.Path {
	n := s.n
	s.released = true
	s.state = stateUnconnected
	s.shut = shutdownMask
	if s.addr != nil && s.node.Inode == nil && s.addr.abstract && n.abstract[s.addr.name] == s {
		delete(n.abstract, s.addr.name)
	}
	node := s.node
	if node.Inode != nil && n.nodes[s.nodeKey] == s {
		delete(n.nodes, s.nodeKey)
	}
	s.node = vfs.Path{}
	if p := s.peer; p != nil {
		s.peer = nil
		if s.typ != SOCK_DGRAM && p.peer == s {
			p.shut = shutdownMask
			if len(s.queue) > 0 || embryo {
				p.err = linux.ECONNRESET
			}
			p.notifyLocked()
		}
	}
	for _, m := range s.queue {
		s.consumedLocked(m)
		*drop = append(*drop, m.rights...)
	}
	s.queue = nil
	for _, e := range s.backlog {
		if n := e.releaseLocked(true, drop); n.Inode != nil {
			n.DecRef() // an embryo has no node; never reached
		}
	}
	s.backlog = nil
	s.wakeWaitersLocked()
	s.notifyLocked()
	return node
}

// consumedLocked returns m's charge to its sender, and wakes the sender
// when that makes it writable (unix_write_space: no more than a quarter
// of SO_SNDBUF in flight), not before, as Linux does.
func (s *Socket) consumedLocked(m *message) {
	if m.charge == 0 {
		return
	}
	from := m.from
	was := from.wmem
	from.wmem -= m.charge
	m.charge = 0
	if was<<2 > from.sndbuf && from.wmem<<2 <= from.sndbuf {
		from.notifyLocked()
	}
}

// wakeWaitersLocked wakes the senders that found s's queue full.
func (s *Socket) wakeWaitersLocked() {
	for w := range s.waiters {
		w.notifyLocked()
	}
	s.waiters = nil
}

// Name implements file.File.
func (s *Socket) Name() string { return "socket:[" + strconv.FormatUint(s.ino, 10) + "]" }

// Family implements socket.Socket.
func (s *Socket) Family() int { return AF_UNIX }

// Type implements socket.Socket.
func (s *Socket) Type() int { return s.typ }

// Protocol implements socket.Socket.
func (s *Socket) Protocol() int { return 0 }

// Status implements file.File.
func (s *Socket) Status() (uint32, error) { return s.status.Load() | linux.O_RDWR, nil }

// SetStatus implements file.File: only O_NONBLOCK changes.
func (s *Socket) SetStatus(flags uint32) error {
	s.status.Store(flags & linux.O_NONBLOCK)
	return nil
}

// nonblocking reports whether a call with flags must not wait.
func (s *Socket) nonblocking(flags int) bool {
	return flags&MSG_DONTWAIT != 0 || s.status.Load()&linux.O_NONBLOCK != 0
}

// Stat implements file.File: a sockfs inode, S_IFSOCK|0777.
func (s *Socket) Stat() ([file.StatSize]byte, error) {
	return file.EncodeStat(vfs.Attr{Dev: sockfsDev, Ino: s.ino, Nlink: 1, Mode: vfs.ModeSocket | 0o777,
		Blksize: 4096}), nil
}

// sockfsDev is the device number of sockfs's inodes.
const sockfsDev = 8

// Read implements file.File as recv with no flags.
func (s *Socket) Read(ctx file.Context, bufs [][]byte, off int64) (int, error) {
	if off >= 0 {
		return 0, linux.ESPIPE
	}
	if total(bufs) == 0 {
		return 0, nil
	}
	return s.RecvMsg(ctx, &socket.Message{Data: bufs}, 0)
}

// Write implements file.File as send with no flags.
func (s *Socket) Write(ctx file.Context, bufs [][]byte, off int64) (int, error) {
	if off >= 0 {
		return 0, linux.ESPIPE
	}
	return s.SendMsg(ctx, &socket.Message{Data: bufs}, 0)
}

func total(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

// Readiness implements file.File, as unix_poll and unix_dgram_poll.
func (s *Socket) Readiness() (uint32, <-chan struct{}) {
	s.n.mu.Lock()
	defer s.n.unlock()
	var ev uint32
	if s.err != 0 {
		ev |= file.PollErr
	}
	if s.shut == shutdownMask {
		ev |= file.PollHup
	}
	if s.shut&rcvShutdown != 0 {
		ev |= file.PollRdHup | file.PollIn | file.PollRdNorm
	}
	if len(s.queue) > 0 || len(s.backlog) > 0 {
		ev |= file.PollIn | file.PollRdNorm
	}
	if s.typ != SOCK_DGRAM && s.state == stateUnconnected {
		ev |= file.PollHup
	}
	if s.writableLocked() {
		ev |= file.PollOut | file.PollWrNorm | file.PollWrBand
	}
	return ev, s.q.Changed()
}

// writableLocked is unix_writable, and for datagrams also that the
// peer's queue has room (registering s to be woken when it has).
func (s *Socket) writableLocked() bool {
	if s.state == stateListening || s.wmem<<2 > s.sndbuf {
		return false
	}
	if s.typ == SOCK_DGRAM && s.peer != nil && s.peer.peer != s && s.peer.queueFullLocked() {
		s.peer.addWaiterLocked(s)
		return false
	}
	return true
}

// queueFullLocked is unix_recvq_full.
func (s *Socket) queueFullLocked() bool {
	if s.state == stateListening {
		return len(s.backlog) > s.maxBacklog
	}
	return len(s.queue) > s.maxBacklog
}

func (s *Socket) addWaiterLocked(w *Socket) {
	if s.waiters == nil {
		s.waiters = map[*Socket]struct{}{}
	}
	s.waiters[w] = struct{}{}
}

// wait blocks until the change w was armed for, the timeout (0: none)
// passes (EAGAIN, as SO_RCVTIMEO/SO_SNDTIMEO expire) or the caller is
// interrupted.
func wait(ctx file.Context, w file.Wait, timeout time.Duration, deadline time.Time) error {
	if timeout > 0 {
		timeout = time.Until(deadline)
		if timeout <= 0 {
			w.Cancel()
			return linux.EAGAIN
		}
	}
	err := w.Block(ctx, timeout)
	switch {
	case err == linux.ETIMEDOUT:
		return linux.EAGAIN
	case err == file.ErrRestart && timeout > 0:
		return linux.EINTR // sock_intr_errno: a call with a timeout is not restarted
	}
	return err
}

// Ioctl implements socket.Socket: FIONREAD/SIOCINQ and SIOCOUTQ.
func (s *Socket) Ioctl(ctx file.Context, cmd uint32, arg []byte) ([]byte, error) {
	const fionread, siocoutq = 0x541B, 0x5411
	s.n.mu.Lock()
	defer s.n.unlock()
	if s.state == stateListening {
		return nil, linux.EINVAL
	}
	var v int
	switch cmd {
	case fionread: // unix_inq_len
		for _, m := range s.queue {
			v += len(m.data)
			if s.typ == SOCK_DGRAM {
				break
			}
		}
	case siocoutq: // unix_outq_len
		v = s.wmem
	default:
		return nil, linux.ENOTTY
	}
	return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}, nil
}
