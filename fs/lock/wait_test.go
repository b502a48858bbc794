package lock

import (
	"context"
	"errors"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
)

const patience = 10 * time.Second

// waiting returns the number of requests blocked on file.
func (t *Table[F]) waiting(file F) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.files[file]; f != nil {
		return len(f.waiters)
	}
	return 0
}

// pending is an F_SETLKW running in its own goroutine, as a guest task's.
type pending struct {
	done chan error
	intr chan struct{}
}

// setW starts o's blocking request for typ on r of file.
func setW(tb *Table[inode], file inode, o Owner, typ Type, r Range) *pending {
	p := &pending{done: make(chan error, 1), intr: make(chan struct{})}
	go func() { p.done <- tb.Set(file, o, typ, r, Interruptible(p.intr)) }()
	return p
}

// interrupt is the signal that cancels p.
func (p *pending) interrupt() { close(p.intr) }

// result waits for p's result.
func (p *pending) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.done:
		return err
	case <-time.After(patience):
		require.FailNow(t, "the request did not finish")
		return nil
	}
}

// requireBlocked checks that p has not finished.
func (p *pending) requireBlocked(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.done:
		require.FailNow(t, "the request finished", "with %v", err)
	case <-time.After(10 * time.Millisecond):
	}
}

// awaitWaiters waits until n requests are blocked on file.
func awaitWaiters(t *testing.T, tb *Table[inode], file inode, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return tb.waiting(file) == n }, patience, time.Millisecond,
		"waiting for %d blocked requests", n)
}

// requireQuiet checks that nothing waits and nothing is blocked.
func requireQuiet(t *testing.T, tb *Table[inode]) {
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	assert.Empty(t, tb.blocked)
	for k, f := range tb.files {
		assert.Empty(t, f.waiters, "waiters of %v", k)
		assert.Empty(t, f.breakers, "lease breakers of %v", k)
	}
}

func TestWaitWakesOnUnlock(t *testing.T) {
	tb := newTable()
	require.NoError(t, tb.Set(fileA, p1, WriteLock, Range{0, 9}, nil))
	w := setW(tb, fileA, p2, ReadLock, Range{5, 14})
	awaitWaiters(t, tb, fileA, 1)
	w.requireBlocked(t)

	// Another owner's lock elsewhere, or p1's growing, wakes nobody.
	require.NoError(t, tb.Set(fileA, p3, WriteLock, Range{100, 100}, nil))
	require.NoError(t, tb.Set(fileA, p1, WriteLock, Range{0, 19}, nil))
	w.requireBlocked(t)

	require.NoError(t, tb.Set(fileA, p1, Unlock, WholeFile, nil))
	require.NoError(t, w.result(t))
	assert.Equal(t, []Lock{lk(p3, wr(100, 100)), lk(p2, rd(5, 14))}, tb.Locks(fileA))
	requireQuiet(t, tb)
}

func TestWaitWakesOnDowngrade(t *testing.T) {
	tb := newTable()
	require.NoError(t, tb.Set(fileA, p1, WriteLock, Range{0, 9}, nil))
	reader := setW(tb, fileA, p2, ReadLock, Range{0, 9})
	writer := setW(tb, fileA, p3, WriteLock, Range{0, 9})
	awaitWaiters(t, tb, fileA, 2)

	require.NoError(t, tb.Set(fileA, p1, ReadLock, Range{0, 9}, nil))
	require.NoError(t, reader.result(t))
	awaitWaiters(t, tb, fileA, 1) // the writer waits again
	writer.requireBlocked(t)

	require.NoError(t, tb.Set(fileA, p1, Unlock, WholeFile, nil))
	writer.requireBlocked(t) // p2 still reads
	require.NoError(t, tb.Set(fileA, p2, Unlock, WholeFile, nil))
	require.NoError(t, writer.result(t))
	assert.Equal(t, []Lock{lk(p3, wr(0, 9))}, tb.Locks(fileA))
	requireQuiet(t, tb)
}

func TestWaitRetriesUntilFree(t *testing.T) {
	tb := newTable()
	require.NoError(t, tb.Set(fileA, p1, WriteLock, Range{0, 9}, nil))
	require.NoError(t, tb.Set(fileA, p1, WriteLock, Range{20, 29}, nil))
	w := setW(tb, fileA, p2, WriteLock, Range{0, 29})
	awaitWaiters(t, tb, fileA, 1)

	require.NoError(t, tb.Set(fileA, p1, Unlock, Range{0, 9}, nil))
	awaitWaiters(t, tb, fileA, 1)
	w.requireBlocked(t)
	require.NoError(t, tb.Set(fileA, p1, Unlock, Range{20, 29}, nil))
	require.NoError(t, w.result(t))
	assert.Equal(t, []Lock{lk(p2, wr(0, 29))}, tb.Locks(fileA))
}

