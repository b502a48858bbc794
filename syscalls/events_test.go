package syscalls

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// eventEnv is a kernel with a trace and an event sink, a parent and its
// forked child.
type eventEnv struct {
	k             *Kernel
	trace         bytes.Buffer
	events        []Event
	parent, child *Process
}

func newEventEnv(t *testing.T, eventsMM bool) *eventEnv {
	ram, err := mm.NewRAM(64 << 20)
	require.NoError(t, err)
	t.Cleanup(func() { ram.Close() })
	e := &eventEnv{}
	e.k = NewKernel(Config{RAM: ram, Trace: &e.trace, TraceMM: true, EventsMM: eventsMM,
		Events: func(ev Event) { e.events = append(e.events, ev) }})
	e.parent, err = e.k.NewProcess(ProcessOptions{Creds: SameIDs(1000, 1000)})
	require.NoError(t, err)
	require.NoError(t, e.parent.Map(0x10000, 2, mm.ProtRead|mm.ProtWrite))
	e.child, err = e.k.Fork(e.parent)
	require.NoError(t, err)
	require.NoError(t, e.child.Map(0x20000, 2, mm.ProtRead|mm.ProtWrite))
	require.NoError(t, e.child.Map(0x22000, 1, mm.ProtNone))
	return e
}

func (e *eventEnv) iovecs(at mm.Addr, v ...uint64) {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		for j := range 8 {
			b[8*i+j] = byte(x >> (8 * j))
		}
	}
	if err := e.parent.Write(at, b); err != nil {
		panic(err)
	}
}

