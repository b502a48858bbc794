package syscalls

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/kernel/sleep"
	"github.com/cmaemu/cmaemu/mm"
)

func newWaiters(ft *futexTable, key futexKey, n int) []*futexWaiter {
	if ft.waiters == nil {
		ft.waiters = map[futexKey][]*futexWaiter{}
	}
	ws := make([]*futexWaiter, n)
	for i := range ws {
		ws[i] = &futexWaiter{bitset: futexBitsetAny, waker: new(sleep.Waker), key: key}
		ft.waiters[key] = append(ft.waiters[key], ws[i])
	}
	return ws
}

func woken(ws []*futexWaiter) int {
	n := 0
	for _, w := range ws {
		if w.woken.Load() {
			n++
		}
	}
	return n
}

func TestFutexRequeueCounts(t *testing.T) {
	a, b := futexKey{addr: 0x1000}, futexKey{addr: 0x2000}
	for _, c := range []struct {
		name                string
		waiters             int
		nrWake, nrRequeue   int
		ret, woke, onA, onB int
	}{
		{"nothing", 3, 0, 0, 0, 0, 3, 0},
		{"one and one", 3, 1, 1, 2, 1, 1, 1},
		{"all moved", 3, 0, 1<<31 - 1, 3, 0, 0, 3},
		{"all woken", 3, 1<<31 - 1, 1<<31 - 1, 3, 3, 0, 0},
		{"no waiters", 0, 5, 5, 0, 0, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ft futexTable
			ws := newWaiters(&ft, a, c.waiters)
			ft.mu.Lock()
			ret := ft.requeueLocked(a, b, c.nrWake, c.nrRequeue)
			ft.mu.Unlock()
			assert.Equal(t, c.ret, ret)
			assert.Equal(t, c.woke, woken(ws))
			assert.Len(t, ft.waiters[a], c.onA)
			assert.Len(t, ft.waiters[b], c.onB)
			for _, w := range ft.waiters[b] {
				assert.Equal(t, b, w.key)
			}
		})
	}
}

func TestFutexRequeueSameKey(t *testing.T) {
	a := futexKey{addr: 0x1000}
	var ft futexTable
	ws := newWaiters(&ft, a, 3)
	ft.mu.Lock()
	assert.Equal(t, 3, ft.requeueLocked(a, a, 1, 5))
	ft.mu.Unlock()
	assert.Equal(t, 1, woken(ws))
	assert.Len(t, ft.waiters[a], 2)
}

// A requeued waiter that times out leaves the list it was moved to, so a
// later wake is not spent on it.
func TestFutexRemoveAfterRequeue(t *testing.T) {
	a, b := futexKey{addr: 0x1000}, futexKey{addr: 0x2000}
	var ft futexTable
	ws := newWaiters(&ft, a, 2)
	ft.mu.Lock()
	require.Equal(t, 2, ft.requeueLocked(a, b, 0, 2))
	ft.mu.Unlock()
	ft.remove(ws[0])
	assert.Equal(t, []*futexWaiter{ws[1]}, ft.waiters[b])
	assert.Equal(t, 1, ft.wake(b, 1, futexBitsetAny))
	assert.Equal(t, 0, woken(ws[:1]))
	assert.Empty(t, ft.waiters)
}

// FUTEX_WAKE with 0 or a negative count wakes one waiter.
func TestFutexWakeZeroWakesOne(t *testing.T) {
	a := futexKey{addr: 0x1000}
	for _, n := range []int{0, -1, -1 << 31} {
		var ft futexTable
		ws := newWaiters(&ft, a, 3)
		assert.Equal(t, 1, ft.wake(a, n, futexBitsetAny), "n=%d", n)
		assert.Equal(t, 1, woken(ws))
	}
}

// The private and the shared futex of a word in private memory differ.
func TestFutexKeysPrivateShared(t *testing.T) {
	var as mm.MM
	priv := futexKey{as: &as, addr: 0x1000}
	shared := futexKey{as: &as, addr: 0x1000, shared: true}
	assert.NotEqual(t, priv, shared)
}
