package inet

import (
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/net/socket"
)

// Message flags (linux/socket.h).
const (
	MSG_OOB       = 0x1
	MSG_PEEK      = 0x2
	MSG_DONTROUTE = 0x4
	MSG_TRUNC     = 0x20
	MSG_DONTWAIT  = 0x40
	MSG_EOR       = 0x80
	MSG_WAITALL   = 0x100
	MSG_CONFIRM   = 0x800
	MSG_ERRQUEUE  = 0x2000
	MSG_NOSIGNAL  = 0x4000
	MSG_MORE      = 0x8000
)

// sendFlags and recvFlags are the flags a guest's send and receive pass
// to the host. MSG_DONTWAIT is always set there, MSG_NOSIGNAL on sends
// too (cmaemu raises the guest's SIGPIPE itself); MSG_WAITALL is done here.
const (
	sendFlags = MSG_OOB | MSG_DONTROUTE | MSG_EOR | MSG_CONFIRM | MSG_MORE
	recvFlags = MSG_OOB | MSG_PEEK | MSG_TRUNC
)

// Read implements file.File: recv with no flags.
func (s *Socket) Read(ctx file.Context, bufs [][]byte, off int64) (int, error) {
	return socket.Read(s, ctx, bufs, off)
}

// Write implements file.File: send with no flags.
func (s *Socket) Write(ctx file.Context, bufs [][]byte, off int64) (int, error) {
	return socket.Write(s, ctx, bufs, off)
}

// SendMsg implements socket.Socket. A blocking send on a stream socket
// sends everything unless interrupted or timed out (then the count sent
// so far, if any); EPIPE raises SIGPIPE unless MSG_NOSIGNAL.
func (s *Socket) SendMsg(ctx file.Context, m *socket.Message, flags int) (int, error) {
	if len(m.Addr) > sockaddrMax {
		return 0, linux.EINVAL
	}
	if len(m.Rights) > 0 || m.Creds != nil {
		return 0, linux.EINVAL
	}
	hostFlags := flags&sendFlags | MSG_DONTWAIT | MSG_NOSIGNAL
	nonblock := s.Nonblocking() || flags&MSG_DONTWAIT != 0
	bufs, left := m.Data, socket.Len(m.Data)
	sent := 0
	err := s.retry(ctx, file.PollOut, nonblock, soSndTimeo, func() error {
		n, err := hostSendmsg(s.fd, bufs, m.Addr, hostFlags)
		if err != nil {
			return err
		}
		sent += n
		left -= n
		if s.typ != SOCK_STREAM || left == 0 || nonblock {
			return nil
		}
		bufs = socket.Skip(bufs, n)
		return linux.EAGAIN // the rest after the socket has room again
	})
	if sent > 0 {
		return sent, nil
	}
	if err == linux.EPIPE && flags&MSG_NOSIGNAL == 0 {
		ctx.SendSIGPIPE()
	}
	return 0, err
}

// RecvMsg implements socket.Socket. MSG_WAITALL on a stream socket
// waits for the whole buffer unless the peer closes, an error comes or
// the call is interrupted or times out (then the count so far, if any).
// MSG_ERRQUEUE finds an empty queue: cmaemu enables no error reporting.
func (s *Socket) RecvMsg(ctx file.Context, m *socket.Message, flags int) (int, error) {
	if flags&MSG_ERRQUEUE != 0 {
		return 0, linux.EAGAIN
	}
	hostFlags := flags&recvFlags | MSG_DONTWAIT
	nonblock := s.Nonblocking() || flags&MSG_DONTWAIT != 0
	waitAll := flags&MSG_WAITALL != 0 && s.typ == SOCK_STREAM && flags&(MSG_PEEK|MSG_TRUNC|MSG_OOB) == 0
	bufs, left := m.Data, socket.Len(m.Data)
	got := 0
	first := true
	err := s.retry(ctx, file.PollIn, nonblock, soRcvTimeo, func() error {
		n, addr, mflags, err := hostRecvmsg(s.fd, bufs, hostFlags)
		if err != nil {
			return err
		}
		if first {
			m.Addr, m.Flags, first = addr, mflags, false
		}
		got += n
		left -= n
		if !waitAll || n == 0 || left <= 0 {
			return nil
		}
		bufs = socket.Skip(bufs, n)
		return linux.EAGAIN
	})
	if got > 0 {
		return got, nil
	}
	return 0, err
}
