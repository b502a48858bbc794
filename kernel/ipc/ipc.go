// Package ipc is the kernel's System V IPC namespace: shared memory
// segments, semaphore sets and message queues, with Linux's identifiers,
// limits, permission checks and blocking rules (ipc/util.c, shm.c, sem.c,
// msg.c). The system call handlers decode guest memory and call it with
// the caller's credentials; it knows no task, only a Caller and a
// Blocker to wait with.
//
// Locking. Namespace.mu protects every table and every object in them
// (their permissions, values, queues and times). It is never held while
// waiting or while calling into an address space; the mm calls it (a
// segment's last detach) with MM.mu held, so the order is MM.mu, then
// Namespace.mu, then SharedObject.mu.
package ipc

import (
	"sync"
	"time"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// Capabilities the namespace checks (linux/capability.h).
const (
	CapIPCLock     = 14
	CapIPCOwner    = 15
	CapSysAdmin    = 21
	CapSysResource = 24
)

// Caller is the process a call is made for.
type Caller struct {
	PID        int32
	EUID, EGID uint32
	FSGID      uint32
	Groups     []uint32
	Caps       uint64 // effective capabilities, bit n for capability n
}

func (c *Caller) capable(cap int) bool { return c.Caps&(1<<cap) != 0 }

func (c *Caller) inGroup(gid uint32) bool {
	if gid == c.FSGID {
		return true
	}
	for _, g := range c.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// Blocker waits for a channel to close (file.Context and the task's own
// Block): nil when it closed, linux.ETIMEDOUT after timeout (0: none), any
// other error when the caller was interrupted.
type Blocker interface {
	Block(ready <-chan struct{}, timeout time.Duration) error
}

// Permission bits (S_IRUGO, S_IWUGO, S_IRWXUGO).
const (
	modeRead  = 0o444
	modeWrite = 0o222
	modeAll   = 0o777
)

// ipcmniShift: an identifier is seq<<ipcmniShift | index (IPCMNI).
const (
	ipcmniShift = 15
	ipcmni      = 1 << ipcmniShift
	seqMax      = (1<<31 - 1) >> ipcmniShift
)

// Perm is struct kern_ipc_perm: who owns an object and who may use it.
type Perm struct {
	Key                  int32
	ID                   int32
	UID, GID, CUID, CGID uint32
	Mode                 uint32 // permission bits, and SHM_DEST, SHM_LOCKED
	Seq                  uint16
}

// allows is ipcperms: may c use the object for the access in flag's
// permission bits (S_IRUGO, S_IWUGO or a get's mode)?
func (p *Perm) allows(c *Caller, flag uint32) bool {
	requested := (flag>>6 | flag>>3 | flag) & 7
	granted := p.Mode
	switch {
	case c.EUID == p.CUID || c.EUID == p.UID:
		granted >>= 6
	case c.inGroup(p.CGID) || c.inGroup(p.GID):
		granted >>= 3
	}
	return requested&^granted&7 == 0 || c.capable(CapIPCOwner)
}

// owns is the IPC_SET and IPC_RMID check: the owner, the creator or
// CAP_SYS_ADMIN.
func (p *Perm) owns(c *Caller) bool {
	return c.EUID == p.CUID || c.EUID == p.UID || c.capable(CapSysAdmin)
}

// set applies IPC_SET's owner and mode: EINVAL for an id of -1.
func (p *Perm) set(uid, gid, mode uint32) error {
	if uid == ^uint32(0) || gid == ^uint32(0) {
		return linux.EINVAL
	}
	p.UID, p.GID = uid, gid
	p.Mode = p.Mode&^modeAll | mode&modeAll
	return nil
}

// table is one kind's identifiers (struct ipc_ids).
type table[T any] struct {
	objs    map[int]T // by index
	perms   map[int]*Perm
	seq     uint16
	lastIdx int
}

func newTable[T any]() table[T] {
	return table[T]{objs: map[int]T{}, perms: map[int]*Perm{}, lastIdx: -1}
}

// add gives obj the lowest free index below max and its identifier.
func (t *table[T]) add(obj T, p *Perm, max int) bool {
	if len(t.objs) >= max {
		return false
	}
	idx := 0
	for ; idx < max; idx++ {
		if _, used := t.objs[idx]; !used {
			break
		}
	}
	if idx >= max {
		return false
	}
	if idx <= t.lastIdx {
		if t.seq++; int(t.seq) >= seqMax {
			t.seq = 0
		}
	}
	t.lastIdx = idx
	p.Seq = t.seq
	p.ID = int32(int(t.seq)<<ipcmniShift | idx)
	t.objs[idx], t.perms[idx] = obj, p
	return true
}

// find returns the object with identifier id (EINVAL: none, or one of an
// older sequence).
func (t *table[T]) find(id int32) (T, error) {
	var zero T
	if id < 0 {
		return zero, linux.EINVAL
	}
	idx := int(id) & (ipcmni - 1)
	p, ok := t.perms[idx]
	if !ok || p.ID != id {
		return zero, linux.EINVAL
	}
	return t.objs[idx], nil
}

// at returns the object at index idx (the *_STAT commands).
func (t *table[T]) at(idx int32) (T, error) {
	var zero T
	o, ok := t.objs[int(idx)]
	if idx < 0 || !ok {
		return zero, linux.EINVAL
	}
	return o, nil
}

// byKey returns the object with key, if any.
func (t *table[T]) byKey(key int32) (T, *Perm, bool) {
	for idx, p := range t.perms {
		if p.Key == key {
			return t.objs[idx], p, true
		}
	}
	var zero T
	return zero, nil, false
}

func (t *table[T]) remove(p *Perm) {
	idx := int(p.ID) & (ipcmni - 1)
	delete(t.objs, idx)
	delete(t.perms, idx)
}

// maxIdx is ipc_get_maxidx: the highest index in use, 0 if none.
func (t *table[T]) maxIdx() int {
	m := 0
	for idx := range t.objs {
		m = max(m, idx)
	}
	return m
}

// sorted returns the objects in index order (/proc/sysvipc).
func (t *table[T]) sorted() []T {
	out := make([]T, 0, len(t.objs))
	for idx := 0; len(out) < len(t.objs) && idx < ipcmni; idx++ {
		if o, ok := t.objs[idx]; ok {
			out = append(out, o)
		}
	}
	return out
}

// get is ipcget: the object with key (IPC_PRIVATE: always a new one),
// created by create when IPC_CREAT says so. check is the kind's
// more_checks for an existing object.
func get[T any](t *table[T], c *Caller, key int32, flags uint32, create func() (int32, error), check func(T) error) (int32, error) {
	if key == linux.IPC_PRIVATE {
		return create()
	}
	obj, p, ok := t.byKey(key)
	switch {
	case !ok && flags&linux.IPC_CREAT == 0:
		return 0, linux.ENOENT
	case !ok:
		return create()
	case flags&linux.IPC_CREAT != 0 && flags&linux.IPC_EXCL != 0:
		return 0, linux.EEXIST
	}
	if err := check(obj); err != nil {
		return 0, err
	}
	if !p.allows(c, flags) {
		return 0, linux.EACCES
	}
	return p.ID, nil
}

// owned finds object id for IPC_SET or IPC_RMID: EPERM unless c is its
// owner, its creator or has CAP_SYS_ADMIN.
func owned[T any](t *table[T], c *Caller, id int32) (T, *Perm, error) {
	obj, err := t.find(id)
	if err != nil {
		return obj, nil, err
	}
	p := t.perms[int(id)&(ipcmni-1)]
	if !p.owns(c) {
		var zero T
		return zero, nil, linux.EPERM
	}
	return obj, p, nil
}

// setOwner is the IPC_SET of sem and shm objects: it changes the owner
// and mode of object id of t (for its owner, creator or CAP_SYS_ADMIN)
// and stamps the object's change time, *ctime(obj).
func setOwner[T any](ns *Namespace, t *table[T], c *Caller, id int32, uid, gid, mode uint32, ctime func(T) *int64) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	obj, p, err := owned(t, c, id)
	if err != nil {
		return err
	}
	if err := p.set(uid, gid, mode); err != nil {
		return err
	}
	*ctime(obj) = ns.seconds()
	return nil
}

// stat finds the object of an IPC_STAT (by identifier) or of the
// *_STAT and *_STAT_ANY commands (by index: ret is then the
// identifier), checking read access but for *_STAT_ANY.
func stat[T any](t *table[T], c *Caller, id int32, cmd, statAny int32) (obj T, ret int32, err error) {
	if cmd == linux.IPC_STAT {
		obj, err = t.find(id)
	} else {
		obj, err = t.at(id)
	}
	if err != nil {
		return obj, 0, err
	}
	var zero T
	idx := int(id) & (ipcmni - 1)
	if cmd != linux.IPC_STAT {
		idx = int(id)
	}
	p := t.perms[idx]
	if cmd != statAny && !p.allows(c, modeRead) {
		return zero, 0, linux.EACCES
	}
	if cmd != linux.IPC_STAT {
		ret = p.ID
	}
	return obj, ret, nil
}

// newPerm is the permission of an object c creates.
func newPerm(c *Caller, key int32, flags uint32) *Perm {
	return &Perm{Key: key, UID: c.EUID, GID: c.EGID, CUID: c.EUID, CGID: c.EGID, Mode: flags & modeAll}
}

// Namespace is an IPC namespace: the System V objects every process of
// the kernel shares.
type Namespace struct {
	ram *mm.RAM
	now func() time.Time // the clock (tests replace it)

	mu      sync.Mutex // protects everything below and the objects
	shms    table[*Segment]
	shmTot  uint64 // pages of all segments (shm_tot)
	sems    table[*semSet]
	semTot  int                         // semaphores of all sets (used_sems)
	undos   map[int32]map[int32][]int16 // per process, per set: semadj
	msgs    table[*msgQueue]
	msgHdrs int // messages in all queues
	msgByte int // bytes in all queues
}

// New returns an empty namespace whose segments take frames from ram.
func New(ram *mm.RAM) *Namespace {
	return &Namespace{ram: ram, now: time.Now, shms: newTable[*Segment](), sems: newTable[*semSet](),
		msgs: newTable[*msgQueue](), undos: map[int32]map[int32][]int16{}}
}

// seconds is the time as the objects keep it.
func (ns *Namespace) seconds() int64 { return ns.now().Unix() }

// changed is a broadcast: a channel closed, and replaced, at every change
// of an object that waiters wait for.
type changed struct{ ch chan struct{} }

func (c *changed) wait() <-chan struct{} {
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

func (c *changed) broadcast() {
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}

// timeNone is the deadline of a wait without a timeout.
var timeNone time.Time

// block waits on ready with ns.mu released; it is reacquired before
// returning. Interrupted waits are EINTR (System V calls are never
// restarted), an expired timeout EAGAIN.
// Preconditions: ns.mu held.
func (ns *Namespace) block(b Blocker, ready <-chan struct{}, deadline time.Time) error {
	var timeout time.Duration
	if !deadline.IsZero() {
		if timeout = time.Until(deadline); timeout <= 0 {
			return linux.EAGAIN
		}
	}
	ns.mu.Unlock()
	err := b.Block(ready, timeout)
	ns.mu.Lock()
	switch {
	case err == nil:
		return nil
	case err == linux.ETIMEDOUT:
		return linux.EAGAIN
	}
	return linux.EINTR
}
