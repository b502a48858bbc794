// Package inet implements AF_INET and AF_INET6 sockets (TCP and UDP) on
// host sockets, as qemu-user does: the host kernel keeps the connection
// state and answers with Linux's own errors, and cmaemu keeps what the
// guest must see as its own — the O_NONBLOCK flag, blocking that signals
// and kills interrupt, SIGPIPE, the socket's owner.
//
// Every host socket is non-blocking (SOCK_NONBLOCK) and close-on-exec. A
// guest call that would block tries the host call, and on EAGAIN waits
// for the host descriptor through file.Context.WaitHost (which a signal or
// a kill ends) and tries again; SO_RCVTIMEO and SO_SNDTIMEO bound those
// waits. Only an allow-list of socket options reaches the host
// (sockopt.go); the interface ioctls are answered from the host's
// interfaces with requests cmaemu builds itself (ifreq.go).
package inet

import (
	"encoding/binary"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/net/socket"
)

// Address families, socket types and flags (linux/socket.h, linux/net.h).
const (
	AF_UNSPEC = 0
	AF_INET   = 2
	AF_INET6  = 10

	SOCK_STREAM    = 1
	SOCK_DGRAM     = 2
	SOCK_RAW       = 3
	SOCK_TYPE_MASK = 0xf
	SOCK_NONBLOCK  = linux.O_NONBLOCK
	SOCK_CLOEXEC   = linux.O_CLOEXEC
)

// Capabilities the socket calls check (linux/capability.h).
const (
	CAP_NET_BIND_SERVICE = 10
	CAP_NET_ADMIN        = 12
	CAP_NET_RAW          = 13
)

// Capable is what a file.Context offers when it can answer capability
// checks (cmaemu's tasks do). A context without it is treated as
// privileged exactly when its effective uid is 0.
type Capable interface {
	Capable(capability int) bool
}

// TimedHostWaiter is what a file.Context offers when it can bound a host
// wait (cmaemu's tasks do): WaitHost that gives up with ETIMEDOUT after
// timeout (> 0). Without it SO_RCVTIMEO and SO_SNDTIMEO do not end waits.
type TimedHostWaiter interface {
	WaitHostTimeout(fd int, events int16, timeout time.Duration) error
}

// capable reports whether ctx has capability c.
func capable(ctx file.Context, c int) bool {
	if cc, ok := ctx.(Capable); ok {
		return cc.Capable(c)
	}
	return ctx.Ucred().UID == 0
}

// Socket is an AF_INET or AF_INET6 socket on a host socket.
type Socket struct {
	fd                    int // the host socket: non-blocking, close-on-exec; owned
	family, typ, protocol int
	ino, dev              uint64     // the host socket's inode and device, as st_ino/st_dev
	owner                 file.Ucred // the creator, as the socket inode's owner
	refs                  atomic.Int32
	file.StatusFlags      // O_RDWR and the guest's O_NONBLOCK (the host's is always set)
}

var _ socket.Socket = (*Socket)(nil)

// New makes a socket as socket(2) does for AF_INET and AF_INET6: typ may
// carry SOCK_NONBLOCK (SOCK_CLOEXEC is the descriptor's, not the
// socket's). SOCK_STREAM and SOCK_DGRAM go to the host, which checks the
// protocol; SOCK_RAW needs CAP_NET_RAW; other types do not exist for
// these families (ESOCKTNOSUPPORT, as on a kernel without SCTP).
func New(ctx file.Context, family, typ, protocol int) (*Socket, error) {
	if family != AF_INET && family != AF_INET6 {
		return nil, linux.EAFNOSUPPORT
	}
	if typ&^(SOCK_TYPE_MASK|SOCK_NONBLOCK|SOCK_CLOEXEC) != 0 {
		return nil, linux.EINVAL
	}
	kind := typ & SOCK_TYPE_MASK
	switch kind {
	case SOCK_STREAM, SOCK_DGRAM:
	case SOCK_RAW:
		if protocol < 0 || protocol >= 256 {
			return nil, linux.EINVAL
		}
		if !capable(ctx, CAP_NET_RAW) {
			return nil, linux.EPERM
		}
	default:
		if kind >= 11 { // SOCK_MAX
			return nil, linux.EINVAL
		}
		return nil, linux.ESOCKTNOSUPPORT
	}
	fd, err := syscall.Socket(family, kind|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, protocol)
	if err != nil {
		return nil, errno(err.(syscall.Errno))
	}
	if protocol == 0 {
		// The protocol the host chose (IPPROTO_TCP, IPPROTO_UDP).
		if p, err := hostSockoptInt(fd, solSocket, soProtocol); err == nil {
			protocol = int(p)
		}
	}
	s := wrap(fd, family, kind, protocol, ctx.Ucred())
	if typ&SOCK_NONBLOCK != 0 {
		s.InitStatus(linux.O_RDWR | linux.O_NONBLOCK)
	}
	return s, nil
}

