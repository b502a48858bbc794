package event

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

// ctx is a file.Context whose Block waits on the channel, the timeout
// and its interrupt channel.
type ctx struct {
	file.Context
	interrupt chan struct{}
}

func newCtx() *ctx { return &ctx{interrupt: make(chan struct{})} }

func (c *ctx) Block(ready <-chan struct{}, timeout time.Duration) error {
	var timer <-chan time.Time
	if timeout > 0 {
		timer = time.After(timeout)
	}
	select {
	case <-ready:
		return nil
	case <-timer:
		return linux.ETIMEDOUT
	case <-c.interrupt:
		return file.ErrRestart
	}
}

func u64(v uint64) [][]byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, v)
	return [][]byte{b}
}

func read64(t *testing.T, f file.File, c file.Context) (uint64, error) {
	t.Helper()
	b := make([]byte, 8)
	n, err := f.Read(c, [][]byte{b}, -1)
	if err != nil {
		return 0, err
	}
	require.Equal(t, 8, n)
	return binary.LittleEndian.Uint64(b), nil
}

func TestEventFDCounter(t *testing.T) {
	type step struct {
		write  uint64 // when read is false
		read   bool
		want   uint64
		err    error
		events uint32 // Readiness after the step
	}
	tests := []struct {
		name  string
		init  uint32
		flags uint32
		steps []step
	}{
		{"counter", 2, EFDNonblock, []step{
			{write: 3, events: file.PollIn | file.PollOut},
			{read: true, want: 5, events: file.PollOut},
			{read: true, err: linux.EAGAIN, events: file.PollOut},
			{write: 0, events: file.PollOut},
		}},
		{"semaphore", 2, EFDNonblock | EFDSemaphore, []step{
			{read: true, want: 1, events: file.PollIn | file.PollOut},
			{read: true, want: 1, events: file.PollOut},
			{read: true, err: linux.EAGAIN, events: file.PollOut},
		}},
		{"overflow", 0, EFDNonblock, []step{
			{write: maxCount, events: file.PollIn},
			{write: 1, err: linux.EAGAIN, events: file.PollIn},
			{write: 0, events: file.PollIn},
			{read: true, want: maxCount, events: file.PollOut},
			{write: ^uint64(0), err: linux.EINVAL, events: file.PollOut},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := NewEventFD(tc.init, tc.flags)
			require.NoError(t, err)
			defer e.DecRef()
			for i, s := range tc.steps {
				if s.read {
					got, err := read64(t, e, newCtx())
					assert.Equal(t, s.err, err, "step %d", i)
					assert.Equal(t, s.want, got, "step %d", i)
				} else {
					_, err := e.Write(newCtx(), u64(s.write), -1)
					assert.Equal(t, s.err, err, "step %d", i)
				}
				ev, _ := e.Readiness()
				assert.Equal(t, s.events, ev, "step %d readiness", i)
			}
		})
	}
}

func TestEventFDArguments(t *testing.T) {
	_, err := NewEventFD(0, 0x4)
	assert.Equal(t, linux.EINVAL, err)
	e, err := NewEventFD(1, 0)
	require.NoError(t, err)
	_, err = e.Read(newCtx(), [][]byte{make([]byte, 4), make([]byte, 3)}, -1)
	assert.Equal(t, linux.EINVAL, err, "7 bytes")
	_, err = e.Write(newCtx(), [][]byte{make([]byte, 7)}, -1)
	assert.Equal(t, linux.EINVAL, err)
	_, err = e.Read(newCtx(), u64(0), 0)
	assert.Equal(t, linux.ESPIPE, err)
	lo, hi := make([]byte, 4), make([]byte, 4)
	n, err := e.Read(newCtx(), [][]byte{lo, hi}, -1)
	assert.NoError(t, err)
	assert.Equal(t, 8, n)
	assert.Equal(t, uint32(1), binary.LittleEndian.Uint32(lo), "the value across two buffers")
}

func TestEventFDBlocking(t *testing.T) {
	e, err := NewEventFD(0, 0)
	require.NoError(t, err)
	go func() {
		time.Sleep(10 * time.Millisecond)
		e.Write(newCtx(), u64(7), -1)
	}()
	got, err := read64(t, e, newCtx())
	assert.NoError(t, err)
	assert.Equal(t, uint64(7), got)

	c := newCtx()
	go func() { time.Sleep(10 * time.Millisecond); close(c.interrupt) }()
	_, err = read64(t, e, c)
	assert.Equal(t, file.ErrRestart, err, "an interrupted read")

	_, err = e.Write(newCtx(), u64(maxCount), -1)
	require.NoError(t, err)
	go func() {
		time.Sleep(10 * time.Millisecond)
		read64(t, e, newCtx())
	}()
	_, err = e.Write(newCtx(), u64(1), -1)
	assert.NoError(t, err, "a write that waited for room")
	assert.Equal(t, uint64(1), e.Count())
}

// fakeClock is a Clock that moves only when told; its timers fire then.
type fakeClock struct {
	mu     sync.Mutex
	now    int64
	timers map[*fakeTimer]struct{}
}

type fakeTimer struct {
	at int64
	f  func()
}

