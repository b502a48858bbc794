package demo

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/cmaemu/cmaemu/mm"
	"github.com/cmaemu/cmaemu/syscalls"
)

// TextOptions say how WriteText writes for a terminal.
type TextOptions struct {
	Color bool // ANSI colours and bold
	Width int  // columns to wrap narration at (0: 96)
	// Pause, if set, is called before every step but the first (for
	// --step: wait for Enter).
	Pause func()
}

// ANSI styles.
const (
	sReset  = "\x1b[0m"
	sBold   = "\x1b[1m"
	sDim    = "\x1b[2m"
	sRed    = "\x1b[31m"
	sGreen  = "\x1b[32m"
	sYellow = "\x1b[33m"
	sBlue   = "\x1b[34m"
	sMag    = "\x1b[35m"
	sCyan   = "\x1b[36m"
)

type textWriter struct {
	w     io.Writer
	o     TextOptions
	rec   *Recording
	err   error
	steps int
}

func (t *textWriter) style(s, text string) string {
	if !t.o.Color || text == "" || s == "" {
		return text
	}
	return s + text + sReset
}

func (t *textWriter) printf(format string, a ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, a...)
	}
}

// wrap writes text wrapped at the width, each line starting with indent.
func (t *textWriter) wrap(indent, text, style string) {
	width := t.o.Width
	if width <= 0 {
		width = 96
	}
	// The indent's visible width (it may carry a style and a bullet):
	// later lines are indented with as many spaces.
	vis := utf8.RuneCountInString(stripANSI(indent))
	line := ""
	flush := func() {
		if line != "" {
			t.printf("%s%s\n", indent, t.style(style, line))
			line = ""
			indent = strings.Repeat(" ", vis)
		}
	}
	for _, word := range strings.Fields(text) {
		if line != "" && vis+utf8.RuneCountInString(line+" "+word) > width {
			flush()
		}
		if line == "" {
			line = word
		} else {
			line += " " + word
		}
	}
	flush()
}

// table writes rows with aligned columns; the first row is the header.
// Cells may carry styles (invisible in the width).
func (t *textWriter) table(indent string, rows [][]cell) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c.text))
		}
	}
	for ri, r := range rows {
		var b strings.Builder
		b.WriteString(indent)
		for i, c := range r {
			style := c.style
			if ri == 0 {
				style = sDim
			}
			b.WriteString(t.style(style, c.text))
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c.text)+2))
			}
		}
		t.printf("%s\n", strings.TrimRight(b.String(), " "))
	}
}

type cell struct{ text, style string }

// stripANSI removes escape sequences.
func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func plain(s ...string) []cell {
	out := make([]cell, len(s))
	for i, x := range s {
		out[i] = cell{text: x}
	}
	return out
}

// WriteText writes the recording as a narrated account for a terminal:
// per step the narration, the strace lines of the calls, a table of the
// pieces of every copy with both page walks, the pages looked at, and
// where a short copy stopped.
func WriteText(w io.Writer, rec *Recording, o TextOptions) error {
	t := &textWriter{w: w, o: o, rec: rec}
	s := rec.Scenario
	t.printf("%s %s\n", t.style(sBold, "cmaemu demo "+s.Name+" —"), t.style(sBold, s.Title))
	t.wrap("", s.Summary, sDim)
	total := len(rec.Steps())
	pieces := rec.Pieces()
	pi := 0 // next piece
	var copyPieces []Piece
	var copyEv *syscalls.CopyEvent
	var looks []syscalls.PageEvent
	var procs []syscalls.ProcessEvent
	flushLooks := func() {
		if len(looks) > 0 {
			t.looks(looks)
			looks = nil
		}
		if len(procs) > 0 {
			t.procs(procs)
			procs = nil
		}
	}
	for _, it := range rec.Items {
		if _, ok := it.(syscalls.PageEvent); !ok {
			if _, ok := it.(syscalls.ProcessEvent); !ok {
				flushLooks()
			}
		}
		switch ev := it.(type) {
		case End:
			flushLooks()
			return t.err
		case Step:
			if ev.N > 1 && o.Pause != nil {
				if t.err == nil {
					t.printf("%s", t.style(sDim, "  ⏎ "))
				}
				o.Pause()
			}
			t.printf("\n%s\n", t.style(sBold+sCyan, fmt.Sprintf("Step %d/%d · %s", ev.N, total, ev.Title)))
			if ev.Text != "" {
				t.wrap("  ", ev.Text, "")
			}
			t.printf("\n")
		case Say:
			switch ev.Verdict {
			case "ok":
				t.wrap("  "+t.style(sGreen, "✔")+" ", ev.Text, "")
			case "refused":
				t.wrap("  "+t.style(sYellow, "✘")+" ", ev.Text, "")
			default:
				t.wrap("  • ", ev.Text, "")
			}
		case syscalls.ProcessEvent:
			procs = append(procs, ev)
		case syscalls.PageEvent:
			looks = append(looks, ev)
		case syscalls.CopyStepEvent:
			if ev.Step.Remote && pi < len(pieces) {
				copyPieces = append(copyPieces, pieces[pi])
				pi++
			}
		case syscalls.CopyEvent:
			copyEv = &ev
		case syscalls.SyscallEvent:
			t.syscall(ev)
			if copyEv != nil {
				t.copy(copyPieces, copyEv)
			}
			copyPieces, copyEv = nil, nil
		case Measurements:
			t.measurements(ev)
		}
	}
	flushLooks()
	return t.err
}

