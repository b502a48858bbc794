package netlink

import (
	"encoding/binary"
	"time"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

// Option levels and names (asm-generic/socket.h, linux/netlink.h).
const (
	solSocket  = 1
	solNetlink = 270

	soType        = 3
	soError       = 4
	soSndBuf      = 7
	soRcvBuf      = 8
	soPassCred    = 16
	soRcvTimeoOld = 20 // x86-64's struct timeval (the i386 form is converted before)
	soSndTimeoOld = 21
	soProtocol    = 38
	soDomain      = 39
	soRcvTimeo    = 66
	soSndTimeo    = 67

	optAddMembership  = 1
	optDropMembership = 2
	optPktInfo        = 3
	optBroadcastError = 4
	optNoENOBUFS      = 5
	optListenAllNSID  = 8
	optListMembership = 9
	optCapAck         = 10
	optExtAck         = 11
	optGetStrictChk   = 12
)

// timeval is a socket timeout as the guest set it.
type timeval struct{ sec, usec int64 }

// duration is the timeout (0: none).
func (tv timeval) duration() time.Duration {
	if tv.sec < 0 {
		return 0
	}
	return time.Duration(tv.sec)*time.Second + time.Duration(tv.usec)*time.Microsecond
}

// immediate reports a negative timeout, which Linux keeps as "do not
// wait".
func (tv timeval) immediate() bool { return tv.sec < 0 }

// int32Bytes lays out v as an int.
func int32Bytes(v int32) []byte {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, uint32(v))
	return b
}

func boolInt(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// minBuf is SOCK_MIN_RCVBUF and SOCK_MIN_SNDBUF, about.
const minBuf = 2304

// GetSockOpt implements socket.Socket: the whole value.
func (s *Socket) GetSockOpt(ctx file.Context, level, name int, max int) ([]byte, error) {
	if max < 0 {
		return nil, linux.EINVAL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var v []byte
	switch level {
	case solSocket:
		switch name {
		case soType:
			v = int32Bytes(int32(s.typ))
		case soProtocol:
			v = int32Bytes(int32(s.protocol))
		case soDomain:
			v = int32Bytes(AF_NETLINK)
		case soError:
			v = int32Bytes(int32(s.sockErr))
			s.sockErr = 0
		case soRcvBuf:
			v = int32Bytes(int32(s.rcvbuf))
		case soSndBuf:
			v = int32Bytes(int32(s.sndbuf))
		case soPassCred:
			v = int32Bytes(boolInt(s.passcred))
		case soRcvTimeo, soRcvTimeoOld, soSndTimeo, soSndTimeoOld:
			tv := s.rcvTimeo
			if name == soSndTimeo || name == soSndTimeoOld {
				tv = s.sndTimeo
			}
			v = make([]byte, 16)
			if tv.sec >= 0 {
				binary.LittleEndian.PutUint64(v, uint64(tv.sec))
				binary.LittleEndian.PutUint64(v[8:], uint64(tv.usec))
			}
		default:
			return nil, linux.ENOPROTOOPT
		}
	case solNetlink:
		switch name {
		case optPktInfo, optBroadcastError, optNoENOBUFS, optListenAllNSID, optCapAck, optExtAck, optGetStrictChk:
			if max < 4 {
				return nil, linux.EINVAL
			}
			v = int32Bytes(boolInt(s.flags[name]))
		case optListMembership:
			v = int32Bytes(int32(s.groups))
		default:
			return nil, linux.ENOPROTOOPT
		}
	default:
		return nil, linux.ENOPROTOOPT
	}
	return v, nil // the caller cuts it to max, after an i386 timeval's conversion
}

// SetSockOpt implements socket.Socket.
func (s *Socket) SetSockOpt(ctx file.Context, level, name int, val []byte) error {
	var iv int32
	if len(val) >= 4 {
		iv = int32(binary.LittleEndian.Uint32(val))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch level {
	case solSocket:
		if len(val) < 4 {
			return linux.EINVAL
		}
		switch name {
		case soRcvBuf, soSndBuf:
			n := max(int(min(uint32(iv), uint32(defaultBuf)))*2, minBuf)
			if name == soRcvBuf {
				s.rcvbuf = n
			} else {
				s.sndbuf = n
			}
		case soPassCred:
			s.passcred = iv != 0
		case soRcvTimeo, soRcvTimeoOld, soSndTimeo, soSndTimeoOld:
			if len(val) < 16 {
				return linux.EINVAL
			}
			tv := timeval{int64(binary.LittleEndian.Uint64(val)), int64(binary.LittleEndian.Uint64(val[8:]))}
			if tv.usec < 0 || tv.usec >= 1000000 {
				return linux.EDOM
			}
			if name == soRcvTimeo || name == soRcvTimeoOld {
				s.rcvTimeo = tv
			} else {
				s.sndTimeo = tv
			}
		default:
			return linux.ENOPROTOOPT
		}
	case solNetlink:
		switch name {
		case optAddMembership, optDropMembership:
			if iv <= 0 || iv > rtnlGroupMax {
				return linux.EINVAL
			}
			if iv <= 32 {
				if name == optAddMembership {
					s.groups |= 1 << (iv - 1)
				} else {
					s.groups &^= 1 << (iv - 1)
				}
			}
		case optPktInfo, optBroadcastError, optNoENOBUFS, optListenAllNSID, optCapAck, optExtAck, optGetStrictChk:
			s.flags[name] = iv != 0
		default:
			return linux.ENOPROTOOPT
		}
	default:
		return linux.ENOPROTOOPT
	}
	return nil
}
