package lock

import "github.com/cmaemu/cmaemu/linux"

// Record locks, POSIX and OFD alike (Linux's posix_lock_inode and
// posix_test_lock): they live in one list per file and differ only in
// their owner.

// maxDeadlockSteps is Linux's MAX_DEADLK_ITERATIONS.
const maxDeadlockSteps = 10

// SetLk is fcntl's F_SETLK (wait nil) and F_SETLKW, or with o a
// Description, F_OFD_SETLK and F_OFD_SETLKW: it checks l as fcntl_setlk
// does (FlockRange's errors; EINVAL for a bad l_type; EBADF for a read lock
// through a description not open for reading or a write lock through one
// not open for writing; EINVAL for an OFD command with l_pid not 0), then
// calls Set. (Linux also undoes a POSIX lock that was set while another
// thread closed the descriptor: when, after SetLk, the descriptor no longer
// names the description, the kernel unlocks the range with Set and returns
// EBADF.)
func (t *Table[F]) SetLk(file F, o Owner, l Flock, d Desc, wait WaitFunc) error {
	r, err := FlockRange(l.Whence, l.Start, l.Len, d.Pos, d.Size)
	if err != nil {
		return err
	}
	if !l.Type.Valid() {
		return linux.EINVAL
	}
	if l.Type == ReadLock && d.Mode&Readable == 0 || l.Type == WriteLock && d.Mode&Writable == 0 {
		return linux.EBADF
	}
	if o.desc && l.Pid != 0 {
		return linux.EINVAL
	}
	return t.Set(file, o, l.Type, r, wait)
}

// GetLk is fcntl's F_GETLK, or with o a Description, F_OFD_GETLK: it
// checks l as fcntl_getlk does (EINVAL for an l_type other than F_RDLCK
// and F_WRLCK, except that F_OFD_GETLK takes F_UNLCK too; FlockRange's
// errors; EINVAL for F_OFD_GETLK with l_pid not 0) and then rewrites l as
// Linux does: with the first lock that would conflict with the one
// described (see Test; l_whence SEEK_SET, l_len 0 for a lock to the end of
// the file, l_pid -1 for an OFD lock), or, when there is none, with only
// l_type changed to F_UNLCK (the other fields keep the caller's values).
func (t *Table[F]) GetLk(file F, o Owner, l *Flock, d Desc) error {
	if !o.desc && l.Type != ReadLock && l.Type != WriteLock {
		return linux.EINVAL
	}
	r, err := FlockRange(l.Whence, l.Start, l.Len, d.Pos, d.Size)
	if err != nil {
		return err
	}
	if !l.Type.Valid() {
		return linux.EINVAL
	}
	if o.desc && l.Pid != 0 {
		return linux.EINVAL
	}
	c, ok := t.Test(file, o, l.Type, r)
	if !ok {
		l.Type = Unlock
		return nil
	}
	*l = c.Flock()
	return nil
}

// Set gives o a lock of type typ on r of file, or with typ Unlock removes
// o's locks from r. o's own locks never conflict with it: they are
// replaced on r, split around it and merged with it (adjacent or
// overlapping locks of the same type become one), as Linux does.
//
// When a lock of another owner conflicts (overlaps, and one of the two is
// a write lock), Set returns EAGAIN if wait is nil (F_SETLK). Otherwise
// (F_SETLKW) it waits through wait until the conflicting locks have gone,
// and takes the lock; if wait returns an error, Set withdraws the request
// and returns that error. Before a POSIX request waits, Set looks for a
// deadlock as Linux's posix_locks_deadlock does: from the owner of the
// conflicting lock it follows the lock that owner is itself waiting for
// (its newest blocked request), and so on; when the chain comes back to
// o, Set returns EDEADLK. Like Linux it gives up after 11 owners (the
// chain of MAX_DEADLK_ITERATIONS, 10) and then waits; it follows no OFD
// request (only requests blocked by a process's lock are in the chain),
// and OFD requests never check.
//
// Set returns ENOLCK when the table would need more than its MaxRecords
// records (an unlock in the middle of a lock needs one more, as in Linux),
// and EINVAL for an invalid typ or range.
func (t *Table[F]) Set(file F, o Owner, typ Type, r Range, wait WaitFunc) error {
	if !typ.Valid() || r.Start < 0 || r.End < r.Start {
		return linux.EINVAL
	}
	var w *waiter
	for {
		t.mu.Lock()
		if w != nil {
			t.dropWaiterLocked(file, w)
			w = nil
		}
		f := t.fileLocked(file, typ != Unlock)
		if f == nil {
			t.mu.Unlock()
			return nil // nothing to unlock
		}
		if typ != Unlock {
			if c, ok := f.conflict(o, typ, r); ok {
				if wait == nil {
					t.tidyLocked(file, f)
					t.mu.Unlock()
					return linux.EAGAIN
				}
				if !o.desc && t.deadlockLocked(o, c.Owner) {
					t.tidyLocked(file, f)
					t.mu.Unlock()
					return linux.EDEADLK
				}
				w = &waiter{owner: o, blocker: c.Owner, ready: make(chan struct{})}
				f.waiters = append(f.waiters, w)
				if !c.Owner.desc {
					t.blocked[o] = append(t.blocked[o], w)
				}
				t.mu.Unlock()
				if err := wait(w.ready); err != nil {
					t.mu.Lock()
					t.dropWaiterLocked(file, w)
					t.mu.Unlock()
					return err
				}
				continue
			}
		}
		err := t.applyLocked(file, f, o, typ, r)
		t.tidyLocked(file, f)
		t.mu.Unlock()
		return err
	}
}