func (t *textWriter) syscall(ev syscalls.SyscallEvent) {
	call, result, _ := strings.Cut(ev.Line, " = ")
	style := sGreen
	if ev.Errno != 0 {
		style = sRed + sBold
	}
	name, rest, _ := strings.Cut(call, "(")
	t.printf("  %s %s(%s = %s\n", t.style(sDim, fmt.Sprintf("[pid %d]", ev.PID)), t.style(sBold, name), rest, t.style(style, result))
}

// walkCells are the index columns of a walk: the levels not reached are
// blank.
func walkCells(w mm.Walk) []cell {
	out := make([]cell, mm.Levels)
	for l := range out {
		if l < w.Depth {
			out[l] = cell{text: fmt.Sprint(w.Index[l])}
		} else {
			out[l] = cell{text: "·", style: sDim}
		}
	}
	return out
}

// leafCells are the leaf's flags and frame.
func (t *textWriter) leafCells(w mm.Walk) []cell {
	leaf := leafOf(w)
	if w.Depth < mm.Levels || !leaf.HasFrame() {
		return []cell{{text: fmt.Sprintf("not present (%s entry %#x)", mm.LevelNames[max(w.Depth, 1)-1], uint64(w.Entry[max(w.Depth, 1)-1])), style: sYellow}, {text: "—"}}
	}
	return []cell{{text: FlagString(leaf)}, {text: fmt.Sprintf("%#x", uint64(leaf.Frame()))}}
}

func (t *textWriter) copy(ps []Piece, c *syscalls.CopyEvent) {
	if len(ps) > 0 {
		rows := [][]cell{plain("piece", "", "process", "address", "PML4", "PDPT", "PD", "PT", "leaf PTE", "frame", "bytes")}
		for _, p := range ps {
			for i, s := range []Side{p.Src, p.Dst} {
				role, style := "from", sBlue
				n := fmt.Sprintf("#%d", p.N)
				if i == 1 {
					role, style, n = "to", sMag, ""
				}
				r := []cell{{text: n, style: sBold}, {text: role, style: style}, {text: t.rec.Name(s.PID), style: style}, {text: hexAddr(s.VA)}}
				r = append(r, walkCells(s.Walk)...)
				leaf := t.leafCells(s.Walk)
				if s.Zero {
					leaf = []cell{{text: "not present: the zero frame"}, {text: fmt.Sprintf("%#x", uint64(s.Frame))}}
				}
				r = append(r, leaf...)
				r = append(r, cell{text: fmt.Sprint(p.Bytes)})
				rows = append(rows, r)
			}
		}
		t.printf("\n")
		t.table("    ", rows)
	}
	if s := c.Stop; s != nil {
		where := "no mapping"
		if s.HasVMA {
			where = fmt.Sprintf("VMA %s-%s %s %s", hexAddr(s.VMA.Range.Start), hexAddr(s.VMA.Range.End), s.VMA.Prot, s.VMA.Name)
		}
		t.printf("\n    %s %s of %s at %s: %s; its walk: %s\n", t.style(sRed+sBold, "✘ stopped:"), s.Access, t.rec.Name(s.PID), hexAddr(s.VA), where, walkText(s.Walk))
		t.printf("      %s\n", t.style(sRed, fmt.Sprintf("%d of %d bytes copied", c.Copied, c.Wanted())))
	}
	t.printf("\n")
}

