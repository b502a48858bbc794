// Package event implements the kernel's event objects: eventfd, timerfd
// and epoll. Each is a file.File of Linux's anonymous inode filesystem;
// each announces its readiness changes through a file.Queue, and each is
// file.Releasable, so that an epoll file drops it from its interest list
// when its last reference goes.
package event

import (
	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

// anon is what the objects share as files of the anonymous inode
// filesystem: references, waiters, status flags and a name.
type anon struct {
	file.Refs
	file.Queue
	file.StatusFlags        // O_RDWR and O_NONBLOCK
	name             string // "anon_inode:[eventfd]", ...
}

func (a *anon) init(name string, nonblock bool) {
	a.name = "anon_inode:[" + name + "]"
	a.InitStatus(linux.O_RDWR)
	if nonblock {
		a.InitStatus(linux.O_RDWR | linux.O_NONBLOCK)
	}
}

// anonIno is the inode number every anonymous file shares, as in Linux
// (one inode of anon_inodefs).
const anonIno = 1038

// Name implements file.File.
func (a *anon) Name() string { return a.name }

// wait waits for the change w was armed for (before the object's state
// was looked at): EAGAIN for a non-blocking file.
func (a *anon) wait(ctx file.Context, w file.Wait) error {
	if a.Nonblocking() {
		w.Cancel()
		return linux.EAGAIN
	}
	return w.Block(ctx, 0)
}

// Stat implements file.File: anon_inodefs's single inode, mode 0600
// with no file type, owned by root.
func (a *anon) Stat() ([file.StatSize]byte, error) {
	return file.EncodeStat(vfs.Attr{Ino: anonIno, Mode: 0o600, Nlink: 1, Blksize: 4096}), nil
}

// bufLen is the total length of bufs.
func bufLen(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

// scatter copies src into bufs in order.
func scatter(bufs [][]byte, src []byte) {
	for _, b := range bufs {
		src = src[copy(b, src):]
	}
}

// gather fills dst from bufs in order.
func gather(dst []byte, bufs [][]byte) {
	for _, b := range bufs {
		dst = dst[copy(dst, b):]
	}
}
