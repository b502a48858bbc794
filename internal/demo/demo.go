// Package demo is cmaemu's teaching demo: scenarios that show what Cross
// Memory Attach does inside a kernel, built on the kernel's Go API (no
// guest program is needed, so the demo runs from the cmaemu binary
// alone), and the two ways of showing them: narrated text for a terminal
// and one self-contained HTML page.
//
// A scenario makes processes, lays out their memory and calls system
// calls by number, as a program would. Everything shown comes from the
// kernel's own events (syscalls.Event): the strace line of every call, the
// pieces of every CMA copy with the page walks mm.CopyBetween made to pin
// each page, where a short copy stopped, and looks at pages and processes
// taken with the kernel's own walker. The scenario adds only narration.
package demo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/emu"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
	"github.com/cmaemu/cmaemu/syscalls"
)

// Scenario is one demo.
type Scenario struct {
	Name    string // as typed on the command line
	Title   string // a heading
	Summary string // one line, for --list
	// Needs names what the scenario needs from the host besides cmaemu
	// ("" for nothing); without it, Run fails.
	Needs string
	run   func(e *Env)
	// guests: the kernel runs guest programs (a CPU per task); ram is
	// its guest RAM (0: 256 MiB).
	guests bool
	ram    uint64
}

// Scenarios are the demos in the order --list shows them; the first is
// the default.
func Scenarios() []*Scenario {
	return []*Scenario{scenarioCMA, scenarioDouble, scenarioPartial, scenarioCOW, scenarioProcMem, scenarioPerm, scenarioI386, scenarioMPI}
}

// Find returns the scenario called name, or nil.
func Find(name string) *Scenario {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Recording is what a scenario did, in order: the kernel's events
// (syscalls.SyscallEvent, CopyStepEvent, CopyEvent, PageEvent,
// ProcessEvent) and the narration between them (Step, Say, Measurements).
type Recording struct {
	Scenario *Scenario
	Items    []any
}

// Step starts a step of the narration.
type Step struct {
	N     int // from 1
	Title string
	Text  string
}

// End ends the narration: what follows are the processes as they are
// at the end, for the pictures.
type End struct{}

// Say is a line of narration within a step, said after the events
// before it.
type Say struct {
	Text string
	// Verdict marks a conclusion: "ok" (what was expected happened) or
	// "refused" (the kernel said no, as it should); "" for plain text.
	Verdict string
}

// Measurements are the double-copy scenario's table: one copy against
// two, for each message size, measured on kernels of their own (their
// events are counted, not kept).
type Measurements struct {
	Rows []SizeRow
}

// SizeRow compares a CMA copy with a copy through a shared bounce buffer
// for one message size.
type SizeRow struct {
	Size         uint64
	CMA, Bounced Cost
}

// Cost is what one way of moving a message took.
type Cost struct {
	Copies int    // CMA copies the kernel made
	Bytes  uint64 // bytes moved, over all copies
	Frames int    // distinct frames the copies read or wrote
	Nanos  int64  // the fastest of the timed runs, system calls only
}

// Run runs the scenario on a fresh kernel and returns its recording.
func (s *Scenario) Run() (rec *Recording, err error) {
	size := s.ram
	if size == 0 {
		size = 256 << 20
	}
	ram, err := mm.NewRAM(size)
	if err != nil {
		return nil, err
	}
	defer ram.Close()
	rec = &Recording{Scenario: s}
	e := &Env{rec: rec, ram: ram, procs: map[int32]*Proc{}}
	cfg := syscalls.Config{RAM: ram, EventsMM: true, Events: func(ev syscalls.Event) {
		if f := e.filter; f != nil {
			f(ev)
			return
		}
		rec.Items = append(rec.Items, ev)
	}}
	if s.guests {
		cfg.NewCPU = func(as *mm.MM, mode arch.Mode) (arch.CPU, error) { return emu.Options{}.New(as, mode) }
	}
	e.K = syscalls.NewKernel(cfg)
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(failure)
			if !ok {
				panic(r)
			}
			rec, err = nil, fmt.Errorf("demo %s: %w", s.Name, f.err)
		}
	}()
	s.run(e)
	rec.Items = append(rec.Items, End{})
	for _, p := range e.order {
		e.K.InspectProcess(p.Process, p.Name)
	}
	return rec, nil
}

// failure carries a setup error out of a scenario.
type failure struct{ err error }

