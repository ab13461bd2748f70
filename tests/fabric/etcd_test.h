/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The frame of a test against its own etcd (etcd_server.h): checks are
 * tests/common/check.h's; REQUIRE is for a step the rest of the test
 * cannot do without, whose failure kills the test's etcd (so no etcd
 * outlives a failed test) and exits 1.
 */
#ifndef XENIB_TESTS_ETCD_TEST_H
#define XENIB_TESTS_ETCD_TEST_H

#include <stdbool.h>

#include "tests/common/check.h"
#include "tests/fabric/etcd_server.h"

#define REQUIRE(cond, ...) do {						\
	bool ok_ = (cond);						\
									\
	CHECK(ok_, __VA_ARGS__);					\
	if (!ok_)							\
		etcd_test_abort();					\
} while (0)

/*
 * Unbuffered stdout; exit 77 (skipped) if etcd is not installed; s
 * started (REQUIRE), the etcd that REQUIRE kills.
 */
void etcd_test_start(struct etcd_server *s);
/* REQUIRE's failure: the etcd of etcd_test_start() killed, exit 1. */
void etcd_test_abort(void) __attribute__((noreturn));
/*
 * That etcd killed, its dir removed; "name: passed" (or FAILED) and the
 * summary: the program's exit status.
 */
int etcd_test_end(const char *name);

#endif /* XENIB_TESTS_ETCD_TEST_H */
