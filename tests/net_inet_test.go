package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// inetGuests are the AF_INET/AF_INET6 (net/inet) and NETLINK_ROUTE
// (net/netlink) guests. Their output holds only what is the same on
// every host and ABI, so the i386 golden files are the x86-64 output.
var inetGuests = []Guest{
	{Name: "net_inet_tcp", Want: Exited(0)},
	{Name: "net_inet_udp", Want: Exited(0)},
	{Name: "net_inet_none", Want: Exited(0)},
	{Name: "net_nl_ifaddrs", Want: Exited(0)},
}

func init() {
	guests = append(guests, inetGuests...)
	for _, g := range inetGuests {
		i386Fallbacks[g.Name] = I386Fallback{From: FromAMD64}
	}
}

// TestNetNone runs net_inet_none under --net none: AF_INET and AF_INET6
// sockets fail with EAFNOSUPPORT, AF_UNIX and AF_NETLINK still work.
func TestNetNone(t *testing.T) {
	cmaemu := CmaemuPath(t)
	const want = "AF_INET SOCK_STREAM: EAFNOSUPPORT\n" +
		"AF_INET SOCK_DGRAM: EAFNOSUPPORT\n" +
		"AF_INET6 SOCK_STREAM: EAFNOSUPPORT\n" +
		"AF_INET6 SOCK_DGRAM: EAFNOSUPPORT\n" +
		"AF_UNIX SOCK_STREAM: ok\n" +
		"AF_NETLINK SOCK_RAW: ok\n" +
		"getifaddrs finds lo: yes\n"
	for _, v := range AllVariants {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			prog := GuestPath(t, "net_inet_none", v)
			r := RunEmulated(t, cmaemu, []string{"--net", "none"}, prog, nil, GuestEnv(nil), t.TempDir(), "")
			require.False(t, r.TimedOut, "cmaemu timed out; stderr:\n%s", r.Stderr)
			assert.Equal(t, want, r.Stdout)
			assert.Equal(t, Exited(0).String(), r.Status.String(), "stderr:\n%s", r.Stderr)
			AssertNoPanic(t, r.Stderr)
		})
	}
}
