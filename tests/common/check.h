/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Test checks: CHECK(cond, fmt, ...) counts a pass, or prints a FAIL line
 * with the place and counts a failure.  A test program ends by printing
 * a "N passed, N failed" line.
 */
#ifndef XENIB_TEST_CHECK_H
#define XENIB_TEST_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (cond) {                                                \
			passed++;                                          \
		} else {                                                   \
			failed++;                                          \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);        \
			printf(__VA_ARGS__);                               \
			printf("\n");                                      \
		}                                                          \
	} while (0)

#endif /* XENIB_TEST_CHECK_H */
