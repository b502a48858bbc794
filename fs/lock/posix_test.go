package lock

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
)

// inode is the kind of file key the kernel uses.
type inode struct{ dev, ino uint64 }

var (
	fileA = inode{1, 100}
	fileB = inode{1, 200}

	p1, p2, p3 = Process(1001), Process(1002), Process(1003)
	d1, d2     = Description(1), Description(2)

	rw = Desc{Mode: Readable | Writable}
)

func newTable() *Table[inode] { return New[inode](Config{}) }

// op is one lock request of a scenario.
type op struct {
	typ        Type
	start, end int64
}

func rd(s, e int64) op { return op{ReadLock, s, e} }
func wr(s, e int64) op { return op{WriteLock, s, e} }
func un(s, e int64) op { return op{Unlock, s, e} }

func (o op) String() string { return fmt.Sprintf("%v[%d,%d]", o.typ, o.start, o.end) }

func lk(o Owner, x op) Lock { return Lock{x.typ, Range{x.start, x.end}, o} }

// TestOwnLocks checks how an owner's own locks split, merge and convert
// (posix_lock_inode's list).
func TestOwnLocks(t *testing.T) {
	tests := []struct {
		name string
		ops  []op
		want []op
	}{
		{"one lock", []op{wr(0, 9)}, []op{wr(0, 9)}},
		{"adjacent reads merge", []op{rd(0, 9), rd(10, 19)}, []op{rd(0, 19)}},
		{"adjacent on the left merge", []op{rd(10, 19), rd(0, 9)}, []op{rd(0, 19)}},
		{"overlapping merge", []op{wr(0, 9), wr(5, 14)}, []op{wr(0, 14)}},
		{"a gap stays", []op{rd(0, 9), rd(11, 19)}, []op{rd(0, 9), rd(11, 19)}},
		{"filling the gap merges three", []op{rd(0, 9), rd(20, 29), rd(10, 19)}, []op{rd(0, 29)}},
		{"inside a lock of the type", []op{rd(0, 99), rd(10, 19)}, []op{rd(0, 99)}},
		{"different types do not merge", []op{rd(0, 9), wr(10, 19)}, []op{rd(0, 9), wr(10, 19)}},
		{"unlock in the middle splits", []op{wr(0, 99), un(40, 59)}, []op{wr(0, 39), wr(60, 99)}},
		{"unlock at the left edge", []op{wr(0, 99), un(0, 9)}, []op{wr(10, 99)}},
		{"unlock at the right edge", []op{wr(0, 99), un(90, 99)}, []op{wr(0, 89)}},
		{"unlock exactly", []op{wr(5, 5), un(5, 5)}, nil},
		{"unlock over several", []op{rd(0, 9), wr(20, 29), rd(40, 49), un(5, 44)}, []op{rd(0, 4), rd(45, 49)}},
		{"unlock everything", []op{rd(0, 9), wr(20, 29), un(0, eof)}, nil},
		{"unlock nothing", []op{un(0, eof)}, nil},
		{"unlock between locks", []op{rd(0, 9), rd(20, 29), un(10, 19)}, []op{rd(0, 9), rd(20, 29)}},
		{"write inside read splits in three", []op{rd(0, 99), wr(40, 59)}, []op{rd(0, 39), wr(40, 59), rd(60, 99)}},
		{"read inside write splits in three", []op{wr(0, 99), rd(40, 59)}, []op{wr(0, 39), rd(40, 59), wr(60, 99)}},
		{"upgrade at the left edge", []op{rd(0, 99), wr(0, 9)}, []op{wr(0, 9), rd(10, 99)}},
		{"downgrade all", []op{wr(0, 9), rd(0, 9)}, []op{rd(0, 9)}},
		{"downgrade joins neighbours", []op{rd(0, 9), wr(10, 19), rd(20, 29), rd(10, 19)}, []op{rd(0, 29)}},
		{"write over several", []op{rd(0, 9), rd(20, 29), wr(5, 24)}, []op{rd(0, 4), wr(5, 24), rd(25, 29)}},
		{"write swallows", []op{rd(10, 19), wr(30, 39), rd(50, 59), wr(0, 99)}, []op{wr(0, 99)}},
		{"write joins writes across reads", []op{wr(0, 9), rd(10, 19), wr(20, 29), wr(10, 19)}, []op{wr(0, 29)}},
		{"to EOF", []op{wr(10, eof)}, []op{wr(10, eof)}},
		{"unlock inside a lock to EOF", []op{wr(10, eof), un(20, 29)}, []op{wr(10, 19), wr(30, eof)}},
		{"unlock the tail", []op{wr(0, eof), un(100, eof)}, []op{wr(0, 99)}},
		{"adjacent to a lock to EOF", []op{rd(0, 9), rd(10, eof)}, []op{rd(0, eof)}},
		{"the last byte", []op{rd(eof, eof), rd(0, eof-1)}, []op{rd(0, eof)}},
		{"read to EOF over a write", []op{wr(0, 9), rd(5, eof)}, []op{wr(0, 4), rd(5, eof)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTable()
			for _, o := range tt.ops {
				require.NoError(t, tb.Set(fileA, p1, o.typ, Range{o.start, o.end}, nil), "%v", o)
			}
			var want []Lock
			for _, o := range tt.want {
				want = append(want, lk(p1, o))
			}
			assert.Equal(t, want, tb.Locks(fileA))
			assert.Equal(t, len(tt.want), tb.Records())
			if len(tt.want) == 0 {
				assert.Empty(t, tb.files, "an empty file is forgotten")
				assert.Empty(t, tb.byOwner)
			}
		})
	}
}

