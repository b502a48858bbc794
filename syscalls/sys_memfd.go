package syscalls

import (
	"errors"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/kernel/memfd"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// memfdFlags are the flags memfd_create knows (MFD_HUGETLB's page size
// bits aside: huge pages are refused).
const memfdFlags = linux.MFD_CLOEXEC | linux.MFD_ALLOW_SEALING | linux.MFD_NOEXEC_SEAL | linux.MFD_EXEC

// MemfdCreate implements memfd_create(2): an unlinked regular file in
// guest RAM, named "memfd:NAME" (NAME at most 249 bytes), open for
// reading and writing. Without MFD_ALLOW_SEALING or MFD_NOEXEC_SEAL it
// carries F_SEAL_SEAL; MFD_NOEXEC_SEAL drops the execute bits and seals
// them (vm.memfd_noexec is 0: no flag means MFD_EXEC). MFD_HUGETLB is
// EINVAL: the kernel has no huge pages.
func MemfdCreate(t *Task, a Args) (uintptr, error) {
	flags := a.Uint(1)
	if flags&^memfdFlags != 0 || flags&linux.MFD_EXEC != 0 && flags&linux.MFD_NOEXEC_SEAL != 0 {
		return 0, linux.EINVAL
	}
	name, err := t.MM().CopyInString(a.Pointer(0), memfd.NameMax)
	if errors.Is(err, linux.ENAMETOOLONG) {
		return 0, linux.EINVAL
	}
	if err != nil {
		return 0, err
	}
	c := t.proc.Creds()
	f := memfd.New(t.k.ram, memfd.Options{Name: name, AllowSealing: flags&linux.MFD_ALLOW_SEALING != 0,
		NoExecSeal: flags&linux.MFD_NOEXEC_SEAL != 0, UID: c.FSUID, GID: c.FSGID, Ino: t.k.memfdIno.Add(1)})
	h, _ := f.Open(linux.O_RDWR)
	of := newOpenFile(vfs.Path{Inode: f, Name: f.Name()}, h, linux.O_RDWR|linux.O_LARGEFILE)
	fd, err := t.proc.fds.Install(of, 0, flags&linux.MFD_CLOEXEC != 0)
	return uintptr(fd), err
}

// memfdOf returns the memfd behind f, if it is one.
func memfdOf(f File) (*memfd.File, *openFile, bool) {
	of, ok := f.(*openFile)
	if !ok || of.pathOnly() {
		return nil, nil, false
	}
	mf, ok := of.path.Inode.(*memfd.File)
	return mf, of, ok
}

// fcntlSeals is fcntl's F_ADD_SEALS and F_GET_SEALS: EINVAL for a file
// that is not a memfd; adding needs a descriptor open for writing.
func (t *Task) fcntlSeals(fd int32, cmd int32, seals uint32) (uintptr, error) {
	f, err := t.proc.fds.Get(fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	mf, of, ok := memfdOf(f)
	if !ok {
		return 0, linux.EINVAL
	}
	if cmd == linux.F_GET_SEALS {
		return uintptr(mf.Seals()), nil
	}
	if of.accMode() == linux.O_RDONLY {
		return 0, linux.EPERM
	}
	return 0, mf.AddSeals(seals)
}

// mapMemfd completes o for a MAP_SHARED mapping of a memfd: its memory
// object, under its write seals.
func mapMemfd(mf *memfd.File, o *mm.MapOpts, readOnlyFD bool) error {
	ro, err := mf.CheckMap(o.Prot&mm.ProtWrite != 0)
	if err != nil {
		return err
	}
	o.Object, o.ReadOnlyFile = mf.Object(), ro || readOnlyFD
	o.Name = mf.Name()
	return nil
}