func TestWaitWakesOnRelease(t *testing.T) {
	tb := newTable()
	require.NoError(t, tb.Set(fileA, p1, WriteLock, WholeFile, nil))
	require.NoError(t, tb.Set(fileB, d1, WriteLock, WholeFile, nil))
	wa := setW(tb, fileA, p2, WriteLock, Range{0, 0})
	wb := setW(tb, fileB, p2, WriteLock, Range{0, 0})
	awaitWaiters(t, tb, fileA, 1)
	awaitWaiters(t, tb, fileB, 1)

	tb.Release(fileA, p1) // p1 closed a descriptor of fileA
	require.NoError(t, wa.result(t))
	wb.requireBlocked(t)
	tb.ReleaseAll(d1) // the last reference of description 1 went
	require.NoError(t, wb.result(t))
	requireQuiet(t, tb)
}

func TestCancel(t *testing.T) {
	tb := newTable()
	require.NoError(t, tb.Set(fileA, p1, WriteLock, WholeFile, nil))

	w := setW(tb, fileA, p2, ReadLock, Range{0, 0})
	awaitWaiters(t, tb, fileA, 1)
	w.interrupt()
	require.ErrorIs(t, w.result(t), linux.EINTR)
	assert.Equal(t, []Lock{lk(p1, wr(0, eof))}, tb.Locks(fileA), "the request was withdrawn")
	requireQuiet(t, tb)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tb.SetLk(fileA, d1, Flock{Type: WriteLock}, rw, WithContext(ctx)) }()
	awaitWaiters(t, tb, fileA, 1)
	cancel()
	require.ErrorIs(t, <-done, linux.EINTR)

	// The kernel's own WaitFunc: its error comes back unchanged.
	errRestart := errors.New("restart")
	intr := make(chan struct{})
	go func() {
		done <- tb.Set(fileA, p2, WriteLock, WholeFile, func(ready <-chan struct{}) error {
			select {
			case <-ready:
				return nil
			case <-intr:
				return errRestart
			}
		})
	}()
	awaitWaiters(t, tb, fileA, 1)
	close(intr)
	require.Equal(t, errRestart, <-done)

	// A request that was woken but interrupted before it retried takes
	// nothing.
	block := make(chan struct{})
	go func() {
		done <- tb.Set(fileA, p2, WriteLock, WholeFile, func(ready <-chan struct{}) error {
			<-ready
			<-block
			return linux.EINTR
		})
	}()
	awaitWaiters(t, tb, fileA, 1)
	tb.Release(fileA, p1)
	close(block)
	require.ErrorIs(t, <-done, linux.EINTR)
	assert.Empty(t, tb.Locks(fileA))
	requireQuiet(t, tb)
	assert.Empty(t, tb.files)
}

// An interrupt that is already pending does not stop a request that need
// not wait.
func TestInterruptedButFree(t *testing.T) {
	tb := newTable()
	intr := make(chan struct{})
	close(intr)
	require.NoError(t, tb.Set(fileA, p1, WriteLock, WholeFile, Interruptible(intr)))
	require.ErrorIs(t, tb.Set(fileA, p2, WriteLock, WholeFile, Interruptible(intr)), linux.EINTR)
	requireQuiet(t, tb)
}

func TestDeadlockTwoOwners(t *testing.T) {
	tb := newTable()
	require.NoError(t, tb.Set(fileA, p1, WriteLock, Range{0, 0}, nil))
	require.NoError(t, tb.Set(fileA, p2, WriteLock, Range{1, 1}, nil))
	w := setW(tb, fileA, p1, WriteLock, Range{1, 1}) // p1 waits for p2
	awaitWaiters(t, tb, fileA, 1)

	err := tb.Set(fileA, p2, WriteLock, Range{0, 0}, Interruptible(nil))
	require.ErrorIs(t, err, linux.EDEADLK, "p2 would wait for p1, which waits for p2")
	// F_SETLK answers EAGAIN as ever; reads conflict with writes too.
	require.ErrorIs(t, tb.Set(fileA, p2, WriteLock, Range{0, 0}, nil), linux.EAGAIN)
	require.ErrorIs(t, tb.Set(fileA, p2, ReadLock, Range{0, 5}, Interruptible(nil)), linux.EDEADLK)

	// p2 gives way: p1 gets its lock.
	require.NoError(t, tb.Set(fileA, p2, Unlock, WholeFile, nil))
	require.NoError(t, w.result(t))
	assert.Equal(t, []Lock{lk(p1, wr(0, 1))}, tb.Locks(fileA))
	requireQuiet(t, tb)
}

