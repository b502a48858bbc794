package lock

import (
	"time"

	"github.com/cmaemu/cmaemu/linux"
)

// Leases (Linux's generic_add_lease, generic_delete_lease, fcntl_getlease
// and __break_lease, for fcntl leases): a file has at most one lease per
// open file description. A read lease lets its holder know before anyone
// opens the file for writing, a write lease before anyone opens it at all.
// Such an open "breaks" the leases it conflicts with: the table marks them
// (to be removed, for an open for writing; downgraded to a read lease, for
// an open for reading), the kernel signals their holders, and the open
// waits until each holder has done so with F_SETLEASE or the lease break
// time has passed, when the table does it for them.
//
// What the kernel does around the table, as Linux does: F_SETLEASE checks
// that the file is a regular file (EINVAL) owned by the caller's fsuid or
// that the caller has CAP_LEASE (EACCES), and makes the caller's process
// the description's F_SETOWN owner; F_SETLEASE F_UNLCK clears the owner
// and the F_SETSIG signal. The signal of a break is the description's
// F_SETSIG signal (SIGIO if none), sent to its owner.

// Opens counts the open file descriptions of a file, the caller's own
// included, as Linux's i_readcount and i_writecount do.
type Opens struct {
	Readers int // open for reading only
	Writers int // open for writing (negative while writes are denied)
}

// lease is one lease.
type lease struct {
	holder Owner
	typ    Type // ReadLock or WriteLock
	// unlockPending: an open for writing is breaking the lease, which is
	// to go by breakTime. downgradePending: an open for reading is
	// breaking the write lease, which is to become a read lease by
	// downgradeTime.
	unlockPending, downgradePending bool
	breakTime, downgradeTime        time.Time
}

// breaking reports whether l is being broken.
func (l *lease) breaking() bool { return l.unlockPending || l.downgradePending }

// target returns what F_GETLEASE reports for l: the type it is being
// broken to, or its type (Linux's target_leasetype).
func (l *lease) target() Type {
	switch {
	case l.unlockPending:
		return Unlock
	case l.downgradePending:
		return ReadLock
	}
	return l.typ
}

