package syscalls

import (
	"encoding/binary"
	"time"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
	"github.com/cmaemu/cmaemu/net/socket"
	"github.com/cmaemu/cmaemu/net/unix"
)

// msgLayout is struct msghdr, struct mmsghdr and struct cmsghdr of one
// ABI: x86-64's, or i386's compat_msghdr (all fields 32-bit).
type msgLayout struct {
	size     int // sizeof(struct msghdr)
	mmsgSize int // sizeof(struct mmsghdr); msg_len follows the msghdr
	// field offsets: name, namelen, iov, iovlen, control, controllen, flags
	name, namelen, iov, iovlen, control, controllen, flags int
	word                                                   int // size of pointers and size_t
	cmsgHdr                                                int // sizeof(struct cmsghdr)
	cmsgAlign                                              int
}

var (
	msgLayout64 = msgLayout{size: 56, mmsgSize: 64, name: 0, namelen: 8, iov: 16, iovlen: 24, control: 32,
		controllen: 40, flags: 48, word: 8, cmsgHdr: 16, cmsgAlign: 8}
	msgLayout32 = msgLayout{size: 28, mmsgSize: 32, name: 0, namelen: 4, iov: 8, iovlen: 12, control: 16,
		controllen: 20, flags: 24, word: 4, cmsgHdr: 12, cmsgAlign: 4}
)

func (t *Task) msgLayout() *msgLayout {
	if t.mode32() {
		return &msgLayout32
	}
	return &msgLayout64
}

func (l *msgLayout) getWord(b []byte) uint64 {
	if l.word == 4 {
		return uint64(binary.LittleEndian.Uint32(b))
	}
	return binary.LittleEndian.Uint64(b)
}

func (l *msgLayout) putWord(b []byte, v uint64) {
	if l.word == 4 {
		binary.LittleEndian.PutUint32(b, uint32(v))
	} else {
		binary.LittleEndian.PutUint64(b, v)
	}
}

// msgHeader is a decoded struct msghdr.
type msgHeader struct {
	name       mm.Addr
	namelen    int32
	iov        mm.Addr
	iovlen     uint64
	control    mm.Addr
	controllen uint64
}

// readMsgHeader reads the msghdr at addr (copy_msghdr_from_user):
// EMSGSIZE for more than UIO_MAXIOV iovecs.
func (t *Task) readMsgHeader(addr mm.Addr) (msgHeader, error) {
	l := t.msgLayout()
	b := make([]byte, l.size)
	if _, err := t.MM().CopyIn(addr, b); err != nil {
		return msgHeader{}, err
	}
	h := msgHeader{name: mm.Addr(l.getWord(b[l.name:])), namelen: int32(binary.LittleEndian.Uint32(b[l.namelen:])),
		iov: mm.Addr(l.getWord(b[l.iov:])), iovlen: l.getWord(b[l.iovlen:]),
		control: mm.Addr(l.getWord(b[l.control:])), controllen: l.getWord(b[l.controllen:])}
	if h.name == 0 {
		h.namelen = 0
	}
	if h.namelen < 0 {
		return h, linux.EINVAL
	}
	h.namelen = min(h.namelen, sockaddrMax)
	if h.iovlen > linux.UIO_MAXIOV {
		return h, linux.EMSGSIZE
	}
	return h, nil
}

// segments imports the header's iovecs.
func (t *Task) msgSegments(h msgHeader) ([]segment, error) {
	iovs, err := t.table.abi.iovec.importIovecs(t.MM(), h.iov, int(h.iovlen))
	if err != nil {
		return nil, err
	}
	segs := make([]segment, len(iovs))
	for i, v := range iovs {
		segs[i] = segment{v.Base, v.Len}
	}
	return segs, nil
}

// Control message types of SOL_SOCKET.
const (
	scmRights      = 1
	scmCredentials = 2
	// maxControl bounds a send's control buffer (net.core.optmem_max):
	// ENOBUFS beyond.
	maxControl = 128 << 10
)

