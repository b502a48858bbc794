package tests

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Golden files for hosts that have never run i386. `make golden` records
// every golden file natively where the host runs i386 programs; where it
// cannot, it falls back to the oracles below, chosen per guest and written
// into each file's source line. TestGoldenFallbacks recomputes every
// fallback on every host and requires it to equal the committed file, so a
// fallback that stops describing Linux fails, on an i386 host, against the
// native run as well.

// Fallback is where a golden file comes from on a host without i386.
type Fallback int

const (
	// FromQEMU: qemu-i386 runs the i386 build. For guests that do not
	// use CMA (qemu-user answers ENOSYS to 347/348).
	FromQEMU Fallback = iota
	// FromAMD64: the x86-64 glibc build of the same guest, run natively,
	// for CMA guests where the compat rules give the x86-64 result.
	FromAMD64
	// FromRules: written line by line from the compat rules (DESIGN.md,
	// "i386 (347/348)") and the guest's own description of its cases,
	// for scenarios that have no x86-64 or qemu counterpart.
	FromRules
)

// LineEdit is one explicit difference between a fallback oracle's output
// and Linux's i386 result: the line From becomes To, or is dropped.
type LineEdit struct {
	From, To string
	Drop     bool
	Why      string
}

// I386Fallback is how one guest's golden file is made without i386.
type I386Fallback struct {
	From  Fallback
	Edits Edits
}