// SetLease is fcntl's F_SETLEASE on file through the open file description
// desc (a Description owner; EINVAL for a Process) opened with mode, while
// opens are the file's open descriptions.
//
// With typ ReadLock or WriteLock it takes or changes desc's lease: a read
// lease needs no description open for writing (desc's own included), a
// write lease needs desc to be the file's only open description and no
// other description to hold a lease (else EAGAIN); no new lease is given
// while another is being removed by a break (EAGAIN). With typ Unlock it
// drops desc's lease (EAGAIN if there is none), and opens waiting for it
// go on. ENOLCK when a new lease would pass the table's MaxRecords; EINVAL
// for any other typ.
func (t *Table[F]) SetLease(file F, desc Owner, typ Type, mode Mode, opens Opens) error {
	if !desc.desc {
		return linux.EINVAL
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch typ {
	case Unlock:
		f := t.files[file]
		if f == nil {
			return linux.EAGAIN
		}
		l := f.leaseOf(desc)
		if l == nil {
			return linux.EAGAIN
		}
		t.removeLeaseLocked(f, l)
		t.indexLocked(file, f, desc)
		t.tidyLocked(file, f)
		return nil
	case ReadLock, WriteLock:
	default:
		return linux.EINVAL
	}
	f := t.fileLocked(file, true)
	defer t.tidyLocked(file, f)
	t.timeOutLocked(file, f, time.Now())
	if !opensAllow(typ, mode, opens) {
		return linux.EAGAIN
	}
	var mine *lease
	for _, l := range f.leases {
		if l.holder == desc {
			mine = l
			continue
		}
		if typ == WriteLock || l.unlockPending {
			return linux.EAGAIN
		}
	}
	if mine != nil {
		t.modifyLeaseLocked(file, f, mine, typ)
		return nil
	}
	if t.records+1 > t.max {
		return linux.ENOLCK
	}
	t.records++
	f.leases = append(f.leases, &lease{holder: desc, typ: typ})
	t.indexLocked(file, f, desc)
	return nil
}

// opensAllow reports whether a lease of type typ may be taken through a
// description opened with mode while opens are open (Linux's
// check_conflicting_open).
func opensAllow(typ Type, mode Mode, opens Opens) bool {
	if typ == ReadLock {
		return opens.Writers <= 0
	}
	selfR, selfW := 0, 0
	if mode&Writable != 0 {
		selfW = 1
	} else if mode&Readable != 0 {
		selfR = 1
	}
	return opens.Writers == selfW && opens.Readers == selfR
}

// GetLease is fcntl's F_GETLEASE: the type of desc's lease of file,
// Unlock for none; a lease being broken reports what it is being broken
// to (Unlock or ReadLock).
func (t *Table[F]) GetLease(file F, desc Owner) Type {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.files[file]
	if f == nil {
		return Unlock
	}
	defer t.tidyLocked(file, f)
	t.timeOutLocked(file, f, time.Now())
	if l := f.leaseOf(desc); l != nil {
		return l.target()
	}
	return Unlock
}

// BreakLease is what an open of file with the open(2) flags flags does to
// its leases (Linux's break_lease; truncate breaks as an O_WRONLY open
// does). The kernel calls it after counting the new description in the
// file's Opens, so that no conflicting lease is given meanwhile.
//
// An open for writing breaks every lease, an open for reading every write
// lease: the leases not yet being broken are marked, and notify is called
// (with no lock held) with the holder of each, whom the kernel signals.
// With O_NONBLOCK in flags, BreakLease then returns EAGAIN (EWOULDBLOCK)
// if any conflicting lease is left. Otherwise it waits through wait until
// none is (their holders gave them up or downgraded them, or the lease
// break time passed) and returns nil; an error from wait is returned as
// is. BreakLease returns nil at once when no lease conflicts.
func (t *Table[F]) BreakLease(file F, flags uint32, notify func(holder Owner), wait WaitFunc) error {
	write := flags&linux.O_ACCMODE != linux.O_RDONLY
	breaker := ReadLock
	if write {
		breaker = WriteLock
	}
	var w *waiter
	for {
		t.mu.Lock()
		f := t.files[file]
		if f == nil {
			t.mu.Unlock()
			return nil
		}
		if w != nil {
			f.breakers = removeWaiter(f.breakers, w)
			w = nil
		}
		now := time.Now()
		t.timeOutLocked(file, f, now)
		var holders []Owner
		var deadline time.Time // the first break time of a conflicting lease
		conflicting := false
		for _, l := range f.leases {
			if !conflicts(breaker, l.typ) {
				continue
			}
			conflicting = true
			switch {
			case write && !l.unlockPending:
				l.unlockPending, l.breakTime = true, now.Add(t.breakTime)
				holders = append(holders, l.holder)
			case !write && !l.breaking():
				l.downgradePending, l.downgradeTime = true, now.Add(t.breakTime)
				holders = append(holders, l.holder)
			}
			for _, d := range []time.Time{l.breakTime, l.downgradeTime} {
				if !d.IsZero() && (deadline.IsZero() || d.Before(deadline)) {
					deadline = d
				}
			}
		}
		if !conflicting {
			t.tidyLocked(file, f)
			t.mu.Unlock()
			return nil
		}
		if flags&linux.O_NONBLOCK != 0 {
			t.mu.Unlock()
			notifyAll(notify, holders)
			return linux.EAGAIN
		}
		w = &waiter{ready: make(chan struct{})}
		f.breakers = append(f.breakers, w)
		t.mu.Unlock()
		notifyAll(notify, holders)
		tm := time.AfterFunc(deadline.Sub(now), func() {
			t.mu.Lock()
			w.wakeLocked()
			t.mu.Unlock()
		})
		err := wait(w.ready)
		tm.Stop()
		if err != nil {
			t.mu.Lock()
			if f := t.files[file]; f != nil {
				f.breakers = removeWaiter(f.breakers, w)
				t.tidyLocked(file, f)
			}
			t.mu.Unlock()
			return err
		}
	}
}

func notifyAll(notify func(Owner), holders []Owner) {
	if notify == nil {
		return
	}
	for _, h := range holders {
		notify(h)
	}
}

// leaseOf returns o's lease of f, or nil.
func (f *file) leaseOf(o Owner) *lease {
	for _, l := range f.leases {
		if l.holder == o {
			return l
		}
	}
	return nil
}

// timeOutLocked does to the leases of f whose break time has passed what
// their holders were asked to do (Linux's time_out_leases).
func (t *Table[F]) timeOutLocked(key F, f *file, now time.Time) {
	for _, l := range append([]*lease(nil), f.leases...) {
		if !l.downgradeTime.IsZero() && !now.Before(l.downgradeTime) {
			t.modifyLeaseLocked(key, f, l, ReadLock)
		}
		if !l.breakTime.IsZero() && !now.Before(l.breakTime) {
			t.modifyLeaseLocked(key, f, l, Unlock)
		}
	}
}

// modifyLeaseLocked changes l to typ, removing it for Unlock, and wakes
// the opens waiting for the leases of f (Linux's lease_modify). Changing
// to a read lease ends a pending downgrade; removal ends any break.
func (t *Table[F]) modifyLeaseLocked(key F, f *file, l *lease, typ Type) {
	if typ == Unlock {
		t.removeLeaseLocked(f, l)
		t.indexLocked(key, f, l.holder)
		return
	}
	l.typ = typ
	if typ == ReadLock {
		l.downgradePending, l.downgradeTime = false, time.Time{}
	}
	t.wakeBreakersLocked(f)
}

// removeLeaseLocked removes l from f and wakes the opens waiting for the
// leases of f. The caller updates byOwner.
func (t *Table[F]) removeLeaseLocked(f *file, l *lease) {
	for i, x := range f.leases {
		if x == l {
			f.leases = append(f.leases[:i:i], f.leases[i+1:]...)
			t.records--
			break
		}
	}
	t.wakeBreakersLocked(f)
}

// wakeBreakersLocked wakes the opens waiting for the leases of f.
func (t *Table[F]) wakeBreakersLocked(f *file) {
	for _, w := range f.breakers {
		w.wakeLocked()
	}
	f.breakers = nil
}
