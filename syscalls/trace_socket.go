package syscalls

// The socket calls' argument decoders, as strace prints them.

// Argument kinds of the socket calls.
var (
	SockFamily = ArgKind{k: kindSockFamily} // AF_UNIX
	SockType   = ArgKind{k: kindSockType}   // SOCK_STREAM|SOCK_CLOEXEC
	MsgFlags   = ArgKind{k: kindMsgFlags}   // MSG_DONTWAIT|MSG_NOSIGNAL
	ShutHow    = ArgKind{k: kindShutHow}    // SHUT_RDWR
)

var (
	sockFamilyNames = []flagName{{0, "AF_UNSPEC"}, {1, "AF_UNIX"}, {2, "AF_INET"}, {10, "AF_INET6"},
		{16, "AF_NETLINK"}, {17, "AF_PACKET"}}
	sockTypeNames = []flagName{{1, "SOCK_STREAM"}, {2, "SOCK_DGRAM"}, {3, "SOCK_RAW"}, {4, "SOCK_RDM"},
		{5, "SOCK_SEQPACKET"}, {6, "SOCK_DCCP"}, {10, "SOCK_PACKET"}}
	sockTypeFlagNames = []flagName{{sockCloexec, "SOCK_CLOEXEC"}, {sockNonblock, "SOCK_NONBLOCK"}}
	msgFlagNames      = []flagName{{0x1, "MSG_OOB"}, {0x2, "MSG_PEEK"}, {0x4, "MSG_DONTROUTE"}, {0x8, "MSG_CTRUNC"},
		{0x10, "MSG_PROBE"}, {0x20, "MSG_TRUNC"}, {0x40, "MSG_DONTWAIT"}, {0x80, "MSG_EOR"},
		{0x100, "MSG_WAITALL"}, {0x200, "MSG_FIN"}, {0x400, "MSG_SYN"}, {0x800, "MSG_CONFIRM"},
		{0x1000, "MSG_RST"}, {0x2000, "MSG_ERRQUEUE"}, {0x4000, "MSG_NOSIGNAL"}, {0x8000, "MSG_MORE"},
		{0x10000, "MSG_WAITFORONE"}, {0x40000000, "MSG_CMSG_CLOEXEC"}, {0, "MSG_???"}}
	shutHowNames = []flagName{{0, "SHUT_RD"}, {1, "SHUT_WR"}, {2, "SHUT_RDWR"}}
)

// formatSockType prints socket(2)'s type: the type's name, then the
// flags.
func formatSockType(v uint32) string {
	s := formatEnum(uint64(v&sockTypeMask), sockTypeNames, "SOCK_???")
	if rest := v &^ sockTypeMask; rest != 0 {
		s += "|" + formatFlags(uint64(rest), sockTypeFlagNames, "0")
	}
	return s
}

// formatSocketArg formats the socket kinds (ok false for the others).
func formatSocketArg(k argKind, v uint64) (string, bool) {
	switch k {
	case kindSockFamily:
		return formatEnum(uint64(uint32(v)), sockFamilyNames, "AF_???"), true
	case kindSockType:
		return formatSockType(uint32(v)), true
	case kindMsgFlags:
		return formatFlags(uint64(uint32(v)), msgFlagNames, "0"), true
	case kindShutHow:
		return formatEnum(uint64(uint32(v)), shutHowNames, "SHUT_???"), true
	}
	return "", false
}