// i386Fallbacks lists the guests whose fallback is not the default
// (FromQEMU for guests without CMA, FromAMD64 for CMA guests) or that
// need edits.
var i386Fallbacks = map[string]I386Fallback{
	// i386 only: 32-bit iovecs and the top of a compat task. Every line
	// follows from the rules in the guest's header comment (each checked
	// there against DESIGN.md's compat rules).
	"cma_compat": {From: FromRules},
	// A 64-bit and a 32-bit process copying to each other: no single-ABI
	// run has the scenario. Each line follows from the region table and
	// the truncation of 32-bit iovec bases in the guest's header comment.
	"cma_cross": {From: FromRules},
	// Segment selectors restored by i386 sigreturn: qemu-i386 aborts on
	// the first bad one (an assertion inside qemu). Each line
	// follows from the rules in the guest's header comment: FS and GS
	// get sel|3, or 0 when the CPU refuses it (x86-64 Linux's GDT: null,
	// kernel code and data with DPL 0, user 32-bit code and data, entry
	// 7 empty, TSS and LDT system entries, TLS entry 12 glibc's, 13 and
	// 14 empty, limit 16 entries, no LDT); CS other than 0x23 and SS
	// other than 0x2b among those tried make the iret fault (#GP:
	// SIGSEGV, SI_KERNEL, si_addr 0).
	"rel_sigret32": {From: FromRules},

	// CMA guests: the x86-64 result, less the cases the i386 build does
	// not compile (they need a 64-bit register or address), with the one
	// case whose compat result differs.
	"cma_args": {From: FromAMD64, Edits: only64(hi32,
		"flags=1<<32: ret=-1 errno=EINVAL",
		"liovcnt=2^32 (as 0): ret=0",
		"liovcnt=2^32+1 (as 1): ret=16 bytes_ok=1 rest_untouched=1",
		"liovcnt=2^32+1025 (as 1025): ret=-1 errno=EINVAL",
		"riovcnt=2^32: ret=-1 errno=EINVAL",
		"riovcnt=2^32+1: ret=-1 errno=EINVAL",
	).and(only64(taskSize,
		"local [0] past TASK_SIZE [1] len=-1: ret=-1 errno=EINVAL",
		"local [0] past TASK_SIZE [1] ok: ret=-1 errno=EFAULT",
		"local [0] past TASK_SIZE remote len=-1: ret=-1 errno=EFAULT",
		"remote kernel address: ret=-1 errno=EFAULT",
		"remote base+len wraps: ret=-1 errno=EFAULT",
		"remote base=TASK_SIZE: ret=-1 errno=EFAULT",
	))},
	"cma_pid": {From: FromAMD64, Edits: only64(hi32,
		"live child pid|1<<32: ret=64 remote_bytes=1",
		"live child pid|0xffffffff00000000: ret=64 remote_bytes=1",
		"pid 1<<32 (as 0) readv: ret=-1 errno=ESRCH",
		"pid 1<<32 (as 0) writev: ret=-1 errno=ESRCH",
	)},
	"cma_thread": {From: FromAMD64, Edits: only64(hi32,
		"thread tid|1<<32: ret=64 bytes_ok=1",
	)},
	"cma_cap": {From: FromAMD64, Edits: Edits{{
		From: "two elements, first SSIZE_MAX: ret=-1 errno=EFAULT",
		To:   "two elements, first SSIZE_MAX: ret=100",
		Why: "an element of a several-element local array is range-checked at its full length; " +
			"SSIZE_MAX is 0x7fffffff on i386, and a 32-bit base plus it stays below the 64-bit " +
			"TASK_SIZE the compat import checks against, so the import passes and the 100 remote bytes are copied",
	}}.and(only64(taskSize,
		"single element ending at TASK_SIZE+1: ret=100",
		"single element ending at TASK_SIZE+1 liovcnt=2^32+1: ret=100",
		"two elements, first ending at TASK_SIZE+1: ret=-1 errno=EFAULT",
		"two elements, second ending at TASK_SIZE+1: ret=-1 errno=EFAULT",
		"range end=TASK_SIZE alone: ret=0",
		"range end=TASK_SIZE as element 1: ret=0",
		"range end=TASK_SIZE+1 alone: ret=-1 errno=EFAULT",
		"range end=TASK_SIZE+1 as element 1: ret=-1 errno=EFAULT",
		"range base=TASK_SIZE len=0 alone: ret=0",
		"range base=TASK_SIZE len=0 as element 1: ret=0",
		"range base=TASK_SIZE+1 len=0 alone: ret=-1 errno=EFAULT",
		"range base=TASK_SIZE+1 len=0 as element 1: ret=-1 errno=EFAULT",
		"range base=2^47 len=0 alone: ret=-1 errno=EFAULT",
		"range base=2^47 len=0 as element 1: ret=-1 errno=EFAULT",
		"range base=-4096 len=0 alone: ret=-1 errno=EFAULT",
		"range base=-4096 len=0 as element 1: ret=-1 errno=EFAULT",
		"range base=NULL len=0 alone: ret=0",
		"range base=NULL len=0 as element 1: ret=0",
		"range base=NULL len=TASK_SIZE alone: ret=0",
		"range base=NULL len=TASK_SIZE as element 1: ret=0",
		"range base=NULL len=TASK_SIZE+1 alone: ret=0",
		"range base=NULL len=TASK_SIZE+1 as element 1: ret=-1 errno=EFAULT",
		"range base=4096 len=TASK_SIZE alone: ret=0",
		"range base=4096 len=TASK_SIZE as element 1: ret=-1 errno=EFAULT",
		"range base=2^63 len=0 alone: ret=-1 errno=EFAULT",
		"range base=2^63 len=0 as element 1: ret=-1 errno=EFAULT",
		"range base=-1 len=2 (wraps) alone: ret=-1 errno=EFAULT",
		"range base=-1 len=2 (wraps) as element 1: ret=-1 errno=EFAULT",
		"local total 1023*TASK_SIZE+100: ret=100 bytes_ok=1",
		"writev local total 1023*TASK_SIZE+100: ret=100",
	))},

	// /proc is the kernel's own view of the process: qemu-user shows
	// the host's /proc of qemu itself, so the oracle is the x86-64
	// build, whose lines are the i386 build's but for its name.
	"proc_self": {From: FromAMD64, Edits: Edits{{
		From: "stat pid=1 ppid=1 pgrp=1 comm=proc_self.glibc",
		To:   "stat pid=1 ppid=1 pgrp=1 comm=proc_self.i386",
		Why:  "the program's name is its file's",
	}, {
		From: "comm: proc_self.glibc",
		To:   "comm: proc_self.i386",
		Why:  "the program's name is its file's",
	}}},

	// Lock-prefixed instructions between forked processes on a
	// MAP_SHARED page: qemu-user translates them without host atomics
	// while a process has a single thread, so under qemu-i386 the
	// processes lose updates (lock cmpxchg8b shows it within a few runs).
	// The values do not depend on the ABI (32-bit counters, the same
	// lines), so the oracle is the x86-64 build, which Linux runs with
	// the same atomicity as an i386 task.
	"thr_atomic-procs": {From: FromAMD64},
	// A PTHREAD_PROCESS_SHARED mutex and condition variable between
	// single-threaded processes: their lock cmpxchg is not atomic under
	// qemu-user (as above); the lines are the x86-64 build's.
	"thr_sync-pshared": {From: FromAMD64},
	// SS_AUTODISARM, which qemu-user refuses (EINVAL); the lines do not
	// depend on the ABI, so the oracle is the x86-64 build.
	"sig_altstack": {From: FromAMD64},

	// Guests without CMA: qemu-i386's result, except where qemu-user
	// differs from Linux. Each such line is the x86-64 native result,
	// which Linux gives i386 tasks too.
	"malloc": {From: FromQEMU, Edits: []LineEdit{{
		From: "mprotect after munmap=0 errno=ENOMEM",
		To:   "mprotect after munmap=-1 errno=ENOMEM",
		Why:  "qemu-user's mprotect of an unmapped range returns 0; Linux fails with ENOMEM (as the x86-64 build shows natively)",
	}, {
		From: "mremap moved=1 kept=1 new zeroed=1 old unmapped=0 shrink in place=1",
		To:   "mremap moved=1 kept=1 new zeroed=1 old unmapped=1 shrink in place=1",
		Why:  "qemu-user leaves the old range of a moved mremap mapped; Linux unmaps it (as the x86-64 build shows natively)",
	}}},
	// getrandom: qemu-user locks the whole guest buffer before it calls
	// the host, so it answers EFAULT where Linux fills what is there (a
	// buffer that ends in a PROT_NONE page, a count cut to MAX_RW_COUNT)
	// and checks the buffer before the flags. Linux runs the same
	// sys_getrandom for i386 tasks (the count zero-extended, the same
	// TASK_SIZE check), so the lines are the x86-64 build's, less the
	// cases only it compiles.
	"rel_getrandom": {From: FromAMD64, Edits: only64("64-bit only: the case passes 1<<32 in the flags register or a 64-bit address",
		"flags 1<<32 (as 0): 8",
		"flags 1<<32|8 (as 8): -1/EINVAL",
		"0 at TASK_SIZE: 0",
		"0 past TASK_SIZE: -1/EFAULT",
		"0 non-canonical: -1/EFAULT",
	)},
	"sig_fpstate": {From: FromQEMU, Edits: []LineEdit{{
		From: "a=0 b=0 a=0.000000 b=0 handled=1",
		To:   "a=6717323.0600064388 b=7.3890553686535796 a=6717323.060006 b=7.38906 handled=1",
		Why: "qemu-user's i386 signal delivery loses the interrupted x87 computation (it prints zeros); under " +
			"qemu-i386 the loop gives these values when no signal is sent (the kill() removed), and Linux " +
			"saves and restores the x87 state around a handler, so the result is the signal-free one",
	}}},
}

