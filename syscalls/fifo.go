package syscalls

import (
	"sync"
	"time"

	"github.com/cmaemu/cmaemu/fs/tmpfs"
	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
)

// FIFOs of cmaemu's own filesystems (tmpfs): a FIFO inode has one pipe
// while any descriptor has it open (Linux's inode->i_pipe), which the
// opens of both sides share; FIFOs on host directories are the host's,
// and an open of one that waits for the other side waits in the host's
// open on another thread, which a signal ends (openPendingFIFO).

// fifoTable holds the pipes of the open FIFOs, by inode.
type fifoTable struct {
	mu    sync.Mutex // protects pipes; taken before a pipe's mu
	pipes map[vfs.Inode]*pipe
}

// fifoHandle is what a tmpfs FIFO's open gives the VFS: it names the
// inode, and openAt turns it into an end of the inode's pipe, waiting
// as fifo_open does where the VFS cannot.
type fifoHandle struct{ node vfs.Inode }

func (fifoHandle) Read([][]byte, int64) (int, error)  { return 0, linux.EBADF }
func (fifoHandle) Write([][]byte, int64) (int, error) { return 0, linux.EBADF }
func (fifoHandle) Seek(int64, int) (int64, error)     { return 0, linux.ESPIPE }
func (h fifoHandle) Attr() (vfs.Attr, error)          { return h.node.Attr() }
func (fifoHandle) Close() error                       { return nil }

// serveFIFOs makes fs's FIFOs open as the kernel's pipes.
func (k *Kernel) serveFIFOs(fs *tmpfs.FS) {
	fs.SetOpenFIFO(func(n vfs.Inode, _ uint32) (vfs.Handle, error) { return fifoHandle{n}, nil })
}

// pipeOfLocked returns the FIFO's pipe, made (numbered by k) if it has none.
// Preconditions: tb.mu held.
func (tb *fifoTable) pipeOfLocked(k *Kernel, n vfs.Inode) *pipe {
	if p := tb.pipes[n]; p != nil {
		return p
	}
	if tb.pipes == nil {
		tb.pipes = map[vfs.Inode]*pipe{}
	}
	p := k.newPipeBuffer()
	p.release = func() {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		p.mu.Lock()
		unused := p.readers == 0 && p.writers == 0
		p.mu.Unlock()
		if unused && tb.pipes[n] == p {
			delete(tb.pipes, n)
		}
	}
	tb.pipes[n] = p
	return p
}

// openFIFO opens the FIFO at path (whose reference passes to the
// returned end) with flags, as fifo_open: a reader waits for a writer
// and a writer for a reader unless O_NONBLOCK (a writer then fails with
// ENXIO when there is no reader); O_RDWR never waits. An interrupted
// wait closes the end again.
func (t *Task) openFIFO(path vfs.Path, n vfs.Inode, flags uint32) (File, error) {
	tb := &t.k.fifos
	nonblock := flags&linux.O_NONBLOCK != 0
	tb.mu.Lock()
	p := tb.pipeOfLocked(t.k, n)
	p.mu.Lock()
	e := &pipeEnd{p: p, fifo: path}
	e.status.Store(flags & (linux.O_ACCMODE | linux.O_NONBLOCK | linux.O_APPEND))
	switch flags & linux.O_ACCMODE {
	case linux.O_RDONLY:
		e.read = true
	case linux.O_WRONLY:
		e.write = true
		if nonblock && p.readers == 0 {
			p.mu.Unlock()
			tb.mu.Unlock()
			p.release()
			path.DecRef()
			return nil, linux.ENXIO
		}
	default:
		e.read, e.write = true, true
	}
	peerOpens := p.readOpens // a writer waits for this to change
	if e.read {
		p.readers++
		p.readOpens++
		e.writeOpensSeen = p.writeOpens
		peerOpens = p.writeOpens
	}
	if e.write {
		p.writers++
		p.writeOpens++
	}
	p.notifyLocked()
	p.mu.Unlock()
	tb.mu.Unlock()
	if e.read != e.write && !(e.read && nonblock) {
		if err := t.waitFIFOPeer(e, peerOpens); err != nil {
			e.DecRef()
			return nil, err
		}
	}
	return e, nil
}

// waitFIFOPeer waits until the other side of e's FIFO is open, or has
// been opened since e was, when its count of opens was seen (a peer that
// came and went counts).
func (t *Task) waitFIFOPeer(e *pipeEnd, seen uint64) error {
	p := e.p
	p.mu.Lock()
	for {
		peers, opens := p.readers, p.readOpens
		if e.read {
			peers, opens = p.writers, p.writeOpens
		}
		if peers > 0 || opens != seen {
			p.mu.Unlock()
			return nil
		}
		ch := p.q.Changed()
		p.mu.Unlock()
		if err := t.Block(ch, 0); err != nil {
			return err
		}
		p.mu.Lock()
	}
}

// unblockRetry is how often an interrupted FIFO open tries again to end
// the host open it waits for.
const unblockRetry = 10 * time.Millisecond

// openPendingFIFO opens a FIFO whose open waits for the other side, on
// another thread, while the task waits interruptibly. When a signal or a
// kill interrupts the wait, the other side is opened and closed (so the
// host's open returns), the descriptor closed, and the open restarts or
// fails with EINTR.
func (t *Task) openPendingFIFO(pf vfs.PendingFIFO) (vfs.Handle, error) {
	var h vfs.Handle
	var err error
	done := make(chan struct{})
	go func() {
		h, err = pf.Open()
		close(done)
	}()
	berr := t.Block(done, 0)
	if berr == nil {
		return h, err
	}
	for {
		pf.Unblock()
		select {
		case <-done:
			if err == nil {
				h.Close()
			}
			return nil, berr
		case <-time.After(unblockRetry):
		}
	}
}
