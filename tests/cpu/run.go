package cpu

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/arch/x86/x86asm"
)

// Runner runs blobs natively and under the emulator.
type Runner struct {
	Prog    string // testdata/bin/cpu_runner.glibc
	Cmaemu  string // bin/cmaemu
	Timeout time.Duration
}

// run runs the sequences natively (emu false) or under cmaemu.
func (r *Runner) run(seqs []*Seq, emu bool) ([]State, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.Timeout)
	defer cancel()
	argv := []string{r.Prog}
	if emu {
		argv = []string{r.Cmaemu, "run", "--", r.Prog}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(encodeBlob(seqs))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		where := "natively"
		if emu {
			where = "under cmaemu"
		}
		return nil, fmt.Errorf("runner %s: %v\n%s", where, err, errb.String())
	}
	return decodeStates(out.Bytes(), len(seqs))
}

// Finding is one difference bisected to an instruction.
type Finding struct {
	Seed   uint64
	Seq    int // index of the sequence in its batch
	Index  int // index of the instruction
	Inst   Inst
	Asm    string
	Fields Field
	Known  *Known
	Before State // the native state before the instruction's prefix
	Native State // the end states after the instruction
	Emu    State
}

func (f *Finding) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d, sequence %d, instruction %d: % x  %s  (form %q)\n  differs in: %v\n",
		f.Seed, f.Seq, f.Index, f.Inst.Bytes, f.Asm, f.Inst.Form, f.Fields)
	if f.Known != nil {
		fmt.Fprintf(&b, "  known: %s\n", f.Known.Reason)
	}
	for i := 0; i < 16; i++ {
		if f.Fields&(FGPR0<<i) != 0 {
			fmt.Fprintf(&b, "  %s: native %#x, cmaemu %#x\n", gprNames[i], f.Native.GPR[i], f.Emu.GPR[i])
		}
		if f.Fields&(FXMM0<<i) != 0 {
			fmt.Fprintf(&b, "  xmm%d: native %s, cmaemu %s\n", i, hex.EncodeToString(f.Native.FX[160+16*i:176+16*i]),
				hex.EncodeToString(f.Emu.FX[160+16*i:176+16*i]))
		}
	}
	if f.Fields&FFlags != 0 {
		fmt.Fprintf(&b, "  rflags: native %#x, cmaemu %#x\n", f.Native.RFLAGS, f.Emu.RFLAGS)
	}
	if f.Fields&FSignal != 0 {
		fmt.Fprintf(&b, "  signal: native %d at +%d, cmaemu %d at +%d\n", f.Native.Signo, f.Native.FaultOff,
			f.Emu.Signo, f.Emu.FaultOff)
	}
	if f.Fields&^(FFlags|FSignal) != 0 {
		fmt.Fprintf(&b, "  x87/MXCSR: native fcw %x fsw %x ftw %x mxcsr %x; cmaemu fcw %x fsw %x ftw %x mxcsr %x\n",
			le16(f.Native.FX[0:]), le16(f.Native.FX[2:]), f.Native.FX[4], le32(f.Native.FX[24:]),
			le16(f.Emu.FX[0:]), le16(f.Emu.FX[2:]), f.Emu.FX[4], le32(f.Emu.FX[24:]))
	}
	fmt.Fprintf(&b, "  input registers:")
	for i := 0; i < 16; i++ {
		fmt.Fprintf(&b, " %s=%#x", gprNames[i], f.Before.GPR[i])
	}
	fmt.Fprintf(&b, " rflags=%#x\n", f.Before.RFLAGS)
	return b.String()
}

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
func le32(b []byte) uint32 { return uint32(le16(b)) | uint32(le16(b[2:]))<<16 }

// Disasm is the instruction's Intel-syntax disassembly, lower case.
func Disasm(code []byte) string {
	inst, err := x86asm.Decode(code, 64)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return strings.ToLower(x86asm.IntelSyntax(inst, 0, nil))
}

// Batch generates the sequences of one seed.
func Batch(seed uint64, n, length int) []*Seq {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	seqs := make([]*Seq, n)
	for i := range seqs {
		seqs[i] = newSeq(r, length)
	}
	return seqs
}

// Check runs one batch natively and under cmaemu and bisects every
// difference: the findings (known or not), or an error when a run
// failed.
func (r *Runner) Check(seed uint64, seqs []*Seq) ([]Finding, error) {
	nat, err := r.run(seqs, false)
	if err != nil {
		return nil, err
	}
	emu, err := r.run(seqs, true)
	if err != nil {
		return nil, err
	}
	var suspects []int
	for i, s := range seqs {
		if diff(s, &nat[i], &emu[i]) != 0 {
			suspects = append(suspects, i)
		}
	}
	if len(suspects) == 0 {
		return nil, nil
	}
	// Every prefix of every suspect sequence, in one run each way.
	var prefixes []*Seq
	for _, i := range suspects {
		for _, k := range seqs[i].Cuts() {
			prefixes = append(prefixes, seqs[i].Prefix(k))
		}
	}
	pn, err := r.run(prefixes, false)
	if err != nil {
		return nil, err
	}
	pe, err := r.run(prefixes, true)
	if err != nil {
		return nil, err
	}
	var found []Finding
	at := 0
	for _, i := range suspects {
		s := seqs[i]
		n := len(s.Cuts())
		found = append(found, bisect(seed, i, s, prefixes[at:at+n], pn[at:], pe[at:])...)
		at += n
	}
	return found, nil
}

// bisect walks the prefixes of sequence s: the first instruction after
// which the states differ is a finding. A known sticky difference masks
// its fields for the rest of the walk; any other difference ends it.
func bisect(seed uint64, idx int, s *Seq, prefixes []*Seq, nat, emu []State) []Finding {
	var found []Finding
	var masked Field
	for k := range prefixes {
		d := diff(prefixes[k], &nat[k], &emu[k]) &^ masked
		if d == 0 {
			continue
		}
		// A fault ends the prefix early: the instruction is the one
		// that faulted in either run, else the last.
		j := len(prefixes[k].Insts) - 1
		for _, st := range []*State{&nat[k], &emu[k]} {
			if st.Signo != 0 {
				if x := s.indexAt(int(st.FaultOff)); x >= 0 && x < j {
					j = x
				}
			}
		}
		in := s.Insts[j]
		asm := Disasm(in.Bytes)
		before := &s.Start
		if k > 0 {
			before = &nat[k-1]
		}
		f := Finding{Seed: seed, Seq: idx, Index: j, Inst: in, Asm: asm, Fields: d, Known: lookupKnown(in.Bytes, asm, d, before),
			Before: *before, Native: nat[k], Emu: emu[k]}
		found = append(found, f)
		if f.Known == nil || !f.Known.Sticky {
			break
		}
		masked |= f.Known.Fields
	}
	return found
}
