package syscalls

import (
	"github.com/cmaemu/cmaemu/kernel/ipc"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// Shmget implements shmget(2).
func Shmget(t *Task, a Args) (uintptr, error) {
	id, err := t.k.ipc.ShmGet(t.ipcCaller(), a.Int(0), a.Uint64(1), a.Uint(2))
	return uintptr(id), err
}

// Shmget32 implements i386's shmget(2): a 32-bit size.
func Shmget32(t *Task, a Args) (uintptr, error) {
	return Shmget(t, Args{a[0], uint64(a.Uint(1)), a[2]})
}

// Shmat implements shmat(2).
func Shmat(t *Task, a Args) (uintptr, error) {
	addr, err := shmat(t, a.Int(0), a.Pointer(1), a.Uint(2))
	return uintptr(addr), err
}

// shmat is do_shmat: the segment is mapped MAP_SHARED at addr (rounded
// down to SHMLBA with SHM_RND; replacing what is there only with
// SHM_REMAP) or where mmap places it.
func shmat(t *Task, id int32, addr mm.Addr, flags uint32) (mm.Addr, error) {
	if id < 0 {
		return 0, linux.EINVAL
	}
	fixed := addr != 0
	if fixed && addr&(linux.SHMLBA-1) != 0 {
		if flags&linux.SHM_RND == 0 {
			return 0, linux.EINVAL
		}
		if addr &^= linux.SHMLBA - 1; addr == 0 && flags&linux.SHM_REMAP != 0 {
			return 0, linux.EINVAL
		}
	} else if !fixed && flags&linux.SHM_REMAP != 0 {
		return 0, linux.EINVAL
	}
	prot := mm.Prot(linux.PROT_READ | linux.PROT_WRITE)
	if flags&linux.SHM_RDONLY != 0 {
		prot = linux.PROT_READ
	}
	if flags&linux.SHM_EXEC != 0 {
		prot |= linux.PROT_EXEC
	}
	att, err := t.k.ipc.ShmAttach(t.ipcCaller(), id, flags)
	if err != nil {
		return 0, err
	}
	defer att.Object.Release(t.k.ram)
	if fixed && flags&linux.SHM_REMAP == 0 {
		end, ok := addr.AddLength(att.Size)
		if !ok || overlapsAny(t.MM(), mm.AddrRange{Start: addr, End: end}) {
			return 0, linux.EINVAL
		}
	}
	return t.MM().Map(mm.MapOpts{Addr: addr, Length: att.Size, Prot: prot, Fixed: fixed, Shared: true,
		Object: att.Object, ReadOnlyFile: flags&linux.SHM_RDONLY != 0, Name: att.Name, Limits: t.proc.memLimits()})
}

// overlapsAny reports whether any mapping of as meets r.
func overlapsAny(as *mm.MM, r mm.AddrRange) bool {
	for _, v := range as.VMAs() {
		if v.Range.Start < r.End && r.Start < v.Range.End {
			return true
		}
	}
	return false
}

// Shmdt implements shmdt(2): the first mapping of a segment at or after
// addr that maps the segment from addr on, and the other mappings of the
// same segment in the segment's size after addr, go (ksys_shmdt).
func Shmdt(t *Task, a Args) (uintptr, error) {
	addr := a.Pointer(0)
	if !addr.IsPageAligned() {
		return 0, linux.EINVAL
	}
	as := t.MM()
	var obj *mm.SharedObject
	var size uint64
	for _, v := range as.VMAs() {
		if v.Range.End <= addr || v.Object == nil {
			continue
		}
		from := uint64(v.Range.Start - addr)
		if obj == nil {
			sz, ok := t.k.ipc.ShmSegment(v.Object)
			if !ok || v.Range.Start < addr || from != v.Offset {
				continue
			}
			obj, size = v.Object, (sz+mm.PageSize-1)&^(mm.PageSize-1)
		} else if uint64(v.Range.End-addr) > size {
			break
		} else if v.Object != obj || from != v.Offset {
			continue
		}
		if err := as.Unmap(v.Range.Start, v.Range.Length()); err != nil {
			return 0, err
		}
	}
	if obj == nil {
		return 0, linux.EINVAL
	}
	t.k.ipc.ShmDetach(obj, t.proc.pid)
	return 0, nil
}

// Shmctl implements shmctl(2).
func Shmctl(t *Task, a Args) (uintptr, error) {
	return shmctl(t, a.Int(0), a.Int(1), a.Pointer(2), false)
}

// ipcCmd splits an i386 caller's cmd into the command and the layout:
// through ipc(2) (mux) IPC_64 chooses the layout; the direct calls
// always use IPC_64's.
func (t *Task) ipcCmd(cmd int32, mux bool) (int32, ipc.Layout) {
	if !t.mode32() {
		return cmd, ipc.Layout64
	}
	version := int(cmd & linux.IPC_64)
	if !mux {
		version = linux.IPC_64
	}
	return cmd &^ linux.IPC_64, t.ipcLayout(version)
}

func shmctl(t *Task, id, cmd int32, buf mm.Addr, mux bool) (uintptr, error) {
	cmd, l := t.ipcCmd(cmd, mux)
	if cmd < 0 || id < 0 {
		return 0, linux.EINVAL
	}
	ns, c := t.k.ipc, t.ipcCaller()
	switch cmd {
	case linux.IPC_INFO:
		return t.putIPC(buf, ipc.EncodeShmLimits(l), ns.ShmMaxIdx())
	case linux.SHM_INFO:
		in := ns.ShmInfo()
		return t.putIPC(buf, ipc.EncodeShmInfo(l, in), in.MaxIdx)
	case linux.IPC_STAT, linux.SHM_STAT, linux.SHM_STAT_ANY:
		ds, ret, err := ns.ShmStat(c, id, cmd)
		if err != nil {
			return 0, err
		}
		return t.putIPC(buf, ipc.EncodeShmDS(l, ds), ret)
	case linux.IPC_SET:
		s, err := t.ipcSetArgs(l, buf, false)
		if err != nil {
			return 0, err
		}
		return 0, ns.ShmSet(c, id, s.UID, s.GID, s.Mode)
	case linux.IPC_RMID:
		return 0, ns.ShmRemove(c, id)
	case linux.SHM_LOCK, linux.SHM_UNLOCK:
		return 0, ns.ShmLock(c, id, cmd == linux.SHM_LOCK)
	}
	return 0, linux.EINVAL
}

// Shmctl32 implements i386's shmctl(2).
func Shmctl32(t *Task, a Args) (uintptr, error) {
	return shmctl(t, a.Int(0), a.Int(1), a.Pointer(2), false)
}
