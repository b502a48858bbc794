package file

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blockCtx is a Context whose Block waits on the channel and the timeout.
type blockCtx struct{ Context }

func (blockCtx) Block(ready <-chan struct{}, timeout time.Duration) error {
	var timer <-chan time.Time
	if timeout > 0 {
		timer = time.After(timeout)
	}
	select {
	case <-ready:
		return nil
	case <-timer:
		return errTimeout
	}
}

var errTimeout = assertErr("timeout")

type assertErr string

func (e assertErr) Error() string { return string(e) }

// chanFile is a File that is not Watchable: only its Readiness channel
// tells of changes.
type chanFile struct {
	File
	q *Queue
}

func (f chanFile) Readiness() (uint32, <-chan struct{}) { return 0, f.q.Changed() }

func TestQueueNotify(t *testing.T) {
	var q Queue
	ch := q.Changed()
	var got []uint32
	var mu sync.Mutex
	stop := q.Watch(func(ev uint32) { mu.Lock(); got = append(got, ev); mu.Unlock() })
	q.Notify(PollIn)
	select {
	case <-ch:
	default:
		t.Fatal("Notify did not close the channel")
	}
	assert.NotEqual(t, ch, q.Changed(), "a new channel after Notify")
	stop()
	stop() // twice is fine
	q.Notify(PollOut)
	assert.Equal(t, []uint32{PollIn}, got, "watcher called once, before stop")
}

func TestQueueWatchersIndependent(t *testing.T) {
	var q Queue
	counts := make([]int, 3)
	stops := make([]func(), 3)
	for i := range stops {
		stops[i] = q.Watch(func(uint32) { counts[i]++ })
	}
	q.Notify(0)
	stops[1]()
	q.Notify(0)
	assert.Equal(t, []int{2, 1, 2}, counts)
}

func TestWaiter(t *testing.T) {
	tests := []struct {
		name   string
		wake   func(watched *Queue, plain *Queue)
		expect error
	}{
		{"watched file", func(w, _ *Queue) { w.Notify(PollIn) }, nil},
		{"file with a channel only", func(_, p *Queue) { p.Notify(PollIn) }, nil},
		{"nothing", func(_, _ *Queue) {}, errTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var watched, plain Queue
			w := NewWaiter()
			defer w.Close()
			require.True(t, w.Watch(watchFile{q: &watched}))
			require.False(t, w.Watch(chanFile{q: &plain}))
			_, ch := chanFile{q: &plain}.Readiness()
			w.Add(ch)
			go func() { time.Sleep(5 * time.Millisecond); tc.wake(&watched, &plain) }()
			assert.Equal(t, tc.expect, w.Wait(blockCtx{}, 2*time.Second/10))
		})
	}
}

func TestWaiterChangeBeforeWait(t *testing.T) {
	var q Queue
	w := NewWaiter()
	defer w.Close()
	w.Watch(watchFile{q: &q})
	q.Notify(0) // after Watch, before Wait
	assert.NoError(t, w.Wait(blockCtx{}, time.Second))
}

type watchFile struct {
	File
	q *Queue
}

func (f watchFile) Watch(fn func(uint32)) func() { return f.q.Watch(fn) }

func TestRefs(t *testing.T) {
	var r Refs
	released := 0
	r.OnRelease(func() { released++ })
	cancel := r.OnRelease(func() { t.Error("cancelled hook ran") })
	cancel()
	r.IncRef()
	assert.False(t, r.Drop())
	assert.Equal(t, 0, released)
	assert.True(t, r.Drop())
	assert.Equal(t, 1, released)
	assert.False(t, r.Drop(), "a second drop of the last reference is not a release")
	assert.Equal(t, 1, released)
}
