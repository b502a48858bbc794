package demo

import (
	"fmt"
	"strings"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
	"github.com/cmaemu/cmaemu/syscalls"
)

// The scenarios. Each narrates what it does in steps; the numbers in the
// narration are read back from the kernel's events (the CopyEvent a call
// produced, a look at a page), never assumed.

var user = syscalls.SameIDs(1000, 1000)

const rw = mm.ProtRead | mm.ProtWrite

// heap is where the typical layout's heap starts (layout64 and layout32).
const (
	heap64 = mm.Addr(0x4c7000)
	heap32 = mm.Addr(0x080e7000)
	stack  = mm.Addr(0x7ffffffff000) // the end of the x86-64 stack VMA
)

func iov(base mm.Addr, n int) mm.IOVec { return mm.IOVec{Base: base, Len: uint64(n)} }

func one(base mm.Addr, n int) []mm.IOVec { return []mm.IOVec{iov(base, n)} }

// mustCopy insists that a CMA call reached the copy.
func (e *Env) mustCopy(c *syscalls.CopyEvent, _ uintptr, errno linux.Errno) *syscalls.CopyEvent {
	if c == nil {
		e.fail("step %d: %w (%v)", e.step, errNoCopy, errno)
	}
	return c
}

// atFDCWD is AT_FDCWD (-100) as a system call argument.
const atFDCWD = ^uint64(99)

// piecesOf returns the pieces of copy number i (from 0) of the recording.
func (e *Env) piecesOf(i int) []Piece {
	var out []Piece
	for _, p := range e.rec.Pieces() {
		if p.Copy == i {
			out = append(out, p)
		}
	}
	return out
}

// lastCopy is the index of the recording's latest copy.
func (e *Env) lastCopy() int { return len(e.rec.Copies()) - 1 }