// Reasons for the lines the i386 builds do not print.
const (
	hi32     = "64-bit only: the case passes 1<<32 in a register (CMA_HI32), which the i386 build cannot"
	taskSize = "64-bit only: the case needs addresses at the 64-bit TASK_SIZE (CMA_TASK_SIZE), not compiled for i386"
)

// Edits is a list of LineEdit.
type Edits []LineEdit

// and appends more edits.
func (e Edits) and(more Edits) Edits { return append(e, more...) }

// only64 drops lines that only the 64-bit builds print.
func only64(why string, lines ...string) Edits {
	e := make(Edits, len(lines))
	for i, l := range lines {
		e[i] = LineEdit{From: l, Drop: true, Why: why}
	}
	return e
}

// fallbackOf returns the fallback for entry g.
func fallbackOf(g Guest) I386Fallback {
	if f, ok := i386Fallbacks[g.Name]; ok {
		return f
	}
	if g.CMA {
		return I386Fallback{From: FromAMD64}
	}
	return I386Fallback{From: FromQEMU}
}

// Apply makes the edits on out: every edit's From line must occur; each
// occurrence is replaced (or dropped).
func (f I386Fallback) Apply(out string) (string, error) {
	lines := strings.SplitAfter(out, "\n")
	for _, e := range f.Edits {
		found := false
		kept := lines[:0:0]
		for _, l := range lines {
			body := strings.TrimSuffix(l, "\n")
			if body != e.From {
				kept = append(kept, l)
				continue
			}
			found = true
			if !e.Drop {
				kept = append(kept, e.To+l[len(body):])
			}
		}
		if !found {
			return "", fmt.Errorf("edit %q: no such line in the oracle's output", e.From)
		}
		lines = kept
	}
	return strings.Join(lines, ""), nil
}

// Source is the golden file's source line for this fallback.
func (f I386Fallback) Source() string {
	var s string
	switch f.From {
	case FromQEMU:
		s = "qemu-i386 (" + qemuVersion() + ") on a host without i386"
	case FromAMD64:
		s = "the x86-64 glibc build run natively, on a host without i386"
	case FromRules:
		return "written from the compat rules, on a host without i386 (tests/golden_i386_test.go)"
	}
	if len(f.Edits) > 0 {
		s += fmt.Sprintf(", %d line(s) edited (tests/golden_i386_test.go)", len(f.Edits))
	}
	return s
}

