package syscalls

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// blocking are the calls that may wait for ever with arbitrary arguments
// in a process that runs no code (no signal can end the wait).
var blocking = map[string]bool{
	"pause": true, "rt_sigsuspend": true, "nanosleep": true, "clock_nanosleep": true,
	"clock_nanosleep_time64": true, "futex": true, "futex_time64": true, "poll": true,
	"ppoll": true, "ppoll_time64": true, "select": true, "_newselect": true, "pselect6": true,
	"pselect6_time64": true, "read": true, "readv": true, "wait4": true, "waitpid": true,
	"waitid": true, "pread64": true, "preadv": true, "rt_sigtimedwait": true, "rt_sigtimedwait_time64": true,
	"msgrcv": true, "msgsnd": true, "semop": true, "semtimedop": true, "semtimedop_time64": true, "ipc": true,
	// Calls that change the host's files are not for random arguments.
	"unlink": true, "unlinkat": true, "rmdir": true, "rename": true, "renameat2": true,
	"mkdir": true, "mkdirat": true, "chmod": true, "fchmod": true, "fchmodat": true,
	"creat": true, "open": true, "openat": true, "ftruncate": true, "ftruncate64": true,
	"utimensat": true, "utimensat_time64": true, "write": true, "writev": true, "pwrite64": true,
	"pwritev": true, "sendfile": true, "chdir": true,
}

// TestSyscallsSurviveGarbage calls every implemented syscall of both
// tables with arbitrary arguments: a guest must get an errno or a
// result, never crash the emulator.
func TestSyscallsSurviveGarbage(t *testing.T) {
	ram, err := mm.NewRAM(64 << 20)
	require.NoError(t, err)
	defer ram.Close()
	k := NewKernel(Config{RAM: ram})
	rnd := rand.New(rand.NewSource(1))
	const mapped = 0x100000
	values := []uint64{0, 1, 2, 3, 8, 16, 0x1000, 0xffffffff, 1 << 32, 1<<32 + 1, ^uint64(0),
		1 << 63, mapped, mapped + 0xff8, mapped + 0x1000, 0x7ffffffff000, 0xffff800000000000, 1024, 1025}
	for _, i386 := range []bool{false, true} {
		table := &AMD64
		if i386 {
			table = &I386
		}
		for nr, e := range table.Entries {
			if e.Fn == nil || blocking[e.Name] {
				continue
			}
			for round := 0; round < 40; round++ {
				p, err := k.NewProcess(ProcessOptions{Creds: SameIDs(1000, 1000), I386: i386})
				require.NoError(t, err)
				require.NoError(t, p.Map(mapped, 1, mm.ProtRead|mm.ProtWrite))
				require.NoError(t, p.Write(mapped, make([]byte, 64)))
				var args [6]uint64
				for i := range args {
					args[i] = values[rnd.Intn(len(values))]
				}
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("%s %s%v panicked: %v", table.Name, e.Name, args, r)
						}
					}()
					_, errno := k.Call(p, uintptr(nr), args[:]...)
					_ = errno == linux.EFAULT
				}()
				k.Exit(p, 0)
			}
		}
	}
}
