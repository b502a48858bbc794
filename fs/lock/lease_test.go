package lock

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
)

func TestSetLease(t *testing.T) {
	tests := []struct {
		name  string
		typ   Type
		mode  Mode
		opens Opens
		err   error
	}{
		{"read lease, read-only", ReadLock, Readable, Opens{Readers: 3}, nil},
		{"read lease with a writer", ReadLock, Readable, Opens{Readers: 1, Writers: 1}, linux.EAGAIN},
		{"read lease through a writable description", ReadLock, Readable | Writable, Opens{Writers: 1}, linux.EAGAIN},
		{"read lease while writes are denied", ReadLock, Readable, Opens{Readers: 1, Writers: -1}, nil},
		{"write lease, alone for writing", WriteLock, Readable | Writable, Opens{Writers: 1}, nil},
		{"write lease, alone read-only", WriteLock, Readable, Opens{Readers: 1}, nil},
		{"write lease, alone write-only", WriteLock, Writable, Opens{Writers: 1}, nil},
		{"write lease with another reader", WriteLock, Readable | Writable, Opens{Readers: 1, Writers: 1}, linux.EAGAIN},
		{"write lease with another read-only open", WriteLock, Readable, Opens{Readers: 2}, linux.EAGAIN},
		{"write lease with a writer", WriteLock, Readable, Opens{Readers: 1, Writers: 1}, linux.EAGAIN},
		{"write lease while writes are denied", WriteLock, Readable, Opens{Readers: 1, Writers: -1}, linux.EAGAIN},
		{"bad type", Type(3), Readable, Opens{Readers: 1}, linux.EINVAL},
		{"unlock without a lease", Unlock, Readable, Opens{Readers: 1}, linux.EAGAIN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTable()
			err := tb.SetLease(fileA, d1, tt.typ, tt.mode, tt.opens)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				assert.Equal(t, Unlock, tb.GetLease(fileA, d1))
				assert.Equal(t, 0, tb.Records())
				assert.Empty(t, tb.files)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.typ, tb.GetLease(fileA, d1))
			assert.Equal(t, Unlock, tb.GetLease(fileA, d2), "leases are per description")
			assert.Equal(t, Unlock, tb.GetLease(fileB, d1), "and per file")
			require.NoError(t, tb.SetLease(fileA, d1, Unlock, tt.mode, tt.opens))
			assert.Equal(t, Unlock, tb.GetLease(fileA, d1))
			assert.Equal(t, 0, tb.Records())
			assert.Empty(t, tb.files)
		})
	}
	tb := newTable()
	assert.ErrorIs(t, tb.SetLease(fileA, p1, ReadLock, Readable, Opens{Readers: 1}), linux.EINVAL, "leases belong to descriptions")
}

func TestLeasesOfSeveralDescriptions(t *testing.T) {
	tb := newTable()
	two := Opens{Readers: 2}
	require.NoError(t, tb.SetLease(fileA, d1, ReadLock, Readable, two))
	require.NoError(t, tb.SetLease(fileA, d2, ReadLock, Readable, two))
	assert.Equal(t, 2, tb.Records())
	// A second read lease of d1 changes it in place.
	require.NoError(t, tb.SetLease(fileA, d1, ReadLock, Readable, two))
	assert.Equal(t, 2, tb.Records())
	// No write lease while another description has a lease, even if the
	// counts allow it.
	require.ErrorIs(t, tb.SetLease(fileA, d1, WriteLock, Readable, Opens{Readers: 1}), linux.EAGAIN)
	assert.Equal(t, ReadLock, tb.GetLease(fileA, d1))

	// d2's description goes: d1 may upgrade.
	tb.Release(fileA, d2)
	require.NoError(t, tb.SetLease(fileA, d1, WriteLock, Readable, Opens{Readers: 1}))
	assert.Equal(t, WriteLock, tb.GetLease(fileA, d1))
	require.NoError(t, tb.SetLease(fileA, d1, ReadLock, Readable, Opens{Readers: 1}), "and downgrade")
	assert.Equal(t, ReadLock, tb.GetLease(fileA, d1))
	tb.ReleaseAll(d1)
	assert.Equal(t, 0, tb.Records())
	assert.Empty(t, tb.files)
}

