package ipc

import (
	"fmt"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// Shared memory limits: Linux's defaults (shmmax, shmall, shmmni).
const (
	ShmMin = 1
	ShmMax = ^uint64(0) - 1<<24 // bytes of one segment
	ShmAll = ^uint64(0) - 1<<24 // pages of all segments
	ShmMni = 4096               // segments
	ShmSeg = ipcmni             // segments one process may attach (SHMSEG)
)

// Segment is a shared memory segment. Its pages are the frames of a
// memory object in guest RAM: every attach maps that object, so the
// processes attached share frames as MAP_SHARED anonymous memory does.
// The segment holds one reference on the object; each VMA that maps it
// holds another, so shm_nattch is the object's references less one.
//
// All fields are protected by Namespace.mu.
type Segment struct {
	perm                Perm
	size                uint64
	obj                 *mm.SharedObject
	atime, dtime, ctime int64
	cpid, lpid          int32
	gone                bool // destroyed: no longer in the table
}

// nattch is shm_nattch: the VMAs mapping the segment.
func (s *Segment) nattch() uint64 { return uint64(s.obj.Refs() - 1) }

// pages is the segment's size in pages.
func (s *Segment) pages() uint64 { return (s.size + mm.PageSize - 1) >> mm.PageShift }

// ShmGet is shmget(2).
func (ns *Namespace) ShmGet(c *Caller, key int32, size uint64, flags uint32) (int32, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return get(&ns.shms, c, key, flags, func() (int32, error) { return ns.newSegmentLocked(c, key, size, flags) },
		func(s *Segment) error {
			if s.size < size {
				return linux.EINVAL
			}
			return nil
		})
}

// newSegmentLocked is newseg.
// Preconditions: ns.mu held.
func (ns *Namespace) newSegmentLocked(c *Caller, key int32, size uint64, flags uint32) (int32, error) {
	if size < ShmMin || size > ShmMax {
		return 0, linux.EINVAL
	}
	pages := (size + mm.PageSize - 1) >> mm.PageShift
	if pages<<mm.PageShift < size {
		return 0, linux.ENOSPC
	}
	if ns.shmTot+pages < ns.shmTot || ns.shmTot+pages > ShmAll {
		return 0, linux.ENOSPC
	}
	s := &Segment{perm: *newPerm(c, key, flags), size: size, ctime: ns.seconds(), cpid: c.PID}
	s.obj = mm.NewMemObject(func(refs int) { ns.detached(s, refs) }, nil)
	if !ns.shms.add(s, &s.perm, ShmMni) {
		s.obj.Release(ns.ram)
		return 0, linux.ENOSPC
	}
	ns.shmTot += pages
	return s.perm.ID, nil
}

// detached is told of every reference of s's object that goes: a
// removed segment is destroyed with its last attach.
func (ns *Namespace) detached(s *Segment, refs int) {
	if refs != 1 {
		return
	}
	ns.mu.Lock()
	s.dtime = ns.seconds()
	destroy := !s.gone && s.perm.Mode&linux.SHM_DEST != 0 && s.obj.Refs() == 1
	if destroy {
		ns.destroySegmentLocked(s)
	}
	ns.mu.Unlock()
	if destroy {
		s.obj.Release(ns.ram)
	}
}

// destroySegmentLocked takes s out of the table; the caller then drops
// the segment's reference on its object, outside ns.mu.
// Preconditions: ns.mu held.
func (ns *Namespace) destroySegmentLocked(s *Segment) {
	s.gone = true
	ns.shms.remove(&s.perm)
	ns.shmTot -= s.pages()
}

// Attachment is what shmat maps: Object (with a reference the caller
// drops once the mapping holds its own), Size bytes of it, named Name in
// /proc/PID/maps.
type Attachment struct {
	Object *mm.SharedObject
	Size   uint64
	Name   string
}

// ShmAttach is the lookup and permission part of shmat(2): write access
// unless SHM_RDONLY, execute with SHM_EXEC. A removed segment still
// attached can be attached again by its identifier, as in Linux.
func (ns *Namespace) ShmAttach(c *Caller, id int32, flags uint32) (Attachment, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s, err := ns.shms.find(id)
	if err != nil {
		return Attachment{}, err
	}
	acc := uint32(modeRead | modeWrite)
	if flags&linux.SHM_RDONLY != 0 {
		acc = modeRead
	}
	if flags&linux.SHM_EXEC != 0 {
		acc |= 0o111
	}
	if !s.perm.allows(c, acc) {
		return Attachment{}, linux.EACCES
	}
	if !s.obj.Acquire() {
		return Attachment{}, linux.EIDRM
	}
	s.atime, s.lpid = ns.seconds(), c.PID
	return Attachment{Object: s.obj, Size: s.size, Name: fmt.Sprintf("/SYSV%08x (deleted)", uint32(s.perm.Key))}, nil
}

// ShmSegment reports whether obj is a segment's memory, and its size
// (shmdt finds the mappings to remove with it).
func (ns *Namespace) ShmSegment(obj *mm.SharedObject) (size uint64, ok bool) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for _, s := range ns.shms.objs {
		if s.obj == obj {
			return s.size, true
		}
	}
	return 0, false
}

