package cpu

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// The runner's fixed addresses (testdata/src/cpu_runner.c).
const (
	dataAddr  = 0x300000000
	dataSize  = 256
	stackTop  = 0x310000000 + 64<<10 - 512
	dataBase  = dataAddr + 128 // R15: memory operands are [r15+disp8]
	stateSize = 912
	blobMagic = 0x46555043
	maxCode   = 4095
)

// State is the runner's struct state: the registers, the FXSAVE image
// and the data area, at the start of a sequence or at its end.
type State struct {
	GPR      [16]uint64
	RFLAGS   uint64
	Signo    uint32 // end state: the signal that stopped the sequence
	FaultOff uint32 // end state: offset of the faulting instruction
	FX       [512]byte
	Data     [dataSize]byte
}

// encodeBlob is the runner's input: the sequences with their code.
func encodeBlob(seqs []*Seq) []byte {
	var b bytes.Buffer
	put := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	put([2]uint32{blobMagic, uint32(len(seqs))})
	for _, s := range seqs {
		code := s.Code()
		put([2]uint32{uint32(len(code)), 0})
		put(&s.Start)
		b.Write(code)
	}
	return b.Bytes()
}

// decodeStates parses the runner's output: n end states.
func decodeStates(out []byte, n int) ([]State, error) {
	if len(out) != n*stateSize {
		return nil, fmt.Errorf("runner wrote %d bytes, want %d states of %d", len(out), n, stateSize)
	}
	states := make([]State, n)
	if err := binary.Read(bytes.NewReader(out), binary.LittleEndian, states); err != nil {
		return nil, err
	}
	return states, nil
}
