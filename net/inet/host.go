package inet

import (
	"runtime"
	"syscall"
	"unsafe"

	"github.com/cmaemu/cmaemu/linux"
)

// The host calls of this package take raw sockaddr bytes and iovecs, so
// that a guest's address reaches the host kernel exactly as the guest laid
// it out (the layouts of sockaddr_in and sockaddr_in6 are the same on
// x86-64 and i386) and the host kernel's own checks and errno values
// apply. Every host socket is non-blocking: none of these calls waits.

// sockaddrMax is sizeof(struct sockaddr_storage): the largest address
// Linux accepts (move_addr_to_kernel).
const sockaddrMax = 128

// errno converts a host error number to the guest's (x86-64 and i386
// share Linux's generic numbers).
func errno(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return linux.Errno(e)
}

// addrPtr returns a pointer to addr's first byte, or nil for an empty one.
func addrPtr(addr []byte) unsafe.Pointer {
	if len(addr) == 0 {
		return nil
	}
	return unsafe.Pointer(&addr[0])
}

func hostBind(fd int, addr []byte) error {
	_, _, e := syscall.Syscall(syscall.SYS_BIND, uintptr(fd), uintptr(addrPtr(addr)), uintptr(len(addr)))
	runtime.KeepAlive(addr)
	return errno(e)
}

func hostConnect(fd int, addr []byte) error {
	_, _, e := syscall.Syscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(addrPtr(addr)), uintptr(len(addr)))
	runtime.KeepAlive(addr)
	return errno(e)
}

// hostName calls getsockname or getpeername.
func hostName(trap uintptr, fd int) ([]byte, error) {
	var buf [sockaddrMax]byte
	n := uint32(len(buf))
	_, _, e := syscall.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return nil, errno(e)
	}
	return append([]byte(nil), buf[:min(int(n), len(buf))]...), nil
}

// hostAccept accepts a connection as a new non-blocking host socket.
func hostAccept(fd int) (int, []byte, error) {
	var buf [sockaddrMax]byte
	n := uint32(len(buf))
	nfd, _, e := syscall.Syscall6(syscall.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])),
		uintptr(unsafe.Pointer(&n)), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, nil, errno(e)
	}
	return int(nfd), append([]byte(nil), buf[:min(int(n), len(buf))]...), nil
}

func hostGetsockopt(fd, level, name int, max int) ([]byte, error) {
	buf := make([]byte, max)
	n := uint32(max)
	var p unsafe.Pointer
	if max > 0 {
		p = unsafe.Pointer(&buf[0])
	}
	_, _, e := syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name),
		uintptr(p), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		return nil, errno(e)
	}
	return buf[:min(int(n), max)], nil
}

func hostSetsockopt(fd, level, name int, val []byte) error {
	_, _, e := syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name),
		uintptr(addrPtr(val)), uintptr(len(val)), 0)
	runtime.KeepAlive(val)
	return errno(e)
}

// hostSockoptInt reads an int option.
func hostSockoptInt(fd, level, name int) (int32, error) {
	b, err := hostGetsockopt(fd, level, name, 4)
	if err != nil {
		return 0, err
	}
	if len(b) < 4 {
		return 0, linux.EINVAL
	}
	return int32(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24), nil
}

// iovecs lays out bufs as host iovecs.
func iovecs(bufs [][]byte) []syscall.Iovec {
	iov := make([]syscall.Iovec, 0, len(bufs))
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		v := syscall.Iovec{Base: &b[0]}
		v.SetLen(len(b))
		iov = append(iov, v)
	}
	return iov
}

// hostSendmsg sends bufs to addr (nil: the peer) with flags.
func hostSendmsg(fd int, bufs [][]byte, addr []byte, flags int) (int, error) {
	iov := iovecs(bufs)
	var msg syscall.Msghdr
	if len(iov) > 0 {
		msg.Iov = &iov[0]
		msg.Iovlen = uint64(len(iov))
	}
	if len(addr) > 0 {
		msg.Name = &addr[0]
		msg.Namelen = uint32(len(addr))
	}
	n, _, e := syscall.Syscall(syscall.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	runtime.KeepAlive(iov)
	runtime.KeepAlive(addr)
	if e != 0 {
		return 0, errno(e)
	}
	return int(n), nil
}

// hostRecvmsg receives into bufs; it returns the count, the source
// address (nil: none) and the message flags the host reported.
func hostRecvmsg(fd int, bufs [][]byte, flags int) (int, []byte, int, error) {
	iov := iovecs(bufs)
	var name [sockaddrMax]byte
	msg := syscall.Msghdr{Name: &name[0], Namelen: sockaddrMax}
	if len(iov) > 0 {
		msg.Iov = &iov[0]
		msg.Iovlen = uint64(len(iov))
	}
	n, _, e := syscall.Syscall(syscall.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	runtime.KeepAlive(iov)
	if e != 0 {
		return 0, nil, 0, errno(e)
	}
	var addr []byte
	if msg.Namelen > 0 {
		addr = append([]byte(nil), name[:min(int(msg.Namelen), sockaddrMax)]...)
	}
	return int(n), addr, int(msg.Flags), nil
}

// hostPoll returns the poll events fd is ready for now.
func hostPoll(fd int, events int16) int16 {
	type pollFd struct {
		fd      int32
		events  int16
		revents int16
	}
	p := pollFd{fd: int32(fd), events: events}
	_, _, e := syscall.RawSyscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&p)), 1, 0)
	if e != 0 {
		return 0
	}
	return p.revents
}

// hostIoctlInt runs an ioctl whose argument is an int the host writes.
func hostIoctlInt(fd int, req uint32) (int32, error) {
	var v int32
	_, _, e := syscall.RawSyscall(syscall.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(unsafe.Pointer(&v)))
	return v, errno(e)
}
