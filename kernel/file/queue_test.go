package file

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cmaemu/cmaemu/kernel/sleep"

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

// sleepCtx is a Sleeper: it sleeps on its own Waker, and is interrupted
// (ErrRestart) once interrupt is set and the Waker woken.
type sleepCtx struct {
	Context
	w         sleep.Waker
	interrupt atomic.Bool
}

func (c *sleepCtx) Waker() *sleep.Waker { return &c.w }

func (c *sleepCtx) Sleep(token uint32, deadline time.Time) error {
	if c.interrupt.Load() {
		return ErrRestart
	}
	if !c.w.SleepUntil(token, deadline) {
		return errTimeout
	}
	if c.interrupt.Load() {
		return ErrRestart
	}
	return nil
}

// contexts are the two kinds of Context a wait serves.
func contexts() map[string]func() Context {
	return map[string]func() Context{
		"channels": func() Context { return blockCtx{} },
		"sleeper":  func() Context { return &sleepCtx{} },
	}
}

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
	for kind, ctx := range contexts() {
		for _, tc := range tests {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				var watched, plain Queue
				w := NewWaiter()
				defer w.Close()
				require.True(t, w.Watch(watchFile{q: &watched}))
				require.False(t, w.Watch(chanFile{q: &plain}))
				_, ch := chanFile{q: &plain}.Readiness()
				w.Add(ch)
				go func() { time.Sleep(5 * time.Millisecond); tc.wake(&watched, &plain) }()
				assert.Equal(t, tc.expect, w.Wait(ctx(), 2*time.Second/10))
			})
		}
	}
}

func TestWaiterChangeBeforeWait(t *testing.T) {
	for kind, ctx := range contexts() {
		t.Run(kind, func(t *testing.T) {
			var q Queue
			w := NewWaiter()
			defer w.Close()
			w.Watch(watchFile{q: &q})
			q.Notify(0) // after Watch, before Wait
			assert.NoError(t, w.Wait(ctx(), time.Second))
		})
	}
}

func TestArm(t *testing.T) {
	for kind, ctx := range contexts() {
		t.Run(kind+"/notify after arm", func(t *testing.T) {
			var q Queue
			c := ctx()
			w := q.Arm(c)
			go func() { time.Sleep(5 * time.Millisecond); q.Notify(PollIn) }()
			assert.NoError(t, w.Block(c, 10*time.Second))
		})
		t.Run(kind+"/notify before block", func(t *testing.T) {
			var q Queue
			c := ctx()
			w := q.Arm(c)
			q.Notify(0)
			assert.NoError(t, w.Block(c, time.Second))
		})
		t.Run(kind+"/no notify", func(t *testing.T) {
			var q Queue
			c := ctx()
			assert.Equal(t, errTimeout, q.Arm(c).Block(c, 5*time.Millisecond))
			assert.Empty(t, q.sleepers, "a Block that ends takes its registration back")
		})
		t.Run(kind+"/notify before arm", func(t *testing.T) {
			var q Queue
			c := ctx()
			q.Notify(0)
			assert.Equal(t, errTimeout, q.Arm(c).Block(c, 5*time.Millisecond))
		})
	}
}

func TestArmCancelAndInterrupt(t *testing.T) {
	var q Queue
	c := &sleepCtx{}
	w := q.Arm(c)
	require.Len(t, q.sleepers, 1)
	w.Cancel()
	assert.Empty(t, q.sleepers)
	q.Notify(0) // wakes nobody
	_, syscalls := c.w.Stats()
	assert.Zero(t, syscalls)

	w = q.Arm(c)
	go func() {
		time.Sleep(5 * time.Millisecond)
		c.interrupt.Store(true)
		c.w.Wake()
	}()
	assert.Equal(t, ErrRestart, w.Block(c, 10*time.Second))
	assert.Empty(t, q.sleepers)
}

// TestArmPingPong hands a turn back and forth between two goroutines
// through two Queues, as a pipe's two sides do: a lost wake-up hangs it.
func TestArmPingPong(t *testing.T) {
	const rounds = 2000
	var mu sync.Mutex
	turn := 0
	var qs [2]Queue
	side := func(me int, c Context) {
		for range rounds {
			for {
				mu.Lock()
				if turn == me {
					turn = 1 - me
					mu.Unlock()
					qs[1-me].Notify(PollIn)
					break
				}
				w := qs[me].Arm(c)
				mu.Unlock()
				assert.NoError(t, w.Block(c, 0))
			}
		}
	}
	done := make(chan struct{})
	go func() { side(1, &sleepCtx{}); close(done) }()
	side(0, &sleepCtx{})
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("hung: a wake-up was lost")
	}
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
