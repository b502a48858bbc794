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

// The host's membarrier(2) commands hostBarrier uses.
const (
	sysMembarrier                     = 324
	hostMembarrierGlobal              = 1 << 0
	hostMembarrierPrivateExpedited    = 1 << 3
	hostMembarrierRegisterPrivateExpd = 1 << 4
)

// hostBarrier makes every host thread of the emulator, so every engine
// running guest code, pass a full memory barrier before it returns:
// guest threads run on host threads in parallel, and a guest's
// membarrier asks for exactly that. It uses the host's private expedited
// membarrier (registered once), else the global one, else nothing (a
// host without membarrier: each engine's next kernel entry is a barrier).
func (k *Kernel) hostBarrier() {
	k.barrierOnce.Do(func() {
		if _, _, e := syscall.Syscall(sysMembarrier, hostMembarrierRegisterPrivateExpd, 0, 0); e == 0 {
			k.barrierCmd = hostMembarrierPrivateExpedited
		} else if _, _, e := syscall.Syscall(sysMembarrier, 0, 0, 0); e == 0 {
			k.barrierCmd = hostMembarrierGlobal
		}
	})
	if k.barrierCmd != 0 {
		syscall.Syscall(sysMembarrier, uintptr(k.barrierCmd), 0, 0)
	}
}
