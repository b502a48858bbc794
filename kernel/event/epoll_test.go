package event

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/fs/vfs"
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

func newEP(t *testing.T, nest *Nest) *EPoll {
	t.Helper()
	ep, err := NewEPoll(nest, 0)
	require.NoError(t, err)
	return ep
}

func newEFD(t *testing.T, v uint32) *EventFD {
	t.Helper()
	e, err := NewEventFD(v, EFDNonblock)
	require.NoError(t, err)
	return e
}

func wait(t *testing.T, ep *EPoll, max int) []Event {
	t.Helper()
	got, err := ep.Wait(newCtx(), max, 0)
	require.NoError(t, err)
	return got
}

func TestEPollTriggers(t *testing.T) {
	type step struct {
		do   func(e *EventFD)
		want []Event
	}
	write := func(v uint64) func(e *EventFD) {
		return func(e *EventFD) { e.Write(newCtx(), u64(v), -1) }
	}
	take := func(e *EventFD) { var b [8]byte; e.Read(newCtx(), [][]byte{b[:]}, -1) }
	none := func(*EventFD) {}
	in := []Event{{Events: file.PollIn, Data: 1}}
	tests := []struct {
		name   string
		events uint32
		steps  []step
	}{
		{"level", file.PollIn, []step{
			{write(1), in}, {none, in}, {take, nil}, {none, nil},
		}},
		{"edge", file.PollIn | EPOLLET, []step{
			{write(1), in}, {none, nil}, {write(0), in}, {none, nil}, {take, nil},
		}},
		{"oneshot", file.PollIn | EPOLLONESHOT, []step{
			{write(1), in}, {none, nil}, {write(1), nil},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var nest Nest
			ep := newEP(t, &nest)
			defer ep.DecRef()
			e := newEFD(t, 0)
			defer e.DecRef()
			require.NoError(t, Ctl(ep, CtlAdd, e, 3, Event{Events: tc.events, Data: 1}))
			for i, s := range tc.steps {
				s.do(e)
				assert.Equal(t, s.want, wait(t, ep, 8), "step %d", i)
			}
		})
	}
}

func TestEPollOneshotRearm(t *testing.T) {
	var nest Nest
	ep := newEP(t, &nest)
	e := newEFD(t, 1)
	require.NoError(t, Ctl(ep, CtlAdd, e, 3, Event{Events: file.PollIn | EPOLLONESHOT, Data: 1}))
	assert.Len(t, wait(t, ep, 8), 1)
	assert.Empty(t, wait(t, ep, 8))
	require.NoError(t, Ctl(ep, CtlMod, e, 3, Event{Events: file.PollIn, Data: 2}))
	assert.Equal(t, []Event{{Events: file.PollIn, Data: 2}}, wait(t, ep, 8))
}

func TestEPollRoundRobin(t *testing.T) {
	var nest Nest
	ep := newEP(t, &nest)
	for i := 1; i <= 3; i++ {
		require.NoError(t, Ctl(ep, CtlAdd, newEFD(t, 1), int32(i), Event{Events: file.PollIn, Data: uint64(i)}))
	}
	var order []uint64
	for range 4 {
		got := wait(t, ep, 1)
		require.Len(t, got, 1)
		order = append(order, got[0].Data)
	}
	assert.Equal(t, []uint64{1, 2, 3, 1}, order)
}

