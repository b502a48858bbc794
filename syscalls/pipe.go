package syscalls

import (
	"sync"
	"sync/atomic"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

// pipeCapacity is the default pipe buffer (16 pages); pipeBuf is
// PIPE_BUF, the size up to which writes are atomic.
const (
	pipeCapacity = 64 << 10
	pipeBuf      = 4096
)

// pipe is the buffer shared by a pipe's two ends.
type pipe struct {
	id      uint64
	mu      sync.Mutex // protects the fields below
	buf     []byte     // ring buffer of pipeCapacity bytes
	head    int        // read position
	n       int        // bytes buffered
	readers int
	writers int
	// q wakes the waiters of both ends: a write makes the read end
	// readable (PollIn), a read the write end writable (PollOut), an open
	// or a close either (0).
	q file.Queue
	// A FIFO's pipe also counts the opens of each side ever made (Linux's
	// r_counter and w_counter), which an open waiting for the other side
	// watches, and is released from the kernel's FIFO table when its last
	// end closes (fifo.go); both are zero and nil for pipe(2)'s pipes.
	readOpens, writeOpens uint64
	release               func()
}

// notifyLocked wakes every waiter of the pipe.
func (p *pipe) notifyLocked() { p.q.Notify(0) }

// pipeEnd is one end of a pipe: an open file description. A FIFO
// opened O_RDWR is both ends at once (read and write).
type pipeEnd struct {
	p     *pipe
	read  bool
	write bool
	fifo  vfs.Path // the FIFO's name, or none for pipe(2)
	// writeOpensSeen is the pipe's writeOpens when a FIFO's reading end
	// opened (Linux's f_version): 0 for pipe(2), whose writer came first.
	writeOpensSeen uint64
	file.Refs
	status atomic.Uint32 // O_NONBLOCK and friends
	own    fileOwner     // F_SETOWN
}

// newPipeBuffer returns an empty pipe with the next pipe inode number
// and no ends.
func (k *Kernel) newPipeBuffer() *pipe {
	return &pipe{id: k.pipeIno.Add(1) + 100000, buf: make([]byte, pipeCapacity)}
}

// newPipe returns the read and write ends of a new pipe.
func (k *Kernel) newPipe(flags uint32) (*pipeEnd, *pipeEnd) {
	p := k.newPipeBuffer()
	p.readers, p.writers, p.readOpens, p.writeOpens = 1, 1, 1, 1
	r, w := &pipeEnd{p: p, read: true}, &pipeEnd{p: p, write: true}
	r.status.Store(flags&linux.O_NONBLOCK | linux.O_RDONLY)
	w.status.Store(flags&linux.O_NONBLOCK | linux.O_WRONLY)
	return r, w
}

// DecRef implements File: closing the last reference of an end wakes the
// other side (EOF for readers, EPIPE for writers).
func (e *pipeEnd) DecRef() {
	if !e.Drop() {
		return
	}
	e.p.mu.Lock()
	if e.write {
		e.p.writers--
	}
	if e.read {
		e.p.readers--
	}
	e.p.notifyLocked()
	last := e.p.readers == 0 && e.p.writers == 0
	e.p.mu.Unlock()
	if last && e.p.release != nil {
		e.p.release()
	}
	e.fifo.DecRef()
}

// Name implements File.
func (e *pipeEnd) Name() string {
	if e.fifo.Inode != nil {
		return e.fifo.Name
	}
	return "pipe:[" + utoa(e.p.id) + "]"
}

// Read implements File: it waits for data unless the pipe is empty with
// no writers (EOF) or the end is non-blocking (EAGAIN).
func (e *pipeEnd) Read(t file.Context, bufs [][]byte, off int64) (int, error) {
	if !e.read {
		return 0, linux.EBADF
	}
	if off >= 0 {
		return 0, linux.ESPIPE
	}
	want := 0
	for _, b := range bufs {
		want += len(b)
	}
	p := e.p
	for {
		p.mu.Lock()
		if p.n > 0 || want == 0 {
			n := p.takeLocked(bufs)
			p.mu.Unlock()
			if n > 0 {
				p.q.Notify(pollOut | file.PollWrNorm)
			}
			return n, nil
		}
		if p.writers == 0 {
			p.mu.Unlock()
			return 0, nil
		}
		if e.status.Load()&linux.O_NONBLOCK != 0 {
			p.mu.Unlock()
			return 0, linux.EAGAIN
		}
		w := p.q.Arm(t)
		p.mu.Unlock()
		if err := w.Block(t, 0); err != nil {
			return 0, err
		}
	}
}

// takeLocked moves buffered bytes into bufs.
func (p *pipe) takeLocked(bufs [][]byte) int {
	total := 0
	for _, b := range bufs {
		for len(b) > 0 && p.n > 0 {
			chunk := min(len(b), p.n, pipeCapacity-p.head)
			copy(b, p.buf[p.head:p.head+chunk])
			p.head = (p.head + chunk) % pipeCapacity
			p.n -= chunk
			b = b[chunk:]
			total += chunk
		}
		if p.n == 0 {
			break
		}
	}
	return total
}

// Write implements File: it writes everything, waiting for room; writes
// up to PIPE_BUF are atomic. With no readers it is EPIPE and SIGPIPE.
func (e *pipeEnd) Write(t file.Context, bufs [][]byte, off int64) (int, error) {
	if !e.write {
		return 0, linux.EBADF
	}
	if off >= 0 {
		return 0, linux.ESPIPE
	}
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if total == 0 {
		return 0, nil // even without readers
	}
	p := e.p
	done := 0
	for {
		p.mu.Lock()
		if p.readers == 0 {
			p.mu.Unlock()
			t.SendSIGPIPE()
			if done > 0 {
				return done, nil
			}
			return 0, linux.EPIPE
		}
		room := pipeCapacity - p.n
		wrote := false
		if room > 0 && (total-done > pipeBuf || room >= total-done) {
			done += p.putLocked(bufs, done, room)
			wrote = true
		}
		if done == total || e.status.Load()&linux.O_NONBLOCK != 0 {
			p.mu.Unlock()
			if wrote {
				p.q.Notify(pollIn | file.PollRdNorm)
			}
			if done == 0 {
				return 0, linux.EAGAIN
			}
			return done, nil
		}
		if wrote { // part of it: wake the readers, then look again
			p.mu.Unlock()
			p.q.Notify(pollIn | file.PollRdNorm)
			continue
		}
		w := p.q.Arm(t)
		p.mu.Unlock()
		if err := w.Block(t, 0); err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
	}
}

// putLocked appends up to room bytes of bufs, skipping the first skip.
func (p *pipe) putLocked(bufs [][]byte, skip, room int) int {
	put := 0
	for _, b := range bufs {
		if skip >= len(b) {
			skip -= len(b)
			continue
		}
		b = b[skip:]
		skip = 0
		for len(b) > 0 && put < room {
			tail := (p.head + p.n) % pipeCapacity
			chunk := min(len(b), room-put, pipeCapacity-tail)
			copy(p.buf[tail:tail+chunk], b[:chunk])
			p.n += chunk
			put += chunk
			b = b[chunk:]
		}
		if put == room {
			break
		}
	}
	return put
}

// Status implements File.
func (e *pipeEnd) Status() (uint32, error) { return e.status.Load(), nil }

// SetStatus implements File: only O_NONBLOCK can change.
func (e *pipeEnd) SetStatus(flags uint32) error {
	old := e.status.Load()
	e.status.Store(old&^linux.O_NONBLOCK | flags&linux.O_NONBLOCK)
	return nil
}

// Stat implements File: a FIFO's inode, or for pipe(2) a FIFO owned by
// nobody in particular.
func (e *pipeEnd) Stat() ([statSize]byte, error) {
	if e.fifo.Inode != nil {
		a, err := e.fifo.Attr()
		return file.EncodeStat(a), err
	}
	var st [statSize]byte
	putU64(st[8:], e.p.id)         // st_ino
	putU64(st[16:], 1)             // st_nlink
	putU32(st[24:], 0o10000|0o600) // st_mode: S_IFIFO|0600
	putU64(st[56:], pipeBuf)       // st_blksize
	return st, nil
}

// Readiness implements File (pipe_poll): a reading end hangs up when no
// writer is left, a FIFO's only once a writer came after it opened.
func (e *pipeEnd) Readiness() (uint32, <-chan struct{}) {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	var ev uint32
	if e.read {
		if p.n > 0 {
			ev |= pollIn | file.PollRdNorm
		}
		if p.writers == 0 && p.writeOpens != e.writeOpensSeen {
			ev |= pollHup
		}
	}
	if e.write {
		if pipeCapacity-p.n >= pipeBuf || p.readers == 0 {
			ev |= pollOut | file.PollWrNorm
		}
		if p.readers == 0 {
			ev |= pollErr
		}
	}
	return ev, p.q.Changed()
}

// Watch implements file.Watchable.
func (e *pipeEnd) Watch(fn func(events uint32)) func() { return e.p.q.Watch(fn) }

func putU64(b []byte, v uint64) {
	for i := 0; i < 8; i++ {
		b[i] = byte(v >> (8 * i))
	}
}

func putU32(b []byte, v uint32) {
	for i := 0; i < 4; i++ {
		b[i] = byte(v >> (8 * i))
	}
}

// Pipe2 implements pipe2(2).
func Pipe2(t *Task, a Args) (uintptr, error) {
	flags := a.Uint(1)
	if flags&^(linux.O_CLOEXEC|linux.O_NONBLOCK|0o40000 /* O_DIRECT */) != 0 {
		return 0, linux.EINVAL
	}
	r, w := t.k.newPipe(flags)
	cloexec := flags&linux.O_CLOEXEC != 0
	rfd, err := t.proc.fds.Install(r, 0, cloexec)
	if err != nil {
		w.DecRef()
		return 0, err
	}
	wfd, err := t.proc.fds.Install(w, 0, cloexec)
	if err != nil {
		t.proc.fds.Close(rfd)
		return 0, err
	}
	var b [8]byte
	putU32(b[0:], uint32(rfd))
	putU32(b[4:], uint32(wfd))
	if _, err := t.MM().CopyOut(a.Pointer(0), b[:]); err != nil {
		t.proc.fds.Close(rfd)
		t.proc.fds.Close(wfd)
		return 0, err
	}
	return 0, nil
}

// Pipe implements pipe(2).
func Pipe(t *Task, a Args) (uintptr, error) { return Pipe2(t, Args{a[0], 0}) }
