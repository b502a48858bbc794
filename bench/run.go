package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Run statuses.
const (
	StatusOK          = "ok"
	StatusUnsupported = "unsupported" // the guest met ENOSYS (exit 77)
	StatusError       = "error"       // nonzero exit, signal, failed start
	StatusTimeout     = "timeout"
	StatusMismatch    = "mismatch" // check lines differ from the native run
	StatusSkipped     = "skipped"  // the runner is not available
)

// exitUnsupported is EXIT_UNSUPPORTED of bench/src/bench.h.
const exitUnsupported = 77

// A Run is one execution of a workload under one runner.
type Run struct {
	Workload    string             `json:"workload"`
	Env         string             `json:"env"`
	Rep         int                `json:"rep"`
	Cmd         []string           `json:"cmd"`
	Status      string             `json:"status"`
	Detail      string             `json:"detail,omitempty"` // why it is not ok
	ExitCode    int                `json:"exit_code"`
	Signal      string             `json:"signal,omitempty"`
	WallS       float64            `json:"wall_s"`
	MaxRSSKiB   int64              `json:"maxrss_kib"`
	Metrics     map[string]float64 `json:"metrics"`
	Order       []string           `json:"metric_order"`
	Checks      map[string]string  `json:"checks,omitempty"`
	Unsupported []string           `json:"unsupported,omitempty"`
	StderrTail  string             `json:"stderr_tail,omitempty"`
}

