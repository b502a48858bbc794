package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// cell is the table text of a metric of a workload under env.
func cell(wr *WorkloadResult, metric, env string) string {
	er := wr.Envs[env]
	if er == nil {
		return "not run"
	}
	if er.Status != StatusOK {
		return statusCell(er)
	}
	s, ok := er.Stats[metric]
	if !ok {
		return "-"
	}
	text := fmtStat(s)
	if er.OK < er.Runs {
		text += " *"
	}
	return text
}

// statusCell is the text for a runner with no successful run.
func statusCell(er *EnvResult) string {
	switch er.Status {
	case StatusUnsupported:
		return "n/a (ENOSYS)"
	case StatusSkipped:
		return "n/a (" + er.Detail + ")"
	case StatusMismatch:
		return "error (mismatch)"
	}
	return er.Status // error, timeout
}

// ratio is a/b of the medians of a metric under two runners, or "".
func ratio(wr *WorkloadResult, metric, a, b string) string {
	ea, eb := wr.Envs[a], wr.Envs[b]
	if ea == nil || eb == nil || ea.Status != StatusOK || eb.Status != StatusOK {
		return ""
	}
	sa, oka := ea.Stats[metric]
	sb, okb := eb.Stats[metric]
	if !oka || !okb || sb.Median == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", sa.Median/sb.Median)
}