func TestDeadlockThreeOwners(t *testing.T) {
	tb := newTable()
	for i, p := range []Owner{p1, p2, p3} {
		require.NoError(t, tb.Set(fileA, p, WriteLock, Range{int64(i), int64(i)}, nil))
	}
	w1 := setW(tb, fileA, p1, WriteLock, Range{1, 1}) // p1 waits for p2
	awaitWaiters(t, tb, fileA, 1)
	w2 := setW(tb, fileA, p2, WriteLock, Range{2, 2}) // p2 waits for p3
	awaitWaiters(t, tb, fileA, 2)

	require.ErrorIs(t, tb.Set(fileA, p3, WriteLock, Range{0, 0}, Interruptible(nil)), linux.EDEADLK)
	// Waiting for p2 is a deadlock too (p2 waits for p3); for a fourth
	// owner's lock it is not.
	require.ErrorIs(t, tb.Set(fileA, p3, ReadLock, Range{1, 1}, Interruptible(nil)), linux.EDEADLK)
	p4 := Process(1004)
	require.NoError(t, tb.Set(fileA, p4, WriteLock, Range{9, 9}, nil))
	w3 := setW(tb, fileA, p3, WriteLock, Range{9, 9})
	awaitWaiters(t, tb, fileA, 3)

	for _, w := range []*pending{w1, w2, w3} {
		w.interrupt()
		require.ErrorIs(t, w.result(t), linux.EINTR)
	}
	requireQuiet(t, tb)
}

// TestDeadlockAcrossFiles: the chain of waiting processes spans files.
func TestDeadlockAcrossFiles(t *testing.T) {
	tb := newTable()
	require.NoError(t, tb.Set(fileA, p1, WriteLock, WholeFile, nil))
	require.NoError(t, tb.Set(fileB, p2, WriteLock, WholeFile, nil))
	w := setW(tb, fileB, p1, ReadLock, WholeFile)
	awaitWaiters(t, tb, fileB, 1)
	require.ErrorIs(t, tb.Set(fileA, p2, ReadLock, WholeFile, Interruptible(nil)), linux.EDEADLK)
	tb.ReleaseAll(p2) // p2 exits
	require.NoError(t, w.result(t))
}

// TestDeadlockAfterWake: a request that wakes and waits again for
// another owner is followed to that owner.
func TestDeadlockAfterWake(t *testing.T) {
	tb := newTable()
	require.NoError(t, tb.Set(fileA, p1, WriteLock, Range{0, 0}, nil))
	require.NoError(t, tb.Set(fileA, p2, ReadLock, Range{1, 1}, nil))
	require.NoError(t, tb.Set(fileA, p3, ReadLock, Range{1, 1}, nil))
	w := setW(tb, fileA, p1, WriteLock, Range{1, 1}) // waits for p2, the first
	awaitWaiters(t, tb, fileA, 1)
	require.NoError(t, tb.Set(fileA, p2, Unlock, WholeFile, nil))
	awaitWaiters(t, tb, fileA, 1) // now for p3
	require.Eventually(t, func() bool {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		ws := tb.blocked[p1]
		return len(ws) == 1 && ws[0].blocker == p3
	}, patience, time.Millisecond)
	require.ErrorIs(t, tb.Set(fileA, p3, WriteLock, Range{0, 0}, Interruptible(nil)), linux.EDEADLK)
	w.interrupt()
	require.ErrorIs(t, w.result(t), linux.EINTR)
}

// TestDeadlockChainLimit: like Linux, the detector follows at most 11
// waiting owners (MAX_DEADLK_ITERATIONS is 10, checked after the count).
func TestDeadlockChainLimit(t *testing.T) {
	for _, tt := range []struct {
		owners   int
		detected bool
	}{{2, true}, {11, true}, {12, true}, {13, false}, {20, false}} {
		tb := newTable()
		owner := func(i int) Owner { return Process(int32(2000 + i)) }
		for i := range tt.owners {
			require.NoError(t, tb.Set(fileA, owner(i), WriteLock, Range{int64(i), int64(i)}, nil))
		}
		// Owner i waits for owner i-1.
		var ws []*pending
		for i := 1; i < tt.owners; i++ {
			ws = append(ws, setW(tb, fileA, owner(i), WriteLock, Range{int64(i - 1), int64(i - 1)}))
			awaitWaiters(t, tb, fileA, i)
		}
		// Owner 0 closes the cycle.
		last := setW(tb, fileA, owner(0), WriteLock, Range{int64(tt.owners - 1), int64(tt.owners - 1)})
		if tt.detected {
			require.ErrorIs(t, last.result(t), linux.EDEADLK, "a cycle of %d", tt.owners)
		} else {
			awaitWaiters(t, tb, fileA, tt.owners)
			last.requireBlocked(t)
			ws = append(ws, last)
		}
		for _, w := range ws {
			w.interrupt()
			require.ErrorIs(t, w.result(t), linux.EINTR)
		}
		requireQuiet(t, tb)
	}
}

