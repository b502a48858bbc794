// Package socket defines the operations every socket family implements
// (net/unix in the kernel, net/inet over host sockets, net/netlink), so
// that the system call handlers decode the guest's structures once and
// hand each family plain values.
//
// Addresses are raw sockaddr bytes as the guest laid them out (family
// first); each family decodes and encodes its own. Data buffers are host
// memory of pinned guest pages, valid for the call only.
package socket

import "github.com/cmaemu/cmaemu/kernel/file"

// Socket is an open socket: a file with the socket calls. Errors are
// linux.Errno values (or file.ErrRestart from a blocked call).
type Socket interface {
	file.File
	// Family, Type and Protocol are what socket(2) was given (Type
	// without SOCK_NONBLOCK/SOCK_CLOEXEC).
	Family() int
	Type() int
	Protocol() int
	Bind(ctx file.Context, addr []byte) error
	Listen(ctx file.Context, backlog int) error
	// Accept returns a connected socket with flags (SOCK_NONBLOCK) set
	// and, if peer is true, the peer's address.
	Accept(ctx file.Context, flags int, peer bool) (Socket, []byte, error)
	Connect(ctx file.Context, addr []byte) error
	Shutdown(ctx file.Context, how int) error
	// SockName and PeerName return the bound and the peer address
	// (ENOTCONN when there is no peer).
	SockName() ([]byte, error)
	PeerName() ([]byte, error)
	// GetSockOpt returns the option's value (at most max bytes are
	// copied out by the caller, as Linux truncates).
	GetSockOpt(ctx file.Context, level, name int, max int) ([]byte, error)
	SetSockOpt(ctx file.Context, level, name int, val []byte) error
	// SendMsg sends m.Data (and m.Rights, m.Creds) to m.Addr or the peer.
	SendMsg(ctx file.Context, m *Message, flags int) (int, error)
	// RecvMsg fills m.Data and sets m.Addr, m.Rights, m.Creds and
	// m.Flags (MSG_TRUNC, ...); it returns the length the guest sees
	// (the datagram's full length with MSG_TRUNC).
	RecvMsg(ctx file.Context, m *Message, flags int) (int, error)
	// Ioctl handles the socket ioctls the family knows (FIONREAD,
	// SIOCOUTQ, SIOCGIF*, ...): arg is the guest's argument as raw
	// bytes in and out; ENOTTY for the others.
	Ioctl(ctx file.Context, cmd uint32, arg []byte) ([]byte, error)
}

// Message is one sendmsg/recvmsg: the data and the ancillary data in
// decoded form. The handler encodes and decodes struct msghdr and the
// control messages of the guest's ABI.
type Message struct {
	Data [][]byte
	// Addr is the destination (send; nil: the peer) or the source
	// (recv; nil: none).
	Addr []byte
	// Rights are the files of SCM_RIGHTS: on send, references the
	// message takes over; on receive, references handed to the caller,
	// which installs as many as fit and drops the rest (MSG_CTRUNC).
	Rights []file.File
	// Creds is SCM_CREDENTIALS (nil: none).
	Creds *file.Ucred
	// Flags are the MSG_* flags recvmsg reports.
	Flags int
}
