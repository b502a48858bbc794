package syscalls

import (
	"encoding/binary"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
	"github.com/cmaemu/cmaemu/net/inet"
	"github.com/cmaemu/cmaemu/net/netlink"
	"github.com/cmaemu/cmaemu/net/socket"
	"github.com/cmaemu/cmaemu/net/unix"
)

// Socket types and flags common to every family.
const (
	sockTypeMask = 0xf
	sockMax      = 11 // SOCK_MAX: types at or above it are EINVAL
	sockNonblock = linux.O_NONBLOCK
	sockCloexec  = linux.O_CLOEXEC
	nproto       = 46  // NPROTO: families at or above it are EAFNOSUPPORT
	sockaddrMax  = 128 // sizeof(struct sockaddr_storage)
)

// socketFamily makes the sockets of one address family.
type socketFamily struct {
	create func(t *Task, typ, protocol, flags int) (socket.Socket, error)
	// pair makes a connected pair (socketpair); nil: EOPNOTSUPP.
	pair func(t *Task, typ, protocol, flags int) (socket.Socket, socket.Socket, error)
}

// socketFamilies are the families socket(2) knows, by AF_* number;
// every other family is EAFNOSUPPORT.
var socketFamilies = map[int]socketFamily{
	unix.AF_UNIX:       {create: newUnixSocket, pair: newUnixPair},
	inet.AF_INET:       inetFamily(inet.AF_INET),
	inet.AF_INET6:      inetFamily(inet.AF_INET6),
	netlink.AF_NETLINK: netlinkFamily,
}

func newUnixSocket(t *Task, typ, protocol, flags int) (socket.Socket, error) {
	return t.k.unix.New(typ, protocol, flags)
}

