package syscalls

import (
	"syscall"
	"unsafe"

	"github.com/cmaemu/cmaemu/linux"
)

const sysCopyFileRange = 326

// hostCopyFileRange is the host's copy_file_range.
func hostCopyFileRange(in int, offIn *int64, out int, offOut *int64, n int) (int, error) {
	for {
		r, _, e := syscall.Syscall6(sysCopyFileRange, uintptr(in), uintptr(unsafe.Pointer(offIn)),
			uintptr(out), uintptr(unsafe.Pointer(offOut)), uintptr(n), 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, linux.Errno(e)
		}
		return int(r), nil
	}
}
