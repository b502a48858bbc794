package tests

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/internal/demo"
)

// cmaemu demo, as a user runs it: a copy of the binary in a directory of
// its own, away from the source tree, runs every scenario and writes its
// page; each page renders in headless chromium (installed by make setup)
// with no console error, and its DOM has one element per page touched and
// per piece copied. The default scenario's page is also screenshot (make
// demo-html screenshots them all).

// demoCopy copies the emulator into a fresh directory.
func demoCopy(t *testing.T) (bin, dir string) {
	t.Helper()
	dir = t.TempDir()
	b, err := os.ReadFile(CmaemuPath(t))
	require.NoError(t, err)
	bin = filepath.Join(dir, "cmaemu")
	require.NoError(t, os.WriteFile(bin, b, 0o755))
	return bin, dir
}

// runDemo runs the copied binary in dir with a clean environment.
func runDemo(t *testing.T, bin, dir string, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"demo"}, args...)...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), "cmaemu demo %v: %s", args, errb.String())
	return out.String(), errb.String()
}

func TestDemoOutsideTheSourceTree(t *testing.T) {
	bin, dir := demoCopy(t)
	list, _ := runDemo(t, bin, dir, "--list")
	for _, s := range demo.Scenarios() {
		assert.Contains(t, list, s.Name)
	}
	for _, s := range demo.Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			page := filepath.Join(dir, s.Name+".html")
			out, _ := runDemo(t, bin, dir, s.Name, "--html", page)
			assert.Contains(t, out, "cmaemu demo "+s.Name)
			assert.NotContains(t, out, "\x1b", "not a terminal: no colour")
			assert.FileExists(t, page)
		})
	}
}

// chromium finds Debian's chromium; the test fails without it (make setup
// installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: run `make setup` (it installs Debian's chromium)")
	return ""
}

// headless runs chromium on page with one action (--dump-dom, or
// --screenshot=FILE) and returns its stdout and the console messages it
// logged.
func headless(t *testing.T, browser, page string, action ...string) (string, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0", "--window-size=1600,1000"}, action...)
	args = append(args, "file://"+page)
	cmd := exec.CommandContext(ctx, browser, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Dir = t.TempDir()
	require.NoError(t, cmd.Run(), "chromium: %s", errb.String())
	var console []string
	for _, l := range strings.Split(errb.String(), "\n") {
		if strings.Contains(l, ":CONSOLE") || strings.Contains(l, "Uncaught") || strings.Contains(l, "console.error") {
			console = append(console, l)
		}
	}
	return out.String(), console
}

var (
	domPage  = regexp.MustCompile(`<g class="page" `)
	domPiece = regexp.MustCompile(`<g class="piece" `)
	domWalk  = regexp.MustCompile(`<div class="walk" `)
)

func TestDemoHTMLInChromium(t *testing.T) {
	browser := chromium(t)
	bin, dir := demoCopy(t)
	sem := make(chan struct{}, 2) // chromium is heavy: two at a time
	for _, s := range demo.Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			sem <- struct{}{}
			defer func() { <-sem }()
			page := filepath.Join(dir, s.Name+".html")
			runDemo(t, bin, dir, s.Name, "--html", page)
			rec, err := s.Run()
			require.NoError(t, err)

			dom, console := headless(t, browser, page, "--dump-dom")
			assert.Empty(t, console, "console messages")
			assert.Contains(t, dom, `data-ready="1"`, "the page's script ran to its end")
			assert.Len(t, domPage.FindAllString(dom, -1), len(rec.Pages()), "one element per page touched")
			assert.Len(t, domPiece.FindAllString(dom, -1), len(rec.Pieces()), "one element per piece copied")
			assert.Len(t, domWalk.FindAllString(dom, -1), len(rec.Pages()), "one page walk per page touched")
			assert.Contains(t, dom, "<svg id=\"spaces\"")

			if s != demo.Scenarios()[0] {
				return // one screenshot is enough here; make demo-html takes them all
			}
			shot := filepath.Join(dir, s.Name+".png")
			_, console = headless(t, browser, page, "--screenshot="+shot)
			assert.Empty(t, console, "console messages")
			st, err := os.Stat(shot)
			require.NoError(t, err, "the screenshot")
			assert.Greater(t, st.Size(), int64(20000), "a screenshot with something in it")
		})
	}
}
