package demo

import (
	"fmt"
	"html"
	"io"
	"math"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cmaemu/cmaemu/mm"
	"github.com/cmaemu/cmaemu/syscalls"
)

// WriteHTML writes the recording as one self-contained HTML page (inline
// SVG, CSS and a few lines of script; nothing is fetched): both address
// spaces with their VMAs folded, every page touched and its translation
// to a frame of RAM, an arrow per copied piece, the page that stopped a
// copy, the four-level walk of every page with its entries and leaf bits,
// the narration with the system calls on a timeline, and the scenario's
// own tables. Hovering a page shows its page-table entries.
//
// The page has one element of class "page" per page touched (data-key
// "PID:VA") and one of class "piece" per piece copied (data-piece N).
func WriteHTML(w io.Writer, rec *Recording) error {
	h := &htmlWriter{b: &strings.Builder{}, rec: rec, pages: rec.Pages(), pieces: rec.Pieces(), procs: rec.Procs()}
	h.colors = map[int32]string{}
	for i, p := range h.procs {
		h.colors[p.PID] = procColors[i%len(procColors)]
	}
	h.page()
	_, err := io.WriteString(w, h.b.String())
	return err
}

var procColors = []string{"#1d4ed8", "#a21caf", "#0f766e", "#b45309"}

var copyColors = []string{"#e11d48", "#7c3aed", "#059669", "#d97706", "#0284c7", "#db2777"}

type htmlWriter struct {
	b      *strings.Builder
	rec    *Recording
	pages  []*Page
	pieces []Piece
	procs  []syscalls.ProcessEvent
	colors map[int32]string

	anchor map[PageKey]point    // where a page's translation line starts
	frameY map[mm.Frame]float64 // centre of a frame's box
	left   map[int32]bool       // the process is drawn left of RAM
}

type point struct{ x, y float64 }

func (h *htmlWriter) p(format string, a ...any) { fmt.Fprintf(h.b, format, a...) }

func esc(s string) string { return html.EscapeString(s) }

const css = `
:root { --ink:#111827; --muted:#4b5563; --line:#d1d5db; --bg:#ffffff; --panel:#f8fafc; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 20px/1.4 "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif; }
main { max-width: 1600px; margin: 0 auto; padding: 18px 20px 40px; }
code, .mono, pre { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; }
header h1 { font-size: 34px; margin: 0 0 2px; }
header h1 .scn { color: #1d4ed8; }
header p { margin: 0 0 8px; color: var(--muted); font-size: 21px; }
h2 { font-size: 27px; margin: 30px 0 10px; border-bottom: 3px solid var(--line); padding-bottom: 4px; }
.legend { display: flex; flex-wrap: wrap; gap: 8px 22px; font-size: 17px; color: var(--muted); margin: 4px 0 8px; }
.legend span { display: inline-flex; align-items: center; gap: 7px; }
.sw { display: inline-block; width: 26px; height: 18px; border: 2px solid; border-radius: 4px; }
svg text { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
svg .mono { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; }
.page { cursor: pointer; }
.page:hover rect.pg, .page.hl rect.pg { stroke-width: 5; }
#tip { position: fixed; display: none; pointer-events: none; z-index: 10; background: #111827; color: #f9fafb;
  padding: 10px 14px; border-radius: 8px; font: 16px/1.45 "DejaVu Sans Mono", monospace; white-space: pre;
  box-shadow: 0 6px 24px rgba(0,0,0,.35); }
.walks { display: grid; grid-template-columns: 1fr; gap: 14px; }
.walk { border: 2px solid var(--line); border-left-width: 8px; border-radius: 8px; padding: 8px 12px; background: var(--panel); }
.walk.hl { outline: 4px solid #f59e0b; }
.walk h3 { margin: 0 0 6px; font-size: 20px; }
.walk h3 .va { font-weight: normal; }
.chain { display: flex; flex-wrap: wrap; align-items: stretch; gap: 4px; margin: 4px 0; font-size: 15px; }
.chain .lv { border: 1px solid #9ca3af; border-radius: 5px; padding: 2px 7px; background: #fff; }
.chain .lv b { display: block; font-size: 16px; }
.chain .lv.miss { border-color: #dc2626; background: #fee2e2; }
.chain .arrow { align-self: center; color: var(--muted); }
.view { font-size: 16px; color: var(--muted); margin-top: 6px; }
.bits { display: inline-flex; gap: 4px; margin-left: 6px; vertical-align: middle; }
.bit { font: bold 14px "DejaVu Sans Mono", monospace; padding: 1px 6px; border-radius: 4px; border: 2px solid #16a34a; color: #14532d; background: #dcfce7; }
.bit.off { border-color: #d1d5db; color: #9ca3af; background: #fff; text-decoration: line-through; }
.bit.sw { border-color: #ea580c; color: #7c2d12; background: #ffedd5; }
.steps { position: relative; margin-left: 14px; border-left: 4px solid var(--line); padding-left: 22px; }
.step { margin: 0 0 22px; }
.step h3 { margin: 0 0 4px; font-size: 23px; position: relative; }
.step h3::before { content: attr(data-n); position: absolute; left: -45px; top: -2px; width: 34px; height: 34px; border-radius: 50%;
  background: #1d4ed8; color: #fff; font-size: 19px; text-align: center; line-height: 34px; }
.step p { margin: 2px 0 6px; }
.say { margin: 4px 0; }
.say.ok::before { content: "✔ "; color: #15803d; font-weight: bold; }
.say.refused::before { content: "✘ "; color: #b91c1c; font-weight: bold; }
.call { display: grid; grid-template-columns: 118px 112px 1fr; gap: 10px; align-items: baseline; margin: 5px 0;
  font: 16px/1.35 "DejaVu Sans Mono", monospace; }
.call .t { color: var(--muted); text-align: right; }
.call .pid { color: #fff; border-radius: 5px; padding: 1px 6px; text-align: center; font-weight: bold; }
.call .line { overflow-wrap: anywhere; }
.call .line .name { font-weight: bold; }
.call .line .ok { color: #15803d; font-weight: bold; }
.call .line .err { color: #b91c1c; font-weight: bold; }
.call .dur { display: inline-block; height: 10px; background: #93c5fd; margin-left: 8px; vertical-align: middle; border-radius: 3px; }
table { border-collapse: collapse; font-size: 18px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 12px; text-align: right; }
th { background: var(--panel); }
td:first-child, th:first-child { text-align: left; }
.iov { display: inline-flex; gap: 2px; margin: 4px 0 10px; }
.iov span { font: 15px "DejaVu Sans Mono", monospace; padding: 3px 5px; border-radius: 3px; }
.iov .base { background: #dbeafe; } .iov .len { background: #fef3c7; }
.small { font-size: 16px; color: var(--muted); }
`

