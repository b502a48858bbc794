package inet

import (
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

// Option levels and names (asm-generic/socket.h, linux/in.h, linux/in6.h,
// linux/tcp.h, linux/udp.h).
const (
	solSocket = 1
	solIP     = 0
	solTCP    = 6
	solUDP    = 17
	solIPv6   = 41

	soReuseAddr    = 2
	soType         = 3
	soError        = 4
	soDontRoute    = 5
	soBroadcast    = 6
	soSndBuf       = 7
	soRcvBuf       = 8
	soKeepAlive    = 9
	soOOBInline    = 10
	soNoCheck      = 11
	soLinger       = 13
	soReusePort    = 15
	soRcvLowat     = 18
	soSndLowat     = 19
	soRcvTimeo     = 66 // SO_RCVTIMEO_NEW: struct __kernel_sock_timeval on both ABIs
	soSndTimeo     = 67 // SO_SNDTIMEO_NEW
	soRcvTimeoOld  = 20 // struct timeval of the ABI: x86-64's here
	soSndTimeoOld  = 21
	soAcceptConn   = 30
	soPeerName     = 28
	soProtocol     = 38
	soDomain       = 39
	soCookie       = 57
	soIncomingCPU  = 49
	soTimestamping = 37
)

// access says what a guest may do with an option on the host socket.
type access uint8

const (
	getOnly access = 1 << iota
	getSet
)

// optKey names an option.
type optKey struct{ level, name int }

// hostOptions are the options that pass to the host socket: the host
// checks their values and answers with Linux's errors. None holds a
// pointer, starts asynchronous work or needs a privilege the guest may
// not have; options whose effect would show in control messages (which
// cmaemu does not pass on) are left out. Everything else is ENOPROTOOPT.
var hostOptions = map[optKey]access{
	{solSocket, soReuseAddr}:    getSet,
	{solSocket, soType}:         getOnly,
	{solSocket, soError}:        getOnly,
	{solSocket, soDontRoute}:    getSet,
	{solSocket, soBroadcast}:    getSet,
	{solSocket, soSndBuf}:       getSet,
	{solSocket, soRcvBuf}:       getSet,
	{solSocket, soKeepAlive}:    getSet,
	{solSocket, soOOBInline}:    getSet,
	{solSocket, soNoCheck}:      getSet,
	{solSocket, soLinger}:       getSet,
	{solSocket, soReusePort}:    getSet,
	{solSocket, soRcvLowat}:     getSet,
	{solSocket, soSndLowat}:     getSet,
	{solSocket, soRcvTimeo}:     getSet,
	{solSocket, soSndTimeo}:     getSet,
	{solSocket, soRcvTimeoOld}:  getSet,
	{solSocket, soSndTimeoOld}:  getSet,
	{solSocket, soAcceptConn}:   getOnly,
	{solSocket, soPeerName}:     getOnly,
	{solSocket, soProtocol}:     getOnly,
	{solSocket, soDomain}:       getOnly,
	{solSocket, soCookie}:       getOnly,
	{solSocket, soIncomingCPU}:  getOnly,
	{solSocket, soTimestamping}: getOnly,

	{solTCP, 1}:  getSet,  // TCP_NODELAY
	{solTCP, 2}:  getSet,  // TCP_MAXSEG
	{solTCP, 3}:  getSet,  // TCP_CORK
	{solTCP, 4}:  getSet,  // TCP_KEEPIDLE
	{solTCP, 5}:  getSet,  // TCP_KEEPINTVL
	{solTCP, 6}:  getSet,  // TCP_KEEPCNT
	{solTCP, 7}:  getSet,  // TCP_SYNCNT
	{solTCP, 8}:  getSet,  // TCP_LINGER2
	{solTCP, 9}:  getSet,  // TCP_DEFER_ACCEPT
	{solTCP, 10}: getSet,  // TCP_WINDOW_CLAMP
	{solTCP, 11}: getOnly, // TCP_INFO (fixed-size fields: the same on i386)
	{solTCP, 12}: getSet,  // TCP_QUICKACK
	{solTCP, 13}: getOnly, // TCP_CONGESTION (setting it may load host modules)
	{solTCP, 18}: getSet,  // TCP_USER_TIMEOUT
	{solTCP, 23}: getSet,  // TCP_FASTOPEN
	{solTCP, 25}: getSet,  // TCP_NOTSENT_LOWAT

	{solUDP, 1}: getSet, // UDP_CORK

	{solIP, 1}:  getSet,  // IP_TOS
	{solIP, 2}:  getSet,  // IP_TTL
	{solIP, 10}: getSet,  // IP_MTU_DISCOVER
	{solIP, 14}: getOnly, // IP_MTU
	{solIP, 15}: getSet,  // IP_FREEBIND
	{solIP, 24}: getSet,  // IP_BIND_ADDRESS_NO_PORT
	{solIP, 32}: getSet,  // IP_MULTICAST_IF
	{solIP, 33}: getSet,  // IP_MULTICAST_TTL
	{solIP, 34}: getSet,  // IP_MULTICAST_LOOP
	{solIP, 35}: getSet,  // IP_ADD_MEMBERSHIP
	{solIP, 36}: getSet,  // IP_DROP_MEMBERSHIP

	{solIPv6, 16}: getSet,  // IPV6_UNICAST_HOPS
	{solIPv6, 17}: getSet,  // IPV6_MULTICAST_IF
	{solIPv6, 18}: getSet,  // IPV6_MULTICAST_HOPS
	{solIPv6, 19}: getSet,  // IPV6_MULTICAST_LOOP
	{solIPv6, 20}: getSet,  // IPV6_ADD_MEMBERSHIP
	{solIPv6, 21}: getSet,  // IPV6_DROP_MEMBERSHIP
	{solIPv6, 23}: getSet,  // IPV6_MTU_DISCOVER
	{solIPv6, 24}: getOnly, // IPV6_MTU
	{solIPv6, 26}: getSet,  // IPV6_V6ONLY
	{solIPv6, 67}: getSet,  // IPV6_TCLASS
}

// optMax bounds an option value: the largest allowed one (struct
// tcp_info) fits.
const optMax = 512

// GetSockOpt implements socket.Socket: allowed options are the host
// socket's, truncated to max as Linux truncates.
func (s *Socket) GetSockOpt(ctx file.Context, level, name int, max int) ([]byte, error) {
	if _, ok := hostOptions[optKey{level, name}]; !ok {
		return nil, linux.ENOPROTOOPT
	}
	if max < 0 {
		return nil, linux.EINVAL
	}
	if level == solSocket && (name == soRcvTimeoOld || name == soSndTimeoOld) {
		// The whole x86-64 struct timeval, which the caller turns into
		// i386's for an i386 guest before cutting it to max.
		return hostGetsockopt(s.fd, level, name, 16)
	}
	return hostGetsockopt(s.fd, level, name, min(max, optMax))
}

// SetSockOpt implements socket.Socket. SO_RCVTIMEO and SO_SNDTIMEO are
// kept on the host socket too, which rounds and reports them as Linux
// does; cmaemu applies them to its own waits (the host socket never
// blocks).
func (s *Socket) SetSockOpt(ctx file.Context, level, name int, val []byte) error {
	if hostOptions[optKey{level, name}] != getSet {
		return linux.ENOPROTOOPT
	}
	if len(val) > optMax {
		val = val[:optMax]
	}
	return hostSetsockopt(s.fd, level, name, val)
}
