package cpu

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/arch/x86/x86asm"
)

var (
	flagSeed    = flag.Uint64("cpu.seed", 1, "seed of the first batch (0: from the clock)")
	flagBatches = flag.Int("cpu.batches", 2, "number of batches, unless -cpu.time is set")
	flagTime    = flag.Duration("cpu.time", 0, "run batches for this long instead of -cpu.batches")
	flagSeqs    = flag.Int("cpu.seqs", 400, "sequences per batch")
	flagLen     = flag.Int("cpu.len", 16, "instructions per sequence (at least)")
	flagVerbose = flag.Bool("cpu.v", false, "print the known differences found too")
)

func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "no go.mod above the test")
		dir = parent
	}
}

// newRunner builds the runner guest (make -C testdata) and, unless
// $CMAEMU names one, the emulator.
func newRunner(t *testing.T) *Runner {
	root := repoRoot(t)
	out, err := exec.Command("make", "--no-print-directory", "-s", "-C", filepath.Join(root, "testdata"),
		"bin/cpu_runner.glibc").CombinedOutput()
	require.NoError(t, err, "building the runner: %s", out)
	emu := os.Getenv("CMAEMU")
	if emu == "" {
		emu = filepath.Join(t.TempDir(), "cmaemu")
		cmd := exec.Command("go", "build", "-o", emu, "./cmd/cmaemu")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "building cmaemu: %s", out)
	}
	return &Runner{Prog: filepath.Join(root, "testdata", "bin", "cpu_runner.glibc"), Cmaemu: emu, Timeout: 5 * time.Minute}
}

// TestDifferential runs random batches natively and under cmaemu: any
// difference not in the table of known ones fails, with its seed.
func TestDifferential(t *testing.T) {
	r := newRunner(t)
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	start := time.Now()
	knownCount := map[string]int{}
	seqs, insts, failed := 0, 0, 0
	for b := 0; ; b++ {
		if *flagTime > 0 {
			if time.Since(start) >= *flagTime {
				break
			}
		} else if b >= *flagBatches {
			break
		}
		s := seed + uint64(b)
		batch := Batch(s, *flagSeqs, *flagLen)
		found, err := r.Check(s, batch)
		require.NoError(t, err, "seed %d", s)
		for _, f := range found {
			if f.Known != nil {
				knownCount[f.Known.Reason]++
				if *flagVerbose {
					t.Logf("known: %s", f.String())
				}
				continue
			}
			failed++
			if failed <= 20 {
				t.Errorf("difference not in the table (rerun: go test ./tests/cpu -run TestDifferential -args -cpu.seed %d -cpu.batches 1):\n%s", s, f.String())
			}
		}
		seqs += len(batch)
		for _, q := range batch {
			insts += len(q.Insts)
		}
	}
	t.Logf("%d sequences, %d instructions from seed %d in %v; %d unknown differences", seqs, insts, seed,
		time.Since(start).Round(time.Millisecond), failed)
	var reasons []string
	for k, n := range knownCount {
		reasons = append(reasons, fmt.Sprintf("%6d  %s", n, k))
	}
	sort.Strings(reasons)
	if len(reasons) > 0 {
		t.Logf("known differences seen:\n%s", strings.Join(reasons, "\n"))
	}
}

// TestEncodings checks the encoder against x86asm: every generated
// instruction decodes, with its own length.
func TestEncodings(t *testing.T) {
	for _, s := range Batch(7, 300, 30) {
		for _, in := range s.Insts {
			inst, err := x86asm.Decode(in.Bytes, 64)
			require.NoError(t, err, "form %q: % x does not decode", in.Form, in.Bytes)
			require.Equal(t, len(in.Bytes), inst.Len, "form %q: % x decodes as %s", in.Form, in.Bytes, Disasm(in.Bytes))
		}
	}
}

// TestSurvey prints the unknown differences of -cpu.batches batches
// grouped by mnemonic and fields (a tool for maintaining the table).
func TestSurvey(t *testing.T) {
	if os.Getenv("CPU_SURVEY") == "" {
		t.Skip("set CPU_SURVEY=1")
	}
	r := newRunner(t)
	groups := map[string]int{}
	example := map[string]string{}
	for b := 0; b < *flagBatches; b++ {
		s := *flagSeed + uint64(b)
		found, err := r.Check(s, Batch(s, *flagSeqs, *flagLen))
		require.NoError(t, err)
		for _, f := range found {
			if f.Known != nil {
				continue
			}
			key := strings.Fields(f.Asm)[0] + " | " + f.Fields.String()
			if len(key) > 90 {
				key = key[:90]
			}
			groups[key]++
			if example[key] == "" {
				example[key] = f.String()
			}
		}
	}
	var keys []string
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%5d %s\n%s", groups[k], k, example[k])
	}
}