// ShmDetach records shmdt(2) of obj by pid (shm_lprid); the mappings
// themselves go with munmap, which counts the attaches.
func (ns *Namespace) ShmDetach(obj *mm.SharedObject, pid int32) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for _, s := range ns.shms.objs {
		if s.obj == obj {
			s.lpid, s.dtime = pid, ns.seconds()
		}
	}
}

// ShmDS is struct shmid64_ds.
type ShmDS struct {
	Perm                Perm
	Segsz               uint64
	Atime, Dtime, Ctime int64
	Cpid, Lpid          int32
	Nattch              uint64
}

func (s *Segment) ds() ShmDS {
	return ShmDS{Perm: s.perm, Segsz: s.size, Atime: s.atime, Dtime: s.dtime, Ctime: s.ctime,
		Cpid: s.cpid, Lpid: s.lpid, Nattch: s.nattch()}
}

// ShmStat is shmctl's IPC_STAT (by identifier), SHM_STAT and SHM_STAT_ANY
// (by index: the result is then the identifier).
func (ns *Namespace) ShmStat(c *Caller, id int32, cmd int32) (ShmDS, int32, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s, ret, err := stat(&ns.shms, c, id, cmd, linux.SHM_STAT_ANY)
	if err != nil {
		return ShmDS{}, 0, err
	}
	return s.ds(), ret, nil
}

// ShmSet is shmctl's IPC_SET.
func (ns *Namespace) ShmSet(c *Caller, id int32, uid, gid, mode uint32) error {
	return setOwner(ns, &ns.shms, c, id, uid, gid, mode, func(s *Segment) *int64 { return &s.ctime })
}

// ShmRemove is shmctl's IPC_RMID: the segment goes now if nothing is
// attached, else with its last detach; until then its key is
// IPC_PRIVATE and its mode has SHM_DEST.
func (ns *Namespace) ShmRemove(c *Caller, id int32) error {
	ns.mu.Lock()
	s, _, err := owned(&ns.shms, c, id)
	if err != nil {
		ns.mu.Unlock()
		return err
	}
	s.perm.Mode |= linux.SHM_DEST
	s.perm.Key = linux.IPC_PRIVATE
	destroy := s.obj.Refs() == 1
	if destroy {
		ns.destroySegmentLocked(s)
	}
	ns.mu.Unlock()
	if destroy {
		s.obj.Release(ns.ram)
	}
	return nil
}

// ShmLock is shmctl's SHM_LOCK and SHM_UNLOCK: the owner or
// CAP_IPC_LOCK. Pages are never swapped; only the mode's flag changes.
func (ns *Namespace) ShmLock(c *Caller, id int32, lock bool) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s, err := ns.shms.find(id)
	if err != nil {
		return err
	}
	if !c.capable(CapIPCLock) && c.EUID != s.perm.UID && c.EUID != s.perm.CUID {
		return linux.EPERM
	}
	if lock {
		s.perm.Mode |= linux.SHM_LOCKED
	} else {
		s.perm.Mode &^= linux.SHM_LOCKED
	}
	return nil
}

// ShmInfo is struct shm_info (SHM_INFO) with ipc_get_maxidx.
type ShmInfo struct {
	UsedIDs                int32
	Tot, RSS, Swp          uint64 // pages
	SwapAttempts, SwapSucc uint64
	MaxIdx                 int32
}

// ShmInfo is shmctl's SHM_INFO.
func (ns *Namespace) ShmInfo() ShmInfo {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	in := ShmInfo{UsedIDs: int32(len(ns.shms.objs)), MaxIdx: int32(ns.shms.maxIdx())}
	for _, s := range ns.shms.objs {
		in.Tot += s.pages()
		in.RSS += uint64(s.obj.Resident())
	}
	return in
}

// ShmMaxIdx is what shmctl's IPC_INFO returns (with the limits).
func (ns *Namespace) ShmMaxIdx() int32 {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return int32(ns.shms.maxIdx())
}