// Env is what a scenario works with: the kernel and its processes.
type Env struct {
	K     *syscalls.Kernel
	rec   *Recording
	ram   *mm.RAM
	step  int
	procs map[int32]*Proc
	order []*Proc
	// filter, if set, receives the kernel's events instead of the
	// recording (guest programs run: events come from their tasks'
	// goroutines). Set and cleared only while no guest runs.
	filter func(syscalls.Event)
}

// check stops the scenario on a setup error (a demo bug, not a result).
func (e *Env) check(err error) {
	if err != nil {
		panic(failure{err})
	}
}

func (e *Env) fail(format string, a ...any) { panic(failure{fmt.Errorf(format, a...)}) }

// Step starts the next step of the narration.
func (e *Env) Step(title, text string) {
	e.step++
	e.rec.Items = append(e.rec.Items, Step{N: e.step, Title: title, Text: text})
}

// Say adds a line of narration.
func (e *Env) Say(format string, a ...any) {
	e.rec.Items = append(e.rec.Items, Say{Text: fmt.Sprintf(format, a...)})
}

// Verdict adds a concluding line: ok says whether the kernel allowed it.
func (e *Env) Verdict(ok bool, format string, a ...any) {
	v := "refused"
	if ok {
		v = "ok"
	}
	e.rec.Items = append(e.rec.Items, Say{Text: fmt.Sprintf(format, a...), Verdict: v})
}

// Proc is a process of the demo with a role name.
type Proc struct {
	*syscalls.Process
	Name string
	I386 bool
	env  *Env
	// scratch is where Iovecs and Str put what the calls read: a page
	// of the process's data, used from its start.
	scratch, next mm.Addr
}

// Region is a mapping a demo process starts with.
type Region struct {
	Start mm.Addr
	Pages int
	Prot  mm.Prot
	Name  string
}

// Typical layouts of a small static program, without randomisation: text
// and data after 0x400000, the heap after them, the stack below the top
// of the user address space (x86-64) or below 0xff000000... (i386).
func layout64(stackPages int) []Region {
	return []Region{
		{0x401000, 1, mm.ProtRead | mm.ProtExec, "text"},
		{0x4c5000, 2, mm.ProtRead | mm.ProtWrite, "data"},
		{0x4c7000, 4, mm.ProtRead | mm.ProtWrite, "[heap]"},
		{0x7ffffffff000 - mm.Addr(stackPages)<<mm.PageShift, stackPages, mm.ProtRead | mm.ProtWrite, "[stack]"},
	}
}

func layout32(stackPages int) []Region {
	return []Region{
		{0x08049000, 1, mm.ProtRead | mm.ProtExec, "text"},
		{0x080e5000, 2, mm.ProtRead | mm.ProtWrite, "data"},
		{0x080e7000, 4, mm.ProtRead | mm.ProtWrite, "[heap]"},
		{0xffffe000 - mm.Addr(stackPages)<<mm.PageShift, stackPages, mm.ProtRead | mm.ProtWrite, "[stack]"},
	}
}

// NewProcess makes a process called name with creds and the typical
// layout of its ABI (its data page is the scratch area).
func (e *Env) NewProcess(name string, creds syscalls.Creds, i386 bool) *Proc {
	p, err := e.K.NewProcess(syscalls.ProcessOptions{Creds: creds, I386: i386})
	e.check(err)
	regions := layout64(4)
	if i386 {
		regions = layout32(4)
	}
	for _, r := range regions {
		e.check(p.MM().MapAnon(mm.AddrRange{Start: r.Start, End: r.Start + mm.Addr(r.Pages)<<mm.PageShift}, r.Prot, r.Name))
	}
	return e.adopt(p, name, i386, regions[1].Start)
}

// Fork forks parent as fork(2) does; the child is called name.
func (e *Env) Fork(parent *Proc, name string) *Proc {
	c, err := e.K.Fork(parent.Process)
	e.check(err)
	return e.adopt(c, name, parent.I386, parent.scratch)
}

func (e *Env) adopt(p *syscalls.Process, name string, i386 bool, scratch mm.Addr) *Proc {
	dp := &Proc{Process: p, Name: name, I386: i386, env: e, scratch: scratch, next: scratch}
	e.procs[p.PID()] = dp
	e.order = append(e.order, dp)
	e.K.InspectProcess(p, name)
	return dp
}

// MapAt adds a private anonymous mapping.
func (p *Proc) MapAt(r Region) {
	p.env.check(p.MM().MapAnon(mm.AddrRange{Start: r.Start, End: r.Start + mm.Addr(r.Pages)<<mm.PageShift}, r.Prot, r.Name))
}

