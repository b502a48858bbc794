// Package unix is AF_UNIX in the kernel: stream, datagram and
// seqpacket sockets between guest processes, with filesystem and
// abstract names, SCM_RIGHTS and SCM_CREDENTIALS. No guest socket ever
// reaches a host socket: a filesystem name is only a node in the guest's
// filesystem view, and connect finds the socket bound to it in the
// kernel's own registry (Names).
//
// Locking: Names.mu protects the registry and every field of every
// socket of the kernel that is marked "Names.mu" (states, peers, queues,
// buffers). One lock for all of AF_UNIX keeps operations that involve
// two sockets (connect, send, close) free of any lock order. Data is
// copied under it; blocking calls wait on a socket's file.Queue
// with the lock released, and the wake-ups of a change made under it go
// out once it is released (Names.unlock).
package unix

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

// Config holds the sysctls AF_UNIX follows (net.core.*, net.unix.*).
type Config struct {
	WmemDefault  int // net.core.wmem_default: SO_SNDBUF of a new socket
	RmemDefault  int // net.core.rmem_default: SO_RCVBUF of a new socket
	WmemMax      int // net.core.wmem_max: the largest SO_SNDBUF request
	RmemMax      int // net.core.rmem_max: the largest SO_RCVBUF request
	MaxDgramQlen int // net.unix.max_dgram_qlen
	SoMaxConn    int // net.core.somaxconn: the largest listen backlog
}

// DefaultConfig is Linux's defaults.
func DefaultConfig() Config {
	return Config{WmemDefault: 212992, RmemDefault: 212992, WmemMax: 212992, RmemMax: 212992,
		MaxDgramQlen: 10, SoMaxConn: 4096}
}

// HostConfig is DefaultConfig with the host's values where it has them,
// so that guests see the limits they see natively.
func HostConfig() Config {
	c := DefaultConfig()
	for _, s := range []struct {
		name string
		v    *int
	}{
		{"core/wmem_default", &c.WmemDefault}, {"core/rmem_default", &c.RmemDefault},
		{"core/wmem_max", &c.WmemMax}, {"core/rmem_max", &c.RmemMax},
		{"unix/max_dgram_qlen", &c.MaxDgramQlen}, {"core/somaxconn", &c.SoMaxConn},
	} {
		b, err := os.ReadFile("/proc/sys/net/" + s.name)
		if err != nil {
			continue
		}
		if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && v > 0 {
			*s.v = v
		}
	}
	return c
}

// FS is the filesystem view of the task a call is made for (ctx): the
// system call layer implements it with the task's root, working
// directory, umask and credentials.
type FS interface {
	// MakeSocketNode creates a socket node named name with mode 0777 less
	// the umask, and returns it with a reference: EEXIST when the name
	// exists, or the error of the walk.
	MakeSocketNode(ctx file.Context, name string) (vfs.Path, error)
	// LookupSocketNode resolves name, following symlinks, and checks
	// that the caller may write it (connect's rule): the result carries
	// a reference.
	LookupSocketNode(ctx file.Context, name string) (vfs.Path, error)
}

// nodeKey identifies an inode: sockets are bound to inodes, so every
// name and mount of the node reaches the same socket.
type nodeKey struct{ dev, ino uint64 }

// Names is the AF_UNIX state of one kernel: the bound names and every
// socket's mutable state.
type Names struct {
	cfg Config
	fs  FS

	mu       sync.Mutex          // see the package comment
	abstract map[string]*Socket  // bound abstract names (without the leading NUL); mu
	nodes    map[nodeKey]*Socket // sockets bound to filesystem nodes; mu
	nextIno  uint64              // inode numbers of sockets; mu
	autobind uint32              // the next autobind name; mu
	// notify are the sockets whose state changed under mu: unlock tells
	// their waiters once mu is released, so that a waiter woken on
	// another CPU does not find mu still held. mu.
	notify []*Socket
}

// unlock releases mu, then notifies the waiters of the sockets that
// changed while it was held. Every holder of mu releases it this way.
func (n *Names) unlock() {
	changed := n.notify
	n.notify = nil
	n.mu.Unlock()
	for _, s := range changed {
		s.q.Notify(0)
	}
}

