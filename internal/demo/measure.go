package demo

import (
	"time"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
	"github.com/cmaemu/cmaemu/syscalls"
)

// The double-copy scenario's measurements: for each message size, one
// CMA copy sender → receiver against two copies sender → shared segment
// → receiver, each made by the kernel's copy core. One kernel reports
// every copy piece (counted: copies, bytes, distinct frames); another
// reports only the system calls, whose durations are the times (the
// fastest of several runs, after a warm-up run that faults the pages in).

// bench is a sender and a receiver with buffers of size bytes and a
// shared segment of the same size mapped by both.
type bench struct {
	env              *Env
	ram              *mm.RAM
	sender, receiver *Proc
	sShm, rShm       mm.Addr
}

const (
	benchSend = mm.Addr(0x10000000)
	benchRecv = mm.Addr(0x20000000)
)

func newBench(size uint64, traced bool, sink func(syscalls.Event)) *bench {
	ram, err := mm.NewRAM(6*size + 64<<20)
	if err != nil {
		panic(failure{err})
	}
	e := &Env{rec: &Recording{}, ram: ram, procs: map[int32]*Proc{}}
	e.K = syscalls.NewKernel(syscalls.Config{RAM: ram, Events: sink, EventsMM: traced})
	b := &bench{env: e, ram: ram}
	b.sender = e.NewProcess("sender", user, false)
	b.receiver = e.NewProcess("receiver", user, false)
	pages := int((size + mm.PageSize - 1) / mm.PageSize)
	b.sender.MapAt(Region{benchSend, pages, rw, "buffer"})
	b.receiver.MapAt(Region{benchRecv, pages, rw, "buffer"})
	b.sShm = b.sender.shmOpen("bench", pages*int(mm.PageSize))
	b.rShm = b.receiver.shmOpen("bench", pages*int(mm.PageSize))
	pattern := make([]byte, pages*int(mm.PageSize))
	for i := range pattern {
		pattern[i] = byte(i*7 + i>>12)
	}
	b.sender.Put(benchSend, pattern)
	return b
}

func (b *bench) close() { b.ram.Close() }

// call is one prepared process_vm_readv or process_vm_writev.
type call struct {
	p    *Proc
	nr   uintptr
	args []uint64
}

func (c call) do() (uintptr, linux.Errno) { return c.p.Call(c.nr, c.args...) }

// calls prepares the CMA copy and the two bounce copies of size bytes.
func (b *bench) calls(size uint64) (cma call, bounce [2]call) {
	prep := func(p *Proc, write bool, target *Proc, local, remote mm.Addr) call {
		nr := uintptr(linux.SysAMD64ProcessVmReadv)
		if write {
			nr = linux.SysAMD64ProcessVmWritev
		}
		lv := p.Iovecs(mm.IOVec{Base: local, Len: size})
		rv := p.Iovecs(mm.IOVec{Base: remote, Len: size})
		return call{p, nr, []uint64{uint64(target.PID()), uint64(lv), 1, uint64(rv), 1, 0}}
	}
	cma = prep(b.sender, true, b.receiver, benchSend, benchRecv)
	bounce[0] = prep(b.sender, true, b.sender, benchSend, b.sShm)
	bounce[1] = prep(b.receiver, false, b.receiver, benchRecv, b.rShm)
	return cma, bounce
}

func measure(sizes []uint64) (Measurements, error) {
	largest := sizes[len(sizes)-1]
	rows := make([]SizeRow, len(sizes))
	for i, s := range sizes {
		rows[i].Size = s
	}

	// Counted: every piece the kernel reports.
	var cost *Cost
	frames := map[mm.Frame]bool{}
	count := func(ev syscalls.Event) {
		switch ev := ev.(type) {
		case syscalls.CopyStepEvent:
			if ev.Step.Remote {
				cost.Bytes += uint64(ev.Step.Bytes)
			}
			frames[ev.Step.Frame] = true
		case syscalls.CopyEvent:
			cost.Copies++
		}
	}
	b := newBench(largest, true, func(ev syscalls.Event) {
		if cost != nil {
			count(ev)
		}
	})
	for i, s := range sizes {
		cma, bounce := b.calls(s)
		for _, run := range []struct {
			c     *Cost
			calls []call
		}{{&rows[i].CMA, []call{cma}}, {&rows[i].Bounced, bounce[:]}} {
			cost = run.c
			clear(frames)
			for _, c := range run.calls {
				if _, errno := c.do(); errno != 0 {
					b.close()
					return Measurements{}, errno
				}
			}
			cost.Frames = len(frames)
		}
		cost = nil
	}
	b.close()

	// Timed: the system calls only.
	var last time.Duration
	b = newBench(largest, false, func(ev syscalls.Event) {
		if c, ok := ev.(syscalls.SyscallEvent); ok {
			last = c.End - c.Start
		}
	})
	defer b.close()
	for i, s := range sizes {
		cma, bounce := b.calls(s)
		timeOf := func(calls []call) time.Duration {
			var t time.Duration
			for _, c := range calls {
				c.do()
				t += last
			}
			return t
		}
		reps := 3
		if s <= 1<<20 {
			reps = 25
		}
		timeOf([]call{cma}) // warm-up
		timeOf(bounce[:])
		best := func(calls []call) int64 {
			m := time.Duration(1 << 62)
			for range reps {
				m = min(m, timeOf(calls))
			}
			return m.Nanoseconds()
		}
		rows[i].CMA.Nanos = best([]call{cma})
		rows[i].Bounced.Nanos = best(bounce[:])
	}
	return Measurements{Rows: rows}, nil
}