// TestConflicts checks a second owner's requests against a first's locks.
func TestConflicts(t *testing.T) {
	tests := []struct {
		name  string
		first Owner
		held  []op
		other Owner
		req   op
		err   error
	}{
		{"two reads share", p1, []op{rd(0, 9)}, p2, rd(5, 14), nil},
		{"read against write", p1, []op{wr(0, 9)}, p2, rd(9, 9), linux.EAGAIN},
		{"write against read", p1, []op{rd(0, 9)}, p2, wr(0, 0), linux.EAGAIN},
		{"write against write", p1, []op{wr(0, 9)}, p2, wr(0, eof), linux.EAGAIN},
		{"adjacent writes", p1, []op{wr(0, 9)}, p2, wr(10, 19), nil},
		{"between locks", p1, []op{wr(0, 9), wr(20, 29)}, p2, wr(10, 19), nil},
		{"the second lock conflicts", p1, []op{rd(0, 9), wr(20, 29)}, p2, rd(0, 20), linux.EAGAIN},
		{"unlocking others' locks is a no-op", p1, []op{wr(0, 9)}, p2, un(0, eof), nil},
		{"to EOF", p1, []op{wr(1<<40, eof)}, p2, rd(eof, eof), linux.EAGAIN},
		{"OFD against POSIX", p1, []op{wr(0, 9)}, d1, rd(0, 0), linux.EAGAIN},
		{"POSIX against OFD", d1, []op{rd(0, 9)}, p1, wr(9, 9), linux.EAGAIN},
		{"OFD against OFD", d1, []op{wr(0, 9)}, d2, wr(0, 9), linux.EAGAIN},
		{"OFD reads share with POSIX", d1, []op{rd(0, 9)}, p1, rd(0, 9), nil},
		{"own locks never conflict", p1, []op{rd(0, 9)}, p1, wr(0, 9), nil},
		{"a description's own locks never conflict", d1, []op{wr(0, 9)}, d1, rd(0, 9), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTable()
			for _, o := range tt.held {
				require.NoError(t, tb.Set(fileA, tt.first, o.typ, Range{o.start, o.end}, nil))
			}
			before := tb.Locks(fileA)
			err := tb.Set(fileA, tt.other, tt.req.typ, Range{tt.req.start, tt.req.end}, nil)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				assert.Equal(t, before, tb.Locks(fileA), "a refused request changes nothing")
				return
			}
			require.NoError(t, err)
			if tt.other != tt.first {
				for _, l := range before {
					assert.Contains(t, tb.Locks(fileA), l, "the first owner's locks stay")
				}
			}
			// Another file is not concerned.
			require.NoError(t, tb.Set(fileB, tt.other, WriteLock, WholeFile, nil))
		})
	}
}

// TestConversionIsAtomic: a refused upgrade leaves the read lock.
func TestConversionIsAtomic(t *testing.T) {
	tb := newTable()
	require.NoError(t, tb.Set(fileA, p1, ReadLock, Range{0, 99}, nil))
	require.NoError(t, tb.Set(fileA, p2, ReadLock, Range{50, 50}, nil))
	require.ErrorIs(t, tb.Set(fileA, p1, WriteLock, Range{0, 99}, nil), linux.EAGAIN)
	assert.Equal(t, []Lock{lk(p1, rd(0, 99)), lk(p2, rd(50, 50))}, tb.Locks(fileA))
	require.NoError(t, tb.Set(fileA, p1, WriteLock, Range{0, 49}, nil))
	assert.Equal(t, []Lock{lk(p1, wr(0, 49)), lk(p1, rd(50, 99)), lk(p2, rd(50, 50))}, tb.Locks(fileA))
}

