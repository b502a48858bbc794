package unix

import (
	"encoding/binary"
	"time"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

// Socket option levels and SOL_SOCKET options (asm-generic/socket.h).
const (
	SOL_SOCKET = 1

	SO_DEBUG        = 1
	SO_REUSEADDR    = 2
	SO_TYPE         = 3
	SO_ERROR        = 4
	SO_DONTROUTE    = 5
	SO_BROADCAST    = 6
	SO_SNDBUF       = 7
	SO_RCVBUF       = 8
	SO_KEEPALIVE    = 9
	SO_OOBINLINE    = 10
	SO_NO_CHECK     = 11
	SO_PRIORITY     = 12
	SO_LINGER       = 13
	SO_REUSEPORT    = 15
	SO_PASSCRED     = 16
	SO_PEERCRED     = 17
	SO_RCVLOWAT     = 18
	SO_SNDLOWAT     = 19
	SO_RCVTIMEO_OLD = 20
	SO_SNDTIMEO_OLD = 21
	SO_ACCEPTCONN   = 30
	SO_SNDBUFFORCE  = 32
	SO_RCVBUFFORCE  = 33
	SO_PASSSEC      = 34
	SO_PROTOCOL     = 38
	SO_DOMAIN       = 39
	SO_RCVTIMEO_NEW = 66
	SO_SNDTIMEO_NEW = 67
)

// Minimum buffer sizes: SOCK_MIN_SNDBUF and SOCK_MIN_RCVBUF (twice and
// once TCP_SKB_MIN_TRUESIZE, 2048 + the aligned size of an skb).
const (
	sockMinSndbuf = 4608
	sockMinRcvbuf = 2304
)

// plainOpts are the options a unix socket accepts and reports back
// without acting on them.
var plainOpts = map[int]bool{SO_DEBUG: true, SO_REUSEADDR: true, SO_DONTROUTE: true, SO_BROADCAST: true,
	SO_KEEPALIVE: true, SO_OOBINLINE: true, SO_NO_CHECK: true, SO_PRIORITY: true, SO_REUSEPORT: true,
	SO_PASSSEC: true}

func intBytes(v int32) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(v)) }

func boolInt(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// GetSockOpt implements socket.Socket (sk_getsockopt for SOL_SOCKET;
// AF_UNIX has no options of its own: EOPNOTSUPP). Timeouts are struct
// timeval of x86-64 (the system call layer converts i386's).
func (s *Socket) GetSockOpt(ctx file.Context, level, name int, max int) ([]byte, error) {
	if level != SOL_SOCKET {
		return nil, linux.EOPNOTSUPP
	}
	n := s.n
	n.mu.Lock()
	defer n.unlock()
	switch name {
	case SO_TYPE:
		return intBytes(int32(s.typ)), nil
	case SO_DOMAIN:
		return intBytes(AF_UNIX), nil
	case SO_PROTOCOL:
		return intBytes(0), nil
	case SO_ERROR:
		err := s.err
		s.err = 0
		return intBytes(int32(err)), nil
	case SO_ACCEPTCONN:
		return intBytes(boolInt(s.state == stateListening)), nil
	case SO_PASSCRED:
		return intBytes(boolInt(s.passcred)), nil
	case SO_SNDBUF:
		return intBytes(int32(s.sndbuf)), nil
	case SO_RCVBUF:
		return intBytes(int32(s.rcvbuf)), nil
	case SO_RCVLOWAT, SO_SNDLOWAT:
		return intBytes(1), nil
	case SO_PEERCRED:
		c := file.Ucred{UID: ^uint32(0), GID: ^uint32(0)}
		if s.peerCred != nil {
			c = *s.peerCred
		}
		b := binary.LittleEndian.AppendUint32(nil, uint32(c.Pid))
		b = binary.LittleEndian.AppendUint32(b, c.UID)
		return binary.LittleEndian.AppendUint32(b, c.GID), nil
	case SO_LINGER:
		return append([]byte(nil), s.linger[:]...), nil
	case SO_RCVTIMEO_OLD, SO_RCVTIMEO_NEW:
		return timeval(s.rcvTimeout), nil
	case SO_SNDTIMEO_OLD, SO_SNDTIMEO_NEW:
		return timeval(s.sndTimeout), nil
	}
	if plainOpts[name] {
		return intBytes(s.intOpts[name]), nil
	}
	return nil, linux.ENOPROTOOPT
}

func timeval(d time.Duration) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(d/time.Second))
	return binary.LittleEndian.AppendUint64(b, uint64(d%time.Second/time.Microsecond))
}

// SetSockOpt implements socket.Socket.
func (s *Socket) SetSockOpt(ctx file.Context, level, name int, val []byte) error {
	if level != SOL_SOCKET {
		return linux.EOPNOTSUPP
	}
	n := s.n
	switch name {
	case SO_RCVTIMEO_OLD, SO_RCVTIMEO_NEW, SO_SNDTIMEO_OLD, SO_SNDTIMEO_NEW:
		d, err := parseTimeval(val)
		if err != nil {
			return err
		}
		n.mu.Lock()
		defer n.unlock()
		if name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW {
			s.rcvTimeout = d
		} else {
			s.sndTimeout = d
		}
		return nil
	case SO_LINGER:
		if len(val) < 8 {
			return linux.EINVAL
		}
		n.mu.Lock()
		defer n.unlock()
		copy(s.linger[:], val)
		return nil
	}
	if len(val) < 4 {
		return linux.EINVAL
	}
	v := int32(binary.LittleEndian.Uint32(val))
	n.mu.Lock()
	defer n.unlock()
	switch name {
	case SO_PASSCRED:
		s.passcred = v != 0
	case SO_SNDBUF, SO_SNDBUFFORCE:
		u := uint32(v)
		if name == SO_SNDBUF {
			u = min(u, uint32(n.cfg.WmemMax))
		}
		s.sndbuf = max(int(min(u, 0x7fffffff/2))*2, sockMinSndbuf)
		s.notifyLocked()
	case SO_RCVBUF, SO_RCVBUFFORCE:
		u := uint32(v)
		if name == SO_RCVBUF {
			u = min(u, uint32(n.cfg.RmemMax))
		}
		s.rcvbuf = max(int(min(u, 0x7fffffff/2))*2, sockMinRcvbuf)
	case SO_RCVLOWAT, SO_SNDLOWAT:
	default:
		if !plainOpts[name] {
			return linux.ENOPROTOOPT
		}
		if s.intOpts == nil {
			s.intOpts = map[int]int32{}
		}
		if name != SO_PRIORITY {
			v = boolInt(v != 0)
		}
		s.intOpts[name] = v
	}
	return nil
}

// parseTimeval decodes x86-64's struct timeval as sock_set_timeout does:
// EDOM for bad microseconds, zero for negative times, zero = no timeout.
func parseTimeval(val []byte) (time.Duration, error) {
	if len(val) < 16 {
		return 0, linux.EINVAL
	}
	sec := int64(binary.LittleEndian.Uint64(val))
	usec := int64(binary.LittleEndian.Uint64(val[8:]))
	if usec < 0 || usec >= 1000000 {
		return 0, linux.EDOM
	}
	if sec < 0 {
		return 0, nil
	}
	if sec > int64(time.Duration(1<<62)/time.Second) {
		return 0, nil
	}
	return time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond, nil
}