func (l *msgLayout) cmsgAlignUp(n int) int { return (n + l.cmsgAlign - 1) &^ (l.cmsgAlign - 1) }

// readControl decodes a send's control messages (__scm_send): the
// SCM_RIGHTS files with references the message takes over, and
// SCM_CREDENTIALS. Malformed headers, unknown types and more than
// SCM_MAX_FD files are EINVAL; a descriptor that is not open EBADF.
func (t *Task) readControl(h msgHeader, m *socket.Message) error {
	if h.controllen == 0 {
		return nil
	}
	if h.controllen > 0x7fffffff || h.controllen > maxControl {
		return linux.ENOBUFS
	}
	l := t.msgLayout()
	b := make([]byte, h.controllen)
	if h.controllen < uint64(l.cmsgHdr) {
		// Linux ignores a control buffer too short for one header.
		return nil
	}
	if _, err := t.MM().CopyIn(h.control, b); err != nil {
		return err
	}
	for off := 0; off+l.cmsgHdr <= len(b); {
		clen := int(l.getWord(b[off:]))
		if l.word == 8 && l.getWord(b[off:]) > uint64(len(b)) {
			return linux.EINVAL
		}
		level := int32(binary.LittleEndian.Uint32(b[off+l.word:]))
		typ := int32(binary.LittleEndian.Uint32(b[off+l.word+4:]))
		if clen < l.cmsgHdr || clen > len(b)-off {
			return linux.EINVAL
		}
		data := b[off+l.cmsgHdr : off+clen]
		if level == unix.SOL_SOCKET {
			if err := t.controlMessage(typ, data, m); err != nil {
				return err
			}
		}
		off += l.cmsgAlignUp(clen)
	}
	return nil
}

func (t *Task) controlMessage(typ int32, data []byte, m *socket.Message) error {
	switch typ {
	case scmRights:
		n := len(data) / 4
		if len(m.Rights)+n > unix.ScmMaxFD {
			return linux.EINVAL
		}
		for i := range n {
			f, err := t.proc.fds.Get(int32(binary.LittleEndian.Uint32(data[4*i:])))
			if err != nil {
				return err
			}
			m.Rights = append(m.Rights, f)
		}
	case scmCredentials:
		if len(data) != 12 {
			return linux.EINVAL
		}
		m.Creds = &file.Ucred{Pid: int32(binary.LittleEndian.Uint32(data)), UID: binary.LittleEndian.Uint32(data[4:]),
			GID: binary.LittleEndian.Uint32(data[8:])}
	default:
		return linux.EINVAL
	}
	return nil
}

// sendMsg is sendmsg(2) on socket s with the msghdr at addr.
func (t *Task) sendMsg(s socket.Socket, addr mm.Addr, flags int) (int, error) {
	h, err := t.readMsgHeader(addr)
	if err != nil {
		return 0, err
	}
	segs, err := t.msgSegments(h)
	if err != nil {
		return 0, err
	}
	m := &socket.Message{}
	if h.namelen > 0 {
		if m.Addr, err = t.readSockaddr(h.name, h.namelen); err != nil {
			return 0, err
		}
	}
	if err := t.readControl(h, m); err != nil {
		dropFiles(m.Rights)
		return 0, err
	}
	bufs, unpin, err := t.dataBuffers(segs, mm.Read)
	if err != nil {
		dropFiles(m.Rights)
		return 0, err
	}
	defer unpin()
	m.Data = bufs
	return s.SendMsg(t, m, flags)
}