// wrap makes a Socket of a host socket it takes over.
func wrap(fd, family, typ, protocol int, owner file.Ucred) *Socket {
	s := &Socket{fd: fd, family: family, typ: typ, protocol: protocol, owner: owner}
	s.InitStatus(linux.O_RDWR)
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) == nil {
		s.ino, s.dev = st.Ino, st.Dev
	}
	s.refs.Store(1)
	return s
}

// HostFD returns the host socket (for tests and traces).
func (s *Socket) HostFD() int { return s.fd }

// Family implements socket.Socket.
func (s *Socket) Family() int { return s.family }

// Type implements socket.Socket.
func (s *Socket) Type() int { return s.typ }

// Protocol implements socket.Socket.
func (s *Socket) Protocol() int { return s.protocol }

// IncRef implements file.File.
func (s *Socket) IncRef() { s.refs.Add(1) }

// DecRef implements file.File: the last reference closes the host
// socket. A socket lingering on close (SO_LINGER with a time) closes in
// the background, so that no guest call waits on the host unbounded and
// uninterruptibly.
func (s *Socket) DecRef() {
	if s.refs.Add(-1) != 0 {
		return
	}
	if b, err := hostGetsockopt(s.fd, solSocket, soLinger, 8); err == nil && len(b) == 8 &&
		binary.LittleEndian.Uint32(b) != 0 && binary.LittleEndian.Uint32(b[4:]) != 0 {
		go syscall.Close(s.fd)
		return
	}
	syscall.Close(s.fd)
}

// Name implements file.File: "socket:[INODE]", as /proc/PID/fd shows.
func (s *Socket) Name() string { return "socket:[" + strconv.FormatUint(s.ino, 10) + "]" }

// Stat implements file.File: a socket inode (S_IFSOCK|0777) owned by its
// creator, with the host socket's device and inode numbers.
func (s *Socket) Stat() ([file.StatSize]byte, error) {
	return file.EncodeStat(vfs.Attr{Dev: s.dev, Ino: s.ino, Nlink: 1, Mode: vfs.ModeSocket | 0o777,
		UID: s.owner.UID, GID: s.owner.GID, Blksize: 4096}), nil
}

// pollAll is every event a socket reports.
const pollAll = file.PollIn | file.PollPri | file.PollOut | file.PollRdNorm | file.PollRdBand |
	file.PollWrNorm | file.PollWrBand | file.PollRdHup

// Readiness implements file.File: the host socket's readiness now. There
// is no channel: the host socket's changes are polled.
func (s *Socket) Readiness() (uint32, <-chan struct{}) {
	return uint32(uint16(hostPoll(s.fd, pollAll))), nil
}

// Bind implements socket.Socket. A port below the host's
// ip_unprivileged_port_start needs CAP_NET_BIND_SERVICE of the guest.
func (s *Socket) Bind(ctx file.Context, addr []byte) error {
	if len(addr) > sockaddrMax {
		return linux.EINVAL
	}
	if port, ok := s.port(addr); ok && port != 0 && !capable(ctx, CAP_NET_BIND_SERVICE) &&
		port < unprivilegedPortStart() {
		return linux.EACCES
	}
	return hostBind(s.fd, addr)
}

// port returns the port of addr if it is a well-formed address of the
// socket's family.
func (s *Socket) port(addr []byte) (int, bool) {
	size := 16
	if s.family == AF_INET6 {
		size = 28
	}
	if s.typ == SOCK_RAW || len(addr) < size || int(binary.LittleEndian.Uint16(addr)) != s.family {
		return 0, false
	}
	return int(binary.BigEndian.Uint16(addr[2:])), true
}

// unprivilegedPortStart is the host's net.ipv4.ip_unprivileged_port_start
// (1024 when it cannot be read).
func unprivilegedPortStart() int {
	b, err := readSmallFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if err != nil {
		return 1024
	}
	n, err := strconv.Atoi(string(trimNewline(b)))
	if err != nil {
		return 1024
	}
	return n
}