// Put stores data at addr as the program would have (whatever the
// protection, as a debugger writes).
func (p *Proc) Put(addr mm.Addr, data []byte) {
	p.env.check(p.Write(addr, data))
}

// alloc reserves n bytes of the scratch area, 16-byte aligned.
func (p *Proc) alloc(n int) mm.Addr {
	at := p.next
	p.next += mm.Addr((n + 15) &^ 15)
	if p.next > p.scratch+2*mm.PageSize {
		p.env.fail("%s: out of scratch space", p.Name)
	}
	return at
}

// Str puts a NUL-terminated string in the scratch area and returns its
// address.
func (p *Proc) Str(s string) mm.Addr {
	at := p.alloc(len(s) + 1)
	p.Put(at, append([]byte(s), 0))
	return at
}

// Iovecs lays out struct iovec elements {base, len} in the process's ABI
// (16 bytes each, 8 for i386) in the scratch area and returns the array's
// address.
func (p *Proc) Iovecs(iov ...mm.IOVec) mm.Addr {
	w := 8
	if p.I386 {
		w = 4
	}
	b := make([]byte, 2*w*len(iov))
	for i, v := range iov {
		if w == 4 {
			binary.LittleEndian.PutUint32(b[8*i:], uint32(v.Base))
			binary.LittleEndian.PutUint32(b[8*i+4:], uint32(v.Len))
		} else {
			binary.LittleEndian.PutUint64(b[16*i:], uint64(v.Base))
			binary.LittleEndian.PutUint64(b[16*i+8:], v.Len)
		}
	}
	at := p.alloc(len(b))
	p.Put(at, b)
	return at
}

// Call makes system call nr, as the process's program would.
func (p *Proc) Call(nr uintptr, args ...uint64) (uintptr, linux.Errno) {
	return p.env.K.Call(p.Process, nr, args...)
}

// Look records the page holding va as it is now (n bytes from va).
func (p *Proc) Look(va mm.Addr, n int, label string) syscalls.PageEvent {
	return p.env.K.InspectPage(p.Process, va, n, label)
}

// Inspect records the process's credentials and mappings as they are now.
func (p *Proc) Inspect(label string) syscalls.ProcessEvent {
	return p.env.K.InspectProcess(p.Process, label)
}

// CMA makes process_vm_readv (write false) or process_vm_writev into
// target, with one local and one remote element per pair, in the
// process's ABI (310/311, or 347/348 for i386), and returns the CopyEvent
// the kernel reported (nil if the call failed before copying, e.g.
// EPERM) with the call's result.
func (p *Proc) CMA(write bool, target *Proc, local, remote []mm.IOVec) (*syscalls.CopyEvent, uintptr, linux.Errno) {
	nr := uintptr(linux.SysAMD64ProcessVmReadv)
	switch {
	case p.I386 && write:
		nr = linux.Sys386ProcessVmWritev
	case p.I386:
		nr = linux.Sys386ProcessVmReadv
	case write:
		nr = linux.SysAMD64ProcessVmWritev
	}
	lv, rv := p.Iovecs(local...), p.Iovecs(remote...)
	mark := len(p.env.rec.Items)
	n, errno := p.Call(nr, uint64(target.PID()), uint64(lv), uint64(len(local)), uint64(rv), uint64(len(remote)), 0)
	for _, it := range p.env.rec.Items[mark:] {
		if c, ok := it.(syscalls.CopyEvent); ok {
			return &c, n, errno
		}
	}
	return nil, n, errno
}

// Steps returns the recording's steps.
func (r *Recording) Steps() []Step {
	var out []Step
	for _, it := range r.Items {
		if s, ok := it.(Step); ok {
			out = append(out, s)
		}
	}
	return out
}

// Procs returns the processes of the recording, in the order they were
// made, each as last inspected.
func (r *Recording) Procs() []syscalls.ProcessEvent {
	var out []syscalls.ProcessEvent
	idx := map[int32]int{}
	for _, it := range r.Items {
		if pe, ok := it.(syscalls.ProcessEvent); ok {
			if i, seen := idx[pe.PID]; seen {
				name := out[i].Label
				out[i] = pe
				out[i].Label = name
				continue
			}
			idx[pe.PID] = len(out)
			out = append(out, pe)
		}
	}
	return out
}