func eventsOf[T Event](evs []Event) []T {
	var out []T
	for _, ev := range evs {
		if x, ok := ev.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

var tracePrefix = regexp.MustCompile(`^\[pid \d+\] `)

// The events carry the lines the trace prints, and the copy steps the
// trace prints with --trace=mm, one for one.
func TestEventsAreTheTrace(t *testing.T) {
	e := newEventEnv(t, true)
	require.NoError(t, e.child.Write(0x21ff0, []byte("0123456789abcdef")))
	e.iovecs(0x10000, 0x10100, 64)             // local {0x10100, 64}
	e.iovecs(0x10010, 0x21ff0, 8, 0x20010, 24) // remote: across a page, then another element
	n, errno := e.k.Call(e.parent, linux.SysAMD64ProcessVmReadv, uint64(e.child.PID()), 0x10000, 1, 0x10010, 2, 0)
	require.Zero(t, errno)
	require.Equal(t, uintptr(32), n)
	e.k.Call(e.parent, linux.SysAMD64Getpid)

	var lines, cmaLines []string
	for _, l := range strings.Split(strings.TrimSpace(e.trace.String()), "\n") {
		if strings.Contains(l, "  cma ") {
			cmaLines = append(cmaLines, l)
			continue
		}
		l = tracePrefix.ReplaceAllString(l, "")
		lines = append(lines, padding.ReplaceAllString(l, ") =$1"))
	}
	calls := eventsOf[SyscallEvent](e.events)
	require.Len(t, calls, len(lines))
	for i, c := range calls {
		assert.Equal(t, lines[i], c.Line)
		assert.LessOrEqual(t, c.Start, c.End)
		assert.Equal(t, e.parent.PID(), c.PID)
	}
	assert.Equal(t, uint64(linux.SysAMD64ProcessVmReadv), calls[0].Nr)
	assert.Equal(t, uintptr(32), calls[0].Ret)

	steps := eventsOf[CopyStepEvent](e.events)
	require.Len(t, steps, len(cmaLines))
	total := 0
	for i, s := range steps {
		assert.Contains(t, cmaLines[i], fmt.Sprintf("va %#x:", uint64(s.Step.VA)))
		assert.Equal(t, e.child.PID(), s.Target)
		if s.Step.Remote {
			total += s.Step.Bytes
		}
	}
	assert.Equal(t, 32, total)
	copies := eventsOf[CopyEvent](e.events)
	require.Len(t, copies, 1)
	c := copies[0]
	assert.Equal(t, 32, c.Copied)
	assert.Nil(t, c.Stop)
	assert.Equal(t, 16, c.IovecSize)
	assert.Equal(t, []mm.IOVec{{Base: 0x21ff0, Len: 8}, {Base: 0x20010, Len: 24}}, c.Remote)
	assert.Len(t, c.RemoteRaw, 32)
}

// Without EventsMM a copy reports no steps (and runs in big batches);
// its end is reported all the same, with where a short copy stopped.
func TestEventsCopyStop(t *testing.T) {
	e := newEventEnv(t, false)
	e.iovecs(0x10000, 0x10100, 64)
	e.iovecs(0x10010, 0x21ff8, 64) // 8 bytes before the PROT_NONE page
	n, errno := e.k.Call(e.parent, linux.SysAMD64ProcessVmReadv, uint64(e.child.PID()), 0x10000, 1, 0x10010, 1, 0)
	require.Zero(t, errno)
	assert.Equal(t, uintptr(8), n)
	assert.Empty(t, eventsOf[CopyStepEvent](e.events))
	copies := eventsOf[CopyEvent](e.events)
	require.Len(t, copies, 1)
	s := copies[0].Stop
	require.NotNil(t, s)
	assert.True(t, s.Remote)
	assert.Equal(t, e.child.PID(), s.PID)
	assert.Equal(t, mm.Addr(0x22000), s.VA)
	assert.True(t, s.HasVMA)
	assert.Equal(t, mm.ProtNone, s.VMA.Prot)
	assert.Equal(t, mm.Read, s.Access)
	assert.Equal(t, uint64(64), copies[0].Wanted())

	// The local side stops it: a local buffer that ends in an unmapped page.
	e.events = nil
	e.iovecs(0x10000, 0x11ff0, 64) // local: 16 bytes, then 0x12000 is unmapped
	e.iovecs(0x10010, 0x20000, 64)
	n, errno = e.k.Call(e.parent, linux.SysAMD64ProcessVmReadv, uint64(e.child.PID()), 0x10000, 1, 0x10010, 1, 0)
	require.Zero(t, errno)
	assert.Equal(t, uintptr(16), n)
	s = eventsOf[CopyEvent](e.events)[0].Stop
	require.NotNil(t, s)
	assert.False(t, s.Remote)
	assert.Equal(t, e.parent.PID(), s.PID)
	assert.Equal(t, mm.Addr(0x12000), s.VA)
	assert.False(t, s.HasVMA)

	// A refused call reaches no copy.
	e.events = nil
	_, errno = e.k.Call(e.parent, linux.SysAMD64ProcessVmReadv, 99999, 0x10000, 1, 0x10010, 1, 0)
	assert.Equal(t, linux.ESRCH, errno)
	assert.Empty(t, eventsOf[CopyEvent](e.events))
	require.Len(t, eventsOf[SyscallEvent](e.events), 1)
	assert.Equal(t, linux.ESRCH, eventsOf[SyscallEvent](e.events)[0].Errno)
}

// InspectPage and InspectProcess look without changing anything.
func TestEventsInspect(t *testing.T) {
	e := newEventEnv(t, false)
	require.NoError(t, e.child.Write(0x20000, []byte("hello")))
	before := e.k.InspectPage(e.child, 0x20000, 5, "look")
	assert.Equal(t, "hello", string(before.Bytes))
	assert.True(t, before.Walk.Leaf.Present())
	assert.Equal(t, 1, before.Refs)
	again := e.k.InspectPage(e.child, 0x20000, 5, "again")
	assert.Equal(t, before.Walk.Entry, again.Walk.Entry, "no bit changed")

	none := e.k.InspectPage(e.child, 0x21000, 4, "untouched")
	assert.False(t, none.Walk.Leaf.Present())
	assert.Equal(t, []byte{0, 0, 0, 0}, none.Bytes)
	assert.True(t, none.HasVMA)

	p := e.k.InspectProcess(e.child, "child")
	assert.Equal(t, e.child.PID(), p.PID)
	assert.True(t, p.Dumpable)
	assert.Equal(t, uint32(1000), p.Creds.EUID)
	assert.Len(t, p.VMAs, 3)
	assert.Equal(t, e.child.MM().Root(), p.CR3)
	looks := eventsOf[PageEvent](e.events)
	assert.Len(t, looks, 3)
	assert.Len(t, eventsOf[ProcessEvent](e.events), 1)
}