// NewNames returns an empty registry using fs for filesystem names.
func NewNames(cfg Config, fs FS) *Names {
	return &Names{cfg: cfg, fs: fs, abstract: map[string]*Socket{}, nodes: map[nodeKey]*Socket{},
		nextIno: 20000}
}

// Address families and sockaddr_un's layout.
const (
	AF_UNIX   = 1
	AF_UNSPEC = 0

	sunPathOffset = 2   // offsetof(struct sockaddr_un, sun_path)
	sockaddrUnLen = 110 // sizeof(struct sockaddr_un)
)

// address is a decoded sockaddr_un.
type address struct {
	abstract bool
	name     string // the path, or the abstract name without its NUL
	empty    bool   // the family alone: autobind
}

// parsePeer decodes the address of connect and sendto: the family
// alone is EINVAL there (unix_validate_addr).
func parsePeer(raw []byte) (address, error) {
	a, err := parseAddress(raw)
	if err == nil && a.empty {
		return address{}, linux.EINVAL
	}
	return a, err
}

// parseAddress checks and decodes a sockaddr_un as unix_validate_addr
// and unix_mkname_bsd do; the family alone is bind's autobind.
func parseAddress(raw []byte) (address, error) {
	if len(raw) < sunPathOffset || len(raw) > sockaddrUnLen {
		return address{}, linux.EINVAL
	}
	if int(raw[0])|int(raw[1])<<8 != AF_UNIX {
		return address{}, linux.EINVAL
	}
	path := raw[sunPathOffset:]
	if len(path) == 0 {
		return address{empty: true}, nil
	}
	if path[0] == 0 {
		return address{abstract: true, name: string(path[1:])}, nil
	}
	if i := strings.IndexByte(string(path), 0); i >= 0 {
		path = path[:i]
	}
	return address{name: string(path)}, nil
}

// encode returns the sockaddr_un of a bound name as getsockname reports
// it (a path with its terminating NUL).
func (a address) encode() []byte {
	b := []byte{AF_UNIX, 0}
	if a.abstract {
		b = append(b, 0)
		return append(b, a.name...)
	}
	b = append(b, a.name...)
	return append(b, 0)
}

// unnamed is the address of an unbound socket.
func unnamed() []byte { return []byte{AF_UNIX, 0} }

// autobindLocked gives s an abstract name of five hex digits, as Linux's
// autobind does. Precondition: Names.mu held, s unbound.
func (n *Names) autobindLocked(s *Socket) error {
	for range 0x100000 {
		name := fmt.Sprintf("%05x", n.autobind)
		n.autobind = (n.autobind + 1) & 0xfffff
		if _, used := n.abstract[name]; !used {
			n.abstract[name] = s
			s.addr = &address{abstract: true, name: name}
			return nil
		}
	}
	return linux.ENOSPC
}

// lookupLocked finds the socket of type typ bound to a (connect, sendto):
// ECONNREFUSED when nobody is bound there, EPROTOTYPE when the socket's
// type differs. Precondition: Names.mu held; node is a's resolved node
// for a filesystem name.
func (n *Names) lookupLocked(a address, node *nodeKey, typ int) (*Socket, error) {
	var s *Socket
	if a.abstract {
		s = n.abstract[a.name]
	} else if node != nil {
		s = n.nodes[*node]
	}
	if s == nil || s.released {
		return nil, linux.ECONNREFUSED
	}
	if s.typ != typ {
		return nil, linux.EPROTOTYPE
	}
	return s, nil
}

// resolve finds the node of a filesystem name for connect: ENOENT and
// the walk's errors, EACCES without write permission, ECONNREFUSED for
// a file that is no socket.
func (n *Names) resolve(ctx file.Context, a address) (*nodeKey, error) {
	if a.abstract || a.empty {
		return nil, nil
	}
	p, err := n.fs.LookupSocketNode(ctx, a.name)
	if err != nil {
		return nil, err
	}
	defer p.DecRef()
	attr, err := p.Attr()
	if err != nil {
		return nil, err
	}
	if attr.Mode&vfs.ModeType != vfs.ModeSocket {
		return nil, linux.ECONNREFUSED
	}
	return &nodeKey{attr.Dev, attr.Ino}, nil
}
