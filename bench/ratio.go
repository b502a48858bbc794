package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// RatioResult is a derived figure (see Ratio) under each runner.
type RatioResult struct {
	Name   string             `json:"name"`
	About  string             `json:"about"`
	Num    Figure             `json:"num"`
	Den    Figure             `json:"den"`
	Values map[string]float64 `json:"values"`        // runner → median of Num / median of Den
	Why    map[string]string  `json:"why,omitempty"` // runner → why there is no value (a table cell)
}

// workloadResult returns the summary of a workload, nil when it was not
// selected.
func workloadResult(results []*WorkloadResult, name string) *WorkloadResult {
	for _, wr := range results {
		if wr.Name == name {
			return wr
		}
	}
	return nil
}

// ComputeRatios evaluates Ratios on the medians of a summary. A ratio
// neither of whose workloads was selected is left out.
func ComputeRatios(results []*WorkloadResult) []RatioResult {
	var out []RatioResult
	for _, r := range Ratios {
		if workloadResult(results, r.Num.Workload) == nil && workloadResult(results, r.Den.Workload) == nil {
			continue
		}
		rr := RatioResult{Name: r.Name, About: r.About, Num: r.Num, Den: r.Den,
			Values: map[string]float64{}, Why: map[string]string{}}
		for _, env := range Envs {
			num, okn := Median(results, r.Num.Workload, r.Num.Metric, env)
			den, okd := Median(results, r.Den.Workload, r.Den.Metric, env)
			switch {
			case !okn:
				rr.Why[env] = figureCell(results, r.Num, env)
			case !okd:
				rr.Why[env] = figureCell(results, r.Den, env)
			case den == 0:
				rr.Why[env] = "-"
			default:
				rr.Values[env] = num / den
			}
		}
		out = append(out, rr)
	}
	return out
}

// figureCell says, as a table cell, why a workload has no such figure
// under env.
func figureCell(results []*WorkloadResult, f Figure, env string) string {
	wr := workloadResult(results, f.Workload)
	if wr == nil {
		return f.Workload + " not run"
	}
	er := wr.Envs[env]
	switch {
	case er == nil:
		return "not run"
	case er.Status != StatusOK:
		return f.Workload + ": " + statusCell(er)
	}
	return "-"
}

// ratioCell is the text of a ratio under env.
func ratioCell(r RatioResult, env string) string {
	if v, ok := r.Values[env]; ok {
		return fmt.Sprintf("%.2f×", v)
	}
	return r.Why[env]
}

// ratioOfRatios is r under a divided by r under b, or "".
func ratioOfRatios(r RatioResult, a, b string) string {
	va, oka := r.Values[a]
	vb, okb := r.Values[b]
	if !oka || !okb || vb == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", va/vb)
}

// PrintRatios writes the derived figures as a table like PrintTable's.
func PrintRatios(w io.Writer, ratios []RatioResult) {
	if len(ratios) == 0 {
		return
	}
	fmt.Fprintln(w, "Derived figures (ratios of the medians above, each runner on its own; higher is better):")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := []string{"figure"}
	for _, env := range Envs {
		header = append(header, envTitle[env])
	}
	header = append(header, "cmaemu/native", "cmaemu/qemu", "what")
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	rule := make([]string, len(header))
	for i, h := range header {
		rule[i] = strings.Repeat("-", len([]rune(h)))
	}
	fmt.Fprintln(tw, strings.Join(rule, "\t"))
	for _, r := range ratios {
		row := []string{r.Name}
		for _, env := range Envs {
			row = append(row, ratioCell(r, env))
		}
		row = append(row, ratioOfRatios(r, EnvCmaemu, EnvNative), ratioOfRatios(r, EnvCmaemu, EnvQemu), r.About)
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
}

// speedupGoal checks cmaemu's 2-thread speed-up of thr_hash.
func speedupGoal(results []*WorkloadResult) Goal {
	g := Goal{Name: "2-thread CPU speed-up", Target: fmt.Sprintf("cmaemu %s ≥ %.1f×", ratioSpeedup, goalSpeedup)}
	var r *RatioResult
	ratios := ComputeRatios(results)
	for i := range ratios {
		if ratios[i].Name == ratioSpeedup {
			r = &ratios[i]
			break
		}
	}
	if r == nil {
		g.missing("thr_hash_1 and thr_hash_2 not run")
		return g
	}
	c, ok := r.Values[EnvCmaemu]
	if !ok {
		for _, f := range []Figure{r.Num, r.Den} {
			if er := envStatus(results, f.Workload, EnvCmaemu); er != nil && er.Status != StatusOK {
				g.set(false, "%s", why(results, f.Workload, EnvCmaemu))
				return g
			}
		}
		g.missing("cmaemu: %s", r.Why[EnvCmaemu])
		return g
	}
	g.Figures = map[string]float64{"cmaemu": c}
	others := []string{}
	for _, env := range []string{EnvNative, EnvQemu} {
		if v, ok := r.Values[env]; ok {
			g.Figures[env] = v
			others = append(others, fmt.Sprintf("%s %.2f×", envTitle[env], v))
		}
	}
	detail := fmt.Sprintf("cmaemu %.2f×", c)
	if len(others) > 0 {
		detail += " (" + strings.Join(others, ", ") + ")"
	}
	g.set(c >= goalSpeedup, "%s (goal ≥ %.1f×)", detail, goalSpeedup)
	return g
}
