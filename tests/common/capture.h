/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What xenibd logs during part of an in-process test: stderr goes to a
 * temporary file between capture_start() and capture_count(), which
 * counts what was logged.  One capture at a time.
 */
#ifndef XENIB_TESTS_CAPTURE_H
#define XENIB_TESTS_CAPTURE_H

#include <stdbool.h>

void capture_start(void);
/*
 * Stop capturing: how many times needle occurs in what was logged (the
 * first MiB); echo: pass it on to stderr too, for the test's log.
 */
unsigned int capture_count(const char *needle, bool echo);

#endif /* XENIB_TESTS_CAPTURE_H */
