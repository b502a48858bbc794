package tests

// unixGuests are the AF_UNIX guests (net/unix and syscalls/sys_socket.go):
// every variant, i386 (direct calls and socketcall) included.
var unixGuests = []Guest{
	{Name: "net_unix_pair", Want: Exited(0)},
}

// qemuNullAddr is why qemu-i386's EFAULT for a NULL address is not Linux's.
const qemuNullAddr = "qemu-user checks the address arguments before the call; Linux looks up the socket " +
	"(and the peer) first, as the x86-64 build shows natively"

func init() {
	guests = append(guests, unixGuests...)
	i386Fallbacks["net_unix_pair"] = I386Fallback{From: FromQEMU, Edits: Edits{{
		From: "getsockopt len 2=0 len=2 v=-255",
		To:   "getsockopt len 2=0 len=2 v=-65535",
		Why:  "qemu-user stores one byte of an int option cut to optlen 2; Linux stores two (x86-64 natively)",
	}, {
		From: "socket bad flags=3",
		To:   "socket bad flags=-1/EINVAL",
		Why:  "qemu-user ignores unknown bits in socket()'s type; Linux rejects them (x86-64 natively)",
	}, {
		From: "getsockname on pipe=-1/EFAULT",
		To:   "getsockname on pipe=-1/ENOTSOCK",
		Why:  qemuNullAddr,
	}, {
		From: "unconnected stream: getpeername=-1/EFAULT",
		To:   "unconnected stream: getpeername=-1/ENOTCONN",
		Why:  qemuNullAddr,
	}}}
}
