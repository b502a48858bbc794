package unicorn

/*
#include <unicorn/unicorn.h>
*/
import "C"

import "strconv"

// Arch is a Unicorn CPU architecture (uc_arch). Only ArchX86 is used by
// cmaemu; the register constants of this package are x86 registers.
type Arch int

// Architectures.
const (
	ArchX86 Arch = C.UC_ARCH_X86
)

// Mode is a Unicorn CPU mode (uc_mode).
type Mode int

// x86 modes.
const (
	Mode32 Mode = C.UC_MODE_32 // i386 protected mode
	Mode64 Mode = C.UC_MODE_64 // x86-64 long mode
)

// Prot is a set of page permissions (uc_prot), used by MemMapPtr and
// returned from TLB fill hooks.
type Prot uint32

// Page permissions.
const (
	ProtNone  Prot = C.UC_PROT_NONE
	ProtRead  Prot = C.UC_PROT_READ
	ProtWrite Prot = C.UC_PROT_WRITE
	ProtExec  Prot = C.UC_PROT_EXEC
	ProtAll   Prot = C.UC_PROT_ALL
)

// String returns the permissions in ls style, e.g. "r-x".
func (p Prot) String() string {
	b := []byte("---")
	if p&ProtRead != 0 {
		b[0] = 'r'
	}
	if p&ProtWrite != 0 {
		b[1] = 'w'
	}
	if p&ProtExec != 0 {
		b[2] = 'x'
	}
	return string(b)
}

// MemType is the kind of memory access reported to hooks (uc_mem_type).
// TLB fill hooks only see MemRead, MemWrite and MemFetch.
type MemType int

// Memory access kinds.
const (
	MemRead          MemType = C.UC_MEM_READ
	MemWrite         MemType = C.UC_MEM_WRITE
	MemFetch         MemType = C.UC_MEM_FETCH
	MemReadUnmapped  MemType = C.UC_MEM_READ_UNMAPPED
	MemWriteUnmapped MemType = C.UC_MEM_WRITE_UNMAPPED
	MemFetchUnmapped MemType = C.UC_MEM_FETCH_UNMAPPED
	MemWriteProt     MemType = C.UC_MEM_WRITE_PROT
	MemReadProt      MemType = C.UC_MEM_READ_PROT
	MemFetchProt     MemType = C.UC_MEM_FETCH_PROT
	MemReadAfter     MemType = C.UC_MEM_READ_AFTER
)

// String returns the name of the access kind, e.g. "fetch" or "write-prot".
func (t MemType) String() string {
	switch t {
	case MemRead:
		return "read"
	case MemWrite:
		return "write"
	case MemFetch:
		return "fetch"
	case MemReadUnmapped:
		return "read-unmapped"
	case MemWriteUnmapped:
		return "write-unmapped"
	case MemFetchUnmapped:
		return "fetch-unmapped"
	case MemWriteProt:
		return "write-prot"
	case MemReadProt:
		return "read-prot"
	case MemFetchProt:
		return "fetch-prot"
	case MemReadAfter:
		return "read-after"
	}
	return "memtype(" + strconv.Itoa(int(t)) + ")"
}

// Unicorn error codes (uc_err) as comparable Error values, for errors.Is.
const (
	ErrNoMem          Error = C.UC_ERR_NOMEM
	ErrArch           Error = C.UC_ERR_ARCH
	ErrHandle         Error = C.UC_ERR_HANDLE // also: engine already closed
	ErrMode           Error = C.UC_ERR_MODE
	ErrVersion        Error = C.UC_ERR_VERSION
	ErrReadUnmapped   Error = C.UC_ERR_READ_UNMAPPED
	ErrWriteUnmapped  Error = C.UC_ERR_WRITE_UNMAPPED
	ErrFetchUnmapped  Error = C.UC_ERR_FETCH_UNMAPPED
	ErrHook           Error = C.UC_ERR_HOOK
	ErrInsnInvalid    Error = C.UC_ERR_INSN_INVALID
	ErrMap            Error = C.UC_ERR_MAP
	ErrWriteProt      Error = C.UC_ERR_WRITE_PROT
	ErrReadProt       Error = C.UC_ERR_READ_PROT
	ErrFetchProt      Error = C.UC_ERR_FETCH_PROT
	ErrArg            Error = C.UC_ERR_ARG
	ErrReadUnaligned  Error = C.UC_ERR_READ_UNALIGNED
	ErrWriteUnaligned Error = C.UC_ERR_WRITE_UNALIGNED
	ErrFetchUnaligned Error = C.UC_ERR_FETCH_UNALIGNED
	ErrHookExist      Error = C.UC_ERR_HOOK_EXIST
	ErrResource       Error = C.UC_ERR_RESOURCE
	ErrException      Error = C.UC_ERR_EXCEPTION
	ErrOverflow       Error = C.UC_ERR_OVERFLOW
)

