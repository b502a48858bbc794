// Command cmaemu runs Linux x86-64 and i386 programs in an emulated kernel
// with its own processes, address spaces and system calls.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/cmaemu/cmaemu/arch"
	"github.com/cmaemu/cmaemu/emu"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/loader"
	"github.com/cmaemu/cmaemu/mm"
	"github.com/cmaemu/cmaemu/syscalls"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

const usage = `cmaemu — a Linux syscall emulator with Cross Memory Attach

Usage:
  cmaemu run [flags] [--] PROGRAM [ARGS...]   run an x86-64 or i386 Linux program
  cmaemu demo [SCENARIO] [--html FILE]       what Cross Memory Attach does inside the
                                             kernel, narrated step by step (--list
                                             names the scenarios; see 'cmaemu demo -h')
  cmaemu version                             print the version
  cmaemu help                                print this help

Run flags:
  --trace[=WHAT]      trace system calls in strace's format; WHAT is
                      syscalls (the default), mm or all
  --trace-file FILE   write the trace to FILE instead of stderr
  --memory SIZE       guest RAM, e.g. 4G or 512M (default 8G, reserved lazily)
  --uid N, --gid N    start the program with these user and group ids
                      (default: cmaemu's own)
  --root DIR          make the host directory DIR the program's "/": no
                      name leads outside it (PROGRAM is looked up inside)
  -L DIR              qemu-user's sysroot: absolute names that exist under
                      DIR are taken from there first (e.g. an i386 sysroot)
  --max-tasks N       at most N guest threads and processes alive at once:
                      clone, fork and vfork beyond fail with EAGAIN (default
                      sized to the machine: at most 4096, half the host's
                      thread limits, one per 8 MiB of host memory)
  --exact-fp=false    leave x87 arithmetic to the engine's softfloat: the
                      status word's C1 (rounded up) and DE (denormal operand)
                      are then not set (by default x87 arithmetic runs on the
                      host's x87 unit and they are exact)
  --net MODE          host (the default): AF_INET and AF_INET6 sockets are
                      host sockets, as in qemu-user; none: socket() for
                      them fails with EAFNOSUPPORT

The program sees cmaemu's own /proc, /dev (with a tmpfs at /dev/shm) and
/sys, never the host's; files are checked against its user and groups.

The program's stdin, stdout and stderr are cmaemu's. The exit status is the
program's; a program killed by signal N exits with 128+N. An internal error
of cmaemu prints one report, ends every guest and exits with 70.
`