const script = `
(function () {
  var tip = document.getElementById('tip');
  function walkOf(el) { return document.querySelector('.walk[data-key="' + el.getAttribute('data-key') + '"]'); }
  document.querySelectorAll('.page').forEach(function (el) {
    el.addEventListener('mouseenter', function () {
      tip.textContent = el.getAttribute('data-tip');
      tip.style.display = 'block';
      var w = walkOf(el); if (w) { w.classList.add('hl'); }
    });
    el.addEventListener('mousemove', function (ev) {
      var x = ev.clientX + 18, y = ev.clientY + 18;
      if (x + tip.offsetWidth > window.innerWidth) { x = ev.clientX - tip.offsetWidth - 18; }
      if (y + tip.offsetHeight > window.innerHeight) { y = ev.clientY - tip.offsetHeight - 18; }
      tip.style.left = x + 'px'; tip.style.top = y + 'px';
    });
    el.addEventListener('mouseleave', function () {
      tip.style.display = 'none';
      var w = walkOf(el); if (w) { w.classList.remove('hl'); }
    });
  });
  document.querySelectorAll('.walk').forEach(function (w) {
    var pg = document.querySelector('.page[data-key="' + w.getAttribute('data-key') + '"]');
    if (!pg) { return; }
    w.addEventListener('mouseenter', function () { pg.classList.add('hl'); });
    w.addEventListener('mouseleave', function () { pg.classList.remove('hl'); });
  });
  document.body.setAttribute('data-ready', '1');
})();
`