func newFakeClock() *fakeClock { return &fakeClock{now: 1e12, timers: map[*fakeTimer]struct{}{}} }

func (c *fakeClock) Now() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	tm := &fakeTimer{at: c.now + int64(d), f: f}
	c.timers[tm] = struct{}{}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.timers[tm]
		delete(c.timers, tm)
		return ok
	}
}

// advance moves the clock and runs the timers due, on this goroutine.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now += int64(d)
	var due []*fakeTimer
	for tm := range c.timers {
		if tm.at <= c.now {
			due = append(due, tm)
			delete(c.timers, tm)
		}
	}
	c.mu.Unlock()
	for _, tm := range due {
		tm.f()
	}
}

func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

func TestTimerFD(t *testing.T) {
	const ms = int64(time.Millisecond)
	tests := []struct {
		name     string
		flags    uint32
		spec     func(now int64) ItimerSpec
		advance  time.Duration
		ticks    uint64 // read after advance (0: EAGAIN)
		valueGet int64  // Get's value after the read
	}{
		{"one-shot not yet", 0, func(int64) ItimerSpec { return ItimerSpec{Value: 10 * ms} }, 5 * time.Millisecond, 0, 5 * ms},
		{"one-shot", 0, func(int64) ItimerSpec { return ItimerSpec{Value: 10 * ms} }, 10 * time.Millisecond, 1, 0},
		{"periodic", 0, func(int64) ItimerSpec { return ItimerSpec{Value: 10 * ms, Interval: 10 * ms} }, 45 * time.Millisecond, 4, 5 * ms},
		{"abstime", TFDTimerAbstime, func(now int64) ItimerSpec { return ItimerSpec{Value: now + 20*ms} }, 20 * time.Millisecond, 1, 0},
		{"abstime past", TFDTimerAbstime, func(now int64) ItimerSpec { return ItimerSpec{Value: now - 1000*ms} }, 0, 1, 0},
		{"abstime past periodic", TFDTimerAbstime, func(now int64) ItimerSpec {
			return ItimerSpec{Value: now - 1000*ms, Interval: 100 * ms}
		}, 0, 11, 100 * ms},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			tf, err := NewTimerFD(clock, TFDNonblock)
			require.NoError(t, err)
			defer tf.DecRef()
			old, err := tf.Set(tc.flags, tc.spec(clock.Now()))
			require.NoError(t, err)
			assert.Equal(t, ItimerSpec{}, old)
			clock.advance(tc.advance)
			got, err := read64(t, tf, newCtx())
			if tc.ticks == 0 {
				assert.Equal(t, linux.EAGAIN, err)
			} else {
				assert.NoError(t, err)
				assert.Equal(t, tc.ticks, got)
			}
			assert.Equal(t, tc.valueGet, tf.Get().Value)
		})
	}
}

func TestTimerFDSetAndPause(t *testing.T) {
	const ms = int64(time.Millisecond)
	clock := newFakeClock()
	tf, err := NewTimerFD(clock, TFDNonblock)
	require.NoError(t, err)
	notes := 0
	var mu sync.Mutex
	tf.Watch(func(uint32) { mu.Lock(); notes++; mu.Unlock() })

	_, err = tf.Set(0x8, ItimerSpec{})
	assert.Equal(t, linux.EINVAL, err)
	_, err = tf.Set(0, ItimerSpec{Value: 10 * ms, Interval: 10 * ms})
	require.NoError(t, err)
	clock.advance(10 * time.Millisecond)
	assert.Equal(t, 1, notes)
	assert.Equal(t, 0, clock.pending(), "an unread periodic timer pauses")
	clock.advance(30 * time.Millisecond)
	assert.Equal(t, 1, notes, "no wake while paused")
	ev, _ := tf.Readiness()
	assert.Equal(t, uint32(file.PollIn), ev)
	got, err := read64(t, tf, newCtx())
	require.NoError(t, err)
	assert.Equal(t, uint64(4), got, "expirations counted while paused")
	assert.Equal(t, 1, clock.pending(), "a read runs it again")
	clock.advance(10 * time.Millisecond)
	assert.Equal(t, 2, notes)

	old, err := tf.Set(0, ItimerSpec{})
	require.NoError(t, err)
	assert.Equal(t, 10*ms, old.Interval)
	_, err = read64(t, tf, newCtx())
	assert.Equal(t, linux.EAGAIN, err, "a new setting clears unread expirations")
	assert.Equal(t, ItimerSpec{}, tf.Get())
	assert.Equal(t, 0, clock.pending())
	_, err = tf.Write(newCtx(), u64(1), -1)
	assert.Equal(t, linux.EINVAL, err)
}

func TestTimerFDBlockingRead(t *testing.T) {
	tf, err := NewTimerFD(HostClock(ClockMonotonic), 0)
	require.NoError(t, err)
	defer tf.DecRef()
	_, err = tf.Set(0, ItimerSpec{Value: int64(5 * time.Millisecond)})
	require.NoError(t, err)
	got, err := read64(t, tf, newCtx())
	assert.NoError(t, err)
	assert.Equal(t, uint64(1), got)
}
