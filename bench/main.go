// Command bench is cmaemu's benchmark harness. It runs the guest workloads
// of bench/src (built into bench/bin by bench/Makefile) natively, under
// qemu-user and under bin/cmaemu, several times each, and prints a table of
// the figures the guests report and the wall time and peak RSS it measures
// itself, then the performance goals of DESIGN.md marked met or not met.
// All raw values go to bench/results.json; -compare prints the changes
// between two such files. See bench/README.md.
//
//	go run ./bench [-reps N] [-quick] [-only REGEXP] [-envs native,qemu,cmaemu]
//	go run ./bench -compare OLD.json NEW.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Settings are the flags a run was made with.
type Settings struct {
	Reps    int      `json:"reps"`
	Quick   bool     `json:"quick"`
	Only    string   `json:"only,omitempty"`
	Envs    []string `json:"envs"`
	SlowS   float64  `json:"slow_s"`
	Timeout string   `json:"timeout"`
}

// Results is the content of results.json.
type Results struct {
	Version   int               `json:"version"`
	Started   string            `json:"started"`
	DurationS float64           `json:"duration_s"`
	Host      map[string]string `json:"host"`
	Settings  Settings          `json:"settings"`
	Workloads []*WorkloadResult `json:"workloads"`
	Ratios    []RatioResult     `json:"ratios,omitempty"`
	Goals     []Goal            `json:"goals"`
	Runs      []Run             `json:"runs"`
}

const resultsVersion = 1

func main() {
	os.Exit(mainErr())
}

