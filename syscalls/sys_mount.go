package syscalls

import (
	"github.com/cmaemu/cmaemu/fs/tmpfs"
	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// mount(2) flags.
const (
	msRdonly      = 0x1
	msNosuid      = 0x2
	msNodev       = 0x4
	msNoexec      = 0x8
	msRemount     = 0x20
	msBind        = 0x1000
	msMove        = 0x2000
	msRec         = 0x4000
	msSilent      = 0x8000
	msUnbindable  = 1 << 17
	msPrivate     = 1 << 18
	msSlave       = 1 << 19
	msShared      = 1 << 20
	msPropagation = msUnbindable | msPrivate | msSlave | msShared
	msPerMount    = msRdonly | msNosuid | msNodev | msNoexec
)

// Mount implements mount(2) inside the guest's view, for root
// (CAP_SYS_ADMIN): tmpfs, bind mounts, and remounts that change the
// per-mount flags (MS_RDONLY, ...). Propagation changes are accepted and
// change nothing (there is one namespace). Other filesystem types are
// ENODEV.
func Mount(t *Task, a Args) (uintptr, error) {
	if !t.proc.Creds().fsCreds().Admin {
		return 0, linux.EPERM
	}
	flags := a.Uint64(3)
	target, err := t.resolveAt(linux.AT_FDCWD, a.Pointer(1), 0, nil)
	if err != nil {
		return 0, err
	}
	defer target.DecRef()
	switch {
	case flags&msRemount != 0:
		if target.Mount == nil || target.Mount.Point != target.Name {
			return 0, linux.EINVAL
		}
		return 0, t.k.ns.Remount(target.Name, uint32(flags&msPerMount))
	case flags&msBind != 0:
		return 0, t.bindMount(a.Pointer(0), target, uint32(flags&msPerMount))
	case flags&msMove != 0:
		return 0, linux.EINVAL
	case flags&msPropagation != 0:
		return 0, nil
	}
	fstype, err := t.MM().CopyInString(a.Pointer(2), 4095)
	if err != nil {
		return 0, err
	}
	at, err := target.Attr()
	if err != nil {
		return 0, err
	}
	if !at.IsDir() {
		return 0, linux.ENOTDIR
	}
	var data string
	if a.Pointer(4) != 0 {
		if data, err = t.MM().CopyInString(a.Pointer(4), mm.PageSize-1); err != nil {
			return 0, err
		}
	}
	source := ""
	if a.Pointer(0) != 0 {
		source, _ = t.MM().CopyInString(a.Pointer(0), 4095)
	}
	switch fstype {
	case "tmpfs":
		opts, err := tmpfs.ParseOptions(data, int64(t.k.ram.Size()))
		if err != nil {
			return 0, err
		}
		opts.MountPoint = target.Name
		fs := tmpfs.New(opts)
		t.k.serveFIFOs(fs)
		t.k.ns.Mount(target.Name, fs.Root(), "tmpfs", source, fs.MountOptions(), uint32(flags&msPerMount), false)
		return 0, nil
	}
	return 0, linux.ENODEV
}

// bindMount mounts the directory at sourceAddr on target.
func (t *Task) bindMount(sourceAddr mm.Addr, target vfs.Path, flags uint32) error {
	src, err := t.resolveAt(linux.AT_FDCWD, sourceAddr, 0, nil)
	if err != nil {
		return err
	}
	defer src.DecRef()
	dir, ok := src.Inode.(vfs.Dir)
	sa, err := src.Attr()
	if err != nil {
		return err
	}
	ta, err := target.Attr()
	if err != nil {
		return err
	}
	if !ok || !sa.IsDir() || !ta.IsDir() {
		return linux.ENOTDIR // bind mounts of single files are not offered
	}
	dir.IncRef()
	m := src.Mount
	t.k.ns.Mount(target.Name, dir, m.FSType, m.Source, m.Options, flags, m.Host)
	return nil
}

// umount2 flags.
const (
	mntForce       = 1
	mntDetach      = 2
	mntExpire      = 4
	umountNoFollow = 8
)

// Umount2 implements umount2(2) for root: the newest mount at the target
// goes (EINVAL if the target is not a mount point, EBUSY while a mount
// lies beneath).
func Umount2(t *Task, a Args) (uintptr, error) {
	flags := a.Uint(1)
	if flags&^(mntForce|mntDetach|mntExpire|umountNoFollow) != 0 || flags&mntExpire != 0 && flags&(mntForce|mntDetach) != 0 {
		return 0, linux.EINVAL
	}
	if !t.proc.Creds().fsCreds().Admin {
		return 0, linux.EPERM
	}
	var at uint32
	if flags&umountNoFollow != 0 {
		at = linux.AT_SYMLINK_NOFOLLOW
	}
	target, err := t.resolveAt(linux.AT_FDCWD, a.Pointer(0), at, nil)
	if err != nil {
		return 0, err
	}
	defer target.DecRef()
	if target.Mount == nil || target.Mount.Point != target.Name {
		return 0, linux.EINVAL
	}
	return 0, t.k.ns.Unmount(target.Name)
}

// Umount implements the old umount(2) (i386): umount2 with no flags.
func Umount(t *Task, a Args) (uintptr, error) { return Umount2(t, Args{a[0], 0}) }