func main() {
	// CMAEMU_CPUPROFILE=FILE writes a Go CPU profile of the emulator.
	if path := os.Getenv("CMAEMU_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			code := run(os.Args[1:], os.Stdout, os.Stderr)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runCmd(args[1:], stderr)
	case "demo":
		return demoCmd(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "cmaemu %s\n", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "cmaemu: unknown command %q (try 'cmaemu help')\n", args[0])
	return 2
}

// traceFlag is --trace[=WHAT].
type traceFlag struct{ what string }

func (f *traceFlag) String() string   { return f.what }
func (f *traceFlag) IsBoolFlag() bool { return true }
func (f *traceFlag) Set(v string) error {
	switch v {
	case "true", "syscalls":
		f.what = "syscalls"
	case "mm", "all":
		f.what = v
	case "false":
		f.what = ""
	default:
		return fmt.Errorf("unknown trace %q: want syscalls, mm or all", v)
	}
	return nil
}

// sizeFlag is a byte size with an optional K, M or G suffix.
type sizeFlag uint64

func (s *sizeFlag) String() string { return fmt.Sprint(uint64(*s)) }
func (s *sizeFlag) Set(v string) error {
	mult := uint64(1)
	switch {
	case strings.HasSuffix(v, "G"):
		mult, v = 1<<30, strings.TrimSuffix(v, "G")
	case strings.HasSuffix(v, "M"):
		mult, v = 1<<20, strings.TrimSuffix(v, "M")
	case strings.HasSuffix(v, "K"):
		mult, v = 1<<10, strings.TrimSuffix(v, "K")
	}
	var n uint64
	if _, err := fmt.Sscan(v, &n); err != nil || n == 0 {
		return fmt.Errorf("bad size %q", v)
	}
	*s = sizeFlag(n * mult)
	return nil
}

func runCmd(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var trace traceFlag
	traceFile := fs.String("trace-file", "", "")
	memory := sizeFlag(8 << 30)
	fs.Var(&trace, "trace", "")
	fs.Var(&memory, "memory", "")
	uid := fs.Uint("uid", uint(os.Getuid()), "")
	gid := fs.Uint("gid", uint(os.Getgid()), "")
	root := fs.String("root", "", "")
	sysroot := fs.String("L", "", "")
	maxTasks := fs.Int("max-tasks", 0, "")
	exactFP := fs.Bool("exact-fp", true, "")
	// Hidden flags of test runs (checks.go).
	watchdog := fs.Duration("watchdog", 0, "")
	var frames framesFlag
	fs.Var(&frames, "check-frames", "")
	network := fs.String("net", "host", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(os.Stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "cmaemu: run: %v (try 'cmaemu help')\n", err)
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "cmaemu: run: missing PROGRAM (try 'cmaemu help')")
		return 2
	}
	if *uid > 0xfffffffe || *gid > 0xfffffffe {
		fmt.Fprintln(stderr, "cmaemu: run: --uid and --gid take ids from 0 to 4294967294")
		return 2
	}
	if isSet(fs, "max-tasks") && (*maxTasks < 1 || *maxTasks > maxTasksLimit) {
		fmt.Fprintf(stderr, "cmaemu: run: --max-tasks takes a number from 1 to %d\n", maxTasksLimit)
		return 2
	}
	if *network != "host" && *network != "none" {
		fmt.Fprintf(stderr, "cmaemu: run: --net takes host or none, not %q\n", *network)
		return 2
	}
	for _, d := range []struct{ flag, dir string }{{"--root", *root}, {"-L", *sysroot}} {
		if d.dir == "" {
			continue
		}
		if err := syscalls.CheckRoot(d.dir); err != nil {
			fmt.Fprintf(stderr, "cmaemu: run: %s: %v\n", d.flag, oneLine(err))
			return 2
		}
	}
	prog, argv := fs.Arg(0), fs.Args()
	path, code, err := lookPath(prog, *root)
	if err != nil {
		fmt.Fprintf(stderr, "cmaemu: %s: %v\n", prog, err)
		return code
	}

	cpuOpts := emu.Options{ApproxFP: !*exactFP}
	cfg := syscalls.Config{NewCPU: func(as *mm.MM, mode arch.Mode) (arch.CPU, error) { return cpuOpts.New(as, mode) },
		Root: *root, Sysroot: *sysroot, MaxTasks: *maxTasks, NoNetwork: *network == "none", Exit: exitAfterInternalError,
		Watchdog: *watchdog}
	if trace.what != "" {
		out := io.Writer(os.Stderr)
		if *traceFile != "" {
			f, err := os.Create(*traceFile)
			if err != nil {
				fmt.Fprintf(stderr, "cmaemu: %v\n", err)
				return 2
			}
			defer f.Close()
			out = f
		}
		cfg.Trace, cfg.TraceMM = out, trace.what != "syscalls"
	}
	ram, err := mm.NewRAM(uint64(memory))
	if err != nil {
		fmt.Fprintf(stderr, "cmaemu: %v\n", err)
		return 1
	}
	cfg.RAM = ram
	k := syscalls.NewKernel(cfg)
	framesAtStart := ram.UsedFrames()
	// Every guest task is a host thread: leave the Go runtime's thread
	// limit (10000 by default) room above the tasks.
	debug.SetMaxThreads(max(10000, k.MaxTasks()+1000))
	p, err := k.Spawn(path, syscalls.SpawnOptions{
		Args:  argv,
		Env:   os.Environ(),
		Creds: syscalls.SameIDs(uint32(*uid), uint32(*gid)),
	})
	if err != nil {
		msg, code := describeSpawnError(err)
		fmt.Fprintf(stderr, "cmaemu: %s: %s\n", prog, msg)
		return code
	}
	st := p.Wait()
	if st.Signal != 0 {
		fmt.Fprintf(stderr, "cmaemu: %s (pid %d) killed by %s (%s)%s\n", prog, p.PID(), st.Signal,
			st.Signal.Description(), describeFault(st.Fault))
	}
	if frames.mode != "" {
		if code := checkFrames(k, framesAtStart, frames.mode == "report", stderr); code != 0 {
			return code
		}
	}
	return st.ShellStatus()
}