// breaks collects the holders a BreakLease notified.
type breaks struct {
	mu      sync.Mutex
	holders []Owner
}

func (b *breaks) notify(o Owner) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.holders = append(b.holders, o)
}

func (b *breaks) got() []Owner {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Owner(nil), b.holders...)
}

func TestBreakLeaseNonblocking(t *testing.T) {
	tb := newTable()
	d3 := Description(3)
	require.NoError(t, tb.SetLease(fileA, d1, ReadLock, Readable, Opens{Readers: 2}))
	require.NoError(t, tb.SetLease(fileA, d2, ReadLock, Readable, Opens{Readers: 2}))
	var b breaks

	// Opens for reading do not break read leases.
	require.NoError(t, tb.BreakLease(fileA, linux.O_RDONLY|linux.O_NONBLOCK, b.notify, nil))
	require.NoError(t, tb.BreakLease(fileB, linux.O_RDWR, b.notify, nil), "a file without leases")
	assert.Empty(t, b.got())

	// An open for writing breaks both; the holders hear of it once.
	require.ErrorIs(t, tb.BreakLease(fileA, linux.O_WRONLY|linux.O_NONBLOCK, b.notify, nil), linux.EAGAIN)
	assert.Equal(t, []Owner{d1, d2}, b.got())
	assert.Equal(t, Unlock, tb.GetLease(fileA, d1), "F_GETLEASE reports what the lease is broken to")
	require.ErrorIs(t, tb.BreakLease(fileA, linux.O_RDWR|linux.O_NONBLOCK, b.notify, nil), linux.EAGAIN)
	assert.Equal(t, []Owner{d1, d2}, b.got())

	// No new lease while one is being removed.
	require.ErrorIs(t, tb.SetLease(fileA, d3, ReadLock, Readable, Opens{Readers: 3}), linux.EAGAIN)
	// The holders give up their leases: the open goes through.
	require.NoError(t, tb.SetLease(fileA, d1, Unlock, Readable, Opens{}))
	tb.Release(fileA, d2)
	require.NoError(t, tb.BreakLease(fileA, linux.O_RDWR|linux.O_NONBLOCK, b.notify, nil))
	require.NoError(t, tb.SetLease(fileA, d3, ReadLock, Readable, Opens{Readers: 1}))
	tb.Release(fileA, d3)
	assert.Empty(t, tb.files)
}

func TestBreakLeaseWaits(t *testing.T) {
	tb := newTable()
	require.NoError(t, tb.SetLease(fileA, d1, WriteLock, Readable|Writable, Opens{Writers: 1}))
	// The holder gives the lease up when told.
	notify := func(o Owner) {
		assert.Equal(t, d1, o)
		go func() { assert.NoError(t, tb.SetLease(fileA, d1, Unlock, Readable|Writable, Opens{Writers: 2})) }()
	}
	start := time.Now()
	require.NoError(t, tb.BreakLease(fileA, linux.O_RDWR, notify, Interruptible(nil)))
	assert.Less(t, time.Since(start), DefaultLeaseBreakTime)
	assert.Equal(t, Unlock, tb.GetLease(fileA, d1))
	requireQuiet(t, tb)
}

