package syscalls

import (
	"syscall"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

const protMask = linux.PROT_READ | linux.PROT_WRITE | linux.PROT_EXEC

// Mmap implements mmap(2): anonymous private and shared memory, private
// file mappings (read from the file on first touch) and shared file
// mappings (one set of frames per file, in every process, written back to
// the file when a mapping goes and on msync).
func Mmap(t *Task, a Args) (uintptr, error) {
	addr, length, prot, flags, fd, off := a.Pointer(0), a.Uint64(1), a.Uint64(2), a.Uint64(3), a.Int(4), a.Uint64(5)
	if prot&^protMask != 0 {
		return 0, linux.EINVAL
	}
	typ := flags & linux.MAP_TYPE
	if typ != linux.MAP_SHARED && typ != linux.MAP_PRIVATE && typ != linux.MAP_SHARED_VALIDATE {
		return 0, linux.EINVAL
	}
	if off&(mm.PageSize-1) != 0 {
		return 0, linux.EINVAL
	}
	o := mm.MapOpts{Addr: addr, Length: length, Prot: mm.Prot(prot), Shared: typ != linux.MAP_PRIVATE,
		Fixed: flags&linux.MAP_FIXED != 0, NoReplace: flags&linux.MAP_FIXED_NOREPLACE != 0, Offset: off,
		Populate: flags&(linux.MAP_POPULATE|linux.MAP_NONBLOCK) == linux.MAP_POPULATE,
		Limits:   t.proc.memLimits()}
	if flags&linux.MAP_LOCKED != 0 {
		lo, err := t.lockOpts()
		if err != nil {
			return 0, err
		}
		if lo.Limit != mm.NoLockLimit && t.MM().LockedBytes()+length > lo.Limit {
			return 0, linux.EAGAIN // mlock_future_ok
		}
		o.Flags |= mm.VMLocked
	}
	if flags&linux.MAP_ANONYMOUS == 0 {
		f, err := t.proc.fds.Get(fd)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		hf, ok := f.(*openFile)
		if !ok || hf.pathOnly() {
			if ok {
				return 0, linux.EBADF
			}
			return 0, linux.ENODEV
		}
		at, err := hf.attr()
		if err != nil {
			return 0, err
		}
		if !at.IsRegular() {
			if at.Mode&vfs.ModeType == vfs.ModeChar && at.Rdev == devZero {
				return mapAnonymous(t, o) // /dev/zero: anonymous memory
			}
			return 0, linux.ENODEV
		}
		fl, err := f.Status()
		if err != nil {
			return 0, err
		}
		switch {
		case fl&linux.O_ACCMODE == linux.O_WRONLY:
			return 0, linux.EACCES
		case o.Shared && prot&linux.PROT_WRITE != 0 && fl&linux.O_ACCMODE != linux.O_RDWR:
			return 0, linux.EACCES
		}
		if mf, _, ok := memfdOf(hf); ok && o.Shared {
			if err := mapMemfd(mf, &o, fl&linux.O_ACCMODE != linux.O_RDWR); err != nil {
				return 0, err
			}
		} else if o.Shared {
			obj, err := t.k.sharedFileObject(hf)
			if err != nil {
				return 0, err
			}
			defer obj.Release(t.k.ram)
			o.Object = obj
			// Only a descriptor open for writing gives the mapping
			// VM_MAYWRITE, and the object a writer for its dirty pages.
			if fl&linux.O_ACCMODE == linux.O_RDWR {
				o.OpenWriter = func() (mm.FileWriter, error) { return openSharedWriter(hf) }
			} else {
				o.ReadOnlyFile = true
			}
		} else {
			o.File = hf
		}
	} else {
		return mapAnonymous(t, o)
	}
	got, err := t.MM().Map(o)
	return uintptr(got), err
}

// devZero is /dev/zero's device number (1:5).
const devZero = 1<<8 | 5

// mapAnonymous maps anonymous memory (private, or shared with forks).
func mapAnonymous(t *Task, o mm.MapOpts) (uintptr, error) {
	o.Offset = 0
	got, err := t.MM().Map(o)
	return uintptr(got), err
}

// Munmap implements munmap(2).
func Munmap(t *Task, a Args) (uintptr, error) {
	return 0, t.MM().Unmap(a.Pointer(0), a.Uint64(1))
}

// Mprotect implements mprotect(2).
func Mprotect(t *Task, a Args) (uintptr, error) {
	prot := a.Uint64(2) &^ (linux.PROT_GROWSDOWN | linux.PROT_GROWSUP)
	if prot&^protMask != 0 {
		return 0, linux.EINVAL
	}
	return 0, t.MM().ProtectLimit(a.Pointer(0), a.Uint64(1), mm.Prot(prot), t.proc.memLimits())
}

// Mremap implements mremap(2) without MREMAP_DONTUNMAP.
func Mremap(t *Task, a Args) (uintptr, error) {
	flags := a.Uint64(3)
	if flags&^(linux.MREMAP_MAYMOVE|linux.MREMAP_FIXED) != 0 {
		return 0, linux.EINVAL
	}
	got, err := t.MM().RemapLimit(a.Pointer(0), a.Uint64(1), a.Uint64(2),
		flags&linux.MREMAP_MAYMOVE != 0, flags&linux.MREMAP_FIXED != 0, a.Pointer(4), t.proc.memLimits())
	return uintptr(got), err
}

// Madvise implements madvise(2) with the memory manager's rules
// (mm.MM.Advise).
func Madvise(t *Task, a Args) (uintptr, error) {
	return 0, t.MM().Advise(a.Pointer(0), a.Uint64(1), int(a.Int(2)))
}

// lockOpts are the options of a lock request by t: RLIMIT_MEMLOCK, not
// checked with CAP_IPC_LOCK; a limit of 0 without it is EPERM
// (can_do_mlock).
func (t *Task) lockOpts() (mm.LockOpts, error) {
	limit := t.proc.rlimit(linux.RLIMIT_MEMLOCK).cur
	if t.proc.capable(capIPCLock) {
		return mm.LockOpts{Limit: mm.NoLockLimit}, nil
	}
	if limit == 0 {
		return mm.LockOpts{}, linux.EPERM
	}
	return mm.LockOpts{Limit: limit}, nil
}

// Mlock implements mlock(2): the pages are faulted in and stay so (there
// is no swap); the locked size counts against RLIMIT_MEMLOCK.
func Mlock(t *Task, a Args) (uintptr, error) {
	o, err := t.lockOpts()
	if err != nil {
		return 0, err
	}
	return 0, t.MM().Lock(a.Pointer(0), a.Uint64(1), o)
}

// Mlock2 implements mlock2(2): MLOCK_ONFAULT locks without faulting in.
func Mlock2(t *Task, a Args) (uintptr, error) {
	flags := a.Uint(2)
	if flags&^linux.MLOCK_ONFAULT != 0 {
		return 0, linux.EINVAL
	}
	o, err := t.lockOpts()
	if err != nil {
		return 0, err
	}
	o.OnFault = flags&linux.MLOCK_ONFAULT != 0
	return 0, t.MM().Lock(a.Pointer(0), a.Uint64(1), o)
}

// Munlock implements munlock(2).
func Munlock(t *Task, a Args) (uintptr, error) {
	return 0, t.MM().Unlock(a.Pointer(0), a.Uint64(1))
}

// Mlockall implements mlockall(2): MCL_CURRENT, MCL_FUTURE and
// MCL_ONFAULT (not alone); everything mapped must fit RLIMIT_MEMLOCK for
// MCL_CURRENT (ENOMEM).
func Mlockall(t *Task, a Args) (uintptr, error) {
	flags := a.Int(0)
	if flags == 0 || flags&^(linux.MCL_CURRENT|linux.MCL_FUTURE|linux.MCL_ONFAULT) != 0 || flags == linux.MCL_ONFAULT {
		return 0, linux.EINVAL
	}
	o, err := t.lockOpts()
	if err != nil {
		return 0, err
	}
	o.OnFault = flags&linux.MCL_ONFAULT != 0
	return 0, t.MM().LockAll(flags&linux.MCL_CURRENT != 0, flags&linux.MCL_FUTURE != 0, o)
}

// Munlockall implements munlockall(2).
func Munlockall(t *Task, a Args) (uintptr, error) {
	t.MM().UnlockAll()
	return 0, nil
}

// mincoreChunk is how many pages mincore reports at a time (the kernel's
// bounce page).
const mincoreChunk = mm.PageSize

// Mincore implements mincore(2): which pages of a page-aligned range
// (EINVAL otherwise) are resident, one byte each, as the memory manager
// knows them (mm.MM.Mincore). A range past the user address space or
// with unmapped pages is ENOMEM, after the bytes before the hole are
// written; a vector that cannot hold them is EFAULT.
func Mincore(t *Task, a Args) (uintptr, error) {
	addr, length, vec := a.Pointer(0), a.Uint64(1), a.Pointer(2)
	if !addr.IsPageAligned() {
		return 0, linux.EINVAL
	}
	if end, ok := addr.AddLength(length); !ok || end > mm.TaskSize {
		return 0, linux.ENOMEM
	}
	pages := length>>mm.PageShift + min(length&(mm.PageSize-1), 1)
	if end, ok := vec.AddLength(pages); !ok || end > mm.TaskSize {
		return 0, linux.EFAULT
	}
	buf := make([]byte, min(pages, mincoreChunk))
	for pages > 0 {
		chunk := buf[:min(pages, uint64(len(buf)))]
		n, err := t.MM().Mincore(addr, chunk)
		if n > 0 {
			if _, err := t.MM().CopyOut(vec, chunk[:n]); err != nil {
				return 0, err
			}
		}
		if err != nil {
			return 0, err
		}
		pages -= uint64(n)
		vec += mm.Addr(n)
		addr += mm.Addr(n) << mm.PageShift
	}
	return 0, nil
}

// Brk implements brk(2).
func Brk(t *Task, a Args) (uintptr, error) {
	return uintptr(t.MM().BrkLimit(a.Pointer(0), t.proc.memLimits())), nil
}

// msync's flags.
const (
	msAsync      = 1
	msInvalidate = 2
	msSync       = 4
)

// Msync implements msync(2): dirty shared file pages are written back
// (mm.MM.Msync); MS_ASYNC with MS_SYNC, or an unknown flag, is EINVAL.
func Msync(t *Task, a Args) (uintptr, error) {
	flags := a.Int(2)
	if flags&^(msAsync|msInvalidate|msSync) != 0 || flags&(msAsync|msSync) == msAsync|msSync {
		return 0, linux.EINVAL
	}
	return 0, t.MM().Msync(a.Pointer(0), a.Uint64(1),
		mm.SyncOpts{Sync: flags&msSync != 0, Invalidate: flags&msInvalidate != 0})
}

// fallocPunchHole is FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE.
const fallocPunchHole = 0x2 | 0x1

// PunchHole implements mm.HolePuncher for MADV_REMOVE on a shared file
// mapping: the range of a host file is deallocated by the host (which
// may not support it: EOPNOTSUPP); the kernel's own files (tmpfs) get
// zeros written over the part below their size. A file opened without
// write access refuses (EACCES: the mapping may not write it).
func (f *openFile) PunchHole(off, length int64) error {
	if f.accMode() == linux.O_RDONLY {
		return linux.EACCES
	}
	if h, ok := f.host(); ok {
		return hostErr(syscall.Fallocate(h, fallocPunchHole, off, length))
	}
	size, err := f.Size()
	if err != nil {
		return err
	}
	zeros := make([]byte, min(length, mm.PageSize*16))
	for end := min(off+length, size); off < end; {
		n := min(int64(len(zeros)), end-off)
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			return err
		}
		off += n
	}
	return nil
}