func TestEPollCtlErrors(t *testing.T) {
	var nest Nest
	ep := newEP(t, &nest)
	e := newEFD(t, 0)
	require.NoError(t, Ctl(ep, CtlAdd, e, 3, Event{Events: file.PollIn}))
	tests := []struct {
		name string
		epf  file.File
		op   int32
		f    file.File
		fd   int32
		ev   uint32
		want error
	}{
		{"not an epoll file", e, CtlAdd, ep, 4, file.PollIn, linux.EINVAL},
		{"itself", ep, CtlAdd, ep, 4, file.PollIn, linux.EINVAL},
		{"regular file", ep, CtlAdd, statFile{mode: 0o100644}, 5, file.PollIn, linux.EPERM},
		{"directory", ep, CtlAdd, statFile{mode: 0o040755}, 5, file.PollIn, linux.EPERM},
		{"/dev/null", ep, CtlAdd, statFile{mode: 0o020666, rdev: 1<<8 | 3}, 5, file.PollIn, linux.EPERM},
		{"again", ep, CtlAdd, e, 3, file.PollIn, linux.EEXIST},
		{"same file, other fd", ep, CtlAdd, e, 9, file.PollIn, nil},
		{"mod missing", ep, CtlMod, e, 4, file.PollIn, linux.ENOENT},
		{"del missing", ep, CtlDel, e, 4, 0, linux.ENOENT},
		{"bad op", ep, 9, e, 3, file.PollIn, linux.EINVAL},
		{"mod exclusive", ep, CtlMod, e, 3, file.PollIn | EPOLLEXCLUSIVE, linux.EINVAL},
		{"exclusive oneshot", ep, CtlAdd, newEFD(t, 0), 6, file.PollIn | EPOLLEXCLUSIVE | EPOLLONESHOT, linux.EINVAL},
		{"exclusive", ep, CtlAdd, newEFD(t, 0), 6, file.PollIn | EPOLLEXCLUSIVE | EPOLLET, nil},
		{"exclusive epoll", ep, CtlAdd, newEP(t, &nest), 7, file.PollIn | EPOLLEXCLUSIVE, linux.EINVAL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Ctl(tc.epf, tc.op, tc.f, tc.fd, Event{Events: tc.ev}))
		})
	}
}

// statFile is a file of a given type, for Pollable.
type statFile struct {
	file.File
	mode uint32
	rdev uint64
}

func (f statFile) Stat() ([file.StatSize]byte, error) {
	return file.EncodeStat(vfs.Attr{Mode: f.mode, Rdev: f.rdev}), nil
}

func TestEPollNesting(t *testing.T) {
	var nest Nest
	chain := make([]*EPoll, 7)
	for i := range chain {
		chain[i] = newEP(t, &nest)
	}
	for i := 1; i < 7; i++ {
		err := Ctl(chain[i], CtlAdd, chain[i-1], 3, Event{Events: file.PollIn})
		if i == 5 {
			assert.Equal(t, linux.ELOOP, err, "depth %d", i)
		} else {
			assert.NoError(t, err, "depth %d", i)
		}
	}
	a, b := newEP(t, &nest), newEP(t, &nest)
	require.NoError(t, Ctl(a, CtlAdd, b, 3, Event{Events: file.PollIn}))
	assert.Equal(t, linux.ELOOP, Ctl(b, CtlAdd, a, 4, Event{Events: file.PollIn}))
	assert.Equal(t, linux.EEXIST, Ctl(a, CtlAdd, b, 3, Event{Events: file.PollIn}))

	// readiness through the nesting
	e := newEFD(t, 0)
	require.NoError(t, Ctl(b, CtlAdd, e, 5, Event{Events: file.PollIn, Data: 5}))
	assert.Empty(t, wait(t, a, 8))
	e.Write(newCtx(), u64(1), -1)
	assert.Equal(t, []Event{{Events: file.PollIn, Data: 0}}, wait(t, a, 8))
	ev, _ := b.Readiness()
	assert.Equal(t, uint32(file.PollIn|file.PollRdNorm), ev)

	// the release of b takes it out of a; a's loop check sees it gone
	b.DecRef()
	assert.Empty(t, wait(t, a, 8))
	nest.mu.Lock()
	assert.Equal(t, 0, a.depthBelow(nil))
	nest.mu.Unlock()
}

func TestEPollRelease(t *testing.T) {
	var nest Nest
	ep := newEP(t, &nest)
	e := newEFD(t, 1)
	e.IncRef() // a dup
	require.NoError(t, Ctl(ep, CtlAdd, e, 3, Event{Events: file.PollIn, Data: 1}))
	e.DecRef()
	assert.Len(t, wait(t, ep, 8), 1, "a reference remains: still in the set")
	e.DecRef()
	assert.Empty(t, wait(t, ep, 8), "the last reference went")
	assert.Equal(t, linux.ENOENT, Ctl(ep, CtlDel, e, 3, Event{}))

	// a file that is not Releasable is held until DEL
	var q file.Queue
	plain := &plainFile{q: &q}
	plain.events.Store(file.PollIn)
	require.NoError(t, Ctl(ep, CtlAdd, plain, 4, Event{Events: file.PollIn, Data: 4}))
	assert.Equal(t, 1, plain.refs)
	assert.Len(t, wait(t, ep, 8), 1)
	require.NoError(t, Ctl(ep, CtlDel, plain, 4, Event{}))
	assert.Equal(t, 0, plain.refs)
}