// recvMsg is recvmsg(2) on socket s with the msghdr at addr: the data,
// the source address, then the control messages (credentials first,
// then the files, installed as far as the buffer has room: MSG_CTRUNC
// and the others closed beyond), and msg_flags.
func (t *Task) recvMsg(s socket.Socket, addr mm.Addr, flags int) (int, error) {
	h, err := t.readMsgHeader(addr)
	if err != nil {
		return 0, err
	}
	segs, err := t.msgSegments(h)
	if err != nil {
		return 0, err
	}
	bufs, unpin, err := t.dataBuffers(segs, mm.Write)
	if err != nil {
		return 0, err
	}
	defer unpin()
	m := &socket.Message{Data: bufs}
	n, err := s.RecvMsg(t, m, flags&^unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		dropFiles(m.Rights)
		return 0, err
	}
	l := t.msgLayout()
	if h.name != 0 {
		namelen := min(int(h.namelen), len(m.Addr))
		if namelen > 0 {
			if _, err := t.MM().CopyOut(h.name, m.Addr[:namelen]); err != nil {
				dropFiles(m.Rights)
				return 0, err
			}
		}
	}
	ctl := t.writeControl(h, m, flags&unix.MSG_CMSG_CLOEXEC != 0)
	out := func(off int, v uint64, size int) error {
		b := make([]byte, size)
		if size == 4 {
			binary.LittleEndian.PutUint32(b, uint32(v))
		} else {
			l.putWord(b, v)
		}
		_, err := t.MM().CopyOut(addr+mm.Addr(off), b)
		return err
	}
	msgFlags := uint64(uint32(m.Flags | ctl.flags | flags&unix.MSG_CMSG_CLOEXEC))
	for _, w := range []struct {
		off  int
		v    uint64
		size int
	}{{l.namelen, uint64(len(m.Addr)), 4}, {l.controllen, uint64(ctl.used), l.word}, {l.flags, msgFlags, 4}} {
		if err := out(w.off, w.v, w.size); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// controlResult is what writeControl did.
type controlResult struct {
	used  int // bytes of the control buffer filled
	flags int // MSG_CTRUNC
}

// writeControl writes m's credentials and files into the control buffer
// as put_cmsg and scm_detach_fds do, installing the files that fit.
func (t *Task) writeControl(h msgHeader, m *socket.Message, cloexec bool) controlResult {
	l := t.msgLayout()
	var res controlResult
	room := int(min(h.controllen, 0x7fffffff))
	if h.control == 0 {
		room = 0
	}
	put := func(typ int32, data []byte) {
		if room < l.cmsgHdr {
			res.flags |= unix.MSG_CTRUNC
			return
		}
		clen := l.cmsgHdr + len(data)
		if clen > room {
			res.flags |= unix.MSG_CTRUNC
			clen = room
		}
		b := make([]byte, clen)
		l.putWord(b, uint64(clen))
		binary.LittleEndian.PutUint32(b[l.word:], unix.SOL_SOCKET)
		binary.LittleEndian.PutUint32(b[l.word+4:], uint32(typ))
		copy(b[l.cmsgHdr:], data)
		if _, err := t.MM().CopyOut(h.control+mm.Addr(res.used), b); err != nil {
			res.flags |= unix.MSG_CTRUNC
			room = 0
			return
		}
		adv := min(l.cmsgAlignUp(l.cmsgHdr+len(data)), room)
		res.used += adv
		room -= adv
	}
	if m.Creds != nil {
		c := m.Creds
		b := binary.LittleEndian.AppendUint32(nil, uint32(c.Pid))
		b = binary.LittleEndian.AppendUint32(b, c.UID)
		put(scmCredentials, binary.LittleEndian.AppendUint32(b, c.GID))
	}
	if len(m.Rights) > 0 {
		fit := 0
		if room > l.cmsgHdr {
			fit = (room - l.cmsgHdr) / 4
		}
		var fds []byte
		i := 0
		for ; i < len(m.Rights) && i < fit; i++ {
			fd, err := t.proc.fds.Install(m.Rights[i], 0, cloexec)
			if err != nil {
				i++ // Install dropped the reference
				break
			}
			fds = binary.LittleEndian.AppendUint32(fds, uint32(fd))
		}
		if len(fds) > 0 {
			put(scmRights, fds)
		}
		if i < len(m.Rights) || len(fds) < len(m.Rights) {
			res.flags |= unix.MSG_CTRUNC
		}
		dropFiles(m.Rights[i:])
		m.Rights = nil
	}
	return res
}

// Sendmsg implements sendmsg(2).
func Sendmsg(t *Task, a Args) (uintptr, error) {
	return withSocket(t, a.Int(0), func(s socket.Socket) (uintptr, error) {
		n, err := t.sendMsg(s, a.Pointer(1), int(a.Int(2)))
		return uintptr(n), err
	})
}

// Recvmsg implements recvmsg(2).
func Recvmsg(t *Task, a Args) (uintptr, error) {
	return withSocket(t, a.Int(0), func(s socket.Socket) (uintptr, error) {
		n, err := t.recvMsg(s, a.Pointer(1), int(a.Int(2)))
		return uintptr(n), err
	})
}

// putMsgLen writes msg_len of the mmsghdr at addr.
func (t *Task) putMsgLen(addr mm.Addr, n int) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(n))
	_, err := t.MM().CopyOut(addr+mm.Addr(t.msgLayout().size), b[:])
	return err
}

