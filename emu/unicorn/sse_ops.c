// The hottest SSE integer helpers of Unicorn's x86 target, done again with
// the host's own instructions, linked over Unicorn's (ld --wrap, see the
// LDFLAGS in unicorn.go).
//
// Unicorn (QEMU 5) runs each of these SSE instructions as a call to a
// helper taking pointers to the XMM registers in CPUX86State. The
// translated code writes an XMM register, or the temporary that holds a
// memory operand, as two 8-byte stores, and the shifts by an immediate
// store the count as two 4-byte stores; Unicorn's helpers then read the
// operand with one 16-byte load, or the count with one 8-byte load, which
// the CPU cannot forward from the smaller stores: each such helper call
// waits until the stores reach the cache (most of a SHA-256 message
// schedule's time). The helpers here read every operand in the pieces it
// was written in. Each instruction's result is the host's same
// instruction's (the host is x86-64, so SSE2), so nothing else changes.

#include <emmintrin.h>
#include <stdint.h>

// load reads a 16-byte register as two 8-byte loads (volatile, so that
// the compiler does not merge them back into one).
static inline __m128i load(const void *p)
{
	const volatile uint64_t *q = p;
	return _mm_set_epi64x((long long)q[1], (long long)q[0]);
}

// count reads a shift count, the low 8 bytes of a register, as two 4-byte
// loads.
static inline __m128i count(const void *p)
{
	const volatile uint32_t *q = p;
	return _mm_unpacklo_epi32(_mm_cvtsi32_si128((int)q[0]), _mm_cvtsi32_si128((int)q[1]));
}

static inline void store(void *p, __m128i v)
{
	_mm_storeu_si128((__m128i *)p, v);
}

#define BINARY(name, fn)                                                       \
	void __wrap_helper_##name##_xmm_x86_64(void *env, void *d, void *s);   \
	void __wrap_helper_##name##_xmm_x86_64(void *env, void *d, void *s)    \
	{                                                                      \
		(void)env;                                                     \
		store(d, fn(load(d), load(s)));                                \
	}

#define SHIFT(name, fn)                                                        \
	void __wrap_helper_##name##_xmm_x86_64(void *env, void *d, void *s);   \
	void __wrap_helper_##name##_xmm_x86_64(void *env, void *d, void *s)    \
	{                                                                      \
		(void)env;                                                     \
		store(d, fn(load(d), count(s)));                               \
	}

SHIFT(psrlw, _mm_srl_epi16)
SHIFT(psraw, _mm_sra_epi16)
SHIFT(psllw, _mm_sll_epi16)
SHIFT(psrld, _mm_srl_epi32)
SHIFT(psrad, _mm_sra_epi32)
SHIFT(pslld, _mm_sll_epi32)
SHIFT(psrlq, _mm_srl_epi64)
SHIFT(psllq, _mm_sll_epi64)

BINARY(paddb, _mm_add_epi8)
BINARY(paddw, _mm_add_epi16)
BINARY(paddl, _mm_add_epi32)
BINARY(paddq, _mm_add_epi64)
BINARY(psubb, _mm_sub_epi8)
BINARY(psubw, _mm_sub_epi16)
BINARY(psubl, _mm_sub_epi32)
BINARY(psubq, _mm_sub_epi64)
BINARY(pand, _mm_and_si128)
BINARY(pandn, _mm_andnot_si128) // ~d & s
BINARY(por, _mm_or_si128)
BINARY(pxor, _mm_xor_si128)
BINARY(packuswb, _mm_packus_epi16)
BINARY(punpcklbw, _mm_unpacklo_epi8)
BINARY(punpcklwd, _mm_unpacklo_epi16)
BINARY(punpckldq, _mm_unpacklo_epi32)
BINARY(punpcklqdq, _mm_unpacklo_epi64)
BINARY(punpckhbw, _mm_unpackhi_epi8)
BINARY(punpckhwd, _mm_unpackhi_epi16)
BINARY(punpckhdq, _mm_unpackhi_epi32)
BINARY(punpckhqdq, _mm_unpackhi_epi64)
