package syscalls

import (
	"encoding/binary"

	"github.com/cmaemu/cmaemu/linux"
)

// socketcallEntry is one call of i386's socketcall(2) multiplexer: its
// handler and how many 32-bit arguments it reads from the array.
type socketcallEntry struct {
	fn    Handler
	nargs int
}

// socketcalls are socketcall's calls, SYS_SOCKET (1) to SYS_SENDMMSG
// (20), as linux/net.h numbers them.
var socketcalls = [...]socketcallEntry{
	1:  {Socket, 3},
	2:  {Bind, 3},
	3:  {Connect, 3},
	4:  {Listen, 2},
	5:  {Accept, 3},
	6:  {Getsockname, 3},
	7:  {Getpeername, 3},
	8:  {Socketpair, 4},
	9:  {Sendto, 4}, // send: sendto without an address
	10: {Recvfrom, 4},
	11: {Sendto, 6},
	12: {Recvfrom, 6},
	13: {Shutdown, 2},
	14: {Setsockopt, 5},
	15: {Getsockopt, 5},
	16: {Sendmsg, 3},
	17: {Recvmsg, 3},
	18: {Accept4, 4},
	19: {Recvmmsg32, 5},
	20: {Sendmmsg, 4},
}

// Socketcall implements i386's socketcall(2): call selects the socket
// call, args points at its arguments as 32-bit words (EINVAL for an
// unknown call, EFAULT for an unreadable array).
func Socketcall(t *Task, a Args) (uintptr, error) {
	call := a.Int(0)
	if call < 1 || int(call) >= len(socketcalls) {
		return 0, linux.EINVAL
	}
	e := socketcalls[call]
	raw := make([]byte, 4*e.nargs)
	if _, err := t.MM().CopyIn(a.Pointer(1), raw); err != nil {
		return 0, err
	}
	var args Args
	for i := range e.nargs {
		args[i] = uint64(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return e.fn(t, args)
}
