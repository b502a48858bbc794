package unix

import (
	"time"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/net/socket"
)

// Bind implements socket.Socket: a filesystem name becomes a socket node
// made through the caller's filesystem view (EADDRINUSE if the name
// exists), an abstract name is registered (EADDRINUSE if taken), and the
// family alone autobinds. A bound socket is EINVAL.
func (s *Socket) Bind(ctx file.Context, raw []byte) error {
	a, err := parseAddress(raw)
	if err != nil {
		return err
	}
	n := s.n
	if a.empty {
		n.mu.Lock()
		defer n.unlock()
		if s.addr != nil {
			return linux.EINVAL
		}
		return n.autobindLocked(s)
	}
	if a.abstract {
		n.mu.Lock()
		defer n.unlock()
		if s.addr != nil {
			return linux.EINVAL
		}
		if _, used := n.abstract[a.name]; used {
			return linux.EADDRINUSE
		}
		n.abstract[a.name] = s
		s.addr = &a
		return nil
	}
	n.mu.Lock()
	bound := s.addr != nil
	n.unlock()
	if bound {
		return linux.EINVAL
	}
	p, err := n.fs.MakeSocketNode(ctx, a.name)
	if err == linux.EEXIST {
		return linux.EADDRINUSE
	}
	if err != nil {
		return err
	}
	attr, err := p.Attr()
	if err != nil {
		p.DecRef()
		return err
	}
	n.mu.Lock()
	if s.addr != nil { // a concurrent bind won: Linux removes nothing either
		n.unlock()
		p.DecRef()
		return linux.EINVAL
	}
	key := nodeKey{attr.Dev, attr.Ino}
	n.nodes[key] = s
	s.addr, s.node, s.nodeKey = &a, p, key
	n.unlock()
	return nil
}

// Listen implements socket.Socket.
func (s *Socket) Listen(ctx file.Context, backlog int) error {
	if s.typ == SOCK_DGRAM {
		return linux.EOPNOTSUPP
	}
	if uint(backlog) > uint(s.n.cfg.SoMaxConn) {
		backlog = s.n.cfg.SoMaxConn
	}
	n := s.n
	n.mu.Lock()
	defer n.unlock()
	if s.addr == nil || s.connecting || s.state == stateConnected {
		return linux.EINVAL
	}
	if backlog > s.maxBacklog {
		s.wakeWaitersLocked()
	}
	s.maxBacklog = backlog
	if s.state != stateListening {
		// init_peercred: the listener's own credentials are its
		// SO_PEERCRED and what its clients see as theirs.
		c := ctx.Ucred()
		s.ownCred, s.peerCred = &c, &c
	}
	s.state = stateListening
	s.notifyLocked()
	return nil
}

// Connect implements socket.Socket.
func (s *Socket) Connect(ctx file.Context, raw []byte) error {
	if s.typ == SOCK_DGRAM {
		return s.connectDgram(ctx, raw)
	}
	a, err := parsePeer(raw)
	if err != nil {
		return err
	}
	key, err := s.n.resolve(ctx, a)
	if err != nil {
		return err
	}
	return s.connectStream(ctx, a, key)
}