func mainErr() int {
	reps := flag.Int("reps", 3, "repetitions per workload and runner")
	quick := flag.Bool("quick", false, "smaller sizes (guests get -q) and, unless -reps is given, 1 repetition")
	only := flag.String("only", "", "run only the workloads whose name matches this regular expression")
	envList := flag.String("envs", strings.Join(Envs, ","), "runners to use, a subset of native,qemu,cmaemu")
	slow := flag.Float64("slow", 20, "a runner whose first run of a workload took longer than this many seconds runs it only once")
	timeout := flag.Duration("timeout", 10*time.Minute, "limit for one run")
	root := flag.String("root", ".", "the cmaemu repository")
	out := flag.String("out", "", "where to write the JSON results (default ROOT/bench/results.json; - for none)")
	qemu := flag.String("qemu", "qemu-x86_64", "the qemu-user binary")
	cmaemu := flag.String("cmaemu", "", "the cmaemu binary (default ROOT/bin/cmaemu)")
	list := flag.Bool("list", false, "list the workloads and exit")
	compare := flag.Bool("compare", false, "compare two results files: -compare OLD.json NEW.json")
	threshold := flag.Float64("threshold", 10, "with -compare, flag changes larger than this many percent")
	gate := flag.Bool("gate", false, "with -compare, exit with status 3 when cmaemu has a figure WORSE or lost a goal")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./bench [flags]\n       go run ./bench -compare OLD.json NEW.json\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()

	envs, re, ok := selection(*envList, *only)
	if !ok {
		return 2
	}
	if *compare {
		if flag.NArg() != 2 {
			flag.Usage()
			return 2
		}
		regressions, err := Compare(os.Stdout, flag.Arg(0), flag.Arg(1), *threshold, envs, re)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		if *gate && regressions > 0 {
			return 3
		}
		return 0
	}
	if flag.NArg() != 0 {
		flag.Usage()
		return 2
	}
	if *list {
		for _, w := range Workloads {
			fmt.Printf("%-16s %-8s %s\n", w.Name, w.Group, w.About)
		}
		return 0
	}
	repsSet := false
	flag.Visit(func(f *flag.Flag) { repsSet = repsSet || f.Name == "reps" })
	if *quick && !repsSet {
		*reps = 1
	}
	if *reps < 1 {
		fmt.Fprintln(os.Stderr, "bench: -reps must be at least 1")
		return 2
	}

	var sel []Workload
	for _, w := range Workloads {
		if re.MatchString(w.Name) {
			sel = append(sel, w)
		}
	}
	if len(sel) == 0 {
		fmt.Fprintf(os.Stderr, "bench: no workload matches %q (see -list)\n", *only)
		return 2
	}

	absRoot, err := filepath.Abs(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	r := &Runner{BinDir: filepath.Join(absRoot, "bench", "bin"), Quick: *quick, Timeout: *timeout}
	r.Cmaemu = *cmaemu
	if r.Cmaemu == "" {
		r.Cmaemu = filepath.Join(absRoot, "bin", "cmaemu")
	}
	if r.Cmaemu, err = filepath.Abs(r.Cmaemu); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	if slices.Contains(envs, EnvCmaemu) {
		if _, err := os.Stat(r.Cmaemu); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v (run make build first)\n", err)
			return 1
		}
	}
	if p, err := exec.LookPath(*qemu); err == nil {
		r.Qemu = p
	} else if slices.Contains(envs, EnvQemu) {
		fmt.Fprintf(os.Stderr, "bench: %s not found: the qemu-user column will say n/a\n", *qemu)
	}
	for _, w := range sel {
		if w.Path != "" {
			if _, err := os.Stat(w.Path); err != nil {
				fmt.Fprintf(os.Stderr, "bench: %s missing: `make setup` installs it\n", w.Path)
				return 1
			}
			continue
		}
		if ok, _ := r.Available(w, EnvNative); !ok {
			continue // the column says why
		}
		if _, err := os.Stat(filepath.Join(r.BinDir, w.Prog)); err != nil {
			fmt.Fprintf(os.Stderr, "bench: guest %s missing: build the guests with make -C bench (or make bench)\n", w.Prog)
			return 1
		}
	}
	if *out == "" {
		*out = filepath.Join(absRoot, "bench", "results.json")
	}

	res := Results{
		Version: resultsVersion,
		Started: time.Now().Format(time.RFC3339),
		Host:    hostInfo(absRoot, r),
		Settings: Settings{Reps: *reps, Quick: *quick, Only: *only, Envs: envs,
			SlowS: *slow, Timeout: timeout.String()},
	}
	res.Host["loadavg_start"] = loadAvg()
	if l, err := strconv.ParseFloat(res.Host["loadavg_start"], 64); err == nil && l > 1 {
		fmt.Fprintf(os.Stderr, "bench: warning: the machine is busy (1-minute load average %s): figures will be noisy\n", res.Host["loadavg_start"])
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "bench: %d workloads × %v, up to %d repetitions each\n", len(sel), envs, *reps)
	res.Runs = runAll(r, sel, envs, *reps, *slow)
	res.DurationS = time.Since(start).Seconds()
	res.Host["loadavg_end"] = loadAvg()
	res.Workloads = Summarize(sel, res.Runs)
	res.Ratios = ComputeRatios(res.Workloads)
	res.Goals = CheckGoals(res.Workloads)

	fmt.Println()
	fmt.Printf("cmaemu benchmarks — %s; %s; %s\n", res.Host["cpu"], res.Host["cpus"]+" CPUs", res.Host["kernel"])
	fmt.Printf("qemu-user: %s; cmaemu: %s (commit %s)\n", res.Host["qemu"], res.Host["cmaemu"], res.Host["commit"])
	fmt.Printf("repetitions: %d (1 for a runner whose first run took > %gs)%s; %.0f s in all; 1-minute load average %s before, %s after\n\n",
		*reps, *slow, map[bool]string{true: "; quick sizes", false: ""}[*quick], res.DurationS, res.Host["loadavg_start"], res.Host["loadavg_end"])
	PrintTable(os.Stdout, res.Workloads)
	fmt.Println()
	if len(res.Ratios) > 0 {
		PrintRatios(os.Stdout, res.Ratios)
		fmt.Println()
	}
	PrintGoals(os.Stdout, res.Goals)

	if *out != "-" {
		data, err := json.MarshalIndent(res, "", "  ")
		if err == nil {
			err = os.WriteFile(*out, append(data, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		fmt.Printf("\nraw values: %s (compare two runs with go run ./bench -compare OLD.json NEW.json)\n", *out)
	}
	return 0
}

// selection parses -envs and -only.
func selection(envList, only string) ([]string, *regexp.Regexp, bool) {
	var envs []string
	for _, e := range strings.Split(envList, ",") {
		e = strings.TrimSpace(e)
		if !slices.Contains(Envs, e) {
			fmt.Fprintf(os.Stderr, "bench: unknown runner %q (want native, qemu, cmaemu)\n", e)
			return nil, nil, false
		}
		if !slices.Contains(envs, e) {
			envs = append(envs, e)
		}
	}
	re, err := regexp.Compile(only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: -only:", err)
		return nil, nil, false
	}
	return envs, re, true
}

// runAll runs each workload reps times under each runner, the runners
// interleaved within a repetition so that they see the same machine state.
func runAll(r *Runner, sel []Workload, envs []string, reps int, slow float64) []Run {
	var runs []Run
	total := len(sel) * len(envs) * reps
	done := 0
	for _, w := range sel {
		var ref map[string]string // check lines of the first good native run
		first := map[string]float64{}
		for rep := 1; rep <= reps; rep++ {
			for _, env := range envs {
				done++
				if rep > 1 {
					if t, ok := first[env]; !ok || t > slow {
						continue // unavailable, failed or slow: one run is enough
					}
				}
				run := r.Run(w, env, rep)
				if env == EnvNative && run.Status == StatusOK && ref == nil {
					ref = run.Checks
				}
				checkAgainst(&run, ref)
				if rep == 1 && (run.Status == StatusOK || run.Status == StatusMismatch) {
					first[env] = run.WallS
				}
				runs = append(runs, run)
				msg := run.Status
				if run.Detail != "" {
					msg += ": " + run.Detail
				}
				fmt.Fprintf(os.Stderr, "[%3d/%d] %-16s %-7s rep %d  %7.2f s  %s\n", done, total, w.Name, env, rep, run.WallS, msg)
				if run.Status != StatusOK && run.Status != StatusSkipped && run.Status != StatusUnsupported && run.StderrTail != "" {
					fmt.Fprintf(os.Stderr, "        stderr: %s\n", strings.ReplaceAll(run.StderrTail, "\n", "\n                "))
				}
			}
		}
	}
	return runs
}

// hostInfo describes the machine and the programs compared.
func hostInfo(root string, r *Runner) map[string]string {
	h := map[string]string{
		"cpus": fmt.Sprint(runtime.NumCPU()),
		"go":   runtime.Version(),
	}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				h["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		h["kernel"] = "Linux " + utsString(u.Release[:])
	}
	first := func(name string, args ...string) string {
		o, err := exec.Command(name, args...).Output()
		if err != nil {
			return "unknown"
		}
		line, _, _ := strings.Cut(strings.TrimSpace(string(o)), "\n")
		return line
	}
	if r.Qemu != "" {
		h["qemu"] = first(r.Qemu, "--version")
	} else {
		h["qemu"] = "missing"
	}
	h["cmaemu"] = first(r.Cmaemu, "version")
	h["commit"] = first("git", "-C", root, "rev-parse", "--short", "HEAD")
	if o, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(o) > 0 {
		h["commit"] += "+dirty"
	}
	return h
}

// loadAvg returns the 1-minute load average ("" when unknown). The
// harness's own runs add about 1 to it at the end.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func utsString(b []int8) string {
	s := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}