// qemuVersion is the first line of `qemu-i386 --version`, shortened.
func qemuVersion() string {
	out, err := exec.Command("qemu-i386", "--version").Output()
	if err != nil {
		return "qemu-i386 missing"
	}
	first, _, _ := strings.Cut(string(out), "\n")
	first = strings.TrimPrefix(first, "qemu-i386 ")
	if v, _, ok := strings.Cut(first, " ("); ok {
		first = v
	}
	return first
}

// RunFallback computes the golden result of g's variant without running
// i386 natively. ok is false for FromRules (nothing to run).
func RunFallback(t *testing.T, g Guest, variant string) (res Golden, ok bool) {
	t.Helper()
	f := fallbackOf(g)
	dir := t.TempDir()
	args := make([]string, len(g.Args))
	for i, a := range g.Args {
		args[i] = strings.ReplaceAll(a, DirArg, dir)
	}
	env := GuestEnv(g.Env)
	var r Result
	switch f.From {
	case FromRules:
		return res, false
	case FromQEMU:
		require.Equal(t, I386, variant, "%s: qemu-i386 is the fallback of i386 variants only", g.Name)
		prog := GuestPath(t, g.prog(), I386)
		r = Exec(t, Run{Argv: append([]string{"qemu-i386", prog}, args...), Env: env, Dir: dir, Stdin: g.Stdin})
	case FromAMD64:
		prog := GuestPath(t, g.prog(), Glibc)
		r = RunNative(t, prog, args, env, dir, g.Stdin)
	}
	require.False(t, r.TimedOut, "%s: the fallback oracle timed out", g.Name)
	out, err := f.Apply(r.Stdout)
	require.NoError(t, err, "%s: stdout", g.Name)
	res = Golden{Stdout: out, Stderr: r.Stderr, Status: r.Status, Source: f.Source()}
	return res, true
}

// TestGoldenFallbacks recomputes every fallback oracle and requires the
// committed golden file to equal it.
func TestGoldenFallbacks(t *testing.T) {
	for _, g := range guests {
		for _, v := range g.variants() {
			if !g.NeedsI386(v) || v == I386Dyn {
				continue
			}
			t.Run(g.Name+"/"+v, func(t *testing.T) {
				t.Parallel()
				want, ok := RunFallback(t, g, v)
				if !ok {
					return // FromRules: checked against native i386 only
				}
				golden, ok := LoadGolden(t, g.Name, v, g.Stderr)
				require.True(t, ok, "no golden file: run `make golden`")
				assert.Equal(t, want.Stdout, golden.Stdout, "stdout: the fallback (%s) and the golden file (%s) differ", want.Source, golden.Source)
				assert.Equal(t, want.Status, golden.Status, "status")
				if g.Stderr {
					assert.Equal(t, want.Stderr, golden.Stderr, "stderr")
				}
			})
		}
	}
}

// TestRecordGolden writes the golden files; `make golden` runs it with
// CMAEMU_GOLDEN=record. On a host that runs i386 every file is the native
// result; elsewhere the fallbacks above make them (FromRules files are
// kept as they are).
func TestRecordGolden(t *testing.T) {
	if os.Getenv("CMAEMU_GOLDEN") != "record" {
		t.Skip("records golden files only with CMAEMU_GOLDEN=record (make golden)")
	}
	native := I386Native(t)
	for _, g := range guests {
		for _, v := range g.variants() {
			if !g.NeedsI386(v) || v == I386Dyn {
				continue
			}
			t.Run(g.Name+"/"+v, func(t *testing.T) {
				require.True(t, !g.AsRoot || os.Geteuid() == 0, "%s is written for root: record the golden files as root", g.Name)
				var res Golden
				if native {
					dir := t.TempDir()
					args := make([]string, len(g.Args))
					for i, a := range g.Args {
						args[i] = strings.ReplaceAll(a, DirArg, dir)
					}
					r := checkNative(t, g, RunNative(t, GuestPath(t, g.prog(), v), args, GuestEnv(g.Env), dir, g.Stdin))
					res = Golden{Stdout: r.Stdout, Stderr: r.Stderr, Status: r.Status, Source: "native run on a host with i386"}
				} else {
					var ok bool
					res, ok = RunFallback(t, g, v)
					if !ok {
						_, ok := LoadGolden(t, g.Name, v, g.Stderr)
						require.True(t, ok, "%s.%s is written from the rules and has no file yet", g.Name, v)
						t.Logf("%s.%s: kept (written from the rules)", g.Name, v)
						return
					}
				}
				checkNative(t, g, res.Result())
				WriteGolden(t, g.Name, v, res, g.Stderr)
				t.Logf("%s.%s: %s", g.Name, v, res.Source)
			})
		}
	}
}
