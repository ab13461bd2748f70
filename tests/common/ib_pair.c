// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Two contexts of xenib0 and RC endpoints between them (ib_pair.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tests/common/ib_pair.h"

struct side A = { .name = "A" }, B = { .name = "B" };

/* Fresh endpoints a (on A) and b (on B), connected to each other. */
bool pair(struct ep *a, struct ep *b, const struct qp_opts *oa,
	  const struct qp_opts *ob)
{
	bool ok = ep_create(a, &A, 32) && ep_create(b, &B, 32) &&
		  ep_connect(a, b, oa) && ep_connect(b, a, ob);

	if (!ok)
		result(false, "set up a connected QP pair: %s",
		       strerror(errno));
	return ok;
}

int ib_pair_main(void (*cases)(void))
{
	struct ibv_device **list;
	struct ibv_device *dev;
	int n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	list = ibv_get_device_list(&n);
	dev = find_xenib0(list, n);
	if (!dev) {
		fprintf(stderr, "xenib0 not found (is xenibd running and the environment set?)\n");
		return 2;
	}
	if (!side_open(&A, dev, BUF_SIZE) || !side_open(&B, dev, BUF_SIZE)) {
		fprintf(stderr, "cannot open xenib0 twice: %s\n",
			strerror(errno));
		return 2;
	}

	cases();

	side_close(&B);
	side_close(&A);
	ibv_free_device_list(list);
	return check_summary();
}
