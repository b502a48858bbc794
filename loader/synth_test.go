package loader

import (
	"debug/elf"
	"encoding/binary"
)

// pseg is a program header of a synthetic ELF file.
type pseg struct {
	typ                              elf.ProgType
	flags                            elf.ProgFlag
	off, vaddr, filesz, memsz, align uint64
}

// synth describes a synthetic ELF file, built by hand for tests.
type synth struct {
	class     elf.Class
	data      elf.Data
	machine   elf.Machine
	typ       elf.Type
	entry     uint64
	phoff     uint64 // 0: right after the ELF header
	phentsize int    // 0: the right size
	phnum     int    // 0: len(segs)
	segs      []pseg
	size      int // file size (at least the headers)
	patch     func(b []byte)
}

// build returns the file: headers, then a non-zero byte pattern.
func (s synth) build() []byte {
	is32 := s.class == elf.ELFCLASS32
	hs, pe := 64, 56
	if is32 {
		hs, pe = 52, 32
	}
	phoff := s.phoff
	if phoff == 0 {
		phoff = uint64(hs)
	}
	phentsize := s.phentsize
	if phentsize == 0 {
		phentsize = pe
	}
	phnum := s.phnum
	if phnum == 0 {
		phnum = len(s.segs)
	}
	fits := phoff < 1<<20
	n := s.size
	if fits {
		n = max(n, int(phoff)+len(s.segs)*pe)
	}
	n = max(n, hs)
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i%251) + 1
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if s.data == elf.ELFDATA2MSB {
		bo = binary.BigEndian
	}
	clear(b[:hs])
	copy(b, elf.ELFMAG)
	b[elf.EI_CLASS] = byte(s.class)
	b[elf.EI_DATA] = byte(s.data)
	b[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	bo.PutUint16(b[16:], uint16(s.typ))
	bo.PutUint16(b[18:], uint16(s.machine))
	bo.PutUint32(b[20:], uint32(elf.EV_CURRENT))
	if is32 {
		bo.PutUint32(b[24:], uint32(s.entry))
		bo.PutUint32(b[28:], uint32(phoff))
		bo.PutUint16(b[40:], uint16(hs))
		bo.PutUint16(b[42:], uint16(phentsize))
		bo.PutUint16(b[44:], uint16(phnum))
	} else {
		bo.PutUint64(b[24:], s.entry)
		bo.PutUint64(b[32:], phoff)
		bo.PutUint16(b[52:], uint16(hs))
		bo.PutUint16(b[54:], uint16(phentsize))
		bo.PutUint16(b[56:], uint16(phnum))
	}
	for i, ph := range s.segs {
		if !fits {
			break
		}
		p := b[int(phoff)+i*pe:]
		clear(p[:pe])
		if is32 {
			bo.PutUint32(p[0:], uint32(ph.typ))
			bo.PutUint32(p[4:], uint32(ph.off))
			bo.PutUint32(p[8:], uint32(ph.vaddr))
			bo.PutUint32(p[12:], uint32(ph.vaddr))
			bo.PutUint32(p[16:], uint32(ph.filesz))
			bo.PutUint32(p[20:], uint32(ph.memsz))
			bo.PutUint32(p[24:], uint32(ph.flags))
			bo.PutUint32(p[28:], uint32(ph.align))
		} else {
			bo.PutUint32(p[0:], uint32(ph.typ))
			bo.PutUint32(p[4:], uint32(ph.flags))
			bo.PutUint64(p[8:], ph.off)
			bo.PutUint64(p[16:], ph.vaddr)
			bo.PutUint64(p[24:], ph.vaddr)
			bo.PutUint64(p[32:], ph.filesz)
			bo.PutUint64(p[40:], ph.memsz)
			bo.PutUint64(p[48:], ph.align)
		}
	}
	if s.patch != nil {
		s.patch(b)
	}
	return b
}

const (
	rx = elf.PF_R | elf.PF_X
	rw = elf.PF_R | elf.PF_W
	ro = elf.PF_R
)

// good64 is a valid static x86-64 ET_EXEC: text with the headers, then data
// with a bss.
func good64() synth {
	return synth{
		class: elf.ELFCLASS64, data: elf.ELFDATA2LSB, machine: elf.EM_X86_64, typ: elf.ET_EXEC,
		entry: 0x400100,
		segs: []pseg{
			{typ: elf.PT_LOAD, flags: rx, off: 0, vaddr: 0x400000, filesz: 0x1800, memsz: 0x1800, align: 0x1000},
			{typ: elf.PT_LOAD, flags: rw, off: 0x2010, vaddr: 0x402010, filesz: 0x800, memsz: 0x3000, align: 0x1000},
			{typ: elf.PT_GNU_STACK, flags: rw},
		},
		size: 0x3000,
	}
}

// good32 is a valid static i386 ET_EXEC.
func good32() synth {
	s := good64()
	s.class, s.machine = elf.ELFCLASS32, elf.EM_386
	s.entry = 0x8048100
	s.segs[0].vaddr = 0x8048000
	s.segs[1].vaddr = 0x804a010
	return s
}

// with returns s with its segments copied and changed by f.
func (s synth) with(f func(s *synth)) synth {
	s.segs = append([]pseg(nil), s.segs...)
	f(&s)
	return s
}

// withInterp returns s with a PT_INTERP naming name, whose string is in the
// file at 0x200 (within the first segment's data).
func (s synth) withInterp(name string) synth {
	return s.with(func(s *synth) {
		s.segs = append(s.segs, pseg{typ: elf.PT_INTERP, flags: ro, off: 0x200, filesz: uint64(len(name) + 1), align: 1})
		prev := s.patch
		s.patch = func(b []byte) {
			if prev != nil {
				prev(b)
			}
			copy(b[0x200:], name+"\x00")
		}
	})
}

// interp64 is a synthetic x86-64 interpreter: ET_DYN at 0, text and data
// with a bss, entry at 0x120.
func interp64() synth {
	return good64().with(func(s *synth) {
		s.typ, s.entry = elf.ET_DYN, 0x120
		s.segs[0].vaddr, s.segs[1].vaddr = 0, 0x2010
	})
}

// interp32 is a synthetic i386 interpreter.
func interp32() synth {
	return good32().with(func(s *synth) {
		s.typ, s.entry = elf.ET_DYN, 0x120
		s.segs[0].vaddr, s.segs[1].vaddr = 0, 0x2010
	})
}
