package inet

import (
	"encoding/binary"
	"runtime"
	"syscall"
	"unsafe"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

// Socket ioctls (asm-generic/ioctls.h, linux/sockios.h).
const (
	FIONREAD    = 0x541b // SIOCINQ
	SIOCOUTQ    = 0x5411 // TIOCOUTQ
	SIOCATMARK  = 0x8905
	SIOCOUTQNSD = 0x894b

	SIOCGIFNAME    = 0x8910
	SIOCGIFCONF    = 0x8912
	SIOCGIFFLAGS   = 0x8913
	SIOCGIFADDR    = 0x8915
	SIOCGIFDSTADDR = 0x8917
	SIOCGIFBRDADDR = 0x8919
	SIOCGIFNETMASK = 0x891b
	SIOCGIFMETRIC  = 0x891d
	SIOCGIFMTU     = 0x8921
	SIOCGIFHWADDR  = 0x8927
	SIOCGIFINDEX   = 0x8933
	SIOCGIFTXQLEN  = 0x8942
)

// Ioctl implements socket.Socket: the queue sizes and the urgent mark of
// the host socket. The interface ioctls, which Linux answers for every
// socket family, are DeviceIoctl and InterfaceConf.
func (s *Socket) Ioctl(ctx file.Context, cmd uint32, arg []byte) ([]byte, error) {
	switch cmd {
	case FIONREAD, SIOCOUTQ, SIOCATMARK, SIOCOUTQNSD:
		v, err := hostIoctlInt(s.fd, cmd)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 4)
		binary.LittleEndian.PutUint32(out, uint32(v))
		return out, nil
	}
	return nil, linux.ENOTTY
}

// IfNameSize is IFNAMSIZ; an ifreq's union follows the name.
const IfNameSize = 16

// IfReqCore is the part of struct ifreq that every ABI shares and that
// the supported requests read and write: the name and the first 16
// bytes of the union (a sockaddr, an int or a short). struct ifreq is 40
// bytes on x86-64 and 32 on i386 (the union's struct ifmap differs); the
// bytes past the core are left as the guest passed them.
const IfReqCore = IfNameSize + 16

// IsDeviceIoctl reports whether cmd is an interface ioctl DeviceIoctl
// answers (SIOCGIFCONF is InterfaceConf).
func IsDeviceIoctl(cmd uint32) bool {
	switch cmd {
	case SIOCGIFNAME, SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFDSTADDR, SIOCGIFBRDADDR, SIOCGIFNETMASK,
		SIOCGIFMETRIC, SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFINDEX, SIOCGIFTXQLEN:
		return true
	}
	return false
}

// DeviceIoctl answers an interface ioctl from the host's interfaces: req
// is the guest's ifreq core (IfReqCore bytes), and the result is the core
// to write back. Only the name (terminated, as Linux terminates it) or,
// for SIOCGIFNAME, the index reaches the host, in a request cmaemu makes
// on its own socket.
func DeviceIoctl(cmd uint32, req []byte) ([]byte, error) {
	if !IsDeviceIoctl(cmd) {
		return nil, linux.ENOTTY
	}
	if len(req) < IfReqCore {
		return nil, linux.EFAULT
	}
	var host [40]byte // x86-64's struct ifreq
	if cmd == SIOCGIFNAME {
		copy(host[IfNameSize:IfNameSize+4], req[IfNameSize:])
	} else {
		copy(host[:IfNameSize-1], req)
		for i := range IfNameSize {
			if host[i] == 0 {
				clear(host[i:IfNameSize])
				break
			}
		}
	}
	if err := withHostSocket(func(fd int) error { return hostIoctlPtr(fd, cmd, unsafe.Pointer(&host[0])) }); err != nil {
		return nil, err
	}
	out := append([]byte(nil), req[:IfReqCore]...)
	switch cmd {
	case SIOCGIFNAME:
		copy(out[:IfNameSize], host[:IfNameSize])
	default:
		copy(out[IfNameSize:], host[IfNameSize:IfReqCore])
	}
	return out, nil
}

// maxInterfaces bounds the entries SIOCGIFCONF reads from the host.
const maxInterfaces = 4096

// InterfaceConf answers SIOCGIFCONF: the IPv4 addresses of the host's
// interfaces, each an ifreq core (name and struct sockaddr_in), at most
// limit of them (limit < 0: all; the guest passed no buffer and learns
// the length needed from the count).
func InterfaceConf(limit int) ([][IfReqCore]byte, error) {
	const hostIfreq = 40
	var entries [][IfReqCore]byte
	err := withHostSocket(func(fd int) error {
		// struct ifconf on x86-64: int ifc_len; (padding); char *ifc_buf.
		var conf struct {
			len int32
			_   int32
			buf uintptr
		}
		if err := hostIoctlPtr(fd, SIOCGIFCONF, unsafe.Pointer(&conf)); err != nil {
			return err
		}
		n := min(int(conf.len)/hostIfreq, maxInterfaces)
		if n == 0 {
			return nil
		}
		buf := make([]byte, n*hostIfreq)
		conf.len, conf.buf = int32(len(buf)), uintptr(unsafe.Pointer(&buf[0]))
		err := hostIoctlPtr(fd, SIOCGIFCONF, unsafe.Pointer(&conf))
		runtime.KeepAlive(buf)
		if err != nil {
			return err
		}
		for i := 0; i+hostIfreq <= int(conf.len) && i < len(buf); i += hostIfreq {
			var e [IfReqCore]byte
			copy(e[:], buf[i:])
			entries = append(entries, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if limit >= 0 && len(entries) > limit {
		entries = entries[:limit]
	}
	return entries, nil
}

// withHostSocket runs f with a fresh host UDP socket, as the interface
// ioctls need one.
func withHostSocket(f func(fd int) error) error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		fd, err = syscall.Socket(syscall.AF_INET6, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	}
	if err != nil {
		return errno(err.(syscall.Errno))
	}
	defer syscall.Close(fd)
	return f(fd)
}

func hostIoctlPtr(fd int, req uint32, p unsafe.Pointer) error {
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(p))
	return errno(e)
}
