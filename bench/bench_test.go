package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseOutput(t *testing.T) {
	out := ParseOutput([]byte(strings.Join([]string{
		"cma_readv_GBps size=67108864 value=12.3",
		"cma_lat64_ns size=64 value=592.5",
		"getppid_ns value=300",
		"check crc32=3f382019",
		"some chatter value=1 that is not a metric",
		"scale_GBps n=16 iov=1 value=2.5e+00",
		"bad_value x=1 value=abc",
		"unsupported process_vm_readv",
		"getppid_ns value=301",
	}, "\n")))
	assert.Equal(t, []string{"cma_readv_GBps size=67108864", "cma_lat64_ns size=64", "getppid_ns", "scale_GBps n=16 iov=1"}, out.Order)
	assert.Equal(t, 12.3, out.Metrics["cma_readv_GBps size=67108864"])
	assert.Equal(t, 301.0, out.Metrics["getppid_ns"], "the last value wins")
	assert.Equal(t, 2.5, out.Metrics["scale_GBps n=16 iov=1"])
	assert.Equal(t, map[string]string{"crc32": "3f382019"}, out.Checks)
	assert.Equal(t, []string{"process_vm_readv"}, out.Unsupported)
}

func TestStatAndFormat(t *testing.T) {
	s := NewStat([]float64{3, 1, 2})
	assert.Equal(t, Stat{N: 3, Median: 2, Min: 1, Max: 3, Values: []float64{3, 1, 2}}, s)
	assert.Equal(t, 2.5, NewStat([]float64{4, 1, 3, 2}).Median)
	assert.Equal(t, "2.00 [1.00–3.00]", fmtStat(s))
	assert.Equal(t, "5608", fmtStat(NewStat([]float64{5608.4})))
	for v, want := range map[float64]string{0: "0", 12.34: "12.3", 0.1234: "0.123", 0.00123: "0.00123", 1234.5: "1234"} {
		assert.Equal(t, want, fmtNum(v), "%v", v)
	}
	assert.Equal(t, "cma_readv_GBps size=64MiB iov=1024", displayMetric("cma_readv_GBps size=67108864 iov=1024"))
	assert.Equal(t, "touch_s bytes=1GiB", displayMetric("touch_s bytes=1073741824"))
	assert.Equal(t, "x size=100", displayMetric("x size=100"))
	assert.True(t, higherIsBetter("cma_readv_GBps size=4096"))
	assert.True(t, higherIsBetter("forks_per_s"))
	assert.False(t, higherIsBetter("cma_lat64_ns size=64"))
}

// fakeRuns builds runs that meet or miss goals as told.
func fakeRuns() []Run {
	ok := func(w, env string, wall float64, rss int64, m map[string]float64) Run {
		r := Run{Workload: w, Env: env, Status: StatusOK, WallS: wall, MaxRSSKiB: rss, Metrics: m}
		for k := range m {
			r.Order = append(r.Order, k)
		}
		return r
	}
	unsup := Run{Workload: "cma_bw", Env: EnvQemu, Status: StatusUnsupported, Detail: "process_vm_readv: ENOSYS"}
	runs := []Run{
		ok("cma_bw", EnvNative, 1, 1000, map[string]float64{metricCMA64: 5, metricLat64: 1500}),
		unsup,
		ok("cma_bw", EnvCmaemu, 1, 1000, map[string]float64{metricCMA64: 16, metricLat64: 600}),
		ok("cma_copy", EnvNative, 1, 1000, map[string]float64{metricMemcpy: 12}),
		ok("cpu_hash", EnvQemu, 2, 1000, nil),
		ok("cpu_hash", EnvCmaemu, 4, 1000, nil),
		ok("sys_getppid", EnvQemu, 1, 1000, nil),
		ok("sys_getppid", EnvCmaemu, 0.5, 1000, nil),
		ok("cma_scale_16", EnvCmaemu, 1, 60<<10, nil),
		ok("cma_scale_64", EnvCmaemu, 1, 204<<10, nil),
		{Workload: "cma_scale_256", Env: EnvCmaemu, Status: StatusError, Detail: "killed by segmentation fault"},
	}
	return runs
}