// Name returns the role name of pid ("pid N" if it has none).
func (r *Recording) Name(pid int32) string {
	for _, p := range r.Procs() {
		if p.PID == pid {
			return p.Label
		}
	}
	return fmt.Sprintf("pid %d", pid)
}

// Piece is one run of bytes a CMA copy moved: from one page of the
// source to one page of the destination.
type Piece struct {
	N        int // from 1, over the recording
	Copy     int // index of the copy (CopyEvent) in the recording, from 0
	Dir      mm.CopyDirection
	Src, Dst Side
	Bytes    int
}

// Side is one side of a piece.
type Side struct {
	PID   int32
	VA    mm.Addr
	Walk  mm.Walk
	Frame mm.Frame
	Zero  bool // read from the zero frame: nothing mapped
}

// Pieces pairs the copy steps of the recording (the remote step, then the
// local one, for every piece) into pieces.
func (r *Recording) Pieces() []Piece {
	var out []Piece
	var pending *syscalls.CopyStepEvent
	copyN := 0
	for _, it := range r.Items {
		switch ev := it.(type) {
		case syscalls.CopyEvent:
			copyN++
		case syscalls.CopyStepEvent:
			if ev.Step.Remote {
				pending = &ev
				continue
			}
			if pending == nil {
				continue
			}
			rs := Side{PID: pending.Target, VA: pending.Step.VA, Walk: pending.Step.Walk, Frame: pending.Step.Frame, Zero: pending.Step.Zero}
			ls := Side{PID: ev.PID, VA: ev.Step.VA, Walk: ev.Step.Walk, Frame: ev.Step.Frame, Zero: ev.Step.Zero}
			pc := Piece{N: len(out) + 1, Copy: copyN, Dir: ev.Dir, Src: ls, Dst: rs, Bytes: ev.Step.Bytes}
			if ev.Dir == mm.ReadRemote {
				pc.Src, pc.Dst = rs, ls
			}
			out = append(out, pc)
			pending = nil
		}
	}
	return out
}

// Copies returns the CMA copies of the recording.
func (r *Recording) Copies() []syscalls.CopyEvent {
	var out []syscalls.CopyEvent
	for _, it := range r.Items {
		if c, ok := it.(syscalls.CopyEvent); ok {
			out = append(out, c)
		}
	}
	return out
}

// Calls returns the system calls of the recording.
func (r *Recording) Calls() []syscalls.SyscallEvent {
	var out []syscalls.SyscallEvent
	for _, it := range r.Items {
		if c, ok := it.(syscalls.SyscallEvent); ok {
			out = append(out, c)
		}
	}
	return out
}

// Looks returns the page looks of the recording.
func (r *Recording) Looks() []syscalls.PageEvent {
	var out []syscalls.PageEvent
	for _, it := range r.Items {
		if c, ok := it.(syscalls.PageEvent); ok {
			out = append(out, c)
		}
	}
	return out
}

// PageKey names a page of a process.
type PageKey struct {
	PID  int32
	Page mm.Addr
}

func (k PageKey) String() string { return fmt.Sprintf("%d:%#x", k.PID, uint64(k.Page)) }

// Page is a page the recording touched: a piece of a copy read or wrote
// it, a look saw it, or a copy stopped at it.
type Page struct {
	PageKey
	Walk  mm.Walk // the latest walk seen
	VMA   mm.VMA
	Fault *syscalls.CopyStop // the copy that stopped here, if one did
	Views []View             // each walk of it seen, in order
}

// View is one sight of a page: by a copy piece or a look.
type View struct {
	Label string // "copy #N", or the look's label
	Walk  mm.Walk
	Bytes []byte // a look's bytes (nil for a piece)
	Refs  int
}

// Leaf returns the page's leaf entry as last seen (zero if the walk did
// not reach the last level).
func (p *Page) Leaf() mm.PTE { return leafOf(p.Walk) }

func leafOf(w mm.Walk) mm.PTE {
	if w.Depth == mm.Levels {
		return w.Entry[mm.Levels-1]
	}
	return 0
}