func readSmallFile(path string) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	buf := make([]byte, 64)
	n, err := syscall.Read(fd, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// Listen implements socket.Socket.
func (s *Socket) Listen(ctx file.Context, backlog int) error {
	return errno(rawErr(syscall.RawSyscall(syscall.SYS_LISTEN, uintptr(s.fd), uintptr(int32(backlog)), 0)))
}

func rawErr(_, _ uintptr, e syscall.Errno) syscall.Errno { return e }

// Accept implements socket.Socket: it waits for a connection unless the
// socket is non-blocking, up to SO_RCVTIMEO (then EAGAIN).
func (s *Socket) Accept(ctx file.Context, flags int, peer bool) (socket.Socket, []byte, error) {
	if flags&^(SOCK_NONBLOCK|SOCK_CLOEXEC) != 0 {
		return nil, nil, linux.EINVAL
	}
	var nfd int
	var addr []byte
	err := s.retry(ctx, file.PollIn, s.Nonblocking(), soRcvTimeo, func() error {
		var err error
		nfd, addr, err = hostAccept(s.fd)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	ns := wrap(nfd, s.family, s.typ, s.protocol, ctx.Ucred())
	if flags&SOCK_NONBLOCK != 0 {
		ns.InitStatus(linux.O_RDWR | linux.O_NONBLOCK)
	}
	if !peer {
		addr = nil
	}
	return ns, addr, nil
}

// Connect implements socket.Socket. A blocking connect of a stream
// socket waits for the handshake (SO_SNDTIMEO bounds it: EINPROGRESS
// then) and reports its result; a non-blocking one answers EINPROGRESS
// and SO_ERROR or another connect tells the result later. Interrupted,
// it restarts, and the restarted call goes on waiting, as Linux's does.
func (s *Socket) Connect(ctx file.Context, addr []byte) error {
	if len(addr) > sockaddrMax {
		return linux.EINVAL
	}
	err := hostConnect(s.fd, addr)
	if (err != linux.EINPROGRESS && err != linux.EALREADY) || s.Nonblocking() {
		return err
	}
	timeout := s.timeout(soSndTimeo)
	deadline := time.Now().Add(timeout)
	for {
		if werr := s.wait(ctx, file.PollOut, timeout, deadline); werr != nil {
			if werr == linux.EAGAIN {
				return linux.EINPROGRESS
			}
			return werr
		}
		// Connecting again collects the result as Linux's blocking
		// connect does: 0 and the socket connected, or the error
		// (which SO_ERROR then no longer reports); EALREADY: not yet.
		if err := hostConnect(s.fd, addr); err != linux.EALREADY {
			return err
		}
	}
}

// Shutdown implements socket.Socket.
func (s *Socket) Shutdown(ctx file.Context, how int) error {
	return errno(rawErr(syscall.RawSyscall(syscall.SYS_SHUTDOWN, uintptr(s.fd), uintptr(int32(how)), 0)))
}

// SockName implements socket.Socket.
func (s *Socket) SockName() ([]byte, error) { return hostName(syscall.SYS_GETSOCKNAME, s.fd) }

// PeerName implements socket.Socket.
func (s *Socket) PeerName() ([]byte, error) { return hostName(syscall.SYS_GETPEERNAME, s.fd) }

// timeout returns SO_RCVTIMEO or SO_SNDTIMEO (0: none), as the host
// socket keeps it (setsockopt passes it there, where it rounds it to its
// clock ticks and never applies it: the host socket does not block).
func (s *Socket) timeout(name int) time.Duration {
	b, err := hostGetsockopt(s.fd, solSocket, name, 16)
	if err != nil || len(b) < 16 {
		return 0
	}
	sec, usec := int64(binary.LittleEndian.Uint64(b)), int64(binary.LittleEndian.Uint64(b[8:]))
	return time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond
}

// wait waits for events on the host socket until deadline (if timeout >
// 0). It returns EAGAIN at the deadline, ErrRestart when interrupted
// without a timeout and EINTR with one (sock_intr_errno).
func (s *Socket) wait(ctx file.Context, events int16, timeout time.Duration, deadline time.Time) error {
	var err error
	if tw, ok := ctx.(TimedHostWaiter); ok && timeout > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			return linux.EAGAIN
		}
		err = tw.WaitHostTimeout(s.fd, events, left)
	} else {
		err = ctx.WaitHost(s.fd, events)
	}
	switch {
	case err == linux.ETIMEDOUT:
		return linux.EAGAIN
	case err == file.ErrRestart && timeout > 0:
		return linux.EINTR
	}
	return err
}

// retry runs op until it answers something other than EAGAIN, waiting
// for events in between unless nonblock; the timeout option (SO_RCVTIMEO
// or SO_SNDTIMEO) bounds the waits.
func (s *Socket) retry(ctx file.Context, events int16, nonblock bool, timeoutOpt int, op func() error) error {
	err := op()
	if err != linux.EAGAIN || nonblock {
		return err
	}
	timeout := s.timeout(timeoutOpt)
	deadline := time.Now().Add(timeout)
	for {
		if werr := s.wait(ctx, events, timeout, deadline); werr != nil {
			return werr
		}
		if err = op(); err != linux.EAGAIN {
			return err
		}
	}
}
