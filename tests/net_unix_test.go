package tests

// unixGuests are the AF_UNIX guests (net/unix and syscalls/sys_socket.go):
// every variant, i386 (direct calls and socketcall) included.
var unixGuests = []Guest{
	{Name: "net_unix_pair", Want: Exited(0)},
	{Name: "net_unix_echo", Want: Exited(0)},
	{Name: "net_unix_rights", Want: Exited(0)},
	{Name: "net_unix_names", Want: Exited(0)},
}

// qemuNullAddr is why qemu-i386's EFAULT for a NULL address is not Linux's.
const qemuNullAddr = "qemu-user checks the address arguments before the call; Linux looks up the socket " +
	"(and the peer) first, as the x86-64 build shows natively"

// compatCmsg is why the i386 lines of net_unix_rights differ from x86-64's.
const compatCmsg = "i386's struct cmsghdr is 12 bytes and 4-aligned: CMSG_LEN(n) is 12+n and " +
	"CMSG_SPACE(4) 16, room for one descriptor where x86-64's 24 bytes hold two"

// rightsI386 are net_unix_rights's lines for i386: qemu-i386 is no oracle
// here (it receives every file on the host and drops the ones that do not
// fit without closing them, so a pipe never sees EOF), so they are the
// x86-64 lines with the compat control message layout.
var rightsI386 = Edits{{
	From: "pass: data=4 'take' flags=0x40000000 controllen=24 fds=1 [level=1 type=1 len=20]",
	To:   "pass: data=4 'take' flags=0x40000000 controllen=16 fds=1 [level=1 type=1 len=16]",
	Why:  compatCmsg,
}, {
	From: "room for 1: data=5 'three' flags=0x8 controllen=24 fds=2 [level=1 type=1 len=24]",
	To:   "room for 1: data=5 'three' flags=0x8 controllen=16 fds=1 [level=1 type=1 len=16]",
	Why:  compatCmsg,
}, {
	From: "limits: data=1 'y' flags=0 controllen=1032 fds=253 [level=1 type=1 len=1028]",
	To:   "limits: data=1 'y' flags=0 controllen=1024 fds=253 [level=1 type=1 len=1024]",
	Why:  compatCmsg,
}, {
	From: "peek: data=4 '12ab' flags=0 controllen=24 fds=1 [level=1 type=1 len=20]",
	To:   "peek: data=4 '12ab' flags=0 controllen=16 fds=1 [level=1 type=1 len=16]",
	Why:  compatCmsg,
}, {
	From: "read 1: data=4 '12ab' flags=0 controllen=24 fds=1 [level=1 type=1 len=20]",
	To:   "read 1: data=4 '12ab' flags=0 controllen=16 fds=1 [level=1 type=1 len=16]",
	Why:  compatCmsg,
}, {
	From: "creds: 'plain' cmsg=1 type=2 len=28 pid is child=1 uid ok=1 gid ok=1",
	To:   "creds: 'plain' cmsg=1 type=2 len=24 pid is child=1 uid ok=1 gid ok=1",
	Why:  compatCmsg,
}, {
	From: "creds: 'explicit' cmsg=1 type=2 len=28 pid is child=1 uid ok=1 gid ok=1",
	To:   "creds: 'explicit' cmsg=1 type=2 len=24 pid is child=1 uid ok=1 gid ok=1",
	Why:  compatCmsg,
}}

func init() {
	guests = append(guests, unixGuests...)
	i386Fallbacks["net_unix_rights"] = I386Fallback{From: FromAMD64, Edits: rightsI386}
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