// walkText is "PML4[255] → PDPT[511] → PD[511] → PT[493] → frame 0x1a4".
func walkText(w mm.Walk) string {
	var b strings.Builder
	for l := 0; l < w.Depth; l++ {
		if l > 0 {
			b.WriteString(" → ")
		}
		fmt.Fprintf(&b, "%s[%d]", mm.LevelNames[l], w.Index[l])
	}
	if leaf := leafOf(w); leaf.HasFrame() {
		fmt.Fprintf(&b, " → frame %#x", uint64(leaf.Frame()))
	} else {
		b.WriteString(" → not present")
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

var scenarioCMA = &Scenario{
	Name:    "cma",
	Title:   "One copy between two address spaces",
	Summary: "a sender writes a message into a receiver with process_vm_writev and reads the reply with process_vm_readv; both page walks, the bytes moved",
	run:     runCMA,
}

func runCMA(e *Env) {
	e.Step("Two processes, two address spaces",
		"The sender and the receiver are separate processes of the same user. Each has its own page table, "+
			"rooted at its own CR3, and its own frames of RAM: neither can reach the other's memory through its own page table.")
	sender := e.NewProcess("sender", user, false)
	receiver := e.NewProcess("receiver", user, false)
	msg := "Hello, receiver! One copy, no bounce buffer."
	msgAt := heap64 + 0x10
	sender.Put(msgAt, []byte(msg))
	// The receiver's inbox is on its stack, across a page boundary.
	inbox := stack - 3*mm.PageSize - 24
	e.Say("The sender's message (%d bytes) is in its heap at %s; the receiver's inbox is on its stack at %s.",
		len(msg), hexAddr(msgAt), hexAddr(inbox))
	before := receiver.Look(inbox, 0, "before")
	e.Say("The receiver has never touched its inbox: the walk of %s stops at %s, whose entry is not present.",
		hexAddr(inbox), mm.LevelNames[before.Walk.Depth-1])

	e.Step("The sender writes into the receiver: process_vm_writev",
		"One system call names the receiver's pid, the local buffer and the remote one. The kernel walks the sender's "+
			"page table for the source and the receiver's for the destination, and copies frame to frame.")
	c := e.mustCopy(sender.CMA(true, receiver, one(msgAt, len(msg)), one(inbox, len(msg))))
	ps := e.piecesOf(e.lastCopy())
	e.Say("%d bytes moved in %s: a piece ends wherever either side crosses a page boundary, and the inbox straddles %s.",
		c.Copied, plural(len(ps), "piece", "pieces"), hexAddr(inbox.RoundDown()+mm.PageSize))
	for _, p := range ps {
		e.Say("Piece %d: %d bytes, frame %#x of the sender → frame %#x of the receiver (its walk: %s).",
			p.N, p.Bytes, uint64(p.Src.Frame), uint64(p.Dst.Frame), walkText(p.Dst.Walk))
	}
	e.Say("The copy faulted the inbox's pages in for writing: new frames, and leaf entries %s (present, writable, user, accessed, dirty, not executable).",
		FlagString(leafOf(ps[0].Dst.Walk)))

	e.Step("The receiver answers; the sender reads the reply: process_vm_readv",
		"The receiver stores its reply in its heap. process_vm_readv is the same copy the other way: the remote side is read, the local side written.")
	reply := fmt.Sprintf("Got it: %d bytes, one copy.", c.Copied)
	replyAt := heap64 + 0x800
	receiver.Put(replyAt, []byte(reply))
	got := heap64 + 0x100
	c = e.mustCopy(sender.CMA(false, receiver, one(got, 64), one(replyAt, len(reply))))
	b, _ := sender.Read(got, c.Copied)
	e.Verdict(true, "The sender now holds %q: %d bytes, one copy, no system call by the receiver.", string(b), c.Copied)

	e.Step("What it took", "")
	total := 0
	for _, cp := range e.rec.Copies() {
		total += cp.Copied
	}
	e.Say("Two system calls, two copies, %d bytes: each byte was read once and written once, with no buffer in the kernel.", total)
}

var scenarioDouble = &Scenario{
	Name:    "double-copy",
	Title:   "One copy (CMA) against two (a shared bounce buffer)",
	Summary: "the same message through a shared-memory bounce buffer, beside CMA: copies, bytes, frames and time for 64 B to 64 MiB",
	run:     runDouble,
}

// shmOpen opens name in /dev/shm and maps size bytes of it shared, as
// shm_open and mmap do, and returns the mapping's address.
func (p *Proc) shmOpen(name string, size int) mm.Addr {
	path := p.Str("/dev/shm/" + name)
	fd, errno := p.Call(linux.SysAMD64Openat, atFDCWD, uint64(path), linux.O_RDWR|linux.O_CREAT|linux.O_CLOEXEC, 0o600)
	if errno != 0 {
		p.env.fail("%s: open /dev/shm/%s: %v", p.Name, name, errno)
	}
	if _, errno := p.Call(linux.SysAMD64Ftruncate, uint64(fd), uint64(size)); errno != 0 {
		p.env.fail("%s: ftruncate: %v", p.Name, errno)
	}
	at, errno := p.Call(linux.SysAMD64Mmap, 0, uint64(size), linux.PROT_READ|linux.PROT_WRITE, linux.MAP_SHARED, uint64(fd), 0)
	if errno != 0 {
		p.env.fail("%s: mmap: %v", p.Name, errno)
	}
	p.Call(linux.SysAMD64Close, uint64(fd))
	return mm.Addr(at)
}

func runDouble(e *Env) {
	e.Step("A sender, a receiver and a shared segment",
		"Before CMA (Linux 3.2), an MPI library on one node moved a message through a bounce buffer: a segment of "+
			"shared memory that both processes map. Both open /dev/shm/mpi-bounce and map it.")
	sender := e.NewProcess("sender", user, false)
	receiver := e.NewProcess("receiver", user, false)
	sShm := sender.shmOpen("mpi-bounce", int(mm.PageSize))
	rShm := receiver.shmOpen("mpi-bounce", int(mm.PageSize))
	msg := "A message of forty bytes, moved twice.!!"
	msgAt := heap64 + 0x40
	sender.Put(msgAt, []byte(msg))

	e.Step("One copy: process_vm_writev",
		"With CMA the sender copies straight into the receiver's buffer.")
	c := e.mustCopy(sender.CMA(true, receiver, one(msgAt, len(msg)), one(heap64+0x100, len(msg))))
	single := e.piecesOf(e.lastCopy())
	e.Say("%d bytes moved, %s, frame %#x → frame %#x.", c.Copied, plural(len(single), "copy piece", "copy pieces"),
		uint64(single[0].Src.Frame), uint64(single[0].Dst.Frame))

	e.Step("Two copies: sender → shared segment → receiver",
		"Without CMA the sender copies the message into the segment and the receiver copies it out: two memcpy calls. "+
			"The demo makes each of them with CMA on the process itself (its pid as the target), so the same copy core shows its page walks; "+
			"the bytes moved and frames touched are a memcpy's.")
	c1 := e.mustCopy(sender.CMA(true, sender, one(msgAt, len(msg)), one(sShm, len(msg))))
	inbox2 := heap64 + 0x1100
	c2 := e.mustCopy(receiver.CMA(false, receiver, one(inbox2, len(msg)), one(rShm, len(msg))))
	shm := e.piecesOf(e.lastCopy())[0].Src.Frame
	e.Say("Copy 1 moved %d bytes into the segment, copy 2 moved %d bytes out of it: %d bytes for a %d-byte message, through frame %#x, which both processes map (at %s and %s).",
		c1.Copied, c2.Copied, c1.Copied+c2.Copied, len(msg), uint64(shm), hexAddr(sShm), hexAddr(rShm))

	e.Step("Measured: message sizes from 64 B to 64 MiB",
		"Each size runs on kernels of its own: one counts the copy pieces the kernel reports, one times the system calls (the fastest of several runs, after a warm-up that faults every page in).")
	m, err := measure([]uint64{64, 4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20})
	e.check(err)
	e.rec.Items = append(e.rec.Items, m)
	last := m.Rows[len(m.Rows)-1]
	e.Verdict(true, "At %s the bounce buffer moved %s (CMA: %s) and took %.1f× CMA's time: the argument for CMA in MPI, measured live.",
		sizeText(last.Size), sizeText(last.Bounced.Bytes), sizeText(last.CMA.Bytes), float64(last.Bounced.Nanos)/float64(max(last.CMA.Nanos, 1)))
}

var scenarioPartial = &Scenario{
	Name:    "partial",
	Title:   "A short copy: stopped mid-element by a PROT_NONE page",
	Summary: "a three-element process_vm_readv that stops in the middle of its second element at a PROT_NONE page: the short count, and why",
	run:     runPartial,
}

func runPartial(e *Env) {
	e.Step("A reader and a target with a guard page",
		"The target makes the last page of its heap inaccessible with mprotect(PROT_NONE), as a guard page.")
	reader := e.NewProcess("reader", user, false)
	target := e.NewProcess("target", user, false)
	guard := heap64 + 3*mm.PageSize
	if _, errno := target.Call(linux.SysAMD64Mprotect, uint64(guard), mm.PageSize, 0); errno != 0 {
		e.fail("mprotect: %v", errno)
	}
	target.Put(heap64+0x100, []byte(strings.Repeat("first record....", 4)))
	target.Put(guard-48, []byte("second record, whose tail is in the guard page"))
	target.Put(heap64+mm.PageSize, []byte(strings.Repeat("third record....", 4)))
	remote := []mm.IOVec{iov(heap64+0x100, 64), iov(guard-48, 128), iov(heap64+mm.PageSize, 64)}
	e.Say("The reader gathers three records of the target: 64 bytes at %s, 128 bytes at %s (its last 80 bytes lie in the guard page at %s), 64 bytes at %s.",
		hexAddr(remote[0].Base), hexAddr(remote[1].Base), hexAddr(guard), hexAddr(remote[2].Base))

	e.Step("process_vm_readv with three remote elements",
		"The kernel copies the elements in order and stops at the first remote page it may not read: mid-element, byte-exactly.")
	c := e.mustCopy(reader.CMA(false, target, one(heap64+0x200, 256), remote))
	why := "it stopped"
	if s := c.Stop; s != nil && s.HasVMA {
		why = fmt.Sprintf("%s is in the VMA %s-%s with protection %s, which process_vm_readv may not read",
			hexAddr(s.VA), hexAddr(s.VMA.Range.Start), hexAddr(s.VMA.Range.End), protName(s.VMA.Prot))
	}
	e.Verdict(true, "The result is %d, not %d and not an error: 64 bytes of the first record and the %d bytes of the second before the guard page. The third record is never reached, although it is readable: %s.",
		c.Copied, c.Wanted(), c.Copied-64, why)

	e.Step("Nothing copied: EFAULT",
		"A copy that cannot move even one byte fails instead: here the first remote element starts inside the guard page.")
	_, _, errno := reader.CMA(false, target, one(heap64+0x200, 16), one(guard, 16))
	e.Verdict(false, "process_vm_readv returned -1 %s: a short count is success, only an empty copy is an error.", errnoText(errno))
}

// protName is "PROT_NONE" or e.g. "PROT_READ".
func protName(p mm.Prot) string {
	if p == 0 {
		return "PROT_NONE"
	}
	var s []string
	for _, x := range []struct {
		p mm.Prot
		n string
	}{{mm.ProtRead, "PROT_READ"}, {mm.ProtWrite, "PROT_WRITE"}, {mm.ProtExec, "PROT_EXEC"}} {
		if p&x.p != 0 {
			s = append(s, x.n)
		}
	}
	return strings.Join(s, "|")
}

var scenarioCOW = &Scenario{
	Name:    "cow",
	Title:   "Writing into a copy-on-write page",
	Summary: "process_vm_writev into a page shared copy-on-write after fork: the target gets a new frame, its sibling keeps the old one",
	run:     runCOW,
}

func runCOW(e *Env) {
	e.Step("One frame, three processes",
		"The parent fills a page of its heap, then forks two children. fork copies no memory: all three map the same frame, read-only and marked copy-on-write (COW), until one of them writes.")
	parent := e.NewProcess("parent", user, false)
	page := heap64 + mm.PageSize
	text := "settings: version 1 (from the parent)"
	parent.Put(page, []byte(text))
	child := e.Fork(parent, "child")
	sibling := e.Fork(parent, "sibling")
	before := map[string]syscalls.PageEvent{}
	for _, p := range []*Proc{parent, child, sibling} {
		before[p.Name] = p.Look(page, len(text), "before")
	}
	f := before["child"].Walk.Leaf.Frame()
	e.Say("All three walks end at frame %#x (%s in each: RW clear, COW set); the frame has %d references.",
		uint64(f), FlagString(before["child"].Walk.Leaf), before["child"].Refs)

	e.Step("The parent writes into the child: process_vm_writev",
		"The remote page is shared, so the kernel cannot write it in place: like a write fault, the copy breaks the sharing for the child only.")
	update := "settings: version 2 (parent, via CMA)"
	parent.Put(heap64+0x200, []byte(update))
	e.mustCopy(parent.CMA(true, child, one(heap64+0x200, len(update)), one(page, len(update))))
	after := map[string]syscalls.PageEvent{}
	for _, p := range []*Proc{parent, child, sibling} {
		after[p.Name] = p.Look(page, len(text), "after")
	}
	c, s := after["child"], after["sibling"]
	e.Verdict(true, "The child now maps a new frame, %#x (%s), holding %q.",
		uint64(c.Walk.Leaf.Frame()), FlagString(c.Walk.Leaf), printable(c.Bytes[:len(update)]))
	e.Verdict(true, "The sibling keeps frame %#x and its bytes %q; the parent too. The old frame has %d references now.",
		uint64(s.Walk.Leaf.Frame()), printable(s.Bytes), s.Refs)
}

var scenarioProcMem = &Scenario{
	Name:    "procmem",
	Title:   "/proc/PID/mem writes where process_vm_writev may not",
	Summary: "a write through /proc/PID/mem into a read-only page succeeds (FOLL_FORCE) where process_vm_writev gets EFAULT; the permission check both share",
	run:     runProcMem,
}

func runProcMem(e *Env) {
	e.Step("A read-only page",
		"The target keeps its configuration in a page mapped PROT_READ. A debugger and process_vm_writev both reach other processes' memory; they differ here.")
	debugger := e.NewProcess("debugger", user, false)
	target := e.NewProcess("target", user, false)
	ro := mm.Addr(0x4c3000)
	target.MapAt(Region{ro, 1, mm.ProtRead, "config"})
	old := "mode=safe  "
	target.Put(ro+0x40, []byte(old))
	target.Look(ro+0x40, len(old), "before")
	patch := "mode=debug!"
	src := debugger.Str(patch)

	e.Step("process_vm_writev: EFAULT",
		"process_vm_writev may write only what the target itself could write: the VMA must allow PROT_WRITE.")
	_, _, errno := debugger.CMA(true, target, one(src, len(patch)), one(ro+0x40, len(patch)))
	e.Verdict(false, "process_vm_writev returned -1 %s: the page is read-only.", errnoText(errno))

	e.Step("/proc/PID/mem: the write succeeds",
		"The debugger opens /proc/PID/mem and writes at the page's address with pwrite64. The kernel writes with FOLL_FORCE, as ptrace's POKEDATA does: "+
			"a private mapping that is not writable still gets the write (were the page shared with another process, the write would go to a private copy).")
	path := debugger.Str(fmt.Sprintf("/proc/%d/mem", target.PID()))
	fd, errno := debugger.Call(linux.SysAMD64Openat, atFDCWD, uint64(path), linux.O_RDWR, 0)
	if errno != 0 {
		e.fail("open /proc/PID/mem: %v", errno)
	}
	n, errno := debugger.Call(linux.SysAMD64Pwrite64, uint64(fd), uint64(src), uint64(len(patch)), uint64(ro+0x40))
	debugger.Call(linux.SysAMD64Close, uint64(fd))
	after := target.Look(ro+0x40, len(old), "after")
	e.Verdict(errno == 0, "pwrite64 wrote %d bytes: the read-only page now holds %q, and its entry is still %s (RW clear): only the kernel's forced write got through.",
		n, printable(after.Bytes), FlagString(after.Walk.Leaf))

	e.Step("The check both share",
		"Both paths first ask whether the caller may attach to the target as ptrace would (PTRACE_MODE_ATTACH): same user and a dumpable target, or CAP_SYS_PTRACE. A process of another user fails both.")
	other := e.NewProcess("other user", syscalls.SameIDs(1001, 1001), false)
	opath := other.Str(fmt.Sprintf("/proc/%d/mem", target.PID()))
	_, oerr := other.Call(linux.SysAMD64Openat, atFDCWD, uint64(opath), linux.O_RDWR, 0)
	osrc := other.Str(patch)
	_, _, verr := other.CMA(true, target, one(osrc, len(patch)), one(ro+0x40, len(patch)))
	e.Verdict(false, "uid 1001: opening /proc/%d/mem gives %s, process_vm_writev gives %s.", target.PID(), errnoText(oerr), errnoText(verr))
}

var scenarioPerm = &Scenario{
	Name:    "perm",
	Title:   "Who may copy: credentials and dumpable",
	Summary: "a copy refused after the target drops privileges or clears dumpable, and allowed again for root",
	run:     runPerm,
}

func runPerm(e *Env) {
	e.Step("A worker started as root, a peer of uid 1000",
		"process_vm_readv needs PTRACE_MODE_ATTACH_REALCREDS: the caller's real uid and gid must equal all of the target's, and the target must be dumpable; or the caller must hold CAP_SYS_PTRACE (root).")
	worker := e.NewProcess("worker", syscalls.SameIDs(0, 0), false)
	peer := e.NewProcess("peer", user, false)
	worker.Put(heap64, []byte("worker's secret!"))
	read := func(p *Proc) (uintptr, linux.Errno) {
		_, n, errno := p.CMA(false, worker, one(heap64+0x300, 16), one(heap64, 16))
		return n, errno
	}
	say := func(who string, n uintptr, errno linux.Errno, why string) {
		if errno != 0 {
			e.Verdict(false, "%s: -1 %s — %s", who, errnoText(errno), why)
		} else {
			e.Verdict(true, "%s: %d bytes — %s", who, n, why)
		}
	}
	n, errno := read(peer)
	say("peer reads the worker", n, errno, "the worker's uids are 0, the peer's real uid is 1000.")

	e.Step("The worker drops privileges: setgid(1000), setuid(1000)",
		"Now every id matches the peer's. But a process that changed its credentials is made non-dumpable, so that what it read as root stays out of reach.")
	worker.Call(linux.SysAMD64Setgid, 1000)
	worker.Call(linux.SysAMD64Setuid, 1000)
	worker.Inspect("after setuid")
	n, errno = read(peer)
	say("peer reads the worker", n, errno, "same ids, but the worker is not dumpable.")

	const prSetDumpable = 4
	e.Step("The worker says it may be read: prctl(PR_SET_DUMPABLE, 1)", "")
	worker.Call(linux.SysAMD64Prctl, prSetDumpable, 1)
	worker.Inspect("dumpable")
	n, errno = read(peer)
	say("peer reads the worker", n, errno, "same ids and dumpable.")

	e.Step("It clears dumpable again: prctl(PR_SET_DUMPABLE, 0)", "")
	worker.Call(linux.SysAMD64Prctl, prSetDumpable, 0)
	worker.Inspect("not dumpable")
	n, errno = read(peer)
	say("peer reads the worker", n, errno, "not dumpable.")

	e.Step("Root may", "A process of uid 0 holds CAP_SYS_PTRACE: neither the ids nor dumpable stop it.")
	admin := e.NewProcess("admin", syscalls.SameIDs(0, 0), false)
	n, errno = read(admin)
	say("admin (root) reads the worker", n, errno, "CAP_SYS_PTRACE.")
}

var scenarioI386 = &Scenario{
	Name:    "i386",
	Title:   "A 32-bit and a 64-bit process copy to each other",
	Summary: "an i386 process uses process_vm_readv 347 with compat iovecs {u32, u32}; an x86-64 one uses 310 with {u64, u64}",
	run:     runI386,
}

func runI386(e *Env) {
	e.Step("An i386 process and an x86-64 process",
		"Both have the same kind of 4-level page table; the i386 one can only use its lower 4 GiB, and its system calls have their own numbers and structure layouts.")
	p32 := e.NewProcess("i386", user, true)
	p64 := e.NewProcess("x86-64", user, false)
	m64 := "from 64-bit memory"
	p64.Put(heap64+0x20, []byte(m64))
	m32 := "from 32-bit memory"
	p32.Put(heap32+0x20, []byte(m32))

	e.Step("The i386 process reads the x86-64 one: process_vm_readv = 347",
		"Its iovecs are struct compat_iovec: a 4-byte base and a 4-byte length, 8 bytes per element. The kernel widens them and runs the same copy.")
	c := e.mustCopy(p32.CMA(false, p64, one(heap32+0x200, 32), one(heap64+0x20, len(m64))))
	e.Say("Local iovec at %s: %s; remote iovec at %s: %s.", hexAddr(c.LocalArray), iovecBytes(c.LocalRaw, c.IovecSize), hexAddr(c.RemoteArray), iovecBytes(c.RemoteRaw, c.IovecSize))
	b, _ := p32.Read(heap32+0x200, c.Copied)
	e.Verdict(true, "%d bytes copied into the 32-bit process: %q.", c.Copied, string(b))

	e.Step("The x86-64 process reads the i386 one: process_vm_readv = 310",
		"Its iovecs are struct iovec: an 8-byte base and an 8-byte length, 16 bytes per element. The remote address is an i386 one, below 4 GiB.")
	c = e.mustCopy(p64.CMA(false, p32, one(heap64+0x200, 32), one(heap32+0x20, len(m32))))
	e.Say("Local iovec at %s: %s; remote iovec at %s: %s.", hexAddr(c.LocalArray), iovecBytes(c.LocalRaw, c.IovecSize), hexAddr(c.RemoteArray), iovecBytes(c.RemoteRaw, c.IovecSize))
	b, _ = p64.Read(heap64+0x200, c.Copied)
	e.Verdict(true, "%d bytes copied into the 64-bit process: %q.", c.Copied, string(b))
	e.Say("The i386 process's heap is reached through %s, like any low address of an x86-64 process: the same 4-level table.",
		walkText(e.piecesOf(e.lastCopy())[0].Src.Walk))
}

// iovecBytes shows an iovec array's bytes as the kernel read them, each
// element's base and length apart: "base 00 72 0e 08 | len 20 00 00 00".
func iovecBytes(raw []byte, size int) string {
	var parts []string
	for i := 0; i+size <= len(raw); i += size {
		parts = append(parts, fmt.Sprintf("[base % x | len % x]", raw[i:i+size/2], raw[i+size/2:i+size]))
	}
	return fmt.Sprintf("%d bytes %s", len(raw), strings.Join(parts, " "))
}

// sizeText is "64 B", "4 KiB", "64 MiB".
func sizeText(n uint64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