// plainFile is neither Watchable nor Releasable.
type plainFile struct {
	file.File
	q      *file.Queue
	events atomic.Uint32
	refs   int
	delay  time.Duration // how long each Readiness takes
}

func (f *plainFile) IncRef()                            { f.refs++ }
func (f *plainFile) DecRef()                            { f.refs-- }
func (f *plainFile) Stat() ([file.StatSize]byte, error) { return [file.StatSize]byte{}, nil }
func (f *plainFile) Readiness() (uint32, <-chan struct{}) {
	time.Sleep(f.delay)
	return f.events.Load(), f.q.Changed()
}

func TestEPollWaitBlocks(t *testing.T) {
	var nest Nest
	ep := newEP(t, &nest)
	e := newEFD(t, 0)
	require.NoError(t, Ctl(ep, CtlAdd, e, 3, Event{Events: file.PollIn, Data: 7}))
	go func() { time.Sleep(10 * time.Millisecond); e.Write(newCtx(), u64(1), -1) }()
	got, err := ep.Wait(newCtx(), 8, -1)
	require.NoError(t, err)
	assert.Equal(t, []Event{{Events: file.PollIn, Data: 7}}, got)

	got, err = ep.Wait(newCtx(), 8, 0)
	require.NoError(t, err)
	assert.Len(t, got, 1, "level-triggered, unread")
	var b [8]byte
	e.Read(newCtx(), [][]byte{b[:]}, -1)
	got, err = ep.Wait(newCtx(), 8, 20*time.Millisecond)
	assert.NoError(t, err)
	assert.Empty(t, got, "timeout")

	c := newCtx()
	go func() { time.Sleep(10 * time.Millisecond); close(c.interrupt) }()
	_, err = ep.Wait(c, 8, -1)
	assert.Equal(t, file.ErrRestart, err)

	// a file that is not Watchable wakes the wait through its channel
	var q file.Queue
	plain := &plainFile{q: &q}
	require.NoError(t, Ctl(ep, CtlAdd, plain, 4, Event{Events: file.PollIn, Data: 4}))
	go func() { time.Sleep(10 * time.Millisecond); plain.events.Store(file.PollIn); q.Notify(0) }()
	got, err = ep.Wait(newCtx(), 8, time.Second)
	require.NoError(t, err)
	assert.Equal(t, []Event{{Events: file.PollIn, Data: 4}}, got)
	require.NoError(t, Ctl(ep, CtlDel, plain, 4, Event{}))
	_, err = ep.Read(newCtx(), nil, -1)
	assert.Equal(t, linux.EINVAL, err)
}

func TestEPollChannelFileEdge(t *testing.T) {
	var nest Nest
	ep := newEP(t, &nest)
	var q file.Queue
	plain := &plainFile{q: &q}
	require.NoError(t, Ctl(ep, CtlAdd, plain, 4, Event{Events: file.PollIn | EPOLLET, Data: 4}))
	assert.Empty(t, wait(t, ep, 8))
	for i := range 3 {
		plain.events.Store(file.PollIn)
		q.Notify(0)
		assert.Len(t, wait(t, ep, 8), 1, "round %d: the change is seen at once", i)
		time.Sleep(5 * time.Millisecond) // let follow see the change too
		assert.Empty(t, wait(t, ep, 8), "round %d: and only once", i)
	}
	require.NoError(t, Ctl(ep, CtlDel, plain, 4, Event{}))
}

// The follow of a change that a wait is reporting at the same time does
// not queue the item a second time: one change, one edge. A slow
// Readiness lets follow finish while the wait's check still runs.
func TestEPollChannelFileEdgeFollowDuringWait(t *testing.T) {
	var nest Nest
	ep := newEP(t, &nest)
	var q file.Queue
	plain := &plainFile{q: &q, delay: 2 * time.Millisecond}
	require.NoError(t, Ctl(ep, CtlAdd, plain, 4, Event{Events: file.PollIn | EPOLLET, Data: 4}))
	time.Sleep(10 * time.Millisecond) // follow waits on the channel
	for i := range 5 {
		plain.events.Store(file.PollIn)
		q.Notify(0)
		assert.Len(t, wait(t, ep, 8), 1, "round %d: the change", i)
		time.Sleep(10 * time.Millisecond)
		assert.Empty(t, wait(t, ep, 8), "round %d: only once", i)
	}
	require.NoError(t, Ctl(ep, CtlDel, plain, 4, Event{}))
}
