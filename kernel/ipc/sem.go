package ipc

import (
	"time"

	"github.com/cmaemu/cmaemu/linux"
)

// Semaphore limits: Linux's defaults (kernel.sem).
const (
	SemMsl = 32000      // semaphores per set
	SemMns = 1024000000 // semaphores in all sets
	SemOpm = 500        // operations per semop
	SemMni = 32000      // sets
	SemVmx = 32767      // largest value
	SemAem = SemVmx     // largest adjustment on exit
	SemUsz = 20         // SEMUSZ, for IPC_INFO
)

// Sembuf is struct sembuf.
type Sembuf struct {
	Num uint16
	Op  int16
	Flg int16
}

type semaphore struct {
	val   int
	pid   int32
	ncnt  int // tasks waiting for val to grow
	zcnt  int // tasks waiting for val to be 0
	otime int64
}

// semSet is a semaphore set. Protected by Namespace.mu.
type semSet struct {
	perm  Perm
	sems  []semaphore
	ctime int64
	gone  bool
	// changed is broadcast at every change of a value and at removal.
	changed changed
}

// otime is the set's last semop time: the latest of its semaphores'.
func (s *semSet) otime() int64 {
	var t int64
	for _, x := range s.sems {
		t = max(t, x.otime)
	}
	return t
}