func TestGetLk(t *testing.T) {
	tb := newTable()
	// p2 locks first, so its locks come first whatever their offsets.
	require.NoError(t, tb.Set(fileA, p2, WriteLock, Range{50, 59}, nil))
	require.NoError(t, tb.Set(fileA, p1, ReadLock, Range{0, 9}, nil))
	require.NoError(t, tb.Set(fileA, p2, ReadLock, Range{100, eof}, nil))
	require.NoError(t, tb.Set(fileA, p2, ReadLock, Range{20, 29}, nil))
	require.NoError(t, tb.Set(fileA, d1, ReadLock, Range{30, 39}, nil))

	tests := []struct {
		name  string
		owner Owner
		in    Flock
		d     Desc
		want  Flock
		err   error
	}{
		{
			name: "first conflict in list order", owner: p3,
			in:   Flock{Type: WriteLock},
			want: Flock{Type: ReadLock, Start: 20, Len: 10, Pid: 1002},
		},
		{
			name: "a read conflicts only with writes", owner: p3,
			in:   Flock{Type: ReadLock},
			want: Flock{Type: WriteLock, Start: 50, Len: 10, Pid: 1002},
		},
		{
			name: "to EOF has length 0", owner: p3,
			in:   Flock{Type: WriteLock, Start: 200, Len: 1},
			want: Flock{Type: ReadLock, Start: 100, Len: 0, Pid: 1002},
		},
		{
			name: "unlocked keeps the caller's fields", owner: p3,
			in: Flock{Type: ReadLock, Whence: SeekCur, Start: -5, Len: 3, Pid: 77}, d: Desc{Pos: 5},
			want: Flock{Type: Unlock, Whence: SeekCur, Start: -5, Len: 3, Pid: 77},
		},
		{
			name: "from the end", owner: p3,
			in: Flock{Type: WriteLock, Whence: SeekEnd, Start: -1, Len: -9}, d: Desc{Size: 10},
			want: Flock{Type: ReadLock, Start: 0, Len: 10, Pid: 1001},
		},
		{
			name: "an OFD lock reports pid -1", owner: p3,
			in:   Flock{Type: WriteLock, Start: 30, Len: 5},
			want: Flock{Type: ReadLock, Start: 30, Len: 10, Pid: -1},
		},
		{
			name: "own locks do not conflict", owner: p2,
			in:   Flock{Type: WriteLock, Start: 50, Len: 10},
			want: Flock{Type: Unlock, Start: 50, Len: 10},
		},
		{
			name: "F_OFD_GETLK", owner: d2,
			in:   Flock{Type: WriteLock, Start: 30, Len: 1},
			want: Flock{Type: ReadLock, Start: 30, Len: 10, Pid: -1},
		},
		{
			name: "F_OFD_GETLK F_UNLCK finds the description's own lock", owner: d1,
			in:   Flock{Type: Unlock},
			want: Flock{Type: ReadLock, Start: 30, Len: 10, Pid: -1},
		},
		{
			name: "F_OFD_GETLK F_UNLCK without own locks", owner: d2,
			in:   Flock{Type: Unlock, Start: 3},
			want: Flock{Type: Unlock, Start: 3},
		},
		{name: "F_GETLK F_UNLCK", owner: p3, in: Flock{Type: Unlock}, err: linux.EINVAL},
		{name: "F_GETLK bad type", owner: p3, in: Flock{Type: 3}, err: linux.EINVAL},
		// fcntl_getlk checks the type of F_GETLK before the range, and that
		// of F_OFD_GETLK after.
		{name: "F_GETLK bad type and range", owner: p3, in: Flock{Type: 9, Start: -1}, err: linux.EINVAL},
		{name: "F_OFD_GETLK bad type and range", owner: d2, in: Flock{Type: 9, Start: eof, Len: 2}, err: linux.EOVERFLOW},
		{name: "F_OFD_GETLK bad type", owner: d2, in: Flock{Type: 9}, err: linux.EINVAL},
		{name: "F_OFD_GETLK with a pid", owner: d2, in: Flock{Type: ReadLock, Pid: 1}, err: linux.EINVAL},
		{name: "bad range", owner: p3, in: Flock{Type: ReadLock, Whence: 7}, err: linux.EINVAL},
		{name: "overflow", owner: p3, in: Flock{Type: ReadLock, Whence: SeekEnd, Start: eof}, d: Desc{Size: 1}, err: linux.EOVERFLOW},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.in
			err := tb.GetLk(fileA, tt.owner, &l, tt.d)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				assert.Equal(t, tt.in, l, "l is left alone on error")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, l)
		})
	}
	// Test is the same query with an absolute range.
	c, ok := tb.Test(fileA, p3, WriteLock, Range{55, 55})
	require.True(t, ok)
	assert.Equal(t, lk(p2, wr(50, 59)), c)
	_, ok = tb.Test(fileB, p3, WriteLock, WholeFile)
	assert.False(t, ok)
}