func TestGoals(t *testing.T) {
	results := Summarize(Workloads, fakeRuns())
	goals := CheckGoals(results)
	byName := map[string]Goal{}
	for _, g := range goals {
		byName[g.Name] = g
	}
	met := func(name string) *bool { return byName[name].Met }
	require.NotNil(t, met("64 MiB CMA vs host kernel"))
	assert.True(t, *met("64 MiB CMA vs host kernel"))
	assert.True(t, *met("64 MiB CMA vs host memcpy"))
	assert.True(t, *met("64-byte CMA latency"))
	assert.False(t, *met("CPU-bound time vs qemu-user"))
	assert.Contains(t, byName["CPU-bound time vs qemu-user"].Detail, "cpu_hash 4.00/2.00 s = 2.00× (over)")
	assert.True(t, *met("syscall-heavy time vs qemu-user"))
	assert.Contains(t, byName["syscall-heavy time vs qemu-user"].Detail, "not measured: sys_pipe, sys_open, sys_hostfd")
	assert.Nil(t, met("wake-up latency vs qemu-user"), "no wake-up workload measured")
	assert.False(t, *met("256 processes all-to-all CMA"))
	assert.Contains(t, byName["256 processes all-to-all CMA"].Detail, "killed by segmentation fault")
	assert.True(t, *met("cmaemu memory per extra guest process"))
	assert.InDelta(t, 3.0, byName["cmaemu memory per extra guest process"].Figures["per_process_MiB_n64"], 1e-9)

	var buf bytes.Buffer
	PrintTable(&buf, results)
	table := buf.String()
	assert.Contains(t, table, "n/a (ENOSYS)")
	assert.Contains(t, table, "cma_readv_GBps size=64MiB")
	assert.Regexp(t, `cma_scale_256 +wall_s +not run +not run +error`, table)
	buf.Reset()
	PrintGoals(&buf, goals)
	assert.Contains(t, buf.String(), "NOT met  CPU-bound")
}

func TestCompare(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, runs []Run) string {
		r := Results{Version: resultsVersion, Host: map[string]string{"cpu": "x", "cpus": "2"}, Runs: runs}
		r.Workloads = Summarize(Workloads, runs)
		r.Goals = CheckGoals(r.Workloads)
		data, err := json.Marshal(r)
		require.NoError(t, err)
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		return p
	}
	oldRuns := fakeRuns()
	newRuns := fakeRuns()
	newRuns[2].Metrics = map[string]float64{metricCMA64: 8, metricLat64: 600}
	var buf bytes.Buffer
	regressions, err := Compare(&buf, write("old.json", oldRuns), write("new.json", newRuns), 10, Envs, regexp.MustCompile(""))
	require.NoError(t, err)
	assert.Regexp(t, `cma_readv_GBps size=64MiB +cmaemu +16.0 +8.00 +0.50 +WORSE`, buf.String())
	assert.Contains(t, buf.String(), "1 figures changed")
	assert.Regexp(t, `64 MiB CMA vs host memcpy +old: met +new: NOT met  \(lost\)`, buf.String())
	assert.Equal(t, 2, regressions, "the WORSE figure and the lost goal")

	buf.Reset()
	regressions, err = Compare(&buf, write("old.json", oldRuns), write("same.json", fakeRuns()), 10, Envs, regexp.MustCompile(""))
	require.NoError(t, err)
	assert.Equal(t, 0, regressions)
}

func TestRatios(t *testing.T) {
	hash := func(w, env string, s float64) Run {
		metric := "thr_hash_s threads=1"
		if w == "thr_hash_2" {
			metric = "thr_hash_s threads=2"
		}
		return Run{Workload: w, Env: env, Status: StatusOK, WallS: s + 0.1,
			Metrics: map[string]float64{metric: s}, Order: []string{metric}}
	}
	runs := []Run{
		hash("thr_hash_1", EnvNative, 1.0), hash("thr_hash_2", EnvNative, 0.5),
		hash("thr_hash_1", EnvQemu, 4.0),
		{Workload: "thr_hash_2", Env: EnvQemu, Status: StatusError, Detail: "killed by segmentation fault"},
		hash("thr_hash_1", EnvCmaemu, 3.0), hash("thr_hash_2", EnvCmaemu, 2.5),
	}
	sel := []Workload{}
	for _, w := range Workloads {
		if strings.HasPrefix(w.Name, "thr_hash_") {
			sel = append(sel, w)
		}
	}
	results := Summarize(sel, runs)
	ratios := ComputeRatios(results)
	require.Len(t, ratios, 1, "mm_churn was not selected: its ratios are left out")
	r := ratios[0]
	assert.Equal(t, ratioSpeedup, r.Name)
	assert.InDelta(t, 2.0, r.Values[EnvNative], 1e-9)
	assert.InDelta(t, 1.2, r.Values[EnvCmaemu], 1e-9)
	assert.Equal(t, "thr_hash_2: error", r.Why[EnvQemu])

	var buf bytes.Buffer
	PrintRatios(&buf, ratios)
	assert.Regexp(t, `thr_hash speed-up 2/1 +2.00× +thr_hash_2: error +1.20× +0.60 +`, buf.String())

	g := speedupGoal(results)
	require.NotNil(t, g.Met)
	assert.False(t, *g.Met)
	assert.Equal(t, "cmaemu 1.20× (native 2.00×) (goal ≥ 1.8×)", g.Detail)

	runs[5] = Run{Workload: "thr_hash_2", Env: EnvCmaemu, Status: StatusTimeout, Detail: "killed after 10m0s"}
	g = speedupGoal(Summarize(sel, runs))
	require.NotNil(t, g.Met)
	assert.False(t, *g.Met)
	assert.Contains(t, g.Detail, "thr_hash_2 under cmaemu: timeout")

	g = speedupGoal(Summarize(sel[:0], nil))
	assert.Nil(t, g.Met)
}