// SemGet is semget(2).
func (ns *Namespace) SemGet(c *Caller, key int32, nsems int32, flags uint32) (int32, error) {
	if nsems < 0 || nsems > SemMsl {
		return 0, linux.EINVAL
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return get(&ns.sems, c, key, flags, func() (int32, error) {
		if nsems == 0 {
			return 0, linux.EINVAL
		}
		if ns.semTot+int(nsems) > SemMns {
			return 0, linux.ENOSPC
		}
		s := &semSet{perm: *newPerm(c, key, flags), sems: make([]semaphore, nsems), ctime: ns.seconds()}
		if !ns.sems.add(s, &s.perm, SemMni) {
			return 0, linux.ENOSPC
		}
		ns.semTot += int(nsems)
		return s.perm.ID, nil
	}, func(s *semSet) error {
		if int(nsems) > len(s.sems) {
			return linux.EINVAL
		}
		return nil
	})
}

// undoLocked returns pid's adjustments for set s, made if make says so.
// Preconditions: ns.mu held.
func (ns *Namespace) undoLocked(pid int32, s *semSet, make_ bool) []int16 {
	per := ns.undos[pid]
	if adj := per[s.perm.ID]; adj != nil || !make_ {
		return adj
	}
	if per == nil {
		per = map[int32][]int16{}
		ns.undos[pid] = per
	}
	adj := make([]int16, len(s.sems))
	per[s.perm.ID] = adj
	return adj
}

// trySemop is perform_atomic_semop: all of sops or none. It returns
// blocking >= 0, the index of the operation that must wait, or -1 when
// done; or ERANGE, or EAGAIN when the operation that must wait has
// IPC_NOWAIT.
func (s *semSet) trySemop(sops []Sembuf, adj []int16, pid int32, now int64) (blocking int, err error) {
	vals := make([]int, len(s.sems))
	for i := range s.sems {
		vals[i] = s.sems[i].val
	}
	var adjs []int
	if adj != nil {
		adjs = make([]int, len(adj))
		for i, a := range adj {
			adjs[i] = int(a)
		}
	}
	for i, op := range sops {
		v := vals[op.Num]
		r := v + int(op.Op)
		switch {
		case op.Op == 0 && v != 0, r < 0:
			if op.Flg&linux.IPC_NOWAIT != 0 {
				return 0, linux.EAGAIN
			}
			return i, nil
		case r > SemVmx:
			return 0, linux.ERANGE
		}
		if op.Flg&linux.SEM_UNDO != 0 {
			u := adjs[op.Num] - int(op.Op)
			if u < -SemAem-1 || u > SemAem {
				return 0, linux.ERANGE
			}
			adjs[op.Num] = u
		}
		vals[op.Num] = r
	}
	for i := range s.sems {
		s.sems[i].val = vals[i]
	}
	for i := range adjs {
		adj[i] = int16(adjs[i])
	}
	for _, op := range sops {
		s.sems[op.Num].pid = pid
		s.sems[op.Num].otime = now
	}
	return -1, nil
}

// Semop is semtimedop(2) after the operations were read: timeout < 0
// waits for ever. An interrupted wait is EINTR, an expired one EAGAIN;
// a set removed while waiting is EIDRM.
func (ns *Namespace) Semop(c *Caller, b Blocker, id int32, sops []Sembuf, timeout time.Duration) error {
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	maxNum, undo, alter := 0, false, false
	for _, op := range sops {
		maxNum = max(maxNum, int(op.Num))
		undo = undo || op.Flg&linux.SEM_UNDO != 0
		alter = alter || op.Op != 0
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s, err := ns.sems.find(id)
	if err != nil {
		return err
	}
	if maxNum >= len(s.sems) {
		return linux.EFBIG
	}
	acc := uint32(modeRead)
	if alter {
		acc = modeWrite
	}
	if !s.perm.allows(c, acc) {
		return linux.EACCES
	}
	for {
		var adj []int16
		if undo {
			adj = ns.undoLocked(c.PID, s, true)
		}
		blocking, err := s.trySemop(sops, adj, c.PID, ns.seconds())
		if err != nil {
			return err
		}
		if blocking < 0 {
			if alter {
				s.changed.broadcast()
			}
			return nil
		}
		op := sops[blocking]
		sem := &s.sems[op.Num]
		cnt := &sem.ncnt
		if op.Op == 0 {
			cnt = &sem.zcnt
		}
		*cnt++
		err = ns.block(b, s.changed.wait(), deadline)
		*cnt--
		if s.gone {
			return linux.EIDRM
		}
		if err != nil {
			return err
		}
	}
}

// SemInfo is struct seminfo (IPC_INFO and SEM_INFO) with the highest
// index in use.
type SemInfo struct {
	Semmap, Semmni, Semmns, Semmnu, Semmsl int32
	Semopm, Semume, Semusz, Semvmx, Semaem int32
	MaxIdx                                 int32
}

// SemInfo is semctl's IPC_INFO (limits) or SEM_INFO (usage).
func (ns *Namespace) SemInfo(usage bool) SemInfo {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	in := SemInfo{Semmni: SemMni, Semmsl: SemMsl, Semmns: SemMns, Semopm: SemOpm, Semvmx: SemVmx,
		Semmnu: SemMns, Semmap: SemMns, Semume: SemOpm, Semusz: SemUsz, Semaem: SemAem,
		MaxIdx: int32(ns.sems.maxIdx())}
	if usage {
		in.Semusz, in.Semaem = int32(len(ns.sems.objs)), int32(ns.semTot)
	}
	return in
}

// SemDS is struct semid64_ds.
type SemDS struct {
	Perm         Perm
	Otime, Ctime int64
	Nsems        uint64
}

// SemStat is semctl's IPC_STAT (by identifier), SEM_STAT and
// SEM_STAT_ANY (by index: the result is then the identifier).
func (ns *Namespace) SemStat(c *Caller, id int32, cmd int32) (SemDS, int32, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s, ret, err := stat(&ns.sems, c, id, cmd, linux.SEM_STAT_ANY)
	if err != nil {
		return SemDS{}, 0, err
	}
	return SemDS{Perm: s.perm, Otime: s.otime(), Ctime: s.ctime, Nsems: uint64(len(s.sems))}, ret, nil
}

// SemSet is semctl's IPC_SET.
func (ns *Namespace) SemSet(c *Caller, id int32, uid, gid, mode uint32) error {
	return setOwner(ns, &ns.sems, c, id, uid, gid, mode, func(s *semSet) *int64 { return &s.ctime })
}

// SemRemove is semctl's IPC_RMID: waiters get EIDRM, adjustments go.
func (ns *Namespace) SemRemove(c *Caller, id int32) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s, _, err := owned(&ns.sems, c, id)
	if err != nil {
		return err
	}
	s.gone = true
	ns.sems.remove(&s.perm)
	ns.semTot -= len(s.sems)
	for _, per := range ns.undos {
		delete(per, s.perm.ID)
	}
	s.changed.broadcast()
	return nil
}

// SemCount returns the number of semaphores of set id (for GETALL and
// SETALL's buffers), checking that c may read (or write) it.
func (ns *Namespace) SemCount(c *Caller, id int32, write bool) (int, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s, err := ns.sems.find(id)
	if err != nil {
		return 0, err
	}
	acc := uint32(modeRead)
	if write {
		acc = modeWrite
	}
	if !s.perm.allows(c, acc) {
		return 0, linux.EACCES
	}
	return len(s.sems), nil
}

// SemGet1 is semctl's GETVAL, GETPID, GETNCNT and GETZCNT.
func (ns *Namespace) SemGet1(c *Caller, id int32, num int32, cmd int32) (int32, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s, err := ns.sems.find(id)
	if err != nil {
		return 0, err
	}
	if !s.perm.allows(c, modeRead) {
		return 0, linux.EACCES
	}
	if num < 0 || int(num) >= len(s.sems) {
		return 0, linux.EINVAL
	}
	x := s.sems[num]
	switch cmd {
	case linux.GETVAL:
		return int32(x.val), nil
	case linux.GETPID:
		return x.pid, nil
	case linux.GETNCNT:
		return int32(x.ncnt), nil
	}
	return int32(x.zcnt), nil
}

// SemGetAll is semctl's GETALL: the values, if the set has n semaphores
// (else EAGAIN, for the caller to size its buffer again).
func (ns *Namespace) SemGetAll(c *Caller, id int32, n int) ([]uint16, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s, err := ns.sems.find(id)
	if err != nil {
		return nil, err
	}
	if !s.perm.allows(c, modeRead) {
		return nil, linux.EACCES
	}
	if len(s.sems) != n {
		return nil, linux.EAGAIN
	}
	out := make([]uint16, n)
	for i, x := range s.sems {
		out[i] = uint16(x.val)
	}
	return out, nil
}

// SemSetVal is semctl's SETVAL (num >= 0) or SETALL (vals): values above
// SEMVMX are ERANGE; the adjustments of the semaphores set are cleared.
func (ns *Namespace) SemSetVal(c *Caller, id int32, num int32, val int32, vals []uint16) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s, err := ns.sems.find(id)
	if err != nil {
		return err
	}
	if !s.perm.allows(c, modeWrite) {
		return linux.EACCES
	}
	if vals == nil {
		if num < 0 || int(num) >= len(s.sems) {
			return linux.EINVAL
		}
		if val < 0 || val > SemVmx {
			return linux.ERANGE
		}
	} else {
		if len(vals) != len(s.sems) {
			return linux.EAGAIN
		}
		for _, v := range vals {
			if v > SemVmx {
				return linux.ERANGE
			}
		}
	}
	for i := range s.sems {
		if vals == nil && i != int(num) {
			continue
		}
		if vals == nil {
			s.sems[i].val = int(val)
		} else {
			s.sems[i].val = int(vals[i])
		}
		s.sems[i].pid = c.PID
		for _, per := range ns.undos {
			if adj := per[s.perm.ID]; adj != nil {
				adj[i] = 0
			}
		}
	}
	s.ctime = ns.seconds()
	s.changed.broadcast()
	return nil
}

// ExitSem applies and forgets the adjustments of process pid (exit_sem):
// each value moves by its adjustment, kept within 0 and SEMVMX.
func (ns *Namespace) ExitSem(pid int32) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	per := ns.undos[pid]
	delete(ns.undos, pid)
	for id, adj := range per {
		s, err := ns.sems.find(id)
		if err != nil {
			continue
		}
		for i, a := range adj {
			if a == 0 {
				continue
			}
			v := min(max(s.sems[i].val+int(a), 0), SemVmx)
			s.sems[i].val, s.sems[i].pid = v, pid
		}
		s.changed.broadcast()
	}
}