func (h *htmlWriter) page() {
	s := h.rec.Scenario
	h.p("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	h.p("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	h.p("<title>cmaemu demo %s: %s</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n", esc(s.Name), esc(s.Title), css)
	h.p("<header><h1><span class=\"scn\">cmaemu demo %s</span> · %s</h1><p>%s</p></header>\n", esc(s.Name), esc(s.Title), esc(s.Summary))
	h.legend()
	h.diagram()
	if m := h.rec.Measurements(); m != nil {
		h.measurements(m)
	}
	h.iovecs()
	h.timeline()
	h.walks()
	h.processes()
	h.p("<p class=\"small\">Made by <code>cmaemu demo %s --html</code>: every number on this page is an event of cmaemu's kernel (system calls, the pieces of each copy with the walks the copy made, looks at pages through the kernel's page-table walker).</p>\n", esc(s.Name))
	h.p("</main>\n<div id=\"tip\"></div>\n<script>%s</script>\n</body>\n</html>\n", script)
}

// pageState classifies a leaf entry for colours and words.
func pageState(p *Page) (fill, stroke, word string) {
	leaf := p.Leaf()
	switch {
	case p.Fault != nil && !leaf.Present():
		return "#fee2e2", "#dc2626", "copy stopped here"
	case p.Fault != nil && leaf&mm.PTEWrite == 0:
		// Mapped, but not for the copy's access: the page's own colour
		// with a red edge.
		return "#dbeafe", "#dc2626", "read-only: the copy stopped here"
	case leaf&mm.PTEProtNone != 0:
		return "#fee2e2", "#dc2626", "PROT_NONE"
	case !leaf.Present():
		return "#f3f4f6", "#9ca3af", "not present"
	case leaf&mm.PTECOW != 0:
		return "#ffedd5", "#ea580c", "copy-on-write"
	case leaf&mm.PTEWrite != 0:
		return "#dcfce7", "#16a34a", "read-write"
	}
	return "#dbeafe", "#2563eb", "read-only"
}

func (h *htmlWriter) legend() {
	h.p("<div class=\"legend\">")
	for _, x := range []struct{ fill, stroke, word string }{
		{"#dcfce7", "#16a34a", "page mapped read-write"}, {"#dbeafe", "#2563eb", "read-only"},
		{"#ffedd5", "#ea580c", "copy-on-write (shared frame)"}, {"#f3f4f6", "#9ca3af", "not present"},
		{"#fee2e2", "#dc2626", "refused: the copy stopped"},
	} {
		h.p("<span><i class=\"sw\" style=\"background:%s;border-color:%s\"></i>%s</span>", x.fill, x.stroke, x.word)
	}
	h.p("<span><svg width=\"46\" height=\"14\"><line x1=\"2\" y1=\"7\" x2=\"44\" y2=\"7\" stroke=\"#6b7280\" stroke-width=\"2\"/></svg>page → frame (the walk's result)</span>")
	h.p("<span><svg width=\"46\" height=\"14\"><line x1=\"2\" y1=\"7\" x2=\"34\" y2=\"7\" stroke=\"#e11d48\" stroke-width=\"5\"/><path d=\"M34,1 L44,7 L34,13 z\" fill=\"#e11d48\"/></svg>a copied piece, frame to frame</span>")
	h.p("<span>hover a page for its page-table entries</span></div>\n")
}

// Diagram geometry.
const (
	dgW      = 1560.0
	ramW     = 480.0
	sideGap  = 80.0
	headH    = 66.0
	vmaH     = 38.0
	pageH    = 36.0
	foldH    = 30.0
	frameH   = 50.0
	frameW   = 232.0
	frameGap = 28.0
)

func (h *htmlWriter) diagram() {
	h.anchor, h.frameY, h.left = map[PageKey]point{}, map[mm.Frame]float64{}, map[int32]bool{}
	colW := (dgW - ramW - 2*sideGap) / 2
	ramX := colW + sideGap
	rightX := ramX + ramW + sideGap
	fx0 := ramX + 16 // frames' left edge

	// Processes: alternately left and right of RAM, stacked. Drawn into
	// their own buffer first: the translation lines go under them, and
	// need the pages' places.
	saved := h.b
	h.b = &strings.Builder{}
	ys := [2]float64{44, 44}
	for i, p := range h.procs {
		side := i % 2
		x := 0.0
		if side == 1 {
			x = rightX
		}
		h.left[p.PID] = side == 0
		ys[side] += h.process(p, x, ys[side], colW, side == 0) + 28
	}
	procs := h.b.String()
	h.b = saved

	// Frames: each near the pages that map it (fewer crossing lines),
	// without overlapping.
	frames := h.rec.Frames()
	want := map[mm.Frame][]float64{}
	for _, pg := range h.pages {
		a, ok := h.anchor[pg.PageKey]
		if !ok {
			continue
		}
		for _, v := range pg.Views {
			if l := leafOf(v.Walk); l.HasFrame() {
				want[l.Frame()] = append(want[l.Frame()], a.y)
			}
		}
	}
	for _, pc := range h.pieces {
		for _, sd := range []Side{pc.Src, pc.Dst} {
			if a, ok := h.anchor[PageKey{sd.PID, sd.VA.RoundDown()}]; ok && len(want[sd.Frame]) == 0 {
				want[sd.Frame] = append(want[sd.Frame], a.y)
			}
		}
	}
	desired := func(f mm.Frame) float64 {
		ys := want[f]
		if len(ys) == 0 {
			return 60
		}
		t := 0.0
		for _, y := range ys {
			t += y
		}
		return t / float64(len(ys))
	}
	slices.SortStableFunc(frames, func(a, b mm.Frame) int {
		da, db := desired(a), desired(b)
		switch {
		case da < db:
			return -1
		case da > db:
			return 1
		}
		return int(a) - int(b)
	})
	next := 44 + frameH/2 + 10
	for _, f := range frames {
		y := max(desired(f), next)
		h.frameY[f] = y
		next = y + frameH + frameGap
	}

	// The calls' key, under everything.
	keys := h.keys()
	height := max(ys[0], ys[1], next+10)
	keyY := height + 8
	if len(keys) > 0 {
		height = keyY + 34*float64(len(keys)) + 14
	}

	var body strings.Builder
	fmt.Fprintf(&body, "<svg id=\"spaces\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"address spaces, frames and copies\">\n", dgW, height, dgW, height)
	body.WriteString(`<defs>`)
	for i, c := range copyColors {
		fmt.Fprintf(&body, `<marker id="ah%d" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="4" markerHeight="4" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker>`, i, c)
	}
	body.WriteString(`<pattern id="hatch" width="10" height="10" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="10" height="10" fill="#fee2e2"/><line x1="0" y1="0" x2="0" y2="10" stroke="#fca5a5" stroke-width="4"/></pattern>`)
	body.WriteString("</defs>\n")
	// RAM column.
	ramH := next + 6
	fmt.Fprintf(&body, `<rect x="%.0f" y="0" width="%.0f" height="%.0f" rx="10" fill="#f1f5f9" stroke="#cbd5e1" stroke-width="2"/>`, ramX, ramW, ramH)
	fmt.Fprintf(&body, `<text x="%.0f" y="30" font-size="22" font-weight="bold">RAM: frames</text>`, fx0)
	fmt.Fprintf(&body, `<text x="%.0f" y="30" font-size="16" fill="#4b5563">copies, frame to frame</text>`+"\n", fx0+frameW+22)

	// Translation lines under everything else.
	body.WriteString("<g class=\"translations\" fill=\"none\">\n")
	for _, pg := range h.pages {
		a, ok := h.anchor[pg.PageKey]
		if !ok {
			continue
		}
		fx := fx0
		if !h.left[pg.PID] {
			fx = fx0 + frameW
		}
		seen := map[mm.Frame]bool{}
		latest := pg.Leaf()
		for _, v := range pg.Views {
			l := leafOf(v.Walk)
			if !l.HasFrame() || seen[l.Frame()] || l.Frame() == latest.Frame() && latest.HasFrame() {
				continue
			}
			seen[l.Frame()] = true
			// An earlier translation: dashed, with its label.
			fy := h.frameY[l.Frame()]
			fmt.Fprintf(&body, `<path d="%s" stroke="#9ca3af" stroke-width="2.5" stroke-dasharray="7 6"/>`, curve(a, point{fx, fy}))
			lx := a.x + 34
			anchor := "start"
			if !h.left[pg.PID] {
				lx, anchor = a.x-34, "end"
			}
			fmt.Fprintf(&body, `<text x="%.0f" y="%.0f" font-size="15" fill="#6b7280" text-anchor="%s">%s</text>`+"\n", lx, a.y+(fy-a.y)*0.15-6, anchor, esc(v.Label))
		}
		if latest.HasFrame() {
			fy := h.frameY[latest.Frame()]
			fmt.Fprintf(&body, `<path d="%s" stroke="%s" stroke-width="2.5" opacity="0.8"/>`+"\n", curve(a, point{fx, fy}), h.colors[pg.PID])
		}
	}
	body.WriteString("</g>\n")
	body.WriteString(procs)

	// Frames.
	for _, f := range frames {
		y := h.frameY[f]
		fmt.Fprintf(&body, `<g class="frame" data-frame="%#x"><title>frame %#[1]x: physical address %#x</title><rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" rx="6" fill="#fff" stroke="#475569" stroke-width="2"/>`,
			uint64(f), uint64(f.Addr()), fx0, y-frameH/2, frameW, frameH)
		fmt.Fprintf(&body, `<text x="%.0f" y="%.0f" font-size="19" font-weight="bold" class="mono">frame %#x</text>`, fx0+12, y-3, uint64(f))
		users := h.frameUsers(f)
		if utf8.RuneCountInString(users) > 26 {
			users = string([]rune(users)[:25]) + "…"
		}
		fmt.Fprintf(&body, `<text x="%.0f" y="%.0f" font-size="14" fill="#4b5563">%s</text></g>`+"\n", fx0+12, y+17, esc(users))
	}

	// Copy arrows, frame to frame, bulging right of the frames; labels
	// moved down until they overlap no other.
	type box struct{ x0, y0, x1, y1 float64 }
	var placed []box
	x0 := fx0 + frameW
	for i, pc := range h.pieces {
		ci := pc.Copy % len(copyColors)
		c := copyColors[ci]
		off := float64(i%3)*7 - 7
		y0, y1 := h.frameY[pc.Src.Frame]+off, h.frameY[pc.Dst.Frame]+off
		lane := ramX + ramW - x0 - 20
		bulge := min(30+0.42*math.Abs(y1-y0)+float64(i%2)*10, lane/1.6)
		var d string
		if pc.Src.Frame == pc.Dst.Frame {
			d = fmt.Sprintf("M%.0f,%.0f C%.0f,%.0f %.0f,%.0f %.0f,%.0f", x0, y0-12, x0+bulge*2, y0-50, x0+bulge*2, y0+50, x0+4, y0+12)
		} else {
			d = fmt.Sprintf("M%.0f,%.0f C%.0f,%.0f %.0f,%.0f %.0f,%.0f", x0, y0, x0+bulge*2, y0, x0+bulge*2, y1, x0+6, y1)
		}
		src, dst := h.rec.Name(pc.Src.PID), h.rec.Name(pc.Dst.PID)
		fmt.Fprintf(&body, `<g class="piece" data-piece="%d" data-copy="%d"><title>piece #%d of copy %d: %d bytes, %s %s (frame %#x) → %s %s (frame %#x)</title>`,
			pc.N, pc.Copy+1, pc.N, pc.Copy+1, pc.Bytes, esc(src), hexAddr(pc.Src.VA), uint64(pc.Src.Frame), esc(dst), hexAddr(pc.Dst.VA), uint64(pc.Dst.Frame))
		fmt.Fprintf(&body, `<path d="%s" fill="none" stroke="%s" stroke-width="5" marker-end="url(#ah%d)"/>`, d, c, ci)
		label := fmt.Sprintf("#%d · %d B", pc.N, pc.Bytes)
		lw := float64(len(label))*9.2 + 14
		lx := min(x0+bulge*1.5, ramX+ramW-lw/2-6)
		ly := (y0 + y1) / 2
		for moved := true; moved; {
			moved = false
			for _, b := range placed {
				if lx-lw/2 < b.x1 && lx+lw/2 > b.x0 && ly-13 < b.y1 && ly+13 > b.y0 {
					ly, moved = b.y1+14, true
				}
			}
		}
		placed = append(placed, box{lx - lw/2, ly - 13, lx + lw/2, ly + 13})
		fmt.Fprintf(&body, `<rect x="%.0f" y="%.0f" width="%.0f" height="26" rx="13" fill="%s" stroke="#fff" stroke-width="2"/>`, lx-lw/2, ly-13, lw, c)
		fmt.Fprintf(&body, `<text x="%.0f" y="%.0f" font-size="16" font-weight="bold" fill="#fff" text-anchor="middle">%s</text></g>`+"\n", lx, ly+6, esc(label))
	}

	// The key: one line per call that moved memory or was refused.
	for i, k := range keys {
		y := keyY + 34*float64(i)
		mark := ""
		if k.color == "" {
			k.color, mark = "#9ca3af", "✘ "
		}
		fmt.Fprintf(&body, `<g class="copykey"><rect x="0" y="%.0f" width="30" height="20" rx="4" fill="%s"/>`, y, k.color)
		fmt.Fprintf(&body, `<text x="42" y="%.0f" font-size="19">%s<tspan font-weight="bold">%s</tspan> · %s</text></g>`+"\n", y+16, mark, esc(k.head), esc(k.text))
	}
	body.WriteString("</svg>\n")
	h.p("<section class=\"diagram\">%s</section>\n", body.String())
}

// key is a line of the diagram's key.
type key struct {
	color      string // the copy's colour; "" for a refused call
	head, text string
}

// keys describes each CMA call (the copy it made, or its refusal) and
// each write or read through /proc/PID/mem.
func (h *htmlWriter) keys() []key {
	var out []key
	copyN := -1
	var pending *syscalls.CopyEvent
	for _, it := range h.rec.Items {
		switch ev := it.(type) {
		case syscalls.CopyEvent:
			copyN++
			pending = &ev
		case syscalls.SyscallEvent:
			cma := strings.HasPrefix(ev.Name, "process_vm_")
			procmem := (ev.Name == "pwrite64" || ev.Name == "pread64") && ev.Errno == 0
			if !cma && !procmem {
				continue
			}
			_, result, _ := strings.Cut(ev.Line, " = ")
			if procmem {
				out = append(out, key{color: "#0f172a", head: ev.Name + " by " + h.rec.Name(ev.PID),
					text: fmt.Sprintf("through /proc/PID/mem (FOLL_FORCE, no CMA copy): %s bytes at %#x", result, ev.Args[3])})
				continue
			}
			if pending == nil || pending.PID != ev.PID {
				out = append(out, key{head: ev.Name + " by " + h.rec.Name(ev.PID), text: fmt.Sprintf("refused before any copy: %s", result)})
				continue
			}
			c := pending
			pending = nil
			from, to := h.rec.Name(c.Target), h.rec.Name(c.PID)
			if c.Dir == mm.WriteRemote {
				from, to = to, from
			}
			var ns []string
			for _, pc := range h.pieces {
				if pc.Copy == copyN {
					ns = append(ns, fmt.Sprintf("#%d", pc.N))
				}
			}
			res := fmt.Sprintf("%d bytes", c.Copied)
			switch {
			case c.Errno != 0:
				res = "-1 " + c.Errno.Name() + ": nothing copied"
			case uint64(c.Copied) < c.Wanted():
				res = fmt.Sprintf("%d of %d bytes", c.Copied, c.Wanted())
			}
			if s := c.Stop; s != nil {
				why := "no mapping"
				if s.HasVMA {
					why = protName(s.VMA.Prot)
				}
				res += fmt.Sprintf(", stopped at %s %s (%s)", h.rec.Name(s.PID), hexAddr(s.VA), why)
			}
			if len(ns) > 0 {
				res += " · pieces " + strings.Join(ns, " ")
			}
			out = append(out, key{color: copyColors[copyN%len(copyColors)], head: fmt.Sprintf("copy %d", copyN+1),
				text: fmt.Sprintf("%s by %s: %s → %s · %s", ev.Name, h.rec.Name(ev.PID), from, to, res)})
		}
	}
	return out
}

// curve is a horizontal S-curve from a to b.
func curve(a, b point) string {
	mx := (a.x + b.x) / 2
	return fmt.Sprintf("M%.0f,%.0f C%.0f,%.0f %.0f,%.0f %.0f,%.0f", a.x, a.y, mx, a.y, mx, b.y, b.x, b.y)
}

// frameUsers names who maps frame f, as last seen: "sender 0x4c7000".
func (h *htmlWriter) frameUsers(f mm.Frame) string {
	var names []string
	for _, pg := range h.pages {
		if l := pg.Leaf(); l.HasFrame() && l.Frame() == f {
			names = append(names, h.rec.Name(pg.PID))
		}
	}
	names = slices.Compact(names)
	if len(names) == 0 {
		for _, pg := range h.pages {
			for _, v := range pg.Views {
				if l := leafOf(v.Walk); l.HasFrame() && l.Frame() == f {
					return fmt.Sprintf("%s's, %s", h.rec.Name(pg.PID), v.Label)
				}
			}
		}
		return ""
	}
	return "mapped by " + strings.Join(names, ", ")
}

// process draws one address space at (x, y) and returns its height.
func (h *htmlWriter) process(p syscalls.ProcessEvent, x, y, w float64, left bool) float64 {
	col := h.colors[p.PID]
	abi := "x86-64"
	if p.I386 {
		abi = "i386"
	}
	var pages []*Page
	for _, pg := range h.pages {
		if pg.PID == p.PID {
			pages = append(pages, pg)
		}
	}
	// The VMAs, highest first; pages outside every VMA in a band of their own.
	vmas := slices.Clone(p.VMAs)
	slices.Reverse(vmas)
	in := func(v mm.VMA) []*Page {
		var out []*Page
		for i := len(pages) - 1; i >= 0; i-- {
			if v.Range.Contains(pages[i].Page) {
				out = append(out, pages[i])
			}
		}
		return out
	}
	var outside []*Page
	for _, pg := range pages {
		found := false
		for _, v := range vmas {
			found = found || v.Range.Contains(pg.Page)
		}
		if !found {
			outside = append(outside, pg)
		}
	}

	h.p(`<g class="space" data-pid="%d">`, p.PID)
	cy := y
	h.p(`<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" rx="8" fill="%s"/>`, x, cy, w, headH, col)
	h.p(`<text x="%.0f" y="%.0f" font-size="24" font-weight="bold" fill="#fff">%s <tspan font-weight="normal" font-size="20">pid %d</tspan></text>`, x+14, cy+28, esc(h.rec.Name(p.PID)), p.PID)
	ids := fmt.Sprintf("uid %d", p.Creds.EUID)
	if c := p.Creds; c.RUID != c.EUID || c.EUID != c.SUID {
		ids = fmt.Sprintf("uid %d/%d/%d", c.RUID, c.EUID, c.SUID)
	}
	if !p.Dumpable {
		ids += " · not dumpable"
	}
	h.p(`<text x="%.0f" y="%.0f" font-size="16" fill="#fff">%s · %s · CR3 %#x</text>`, x+14, cy+53, ids, abi, uint64(p.CR3))
	cy += headH + 6
	for i, v := range vmas {
		if i > 0 {
			gap := uint64(vmas[i-1].Range.Start - v.Range.End)
			if gap > 0 {
				h.p(`<text x="%.0f" y="%.0f" font-size="15" fill="#6b7280" text-anchor="middle">⋮ %s unmapped ⋮</text>`, x+w/2, cy+20, sizeHuman(gap))
				cy += foldH
			} else {
				cy += 4
			}
		}
		ps := in(v)
		bh := vmaH
		for _, pg := range ps {
			bh += rowH(pg)
		}
		if len(ps) > 0 {
			bh += 6
		}
		h.p(`<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" rx="5" fill="#fff" stroke="%s" stroke-width="2"/>`, x, cy, w, bh, col)
		name := v.Name
		switch {
		case name == "" && v.Shared:
			name = "shared"
		case name == "":
			name = "anonymous"
		case strings.Contains(name, "/"):
			name = path.Base(name)
		}
		prot := v.Prot.String() + "p"
		if v.Shared {
			prot = v.Prot.String() + "s"
		}
		rng := hexAddr(v.Range.Start) + "–" + hexAddr(v.Range.End)
		if room := int((w - 40 - float64(utf8.RuneCountInString(rng))*8.5) / 10.5); len(name)+5 > room {
			name = name[:max(room-6, 3)] + "…"
		}
		h.p(`<text x="%.0f" y="%.0f" font-size="18" font-weight="bold">%s <tspan class="mono" font-weight="normal" fill="#374151">%s</tspan></text>`, x+10, cy+25, esc(name), prot)
		h.p(`<text x="%.0f" y="%.0f" font-size="14" class="mono" fill="#4b5563" text-anchor="end">%s</text>`+"\n", x+w-10, cy+25, rng)
		py := cy + vmaH
		for _, pg := range ps {
			h.pageRow(pg, x+8, py, w-16, left)
			py += rowH(pg)
		}
		cy += bh
	}
	if len(outside) > 0 {
		cy += foldH
		bh := vmaH + 6
		for _, pg := range outside {
			bh += rowH(pg)
		}
		h.p(`<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" rx="5" fill="url(#hatch)" stroke="#dc2626" stroke-width="2" stroke-dasharray="6 4"/>`, x, cy, w, bh)
		h.p(`<text x="%.0f" y="%.0f" font-size="18" font-weight="bold" fill="#991b1b">no mapping</text>`, x+10, cy+25)
		py := cy + vmaH
		for _, pg := range outside {
			h.pageRow(pg, x+8, py, w-16, left)
			py += rowH(pg)
		}
		cy += bh
	}
	h.p("</g>\n")
	return cy - y
}

// pageBytes are the distinct byte strings looks saw in a page, in order.
func pageBytes(pg *Page) []string {
	var out []string
	for _, v := range pg.Views {
		if v.Bytes == nil {
			continue
		}
		if b := printable(v.Bytes); len(out) == 0 || out[len(out)-1] != b {
			out = append(out, b)
		}
	}
	return out
}

// rowH is the height of a page's row: a second line for its bytes.
func rowH(pg *Page) float64 {
	if len(pageBytes(pg)) > 0 {
		return pageH + 20
	}
	return pageH
}

// pageRow draws a touched page and remembers where its translation line
// starts.
func (h *htmlWriter) pageRow(pg *Page, x, y, w float64, left bool) {
	fill, stroke, word := pageState(pg)
	leaf := pg.Leaf()
	right := word
	if leaf.HasFrame() {
		right = fmt.Sprintf("→ frame %#x", uint64(leaf.Frame()))
		if pg.Fault != nil {
			right = "✘ copy refused · " + right
		}
	} else if pg.Fault != nil {
		right = "✘ the copy stopped here"
	}
	h.p(`<g class="page" data-key="%s" data-tip="%s"><title>%s</title>`, pg.PageKey, esc(h.tip(pg)), esc(h.rec.Name(pg.PID)+" "+hexAddr(pg.Page)))
	fillAttr := fill
	if pg.Fault != nil && !leaf.HasFrame() {
		fillAttr = "url(#hatch)"
	}
	h.p(`<rect class="pg" x="%.0f" y="%.0f" width="%.0f" height="%.0f" rx="4" fill="%s" stroke="%s" stroke-width="2.5"/>`, x, y+2, w, rowH(pg)-6, fillAttr, stroke)
	if bs := pageBytes(pg); len(bs) > 0 {
		text := fmt.Sprintf("%q", bs[len(bs)-1])
		if len(bs) > 1 {
			text = "now " + text
		}
		if max := int((w - 20) / 8.5); utf8.RuneCountInString(text) > max {
			text = string([]rune(text)[:max-1]) + "…"
		}
		h.p(`<text x="%.0f" y="%.0f" font-size="14" class="mono" fill="#1f2937">%s</text>`, x+10, y+pageH+12, esc(text))
	}
	h.p(`<text x="%.0f" y="%.0f" font-size="18" class="mono">%s</text>`, x+10, y+23, hexAddr(pg.Page))
	weight := "normal"
	if pg.Fault != nil {
		weight = "bold"
	}
	h.p(`<text x="%.0f" y="%.0f" font-size="16" text-anchor="end" font-weight="%s" fill="%s">%s</text></g>`+"\n", x+w-10, y+22, weight, darker(stroke), esc(right))
	ax := x + w + 8
	if !left {
		ax = x - 8
	}
	h.anchor[pg.PageKey] = point{ax, y + pageH/2 - 1}
}

func darker(stroke string) string {
	switch stroke {
	case "#dc2626":
		return "#991b1b"
	case "#9ca3af":
		return "#4b5563"
	}
	return "#1f2937"
}

// tip is the hover text of a page: its walk, entry by entry.
func (h *htmlWriter) tip(pg *Page) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (pid %d)  page %s", h.rec.Name(pg.PID), pg.PID, hexAddr(pg.Page))
	if pg.VMA.Range.End > 0 {
		fmt.Fprintf(&b, "  %s %s", pg.VMA.Name, pg.VMA.Prot)
	}
	b.WriteString("\n")
	w := pg.Walk
	for l := 0; l < w.Depth; l++ {
		fmt.Fprintf(&b, "%-4s [%3d] = %#018x\n", mm.LevelNames[l], w.Index[l], uint64(w.Entry[l]))
	}
	leaf := leafOf(w)
	switch {
	case leaf.HasFrame():
		fmt.Fprintf(&b, "leaf: %s → frame %#x", FlagString(leaf), uint64(leaf.Frame()))
	default:
		fmt.Fprintf(&b, "not present at %s", mm.LevelNames[max(w.Depth, 1)-1])
	}
	if pg.Fault != nil {
		fmt.Fprintf(&b, "\n✘ a copy stopped at %s (%s refused)", hexAddr(pg.Fault.VA), pg.Fault.Access)
	}
	return b.String()
}