func TestBreakLeaseDowngrade(t *testing.T) {
	tb := newTable()
	require.NoError(t, tb.SetLease(fileA, d1, WriteLock, Readable, Opens{Readers: 1}))
	var b breaks
	require.ErrorIs(t, tb.BreakLease(fileA, linux.O_RDONLY|linux.O_NONBLOCK, b.notify, nil), linux.EAGAIN)
	assert.Equal(t, []Owner{d1}, b.got())
	assert.Equal(t, ReadLock, tb.GetLease(fileA, d1), "being downgraded")

	done := make(chan error, 1)
	go func() { done <- tb.BreakLease(fileA, linux.O_RDONLY, b.notify, Interruptible(nil)) }()
	require.Eventually(t, func() bool { return tb.breakers(fileA) == 1 }, patience, time.Millisecond)
	assert.Equal(t, []Owner{d1}, b.got(), "not told twice")
	require.NoError(t, tb.SetLease(fileA, d1, ReadLock, Readable, Opens{Readers: 2}))
	require.NoError(t, <-done)
	assert.Equal(t, ReadLock, tb.GetLease(fileA, d1))
	// The read lease does not stop readers; a writer breaks it.
	require.NoError(t, tb.BreakLease(fileA, linux.O_RDONLY|linux.O_NONBLOCK, b.notify, nil))
	require.ErrorIs(t, tb.BreakLease(fileA, linux.O_WRONLY|linux.O_NONBLOCK, b.notify, nil), linux.EAGAIN)
	assert.Equal(t, []Owner{d1, d1}, b.got())
}

// breakers returns the number of opens waiting for file's leases.
func (t *Table[F]) breakers(file F) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.files[file]; f != nil {
		return len(f.breakers)
	}
	return 0
}

func TestBreakLeaseTimesOut(t *testing.T) {
	const breakTime = 30 * time.Millisecond
	tb := New[inode](Config{LeaseBreakTime: breakTime})

	// A write lease a reader breaks becomes a read lease.
	require.NoError(t, tb.SetLease(fileA, d1, WriteLock, Readable, Opens{Readers: 1}))
	start := time.Now()
	require.NoError(t, tb.BreakLease(fileA, linux.O_RDONLY, nil, Interruptible(nil)))
	assert.GreaterOrEqual(t, time.Since(start), breakTime)
	assert.Equal(t, ReadLock, tb.GetLease(fileA, d1))
	assert.Equal(t, 1, tb.Records())

	// A read lease a writer breaks goes.
	start = time.Now()
	require.NoError(t, tb.BreakLease(fileA, linux.O_WRONLY, nil, Interruptible(nil)))
	assert.GreaterOrEqual(t, time.Since(start), breakTime)
	assert.Equal(t, Unlock, tb.GetLease(fileA, d1))
	assert.Equal(t, 0, tb.Records())
	assert.Empty(t, tb.files)

	// A lease whose break time passed while nobody waited goes at the
	// next look.
	require.NoError(t, tb.SetLease(fileA, d2, ReadLock, Readable, Opens{Readers: 1}))
	require.ErrorIs(t, tb.BreakLease(fileA, linux.O_RDWR|linux.O_NONBLOCK, nil, nil), linux.EAGAIN)
	time.Sleep(breakTime)
	assert.Equal(t, Unlock, tb.GetLease(fileA, d2))
	assert.Equal(t, 0, tb.Records())
	requireQuiet(t, tb)
}

func TestBreakLeaseCancel(t *testing.T) {
	tb := newTable()
	require.NoError(t, tb.SetLease(fileA, d1, ReadLock, Readable, Opens{Readers: 1}))
	intr := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- tb.BreakLease(fileA, linux.O_WRONLY, nil, Interruptible(intr)) }()
	require.Eventually(t, func() bool { return tb.breakers(fileA) == 1 }, patience, time.Millisecond)
	close(intr)
	require.ErrorIs(t, <-done, linux.EINTR)
	requireQuiet(t, tb)
	assert.Equal(t, Unlock, tb.GetLease(fileA, d1), "still being broken")

	// The description's last reference goes: a waiting open goes on.
	go func() { done <- tb.BreakLease(fileA, linux.O_WRONLY, nil, Interruptible(nil)) }()
	require.Eventually(t, func() bool { return tb.breakers(fileA) == 1 }, patience, time.Millisecond)
	tb.Release(fileA, d1)
	require.NoError(t, <-done)
	assert.Empty(t, tb.files)
}
