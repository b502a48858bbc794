package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"text/tabwriter"
)

// LoadResults reads a results.json.
func LoadResults(path string) (*Results, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if r.Version != resultsVersion {
		return nil, fmt.Errorf("%s: results version %d, want %d", path, r.Version, resultsVersion)
	}
	return &r, nil
}

// Compare prints, for every metric and runner present in both files, the
// old and new medians and the change; changes beyond threshold percent are
// marked better or worse (rates: higher is better; times: lower). Then the
// goals of both runs side by side. Only the runners in envs and the
// workloads matching only are listed. It returns the regressions of
// cmaemu: its figures marked WORSE plus the goals met in the old run and
// not in the new one.
func Compare(w io.Writer, oldPath, newPath string, threshold float64, envs []string, only *regexp.Regexp) (regressions int, err error) {
	oldR, err := LoadResults(oldPath)
	if err != nil {
		return 0, err
	}
	newR, err := LoadResults(newPath)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(w, "old: %s  %s  commit %s  reps %d quick %v\n", oldPath, oldR.Started, oldR.Host["commit"], oldR.Settings.Reps, oldR.Settings.Quick)
	fmt.Fprintf(w, "new: %s  %s  commit %s  reps %d quick %v\n", newPath, newR.Started, newR.Host["commit"], newR.Settings.Reps, newR.Settings.Quick)
	if oldR.Host["cpu"] != newR.Host["cpu"] || oldR.Host["cpus"] != newR.Host["cpus"] {
		fmt.Fprintf(w, "warning: different machines (%s × %s vs %s × %s)\n", oldR.Host["cpus"], oldR.Host["cpu"], newR.Host["cpus"], newR.Host["cpu"])
	}
	if oldR.Settings.Quick != newR.Settings.Quick {
		fmt.Fprintln(w, "warning: one run used -quick sizes; most figures are not comparable")
	}
	fmt.Fprintln(w)

	oldW := map[string]*WorkloadResult{}
	for _, wr := range oldR.Workloads {
		oldW[wr.Name] = wr
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tmetric\trunner\told\tnew\tnew/old\t")
	fmt.Fprintln(tw, "--------\t------\t------\t---\t---\t-------\t")
	changed := 0
	for _, nw := range newR.Workloads {
		ow := oldW[nw.Name]
		if ow == nil || !only.MatchString(nw.Name) {
			continue
		}
		first := true
		for _, m := range nw.Metrics {
			for _, env := range envs {
				ne, oe := nw.Envs[env], ow.Envs[env]
				if ne == nil || oe == nil {
					continue
				}
				nst, nok := ne.Stats[m]
				ost, ook := oe.Stats[m]
				oldText, newText := statusOr(oe, ost, ook), statusOr(ne, nst, nok)
				if (!nok && ne.Status == StatusOK) || (!ook && oe.Status == StatusOK) || (!nok && !ook && ne.Status == oe.Status) {
					continue // a figure only one run has, or the same failure
				}
				r, verdict := "", ""
				if nok && ook && ost.Median != 0 {
					q := nst.Median / ost.Median
					r = fmt.Sprintf("%.2f", q)
					if math.Abs(q-1)*100 > threshold {
						better := (q > 1) == higherIsBetter(m)
						if m == metricMaxRSS {
							better = q < 1
						}
						verdict = map[bool]string{true: "better", false: "WORSE"}[better]
						changed++
						if !better && env == EnvCmaemu {
							regressions++
						}
					}
				}
				name := ""
				if first {
					name, first = nw.Name, false
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, displayMetric(m), envTitle[env], oldText, newText, r, verdict)
			}
		}
	}
	// The derived figures, recomputed from each file's medians (so that
	// files written before they existed compare too); higher is better.
	oldRatios := map[string]RatioResult{}
	for _, r := range ComputeRatios(oldR.Workloads) {
		oldRatios[r.Name] = r
	}
	for _, nr := range ComputeRatios(newR.Workloads) {
		or, ok := oldRatios[nr.Name]
		if !ok || !(only.MatchString(nr.Num.Workload) || only.MatchString(nr.Den.Workload)) {
			continue
		}
		first := true
		for _, env := range envs {
			nv, nok := nr.Values[env]
			ov, ook := or.Values[env]
			if !nok && !ook {
				continue
			}
			r, verdict := "", ""
			if nok && ook && ov != 0 {
				q := nv / ov
				r = fmt.Sprintf("%.2f", q)
				if math.Abs(q-1)*100 > threshold {
					verdict = map[bool]string{true: "better", false: "WORSE"}[q > 1]
					changed++
					if q < 1 && env == EnvCmaemu {
						regressions++
					}
				}
			}
			name := ""
			if first {
				name, first = nr.Name, false
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, "(derived)", envTitle[env], ratioCell(or, env), ratioCell(nr, env), r, verdict)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d figures changed by more than %g%%.\n\nGoals:\n", changed, threshold)
	oldG := map[string]Goal{}
	for _, g := range oldR.Goals {
		oldG[g.Name] = g
	}
	for _, g := range newR.Goals {
		was := oldG[g.Name].Met
		lost := was != nil && *was && g.Met != nil && !*g.Met
		mark := ""
		if lost {
			regressions++
			mark = "  (lost)"
		}
		fmt.Fprintf(w, "  %-45s old: %-8s new: %s%s\n", g.Name, goalMark(was), goalMark(g.Met), mark)
	}
	fmt.Fprintf(w, "\nRegressions of cmaemu (figures WORSE, goals lost): %d\n", regressions)
	return regressions, nil
}

func statusOr(er *EnvResult, s Stat, ok bool) string {
	if er.Status != StatusOK {
		return statusCell(er)
	}
	if !ok {
		return "-"
	}
	return fmtNum(s.Median)
}

func goalMark(met *bool) string {
	switch {
	case met == nil:
		return "n/a"
	case *met:
		return "met"
	}
	return "NOT met"
}