func newUnixPair(t *Task, typ, protocol, flags int) (socket.Socket, socket.Socket, error) {
	a, b, err := t.k.unix.Pair(typ, protocol, flags, t.Ucred())
	if err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

// RealUcred implements unix.RealCreder: the pid and the real ids, which
// the kernel attaches to the messages of AF_UNIX sockets.
func (t *Task) RealUcred() file.Ucred {
	c := t.proc.Creds()
	return file.Ucred{Pid: t.proc.pid, UID: c.RUID, GID: c.RGID}
}

// unixFS gives AF_UNIX the calling task's filesystem view.
type unixFS struct{}

// MakeSocketNode implements unix.FS: mknod(S_IFSOCK|0777) with the
// task's umask, relative to its working directory.
func (unixFS) MakeSocketNode(ctx file.Context, name string) (vfs.Path, error) {
	t := ctx.(*Task)
	ref, err := t.at(linux.AT_FDCWD, name, nil)
	if err != nil {
		return vfs.Path{}, err
	}
	defer ref.release()
	if err := ref.r.Mknod(ref.start, name, vfs.ModeSocket|0o777, ref.umask, 0); err != nil {
		return vfs.Path{}, err
	}
	return ref.r.Resolve(ref.start, name, vfs.NoFollow)
}

// LookupSocketNode implements unix.FS: the name, followed, writable by
// the caller.
func (unixFS) LookupSocketNode(ctx file.Context, name string) (vfs.Path, error) {
	t := ctx.(*Task)
	ref, err := t.at(linux.AT_FDCWD, name, nil)
	if err != nil {
		return vfs.Path{}, err
	}
	defer ref.release()
	p, err := ref.r.Resolve(ref.start, name, 0)
	if err != nil {
		return vfs.Path{}, err
	}
	a, err := p.Attr()
	if err == nil {
		err = ref.r.Creds.Permission(a, vfs.MayWrite)
	}
	if err != nil {
		p.DecRef()
		return vfs.Path{}, err
	}
	return p, nil
}

// socketArgs checks socket(2)'s type argument: the type, and the
// SOCK_NONBLOCK/SOCK_CLOEXEC flags.
func socketArgs(family, typ int32) (int, int, error) {
	flags := int(typ) &^ sockTypeMask
	if flags&^(sockNonblock|sockCloexec) != 0 {
		return 0, 0, linux.EINVAL
	}
	if family < 0 || family >= nproto {
		return 0, 0, linux.EAFNOSUPPORT
	}
	if typ&sockTypeMask >= sockMax {
		return 0, 0, linux.EINVAL
	}
	return int(typ & sockTypeMask), flags, nil
}

// Socket implements socket(2).
func Socket(t *Task, a Args) (uintptr, error) {
	typ, flags, err := socketArgs(a.Int(0), a.Int(1))
	if err != nil {
		return 0, err
	}
	fam, ok := socketFamilies[int(a.Int(0))]
	if !ok {
		return 0, linux.EAFNOSUPPORT
	}
	s, err := fam.create(t, typ, int(a.Int(2)), flags)
	if err != nil {
		return 0, err
	}
	fd, err := t.proc.fds.Install(s, 0, flags&sockCloexec != 0)
	return uintptr(fd), err
}

// Socketpair implements socketpair(2).
func Socketpair(t *Task, a Args) (uintptr, error) {
	typ, flags, err := socketArgs(a.Int(0), a.Int(1))
	if err != nil {
		return 0, err
	}
	fam, ok := socketFamilies[int(a.Int(0))]
	if !ok {
		return 0, linux.EAFNOSUPPORT
	}
	if fam.pair == nil {
		return 0, linux.EOPNOTSUPP
	}
	s1, s2, err := fam.pair(t, typ, int(a.Int(2)), flags)
	if err != nil {
		return 0, err
	}
	cloexec := flags&sockCloexec != 0
	fd1, err := t.proc.fds.Install(s1, 0, cloexec)
	if err != nil {
		s2.DecRef()
		return 0, err
	}
	fd2, err := t.proc.fds.Install(s2, 0, cloexec)
	if err != nil {
		t.proc.fds.Close(fd1)
		return 0, err
	}
	var b [8]byte
	putU32(b[0:], uint32(fd1))
	putU32(b[4:], uint32(fd2))
	if _, err := t.MM().CopyOut(a.Pointer(3), b[:]); err != nil {
		t.proc.fds.Close(fd1)
		t.proc.fds.Close(fd2)
		return 0, err
	}
	return 0, nil
}

// socketFile returns the socket behind fd with a reference: EBADF,
// ENOTSOCK.
func (t *Task) socketFile(fd int32) (socket.Socket, error) {
	f, err := t.proc.fds.Get(fd)
	if err != nil {
		return nil, err
	}
	s, ok := f.(socket.Socket)
	if !ok {
		f.DecRef()
		return nil, linux.ENOTSOCK
	}
	return s, nil
}

// readSockaddr is move_addr_to_kernel: at most sockaddr_storage's size.
func (t *Task) readSockaddr(addr mm.Addr, n int32) ([]byte, error) {
	if n < 0 || n > sockaddrMax {
		return nil, linux.EINVAL
	}
	b := make([]byte, n)
	if n > 0 {
		if _, err := t.MM().CopyIn(addr, b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// writeSockaddr is move_addr_to_user: as much of raw as *lenAddr allows,
// then raw's full length into *lenAddr.
func (t *Task) writeSockaddr(addr, lenAddr mm.Addr, raw []byte) error {
	var lb [4]byte
	if _, err := t.MM().CopyIn(lenAddr, lb[:]); err != nil {
		return err
	}
	n := int32(binary.LittleEndian.Uint32(lb[:]))
	if n > int32(len(raw)) {
		n = int32(len(raw))
	}
	if n < 0 {
		return linux.EINVAL
	}
	if n > 0 {
		if _, err := t.MM().CopyOut(addr, raw[:n]); err != nil {
			return err
		}
	}
	binary.LittleEndian.PutUint32(lb[:], uint32(len(raw)))
	_, err := t.MM().CopyOut(lenAddr, lb[:])
	return err
}

// withSocket runs fn on the socket behind fd.
func withSocket(t *Task, fd int32, fn func(s socket.Socket) (uintptr, error)) (uintptr, error) {
	s, err := t.socketFile(fd)
	if err != nil {
		return 0, err
	}
	defer s.DecRef()
	return fn(s)
}

// Bind implements bind(2).
func Bind(t *Task, a Args) (uintptr, error) {
	return withSocket(t, a.Int(0), func(s socket.Socket) (uintptr, error) {
		addr, err := t.readSockaddr(a.Pointer(1), a.Int(2))
		if err != nil {
			return 0, err
		}
		return 0, s.Bind(t, addr)
	})
}

// Connect implements connect(2).
func Connect(t *Task, a Args) (uintptr, error) {
	f, err := t.proc.fds.Get(a.Int(0))
	if err != nil {
		return 0, err
	}
	f.DecRef()
	addr, err := t.readSockaddr(a.Pointer(1), a.Int(2))
	if err != nil {
		return 0, err
	}
	return withSocket(t, a.Int(0), func(s socket.Socket) (uintptr, error) {
		return 0, s.Connect(t, addr)
	})
}

// Listen implements listen(2).
func Listen(t *Task, a Args) (uintptr, error) {
	return withSocket(t, a.Int(0), func(s socket.Socket) (uintptr, error) {
		return 0, s.Listen(t, int(a.Int(1)))
	})
}

// Accept4 implements accept4(2).
func Accept4(t *Task, a Args) (uintptr, error) {
	flags := int(a.Int(3))
	if flags&^(sockNonblock|sockCloexec) != 0 {
		return 0, linux.EINVAL
	}
	return withSocket(t, a.Int(0), func(s socket.Socket) (uintptr, error) {
		wantPeer := a.Pointer(1) != 0
		ns, peer, err := s.Accept(t, flags, wantPeer)
		if err != nil {
			return 0, err
		}
		if wantPeer {
			if err := t.writeSockaddr(a.Pointer(1), a.Pointer(2), peer); err != nil {
				ns.DecRef()
				return 0, err
			}
		}
		fd, err := t.proc.fds.Install(ns, 0, flags&sockCloexec != 0)
		return uintptr(fd), err
	})
}

// Accept implements accept(2).
func Accept(t *Task, a Args) (uintptr, error) { return Accept4(t, Args{a[0], a[1], a[2], 0}) }

// Shutdown implements shutdown(2).
func Shutdown(t *Task, a Args) (uintptr, error) {
	return withSocket(t, a.Int(0), func(s socket.Socket) (uintptr, error) {
		return 0, s.Shutdown(t, int(a.Int(1)))
	})
}

// sockName is getsockname/getpeername.
func sockName(peer bool) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		return withSocket(t, a.Int(0), func(s socket.Socket) (uintptr, error) {
			name, err := s.SockName()
			if peer {
				name, err = s.PeerName()
			}
			if err != nil {
				return 0, err
			}
			return 0, t.writeSockaddr(a.Pointer(1), a.Pointer(2), name)
		})
	}
}

// Getsockname and Getpeername implement getsockname(2), getpeername(2).
var (
	Getsockname = sockName(false)
	Getpeername = sockName(true)
)

// maxSockOpt bounds the bytes setsockopt reads of an option value.
const maxSockOpt = 4096

// Getsockopt implements getsockopt(2): the value is cut to *optlen,
// which receives the length written.
func Getsockopt(t *Task, a Args) (uintptr, error) {
	return withSocket(t, a.Int(0), func(s socket.Socket) (uintptr, error) {
		var lb [4]byte
		if _, err := t.MM().CopyIn(a.Pointer(4), lb[:]); err != nil {
			return 0, err
		}
		n := int32(binary.LittleEndian.Uint32(lb[:]))
		if n < 0 {
			return 0, linux.EINVAL
		}
		level, name := int(a.Int(1)), int(a.Int(2))
		val, err := s.GetSockOpt(t, level, name, int(n))
		if err != nil {
			return 0, err
		}
		if t.mode32() {
			val = timevalTo32(level, name, val)
		}
		val = val[:min(len(val), int(n))]
		if _, err := t.MM().CopyOut(a.Pointer(3), val); err != nil {
			return 0, err
		}
		binary.LittleEndian.PutUint32(lb[:], uint32(len(val)))
		_, err = t.MM().CopyOut(a.Pointer(4), lb[:])
		return 0, err
	})
}

// Setsockopt implements setsockopt(2).
func Setsockopt(t *Task, a Args) (uintptr, error) {
	return withSocket(t, a.Int(0), func(s socket.Socket) (uintptr, error) {
		n := a.Int(4)
		if n < 0 {
			return 0, linux.EINVAL
		}
		val := make([]byte, min(n, maxSockOpt))
		if _, err := t.MM().CopyIn(a.Pointer(3), val); err != nil {
			return 0, err
		}
		level, name := int(a.Int(1)), int(a.Int(2))
		if t.mode32() {
			val = timevalFrom32(level, name, val)
		}
		return 0, s.SetSockOpt(t, level, name, val)
	})
}

// isOldTimeval reports SO_RCVTIMEO_OLD/SO_SNDTIMEO_OLD, whose struct
// timeval is the ABI's.
func isOldTimeval(level, name int) bool {
	return level == unix.SOL_SOCKET && (name == unix.SO_RCVTIMEO_OLD || name == unix.SO_SNDTIMEO_OLD)
}

// timevalTo32 turns x86-64's struct timeval into i386's.
func timevalTo32(level, name int, val []byte) []byte {
	if !isOldTimeval(level, name) || len(val) != 16 {
		return val
	}
	out := binary.LittleEndian.AppendUint32(nil, uint32(binary.LittleEndian.Uint64(val)))
	return binary.LittleEndian.AppendUint32(out, uint32(binary.LittleEndian.Uint64(val[8:])))
}

// timevalFrom32 turns i386's struct timeval into x86-64's.
func timevalFrom32(level, name int, val []byte) []byte {
	if !isOldTimeval(level, name) || len(val) < 8 {
		return val
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(int64(int32(binary.LittleEndian.Uint32(val)))))
	return binary.LittleEndian.AppendUint64(out, uint64(int64(int32(binary.LittleEndian.Uint32(val[4:])))))
}

// dataBuffers pins the guest buffers segs for a send (acc mm.Read) or a
// receive (mm.Write), up to MAX_RW_COUNT: EFAULT when none of a
// non-empty range is accessible. unpin releases them.
func (t *Task) dataBuffers(segs []segment, acc mm.Access) (bufs [][]byte, unpin func(), err error) {
	var unpins []func()
	unpin = func() {
		for _, u := range unpins {
			u()
		}
	}
	budget := uint64(linux.MAX_RW_COUNT)
	for _, s := range segs {
		n := min(s.len, budget)
		var u func()
		var fault error
		bufs, u, fault = t.MM().Buffers(bufs, s.base, n, acc)
		unpins = append(unpins, u)
		budget -= n
		if fault != nil {
			unpin()
			return nil, func() {}, fault
		}
		if budget == 0 {
			break
		}
	}
	return bufs, unpin, nil
}

// Sendto implements sendto(2) (and send).
func Sendto(t *Task, a Args) (uintptr, error) {
	return withSocket(t, a.Int(0), func(s socket.Socket) (uintptr, error) {
		m := &socket.Message{}
		if a.Pointer(4) != 0 {
			addr, err := t.readSockaddr(a.Pointer(4), a.Int(5))
			if err != nil {
				return 0, err
			}
			m.Addr = addr
		}
		bufs, unpin, err := t.dataBuffers([]segment{{a.Pointer(1), min(a.Uint64(2), 0x7fffffff)}}, mm.Read)
		if err != nil {
			return 0, err
		}
		defer unpin()
		m.Data = bufs
		n, err := s.SendMsg(t, m, int(a.Int(3)))
		return uintptr(n), err
	})
}

// Recvfrom implements recvfrom(2) (and recv).
func Recvfrom(t *Task, a Args) (uintptr, error) {
	return withSocket(t, a.Int(0), func(s socket.Socket) (uintptr, error) {
		bufs, unpin, err := t.dataBuffers([]segment{{a.Pointer(1), min(a.Uint64(2), 0x7fffffff)}}, mm.Write)
		if err != nil {
			return 0, err
		}
		defer unpin()
		m := &socket.Message{Data: bufs}
		n, err := s.RecvMsg(t, m, int(a.Int(3)))
		dropFiles(m.Rights)
		if err != nil {
			return 0, err
		}
		if a.Pointer(4) != 0 && a.Pointer(5) != 0 {
			if err := t.writeSockaddr(a.Pointer(4), a.Pointer(5), m.Addr); err != nil {
				return 0, err
			}
		}
		return uintptr(n), nil
	})
}

func dropFiles(fs []file.File) {
	for _, f := range fs {
		f.DecRef()
	}
}

// socketIoctl answers the ioctls of sockets whose argument is an int
// the call writes (FIONREAD, SIOCOUTQ, ...); handled is false for a
// file that is no socket.
func (t *Task) socketIoctl(f File, req uint32, arg mm.Addr) (r uintptr, err error, handled bool) {
	s, ok := f.(socket.Socket)
	if !ok {
		return 0, nil, false
	}
	if err, handled := t.deviceIoctl(req, arg); handled {
		return 0, err, true
	}
	out, err := s.Ioctl(t, req, nil)
	if err != nil {
		return 0, err, true
	}
	_, err = t.MM().CopyOut(arg, out)
	return 0, err, true
}
