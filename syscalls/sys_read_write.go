package syscalls

import (
	"syscall"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// hostErr turns an error of a host system call into the guest's errno
// (host and guest are both x86-64 Linux: the numbers are the same).
func hostErr(err error) error {
	if e, ok := err.(syscall.Errno); ok {
		return linux.Errno(e)
	}
	return err
}

// segment is a guest buffer.
type segment struct {
	base mm.Addr
	len  uint64
}

// maxHostIov is the host's IOV_MAX.
const maxHostIov = 1024

// transfer moves bytes between host fd and the guest buffers segs, reading
// from the host into the guest (toGuest) or the other way, at offset off
// (-1: the file position). Like Linux it copies what it can up to the first
// bad guest byte: EFAULT only if that is the very first byte.
func (t *Task) transfer(fd int32, segs []segment, toGuest bool, off int64) (uintptr, error) {
	f, err := t.proc.fds.Get(fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	acc := mm.Read
	if toGuest {
		acc = mm.Write
	}
	var first [4][]byte
	bufs := first[:0]
	var pins mm.Pins
	defer pins.Release()
	var fault error
	budget := uint64(linux.MAX_RW_COUNT)
	as := t.MM()
	for _, s := range segs {
		n := min(s.len, budget)
		bufs, fault = as.PinBuffers(bufs, &pins, s.base, n, acc)
		budget -= n
		if fault != nil || budget == 0 {
			break
		}
	}
	if len(bufs) == 0 {
		if fault != nil {
			return 0, fault
		}
		bufs = append(bufs, nil) // a zero-length transfer still reaches the file
	}
	if !toGuest {
		if bufs, err = t.limitFileSize(f, bufs, off); err != nil {
			return 0, err
		}
	}
	total := uintptr(0)
	for len(bufs) > 0 {
		batch := bufs[:min(len(bufs), maxHostIov)]
		bufs = bufs[len(batch):]
		want := 0
		for _, b := range batch {
			want += len(b)
		}
		var n int
		if toGuest {
			n, err = f.Read(t, batch, off)
		} else {
			n, err = f.Write(t, batch, off)
		}
		if err != nil {
			if total > 0 {
				return total, nil
			}
			return 0, err
		}
		total += uintptr(n)
		if off >= 0 {
			off += int64(n)
		}
		if n < want {
			break
		}
	}
	return total, nil
}

// limitFileSize applies RLIMIT_FSIZE to a write of bufs to f at off
// (-1: the file position) as Linux's generic_write_check_limits does for
// regular files: a write of at least one byte starting at or beyond the
// soft limit sends SIGXFSZ to the process and fails with EFBIG; one
// that would cross the limit is cut to end at it. A write with O_APPEND
// starts at the file's size.
func (t *Task) limitFileSize(f File, bufs [][]byte, off int64) ([][]byte, error) {
	limit := t.proc.rlimit(linux.RLIMIT_FSIZE).cur
	if limit == linux.RLIM_INFINITY {
		return bufs, nil
	}
	of, ok := f.(*openFile)
	if !ok || of.pathOnly() {
		return bufs, nil
	}
	want := uint64(0)
	for _, b := range bufs {
		want += uint64(len(b))
	}
	if want == 0 {
		return bufs, nil
	}
	if at, err := of.attr(); err != nil || !at.IsRegular() {
		return bufs, nil
	}
	pos := off
	if pos < 0 {
		var err error
		if fl, serr := of.Status(); serr == nil && fl&linux.O_APPEND != 0 {
			pos, err = of.Size()
		} else {
			pos, err = of.Seek(0, 1 /* SEEK_CUR */)
		}
		if err != nil {
			return bufs, nil
		}
	}
	if uint64(pos) >= limit {
		return nil, t.fileTooBig()
	}
	room := limit - uint64(pos)
	if want <= room {
		return bufs, nil
	}
	for i, b := range bufs {
		if uint64(len(b)) >= room {
			bufs[i] = b[:room]
			return bufs[:i+1], nil
		}
		room -= uint64(len(b))
	}
	return bufs, nil
}

// Read implements read(2).
func Read(t *Task, a Args) (uintptr, error) {
	return t.transfer(a.Int(0), []segment{{a.Pointer(1), a.Uint64(2)}}, true, -1)
}

// Write implements write(2).
func Write(t *Task, a Args) (uintptr, error) {
	return t.transfer(a.Int(0), []segment{{a.Pointer(1), a.Uint64(2)}}, false, -1)
}

// Pread64 implements pread64(2).
func Pread64(t *Task, a Args) (uintptr, error) {
	if a.Int64(3) < 0 {
		return 0, linux.EINVAL
	}
	return t.transfer(a.Int(0), []segment{{a.Pointer(1), a.Uint64(2)}}, true, a.Int64(3))
}

// Pwrite64 implements pwrite64(2).
func Pwrite64(t *Task, a Args) (uintptr, error) {
	if a.Int64(3) < 0 {
		return 0, linux.EINVAL
	}
	return t.transfer(a.Int(0), []segment{{a.Pointer(1), a.Uint64(2)}}, false, a.Int64(3))
}

// vectorSegments imports an iovec array of the task's ABI for
// readv/writev.
func (t *Task) vectorSegments(addr mm.Addr, cnt uint64) ([]segment, error) {
	if cnt > linux.UIO_MAXIOV {
		return nil, linux.EINVAL
	}
	iovs, err := t.table.abi.iovec.importIovecs(t.MM(), addr, int(cnt))
	if err != nil {
		return nil, err
	}
	segs := make([]segment, len(iovs))
	for i, v := range iovs {
		segs[i] = segment{v.Base, v.Len}
	}
	return segs, nil
}

func vectored(toGuest, positioned bool) Handler {
	return func(t *Task, a Args) (uintptr, error) {
		segs, err := t.vectorSegments(a.Pointer(1), uint64(a.Uint(2)))
		if err != nil {
			return 0, err
		}
		off := int64(-1)
		if positioned {
			if off = a.Int64(3); off < 0 {
				return 0, linux.EINVAL
			}
		}
		return t.transfer(a.Int(0), segs, toGuest, off)
	}
}

// Readv, Writev, Preadv and Pwritev implement the vectored calls.
var (
	Readv   = vectored(true, false)
	Writev  = vectored(false, false)
	Preadv  = vectored(true, true)
	Pwritev = vectored(false, true)
)

// Lseek implements lseek(2).
func Lseek(t *Task, a Args) (uintptr, error) {
	f, err := t.vfsFile(a.Int(0), linux.ESPIPE)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if a.Int(2) < 0 || a.Int(2) > 4 { // SEEK_SET .. SEEK_HOLE
		return 0, linux.EINVAL
	}
	if c, ok := f.h.(vfs.DirPositions32); ok && t.mode32() && c.Hashed32() {
		off, err := seekDir32(f, c, a.Int64(1), int(a.Int(2)))
		return uintptr(off), err
	}
	off, err := f.Seek(a.Int64(1), int(a.Int(2)))
	if err != nil {
		return 0, err
	}
	return uintptr(off), nil
}

// seekDir32 is lseek on a host directory whose positions an i386 task
// sees as 32-bit hashes (vfs.DirPositions32): the offset is read and the
// result given in the 32-bit form. SEEK_END is relative to the 32-bit end
// of directory, as for ext4's 32-bit callers.
func seekDir32(f *openFile, c vfs.DirPositions32, off int64, whence int) (int64, error) {
	const eof32 = 0x7fffffff
	switch whence {
	case 1: // SEEK_CUR
		if off == 0 {
			break
		}
		cur, err := f.Seek(0, 1)
		if err != nil {
			return 0, err
		}
		off, whence = c.DirPos32(cur)+off, 0
	case 2: // SEEK_END
		off, whence = eof32+off, 0
	}
	if whence == 0 {
		off = c.DirSeek32(off)
	}
	r, err := f.Seek(off, whence)
	if err != nil {
		return 0, err
	}
	return c.DirPos32(r), nil
}

// Lseek32 implements i386 lseek(2): a 32-bit offset, and EOVERFLOW for a
// result that does not fit.
func Lseek32(t *Task, a Args) (uintptr, error) {
	r, err := Lseek(t, Args{a[0], uint64(int64(a.Int(1))), a[2]})
	if err == nil && r > 0x7fffffff {
		return 0, linux.EOVERFLOW
	}
	return r, err
}
