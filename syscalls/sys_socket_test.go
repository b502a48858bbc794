package syscalls

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// socketABI is one ABI's way to reach the socket calls.
type socketABI struct {
	name   string
	i386   bool
	layout *msgLayout
	// call invokes socket call number sc (socketcall's numbering) with
	// args, directly (x86-64) or through socketcall(102) (i386), the
	// argument array at scratch.
	call func(p *Process, sc int, args ...uint64) (uintptr, linux.Errno)
}

// Socket calls by socketcall's numbers, with their x86-64 syscalls.
var amd64SocketCalls = map[int]uintptr{
	8: linux.SysAMD64Socketpair, 16: linux.SysAMD64Sendmsg, 17: linux.SysAMD64Recvmsg,
}

const scratch = 0x30000

func socketABIs(k *Kernel) []socketABI {
	return []socketABI{{
		name: "x86-64", layout: &msgLayout64,
		call: func(p *Process, sc int, args ...uint64) (uintptr, linux.Errno) {
			return k.Call(p, amd64SocketCalls[sc], args...)
		},
	}, {
		name: "i386-socketcall", i386: true, layout: &msgLayout32,
		call: func(p *Process, sc int, args ...uint64) (uintptr, linux.Errno) {
			b := make([]byte, 4*len(args))
			for i, a := range args {
				binary.LittleEndian.PutUint32(b[4*i:], uint32(a))
			}
			if err := p.Write(scratch, b); err != nil {
				panic(err)
			}
			return k.Call(p, linux.Sys386Socketcall, uint64(sc), scratch)
		},
	}}
}

// putMsghdr lays out a msghdr of layout l at addr: one iovec at iov.
func putMsghdr(t *testing.T, p *Process, l *msgLayout, addr, iov, base, n, control, controllen uint64) {
	t.Helper()
	iv := make([]byte, 2*l.word)
	l.putWord(iv, base)
	l.putWord(iv[l.word:], n)
	require.NoError(t, p.Write(mm.Addr(iov), iv))
	h := make([]byte, l.size)
	l.putWord(h[l.iov:], iov)
	l.putWord(h[l.iovlen:], 1)
	l.putWord(h[l.control:], control)
	l.putWord(h[l.controllen:], controllen)
	require.NoError(t, p.Write(mm.Addr(addr), h))
}

// TestSocketMsgLayouts passes three descriptors with SCM_RIGHTS in each
// ABI's msghdr and cmsghdr, and receives them into a control buffer with
// room for one: MSG_CTRUNC, one descriptor installed, the others closed.
func TestSocketMsgLayouts(t *testing.T) {
	ram, err := mm.NewRAM(64 << 20)
	require.NoError(t, err)
	defer ram.Close()
	k := NewKernel(Config{RAM: ram})
	for _, abi := range socketABIs(k) {
		t.Run(abi.name, func(t *testing.T) {
			l := abi.layout
			p, err := k.NewProcess(ProcessOptions{Creds: SameIDs(1000, 1000), I386: abi.i386})
			require.NoError(t, err)
			require.NoError(t, p.Map(0x10000, 0x30, mm.ProtRead|mm.ProtWrite))
			_, errno := abi.call(p, 8, 1 /* AF_UNIX */, 2 /* SOCK_DGRAM */, 0, 0x10000)
			require.Equal(t, linux.Errno(0), errno)
			fds, _ := p.Read(0x10000, 8)
			a, b := binary.LittleEndian.Uint32(fds), binary.LittleEndian.Uint32(fds[4:])

			cm := make([]byte, l.cmsgHdr+12)
			l.putWord(cm, uint64(l.cmsgHdr+12))
			binary.LittleEndian.PutUint32(cm[l.word:], 1)   // SOL_SOCKET
			binary.LittleEndian.PutUint32(cm[l.word+4:], 1) // SCM_RIGHTS
			for i := range 3 {
				binary.LittleEndian.PutUint32(cm[l.cmsgHdr+4*i:], a)
			}
			require.NoError(t, p.Write(0x11000, cm))
			require.NoError(t, p.Write(0x12000, []byte("data")))
			putMsghdr(t, p, l, 0x13000, 0x13100, 0x12000, 4, 0x11000, uint64(len(cm)))
			n, errno := abi.call(p, 16, uint64(a), 0x13000, 0)
			require.Equal(t, linux.Errno(0), errno)
			assert.Equal(t, uintptr(4), n)

			room := uint64(l.cmsgAlignUp(l.cmsgHdr + 4)) // CMSG_SPACE(4)
			putMsghdr(t, p, l, 0x14000, 0x14100, 0x15000, 16, 0x16000, room)
			n, errno = abi.call(p, 17, uint64(b), 0x14000, 0)
			require.Equal(t, linux.Errno(0), errno)
			assert.Equal(t, uintptr(4), n)
			h, _ := p.Read(0x14000, l.size)
			fit := (int(room) - l.cmsgHdr) / 4
			assert.Equal(t, uint64(l.cmsgHdr+4*fit), l.getWord(h[l.controllen:]), "msg_controllen")
			assert.Equal(t, uint32(0x8), binary.LittleEndian.Uint32(h[l.flags:]), "MSG_CTRUNC")
			got, _ := p.Read(0x16000, l.cmsgHdr)
			assert.Equal(t, uint64(l.cmsgHdr+4*fit), l.getWord(got), "cmsg_len")
			installed := 0
			for fd := int32(0); fd < 16; fd++ {
				if f, err := p.fds.Get(fd); err == nil {
					f.DecRef()
					installed++
				}
			}
			assert.Equal(t, 2+fit, installed, "the descriptors that did not fit are closed")
			k.Exit(p, 0)
		})
	}
}

func TestSocketcallErrors(t *testing.T) {
	ram, err := mm.NewRAM(64 << 20)
	require.NoError(t, err)
	defer ram.Close()
	k := NewKernel(Config{RAM: ram})
	p, err := k.NewProcess(ProcessOptions{Creds: SameIDs(1000, 1000), I386: true})
	require.NoError(t, err)
	require.NoError(t, p.Map(0x10000, 1, mm.ProtRead|mm.ProtWrite))
	for _, tc := range []struct {
		name string
		call uint64
		args uint64
		want linux.Errno
	}{
		{"call 0", 0, 0x10000, linux.EINVAL},
		{"call 21", 21, 0x10000, linux.EINVAL},
		{"negative call", 0xffffffff, 0x10000, linux.EINVAL},
		{"unreadable arguments", 1, 0x90000, linux.EFAULT},
		{"socket of family 99", 1, 0x10000, linux.EAFNOSUPPORT},
		{"shutdown of a non-socket", 13, 0x10010, linux.EBADF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := make([]byte, 32)
			binary.LittleEndian.PutUint32(b, 99)      // family 99
			binary.LittleEndian.PutUint32(b[4:], 1)   // SOCK_STREAM
			binary.LittleEndian.PutUint32(b[16:], 77) // fd 77
			require.NoError(t, p.Write(0x10000, b))
			_, errno := k.Call(p, linux.Sys386Socketcall, tc.call, tc.args)
			assert.Equal(t, tc.want, errno)
		})
	}
}
