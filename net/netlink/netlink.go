// Package netlink implements AF_NETLINK sockets of protocol
// NETLINK_ROUTE, enough for what C libraries and MPI runtimes ask of it:
// the RTM_GETLINK, RTM_GETADDR and RTM_GETROUTE dumps behind getifaddrs()
// and if_nameindex(). A dump is relayed from the host: cmaemu makes its
// own request on its own host NETLINK_ROUTE socket (only the message type
// and the address family come from the guest) and hands the guest the
// host's messages with the guest's sequence number and port id, in
// datagrams sized as Linux sizes them for the guest's receive buffers.
// Requests that would change the host's configuration are refused
// (EPERM); other requests are answered with NLMSG_ERROR EOPNOTSUPP.
//
// Port ids live in a Ports table of the kernel. Locks: Ports.mu, then a
// Socket's mu; never the other way round.
package netlink

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

// Constants of linux/netlink.h and linux/rtnetlink.h.
const (
	AF_NETLINK    = 16
	NETLINK_ROUTE = 0
	maxLinks      = 32 // MAX_LINKS: protocols are below it

	sockRaw   = 3
	sockDgram = 2

	sockaddrNLSize = 12 // struct sockaddr_nl
	nlmsgHdrLen    = 16

	NLMSG_NOOP    = 1
	NLMSG_ERROR   = 2
	NLMSG_DONE    = 3
	nlmsgMinType  = 0x10
	NLM_F_REQUEST = 0x1
	NLM_F_MULTI   = 0x2
	NLM_F_ACK     = 0x4
	NLM_F_ROOT    = 0x100
	NLM_F_MATCH   = 0x200
	NLM_F_DUMP    = NLM_F_ROOT | NLM_F_MATCH
	NLM_F_CAPPED  = 0x100

	RTM_BASE     = 16
	RTM_GETLINK  = 18
	RTM_GETADDR  = 22
	RTM_GETROUTE = 26
	rtmMax       = 123
	rtnlGroupMax = 36 // RTNLGRP_MAX
)

// Dumper makes a dump request of message type typ and address family
// family and returns the answer's messages, each with its header, the
// last being NLMSG_DONE (or NLMSG_ERROR).
type Dumper func(typ uint16, family uint8) ([][]byte, error)

// Ports is a kernel's table of bound netlink port ids.
type Ports struct {
	dump  Dumper
	mu    sync.Mutex         // protects bound and rover
	bound map[uint32]*Socket // by port id
	rover int32              // the next negative id autobind tries
	inos  atomic.Uint64      // the last socket inode number given
}

// NewPorts makes an empty table whose sockets answer dumps with dump
// (nil: HostDump).
func NewPorts(dump Dumper) *Ports {
	if dump == nil {
		dump = HostDump
	}
	return &Ports{dump: dump, bound: map[uint32]*Socket{}, rover: -4096}
}

// insert binds s to id: EADDRINUSE if another socket has it.
// Preconditions: p.mu held.
func (p *Ports) insertLocked(s *Socket, id uint32) error {
	if _, used := p.bound[id]; used {
		return linux.EADDRINUSE
	}
	p.bound[id] = s
	s.portid, s.bound = id, true
	return nil
}

// autobind binds s to the caller's process id if free, or else to the
// next free negative id, as netlink_autobind does.
func (p *Ports) autobind(s *Socket, pid int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bound {
		return
	}
	if p.insertLocked(s, uint32(pid)) == nil {
		return
	}
	for {
		id := p.rover
		p.rover--
		if p.rover > -4096 {
			p.rover = -4096
		}
		if p.insertLocked(s, uint32(id)) == nil {
			return
		}
	}
}

// release forgets s's port id.
func (p *Ports) release(s *Socket) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.bound && p.bound[s.portid] == s {
		delete(p.bound, s.portid)
	}
}

// lookup returns the socket bound to id.
func (p *Ports) lookup(id uint32) *Socket {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bound[id]
}

// New makes a netlink socket as socket(2) does: SOCK_RAW or SOCK_DGRAM
// (SOCK_NONBLOCK and SOCK_CLOEXEC allowed in typ) of NETLINK_ROUTE; the
// other protocols are not in this kernel (EPROTONOSUPPORT).
func (p *Ports) New(ctx file.Context, typ, protocol int) (*Socket, error) {
	if typ&^(0xf|linux.O_NONBLOCK|linux.O_CLOEXEC) != 0 {
		return nil, linux.EINVAL
	}
	kind := typ & 0xf
	if kind != sockRaw && kind != sockDgram {
		return nil, linux.ESOCKTNOSUPPORT
	}
	if protocol < 0 || protocol >= maxLinks || protocol != NETLINK_ROUTE {
		return nil, linux.EPROTONOSUPPORT
	}
	s := &Socket{ports: p, typ: kind, protocol: protocol,
		changed: make(chan struct{}), rcvbuf: defaultBuf, sndbuf: defaultBuf, owner: ctx.Ucred(),
		ino: p.inos.Add(1) + 200000, flags: map[int]bool{}}
	s.InitStatus(linux.O_RDWR | uint32(typ)&linux.O_NONBLOCK)
	s.refs.Store(1)
	return s, nil
}

// Header is struct nlmsghdr.
type Header struct {
	Len   uint32
	Type  uint16
	Flags uint16
	Seq   uint32
	Pid   uint32
}

// parseHeader reads a header from b (at least nlmsgHdrLen bytes).
func parseHeader(b []byte) Header {
	le := binary.LittleEndian
	return Header{Len: le.Uint32(b), Type: le.Uint16(b[4:]), Flags: le.Uint16(b[6:]), Seq: le.Uint32(b[8:]), Pid: le.Uint32(b[12:])}
}

// put writes h to b.
func (h Header) put(b []byte) {
	le := binary.LittleEndian
	le.PutUint32(b, h.Len)
	le.PutUint16(b[4:], h.Type)
	le.PutUint16(b[6:], h.Flags)
	le.PutUint32(b[8:], h.Seq)
	le.PutUint32(b[12:], h.Pid)
}

// align rounds n up to NLMSG_ALIGNTO.
func align(n int) int { return (n + 3) &^ 3 }

// splitMessages cuts a buffer of netlink messages into messages, each
// with its padding trimmed; it stops at the first malformed one.
func splitMessages(b []byte) [][]byte {
	var msgs [][]byte
	for len(b) >= nlmsgHdrLen {
		n := int(binary.LittleEndian.Uint32(b))
		if n < nlmsgHdrLen || n > len(b) {
			break
		}
		msgs = append(msgs, b[:n:n])
		b = b[min(align(n), len(b)):]
	}
	return msgs
}
