package unix

import (
	"time"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/net/socket"
)

// MSG_* flags of send and receive calls.
const (
	MSG_OOB          = 0x1
	MSG_PEEK         = 0x2
	MSG_CTRUNC       = 0x8
	MSG_TRUNC        = 0x20
	MSG_DONTWAIT     = 0x40
	MSG_EOR          = 0x80
	MSG_WAITALL      = 0x100
	MSG_ERRQUEUE     = 0x2000
	MSG_NOSIGNAL     = 0x4000
	MSG_CMSG_CLOEXEC = 0x40000000
)

// ScmMaxFD is SCM_MAX_FD: the most files one SCM_RIGHTS message carries.
const ScmMaxFD = 253

// skbOverhead approximates what an skb costs beyond its data (its
// truesize): the amount charged against SO_SNDBUF per message.
const skbOverhead = 768

// SendMsg implements socket.Socket: unix_stream_sendmsg for streams,
// unix_dgram_sendmsg for datagrams and seqpackets. The rights of m are
// the message's: they are released when the send fails.
func (s *Socket) SendMsg(ctx file.Context, m *socket.Message, flags int) (int, error) {
	rights := m.Rights
	sent, err := s.send(ctx, m, flags)
	if err != nil || sent == 0 && s.typ == SOCK_STREAM {
		for _, f := range rights {
			f.DecRef()
		}
	}
	return sent, err
}

func (s *Socket) send(ctx file.Context, m *socket.Message, flags int) (int, error) {
	if len(m.Rights) > ScmMaxFD {
		return 0, linux.EINVAL
	}
	own := ctx.Ucred()
	cred := realCreds(ctx)
	if m.Creds != nil {
		if !mayClaim(own, cred, *m.Creds) {
			return 0, linux.EPERM
		}
		cred = *m.Creds
	}
	if flags&MSG_OOB != 0 {
		return 0, linux.EOPNOTSUPP
	}
	if s.typ == SOCK_STREAM {
		return s.sendStream(ctx, m, flags, cred)
	}
	return s.sendDgram(ctx, m, flags, cred)
}

// RealCreder is a file.Context that also knows the caller's real ids:
// the credentials the kernel attaches to a message are the real ones
// (scm_send's current_uid_gid), SO_PEERCRED's the effective ones.
type RealCreder interface {
	RealUcred() file.Ucred
}

// realCreds are the caller's credentials with its real ids, where ctx
// knows them.
func realCreds(ctx file.Context) file.Ucred {
	if r, ok := ctx.(RealCreder); ok {
		return r.RealUcred()
	}
	return ctx.Ucred()
}

// mayClaim is scm_check_creds: a process may send its own pid and its
// effective or real ids (eff and real); root any.
func mayClaim(eff, real, claimed file.Ucred) bool {
	if eff.UID == 0 {
		return true
	}
	return claimed.Pid == eff.Pid && (claimed.UID == eff.UID || claimed.UID == real.UID) &&
		(claimed.GID == eff.GID || claimed.GID == real.GID)
}

// sendStream queues the data in pieces of at most half the send buffer,
// each once the bytes in flight are below SO_SNDBUF.
func (s *Socket) sendStream(ctx file.Context, m *socket.Message, flags int, cred file.Ucred) (int, error) {
	n := s.n
	n.mu.Lock()
	defer n.unlock()
	if len(m.Addr) > 0 {
		if s.state == stateConnected {
			return 0, linux.EISCONN
		}
		return 0, linux.EOPNOTSUPP
	}
	other := s.peer
	if other == nil || s.state != stateConnected {
		return 0, linux.ENOTCONN
	}
	if s.shut&sendShutdown != 0 {
		return 0, s.pipeErrorLocked(ctx, flags)
	}
	size := total(m.Data)
	data := flatten(m.Data, size)
	rights := m.Rights
	sent := 0
	deadline := time.Now().Add(s.sndTimeout)
	for sent < size {
		if err := s.waitForRoomLocked(ctx, flags, deadline); err != nil {
			if sent > 0 {
				return sent, nil
			}
			return 0, err
		}
		if other.released || other.shut&rcvShutdown != 0 {
			if sent > 0 {
				return sent, nil
			}
			return 0, s.pipeErrorLocked(ctx, flags)
		}
		chunk := min(size-sent, s.sndbuf/2-64)
		s.queueLocked(other, data[sent:sent+chunk], rights, cred)
		rights = nil
		sent += chunk
	}
	return sent, nil
}

// pipeErrorLocked is EPIPE, with SIGPIPE unless MSG_NOSIGNAL.
func (s *Socket) pipeErrorLocked(ctx file.Context, flags int) error {
	if flags&MSG_NOSIGNAL == 0 {
		ctx.SendSIGPIPE()
	}
	return linux.EPIPE
}