// Test returns the first lock of file (in Linux's order: owners in the
// order of their first lock on the file, each owner's locks by offset)
// that conflicts with a lock of type typ on r by o, and whether there is
// one. With typ Unlock (F_OFD_GETLK's F_UNLCK, Linux 6.7) it returns
// instead the first lock of o itself that overlaps r.
func (t *Table[F]) Test(file F, o Owner, typ Type, r Range) (Lock, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.files[file]
	if f == nil {
		return Lock{}, false
	}
	if typ == Unlock {
		if h := f.heldBy(o); h != nil {
			for _, l := range h.locks {
				if l.r.Overlaps(r) {
					return Lock{l.typ, l.r, o}, true
				}
			}
		}
		return Lock{}, false
	}
	return f.conflict(o, typ, r)
}

// Locks returns the record locks of file in Linux's order (see Test).
func (t *Table[F]) Locks(file F) []Lock {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.files[file]
	if f == nil {
		return nil
	}
	var ls []Lock
	for _, h := range f.held {
		for _, l := range h.locks {
			ls = append(ls, Lock{l.typ, l.r, h.owner})
		}
	}
	return ls
}

// Release drops every lock o holds on file, and o's lease of it. The
// kernel calls it with the closing process's Process owner on every close
// of a descriptor of file (POSIX locks go with the first close of any
// descriptor of the file), and with a Description owner when that open
// file description's last reference goes (its OFD locks and lease).
// Requests waiting for those locks are woken.
func (t *Table[F]) Release(file F, o Owner) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.files[file]; f != nil {
		t.releaseLocked(file, f, o)
	}
}

// Holds reports whether o holds any lock or lease, on any file: when
// not, Release and ReleaseAll for o have nothing to do.
func (t *Table[F]) Holds(o Owner) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byOwner[o]) > 0
}

// ReleaseAll drops every lock and lease o holds on any file: a process's
// POSIX locks when it exits (after its tasks stopped waiting for locks),
// or everything a description held.
func (t *Table[F]) ReleaseAll(o Owner) {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := make([]F, 0, len(t.byOwner[o]))
	for k := range t.byOwner[o] {
		keys = append(keys, k)
	}
	for _, k := range keys {
		if f := t.files[k]; f != nil {
			t.releaseLocked(k, f, o)
		}
	}
}

// releaseLocked drops o's locks and lease on file.
func (t *Table[F]) releaseLocked(key F, f *file, o Owner) {
	for i, h := range f.held {
		if h.owner == o {
			t.records -= len(h.locks)
			f.held = append(f.held[:i:i], f.held[i+1:]...)
			t.wakeLocked(f)
			break
		}
	}
	if l := f.leaseOf(o); l != nil {
		t.removeLeaseLocked(f, l)
	}
	t.indexLocked(key, f, o)
	t.tidyLocked(key, f)
}

// heldBy returns o's locks on f, or nil.
func (f *file) heldBy(o Owner) *held {
	for _, h := range f.held {
		if h.owner == o {
			return h
		}
	}
	return nil
}

