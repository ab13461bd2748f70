// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The one pair of check counters of a test program (check.h). */
#include <stdarg.h>

#include "tests/common/check.h"

int passed, failed;

void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
}

int check_summary(void)
{
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