// connectStream is unix_stream_connect: the connection is made at once
// (an embryo socket waits in the listener's backlog for accept); a full
// backlog makes the caller wait, or EAGAIN when it must not.
func (s *Socket) connectStream(ctx file.Context, a address, key *nodeKey) error {
	n := s.n
	n.mu.Lock()
	defer n.unlock()
	if s.passcred && s.addr == nil {
		if err := n.autobindLocked(s); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(s.sndTimeout)
	for {
		l, err := n.lookupLocked(a, key, s.typ)
		if err != nil {
			return err
		}
		if l.state != stateListening || l.shut&rcvShutdown != 0 {
			return linux.ECONNREFUSED
		}
		if !l.queueFullLocked() {
			switch {
			case s.state == stateConnected:
				return linux.EISCONN
			case s.state != stateUnconnected, s.connecting:
				return linux.EINVAL
			}
			s.acceptIntoLocked(ctx, l)
			return nil
		}
		if s.nonblocking(0) {
			return linux.EAGAIN
		}
		l.addWaiterLocked(s)
		w := s.q.Arm(ctx)
		s.connecting = true
		n.unlock()
		err = wait(ctx, w, s.sndTimeout, deadline)
		n.mu.Lock()
		s.connecting = false
		if err != nil {
			return err
		}
	}
}

// acceptIntoLocked connects s to a new embryo socket queued on listener
// l, with the credentials of both sides.
func (s *Socket) acceptIntoLocked(ctx file.Context, l *Socket) {
	e := s.n.newLocked(s.typ, 0)
	cred := ctx.Ucred()
	e.peerCred = &cred
	e.addr = l.addr
	e.passcred = l.passcred
	e.sndbuf, e.rcvbuf = l.sndbuf, l.rcvbuf
	e.state, s.state = stateConnected, stateConnected
	e.peer, s.peer = s, e
	s.peerCred = l.ownCred
	l.backlog = append(l.backlog, e)
	l.notifyLocked()
	s.notifyLocked()
}

// Accept implements socket.Socket.
func (s *Socket) Accept(ctx file.Context, flags int, peer bool) (socket.Socket, []byte, error) {
	if s.typ == SOCK_DGRAM {
		return nil, nil, linux.EOPNOTSUPP
	}
	n := s.n
	n.mu.Lock()
	defer n.unlock()
	deadline := time.Now().Add(s.rcvTimeout)
	for {
		if s.state != stateListening {
			return nil, nil, linux.EINVAL
		}
		if len(s.backlog) > 0 {
			e := s.backlog[0]
			s.backlog = s.backlog[1:]
			s.wakeWaitersLocked()
			e.status.Store(uint32(flags & SOCK_NONBLOCK))
			var addr []byte
			if peer {
				addr = nameOf(e.peer)
			}
			return e, addr, nil
		}
		if s.nonblocking(0) {
			return nil, nil, linux.EAGAIN
		}
		w := s.q.Arm(ctx)
		n.unlock()
		err := wait(ctx, w, s.rcvTimeout, deadline)
		n.mu.Lock()
		if err != nil {
			return nil, nil, err
		}
	}
}

// nameOf is the address of s (unnamed when s is nil or unbound).
// Precondition: Names.mu held.
func nameOf(s *Socket) []byte {
	if s == nil || s.addr == nil {
		return unnamed()
	}
	return s.addr.encode()
}

// connectDgram is unix_dgram_connect: it sets (or with AF_UNSPEC
// clears) the default destination.
func (s *Socket) connectDgram(ctx file.Context, raw []byte) error {
	if len(raw) < 2 {
		return linux.EINVAL
	}
	n := s.n
	if int(raw[0])|int(raw[1])<<8 == AF_UNSPEC {
		n.mu.Lock()
		defer n.unlock()
		s.disconnectLocked()
		return nil
	}
	a, err := parsePeer(raw)
	if err != nil {
		return err
	}
	key, err := n.resolve(ctx, a)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.unlock()
	if s.passcred && s.addr == nil {
		if err := n.autobindLocked(s); err != nil {
			return err
		}
	}
	other, err := n.lookupLocked(a, key, s.typ)
	if err != nil {
		return err
	}
	if other.peer != nil && other.peer != s {
		return linux.EPERM
	}
	s.disconnectLocked()
	s.peer = other
	s.state = stateConnected
	s.notifyLocked()
	return nil
}

// disconnectLocked drops a datagram socket's destination.
func (s *Socket) disconnectLocked() {
	if s.peer != nil {
		s.peer = nil
		s.state = stateUnconnected
		s.notifyLocked()
	}
}

// Shutdown implements socket.Socket: SHUT_RD, SHUT_WR, SHUT_RDWR; a
// stream or seqpacket peer sees the other half.
func (s *Socket) Shutdown(ctx file.Context, how int) error {
	if how < 0 || how > 2 {
		return linux.EINVAL
	}
	mode := how + 1
	n := s.n
	n.mu.Lock()
	defer n.unlock()
	s.shut |= mode
	s.notifyLocked()
	if p := s.peer; p != nil && s.typ != SOCK_DGRAM {
		peerMode := 0
		if mode&rcvShutdown != 0 {
			peerMode |= sendShutdown
		}
		if mode&sendShutdown != 0 {
			peerMode |= rcvShutdown
		}
		p.shut |= peerMode
		p.notifyLocked()
	}
	return nil
}

// SockName implements socket.Socket.
func (s *Socket) SockName() ([]byte, error) {
	s.n.mu.Lock()
	defer s.n.unlock()
	return nameOf(s), nil
}

// PeerName implements socket.Socket.
func (s *Socket) PeerName() ([]byte, error) {
	s.n.mu.Lock()
	defer s.n.unlock()
	if s.peer == nil || s.state != stateConnected {
		return nil, linux.ENOTCONN
	}
	return nameOf(s.peer), nil
}