// PrintTable writes the results table and, below it, the notes on runs
// that failed.
func PrintTable(w io.Writer, results []*WorkloadResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := []string{"workload", "metric"}
	for _, env := range Envs {
		header = append(header, envTitle[env])
	}
	header = append(header, "cmaemu/native", "cmaemu/qemu")
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	rule := make([]string, len(header))
	for i, h := range header {
		rule[i] = strings.Repeat("-", len([]rune(h)))
	}
	fmt.Fprintln(tw, strings.Join(rule, "\t"))
	for _, wr := range results {
		if len(wr.Envs) == 0 {
			continue
		}
		for i, m := range wr.Metrics {
			name := ""
			if i == 0 {
				name = wr.Name
			}
			row := []string{name, displayMetric(m)}
			for _, env := range Envs {
				row = append(row, cell(wr, m, env))
			}
			row = append(row, ratio(wr, m, EnvCmaemu, EnvNative), ratio(wr, m, EnvCmaemu, EnvQemu))
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Cells: median [min–max] over the successful repetitions; * = some repetitions failed (see notes).")
	fmt.Fprintln(w, "Ratios divide the medians: for rates (*_GBps, *_MBps, *_Mops, *_per_s) higher is better,")
	fmt.Fprintln(w, "for times and sizes lower is better. wall_s is the whole process measured by the harness;")
	fmt.Fprintln(w, "maxrss_MiB is ru_maxrss from wait4 (for native and qemu-user the largest single process).")

	var notes []string
	for _, wr := range results {
		for _, env := range Envs {
			er := wr.Envs[env]
			if er == nil || er.Detail == "" || er.Status == StatusSkipped {
				continue
			}
			notes = append(notes, fmt.Sprintf("%s under %s: %s: %s", wr.Name, envTitle[env], er.Status, er.Detail))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Notes:")
		for _, n := range notes {
			fmt.Fprintln(w, "  "+n)
		}
	}
}

// A Goal is one line of DESIGN.md's performance goals, checked against the
// measured medians. Met is nil when the figures needed are missing.
type Goal struct {
	Name    string             `json:"name"`
	Target  string             `json:"target"`
	Met     *bool              `json:"met"`
	Detail  string             `json:"detail"`
	Figures map[string]float64 `json:"figures,omitempty"`
}

func (g *Goal) set(met bool, format string, args ...any) {
	g.Met = &met
	g.Detail = fmt.Sprintf(format, args...)
}

func (g *Goal) missing(format string, args ...any) {
	g.Met = nil
	g.Detail = fmt.Sprintf(format, args...)
}

// why explains a missing figure of a workload under env.
func why(results []*WorkloadResult, workload, env string) string {
	er := envStatus(results, workload, env)
	switch {
	case er == nil:
		return fmt.Sprintf("%s not run under %s", workload, envTitle[env])
	case er.Status != StatusOK:
		return fmt.Sprintf("%s under %s: %s (%s)", workload, envTitle[env], er.Status, er.Detail)
	}
	return fmt.Sprintf("%s under %s printed no such figure", workload, envTitle[env])
}

// CheckGoals evaluates the performance goals of DESIGN.md and the
// harness's own 2-thread speed-up goal.
func CheckGoals(results []*WorkloadResult) []Goal {
	var goals []Goal
	med := func(workload, metric, env string) (float64, bool) { return Median(results, workload, metric, env) }

	// 1, 2: 64 MiB CMA throughput against the host kernel and host memcpy.
	g := Goal{Name: "64 MiB CMA vs host kernel", Target: fmt.Sprintf("cmaemu process_vm_readv ≥ %.1f× native process_vm_readv throughput", goalCMAvsHost)}
	c, okc := med(workloadCMA, metricCMA64, EnvCmaemu)
	n, okn := med(workloadCMA, metricCMA64, EnvNative)
	switch {
	case !okc && envStatus(results, workloadCMA, EnvCmaemu) != nil && envStatus(results, workloadCMA, EnvCmaemu).Status != StatusOK:
		g.set(false, "%s", why(results, workloadCMA, EnvCmaemu))
	case !okc:
		g.missing("%s", why(results, workloadCMA, EnvCmaemu))
	case !okn:
		g.missing("%s", why(results, workloadCMA, EnvNative))
	default:
		g.set(c/n >= goalCMAvsHost, "cmaemu %s GB/s vs native %s GB/s = %.2f× (goal ≥ %.1f×)", fmtNum(c), fmtNum(n), c/n, goalCMAvsHost)
		g.Figures = map[string]float64{"cmaemu_GBps": c, "native_GBps": n, "ratio": c / n}
	}
	goals = append(goals, g)

	g = Goal{Name: "64 MiB CMA vs host memcpy", Target: fmt.Sprintf("cmaemu process_vm_readv ≥ %.0f%% of native memcpy throughput", goalCMAvsCopy*100)}
	m, okm := med(workloadCopy, metricMemcpy, EnvNative)
	switch {
	case !okc && envStatus(results, workloadCMA, EnvCmaemu) != nil && envStatus(results, workloadCMA, EnvCmaemu).Status != StatusOK:
		g.set(false, "%s", why(results, workloadCMA, EnvCmaemu))
	case !okc:
		g.missing("%s", why(results, workloadCMA, EnvCmaemu))
	case !okm:
		g.missing("%s", why(results, workloadCopy, EnvNative))
	default:
		g.set(c/m >= goalCMAvsCopy, "cmaemu %s GB/s vs native memcpy %s GB/s = %.0f%% (goal ≥ %.0f%%)", fmtNum(c), fmtNum(m), 100*c/m, goalCMAvsCopy*100)
		g.Figures = map[string]float64{"cmaemu_GBps": c, "memcpy_GBps": m, "ratio": c / m}
	}
	goals = append(goals, g)

	// 3: 64-byte latency.
	g = Goal{Name: "64-byte CMA latency", Target: fmt.Sprintf("cmaemu round trip ≤ %.1f× native", goalLatency)}
	c, okc = med(workloadCMA, metricLat64, EnvCmaemu)
	n, okn = med(workloadCMA, metricLat64, EnvNative)
	switch {
	case !okc && envStatus(results, workloadCMA, EnvCmaemu) != nil && envStatus(results, workloadCMA, EnvCmaemu).Status != StatusOK:
		g.set(false, "%s", why(results, workloadCMA, EnvCmaemu))
	case !okc:
		g.missing("%s", why(results, workloadCMA, EnvCmaemu))
	case !okn:
		g.missing("%s", why(results, workloadCMA, EnvNative))
	default:
		g.set(c/n <= goalLatency, "cmaemu %s ns vs native %s ns = %.2f× (goal ≤ %.1f×)", fmtNum(c), fmtNum(n), c/n, goalLatency)
		g.Figures = map[string]float64{"cmaemu_ns": c, "native_ns": n, "ratio": c / n}
	}
	goals = append(goals, g)

	// 4, 5: whole-process time against qemu-user.
	goals = append(goals, timeGoal(results, "CPU-bound time vs qemu-user", "cpu", groupWorkloads("cpu"), goalCPU))
	goals = append(goals, timeGoal(results, "syscall-heavy time vs qemu-user", "syscall", syscallGoalWorkloads(), goalSyscall))
	goals = append(goals, timeGoal(results, "wake-up latency vs qemu-user", "wakeup", groupWorkloads("wakeup"), goalWakeup))

	// 6: 256 processes.
	scale := fmt.Sprintf("cma_scale_%d", goalScaleN)
	g = Goal{Name: fmt.Sprintf("%d processes all-to-all CMA", goalScaleN), Target: "completes under cmaemu"}
	switch er := envStatus(results, scale, EnvCmaemu); {
	case er == nil:
		g.missing("%s", why(results, scale, EnvCmaemu))
	case er.Status == StatusOK:
		t, _ := med(scale, "scale_total_s n=256", EnvCmaemu)
		g.set(true, "completed in %s s (%d of %d runs ok)", fmtNum(t), er.OK, er.Runs)
		g.Figures = map[string]float64{"total_s": t}
	default:
		g.set(false, "%s", why(results, scale, EnvCmaemu))
	}
	goals = append(goals, g)

	// 7: memory per extra guest process.
	g = Goal{Name: "cmaemu memory per extra guest process", Target: fmt.Sprintf("(RSS(N) − RSS(%d)) / (N − %d) ≤ %.0f MiB", ScaleN[0], ScaleN[0], goalRSSPerMiB)}
	base := fmt.Sprintf("cma_scale_%d", ScaleN[0])
	r0, ok0 := med(base, metricMaxRSS, EnvCmaemu)
	var parts []string
	g.Figures = map[string]float64{}
	var last float64
	var have bool
	for _, N := range ScaleN[1:] {
		name := fmt.Sprintf("cma_scale_%d", N)
		r, ok := med(name, metricMaxRSS, EnvCmaemu)
		if !ok || !ok0 {
			continue
		}
		per := (r - r0) / float64(N-ScaleN[0])
		parts = append(parts, fmt.Sprintf("N=%d: (%s − %s MiB)/%d = %.2f MiB", N, fmtNum(r), fmtNum(r0), N-ScaleN[0], per))
		g.Figures[fmt.Sprintf("rss_MiB_n%d", N)] = r
		g.Figures[fmt.Sprintf("per_process_MiB_n%d", N)] = per
		last, have = per, true
	}
	switch {
	case !ok0:
		g.missing("%s", why(results, base, EnvCmaemu))
	case !have:
		g.missing("no larger scale run completed under cmaemu")
	default:
		g.Figures[fmt.Sprintf("rss_MiB_n%d", ScaleN[0])] = r0
		g.set(last <= goalRSSPerMiB, "%s (goal ≤ %.0f MiB, judged on the largest N)", strings.Join(parts, "; "), goalRSSPerMiB)
	}
	goals = append(goals, g)

	// 8: threads of one process on two cores.
	goals = append(goals, speedupGoal(results))
	return goals
}

// timeGoal compares the whole-process wall time of each of the workloads
// (those of a group) under cmaemu with qemu-user's.
func timeGoal(results []*WorkloadResult, name, group string, workloads []string, limit float64) Goal {
	g := Goal{Name: name, Target: fmt.Sprintf("cmaemu wall time ≤ %.1f× qemu-user for every %s workload", limit, group), Figures: map[string]float64{}}
	var parts, missing []string
	met, measured := true, 0
	for _, w := range workloads {
		c, okc := Median(results, w, metricWall, EnvCmaemu)
		q, okq := Median(results, w, metricWall, EnvQemu)
		if er := envStatus(results, w, EnvCmaemu); er != nil && er.Status != StatusOK {
			met = false
			parts = append(parts, fmt.Sprintf("%s: cmaemu %s", w, er.Status))
			continue
		}
		if !okc || !okq {
			missing = append(missing, w)
			continue
		}
		r := c / q
		measured++
		g.Figures[w] = r
		mark := ""
		if r > limit {
			met = false
			mark = " (over)"
		}
		parts = append(parts, fmt.Sprintf("%s %s/%s s = %.2f×%s", w, fmtNum(c), fmtNum(q), r, mark))
	}
	if len(missing) > 0 {
		parts = append(parts, "not measured: "+strings.Join(missing, ", "))
	}
	if measured == 0 && met {
		g.missing("%s", strings.Join(parts, "; "))
		return g
	}
	g.set(met, "%s (goal ≤ %.1f×)", strings.Join(parts, "; "), limit)
	return g
}

// PrintGoals writes one line per goal.
func PrintGoals(w io.Writer, goals []Goal) {
	fmt.Fprintln(w, "Performance goals (DESIGN.md, and the 2-thread speed-up), from the medians above:")
	for _, g := range goals {
		mark := "n/a    "
		if g.Met != nil && *g.Met {
			mark = "met    "
		} else if g.Met != nil {
			mark = "NOT met"
		}
		fmt.Fprintf(w, "  %s  %s — %s\n           %s\n", mark, g.Name, g.Target, g.Detail)
	}
}
