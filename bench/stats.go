package main

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A Stat summarizes the values of one metric of one workload under one
// runner over the successful repetitions.
type Stat struct {
	N      int       `json:"n"`
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Values []float64 `json:"values"`
}

// NewStat returns the summary of values (at least one).
func NewStat(values []float64) Stat {
	v := slices.Clone(values)
	slices.Sort(v)
	n := len(v)
	med := v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	return Stat{N: n, Median: med, Min: v[0], Max: v[n-1], Values: values}
}

// EnvResult is what one runner gave for one workload.
type EnvResult struct {
	Status string          `json:"status"` // ok when at least one run succeeded
	Detail string          `json:"detail,omitempty"`
	Runs   int             `json:"runs"`
	OK     int             `json:"ok"`
	Stats  map[string]Stat `json:"stats"` // metric key → summary
}

// WorkloadResult is one workload's summary: its metric rows in table order
// and each runner's result.
type WorkloadResult struct {
	Name    string                `json:"name"`
	Group   string                `json:"group"`
	About   string                `json:"about"`
	Metrics []string              `json:"metrics"`
	Envs    map[string]*EnvResult `json:"envs"`
}

// Summarize groups runs by workload and runner. Metric rows are wall_s and
// maxrss_MiB first, then the guest's metrics in the order printed (the
// native run's order first).
func Summarize(workloads []Workload, runs []Run) []*WorkloadResult {
	var out []*WorkloadResult
	for _, w := range workloads {
		wr := &WorkloadResult{Name: w.Name, Group: w.Group, About: w.About, Envs: map[string]*EnvResult{},
			Metrics: []string{metricWall, metricMaxRSS}}
		for _, env := range Envs {
			values := map[string][]float64{}
			er := &EnvResult{Stats: map[string]Stat{}}
			for _, r := range runs {
				if r.Workload != w.Name || r.Env != env {
					continue
				}
				er.Runs++
				if r.Status != StatusOK {
					if er.Detail == "" {
						er.Status, er.Detail = r.Status, r.Detail
					}
					continue
				}
				er.OK++
				values[metricWall] = append(values[metricWall], r.WallS)
				values[metricMaxRSS] = append(values[metricMaxRSS], float64(r.MaxRSSKiB)/1024)
				for _, k := range r.Order {
					values[k] = append(values[k], r.Metrics[k])
					if !slices.Contains(wr.Metrics, k) {
						wr.Metrics = append(wr.Metrics, k)
					}
				}
			}
			if er.Runs == 0 {
				continue
			}
			if er.OK > 0 {
				er.Status = StatusOK
				if er.Detail != "" {
					er.Detail = fmt.Sprintf("%d of %d runs failed: %s", er.Runs-er.OK, er.Runs, er.Detail)
				}
			}
			for k, v := range values {
				er.Stats[k] = NewStat(v)
			}
			wr.Envs[env] = er
		}
		out = append(out, wr)
	}
	return out
}

// Median returns the median of a metric of a workload under env.
func Median(results []*WorkloadResult, workload, metric, env string) (float64, bool) {
	for _, wr := range results {
		if wr.Name != workload {
			continue
		}
		if er := wr.Envs[env]; er != nil {
			if s, ok := er.Stats[metric]; ok {
				return s.Median, true
			}
		}
	}
	return 0, false
}

// envStatus returns a workload's result under env (nil when not run).
func envStatus(results []*WorkloadResult, workload, env string) *EnvResult {
	for _, wr := range results {
		if wr.Name == workload {
			return wr.Envs[env]
		}
	}
	return nil
}

// fmtNum prints a value with about three significant digits.
func fmtNum(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case a >= 0.01:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// fmtStat prints "median [min–max]", or the value alone for one run.
func fmtStat(s Stat) string {
	if s.N == 1 || s.Min == s.Max {
		return fmtNum(s.Median)
	}
	return fmt.Sprintf("%s [%s–%s]", fmtNum(s.Median), fmtNum(s.Min), fmtNum(s.Max))
}

var sizeParam = regexp.MustCompile(`\b(size|bytes)=(\d+)\b`)

// displayMetric shortens byte counts in a metric key: size=67108864 →
// size=64MiB.
func displayMetric(key string) string {
	return sizeParam.ReplaceAllStringFunc(key, func(m string) string {
		eq := strings.IndexByte(m, '=')
		n, err := strconv.ParseUint(m[eq+1:], 10, 64)
		if err != nil {
			return m
		}
		return m[:eq+1] + humanBytes(n)
	})
}

func humanBytes(n uint64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d%s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprint(n)
}

// higherIsBetter says whether a metric is a rate (GB/s, MB/s, Mops, per
// second) rather than a time or a size.
func higherIsBetter(metric string) bool {
	name, _, _ := strings.Cut(metric, " ")
	for _, suf := range []string{"_GBps", "_MBps", "_Mops", "_per_s"} {
		if strings.HasSuffix(name, suf) {
			return true
		}
	}
	return false
}
