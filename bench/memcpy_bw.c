// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Baseline: single-core memcpy bandwidth of a reused buffer, the physical
 * limit of a one-copy data path.  Usage: memcpy_bw SIZE [SECONDS]
 * Prints "SIZE MB/s" (MB = 10^6 bytes, as perftest reports).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	size_t size = argc > 1 ? strtoull(argv[1], NULL, 0) : 65536;
	double secs = argc > 2 ? atof(argv[2]) : 0.5;
	char *src = aligned_alloc(4096, (size + 4095) & ~4095ul);
	char *dst = aligned_alloc(4096, (size + 4095) & ~4095ul);
	unsigned long long n = 0;
	double t0, t;

	if (!src || !dst)
		return 1;
	memset(src, 1, size);
	memset(dst, 2, size);
	t0 = now();
	do {
		for (int i = 0; i < 64; i++) {
			memcpy(dst, src, size);
			/* keep the copy from being optimised away */
			__asm__ volatile("" : : "r"(dst) : "memory");
		}
		n += 64;
		t = now();
	} while (t - t0 < secs);
	printf("%zu %.1f\n", size, n * (double)size / (t - t0) / 1e6);
	return 0;
}