// maxTasksLimit is the largest --max-tasks.
const maxTasksLimit = 1 << 20

// isSet reports whether the flag was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// exitAfterInternalError ends cmaemu after the kernel reported an
// internal error, keeping the CPU profile if one is being written.
func exitAfterInternalError(code int) {
	pprof.StopCPUProfile()
	os.Exit(code)
}

// oneLine is err's message up to its first newline.
func oneLine(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// lookPath finds the program as execvp would, with the shell's exit codes
// for failures (127 not found, 126 not executable). Under --root the
// program is a name in the guest's view, which the kernel resolves: a bare
// name is looked up in $PATH's directories inside root.
func lookPath(prog, root string) (string, int, error) {
	if root != "" {
		if strings.Contains(prog, "/") {
			return prog, 0, nil
		}
		for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
			if !filepath.IsAbs(dir) {
				continue
			}
			if st, err := os.Stat(filepath.Join(root, dir, prog)); err == nil && !st.IsDir() {
				return filepath.Join(dir, prog), 0, nil
			}
		}
		return "", 127, errors.New("command not found")
	}
	if !strings.Contains(prog, "/") {
		p, err := exec.LookPath(prog)
		if err != nil {
			return "", 127, errors.New("command not found")
		}
		return p, 0, nil
	}
	st, err := os.Stat(prog)
	switch {
	case err != nil:
		return "", 127, errors.New("No such file or directory")
	case st.IsDir():
		return "", 126, errors.New("Is a directory")
	}
	return prog, 0, nil
}

// describeSpawnError gives the one-line reason and the exit status a
// shell would give for a program that cannot be started.
func describeSpawnError(err error) (string, int) {
	var pe *os.PathError
	var ie *loader.InterpError
	if errors.As(err, &ie) {
		return describeInterpError(ie)
	}
	switch {
	case errors.As(err, &pe) && errors.Is(pe.Err, syscall.ENOENT), errors.Is(err, linux.ENOENT):
		return "No such file or directory", 127
	case errors.Is(err, linux.EACCES) || errors.Is(err, syscall.EACCES):
		return "Permission denied", 126
	case errors.Is(err, loader.ErrNotELF):
		return "cannot execute binary file: Exec format error", 126
	case errors.Is(err, loader.ErrWrongArch), errors.Is(err, loader.ErrBadELF),
		errors.Is(err, loader.ErrUnsupported):
		return "cannot execute: " + err.Error(), 126
	}
	return err.Error(), 126
}

// describeInterpError says why a dynamically linked program's interpreter
// cannot be loaded, with a shell's exit status (127 for a missing one).
func describeInterpError(ie *loader.InterpError) (string, int) {
	var errno linux.Errno
	switch {
	case errors.Is(ie.Err, linux.ENOENT):
		return fmt.Sprintf("interpreter %s not found under the guest root", ie.Name), 127
	case errors.Is(ie, loader.ErrBadInterp):
		return fmt.Sprintf("interpreter %s: %s: %s", ie.Name, linux.ELIBBAD, oneLine(ie.Err)), 126
	case errors.As(ie.Err, &errno):
		return fmt.Sprintf("interpreter %s: %s", ie.Name, errno), 126
	}
	return fmt.Sprintf("interpreter %s: %s", ie.Name, oneLine(ie.Err)), 126
}