// CPU models for SetCPUModel (uc_cpu_x86). The default, CPUModelQEMU64, lacks
// SSSE3/SSE4/POPCNT; Haswell, SkylakeServer and EPYC advertise them (none
// advertises AVX, see UNICORN.md).
const (
	CPUModelQEMU64        = int(C.UC_CPU_X86_QEMU64)
	CPUModelQEMU32        = int(C.UC_CPU_X86_QEMU32)
	CPUModelCore2Duo      = int(C.UC_CPU_X86_CORE2DUO)
	CPUModelNehalem       = int(C.UC_CPU_X86_NEHALEM)
	CPUModelWestmere      = int(C.UC_CPU_X86_WESTMERE)
	CPUModelSandyBridge   = int(C.UC_CPU_X86_SANDYBRIDGE)
	CPUModelIvyBridge     = int(C.UC_CPU_X86_IVYBRIDGE)
	CPUModelHaswell       = int(C.UC_CPU_X86_HASWELL)
	CPUModelBroadwell     = int(C.UC_CPU_X86_BROADWELL)
	CPUModelSkylakeClient = int(C.UC_CPU_X86_SKYLAKE_CLIENT)
	CPUModelSkylakeServer = int(C.UC_CPU_X86_SKYLAKE_SERVER)
	CPUModelCascadelake   = int(C.UC_CPU_X86_CASCADELAKE_SERVER)
	CPUModelIcelakeServer = int(C.UC_CPU_X86_ICELAKE_SERVER)
	CPUModelEPYC          = int(C.UC_CPU_X86_EPYC)
	CPUModelEPYCRome      = int(C.UC_CPU_X86_EPYC_ROME)
)

// Reg is an x86 register id (uc_x86_reg). Registers up to 64 bits wide are
// accessed with RegRead/RegWrite and the batch forms; GDTR, IDTR, LDTR and TR
// only with ReadMMR/WriteMMR.
type Reg int

// x86 registers.
const (
	RAX    Reg = C.UC_X86_REG_RAX
	RBX    Reg = C.UC_X86_REG_RBX
	RCX    Reg = C.UC_X86_REG_RCX
	RDX    Reg = C.UC_X86_REG_RDX
	RSI    Reg = C.UC_X86_REG_RSI
	RDI    Reg = C.UC_X86_REG_RDI
	RBP    Reg = C.UC_X86_REG_RBP
	RSP    Reg = C.UC_X86_REG_RSP
	R8     Reg = C.UC_X86_REG_R8
	R9     Reg = C.UC_X86_REG_R9
	R10    Reg = C.UC_X86_REG_R10
	R11    Reg = C.UC_X86_REG_R11
	R12    Reg = C.UC_X86_REG_R12
	R13    Reg = C.UC_X86_REG_R13
	R14    Reg = C.UC_X86_REG_R14
	R15    Reg = C.UC_X86_REG_R15
	RIP    Reg = C.UC_X86_REG_RIP
	RFLAGS Reg = C.UC_X86_REG_RFLAGS

	EAX    Reg = C.UC_X86_REG_EAX
	EBX    Reg = C.UC_X86_REG_EBX
	ECX    Reg = C.UC_X86_REG_ECX
	EDX    Reg = C.UC_X86_REG_EDX
	ESI    Reg = C.UC_X86_REG_ESI
	EDI    Reg = C.UC_X86_REG_EDI
	EBP    Reg = C.UC_X86_REG_EBP
	ESP    Reg = C.UC_X86_REG_ESP
	EIP    Reg = C.UC_X86_REG_EIP
	EFLAGS Reg = C.UC_X86_REG_EFLAGS

	CS Reg = C.UC_X86_REG_CS
	DS Reg = C.UC_X86_REG_DS
	ES Reg = C.UC_X86_REG_ES
	FS Reg = C.UC_X86_REG_FS
	GS Reg = C.UC_X86_REG_GS
	SS Reg = C.UC_X86_REG_SS

	// FSBase and GSBase are writable in 64-bit mode only (UNICORN.md).
	FSBase Reg = C.UC_X86_REG_FS_BASE
	GSBase Reg = C.UC_X86_REG_GS_BASE

	CR0 Reg = C.UC_X86_REG_CR0
	CR2 Reg = C.UC_X86_REG_CR2
	CR3 Reg = C.UC_X86_REG_CR3
	CR4 Reg = C.UC_X86_REG_CR4
	CR8 Reg = C.UC_X86_REG_CR8

	MXCSR Reg = C.UC_X86_REG_MXCSR
	FPCW  Reg = C.UC_X86_REG_FPCW
	FPSW  Reg = C.UC_X86_REG_FPSW
	FPTAG Reg = C.UC_X86_REG_FPTAG

	// Memory-management registers: ReadMMR/WriteMMR only.
	GDTR Reg = C.UC_X86_REG_GDTR
	IDTR Reg = C.UC_X86_REG_IDTR
	LDTR Reg = C.UC_X86_REG_LDTR
	TR   Reg = C.UC_X86_REG_TR

	regXMM0 Reg = C.UC_X86_REG_XMM0 // 128 bits: refused by RegRead (tests)
)

// Model-specific register numbers for ReadMSR/WriteMSR. Unicorn has no
// EFER register id; EFER is reached through the MSR interface.
const (
	MSREFER         uint32 = 0xc0000080
	MSRSTAR         uint32 = 0xc0000081
	MSRLSTAR        uint32 = 0xc0000082
	MSRFSBase       uint32 = 0xc0000100
	MSRGSBase       uint32 = 0xc0000101
	MSRKernelGSBase uint32 = 0xc0000102
)
