package syscalls

import (
	"encoding/binary"

	"github.com/cmaemu/cmaemu/kernel/ipc"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// mqNote is the Note of the POSIX message queue calls.
const mqNote = "POSIX message queues are left out on purpose: System V queues (msgget) are implemented, mq_* answer ENOSYS"

// ipcCaller describes t's process to the IPC namespace.
func (t *Task) ipcCaller() *ipc.Caller {
	c := t.proc.Creds()
	t.proc.mu.Lock()
	caps := t.proc.capsLocked().effective
	t.proc.mu.Unlock()
	return &ipc.Caller{PID: t.proc.pid, EUID: c.EUID, EGID: c.EGID, FSGID: c.FSGID, Groups: c.Groups, Caps: caps}
}

// ipcLayout is the layout of t's ABI for the structures of the *ctl
// calls: compat callers choose the old one by leaving IPC_64 out of cmd
// (ipc(2)); the direct i386 calls always use IPC_64's.
func (t *Task) ipcLayout(version int) ipc.Layout {
	switch {
	case !t.mode32():
		return ipc.Layout64
	case version == linux.IPC_64:
		return ipc.LayoutCompat64
	}
	return ipc.LayoutCompatOld
}

// ipcSetArgs reads the structure of an IPC_SET.
func (t *Task) ipcSetArgs(l ipc.Layout, buf mm.Addr, queue bool) (ipc.SetArgs, error) {
	b := make([]byte, ipc.SetSize(l, queue))
	if _, err := t.MM().CopyIn(buf, b); err != nil {
		return ipc.SetArgs{}, err
	}
	return ipc.DecodeSet(l, b, queue), nil
}

// putIPC copies a structure out and returns ret.
func (t *Task) putIPC(buf mm.Addr, b []byte, ret int32) (uintptr, error) {
	if _, err := t.MM().CopyOut(buf, b); err != nil {
		return 0, err
	}
	return uintptr(ret), nil
}

// Ipc implements i386's ipc(2) multiplexer (compat_ksys_ipc): the call
// in the low 16 bits, a version in the high ones.
func Ipc(t *Task, a Args) (uintptr, error) {
	call, version := a.Uint(0)&0xffff, a.Uint(0)>>16
	first, second, third := a.Int(1), a.Int(2), a.Uint(3)
	ptr, fifth := mm.Addr(a.Uint(4)), a.Uint(5)
	switch call {
	case linux.IPCOP_SEMOP:
		return semtimedop(t, first, ptr, uint32(second), 0, false)
	case linux.IPCOP_SEMTIMEDOP:
		return semtimedop(t, first, ptr, uint32(second), mm.Addr(fifth), true)
	case linux.IPCOP_SEMGET:
		return Semget(t, Args{uint64(first), uint64(second), uint64(third)})
	case linux.IPCOP_SEMCTL:
		if ptr == 0 {
			return 0, linux.EINVAL
		}
		var pad [4]byte
		if _, err := t.MM().CopyIn(ptr, pad[:]); err != nil {
			return 0, err
		}
		return semctl(t, first, second, int32(third), uint64(binary.LittleEndian.Uint32(pad[:])), true)
	case linux.IPCOP_MSGSND:
		return msgsnd(t, first, ptr, int64(second), third)
	case linux.IPCOP_MSGRCV:
		if first < 0 || second < 0 {
			return 0, linux.EINVAL
		}
		typ := int64(int32(fifth))
		if version == 0 {
			// struct ipc_kludge {compat_uptr_t msgp; compat_long_t msgtyp}
			if ptr == 0 {
				return 0, linux.EINVAL
			}
			var k [8]byte
			if _, err := t.MM().CopyIn(ptr, k[:]); err != nil {
				return 0, err
			}
			ptr, typ = mm.Addr(binary.LittleEndian.Uint32(k[:])), int64(int32(binary.LittleEndian.Uint32(k[4:])))
		}
		return msgrcv(t, first, ptr, int64(second), typ, third)
	case linux.IPCOP_MSGGET:
		return Msgget(t, Args{uint64(first), uint64(second)})
	case linux.IPCOP_MSGCTL:
		return msgctl(t, first, second, ptr, true)
	case linux.IPCOP_SHMAT:
		if version == 1 {
			return 0, linux.EINVAL
		}
		addr, err := shmat(t, first, ptr, uint32(second))
		if err != nil {
			return 0, err
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(addr))
		_, err = t.MM().CopyOut(mm.Addr(third), b[:])
		return 0, err
	case linux.IPCOP_SHMDT:
		return Shmdt(t, Args{uint64(ptr)})
	case linux.IPCOP_SHMGET:
		return Shmget(t, Args{uint64(first), uint64(uint32(second)), uint64(third)})
	case linux.IPCOP_SHMCTL:
		return shmctl(t, first, second, ptr, true)
	}
	return 0, linux.ENOSYS
}

// ProcShm implements procfs.SysVIPC: /proc/sysvipc/shm.
func (pk procKernel) ProcShm() string { return pk.k.ipc.ProcShm() }

// ProcSem implements procfs.SysVIPC: /proc/sysvipc/sem.
func (pk procKernel) ProcSem() string { return pk.k.ipc.ProcSem() }

// ProcMsg implements procfs.SysVIPC: /proc/sysvipc/msg.
func (pk procKernel) ProcMsg() string { return pk.k.ipc.ProcMsg() }
