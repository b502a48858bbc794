package syscalls

import (
	"encoding/binary"
	"time"

	"github.com/cmaemu/cmaemu/kernel/ipc"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// Semget implements semget(2).
func Semget(t *Task, a Args) (uintptr, error) {
	id, err := t.k.ipc.SemGet(t.ipcCaller(), a.Int(0), a.Int(1), a.Uint(2))
	return uintptr(id), err
}

// Semop implements semop(2).
func Semop(t *Task, a Args) (uintptr, error) {
	return semtimedop(t, a.Int(0), a.Pointer(1), a.Uint(2), 0, false)
}

// Semtimedop implements semtimedop(2) (a 64-bit timespec: x86-64, and
// i386's semtimedop_time64).
func Semtimedop(t *Task, a Args) (uintptr, error) {
	return semtimedop(t, a.Int(0), a.Pointer(1), a.Uint(2), a.Pointer(3), false)
}

// semtimedop is do_semtimedop: the operations are read and checked, then
// done all at once, waiting (up to the timeout at tsAddr, if any) while
// one of them cannot be done.
func semtimedop(t *Task, id int32, sopsAddr mm.Addr, nsops uint32, tsAddr mm.Addr, time32 bool) (uintptr, error) {
	if int32(nsops) < 1 || id < 0 {
		return 0, linux.EINVAL
	}
	if nsops > ipc.SemOpm {
		return 0, linux.E2BIG
	}
	b := make([]byte, 6*nsops)
	if _, err := t.MM().CopyIn(sopsAddr, b); err != nil {
		return 0, err
	}
	sops := make([]ipc.Sembuf, nsops)
	for i := range sops {
		sops[i] = ipc.Sembuf{Num: binary.LittleEndian.Uint16(b[6*i:]), Op: int16(binary.LittleEndian.Uint16(b[6*i+2:])),
			Flg: int16(binary.LittleEndian.Uint16(b[6*i+4:]))}
	}
	timeout := time.Duration(-1)
	if tsAddr != 0 {
		d, err := t.timespec(tsAddr, time32)
		if err != nil {
			return 0, err
		}
		if d >= 0 {
			timeout = d
		}
	}
	return 0, t.k.ipc.Semop(t.ipcCaller(), t, id, sops, timeout)
}

// Semctl implements semctl(2).
func Semctl(t *Task, a Args) (uintptr, error) {
	return semctl(t, a.Int(0), a.Int(1), a.Int(2), a.Uint64(3), false)
}

// Semctl32 implements i386's semctl(2): a 32-bit union semun.
func Semctl32(t *Task, a Args) (uintptr, error) {
	return semctl(t, a.Int(0), a.Int(1), a.Int(2), uint64(a.Uint(3)), false)
}

func semctl(t *Task, id, num, cmd int32, arg uint64, mux bool) (uintptr, error) {
	cmd, l := t.ipcCmd(cmd, mux)
	if id < 0 {
		return 0, linux.EINVAL
	}
	ns, c, buf := t.k.ipc, t.ipcCaller(), mm.Addr(arg)
	switch cmd {
	case linux.IPC_INFO, linux.SEM_INFO:
		in := ns.SemInfo(cmd == linux.SEM_INFO)
		return t.putIPC(buf, ipc.EncodeSemInfo(in), in.MaxIdx)
	case linux.IPC_STAT, linux.SEM_STAT, linux.SEM_STAT_ANY:
		ds, ret, err := ns.SemStat(c, id, cmd)
		if err != nil {
			return 0, err
		}
		return t.putIPC(buf, ipc.EncodeSemDS(l, ds), ret)
	case linux.GETVAL, linux.GETPID, linux.GETNCNT, linux.GETZCNT:
		v, err := ns.SemGet1(c, id, num, cmd)
		return uintptr(v), err
	case linux.GETALL:
		n, err := ns.SemCount(c, id, false)
		if err != nil {
			return 0, err
		}
		vals, err := ns.SemGetAll(c, id, n)
		if err != nil {
			return 0, err
		}
		out := make([]byte, 2*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint16(out[2*i:], v)
		}
		return t.putIPC(buf, out, 0)
	case linux.SETALL:
		n, err := ns.SemCount(c, id, true)
		if err != nil {
			return 0, err
		}
		in := make([]byte, 2*n)
		if _, err := t.MM().CopyIn(buf, in); err != nil {
			return 0, err
		}
		vals := make([]uint16, n)
		for i := range vals {
			vals[i] = binary.LittleEndian.Uint16(in[2*i:])
		}
		return 0, ns.SemSetVal(c, id, 0, 0, vals)
	case linux.SETVAL:
		return 0, ns.SemSetVal(c, id, num, int32(arg), nil)
	case linux.IPC_SET:
		s, err := t.ipcSetArgs(l, buf, false)
		if err != nil {
			return 0, err
		}
		return 0, ns.SemSet(c, id, s.UID, s.GID, s.Mode)
	case linux.IPC_RMID:
		return 0, ns.SemRemove(c, id)
	}
	return 0, linux.EINVAL
}
