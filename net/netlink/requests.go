package netlink

import (
	"encoding/binary"
	"syscall"
	"unsafe"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

// request handles the messages of one datagram sent to the kernel, as
// netlink_rcv_skb does: a malformed message ends the datagram; messages
// that are not requests, and control messages, are only acknowledged
// (if NLM_F_ACK); a request's error, or its success with NLM_F_ACK, is
// answered with NLMSG_ERROR; a dump is answered by its messages only.
func (s *Socket) request(ctx file.Context, data []byte) {
	for len(data) >= nlmsgHdrLen {
		h := parseHeader(data)
		if h.Len < nlmsgHdrLen || int(h.Len) > len(data) {
			return
		}
		msg := data[:h.Len]
		var err linux.Errno
		dumped := false
		if h.Flags&NLM_F_REQUEST != 0 && h.Type >= nlmsgMinType {
			err, dumped = s.rtnetlink(ctx, h, msg)
		}
		if !dumped && (h.Flags&NLM_F_ACK != 0 || err != 0) {
			s.ack(h, msg, err)
		}
		data = data[min(align(int(h.Len)), len(data)):]
	}
}

// rtnetlink handles one NETLINK_ROUTE request (rtnetlink_rcv_msg); dumped
// reports a dump, which sends no acknowledgement.
func (s *Socket) rtnetlink(ctx file.Context, h Header, msg []byte) (err linux.Errno, dumped bool) {
	if h.Type > rtmMax {
		return linux.EOPNOTSUPP, false
	}
	if len(msg) < nlmsgHdrLen+1 { // struct rtgenmsg: the family
		return 0, false
	}
	if (h.Type-RTM_BASE)&3 != 2 {
		// RTM_NEW*, RTM_DEL*, RTM_SET*: the host's configuration is
		// not the guest's to change.
		return linux.EPERM, false
	}
	family := msg[nlmsgHdrLen]
	switch {
	case h.Flags&NLM_F_DUMP == NLM_F_DUMP && (h.Type == RTM_GETLINK || h.Type == RTM_GETADDR || h.Type == RTM_GETROUTE):
		err := s.startDump(h, family)
		return err, err == 0
	case h.Flags&NLM_F_DUMP == 0 && h.Type == RTM_GETLINK:
		return s.getLink(h, msg), false
	}
	return linux.EOPNOTSUPP, false
}

// startDump fetches the dump and queues its first datagram; EBUSY while
// another dump of the socket is still being read.
func (s *Socket) startDump(h Header, family uint8) linux.Errno {
	s.mu.Lock()
	busy, portid := len(s.dump) > 0, s.portid
	s.mu.Unlock()
	if busy {
		return linux.EBUSY
	}
	msgs, err := s.ports.dump(h.Type, family)
	if err != nil {
		if e, ok := err.(linux.Errno); ok {
			return e
		}
		return linux.ENOBUFS
	}
	for _, m := range msgs {
		mh := parseHeader(m)
		mh.Seq, mh.Pid = h.Seq, portid
		mh.put(m)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dump = msgs
	if len(s.dump) > 0 {
		s.queueDumpLocked()
	}
	return 0
}

// Link attributes (linux/if_link.h) and the size of struct ifinfomsg.
const (
	iflaIfname     = 3
	ifinfomsgSize  = 16
	rtattrHdrLen   = 4
	ifinfoIndexOff = nlmsgHdrLen + 4
)

// getLink answers RTM_GETLINK for one interface, named by ifi_index or
// by IFLA_IFNAME, with its RTM_NEWLINK message (ENODEV if there is none).
func (s *Socket) getLink(h Header, msg []byte) linux.Errno {
	if len(msg) < nlmsgHdrLen+ifinfomsgSize {
		return linux.EINVAL
	}
	index := int32(binary.LittleEndian.Uint32(msg[ifinfoIndexOff:]))
	name, hasName := attr(msg[nlmsgHdrLen+ifinfomsgSize:], iflaIfname)
	if index == 0 && !hasName {
		return linux.EINVAL
	}
	msgs, err := s.ports.dump(RTM_GETLINK, 0)
	if err != nil {
		return linux.ENOBUFS
	}
	for _, m := range msgs {
		if len(m) < nlmsgHdrLen+ifinfomsgSize || parseHeader(m).Type != RTM_GETLINK-2 {
			continue
		}
		mi := int32(binary.LittleEndian.Uint32(m[ifinfoIndexOff:]))
		mn, _ := attr(m[nlmsgHdrLen+ifinfomsgSize:], iflaIfname)
		if (index != 0 && mi != index) || (index == 0 && cstring(mn) != cstring(name)) {
			continue
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		mh := parseHeader(m)
		mh.Flags, mh.Seq, mh.Pid = 0, h.Seq, s.portid
		mh.put(m)
		s.deliverLocked(datagram{data: padded(m)})
		return 0
	}
	return linux.ENODEV
}

// attr finds attribute typ among rtattrs.
func attr(b []byte, typ uint16) ([]byte, bool) {
	for len(b) >= rtattrHdrLen {
		n := int(binary.LittleEndian.Uint16(b))
		if n < rtattrHdrLen || n > len(b) {
			break
		}
		if binary.LittleEndian.Uint16(b[2:])&0x3fff == typ {
			return b[rtattrHdrLen:n], true
		}
		b = b[min(align(n), len(b)):]
	}
	return nil, false
}

// cstring is b up to its first NUL.
func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// padded is msg with its padding to NLMSG_ALIGNTO.
func padded(msg []byte) []byte {
	return append(append([]byte(nil), msg...), make([]byte, align(len(msg))-len(msg))...)
}

// ack queues NLMSG_ERROR for the request msg: struct nlmsgerr (the
// negative errno and the request's header), followed for an error by the
// rest of the request unless NETLINK_CAP_ACK; a capped one says
// NLM_F_CAPPED.
func (s *Socket) ack(h Header, msg []byte, err linux.Errno) {
	s.mu.Lock()
	defer s.mu.Unlock()
	req := msg[:nlmsgHdrLen]
	var flags uint16
	if err != 0 && !s.flags[optCapAck] {
		req = msg
	} else {
		flags = NLM_F_CAPPED
	}
	out := make([]byte, nlmsgHdrLen+4+len(req))
	Header{Len: uint32(len(out)), Type: NLMSG_ERROR, Flags: flags, Seq: h.Seq, Pid: s.portid}.put(out)
	binary.LittleEndian.PutUint32(out[nlmsgHdrLen:], uint32(-int32(err)))
	copy(out[nlmsgHdrLen+4:], req)
	s.deliverLocked(datagram{data: padded(out)})
}

// maxDump bounds a host dump.
const maxDump = 16 << 20

// HostDump makes a dump request on a host NETLINK_ROUTE socket of its
// own: the request carries only the type and the family, and the answer
// is read until NLMSG_DONE or NLMSG_ERROR.
func HostDump(typ uint16, family uint8) ([][]byte, error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	tv := syscall.Timeval{Sec: 5}
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	req := make([]byte, align(nlmsgHdrLen+1))
	Header{Len: nlmsgHdrLen + 1, Type: typ, Flags: NLM_F_REQUEST | NLM_F_DUMP, Seq: 1}.put(req)
	req[nlmsgHdrLen] = family
	if err := syscall.Sendto(fd, req, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return nil, err
	}
	var msgs [][]byte
	buf := make([]byte, 64<<10)
	size := 0
	for {
		n, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
		if e != 0 {
			if e == syscall.EINTR {
				continue
			}
			return nil, e
		}
		if size += int(n); n == 0 || size > maxDump {
			return nil, linux.ENOBUFS
		}
		for _, m := range splitMessages(buf[:n]) {
			m = append([]byte(nil), m...)
			msgs = append(msgs, m)
			if t := parseHeader(m).Type; t == NLMSG_DONE || t == NLMSG_ERROR {
				return msgs, nil
			}
		}
	}
}
