package syscalls

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
)

// TestTimerCreateSigevent checks the sigevent checks of both layouts.
func TestTimerCreateSigevent(t *testing.T) {
	le := binary.LittleEndian
	cases := []struct {
		name   string
		i386   bool
		clock  uint64
		signo  uint32
		notify uint32
		want   linux.Errno
	}{
		{"signal", false, clockMonotonic, 34, sigevSignal, 0},
		{"signal i386", true, clockMonotonic, 34, sigevSignal, 0},
		{"none", false, clockRealtime, 0, sigevNone, 0},
		{"bad signo", false, clockMonotonic, 65, sigevSignal, linux.EINVAL},
		{"bad signo i386", true, clockMonotonic, 0, sigevSignal, linux.EINVAL},
		{"bad notify", false, clockMonotonic, 10, 3, linux.EINVAL},
		{"raw clock", false, clockMonotonicRaw, 10, sigevSignal, linux.EOPNOTSUPP},
		{"unknown clock", false, 12, 10, sigevSignal, linux.EINVAL},
		{"process cpu by pid 0", false, 0xfffffffa, 10, sigevSignal, 0},
		{"bad cpu clock type", false, 0xfffffffb, 10, sigevSignal, linux.EINVAL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newResEnv(t, 64<<20)
			p := e.proc(1000, c.i386)
			ev := make([]byte, sigeventSize)
			if c.i386 {
				le.PutUint32(ev[4:], c.signo)
				le.PutUint32(ev[8:], c.notify)
			} else {
				le.PutUint32(ev[8:], c.signo)
				le.PutUint32(ev[12:], c.notify)
			}
			nr := uintptr(linux.SysAMD64TimerCreate)
			if c.i386 {
				nr = linux.Sys386TimerCreate
			}
			_, errno := e.k.Call(p, nr, c.clock, e.write(p, 0, ev), uint64(resBuf+0x100))
			assert.Equal(t, c.want, errno)
		})
	}
}

// TestTimerOverrun: a periodic timer whose signal stays blocked sends it
// once; taking it reports the expiries in between as the overrun.
func TestTimerOverrun(t *testing.T) {
	le := binary.LittleEndian
	e := newResEnv(t, 64<<20)
	p := e.proc(1000, false)
	task := p.Main()
	task.setMask(linux.Bit(linux.SIGRTMIN))
	ev := make([]byte, sigeventSize)
	le.PutUint64(ev[0:], 99)
	le.PutUint32(ev[8:], uint32(linux.SIGRTMIN))
	_, errno := e.k.Call(p, linux.SysAMD64TimerCreate, clockMonotonic, e.write(p, 0, ev), uint64(resBuf+0x100))
	require.Zero(t, errno)
	id := uint64(le.Uint32(e.read(p, 0x100, 4)))
	spec := make([]byte, 32)
	le.PutUint64(spec[8:], uint64(time.Millisecond))  // interval
	le.PutUint64(spec[24:], uint64(time.Millisecond)) // value
	_, errno = e.k.Call(p, linux.SysAMD64TimerSettime, id, 0, e.write(p, 0x200, spec), 0)
	require.Zero(t, errno)
	time.Sleep(30 * time.Millisecond)
	sig, info, _, ok := task.dequeueIn(linux.Bit(linux.SIGRTMIN))
	require.True(t, ok)
	assert.Equal(t, linux.SIGRTMIN, sig)
	assert.Equal(t, int32(siTimer), int32(le.Uint32(info[8:])))
	assert.Equal(t, uint32(id), le.Uint32(info[16:]))
	assert.Equal(t, uint64(99), le.Uint64(info[24:]))
	over := le.Uint32(info[20:])
	assert.GreaterOrEqual(t, over, uint32(5), "about 30 periods passed")
	n, errno := e.k.Call(p, linux.SysAMD64TimerGetoverrun, id)
	require.Zero(t, errno)
	assert.Equal(t, uintptr(over), n)
	_, errno = e.k.Call(p, linux.SysAMD64TimerDelete, id)
	require.Zero(t, errno)
	assert.Zero(t, e.k.timerCount.Load())
}
