package emu

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/arch"
)

// BenchmarkInsnCheck runs the tightest loop, one two-instruction block
// (dec ecx; jnz) over and over, with and without the instruction check,
// interleaved, and reports the best time per iteration of each: the check
// works at translation and costs the loop nothing.
func BenchmarkInsnCheck(b *testing.B) {
	const iters = 50_000_000
	code := cat(movImm(ecx, iters), []byte{0xff, 0xc9, 0x75, 0xfc}, exit64) // dec ecx; jnz -4
	run := func(check bool) time.Duration {
		_, cpu := newTask(b, code)
		cpu.uc.SetInsnCheck(check)
		start := time.Now()
		exit, err := cpu.Run(&recorder{})
		require.NoError(b, err)
		require.Equal(b, arch.ExitStop, exit.Reason)
		return time.Since(start)
	}
	best := [2]time.Duration{1 << 62, 1 << 62}
	for i := 0; i < b.N; i++ {
		for j, check := range []bool{false, true} {
			best[j] = min(best[j], run(check))
		}
	}
	b.ReportMetric(float64(best[0].Nanoseconds())/iters, "ns/iter-unchecked")
	b.ReportMetric(float64(best[1].Nanoseconds())/iters, "ns/iter-checked")
}