func sizeHuman(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if f >= 100 || f == math.Trunc(f) {
		return fmt.Sprintf("%.0f %s", f, units[i])
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

// walks shows the four-level walk of every page touched.
func (h *htmlWriter) walks() {
	h.p("<h2>The page walks</h2>\n<p class=\"small\">CR3 holds the physical address of the PML4; bits 47–39 of the address index it, 38–30 the PDPT, 29–21 the PD, 20–12 the PT, whose entry holds the frame. Each line is one walk as the kernel saw it; the leaf's bits are decoded.</p>\n<div class=\"walks\">\n")
	cr3 := map[int32]mm.PhysAddr{}
	for _, p := range h.procs {
		cr3[p.PID] = p.CR3
	}
	for _, pg := range h.pages {
		fill, stroke, word := pageState(pg)
		_ = fill
		h.p(`<div class="walk" data-key="%s" style="border-left-color:%s">`, pg.PageKey, h.colors[pg.PID])
		h.p(`<h3>%s <span class="va mono">%s</span> <span class="small">%s %s · %s</span></h3>`, esc(h.rec.Name(pg.PID)), hexAddr(pg.Page), esc(pg.VMA.Name), pg.VMA.Prot, word)
		_ = stroke
		views := pg.Views
		// Collapse views whose walks are identical.
		var shown []View
		for _, v := range views {
			if n := len(shown); n > 0 && shown[n-1].Walk.Entry == v.Walk.Entry && shown[n-1].Walk.Depth == v.Walk.Depth {
				shown[n-1].Label += ", " + v.Label
				if v.Bytes != nil {
					shown[n-1].Bytes = v.Bytes
				}
				continue
			}
			shown = append(shown, v)
		}
		for _, v := range shown {
			h.p(`<div class="view">%s`, esc(v.Label))
			if v.Bytes != nil {
				h.p(` · bytes <code>%q</code>`, printable(v.Bytes))
			}
			if v.Refs > 0 {
				h.p(` · frame references: %d`, v.Refs)
			}
			h.p("</div>\n")
			h.chain(v.Walk, cr3[pg.PID])
		}
		h.p("</div>\n")
	}
	h.p("</div>\n")
}

func (h *htmlWriter) chain(w mm.Walk, cr3 mm.PhysAddr) {
	h.p(`<div class="chain"><span class="lv"><b>CR3</b>%#x</span>`, uint64(cr3))
	for l := 0; l < w.Depth; l++ {
		e := w.Entry[l]
		cls := "lv"
		if !e.Present() {
			cls += " miss"
		}
		h.p(`<span class="arrow">→</span><span class="%s"><b>%s[%d]</b><code>%#x</code></span>`, cls, mm.LevelNames[l], w.Index[l], uint64(e))
	}
	leaf := leafOf(w)
	if leaf.HasFrame() {
		h.p(`<span class="arrow">→</span><span class="lv"><b>frame %#x</b>+%#x</span>`, uint64(leaf.Frame()), w.VA.PageOffset())
	} else {
		h.p(`<span class="arrow">→</span><span class="lv miss"><b>not present</b>nothing mapped</span>`)
	}
	h.p("</div>\n")
	if w.Depth == mm.Levels {
		h.p(`<div>leaf bits<span class="bits">`)
		for _, b := range PTEBits {
			cls := "bit"
			if leaf&b.Bit == 0 {
				cls += " off"
			}
			h.p(`<span class="%s" title="%s">%s</span>`, cls, esc(b.Help), b.Name)
		}
		if leaf&mm.PTECOW != 0 {
			h.p(`<span class="bit sw" title="software bit: shared copy-on-write">COW</span>`)
		}
		if leaf&mm.PTEProtNone != 0 {
			h.p(`<span class="bit sw" title="software bit: PROT_NONE, the frame is kept">PROT_NONE</span>`)
		}
		h.p("</span></div>\n")
	}
}

// timeline shows the narration with the system calls on a time axis.
func (h *htmlWriter) timeline() {
	h.p("<h2>Step by step: the narration and the system calls</h2>\n")
	h.p("<p class=\"small\">Each system call as strace prints it, at its time since the kernel started; the bar is its duration.</p>\n<div class=\"steps\">\n")
	var maxDur float64
	for _, c := range h.rec.Calls() {
		maxDur = max(maxDur, float64(c.End-c.Start))
	}
	open := false
	for _, it := range h.rec.Items {
		switch ev := it.(type) {
		case End:
			if open {
				h.p("</div>\n")
			}
			h.p("</div>\n")
			return
		case Step:
			if open {
				h.p("</div>\n")
			}
			open = true
			h.p(`<div class="step"><h3 data-n="%d">%s</h3>`, ev.N, esc(ev.Title))
			if ev.Text != "" {
				h.p("<p>%s</p>", esc(ev.Text))
			}
			h.p("\n")
		case Say:
			h.p(`<p class="say %s">%s</p>`+"\n", ev.Verdict, esc(ev.Text))
		case syscalls.SyscallEvent:
			call, result, _ := strings.Cut(ev.Line, " = ")
			name, rest, _ := strings.Cut(call, "(")
			cls := "ok"
			if ev.Errno != 0 {
				cls = "err"
			}
			bar := 4.0
			if maxDur > 0 {
				bar = 4 + 120*math.Log1p(float64(ev.End-ev.Start)/1000)/math.Log1p(maxDur/1000)
			}
			h.p(`<div class="call"><span class="t">%s</span><span class="pid" style="background:%s">%d</span>`,
				timeText(ev.Start), h.colors[ev.PID], ev.PID)
			h.p(`<span class="line"><span class="name">%s</span>(%s = <span class="%s">%s</span><span class="dur" style="width:%.0fpx" title="%s"></span> <span class="small">%s</span></span></div>`+"\n",
				esc(name), esc(rest), cls, esc(result), bar, nanosText(int64(ev.End-ev.Start)), nanosText(int64(ev.End-ev.Start)))
		}
	}
	if open {
		h.p("</div>\n")
	}
	h.p("</div>\n")
}

func timeText(d interface{ Microseconds() int64 }) string {
	return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000)
}

// iovecs shows the iovec arrays of the copies byte by byte when an i386
// process took part (the compat layout against the native one).
func (h *htmlWriter) iovecs() {
	compat := false
	for _, c := range h.rec.Copies() {
		compat = compat || c.IovecSize == 8
	}
	if !compat {
		return
	}
	h.p("<h2>The iovec layouts</h2>\n<p class=\"small\">The bytes of each call's iovec arrays as the kernel read them: <span class=\"iov\"><span class=\"base\">iov_base</span><span class=\"len\">iov_len</span></span> — 4 + 4 bytes in i386's struct compat_iovec, 8 + 8 in x86-64's struct iovec, little-endian.</p>\n")
	for i, c := range h.rec.Copies() {
		h.p(`<div class="iovrow"><b>copy %d</b>, by %s (%d-byte iovecs)<br>`, i+1, esc(h.rec.Name(c.PID)), c.IovecSize)
		for _, arr := range []struct {
			name string
			at   mm.Addr
			raw  []byte
		}{{"local", c.LocalArray, c.LocalRaw}, {"remote", c.RemoteArray, c.RemoteRaw}} {
			h.p(`<span class="small">%s at %s:</span> <span class="iov">`, arr.name, hexAddr(arr.at))
			half := c.IovecSize / 2
			for j, b := range arr.raw {
				cls := "base"
				if j%c.IovecSize >= half {
					cls = "len"
				}
				h.p(`<span class="%s">%02x</span>`, cls, b)
			}
			h.p("</span> ")
		}
		var l, r []string
		for _, v := range c.Local {
			l = append(l, fmt.Sprintf("{iov_base=%s, iov_len=%d}", hexAddr(v.Base), v.Len))
		}
		for _, v := range c.Remote {
			r = append(r, fmt.Sprintf("{iov_base=%s, iov_len=%d}", hexAddr(v.Base), v.Len))
		}
		h.p(`<br><span class="small">decoded: local <code>%s</code>, remote <code>%s</code></span>`, strings.Join(l, ", "), strings.Join(r, ", "))
		h.p("</div>\n")
	}
}

// measurements draws the double-copy table and its chart.
func (h *htmlWriter) measurements(m *Measurements) {
	h.p("<h2>One copy against two, measured</h2>\n<table><tr><th>message</th><th>CMA copies</th><th>bytes moved</th><th>frames touched</th><th>time</th><th>bounce copies</th><th>bytes moved</th><th>frames touched</th><th>time</th><th>time ×</th></tr>\n")
	for _, r := range m.Rows {
		h.p("<tr><td><b>%s</b></td><td>%d</td><td>%s</td><td>%d</td><td>%s</td><td>%d</td><td>%s</td><td>%d</td><td>%s</td><td><b>%.1f</b></td></tr>\n",
			sizeText(r.Size), r.CMA.Copies, sizeText(r.CMA.Bytes), r.CMA.Frames, nanosText(r.CMA.Nanos),
			r.Bounced.Copies, sizeText(r.Bounced.Bytes), r.Bounced.Frames, nanosText(r.Bounced.Nanos), float64(r.Bounced.Nanos)/float64(max(r.CMA.Nanos, 1)))
	}
	h.p("</table>\n")
	// Bars on a log scale of time.
	const w, rowH, lx = 1200.0, 44.0, 110.0
	hgt := float64(len(m.Rows))*rowH + 50
	lo, hi := math.Inf(1), 0.0
	for _, r := range m.Rows {
		lo = min(lo, float64(r.CMA.Nanos))
		hi = max(hi, float64(r.Bounced.Nanos))
	}
	lo = math.Max(1, lo/2)
	scale := func(ns int64) float64 {
		return (w - lx - 140) * math.Log(float64(max(ns, 1))/lo) / math.Log(hi/lo)
	}
	h.p(`<svg class="bars" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`, w, hgt, w, hgt)
	h.p(`<text x="%.0f" y="20" font-size="17" fill="#4b5563">time, log scale: <tspan fill="#1d4ed8" font-weight="bold">■ CMA, one copy</tspan>  <tspan fill="#d97706" font-weight="bold">■ shared bounce buffer, two copies</tspan></text>`, lx)
	for i, r := range m.Rows {
		y := 34 + float64(i)*rowH
		h.p(`<text x="%.0f" y="%.0f" font-size="18" font-weight="bold" text-anchor="end">%s</text>`, lx-12, y+26, sizeText(r.Size))
		for j, c := range []struct {
			ns  int64
			col string
		}{{r.CMA.Nanos, "#1d4ed8"}, {r.Bounced.Nanos, "#d97706"}} {
			bw := max(scale(c.ns), 3)
			by := y + 4 + float64(j)*18
			h.p(`<rect x="%.0f" y="%.0f" width="%.0f" height="16" rx="3" fill="%s"/>`, lx, by, bw, c.col)
			h.p(`<text x="%.0f" y="%.0f" font-size="15" fill="#374151">%s</text>`, lx+bw+8, by+14, nanosText(c.ns))
		}
	}
	h.p("</svg>\n")
}

// processes lists each look at a process: credentials, dumpable.
func (h *htmlWriter) processes() {
	h.p("<h2>The processes</h2>\n<table><tr><th>pid</th><th>process</th><th>when</th><th>ABI</th><th>uid r/e/s</th><th>gid r/e/s</th><th>dumpable</th><th>CR3</th><th>mappings</th></tr>\n")
	done := false
	for _, it := range h.rec.Items {
		if _, ok := it.(End); ok {
			done = true
		}
		p, ok := it.(syscalls.ProcessEvent)
		if !ok || done {
			continue
		}
		name := h.rec.Name(p.PID)
		when := p.Label
		if when == name {
			when = "created"
		}
		abi := "x86-64"
		if p.I386 {
			abi = "i386"
		}
		dump := "yes"
		if !p.Dumpable {
			dump = "<b style=\"color:#b91c1c\">no</b>"
		}
		h.p(`<tr><td>%d</td><td><b style="color:%s">%s</b></td><td>%s</td><td>%s</td><td>%d/%d/%d</td><td>%d/%d/%d</td><td>%s</td><td class="mono">%#x</td><td class="small">%d</td></tr>`+"\n",
			p.PID, h.colors[p.PID], esc(name), esc(when), abi, p.Creds.RUID, p.Creds.EUID, p.Creds.SUID, p.Creds.RGID, p.Creds.EGID, p.Creds.SGID, dump, uint64(p.CR3), len(p.VMAs))
	}
	h.p("</table>\n")
}