var (
	metricLine      = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)((?: [A-Za-z_][A-Za-z0-9_]*=[^ =]+)*) value=(\S+)$`)
	checkLine       = regexp.MustCompile(`^check ([A-Za-z0-9_]+)=(\S+)$`)
	unsupportedLine = regexp.MustCompile(`^unsupported (\S+)`)
)

// Output is what a guest printed, parsed.
type Output struct {
	Metrics     map[string]float64 // "name k=v ..." → value
	Order       []string           // metric keys in the order printed
	Checks      map[string]string
	Unsupported []string
}

// ParseOutput reads the result lines of a guest (see bench/src/bench.h);
// other lines are ignored. A metric printed twice keeps its last value.
func ParseOutput(out []byte) Output {
	o := Output{Metrics: map[string]float64{}, Checks: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := metricLine.FindStringSubmatch(line); m != nil {
			var v float64
			if _, err := fmt.Sscan(m[3], &v); err != nil {
				continue
			}
			key := m[1] + m[2]
			if _, seen := o.Metrics[key]; !seen {
				o.Order = append(o.Order, key)
			}
			o.Metrics[key] = v
		} else if m := checkLine.FindStringSubmatch(line); m != nil {
			o.Checks[m[1]] = m[2]
		} else if m := unsupportedLine.FindStringSubmatch(line); m != nil {
			o.Unsupported = append(o.Unsupported, m[1])
		}
	}
	return o
}

// Runner knows how to start guests under each environment.
type Runner struct {
	BinDir  string // bench/bin, absolute
	Cmaemu  string // bin/cmaemu, absolute
	Qemu    string // qemu-x86_64; "" when missing
	Quick   bool
	Timeout time.Duration
}

// Command returns the argv of a workload under env, run in dir.
func (r *Runner) Command(w Workload, env, dir string) []string {
	prog := []string{r.BinDir + "/" + w.Prog}
	if w.Path != "" {
		prog = []string{w.Path}
	} else if r.Quick {
		prog = append(prog, "-q")
	}
	for _, a := range w.Args {
		prog = append(prog, strings.ReplaceAll(a, DirArg, dir))
	}
	if len(w.Launcher) > 0 {
		// The launcher is the process cmaemu or the host starts; under
		// qemu-user it starts each of Prog's processes under qemu-x86_64.
		if env == EnvQemu {
			prog = append([]string{r.Qemu}, prog...)
		}
		prog = append(slices.Clone(w.Launcher), prog...)
	}
	switch {
	case env == EnvQemu && len(w.Launcher) == 0:
		return append([]string{r.Qemu}, prog...)
	case env == EnvCmaemu:
		return append([]string{r.Cmaemu, "run", "--"}, prog...)
	}
	return prog
}

// Environ returns the environment of a run of w in dir.
func (r *Runner) Environ(w Workload, dir string) []string {
	env := os.Environ()
	for _, kv := range w.Env {
		env = append(env, strings.ReplaceAll(kv, DirArg, dir))
	}
	return env
}

// Available says whether w can run under env at all, and why not.
func (r *Runner) Available(w Workload, env string) (bool, string) {
	if env == EnvQemu && r.Qemu == "" {
		return false, "no qemu-x86_64"
	}
	if len(w.Launcher) > 0 {
		if _, err := exec.LookPath(w.Launcher[0]); err != nil {
			return false, "no " + w.Launcher[0]
		}
	}
	return true, ""
}

// Run executes one workload once and returns its record.
func (r *Runner) Run(w Workload, env string, rep int) Run {
	run := Run{Workload: w.Name, Env: env, Rep: rep, Metrics: map[string]float64{}}
	if ok, why := r.Available(w, env); !ok {
		run.Status, run.Detail = StatusSkipped, why
		return run
	}
	dir, err := os.MkdirTemp("", "cmaemu-bench-")
	if err != nil {
		run.Status, run.Detail = StatusError, err.Error()
		return run
	}
	defer os.RemoveAll(dir)
	run.Cmd = r.Command(w, env, dir)

	ctx, cancel := context.WithTimeout(context.Background(), r.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, run.Cmd[0], run.Cmd[1:]...)
	cmd.Dir = dir
	cmd.Env = r.Environ(w, dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A process group of its own, so that a timeout also ends the guest's
	// children (native and qemu-user guests fork real processes).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second

	start := time.Now()
	err = cmd.Run()
	run.WallS = time.Since(start).Seconds()
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			run.MaxRSSKiB = ru.Maxrss // KiB on Linux
		}
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
			run.ExitCode = ws.ExitStatus()
			if ws.Signaled() {
				run.Signal = ws.Signal().String()
			}
		}
	}
	out := ParseOutput(stdout.Bytes())
	run.Metrics, run.Order, run.Checks, run.Unsupported = out.Metrics, out.Order, out.Checks, out.Unsupported
	run.StderrTail = tail(stderr.String(), 12)

	var exitErr *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		run.Status, run.Detail = StatusTimeout, fmt.Sprintf("killed after %s", r.Timeout)
	case err == nil:
		run.Status = StatusOK
	case errors.As(err, &exitErr) && run.ExitCode == exitUnsupported && len(run.Unsupported) > 0:
		run.Status = StatusUnsupported
		run.Detail = strings.Join(run.Unsupported, ", ") + ": ENOSYS"
	case errors.As(err, &exitErr):
		run.Status = StatusError
		if run.Signal != "" {
			run.Detail = "killed by " + run.Signal
		} else {
			run.Detail = fmt.Sprintf("exit status %d", run.ExitCode)
		}
	default:
		run.Status, run.Detail = StatusError, err.Error()
	}
	return run
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d lines before)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// checkAgainst compares run's check lines with the reference's (the first
// successful native run); a difference turns the run into a mismatch.
func checkAgainst(run *Run, ref map[string]string) {
	if run.Status != StatusOK || ref == nil {
		return
	}
	var diffs []string
	for k, want := range ref {
		if got, ok := run.Checks[k]; !ok || got != want {
			diffs = append(diffs, fmt.Sprintf("%s=%s (native %s)", k, orMissing(got, ok), want))
		}
	}
	if len(diffs) > 0 {
		run.Status = StatusMismatch
		run.Detail = "check lines differ: " + strings.Join(diffs, ", ")
	}
}

func orMissing(s string, ok bool) string {
	if !ok {
		return "missing"
	}
	return s
}