// TestOFDNoDeadlockDetection: OFD requests never detect deadlocks.
func TestOFDNoDeadlockDetection(t *testing.T) {
	tb := newTable()
	require.NoError(t, tb.Set(fileA, d1, WriteLock, Range{0, 0}, nil))
	require.NoError(t, tb.Set(fileA, d2, WriteLock, Range{1, 1}, nil))
	w1 := setW(tb, fileA, d1, WriteLock, Range{1, 1})
	awaitWaiters(t, tb, fileA, 1)
	w2 := setW(tb, fileA, d2, WriteLock, Range{0, 0})
	awaitWaiters(t, tb, fileA, 2)
	w2.requireBlocked(t)
	w2.interrupt()
	require.ErrorIs(t, w2.result(t), linux.EINTR)
	w1.interrupt()
	require.ErrorIs(t, w1.result(t), linux.EINTR)
}

// TestDeadlockThroughOFDRequest: a description waiting for a process's
// lock is in the chain (Linux's blocked_hash holds it), so a process
// waiting for the description's lock is a deadlock.
func TestDeadlockThroughOFDRequest(t *testing.T) {
	tb := newTable()
	require.NoError(t, tb.Set(fileA, p1, WriteLock, Range{0, 0}, nil))
	require.NoError(t, tb.Set(fileA, d1, WriteLock, Range{1, 1}, nil))
	w := setW(tb, fileA, d1, WriteLock, Range{0, 0}) // d1 waits for p1
	awaitWaiters(t, tb, fileA, 1)
	require.ErrorIs(t, tb.Set(fileA, p1, WriteLock, Range{1, 1}, Interruptible(nil)), linux.EDEADLK)
	require.NoError(t, tb.Set(fileA, p1, Unlock, Range{0, 0}, nil))
	require.NoError(t, w.result(t))
}

// TestMutualExclusion: many owners take a write lock on one byte in turn;
// the counter it guards needs no other synchronization (the race detector
// would see it).
func TestMutualExclusion(t *testing.T) {
	tb := newTable()
	const owners, rounds = 8, 200
	counter := 0
	var wg sync.WaitGroup
	for i := range owners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := Process(int32(3000 + i))
			if i%2 == 1 {
				o = Description(uint64(i))
			}
			for range rounds {
				if err := tb.Set(fileA, o, WriteLock, Range{7, 7}, Interruptible(nil)); !assert.NoError(t, err) {
					return
				}
				counter++
				assert.NoError(t, tb.Set(fileA, o, Unlock, Range{7, 7}, nil))
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, owners*rounds, counter)
	requireQuiet(t, tb)
	assert.Empty(t, tb.files)
}

// TestDeadlockStress: owners take two of three bytes in random orders;
// whoever gets EDEADLK lets go of everything and tries again. All finish.
func TestDeadlockStress(t *testing.T) {
	tb := newTable()
	const owners, rounds = 6, 100
	var wg sync.WaitGroup
	var mu sync.Mutex
	deadlocks := 0
	for i := range owners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := Process(int32(4000 + i))
			rng := rand.New(rand.NewSource(int64(i)))
			for range rounds {
				for {
					a, b := rng.Int63n(3), rng.Int63n(3)
					err := tb.Set(fileA, o, WriteLock, Range{a, a}, Interruptible(nil))
					if err == nil {
						time.Sleep(50 * time.Microsecond) // let the others come
						err = tb.Set(fileA, o, WriteLock, Range{b, b}, Interruptible(nil))
					}
					tb.Release(fileA, o)
					if err == nil {
						break
					}
					if !assert.ErrorIs(t, err, linux.EDEADLK) {
						return
					}
					mu.Lock()
					deadlocks++
					mu.Unlock()
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(patience):
		require.FailNow(t, "owners hang")
	}
	t.Logf("%d deadlocks detected", deadlocks)
	requireQuiet(t, tb)
	assert.Equal(t, 0, tb.Records())
}
