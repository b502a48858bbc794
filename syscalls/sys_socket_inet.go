package syscalls

import (
	"encoding/binary"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
	"github.com/cmaemu/cmaemu/net/inet"
	"github.com/cmaemu/cmaemu/net/socket"
)

// inetFamily makes AF_INET or AF_INET6 sockets on host sockets; with
// Config.NoNetwork the family is missing, as in a kernel built without
// it (EAFNOSUPPORT).
func inetFamily(family int) socketFamily {
	return socketFamily{create: func(t *Task, typ, protocol, flags int) (socket.Socket, error) {
		if t.k.noNetwork {
			return nil, linux.EAFNOSUPPORT
		}
		return inet.New(t, family, typ|flags&sockNonblock, protocol)
	}}
}

// netlinkFamily makes NETLINK_ROUTE sockets.
var netlinkFamily = socketFamily{create: func(t *Task, typ, protocol, flags int) (socket.Socket, error) {
	return t.k.netlink.New(t, typ|flags&sockNonblock, protocol)
}}

// Sizes of struct ifreq and struct ifconf by ABI.
const (
	ifreqSize64  = 40
	ifreqSize32  = 32
	ifconfSize64 = 16 // int ifc_len, padding, a pointer
	ifconfSize32 = 8
)

// deviceIoctl answers the interface ioctls, which Linux answers on every
// socket whatever its family (dev_ioctl, dev_ifconf); handled is false
// for other requests.
func (t *Task) deviceIoctl(req uint32, arg mm.Addr) (err error, handled bool) {
	if req == inet.SIOCGIFCONF {
		return t.interfaceConf(arg), true
	}
	if !inet.IsDeviceIoctl(req) {
		return nil, false
	}
	size := ifreqSize64
	if t.mode32() {
		size = ifreqSize32
	}
	buf := make([]byte, size)
	if _, err := t.MM().CopyIn(arg, buf); err != nil {
		return err, true
	}
	out, err := inet.DeviceIoctl(req, buf[:inet.IfReqCore])
	if err != nil {
		return err, true
	}
	copy(buf, out)
	_, err = t.MM().CopyOut(arg, buf)
	return err, true
}

// interfaceConf is SIOCGIFCONF: with no buffer, the length the list
// needs; else as many entries (struct ifreq of the ABI: the name and a
// sockaddr_in) as fit, and the length written.
func (t *Task) interfaceConf(arg mm.Addr) error {
	reqSize, confSize := ifreqSize64, ifconfSize64
	if t.mode32() {
		reqSize, confSize = ifreqSize32, ifconfSize32
	}
	conf := make([]byte, confSize)
	if _, err := t.MM().CopyIn(arg, conf); err != nil {
		return err
	}
	length := int32(binary.LittleEndian.Uint32(conf))
	bufAddr := mm.Addr(binary.LittleEndian.Uint32(conf[4:]))
	if !t.mode32() {
		bufAddr = mm.Addr(binary.LittleEndian.Uint64(conf[8:]))
	}
	limit := -1
	if bufAddr != 0 {
		limit = max(int(length), 0) / reqSize
	}
	entries, err := inet.InterfaceConf(limit)
	if err != nil {
		return err
	}
	if bufAddr != 0 {
		out := make([]byte, len(entries)*reqSize)
		for i, e := range entries {
			copy(out[i*reqSize:], e[:])
		}
		if _, err := t.MM().CopyOut(bufAddr, out); err != nil {
			return err
		}
	}
	binary.LittleEndian.PutUint32(conf, uint32(len(entries)*reqSize))
	_, err = t.MM().CopyOut(arg, conf[:4])
	return err
}
