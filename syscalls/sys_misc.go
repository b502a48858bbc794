package syscalls

import (
	"crypto/rand"
	"syscall"
	"unsafe"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// Uname implements uname(2): the host's identity, as x86_64.
func Uname(t *Task, a Args) (uintptr, error) {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return 0, hostErr(err)
	}
	raw := (*[6 * 65]byte)(unsafe.Pointer(&u))[:]
	out := make([]byte, len(raw))
	copy(out, raw)
	field := out[4*65 : 5*65]
	clear(field)
	copy(field, "x86_64")
	_, err := t.MM().CopyOut(a.Pointer(0), out)
	return 0, err
}

// getrandomChunk is how much of the guest buffer getrandom fills between
// two looks at pending signals.
const getrandomChunk = 64 << 10

// Getrandom implements getrandom(2) as Linux 6.x does: unknown flags, or
// GRND_RANDOM with GRND_INSECURE, are EINVAL (before the buffer is
// looked at; flags is an unsigned int, so the upper half of the
// register does not count); the host's pool is always initialised, so
// no flag blocks. The count is cut to MAX_RW_COUNT before the range
// check (buf+count must not pass TASK_SIZE: EFAULT); the bytes go
// straight into the guest's frames, pinned a chunk at a time, so no host
// buffer is allocated whatever the count. A fault stops it (EFAULT if
// nothing was written), and so does a pending signal between chunks.
func Getrandom(t *Task, a Args) (uintptr, error) {
	flags := a.Uint(2)
	if flags&^(linux.GRND_NONBLOCK|linux.GRND_RANDOM|linux.GRND_INSECURE) != 0 ||
		flags&(linux.GRND_RANDOM|linux.GRND_INSECURE) == linux.GRND_RANDOM|linux.GRND_INSECURE {
		return 0, linux.EINVAL
	}
	addr, n := a.Pointer(0), min(a.Uint64(1), linux.MAX_RW_COUNT)
	if end, ok := addr.AddLength(n); !ok || end > mm.TaskSize {
		return 0, linux.EFAULT
	}
	var done uint64
	var bufs [][]byte
	for done < n {
		chunk := min(n-done, getrandomChunk)
		var unpin func()
		var err error
		bufs, unpin, err = t.MM().Buffers(bufs[:0], addr+mm.Addr(done), chunk, mm.Write)
		for _, b := range bufs {
			rand.Read(b)
			done += uint64(len(b))
		}
		unpin()
		if err != nil {
			break
		}
		if done < n && t.interrupted() {
			break
		}
	}
	if done == 0 && n > 0 {
		return 0, linux.EFAULT
	}
	return uintptr(done), nil
}

// SchedYield implements sched_yield(2).
func SchedYield(t *Task, a Args) (uintptr, error) { return 0, nil }

// Personality implements personality(2): 0xffffffff only asks; any other
// value becomes the calling thread's execution domain and flags (Linux
// checks nothing), which clone and execve keep. The previous value is
// returned.
func Personality(t *Task, a Args) (uintptr, error) {
	p := t.proc
	p.mu.Lock()
	defer p.mu.Unlock()
	old := t.personality
	if v := a.Uint(0); v != linux.PERSONALITY_QUERY {
		t.personality = v
	}
	return uintptr(old), nil
}

// membarrier registrations of an address space (mm->membarrier_state).
const (
	mbPrivateReady  = 1 << iota // MEMBARRIER_STATE_PRIVATE_EXPEDITED_READY
	mbPrivate                   // MEMBARRIER_STATE_PRIVATE_EXPEDITED
	mbGlobalReady               // MEMBARRIER_STATE_GLOBAL_EXPEDITED_READY
	mbSyncCoreReady             // MEMBARRIER_STATE_PRIVATE_EXPEDITED_SYNC_CORE_READY
)

// membarrierCommands are the commands membarrier supports (QUERY's
// answer): all but the rseq ones, as rseq(2) is not implemented.
const membarrierCommands = linux.MEMBARRIER_CMD_GLOBAL | linux.MEMBARRIER_CMD_GLOBAL_EXPEDITED |
	linux.MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED | linux.MEMBARRIER_CMD_PRIVATE_EXPEDITED |
	linux.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED | linux.MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE |
	linux.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE | linux.MEMBARRIER_CMD_GET_REGISTRATIONS

// Membarrier implements membarrier(2). Guest threads run on host threads
// in parallel, so a barrier command is the host's membarrier
// (hostBarrier), which makes every engine pass a full barrier. Then come
// Linux's rules: the
// private commands need their registration first (EPERM), flags are
// only for the rseq command (EINVAL otherwise), and registrations belong
// to the address space: fork keeps them, execve drops them.
func Membarrier(t *Task, a Args) (uintptr, error) {
	cmd, flags := a.Int(0), a.Uint(1)
	if cmd == linux.MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ {
		if flags != 0 && flags != linux.MEMBARRIER_CMD_FLAG_CPU {
			return 0, linux.EINVAL
		}
	} else if flags != 0 {
		return 0, linux.EINVAL
	}
	p := t.proc
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.membarrierExec != p.exec {
		p.membarrier, p.membarrierExec = 0, p.exec
	}
	state := &p.membarrier
	switch cmd {
	case linux.MEMBARRIER_CMD_QUERY:
		return membarrierCommands, nil
	case linux.MEMBARRIER_CMD_GLOBAL, linux.MEMBARRIER_CMD_GLOBAL_EXPEDITED:
		t.k.hostBarrier()
		return 0, nil
	case linux.MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED:
		*state |= mbGlobalReady
		return 0, nil
	case linux.MEMBARRIER_CMD_PRIVATE_EXPEDITED:
		if *state&mbPrivateReady == 0 {
			return 0, linux.EPERM
		}
		t.k.hostBarrier()
		return 0, nil
	case linux.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED:
		*state |= mbPrivate | mbPrivateReady
		return 0, nil
	case linux.MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE:
		if *state&mbSyncCoreReady == 0 {
			return 0, linux.EPERM
		}
		t.k.hostBarrier()
		return 0, nil
	case linux.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE:
		*state |= mbPrivate | mbSyncCoreReady
		return 0, nil
	case linux.MEMBARRIER_CMD_GET_REGISTRATIONS:
		var r uintptr
		if *state&mbGlobalReady != 0 {
			r |= linux.MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED
		}
		if *state&(mbPrivate|mbPrivateReady) != 0 {
			r |= linux.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
		}
		if *state&mbSyncCoreReady != 0 {
			r |= linux.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE
		}
		return r, nil
	}
	return 0, linux.EINVAL // the rseq commands among them
}
