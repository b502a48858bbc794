package demo

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
	"github.com/cmaemu/cmaemu/syscalls"
)

// Each scenario runs, and what its narration claims is checked against
// the kernel's events in its recording (not against the narration).

var (
	recMu sync.Mutex
	recs  = map[string]*Recording{}
)

// record runs a scenario once per test binary.
func record(t *testing.T, name string) *Recording {
	t.Helper()
	recMu.Lock()
	defer recMu.Unlock()
	if r := recs[name]; r != nil {
		return r
	}
	s := Find(name)
	require.NotNil(t, s, name)
	r, err := s.Run()
	require.NoError(t, err)
	recs[name] = r
	return r
}

// calls returns the recording's system calls named name.
func calls(r *Recording, name string) []syscalls.SyscallEvent {
	var out []syscalls.SyscallEvent
	for _, c := range r.Calls() {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// looks returns the looks at pid's page holding va, by label.
func looks(r *Recording, pid int32, va mm.Addr) map[string]syscalls.PageEvent {
	out := map[string]syscalls.PageEvent{}
	for _, l := range r.Looks() {
		if l.PID == pid && l.VA.RoundDown() == va.RoundDown() {
			out[l.Label] = l
		}
	}
	return out
}

func pidOf(t *testing.T, r *Recording, name string) int32 {
	for _, p := range r.Procs() {
		if p.Label == name {
			return p.PID
		}
	}
	t.Fatalf("no process %q", name)
	return 0
}

// checkPieces sums the bytes of the copy's pieces on each side, which must
// agree with each other and with the result.
func checkPieces(t *testing.T, r *Recording) {
	t.Helper()
	var remote, local [64]int
	copyN := 0
	for _, it := range r.Items {
		switch ev := it.(type) {
		case syscalls.CopyStepEvent:
			if ev.Step.Remote {
				remote[copyN] += ev.Step.Bytes
			} else {
				local[copyN] += ev.Step.Bytes
			}
			assert.LessOrEqual(t, ev.Step.VA.PageOffset()+uint64(ev.Step.Bytes), uint64(mm.PageSize), "a piece stays within a page")
		case syscalls.CopyEvent:
			assert.Equal(t, ev.Copied, remote[copyN], "copy %d: the remote pieces add up to the result", copyN+1)
			assert.Equal(t, ev.Copied, local[copyN], "copy %d: the local pieces add up to the result", copyN+1)
			copyN++
		}
	}
}

func TestScenarioCMA(t *testing.T) {
	r := record(t, "cma")
	checkPieces(t, r)
	sender, receiver := pidOf(t, r, "sender"), pidOf(t, r, "receiver")
	cs := r.Copies()
	require.Len(t, cs, 2)
	w := cs[0]
	assert.Equal(t, mm.WriteRemote, w.Dir)
	assert.Equal(t, sender, w.PID)
	assert.Equal(t, receiver, w.Target)
	assert.Equal(t, uint64(w.Copied), w.Wanted(), "the whole message")
	// The inbox straddles a page boundary: two pieces, split exactly there.
	var ps []Piece
	for _, p := range r.Pieces() {
		if p.Copy == 0 {
			ps = append(ps, p)
		}
	}
	require.Len(t, ps, 2)
	assert.Equal(t, uint64(ps[0].Bytes), mm.PageSize-w.Remote[0].Base.PageOffset())
	assert.Equal(t, w.Remote[0].Base.RoundDown()+mm.PageSize, ps[1].Dst.VA)
	assert.NotEqual(t, ps[0].Dst.Frame, ps[1].Dst.Frame, "two pages, two frames")
	for _, p := range ps {
		assert.Equal(t, receiver, p.Dst.PID)
		leaf := leafOf(p.Dst.Walk)
		assert.Equal(t, p.Dst.Frame, leaf.Frame(), "the walk ends at the frame written")
		for _, bit := range []mm.PTE{mm.PTEPresent, mm.PTEWrite, mm.PTEUser, mm.PTEAccessed, mm.PTEDirty, mm.PTENoExec} {
			assert.NotZero(t, leaf&bit, "leaf %v has bit %#x", leaf, uint64(bit))
		}
	}
	// Before the copy the inbox was not mapped at all.
	before := looks(r, receiver, w.Remote[0].Base)["before"]
	assert.False(t, leafOf(before.Walk).Present())
	// The reply comes back with process_vm_readv.
	assert.Equal(t, mm.ReadRemote, cs[1].Dir)
	line := calls(r, "process_vm_readv")[0].Line
	assert.Contains(t, line, `iov_base="Got it: 44 bytes, one copy."`)
}

func TestScenarioDoubleCopy(t *testing.T) {
	r := record(t, "double-copy")
	checkPieces(t, r)
	var single, bounced int
	var singleCopies, bouncedCopies int
	for _, c := range r.Copies() {
		if c.PID == c.Target {
			bounced += c.Copied
			bouncedCopies++
		} else {
			single += c.Copied
			singleCopies++
		}
	}
	assert.Equal(t, 1, singleCopies)
	assert.Equal(t, 2, bouncedCopies)
	assert.Equal(t, 2*single, bounced, "the bounce buffer moved twice the bytes of CMA")
	// Both bounce copies went through the same frame, which both map.
	ps := r.Pieces()
	require.Len(t, ps, 3)
	assert.Equal(t, ps[1].Dst.Frame, ps[2].Src.Frame)
	assert.NotEqual(t, ps[1].Dst.PID, ps[2].Src.PID)

	m := r.Measurements()
	require.NotNil(t, m)
	require.Len(t, m.Rows, 6)
	assert.Equal(t, uint64(64), m.Rows[0].Size)
	assert.Equal(t, uint64(64<<20), m.Rows[5].Size)
	for _, row := range m.Rows {
		assert.Equal(t, 1, row.CMA.Copies, sizeText(row.Size))
		assert.Equal(t, 2, row.Bounced.Copies, sizeText(row.Size))
		assert.Equal(t, row.Size, row.CMA.Bytes, sizeText(row.Size))
		assert.Equal(t, 2*row.Size, row.Bounced.Bytes, sizeText(row.Size))
		pages := int((row.Size + mm.PageSize - 1) / mm.PageSize)
		assert.Equal(t, 2*pages, row.CMA.Frames, "sender's and receiver's pages, %s", sizeText(row.Size))
		assert.Equal(t, 3*pages, row.Bounced.Frames, "sender's, segment's and receiver's pages, %s", sizeText(row.Size))
		assert.Positive(t, row.CMA.Nanos)
		assert.Positive(t, row.Bounced.Nanos)
	}
}

func TestScenarioPartial(t *testing.T) {
	r := record(t, "partial")
	checkPieces(t, r)
	target := pidOf(t, r, "target")
	// The PROT_NONE page, from the target's mappings.
	var guard mm.VMA
	for _, p := range r.Procs() {
		if p.PID == target {
			for _, v := range p.VMAs {
				if v.Prot == mm.ProtNone {
					guard = v
				}
			}
		}
	}
	require.NotZero(t, guard.Range.Start, "the target has a PROT_NONE mapping")
	cs := r.Copies()
	require.Len(t, cs, 2)
	c := cs[0]
	require.Len(t, c.Remote, 3)
	before := c.Remote[0].Len + uint64(guard.Range.Start-c.Remote[1].Base)
	assert.Less(t, c.Remote[1].Base, guard.Range.Start)
	assert.Greater(t, c.Remote[1].Base+mm.Addr(c.Remote[1].Len), guard.Range.Start, "the second element crosses into the guard page")
	assert.Equal(t, int(before), c.Copied, "the short count is the bytes before the PROT_NONE page")
	assert.Less(t, uint64(c.Copied), c.Wanted())
	assert.Zero(t, c.Errno)
	require.NotNil(t, c.Stop)
	assert.True(t, c.Stop.Remote)
	assert.Equal(t, guard.Range.Start, c.Stop.VA)
	assert.Equal(t, mm.ProtNone, c.Stop.VMA.Prot)
	res := calls(r, "process_vm_readv")
	require.Len(t, res, 2)
	assert.Equal(t, uintptr(before), res[0].Ret)
	// Nothing copied: EFAULT.
	assert.Equal(t, linux.EFAULT, cs[1].Errno)
	assert.Equal(t, linux.EFAULT, res[1].Errno)
	assert.Contains(t, res[1].Line, "= -1 EFAULT (Bad address)")
}

func TestScenarioCOW(t *testing.T) {
	r := record(t, "cow")
	checkPieces(t, r)
	parent, child, sibling := pidOf(t, r, "parent"), pidOf(t, r, "child"), pidOf(t, r, "sibling")
	cs := r.Copies()
	require.Len(t, cs, 1)
	page := cs[0].Remote[0].Base
	cb, ca := looks(r, child, page)["before"], looks(r, child, page)["after"]
	sb, sa := looks(r, sibling, page)["before"], looks(r, sibling, page)["after"]
	pb, pa := looks(r, parent, page)["before"], looks(r, parent, page)["after"]
	shared := cb.Walk.Leaf.Frame()
	for _, l := range []syscalls.PageEvent{cb, sb, pb} {
		assert.Equal(t, shared, l.Walk.Leaf.Frame(), "one frame before")
		assert.NotZero(t, l.Walk.Leaf&mm.PTECOW)
		assert.Zero(t, l.Walk.Leaf&mm.PTEWrite)
		assert.Equal(t, 3, l.Refs)
	}
	assert.NotEqual(t, shared, ca.Walk.Leaf.Frame(), "the child got a new frame")
	assert.Equal(t, ca.Walk.Leaf.Frame(), r.Pieces()[0].Dst.Frame, "the copy wrote the new frame")
	assert.NotZero(t, ca.Walk.Leaf&mm.PTEWrite)
	assert.True(t, bytes.HasPrefix(ca.Bytes, []byte("settings: version 2")), "%q", ca.Bytes)
	for _, l := range [][2]syscalls.PageEvent{{sb, sa}, {pb, pa}} {
		assert.Equal(t, l[0].Walk.Leaf.Frame(), l[1].Walk.Leaf.Frame(), "the sibling and the parent keep the frame")
		assert.Equal(t, l[0].Bytes, l[1].Bytes, "and its bytes")
	}
	assert.Equal(t, 2, sa.Refs)
}

func TestScenarioProcMem(t *testing.T) {
	r := record(t, "procmem")
	target := pidOf(t, r, "target")
	var ro syscalls.PageEvent
	for _, l := range r.Looks() {
		if l.PID == target && l.Label == "before" {
			ro = l
		}
	}
	require.NotZero(t, ro.VA)
	assert.Equal(t, mm.ProtRead, ro.VMA.Prot, "a read-only mapping")
	after := looks(r, target, ro.VA)["after"]
	// process_vm_writev: EFAULT, stopped at that page.
	w := calls(r, "process_vm_writev")
	require.Len(t, w, 2)
	assert.Equal(t, linux.EFAULT, w[0].Errno)
	c := r.Copies()[0]
	require.NotNil(t, c.Stop)
	assert.Equal(t, ro.VA, c.Stop.VA)
	// /proc/PID/mem: opened, written at the page's address, and the page changed.
	open := calls(r, "openat")
	require.Len(t, open, 2)
	assert.Zero(t, open[0].Errno, open[0].Line)
	assert.Contains(t, open[0].Line, "/mem\"")
	pw := calls(r, "pwrite64")
	require.Len(t, pw, 1)
	assert.Zero(t, pw[0].Errno)
	assert.Equal(t, uint64(ro.VA), pw[0].Args[3], "written at the page's address")
	assert.Equal(t, uintptr(pw[0].Args[2]), pw[0].Ret)
	assert.NotEqual(t, ro.Bytes, after.Bytes, "the read-only page changed")
	assert.Equal(t, "mode=debug!", string(after.Bytes))
	assert.Zero(t, after.Walk.Leaf&mm.PTEWrite, "and is still mapped read-only")
	// Another user fails both the same way.
	assert.Equal(t, linux.EACCES, open[1].Errno)
	assert.Equal(t, linux.EPERM, w[1].Errno)
}

func TestScenarioPerm(t *testing.T) {
	r := record(t, "perm")
	checkPieces(t, r)
	var got []linux.Errno
	for _, c := range calls(r, "process_vm_readv") {
		got = append(got, c.Errno)
	}
	assert.Equal(t, []linux.Errno{linux.EPERM, linux.EPERM, 0, linux.EPERM, 0}, got)
	worker := pidOf(t, r, "worker")
	var dumpable []bool
	for _, it := range r.Items {
		if _, ok := it.(End); ok {
			break
		}
		if p, ok := it.(syscalls.ProcessEvent); ok && p.PID == worker {
			dumpable = append(dumpable, p.Dumpable)
		}
	}
	assert.Equal(t, []bool{true, false, true, false}, dumpable)
	admin := pidOf(t, r, "admin")
	last := r.Copies()[len(r.Copies())-1]
	assert.Equal(t, admin, last.PID)
	assert.Equal(t, 16, last.Copied)
}

func TestScenarioI386(t *testing.T) {
	r := record(t, "i386")
	checkPieces(t, r)
	rv := calls(r, "process_vm_readv")
	require.Len(t, rv, 2)
	assert.Equal(t, uint64(linux.Sys386ProcessVmReadv), rv[0].Nr)
	assert.Equal(t, uint64(linux.SysAMD64ProcessVmReadv), rv[1].Nr)
	cs := r.Copies()
	require.Len(t, cs, 2)
	assert.Equal(t, 8, cs[0].IovecSize)
	assert.Len(t, cs[0].LocalRaw, 8)
	assert.Equal(t, 16, cs[1].IovecSize)
	assert.Len(t, cs[1].LocalRaw, 16)
	for _, c := range cs {
		assert.Equal(t, 18, c.Copied)
	}
	assert.Contains(t, rv[0].Line, `"from 64-bit memory"`)
	assert.Contains(t, rv[1].Line, `"from 32-bit memory"`)
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestText(t *testing.T) {
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			r := record(t, s.Name)
			var plain, color bytes.Buffer
			require.NoError(t, WriteText(&plain, r, TextOptions{}))
			require.NoError(t, WriteText(&color, r, TextOptions{Color: true}))
			assert.NotContains(t, plain.String(), "\x1b", "no colour unless asked")
			assert.Contains(t, color.String(), "\x1b[")
			assert.Equal(t, plain.String(), ansi.ReplaceAllString(color.String(), ""), "colour changes nothing else")
			for _, st := range r.Steps() {
				assert.Contains(t, plain.String(), st.Title)
			}
			for _, c := range r.Calls() {
				assert.Contains(t, plain.String(), c.Line, "the strace line")
			}
			for _, line := range strings.Split(plain.String(), "\n") {
				if !strings.HasPrefix(line, "  [pid ") && !strings.HasPrefix(line, "    ") {
					assert.LessOrEqual(t, len([]rune(line)), 96, "narration is wrapped: %q", line)
				}
			}
			pauses := 0
			require.NoError(t, WriteText(&bytes.Buffer{}, r, TextOptions{Pause: func() { pauses++ }}))
			assert.Equal(t, len(r.Steps())-1, pauses, "--step waits before each step but the first")
		})
	}
}

func TestHTML(t *testing.T) {
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			r := record(t, s.Name)
			var b bytes.Buffer
			require.NoError(t, WriteHTML(&b, r))
			page := b.String()
			assert.Equal(t, len(r.Pages()), strings.Count(page, `<g class="page" `), "one element per page touched")
			assert.Equal(t, len(r.Pieces()), strings.Count(page, `<g class="piece" `), "one element per piece copied")
			assert.Equal(t, len(r.Pages()), strings.Count(page, `<div class="walk" `), "one walk per page")
			for _, bad := range []string{"http://", "https://", "@import", "url(http", "<link", "src="} {
				assert.NotContains(t, page, bad, "self-contained")
			}
			for _, c := range r.Calls() {
				assert.Contains(t, page, htmlEscape(c.Line[:strings.Index(c.Line, "(")]))
			}
		})
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(s)
}