// waitForRoomLocked waits until s has less than SO_SNDBUF in flight
// (sock_alloc_send_pskb). Precondition: Names.mu held; it is released
// while waiting.
func (s *Socket) waitForRoomLocked(ctx file.Context, flags int, deadline time.Time) error {
	for s.wmem >= s.sndbuf {
		if s.err != 0 {
			err := s.err
			s.err = 0
			return err
		}
		if s.shut&sendShutdown != 0 {
			return linux.EPIPE
		}
		if s.nonblocking(flags) {
			return linux.EAGAIN
		}
		if err := s.waitLocked(ctx, s.sndTimeout, deadline); err != nil {
			return err
		}
	}
	return nil
}

// waitLocked waits for a change of s with Names.mu released.
func (s *Socket) waitLocked(ctx file.Context, timeout time.Duration, deadline time.Time) error {
	w := s.q.Arm(ctx)
	s.n.unlock()
	err := wait(ctx, w, timeout, deadline)
	s.n.mu.Lock()
	return err
}

// queueLocked appends a message from s to other's queue and wakes it.
func (s *Socket) queueLocked(other *Socket, data []byte, rights []file.File, cred file.Ucred) {
	msg := &message{data: data, from: s, rights: rights, cred: cred, charge: len(data) + skbOverhead}
	s.wmem += msg.charge
	other.queue = append(other.queue, msg)
	other.notifyLocked()
}

// flatten copies bufs (size bytes) into one slice.
func flatten(bufs [][]byte, size int) []byte {
	out := make([]byte, 0, size)
	for _, b := range bufs {
		out = append(out, b...)
	}
	return out
}

// sendDgram sends one datagram or record to m.Addr or the peer.
func (s *Socket) sendDgram(ctx file.Context, m *socket.Message, flags int, cred file.Ucred) (int, error) {
	n := s.n
	var a address
	var key *nodeKey
	addressed := s.typ == SOCK_DGRAM && len(m.Addr) > 0
	if addressed {
		var err error
		if a, err = parsePeer(m.Addr); err != nil {
			return 0, err
		}
		if key, err = n.resolve(ctx, a); err != nil {
			return 0, err
		}
	}
	size := total(m.Data)
	n.mu.Lock()
	defer n.unlock()
	if s.typ == SOCK_SEQPACKET && s.state != stateConnected {
		return 0, linux.ENOTCONN
	}
	if !addressed && s.peer == nil {
		return 0, linux.ENOTCONN
	}
	if s.shut&sendShutdown != 0 {
		return 0, linux.EPIPE // no SIGPIPE for datagrams
	}
	if s.passcred && s.addr == nil {
		if err := n.autobindLocked(s); err != nil {
			return 0, err
		}
	}
	if size > s.sndbuf-32 {
		return 0, linux.EMSGSIZE
	}
	deadline := time.Now().Add(s.sndTimeout)
	if err := s.waitForRoomLocked(ctx, flags, deadline); err != nil {
		return 0, err
	}
	for {
		other := s.peer
		if addressed {
			var err error
			if other, err = n.lookupLocked(a, key, s.typ); err != nil {
				return 0, err
			}
		}
		if other == nil {
			return 0, linux.ENOTCONN
		}
		if other.peer != nil && other.peer != s && !other.released {
			return 0, linux.EPERM
		}
		if other.released {
			if s.typ == SOCK_SEQPACKET {
				return 0, linux.EPIPE
			}
			if s.peer == other {
				s.peer = nil
				s.state = stateUnconnected
			}
			return 0, linux.ECONNREFUSED
		}
		if other.shut&rcvShutdown != 0 {
			return 0, linux.EPIPE
		}
		if other.peer != s && other.queueFullLocked() {
			if s.nonblocking(flags) {
				return 0, linux.EAGAIN
			}
			other.addWaiterLocked(s)
			if err := s.waitLocked(ctx, s.sndTimeout, deadline); err != nil {
				return 0, err
			}
			continue
		}
		s.queueLocked(other, flatten(m.Data, size), m.Rights, cred)
		return size, nil
	}
}

// RecvMsg implements socket.Socket.
func (s *Socket) RecvMsg(ctx file.Context, m *socket.Message, flags int) (int, error) {
	if flags&MSG_ERRQUEUE != 0 {
		return 0, linux.EAGAIN
	}
	if s.typ == SOCK_STREAM {
		if flags&MSG_OOB != 0 {
			return 0, linux.EINVAL
		}
		return s.recvStream(ctx, m, flags)
	}
	if flags&MSG_OOB != 0 {
		return 0, linux.EOPNOTSUPP
	}
	return s.recvDgram(ctx, m, flags)
}

// takeLocked hands the head message's rights and credentials to m: the
// message's own references, or new ones when peeking.
func (s *Socket) takeLocked(msg *message, m *socket.Message, peek bool) {
	if s.passcred {
		c := msg.cred
		m.Creds = &c
	}
	if len(msg.rights) == 0 {
		return
	}
	if peek {
		for _, f := range msg.rights {
			f.IncRef()
		}
		m.Rights = append(m.Rights, msg.rights...)
		return
	}
	m.Rights = append(m.Rights, msg.rights...)
	msg.rights = nil
}

