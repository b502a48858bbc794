/*
 * CPU-bound: integer hashing of a 64 MiB buffer (16 MiB with -q).
 * CRC-32 (table driven, one byte per step) and a SHA-256 compression loop.
 * Prints crc32_s, crc32_MBps, sha256_s, sha256_MBps and the digests as
 * check lines.
 */
#include "bench.h"
#include "sha256.h"

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++)
		c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

int main(int argc, char **argv)
{
	bench_init(argc, argv);
	size_t n = (quick ? 16 : 64) << 20;
	uint8_t *buf = malloc(n);
	if (!buf)
		die("malloc %zu", n);
	uint64_t s = 0x9E3779B97F4A7C15ULL;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t r = rng_next(&s);
		memcpy(buf + i, &r, 8);
	}
	crc_init();

	double t0 = now();
	uint32_t crc = crc32(buf, n);
	double t1 = now();
	report("crc32_s", t1 - t0, "bytes=%zu", n);
	report("crc32_MBps", n / (t1 - t0) / 1e6, "bytes=%zu", n);
	check("crc32", crc);

	uint32_t h[8];
	t0 = now();
	sha256_blocks(h, buf, n);
	t1 = now();
	report("sha256_s", t1 - t0, "bytes=%zu", n);
	report("sha256_MBps", n / (t1 - t0) / 1e6, "bytes=%zu", n);
	check("sha256_h0", h[0]);
	check("sha256_h7", h[7]);
	return 0;
}
