// Host memory of an engine.
//
// Measured with Unicorn 2.1.1, an engine (one per guest thread) cost
// 2.6 MiB of host memory before running much guest code:
//   - its translated-code buffer is advised MADV_HUGEPAGE, so the first
//     block translated makes the host back it with a 2 MiB huge page;
//   - its table of translated blocks (QEMU's tb_ctx.htable, a qht)
//     starts with room for 2^15 entries, 0.7 MiB of buckets.
// The buffer is advised MADV_NOHUGEPAGE instead (4 KiB pages, touched as
// code is translated, also on hosts whose THP mode is "always"), and the
// table starts small: it grows by itself as it fills
// (QHT_MODE_AUTO_RESIZE).

#include <stddef.h>
#include <sys/mman.h>

struct qht;
typedef int (*cmuc_qht_cmp)(const void *a, const void *b);

// QEMU's QHT_MODE_AUTO_RESIZE, and the entries a table starts with.
enum { qhtAutoResize = 0x1, qhtInitialEntries = 1 << 10 };

void __real_qht_init(struct qht *ht, cmuc_qht_cmp cmp, size_t n_elems, unsigned int mode);

void __wrap_qht_init(struct qht *ht, cmuc_qht_cmp cmp, size_t n_elems, unsigned int mode)
{
	if ((mode & qhtAutoResize) && n_elems > qhtInitialEntries)
		n_elems = qhtInitialEntries;
	__real_qht_init(ht, cmp, n_elems, mode);
}

int __real_qemu_madvise(void *addr, size_t len, int advice);

int __wrap_qemu_madvise(void *addr, size_t len, int advice)
{
	if (advice == MADV_HUGEPAGE)
		advice = MADV_NOHUGEPAGE;
	return __real_qemu_madvise(addr, len, advice);
}