// sourceLocked is the sender's address for recvfrom (nil: unbound).
func sourceLocked(msg *message) []byte {
	if msg.from.addr == nil {
		return nil
	}
	return msg.from.addr.encode()
}

// recvDgram is __unix_dgram_recvmsg: one whole message per call.
func (s *Socket) recvDgram(ctx file.Context, m *socket.Message, flags int) (int, error) {
	n := s.n
	n.mu.Lock()
	defer n.unlock()
	if s.typ == SOCK_SEQPACKET && s.state != stateConnected {
		return 0, linux.ENOTCONN
	}
	deadline := time.Now().Add(s.rcvTimeout)
	for len(s.queue) == 0 {
		if s.err != 0 {
			err := s.err
			s.err = 0
			return 0, err
		}
		if s.nonblocking(flags) {
			if s.typ == SOCK_SEQPACKET && s.shut&rcvShutdown != 0 {
				return 0, nil
			}
			return 0, linux.EAGAIN
		}
		if s.shut&rcvShutdown != 0 {
			return 0, nil
		}
		if err := s.waitLocked(ctx, s.rcvTimeout, deadline); err != nil {
			return 0, err
		}
	}
	msg := s.queue[0]
	copied := copyOut(m.Data, msg.data)
	if copied < len(msg.data) {
		m.Flags |= MSG_TRUNC
	}
	m.Addr = sourceLocked(msg)
	peek := flags&MSG_PEEK != 0
	s.takeLocked(msg, m, peek)
	if !peek {
		s.queue = s.queue[1:]
		s.consumedLocked(msg)
		s.wakeWaitersLocked()
		s.notifyLocked()
	}
	if flags&MSG_TRUNC != 0 {
		return len(msg.data), nil
	}
	return copied, nil
}

// copyOut copies src into bufs in order and returns the bytes copied.
func copyOut(bufs [][]byte, src []byte) int {
	n := 0
	for _, b := range bufs {
		if n == len(src) {
			break
		}
		n += copy(b, src[n:])
	}
	return n
}

// skipBufs returns bufs without their first off bytes.
func skipBufs(bufs [][]byte, off int) [][]byte {
	for len(bufs) > 0 && off >= len(bufs[0]) {
		off -= len(bufs[0])
		bufs = bufs[1:]
	}
	if len(bufs) > 0 && off > 0 {
		out := append([][]byte{bufs[0][off:]}, bufs[1:]...)
		return out
	}
	return bufs
}

// recvStream is unix_stream_read_generic: it copies from consecutive
// messages until the buffers are full, waiting for at least one byte
// (all of them with MSG_WAITALL); it stops after a message that carried
// files, and between messages of different credentials with SO_PASSCRED.
func (s *Socket) recvStream(ctx file.Context, m *socket.Message, flags int) (int, error) {
	n := s.n
	n.mu.Lock()
	defer n.unlock()
	if s.state != stateConnected {
		return 0, linux.EINVAL
	}
	want := total(m.Data)
	target := 1
	if flags&MSG_WAITALL != 0 && want > 0 {
		target = want
	}
	peek := flags&MSG_PEEK != 0
	deadline := time.Now().Add(s.rcvTimeout)
	copied, next := 0, 0 // next: the message a peek reads next
	var cred *file.Ucred
	var err error
	for {
		var msg *message
		if peek && next < len(s.queue) {
			msg = s.queue[next]
		} else if !peek && len(s.queue) > 0 {
			msg = s.queue[0]
		}
		if msg == nil {
			if copied >= target {
				break
			}
			if s.err != 0 {
				err, s.err = s.err, 0
				break
			}
			if s.shut&rcvShutdown != 0 {
				break
			}
			if s.nonblocking(flags) {
				err = linux.EAGAIN
				break
			}
			if err = s.waitLocked(ctx, s.rcvTimeout, deadline); err != nil {
				break
			}
			if s.state != stateConnected {
				break
			}
			continue
		}
		if s.passcred {
			if cred != nil && *cred != msg.cred {
				break
			}
			c := msg.cred
			cred = &c
		}
		if copied == 0 && (next == 0 || !peek) {
			m.Addr = sourceLocked(msg)
		}
		chunk := copyOut(skipBufs(m.Data, copied), msg.data)
		copied += chunk
		hadRights := len(msg.rights) > 0
		s.takeLocked(msg, m, peek)
		if peek {
			next++
			if hadRights || chunk < len(msg.data) {
				break
			}
		} else {
			msg.data = msg.data[chunk:]
			if len(msg.data) == 0 {
				s.queue = s.queue[1:]
				s.consumedLocked(msg)
			}
			s.notifyLocked()
			if hadRights || len(msg.data) > 0 {
				break
			}
		}
		if copied >= want {
			break
		}
	}
	if copied > 0 {
		return copied, nil
	}
	return 0, err
}