func TestSetLk(t *testing.T) {
	tests := []struct {
		name  string
		owner Owner
		in    Flock
		d     Desc
		want  []Lock
		err   error
	}{
		{name: "write", owner: p1, in: Flock{Type: WriteLock, Start: 5, Len: 5}, d: rw, want: []Lock{lk(p1, wr(5, 9))}},
		{name: "cur", owner: p1, in: Flock{Type: ReadLock, Whence: SeekCur, Start: 1}, d: Desc{Pos: 9, Mode: Readable}, want: []Lock{lk(p1, rd(10, eof))}},
		{name: "end, backwards", owner: p1, in: Flock{Type: WriteLock, Whence: SeekEnd, Len: -4}, d: Desc{Size: 4, Mode: Writable}, want: []Lock{lk(p1, wr(0, 3))}},
		{name: "OFD", owner: d1, in: Flock{Type: WriteLock}, d: rw, want: []Lock{lk(d1, wr(0, eof))}},
		{name: "unlock needs no mode", owner: p1, in: Flock{Type: Unlock}},
		{name: "read lock on a write-only description", owner: p1, in: Flock{Type: ReadLock}, d: Desc{Mode: Writable}, err: linux.EBADF},
		{name: "write lock on a read-only description", owner: d1, in: Flock{Type: WriteLock}, d: Desc{Mode: Readable}, err: linux.EBADF},
		{name: "bad type", owner: p1, in: Flock{Type: 3}, d: rw, err: linux.EINVAL},
		{name: "range before type", owner: p1, in: Flock{Type: 3, Start: eof, Len: 2}, d: rw, err: linux.EOVERFLOW},
		{name: "range before mode", owner: p1, in: Flock{Type: WriteLock, Start: -1}, err: linux.EINVAL},
		{name: "mode before pid", owner: d1, in: Flock{Type: WriteLock, Pid: 3}, err: linux.EBADF},
		{name: "OFD with a pid", owner: d1, in: Flock{Type: WriteLock, Pid: 3}, d: rw, err: linux.EINVAL},
		{name: "POSIX ignores the pid", owner: p1, in: Flock{Type: WriteLock, Pid: 3}, d: rw, want: []Lock{lk(p1, wr(0, eof))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTable()
			err := tb.SetLk(fileA, tt.owner, tt.in, tt.d, nil)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.want, tb.Locks(fileA))
		})
	}
}

// TestCloseAnyDescriptor: a process's POSIX locks on a file go when it
// closes any descriptor of the file, whichever descriptor set them; its
// locks on other files, other processes' and descriptions' stay.
func TestCloseAnyDescriptor(t *testing.T) {
	tb := newTable()
	// p1 opened fileA twice (descriptions 1 and 2) and locks through both.
	require.NoError(t, tb.SetLk(fileA, p1, Flock{Type: WriteLock, Len: 10}, rw, nil))
	require.NoError(t, tb.SetLk(fileA, p1, Flock{Type: ReadLock, Start: 20, Len: 10}, rw, nil))
	require.NoError(t, tb.SetLk(fileB, p1, Flock{Type: WriteLock}, rw, nil))
	require.NoError(t, tb.SetLk(fileA, p2, Flock{Type: ReadLock, Start: 20, Len: 1}, rw, nil))
	require.NoError(t, tb.SetLk(fileA, d1, Flock{Type: WriteLock, Start: 40, Len: 1}, rw, nil))
	require.NoError(t, tb.SetLk(fileA, d2, Flock{Type: WriteLock, Start: 50, Len: 1}, rw, nil))

	// p1 closes one of its descriptors of fileA: all its fileA locks go.
	tb.Release(fileA, p1)
	assert.Equal(t, []Lock{lk(p2, rd(20, 20)), lk(d1, wr(40, 40)), lk(d2, wr(50, 50))}, tb.Locks(fileA))
	assert.Equal(t, []Lock{lk(p1, wr(0, eof))}, tb.Locks(fileB))
	require.NoError(t, tb.Set(fileA, p3, WriteLock, Range{0, 9}, nil), "the bytes are free")

	// The last reference of description 1 goes: its OFD locks go.
	tb.Release(fileA, d1)
	assert.Equal(t, []Lock{lk(p2, rd(20, 20)), lk(d2, wr(50, 50)), lk(p3, wr(0, 9))}, tb.Locks(fileA))

	// Releasing an owner without locks, or on a file without any, is fine.
	tb.Release(fileA, p1)
	tb.Release(inode{9, 9}, p1)
	assert.Equal(t, 4, tb.Records())
}

