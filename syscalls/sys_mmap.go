package syscalls

import (
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
		Fixed: flags&linux.MAP_FIXED != 0, NoReplace: flags&linux.MAP_FIXED_NOREPLACE != 0, Offset: off}
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
		if o.Shared {
			obj, err := t.k.sharedFileObject(hf)
			if err != nil {
				return 0, err
			}
			defer obj.Release(t.k.ram)
			o.Object = obj
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
	return 0, t.MM().Protect(a.Pointer(0), a.Uint64(1), mm.Prot(prot))
}

// Mremap implements mremap(2) without MREMAP_DONTUNMAP.
func Mremap(t *Task, a Args) (uintptr, error) {
	flags := a.Uint64(3)
	if flags&^(linux.MREMAP_MAYMOVE|linux.MREMAP_FIXED) != 0 {
		return 0, linux.EINVAL
	}
	got, err := t.MM().Remap(a.Pointer(0), a.Uint64(1), a.Uint64(2),
		flags&linux.MREMAP_MAYMOVE != 0, flags&linux.MREMAP_FIXED != 0, a.Pointer(4))
	return uintptr(got), err
}

// Madvise implements madvise(2): MADV_DONTNEED drops pages; the other
// advice is accepted and has no effect.
func Madvise(t *Task, a Args) (uintptr, error) {
	addr, length := a.Pointer(0), a.Uint64(1)
	if !addr.IsPageAligned() {
		return 0, linux.EINVAL
	}
	switch a.Int(2) {
	case linux.MADV_DONTNEED:
		if length == 0 {
			return 0, nil
		}
		return 0, t.MM().DontNeed(addr, length)
	case linux.MADV_NORMAL, linux.MADV_RANDOM, linux.MADV_SEQUENTIAL, linux.MADV_WILLNEED, linux.MADV_FREE,
		9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21:
		if !t.MM().Covered(addr, length) {
			return 0, linux.ENOMEM
		}
		return 0, nil
	}
	return 0, linux.EINVAL
}

// Brk implements brk(2).
func Brk(t *Task, a Args) (uintptr, error) {
	return uintptr(t.MM().Brk(a.Pointer(0))), nil
}

// Msync implements msync(2): shared file pages are written back.
func Msync(t *Task, a Args) (uintptr, error) {
	if a.Int(2)&^7 != 0 {
		return 0, linux.EINVAL
	}
	return 0, t.MM().Sync(a.Pointer(0), a.Uint64(1))
}