func (t *textWriter) looks(ls []syscalls.PageEvent) {
	rows := [][]cell{plain("look", "process", "address", "PML4", "PDPT", "PD", "PT", "leaf PTE", "frame", "refs", "bytes")}
	for _, l := range ls {
		r := []cell{{text: l.Label, style: sBold}, {text: t.rec.Name(l.PID)}, {text: hexAddr(l.VA)}}
		r = append(r, walkCells(l.Walk)...)
		r = append(r, t.leafCells(l.Walk)...)
		refs := ""
		if l.Refs > 0 {
			refs = fmt.Sprint(l.Refs)
		}
		b := ""
		if len(l.Bytes) > 0 {
			b = fmt.Sprintf("%q", printable(l.Bytes))
		}
		r = append(r, cell{text: refs}, cell{text: b, style: sCyan})
		rows = append(rows, r)
	}
	t.printf("\n")
	t.table("    ", rows)
	t.printf("\n")
}

func (t *textWriter) procs(ps []syscalls.ProcessEvent) {
	rows := [][]cell{plain("pid", "process", "ABI", "uid r/e/s", "gid r/e/s", "dumpable", "CR3", "mappings")}
	for _, p := range ps {
		name := t.rec.Name(p.PID)
		if p.Label != name {
			name += " (" + p.Label + ")"
		}
		abi := "x86-64"
		if p.I386 {
			abi = "i386"
		}
		c := p.Creds
		dump := cell{text: "yes", style: sGreen}
		if !p.Dumpable {
			dump = cell{text: "no", style: sYellow}
		}
		var maps []string
		for _, v := range p.VMAs {
			maps = append(maps, fmt.Sprintf("%s %s", v.Name, v.Prot))
		}
		rows = append(rows, []cell{{text: fmt.Sprint(p.PID)}, {text: name, style: sBold}, {text: abi},
			{text: fmt.Sprintf("%d/%d/%d", c.RUID, c.EUID, c.SUID)}, {text: fmt.Sprintf("%d/%d/%d", c.RGID, c.EGID, c.SGID)},
			dump, {text: fmt.Sprintf("%#x", uint64(p.CR3))}, {text: strings.Join(maps, ", "), style: sDim}})
	}
	t.table("    ", rows)
	t.printf("\n")
}

func (t *textWriter) measurements(m Measurements) {
	rows := [][]cell{plain("message", "CMA copies", "bytes", "frames", "time", "│", "bounce copies", "bytes", "frames", "time", "│", "time ×")}
	for _, r := range m.Rows {
		ratio := float64(r.Bounced.Nanos) / float64(max(r.CMA.Nanos, 1))
		rows = append(rows, []cell{{text: sizeText(r.Size), style: sBold},
			{text: fmt.Sprint(r.CMA.Copies)}, {text: sizeText(r.CMA.Bytes)}, {text: fmt.Sprint(r.CMA.Frames)}, {text: nanosText(r.CMA.Nanos), style: sGreen},
			{text: "│", style: sDim},
			{text: fmt.Sprint(r.Bounced.Copies)}, {text: sizeText(r.Bounced.Bytes)}, {text: fmt.Sprint(r.Bounced.Frames)}, {text: nanosText(r.Bounced.Nanos), style: sYellow},
			{text: "│", style: sDim},
			{text: fmt.Sprintf("%.1f", ratio), style: sBold}})
	}
	t.printf("\n")
	t.table("    ", rows)
	t.printf("\n")
}

// nanosText is a duration in µs or ms.
func nanosText(ns int64) string {
	switch {
	case ns >= 10_000_000:
		return fmt.Sprintf("%.0f ms", float64(ns)/1e6)
	case ns >= 1_000_000:
		return fmt.Sprintf("%.2f ms", float64(ns)/1e6)
	case ns >= 10_000:
		return fmt.Sprintf("%.0f µs", float64(ns)/1e3)
	}
	return fmt.Sprintf("%.1f µs", float64(ns)/1e3)
}