// Sendmmsg implements sendmmsg(2): the count sent, or the first error.
func Sendmmsg(t *Task, a Args) (uintptr, error) {
	return withSocket(t, a.Int(0), func(s socket.Socket) (uintptr, error) {
		vlen := min(uint64(a.Uint(2)), linux.UIO_MAXIOV)
		l := t.msgLayout()
		sent := 0
		for i := range vlen {
			entry := a.Pointer(1) + mm.Addr(i*uint64(l.mmsgSize))
			n, err := t.sendMsg(s, entry, int(a.Int(3)))
			if err == nil {
				err = t.putMsgLen(entry, n)
			}
			if err != nil {
				if sent > 0 {
					break
				}
				return 0, err
			}
			sent++
		}
		return uintptr(sent), nil
	})
}

// msgWaitForOne is MSG_WAITFORONE: recvmmsg waits for the first message only.
const msgWaitForOne = 0x10000

// recvmmsg is recvmmsg(2) with the timeout in the layout asked (time32:
// i386's old_timespec32): the remaining time is written back.
func recvmmsg(time32 bool) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		return withSocket(t, a.Int(0), func(s socket.Socket) (uintptr, error) {
			var deadline time.Time
			if a.Pointer(4) != 0 {
				d, err := t.timespec(a.Pointer(4), time32)
				if err != nil {
					return 0, err
				}
				deadline = time.Now().Add(d)
			}
			vlen := min(uint64(a.Uint(2)), linux.UIO_MAXIOV)
			flags := int(a.Int(3))
			l := t.msgLayout()
			got := 0
			for i := range vlen {
				entry := a.Pointer(1) + mm.Addr(i*uint64(l.mmsgSize))
				n, err := t.recvMsg(s, entry, flags)
				if err == nil {
					err = t.putMsgLen(entry, n)
				}
				if err != nil {
					if got > 0 {
						break
					}
					return 0, err
				}
				got++
				if flags&msgWaitForOne != 0 {
					flags |= unix.MSG_DONTWAIT
				}
				if !deadline.IsZero() && !time.Now().Before(deadline) {
					break
				}
			}
			if a.Pointer(4) != 0 {
				left := max(time.Until(deadline), 0)
				if err := t.putTimePair(a.Pointer(4), int64(left/time.Second), int64(left%time.Second), time32); err != nil {
					return 0, err
				}
			}
			return uintptr(got), nil
		})
	}
}

// Recvmmsg implements recvmmsg(2) with a struct timespec of the ABI's
// 64-bit layout; Recvmmsg32 i386's original recvmmsg (old_timespec32).
var (
	Recvmmsg   = recvmmsg(false)
	Recvmmsg32 = recvmmsg(true)
)
