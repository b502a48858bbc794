package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cmaemu/cmaemu/internal/demo"
)

const demoUsage = `Usage: cmaemu demo [flags] [SCENARIO]

Runs a scenario in cmaemu's kernel and narrates it: the system calls in
strace's format, the page walks of every CMA copy, the frames and bytes.
No program or file is needed besides cmaemu itself.

Flags:
  --list              name the scenarios, one line each
  --color=WHEN        auto (the default: on a terminal, unless NO_COLOR
                      is set), never or always
  --step              wait for Enter before each step
  --html FILE         also write the scenario as one self-contained HTML
                      page: both address spaces, the page walks, the
                      frames, an arrow per copied piece, the syscalls

Scenarios (the first is the default):
`

// demoCmd is cmaemu demo.
func demoCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	list := fs.Bool("list", false, "")
	color := fs.String("color", "auto", "")
	step := fs.Bool("step", false, "")
	html := fs.String("html", "", "")
	var names []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, demoUsage)
				listScenarios(stdout)
				return 0
			}
			fmt.Fprintf(stderr, "cmaemu: demo: %v (try 'cmaemu demo --help')\n", err)
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if *list {
		listScenarios(stdout)
		return 0
	}
	if len(names) > 1 {
		fmt.Fprintf(stderr, "cmaemu: demo: one scenario at a time, not %s (try 'cmaemu demo --list')\n", strings.Join(names, " "))
		return 2
	}
	s := demo.Scenarios()[0]
	if len(names) == 1 {
		if s = demo.Find(names[0]); s == nil {
			fmt.Fprintf(stderr, "cmaemu: demo: unknown scenario %q (try 'cmaemu demo --list')\n", names[0])
			return 2
		}
	}
	useColor, err := colorWanted(*color, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "cmaemu: demo: %v\n", err)
		return 2
	}

	rec, err := s.Run()
	if err != nil {
		fmt.Fprintf(stderr, "cmaemu: %v\n", err)
		return 1
	}
	o := demo.TextOptions{Color: useColor, Width: terminalWidth()}
	if *step {
		in := bufio.NewReader(os.Stdin)
		o.Pause = func() { in.ReadString('\n') }
	}
	if err := demo.WriteText(stdout, rec, o); err != nil {
		fmt.Fprintf(stderr, "cmaemu: demo: %v\n", err)
		return 1
	}
	if *html != "" {
		if err := writeHTML(*html, rec); err != nil {
			fmt.Fprintf(stderr, "cmaemu: demo: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "cmaemu demo: wrote %s\n", *html)
	}
	return 0
}

func writeHTML(path string, rec *demo.Recording) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := demo.WriteHTML(f, rec); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func listScenarios(w io.Writer) {
	width := 0
	for _, s := range demo.Scenarios() {
		width = max(width, len(s.Name))
	}
	for _, s := range demo.Scenarios() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, s.Name, s.Summary)
	}
}

// colorWanted decides --color: auto means on a terminal, unless NO_COLOR
// is set (to anything but "") or TERM is dumb.
func colorWanted(when string, out io.Writer) (bool, error) {
	switch when {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
	default:
		return false, fmt.Errorf("--color=%s: want auto, never or always", when)
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false, nil
	}
	f, ok := out.(*os.File)
	if !ok {
		return false, nil
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0, nil
}

// terminalWidth is $COLUMNS, within reason, else 0 (the default).
func terminalWidth() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("COLUMNS"), &n); err == nil && n >= 60 {
		return min(n, 140)
	}
	return 0
}
