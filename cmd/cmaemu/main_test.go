package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTraceFlag(t *testing.T) {
	for in, want := range map[string]string{"true": "syscalls", "syscalls": "syscalls", "mm": "mm", "all": "all", "false": ""} {
		var f traceFlag
		assert.NoError(t, f.Set(in))
		assert.Equal(t, want, f.what, in)
	}
	var f traceFlag
	assert.Error(t, f.Set("/tmp/trace.txt"), "a file name is not a trace mode")
}

func TestSizeFlag(t *testing.T) {
	for in, want := range map[string]uint64{"4G": 4 << 30, "512M": 512 << 20, "64K": 64 << 10, "8192": 8192} {
		var s sizeFlag
		assert.NoError(t, s.Set(in))
		assert.Equal(t, want, uint64(s), in)
	}
	for _, bad := range []string{"", "0", "G", "-1G", "x"} {
		var s sizeFlag
		assert.Error(t, s.Set(bad), bad)
	}
}

func TestCommandLineErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "Usage"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"run"}, 2, "missing PROGRAM"},
		{[]string{"run", "--bogus", "x"}, 2, "not defined"},
		{[]string{"run", "--trace=xyz", "x"}, 2, "unknown trace"},
		{[]string{"run", "--uid", "4294967295", "x"}, 2, "--uid"},
		{[]string{"run", "--max-tasks", "0", "x"}, 2, "--max-tasks takes a number from 1 to"},
		{[]string{"run", "--max-tasks", "-3", "x"}, 2, "--max-tasks takes a number from 1 to"},
		{[]string{"run", "--max-tasks", "many", "x"}, 2, "invalid value"},
		{[]string{"run", "--net", "user", "x"}, 2, "--net takes host or none"},
		{[]string{"run", "/nonexistent/prog"}, 127, "No such file"},
		{[]string{"run", "no-such-command-anywhere"}, 127, "command not found"},
		{[]string{"run", "/"}, 126, "Is a directory"},
		{[]string{"demo", "extra"}, 2, "unknown scenario"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := run(c.args, &out, &errb)
		assert.Equal(t, c.code, code, "%v", c.args)
		assert.Contains(t, out.String()+errb.String(), c.msg, "%v", c.args)
		if c.code != 2 || len(c.args) > 0 {
			assert.LessOrEqual(t, strings.Count(errb.String(), "\n"), 1, "one line: %q", errb.String())
		}
	}
}

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	assert.Equal(t, 0, run([]string{"version"}, &out, &errb))
	assert.True(t, strings.HasPrefix(out.String(), "cmaemu "))
}