// Pages returns the pages the recording touched, by process (in the
// order they were made) and address.
func (r *Recording) Pages() []*Page {
	byKey := map[PageKey]*Page{}
	get := func(pid int32, va mm.Addr) *Page {
		k := PageKey{pid, va.RoundDown()}
		if p := byKey[k]; p != nil {
			return p
		}
		p := &Page{PageKey: k}
		byKey[k] = p
		return p
	}
	vmaOf := func(pid int32, va mm.Addr) (mm.VMA, bool) {
		for _, p := range r.Procs() {
			if p.PID == pid {
				for _, v := range p.VMAs {
					if v.Range.Contains(va) {
						return v, true
					}
				}
			}
		}
		return mm.VMA{}, false
	}
	copyN := 0
	for _, it := range r.Items {
		switch ev := it.(type) {
		case syscalls.CopyStepEvent:
			pid := ev.PID
			if ev.Step.Remote {
				pid = ev.Target
			}
			p := get(pid, ev.Step.VA)
			p.Walk = ev.Step.Walk
			label := fmt.Sprintf("copy #%d", copyN+1)
			if n := len(p.Views); n == 0 || p.Views[n-1].Label != label {
				p.Views = append(p.Views, View{Label: label, Walk: ev.Step.Walk})
			}
		case syscalls.CopyEvent:
			copyN++
			if s := ev.Stop; s != nil {
				p := get(s.PID, s.VA)
				p.Walk, p.Fault = s.Walk, s
				p.Views = append(p.Views, View{Label: fmt.Sprintf("copy #%d stopped", copyN), Walk: s.Walk})
			}
		case syscalls.PageEvent:
			p := get(ev.PID, ev.VA)
			p.Walk = ev.Walk
			p.Views = append(p.Views, View{Label: ev.Label, Walk: ev.Walk, Bytes: ev.Bytes, Refs: ev.Refs})
		}
	}
	order := map[int32]int{}
	for i, p := range r.Procs() {
		order[p.PID] = i
	}
	out := make([]*Page, 0, len(byKey))
	for _, p := range byKey {
		p.VMA, _ = vmaOf(p.PID, p.Page)
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Page) int {
		if a.PID != b.PID {
			return order[a.PID] - order[b.PID]
		}
		return int(a.Page>>mm.PageShift) - int(b.Page>>mm.PageShift)
	})
	return out
}

// Frames returns the frames the recording's pages and pieces use, in
// order.
func (r *Recording) Frames() []mm.Frame {
	seen := map[mm.Frame]bool{}
	for _, p := range r.Pages() {
		for _, v := range p.Views {
			if l := leafOf(v.Walk); l.HasFrame() {
				seen[l.Frame()] = true
			}
		}
	}
	for _, pc := range r.Pieces() {
		seen[pc.Src.Frame], seen[pc.Dst.Frame] = true, true
	}
	var out []mm.Frame
	for f := range seen {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// Measurements returns the recording's measurements, if it has any.
func (r *Recording) Measurements() *Measurements {
	for _, it := range r.Items {
		if m, ok := it.(Measurements); ok {
			return &m
		}
	}
	return nil
}

// PTEBits decodes the bits of a leaf entry the demo shows, in order.
var PTEBits = []struct {
	Name string
	Bit  mm.PTE
	Help string
}{
	{"P", mm.PTEPresent, "present: the CPU may use the entry"},
	{"RW", mm.PTEWrite, "writable (else read-only)"},
	{"US", mm.PTEUser, "user: reachable from ring 3"},
	{"A", mm.PTEAccessed, "accessed since the bit was cleared"},
	{"D", mm.PTEDirty, "dirty: written since the bit was cleared"},
	{"NX", mm.PTENoExec, "no execute"},
}

// FlagString is the leaf's bits as "P RW US A D NX" with "-" for the
// clear ones, and COW or PROT_NONE when the software bits say so.
func FlagString(e mm.PTE) string {
	var parts []string
	for _, b := range PTEBits {
		if e&b.Bit != 0 {
			parts = append(parts, b.Name)
		} else {
			parts = append(parts, strings.Repeat("-", len(b.Name)))
		}
	}
	s := strings.Join(parts, " ")
	if e&mm.PTECOW != 0 {
		s += " COW"
	}
	if e&mm.PTEProtNone != 0 {
		s += " PROT_NONE"
	}
	return s
}

// hexAddr formats an address as the kernel's traces do.
func hexAddr(a mm.Addr) string { return fmt.Sprintf("%#x", uint64(a)) }

// printable shows bytes as a C string would print, dots for the rest.
func printable(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			s.WriteByte(c)
		} else {
			s.WriteByte('.')
		}
	}
	return s.String()
}

// errnoText is "EFAULT (Bad address)" for an errno, "" for none.
func errnoText(e linux.Errno) string {
	if e == 0 {
		return ""
	}
	return e.Name() + " (" + e.Error() + ")"
}

var errNoCopy = errors.New("no copy was made")
