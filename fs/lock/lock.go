// Package lock is the kernel's table of file locks, one for the whole
// emulator and shared by all its guest processes, with the semantics of
// Linux's fs/locks.c:
//
//   - POSIX record locks (fcntl F_SETLK, F_SETLKW, F_GETLK), owned by a
//     process, released when the process closes any descriptor of the file
//     and when it exits; F_SETLKW detects deadlocks between processes as
//     posix_locks_deadlock does;
//   - open-file-description locks (F_OFD_SETLK, F_OFD_SETLKW, F_OFD_GETLK),
//     owned by an open file description and released with its last
//     reference;
//   - leases (F_SETLEASE, F_GETLEASE), one per file and open description,
//     and their breaking by a conflicting open.
//
// flock(2) locks are not here: the host keeps them.
//
// Files are named by a comparable key the kernel chooses (a device and
// inode number, say): a Table[F] knows nothing else about them. Owners are
// Process (tgid) and Description (an id the kernel gives each open file
// description) values.
//
// # Use by the kernel
//
// With one Table[K] for the emulator (K, say, a device and inode number):
//
//   - fcntl F_SETLK, F_SETLKW, F_GETLK (and their 64-bit and i386 forms):
//     SetLk and GetLk with Process(tgid) and the struct flock read from the
//     guest; F_OFD_SETLK, F_OFD_SETLKW, F_OFD_GETLK: the same with
//     Description(id). F_SETLKW passes a WaitFunc that blocks the task and
//     returns an error when a signal needs it; F_SETLK passes nil. GetLk
//     rewrites the flock to copy back (through Flock.FixupCompat first for
//     an i386 guest's 32-bit struct flock).
//   - close(2) of any descriptor of a file, and every other way a
//     descriptor goes (dup2 over it, close_range, close-on-exec):
//     Release(file, Process(tgid)).
//   - the last reference of an open file description:
//     Release(file, Description(id)).
//   - exit of a process (when its descriptor table goes):
//     ReleaseAll(Process(tgid)).
//   - F_SETLEASE, F_GETLEASE: SetLease and GetLease with Description(id);
//     an open or truncate of a file: BreakLease.
//
// # Locking
//
// Table.mu protects everything in the table; it is the only lock of the
// package and is never held while a caller waits (a blocked F_SETLKW or a
// lease break waits on a channel through the caller's WaitFunc) or while a
// notify callback runs. Methods ending in Locked need it held.
//
// # Bounds
//
// The number of lock records (a byte range of one owner and type) and
// leases is bounded by Config.MaxRecords: a request that would add a record
// past it fails with ENOLCK, as Linux's does when it cannot allocate one,
// so a guest cannot grow the emulator's memory without limit. Requests
// that need no new record never fail for it, and neither do the releases
// of close and exit. Blocked requests are not records: there is at most
// one per blocked guest task.
package lock

import (
	"context"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/cmaemu/cmaemu/linux"
)

// MaxOffset is Linux's OFFSET_MAX: the End of a range that runs to the end
// of the file however large it grows (l_len 0).
const MaxOffset = math.MaxInt64

// Type is a lock's type, with the values of struct flock's l_type and of
// F_SETLEASE's argument. A Type decoded from a guest may hold any value;
// Valid says whether it is one of the three.
type Type int16

// Lock types.
const (
	ReadLock  Type = 0 // F_RDLCK: shared
	WriteLock Type = 1 // F_WRLCK: exclusive
	Unlock    Type = 2 // F_UNLCK
)

var typeNames = [...]string{ReadLock: "F_RDLCK", WriteLock: "F_WRLCK", Unlock: "F_UNLCK"}

// Valid reports whether t is F_RDLCK, F_WRLCK or F_UNLCK.
func (t Type) Valid() bool { return t >= ReadLock && t <= Unlock }

