/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Test checks, counted once per program (tests/common/check.c), so that a
 * shared fixture's checks and the program's own add up in one summary:
 * CHECK(cond, fmt, ...) counts a pass, or prints a FAIL line with the place
 * and counts a failure; result(ok, fmt, ...) prints a PASS or FAIL line
 * either way.  A test program ends with check_summary().
 */
#ifndef XENIB_TEST_CHECK_H
#define XENIB_TEST_CHECK_H

#include <stdbool.h>
#include <stdio.h>

extern int passed, failed;

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

void result(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print "N passed, N failed"; the exit status (1 if anything failed). */
int check_summary(void);

#endif /* XENIB_TEST_CHECK_H */
