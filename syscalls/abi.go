package syscalls

import (
	"encoding/binary"
	"time"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// abi describes the structure layouts of one system call ABI where the
// handlers shared by x86-64 and i386 differ.
type abi struct {
	mode     arch.Mode
	ptrSize  int
	iovec    iovecLayout
	rusage   int // sizeof(struct rusage)
	robust   uint64
	siginfo  int // offset of the union in struct siginfo
	sigframe func(t *Task, regs *arch.Regs, sig linux.Signal, info sigInfo, act linux.SigAction, old linux.SigSet) bool
}

var abi64 = &abi{mode: arch.Mode64, ptrSize: 8, iovec: iovec64, rusage: 144, robust: 24, siginfo: 16}
var abi32 = &abi{mode: arch.Mode32, ptrSize: 4, iovec: iovec32, rusage: 72, robust: 12, siginfo: 12}

func init() {
	abi64.sigframe = setupFrame64
	abi32.sigframe = setupFrame32
}

// iovec32 is struct compat_iovec: a length of 2^31 or more is negative.
var iovec32 = iovecLayout{
	size:     8,
	negative: func(l uint64) bool { return int32(l) < 0 },
	decode: func(b []byte) mm.IOVec {
		return mm.IOVec{Base: mm.Addr(binary.LittleEndian.Uint32(b)), Len: uint64(binary.LittleEndian.Uint32(b[4:]))}
	},
}

// readPointer reads one pointer of the ABI at addr.
func (t *Task) readPointer(addr mm.Addr) (mm.Addr, error) {
	var b [8]byte
	if _, err := t.MM().CopyIn(addr, b[:t.table.abi.ptrSize]); err != nil {
		return 0, err
	}
	if t.table.abi.ptrSize == 4 {
		return mm.Addr(binary.LittleEndian.Uint32(b[:])), nil
	}
	return mm.Addr(binary.LittleEndian.Uint64(b[:])), nil
}

// timespec reads a struct timespec; time32 selects the 32-bit layout
// (old_timespec32 of i386's original time calls).
func (t *Task) timespec(addr mm.Addr, time32 bool) (time.Duration, error) {
	var sec, nsec int64
	if time32 {
		var b [8]byte
		if _, err := t.MM().CopyIn(addr, b[:]); err != nil {
			return 0, err
		}
		sec, nsec = int64(int32(binary.LittleEndian.Uint32(b[:]))), int64(int32(binary.LittleEndian.Uint32(b[4:])))
	} else {
		var b [16]byte
		if _, err := t.MM().CopyIn(addr, b[:]); err != nil {
			return 0, err
		}
		sec, nsec = int64(binary.LittleEndian.Uint64(b[:])), int64(binary.LittleEndian.Uint64(b[8:]))
	}
	if sec < 0 || nsec < 0 || nsec >= 1e9 {
		return 0, linux.EINVAL
	}
	return time.Duration(sec)*time.Second + time.Duration(nsec), nil
}

// putTimePair writes two longs (timespec or timeval) in the layout asked.
func (t *Task) putTimePair(addr mm.Addr, a, b int64, time32 bool) error {
	var buf [16]byte
	n := 16
	if time32 {
		binary.LittleEndian.PutUint32(buf[:], uint32(a))
		binary.LittleEndian.PutUint32(buf[4:], uint32(b))
		n = 8
	} else {
		binary.LittleEndian.PutUint64(buf[:], uint64(a))
		binary.LittleEndian.PutUint64(buf[8:], uint64(b))
	}
	_, err := t.MM().CopyOut(addr, buf[:n])
	return err
}
