package tests

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Random-code guests (testdata/src/rel_randcode.c): pages of random bytes
// run as code, x86-64 and i386, each blob under a time budget, with
// handlers that siglongjmp back from every fault. The guest table runs
// its hand-written blobs as a differential guest; TestRandomCode runs the
// random ones under cmaemu only (never natively: random code may do
// anything a process may), inside a --root of their own, with the rule
// that the emulator never crashes or hangs: the guest's own status is its
// business, but an internal error (exit 70, a report), a panic, a
// watchdog report, a frame leak or a run that does not end fails, and so
// does a guest killed at cmaemu's own entry code (the kernel page: the
// iret into user mode), where Linux would have run its handler.
var randcodeGuests = []Guest{
	{Name: "rel_randcode", Args: []string{"fixed"}, Variants: []string{Glibc, Musl, I386}, Want: Exited(0)},
}

func init() { guests = append(guests, randcodeGuests...) }

// outcomeLetters are the letters rel_randcode writes, one a blob.
const outcomeLetters = "SIFBTARX"

// TestRandomCode runs RANDCODE_SEEDS (1) seeds of RANDCODE_BLOBS (1000)
// blobs each, for x86-64 and i386, with the bytes of system call
// instructions replaced and with them kept.
func TestRandomCode(t *testing.T) {
	cmaemu := CmaemuPath(t)
	seeds := soakSetting(t, "RANDCODE_SEEDS", 1)
	blobs := soakSetting(t, "RANDCODE_BLOBS", 1000)
	timeout := time.Duration(soakSetting(t, "SOAK_TIMEOUT", 60)) * time.Second
	for _, v := range []string{Glibc, I386} {
		for _, mode := range []string{"nosys", "sys"} {
			t.Run(v+"/"+mode, func(t *testing.T) {
				t.Parallel()
				prog, err := os.ReadFile(GuestPath(t, "rel_randcode", v))
				require.NoError(t, err)
				counts := map[rune]int{}
				statuses := map[string]int{}
				entryDeaths := 0
				for seed := 1; seed <= seeds; seed++ {
					root := t.TempDir()
					require.NoError(t, os.WriteFile(filepath.Join(root, "rel_randcode"), prog, 0o755))
					argv := append([]string{cmaemu, "run"}, CheckFlags...)
					argv = append(argv, "--root", root, "--", "/rel_randcode", "random", strconv.Itoa(seed), strconv.Itoa(blobs), mode)
					r := Exec(t, Run{Argv: argv, Env: GuestEnv(nil), Dir: root, Timeout: timeout})
					require.False(t, r.TimedOut, "seed %d: cmaemu did not end in %v; stderr:\n%s", seed, timeout, r.Stderr)
					assert.NotEqual(t, Exited(70).String(), r.Status.String(), "seed %d: cmaemu failed:\n%s", seed, r.Stderr)
					assert.NotContains(t, r.Stderr, "cmaemu: internal error", "seed %d", seed)
					assert.NotContains(t, r.Stderr, "cmaemu: frame", "seed %d", seed)
					AssertNoPanic(t, r.Stderr)
					if strings.Contains(r.Stderr, "rip 0xffffffffffffe8") || strings.Contains(r.Stderr, "rip 0xffffe8") {
						entryDeaths++
						assert.Fail(t, "the guest died in cmaemu's entry code", "seed %d:\n%s", seed, r.Stderr)
					}
					out, _, _ := strings.Cut(r.Stdout, "\n")
					for _, c := range out {
						if strings.ContainsRune(outcomeLetters, c) {
							counts[c]++
						}
					}
					statuses[r.Status.String()]++
				}
				total := 0
				var parts []string
				for _, c := range outcomeLetters {
					total += counts[c]
					parts = append(parts, string(c)+"="+strconv.Itoa(counts[c]))
				}
				assert.Positive(t, total, "no blob ran")
				t.Logf("random code %s %s: %d seeds x %d blobs: %d blobs ran (%s); guest statuses %v; deaths in the entry code %d",
					v, mode, seeds, blobs, total, strings.Join(parts, " "), statuses, entryDeaths)
			})
		}
	}
}