// String returns the constant's name, e.g. "F_WRLCK".
func (t Type) String() string {
	if t.Valid() {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// conflicts reports whether locks of types a and b on overlapping ranges
// of different owners conflict (Linux's locks_conflict).
func conflicts(a, b Type) bool { return a == WriteLock || b == WriteLock }

// Whence values of struct flock's l_whence.
const (
	SeekSet = 0 // SEEK_SET: from the start of the file
	SeekCur = 1 // SEEK_CUR: from the file position
	SeekEnd = 2 // SEEK_END: from the end of the file
)

// Range is a byte range of a file: Start and End are both inside it
// (Linux's fl_start and fl_end). End is MaxOffset for a range that runs to
// the end of the file. Invariants: 0 <= Start <= End.
type Range struct {
	Start, End int64
}

// WholeFile is the range of l_start 0 and l_len 0.
var WholeFile = Range{0, MaxOffset}

// Len returns l_len as F_GETLK reports the range: 0 when it runs to the
// end of the file, End-Start+1 otherwise.
func (r Range) Len() int64 {
	if r.End == MaxOffset {
		return 0
	}
	return r.End - r.Start + 1
}

// Overlaps reports whether r and o share a byte.
func (r Range) Overlaps(o Range) bool { return r.Start <= o.End && o.Start <= r.End }

// FlockRange returns the absolute range named by struct flock's l_whence,
// l_start and l_len, as Linux's flock64_to_posix_lock computes it: pos is
// the open file description's position (for SEEK_CUR) and size the file's
// size (for SEEK_END; unused otherwise). A negative l_len names the
// -l_len bytes before the start (POSIX-2001); l_len 0 runs to the end of
// the file. Errors: EINVAL for a bad whence or a start (or, with a
// negative length, an end) before byte 0; EOVERFLOW when the start or the
// end is past MaxOffset.
func FlockRange(whence int16, start, length, pos, size int64) (Range, error) {
	var base int64
	switch whence {
	case SeekSet:
	case SeekCur:
		base = pos
	case SeekEnd:
		base = size
	default:
		return Range{}, linux.EINVAL
	}
	// Go's signed arithmetic wraps, as the kernel's (-fno-strict-overflow)
	// does: the checks below are Linux's, term for term.
	if start > MaxOffset-base {
		return Range{}, linux.EOVERFLOW
	}
	s := base + start
	if s < 0 {
		return Range{}, linux.EINVAL
	}
	switch {
	case length > 0:
		if length-1 > MaxOffset-s {
			return Range{}, linux.EOVERFLOW
		}
		return Range{s, s + length - 1}, nil
	case length < 0:
		if s+length < 0 {
			return Range{}, linux.EINVAL
		}
		return Range{s + length, s - 1}, nil
	default:
		return Range{s, MaxOffset}, nil
	}
}

// Owner is the holder of locks: a process, for POSIX record locks, or an
// open file description, for OFD locks and leases. Owners are comparable:
// equal values are the same holder.
type Owner struct {
	desc bool
	id   uint64
}

// Process is the owner of the POSIX record locks of the process (thread
// group) tgid. (Linux's owner is the descriptor table, the same thing for
// every process that does not share one with clone(CLONE_FILES) without
// CLONE_THREAD.)
func Process(tgid int32) Owner { return Owner{id: uint64(uint32(tgid))} }

// Description is the owner of the OFD locks and the leases of an open file
// description; id is the kernel's name for the description, unique while
// the description lives.
func Description(id uint64) Owner { return Owner{desc: true, id: id} }

// IsDescription reports whether o is an open file description.
func (o Owner) IsDescription() bool { return o.desc }

// Pid returns the l_pid F_GETLK reports for a lock of o: the tgid of a
// process, -1 for an open file description.
func (o Owner) Pid() int32 {
	if o.desc {
		return -1
	}
	return int32(uint32(o.id))
}

// String returns "pid N" or "ofd N".
func (o Owner) String() string {
	if o.desc {
		return "ofd " + strconv.FormatUint(o.id, 10)
	}
	return "pid " + strconv.Itoa(int(o.Pid()))
}

// Lock is a lock held on a file.
type Lock struct {
	Type  Type // ReadLock or WriteLock
	Range Range
	Owner Owner
}

// Flock returns the struct flock F_GETLK reports for l: l_whence SEEK_SET,
// l_len as Range.Len, l_pid as Owner.Pid.
func (l Lock) Flock() Flock {
	return Flock{Type: l.Type, Whence: SeekSet, Start: l.Range.Start, Len: l.Range.Len(), Pid: l.Owner.Pid()}
}

// Flock is struct flock (or flock64) as the kernel read it from the guest.
type Flock struct {
	Type   Type  // l_type
	Whence int16 // l_whence
	Start  int64 // l_start
	Len    int64 // l_len
	Pid    int32 // l_pid: must be 0 for the OFD commands
}

// compatOffTMax is COMPAT_OFF_T_MAX, the largest offset of i386's off_t.
const compatOffTMax = math.MaxInt32

// FixupCompat applies Linux's fixup_compat_flock to what F_GETLK returns
// to an i386 guest in the 32-bit struct flock (not flock64): EOVERFLOW for
// a start past 2^31-1, a length past it clamped.
func (l *Flock) FixupCompat() error {
	if l.Start > compatOffTMax {
		return linux.EOVERFLOW
	}
	if l.Len > compatOffTMax {
		l.Len = compatOffTMax
	}
	return nil
}

// Mode is how an open file description was opened (Linux's FMODE_READ and
// FMODE_WRITE).
type Mode uint8

// Modes.
const (
	Readable Mode = 1 << iota
	Writable
)

// ModeOf returns the Mode of open(2) flags: O_RDONLY is Readable, O_WRONLY
// Writable, O_RDWR both, and the access mode 3 neither.
func ModeOf(flags uint32) Mode {
	switch flags & linux.O_ACCMODE {
	case linux.O_RDONLY:
		return Readable
	case linux.O_WRONLY:
		return Writable
	case linux.O_RDWR:
		return Readable | Writable
	}
	return 0
}

// Desc is what the lock commands need to know of the open file
// description they are made through.
type Desc struct {
	Pos  int64 // the file position, for SEEK_CUR
	Size int64 // the file's size, for SEEK_END; may be left 0 for other whences
	Mode Mode  // a read lock needs Readable, a write lock Writable (else EBADF)
}

// WaitFunc blocks its caller until ready is closed, and then returns nil;
// or it returns an error to stop waiting (the kernel's answer to a signal).
// The table returns that error unchanged from the call that waited, having
// withdrawn the request: Linux's F_SETLKW returns ERESTARTSYS there, which
// the kernel turns into EINTR or a restart.
type WaitFunc func(ready <-chan struct{}) error

// Interruptible returns a WaitFunc that gives up with EINTR once intr is
// closed (if ready is not closed too).
func Interruptible(intr <-chan struct{}) WaitFunc {
	return func(ready <-chan struct{}) error {
		select {
		case <-ready:
			return nil
		case <-intr:
			select {
			case <-ready:
				return nil
			default:
				return linux.EINTR
			}
		}
	}
}

// WithContext returns a WaitFunc that gives up with EINTR once ctx is done
// (if ready is not closed too).
func WithContext(ctx context.Context) WaitFunc { return Interruptible(ctx.Done()) }

// Defaults of Config.
const (
	DefaultMaxRecords     = 1 << 16
	DefaultLeaseBreakTime = 45 * time.Second // /proc/sys/fs/lease-break-time
)

// Config sets a table's limits.
type Config struct {
	// MaxRecords is the most lock records and leases the table holds at
	// once, over all files and owners; 0 means DefaultMaxRecords.
	MaxRecords int
	// LeaseBreakTime is how long the holder of a lease being broken has
	// to give it up before the table takes it away; 0 means
	// DefaultLeaseBreakTime.
	LeaseBreakTime time.Duration
}

// Table is the table of file locks and leases of all files, named by keys
// of type F. It is safe for concurrent use.
type Table[F comparable] struct {
	max       int
	breakTime time.Duration

	mu sync.Mutex // protects the fields below
	// files holds the state of every file with locks, leases or
	// waiters; a file with none has no entry.
	files map[F]*file
	// byOwner holds, for every owner with locks or a lease, the files
	// they are on (for ReleaseAll).
	byOwner map[Owner]map[F]struct{}
	// blocked holds the requests waiting for a POSIX (process) lock, by
	// the owner waiting, oldest first: Linux's blocked_hash, which
	// deadlock detection walks.
	blocked map[Owner][]*waiter
	// records counts lock records and leases. Invariant: records <= max.
	records int
}

// New returns an empty table with the limits of c.
func New[F comparable](c Config) *Table[F] {
	t := &Table[F]{
		max:       c.MaxRecords,
		breakTime: c.LeaseBreakTime,
		files:     map[F]*file{},
		byOwner:   map[Owner]map[F]struct{}{},
		blocked:   map[Owner][]*waiter{},
	}
	if t.max <= 0 {
		t.max = DefaultMaxRecords
	}
	if t.breakTime <= 0 {
		t.breakTime = DefaultLeaseBreakTime
	}
	return t
}

// Records returns the number of lock records and leases in the table.
func (t *Table[F]) Records() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.records
}

// file is the lock state of one file. All its fields, and those of the
// held, record, lease and waiter values it points to, are protected by
// Table.mu.
type file struct {
	// held lists the owners with record locks on the file, in the order
	// of their first lock (Linux's flc_posix order, which F_GETLK
	// reports the first conflict of). Invariant: no entry is empty.
	held []*held
	// waiters are the blocked lock requests on the file.
	waiters []*waiter
	// leases lists the file's leases, oldest first.
	leases []*lease
	// breakers are the lease breaks waiting for a lease to change.
	breakers []*waiter
}

// empty reports whether f can be forgotten.
func (f *file) empty() bool {
	return len(f.held) == 0 && len(f.waiters) == 0 && len(f.leases) == 0 && len(f.breakers) == 0
}

// held is the record locks of one owner on one file.
type held struct {
	owner Owner
	// locks are sorted by Start. Invariants: they do not overlap, and
	// no two of the same type are adjacent (they would have merged).
	locks []record
}

// record is one lock record.
type record struct {
	typ Type // ReadLock or WriteLock
	r   Range
}

// waiter is a blocked request.
type waiter struct {
	owner   Owner
	blocker Owner         // the owner of the lock it waits for
	ready   chan struct{} // closed when woken
	woken   bool          // protected by Table.mu
}

// wakeLocked closes w.ready once.
func (w *waiter) wakeLocked() {
	if !w.woken {
		w.woken = true
		close(w.ready)
	}
}

// fileLocked returns key's state, creating it if create is set (else nil).
func (t *Table[F]) fileLocked(key F, create bool) *file {
	f := t.files[key]
	if f == nil && create {
		f = &file{}
		t.files[key] = f
	}
	return f
}

// tidyLocked forgets key's state if it is empty.
func (t *Table[F]) tidyLocked(key F, f *file) {
	if f.empty() && t.files[key] == f {
		delete(t.files, key)
	}
}

// indexLocked records in byOwner whether o still holds anything on key.
func (t *Table[F]) indexLocked(key F, f *file, o Owner) {
	has := f.heldBy(o) != nil || f.leaseOf(o) != nil
	files := t.byOwner[o]
	if has {
		if files == nil {
			files = map[F]struct{}{}
			t.byOwner[o] = files
		}
		files[key] = struct{}{}
		return
	}
	if files != nil {
		delete(files, key)
		if len(files) == 0 {
			delete(t.byOwner, o)
		}
	}
}

// removeWaiter returns ws without w.
func removeWaiter(ws []*waiter, w *waiter) []*waiter {
	for i, x := range ws {
		if x == w {
			return append(ws[:i:i], ws[i+1:]...)
		}
	}
	return ws
}
