package loader

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestZZTiming(t *testing.T) {
	dir := os.Getenv("FZDIR")
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		lines := strings.SplitN(string(raw), "\n", 2)
		s := strings.TrimSpace(lines[1])
		s = strings.TrimSuffix(strings.TrimPrefix(s, "[]byte("), ")")
		q, err := strconv.Unquote(s)
		if err != nil {
			t.Fatal(err)
		}
		data := []byte(q)
		st := time.Now()
		_, err = Load(bytes.NewReader(data), newFakeMem(), Options{Args: []string{"prog", "arg"}, Env: []string{"A=1"}, ExecFn: "/bin/prog"})
		if d := time.Since(st); d > time.Millisecond {
			t.Logf("%s %d bytes %v err=%v", filepath.Base(f), len(data), d, err)
		}
	}
}
