// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Key translation (xd_mr_translate): an MR's view is the guest's pages,
 * bounds, keys, generations, and keys of another guest's namespace.
 */
#include <string.h>

#include "tests/common/sides.h"

static void test_translate(struct side *a, struct side *b)
{
	struct xd_pd *pd = xd_pd_lookup(a->ctx, a->pd);
	struct xd_pd *bpd = xd_pd_lookup(b->ctx, b->pd);
	const uint64_t base = 0x10000000;

	char *v = xd_mr_translate(a->lkey, pd, base, BUF_SIZE, 0);

	/* The backend's view and the guest's mapping are the same pages. */
	memcpy((char *)a->buf.va + 100, "same page", 10);
	CHECK(v && !memcmp(v + 100, "same page", 10),
	      "MR view reaches the guest's pages");
	CHECK(xd_mr_translate(a->lkey, pd, base + 100, 10, 0) == v + 100,
	      "offset translates");
	CHECK(!xd_mr_translate(a->lkey, pd, base - 1, 10, 0), "below MR");
	CHECK(!xd_mr_translate(a->lkey, pd, base + BUF_SIZE - 4, 5, 0),
	      "past MR end");
	CHECK(!xd_mr_translate(a->lkey, pd, base, (uint64_t)-1, 0),
	      "huge length");
	CHECK(xd_mr_translate(a->lkey, bpd, base, 8, 0) != v,
	      "a key value through another guest's PD never reaches us");
	CHECK(!xd_mr_translate(foreign(b, a, XD_KIND_MR), bpd, base, 8, 0),
	      "a key only another guest has is unknown through our PD");
	CHECK(!xd_mr_translate(a->lkey ^ 0x100, pd, base, 8, 0), "wrong key");
	CHECK(!xd_mr_translate(a->lkey + 1, pd, base, 8, 0),
	      "wrong key generation");
}

int main(void)
{
	struct side a, b;

	sides_cast(&a, &b, NULL);
	make_distinct(&a);	/* a has MR handles b lacks: foreign() */
	test_translate(&a, &b);
	return sides_end((struct side *[]){ &a, &b }, 2);
}
