package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/internal/demo"
)

func TestDemoList(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"demo", "--list"}, &out, &errb))
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	require.Len(t, lines, len(demo.Scenarios()))
	for i, s := range demo.Scenarios() {
		assert.True(t, strings.HasPrefix(strings.TrimSpace(lines[i]), s.Name+" "), lines[i])
	}
	for _, name := range []string{"cma", "double-copy", "partial", "cow", "procmem", "perm", "i386"} {
		assert.NotNil(t, demo.Find(name), name)
	}
	assert.Equal(t, "cma", demo.Scenarios()[0].Name, "the default")
}

func TestDemoArguments(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"demo", "nope"}, 2, `unknown scenario "nope"`},
		{[]string{"demo", "cma", "cow"}, 2, "one scenario at a time"},
		{[]string{"demo", "--color=sometimes"}, 2, "want auto, never or always"},
		{[]string{"demo", "--frobnicate"}, 2, "not defined"},
	} {
		var out, errb bytes.Buffer
		assert.Equal(t, c.code, run(c.args, &out, &errb), "%v", c.args)
		assert.Contains(t, errb.String(), c.msg, "%v", c.args)
	}
	var out, errb bytes.Buffer
	assert.Equal(t, 0, run([]string{"demo", "-h"}, &out, &errb))
	assert.Contains(t, out.String(), "--html FILE")
	assert.Contains(t, out.String(), "double-copy")
}

func TestDemoColor(t *testing.T) {
	var buf bytes.Buffer
	for _, c := range []struct {
		when, noColor string
		want          bool
	}{
		{"always", "", true}, {"always", "1", true}, {"never", "", false},
		{"auto", "", false}, // not a terminal
		{"auto", "1", false},
	} {
		t.Setenv("NO_COLOR", c.noColor)
		got, err := colorWanted(c.when, &buf)
		require.NoError(t, err)
		assert.Equal(t, c.want, got, "--color=%s NO_COLOR=%q", c.when, c.noColor)
	}
}

// A scenario runs from the binary alone, with flags before or after its
// name, and writes its page.
func TestDemoRunsAndWritesHTML(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "partial.html")
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"demo", "--color=always", "partial", "--html", page}, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "Step 1/3")
	assert.Contains(t, out.String(), "\x1b[")
	assert.Contains(t, out.String(), "process_vm_readv\x1b[0m(1001, ")
	assert.Contains(t, errb.String(), "wrote "+page)
	b, err := os.ReadFile(page)
	require.NoError(t, err)
	assert.Contains(t, string(b), "<svg")

	out.Reset()
	t.Setenv("NO_COLOR", "1")
	require.Equal(t, 0, run([]string{"demo", "cow"}, &out, &errb))
	assert.NotContains(t, out.String(), "\x1b")
	assert.Contains(t, out.String(), "copy-on-write")
}