// conflict returns the first lock of f that a lock of type typ on r by o
// conflicts with (Linux's posix_locks_conflict).
func (f *file) conflict(o Owner, typ Type, r Range) (Lock, bool) {
	for _, h := range f.held {
		if h.owner == o {
			continue
		}
		for _, l := range h.locks {
			if l.r.Start > r.End {
				break
			}
			if l.r.Overlaps(r) && conflicts(typ, l.typ) {
				return Lock{l.typ, l.r, h.owner}, true
			}
		}
	}
	return Lock{}, false
}

// applyLocked sets o's lock of type typ on r of f, which conflicts with no
// other owner's. It wakes the waiters of f if some byte is less locked
// than it was.
func (t *Table[F]) applyLocked(key F, f *file, o Owner, typ Type, r Range) error {
	h := f.heldBy(o)
	var old []record
	if h != nil {
		old = h.locks
	}
	locks, released := apply(old, typ, r)
	grow := len(locks) - len(old)
	if grow > 0 && t.records+grow > t.max {
		return linux.ENOLCK
	}
	t.records += grow
	switch {
	case h == nil && len(locks) > 0:
		f.held = append(f.held, &held{owner: o, locks: locks})
	case h != nil && len(locks) == 0:
		for i, x := range f.held {
			if x == h {
				f.held = append(f.held[:i:i], f.held[i+1:]...)
				break
			}
		}
	case h != nil:
		h.locks = locks
	}
	t.indexLocked(key, f, o)
	if released {
		t.wakeLocked(f)
	}
	return nil
}

// apply returns an owner's locks old with r set to typ (removed, for
// Unlock): the pieces of old locks outside r stay, and the new lock merges
// with the locks of its type it touches. This is the list Linux's
// posix_lock_inode leaves. released reports whether some byte of r lost a
// lock or went from a write lock to a read lock.
func apply(old []record, typ Type, r Range) (locks []record, released bool) {
	out := make([]record, 0, len(old)+2)
	placed := typ == Unlock
	place := func() {
		if !placed {
			out = append(out, record{typ, r})
			placed = true
		}
	}
	for _, l := range old {
		if l.r.End < r.Start {
			out = append(out, l)
			continue
		}
		if l.r.Start > r.End {
			place()
			out = append(out, l)
			continue
		}
		if l.typ != typ && (typ == Unlock || l.typ == WriteLock) {
			released = true
		}
		if l.r.Start < r.Start {
			out = append(out, record{l.typ, Range{l.r.Start, r.Start - 1}})
		}
		if l.r.End > r.End {
			place()
			out = append(out, record{l.typ, Range{r.End + 1, l.r.End}})
		}
	}
	place()
	// Merge neighbours of one type. Only the new lock can have any: the
	// old locks had none.
	merged := out[:0]
	for _, l := range out {
		if n := len(merged); n > 0 {
			p := &merged[n-1]
			if p.typ == l.typ && p.r.End != MaxOffset && p.r.End+1 == l.r.Start {
				p.r.End = l.r.End
				continue
			}
		}
		merged = append(merged, l)
	}
	if len(merged) == 0 {
		return nil, released
	}
	return merged, released
}

// deadlockLocked reports whether caller, about to wait for a lock of
// blocker, would close a cycle of processes each waiting for the next
// (Linux's posix_locks_deadlock and what_owner_is_waiting_for; blocked_hash
// lists an owner's newest request first).
func (t *Table[F]) deadlockLocked(caller, blocker Owner) bool {
	for i := 0; ; i++ {
		ws := t.blocked[blocker]
		if len(ws) == 0 {
			return false
		}
		blocker = ws[len(ws)-1].blocker
		if i > maxDeadlockSteps {
			return false
		}
		if blocker == caller {
			return true
		}
	}
}

// wakeLocked wakes every request waiting for a lock of f: each retries.
func (t *Table[F]) wakeLocked(f *file) {
	for _, w := range f.waiters {
		w.wakeLocked()
		t.unblockLocked(w)
	}
	f.waiters = nil
}

// unblockLocked removes w from the blocked requests.
func (t *Table[F]) unblockLocked(w *waiter) {
	ws := removeWaiter(t.blocked[w.owner], w)
	if len(ws) == 0 {
		delete(t.blocked, w.owner)
	} else {
		t.blocked[w.owner] = ws
	}
}

// dropWaiterLocked withdraws the request w on file.
func (t *Table[F]) dropWaiterLocked(key F, w *waiter) {
	t.unblockLocked(w)
	if f := t.files[key]; f != nil {
		f.waiters = removeWaiter(f.waiters, w)
		t.tidyLocked(key, f)
	}
}
