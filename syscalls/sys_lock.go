package syscalls

import (
	"encoding/binary"

	"github.com/cmaemu/cmaemu/fs/lock"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// File locks: POSIX record locks and open-file-description locks of
// fcntl, and leases, kept in one table of the kernel (fs/lock) across all
// guest processes. POSIX locks go when their process closes any
// descriptor of the file or exits; OFD locks and leases when the last
// reference of their open file description goes.

// fcntl lock commands.
const (
	fGetLk      = 5
	fSetLk      = 6
	fSetLkW     = 7
	fGetLk64    = 12 // i386 fcntl64 with struct flock64
	fSetLk64    = 13
	fSetLkW64   = 14
	fOFDGetLk   = 36
	fOFDSetLk   = 37
	fOFDSetLkW  = 38
	fSetLease   = 1024
	fGetLease   = 1025
	flockSize   = 32 // struct flock (x86-64), and flock64 of i386 is 24
	flock64Size = 24
	flock32Size = 16 // struct flock of i386 (32-bit offsets)
)

// lockKey is the lock table's name of f's file.
func lockKey(f *openFile) (fileID, error) {
	a, err := f.attr()
	return fileID{a.Dev, a.Ino}, err
}

// description is f's owner for OFD locks and leases; the first use makes
// the description release them when its last reference goes.
func (k *Kernel) description(f *openFile) lock.Owner {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lockID == 0 {
		f.lockID = k.lockIDs.Add(1)
		id := f.lockID
		f.onLast = func() {
			if key, err := lockKey(f); err == nil {
				k.locks.Release(key, lock.Description(id))
			}
		}
	}
	return lock.Description(f.lockID)
}

// fileClosed drops the POSIX locks of process pid on f's file: any close
// of a descriptor of the file ends them.
func (k *Kernel) fileClosed(pid int32, f File) {
	of, ok := f.(*openFile)
	if !ok || of.pathOnly() || !k.locks.Holds(lock.Process(pid)) {
		return // most closes: no host stat for a process without locks
	}
	if key, err := lockKey(of); err == nil {
		k.locks.Release(key, lock.Process(pid))
	}
}

// watchCloses makes closes in fds release pid's POSIX locks.
func (k *Kernel) watchCloses(fds *FDTable, pid int32) {
	fds.closing = func(f File) { k.fileClosed(pid, f) }
}

// fcntlLock handles the record-lock and lease commands of fcntl.
func (t *Task) fcntlLock(fd int32, cmd int32, arg mm.Addr) (uintptr, error) {
	f, err := t.vfsFile(fd, linux.EINVAL)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if f.pathOnly() {
		return 0, linux.EBADF
	}
	key, err := lockKey(f)
	if err != nil {
		return 0, err
	}
	k := t.k
	switch cmd {
	case fSetLease:
		return 0, t.setLease(f, key, lock.Type(int16(arg)))
	case fGetLease:
		return uintptr(k.locks.GetLease(key, k.description(f))), nil
	}
	layout := flockSize
	switch {
	case t.mode32() && (cmd == fGetLk || cmd == fSetLk || cmd == fSetLkW):
		layout = flock32Size
	case t.mode32():
		layout = flock64Size
	}
	l, err := t.readFlock(arg, layout)
	if err != nil {
		return 0, err
	}
	owner := lock.Process(t.proc.pid)
	if cmd == fOFDGetLk || cmd == fOFDSetLk || cmd == fOFDSetLkW {
		owner = k.description(f)
	}
	d, err := t.lockDesc(f, l)
	if err != nil {
		return 0, err
	}
	var wait lock.WaitFunc
	if cmd == fSetLkW || cmd == fSetLkW64 || cmd == fOFDSetLkW {
		wait = func(ch <-chan struct{}) error { return t.Block(ch, 0) }
	}
	switch cmd {
	case fGetLk, fGetLk64, fOFDGetLk:
		if err := k.locks.GetLk(key, owner, &l, d); err != nil {
			return 0, err
		}
		if layout == flock32Size {
			if err := l.FixupCompat(); err != nil {
				return 0, err
			}
		}
		return 0, t.writeFlock(arg, layout, l)
	}
	if err := k.locks.SetLk(key, owner, l, d, wait); err != nil {
		return 0, err
	}
	// A descriptor closed while the lock was being taken: Linux undoes
	// the lock and says EBADF.
	if !owner.IsDescription() {
		g, err := t.proc.fds.Get(fd)
		if err == nil {
			g.DecRef()
		}
		if err != nil || g != File(f) {
			if r, err := lock.FlockRange(l.Whence, l.Start, l.Len, d.Pos, d.Size); err == nil {
				k.locks.Set(key, owner, lock.Unlock, r, nil)
			}
			return 0, linux.EBADF
		}
	}
	return 0, nil
}

// lockDesc is what the lock table needs of the description: position,
// size (for SEEK_END) and access mode.
func (t *Task) lockDesc(f *openFile, l lock.Flock) (lock.Desc, error) {
	fl, err := f.Status()
	if err != nil {
		return lock.Desc{}, err
	}
	d := lock.Desc{Mode: lock.ModeOf(fl)}
	if l.Whence == lock.SeekCur {
		if d.Pos, err = f.Seek(0, lock.SeekCur); err != nil {
			return d, err
		}
	}
	if l.Whence == lock.SeekEnd {
		a, err := f.attr()
		if err != nil {
			return d, err
		}
		d.Size = a.Size
	}
	return d, nil
}

// readFlock reads a struct flock of the given layout.
func (t *Task) readFlock(addr mm.Addr, layout int) (lock.Flock, error) {
	var b [flockSize]byte
	if _, err := t.MM().CopyIn(addr, b[:layout]); err != nil {
		return lock.Flock{}, err
	}
	le := binary.LittleEndian
	l := lock.Flock{Type: lock.Type(int16(le.Uint16(b[0:]))), Whence: int16(le.Uint16(b[2:]))}
	switch layout {
	case flockSize:
		l.Start, l.Len, l.Pid = int64(le.Uint64(b[8:])), int64(le.Uint64(b[16:])), int32(le.Uint32(b[24:]))
	case flock64Size:
		l.Start, l.Len, l.Pid = int64(le.Uint64(b[4:])), int64(le.Uint64(b[12:])), int32(le.Uint32(b[20:]))
	case flock32Size:
		l.Start, l.Len, l.Pid = int64(int32(le.Uint32(b[4:]))), int64(int32(le.Uint32(b[8:]))), int32(le.Uint32(b[12:]))
	}
	return l, nil
}

// writeFlock writes l as a struct flock of the given layout.
func (t *Task) writeFlock(addr mm.Addr, layout int, l lock.Flock) error {
	var b [flockSize]byte
	if _, err := t.MM().CopyIn(addr, b[:layout]); err != nil {
		return err
	}
	le := binary.LittleEndian
	le.PutUint16(b[0:], uint16(l.Type))
	le.PutUint16(b[2:], uint16(l.Whence))
	switch layout {
	case flockSize:
		le.PutUint64(b[8:], uint64(l.Start))
		le.PutUint64(b[16:], uint64(l.Len))
		le.PutUint32(b[24:], uint32(l.Pid))
	case flock64Size:
		le.PutUint64(b[4:], uint64(l.Start))
		le.PutUint64(b[12:], uint64(l.Len))
		le.PutUint32(b[20:], uint32(l.Pid))
	case flock32Size:
		le.PutUint32(b[4:], uint32(l.Start))
		le.PutUint32(b[8:], uint32(l.Len))
		le.PutUint32(b[12:], uint32(l.Pid))
	}
	_, err := t.MM().CopyOut(addr, b[:layout])
	return err
}

// setLease is F_SETLEASE: regular files, by their owner or root; the
// open descriptions of the file are counted over every process.
func (t *Task) setLease(f *openFile, key fileID, typ lock.Type) error {
	a, err := f.attr()
	if err != nil {
		return err
	}
	if !a.IsRegular() {
		return linux.EINVAL
	}
	c := t.proc.Creds()
	if c.FSUID != a.UID && c.FSUID != 0 {
		return linux.EACCES
	}
	fl, err := f.Status()
	if err != nil {
		return err
	}
	opens := t.k.opensOf(key)
	return t.k.locks.SetLease(key, t.k.description(f), typ, lock.ModeOf(fl), opens)
}

// opensOf counts the open descriptions of a file across every process's
// descriptor table: readers and writers.
func (k *Kernel) opensOf(key fileID) lock.Opens {
	var o lock.Opens
	seen := map[*openFile]bool{}
	k.mu.Lock()
	procs := make([]*Process, 0, len(k.procs))
	for _, p := range k.procs {
		procs = append(procs, p)
	}
	k.mu.Unlock()
	for _, p := range procs {
		p.mu.Lock()
		fds := p.fds
		p.mu.Unlock()
		if fds == nil {
			continue
		}
		fds.mu.Lock()
		for _, e := range fds.fds {
			of, ok := e.file.(*openFile)
			if !ok || seen[of] || of.pathOnly() {
				continue
			}
			seen[of] = true
			if k2, err := lockKey(of); err != nil || k2 != key {
				continue
			}
			switch of.accMode() {
			case linux.O_RDONLY:
				o.Readers++
			case linux.O_WRONLY:
				o.Writers++
			default:
				o.Readers++
				o.Writers++
			}
		}
		fds.mu.Unlock()
	}
	return o
}
