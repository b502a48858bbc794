package syscalls

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestFormatSocketArgs holds what strace 6.1 prints for these arguments.
func TestFormatSocketArgs(t *testing.T) {
	for _, tc := range []struct {
		kind argKind
		v    uint64
		want string
	}{
		{kindSockFamily, 1, "AF_UNIX"},
		{kindSockFamily, 10, "AF_INET6"},
		{kindSockFamily, 99, "0x63 /* AF_??? */"},
		{kindSockType, 1 | sockCloexec, "SOCK_STREAM|SOCK_CLOEXEC"},
		{kindSockType, 5 | sockCloexec | sockNonblock, "SOCK_SEQPACKET|SOCK_CLOEXEC|SOCK_NONBLOCK"},
		{kindSockType, 2, "SOCK_DGRAM"},
		{kindMsgFlags, 0, "0"},
		{kindMsgFlags, 0x4040, "MSG_DONTWAIT|MSG_NOSIGNAL"},
		{kindMsgFlags, 0x40000002, "MSG_PEEK|MSG_CMSG_CLOEXEC"},
		{kindShutHow, 2, "SHUT_RDWR"},
	} {
		got, ok := formatSocketArg(tc.kind, tc.v)
		assert.True(t, ok)
		assert.Equal(t, tc.want, got)
	}
	_, ok := formatSocketArg(kindInt, 0)
	assert.False(t, ok)
}
