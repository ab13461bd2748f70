// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xenibd's handle tables: limits, lookup, generations, stale handles.
 */
#include <errno.h>
#include <stdlib.h>

#include "tests/common/sides.h"

static void test_handles(void)
{
	struct xd_table t;
	struct xd_handle a, b, c;
	uint32_t old;

	xd_table_init(&t, "test", 2);
	CHECK(!xd_table_add(&t, &a) && !xd_table_add(&t, &b), "two handles");
	CHECK(xd_table_add(&t, &c) == ENOMEM, "limit enforced");
	CHECK(xd_table_get(&t, a.id) == &a && xd_table_get(&t, b.id) == &b,
	      "lookup");
	old = a.id;
	xd_table_del(&t, &a);
	CHECK(!xd_table_get(&t, old), "deleted handle no longer resolves");
	CHECK(!xd_table_add(&t, &c) && c.id != old,
	      "reused slot gets a new generation (0x%x vs 0x%x)", c.id, old);
	CHECK(!xd_table_get(&t, old), "stale handle misses the new object");
	CHECK(!xd_table_get(&t, 0) && !xd_table_get(&t, XENIB_INVALID_HANDLE),
	      "0 and INVALID never resolve");
	free(t.slot);
	free(t.gen);
}

int main(void)
{
	sides_start();
	test_handles();
	return check_summary();
}