// TestExit: ReleaseAll drops an owner's locks on every file.
func TestExit(t *testing.T) {
	tb := newTable()
	for i := range 10 {
		require.NoError(t, tb.Set(inode{1, uint64(i)}, p1, WriteLock, Range{0, 0}, nil))
		require.NoError(t, tb.Set(inode{1, uint64(i)}, p1, WriteLock, Range{5, 5}, nil))
		require.NoError(t, tb.Set(inode{1, uint64(i)}, p2, WriteLock, Range{1, 1}, nil))
	}
	require.NoError(t, tb.Set(fileA, d1, ReadLock, Range{10, eof}, nil))
	assert.Equal(t, 31, tb.Records())
	tb.ReleaseAll(p1)
	assert.Equal(t, 11, tb.Records())
	for i := range 10 {
		assert.Equal(t, []Lock{lk(p2, wr(1, 1))}, tb.Locks(inode{1, uint64(i)}))
	}
	tb.ReleaseAll(p2)
	tb.ReleaseAll(d1)
	assert.Equal(t, 0, tb.Records())
	assert.Empty(t, tb.files)
	assert.Empty(t, tb.byOwner)
}

// TestENOLCK: the table refuses requests that need records past its bound
// and takes those that need none.
func TestENOLCK(t *testing.T) {
	tb := New[inode](Config{MaxRecords: 3})
	require.NoError(t, tb.Set(fileA, p1, WriteLock, Range{0, 0}, nil))
	require.NoError(t, tb.Set(fileA, p1, WriteLock, Range{2, 2}, nil))
	require.NoError(t, tb.Set(fileB, p2, WriteLock, Range{0, 99}, nil))
	assert.Equal(t, 3, tb.Records())

	require.ErrorIs(t, tb.Set(fileA, p1, WriteLock, Range{4, 4}, nil), linux.ENOLCK)
	require.ErrorIs(t, tb.Set(fileA, p3, ReadLock, Range{4, 4}, nil), linux.ENOLCK, "the bound is for the whole table")
	require.ErrorIs(t, tb.Set(fileB, p2, Unlock, Range{50, 50}, nil), linux.ENOLCK, "a split needs a record")
	require.ErrorIs(t, tb.Set(fileB, p2, ReadLock, Range{50, 50}, nil), linux.ENOLCK)
	require.ErrorIs(t, tb.SetLease(fileA, d1, ReadLock, Readable, Opens{Readers: 1}), linux.ENOLCK)
	assert.Equal(t, []Lock{lk(p2, wr(0, 99))}, tb.Locks(fileB), "a refused request changes nothing")

	// Requests that need no new record go through.
	require.NoError(t, tb.Set(fileA, p1, WriteLock, Range{1, 1}, nil), "merging frees a record")
	assert.Equal(t, 2, tb.Records())
	require.NoError(t, tb.Set(fileB, p2, ReadLock, Range{0, 49}, nil))
	require.NoError(t, tb.Set(fileB, p2, Unlock, Range{0, 9}, nil))
	require.NoError(t, tb.Set(fileB, p2, ReadLock, Range{0, 99}, nil), "conversion in place")
	assert.Equal(t, 2, tb.Records())
	require.NoError(t, tb.SetLease(fileA, d1, ReadLock, Readable, Opens{Readers: 1}))
	assert.Equal(t, 3, tb.Records())
	tb.ReleaseAll(d1)
	tb.Release(fileA, p1)
	tb.Release(fileB, p2)
	assert.Equal(t, 0, tb.Records())
}

func TestSetChecks(t *testing.T) {
	tb := newTable()
	assert.ErrorIs(t, tb.Set(fileA, p1, Type(5), WholeFile, nil), linux.EINVAL)
	assert.ErrorIs(t, tb.Set(fileA, p1, ReadLock, Range{-1, 5}, nil), linux.EINVAL)
	assert.ErrorIs(t, tb.Set(fileA, p1, ReadLock, Range{5, 4}, nil), linux.EINVAL)
	assert.Empty(t, tb.files)
}
